/*
 * ws.h - RFC 6455 websockets, the server's side, on a TCP connection that
 * httpd hands over after the upgrade.
 *
 * A frame's header is judged before any of its payload is touched: client
 * frames must be masked, use no reserved bit or opcode, and announce at
 * most max_payload bytes (a message of several frames too); control frames
 * fit in one frame of 125 bytes. A violation closes the connection with the
 * RFC's status code (1002 protocol error, 1009 too big). What a connection
 * holds of a frame or message not yet whole is charged to the shared budget
 * (httpd.h) and must be whole within frame_ms. Pings are answered here.
 */
#ifndef MEESHY_WS_H
#define MEESHY_WS_H

#include <stddef.h>
#include <stdint.h>

struct http_msg;
struct httpd_conn;
struct httpd_budget;
struct ws;

enum ws_opcode {
	WS_CONT = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

enum ws_status {
	WS_NORMAL = 1000,
	WS_GOING_AWAY = 1001,
	WS_PROTOCOL_ERROR = 1002,
	WS_TOO_BIG = 1009,
	WS_TRY_AGAIN = 1013,
};

/* Bytes a websocket's unsent frames may take before ws_send says ENOSPC:
 * the most a client that stops reading makes the server hold for it. */
enum { WS_SEND_QUEUE_MAX = 512 * 1024 };

struct ws_config {
	size_t max_payload; /* bytes of one message */
	uint32_t frame_ms;  /* a started frame or message must be whole */
};

/* A whole text or binary message (its fragments joined). */
typedef void(ws_recv_h)(struct ws *ws, enum ws_opcode op, const uint8_t *data,
			size_t len, void *arg);
/* The connection is over (err 0: the client closed it; EPROTO,
 * EOVERFLOW, ETIMEDOUT: it broke the rules; other: the network). Nothing
 * more comes; release the ws. */
typedef void(ws_close_h)(int err, void *arg);

/* Checks the upgrade request, answers 101 and takes the connection. On an
 * error nothing was answered: the caller answers (400). */
int ws_accept(struct ws **wsp, struct httpd_conn *conn,
	      const struct http_msg *msg, const struct ws_config *cfg,
	      struct httpd_budget *budget, ws_recv_h *recvh, ws_close_h *closeh,
	      void *arg);

/* A websocket on no connection, fed by ws_input() (tests and fuzzing):
 * frames are parsed, joined, charged and judged as on a connection;
 * nothing is sent (pongs, close frames). */
int ws_alloc_unconnected(struct ws **wsp, const struct ws_config *cfg,
			 struct httpd_budget *budget, ws_recv_h *recvh,
			 ws_close_h *closeh, void *arg);
/* Bytes as they would come from the connection. */
struct mbuf;
void ws_input(struct ws *ws, struct mbuf *mb);

struct ws_part {
	const void *p;
	size_t len;
};
/* One frame made of the parts, written at once. ENOSPC: the client is not
 * reading and the connection's send queue is full. */
int ws_send(struct ws *ws, enum ws_opcode op, const struct ws_part *parts,
	    size_t n);
/* Sends a close frame and closes once it has left (2 s at most); no
 * handler is called after this. */
void ws_close(struct ws *ws, enum ws_status code, const char *reason);

#endif
