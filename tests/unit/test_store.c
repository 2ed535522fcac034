/* The SQLite store: records, indexes, the write queue, archiving. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <re.h>
#include "port.h"
#include "store.h"
#include "unit.h"

static char dir[] = "/tmp/meeshy-store-XXXXXX";
static char dbpath[256];
static struct store *st;

static int setup(void)
{
	if (libre_init() || !mkdtemp(dir))
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/test.db", dir);
	return store_open(&st, dbpath);
}

static int teardown(void)
{
	char cmd[300];
	mem_deref(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	libre_close();
	return system(cmd) != 0;
}

static void make_call(struct call_session *c, const char *id,
		      const char *conv, const char *status, uint64_t created)
{
	memset(c, 0, sizeof(*c));
	str_ncpy(c->id, id, sizeof(c->id));
	str_ncpy(c->conversationId, conv, sizeof(c->conversationId));
	str_ncpy(c->initiatorId, "alice", sizeof(c->initiatorId));
	str_ncpy(c->type, "video", sizeof(c->type));
	str_ncpy(c->mode, "p2p", sizeof(c->mode));
	str_ncpy(c->status, status, sizeof(c->status));
	c->createdAt = created;
}

static int count_call(const struct call_session *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static void test_call_roundtrip(void)
{
	struct call_session c, r;
	int n = 0;
	make_call(&c, "call-1", "conv-1", "initiated", 1000);
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	CU_ASSERT_EQUAL(store_call_get(st, "call-1", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.conversationId, "conv-1");
	CU_ASSERT_EQUAL(r.createdAt, 1000);
	CU_ASSERT_EQUAL(r.startedAt, 0);
	/* upsert: status and times change, the row stays one */
	str_ncpy(c.status, "active", sizeof(c.status));
	c.startedAt = 2000;
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	CU_ASSERT_EQUAL(store_call_get(st, "call-1", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.status, "active");
	CU_ASSERT_EQUAL(r.startedAt, 2000);
	CU_ASSERT_EQUAL(store_call_get(st, "nope", &r), ENOENT);
	CU_ASSERT_EQUAL(store_calls_by_conversation(st, "conv-1", "active", 10,
						    count_call, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	n = 0;
	CU_ASSERT_EQUAL(store_calls_by_conversation(st, "conv-1", "ended", 10,
						    count_call, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(store_calls_by_status(st, "active", 10, count_call,
					      &n), 0);
	CU_ASSERT_EQUAL(n, 1);
}

static int collect_part(const struct call_participant *p, void *arg)
{
	char *out = arg;
	strcat(out, p->userId);
	strcat(out, p->status[0] == 'j' ? "+" : "-");
	return 0;
}

static int collect_trans(const struct call_transcription *t, void *arg)
{
	cJSON *o = store_transcription_json(t);
	char *s = cJSON_PrintUnformatted(o);
	strcat(arg, s);
	cJSON_free(s);
	cJSON_Delete(o);
	return 0;
}

static void test_participants_and_transcriptions(void)
{
	struct call_participant p;
	struct call_transcription t;
	char out[1024] = "";

	memset(&p, 0, sizeof(p));
	str_ncpy(p.id, "p1", sizeof(p.id));
	str_ncpy(p.callSessionId, "call-1", sizeof(p.callSessionId));
	str_ncpy(p.userId, "alice", sizeof(p.userId));
	str_ncpy(p.status, "joined", sizeof(p.status));
	p.joinedAt = 10;
	CU_ASSERT_EQUAL(store_participant_put(st, &p), 0);
	str_ncpy(p.id, "p2", sizeof(p.id));
	str_ncpy(p.userId, "bob", sizeof(p.userId));
	p.joinedAt = 20;
	CU_ASSERT_EQUAL(store_participant_put(st, &p), 0);
	str_ncpy(p.status, "left", sizeof(p.status));
	p.leftAt = 30;
	CU_ASSERT_EQUAL(store_participant_put(st, &p), 0);
	CU_ASSERT_EQUAL(store_participants(st, "call-1", collect_part, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "alice+bob-");

	memset(&t, 0, sizeof(t));
	str_ncpy(t.id, "t1", sizeof(t.id));
	str_ncpy(t.callSessionId, "call-1", sizeof(t.callSessionId));
	str_ncpy(t.participantId, "p1", sizeof(t.participantId));
	str_ncpy(t.language, "fr", sizeof(t.language));
	t.text = "bonjour \"à\" tous";
	t.isFinal = true;
	t.timestamp = 1700000000123ULL;
	t.translations = "{\"en\":\"hello everyone\"}";
	CU_ASSERT_EQUAL(store_transcription_put(st, &t), 0);
	out[0] = '\0';
	CU_ASSERT_EQUAL(store_transcriptions(st, "call-1", collect_trans, out),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"text\":\"bonjour \\\"à\\\" tous\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"translations\":{\"en\":"
					   "\"hello everyone\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"timestamp\":"
					   "\"2023-11-14T22:13:20.123Z\""));
}

/* The seed's indexes exist and serve the seed's queries. */
static void test_indexes_used(void)
{
	static const struct {
		const char *sql, *index;
	} q[] = {
		{"SELECT * FROM CallSession WHERE conversationId='c' AND "
		 "status='active' ORDER BY createdAt DESC",
		 "CallSession_conv_status_created"},
		{"SELECT * FROM CallSession WHERE mode IN ('p2p','sfu') AND "
		 "status='active'", "CallSession_mode_status"},
		{"SELECT * FROM CallParticipant WHERE callSessionId='c' AND "
		 "status='joined'", "CallParticipant_call_status"},
		{"SELECT * FROM CallParticipant WHERE userId='u' AND "
		 "status='joined'", "CallParticipant_user_status"},
		{"SELECT * FROM CallTranscription WHERE callSessionId='c' "
		 "ORDER BY timestamp", "CallTranscription_call_time"},
		{"SELECT * FROM CallTranscription WHERE participantId='p' AND "
		 "language='fr'", "CallTranscription_part_lang"},
	};
	sqlite3 *db;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dbpath, &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char sql[512], plan[1024] = "";
		sqlite3_stmt *s;
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", q[i].sql);
		CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
				      SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW)
			strncat(plan, (const char *)sqlite3_column_text(s, 3),
				sizeof(plan) - strlen(plan) - 1);
		sqlite3_finalize(s);
		if (!strstr(plan, q[i].index))
			fprintf(stderr, "plan for %s: %s\n", q[i].sql, plan);
		CU_ASSERT_PTR_NOT_NULL(strstr(plan, q[i].index));
	}
	sqlite3_close(db);
}

/* A locked database: writes are queued in order, then land; none lost. */
static void test_queue_when_busy(void)
{
	struct call_session c, r;
	struct store_stats ss;
	sqlite3 *db;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dbpath, &db), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db, "BEGIN EXCLUSIVE", 0, 0, 0),
			      SQLITE_OK);
	make_call(&c, "call-q", "conv-q", "initiated", 5000);
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0); /* accepted, queued */
	str_ncpy(c.status, "ended", sizeof(c.status));
	c.endedAt = 6000;
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0); /* queued behind it */
	store_get_stats(st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 2);
	store_flush(st); /* still locked: nothing lands, nothing lost */
	store_get_stats(st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 2);

	CU_ASSERT_EQUAL(sqlite3_exec(db, "COMMIT", 0, 0, 0), SQLITE_OK);
	sqlite3_close(db);
	store_flush(st);
	store_get_stats(st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 0);
	CU_ASSERT_EQUAL(store_call_get(st, "call-q", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.status, "ended"); /* order kept */
	CU_ASSERT_EQUAL(r.endedAt, 6000);
}

static void test_archive(void)
{
	const uint64_t day = 86400000ULL, now = port_wallclock_ms();
	struct call_session c, r;
	struct call_participant p;
	char path[300], day_s[32], line[4096];
	size_t n = 0;
	FILE *f;

	make_call(&c, "old-ended", "conv-a", "ended", now - 101 * day);
	c.endedAt = now - 100 * day;
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	memset(&p, 0, sizeof(p));
	str_ncpy(p.id, "old-p", sizeof(p.id));
	str_ncpy(p.callSessionId, "old-ended", sizeof(p.callSessionId));
	str_ncpy(p.userId, "carol", sizeof(p.userId));
	str_ncpy(p.status, "left", sizeof(p.status));
	CU_ASSERT_EQUAL(store_participant_put(st, &p), 0);
	make_call(&c, "recent-ended", "conv-a", "ended", now - 11 * day);
	c.endedAt = now - 10 * day;
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	make_call(&c, "old-active", "conv-a", "active", now - 100 * day);
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);

	snprintf(path, sizeof(path), "%s/archive", dir);
	CU_ASSERT_EQUAL(store_archive(st, now - 90 * day, path, &n), 0);
	/* old-ended, and call-q of the queue test (ended in 1970) */
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(store_call_get(st, "call-q", &r), ENOENT);
	CU_ASSERT_EQUAL(store_call_get(st, "old-ended", &r), ENOENT);
	CU_ASSERT_EQUAL(store_call_get(st, "recent-ended", &r), 0);
	CU_ASSERT_EQUAL(store_call_get(st, "old-active", &r), 0);

	store_iso_time(day_s, sizeof(day_s), now);
	day_s[10] = '\0';
	snprintf(path, sizeof(path), "%s/archive/calls-%s.jsonl", dir, day_s);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, "\"id\":\"old-ended\"")) {
			CU_ASSERT_PTR_NOT_NULL(
				strstr(line, "\"participants\":[{\"id\":"
					     "\"old-p\""));
		}
		else {
			CU_ASSERT_PTR_NOT_NULL(
				strstr(line, "\"id\":\"call-q\""));
		}
	}
	CU_ASSERT_EQUAL(n, 2); /* one line per archived call */
	fclose(f);
}

static void test_schedule_and_time(void)
{
	char buf[32];
	const uint64_t day = 86400000ULL;
	/* 01:00 -> 1 h to go; 02:00 -> a full day; 03:00 -> 23 h */
	CU_ASSERT_EQUAL(store_archive_next_delay(20000 * day + 3600000),
			3600000);
	CU_ASSERT_EQUAL(store_archive_next_delay(20000 * day + 7200000), day);
	CU_ASSERT_EQUAL(store_archive_next_delay(20000 * day + 10800000),
			23 * 3600000ULL);
	store_iso_time(buf, sizeof(buf), 951782400000ULL); /* leap day */
	CU_ASSERT_STRING_EQUAL(buf, "2000-02-29T00:00:00.000Z");
	store_iso_time(buf, sizeof(buf), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
}

static CU_TestInfo tests[] = {
	{"call round trip and upsert", test_call_roundtrip},
	{"participants and transcriptions",
	 test_participants_and_transcriptions},
	{"seed indexes serve the queries", test_indexes_used},
	{"locked store: writes queued, then land in order",
	 test_queue_when_busy},
	{"archive: JSON lines, then delete", test_archive},
	{"archive schedule, ISO times", test_schedule_and_time},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("store", tests, setup, teardown)
