/*
 * raw_relay.c - the baseline meeshy-load runs beside our SFU and Janus:
 * what forwarding costs with no SFU in it. One UDP port (a webrtc_server:
 * ICE-lite, DTLS-SRTP, batched egress, the same libsrtp2), and for each
 * RTP packet a publisher sends: unprotect once, then for each subscriber
 * of its call a copy protected and queued, the queue flushed with one
 * sendmmsg per receive batch. No routing: no header rewrite, no layers, no
 * NACK history, no RTCP; SSRCs and sequence numbers go through as sent.
 *
 * Driven by JSON lines on stdin, answered on stdout (bench/load.js):
 *   {"cmd":"transport","id":"...","call":N,"publisher":bool,
 *    "fingerprint":"<the peer's>"}
 *     -> {"event":"transport","id","ufrag","pwd","ip","port","fingerprint"}
 *   {"cmd":"stats"} -> {"event":"stats","rtp_in","copies_out",...}
 *
 *   raw-relay [--listen 127.0.0.1:0] [--transports 4096]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "jsonl.h"
#include "port.h"
#include "srtp_pair.h"
#include "webrtc_transport.h"

enum {
	MAX_TRANSPORTS = 8192,
	CALLS_MAX = 256,
	COPY_ROOM = PORT_UDP_MTU + SRTP_PAIR_TRAILER,
};

struct relay_transport {
	struct le le; /* in its call's subscribers */
	struct webrtc_transport *t;
	char id[64];
	unsigned call;
	bool publisher;
};

static struct {
	struct webrtc_server *srv;
	struct relay_transport **all;
	size_t n, max;
	struct list subs[CALLS_MAX]; /* each call's, in the order they came */
	uint64_t rtp_in, copies_out, copy_errors;
	uint8_t copy[COPY_ROOM];
} relay;

/* A publisher's RTP: a protected copy to each subscriber of its call. */
static void on_packet(struct webrtc_transport *t, uint8_t *buf, size_t len,
		      size_t size, bool rtcp, void *arg)
{
	struct relay_transport *rt = arg;
	(void)t;
	(void)size;
	if (rtcp || !rt->publisher || len > PORT_UDP_MTU)
		return;
	relay.rtp_in++;
	for (struct le *le = relay.subs[rt->call].head; le; le = le->next) {
		struct relay_transport *s = le->data;
		memcpy(relay.copy, buf, len);
		if (webrtc_transport_send(s->t, relay.copy, len,
					  sizeof(relay.copy), false))
			relay.copy_errors++; /* not secured yet, or full */
		else
			relay.copies_out++;
	}
}

static void on_state(struct webrtc_transport *t,
		     enum webrtc_transport_state state, const char *why,
		     void *arg)
{
	struct relay_transport *rt = arg;
	(void)t;
	if (state == WEBRTC_CLOSED)
		jsonl_error(rt->id, why);
}

static void cmd_transport(const cJSON *c)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
	const cJSON *call = cJSON_GetObjectItemCaseSensitive(c, "call");
	const cJSON *fp = cJSON_GetObjectItemCaseSensitive(c, "fingerprint");
	bool publisher =
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "publisher"));
	struct relay_transport *rt;
	struct sa cand;
	char ip[64];
	cJSON *o;

	if (!cJSON_IsString(id) || !cJSON_IsNumber(call) ||
	    call->valueint < 0 || call->valueint >= CALLS_MAX ||
	    !cJSON_IsString(fp) || relay.n == relay.max) {
		jsonl_error("transport", "needs an id, a call 0-255, the peer's"
					 " fingerprint (or no room left)");
		return;
	}
	rt = mem_zalloc(sizeof(*rt), NULL);
	if (!rt ||
	    webrtc_transport_alloc(&rt->t, relay.srv, on_packet, on_state,
				   rt) ||
	    webrtc_transport_connect(rt->t, fp->valuestring,
				     DTLS_ROLE_SERVER)) {
		jsonl_error("transport", "cannot set it up (bad fingerprint?)");
		mem_deref(rt ? rt->t : NULL);
		mem_deref(rt);
		return;
	}
	str_ncpy(rt->id, id->valuestring, sizeof(rt->id));
	rt->call = (unsigned)call->valueint;
	rt->publisher = publisher;
	relay.all[relay.n++] = rt;
	if (!publisher)
		list_append(&relay.subs[rt->call], &rt->le, rt);
	(void)webrtc_server_candidate(relay.srv, &cand);
	(void)re_snprintf(ip, sizeof(ip), "%j", &cand);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "transport");
	cJSON_AddStringToObject(o, "id", rt->id);
	cJSON_AddStringToObject(o, "ufrag", webrtc_transport_ice_ufrag(rt->t));
	cJSON_AddStringToObject(o, "pwd", webrtc_transport_ice_pwd(rt->t));
	cJSON_AddStringToObject(o, "ip", ip);
	cJSON_AddNumberToObject(o, "port", sa_port(&cand));
	cJSON_AddStringToObject(o, "fingerprint",
				webrtc_server_fingerprint(relay.srv));
	jsonl_emit(o);
}

static void cmd_stats(void)
{
	struct webrtc_server_stats st;
	cJSON *o = cJSON_CreateObject();
	webrtc_server_stats(relay.srv, &st);
	cJSON_AddStringToObject(o, "event", "stats");
	cJSON_AddNumberToObject(o, "rtp_in", (double)relay.rtp_in);
	cJSON_AddNumberToObject(o, "copies_out", (double)relay.copies_out);
	cJSON_AddNumberToObject(o, "copy_errors", (double)relay.copy_errors);
	cJSON_AddNumberToObject(o, "tx_pkts", (double)st.tx_pkts);
	cJSON_AddNumberToObject(o, "tx_calls", (double)st.tx_calls);
	cJSON_AddNumberToObject(o, "tx_dropped", (double)st.tx_dropped);
	jsonl_emit(o);
}

static void command(const char *line)
{
	cJSON *c = cJSON_Parse(line);
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(c, "cmd");
	if (!cJSON_IsString(cmd))
		jsonl_error("command", "not a JSON object with a \"cmd\"");
	else if (!strcmp(cmd->valuestring, "transport"))
		cmd_transport(c);
	else if (!strcmp(cmd->valuestring, "stats"))
		cmd_stats();
	else if (!strcmp(cmd->valuestring, "quit"))
		re_cancel();
	else
		jsonl_error("command", cmd->valuestring);
	cJSON_Delete(c);
}

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	struct sa laddr;
	cJSON *o;
	int err;

	relay.max = 4096;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen"))
			listen = argv[i + 1];
		else if (!strcmp(argv[i], "--transports"))
			relay.max = strtoul(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (argc % 2 == 0 || relay.max < 1 || relay.max > MAX_TRANSPORTS ||
	    sa_decode(&laddr, listen, strlen(listen))) {
		fprintf(stderr,
			"usage: raw-relay [--listen IP:PORT]"
			" [--transports 1-%d] (JSON lines on stdin;"
			" see bench/raw_relay.c)\n",
			MAX_TRANSPORTS);
		return 2;
	}
	relay.all = calloc(relay.max, sizeof(*relay.all));
	if (!relay.all || libre_init() || srtp_pair_library_init()) {
		fprintf(stderr, "raw-relay: cannot start\n");
		return 1;
	}
	port_log_set_level(PORT_LOG_WARN);
	err = webrtc_server_alloc(&relay.srv, &laddr, NULL);
	if (!err)
		err = jsonl_listen(command);
	if (err) {
		fprintf(stderr, "raw-relay: --listen %s: %s\n", listen,
			strerror(err));
		return 1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "ready");
	jsonl_emit(o);
	(void)re_main(NULL);
	jsonl_close();
	for (size_t i = 0; i < relay.n; i++) {
		mem_deref(relay.all[i]->t);
		mem_deref(relay.all[i]);
	}
	mem_deref(relay.srv);
	free(relay.all);
	libre_close();
	return 0;
}
