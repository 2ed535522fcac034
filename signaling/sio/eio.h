/*
 * eio.h - Engine.IO v4 server: the transport under Socket.IO.
 *
 * Both transports of the protocol: HTTP long-polling (packets joined by the
 * record separator 0x1e) with upgrade to websocket ("2probe"/"3probe"/"5"),
 * and websocket from the start. The server pings every pingInterval and
 * closes a session whose pong does not come within pingTimeout. Malformed
 * packets close the session (the protocol's rule) and are counted, as do
 * oversized payloads. Messages are text or bytes (binary frames, or base64
 * "b" packets on polling).
 *
 * Runs on httpd.h and ws.h; the HTTP router hands it every request under
 * its path (the gateway's /socket.io/).
 */
#ifndef MEESHY_EIO_H
#define MEESHY_EIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct httpd_conn;
struct httpd_budget;
struct http_msg;
struct pl;

enum eio_packet_type {
	EIO_OPEN = '0',
	EIO_CLOSE = '1',
	EIO_PING = '2',
	EIO_PONG = '3',
	EIO_MESSAGE = '4',
	EIO_UPGRADE = '5',
	EIO_NOOP = '6',
	EIO_BINARY = 'b', /* a message of bytes, base64 in a text payload */
};

struct eio_config {
	uint32_t ping_interval_ms;    /* 25000, as socket.io's default */
	uint32_t ping_timeout_ms;     /* 20000 */
	uint32_t max_payload;         /* bytes per POST or websocket frame */
	uint32_t max_sessions;        /* refuse handshakes beyond this */
	uint32_t max_sessions_per_ip; /* live sessions of one address (0:
				       * no limit); EIO_SESSIONS_PER_CONN
				       * of one TCP connection */
	struct httpd_budget *budget;  /* what websockets' partial frames are
				       * charged to (the HTTP server's), or
				       * NULL */
	size_t answer_budget;         /* unread polling answers, all sessions
				       * together (0: no limit) */
};

/* Live sessions a TCP connection may open: a browser opens one; pipelined
 * handshakes on one connection must not fill the table. */
enum { EIO_SESSIONS_PER_CONN = 8 };

struct eio_stats {
	uint64_t handshakes, upgrades, closed_ping_timeout;
	uint64_t closed_send_overflow; /* could not take what was sent */
	uint64_t closed_budget; /* answers queued past the global budget */
	uint64_t refused_per_conn, refused_per_ip; /* handshakes refused */
	uint64_t unread_bytes; /* polling answers waiting for a poll now */
	uint64_t dropped_malformed, dropped_too_large, refused_requests;
};

struct eio_server;
struct eio_sock;

typedef void(eio_open_h)(struct eio_sock *s, void *arg);
/* A message: text, or bytes (binary: a websocket binary frame, or a "b"
 * packet of a polling payload, decoded). */
typedef void(eio_message_h)(struct eio_sock *s, const char *data, size_t len,
			    bool binary, void *arg);
/* The session is gone after this returns: drop every pointer to it. */
typedef void(eio_close_h)(struct eio_sock *s, const char *reason, void *arg);

/* Buckets for a table of about `entries` entries (sessions, rooms): a
 * power of two near half of them, 256 to 65,536, so that a lookup compares
 * a couple of keys whether 100 or 15,000 clients are connected. */
uint32_t eio_hash_buckets(uint64_t entries);

int eio_server_alloc(struct eio_server **srvp, const struct eio_config *cfg,
		     eio_open_h *openh, eio_message_h *msgh,
		     eio_close_h *closeh, void *arg);
/* Serves one HTTP request for the Engine.IO path. */
void eio_server_handle(struct eio_server *srv, struct httpd_conn *conn,
		       const struct http_msg *msg);
size_t eio_server_count(const struct eio_server *srv);
void eio_server_stats(const struct eio_server *srv, struct eio_stats *st);
/* Closes every session (shutdown). */
void eio_server_close_all(struct eio_server *srv, const char *reason);

int eio_send(struct eio_sock *s, const char *data, size_t len);
/* eio_send of prefix followed by data. */
int eio_send_prefixed(struct eio_sock *s, char prefix, const char *data,
		      size_t len);
/* A message of bytes: a binary frame on a websocket, "b" and their base64
 * on long-polling. */
int eio_send_binary(struct eio_sock *s, const uint8_t *data, size_t len);
void eio_close(struct eio_sock *s, const char *reason);
const char *eio_sid(const struct eio_sock *s);
const char *eio_transport_name(const struct eio_sock *s);
/* The address the session was opened from. */
const struct sa *eio_peer(const struct eio_sock *s);
void eio_set_user(struct eio_sock *s, void *user);
void *eio_user(const struct eio_sock *s);

/* Codec (pure; exposed for tests): splits a polling payload into packets and
 * checks each; returns the number of packets handed to h, or -1 if the
 * payload is malformed (then h saw none of it). */
typedef void(eio_packet_h)(char type, const char *data, size_t len, void *arg);
int eio_payload_decode(const char *p, size_t len, eio_packet_h *h, void *arg);
/* Whether every packet of a polling payload is one the server takes. */
bool eio_payload_valid(const char *p, size_t len);
bool eio_packet_valid(const char *p, size_t len);
/* The value of a request's query parameter key ("EIO", "sid"...). */
bool eio_query_get(const struct http_msg *msg, const char *key, struct pl *val);

#endif
