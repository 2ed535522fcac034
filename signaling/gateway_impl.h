/*
 * gateway_impl.h - what gateway.c (HTTP, REST, metrics) and calls.c (events
 * and call orchestration) share. Not a door: nothing outside signaling/
 * includes it.
 */
#ifndef MEESHY_GATEWAY_IMPL_H
#define MEESHY_GATEWAY_IMPL_H

#include "router.h"
#include "gateway.h"
#include "store.h"
#include "call_machine.h"

struct cJSON;
struct sio_socket;
struct httpd_conn;
struct http_msg;
struct fault;

/* Call durations' histogram (calls.c observes, metrics.c prints). */
enum { DURATION_BUCKETS = 6 };
extern const double calls_duration_bounds[DURATION_BUCKETS];

/* Emits to a room's sockets here and, over the bus, on the other
 * gateways: how the call code reaches clients without knowing who
 * carries the emit (gateway.c sets it). */
typedef void(gw_room_emit_h)(struct gateway *gw, const char *room,
			     const struct sio_socket *except,
			     const char *except_sid, const char *event,
			     const struct cJSON *data);

/* Counters behind /metrics (the seed's names; see metrics.c). */
struct gw_metrics {
	uint64_t calls_total[2][2]; /* [audio|video][direct|group] */
	uint64_t calls_failed;
	uint64_t duration_count[DURATION_BUCKETS + 1];
	uint64_t duration_n;
	double duration_sum;
	uint64_t events[2]; /* accepted, refused (error acks) */
	uint64_t rate_limited;
	uint64_t auth_failures;
	uint64_t http_requests;
	uint64_t refused_per_user; /* sign-ins past --max-sockets-per-user */
};

struct gateway {
	struct gateway_config cfg;
	struct call_policy call_policy; /* --sfu-from, --p2p-back, an SFU */
	gw_room_emit_h *room_emit;
	char *node_id, *web_root, *ice_servers;
	uint8_t *jwt_secret, *turn_secret;
	char *turn_servers;
	/* borrowed from apps/ (struct gateway_parts) */
	struct store *store;
	struct media *media; /* calls' media (our SFU, or media nodes) */
	struct media_workers *workers; /* our SFU's workers, or NULL */
	struct redis *redis;           /* role gateway: rooms over Redis */
	struct bus *bus;
	struct media_remote *remote; /* role gateway: the media nodes */
	struct cache *cache;         /* Redis when there is one, else memory */
	struct translator *translator; /* NULL: transcriptions untranslated */
	struct upstream *upstream;     /* front mode, or NULL */
	/* owned */
	struct httpd *http;
	struct sio_server *sio;
	struct ratelimit *user_rate, *ip_rate; /* NULL: no such limit */
	struct list remote_clients; /* other gateways' sockets in our calls */
	bool cache_shared;          /* it is Redis: call states go there */
	struct port_timer *cluster_tmr; /* the cluster tick, every second */
	/* calls whose cached state (call:<id>:state) is behind: written once
	 * at the end of the loop's turn, however many events changed it */
	struct list state_behind;
	struct port_timer *state_tmr;
	unsigned ticks;
	struct hash *calls; /* live calls by id */
	struct hash
		*user_sockets; /* signed-in sockets per user (calls_auth.c) */
	size_t ncalls;
	size_t nparticipants; /* joined, in live calls */
	struct gw_metrics m;
	uint64_t started_ms;
};

/* calls.c */
int calls_connect(struct gateway *gw, struct sio_socket *sock,
		  const struct cJSON *auth, struct fault *f);
/* The CONNECT answered: the client hears "authenticated" (when it gave a
 * token). */
void calls_connected(struct gateway *gw, struct sio_socket *sock);
void calls_event(struct gateway *gw, struct sio_socket *sock, const char *event,
		 const struct cJSON *args, int64_t ack_id);
void calls_disconnect(struct gateway *gw, struct sio_socket *sock,
		      const char *reason);
void calls_end_all(struct gateway *gw, const char *reason);
/* GET /api/calls/:id of a call live here, or NULL. */
struct cJSON *calls_state_json(struct gateway *gw, const char *id);
/* Role gateway: a media node drains ({callId, node}): the call goes to
 * another node and its participants are told (call:media-moved). */
void calls_node_draining(struct gateway *gw, const struct cJSON *data);
/* Role gateway: a message on this gateway's own Redis channel
 * (meeshy:node:<id>): events of remote clients in our calls, and acks,
 * emits and room changes for our sockets in other gateways' calls. */
void calls_node_message(struct gateway *gw, const char *channel,
			const char *msg, size_t len);
/* Role gateway, every second: this gateway is alive (gateway:<id>:alive
 * EX 3); its calls are its own (call:<id>:gateway). */
void calls_cluster_tick(struct gateway *gw);
/* Redis came (back) up: alive now, and our calls' ownership restated. */
void calls_cluster_up(struct gateway *gw);
size_t calls_count_mode(const struct gateway *gw, const char *mode);
/* A room's emit to this gateway's sockets, but not to the user's. */
void calls_emit_unless_user(struct gateway *gw, const char *room,
			    const char *user, const char *event,
			    const struct cJSON *data);
/* call:incoming or call:initiated to a room's sockets here (a user's
 * devices) whose token lets them into the call's conversation: an invite
 * list rings members only. */
void calls_ring_members(struct gateway *gw, const char *room, const char *event,
			const struct cJSON *news);
/* A call's active speaker changed: media:active-speaker to its room. */
void calls_speaker(struct gateway *gw, const char *call_id,
		   const char *producer_id, const char *user_id);
/* Authenticates a REST request (Authorization: Bearer <token>); fills the
 * user id and the conversations its token lists (NULL when it lists none;
 * the caller owns it), and whether it is a --dev-auth guest rather than a
 * verified token; or returns an errno value with why in *f. */
struct http_caller {
	char user[STORE_ID_MAX + 1];
	char role[33];               /* Meeshy's role claim, or "" */
	struct cJSON *conversations; /* the token's list, NULL if none; the
				      * caller owns it */
	bool guest;                  /* --dev-auth: a name, no proof */
};
int calls_http_auth(struct gateway *gw, const struct http_msg *msg,
		    struct http_caller *who, struct fault *f);
/* The live call's record (ENOENT: not live here). */
int calls_live_get(struct gateway *gw, const char *call_id,
		   struct call_session *rec);
/* Whether the user is a participant (any status) of the live call; its
 * participant id in part_id when given. */
bool calls_live_participant(struct gateway *gw, const char *call_id,
			    const char *user_id, char *part_id, size_t size);
/* Whether the user takes part in the conversation's live call. */
bool calls_live_in_conversation(struct gateway *gw, const char *conv,
				const char *user_id);

/* gateway_cluster.c (with Redis) or gateway_cluster_none.c */
/* Role gateway: Redis's messages and the bus's deliveries to us, our own
 * channel, the cluster tick (ENOTSUP without Redis). */
int gateway_cluster_start(struct gateway *gw);
/* Redis and the bus call us no more (the gateway is going). */
void gateway_cluster_stop(struct gateway *gw);
/* /health's word on them: checks.redis, mediaNodes; *sio false without
 * Redis in role gateway. */
void gateway_cluster_health(struct gateway *gw, struct cJSON *o,
			    struct cJSON *checks, bool *sio);
/* /metrics's Redis counters (none without Redis). */
struct re_printf;
int gateway_cluster_metrics(struct re_printf *pf, const struct gateway *gw);

/* rest_members.c: PUT or DELETE /api/conversations/:id/members/:userId */
void rest_member(struct gateway *gw, struct httpd_conn *conn,
		 const struct http_msg *msg, const struct http_caller *who,
		 const char *conv, const char *user);

/* rest.c: a request under /api/ */
void rest_serve(struct gateway *gw, struct httpd_conn *conn,
		const struct http_msg *msg);

/* metrics.c */
int metrics_print(struct re_printf *pf, const struct gateway *gw);

#endif
