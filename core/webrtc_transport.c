/*
 * webrtc_transport.c - the shared media port and its transports.
 *
 * Everything here runs on the worker's loop; the receive path takes a batch
 * of datagrams from port_udp and never allocates for RTP or RTCP. What the
 * handling of one receive batch sends (every copy of every packet, the
 * RTCP it answers with) is gathered and leaves in one port_udp_send_batch
 * when the batch is done, or as soon as PORT_UDP_BATCH are waiting: one
 * system call for many datagrams, never held past the batch that made
 * them. What is sent outside a receive batch (timers, the start of a DTLS
 * handshake) leaves at once.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "counters.h"
#include "port.h"
#include "packet.h"
#include "ice_lite.h"
#include "srtp_pair.h"
#include "webrtc_transport.h"

/* Datagrams waiting for the end of the receive batch that produced them. */
struct egress {
	struct port_pkt pkts[PORT_UDP_BATCH];
	struct sa dst[PORT_UDP_BATCH];
	uint8_t buf[PORT_UDP_BATCH][PORT_UDP_MTU];
	size_t n;
	bool open; /* a receive batch is being handled */
};

struct webrtc_server {
	struct port_udp *udp;
	struct egress *egress;
	struct sa candidate;
	struct dtls_cert *cert;
	struct hash *by_ufrag;
	struct hash *by_tuple;
	struct list transports;
	struct port_timer *consent_tmr;
	struct webrtc_server_stats stats;
	uint64_t rtp_rx_us; /* arrival of the RTP packet being handled, or 0:
			     * what it makes to send carries it */
};

struct webrtc_transport {
	struct le le, le_ufrag, le_tuple;
	struct webrtc_server *srv;
	char ufrag[ICE_UFRAG_LEN + 1], pwd[ICE_PWD_LEN + 1];
	enum webrtc_transport_state state;
	struct sa tuple;
	bool has_tuple;
	uint64_t consent_us;
	struct dtls_srtp *dtls;
	enum dtls_role role;
	struct srtp_pair *srtp;
	webrtc_packet_h *pkth;
	webrtc_peek_h *peekh;
	webrtc_state_h *stateh;
	void *arg;
};

static void set_state(struct webrtc_transport *t,
		      enum webrtc_transport_state st, const char *why)
{
	if (t->state == st || t->state == WEBRTC_CLOSED)
		return;
	t->state = st;
	if (t->stateh)
		t->stateh(t, st, why, t->arg);
}

const uint32_t webrtc_delay_bounds_us[WEBRTC_DELAY_BUCKETS] = {
	50, 100, 150, 250, 500, 1000, 2500, 5000, 10000, 25000};

/* A copy of an RTP packet left: the time since the packet reached our
 * socket: queued there, and in this loop turn. */
static void count_delay(struct webrtc_server *srv, uint64_t rx_us, uint64_t now)
{
	uint64_t d = now > rx_us ? now - rx_us : 0;
	unsigned b = 0;
	while (b < WEBRTC_DELAY_BUCKETS && d > webrtc_delay_bounds_us[b])
		b++;
	srv->stats.delay[b]++;
	srv->stats.delay_n++;
	srv->stats.delay_sum_us += d;
}

static int send_now(struct webrtc_server *srv, const struct port_pkt *pkts,
		    size_t n)
{
	size_t sent = 0;
	int err = port_udp_send_batch(srv->udp, pkts, n, &sent);
	uint64_t now = 0;
	for (size_t i = 0; i < sent; i++) {
		srv->stats.tx_bytes += pkts[i].len;
		if (!pkts[i].rx_us)
			continue;
		if (!now)
			now = port_now_us();
		count_delay(srv, pkts[i].rx_us, now);
	}
	srv->stats.tx_pkts += sent;
	srv->stats.tx_dropped += n - sent;
	srv->stats.tx_calls++;
	return err ? err : sent == n ? 0 : EAGAIN;
}

static void egress_flush(struct webrtc_server *srv)
{
	struct egress *eg = srv->egress;
	if (eg->n)
		(void)send_now(srv, eg->pkts, eg->n);
	eg->n = 0;
}

static int send_raw(struct webrtc_server *srv, const struct sa *dst,
		    uint8_t *buf, size_t len)
{
	struct egress *eg = srv->egress;
	struct port_pkt pkt = {buf, len, len, (struct sa *)dst, srv->rtp_rx_us};

	if (!eg->open || len > PORT_UDP_MTU)
		return send_now(srv, &pkt, 1);
	/* the caller's buffer is reused for the next copy: keep this one */
	memcpy(eg->buf[eg->n], buf, len);
	eg->dst[eg->n] = *dst;
	eg->pkts[eg->n] = (struct port_pkt){eg->buf[eg->n], len, PORT_UDP_MTU,
					    &eg->dst[eg->n], srv->rtp_rx_us};
	if (++eg->n == PORT_UDP_BATCH)
		egress_flush(srv);
	return 0;
}

static bool ufrag_cmp(struct le *le, void *arg)
{
	const struct webrtc_transport *t = le->data;
	return !strcmp(t->ufrag, arg);
}

static bool tuple_cmp(struct le *le, void *arg)
{
	const struct webrtc_transport *t = le->data;
	return sa_cmp(&t->tuple, arg, SA_ALL);
}

static struct webrtc_transport *by_tuple(struct webrtc_server *srv,
					 const struct sa *src)
{
	struct le *le = hash_lookup(srv->by_tuple, sa_hash(src, SA_ALL),
				    tuple_cmp, (void *)src);
	return le ? le->data : NULL;
}

static void on_stun(struct webrtc_server *srv, const struct port_pkt *p)
{
	struct ice_lite_request *req = NULL;
	struct webrtc_transport *t;
	struct le *le;
	uint8_t out[256];
	struct mbuf mb;

	srv->stats.rx_stun++;
	if (ice_lite_parse(&req, p->buf, p->len)) {
		srv->stats.drop_malformed++;
		return;
	}
	le = hash_lookup(srv->by_ufrag, hash_joaat_str(req->local_ufrag),
			 ufrag_cmp, req->local_ufrag);
	t = le ? le->data : NULL;
	if (!t || t->state == WEBRTC_CLOSED) {
		srv->stats.drop_unknown_tuple++;
		mem_deref(req);
		return;
	}
	mbuf_init(&mb);
	mb.buf = out;
	mb.size = sizeof(out);
	if (ice_lite_respond(req, t->pwd, p->peer, &mb)) {
		srv->stats.ice_refused++;
		(void)send_raw(srv, p->peer, mb.buf, mb.end);
		mem_deref(req);
		return;
	}
	(void)send_raw(srv, p->peer, mb.buf, mb.end);
	t->consent_us = port_now_us();
	/* The browser (controlling) nominates; until it does, the first
	 * working tuple carries DTLS. */
	if (!t->has_tuple ||
	    (req->use_candidate && !sa_cmp(&t->tuple, p->peer, SA_ALL))) {
		hash_unlink(&t->le_tuple);
		t->tuple = *p->peer;
		t->has_tuple = true;
		hash_append(srv->by_tuple, sa_hash(&t->tuple, SA_ALL),
			    &t->le_tuple, t);
	}
	if (t->state == WEBRTC_NEW) {
		set_state(t, WEBRTC_CONNECTED, "ICE connected");
		if (t->dtls && t->role == DTLS_ROLE_CLIENT)
			(void)dtls_srtp_start(t->dtls);
	}
	mem_deref(req);
}

static void handle_batch(struct webrtc_server *srv, const struct port_pkt *pkts,
			 size_t n);

static void recv_batch(const struct port_pkt *pkts, size_t n, void *arg)
{
	struct webrtc_server *srv = arg;

	srv->egress->open = true;
	handle_batch(srv, pkts, n);
	egress_flush(srv);
	srv->egress->open = false;
}

/* The peek handler on a packet without its tag: false when its header
 * was all that was needed. */
static bool peeked_enough(struct webrtc_transport *t, const uint8_t *buf,
			  size_t len)
{
	size_t tag = srtp_pair_rx_rtp_tag(t->srtp);
	return len > tag && !t->peekh(t, buf, len - tag, t->arg);
}

static void handle_batch(struct webrtc_server *srv, const struct port_pkt *pkts,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct port_pkt *p = &pkts[i];
		enum packet_class cls = packet_classify(p->buf, p->len);
		struct webrtc_transport *t;
		size_t len;

		if (cls == PACKET_STUN) {
			on_stun(srv, p);
			continue;
		}
		if (cls == PACKET_UNKNOWN) {
			srv->stats.drop_malformed++;
			continue;
		}
		t = by_tuple(srv, p->peer);
		if (!t) {
			srv->stats.drop_unknown_tuple++;
			continue;
		}
		if (cls == PACKET_DTLS) {
			srv->stats.rx_dtls++;
			if (t->dtls)
				(void)dtls_srtp_recv(t->dtls, p->buf, p->len);
			continue;
		}
		if (!t->srtp) {
			srv->stats.drop_no_srtp++;
			continue;
		}
		len = p->len;
		if (cls == PACKET_RTP) {
			srv->stats.rx_rtp++;
			/* a layer nobody receives needs its header only: its
			 * payload is not decrypted (the costliest step) */
			if (t->peekh && peeked_enough(t, p->buf, len))
				continue;
			if (srtp_pair_unprotect_rtp(t->srtp, p->buf, &len)) {
				srv->stats.drop_srtp++;
				continue;
			}
			srv->rtp_rx_us = p->rx_us;
		} else {
			srv->stats.rx_rtcp++;
			if (srtp_pair_unprotect_rtcp(t->srtp, p->buf, &len)) {
				srv->stats.drop_srtp++;
				continue;
			}
		}
		/* its SRTP proves the peer done with the handshake */
		dtls_srtp_peer_confirmed(t->dtls);
		if (t->pkth)
			t->pkth(t, p->buf, len, p->size, cls == PACKET_RTCP,
				t->arg);
		srv->rtp_rx_us = 0;
	}
}

/* RFC 7675: without a valid check for 30 s, the browser is gone. */
static void consent_check(void *arg)
{
	struct webrtc_server *srv = arg;
	uint64_t now = port_now_us();
	struct le *le = srv->transports.head;

	while (le) {
		struct webrtc_transport *t = le->data;
		le = le->next;
		if (t->state != WEBRTC_NEW && t->state != WEBRTC_CLOSED &&
		    now - t->consent_us > WEBRTC_CONSENT_TIMEOUT_MS * 1000ULL)
			set_state(t, WEBRTC_CLOSED, "ICE consent expired");
	}
	port_timer_start(srv->consent_tmr, 5000, consent_check, srv);
}

static void server_destructor(void *arg)
{
	struct webrtc_server *srv = arg;
	mem_deref(srv->consent_tmr);
	mem_deref(srv->udp);
	hash_flush(srv->by_ufrag);
	hash_flush(srv->by_tuple);
	mem_deref(srv->by_ufrag);
	mem_deref(srv->by_tuple);
	mem_deref(srv->cert);
	mem_deref(srv->egress);
}

int webrtc_server_alloc(struct webrtc_server **srvp, const struct sa *laddr,
			const struct sa *announced)
{
	struct webrtc_server *srv;
	int err;

	if (!srvp || !laddr)
		return EINVAL;
	srv = mem_zalloc(sizeof(*srv), server_destructor);
	if (!srv)
		return ENOMEM;
	srv->egress = mem_zalloc(sizeof(*srv->egress), NULL);
	if (!srv->egress) {
		mem_deref(srv);
		return ENOMEM;
	}
	err = hash_alloc(&srv->by_ufrag, 256);
	err |= hash_alloc(&srv->by_tuple, 256);
	if (!err)
		err = dtls_cert_generate(&srv->cert, "meeshy-sfu");
	if (!err)
		err = port_udp_listen(&srv->udp, laddr, recv_batch, srv);
	if (!err)
		err = port_udp_local(srv->udp, &srv->candidate);
	if (!err && announced) {
		/* a NAT or load balancer may map the port too */
		uint16_t port = sa_port(announced) ? sa_port(announced)
						   : sa_port(&srv->candidate);
		srv->candidate = *announced;
		sa_set_port(&srv->candidate, port);
	}
	if (!err)
		err = port_timer_alloc(&srv->consent_tmr);
	if (err) {
		mem_deref(srv);
		return err;
	}
	port_timer_start(srv->consent_tmr, 5000, consent_check, srv);
	*srvp = srv;
	return 0;
}

int webrtc_server_candidate(const struct webrtc_server *srv, struct sa *addr)
{
	if (!srv || !addr)
		return EINVAL;
	*addr = srv->candidate;
	return 0;
}

const char *webrtc_server_fingerprint(const struct webrtc_server *srv)
{
	return srv ? dtls_cert_fingerprint(srv->cert) : "";
}

void webrtc_server_stats(const struct webrtc_server *srv,
			 struct webrtc_server_stats *st)
{
	if (srv && st)
		*st = srv->stats;
}

void webrtc_server_stats_add(struct webrtc_server_stats *sum,
			     const struct webrtc_server_stats *x)
{
	/* the struct is all uint64_t counters */
	if (sum && x)
		counters_add((uint64_t *)sum, (const uint64_t *)x,
			     sizeof(*sum) / sizeof(uint64_t));
}

/* Transports */

static int dtls_out(const uint8_t *buf, size_t len, void *arg)
{
	struct webrtc_transport *t = arg;
	uint8_t copy[PORT_UDP_MTU + 200];
	if (!t->has_tuple)
		return ENOTCONN;
	if (len > sizeof(copy))
		return EMSGSIZE;
	memcpy(copy, buf, len); /* port_pkt wants a writable buffer */
	return send_raw(t->srv, &t->tuple, copy, len);
}

static void dtls_secured(const struct srtp_keys *keys, void *arg)
{
	struct webrtc_transport *t = arg;
	if (srtp_pair_alloc(&t->srtp, keys)) {
		set_state(t, WEBRTC_CLOSED, "SRTP could not be set up");
		return;
	}
	set_state(t, WEBRTC_SECURED, "DTLS-SRTP established");
}

static void dtls_closed(int err, const char *why, void *arg)
{
	struct webrtc_transport *t = arg;
	(void)err;
	set_state(t, WEBRTC_CLOSED, why);
}

static void transport_destructor(void *arg)
{
	struct webrtc_transport *t = arg;
	list_unlink(&t->le);
	hash_unlink(&t->le_ufrag);
	hash_unlink(&t->le_tuple);
	mem_deref(t->dtls);
	mem_deref(t->srtp);
}

int webrtc_transport_alloc(struct webrtc_transport **tp,
			   struct webrtc_server *srv, webrtc_packet_h *pkth,
			   webrtc_state_h *stateh, void *arg)
{
	struct webrtc_transport *t;
	int err;

	if (!tp || !srv)
		return EINVAL;
	t = mem_zalloc(sizeof(*t), transport_destructor);
	if (!t)
		return ENOMEM;
	t->srv = srv;
	t->pkth = pkth;
	t->stateh = stateh;
	t->arg = arg;
	err = ice_lite_credentials(t->ufrag, t->pwd);
	if (err) {
		mem_deref(t);
		return err;
	}
	list_append(&srv->transports, &t->le, t);
	hash_append(srv->by_ufrag, hash_joaat_str(t->ufrag), &t->le_ufrag, t);
	*tp = t;
	return 0;
}

void webrtc_transport_set_peek(struct webrtc_transport *t, webrtc_peek_h *peekh)
{
	if (t)
		t->peekh = peekh;
}

const char *webrtc_transport_ice_ufrag(const struct webrtc_transport *t)
{
	return t ? t->ufrag : "";
}

const char *webrtc_transport_ice_pwd(const struct webrtc_transport *t)
{
	return t ? t->pwd : "";
}

enum webrtc_transport_state
webrtc_transport_state(const struct webrtc_transport *t)
{
	return t ? t->state : WEBRTC_CLOSED;
}

int webrtc_transport_connect(struct webrtc_transport *t,
			     const char *remote_fingerprint,
			     enum dtls_role role)
{
	int err;
	if (!t || !remote_fingerprint)
		return EINVAL;
	if (t->dtls)
		return EALREADY;
	t->role = role;
	err = dtls_srtp_alloc(&t->dtls, t->srv->cert, role, remote_fingerprint,
			      dtls_out, dtls_secured, dtls_closed, t);
	if (!err && role == DTLS_ROLE_CLIENT && t->state == WEBRTC_CONNECTED)
		err = dtls_srtp_start(t->dtls);
	return err;
}

int webrtc_transport_send(struct webrtc_transport *t, uint8_t *buf, size_t len,
			  size_t size, bool rtcp)
{
	int err;
	if (!t || !buf)
		return EINVAL;
	if (!t->srtp || !t->has_tuple || t->state != WEBRTC_SECURED)
		return ENOTCONN;
	err = rtcp ? srtp_pair_protect_rtcp(t->srtp, buf, &len, size)
		   : srtp_pair_protect_rtp(t->srtp, buf, &len, size);
	if (err)
		return err;
	return send_raw(t->srv, &t->tuple, buf, len);
}
