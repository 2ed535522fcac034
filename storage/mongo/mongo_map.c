/*
 * mongo_map.c - records <-> BSON documents (see mongo_map.h).
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "mongo_map.h"

const struct mongo_index mongo_indexes[] = {
	{MONGO_CALLS, "conversationId_status_createdAt",
	 "{\"conversationId\":1,\"status\":1,\"createdAt\":-1}"},
	{MONGO_CALLS, "mode_status", "{\"mode\":1,\"status\":1}"},
	{MONGO_CALLS, "createdAt", "{\"createdAt\":1}"},
	{MONGO_PARTICIPANTS, "callSessionId_status",
	 "{\"callSessionId\":1,\"status\":1}"},
	{MONGO_PARTICIPANTS, "userId_status", "{\"userId\":1,\"status\":1}"},
	{MONGO_TRANSCRIPTIONS, "callSessionId_timestamp",
	 "{\"callSessionId\":1,\"timestamp\":1}"},
	{MONGO_TRANSCRIPTIONS, "participantId_language",
	 "{\"participantId\":1,\"language\":1}"},
	{MONGO_QUALITY, "callSessionId_at", "{\"callSessionId\":1,\"at\":1}"},
};
const size_t mongo_index_count =
	sizeof(mongo_indexes) / sizeof(mongo_indexes[0]);

enum mongo_read mongo_read_for(enum mongo_query q)
{
	switch (q) {
	case MONGO_Q_HISTORY:
	case MONGO_Q_TRANSCRIPTS:
	case MONGO_Q_QUALITY:
		return MONGO_READ_SECONDARY_PREFERRED;
	default:
		return MONGO_READ_PRIMARY;
	}
}

/* --- writing --- */

static void put_str(bson_t *doc, const char *key, const char *v)
{
	(void)bson_append_utf8(doc, key, -1, v, -1);
}

/* 0 is "not set": null, as Prisma writes an optional DateTime left unset */
static void put_time(bson_t *doc, const char *key, uint64_t ms)
{
	if (ms)
		(void)bson_append_date_time(doc, key, -1, (int64_t)ms);
	else
		(void)bson_append_null(doc, key, -1);
}

void mongo_call_to_bson(const struct call_session *c, bson_t *doc)
{
	put_str(doc, "_id", c->id);
	put_str(doc, "conversationId", c->conversationId);
	put_str(doc, "initiatorId", c->initiatorId);
	put_str(doc, "type", c->type);
	put_str(doc, "mode", c->mode);
	put_str(doc, "status", c->status);
	if (c->mediaServerId[0])
		put_str(doc, "mediaServerId", c->mediaServerId);
	else
		(void)bson_append_null(doc, "mediaServerId", -1);
	put_time(doc, "createdAt", c->createdAt);
	put_time(doc, "startedAt", c->startedAt);
	put_time(doc, "endedAt", c->endedAt);
	if (c->endReason[0])
		put_str(doc, "endReason", c->endReason);
	else
		(void)bson_append_null(doc, "endReason", -1);
}

void mongo_participant_to_bson(const struct call_participant *p, bson_t *doc)
{
	put_str(doc, "_id", p->id);
	put_str(doc, "callSessionId", p->callSessionId);
	put_str(doc, "userId", p->userId);
	put_str(doc, "status", p->status);
	put_time(doc, "joinedAt", p->joinedAt);
	put_time(doc, "leftAt", p->leftAt);
	(void)bson_append_bool(doc, "audioEnabled", -1, p->audioEnabled);
	(void)bson_append_bool(doc, "videoEnabled", -1, p->videoEnabled);
}

int mongo_transcription_to_bson(const struct call_transcription *t, bson_t *doc)
{
	bson_t *tr = NULL;

	if (t->translations && *t->translations) {
		bson_error_t e;
		tr = bson_new_from_json((const uint8_t *)t->translations, -1,
					&e);
		if (!tr)
			return EINVAL;
	}
	put_str(doc, "_id", t->id);
	put_str(doc, "callSessionId", t->callSessionId);
	put_str(doc, "participantId", t->participantId);
	put_str(doc, "language", t->language);
	put_str(doc, "text", t->text ? t->text : "");
	(void)bson_append_bool(doc, "isFinal", -1, t->isFinal);
	put_time(doc, "timestamp", t->timestamp);
	if (tr)
		(void)bson_append_document(doc, "translations", -1, tr);
	else
		(void)bson_append_null(doc, "translations", -1);
	bson_destroy(tr);
	return 0;
}

void mongo_quality_to_bson(const struct quality_metric *q, bson_t *doc)
{
	put_str(doc, "callSessionId", q->callSessionId);
	put_str(doc, "participantId", q->participantId);
	put_time(doc, "at", q->at);
	(void)bson_append_int64(doc, "packetsLost", -1, q->packetsLost);
	(void)bson_append_int64(doc, "packetsReceived", -1, q->packetsReceived);
	(void)bson_append_double(doc, "packetLossRate", -1, q->packetLossRate);
	(void)bson_append_double(doc, "jitter", -1, q->jitter);
	(void)bson_append_int64(doc, "bytesReceived", -1, q->bytesReceived);
	(void)bson_append_int64(doc, "framesDecoded", -1, q->framesDecoded);
	(void)bson_append_int32(doc, "frameWidth", -1, q->frameWidth);
	(void)bson_append_int32(doc, "frameHeight", -1, q->frameHeight);
}

/* --- reading --- */

static void get_str(const bson_t *doc, const char *key, char *dst, size_t size)
{
	bson_iter_t it;
	dst[0] = '\0';
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		str_ncpy(dst, bson_iter_utf8(&it, NULL), size);
}

/* A date, or a number of milliseconds (what another writer may have put). */
static uint64_t get_time(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	int64_t v = 0;
	if (!bson_iter_init_find(&it, doc, key))
		return 0;
	if (BSON_ITER_HOLDS_DATE_TIME(&it))
		v = bson_iter_date_time(&it);
	else if (BSON_ITER_HOLDS_NUMBER(&it))
		v = bson_iter_as_int64(&it);
	return v > 0 ? (uint64_t)v : 0;
}

static int64_t get_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
		       ? bson_iter_as_int64(&it)
		       : 0;
}

static double get_double(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
		       ? bson_iter_as_double(&it)
		       : 0;
}

static bool get_bool(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) && bson_iter_as_bool(&it);
}

static int get_id(const bson_t *doc, char *dst, size_t size)
{
	get_str(doc, "_id", dst, size);
	return dst[0] ? 0 : EINVAL;
}

int mongo_call_from_bson(const bson_t *doc, struct call_session *c)
{
	memset(c, 0, sizeof(*c));
	get_str(doc, "conversationId", c->conversationId,
		sizeof(c->conversationId));
	get_str(doc, "initiatorId", c->initiatorId, sizeof(c->initiatorId));
	get_str(doc, "type", c->type, sizeof(c->type));
	get_str(doc, "mode", c->mode, sizeof(c->mode));
	get_str(doc, "status", c->status, sizeof(c->status));
	get_str(doc, "mediaServerId", c->mediaServerId,
		sizeof(c->mediaServerId));
	c->createdAt = get_time(doc, "createdAt");
	c->startedAt = get_time(doc, "startedAt");
	c->endedAt = get_time(doc, "endedAt");
	get_str(doc, "endReason", c->endReason, sizeof(c->endReason));
	return get_id(doc, c->id, sizeof(c->id));
}

int mongo_participant_from_bson(const bson_t *doc, struct call_participant *p)
{
	memset(p, 0, sizeof(*p));
	get_str(doc, "callSessionId", p->callSessionId,
		sizeof(p->callSessionId));
	get_str(doc, "userId", p->userId, sizeof(p->userId));
	get_str(doc, "status", p->status, sizeof(p->status));
	p->joinedAt = get_time(doc, "joinedAt");
	p->leftAt = get_time(doc, "leftAt");
	p->audioEnabled = get_bool(doc, "audioEnabled");
	p->videoEnabled = get_bool(doc, "videoEnabled");
	return get_id(doc, p->id, sizeof(p->id));
}

static char *dup_cstr(const char *s, size_t len)
{
	char *d = mem_alloc(len + 1, NULL);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

int mongo_transcription_from_bson(const bson_t *doc,
				  struct call_transcription *t)
{
	bson_iter_t it;
	uint32_t len = 0;
	const char *s = "";
	int err;

	memset(t, 0, sizeof(*t));
	get_str(doc, "callSessionId", t->callSessionId,
		sizeof(t->callSessionId));
	get_str(doc, "participantId", t->participantId,
		sizeof(t->participantId));
	get_str(doc, "language", t->language, sizeof(t->language));
	t->isFinal = get_bool(doc, "isFinal");
	t->timestamp = get_time(doc, "timestamp");
	err = get_id(doc, t->id, sizeof(t->id));
	if (err)
		return err;
	if (bson_iter_init_find(&it, doc, "text") && BSON_ITER_HOLDS_UTF8(&it))
		s = bson_iter_utf8(&it, &len);
	t->text = dup_cstr(s, len);
	if (!t->text)
		return ENOMEM;
	if (bson_iter_init_find(&it, doc, "translations") &&
	    BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t dlen;
		bson_t sub;
		char *json;
		size_t jlen;

		bson_iter_document(&it, &dlen, &data);
		if (!bson_init_static(&sub, data, dlen))
			return EINVAL;
		/* relaxed extended JSON of strings is plain JSON */
		json = bson_as_relaxed_extended_json(&sub, &jlen);
		if (!json)
			return EINVAL;
		t->translations = dup_cstr(json, jlen);
		bson_free(json);
		if (!t->translations)
			return ENOMEM;
	}
	return 0;
}

void mongo_transcription_clear(struct call_transcription *t)
{
	t->text = mem_deref((void *)t->text);
	t->translations = mem_deref((void *)t->translations);
}

int mongo_quality_from_bson(const bson_t *doc, struct quality_metric *q)
{
	memset(q, 0, sizeof(*q));
	get_str(doc, "callSessionId", q->callSessionId,
		sizeof(q->callSessionId));
	get_str(doc, "participantId", q->participantId,
		sizeof(q->participantId));
	q->at = get_time(doc, "at");
	q->packetsLost = get_int(doc, "packetsLost");
	q->packetsReceived = get_int(doc, "packetsReceived");
	q->packetLossRate = get_double(doc, "packetLossRate");
	q->jitter = get_double(doc, "jitter");
	q->bytesReceived = get_int(doc, "bytesReceived");
	q->framesDecoded = get_int(doc, "framesDecoded");
	q->frameWidth = (int32_t)get_int(doc, "frameWidth");
	q->frameHeight = (int32_t)get_int(doc, "frameHeight");
	return q->callSessionId[0] ? 0 : EINVAL;
}

/* --- Meeshy's memberships --- */

int mongo_member_filter(const char *conv, const char *user, bson_t *filter)
{
	bson_oid_t c, u;
	if (!bson_oid_is_valid(conv, strlen(conv)) || strlen(conv) != 24 ||
	    !bson_oid_is_valid(user, strlen(user)) || strlen(user) != 24)
		return EINVAL;
	bson_oid_init_from_string(&c, conv);
	bson_oid_init_from_string(&u, user);
	(void)bson_append_oid(filter, "conversationId", -1, &c);
	(void)bson_append_oid(filter, "userId", -1, &u);
	return 0;
}

/* An ObjectId (or a string) as 24 hex digits. */
static void get_oid(const bson_t *doc, const char *key, char *dst, size_t size)
{
	bson_iter_t it;
	char hex[25];
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_OID(&it)) {
		bson_oid_to_string(bson_iter_oid(&it), hex);
		str_ncpy(dst, hex, size);
		return;
	}
	get_str(doc, key, dst, size);
}

int mongo_member_from_bson(const bson_t *doc, struct conversation_member *m)
{
	bson_iter_t it;
	memset(m, 0, sizeof(*m));
	get_oid(doc, "conversationId", m->conversationId,
		sizeof(m->conversationId));
	get_oid(doc, "userId", m->userId, sizeof(m->userId));
	if (!m->conversationId[0] || !m->userId[0])
		return EINVAL;
	get_str(doc, "role", m->role, sizeof(m->role));
	m->joinedAt = get_time(doc, "joinedAt");
	m->leftAt = get_time(doc, "leftAt");
	m->isActive = !bson_iter_init_find(&it, doc, "isActive") ||
		      bson_iter_as_bool(&it);
	return 0;
}
