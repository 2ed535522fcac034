/*
 * calls_impl.h - what the call code's files share, as libre's src/rtp
 * shares rtp.c, rtcp.c and fb.c: calls_core.c (answering clients, checking
 * fields, the live calls and their records), calls_media.c (a call's
 * media) on it, and calls.c (the events, the rules' hooks, the cluster)
 * on both. Not a door: nothing outside them includes it.
 */
#ifndef MEESHY_CALLS_IMPL_H
#define MEESHY_CALLS_IMPL_H
#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "call_machine.h"
#include "fault.h"
#include "cluster_keys.h"
#include "gateway_impl.h"

enum { NAME_MAX_LEN = 128, SDP_MAX = 65536, TEXT_MAX = 4096 };

/* One connected socket. */
struct client {
	struct gateway *gw;
	struct sio_socket *sock; /* NULL: gone, or a remote client */
	/* role gateway, across gateways: a remote client is a socket of
	 * gateway `node` in a call of ours; a local client in a call of
	 * another gateway has that gateway in `owner` */
	char node[STORE_ID_MAX + 1], sid[48];
	char owner[STORE_ID_MAX + 1], owned_call[STORE_ID_MAX + 1];
	struct le le_remote;
	bool gone; /* disconnected: answers due are dropped */
	bool authed;
	/* what "authenticated" tells the client once its CONNECT is answered:
	 * nothing (no token given), a sign-in, or (Meeshy's auth, which
	 * connects anyway) why its token was refused */
	enum { GREET_NONE, GREET_SIGNED_IN, GREET_REFUSED } greet;
	char *greet_error; /* GREET_REFUSED: the reason (owned) */
	char language[16]; /* what "authenticated" says the user speaks */
	struct user_socks *socks; /* its user's tally of sockets (signed in) */
	struct upstream_link *up; /* front mode: its link to Meeshy's gateway */
	bool anonymous; /* Meeshy's anonymous participant (a share link) */
	bool meeshy;    /* signed in as Meeshy's client does: its errors go as
			 * call:error too (docs/meeshy.md) */
	char user_id[STORE_ID_MAX + 1];
	char name[NAME_MAX_LEN + 1];
	cJSON *conversations; /* ids the token allows, NULL: not limited */
	struct list parts;    /* live_part.le_client: calls joined here */
	double tokens;        /* rate limit bucket */
	uint64_t refill_us;
};

struct live_call {
	struct le le;
	struct gateway *gw;
	struct call_session rec;
	struct list parts;
	struct call_machine rules; /* when it moves, becomes active, ends */
	char room[STORE_ID_MAX + 8];
	int conv_type; /* 0 direct, 1 group */
	/* its media, on our SFU or a media node: from the switch to the SFU
	 * or the first media request, until the switch back or the end */
	struct media_call *media;
	unsigned lost_ticks; /* seconds its media's node has been seen dead */
	struct le le_behind; /* in gw->state_behind */
};

struct live_part {
	struct le le, le_client;
	struct live_call *call;
	struct call_participant rec;
	struct client *client; /* the socket in the call, NULL if none */
	char name[NAME_MAX_LEN + 1];
	char language[16]; /* what the participant hears ("": as said) */
	bool media;        /* made a media request in this call */
};

/* One client event being handled. */
struct ev {
	struct client *cl;
	const char *name;
	int64_t ack;
	const cJSON *data; /* the first argument, an object */
};

/* calls_core.c */
int client_emit(struct client *cl, const char *event, const struct cJSON *data);
/* A room emit that leaves out the client's own socket (wherever it is). */
void emit_except(struct gateway *gw, const char *room,
		 const struct client *except, const char *event,
		 const struct cJSON *data);
struct cJSON *ok_body(void);
void ack_send(struct client *cl, int64_t ack_id, struct cJSON *body);
/* An error the user can act on (fault.h): as the event's ack, or as an
 * "exception" event {code, message, event} when it has none. */
void ack_fault(struct client *cl, int64_t ack_id, const char *event,
	       const struct fault *f);
/* The same from a code and a sentence naming the value that was wrong. */
void ack_error(struct client *cl, int64_t ack_id, const char *event,
	       enum fault_code code, const char *fmt, ...);
struct live_call *call_find(struct gateway *gw, const char *id);
size_t joined_count(const struct live_call *c);
void record_call(struct gateway *gw, struct live_call *c);
/* The call named by callId, or an error ack. */
struct live_call *want_call(struct ev *e, const char **idp);
/* The caller's own participation, or a FORBIDDEN ack. */
struct live_part *want_joined(struct ev *e, struct live_call *c);

/* calls_core.c, besides the above */
void cache_presence(struct gateway *gw, const struct live_part *p, bool in);
struct cJSON *call_ack(struct gateway *gw, const struct live_call *c,
		       const struct client *cl);
bool call_open(const struct call_session *rec);
void call_room(char *buf, size_t size, const char *call_id);
void client_join(struct client *cl, const char *room);
void client_leave(struct client *cl, const char *room);
void observe_duration(struct gateway *gw, const struct live_call *c);
struct live_part *part_find(struct live_call *c, const char *user_id);
struct cJSON *part_json(const struct live_part *p);
void tell_media_state(struct client *cl, const struct live_call *c,
		      const struct live_part *p);
void record_part(struct gateway *gw, struct live_part *p, bool soon);
void room_release(struct gateway *gw, const char *room);
bool want_bool(struct ev *e, const char *field, bool *out, bool *given);
bool want_enum(struct ev *e, const char *field, const char *const *allowed,
	       const char *def, const char **out);
bool want_id(struct ev *e, const char *field, const char **out);
bool want_language(struct ev *e, const char **out);
bool want_text(struct ev *e, const char *field, size_t max, const char **out);
void call_destructor(void *arg);
void part_destructor(void *arg);
void client_destructor(void *arg);

/* calls_life.c */
/* A participant leaves the call's room and its state; the record stays. */
void part_leave(struct live_part *p, uint64_t now);
/* The call ends (status ended or failed), told to everyone in it. */
void call_end(struct live_call *c, const char *status, const char *reason,
	      const char *by);
/* The rules of a call of this gateway, in the state its record says. */
void rules_start(struct live_call *c);
/* After a participant left: the others hear it, then the rules decide. */
void after_leave(struct live_call *c, struct live_part *p, const char *reason);

/* calls_cluster.c (with Redis) or calls_cluster_none.c: across gateways */
typedef void(calls_handle_h)(struct client *cl, const char *event,
			     const struct cJSON *data, int64_t ack);
/* An event of a client here for a call another gateway owns goes there
 * (true); an owner gone makes the call ours, then handle() runs. */
bool cluster_route(struct client *cl, const char *event,
		   const struct cJSON *data, int64_t ack_id,
		   calls_handle_h *handle);
/* Says Redis the call is ours; h runs once that is said (cancelled: we
 * are closing). An errno value (no Redis, or down): h never runs. */
typedef void(cluster_held_h)(bool cancelled, void *arg);
int cluster_hold(struct live_call *c, cluster_held_h *h, void *arg);
/* Remote clients: sockets of other gateways in calls of ours. */
struct client *cluster_remote_find(struct gateway *gw, const char *node,
				   const char *sid);
struct client *cluster_remote_client(struct gateway *gw, const struct cJSON *m,
				     const char *from, const char *sid);
void cluster_remote_gone(struct gateway *gw, struct client *cl);
/* What the gateway holding a call says of our socket sock. */
void cluster_to_socket(struct gateway *gw, const struct cJSON *m,
		       const char *type, struct sio_socket *sock);

/* calls_auth.c: the "authenticate" event */
void on_authenticate(struct ev *e);
/* calls_transcripts.c: the "call:transcription" event */
void on_transcription(struct ev *e);

/* calls_core.c: whether the client may call in the conversation (its
 * token's list; for Meeshy's client its membership in the store) */
bool member_of(const struct client *cl, const char *conv);

/* calls_meeshy.c: what Meeshy's client sends and hears besides the
 * seed's events (docs/meeshy.md) */
void on_conversation_join(struct ev *e);
void on_conversation_leave(struct ev *e);
void on_toggle_media(struct ev *e);
void on_force_leave(struct ev *e);
/* call:initiated {callId, conversationId, mode, initiator, participants}
 * to the initiator and to whoever rings. */
struct cJSON *initiated_json(const struct live_call *c,
			     const struct client *from);

/* calls_media.c */
/* The call's media from now on (opened once); ENOTSUP: no SFU here,
 * ENOENT: no media node alive. */
int media_want(struct live_call *c);
/* Lets the call's media go (a media node is told). */
void media_release(struct live_call *c);
/* A leaving participant's media goes; the others hear what closed. */
void media_leave(struct live_call *c, const char *user);
/* Every media:* request. */
void on_media(struct ev *e);
/* Each second: calls whose media node died (no heartbeat, not drained)
 * move to another, their participants told (call:media-moved). */
void calls_media_check(struct gateway *gw);

#endif
