/*
 * The MongoDB store. Always: the records as BSON documents (field names,
 * BSON types, round trips, documents other programs wrote), the seed's
 * indexes and read routing, and a Mongo that cannot be reached (writes
 * queue, nothing is lost). With MEESHY_MONGODB_URI set: the backend
 * contract (store_contract.c) live, in a database of its own, dropped after.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <mongoc/mongoc.h>
#include <re.h>
#include "port.h"
#include "store.h"
#include "mongo_map.h"
#include "store_contract.h"
#include <CUnit/Basic.h>

static bson_type_t type_of(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) ? bson_iter_type(&it)
						  : BSON_TYPE_EOD;
}

static void test_call_document(void)
{
	struct call_session c, r;
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it;

	memset(&c, 0, sizeof(c));
	str_ncpy(c.id, "65a0000000000000000ca111", sizeof(c.id));
	str_ncpy(c.conversationId, "65a00000000000000000c0a1",
		 sizeof(c.conversationId));
	str_ncpy(c.initiatorId, "alice", sizeof(c.initiatorId));
	str_ncpy(c.type, "video", sizeof(c.type));
	str_ncpy(c.mode, "sfu", sizeof(c.mode));
	str_ncpy(c.status, "failed", sizeof(c.status));
	str_ncpy(c.mediaServerId, "media-1", sizeof(c.mediaServerId));
	str_ncpy(c.endReason, "media-node-lost", sizeof(c.endReason));
	c.createdAt = 1700000000123ULL;
	c.startedAt = 1700000001000ULL;
	c.endedAt = 1700000091000ULL;
	mongo_call_to_bson(&c, &doc);
	/* as Prisma keeps Meeshy's CallSession: ObjectIds where ids are
	 * hex (a name stays a string), its enum (no "failed": ended),
	 * startedAt when made, answeredAt, duration in seconds */
	CU_ASSERT_EQUAL(type_of(&doc, "_id"), BSON_TYPE_OID);
	CU_ASSERT_EQUAL(type_of(&doc, "conversationId"), BSON_TYPE_OID);
	CU_ASSERT_EQUAL(type_of(&doc, "initiatorId"), BSON_TYPE_UTF8);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &doc, "status") &&
		       !strcmp(bson_iter_utf8(&it, NULL), "ended"));
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &doc, "startedAt") &&
		       bson_iter_date_time(&it) == 1700000000123LL);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &doc, "answeredAt") &&
		       bson_iter_date_time(&it) == 1700000001000LL);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &doc, "duration") &&
		       bson_iter_int32(&it) == 90);
	CU_ASSERT_EQUAL(type_of(&doc, "createdAt"), BSON_TYPE_EOD);
	CU_ASSERT_EQUAL(mongo_call_from_bson(&doc, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.id, c.id);
	CU_ASSERT_STRING_EQUAL(r.conversationId, c.conversationId);
	CU_ASSERT_STRING_EQUAL(r.initiatorId, "alice");
	CU_ASSERT_STRING_EQUAL(r.mode, "sfu");
	CU_ASSERT_STRING_EQUAL(r.status, "failed"); /* ours, beside */
	CU_ASSERT_STRING_EQUAL(r.mediaServerId, "media-1");
	CU_ASSERT_STRING_EQUAL(r.endReason, "media-node-lost");
	CU_ASSERT_EQUAL(r.createdAt, c.createdAt);
	CU_ASSERT_EQUAL(r.startedAt, c.startedAt);
	CU_ASSERT_EQUAL(r.endedAt, c.endedAt);
	bson_reinit(&doc);
	/* not answered yet: no duration, no answeredAt */
	c.startedAt = c.endedAt = 0;
	str_ncpy(c.status, "initiated", sizeof(c.status));
	mongo_call_to_bson(&c, &doc);
	CU_ASSERT_EQUAL(type_of(&doc, "answeredAt"), BSON_TYPE_NULL);
	CU_ASSERT_EQUAL(type_of(&doc, "duration"), BSON_TYPE_NULL);
	bson_destroy(&doc);
}

/* A CallSession Meeshy's gateway wrote: its enum read as ours. */
static void test_meeshy_call(void)
{
	struct call_session c;
	struct call_participant p;
	struct call_transcription t;
	bson_error_t e;
	bson_t *doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":{\"$oid\":\"65a0000000000000000ca222\"},"
			   "\"conversationId\":{\"$oid\":"
			   "\"65a00000000000000000c0a1\"},"
			   "\"initiatorId\":{\"$oid\":"
			   "\"65a000000000000000000001\"},"
			   "\"mode\":\"p2p\",\"status\":\"ringing\","
			   "\"startedAt\":{\"$date\":\"2024-01-12T10:00:00Z\"},"
			   "\"metadata\":{\"maxParticipants\":8}}",
		-1, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(mongo_call_from_bson(doc, &c), 0);
	CU_ASSERT_STRING_EQUAL(c.status, "initiated");
	CU_ASSERT_STRING_EQUAL(c.type, "video");
	CU_ASSERT_STRING_EQUAL(c.initiatorId, "65a000000000000000000001");
	CU_ASSERT_EQUAL(c.createdAt, 1705053600000ULL);
	bson_destroy(doc);
	doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":{\"$oid\":\"65a0000000000000000aa001\"},"
			   "\"callSessionId\":{\"$oid\":"
			   "\"65a0000000000000000ca222\"},"
			   "\"userId\":{\"$oid\":\"65a000000000000000000001\"},"
			   "\"role\":\"initiator\","
			   "\"joinedAt\":{\"$date\":\"2024-01-12T10:00:00Z\"},"
			   "\"leftAt\":null,\"isAudioEnabled\":false}",
		-1, &e);
	CU_ASSERT_EQUAL(mongo_participant_from_bson(doc, &p), 0);
	CU_ASSERT_STRING_EQUAL(p.status, "joined");
	CU_ASSERT_TRUE(p.initiator);
	CU_ASSERT_FALSE(p.audioEnabled);
	CU_ASSERT_TRUE(p.videoEnabled); /* Prisma's default */
	CU_ASSERT_EQUAL(p.joinedAt, 1705053600000ULL);
	bson_destroy(doc);
	/* a Transcription its server wrote (faster-whisper) */
	doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":{\"$oid\":\"65a0000000000000000ab001\"},"
			   "\"callSessionId\":{\"$oid\":"
			   "\"65a0000000000000000ca222\"},"
			   "\"participantId\":{\"$oid\":"
			   "\"65a0000000000000000aa001\"},"
			   "\"source\":\"server\",\"text\":\"ola\","
			   "\"language\":\"pt\",\"confidence\":0.93,"
			   "\"timestamp\":{\"$date\":\"2024-01-12T10:00:00Z\"}"
			   "}",
		-1, &e);
	CU_ASSERT_EQUAL_FATAL(mongo_transcription_from_bson(doc, &t), 0);
	CU_ASSERT_STRING_EQUAL(t.id, "65a0000000000000000ab001");
	CU_ASSERT_STRING_EQUAL(t.callSessionId, "65a0000000000000000ca222");
	CU_ASSERT_STRING_EQUAL(t.text, "ola");
	CU_ASSERT_STRING_EQUAL(t.language, "pt");
	CU_ASSERT_EQUAL(t.timestamp, 1705053600000ULL);
	CU_ASSERT_PTR_NULL(t.translations);
	mongo_transcription_clear(&t);
	bson_destroy(doc);
}

static void test_participant_and_quality_documents(void)
{
	struct call_participant p, rp;
	struct quality_metric q, rq;
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it;

	memset(&p, 0, sizeof(p));
	str_ncpy(p.id, "65a0000000000000000aa002", sizeof(p.id));
	str_ncpy(p.callSessionId, "65a0000000000000000ca111",
		 sizeof(p.callSessionId));
	str_ncpy(p.userId, "bob", sizeof(p.userId));
	str_ncpy(p.status, "left", sizeof(p.status));
	p.joinedAt = 10;
	p.leftAt = 20;
	p.videoEnabled = true;
	mongo_participant_to_bson(&p, 999, &doc);
	CU_ASSERT_EQUAL(type_of(&doc, "_id"), BSON_TYPE_OID);
	CU_ASSERT_EQUAL(type_of(&doc, "callSessionId"), BSON_TYPE_OID);
	CU_ASSERT_EQUAL(type_of(&doc, "isAudioEnabled"), BSON_TYPE_BOOL);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &doc, "role") &&
		       !strcmp(bson_iter_utf8(&it, NULL), "participant"));
	CU_ASSERT_EQUAL(mongo_participant_from_bson(&doc, &rp), 0);
	CU_ASSERT_STRING_EQUAL(rp.id, p.id);
	CU_ASSERT_STRING_EQUAL(rp.userId, "bob");
	CU_ASSERT_STRING_EQUAL(rp.status, "left");
	CU_ASSERT_EQUAL(rp.joinedAt, 10);
	CU_ASSERT_EQUAL(rp.leftAt, 20);
	CU_ASSERT_FALSE(rp.audioEnabled);
	CU_ASSERT_TRUE(rp.videoEnabled);
	bson_reinit(&doc);
	/* invited: Prisma needs a joinedAt (when written); read back as 0 */
	str_ncpy(p.status, "invited", sizeof(p.status));
	p.joinedAt = p.leftAt = 0;
	p.initiator = true;
	mongo_participant_to_bson(&p, 999, &doc);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &doc, "joinedAt") &&
		       bson_iter_date_time(&it) == 999);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &doc, "role") &&
		       !strcmp(bson_iter_utf8(&it, NULL), "initiator"));
	CU_ASSERT_EQUAL(mongo_participant_from_bson(&doc, &rp), 0);
	CU_ASSERT_EQUAL(rp.joinedAt, 0);
	CU_ASSERT_TRUE(rp.initiator);
	bson_reinit(&doc);

	memset(&q, 0, sizeof(q));
	str_ncpy(q.callSessionId, "call-1", sizeof(q.callSessionId));
	str_ncpy(q.participantId, "p1", sizeof(q.participantId));
	q.at = 1700000000000ULL;
	q.packetsLost = 12;
	q.packetsReceived = 5000000000LL; /* past 32 bits */
	q.packetLossRate = 0.0024;
	q.jitter = 0.013;
	q.frameWidth = 1280;
	q.frameHeight = 720;
	mongo_quality_to_bson(&q, &doc);
	CU_ASSERT_EQUAL(type_of(&doc, "_id"), BSON_TYPE_EOD); /* driver's */
	CU_ASSERT_EQUAL(type_of(&doc, "packetsReceived"), BSON_TYPE_INT64);
	CU_ASSERT_EQUAL(type_of(&doc, "jitter"), BSON_TYPE_DOUBLE);
	CU_ASSERT_EQUAL(mongo_quality_from_bson(&doc, &rq), 0);
	CU_ASSERT_EQUAL(rq.at, q.at);
	CU_ASSERT_EQUAL(rq.packetsLost, 12);
	CU_ASSERT_EQUAL(rq.packetsReceived, 5000000000LL);
	CU_ASSERT_DOUBLE_EQUAL(rq.packetLossRate, 0.0024, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(rq.jitter, 0.013, 1e-12);
	CU_ASSERT_EQUAL(rq.frameWidth, 1280);
	CU_ASSERT_EQUAL(rq.frameHeight, 720);
	bson_destroy(&doc);
}

static int count_translation(const bson_t *filter, const bson_t *doc, void *arg)
{
	bson_iter_t it;
	int *n = arg;
	(*n)++;
	CU_ASSERT_TRUE(bson_iter_init_find(&it, doc, "translatedText") &&
		       BSON_ITER_HOLDS_UTF8(&it));
	CU_ASSERT_TRUE(bson_iter_init_find(&it, filter, "targetLanguage"));
	CU_ASSERT_TRUE(bson_iter_init_find(&it, doc, "cached") &&
		       !bson_iter_bool(&it));
	return 0;
}

/* Every field Prisma's schema requires (and each optional one we write)
 * with the BSON type it maps it to, for records of a Meeshy deployment
 * (ObjectId ids): what its Node code needs to read ours. */
struct want_field {
	const char *name;
	bson_type_t type, or_null; /* or_null: BSON_TYPE_NULL if optional */
};

static void check_fields(const bson_t *doc, const struct want_field *w,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bson_type_t t = type_of(doc, w[i].name);
		CU_ASSERT_TRUE(t == w[i].type ||
			       (w[i].or_null && t == w[i].or_null));
		if (t != w[i].type && t != w[i].or_null)
			printf("  field %s: BSON type %d\n", w[i].name, (int)t);
	}
}

static bool enum_is(const bson_t *doc, const char *key,
		    const char *const *allowed)
{
	bson_iter_t it;
	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return false;
	for (; *allowed; allowed++)
		if (!strcmp(bson_iter_utf8(&it, NULL), *allowed))
			return true;
	return false;
}

static int first_translation(const bson_t *filter, const bson_t *doc, void *arg)
{
	(void)filter;
	bson_copy_to(doc, arg); /* arg: an uninitialised bson_t */
	return 1;               /* one is enough */
}

static void test_prisma_schema(void)
{
	static const char *const modes[] = {"p2p", "sfu", NULL};
	static const char *const statuses[] = {
		"initiated", "ringing",  "active", "ended",
		"missed",    "rejected", NULL};
	static const char *const roles[] = {"initiator", "participant", NULL};
	static const char *const sources[] = {"client", "server", NULL};
	static const struct want_field call[] = {
		{"_id", BSON_TYPE_OID, 0},
		{"conversationId", BSON_TYPE_OID, 0},
		{"initiatorId", BSON_TYPE_OID, 0},
		{"startedAt", BSON_TYPE_DATE_TIME, 0},
		{"answeredAt", BSON_TYPE_DATE_TIME, BSON_TYPE_NULL},
		{"endedAt", BSON_TYPE_DATE_TIME, BSON_TYPE_NULL},
		{"duration", BSON_TYPE_INT32, BSON_TYPE_NULL},
	};
	static const struct want_field part[] = {
		{"_id", BSON_TYPE_OID, 0},
		{"callSessionId", BSON_TYPE_OID, 0},
		{"userId", BSON_TYPE_OID, BSON_TYPE_NULL},
		{"joinedAt", BSON_TYPE_DATE_TIME, 0},
		{"leftAt", BSON_TYPE_DATE_TIME, BSON_TYPE_NULL},
		{"isAudioEnabled", BSON_TYPE_BOOL, 0},
		{"isVideoEnabled", BSON_TYPE_BOOL, 0},
	};
	static const struct want_field trans[] = {
		{"_id", BSON_TYPE_OID, 0},
		{"callSessionId", BSON_TYPE_OID, 0},
		{"participantId", BSON_TYPE_OID, 0},
		{"text", BSON_TYPE_UTF8, 0},
		{"language", BSON_TYPE_UTF8, 0},
		{"timestamp", BSON_TYPE_DATE_TIME, 0},
	};
	static const struct want_field translation[] = {
		{"transcriptionId", BSON_TYPE_OID, 0},
		{"targetLanguage", BSON_TYPE_UTF8, 0},
		{"translatedText", BSON_TYPE_UTF8, 0},
		{"cached", BSON_TYPE_BOOL, 0},
		{"createdAt", BSON_TYPE_DATE_TIME, 0},
	};
	struct call_session c;
	struct call_participant p;
	struct call_transcription t;
	bson_t doc = BSON_INITIALIZER;

	memset(&c, 0, sizeof(c));
	str_ncpy(c.id, "65a0000000000000000ca333", sizeof(c.id));
	str_ncpy(c.conversationId, "65a00000000000000000c0a1",
		 sizeof(c.conversationId));
	str_ncpy(c.initiatorId, "65a000000000000000000001",
		 sizeof(c.initiatorId));
	str_ncpy(c.type, "audio", sizeof(c.type));
	str_ncpy(c.mode, "p2p", sizeof(c.mode));
	str_ncpy(c.status, "active", sizeof(c.status));
	c.createdAt = 1700000000000ULL;
	c.startedAt = 1700000005000ULL;
	mongo_call_to_bson(&c, &doc);
	check_fields(&doc, call, ARRAY_SIZE(call));
	CU_ASSERT_TRUE(enum_is(&doc, "mode", modes));
	CU_ASSERT_TRUE(enum_is(&doc, "status", statuses));
	bson_reinit(&doc);

	memset(&p, 0, sizeof(p));
	str_ncpy(p.id, "65a0000000000000000aa003", sizeof(p.id));
	str_ncpy(p.callSessionId, c.id, sizeof(p.callSessionId));
	str_ncpy(p.userId, "65a000000000000000000002", sizeof(p.userId));
	str_ncpy(p.status, "joined", sizeof(p.status));
	p.joinedAt = 1700000005000ULL;
	p.audioEnabled = true;
	mongo_participant_to_bson(&p, 1, &doc);
	check_fields(&doc, part, ARRAY_SIZE(part));
	CU_ASSERT_TRUE(enum_is(&doc, "role", roles));
	bson_reinit(&doc);

	contract_make_transcription(&t);
	str_ncpy(t.id, "65a0000000000000000ab003", sizeof(t.id));
	str_ncpy(t.callSessionId, c.id, sizeof(t.callSessionId));
	str_ncpy(t.participantId, p.id, sizeof(t.participantId));
	t.translations = "{\"en\":\"hello\"}";
	CU_ASSERT_EQUAL_FATAL(mongo_transcription_to_bson(&t, &doc), 0);
	check_fields(&doc, trans, ARRAY_SIZE(trans));
	CU_ASSERT_TRUE(enum_is(&doc, "source", sources));
	bson_destroy(&doc); /* first_translation copies into it */
	CU_ASSERT_EQUAL(mongo_translations_each(&t, 7, first_translation, &doc),
			1);
	check_fields(&doc, translation, ARRAY_SIZE(translation));
	bson_destroy(&doc);
}

/* Meeshy's anonymous participant and its share link, as Prisma writes
 * them: who it is, in which conversation, whether it may still come. */
static void test_anonymous_documents(void)
{
	struct anonymous_session a;
	char link[32];
	bson_error_t e;
	bson_t *doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":{\"$oid\":\"65a0000000000000000a0001\"},"
			   "\"conversationId\":{\"$oid\":"
			   "\"65a00000000000000000c0a1\"},"
			   "\"shareLinkId\":{\"$oid\":"
			   "\"65a00000000000000000511a\"},"
			   "\"firstName\":\"Zoe\",\"lastName\":\"Q\","
			   "\"username\":\"zoe-guest\","
			   "\"sessionToken\":\"anon_abc\",\"language\":\"pt\","
			   "\"isActive\":true,\"leftAt\":null}",
		-1, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(mongo_anonymous_from_bson(doc, &a, link, sizeof(link)),
			0);
	CU_ASSERT_STRING_EQUAL(a.id, "65a0000000000000000a0001");
	CU_ASSERT_STRING_EQUAL(a.conversationId, "65a00000000000000000c0a1");
	CU_ASSERT_STRING_EQUAL(link, "65a00000000000000000511a");
	CU_ASSERT_STRING_EQUAL(a.username, "zoe-guest");
	CU_ASSERT_STRING_EQUAL(a.language, "pt");
	CU_ASSERT_TRUE(a.isActive);
	bson_destroy(doc);
	doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":{\"$oid\":\"65a00000000000000000511a\"},"
			   "\"isActive\":true,"
			   "\"expiresAt\":{\"$date\":\"2024-01-12T10:00:00Z\"}"
			   "}",
		-1, &e);
	mongo_share_link_from_bson(doc, &a);
	CU_ASSERT_TRUE(a.linkActive);
	CU_ASSERT_EQUAL(a.linkExpires, 1705053600000ULL);
	bson_destroy(doc);
	/* a participant that left is no longer active */
	doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":{\"$oid\":\"65a0000000000000000a0002\"},"
			   "\"conversationId\":{\"$oid\":"
			   "\"65a00000000000000000c0a1\"},"
			   "\"leftAt\":{\"$date\":\"2024-01-12T10:00:00Z\"}}",
		-1, &e);
	CU_ASSERT_EQUAL(mongo_anonymous_from_bson(doc, &a, link, sizeof(link)),
			0);
	CU_ASSERT_FALSE(a.isActive);
	CU_ASSERT_STRING_EQUAL(a.language, "fr"); /* Prisma's default */
	bson_destroy(doc);
}

/* Meeshy's filters: a status in its enum, ids as it keeps them. */
static void test_filters(void)
{
	bson_t f = BSON_INITIALIZER;
	bson_iter_t it, sub;
	int n = 0;
	struct call_transcription t;

	mongo_status_filter(&f, "failed");
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &f, "status") &&
		       !strcmp(bson_iter_utf8(&it, NULL), "ended"));
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &f, "callStatus") &&
		       !strcmp(bson_iter_utf8(&it, NULL), "failed"));
	bson_reinit(&f);
	mongo_status_filter(&f, "ended");
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &f, "callStatus") &&
		       BSON_ITER_HOLDS_DOCUMENT(&it) &&
		       bson_iter_recurse(&it, &sub) &&
		       bson_iter_find(&sub, "$ne"));
	bson_reinit(&f);
	mongo_status_filter(&f, "active");
	CU_ASSERT_EQUAL(bson_count_keys(&f), 1);
	bson_reinit(&f);
	mongo_put_ref(&f, "a", "65a0000000000000000ca111");
	mongo_put_ref(&f, "b", "conv-1");
	mongo_put_ref(&f, "c", "65A0000000000000000CA111"); /* not ours */
	CU_ASSERT_EQUAL(type_of(&f, "a"), BSON_TYPE_OID);
	CU_ASSERT_EQUAL(type_of(&f, "b"), BSON_TYPE_UTF8);
	CU_ASSERT_EQUAL(type_of(&f, "c"), BSON_TYPE_UTF8);
	bson_destroy(&f);
	/* translation_calls: one per language */
	contract_make_transcription(&t);
	t.translations = "{\"en\":\"hello\",\"de\":\"hallo\"}";
	CU_ASSERT_EQUAL(mongo_translations_each(&t, 5, count_translation, &n),
			0);
	CU_ASSERT_EQUAL(n, 2);
	t.translations = "{en: hello";
	CU_ASSERT_EQUAL(mongo_translations_each(&t, 5, count_translation, &n),
			EINVAL);
}

static void test_transcription_document(void)
{
	struct call_transcription t, r;
	bson_t doc = BSON_INITIALIZER;
	cJSON *want, *got;

	contract_make_transcription(&t);
	t.translations = "{\"en\":\"hello \\\"all\\\"\",\"de\":\"hallo\"}";
	CU_ASSERT_EQUAL_FATAL(mongo_transcription_to_bson(&t, &doc), 0);
	/* a sub-document, so Mongo queries can reach translations.en */
	CU_ASSERT_EQUAL(type_of(&doc, "translations"), BSON_TYPE_DOCUMENT);
	CU_ASSERT_EQUAL_FATAL(mongo_transcription_from_bson(&doc, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.text, "bonjour \"à\" tous");
	CU_ASSERT_TRUE(r.isFinal);
	CU_ASSERT_EQUAL(r.timestamp, t.timestamp);
	want = cJSON_Parse(t.translations);
	got = cJSON_Parse(r.translations);
	CU_ASSERT_TRUE(cJSON_Compare(want, got, true));
	cJSON_Delete(want);
	cJSON_Delete(got);
	mongo_transcription_clear(&r);
	CU_ASSERT_PTR_NULL(r.text);
	bson_reinit(&doc);

	/* no translations: null, read back as NULL */
	t.translations = NULL;
	CU_ASSERT_EQUAL(mongo_transcription_to_bson(&t, &doc), 0);
	CU_ASSERT_EQUAL(type_of(&doc, "translations"), BSON_TYPE_NULL);
	CU_ASSERT_EQUAL(mongo_transcription_from_bson(&doc, &r), 0);
	CU_ASSERT_PTR_NULL(r.translations);
	mongo_transcription_clear(&r);
	bson_reinit(&doc);
	/* translations that are not JSON: refused, nothing written */
	t.translations = "{en: hello";
	CU_ASSERT_EQUAL(mongo_transcription_to_bson(&t, &doc), EINVAL);
	CU_ASSERT_EQUAL(bson_count_keys(&doc), 0);
	bson_destroy(&doc);
}

/* What another writer (a migration, the Node service) may have stored. */
static void test_foreign_documents(void)
{
	struct call_session c;
	bson_error_t e;
	bson_t *doc;

	/* times as plain milliseconds, fields missing: read, not refused */
	doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":\"c9\",\"status\":\"ended\","
			   "\"startedAt\":1700000000000,"
			   "\"endedAt\":{\"$date\":\"2023-11-14T22:13:21Z\"}}",
		-1, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(mongo_call_from_bson(doc, &c), 0);
	CU_ASSERT_EQUAL(c.createdAt, 1700000000000ULL);
	CU_ASSERT_EQUAL(c.endedAt, 1700000001000ULL);
	CU_ASSERT_STRING_EQUAL(c.conversationId, "");
	bson_destroy(doc);
	/* no _id at all: not a record anyone can name */
	doc = bson_new_from_json((const uint8_t *)"{\"status\":\"ended\"}", -1,
				 &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(mongo_call_from_bson(doc, &c), EINVAL);
	bson_destroy(doc);
}

/* Meeshy's ConversationMember as Prisma writes it: ObjectIds, dates, the
 * permission flags we ignore; read back, and looked for by ObjectId. */
static void test_member_documents(void)
{
	struct conversation_member m;
	bson_error_t e;
	bson_t filter = BSON_INITIALIZER, *doc;
	bson_iter_t it;

	doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"_id\":{\"$oid\":\"65a0000000000000000000aa\"},"
			   "\"conversationId\":{\"$oid\":"
			   "\"65a00000000000000000c0a1\"},"
			   "\"userId\":{\"$oid\":\"65a000000000000000000001\"},"
			   "\"role\":\"admin\",\"canSendMessage\":true,"
			   "\"joinedAt\":{\"$date\":\"2024-01-12T10:00:00Z\"},"
			   "\"leftAt\":null,\"isActive\":true}",
		-1, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(mongo_member_from_bson(doc, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.conversationId, "65a00000000000000000c0a1");
	CU_ASSERT_STRING_EQUAL(m.userId, "65a000000000000000000001");
	CU_ASSERT_STRING_EQUAL(m.role, "admin");
	CU_ASSERT_EQUAL(m.joinedAt, 1705053600000ULL);
	CU_ASSERT_EQUAL(m.leftAt, 0);
	CU_ASSERT_TRUE(m.isActive);
	bson_destroy(doc);
	/* left: isActive false; no isActive at all is Prisma's default */
	doc = bson_new_from_json(
		(const uint8_t
			 *)"{\"conversationId\":{\"$oid\":"
			   "\"65a00000000000000000c0a1\"},"
			   "\"userId\":{\"$oid\":\"65a000000000000000000002\"},"
			   "\"isActive\":false}",
		-1, &e);
	CU_ASSERT_EQUAL(mongo_member_from_bson(doc, &m), 0);
	CU_ASSERT_FALSE(m.isActive);
	bson_destroy(doc);
	doc = bson_new_from_json(
		(const uint8_t *)"{\"conversationId\":{\"$oid\":"
				 "\"65a00000000000000000c0a1\"},"
				 "\"userId\":{\"$oid\":"
				 "\"65a000000000000000000003\"}}",
		-1, &e);
	CU_ASSERT_EQUAL(mongo_member_from_bson(doc, &m), 0);
	CU_ASSERT_TRUE(m.isActive);
	bson_destroy(doc);
	/* the query: both ids as ObjectIds; ids that are not cannot match */
	CU_ASSERT_EQUAL(mongo_member_filter("65a00000000000000000c0a1",
					    "65a000000000000000000001",
					    &filter),
			0);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &filter, "conversationId") &&
		       BSON_ITER_HOLDS_OID(&it));
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &filter, "userId") &&
		       BSON_ITER_HOLDS_OID(&it));
	bson_destroy(&filter);
	bson_init(&filter);
	CU_ASSERT_EQUAL(mongo_member_filter("conv-1", "ada", &filter), EINVAL);
	bson_destroy(&filter);
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_MEMBER), MONGO_READ_PRIMARY);
}

static void test_indexes_and_routing(void)
{
	/* the seed's compound indexes, keys in the seed's order */
	static const char *const seed[][2] = {
		{MONGO_CALLS, "{\"conversationId\":1,\"status\":1,"
			      "\"startedAt\":-1}"},
		{MONGO_CALLS, "{\"mode\":1,\"status\":1}"},
		{MONGO_CALLS, "{\"startedAt\":1}"},
		{MONGO_PARTICIPANTS, "{\"callSessionId\":1,\"status\":1}"},
		{MONGO_PARTICIPANTS, "{\"userId\":1,\"status\":1}"},
		{MONGO_TRANSCRIPTIONS, "{\"callSessionId\":1,\"timestamp\":1}"},
		{MONGO_TRANSCRIPTIONS, "{\"participantId\":1,\"language\":1}"},
	};
	for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < mongo_index_count; j++) {
			bson_error_t e;
			bson_t *k = bson_new_from_json(
				(const uint8_t *)mongo_indexes[j].keys, -1, &e);
			bson_t *w = bson_new_from_json(
				(const uint8_t *)seed[i][1], -1, &e);
			CU_ASSERT_PTR_NOT_NULL_FATAL(k);
			if (!strcmp(mongo_indexes[j].collection, seed[i][0]) &&
			    bson_equal(k, w))
				found = true;
			bson_destroy(k);
			bson_destroy(w);
		}
		if (!found)
			fprintf(stderr, "missing index %s %s\n", seed[i][0],
				seed[i][1]);
		CU_ASSERT_TRUE(found);
	}
	for (size_t i = 0; i < mongo_index_count; i++)
		for (size_t j = i + 1; j < mongo_index_count; j++)
			CU_ASSERT(strcmp(mongo_indexes[i].name,
					 mongo_indexes[j].name) ||
				  strcmp(mongo_indexes[i].collection,
					 mongo_indexes[j].collection));
	/* the seed's query routing */
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_CALL), MONGO_READ_PRIMARY);
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_CALLS_STATUS),
			MONGO_READ_PRIMARY);
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_PARTICIPANTS),
			MONGO_READ_PRIMARY);
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_ARCHIVE), MONGO_READ_PRIMARY);
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_HISTORY),
			MONGO_READ_SECONDARY_PREFERRED);
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_TRANSCRIPTS),
			MONGO_READ_SECONDARY_PREFERRED);
	CU_ASSERT_EQUAL(mongo_read_for(MONGO_Q_QUALITY),
			MONGO_READ_SECONDARY_PREFERRED);
}

/* Nothing listens on the port: the store opens, writes queue in order,
 * reads say "try later", and none of it takes long. */
static void test_unreachable(void)
{
	struct store *s = NULL;
	struct store_stats ss;
	struct call_session c, r;
	uint64_t t0;

	CU_ASSERT_EQUAL(store_open(&s, "mongodb://"), EINVAL);
	CU_ASSERT_EQUAL(store_open(&s, "mongodb://127.0.0.1:1/meeshy_none"), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(store_backend_name(s), "mongodb");
	contract_make_call(&c, "call-away", "conv", "initiated", 1000);
	t0 = port_now_us();
	CU_ASSERT_EQUAL(store_call_put(s, &c), 0); /* accepted: queued */
	str_ncpy(c.status, "ended", sizeof(c.status));
	CU_ASSERT_EQUAL(store_call_put(s, &c),
			0); /* takes the queued one's place */
	contract_make_call(&c, "call-away-2", "conv", "initiated", 1001);
	CU_ASSERT_EQUAL(store_call_put(s, &c), 0);
	store_get_stats(s, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 2);
	CU_ASSERT_EQUAL(store_call_get(s, "call-away", &r), EAGAIN);
	CU_ASSERT_EQUAL(store_ping(s), EAGAIN);
	store_flush(s);
	store_get_stats(s, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 2); /* still there, in order */
	printf("\n  unreachable Mongo: 2 writes queued, a read and a ping"
	       " refused, in %.0f ms\n",
	       (double)(port_now_us() - t0) / 1000);
	mem_deref(s); /* logs the two writes it could not land */
}

/* --- live: the contract on a real MongoDB --- */

static char live_uri[1024];
static char live_db[64];

static int live_setup(void)
{
	const char *env = getenv("MEESHY_MONGODB_URI");
	mongoc_uri_t *uri;
	char *s;

	if (libre_init())
		return 1;
	(void)snprintf(live_db, sizeof(live_db), "meeshy_test_%d_%u",
		       (int)getpid(), (unsigned)(port_wallclock_ms() % 100000));
	uri = mongoc_uri_new(env);
	if (!uri || !mongoc_uri_set_database(uri, live_db))
		return 1;
	s = (char *)mongoc_uri_get_string(uri);
	(void)snprintf(live_uri, sizeof(live_uri), "%s", s);
	mongoc_uri_destroy(uri);
	(void)snprintf(contract_dir, sizeof(contract_dir),
		       "/tmp/meeshy-mongo-XXXXXX");
	if (!mkdtemp(contract_dir))
		return 1;
	return store_open(&contract_st, live_uri);
}

static int live_teardown(void)
{
	mongoc_client_t *cl = mongoc_client_new(live_uri);
	mongoc_database_t *db;
	char cmd[300];
	bson_error_t e;

	contract_st = mem_deref(contract_st);
	if (cl) {
		db = mongoc_client_get_database(cl, live_db);
		(void)mongoc_database_drop(db, &e);
		mongoc_database_destroy(db);
		mongoc_client_destroy(cl);
	}
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", contract_dir);
	libre_close();
	return system(cmd) != 0;
}

static void test_live_indexes(void)
{
	mongoc_client_t *cl = mongoc_client_new(live_uri);
	mongoc_collection_t *c;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	unsigned n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	c = mongoc_client_get_collection(cl, live_db, MONGO_CALLS);
	cur = mongoc_collection_find_indexes_with_opts(c, NULL);
	while (mongoc_cursor_next(cur, &doc))
		n++;
	CU_ASSERT_EQUAL(n, 4); /* _id and the seed's three */
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(c);
	mongoc_client_destroy(cl);
}

static CU_TestInfo map_tests[] = {
	{"a CallSession Meeshy wrote", test_meeshy_call},
	{"Meeshy's filters and translation_calls", test_filters},
	{"Meeshy's anonymous participants", test_anonymous_documents},
	{"Prisma's required fields, their BSON types, its enums",
	 test_prisma_schema},
	{"Meeshy's ConversationMember documents", test_member_documents},
	{"a call as a document", test_call_document},
	{"participants and quality reports",
	 test_participant_and_quality_documents},
	{"transcriptions and their translations", test_transcription_document},
	{"documents other programs wrote", test_foreign_documents},
	{"the seed's indexes and read routing", test_indexes_and_routing},
	{"Mongo unreachable: writes queue", test_unreachable},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo live_tests[] = {
	{"call round trip and upsert", contract_call_roundtrip},
	{"participants and transcriptions",
	 contract_participants_and_transcriptions},
	{"archive: JSON lines, then delete", contract_archive},
	{"indexes created at start", test_live_indexes},
	CU_TEST_INFO_NULL,
};

static int map_setup(void)
{
	return libre_init();
}
static int map_teardown(void)
{
	libre_close();
	return 0;
}

int main(void)
{
	CU_SuiteInfo suites[] = {
		{"mongo: documents", map_setup, map_teardown, NULL, NULL,
		 map_tests},
		{"mongo: contract, live", live_setup, live_teardown, NULL, NULL,
		 live_tests},
		CU_SUITE_INFO_NULL,
	};
	unsigned failed;

	if (!getenv("MEESHY_MONGODB_URI")) {
		printf("MEESHY_MONGODB_URI not set: the live contract suite"
		       " does not run (no MongoDB server here)\n");
		suites[1] = suites[2];
	}
	if (CU_initialize_registry() != CUE_SUCCESS ||
	    CU_register_suites(suites) != CUE_SUCCESS)
		return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
