/* HTTP requests as the gateway serves them: bytes handed over in pieces
 * as TCP would (the first byte: the piece size / 16) on up to four
 * connections of the gateway's own HTTP server (a NUL and a digit switch
 * to that connection: long-polling holds one), framed and bounded there
 * (heads, bodies, the shared budget), then routed as any client's:
 * Engine.IO polling and its upgrade, /health, /metrics, the REST API
 * (dev-auth: any Bearer token is a user, so the fuzzer reaches past
 * authentication), the static files of web/.
 *
 * A fresh gateway a run, over a SQLite store in memory (a new one every
 * thousand runs). Ids are random, so "$S" in a piece stands for the last
 * session id handed out and "$C" for the last call id (24 characters, as
 * the seed's). Every answer written must start with an HTTP/1.1 status
 * line, and once the gateway is gone the budget must hold nothing.
 * FUZZ_HTTP_SHOW=1 writes the answers to stderr. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "gateway.h"
#include "fuzz_gateway.h"
#include "gateway_impl.h"
#include "port.h"
#include "httpd.h"
#include "store.h"
#include "cache.h"

static struct cache *cache;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	port_log_set_level(PORT_LOG_ERROR); /* every run warns */
	if (libre_init() || cache_alloc_memory(&cache))
		abort();
	return 0;
}

static int gateway_make(struct gateway **gwp, struct store *store)
{
	static const char secret[] = "fuzz-secret-0123456789abcdefghijklmn";
	struct gateway_config cfg;
	struct gateway_parts parts = {.store = store, .cache = cache};
	struct sa laddr;

	if (fuzz_gateway_config(&cfg, &laddr))
		return EINVAL;
	cfg.web_root = FUZZ_WEB_ROOT;
	cfg.jwt_secret = (const uint8_t *)secret;
	cfg.jwt_secret_len = sizeof(secret) - 1;
	cfg.max_buffered = 256 * 1024;
	cfg.turn.secret = (const uint8_t *)secret;
	cfg.turn.secret_len = sizeof(secret) - 1;
	cfg.turn.ttl_s = 3600;
	cfg.turn.servers = "{\"default\":[\"turn:127.0.0.1:3478\"],"
			   "\"EU\":[\"turns:eu.example:5349\"]}";
	return gateway_alloc(gwp, &cfg, &parts);
}

/* What the answers handed out that a later request names: "$S" stands for
 * the last Engine.IO session id, "$C" for the last call id. */
struct ids {
	char sid[64], call[64];
};

/* The value after the last key in out from byte from on, if any, into
 * buf. */
FUZZ_UNCOVERED static void id_find(const struct mbuf *out, size_t from,
				   const char *key, char *buf, size_t size)
{
	const size_t klen = strlen(key);
	const uint8_t *end = out->buf + out->end, *hit = NULL;

	/* memmem, not a loop of our own: this file is instrumented too, and
	 * a byte loop's comparisons were a sixth of the fuzzer's time */
	for (const uint8_t *p = out->buf + from;
	     (p = memmem(p, (size_t)(end - p), key, klen)); p += klen)
		hit = p + klen;
	for (size_t n = 0; hit && n + 1 < size; n++) {
		if (hit + n == end || hit[n] == '"') {
			memcpy(buf, hit, n);
			buf[n] = '\0';
			return;
		}
	}
}

/* In what out gained since *seen (a key may straddle the old end). */
FUZZ_UNCOVERED static void ids_find(const struct mbuf *out, size_t *seen,
				    struct ids *ids)
{
	size_t from = *seen > 32 ? *seen - 32 : 0;
	/* a handshake's body starts with it (not 40{"sid" of a socket) */
	id_find(out, from, "\r\n\r\n0{\"sid\":\"", ids->sid, sizeof(ids->sid));
	id_find(out, from, "\"callId\":\"", ids->call, sizeof(ids->call));
	*seen = out->end;
}

/* The id "$x" at p stands for, or NULL. */
FUZZ_UNCOVERED static const char *id_at(const uint8_t *p, size_t left,
					const struct ids *ids)
{
	if (left < 2 || p[0] != '$')
		return NULL;
	return p[1] == 'S' ? ids->sid : p[1] == 'C' ? ids->call : NULL;
}

/* A piece with "$S" and "$C" replaced. */
FUZZ_UNCOVERED static struct mbuf *piece_expand(const uint8_t *p, size_t n,
						const struct ids *ids)
{
	struct mbuf *mb = mbuf_alloc(n + 64);
	for (size_t i = 0; mb && i < n; i++) {
		const char *id = id_at(p + i, n - i, ids);
		int err = id ? mbuf_write_str(mb, id) : mbuf_write_u8(mb, p[i]);
		i += id != NULL;
		if (err)
			mb = mem_deref(mb);
	}
	if (mb)
		mb->pos = 0;
	return mb;
}

/* Each answer in out starts with a status line. */
FUZZ_UNCOVERED static void check_answers(const struct mbuf *out)
{
	static const char status[] = "HTTP/1.1 ";
	if (out && getenv("FUZZ_HTTP_SHOW"))
		fwrite(out->buf, 1, out->end, stderr);
	if (out && out->end &&
	    (out->end < sizeof(status) - 1 ||
	     memcmp(out->buf, status, sizeof(status) - 1)))
		abort();
}

enum { CONNS = 4 };

/* The client's connections, opened on first use (and again once closed),
 * each with its answers. */
struct client {
	struct gateway *gw;
	struct httpd_conn *conn[CONNS];
	struct mbuf *out[CONNS];
	size_t seen[CONNS]; /* of out, searched for ids */
	struct ids ids;
};

static void stop_loop(void *arg)
{
	(void)arg;
	re_cancel();
}

static void ready_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
}

/* One turn of the loop: what was deferred to it runs (the request after
 * an answered long-poll, the store's landing of the turn's writes).
 * libre waits 1 ms for a timer already due unless a descriptor is ready:
 * the write end of a pipe always is. */
static void loop_turn(void)
{
	static int ready[2] = {-1, -1};
	if (ready[1] < 0 &&
	    (pipe(ready) || fd_listen(ready[1], FD_WRITE, ready_h, NULL)))
		abort();
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, 0, stop_loop, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}

/* Hands a piece to connection c and lets the loop turn if it was
 * answered, then notes the ids the answers gave. */
/* Bytes of answers written so far, all connections together. */
FUZZ_UNCOVERED static size_t answered(const struct client *cl)
{
	size_t n = 0;
	for (int c = 0; c < CONNS; c++)
		n += cl->out[c] ? cl->out[c]->end : 0;
	return n;
}

static void feed(struct client *cl, int c, const uint8_t *p, size_t n)
{
	struct mbuf *mb;
	struct sa peer;
	size_t before;

	if (cl->conn[c] && !httpd_conn_open(cl->conn[c])) {
		/* closed after its answer: the client opens another */
		check_answers(cl->out[c]);
		cl->conn[c] = mem_deref(cl->conn[c]);
		cl->out[c] = mem_deref(cl->out[c]);
	}
	if (!cl->conn[c]) {
		cl->seen[c] = 0;
		cl->out[c] = mbuf_alloc(4096);
		if (!cl->out[c] || sa_set_str(&peer, "127.0.0.1", 40000 + c) ||
		    httpd_conn_alloc_unconnected(&cl->conn[c], cl->gw->http,
						 &peer, cl->out[c]))
			return;
	}
	mb = piece_expand(p, n, &cl->ids);
	if (!mb)
		return;
	before = answered(cl);
	httpd_input(cl->conn[c], mb);
	mem_deref(mb);
	/* a request may wait behind an answer just written, for the turn */
	if (answered(cl) != before)
		loop_turn();
	ids_find(cl->out[c], &cl->seen[c], &cl->ids);
}

/* Bytes up to the piece size, the next switch or the end; "$S" and "$C"
 * are not cut in two. */
FUZZ_UNCOVERED static size_t piece_len(const uint8_t *p, size_t left,
				       size_t piece)
{
	size_t n = 0;
	while (n < left && n < piece &&
	       !(p[n] == 0 && n + 1 < left && p[n + 1] >= '0' &&
		 p[n + 1] < '0' + CONNS))
		n++;
	if (n && n < left && p[n - 1] == '$' && (p[n] == 'S' || p[n] == 'C'))
		n++;
	return n;
}

/* data[0]: the piece size / 16; then bytes for connection 0, until a NUL
 * and a digit switch to connection <digit>. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client cl = {NULL, {NULL}, {NULL}, {0}, {"", ""}};
	struct store *store = fuzz_store();
	struct httpd_budget *budget;
	size_t piece;
	int c = 0;

	if (!size || !store || gateway_make(&cl.gw, store))
		return 0;
	budget = mem_ref(httpd_budget(cl.gw->http));
	piece = (size_t)data[0] * 16 + 1;
	for (size_t i = 1, n; i < size; i += n) {
		n = piece_len(data + i, size - i, piece);
		if (!n) { /* a switch */
			c = data[i + 1] - '0';
			n = 2;
			continue;
		}
		feed(&cl, c, data + i, n);
	}
	for (c = 0; c < CONNS; c++) {
		check_answers(cl.out[c]);
		mem_deref(cl.conn[c]);
	}
	mem_deref(cl.gw);
	for (c = 0; c < CONNS; c++)
		mem_deref(cl.out[c]);
	store_flush(store);
	if (budget->used)
		abort(); /* a connection gone left a charge behind */
	mem_deref(budget);
	return 0;
}
