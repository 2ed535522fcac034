/*
 * calls_life.c - a call's life: the rules (call_machine.h) decide, and
 * their hooks move its media, make it active and end it; a participant
 * leaves its room and state, and the others hear of it.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "sio.h"
#include "media.h"
#include "bus.h"
#include "calls_impl.h"

/* A participant leaves the call's room and its state; the record stays. */
void part_leave(struct live_part *p, uint64_t now)
{
	struct gateway *gw = p->call->gw;
	if (!strcmp(p->rec.status, "joined")) {
		str_ncpy(p->rec.status, "left", sizeof(p->rec.status));
		p->rec.leftAt = now;
		gw->nparticipants--;
		cache_presence(gw, p, false);
		record_part(gw, p, false);
	}
	if (p->client)
		client_leave(p->client, p->call->room);
	list_unlink(&p->le_client);
	p->client = NULL;
	if (p->call->media && p->media)
		media_leave(p->call, p->rec.userId);
	p->media = false;
}

struct ended_news {
	const struct live_call *c;
	const cJSON *o;
};

/* A socket of the conversation not in the call (its room heard it): one
 * whose phone rings stops ringing. */
static void tell_ringing(struct sio_socket *sock, void *arg)
{
	const struct ended_news *k = arg;
	const struct client *cl = sio_socket_user(sock);
	if (!cl)
		return;
	for (struct le *le = cl->parts.head; le; le = le->next) {
		const struct live_part *p = le->data;
		if (p->call == k->c && !strcmp(p->rec.status, "joined"))
			return;
	}
	(void)sio_emit(sock, "call:ended", k->o);
}

/* call:ended {callId, reason, endedBy, duration} to the call, and to the
 * conversation's sockets that are not in it (Meeshy's callee stops
 * ringing only on this; other gateways' members in the call may hear it
 * twice). */
static void tell_ended(struct live_call *c, const char *reason, const char *by,
		       uint64_t now)
{
	struct gateway *gw = c->gw;
	char room[STORE_ID_MAX + 16];
	cJSON *o = cJSON_CreateObject();
	struct ended_news k = {c, o};

	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "conversationId", c->rec.conversationId);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "endedBy", by ? by : "");
	cJSON_AddNumberToObject(
		o, "duration",
		c->rec.startedAt && now > c->rec.startedAt
			? (double)((now - c->rec.startedAt) / 1000)
			: 0);
	emit_except(gw, c->room, NULL, "call:ended", o);
	(void)re_snprintf(room, sizeof(room), "conversation:%s",
			  c->rec.conversationId);
	sio_room_apply(gw->sio, room, tell_ringing, &k);
	(void)bus_publish(gw->bus, room, "call:ended", o, NULL);
	cJSON_Delete(o);
}

void call_end(struct live_call *c, const char *status, const char *reason,
	      const char *by)
{
	struct gateway *gw = c->gw;
	uint64_t now = port_wallclock_ms();

	tell_ended(c, reason, by, now);

	for (struct le *le = c->parts.head; le; le = le->next)
		part_leave(le->data, now);
	str_ncpy(c->rec.status, status, sizeof(c->rec.status));
	str_ncpy(c->rec.endReason, reason, sizeof(c->rec.endReason));
	c->rec.endedAt = now;
	record_call(gw, c);
	if (!strcmp(status, "failed"))
		gw->m.calls_failed++;
	else
		observe_duration(gw, c);
	gw->ncalls--;
	mem_deref(c);
}

/* The call rules' hooks (call_machine.h) */

/* Moves the call's media: everyone in it hears call:mode-switch (and
 * Meeshy's call:mode-changed). To the
 * SFU only once its media opens (no media node alive: it stays P2P). */
static bool rules_switch_mode(void *arg, enum call_mode to, const char *reason)
{
	struct live_call *c = arg;
	struct gateway *gw = c->gw;
	const char *mode = call_mode_name(to);
	cJSON *o;

	if (to == CALL_SFU && media_want(c))
		return false;
	str_ncpy(c->rec.mode, mode, sizeof(c->rec.mode));
	if (to == CALL_P2P)
		media_release(c);
	record_call(gw, c);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "mode", mode);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddNumberToObject(o, "participants", (double)joined_count(c));
	emit_except(gw, c->room, NULL, "call:mode-switch", o);
	cJSON_Delete(o);
	/* the same news in Meeshy's shape (CallModeChangedEvent) */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(
		o, "oldMode",
		call_mode_name(to == CALL_SFU ? CALL_P2P : CALL_SFU));
	cJSON_AddStringToObject(o, "newMode", mode);
	cJSON_AddStringToObject(o, "reason", reason);
	emit_except(gw, c->room, NULL, "call:mode-changed", o);
	cJSON_Delete(o);
	return true;
}

static void rules_activated(void *arg)
{
	struct live_call *c = arg;
	str_ncpy(c->rec.status, "active", sizeof(c->rec.status));
	c->rec.startedAt = port_wallclock_ms();
	record_call(c->gw, c);
}

static void rules_ended(void *arg, const char *reason)
{
	call_end(arg, "ended", reason, NULL);
}

static const struct call_hooks rules_hooks = {
	rules_switch_mode,
	rules_activated,
	rules_ended,
};

/* The rules of a call of this gateway, in the state its record says. */
void rules_start(struct live_call *c)
{
	enum call_mode mode = CALL_P2P;
	(void)call_mode_parse(c->rec.mode, &mode);
	call_machine_init(&c->rules, &c->gw->call_policy, &rules_hooks, c, mode,
			  !strcmp(c->rec.status, "initiated") ? CALL_INITIATED
							      : CALL_ACTIVE);
}

/* After a participant left: the others hear it, then the rules decide
 * (nobody left ends the call, two left go back to P2P). */
void after_leave(struct live_call *c, struct live_part *p, const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->rec.id);
	cJSON_AddStringToObject(o, "userId", p->rec.userId);
	cJSON_AddStringToObject(o, "participantId", p->rec.id);
	cJSON_AddStringToObject(o, "mode", c->rec.mode);
	cJSON_AddStringToObject(o, "reason", reason);
	emit_except(c->gw, c->room, NULL, "call:participant-left", o);
	cJSON_Delete(o);
	call_left(&c->rules, joined_count(c));
}
