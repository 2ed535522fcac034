/*
 * record_json.c - the records as JSON (store.h), shared by the REST API,
 * the archive and the backends' archive walks: a file of its own so that
 * the backends need nothing from store.c, which picks them.
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "store.h"

void store_iso_time(char *buf, size_t size, uint64_t ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	uint64_t days = ms / 86400000u, rem = ms % 86400000u;
	int y = 1970, m = 0;

	if (!ms) {
		if (size)
			buf[0] = '\0';
		return;
	}
	/* Civil date from days since the epoch, without the OS (portable). */
	for (;;) {
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		uint64_t ylen = leap ? 366 : 365;
		if (days < ylen)
			break;
		days -= ylen;
		y++;
	}
	for (;; m++) {
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		uint64_t mlen = (uint64_t)mdays[m] + (m == 1 && leap);
		if (days < mlen)
			break;
		days -= mlen;
	}
	(void)re_snprintf(buf, size, "%04d-%02d-%02dT%02u:%02u:%02u.%03uZ", y,
			  m + 1, (int)days + 1, (unsigned)(rem / 3600000u),
			  (unsigned)(rem / 60000u % 60u),
			  (unsigned)(rem / 1000u % 60u),
			  (unsigned)(rem % 1000u));
}

void store_json_time(cJSON *o, const char *name, uint64_t ms)
{
	char buf[32];
	if (!ms) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	store_iso_time(buf, sizeof(buf), ms);
	cJSON_AddStringToObject(o, name, buf);
}

static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

cJSON *store_call_json(const struct call_session *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", c->id);
	cJSON_AddStringToObject(o, "conversationId", c->conversationId);
	cJSON_AddStringToObject(o, "initiatorId", c->initiatorId);
	cJSON_AddStringToObject(o, "type", c->type);
	cJSON_AddStringToObject(o, "mode", c->mode);
	cJSON_AddStringToObject(o, "status", c->status);
	add_str_or_null(o, "mediaServerId", c->mediaServerId);
	store_json_time(o, "createdAt", c->createdAt);
	store_json_time(o, "startedAt", c->startedAt);
	store_json_time(o, "endedAt", c->endedAt);
	add_str_or_null(o, "endReason", c->endReason);
	return o;
}

cJSON *store_participant_json(const struct call_participant *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", p->id);
	cJSON_AddStringToObject(o, "callSessionId", p->callSessionId);
	cJSON_AddStringToObject(o, "userId", p->userId);
	cJSON_AddStringToObject(o, "status", p->status);
	store_json_time(o, "joinedAt", p->joinedAt);
	store_json_time(o, "leftAt", p->leftAt);
	cJSON_AddBoolToObject(o, "audioEnabled", p->audioEnabled);
	cJSON_AddBoolToObject(o, "videoEnabled", p->videoEnabled);
	return o;
}

cJSON *store_transcription_json(const struct call_transcription *t)
{
	cJSON *o = cJSON_CreateObject(), *tr = NULL;
	cJSON_AddStringToObject(o, "id", t->id);
	cJSON_AddStringToObject(o, "callSessionId", t->callSessionId);
	cJSON_AddStringToObject(o, "participantId", t->participantId);
	cJSON_AddStringToObject(o, "language", t->language);
	cJSON_AddStringToObject(o, "text", t->text ? t->text : "");
	cJSON_AddBoolToObject(o, "isFinal", t->isFinal);
	store_json_time(o, "timestamp", t->timestamp);
	if (t->translations)
		tr = cJSON_Parse(t->translations);
	cJSON_AddItemToObject(o, "translations",
			      tr ? tr : cJSON_CreateObject());
	return o;
}

cJSON *store_quality_json(const struct quality_metric *q)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callSessionId", q->callSessionId);
	cJSON_AddStringToObject(o, "participantId", q->participantId);
	store_json_time(o, "at", q->at);
	cJSON_AddNumberToObject(o, "packetsLost", (double)q->packetsLost);
	cJSON_AddNumberToObject(o, "packetsReceived",
				(double)q->packetsReceived);
	cJSON_AddNumberToObject(o, "packetLossRate", q->packetLossRate);
	cJSON_AddNumberToObject(o, "jitter", q->jitter);
	cJSON_AddNumberToObject(o, "bytesReceived", (double)q->bytesReceived);
	cJSON_AddNumberToObject(o, "framesDecoded", (double)q->framesDecoded);
	cJSON_AddNumberToObject(o, "frameWidth", q->frameWidth);
	cJSON_AddNumberToObject(o, "frameHeight", q->frameHeight);
	return o;
}

cJSON *store_member_json(const struct conversation_member *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "conversationId", m->conversationId);
	cJSON_AddStringToObject(o, "userId", m->userId);
	cJSON_AddStringToObject(o, "role", m->role);
	cJSON_AddBoolToObject(o, "isActive", m->isActive);
	store_json_time(o, "joinedAt", m->joinedAt);
	store_json_time(o, "leftAt", m->leftAt);
	return o;
}
