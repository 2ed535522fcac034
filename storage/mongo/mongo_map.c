/*
 * mongo_map.c - records <-> BSON documents (see mongo_map.h).
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "mongo_map.h"

const struct mongo_index mongo_indexes[] = {
	{MONGO_CALLS, "conversationId_status_startedAt",
	 "{\"conversationId\":1,\"status\":1,\"startedAt\":-1}"},
	{MONGO_CALLS, "mode_status", "{\"mode\":1,\"status\":1}"},
	{MONGO_CALLS, "startedAt", "{\"startedAt\":1}"},
	{MONGO_TRANSLATIONS, "transcriptionId", "{\"transcriptionId\":1}"},
	{MONGO_TRANSLATIONS, "callSessionId", "{\"callSessionId\":1}"},
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

static bool is_oid(const char *id)
{
	/* lower case only: what bson_oid_to_string gives back */
	return strlen(id) == 24 && strspn(id, "0123456789abcdef") == 24;
}

void mongo_put_ref(bson_t *doc, const char *key, const char *id)
{
	bson_oid_t oid;
	if (!is_oid(id)) {
		put_str(doc, key, id);
		return;
	}
	bson_oid_init_from_string(&oid, id);
	(void)bson_append_oid(doc, key, -1, &oid);
}

/* Meeshy's CallStatus enum has no "failed": such a call is ended there. */
static const char *meeshy_status(const char *status)
{
	return strcmp(status, "failed") ? status : "ended";
}

void mongo_status_filter(bson_t *filter, const char *status)
{
	bson_t ne;
	put_str(filter, "status", meeshy_status(status));
	if (!strcmp(status, "failed")) {
		put_str(filter, "callStatus", "failed");
	} else if (!strcmp(status, "ended")) {
		BSON_APPEND_DOCUMENT_BEGIN(filter, "callStatus", &ne);
		BSON_APPEND_UTF8(&ne, "$ne", "failed");
		bson_append_document_end(filter, &ne);
	}
}

/* Prisma's CallSession: startedAt is when it was made, answeredAt when
 * it became active, duration the seconds since. */
void mongo_call_to_bson(const struct call_session *c, bson_t *doc)
{
	mongo_put_ref(doc, "_id", c->id);
	mongo_put_ref(doc, "conversationId", c->conversationId);
	mongo_put_ref(doc, "initiatorId", c->initiatorId);
	put_str(doc, "mode", c->mode);
	put_str(doc, "status", meeshy_status(c->status));
	put_time(doc, "startedAt", c->createdAt);
	put_time(doc, "answeredAt", c->startedAt);
	put_time(doc, "endedAt", c->endedAt);
	if (c->endedAt && c->startedAt && c->endedAt >= c->startedAt)
		(void)bson_append_int32(
			doc, "duration", -1,
			(int32_t)((c->endedAt - c->startedAt) / 1000));
	else
		(void)bson_append_null(doc, "duration", -1);
	/* ours, beside */
	put_str(doc, "callStatus", c->status);
	put_str(doc, "type", c->type);
	if (c->mediaServerId[0])
		put_str(doc, "mediaServerId", c->mediaServerId);
	else
		(void)bson_append_null(doc, "mediaServerId", -1);
	if (c->endReason[0])
		put_str(doc, "endReason", c->endReason);
	else
		(void)bson_append_null(doc, "endReason", -1);
}

/* Prisma's CallParticipant (role, isAudioEnabled...; a joinedAt always),
 * our status beside. */
void mongo_participant_to_bson(const struct call_participant *p,
			       uint64_t now_ms, bson_t *doc)
{
	mongo_put_ref(doc, "_id", p->id);
	mongo_put_ref(doc, "callSessionId", p->callSessionId);
	mongo_put_ref(doc, "userId", p->userId);
	put_str(doc, "role", p->initiator ? "initiator" : "participant");
	put_time(doc, "joinedAt", p->joinedAt ? p->joinedAt : now_ms);
	put_time(doc, "leftAt", p->leftAt);
	(void)bson_append_bool(doc, "isAudioEnabled", -1, p->audioEnabled);
	(void)bson_append_bool(doc, "isVideoEnabled", -1, p->videoEnabled);
	put_str(doc, "status", p->status);
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
	mongo_put_ref(doc, "_id", t->id);
	mongo_put_ref(doc, "callSessionId", t->callSessionId);
	mongo_put_ref(doc, "participantId", t->participantId);
	put_str(doc, "source", "client"); /* the client said it */
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
	mongo_put_ref(doc, "callSessionId", q->callSessionId);
	mongo_put_ref(doc, "participantId", q->participantId);
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

/* An ObjectId (or a string) as 24 hex digits (as is). */
static void get_ref(const bson_t *doc, const char *key, char *dst, size_t size)
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

static int get_id(const bson_t *doc, char *dst, size_t size)
{
	get_ref(doc, "_id", dst, size);
	return dst[0] ? 0 : EINVAL;
}

static bool has(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) && !BSON_ITER_HOLDS_NULL(&it);
}

/* Our status, or from Meeshy's enum for a call Meeshy wrote. */
static void call_status(const bson_t *doc, char *dst, size_t size)
{
	get_str(doc, "callStatus", dst, size);
	if (dst[0])
		return;
	get_str(doc, "status", dst, size);
	if (!strcmp(dst, "ringing"))
		str_ncpy(dst, "initiated", size);
	else if (!strcmp(dst, "missed") || !strcmp(dst, "rejected"))
		str_ncpy(dst, "ended", size);
}

int mongo_call_from_bson(const bson_t *doc, struct call_session *c)
{
	memset(c, 0, sizeof(*c));
	get_ref(doc, "conversationId", c->conversationId,
		sizeof(c->conversationId));
	get_ref(doc, "initiatorId", c->initiatorId, sizeof(c->initiatorId));
	get_str(doc, "type", c->type, sizeof(c->type));
	if (!c->type[0]) /* Meeshy's calls say no type: its calls are video */
		str_ncpy(c->type, "video", sizeof(c->type));
	get_str(doc, "mode", c->mode, sizeof(c->mode));
	call_status(doc, c->status, sizeof(c->status));
	get_str(doc, "mediaServerId", c->mediaServerId,
		sizeof(c->mediaServerId));
	c->createdAt = get_time(doc, "startedAt");
	c->startedAt = get_time(doc, "answeredAt");
	c->endedAt = get_time(doc, "endedAt");
	get_str(doc, "endReason", c->endReason, sizeof(c->endReason));
	return get_id(doc, c->id, sizeof(c->id));
}

int mongo_participant_from_bson(const bson_t *doc, struct call_participant *p)
{
	char role[16];
	memset(p, 0, sizeof(*p));
	get_ref(doc, "callSessionId", p->callSessionId,
		sizeof(p->callSessionId));
	get_ref(doc, "userId", p->userId, sizeof(p->userId));
	get_str(doc, "status", p->status, sizeof(p->status));
	p->leftAt = get_time(doc, "leftAt");
	if (!p->status[0]) /* Meeshy's: in until it leaves */
		str_ncpy(p->status, p->leftAt ? "left" : "joined",
			 sizeof(p->status));
	/* an invitation's joinedAt is when it was written, not a join */
	if (strcmp(p->status, "invited"))
		p->joinedAt = get_time(doc, "joinedAt");
	/* Prisma's defaults: true when absent */
	p->audioEnabled =
		!has(doc, "isAudioEnabled") || get_bool(doc, "isAudioEnabled");
	p->videoEnabled =
		!has(doc, "isVideoEnabled") || get_bool(doc, "isVideoEnabled");
	get_str(doc, "role", role, sizeof(role));
	p->initiator = !strcmp(role, "initiator");
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
	get_ref(doc, "callSessionId", t->callSessionId,
		sizeof(t->callSessionId));
	get_ref(doc, "participantId", t->participantId,
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
	get_ref(doc, "callSessionId", q->callSessionId,
		sizeof(q->callSessionId));
	get_ref(doc, "participantId", q->participantId,
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
	if (!is_oid(conv) || !is_oid(user))
		return EINVAL;
	bson_oid_init_from_string(&c, conv);
	bson_oid_init_from_string(&u, user);
	(void)bson_append_oid(filter, "conversationId", -1, &c);
	(void)bson_append_oid(filter, "userId", -1, &u);
	return 0;
}

int mongo_member_from_bson(const bson_t *doc, struct conversation_member *m)
{
	bson_iter_t it;
	memset(m, 0, sizeof(*m));
	get_ref(doc, "conversationId", m->conversationId,
		sizeof(m->conversationId));
	get_ref(doc, "userId", m->userId, sizeof(m->userId));
	if (!m->conversationId[0] || !m->userId[0])
		return EINVAL;
	get_str(doc, "role", m->role, sizeof(m->role));
	m->joinedAt = get_time(doc, "joinedAt");
	m->leftAt = get_time(doc, "leftAt");
	m->isActive = !bson_iter_init_find(&it, doc, "isActive") ||
		      bson_iter_as_bool(&it);
	return 0;
}

/* --- Meeshy's translation_calls --- */

int mongo_translations_each(const struct call_transcription *t, uint64_t now_ms,
			    mongo_doc_h *h, void *arg)
{
	bson_error_t e;
	bson_t *tr;
	bson_iter_t it;
	int err = 0;

	if (!t->translations || !*t->translations)
		return 0;
	tr = bson_new_from_json((const uint8_t *)t->translations, -1, &e);
	if (!tr)
		return EINVAL;
	for (bson_iter_init(&it, tr); !err && bson_iter_next(&it);) {
		bson_t filter = BSON_INITIALIZER, doc = BSON_INITIALIZER;
		if (!BSON_ITER_HOLDS_UTF8(&it))
			continue;
		mongo_put_ref(&filter, "transcriptionId", t->id);
		put_str(&filter, "targetLanguage", bson_iter_key(&it));
		mongo_put_ref(&doc, "transcriptionId", t->id);
		put_str(&doc, "targetLanguage", bson_iter_key(&it));
		put_str(&doc, "translatedText", bson_iter_utf8(&it, NULL));
		(void)bson_append_bool(&doc, "cached", -1, false);
		put_time(&doc, "createdAt", now_ms);
		/* ours: so an archived call takes its translations along */
		mongo_put_ref(&doc, "callSessionId", t->callSessionId);
		err = h(&filter, &doc, arg);
		bson_destroy(&filter);
		bson_destroy(&doc);
	}
	bson_destroy(tr);
	return err;
}

/* --- Meeshy's anonymous participants --- */

int mongo_anonymous_from_bson(const bson_t *doc, struct anonymous_session *a,
			      char *link_id, size_t size)
{
	bson_iter_t it;
	memset(a, 0, sizeof(*a));
	if (get_id(doc, a->id, sizeof(a->id)))
		return EINVAL;
	get_ref(doc, "conversationId", a->conversationId,
		sizeof(a->conversationId));
	get_ref(doc, "shareLinkId", link_id, size);
	get_str(doc, "username", a->username, sizeof(a->username));
	get_str(doc, "language", a->language, sizeof(a->language));
	if (!a->language[0]) /* Prisma's default for it */
		str_ncpy(a->language, "fr", sizeof(a->language));
	a->isActive = (!bson_iter_init_find(&it, doc, "isActive") ||
		       bson_iter_as_bool(&it)) &&
		      !has(doc, "leftAt");
	return a->conversationId[0] ? 0 : EINVAL;
}

void mongo_share_link_from_bson(const bson_t *doc, struct anonymous_session *a)
{
	bson_iter_t it;
	a->linkActive = !bson_iter_init_find(&it, doc, "isActive") ||
			bson_iter_as_bool(&it);
	a->linkExpires = get_time(doc, "expiresAt");
}
