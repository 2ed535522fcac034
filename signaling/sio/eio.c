/*
 * eio.c - Engine.IO v4 server over our HTTP server and websockets (httpd.h,
 * ws.h).
 *
 * A session (eio_sock) lives in the server's table from the handshake until
 * eio_close(). It has one active transport: long-polling (a held GET that is
 * answered when packets are queued) or a websocket. During an upgrade a
 * second, probing websocket exists beside the polling transport until the
 * client sends "5".
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "httpd.h"
#include "ws.h"
#include "eio.h"
#include "tmrq.h"
#include "base64url.h"

enum transport { T_POLLING, T_WEBSOCKET };
/* a websocket frame begun must be whole within this */
enum { WS_FRAME_MS = 20000 };
/* OUTQ_MAX: unread polling answers one session may hold */
enum { SID_BYTES = 15, OUTQ_MAX = 1024 * 1024 };

struct eio_server {
	struct hash *socks;
	struct httpd_budget answers; /* unread polling answers, all sessions */
	struct hash *ips; /* struct tally by address: live sessions */
	struct eio_config cfg;
	eio_open_h *openh;
	eio_message_h *msgh;
	eio_close_h *closeh;
	void *arg;
	size_t count;
	struct eio_stats stats;
	/* the sessions' heartbeats: the next ping, the pong awaited */
	struct tmrq *ping_q, *pong_q;
};

struct outpkt {
	struct le le;
	size_t len;
	char data[];
};

/* A websocket of a session. The session owns its links; a link owns its
 * websocket and points back to its session. */
struct ws_link {
	struct eio_sock *s;
	struct ws *ws;
};

/* Live sessions opened from one TCP connection (the connection's user
 * object) or one address (in the server's table); each session holds a
 * reference to both. */
struct tally {
	struct le le;
	struct sa addr;
	size_t n;
};

struct eio_sock {
	struct le le;
	struct eio_server *srv;
	struct sa peer;
	struct tally *conn_tally, *ip_tally;
	char sid[32];
	enum transport transport;
	bool closed;
	struct httpd_conn *poll; /* held GET, polling transport */
	struct ws_link *ws;      /* active websocket */
	struct ws_link *probe;   /* websocket being probed for upgrade */
	struct list outq;
	size_t outq_bytes;
	struct tmrq_entry ping_tmr; /* in srv->ping_q or srv->pong_q */
	bool awaiting_pong;
	/* a session that could not take a packet is closed from the loop,
	 * never inside the send that found out (a room emit may be walking
	 * the sockets); until then nothing more is sent to it */
	struct tmr doom_tmr;
	const char *doom_reason;
	void *user;
};

static const char ctype_text[] = "text/plain; charset=UTF-8";

/* Sessions */

static void ping_handler(void *arg);

static void outq_clear(struct eio_sock *s);

static void tally_destructor(void *arg)
{
	struct tally *t = arg;
	hash_unlink(&t->le);
}

/* Counts the session out of its connection's and address's tallies. */
static void tally_release(struct eio_sock *s)
{
	if (s->conn_tally)
		s->conn_tally->n--;
	if (s->ip_tally)
		s->ip_tally->n--;
	s->conn_tally = mem_deref(s->conn_tally);
	s->ip_tally = mem_deref(s->ip_tally);
}

static void sock_destructor(void *arg)
{
	struct eio_sock *s = arg;
	hash_unlink(&s->le);
	tmrq_cancel(&s->ping_tmr);
	tmr_cancel(&s->doom_tmr);
	outq_clear(s);
	tally_release(s);
	mem_deref(s->poll);
	mem_deref(s->ws);
	mem_deref(s->probe);
}

static void server_destructor(void *arg)
{
	struct eio_server *srv = arg;
	eio_server_close_all(srv, "server shutdown");
	hash_flush(srv->socks);
	mem_deref(srv->socks);
	mem_deref(srv->ips);
	mem_deref(srv->ping_q);
	mem_deref(srv->pong_q);
}

uint32_t eio_hash_buckets(uint64_t entries)
{
	const uint64_t lo = 256, hi = 65536;
	entries /= 2;
	return hash_valid_size((uint32_t)(entries < lo   ? lo
					  : entries > hi ? hi
							 : entries));
}

int eio_server_alloc(struct eio_server **srvp, const struct eio_config *cfg,
		     eio_open_h *openh, eio_message_h *msgh,
		     eio_close_h *closeh, void *arg)
{
	struct eio_server *srv;
	int err;

	if (!srvp || !cfg || !msgh || !closeh)
		return EINVAL;
	srv = mem_zalloc(sizeof(*srv), server_destructor);
	if (!srv)
		return ENOMEM;
	srv->cfg = *cfg;
	srv->answers.limit = cfg->answer_budget;
	srv->openh = openh;
	srv->msgh = msgh;
	srv->closeh = closeh;
	srv->arg = arg;
	err = tmrq_alloc(&srv->ping_q, cfg->ping_interval_ms);
	if (!err)
		err = tmrq_alloc(&srv->pong_q, cfg->ping_timeout_ms);
	if (!err)
		err = hash_alloc(&srv->socks,
				 eio_hash_buckets(cfg->max_sessions));
	if (!err)
		err = hash_alloc(&srv->ips,
				 eio_hash_buckets(cfg->max_sessions));
	if (err)
		mem_deref(srv);
	else
		*srvp = srv;
	return err;
}

static bool sid_cmp(struct le *le, void *arg)
{
	const struct eio_sock *s = le->data;
	return !strcmp(s->sid, arg);
}

static struct eio_sock *sock_find(struct eio_server *srv, const struct pl *sid)
{
	char buf[32];
	struct le *le;
	if (!sid->l || sid->l >= sizeof(buf))
		return NULL;
	pl_strcpy(sid, buf, sizeof(buf));
	le = hash_lookup(srv->socks, hash_joaat_str(buf), sid_cmp, buf);
	return le ? le->data : NULL;
}

size_t eio_server_count(const struct eio_server *srv)
{
	return srv ? srv->count : 0;
}

void eio_server_stats(const struct eio_server *srv, struct eio_stats *st)
{
	if (srv && st) {
		*st = srv->stats;
		st->unread_bytes = srv->answers.used;
	}
}

const char *eio_sid(const struct eio_sock *s)
{
	return s ? s->sid : "";
}

const char *eio_transport_name(const struct eio_sock *s)
{
	return s && s->transport == T_WEBSOCKET ? "websocket" : "polling";
}

const struct sa *eio_peer(const struct eio_sock *s)
{
	return s ? &s->peer : NULL;
}

void eio_set_user(struct eio_sock *s, void *user)
{
	if (s)
		s->user = user;
}

void *eio_user(const struct eio_sock *s)
{
	return s ? s->user : NULL;
}

/* Output */

static int reply_text(struct httpd_conn *conn, const char *body, size_t len)
{
	return httpd_reply(conn, 200, "OK",
			   "Content-Type: %s\r\n"
			   "Content-Length: %zu\r\n"
			   "Cache-Control: no-store\r\n"
			   "\r\n"
			   "%b",
			   ctype_text, len, body, len);
}

/* Answers the held GET with everything queued. */
static void poll_flush(struct eio_sock *s)
{
	struct mbuf *mb;
	struct le *le;

	if (!s->poll || list_isempty(&s->outq))
		return;
	mb = mbuf_alloc(s->outq_bytes + list_count(&s->outq));
	if (!mb)
		return;
	while ((le = list_head(&s->outq))) {
		struct outpkt *o = le->data;
		if (mb->end)
			(void)mbuf_write_u8(mb, 0x1e);
		(void)mbuf_write_mem(mb, (const uint8_t *)o->data, o->len);
		mem_deref(o);
	}
	httpd_budget_give(&s->srv->answers, s->outq_bytes);
	s->outq_bytes = 0;
	(void)reply_text(s->poll, (const char *)mb->buf, mb->end);
	s->poll = mem_deref(s->poll);
	mem_deref(mb);
}

static void outpkt_destructor(void *arg)
{
	struct outpkt *o = arg;
	list_unlink(&o->le);
}

/* Drops what waits for a poll, and its charge. */
static void outq_clear(struct eio_sock *s)
{
	list_flush(&s->outq);
	if (s->outq_bytes)
		httpd_budget_give(&s->srv->answers, s->outq_bytes);
	s->outq_bytes = 0;
}

static void doom_handler(void *arg)
{
	struct eio_sock *s = arg;
	eio_close(s, s->doom_reason);
}

/* The session cannot take what is sent to it (its client stopped reading,
 * or the answers waiting for all polls are too many): what it was sent is
 * not dropped while it looks alive, the session is closed, soon, and
 * counted once, in *counter. */
static void doom(struct eio_sock *s, const char *reason, uint64_t *counter)
{
	if (s->doom_reason)
		return;
	s->doom_reason = reason;
	(*counter)++;
	port_log(PORT_LOG_INFO, "eio %s: %s: closing", s->sid, reason);
	tmr_start(&s->doom_tmr, 0, doom_handler, s);
}

/* Sends one packet: type, then an optional one-character prefix (0 for
 * none; Socket.IO's packet type, so callers need not copy), then data. */
static int send_packet(struct eio_sock *s, char type, char prefix,
		       const char *data, size_t len)
{
	size_t plen = prefix ? 1 : 0;
	struct outpkt *o;
	int err;

	if (!data)
		data = "";
	if (s->closed || s->doom_reason)
		return ENOTCONN;
	if (s->transport == T_WEBSOCKET && s->ws) {
		/* refused (ENOSPC) once 512 kB wait for the socket */
		const struct ws_part parts[3] = {
			{&type, 1}, {&prefix, plen}, {data, len}};
		err = ws_send(s->ws->ws, WS_TEXT, parts, 3);
		if (err)
			doom(s, "send buffer overflow",
			     &s->srv->stats.closed_send_overflow);
		return err;
	}
	if (s->outq_bytes + len + 2 > OUTQ_MAX) {
		doom(s, "send buffer overflow",
		     &s->srv->stats.closed_send_overflow);
		return ENOBUFS;
	}
	/* all sessions' unread answers together stay within the budget */
	if (!httpd_budget_take(&s->srv->answers, len + 1 + plen)) {
		doom(s, "server send budget spent",
		     &s->srv->stats.closed_budget);
		return ENOBUFS;
	}
	o = mem_alloc(sizeof(*o) + len + 2, outpkt_destructor);
	if (!o)
		return ENOMEM;
	memset(&o->le, 0, sizeof(o->le));
	o->data[0] = type;
	if (prefix)
		o->data[1] = prefix;
	if (len)
		memcpy(o->data + 1 + plen, data, len);
	o->len = len + 1 + plen;
	list_append(&s->outq, &o->le, o);
	s->outq_bytes += o->len;
	poll_flush(s);
	return 0;
}

int eio_send(struct eio_sock *s, const char *data, size_t len)
{
	if (!s || (!data && len))
		return EINVAL;
	return send_packet(s, EIO_MESSAGE, 0, data, len);
}

int eio_send_prefixed(struct eio_sock *s, char prefix, const char *data,
		      size_t len)
{
	if (!s || (!data && len))
		return EINVAL;
	return send_packet(s, EIO_MESSAGE, prefix, data, len);
}

int eio_send_binary(struct eio_sock *s, const uint8_t *data, size_t len)
{
	char *text;
	size_t n;
	int err;

	if (!s || (!data && len))
		return EINVAL;
	if (s->closed || s->doom_reason)
		return ENOTCONN;
	if (s->transport == T_WEBSOCKET && s->ws) {
		const struct ws_part part = {data, len};
		err = ws_send(s->ws->ws, WS_BINARY, &part, 1);
		if (err)
			doom(s, "send buffer overflow",
			     &s->srv->stats.closed_send_overflow);
		return err;
	}
	n = base64_padded_len(len) + 1;
	text = mem_alloc(n, NULL);
	if (!text)
		return ENOMEM;
	err = base64_encode_padded(data, len, text, &n);
	if (!err)
		err = send_packet(s, EIO_BINARY, 0, text, n);
	mem_deref(text);
	return err;
}

/* Closes the session; a held GET is answered poll_answer: "1" (close)
 * when the server closes, "6" (noop, to end the request cleanly) when the
 * client did. */
static void sock_close(struct eio_sock *s, const char *reason,
		       const char *poll_answer)
{
	struct eio_server *srv;

	if (!s || s->closed)
		return;
	srv = s->srv;
	s->closed = true;
	tmrq_cancel(&s->ping_tmr);
	tmr_cancel(&s->doom_tmr);
	if (s->poll) {
		(void)reply_text(s->poll, poll_answer, 1);
		s->poll = mem_deref(s->poll);
	}
	if (s->ws)
		ws_close(s->ws->ws, WS_NORMAL, NULL);
	s->ws = mem_deref(s->ws);
	s->probe = mem_deref(s->probe);
	outq_clear(s);
	tally_release(s);
	hash_unlink(&s->le);
	srv->count--;
	srv->closeh(s, reason, srv->arg);
	mem_deref(s); /* the table's reference */
}

void eio_close(struct eio_sock *s, const char *reason)
{
	sock_close(s, reason, "1");
}

static bool first_one(struct le *le, void *arg)
{
	(void)le;
	(void)arg;
	return true;
}

void eio_server_close_all(struct eio_server *srv, const char *reason)
{
	struct le *le;
	if (!srv || !srv->socks)
		return;
	/* Closing unlinks from the table, so take the first one each time. */
	while ((le = hash_apply(srv->socks, first_one, NULL)))
		eio_close(le->data, reason);
}

/* Heartbeat: ping every pingInterval, expect the pong within pingTimeout. */

static void ping_handler(void *arg)
{
	struct eio_sock *s = arg;

	if (s->awaiting_pong) {
		s->srv->stats.closed_ping_timeout++;
		eio_close(s, "ping timeout");
		return;
	}
	s->awaiting_pong = true;
	tmrq_start(s->srv->pong_q, &s->ping_tmr, ping_handler, s);
	(void)send_packet(s, EIO_PING, 0, NULL, 0);
}

/* Input */

struct recv_ctx {
	struct eio_sock *s;
	struct ws_link *via; /* the websocket it came on, or NULL */
};

/* A "b" packet (checked as base64 with the payload): its bytes. */
static void recv_base64(struct eio_sock *s, const char *text, size_t len)
{
	size_t n = len / 4 * 3;
	uint8_t *bytes = mem_alloc(n ? n : 1, NULL);

	if (!bytes || base64_decode_padded(text, len, bytes, &n)) {
		s->srv->stats.dropped_malformed++;
		mem_deref(bytes);
		eio_close(s, "parse error");
		return;
	}
	s->srv->msgh(s, (const char *)bytes, n, true, s->srv->arg);
	mem_deref(bytes);
}

static void recv_packet(char type, const char *data, size_t len, void *arg)
{
	struct recv_ctx *ctx = arg;
	struct eio_sock *s = ctx->s;
	struct eio_server *srv = s->srv;

	if (s->closed)
		return;
	/* The probing websocket speaks only the upgrade dialogue. */
	if (ctx->via && ctx->via == s->probe) {
		if (type == EIO_PING && len == 5) {
			const struct ws_part pong = {"3probe", 6};
			(void)ws_send(s->probe->ws, WS_TEXT, &pong, 1);
			/* Let the held GET return so the client can pause
			 * polling before it sends "5". */
			if (s->poll && list_isempty(&s->outq))
				(void)send_packet(s, EIO_NOOP, 0, NULL, 0);
		} else if (type == EIO_UPGRADE) {
			s->ws = s->probe;
			s->probe = NULL;
			s->transport = T_WEBSOCKET;
			srv->stats.upgrades++;
			port_log(PORT_LOG_DEBUG,
				 "eio %s: upgraded to websocket", s->sid);
			if (s->poll) {
				(void)reply_text(s->poll, "6", 1);
				s->poll = mem_deref(s->poll);
			}
			/* What was queued for polling goes out in order. */
			while (!list_isempty(&s->outq) && !s->closed) {
				struct outpkt *o = list_head(&s->outq)->data;
				const struct ws_part part = {o->data, o->len};
				(void)ws_send(s->ws->ws, WS_TEXT, &part, 1);
				mem_deref(o);
			}
			outq_clear(s);
		} else {
			srv->stats.dropped_malformed++;
		}
		return;
	}

	switch (type) {
	case EIO_PONG:
		if (s->awaiting_pong) {
			s->awaiting_pong = false;
			tmrq_start(srv->ping_q, &s->ping_tmr, ping_handler, s);
		}
		break;
	case EIO_MESSAGE:
		srv->msgh(s, data, len, false, srv->arg);
		break;
	case EIO_BINARY:
		recv_base64(s, data, len);
		break;
	case EIO_CLOSE:
		sock_close(s, "client close", "6");
		break;
	case EIO_NOOP:
		break;
	default:
		srv->stats.dropped_malformed++;
		break;
	}
}

static void link_destructor(void *arg)
{
	struct ws_link *l = arg;
	ws_close(l->ws, WS_NORMAL, NULL); /* if still open */
	mem_deref(l->ws);
}

static void ws_recv_handler(struct ws *ws, enum ws_opcode op,
			    const uint8_t *data, size_t len, void *arg)
{
	struct ws_link *l = arg;
	struct eio_sock *s = l->s;
	struct recv_ctx ctx = {s, l};
	const char *p = (const char *)data;
	(void)ws;

	if (s->closed)
		return;
	port_log(PORT_LOG_DEBUG, "eio %s: ws message op %u len %zu", s->sid, op,
		 len);
	mem_ref(s);
	if (op == WS_BINARY && l == s->ws)
		s->srv->msgh(s, p, len, true, s->srv->arg);
	else if (op == WS_TEXT && eio_packet_valid(p, len))
		recv_packet(p[0], p + 1, len - 1, &ctx);
	else if (l == s->ws) {
		/* not Engine.IO: the session ends (protocol) */
		s->srv->stats.dropped_malformed++;
		eio_close(s, "parse error");
	} else {
		s->srv->stats.dropped_malformed++;
	}
	mem_deref(s);
}

static void ws_close_handler(int err, void *arg)
{
	struct ws_link *l = arg;
	struct eio_sock *s = l->s;

	if (err == EOVERFLOW)
		s->srv->stats.dropped_too_large++;
	if (l == s->probe) {
		s->probe = mem_deref(s->probe); /* upgrade abandoned */
	} else if (l == s->ws) {
		s->ws = mem_deref(s->ws);
		eio_close(s, err == EOVERFLOW ? "payload too large"
					      : "transport close");
	}
}

static int ws_link_accept(struct eio_sock *s, struct httpd_conn *conn,
			  const struct http_msg *msg, struct ws_link **linkp)
{
	const struct ws_config wc = {s->srv->cfg.max_payload, WS_FRAME_MS};
	struct ws_link *l;
	int err;

	l = mem_zalloc(sizeof(*l), link_destructor);
	if (!l)
		return ENOMEM;
	l->s = s;
	err = ws_accept(&l->ws, conn, msg, &wc, s->srv->cfg.budget,
			ws_recv_handler, ws_close_handler, l);
	if (err) {
		mem_deref(l);
		return err;
	}
	*linkp = l;
	return 0;
}

static void ignore_recv(struct ws *ws, enum ws_opcode op, const uint8_t *data,
			size_t len, void *arg)
{
	(void)ws;
	(void)op;
	(void)data;
	(void)len;
	(void)arg;
}

static void ignore_close(int err, void *arg)
{
	(void)err;
	(void)arg;
}

/* Requests */

/* An Engine.IO error answer: {code, message} with the HTTP status given
 * (extra: header lines before the body's, or ""). */
static void reply_error_as(struct eio_server *srv, struct httpd_conn *conn,
			   uint16_t scode, const char *reason,
			   const char *extra, int code, const char *message)
{
	char body[160];
	int n = re_snprintf(body, sizeof(body),
			    "{\"code\":%d,\"message\":\"%s\"}", code, message);
	srv->stats.refused_requests++;
	(void)httpd_reply(conn, scode, reason,
			  "%s"
			  "Content-Type: application/json\r\n"
			  "Content-Length: %d\r\n"
			  "\r\n"
			  "%s",
			  extra, n, body);
}

static void eio_reply_error(struct eio_server *srv, struct httpd_conn *conn,
			    int code, const char *message)
{
	reply_error_as(srv, conn, 400, "Bad Request", "", code, message);
}

static int open_packet(struct eio_sock *s, bool upgrades, char *buf,
		       size_t size)
{
	return re_snprintf(buf, size,
			   "0{\"sid\":\"%s\",\"upgrades\":[%s],"
			   "\"pingInterval\":%u,\"pingTimeout\":%u,"
			   "\"maxPayload\":%u}",
			   s->sid, upgrades ? "\"websocket\"" : "",
			   s->srv->cfg.ping_interval_ms,
			   s->srv->cfg.ping_timeout_ms,
			   s->srv->cfg.max_payload);
}

static int sock_new(struct eio_server *srv, struct eio_sock **sp)
{
	uint8_t raw[SID_BYTES];
	size_t n = sizeof(((struct eio_sock *)0)->sid);
	struct eio_sock *s;
	int err;

	s = mem_zalloc(sizeof(*s), sock_destructor);
	if (!s)
		return ENOMEM;
	s->srv = srv;
	tmr_init(&s->doom_tmr);
	err = port_random(raw, sizeof(raw));
	if (!err)
		err = base64url_encode(raw, sizeof(raw), s->sid, &n);
	if (err) {
		mem_deref(s);
		return err;
	}
	*sp = s;
	return 0;
}

static void sock_register(struct eio_server *srv, struct eio_sock *s)
{
	hash_append(srv->socks, hash_joaat_str(s->sid), &s->le, s);
	srv->count++;
	srv->stats.handshakes++;
	tmrq_start(srv->ping_q, &s->ping_tmr, ping_handler, s);
	if (srv->openh)
		srv->openh(s, srv->arg);
}

static bool is_ws_upgrade(const struct http_msg *msg)
{
	return http_msg_hdr_has_value(msg, HTTP_HDR_UPGRADE, "websocket");
}

/* 503 with the Engine.IO error body, naming the limit. */
static void refuse_handshake(struct eio_server *srv, struct httpd_conn *conn,
			     const char *why)
{
	reply_error_as(srv, conn, 503, "Service Unavailable",
		       "Retry-After: 5\r\n", 3, why);
}

static bool addr_cmp(struct le *le, void *arg)
{
	const struct tally *t = le->data;
	return sa_cmp(&t->addr, arg, SA_ADDR);
}

/* The tallies of the connection and of its address (new ones when there
 * are none yet); false if either is out of memory. */
static bool tallies(struct eio_server *srv, struct httpd_conn *conn,
		    struct tally **ct, struct tally **it)
{
	const struct sa *peer = httpd_conn_peer(conn);
	uint32_t h = sa_hash(peer, SA_ADDR);
	struct le *le = hash_lookup(srv->ips, h, addr_cmp, (void *)peer);

	*ct = httpd_conn_user(conn);
	if (!*ct) {
		*ct = mem_zalloc(sizeof(**ct), NULL);
		if (!*ct)
			return false;
		httpd_conn_set_user(conn, *ct); /* the connection's ref */
		mem_deref(*ct);
	}
	*it = le ? mem_ref(le->data)
		 : mem_zalloc(sizeof(**it), tally_destructor);
	if (!*it)
		return false;
	if (!le) {
		(*it)->addr = *peer;
		hash_append(srv->ips, h, &(*it)->le, *it);
	}
	return true;
}

static void handshake(struct eio_server *srv, struct httpd_conn *conn,
		      const struct http_msg *msg, bool websocket)
{
	struct tally *ct = NULL, *it = NULL;
	struct eio_sock *s;
	char open[256];
	int n;

	if (srv->cfg.max_sessions && srv->count >= srv->cfg.max_sessions) {
		refuse_handshake(srv, conn, "the server is full");
		return;
	}
	if (!tallies(srv, conn, &ct, &it) || sock_new(srv, &s)) {
		mem_deref(it);
		(void)httpd_ereply(conn, 500, "Internal Server Error");
		return;
	}
	s->conn_tally = mem_ref(ct);
	s->ip_tally = it;
	ct->n++;
	it->n++;
	if (ct->n > EIO_SESSIONS_PER_CONN) {
		srv->stats.refused_per_conn++;
		mem_deref(s);
		refuse_handshake(srv, conn,
				 "too many sessions opened on this connection");
		return;
	}
	if (srv->cfg.max_sessions_per_ip &&
	    it->n > srv->cfg.max_sessions_per_ip) {
		srv->stats.refused_per_ip++;
		mem_deref(s);
		refuse_handshake(srv, conn,
				 "too many sessions from this address");
		return;
	}
	s->peer = *httpd_conn_peer(conn);
	if (websocket) {
		if (ws_link_accept(s, conn, msg, &s->ws)) {
			mem_deref(s);
			eio_reply_error(srv, conn, 3, "Bad request");
			return;
		}
		s->transport = T_WEBSOCKET;
		n = open_packet(s, false, open, sizeof(open));
		const struct ws_part part = {open, (size_t)n};
		(void)ws_send(s->ws->ws, WS_TEXT, &part, 1);
	} else {
		s->transport = T_POLLING;
		n = open_packet(s, true, open, sizeof(open));
		(void)reply_text(conn, open, (size_t)n);
	}
	sock_register(srv, s);
}

/* A websocket for a session that has one, or is probing one: accepted
 * and closed at once, as the reference server does, so the client sees a
 * close and the session goes on. */
static void ws_turn_away(struct eio_server *srv, struct httpd_conn *conn,
			 const struct http_msg *msg)
{
	const struct ws_config wc = {srv->cfg.max_payload, WS_FRAME_MS};
	struct ws *ws;

	if (ws_accept(&ws, conn, msg, &wc, srv->cfg.budget, ignore_recv,
		      ignore_close, NULL)) {
		eio_reply_error(srv, conn, 3, "Bad request");
		return;
	}
	srv->stats.refused_requests++;
	ws_close(ws, WS_PROTOCOL_ERROR, "the session has a websocket");
	mem_deref(ws);
}

static void poll_get(struct eio_sock *s, struct httpd_conn *conn)
{
	if (s->poll) {
		/* Two GETs at once break the protocol: close the session. */
		eio_reply_error(s->srv, conn, 3, "Overlap from client");
		eio_close(s, "multiple poll requests");
		return;
	}
	s->poll = mem_ref(conn);
	/* While a websocket is being probed, a GET must not be held: the
	 * client waits for it to return before it sends "5". */
	if (s->probe && list_isempty(&s->outq))
		(void)send_packet(s, EIO_NOOP, 0, NULL, 0);
	poll_flush(s);
}

static void poll_post(struct eio_sock *s, struct httpd_conn *conn,
		      const struct http_msg *msg)
{
	struct eio_server *srv = s->srv;
	struct recv_ctx ctx = {s, NULL};
	size_t len = mbuf_get_left(msg->mb);

	if (len > srv->cfg.max_payload) {
		srv->stats.dropped_too_large++;
		(void)httpd_reply(conn, 413, "Payload Too Large",
				  "Content-Length: 0\r\n\r\n");
		eio_close(s, "payload too large");
		return;
	}
	/* a payload that is not Engine.IO ends the session (protocol) */
	if (!eio_payload_valid((const char *)mbuf_buf(msg->mb), len)) {
		srv->stats.dropped_malformed++;
		eio_reply_error(srv, conn, 3, "Bad request");
		eio_close(s, "parse error");
		return;
	}
	/* Answer first: handlers may send, and sending flushes the GET. */
	(void)reply_text(conn, "ok", 2);
	mem_ref(s);
	(void)eio_payload_decode((const char *)mbuf_buf(msg->mb), len,
				 recv_packet, &ctx);
	mem_deref(s);
}

void eio_server_handle(struct eio_server *srv, struct httpd_conn *conn,
		       const struct http_msg *msg)
{
	struct pl eio, transport, sid;
	struct eio_sock *s;
	bool websocket;

	if (!srv || !conn || !msg)
		return;
	if (!eio_query_get(msg, "EIO", &eio) || pl_strcmp(&eio, "4")) {
		eio_reply_error(srv, conn, 5, "Unsupported protocol version");
		return;
	}
	if (!eio_query_get(msg, "transport", &transport)) {
		eio_reply_error(srv, conn, 0, "Transport unknown");
		return;
	}
	if (!pl_strcmp(&transport, "websocket"))
		websocket = true;
	else if (!pl_strcmp(&transport, "polling"))
		websocket = false;
	else {
		eio_reply_error(srv, conn, 0, "Transport unknown");
		return;
	}
	if (websocket && !is_ws_upgrade(msg)) {
		eio_reply_error(srv, conn, 3, "Bad request");
		return;
	}

	if (!eio_query_get(msg, "sid", &sid)) {
		if (pl_strcmp(&msg->met, "GET")) {
			eio_reply_error(srv, conn, 2, "Bad handshake method");
			return;
		}
		handshake(srv, conn, msg, websocket);
		return;
	}

	s = sock_find(srv, &sid);
	if (!s) {
		eio_reply_error(srv, conn, 1, "Session ID unknown");
		return;
	}
	if (websocket) {
		if (s->transport == T_WEBSOCKET || s->probe) {
			ws_turn_away(srv, conn, msg);
			return;
		}
		if (ws_link_accept(s, conn, msg, &s->probe))
			eio_reply_error(srv, conn, 3, "Bad request");
		else
			port_log(PORT_LOG_DEBUG, "eio %s: probing websocket",
				 s->sid);
		return;
	}
	if (s->transport != T_POLLING) {
		eio_reply_error(srv, conn, 3, "Bad request");
		return;
	}
	port_log(PORT_LOG_DEBUG, "eio %s: %r poll (%zu bytes)", s->sid,
		 &msg->met, mbuf_get_left(msg->mb));
	if (!pl_strcmp(&msg->met, "GET"))
		poll_get(s, conn);
	else if (!pl_strcmp(&msg->met, "POST"))
		poll_post(s, conn, msg);
	else
		eio_reply_error(srv, conn, 2, "Bad request method");
}
