/*
 * sio.h - Socket.IO v5 on top of Engine.IO: packets, the main namespace,
 * acknowledgements, rooms.
 *
 * A client CONNECTs to "/" with an optional auth object; the auth handler
 * accepts (CONNECT with our socket id) or refuses (CONNECT_ERROR with the
 * reason). Events arrive as ["name", data] with an optional ack id; the
 * server answers acks with sio_ack(). Rooms are named sets of sockets; an
 * emit to a room reaches each member once.
 */
#ifndef MEESHY_SIO_H
#define MEESHY_SIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct mbuf;
struct eio_server;
struct eio_config;
struct eio_stats;

enum sio_packet_type {
	SIO_CONNECT = 0,
	SIO_DISCONNECT = 1,
	SIO_EVENT = 2,
	SIO_ACK = 3,
	SIO_CONNECT_ERROR = 4,
	SIO_BINARY_EVENT = 5,
	SIO_BINARY_ACK = 6,
};

enum { SIO_ACK_NONE = -1, SIO_EVENT_NAME_MAX = 64 };

struct sio_packet {
	enum sio_packet_type type;
	char nsp[64];       /* "/" unless given */
	int64_t id;         /* ack id, or SIO_ACK_NONE */
	struct cJSON *data; /* owned; NULL when absent */
};

/* Codec (pure; exposed for tests). Decode validates the shape each type
 * must have (EVENT: non-empty array starting with a string, CONNECT: object
 * or nothing, ...); returns 0 or EBADMSG. */
int sio_packet_decode(struct sio_packet *pkt, const char *p, size_t len);
void sio_packet_reset(struct sio_packet *pkt);
int sio_packet_encode(struct mbuf *mb, enum sio_packet_type type, int64_t id,
		      const struct cJSON *data);

struct sio_server;
struct sio_socket;

/* Return 0 to accept the connection, or an errno value with the fault
 * (fault.h) CONNECT_ERROR tells. */
struct fault;
typedef int(sio_connect_h)(struct sio_socket *sock, const struct cJSON *auth,
			   struct fault *f, void *arg);
/* args is the array after the event name (never NULL, may be empty). */
typedef void(sio_event_h)(struct sio_socket *sock, const char *event,
			  const struct cJSON *args, int64_t ack_id, void *arg);
typedef void(sio_disconnect_h)(struct sio_socket *sock, const char *reason,
			       void *arg);

struct sio_stats {
	uint64_t connects, connect_errors, events_in, events_out;
	uint64_t dropped_malformed, dropped_binary;
};

int sio_server_alloc(struct sio_server **srvp, const struct eio_config *cfg,
		     sio_connect_h *connh, sio_event_h *eventh,
		     sio_disconnect_h *disch, void *arg);
/* Called (with the server's arg) once a socket's CONNECT is answered: what
 * it is told first goes after the answer. */
typedef void(sio_connected_h)(struct sio_socket *sock, void *arg);
void sio_server_set_connected_handler(struct sio_server *srv,
				      sio_connected_h *connectedh);
struct eio_server *sio_server_eio(const struct sio_server *srv);
size_t sio_server_count(const struct sio_server *srv);
void sio_server_stats(const struct sio_server *srv, struct sio_stats *st);

const char *sio_socket_id(const struct sio_socket *sock);
/* The address the socket's session was opened from. */
struct sa;
const struct sa *sio_socket_peer(const struct sio_socket *sock);
/* The connected socket with this id, or NULL. */
struct sio_socket *sio_socket_find(const struct sio_server *srv,
				   const char *id);
const char *sio_socket_transport(const struct sio_socket *sock);
void sio_socket_set_user(struct sio_socket *sock, void *user);
void *sio_socket_user(const struct sio_socket *sock);
void sio_socket_disconnect(struct sio_socket *sock);

/* Emits ["event", data] (data may be NULL). */
int sio_emit(struct sio_socket *sock, const char *event,
	     const struct cJSON *data);
int sio_ack(struct sio_socket *sock, int64_t id, const struct cJSON *data);
/* A relay's: an EVENT of a whole array (["event", args...]) and an ACK
 * of a whole array of arguments, as another server sent them. */
int sio_emit_array(struct sio_socket *sock, const struct cJSON *array);
int sio_ack_array(struct sio_socket *sock, int64_t id,
		  const struct cJSON *args);

int sio_join(struct sio_socket *sock, const char *room);
void sio_leave(struct sio_socket *sock, const char *room);
bool sio_in_room(const struct sio_socket *sock, const char *room);
size_t sio_room_size(const struct sio_server *srv, const char *room);
/* Emits to every member of room except `except` (may be NULL); returns
 * how many sockets it reached. */
size_t sio_room_emit(struct sio_server *srv, const char *room,
		     const struct sio_socket *except, const char *event,
		     const struct cJSON *data);
typedef void(sio_socket_apply_h)(struct sio_socket *sock, void *arg);
void sio_room_apply(struct sio_server *srv, const char *room,
		    sio_socket_apply_h *h, void *arg);

#endif
