/*
 * sio_impl.h - what sio.c and sio_rooms.c share: the server, its
 * namespaces, a session's client and its sockets.
 *
 * Ownership: the server owns its namespaces and its Engine.IO server; an
 * Engine.IO session's user is its client, which owns the sockets it
 * joined (one per namespace); a socket owns its room memberships.
 */
#ifndef MEESHY_SIO_IMPL_H
#define MEESHY_SIO_IMPL_H

#include <re.h>
#include "tmrq.h"
#include "sio.h"

struct httpd_budget;

struct sio_nsp {
	struct le le; /* in srv->nsps */
	char name[64];
	struct sio_handlers h;
};

struct sio_server {
	struct eio_server *eio;
	struct httpd_budget *budget; /* what kept attachments are charged to */
	size_t max_payload;          /* a packet's attachments together */
	struct list nsps;            /* the main one first */
	struct hash *rooms;
	struct hash *sockets; /* by id */
	struct tmrq *connect_q;
	size_t connected;
	struct sio_stats stats;
};

/* A binary packet waiting for its attachments. */
struct pending {
	struct sio_server *srv;
	struct sio_packet pkt;
	bool keep;           /* a handler takes the bytes: they are kept */
	size_t got, charged; /* attachments come, bytes held */
	struct mbuf *bytes[SIO_ATTACHMENTS_MAX];
};

struct sio_client {
	struct sio_server *srv;
	struct eio_sock *eio;
	struct list sockets;           /* joined namespaces */
	struct tmrq_entry connect_tmr; /* until the first one is joined */
	struct pending *pending;       /* or NULL */
};

struct sio_socket {
	struct le le;        /* in srv->sockets */
	struct le le_client; /* in client->sockets */
	struct sio_client *client;
	const struct sio_nsp *nsp;
	char id[32];
	bool connected;
	struct list memberships;
	void *user;
};

struct sio_nsp *sio_nsp_main(const struct sio_server *srv);
/* Sends ["event", ...] already encoded as a JSON array. */
int sio_send_event_text(struct sio_socket *sock, const char *json);
/* ["event", data] as text, encoded once for any number of sockets. */
char *sio_event_text(const char *event, const struct cJSON *data);

#endif
