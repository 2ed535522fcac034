/*
 * calls_core.c - what every part of the call code stands on: answering a
 * client (acks, errors naming the bad value, emits, wherever its socket
 * is), checking an event's fields, the live calls and their
 * participants, and writing them through to the store and the cache.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "sio.h"
#include "validate.h"
#include "cache.h"
#include "media.h"
#include "bus.h"
#include "fault.h"
#include "calls_impl.h"

/* the seed's cache lifetimes */
enum { CALL_STATE_TTL_S = 300, PRESENCE_TTL_S = 7200 };
/* How stale a call's cached media flags may be: a client toggling them
 * many times a second costs one rebuild of its call's state per this. */
enum { CALL_STATE_SOON_MS = 100 };

/* Helpers */

void call_room(char *buf, size_t size, const char *call_id)
{
	(void)re_snprintf(buf, size, CALL_ROOM, call_id);
}

/* Acks */

/* A client's socket, here or (role gateway) on another gateway. */

static void client_ack(struct client *cl, int64_t ack, const cJSON *body)
{
	if (cl->sock) {
		(void)sio_ack(cl->sock, ack, body);
		return;
	}
	if (cl->node[0] && ack != SIO_ACK_NONE) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddNumberToObject(m, "ack", (double)ack);
		cJSON_AddItemToObject(m, "body", cJSON_Duplicate(body, 1));
		(void)bus_to_node(cl->gw->bus, cl->node, "ack", cl->sid, m);
	}
}

/* 0, or why the client's socket here could not take the event (it is
 * then being closed). */
int client_emit(struct client *cl, const char *event, const cJSON *data)
{
	if (!cl)
		return 0;
	if (cl->sock)
		return sio_emit(cl->sock, event, data);
	if (cl->node[0]) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "event", event);
		cJSON_AddItemToObject(m, "data",
				      data ? cJSON_Duplicate(data, 1)
					   : cJSON_CreateNull());
		(void)bus_to_node(cl->gw->bus, cl->node, "emit", cl->sid, m);
	}
	return 0;
}

/* A remote client's gateway puts its socket in (or out of) a room. */
static void remote_room(struct client *cl, const char *type, const char *room)
{
	if (cl->node[0]) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "room", room);
		(void)bus_to_node(cl->gw->bus, cl->node, type, cl->sid, m);
	}
}

/* Rooms: a local socket joins here and, role gateway, the bus carries the
 * room's emits from other gateways to it; a remote client's gateway is
 * told to put its socket in the room. */
void client_join(struct client *cl, const char *room)
{
	if (!cl)
		return;
	if (cl->sock) {
		(void)sio_join(cl->sock, room);
		(void)bus_join(cl->gw->bus, room);
		return;
	}
	remote_room(cl, "join", room);
}

/* Drops the bus subscription of a room nobody here needs any more. */
void room_release(struct gateway *gw, const char *room)
{
	if (gw->bus && !sio_room_size(gw->sio, room) &&
	    !(strncmp(room, CALL_ROOM_PREFIX, sizeof(CALL_ROOM_PREFIX) - 1) ==
		      0 &&
	      call_find(gw, room + sizeof(CALL_ROOM_PREFIX) - 1)))
		bus_leave(gw->bus, room);
}

void client_leave(struct client *cl, const char *room)
{
	if (!cl)
		return;
	if (cl->sock) {
		sio_leave(cl->sock, room);
		room_release(cl->gw, room);
		return;
	}
	remote_room(cl, "leave", room);
}

/* A room emit that leaves out the client's own socket (wherever it is). */
void emit_except(struct gateway *gw, const char *room,
		 const struct client *except, const char *event,
		 const cJSON *data)
{
	gw->room_emit(gw, room, except ? except->sock : NULL,
		      except && !except->sock && except->sid[0] ? except->sid
								: NULL,
		      event, data);
}

cJSON *ok_body(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	return o;
}

void ack_send(struct client *cl, int64_t ack_id, cJSON *body)
{
	/* acked means committed: the event's writes land first */
	store_land_before_answer(cl->gw->store);
	if (ack_id != SIO_ACK_NONE)
		client_ack(cl, ack_id, body);
	cJSON_Delete(body);
	cl->gw->m.events[0]++;
}

/* Meeshy's code for a fault of an event: what its client switches on
 * (CALL_ALREADY_ACTIVE makes it force-leave and initiate again). */
static const char *meeshy_code(const char *event, enum fault_code code,
			       const char *message)
{
	switch (code) {
	case FAULT_UNAUTHENTICATED:
		return "NOT_AUTHENTICATED";
	case FAULT_FORBIDDEN:
		return strstr(message, "member") ? "PERMISSION_DENIED"
						 : "NOT_A_PARTICIPANT";
	case FAULT_NOT_FOUND:
		return strstr(message, "to:") ? "TARGET_NOT_FOUND"
					      : "CALL_NOT_FOUND";
	case FAULT_CONFLICT:
		if (!strcmp(event, "call:initiate"))
			return "CALL_ALREADY_ACTIVE";
		return strstr(message, "full") ? "MAX_PARTICIPANTS_REACHED"
					       : "INVALID_CALL_MODE";
	case FAULT_RATE_LIMITED:
		return "RATE_LIMIT_EXCEEDED";
	case FAULT_VALIDATION:
		return "VALIDATION_ERROR";
	default:
		return "CONNECTION_FAILED";
	}
}

/* call:error {code, message} in Meeshy's codes, for its client's events
 * sent without an ack (docs/meeshy.md). */
static void meeshy_error(struct client *cl, const char *event,
			 const struct fault *f)
{
	const char *code = meeshy_code(event, f->code, f->message);
	cJSON *o = cJSON_CreateObject();
	char text[FAULT_MESSAGE_MAX + 64];

	/* its client reads the message, not the code, for this one */
	(void)re_snprintf(text, sizeof(text), "%s%s",
			  strcmp(code, "CALL_ALREADY_ACTIVE")
				  ? ""
				  : "A call is already active"
				    " (CALL_ALREADY_ACTIVE): ",
			  f->message);
	cJSON_AddStringToObject(o, "code", code);
	cJSON_AddStringToObject(o, "message", text);
	cJSON_AddStringToObject(o, "event", event);
	client_emit(cl, "call:error", o);
	cJSON_Delete(o);
}

void ack_fault(struct client *cl, int64_t ack_id, const char *event,
	       const struct fault *f)
{
	cJSON *e = fault_json(f);

	if (ack_id != SIO_ACK_NONE) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddFalseToObject(o, "ok");
		cJSON_AddItemToObject(o, "error", e);
		client_ack(cl, ack_id, o);
		cJSON_Delete(o);
	} else {
		cJSON_AddStringToObject(e, "event", event);
		client_emit(cl, "exception", e);
		cJSON_Delete(e);
		if (cl->meeshy)
			meeshy_error(cl, event, f);
	}
	cl->gw->m.events[1]++;
}

void ack_error(struct client *cl, int64_t ack_id, const char *event,
	       enum fault_code code, const char *fmt, ...)
{
	struct fault f;
	va_list ap;

	va_start(ap, fmt);
	fault_vset(&f, code, fmt, ap);
	va_end(ap);
	ack_fault(cl, ack_id, event, &f);
}

/* Whether the client may call in the conversation: its token's list when
 * it has one; for Meeshy's client (whose tokens list none) an active
 * membership in the store (ConversationMember); else any (the seed's
 * tokens without a list, --dev-auth). */
bool member_of(const struct client *cl, const char *conv)
{
	struct conversation_member m;
	const cJSON *it;
	if (!cl->conversations)
		return !cl->meeshy || (!store_member_get(cl->gw->store, conv,
							 cl->user_id, &m) &&
				       m.isActive);
	cJSON_ArrayForEach(it, cl->conversations)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, conv))
			return true;
	}
	return false;
}

/* Payload validation: each returns false after acking the error. */

bool want_id(struct ev *e, const char *field, const char **out)
{
	char msg[256];
	if (!validate_id(e->data, field, out, msg, sizeof(msg)))
		return true;
	ack_error(e->cl, e->ack, e->name, FAULT_VALIDATION, "%s", msg);
	return false;
}

bool want_enum(struct ev *e, const char *field, const char *const *allowed,
	       const char *def, const char **out)
{
	char msg[256];
	if (!validate_enum(e->data, field, allowed, def, out, msg, sizeof(msg)))
		return true;
	ack_error(e->cl, e->ack, e->name, FAULT_VALIDATION, "%s", msg);
	return false;
}

bool want_bool(struct ev *e, const char *field, bool *out, bool *given)
{
	char msg[256];
	if (!validate_bool(e->data, field, out, given, msg, sizeof(msg)))
		return true;
	ack_error(e->cl, e->ack, e->name, FAULT_VALIDATION, "%s", msg);
	return false;
}

bool want_text(struct ev *e, const char *field, size_t max, const char **out)
{
	char msg[256];
	if (!validate_text(e->data, field, max, out, msg, sizeof(msg)))
		return true;
	ack_error(e->cl, e->ack, e->name, FAULT_VALIDATION, "%s", msg);
	return false;
}

/* An optional language tag ("" when not given). */
bool want_language(struct ev *e, const char **out)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(e->data, "language");
	*out = "";
	if (!l)
		return true;
	if (cJSON_IsString(l) && strlen(l->valuestring) < 16 &&
	    validate_is_language(l->valuestring)) {
		*out = l->valuestring;
		return true;
	}
	ack_error(e->cl, e->ack, e->name, FAULT_VALIDATION,
		  "language: '%s' is not a language tag (like en or pt-BR)",
		  cJSON_IsString(l) ? l->valuestring : "(not a string)");
	return false;
}

/* Live calls */

void part_destructor(void *arg)
{
	struct live_part *p = arg;
	list_unlink(&p->le);
	list_unlink(&p->le_client);
}

void call_destructor(void *arg)
{
	struct live_call *c = arg;
	hash_unlink(&c->le);
	list_unlink(&c->le_behind);
	c->media = mem_deref(c->media); /* a media node is told */
	bus_leave(c->gw->bus, c->room);
	list_flush(&c->parts);
}

static bool call_cmp(struct le *le, void *arg)
{
	const struct live_call *c = le->data;
	return !strcmp(c->rec.id, arg);
}

struct live_call *call_find(struct gateway *gw, const char *id)
{
	struct le *le = hash_lookup(gw->calls, hash_joaat_str(id), call_cmp,
				    (void *)id);
	return le ? le->data : NULL;
}

struct live_part *part_find(struct live_call *c, const char *user_id)
{
	for (struct le *le = c->parts.head; le; le = le->next) {
		struct live_part *p = le->data;
		if (!strcmp(p->rec.userId, user_id))
			return p;
	}
	return NULL;
}

size_t joined_count(const struct live_call *c)
{
	size_t n = 0;
	for (struct le *le = c->parts.head; le; le = le->next) {
		const struct live_part *p = le->data;
		n += !strcmp(p->rec.status, "joined");
	}
	return n;
}

/* call:media-state {callId, userId, audio, video}: p's flags as they are
 * now, to the rest of the call. */
void tell_media_state(struct client *cl, const struct live_call *c,
		      const struct live_part *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "userId", p->rec.userId);
	cJSON_AddBoolToObject(o, "audio", p->rec.audioEnabled);
	cJSON_AddBoolToObject(o, "video", p->rec.videoEnabled);
	emit_except(cl->gw, c->room, cl, "call:media-state", o);
	cJSON_Delete(o);
}

/* A participant as both dialects read it: the seed's {userId,
 * participantId, name, status, audioEnabled, videoEnabled} and Meeshy's
 * CallParticipant {id, callSessionId, role, joinedAt, leftAt,
 * isAudioEnabled, isVideoEnabled, username}. */
cJSON *part_json(const struct live_part *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "userId", p->rec.userId);
	cJSON_AddStringToObject(o, "participantId", p->rec.id);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "status", p->rec.status);
	cJSON_AddBoolToObject(o, "audioEnabled", p->rec.audioEnabled);
	cJSON_AddBoolToObject(o, "videoEnabled", p->rec.videoEnabled);
	cJSON_AddStringToObject(o, "id", p->rec.id);
	cJSON_AddStringToObject(o, "callSessionId", p->rec.callSessionId);
	cJSON_AddStringToObject(
		o, "role",
		p->call && !strcmp(p->call->rec.initiatorId, p->rec.userId)
			? "initiator"
			: "participant");
	store_json_time(o, "joinedAt", p->rec.joinedAt);
	store_json_time(o, "leftAt", p->rec.leftAt);
	cJSON_AddBoolToObject(o, "isAudioEnabled", p->rec.audioEnabled);
	cJSON_AddBoolToObject(o, "isVideoEnabled", p->rec.videoEnabled);
	cJSON_AddStringToObject(o, "username", p->name);
	return o;
}

static cJSON *joined_json(const struct live_call *c)
{
	cJSON *a = cJSON_CreateArray();
	for (struct le *le = c->parts.head; le; le = le->next) {
		const struct live_part *p = le->data;
		if (!strcmp(p->rec.status, "joined"))
			cJSON_AddItemToArray(a, part_json(p));
	}
	return a;
}

/* The body of initiate and join acks: what a client needs to start media,
 * with the configured ICE servers and TURN credentials of its own. */
cJSON *call_ack(struct gateway *gw, const struct live_call *c,
		const struct client *cl)
{
	cJSON *o = ok_body(), *ice, *turn, *t;
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "mode", c->rec.mode);
	cJSON_AddItemToObject(o, "call", store_call_json(&c->rec));
	cJSON_AddItemToObject(o, "participants", joined_json(c));
	ice = cJSON_Parse(gw->ice_servers);
	if (!ice)
		ice = cJSON_CreateArray();
	turn = turn_ice_servers(&gw->cfg.turn, cl->user_id, NULL,
				port_wallclock_ms() / 1000);
	while ((t = cJSON_DetachItemFromArray(turn, 0)))
		cJSON_AddItemToArray(ice, t);
	cJSON_Delete(turn);
	cJSON_AddItemToObject(o, "iceServers", ice);
	return o;
}

/* The seed's call state cache (call:<id>:state, 5 minutes): what
 * GET /api/calls/:id answers, kept while the call is live so that reading
 * it costs no store query; gone, with the presence set, once it ends. */
/* Initiated or active: not ended, missed, rejected or failed. */
bool call_open(const struct call_session *rec)
{
	return !strcmp(rec->status, "initiated") ||
	       !strcmp(rec->status, "active");
}

/* What GET /api/calls/:id answers for a live call. */
static cJSON *call_state_json(const struct live_call *c)
{
	cJSON *o = cJSON_CreateObject(), *parts;
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddItemToObject(o, "call", store_call_json(&c->rec));
	parts = cJSON_AddArrayToObject(o, "participants");
	for (struct le *le = c->parts.head; le; le = le->next) {
		const struct live_part *p = le->data;
		cJSON_AddItemToArray(parts, store_participant_json(&p->rec));
	}
	return o;
}

cJSON *calls_state_json(struct gateway *gw, const char *id)
{
	const struct live_call *c = call_find(gw, id);
	return c && call_open(&c->rec) ? call_state_json(c) : NULL;
}

static void cache_call_state(struct gateway *gw, struct live_call *c)
{
	char key[STORE_ID_MAX + 32], *text;
	cJSON *o;

	(void)re_snprintf(key, sizeof(key), KEY_CALL_STATE, c->rec.id);
	if (!call_open(&c->rec)) {
		(void)cache_del(gw->cache, key);
		(void)re_snprintf(key, sizeof(key), KEY_CALL_PRESENCE,
				  c->rec.id);
		(void)cache_del(gw->cache, key);
		return;
	}
	o = call_state_json(c);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text)
		(void)cache_set(gw->cache, key, text, CALL_STATE_TTL_S);
	cJSON_free(text);
}

/* The seed's presence set (call:<id>:participants, 2 hours). */
void cache_presence(struct gateway *gw, const struct live_part *p, bool in)
{
	char key[STORE_ID_MAX + 32];
	if (!gw->cache_shared)
		return; /* for other processes: none sees this one's memory */
	(void)re_snprintf(key, sizeof(key), KEY_CALL_PRESENCE,
			  p->rec.callSessionId);
	if (in)
		(void)cache_sadd(gw->cache, key, p->rec.userId, PRESENCE_TTL_S);
	else
		(void)cache_srem(gw->cache, key, p->rec.userId, PRESENCE_TTL_S);
}

/* At the end of the loop's turn (or CALL_STATE_SOON_MS on): the calls'
 * cached states, each once. */
static void cache_behind_states(void *arg)
{
	struct gateway *gw = arg;
	struct le *le;
	while ((le = list_head(&gw->state_behind))) {
		struct live_call *c = le->data;
		list_unlink(le);
		cache_call_state(gw, c);
	}
}

/* A live call's cached state is written at the end of the turn, or within
 * CALL_STATE_SOON_MS when only its media flags moved (a burst of
 * media-state events rebuilds it once, not per event); an ended one's is
 * deleted now. */
static void cache_call_changed(struct gateway *gw, struct live_call *c,
			       bool soon)
{
	/* In Redis only: in this process's memory it would be a second copy
	 * of the live call, which calls_state_json() reads directly. */
	if (!gw->cache_shared)
		return;
	if (!call_open(&c->rec)) {
		list_unlink(&c->le_behind);
		cache_call_state(gw, c);
		return;
	}
	if (!c->le_behind.list)
		list_append(&gw->state_behind, &c->le_behind, c);
	port_timer_start_within(gw->state_tmr, soon ? CALL_STATE_SOON_MS : 0,
				cache_behind_states, gw);
}

void record_call(struct gateway *gw, struct live_call *c)
{
	int err = store_call_put(gw->store, &c->rec);
	if (err)
		port_log(PORT_LOG_ERROR,
			 "call %s: store refused the record: %m", c->rec.id,
			 err);
	cache_call_changed(gw, c, false);
}

/* A participant's record to the store, and its call's cached state; its
 * media flags alone (soon) may wait a little to land with others. */
void record_part(struct gateway *gw, struct live_part *p, bool soon)
{
	int err = soon ? store_participant_put_soon(gw->store, &p->rec)
		       : store_participant_put(gw->store, &p->rec);
	if (err)
		port_log(PORT_LOG_ERROR,
			 "participant %s: store refused the record: %m",
			 p->rec.id, err);
	cache_call_changed(gw, p->call, soon);
}

const double calls_duration_bounds[DURATION_BUCKETS] = {60,   300,  600,
							1800, 3600, 7200};

void observe_duration(struct gateway *gw, const struct live_call *c)
{
	uint64_t from = c->rec.startedAt ? c->rec.startedAt : c->rec.createdAt;
	double secs = c->rec.endedAt > from
			      ? (double)(c->rec.endedAt - from) / 1000.0
			      : 0.0;
	int i;
	for (i = 0; i < DURATION_BUCKETS; i++)
		if (secs <= calls_duration_bounds[i])
			break;
	gw->m.duration_count[i]++;
	gw->m.duration_n++;
	gw->m.duration_sum += secs;
}

/* The call named by callId, or an error ack. */
struct live_call *want_call(struct ev *e, const char **idp)
{
	struct gateway *gw = e->cl->gw;
	struct call_session rec;
	struct live_call *c;
	const char *id;

	if (!want_id(e, "callId", &id))
		return NULL;
	if (idp)
		*idp = id;
	c = call_find(gw, id);
	if (c)
		return c;
	if (!store_call_get(gw->store, id, &rec))
		ack_error(e->cl, e->ack, e->name, FAULT_CONFLICT,
			  "call %s has %s", id, rec.status);
	else
		ack_error(e->cl, e->ack, e->name, FAULT_NOT_FOUND,
			  "callId: no call %s", id);
	return NULL;
}

/* The caller's own participation, or a FORBIDDEN ack. */
struct live_part *want_joined(struct ev *e, struct live_call *c)
{
	struct live_part *p = part_find(c, e->cl->user_id);
	if (p && p->client == e->cl && !strcmp(p->rec.status, "joined"))
		return p;
	ack_error(e->cl, e->ack, e->name, FAULT_FORBIDDEN,
		  "you have not joined call %s", c->rec.id);
	return NULL;
}

void client_destructor(void *arg)
{
	struct client *cl = arg;
	cJSON_Delete(cl->conversations);
	mem_deref(cl->greet_error);
	mem_deref(cl->socks); /* one socket fewer for its user */
	mem_deref(cl->up);    /* its upstream link closes */
}
