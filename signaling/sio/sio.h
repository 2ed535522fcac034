/*
 * sio.h - Socket.IO v5 on top of Engine.IO: packets, namespaces,
 * acknowledgements, binary attachments, rooms.
 *
 * A client CONNECTs to a namespace ("/" or one the server added) with an
 * optional auth object; the namespace's connect handler accepts (CONNECT
 * with the socket's id) or refuses (CONNECT_ERROR with the reason); an
 * unknown namespace is told "Invalid namespace". One Engine.IO session
 * carries a socket per namespace it joined. Events arrive as ["name",
 * args...] with an optional ack id, answered with sio_ack(). A packet that
 * breaks the protocol (undecodable, for a namespace not joined, bytes when
 * none were announced) closes the session, as the reference server does; a
 * session that joins no namespace within the connect timeout is closed.
 * Rooms are named sets of one namespace's sockets; an emit to a room
 * reaches each member once.
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

/* SIO_ATTACHMENTS_MAX: binary attachments one packet may announce. */
enum {
	SIO_ACK_NONE = -1,
	SIO_EVENT_NAME_MAX = 64,
	SIO_ATTACHMENTS_MAX = 16,
	SIO_CONNECT_TIMEOUT_MS = 45000, /* socket.io's default */
};

struct sio_packet {
	enum sio_packet_type type;
	char nsp[64];         /* "/" unless given */
	int64_t id;           /* ack id, or SIO_ACK_NONE */
	unsigned attachments; /* binary packets: how many follow */
	struct cJSON *data;   /* owned; NULL when absent */
};

/* A binary packet's attachments, in order: the bytes each
 * {"_placeholder":true,"num":i} of its data stands for. */
struct sio_attachments {
	size_t n;
	struct {
		const uint8_t *p;
		size_t len;
	} a[SIO_ATTACHMENTS_MAX];
};

/* Codec (pure; exposed for tests). Decode validates the shape each type
 * must have (EVENT: non-empty array starting with a string, CONNECT: object
 * or nothing, BINARY_*: at most SIO_ATTACHMENTS_MAX, ...); returns 0 or
 * EBADMSG. */
int sio_packet_decode(struct sio_packet *pkt, const char *p, size_t len);
void sio_packet_reset(struct sio_packet *pkt);
/* The packet as text: type, attachment count, namespace, ack id, data. */
int sio_packet_write(struct mbuf *mb, const struct sio_packet *pkt);
/* sio_packet_write of a packet on the main namespace, no attachments. */
int sio_packet_encode(struct mbuf *mb, enum sio_packet_type type, int64_t id,
		      const struct cJSON *data);
/* Whether every placeholder in data is {"_placeholder":true,"num":i} with
 * i an integer below n. */
bool sio_placeholders_valid(const struct cJSON *data, size_t n);

struct sio_server;
struct sio_socket;

/* Return 0 to accept the connection, or an errno value with the fault
 * (fault.h) CONNECT_ERROR tells. */
struct fault;
typedef int(sio_connect_h)(struct sio_socket *sock, const struct cJSON *auth,
			   struct fault *f, void *arg);
/* Called once a socket's CONNECT is answered: what it is told first goes
 * after the answer. */
typedef void(sio_connected_h)(struct sio_socket *sock, void *arg);
/* args is the array after the event name (never NULL, may be empty). */
typedef void(sio_event_h)(struct sio_socket *sock, const char *event,
			  const struct cJSON *args, int64_t ack_id, void *arg);
/* An event with binary attachments: args hold their placeholders (checked
 * by sio_placeholders_valid), att the bytes, valid during the call. */
typedef void(sio_binary_event_h)(struct sio_socket *sock, const char *event,
				 const struct cJSON *args,
				 const struct sio_attachments *att,
				 int64_t ack_id, void *arg);
typedef void(sio_disconnect_h)(struct sio_socket *sock, const char *reason,
			       void *arg);

/* A namespace's handlers: connecth, eventh and disconnecth required. */
struct sio_handlers {
	sio_connect_h *connecth;
	sio_connected_h *connectedh; /* or NULL */
	sio_event_h *eventh;
	sio_binary_event_h *binaryh; /* NULL: binary events are dropped
				      * (counted), their bytes not kept */
	sio_disconnect_h *disconnecth;
	void *arg;
};

struct sio_stats {
	uint64_t connects, connect_errors, events_in, events_out;
	uint64_t dropped_malformed, dropped_binary;
	uint64_t closed_protocol;        /* sessions closed for a bad packet */
	uint64_t closed_connect_timeout; /* joined no namespace in time */
};

/* A server whose main namespace "/" has the handlers given. */
int sio_server_alloc(struct sio_server **srvp, const struct eio_config *cfg,
		     const struct sio_handlers *main_nsp);
/* Another namespace ("/name"). */
int sio_server_add_namespace(struct sio_server *srv, const char *name,
			     const struct sio_handlers *h);
/* How long a new session may take to join a namespace (default
 * SIO_CONNECT_TIMEOUT_MS); set before the first session. */
int sio_server_set_connect_timeout(struct sio_server *srv, uint32_t ms);
struct eio_server *sio_server_eio(const struct sio_server *srv);
/* Connected sockets, all namespaces. */
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
/* The namespace the socket joined ("/" or another). */
const char *sio_socket_nsp(const struct sio_socket *sock);
/* Tells the client the socket is disconnected and closes its session
 * (every namespace of it). */
void sio_socket_disconnect(struct sio_socket *sock);

/* Emits ["event", data] (data may be NULL). */
int sio_emit(struct sio_socket *sock, const char *event,
	     const struct cJSON *data);
int sio_ack(struct sio_socket *sock, int64_t id, const struct cJSON *data);
/* A relay's: an EVENT of a whole array (["event", args...]) and an ACK
 * of a whole array of arguments, as another server sent them; with binary
 * attachments (att may be NULL: none) whose placeholders the array holds. */
int sio_emit_array(struct sio_socket *sock, const struct cJSON *array,
		   const struct sio_attachments *att);
int sio_ack_array(struct sio_socket *sock, int64_t id, const struct cJSON *args,
		  const struct sio_attachments *att);

/* Rooms are the socket's namespace's; the functions taking srv below
 * name rooms of the main namespace. */
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
