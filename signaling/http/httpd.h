/*
 * httpd.h - the HTTP/1.1 server under the gateway and the media node's API.
 *
 * Ours rather than libre's because every byte a client sends before it has
 * proven anything has to be bounded: a request's head (8 kB) and body
 * (max_body) per connection, all partial requests together (a budget shared
 * with the websockets, see ws.h), the time a request may take to arrive
 * (a body that stalls is cut off), the time an idle connection is kept, and
 * the number of connections, all and from one address (beyond it: 503 and
 * close, never a broken socket). What is refused or shed is counted. Requests
 * on a connection are answered in order: while one waits for its answer (a
 * long-poll), the next is not read. Every accepted connection has TCP_NODELAY.
 *
 * Requests are libre's struct http_msg (its parser); answers are written
 * with httpd_reply, whose format and arguments are http_reply's.
 */
#ifndef MEESHY_HTTPD_H
#define MEESHY_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sa;
struct http_msg;
struct tcp_conn;
struct mbuf;
struct httpd;
struct httpd_conn;

/* Bytes buffered on behalf of clients, all connections together. */
struct httpd_budget {
	size_t limit; /* 0: no limit */
	size_t used;
	uint64_t shed; /* connections closed because the budget was spent */
};

/* Counts n more bytes, or false (and one more shed) when that would pass
 * the limit. */
bool httpd_budget_take(struct httpd_budget *b, size_t n);
void httpd_budget_give(struct httpd_budget *b, size_t n);

struct httpd_config {
	size_t max_body;           /* a larger Content-Length: 413, closed */
	size_t budget;             /* all partial requests and frames (bytes) */
	uint32_t request_ms;       /* a started request must be whole by then */
	uint32_t idle_ms;          /* an idle keep-alive connection is closed */
	uint32_t answer_ms;        /* a request not answered by then: closed */
	uint32_t max_conns;        /* open connections (0: no limit) */
	uint32_t max_conns_per_ip; /* of them from one address (0: none) */
};

struct httpd_stats {
	uint64_t requests, refused_conns, too_large, bad_requests;
	uint64_t refused_per_ip; /* connections over max_conns_per_ip */
	uint64_t timeouts; /* requests or frames that did not arrive whole */
	uint64_t heads_parsed; /* by libre's parser: once a head, when whole */
	uint64_t conns_now;
};

typedef void(httpd_req_h)(struct httpd_conn *conn, const struct http_msg *msg,
			  void *arg);

void httpd_config_defaults(struct httpd_config *cfg);
int httpd_listen(struct httpd **hp, const struct sa *laddr,
		 const struct httpd_config *cfg, httpd_req_h *reqh, void *arg);
int httpd_local(const struct httpd *h, struct sa *laddr);
void httpd_stats(const struct httpd *h, struct httpd_stats *st);
/* The budget, shared (mem_ref it to keep it past the server). */
struct httpd_budget *httpd_budget(struct httpd *h);

/* The answer to the connection's current request: the status line, then
 * fmt (headers, the blank line and the body, as http_reply). A request
 * may be answered after its handler returned (hold a mem_ref on conn),
 * from anywhere: this never calls the request handler (a request that
 * waited behind the answered one is taken on the loop's next turn). */
int httpd_reply(struct httpd_conn *conn, uint16_t scode, const char *reason,
		const char *fmt, ...);
/* A bodiless answer (Content-Length: 0). */
int httpd_ereply(struct httpd_conn *conn, uint16_t scode, const char *reason);
const struct sa *httpd_conn_peer(const struct httpd_conn *conn);
/* Something of the caller's that lives as long as the connection: the
 * connection keeps a reference to obj (a mem object) and drops it at its
 * end. */
void httpd_conn_set_user(struct httpd_conn *conn, void *obj);
void *httpd_conn_user(const struct httpd_conn *conn);

/* Upgrade: after the current request's answer has been written, the TCP
 * connection leaves the server: *tcp gets it (a reference), *rest the bytes
 * that came after the request (or NULL). The connection object is done. */
int httpd_conn_detach(struct httpd_conn *conn, struct tcp_conn **tcp,
		      struct mbuf **rest);

/* A connection with no socket, fed by httpd_input() (tests and fuzzing):
 * its requests are framed, bounded, charged and handed to the handler as
 * on a socket, and the answers are appended to sink. *connp is the
 * caller's reference; the server holds its own until the connection ends
 * (closed as a socket's would be, or with the server). An upgrade on it
 * fails (httpd_conn_detach: ENOTCONN). */
int httpd_conn_alloc_unconnected(struct httpd_conn **connp, struct httpd *h,
				 const struct sa *peer, struct mbuf *sink);
/* Bytes as they would come from the connection. */
void httpd_input(struct httpd_conn *conn, struct mbuf *mb);
/* False once the connection was closed (by the server or the client) or
 * detached. */
bool httpd_conn_open(const struct httpd_conn *conn);

#endif
