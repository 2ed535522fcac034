/*
 * calls_meeshy.c - what Meeshy's web client sends and hears beside the
 * seed's events (docs/meeshy.md): conversation rooms joined on request,
 * call:toggle-audio/-video told as call:media-toggled, call:force-leave,
 * call:initiated. Its errors (call:error in Meeshy's codes) are sent by
 * ack_fault (calls_core.c); the rest of its flow goes through the seed's
 * handlers, whose payloads carry Meeshy's fields too.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "sio.h"
#include "fault.h"
#include "calls_impl.h"

/* conversation:join {conversationId}: its calls ring this socket from now
 * on (conversation:joined), if its token lets it in. */
void on_conversation_join(struct ev *e)
{
	char room[STORE_ID_MAX + 16];
	const char *conv;
	cJSON *o;

	if (!want_id(e, "conversationId", &conv))
		return;
	if (!member_of(e->cl, conv)) {
		ack_error(e->cl, e->ack, e->name, FAULT_FORBIDDEN,
			  "conversationId: you are not a member of '%s'", conv);
		return;
	}
	(void)re_snprintf(room, sizeof(room), "conversation:%s", conv);
	client_join(e->cl, room);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "conversationId", conv);
	client_emit(e->cl, "conversation:joined", o);
	cJSON_Delete(o);
	ack_send(e->cl, e->ack, ok_body());
}

void on_conversation_leave(struct ev *e)
{
	char room[STORE_ID_MAX + 16];
	const char *conv;

	if (!want_id(e, "conversationId", &conv))
		return;
	(void)re_snprintf(room, sizeof(room), "conversation:%s", conv);
	client_leave(e->cl, room);
	ack_send(e->cl, e->ack, ok_body());
}

/* call:toggle-audio / call:toggle-video {callId, enabled}: the
 * participant's flag, told to the whole call as call:media-toggled
 * {callId, participantId, mediaType, enabled} (and the seed's
 * call:media-state to the others). */
void on_toggle_media(struct ev *e)
{
	const bool audio = !strcmp(e->name, "call:toggle-audio");
	struct live_call *c = want_call(e, NULL);
	struct live_part *p;
	bool enabled = false, given;
	cJSON *o;

	if (!c || !(p = want_joined(e, c)) ||
	    !want_bool(e, "enabled", &enabled, &given))
		return;
	if (!given) {
		ack_error(e->cl, e->ack, e->name, FAULT_VALIDATION,
			  "enabled (true or false) is required");
		return;
	}
	if (audio)
		p->rec.audioEnabled = enabled;
	else
		p->rec.videoEnabled = enabled;
	record_part(e->cl->gw, p, true);
	ack_send(e->cl, e->ack, ok_body());
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "participantId", p->rec.id);
	cJSON_AddStringToObject(o, "userId", p->rec.userId);
	cJSON_AddStringToObject(o, "mediaType", audio ? "audio" : "video");
	cJSON_AddBoolToObject(o, "enabled", enabled);
	emit_except(e->cl->gw, c->room, NULL, "call:media-toggled", o);
	cJSON_Delete(o);
	tell_media_state(e->cl, c, p);
}

/* The caller's own live participation in the conversation's call here. */
static struct live_part *joined_in_conversation(struct client *cl,
						const char *conv)
{
	for (struct le *le = cl->parts.head; le; le = le->next) {
		struct live_part *p = le->data;
		if (!strcmp(p->call->rec.conversationId, conv) &&
		    !strcmp(p->rec.status, "joined"))
			return p;
	}
	return NULL;
}

/* call:force-leave {conversationId}: Meeshy's client sends it when told a
 * call is already active, then initiates again: the caller leaves the
 * conversation's call if it is in it (the last one out ends it). */
void on_force_leave(struct ev *e)
{
	const char *conv;
	struct live_part *p;

	if (!want_id(e, "conversationId", &conv))
		return;
	while ((p = joined_in_conversation(e->cl, conv))) {
		struct live_call *c = p->call;
		part_leave(p, port_wallclock_ms());
		after_leave(c, p, "left");
	}
	ack_send(e->cl, e->ack, ok_body());
}

cJSON *initiated_json(const struct live_call *c, const struct client *from)
{
	cJSON *o = cJSON_CreateObject(), *ini, *parts;
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "conversationId", c->rec.conversationId);
	cJSON_AddStringToObject(o, "mode", c->rec.mode);
	cJSON_AddStringToObject(o, "type", c->rec.type);
	ini = cJSON_AddObjectToObject(o, "initiator");
	cJSON_AddStringToObject(ini, "userId", from->user_id);
	cJSON_AddStringToObject(ini, "username", from->name);
	cJSON_AddStringToObject(ini, "name", from->name);
	parts = cJSON_AddArrayToObject(o, "participants");
	for (struct le *le = c->parts.head; le; le = le->next)
		cJSON_AddItemToArray(parts, part_json(le->data));
	return o;
}
