/*
 * upstream.h - front mode (--upstream URL): Meeshy's client opens one
 * Socket.IO connection for chat and calls alike. Its calls are served
 * here; every other event goes, with its ack, to Meeshy's own gateway at
 * URL over a connection of its own per client socket, opened with the
 * same auth object, and what that gateway emits to it, or acks, comes
 * back to the client as if this server had.
 */
#ifndef MEESHY_UPSTREAM_H
#define MEESHY_UPSTREAM_H

#include <stdint.h>

struct cJSON;
struct sio_socket;
struct upstream;
struct upstream_link;

/* url: http://host:port (the Socket.IO server; path /socket.io/). */
int upstream_alloc(struct upstream **upp, const char *url);
/* The client socket's own connection to the upstream, opened now with
 * auth (copied). Freeing the link closes it. */
int upstream_link_alloc(struct upstream_link **lp, struct upstream *up,
			struct sio_socket *sock, const struct cJSON *auth);
/* The client's event (args: the arguments after its name) to the
 * upstream; its ack, when ack_id is not SIO_ACK_NONE, comes back from
 * there. EBUSY: too many waiting; ENOTCONN: the upstream link is gone. */
int upstream_relay(struct upstream_link *l, const char *event,
		   const struct cJSON *args, int64_t ack_id);

#endif
