/*
 * calls_media.c - a call's media as the call code sees it: opened through
 * the media door (media.h) when the call moves to the SFU or at its first
 * media:* request, each request answered (at once or when a node
 * answers), the others told of new and closed producers and of the active
 * speaker, and moved when its media node drains.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "sio.h"
#include "media.h"
#include "ortc.h"
#include "calls_impl.h"

/* Lets the call's media go (its router and transports; a media node is
 * told). */
void media_release(struct live_call *c)
{
	c->media = mem_deref(c->media);
}

/* A participant's producers are gone: the others stop consuming them. */
static void producers_closed(struct live_call *c, const char *user,
			     const cJSON *ids)
{
	const cJSON *id;
	cJSON_ArrayForEach(id, ids)
	{
		cJSON *o;
		if (!cJSON_IsString(id))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "callId", c->rec.id);
		cJSON_AddStringToObject(o, "producerId", id->valuestring);
		cJSON_AddStringToObject(o, "userId", user);
		emit_except(c->gw, c->room, NULL, "media:producer-closed", o);
		cJSON_Delete(o);
	}
}

/* A leaving participant's media: what it closed, once its media side
 * says (at once on our SFU, later from a node). */
struct media_left {
	struct gateway *gw;
	char call[STORE_ID_MAX + 1];
	char user[STORE_ID_MAX + 1];
};

static void on_media_left(const cJSON *producer_ids, void *arg)
{
	struct media_left *ml = arg;
	struct live_call *c = producer_ids ? call_find(ml->gw, ml->call) : NULL;
	if (c)
		producers_closed(c, ml->user, producer_ids);
	mem_deref(ml);
}

void media_leave(struct live_call *c, const char *user)
{
	struct media_left *ml = mem_zalloc(sizeof(*ml), NULL);
	if (!ml)
		return;
	ml->gw = c->gw;
	str_ncpy(ml->call, c->rec.id, sizeof(ml->call));
	str_ncpy(ml->user, user, sizeof(ml->user));
	if (media_call_leave(c->media, user, on_media_left, ml))
		mem_deref(ml);
}

/* The call's media from now on: opened once (a node is chosen then, or
 * the router made); where it is goes in the call's record. */
int media_want(struct live_call *c)
{
	int err;
	if (c->media)
		return 0;
	if (!c->gw->media)
		return ENOTSUP;
	err = media_call_open(&c->media, c->gw->media, c->rec.id,
			      joined_count(c), NULL);
	if (!err)
		str_ncpy(c->rec.mediaServerId, media_call_where(c->media),
			 sizeof(c->rec.mediaServerId));
	return err;
}

/* The call's media goes to another node and its participants are told
 * (call:media-moved {callId, from, to, reason}); with no other node alive
 * it stays where it is (false). */
static bool media_move(struct live_call *c, const char *reason)
{
	struct gateway *gw = c->gw;
	struct media_call *old = c->media;
	cJSON *o;

	c->media = NULL;
	if (media_want(c)) {
		port_log(PORT_LOG_WARN,
			 "call %s: its media node %s is %s and no other is"
			 " alive",
			 c->rec.id, media_call_where(old), reason);
		c->media = old;
		return false;
	}
	for (struct le *le = c->parts.head; le; le = le->next)
		((struct live_part *)le->data)->media = false;
	record_call(gw, c);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "from", media_call_where(old));
	cJSON_AddStringToObject(o, "to", media_call_where(c->media));
	cJSON_AddStringToObject(o, "reason", reason);
	port_log(PORT_LOG_INFO, "call %s: media %s, moved from %s to %s",
		 c->rec.id, reason, media_call_where(old),
		 media_call_where(c->media));
	mem_deref(old); /* the old node lets go of the call */
	emit_except(gw, c->room, NULL, "call:media-moved", o);
	cJSON_Delete(o);
	return true;
}

/* A media node drains ({callId, node}): its call moves. */
void calls_node_draining(struct gateway *gw, const cJSON *data)
{
	const cJSON *id = cJSON_GetObjectItem(data, "callId");
	const cJSON *node = cJSON_GetObjectItem(data, "node");
	struct live_call *c =
		cJSON_IsString(id) ? call_find(gw, id->valuestring) : NULL;

	if (!c || !c->media || !cJSON_IsString(node) ||
	    strcmp(media_call_where(c->media), node->valuestring))
		return;
	(void)media_move(c, "draining");
}

enum { MEDIA_LOST_TICKS = 3 }; /* seconds a node is seen dead first */

static bool check_lost(struct le *le, void *arg)
{
	struct live_call *c = le->data;
	(void)arg;
	if (!c->media || !media_call_lost(c->media)) {
		c->lost_ticks = 0;
		return false;
	}
	if (++c->lost_ticks >= MEDIA_LOST_TICKS && media_move(c, "lost"))
		c->lost_ticks = 0;
	return false;
}

void calls_media_check(struct gateway *gw)
{
	(void)hash_apply(gw->calls, check_lost, NULL);
}

/* The call's media, opened on first use; false after acking why not. */
static bool want_sfu(struct ev *e, struct live_call *c)
{
	int err = media_want(c);
	if (err == ENOTSUP)
		ack_error(e->cl, e->ack, e->name, FAULT_CONFLICT,
			  "this server runs no SFU (--rtc-listen is not set)");
	else if (err == ENOENT)
		ack_error(e->cl, e->ack, e->name, FAULT_INTERNAL,
			  "no media node is available for call %s", c->rec.id);
	else if (err)
		ack_error(e->cl, e->ack, e->name, FAULT_INTERNAL,
			  "call %s has no media: %m", c->rec.id, err);
	return !err;
}

/* New producers: the others may consume (or re-offer for) them. */
static void announce_producers(struct live_call *c, struct client *cl,
			       const cJSON *news)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, news)
	{
		cJSON *np = cJSON_Duplicate(it, 1);
		cJSON_AddStringToObject(np, "callId", c->rec.id);
		cJSON_AddStringToObject(np, "userId", cl->user_id);
		emit_except(c->gw, c->room, cl, "media:new-producer", np);
		cJSON_Delete(np);
	}
}

/* A joiner's capabilities reply names the active speaker (when there is
 * one): after the ack, the joiner gets the event the others had. Takes
 * what speaker_of() kept. */
static cJSON *speaker_of(const cJSON *reply)
{
	return cJSON_Duplicate(cJSON_GetObjectItem(reply, "activeSpeaker"), 1);
}

static void tell_speaker(struct live_call *c, struct client *cl, cJSON *speaker)
{
	const cJSON *pid = cJSON_GetObjectItem(speaker, "producerId");
	const cJSON *uid = cJSON_GetObjectItem(speaker, "userId");
	cJSON *o;
	if (!cJSON_IsString(pid) || !cJSON_IsString(uid)) {
		cJSON_Delete(speaker);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "producerId", pid->valuestring);
	cJSON_AddStringToObject(o, "userId", uid->valuestring);
	client_emit(cl, "media:active-speaker", o);
	cJSON_Delete(o);
	cJSON_Delete(speaker);
}

/* A client's media:* request, waiting for its answer. The client is
 * held; its socket may be gone by then. */
struct media_req {
	struct gateway *gw;
	struct client *cl;
	int64_t ack;
	char event[48];
	char call[STORE_ID_MAX + 1];
};

static void media_req_destructor(void *arg)
{
	struct media_req *mr = arg;
	mem_deref(mr->cl);
}

/* The answer: acked, then the others hear of the new producers and the
 * requester of the active speaker. */
static void on_media_answer(const struct media_answer *a, void *arg)
{
	struct media_req *mr = arg;
	struct client *cl = mr->cl;
	struct live_call *c;
	cJSON *o, *speaker;

	if (a->err == ECANCELED || cl->gone) { /* closing, or gone */
		mem_deref(mr);
		return;
	}
	if (a->err) {
		ack_fault(cl, mr->ack, mr->event, a->fault);
		mem_deref(mr);
		return;
	}
	o = cJSON_IsObject(a->reply) ? cJSON_Duplicate(a->reply, 1)
				     : cJSON_CreateObject();
	speaker = speaker_of(o);
	cJSON_AddTrueToObject(o, "ok");
	ack_send(cl, mr->ack, o);
	c = call_find(mr->gw, mr->call);
	if (c) {
		announce_producers(c, cl, a->news);
		tell_speaker(c, cl, speaker);
	} else {
		cJSON_Delete(speaker);
	}
	mem_deref(mr);
}

static void media_request(struct ev *e, struct live_call *c)
{
	struct client *cl = e->cl;
	struct media_req *mr = mem_zalloc(sizeof(*mr), media_req_destructor);
	int err = mr ? 0 : ENOMEM;

	if (mr) {
		mr->gw = cl->gw;
		mr->cl = mem_ref(cl);
		mr->ack = e->ack;
		str_ncpy(mr->event, e->name, sizeof(mr->event));
		str_ncpy(mr->call, c->rec.id, sizeof(mr->call));
		err = media_call_request(c->media, cl->user_id, e->name,
					 e->data, on_media_answer, mr);
	}
	if (err) {
		mem_deref(mr);
		ack_error(cl, e->ack, e->name, FAULT_INTERNAL,
			  "the media of call %s (on %s): %m", c->rec.id,
			  media_call_where(c->media), err);
	}
}

/* Every media:* request: the plain-SDP offer, the capabilities and the
 * mediasoup-client requests. Those that name no call act in the call
 * where the caller already has media. */
void on_media(struct ev *e)
{
	struct client *cl = e->cl;
	struct live_part *p = NULL;
	struct live_call *c;
	cJSON *o;

	if (cJSON_GetObjectItemCaseSensitive(e->data, "callId")) {
		if (!(c = want_call(e, NULL)) || !(p = want_joined(e, c)) ||
		    !want_sfu(e, c))
			return;
	} else {
		for (struct le *le = cl->parts.head; le && !p; le = le->next)
			if (((struct live_part *)le->data)->media)
				p = le->data;
		if (!p && !strcmp(e->name, "media:get-capabilities")) {
			/* before any call: what every router here takes, so
			 * a client can load its device ahead of a join */
			o = ok_body();
			cJSON_AddItemToObject(o, "rtpCapabilities",
					      ortc_capabilities());
			ack_send(cl, e->ack, o);
			return;
		}
		if (!p) {
			ack_error(
				cl, e->ack, e->name, FAULT_NOT_FOUND,
				"no media session: send media:get-capabilities"
				" or media:create-transport with your callId"
				" first");
			return;
		}
		c = p->call;
	}
	if (!c->media) { /* its media was released (back to P2P) */
		ack_error(cl, e->ack, e->name, FAULT_CONFLICT,
			  "call %s is peer to peer now", c->rec.id);
		return;
	}
	p->media = true;
	media_request(e, c);
}

/* A call's active speaker changed (media_workers' speakerh). */
void calls_speaker(struct gateway *gw, const char *call_id,
		   const char *producer_id, const char *user_id)
{
	struct live_call *c = call_find(gw, call_id);
	cJSON *o;

	if (!c || !c->media)
		return; /* ended, or back to P2P, meanwhile */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "producerId", producer_id);
	cJSON_AddStringToObject(o, "userId", user_id);
	emit_except(c->gw, c->room, NULL, "media:active-speaker", o);
	cJSON_Delete(o);
}
