/*
 * ws.c - ws.h over libre's TCP connections.
 *
 * Received bytes wait in rx until a whole frame is there; a message of
 * several frames is joined in msg. Both are charged to the budget. A ws
 * that is closing keeps itself alive (a reference of its own) until its
 * close frame has left, so its owner may release it at once.
 */
#include <errno.h>
#include <string.h>
#include <mbedtls/md.h>
#include <re.h>
#include "httpd.h"
#include "ws.h"

enum { CLOSE_LINGER_MS = 2000, KEY_LEN = 24 };

enum ws_state { WS_OPEN, WS_CLOSING, WS_CLOSED };

struct ws {
	struct tcp_conn *tc;
	struct ws_config cfg;
	struct httpd_budget *budget;
	struct mbuf *rx;  /* bytes of frames not yet whole */
	struct mbuf *msg; /* a fragmented message being joined */
	enum ws_opcode msg_op;
	size_t charged; /* rx + msg, as counted in the budget */
	struct tmr tmr; /* frame deadline, or the close's linger */
	bool timing;    /* the frame deadline runs */
	enum ws_state state;
	ws_recv_h *recvh;
	ws_close_h *closeh;
	void *arg;
};

static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static void recharge(struct ws *ws)
{
	size_t now = (ws->rx ? mbuf_get_left(ws->rx) : 0) +
		     (ws->msg ? ws->msg->end : 0);
	httpd_budget_give(ws->budget, ws->charged);
	ws->budget->used += now; /* already admitted: never refused here */
	ws->charged = now;
}

static void ws_destructor(void *arg)
{
	struct ws *ws = arg;
	tmr_cancel(&ws->tmr);
	ws->rx = mem_deref(ws->rx);
	ws->msg = mem_deref(ws->msg);
	if (ws->budget)
		recharge(ws);
	mem_deref(ws->budget);
	mem_deref(ws->tc);
}

/* The end: no handler from now on; the TCP connection goes once what was
 * written has left. */
static void linger_done(void *arg)
{
	struct ws *ws = arg;
	ws->tc = mem_deref(ws->tc);
	ws->state = WS_CLOSED;
	mem_deref(ws); /* the linger's own reference */
}

static void drained(void *arg)
{
	struct ws *ws = arg;
	tmr_cancel(&ws->tmr);
	linger_done(ws);
}

static void finish(struct ws *ws)
{
	ws->recvh = NULL;
	ws->closeh = NULL;
	ws->rx = mem_deref(ws->rx);
	ws->msg = mem_deref(ws->msg);
	recharge(ws);
	tmr_cancel(&ws->tmr);
	if (!ws->tc) {
		ws->state = WS_CLOSED;
		return;
	}
	ws->state = WS_CLOSING;
	tcp_set_handlers(ws->tc, NULL, NULL, NULL, ws);
	mem_ref(ws);
	if (!tcp_conn_txqsz(ws->tc)) {
		linger_done(ws);
		return;
	}
	(void)tcp_set_send(ws->tc, drained);
	tmr_start(&ws->tmr, CLOSE_LINGER_MS, linger_done, ws);
}

static int send_frame(struct ws *ws, enum ws_opcode op,
		      const struct ws_part *parts, size_t n)
{
	size_t len = 0;
	struct mbuf *mb;
	int err = 0;

	for (size_t i = 0; i < n; i++)
		len += parts[i].len;
	mb = mbuf_alloc(len + 10);
	if (!mb)
		return ENOMEM;
	err |= mbuf_write_u8(mb, (uint8_t)(0x80 | op));
	if (len < 126) {
		err |= mbuf_write_u8(mb, (uint8_t)len);
	} else if (len <= 0xffff) {
		err |= mbuf_write_u8(mb, 126);
		err |= mbuf_write_u16(mb, htons((uint16_t)len));
	} else {
		err |= mbuf_write_u8(mb, 127);
		err |= mbuf_write_u64(mb, sys_htonll((uint64_t)len));
	}
	for (size_t i = 0; i < n && !err; i++)
		if (parts[i].len)
			err = mbuf_write_mem(mb, parts[i].p, parts[i].len);
	if (!err) {
		mb->pos = 0;
		err = tcp_send(ws->tc, mb);
	}
	mem_deref(mb);
	return err;
}

int ws_send(struct ws *ws, enum ws_opcode op, const struct ws_part *parts,
	    size_t n)
{
	if (!ws || (n && !parts))
		return EINVAL;
	if (ws->state != WS_OPEN || !ws->tc)
		return ENOTCONN;
	return send_frame(ws, op, parts, n);
}

static void send_close(struct ws *ws, enum ws_status code, const char *reason)
{
	uint8_t c[2] = {(uint8_t)(code >> 8), (uint8_t)(code & 0xff)};
	struct ws_part parts[2] = {{c, 2},
				   {reason, reason ? strlen(reason) : 0}};
	if (parts[1].len > 123)
		parts[1].len = 123;
	(void)send_frame(ws, WS_CLOSE, parts, 2);
}

void ws_close(struct ws *ws, enum ws_status code, const char *reason)
{
	if (!ws || ws->state != WS_OPEN)
		return;
	if (ws->tc)
		send_close(ws, code, reason);
	finish(ws);
}

/* The client broke a rule, or the network went: told and finished. */
static void fail(struct ws *ws, int err, enum ws_status code)
{
	ws_close_h *closeh = ws->closeh;
	void *arg = ws->arg;

	if (ws->state != WS_OPEN)
		return;
	if (ws->tc && code)
		send_close(ws, code, NULL);
	finish(ws);
	if (closeh)
		closeh(err, arg);
}

/* Frames */

struct frame {
	bool fin;
	enum ws_opcode op;
	uint64_t len;
	size_t hlen; /* header with its mask key */
	uint8_t key[4];
};

/* 0 with f filled, ENODATA when the header is not all here, or the
 * status code to close with. */
static int frame_head(const uint8_t *p, size_t avail, size_t max,
		      struct frame *f)
{
	size_t ext;

	if (avail < 2)
		return ENODATA;
	f->fin = p[0] & 0x80;
	f->op = (enum ws_opcode)(p[0] & 0x0f);
	if (p[0] & 0x70 || !(p[1] & 0x80)) /* reserved bits; unmasked */
		return WS_PROTOCOL_ERROR;
	if (f->op > WS_BINARY && f->op < WS_CLOSE)
		return WS_PROTOCOL_ERROR;
	if (f->op > WS_PONG)
		return WS_PROTOCOL_ERROR;
	f->len = p[1] & 0x7f;
	if (f->op >= WS_CLOSE && (!f->fin || f->len > 125))
		return WS_PROTOCOL_ERROR;
	ext = f->len == 126 ? 2 : f->len == 127 ? 8 : 0;
	if (avail < 2 + ext)
		return ENODATA;
	if (ext == 2)
		f->len = (uint64_t)p[2] << 8 | p[3];
	else if (ext == 8)
		for (int i = 0; i < 8; i++)
			f->len = (i ? f->len << 8 : 0) | p[2 + i];
	if (f->len > max) /* judged before anything else is read */
		return WS_TOO_BIG;
	f->hlen = 2 + ext + 4;
	if (avail < f->hlen)
		return ENODATA;
	memcpy(f->key, p + 2 + ext, 4);
	return 0;
}

static void deliver(struct ws *ws, enum ws_opcode op, const uint8_t *p,
		    size_t len)
{
	if (ws->recvh)
		ws->recvh(ws, op, p, len, ws->arg);
}

/* One whole frame, unmasked. 0, or the status code to close with. */
static int frame_take(struct ws *ws, const struct frame *f, const uint8_t *p)
{
	size_t len = (size_t)f->len;

	switch (f->op) {
	case WS_PING:
		if (ws->tc) {
			struct ws_part part = {p, len};
			(void)send_frame(ws, WS_PONG, &part, 1);
		}
		return 0;
	case WS_PONG:
		return 0;
	case WS_CLOSE:
		fail(ws, 0,
		     len >= 2 ? (enum ws_status)(p[0] << 8 | p[1]) : WS_NORMAL);
		return 0;
	case WS_CONT:
		if (!ws->msg)
			return WS_PROTOCOL_ERROR;
		if (ws->msg->end + len > ws->cfg.max_payload)
			return WS_TOO_BIG;
		if (mbuf_write_mem(ws->msg, p, len))
			return WS_TOO_BIG;
		if (f->fin) {
			struct mbuf *m = ws->msg;
			ws->msg = NULL;
			deliver(ws, ws->msg_op, m->buf, m->end);
			mem_deref(m);
		}
		return 0;
	default: /* text, binary */
		if (ws->msg)
			return WS_PROTOCOL_ERROR;
		if (f->fin) {
			deliver(ws, f->op, p, len);
			return 0;
		}
		ws->msg = mbuf_alloc(len ? len : 64);
		if (!ws->msg || mbuf_write_mem(ws->msg, p, len))
			return WS_TOO_BIG;
		ws->msg_op = f->op;
		return 0;
	}
}

static void frame_timeout(void *arg)
{
	struct ws *ws = arg;
	ws->timing = false;
	fail(ws, ETIMEDOUT, WS_PROTOCOL_ERROR);
}

/* Takes every whole frame out of rx; then what is left of a frame or a
 * message must be whole within frame_ms of the last frame taken. */
static void parse(struct ws *ws)
{
	bool progressed = false;

	mem_ref(ws);
	while (ws->state == WS_OPEN && ws->rx && mbuf_get_left(ws->rx)) {
		struct mbuf *rx = mem_ref(ws->rx); /* kept while handled */
		uint8_t *p = mbuf_buf(rx);
		size_t avail = mbuf_get_left(rx);
		struct frame f;
		int rc = frame_head(p, avail, ws->cfg.max_payload, &f);

		if (rc == ENODATA || (!rc && avail - f.hlen < f.len)) {
			mem_deref(rx);
			break;
		}
		if (!rc) {
			for (size_t i = 0; i < f.len; i++)
				p[f.hlen + i] ^= f.key[i & 3];
			rx->pos += f.hlen + (size_t)f.len;
			rc = frame_take(ws, &f, p + f.hlen);
			progressed = true;
		}
		mem_deref(rx);
		if (rc)
			fail(ws, rc == WS_TOO_BIG ? EOVERFLOW : EPROTO,
			     (enum ws_status)rc);
	}
	if (ws->rx && !mbuf_get_left(ws->rx)) {
		ws->rx = mem_deref(ws->rx);
	} else if (ws->rx && ws->rx->pos) {
		size_t left = mbuf_get_left(ws->rx);
		memmove(ws->rx->buf, mbuf_buf(ws->rx), left);
		ws->rx->pos = 0;
		ws->rx->end = left;
	}
	recharge(ws);
	if (ws->state == WS_OPEN && (ws->rx || ws->msg)) {
		if (progressed || !ws->timing)
			tmr_start(&ws->tmr, ws->cfg.frame_ms, frame_timeout,
				  ws);
		ws->timing = true;
	} else if (ws->state == WS_OPEN) {
		tmr_cancel(&ws->tmr);
		ws->timing = false;
	}
	mem_deref(ws);
}

static void recv_handler(struct mbuf *mb, void *arg)
{
	struct ws *ws = arg;
	size_t n = mbuf_get_left(mb);

	if (ws->state != WS_OPEN)
		return;
	if (!httpd_budget_take(ws->budget, n)) {
		fail(ws, ENOBUFS, WS_TRY_AGAIN);
		return;
	}
	ws->charged += n;
	if (!ws->rx) {
		ws->rx = mem_ref(mb);
	} else {
		ws->rx->pos = ws->rx->end;
		if (mbuf_write_mem(ws->rx, mbuf_buf(mb), n)) {
			fail(ws, ENOMEM, WS_TRY_AGAIN);
			return;
		}
		ws->rx->pos = 0;
	}
	parse(ws);
}

static void close_handler(int err, void *arg)
{
	struct ws *ws = arg;
	ws->tc = mem_deref(ws->tc);
	fail(ws, err ? err : ECONNRESET, 0);
}

/* Bytes that came right behind the upgrade request. */
static void parse_rest(void *arg)
{
	parse(arg);
}

/* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)). */
static int accept_key(const struct pl *key, char *out, size_t *outlen)
{
	const mbedtls_md_info_t *md =
		mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	uint8_t in[KEY_LEN + sizeof(guid)], h[20];

	if (key->l != KEY_LEN)
		return EBADMSG;
	memcpy(in, key->p, KEY_LEN);
	memcpy(in + KEY_LEN, guid, sizeof(guid) - 1);
	if (mbedtls_md(md, in, KEY_LEN + sizeof(guid) - 1, h))
		return EPROTO;
	return base64_encode(h, sizeof(h), out, outlen);
}

static struct ws *ws_new(const struct ws_config *cfg,
			 struct httpd_budget *budget, ws_recv_h *recvh,
			 ws_close_h *closeh, void *arg)
{
	struct ws *ws = mem_zalloc(sizeof(*ws), ws_destructor);
	if (!ws)
		return NULL;
	ws->cfg = *cfg;
	ws->budget = mem_ref(budget);
	ws->recvh = recvh;
	ws->closeh = closeh;
	ws->arg = arg;
	tmr_init(&ws->tmr);
	return ws;
}

int ws_alloc_unconnected(struct ws **wsp, const struct ws_config *cfg,
			 struct httpd_budget *budget, ws_recv_h *recvh,
			 ws_close_h *closeh, void *arg)
{
	struct ws *ws;

	if (!wsp || !cfg || !budget || !recvh || !closeh)
		return EINVAL;
	ws = ws_new(cfg, budget, recvh, closeh, arg);
	if (!ws)
		return ENOMEM;
	ws->state = WS_OPEN;
	*wsp = ws;
	return 0;
}

void ws_input(struct ws *ws, struct mbuf *mb)
{
	if (ws && mb)
		recv_handler(mb, ws);
}

int ws_accept(struct ws **wsp, struct httpd_conn *conn,
	      const struct http_msg *msg, const struct ws_config *cfg,
	      struct httpd_budget *budget, ws_recv_h *recvh, ws_close_h *closeh,
	      void *arg)
{
	const struct http_hdr *key;
	char acc[32];
	size_t acclen = sizeof(acc) - 1;
	struct mbuf *rest = NULL;
	struct ws *ws;
	int err;

	if (!wsp || !conn || !msg || !cfg || !budget || !recvh || !closeh)
		return EINVAL;
	key = http_msg_hdr(msg, HTTP_HDR_SEC_WEBSOCKET_KEY);
	if (!http_msg_hdr_has_value(msg, HTTP_HDR_UPGRADE, "websocket") ||
	    !http_msg_hdr_has_value(msg, HTTP_HDR_CONNECTION, "Upgrade") ||
	    !http_msg_hdr_has_value(msg, HTTP_HDR_SEC_WEBSOCKET_VERSION,
				    "13") ||
	    !key || accept_key(&key->val, acc, &acclen))
		return EBADMSG;
	acc[acclen] = '\0';
	ws = ws_new(cfg, budget, recvh, closeh, arg);
	if (!ws)
		return ENOMEM;
	err = httpd_reply(conn, 101, "Switching Protocols",
			  "Upgrade: websocket\r\n"
			  "Connection: Upgrade\r\n"
			  "Sec-WebSocket-Accept: %s\r\n"
			  "\r\n",
			  acc);
	if (!err)
		err = httpd_conn_detach(conn, &ws->tc, &rest);
	if (err) {
		mem_deref(ws);
		return err;
	}
	tcp_set_handlers(ws->tc, NULL, recv_handler, close_handler, ws);
	/* what a client that stops reading may make us hold */
	tcp_conn_txqsz_set(ws->tc, WS_SEND_QUEUE_MAX);
	ws->state = WS_OPEN;
	if (rest) {
		/* admitted by httpd already: counted, never refused here */
		ws->rx = rest;
		recharge(ws);
		tmr_start(&ws->tmr, 0, parse_rest, ws);
		ws->timing = true;
	}
	*wsp = ws;
	return 0;
}
