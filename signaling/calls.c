/*
 * calls.c - the call lifecycle over Socket.IO: what each client event
 * does to a call, and the dispatch that checks a socket may send it (who a
 * socket is: calls_auth.c; call:transcription: calls_transcripts.c).
 *
 * Live calls are kept in memory (one gateway owns a call in role all) and
 * every change is written through to the store, so a crash loses no record
 * the store has acknowledged. Two participants talk peer to peer: the
 * gateway relays their offers, answers and candidates (call:signal).
 *
 * Every event is answered through its ack: {ok:true, ...} or
 * {ok:false, error:{code, message}}; an event sent without an ack gets an
 * "exception" event {code, message, event} instead when it fails. (Not
 * "error": Artillery's socketio engine, which the seed load-tests with,
 * takes a server event named "error" for a broken socket and aborts.)
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "sio.h"
#include "gateway_impl.h"
#include "validate.h"
#include "ratelimit.h"
#include "media.h"
#include "call_machine.h"
#include "upstream.h"
#include "calls_impl.h"
#include "bus.h"
#include "uuid.h"

struct mode_count {
	const char *mode;
	size_t n;
};

static bool count_mode(struct le *le, void *arg)
{
	const struct live_call *c = le->data;
	struct mode_count *k = arg;
	k->n += !strcmp(c->rec.mode, k->mode);
	return false;
}

size_t calls_count_mode(const struct gateway *gw, const char *mode)
{
	struct mode_count k = {mode, 0};
	(void)hash_apply(gw->calls, count_mode, &k);
	return k.n;
}

static struct live_part *part_add(struct live_call *c, struct client *cl,
				  const char *user_id, const char *status)
{
	struct live_part *p = mem_zalloc(sizeof(*p), part_destructor);
	if (!p)
		return NULL;
	p->call = c;
	if (objectid_new(p->rec.id, sizeof(p->rec.id))) {
		mem_deref(p);
		return NULL;
	}
	str_ncpy(p->rec.callSessionId, c->rec.id, sizeof(p->rec.callSessionId));
	str_ncpy(p->rec.userId, user_id, sizeof(p->rec.userId));
	str_ncpy(p->rec.status, status, sizeof(p->rec.status));
	str_ncpy(p->name, cl ? cl->name : user_id, sizeof(p->name));
	p->rec.audioEnabled = true;
	p->rec.videoEnabled = !strcmp(c->rec.type, "video");
	p->rec.initiator = !strcmp(user_id, c->rec.initiatorId);
	list_append(&c->parts, &p->le, p);
	return p;
}

/* The participant joins through this client's socket. */
static void part_join(struct live_part *p, struct client *cl)
{
	struct gateway *gw = cl->gw;
	if (p->client && p->client != cl)
		client_leave(p->client, p->call->room);
	list_unlink(&p->le_client);
	p->client = cl;
	list_append(&cl->parts, &p->le_client, p);
	str_ncpy(p->name, cl->name, sizeof(p->name));
	client_join(cl, p->call->room);
	if (strcmp(p->rec.status, "joined")) {
		str_ncpy(p->rec.status, "joined", sizeof(p->rec.status));
		p->rec.joinedAt = port_wallclock_ms();
		p->rec.leftAt = 0;
		gw->nparticipants++;
		cache_presence(gw, p, true);
		record_part(gw, p, false);
	}
}

struct unless_user {
	const char *skip_user;
	const char *event;
	const cJSON *payload;
};

static void emit_unless_user(struct sio_socket *sock, void *arg)
{
	const struct unless_user *k = arg;
	const struct client *cl = sio_socket_user(sock);
	if (cl && strcmp(cl->user_id, k->skip_user))
		(void)sio_emit(sock, k->event, k->payload);
}

void calls_emit_unless_user(struct gateway *gw, const char *room,
			    const char *user, const char *event,
			    const cJSON *data)
{
	struct unless_user k = {user, event, data};
	sio_room_apply(gw->sio, room, emit_unless_user, &k);
}

struct ringing {
	const char *event;
	const cJSON *news; /* call:incoming or call:initiated */
};

static void ring_member(struct sio_socket *sock, void *arg)
{
	const struct ringing *r = arg;
	const struct client *cl = sio_socket_user(sock);
	const cJSON *conv =
		cJSON_GetObjectItemCaseSensitive(r->news, "conversationId");
	if (cl && cJSON_IsString(conv) && member_of(cl, conv->valuestring))
		(void)sio_emit(sock, r->event, r->news);
}

void calls_ring_members(struct gateway *gw, const char *room, const char *event,
			const cJSON *news)
{
	struct ringing r = {event, news};
	sio_room_apply(gw->sio, room, ring_member, &r);
}

/* To the invitees' sockets that are members (when there is an invite
 * list), else to everyone in the conversation but the caller's own
 * devices, on every gateway. */
static void ring(struct gateway *gw, const struct live_call *c,
		 const struct client *from, const cJSON *invite,
		 const char *event, const cJSON *o)
{
	char room[STORE_ID_MAX + 16];
	const cJSON *it;

	if (cJSON_IsArray(invite)) {
		cJSON_ArrayForEach(it, invite)
		{
			(void)re_snprintf(room, sizeof(room), "user:%s",
					  it->valuestring);
			calls_ring_members(gw, room, event, o);
			(void)bus_publish(gw->bus, room, event, o, NULL);
		}
		return;
	}
	(void)re_snprintf(room, sizeof(room), "conversation:%s",
			  c->rec.conversationId);
	calls_emit_unless_user(gw, room, from->user_id, event, o);
	(void)bus_publish_except_user(gw->bus, room, event, o, from->user_id);
}

static void emit_incoming(struct live_call *c, struct client *from,
			  const cJSON *invite)
{
	struct gateway *gw = c->gw;
	cJSON *o = cJSON_CreateObject(), *ini = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "conversationId", c->rec.conversationId);
	cJSON_AddStringToObject(o, "type", c->rec.type);
	cJSON_AddStringToObject(o, "mode", c->rec.mode);
	cJSON_AddStringToObject(ini, "userId", from->user_id);
	cJSON_AddStringToObject(ini, "name", from->name);
	cJSON_AddItemToObject(o, "initiator", ini);
	ring(gw, c, from, invite, "call:incoming", o);
	cJSON_Delete(o);
	/* the same news as Meeshy's client hears it */
	o = initiated_json(c, from);
	ring(gw, c, from, invite, "call:initiated", o);
	cJSON_Delete(o);
}

static bool conv_cmp(struct le *le, void *arg)
{
	const struct live_call *c = le->data;
	return !strcmp(c->rec.conversationId, arg);
}

/* The initiator's ack and the ringing, once the call is known to be this
 * gateway's: whoever hears of the call may join it through another
 * gateway at once, and that gateway asks Redis who holds it. */
struct initiating {
	struct client *cl; /* held */
	char call[STORE_ID_MAX + 1];
	int64_t ack;
	cJSON *invite;
};

static void initiating_destructor(void *arg)
{
	struct initiating *in = arg;
	mem_deref(in->cl);
	cJSON_Delete(in->invite);
}

static void announce(struct initiating *in)
{
	struct live_call *c = call_find(in->cl->gw, in->call);
	cJSON *o;
	if (!c || in->cl->gone)
		return; /* ended, or its initiator left, meanwhile */
	ack_send(in->cl, in->ack, call_ack(in->cl->gw, c, in->cl));
	/* Meeshy's client waits for call:initiated, the caller too */
	o = initiated_json(c, in->cl);
	client_emit(in->cl, "call:initiated", o);
	cJSON_Delete(o);
	emit_incoming(c, in->cl, in->invite);
}

static void on_held(bool cancelled, void *arg)
{
	struct initiating *in = arg;
	if (!cancelled)
		announce(in);
	mem_deref(in);
}

static void initiated(struct live_call *c, struct client *cl, int64_t ack,
		      const cJSON *invite)
{
	struct initiating *in = mem_zalloc(sizeof(*in), initiating_destructor);

	if (!in) {
		ack_error(cl, ack, "call:initiate", FAULT_INTERNAL,
			  "out of resources");
		return;
	}
	in->cl = mem_ref(cl);
	str_ncpy(in->call, c->rec.id, sizeof(in->call));
	in->ack = ack;
	in->invite = invite ? cJSON_Duplicate(invite, 1) : NULL;
	/* no Redis, or it is down: nobody can ask it either; the call is
	 * ours anyway */
	if (!cluster_hold(c, on_held, in))
		return;
	announce(in);
	mem_deref(in);
}

/* participants, when given: at most --max-participants user ids. */
static bool want_invite(struct ev *e, const cJSON **invite)
{
	unsigned max = e->cl->gw->cfg.max_participants;
	const cJSON *it;
	bool ok;

	*invite = cJSON_GetObjectItemCaseSensitive(e->data, "participants");
	if (!*invite)
		return true;
	ok = cJSON_IsArray(*invite) && cJSON_GetArraySize(*invite) <= (int)max;
	cJSON_ArrayForEach(it, *invite) ok =
		ok && cJSON_IsString(it) && validate_is_id(it->valuestring);
	if (!ok)
		ack_error(e->cl, e->ack, e->name, FAULT_VALIDATION,
			  "participants: must be an array of at most %u user"
			  " ids",
			  max);
	return ok;
}

/* A new live call of the conversation, P2P and "initiated", recorded. */
static struct live_call *call_new(struct gateway *gw, const char *conv,
				  const char *initiator, const char *type,
				  const char *conv_type)
{
	struct live_call *c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c || objectid_new(c->rec.id, sizeof(c->rec.id)))
		return mem_deref(c);
	c->gw = gw;
	str_ncpy(c->rec.conversationId, conv, sizeof(c->rec.conversationId));
	str_ncpy(c->rec.initiatorId, initiator, sizeof(c->rec.initiatorId));
	str_ncpy(c->rec.type, type, sizeof(c->rec.type));
	str_ncpy(c->rec.mode, "p2p", sizeof(c->rec.mode));
	str_ncpy(c->rec.status, "initiated", sizeof(c->rec.status));
	c->rec.createdAt = port_wallclock_ms();
	c->conv_type = !strcmp(conv_type, "group");
	call_room(c->room, sizeof(c->room), c->rec.id);
	rules_start(c);
	hash_append(gw->calls, hash_joaat_str(c->rec.id), &c->le, c);
	/* its media node's events come over the bus */
	(void)bus_join(gw->bus, c->room);
	gw->ncalls++;
	gw->m.calls_total[!strcmp(type, "video")][c->conv_type]++;
	record_call(gw, c);
	return c;
}

static void on_initiate(struct ev *e)
{
	static const char *const types[] = {"audio", "video", NULL};
	static const char *const convs[] = {"direct", "group", NULL};
	struct client *cl = e->cl;
	struct gateway *gw = cl->gw;
	const char *conv, *type, *conv_type, *lang;
	const cJSON *invite, *it;
	struct live_call *c;
	struct live_part *p;
	struct le *le;

	if (!want_id(e, "conversationId", &conv) ||
	    !want_enum(e, "type", types, NULL, &type) ||
	    !want_enum(e, "conversationType", convs, "group", &conv_type) ||
	    !want_language(e, &lang) || !want_invite(e, &invite))
		return;
	if (!member_of(cl, conv)) {
		ack_error(cl, e->ack, e->name, FAULT_FORBIDDEN,
			  "conversationId: you are not a member of '%s'", conv);
		return;
	}
	le = hash_apply(gw->calls, conv_cmp, (void *)conv);
	if (le) {
		ack_error(cl, e->ack, e->name, FAULT_CONFLICT,
			  "conversation '%s' already has call %s in progress:"
			  " join it",
			  conv, ((struct live_call *)le->data)->rec.id);
		return;
	}
	c = call_new(gw, conv, cl->user_id, type, conv_type);
	p = c ? part_add(c, cl, cl->user_id, "invited") : NULL;
	if (!p) {
		if (c)
			call_end(c, "failed", "internal-error", NULL);
		ack_error(cl, e->ack, e->name, FAULT_INTERNAL,
			  "out of resources");
		return;
	}
	str_ncpy(p->language, lang, sizeof(p->language));
	/* --sfu-from 1: on the SFU from the start (switched before the
	 * initiator is in the room: its ack says so, no event needed) */
	call_joined(&c->rules, 1);
	part_join(p, cl);
	cJSON_ArrayForEach(it, invite)
	{
		struct live_part *q;
		if (part_find(c, it->valuestring))
			continue;
		q = part_add(c, NULL, it->valuestring, "invited");
		if (q)
			record_part(gw, q, false);
	}
	initiated(c, cl, e->ack, invite);
}

static void on_join(struct ev *e)
{
	struct client *cl = e->cl;
	struct gateway *gw = cl->gw;
	struct live_call *c = want_call(e, NULL);
	struct live_part *p;
	const char *lang;
	bool was_in;
	cJSON *o;

	if (!c || !want_language(e, &lang))
		return;
	if (!member_of(cl, c->rec.conversationId)) {
		ack_error(cl, e->ack, e->name, FAULT_FORBIDDEN,
			  "you are not a member of conversation '%s'",
			  c->rec.conversationId);
		return;
	}
	p = part_find(c, cl->user_id);
	was_in = p && !strcmp(p->rec.status, "joined");
	if (!was_in && joined_count(c) >= gw->cfg.max_participants) {
		ack_error(cl, e->ack, e->name, FAULT_CONFLICT,
			  "call %s is full (%u participants)", c->rec.id,
			  gw->cfg.max_participants);
		return;
	}
	if (!p)
		p = part_add(c, cl, cl->user_id, "invited");
	if (!p) {
		ack_error(cl, e->ack, e->name, FAULT_INTERNAL,
			  "out of resources");
		return;
	}
	if (*lang)
		str_ncpy(p->language, lang, sizeof(p->language));
	part_join(p, cl);
	/* decided before the ack, so the joiner is told the mode to use */
	if (!was_in)
		call_joined(&c->rules, joined_count(c));
	ack_send(cl, e->ack, call_ack(gw, c, cl));
	if (was_in)
		return; /* a second join (or another device) changes no one */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddItemToObject(o, "participant", part_json(p));
	emit_except(gw, c->room, cl, "call:participant-joined", o);
	cJSON_Delete(o);
}

static void on_leave(struct ev *e)
{
	struct client *cl = e->cl;
	struct live_call *c = want_call(e, NULL);
	struct live_part *p;

	if (!c || !(p = want_joined(e, c)))
		return;
	part_leave(p, port_wallclock_ms());
	ack_send(cl, e->ack, ok_body());
	after_leave(c, p, "left");
}

static void on_end(struct ev *e)
{
	struct client *cl = e->cl;
	struct live_call *c = want_call(e, NULL);

	if (!c || !want_joined(e, c))
		return;
	ack_send(cl, e->ack, ok_body());
	call_end(c, "ended", "ended-by-participant", cl->user_id);
}

/* What call:signal relays: the seed's flat {callId, from, type, sdp |
 * candidate}, or, for Meeshy's nested {callId, signal: {...}}, the same
 * shape with signal.from the sender. */
static cJSON *signal_out(const struct live_call *c, const struct client *cl,
			 const cJSON *nested, const char *type, const char *sdp,
			 const cJSON *cand)
{
	cJSON *o = cJSON_CreateObject(), *sig;
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	if (nested) {
		sig = cJSON_Duplicate(nested, 1);
		cJSON_DeleteItemFromObjectCaseSensitive(sig, "from");
		cJSON_AddStringToObject(sig, "from", cl->user_id);
		cJSON_AddItemToObject(o, "signal", sig);
		return o;
	}
	cJSON_AddStringToObject(o, "from", cl->user_id);
	cJSON_AddStringToObject(o, "type", type);
	if (sdp)
		cJSON_AddStringToObject(o, "sdp", sdp);
	else
		cJSON_AddItemToObject(o, "candidate", cJSON_Duplicate(cand, 1));
	return o;
}

/* The signal's own fields are checked on `sig` (the event, or Meeshy's
 * nested signal object); false after the error's answer. */
static bool signal_fields(struct ev *sig, const char **to_id, const char **type,
			  const char **sdp, const cJSON **cand)
{
	static const char *const types[] = {"offer", "answer", "ice-candidate",
					    NULL};
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(sig->data, "from");

	if (!want_id(sig, "to", to_id) ||
	    !want_enum(sig, "type", types, NULL, type))
		return false;
	if (cJSON_IsString(from) &&
	    strcmp(from->valuestring, sig->cl->user_id)) {
		ack_error(sig->cl, sig->ack, sig->name, FAULT_FORBIDDEN,
			  "signal.from: '%s' is not you ('%s')",
			  from->valuestring, sig->cl->user_id);
		return false;
	}
	if (strcmp(*type, "ice-candidate"))
		return want_text(sig, "sdp", SDP_MAX, sdp);
	*cand = cJSON_GetObjectItemCaseSensitive(sig->data, "candidate");
	/* null is the end-of-candidates marker */
	if (!*cand || !(cJSON_IsObject(*cand) || cJSON_IsString(*cand) ||
			cJSON_IsNull(*cand))) {
		ack_error(sig->cl, sig->ack, sig->name, FAULT_VALIDATION,
			  "candidate: must be an RTCIceCandidateInit object, a"
			  " string or null");
		return false;
	}
	return true;
}

static void on_signal(struct ev *e)
{
	struct client *cl = e->cl;
	struct live_call *c = want_call(e, NULL);
	const cJSON *nested =
		cJSON_GetObjectItemCaseSensitive(e->data, "signal");
	struct ev sig = *e;
	struct live_part *to;
	const char *to_id, *type, *sdp = NULL;
	const cJSON *cand = NULL;
	cJSON *o;

	if (!cJSON_IsObject(nested))
		nested = NULL;
	else
		sig.data = nested;
	if (!c || !want_joined(e, c) ||
	    !signal_fields(&sig, &to_id, &type, &sdp, &cand))
		return;
	to = part_find(c, to_id);
	if (!to || !to->client || strcmp(to->rec.status, "joined")) {
		ack_error(cl, e->ack, e->name, FAULT_NOT_FOUND,
			  "to: '%s' is not in call %s", to_id, c->rec.id);
		return;
	}
	o = signal_out(c, cl, nested, type, sdp, cand);
	if (client_emit(to->client, "call:signal", o)) {
		cJSON_Delete(o);
		ack_error(cl, e->ack, e->name, FAULT_NOT_FOUND,
			  "to: '%s' cannot take more: its connection stopped"
			  " reading and is being closed",
			  to_id);
		return;
	}
	cJSON_Delete(o);
	ack_send(cl, e->ack, ok_body());
}

static void on_media_state(struct ev *e)
{
	struct client *cl = e->cl;
	struct live_call *c = want_call(e, NULL);
	struct live_part *p;
	bool audio = false, video = false, has_a, has_v;

	if (!c || !(p = want_joined(e, c)) ||
	    !want_bool(e, "audio", &audio, &has_a) ||
	    !want_bool(e, "video", &video, &has_v))
		return;
	if (!has_a && !has_v) {
		ack_error(cl, e->ack, e->name, FAULT_VALIDATION,
			  "audio or video (true or false) is required");
		return;
	}
	if (has_a)
		p->rec.audioEnabled = audio;
	if (has_v)
		p->rec.videoEnabled = video;
	record_part(cl->gw, p, true);
	ack_send(cl, e->ack, ok_body());
	tell_media_state(cl, c, p);
}

/* Dispatch */

struct handler {
	const char *event;
	void (*fn)(struct ev *e);
	bool needs_auth;
};

static const struct handler handlers[] = {
	{"authenticate", on_authenticate, false},
	{"call:initiate", on_initiate, true},
	{"call:join", on_join, true},
	{"call:leave", on_leave, true},
	{"call:end", on_end, true},
	{"call:signal", on_signal, true},
	{"call:media-state", on_media_state, true},
	{"call:transcription", on_transcription, true},
	/* Meeshy's client (calls_meeshy.c) */
	{"conversation:join", on_conversation_join, true},
	{"conversation:leave", on_conversation_leave, true},
	{"call:toggle-audio", on_toggle_media, true},
	{"call:toggle-video", on_toggle_media, true},
	{"call:force-leave", on_force_leave, true},
	{"media:offer", on_media, true},
	{"media:get-capabilities", on_media, true},
	{"media:create-transport", on_media, true},
	{"media:connect-transport", on_media, true},
	{"media:produce", on_media, true},
	{"media:consume", on_media, true},
	{"media:resume-consumer", on_media, true},
	{"media:pause-producer", on_media, true},
	{"media:resume-producer", on_media, true},
	{"media:set-preferred-layers", on_media, true},
};

/* Token bucket: events_per_sec sustained, twice that in a burst. */
static bool rate_ok(struct client *cl)
{
	const double rate = cl->gw->cfg.events_per_sec, cap = 2.0 * rate;
	uint64_t now = port_now_us();
	cl->tokens += (double)(now - cl->refill_us) * rate / 1e6;
	cl->refill_us = now;
	if (cl->tokens > cap)
		cl->tokens = cap;
	if (cl->tokens < 1.0)
		return false;
	cl->tokens -= 1.0;
	return true;
}

/* The socket's, its user's and its address's limits (the last two hold
 * however many sockets a user or an address opens); false when one is
 * spent, after the RATE_LIMITED answer. */
static bool rates_ok(struct gateway *gw, struct client *cl,
		     const struct sio_socket *sock, const char *event,
		     int64_t ack_id)
{
	const uint64_t now = port_now_us();
	const char *which = NULL;
	char ip[64];
	unsigned rate = 0;

	if (gw->cfg.events_per_sec && !rate_ok(cl)) {
		which = "this socket";
		rate = gw->cfg.events_per_sec;
	} else if (cl->authed && gw->user_rate &&
		   !ratelimit_take(gw->user_rate, cl->user_id, now)) {
		which = "your user, on all its sockets,";
		rate = USER_RATE_FACTOR * gw->cfg.events_per_sec;
	} else if (gw->ip_rate &&
		   re_snprintf(ip, sizeof(ip), "%j", sio_socket_peer(sock)) >
			   0 &&
		   !ratelimit_take(gw->ip_rate, ip, now)) {
		which = "your address, on all its sockets,";
		rate = gw->cfg.events_per_sec_per_ip;
	}
	if (!which)
		return true;
	gw->m.rate_limited++;
	ack_error(cl, ack_id, event, FAULT_RATE_LIMITED,
		  "%s sent more than %u events per second: slow down", which,
		  rate);
	return false;
}

static const struct handler *handler_of(const char *event)
{
	for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
		if (!strcmp(handlers[i].event, event))
			return &handlers[i];
	return NULL;
}

static void relay_upstream(struct client *cl, const char *event,
			   const cJSON *args, int64_t ack_id)
{
	int err = upstream_relay(cl->up, event, args, ack_id);
	if (err)
		ack_error(cl, ack_id, event,
			  err == EBUSY ? FAULT_RATE_LIMITED : FAULT_INTERNAL,
			  "'%s' goes to the upstream server, which %s", event,
			  err == EBUSY ? "has too many waiting: send it again"
				       : "is not connected");
}

/* One event of a client (of ours, or remote), checked and handled. */
static void handle(struct client *cl, const char *event, const cJSON *data,
		   int64_t ack_id)
{
	struct ev e = {cl, event, ack_id, data};
	const struct handler *h = handler_of(event);
	if (!h) {
		ack_error(cl, ack_id, event, FAULT_NOT_FOUND,
			  "'%s' is not an event this server handles", event);
		return;
	}
	if (h->needs_auth && !cl->authed) {
		ack_error(cl, ack_id, event, FAULT_UNAUTHENTICATED,
			  "authenticate first (auth.token in the connection,"
			  " or the authenticate event)");
		return;
	}
	if (!cJSON_IsObject(e.data)) {
		ack_error(cl, ack_id, event, FAULT_VALIDATION,
			  "%s takes one object argument", event);
		return;
	}
	h->fn(&e);
}

void calls_event(struct gateway *gw, struct sio_socket *sock, const char *event,
		 const cJSON *args, int64_t ack_id)
{
	struct client *cl = sio_socket_user(sock);
	const cJSON *data = cJSON_GetArrayItem(args, 0);

	if (!cl)
		return;
	if (!rates_ok(gw, cl, sock, event, ack_id))
		return;
	/* front mode: what is not a call's goes to Meeshy's gateway */
	if (cl->up && !handler_of(event)) {
		relay_upstream(cl, event, args, ack_id);
		return;
	}
	if (cluster_route(cl, event, data, ack_id, handle))
		return;
	handle(cl, event, data, ack_id);
}

static bool any_call(struct le *le, void *arg)
{
	(void)le;
	(void)arg;
	return true;
}

void calls_end_all(struct gateway *gw, const char *reason)
{
	struct le *le;
	while ((le = hash_apply(gw->calls, any_call, NULL)))
		call_end(le->data, "ended", reason, NULL);
}

int calls_live_get(struct gateway *gw, const char *call_id,
		   struct call_session *rec)
{
	const struct live_call *c = call_find(gw, call_id);
	if (!c)
		return ENOENT;
	*rec = c->rec;
	return 0;
}

bool calls_live_participant(struct gateway *gw, const char *call_id,
			    const char *user_id, char *part_id, size_t size)
{
	struct live_call *c = call_find(gw, call_id);
	const struct live_part *p = c ? part_find(c, user_id) : NULL;
	if (p && part_id)
		str_ncpy(part_id, p->rec.id, size);
	return p != NULL;
}

bool calls_live_in_conversation(struct gateway *gw, const char *conv,
				const char *user_id)
{
	struct le *le = hash_apply(gw->calls, conv_cmp, (void *)conv);
	return le && part_find(le->data, user_id);
}

/* Recovery: calls a previous run left open. In role all the process that
 * carried their media and signaling is gone, so they are over; their
 * records are closed, never deleted. */

struct orphan {
	struct le le;
	struct call_session call;
	struct call_participant part;
};

static int collect_call(const struct call_session *c, void *arg)
{
	struct orphan *o = mem_zalloc(sizeof(*o), NULL);
	if (!o)
		return 1;
	o->call = *c;
	list_append(arg, &o->le, o);
	return 0;
}

static int collect_joined(const struct call_participant *p, void *arg)
{
	struct orphan *o;
	if (strcmp(p->status, "joined"))
		return 0;
	o = mem_zalloc(sizeof(*o), NULL);
	if (!o)
		return 1;
	o->part = *p;
	list_append(arg, &o->le, o);
	return 0;
}

int gateway_recover(struct gateway *gw, size_t *recovered)
{
	static const char *const open_states[] = {"initiated", "active"};
	struct list calls = LIST_INIT, parts = LIST_INIT;
	uint64_t now = port_wallclock_ms();
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(open_states) && !err; i++)
		err = store_calls_by_status(gw->store, open_states[i], 100000,
					    collect_call, &calls);
	for (struct le *le = calls.head; le && !err; le = le->next) {
		struct orphan *o = le->data;
		err = store_participants(gw->store, o->call.id, collect_joined,
					 &parts);
		for (struct le *pl = parts.head; pl && !err; pl = pl->next) {
			struct call_participant *p =
				&((struct orphan *)pl->data)->part;
			str_ncpy(p->status, "left", sizeof(p->status));
			p->leftAt = now;
			err = store_participant_put(gw->store, p);
		}
		list_flush(&parts);
		str_ncpy(o->call.status, "ended", sizeof(o->call.status));
		str_ncpy(o->call.endReason, "server-restart",
			 sizeof(o->call.endReason));
		o->call.endedAt = now;
		if (!err)
			err = store_call_put(gw->store, &o->call);
		n += !err;
	}
	list_flush(&calls);
	if (recovered)
		*recovered = n;
	return err;
}

void calls_node_message(struct gateway *gw, const char *channel,
			const char *msg, size_t len)
{
	const size_t plen = sizeof(CHANNEL_NODE_PREFIX) - 1;
	cJSON *m;
	const char *type, *from, *sid, *event;
	const cJSON *ack;
	struct sio_socket *sock;
	struct client *cl;

	if (strncmp(channel, CHANNEL_NODE_PREFIX, plen) ||
	    strcmp(channel + plen, gw->node_id))
		return;
	m = cJSON_ParseWithLength(msg, len);
	type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "type"));
	from = cJSON_GetStringValue(cJSON_GetObjectItem(m, "from"));
	sid = cJSON_GetStringValue(cJSON_GetObjectItem(m, "sid"));
	if (!type || !from || !sid || !validate_is_id(from) ||
	    strlen(sid) >= sizeof(((struct client *)0)->sid)) {
		port_log(PORT_LOG_WARN,
			 "gateway channel: dropped a malformed message");
		cJSON_Delete(m);
		return;
	}
	if (!strcmp(type, "event")) {
		/* a client of gateway `from`, in a call of ours */
		cl = cluster_remote_client(gw, m, from, sid);
		event = cJSON_GetStringValue(cJSON_GetObjectItem(m, "event"));
		ack = cJSON_GetObjectItem(m, "ack");
		if (!cJSON_IsNumber(ack) || ack->valuedouble < 0 ||
		    ack->valuedouble >= 9007199254740992.0)
			ack = NULL; /* none, or not a Socket.IO ack id */
		if (cl && event)
			handle(cl, event, cJSON_GetObjectItem(m, "data"),
			       ack ? (int64_t)ack->valuedouble : SIO_ACK_NONE);
	} else if (!strcmp(type, "disconnect")) {
		cl = cluster_remote_find(gw, from, sid);
		if (cl)
			cluster_remote_gone(gw, cl);
	} else if ((sock = sio_socket_find(gw->sio, sid))) {
		cluster_to_socket(gw, m, type, sock);
	}
	cJSON_Delete(m);
}
