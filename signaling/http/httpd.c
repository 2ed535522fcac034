/*
 * httpd.c - httpd.h over libre's TCP connections and its HTTP parser.
 *
 * A connection is in one of three states, each with its own deadline on
 * the connection's one timer: idle (nothing buffered: idle_ms), receiving
 * (part of a request buffered: request_ms from its first byte, however
 * slowly the rest trickles in) and busy (a request handed to the handler
 * and not answered yet: answer_ms). Bytes are charged to the shared budget
 * as they arrive and given back as requests are taken out of the buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <re.h>
#include "port.h"
#include "httpd.h"
#include "tmrq.h"

enum {
	HEAD_MAX = 8192,
	REPLY_QUEUE_MAX = 8 * 1024 * 1024,
	LISTEN_BACKLOG = 4096, /* the kernel caps it at net.core.somaxconn */
};

struct httpd {
	struct tcp_sock *ts;
	struct httpd_config cfg;
	httpd_req_h *reqh;
	void *arg;
	struct list conns;
	struct hash *addrs;          /* struct addr_tally by address */
	struct httpd_budget *budget; /* shared with the websockets */
	struct httpd_stats stats;
	/* the connections' deadlines, one queue per length */
	struct tmrq *request_q, *idle_q, *answer_q;
};

struct httpd_conn {
	struct le le;
	struct httpd *srv;
	struct tcp_conn *tc; /* NULL: closed or detached */
	struct mbuf *sink;   /* unconnected: answers are written here */
	struct sa peer;
	struct mbuf *mb;       /* received bytes not yet taken as a request */
	size_t charged;        /* of them, counted in the budget */
	size_t head_scanned;   /* of them, those searched for a head's end */
	size_t need;           /* a head whose body is still arriving: the
				* bytes head and body take, else 0 */
	struct tmrq_entry tmr; /* its deadline, in one of srv's queues */
	struct tmr next;       /* the request after a held one, next turn */
	bool busy;             /* a request waits for its answer */
	bool receiving;        /* the request deadline is running */
	bool in_process;       /* process() is on the stack */
	bool close_after;      /* the client asked for Connection: close */
	bool over_limit;       /* beyond max_conns: its request gets 503 */
	bool over_ip_limit;    /* beyond max_conns_per_ip: the same */
	struct addr_tally *tally; /* its address's open connections */
	void *user; /* the caller's, released with the connection */
};

/* Open connections from one address. */
struct addr_tally {
	struct le le;
	struct sa addr;
	uint32_t n;
};

static void process(struct httpd_conn *conn);
static void arm(struct httpd_conn *conn);

/* Answers can still be written (a socket, or an unconnected sink). */
static bool conn_open(const struct httpd_conn *conn)
{
	return conn->tc || conn->sink;
}

/* No more answers; the connection object ends with process() or now. */
static void conn_shut(struct httpd_conn *conn)
{
	conn->tc = mem_deref(conn->tc);
	conn->sink = mem_deref(conn->sink);
}

void httpd_config_defaults(struct httpd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_body = 100000;
	cfg->budget = 64u * 1024 * 1024;
	cfg->request_ms = 20000;
	cfg->idle_ms = 120000;
	cfg->answer_ms = 120000;
}

/* Budget */

bool httpd_budget_take(struct httpd_budget *b, size_t n)
{
	if (b->limit && b->used + n > b->limit) {
		b->shed++;
		return false;
	}
	b->used += n;
	return true;
}

void httpd_budget_give(struct httpd_budget *b, size_t n)
{
	b->used -= n < b->used ? n : b->used;
}

/* Brings the connection's charge to what its buffer holds now. */
static void recharge(struct httpd_conn *conn)
{
	size_t now = conn->mb ? mbuf_get_left(conn->mb) : 0;
	struct httpd_budget *b = conn->srv->budget;
	b->used = b->used - conn->charged + now;
	conn->charged = now;
}

/* Connections */

static void tally_destructor(void *arg)
{
	struct addr_tally *t = arg;
	hash_unlink(&t->le);
}

static bool addr_cmp(struct le *le, void *arg)
{
	const struct addr_tally *t = le->data;
	return sa_cmp(&t->addr, arg, SA_ADDR);
}

/* Counts conn in its address's tally (a new one when there is none). */
static int tally_take(struct httpd *srv, struct httpd_conn *conn)
{
	uint32_t h = sa_hash(&conn->peer, SA_ADDR);
	struct le *le = hash_lookup(srv->addrs, h, addr_cmp, &conn->peer);
	struct addr_tally *t = le ? mem_ref(le->data) : NULL;

	if (!t) {
		t = mem_zalloc(sizeof(*t), tally_destructor);
		if (!t)
			return ENOMEM;
		t->addr = conn->peer;
		hash_append(srv->addrs, h, &t->le, t);
	}
	t->n++;
	conn->tally = t;
	return 0;
}

static void tally_release(struct httpd_conn *conn)
{
	if (conn->tally)
		conn->tally->n--;
	conn->tally = mem_deref(conn->tally);
}

static void conn_close(struct httpd_conn *conn)
{
	if (!conn->srv)
		return;
	tally_release(conn);
	conn->mb = mem_deref(conn->mb);
	recharge(conn);
	tmrq_cancel(&conn->tmr);
	tmr_cancel(&conn->next);
	conn_shut(conn);
	list_unlink(&conn->le);
	conn->srv->stats.conns_now--;
	conn->srv = NULL;
	mem_deref(conn); /* the server's reference */
}

static void conn_destructor(void *arg)
{
	struct httpd_conn *conn = arg;
	tmrq_cancel(&conn->tmr);
	tmr_cancel(&conn->next);
	tally_release(conn);
	mem_deref(conn->tc);
	mem_deref(conn->sink);
	mem_deref(conn->mb);
	mem_deref(conn->user);
}

static void refuse(struct httpd_conn *conn, uint16_t scode, const char *reason);

static void timeout_handler(void *arg)
{
	struct httpd_conn *conn = arg;
	bool partial = conn->mb && mbuf_get_left(conn->mb);

	if (conn->busy || partial)
		conn->srv->stats.timeouts++;
	if (partial && !conn->busy)
		refuse(conn, 408, "Request Timeout"); /* a stalled body */
	else
		conn_close(conn);
}

/* The timer for the state the connection is in now. */
static void arm(struct httpd_conn *conn)
{
	if (!conn->srv || conn->busy)
		return;
	if (conn->mb && mbuf_get_left(conn->mb)) {
		if (!conn->receiving)
			tmrq_start(conn->srv->request_q, &conn->tmr,
				   timeout_handler, conn);
		conn->receiving = true;
		return;
	}
	conn->receiving = false;
	tmrq_start(conn->srv->idle_q, &conn->tmr, timeout_handler, conn);
}

/* Answers and closes: the request cannot be taken. */
static void refuse(struct httpd_conn *conn, uint16_t scode, const char *reason)
{
	conn->busy = true; /* so that the reply goes out */
	conn->close_after = true;
	(void)httpd_ereply(conn, scode, reason); /* closes it, once sent */
}

/* The client asked to close after this answer (or spoke HTTP/1.0). */
static bool wants_close(const struct http_msg *msg)
{
	if (http_msg_hdr_has_value(msg, HTTP_HDR_CONNECTION, "close"))
		return true;
	return !pl_strcmp(&msg->ver, "1.0") &&
	       !http_msg_hdr_has_value(msg, HTTP_HDR_CONNECTION, "keep-alive");
}

/* Whether the buffer holds a whole head, up to its blank line. libre's
 * parser takes a time quadratic in a line that has not ended yet (143 ms
 * for 8 kB here), and it ran again on each piece that arrived: one client
 * trickling a request line in 20-byte pieces cost the loop 1.8 s. So the
 * head is parsed once its end is there, and each search for that end
 * starts where the last one stopped. Blank lines before the request line
 * are dropped, as libre skips them (RFC 9112, 2.2). */
static bool head_arrived(struct httpd_conn *conn)
{
	struct mbuf *mb = conn->mb;
	const uint8_t *p, *lf;
	size_t n, i;

	while (!conn->head_scanned && mbuf_get_left(mb) &&
	       (mbuf_buf(mb)[0] == '\r' || mbuf_buf(mb)[0] == '\n'))
		mb->pos++;
	p = mbuf_buf(mb);
	n = mbuf_get_left(mb);
	for (i = conn->head_scanned; (lf = memchr(p + i, '\n', n - i));) {
		size_t j = (size_t)(lf - p) + 1;

		while (j < n && p[j] == '\r')
			j++;
		if (j == n) { /* this line feed may yet start the blank line */
			conn->head_scanned = (size_t)(lf - p);
			return false;
		}
		if (p[j] == '\n')
			return true;
		i = j;
	}
	conn->head_scanned = n;
	return false;
}

/* Takes one whole request off the buffer into msg (its body in msg->mb);
 * ENODATA when it has not all arrived; another error answered & closed. */
static int take_request(struct httpd_conn *conn, struct http_msg **msgp)
{
	struct httpd *srv = conn->srv;
	struct mbuf *mb = conn->mb;
	const size_t start = mb->pos;
	struct http_msg *msg = NULL;
	size_t end;
	int err;

	if (conn->need ? mbuf_get_left(mb) < conn->need : !head_arrived(conn))
		err = ENODATA;
	else {
		srv->stats.heads_parsed++;
		err = http_msg_decode(&msg, mb, true);
	}
	if (err == ENODATA && mbuf_get_left(mb) <= HEAD_MAX + conn->need)
		return ENODATA;
	if (!err && mb->pos - start > HEAD_MAX)
		err = EOVERFLOW;
	if (err) {
		mem_deref(msg);
		srv->stats.bad_requests++;
		refuse(conn, err == ENODATA || err == EOVERFLOW ? 431 : 400,
		       err == ENODATA || err == EOVERFLOW
			       ? "Request Header Fields Too Large"
			       : "Bad Request");
		return err;
	}
	if (http_msg_hdr(msg, HTTP_HDR_TRANSFER_ENCODING)) {
		mem_deref(msg);
		srv->stats.bad_requests++;
		refuse(conn, 501, "Not Implemented"); /* chunked bodies */
		return ENOTSUP;
	}
	if (msg->clen > srv->cfg.max_body) {
		mem_deref(msg);
		srv->stats.too_large++;
		refuse(conn, 413, "Payload Too Large");
		return EOVERFLOW;
	}
	if (mbuf_get_left(mb) < msg->clen) {
		conn->need = mb->pos - start + msg->clen;
		mb->pos = start;
		mem_deref(msg);
		return ENODATA;
	}
	conn->head_scanned = conn->need = 0; /* the next request's */
	/* the body is the buffer cut at its end; what follows moves on */
	end = mb->end;
	mb->end = mb->pos + msg->clen;
	conn->mb = NULL;
	if (end > mb->end) {
		conn->mb = mbuf_alloc(end - mb->end);
		if (!conn->mb) {
			mem_deref(msg);
			mem_deref(mb);
			conn_close(conn);
			return ENOMEM;
		}
		(void)mbuf_write_mem(conn->mb, mb->buf + mb->end,
				     end - mb->end);
		conn->mb->pos = 0;
	}
	mem_deref(msg->mb);
	msg->mb = mb; /* the buffer's reference moves to the message */
	*msgp = msg;
	return 0;
}

static void process(struct httpd_conn *conn)
{
	mem_ref(conn);
	conn->in_process = true;
	while (conn->srv && conn_open(conn) && !conn->busy && conn->mb &&
	       mbuf_get_left(conn->mb)) {
		struct httpd *srv = conn->srv;
		struct http_msg *msg = NULL;

		if (take_request(conn, &msg))
			break;
		recharge(conn);
		srv->stats.requests++;
		if (conn->over_limit || conn->over_ip_limit) {
			mem_deref(msg);
			refuse(conn, 503,
			       conn->over_limit ? "Service Unavailable"
						: "Too Many Connections From "
						  "This Address");
			break;
		}
		conn->busy = true;
		conn->receiving = false; /* the next request's clock starts
					  * with its first byte */
		conn->close_after = wants_close(msg);
		tmrq_start(srv->answer_q, &conn->tmr, timeout_handler, conn);
		srv->reqh(conn, msg, srv->arg);
		mem_deref(msg);
	}
	conn->in_process = false;
	if (conn->srv && !conn_open(conn))
		conn_close(conn); /* detached or closed by the handler */
	else
		arm(conn);
	mem_deref(conn);
}

static void process_next(void *arg)
{
	struct httpd_conn *conn = arg;
	if (!conn->busy)
		process(conn);
}

static void recv_handler(struct mbuf *mb, void *arg)
{
	struct httpd_conn *conn = arg;
	struct httpd *srv = conn->srv;
	size_t n = mbuf_get_left(mb);

	if (!srv)
		return;
	/* while a request waits for its answer, the next may wait in the
	 * buffer, but no more than a request can hold */
	if ((conn->mb ? mbuf_get_left(conn->mb) : 0) + n >
	    HEAD_MAX + srv->cfg.max_body) {
		srv->stats.too_large++;
		conn_close(conn);
		return;
	}
	if (!httpd_budget_take(srv->budget, n)) { /* counted as shed */
		if (conn->busy)
			conn_close(conn);
		else
			refuse(conn, 503, "Service Unavailable");
		return;
	}
	conn->charged += n;
	if (!conn->mb) {
		conn->mb = mem_ref(mb);
		conn->head_scanned = conn->need = 0;
	} else {
		size_t pos = conn->mb->pos;
		conn->mb->pos = conn->mb->end;
		if (mbuf_write_mem(conn->mb, mbuf_buf(mb), n)) {
			conn_close(conn);
			return;
		}
		conn->mb->pos = pos;
	}
	if (!conn->busy)
		process(conn);
}

static void close_handler(int err, void *arg)
{
	(void)err;
	conn_close(arg);
}

static void nodelay(struct tcp_conn *tc)
{
	int one = 1;
	/* a reply written in two pieces must not wait for the peer's
	 * delayed ACK (40 ms) */
	(void)setsockopt(tcp_conn_fd(tc), IPPROTO_TCP, TCP_NODELAY, &one,
			 sizeof(one));
}

/* A new connection joins the server (which keeps its reference): counted,
 * judged against the limits, and given the first request's deadline. */
static void conn_admit(struct httpd *srv, struct httpd_conn *conn,
		       const struct sa *peer)
{
	tmr_init(&conn->next);
	conn->srv = srv;
	conn->peer = *peer;
	/* beyond the limit the client is still read and answered (503), so
	 * it is told, not cut off; the margin of a few connections is what
	 * that takes */
	if (srv->cfg.max_conns && srv->stats.conns_now >= srv->cfg.max_conns) {
		srv->stats.refused_conns++;
		conn->over_limit = true;
	} else if (tally_take(srv, conn) ||
		   (srv->cfg.max_conns_per_ip &&
		    conn->tally->n > srv->cfg.max_conns_per_ip)) {
		srv->stats.refused_per_ip++;
		conn->over_ip_limit = true;
	}
	list_append(&srv->conns, &conn->le, conn);
	srv->stats.conns_now++;
	/* the first request must come as any other would */
	conn->receiving = true;
	tmrq_start(srv->request_q, &conn->tmr, timeout_handler, conn);
}

static void connect_handler(const struct sa *peer, void *arg)
{
	struct httpd *srv = arg;
	struct httpd_conn *conn;

	conn = mem_zalloc(sizeof(*conn), conn_destructor);
	if (!conn || tcp_accept(&conn->tc, srv->ts, NULL, recv_handler,
				close_handler, conn)) {
		mem_deref(conn);
		tcp_reject(srv->ts);
		return;
	}
	nodelay(conn->tc);
	/* an answer may be larger than libre's default queue (512 kB) */
	tcp_conn_txqsz_set(conn->tc, REPLY_QUEUE_MAX);
	conn_admit(srv, conn, peer);
}

int httpd_conn_alloc_unconnected(struct httpd_conn **connp, struct httpd *h,
				 const struct sa *peer, struct mbuf *sink)
{
	struct httpd_conn *conn;

	if (!connp || !h || !peer || !sink)
		return EINVAL;
	conn = mem_zalloc(sizeof(*conn), conn_destructor);
	if (!conn)
		return ENOMEM;
	conn->sink = mem_ref(sink);
	conn_admit(h, conn, peer);
	*connp = mem_ref(conn); /* the caller's; the server keeps its own */
	return 0;
}

bool httpd_conn_open(const struct httpd_conn *conn)
{
	return conn && conn->srv && conn_open(conn);
}

void httpd_input(struct httpd_conn *conn, struct mbuf *mb)
{
	if (conn && mb && conn->sink)
		recv_handler(mb, conn);
}

static void httpd_destructor(void *arg)
{
	struct httpd *h = arg;
	struct le *le;
	h->ts = mem_deref(h->ts);
	while ((le = list_head(&h->conns)))
		conn_close(le->data);
	mem_deref(h->addrs); /* empty: every connection released its tally */
	mem_deref(h->budget);
	mem_deref(h->request_q);
	mem_deref(h->idle_q);
	mem_deref(h->answer_q);
}

int httpd_listen(struct httpd **hp, const struct sa *laddr,
		 const struct httpd_config *cfg, httpd_req_h *reqh, void *arg)
{
	struct httpd *h;
	int err;

	if (!hp || !laddr || !cfg || !reqh)
		return EINVAL;
	h = mem_zalloc(sizeof(*h), httpd_destructor);
	if (!h)
		return ENOMEM;
	h->cfg = *cfg;
	h->reqh = reqh;
	h->arg = arg;
	h->budget = mem_zalloc(sizeof(*h->budget), NULL);
	if (!h->budget) {
		mem_deref(h);
		return ENOMEM;
	}
	h->budget->limit = cfg->budget;
	if (hash_alloc(&h->addrs, 1024)) {
		mem_deref(h);
		return ENOMEM;
	}
	err = tmrq_alloc(&h->request_q, cfg->request_ms);
	err |= tmrq_alloc(&h->idle_q, cfg->idle_ms);
	err |= tmrq_alloc(&h->answer_q, cfg->answer_ms);
	if (err) {
		mem_deref(h);
		return ENOMEM;
	}
	/* not tcp_listen(): its backlog of 5 drops the SYNs of a burst of
	 * clients, who then wait out their retransmission (1 s, 3 s...) */
	err = tcp_sock_alloc(&h->ts, laddr, connect_handler, h);
	if (!err)
		err = tcp_sock_bind(h->ts, laddr);
	if (!err)
		err = tcp_sock_listen(h->ts, LISTEN_BACKLOG);
	if (err)
		mem_deref(h);
	else
		*hp = h;
	return err;
}

int httpd_local(const struct httpd *h, struct sa *laddr)
{
	if (!h || !laddr)
		return EINVAL;
	return tcp_sock_local_get(h->ts, laddr);
}

void httpd_stats(const struct httpd *h, struct httpd_stats *st)
{
	if (h && st)
		*st = h->stats;
}

struct httpd_budget *httpd_budget(struct httpd *h)
{
	return h ? h->budget : NULL;
}

/* Closes once what was written has left (tcp calls this when its queue
 * is empty). */
static void closing_send_handler(void *arg)
{
	conn_close(arg);
}

int httpd_reply(struct httpd_conn *conn, uint16_t scode, const char *reason,
		const char *fmt, ...)
{
	struct mbuf *mb;
	va_list ap;
	int err;

	if (!conn || !reason || !fmt)
		return EINVAL;
	if (!conn_open(conn))
		return ENOTCONN;
	if (!conn->busy)
		return EALREADY; /* one answer per request */
	mb = mbuf_alloc(512);
	err = mb ? mbuf_printf(mb, "HTTP/1.1 %u %s\r\n%s", scode, reason,
			       conn->close_after ? "Connection: close\r\n" : "")
		 : ENOMEM;
	if (!err) {
		va_start(ap, fmt);
		err = mbuf_vprintf(mb, fmt, ap);
		va_end(ap);
	}
	if (!err) {
		mb->pos = 0;
		err = conn->tc ? tcp_send(conn->tc, mb)
			       : mbuf_write_mem(conn->sink, mbuf_buf(mb),
						mbuf_get_left(mb));
	}
	mem_deref(mb);
	conn->busy = false;
	if (err || conn->close_after) {
		if (!err && conn->tc && tcp_conn_txqsz(conn->tc))
			(void)tcp_set_send(conn->tc, closing_send_handler);
		else if (!conn->in_process)
			conn_close(conn);
		else
			conn_shut(conn); /* process() ends it */
		return err;
	}
	tmrq_cancel(&conn->tmr);
	if (!conn->in_process) {
		/* a held request was answered: the next one may be here. It
		 * is taken on the loop's next turn, never from here: this
		 * answer may be written by another request's handler, whose
		 * state a handler run inside it could free (a call ended
		 * under the code announcing it) */
		if (conn->mb && mbuf_get_left(conn->mb))
			tmr_start(&conn->next, 0, process_next, conn);
		else
			arm(conn);
	}
	return 0;
}

int httpd_ereply(struct httpd_conn *conn, uint16_t scode, const char *reason)
{
	return httpd_reply(conn, scode, reason, "Content-Length: 0\r\n\r\n");
}

const struct sa *httpd_conn_peer(const struct httpd_conn *conn)
{
	return conn ? &conn->peer : NULL;
}

void httpd_conn_set_user(struct httpd_conn *conn, void *obj)
{
	if (!conn)
		return;
	mem_deref(conn->user);
	conn->user = mem_ref(obj);
}

void *httpd_conn_user(const struct httpd_conn *conn)
{
	return conn ? conn->user : NULL;
}

int httpd_conn_detach(struct httpd_conn *conn, struct tcp_conn **tcp,
		      struct mbuf **rest)
{
	if (!conn || !tcp || !rest)
		return EINVAL;
	if (!conn->tc || conn->busy || conn->close_after)
		return ENOTCONN;
	*tcp = conn->tc;
	conn->tc = NULL;
	*rest = conn->mb && mbuf_get_left(conn->mb) ? conn->mb : NULL;
	if (!*rest)
		mem_deref(conn->mb);
	conn->mb = NULL;
	recharge(conn); /* the new owner charges what it keeps */
	tmrq_cancel(&conn->tmr);
	tcp_set_handlers(*tcp, NULL, NULL, NULL, NULL);
	if (!conn->in_process)
		conn_close(conn);
	return 0;
}
