/*
 * gateway.h - the signaling gateway: Socket.IO events, call orchestration,
 * REST API, /health and /metrics on one HTTP port.
 *
 * The composition root (apps/meeshy-call) fills a gateway_config, opens the
 * store and hands both to gateway_alloc; the gateway then serves until it is
 * released with mem_deref().
 */
#ifndef MEESHY_GATEWAY_H
#define MEESHY_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "turn.h"

struct sa;
struct store;

struct gateway_config {
	const struct sa *listen;
	const uint8_t *jwt_secret; /* NULL: only --dev-auth tokens work */
	size_t jwt_secret_len;
	bool dev_auth;           /* any token is a guest id: demos only */
	const char *web_root;    /* folder served at /, or NULL */
	const char *ice_servers; /* JSON array for the join ack */
	struct turn_config turn; /* TURN credentials in the join ack and
				  * /api/turn-credentials */
	uint32_t ping_interval_ms, ping_timeout_ms, max_payload;
	uint32_t max_connections;
	uint32_t max_fds;          /* descriptors the loop watches (0: as
				    * many as connections need) */
	uint32_t max_participants; /* per call */
	uint32_t events_per_sec;   /* per socket, burst twice that; a user's
				    * sockets together USER_RATE_FACTOR
				    * times that */
	uint32_t events_per_sec_per_ip; /* an address's sockets together
					 * (0: no limit) */
	uint32_t max_sessions_per_ip;   /* live sessions of an address */
	uint32_t max_conns_per_ip;      /* HTTP connections of an address */
	uint32_t max_sockets_per_user;  /* signed-in sockets of one user
					 * on this gateway (0: no limit) */
	uint32_t max_buffered;       /* bytes clients may make us hold: partial
				      * requests and frames, unread answers */
	uint32_t request_timeout_ms; /* a request or frame begun must be
				      * whole by then */
	uint32_t sfu_from;           /* participants that move a call to the
				      * SFU (0: never) */
	bool p2p_back;               /* back to P2P when two remain */
	const char *node_id;         /* this process's id in records */
};

/* What the gateway works with, built by apps/ per role and borrowed: each
 * must outlive the gateway (free the gateway first). */
struct gateway_parts {
	struct store *store;
	struct cache *cache; /* in this process, or Redis's */
	/* calls' media: this process's SFU (role all) or the media nodes
	 * (role gateway); NULL: P2P only */
	struct media *media;
	struct media_workers *workers; /* role all: its SFU, for /metrics and
					* the active speaker */
	struct translator *translator; /* NULL: transcriptions untranslated */
	/* role gateway (NULL otherwise): rooms across gateways, and the
	 * media nodes' load for /health */
	struct redis *redis;
	struct bus *bus;
	struct media_remote *remote;
	/* front mode (--upstream): Meeshy's gateway, for what is not a
	 * call's; NULL: such events are refused */
	struct upstream *upstream;
};

/* A user may have a few devices: its sockets together may send this many
 * times what one socket may. */
enum { USER_RATE_FACTOR = 4 };

void gateway_config_defaults(struct gateway_config *cfg);

struct gateway;

int gateway_alloc(struct gateway **gwp, const struct gateway_config *cfg,
		  const struct gateway_parts *parts);
/* The bound address (the port is chosen when the configured one is 0). */
int gateway_local(const struct gateway *gw, struct sa *laddr);
/* Closes the records of calls a previous run left open (role all: the
 * process that carried them is gone): participants leave, the call ends
 * with endReason "server-restart". */
int gateway_recover(struct gateway *gw, size_t *recovered);
/* Ends every call and closes every socket (shutdown). */
void gateway_shutdown(struct gateway *gw, const char *reason);

#endif
