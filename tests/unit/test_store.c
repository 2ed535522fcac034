/* The SQLite store: the backend contract (store_contract.c), then what
 * only SQLite shows: its indexes in query plans, the queue when locked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <re.h>
#include "port.h"
#include "journal.h"
#include "store.h"
#include "unit.h"
#include "store_contract.h"

static char dir[] = "/tmp/meeshy-store-XXXXXX";
static char dbpath[256];

static int setup(void)
{
	if (libre_init() || !mkdtemp(dir))
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/test.db", dir);
	snprintf(contract_dir, sizeof(contract_dir), "%s", dir);
	return store_open(&contract_st, dbpath);
}

static int teardown(void)
{
	char cmd[300];
	mem_deref(contract_st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	libre_close();
	return system(cmd) != 0;
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
		 "status='active'",
		 "CallSession_mode_status"},
		{"SELECT * FROM CallParticipant WHERE callSessionId='c' AND "
		 "status='joined'",
		 "CallParticipant_call_status"},
		{"SELECT * FROM CallParticipant WHERE userId='u' AND "
		 "status='joined'",
		 "CallParticipant_user_status"},
		{"SELECT * FROM CallTranscription WHERE callSessionId='c' "
		 "ORDER BY timestamp",
		 "CallTranscription_call_time"},
		{"SELECT * FROM CallTranscription WHERE participantId='p' AND "
		 "language='fr'",
		 "CallTranscription_part_lang"},
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
	contract_make_call(&c, "call-q", "conv-q", "initiated", 5000);
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c),
			0); /* accepted, queued */
	str_ncpy(c.status, "ended", sizeof(c.status));
	c.endedAt = 6000;
	/* the same record again: its queued write takes the new state */
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	store_get_stats(contract_st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 1);
	store_flush(
		contract_st); /* still locked: nothing lands, nothing lost */
	store_get_stats(contract_st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 1);

	CU_ASSERT_EQUAL(sqlite3_exec(db, "COMMIT", 0, 0, 0), SQLITE_OK);
	sqlite3_close(db);
	store_flush(contract_st);
	store_get_stats(contract_st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 0);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "call-q", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.status, "ended"); /* order kept */
	CU_ASSERT_EQUAL(r.endedAt, 6000);
}

static int count_trans(const struct call_transcription *t, void *arg)
{
	(void)t;
	(*(size_t *)arg)++;
	return 0;
}

/* A queue that is full refuses new records (ENOSPC, counted) rather than
 * grow; what it took lands, in order, once the store is back. */
static void test_queue_bounded(void)
{
	struct call_transcription t;
	struct call_session c;
	struct store_stats ss;
	int n = 0, refused = 0;
	size_t count = 0;
	sqlite3 *db;

	store_set_queue_limits(contract_st, 10, STORE_QUEUE_MAX_BYTES);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dbpath, &db), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db, "BEGIN EXCLUSIVE", 0, 0, 0),
			      SQLITE_OK);
	contract_make_call(&c, "call-b", "conv-b", "active", 7000);
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	memset(&t, 0, sizeof(t));
	str_ncpy(t.callSessionId, "call-b", sizeof(t.callSessionId));
	str_ncpy(t.participantId, "p-b", sizeof(t.participantId));
	str_ncpy(t.language, "en", sizeof(t.language));
	t.text = "words";
	t.isFinal = true;
	for (int i = 0; i < 15; i++) {
		int err;
		snprintf(t.id, sizeof(t.id), "tr-b-%02d", i);
		t.timestamp = 7000 + (uint64_t)i;
		err = store_transcription_put(contract_st, &t);
		n += !err;
		refused += err == ENOSPC;
	}
	CU_ASSERT_EQUAL(n, 9); /* the call's write and nine fill the ten */
	CU_ASSERT_EQUAL(refused, 6);
	/* a queued call's new state still fits: it takes its old place */
	str_ncpy(c.status, "ended", sizeof(c.status));
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	store_get_stats(contract_st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 10);
	CU_ASSERT_EQUAL(ss.refused_full, 6);

	CU_ASSERT_EQUAL(sqlite3_exec(db, "COMMIT", 0, 0, 0), SQLITE_OK);
	sqlite3_close(db);
	store_flush(contract_st);
	store_get_stats(contract_st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 0);
	CU_ASSERT_EQUAL(store_transcriptions(contract_st, "call-b", count_trans,
					     &count),
			0);
	CU_ASSERT_EQUAL(count, 9);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "call-b", &c), 0);
	CU_ASSERT_STRING_EQUAL(c.status, "ended");
	store_set_queue_limits(contract_st, STORE_QUEUE_MAX,
			       STORE_QUEUE_MAX_BYTES);
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

/* What another connection to the database sees: rows of a table with id. */
static int rows_with_id(const char *table, const char *id)
{
	char sql[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE id='%s'",
		 table, id);
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

struct soon_seen {
	int after_turn, after_soon; /* the soon write's rows at each look */
	int eager_turn;             /* both, once an eager write followed */
	struct tmr tmr;
};

static void look_after_soon(void *arg)
{
	struct soon_seen *v = arg;
	v->after_soon = rows_with_id("CallParticipant", "part-soon-1");
	re_cancel();
}

static void look_after_turn(void *arg)
{
	struct soon_seen *v = arg;
	v->after_turn = rows_with_id("CallParticipant", "part-soon-1");
	tmr_start(&v->tmr, STORE_SOON_MS + 50, look_after_soon, v);
}

static void look_after_eager(void *arg)
{
	struct soon_seen *v = arg;
	v->eager_turn = rows_with_id("CallParticipant", "part-soon-2") +
			rows_with_id("CallSession", "call-soon-2");
	re_cancel();
}

static void make_part(struct call_participant *p, const char *id)
{
	memset(p, 0, sizeof(*p));
	str_ncpy(p->id, id, sizeof(p->id));
	str_ncpy(p->callSessionId, "call-soon", sizeof(p->callSessionId));
	str_ncpy(p->userId, "u-soon", sizeof(p->userId));
	str_ncpy(p->status, "joined", sizeof(p->status));
	p->audioEnabled = true;
}

/* A write put "soon" waits for STORE_SOON_MS, not the end of the turn;
 * an ordinary write behind it takes it along at the end of its turn. */
static void test_soon_lands_within_its_window(void)
{
	struct soon_seen v;
	struct call_participant p;
	struct call_session c;

	v.after_turn = v.after_soon = v.eager_turn = -1;
	tmr_init(&v.tmr);
	make_part(&p, "part-soon-1");
	CU_ASSERT_EQUAL(store_participant_put_soon(contract_st, &p), 0);
	tmr_start(&v.tmr, 0, look_after_turn, &v);
	CU_ASSERT_EQUAL(re_main(NULL), 0);
	CU_ASSERT_EQUAL(v.after_turn, 0); /* still waiting for company */
	CU_ASSERT_EQUAL(v.after_soon, 1); /* landed within the window */

	make_part(&p, "part-soon-2");
	CU_ASSERT_EQUAL(store_participant_put_soon(contract_st, &p), 0);
	contract_make_call(&c, "call-soon-2", "conv-soon", "active", 7000);
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	tmr_start(&v.tmr, 0, look_after_eager, &v);
	CU_ASSERT_EQUAL(re_main(NULL), 0);
	CU_ASSERT_EQUAL(v.eager_turn, 2); /* both, at the end of the turn */
	tmr_cancel(&v.tmr);
}

static void test_location_safe(void)
{
	char buf[128];
	store_location_safe(buf, sizeof(buf),
			    "mongodb://meeshy:s3cret@db1:27017,db2/meeshy");
	CU_ASSERT_STRING_EQUAL(buf,
			       "mongodb://meeshy:***@db1:27017,db2/meeshy");
	store_location_safe(buf, sizeof(buf), "mongodb://db1:27017/meeshy");
	CU_ASSERT_STRING_EQUAL(buf, "mongodb://db1:27017/meeshy");
	store_location_safe(buf, sizeof(buf), "/var/lib/meeshy/calls.db");
	CU_ASSERT_STRING_EQUAL(buf, "/var/lib/meeshy/calls.db");
}

/* Memberships (Meeshy's ConversationMember): put, read back, upserted by
 * (conversation, user); none is ENOENT. */
static void test_members(void)
{
	struct conversation_member m = {"conv-1", "ada", "member",
					1000,     0,     true},
				   got;
	CU_ASSERT_EQUAL(store_member_get(contract_st, "conv-1", "ada", &got),
			ENOENT);
	CU_ASSERT_EQUAL(store_member_put(contract_st, &m), 0);
	CU_ASSERT_EQUAL_FATAL(
		store_member_get(contract_st, "conv-1", "ada", &got), 0);
	CU_ASSERT_STRING_EQUAL(got.role, "member");
	CU_ASSERT_TRUE(got.isActive);
	CU_ASSERT_EQUAL(got.joinedAt, 1000);
	m.isActive = false;
	m.leftAt = 2000;
	CU_ASSERT_EQUAL(store_member_put(contract_st, &m), 0);
	CU_ASSERT_EQUAL_FATAL(
		store_member_get(contract_st, "conv-1", "ada", &got), 0);
	CU_ASSERT_FALSE(got.isActive);
	CU_ASSERT_EQUAL(got.leftAt, 2000);
	CU_ASSERT_EQUAL(store_member_get(contract_st, "conv-1", "bob", &got),
			ENOENT);
	CU_ASSERT_EQUAL(store_member_get(contract_st, "conv-2", "ada", &got),
			ENOENT);
}

/* The journal file: records read back whole; a torn tail cut off, the
 * records before it kept and appends going on after them; a file of
 * another layout set aside, never misread. */
struct seen {
	int n;
	uint8_t kinds[8];
	char text[8][32];
};

static int seen_h(uint8_t kind, const void *body, size_t len, const char *text,
		  const char *text2, void *arg)
{
	struct seen *s = arg;
	(void)text2;
	if (s->n < 8) {
		s->kinds[s->n] = kind;
		snprintf(s->text[s->n], sizeof(s->text[0]), "%.*s|%s", (int)len,
			 (const char *)body, text ? text : "-");
	}
	s->n++;
	return 0;
}

static size_t file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return (size_t)n;
}

static void test_journal_file(void)
{
	char path[300], aside[300];
	struct journal *j = NULL;
	struct seen s = {0};
	size_t n, whole;
	int refused;
	FILE *f;

	snprintf(path, sizeof(path), "%s/j1.journal", dir);
	CU_ASSERT_EQUAL_FATAL(
		journal_open(&j, path, "L1", seen_h, &s, &n, &refused), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(journal_append(j, 1, "abc", 3, "hello", NULL), 0);
	CU_ASSERT_EQUAL(journal_append(j, 2, "de", 2, NULL, "x"), 0);
	CU_ASSERT_EQUAL(journal_sync(j), 0);
	j = mem_deref(j);
	whole = file_size(path);
	f = fopen(path, "ab"); /* a record cut short by a crash */
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite("\x40\x00\x00\x00\x01\x02", 1, 6, f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(
		journal_open(&j, path, "L1", seen_h, &s, &n, &refused), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(refused, 0);
	CU_ASSERT_EQUAL(s.kinds[0], 1);
	CU_ASSERT_STRING_EQUAL(s.text[0], "abc|hello");
	CU_ASSERT_STRING_EQUAL(s.text[1], "de|-");
	CU_ASSERT_EQUAL(file_size(path), whole); /* the torn tail is gone */
	CU_ASSERT_EQUAL(journal_append(j, 3, "f", 1, "after", NULL), 0);
	{ /* one process a journal */
		struct journal *j2 = NULL;
		struct seen s2 = {0};
		CU_ASSERT_EQUAL(journal_open(&j2, path, "L1", seen_h, &s2, &n,
					     &refused),
				EBUSY);
		CU_ASSERT_EQUAL(s2.n, 0);
	}
	j = mem_deref(j);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL_FATAL(
		journal_open(&j, path, "L1", seen_h, &s, &n, &refused), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(s.text[2], "f|after");
	j = mem_deref(j);
	/* another build's layout: set aside by name, a new one begun */
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL_FATAL(
		journal_open(&j, path, "L2", seen_h, &s, &n, &refused), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(refused, 1);
	CU_ASSERT_EQUAL(journal_bytes(j), 0);
	snprintf(aside, sizeof(aside), "ls %s/j1.journal.refused-* >/dev/null",
		 dir);
	CU_ASSERT_EQUAL(system(aside), 0);
	mem_deref(j);
}

/* The lock db held released, then a new store on the database at path
 * with the journal at jpath (*replayed: what it found there); NULL if
 * either fails. */
static struct store *unlock_reopen(sqlite3 *db, const char *path,
				   const char *jpath, size_t *replayed)
{
	struct store *st = NULL;
	CU_ASSERT_EQUAL(sqlite3_exec(db, "COMMIT", 0, 0, 0), SQLITE_OK);
	sqlite3_close(db);
	if (store_open(&st, path) || store_journal_open(st, jpath, replayed))
		st = mem_deref(st);
	return st;
}

/* A store whose database is locked keeps its queue in the journal; a
 * store that ends before the lock goes (a crash, a stop) loses nothing:
 * the next one on the same journal lands every write, in order, and
 * empties the journal. */
static void test_journal_store(void)
{
	char db2[300], jpath[300];
	struct store *st = NULL;
	struct call_session c, r;
	struct call_transcription t;
	struct store_stats ss;
	size_t replayed = 0, found = 0;
	sqlite3 *db;

	snprintf(db2, sizeof(db2), "%s/journaled.db", dir);
	snprintf(jpath, sizeof(jpath), "%s/queue.journal", dir);
	CU_ASSERT_EQUAL_FATAL(store_open(&st, db2), 0);
	CU_ASSERT_EQUAL_FATAL(store_journal_open(st, jpath, &replayed), 0);
	CU_ASSERT_EQUAL(replayed, 0);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(db2, &db), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db, "BEGIN EXCLUSIVE", 0, 0, 0),
			      SQLITE_OK);
	contract_make_call(&c, "call-j", "conv-j", "initiated", 5000);
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	store_flush(st); /* locked: down, the queue goes to the journal */
	contract_make_transcription(&t);
	str_ncpy(t.callSessionId, "call-j", sizeof(t.callSessionId));
	CU_ASSERT_EQUAL(store_transcription_put(st, &t), 0);
	str_ncpy(c.status, "ended", sizeof(c.status));
	c.endedAt = 6000;
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	store_land_before_answer(st); /* the journal synced, not landed */
	store_get_stats(st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 2);
	CU_ASSERT_EQUAL(ss.journaled, 3);
	st = mem_deref(st); /* gone with its queue */
	st = unlock_reopen(db, db2, jpath, &replayed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(replayed, 3);
	CU_ASSERT_EQUAL(store_call_get(st, "call-j", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.status, "ended"); /* the last state */
	CU_ASSERT_EQUAL(store_transcriptions(st, "call-j", count_trans, &found),
			0);
	CU_ASSERT_EQUAL(found, 1);
	store_get_stats(st, &ss);
	CU_ASSERT_EQUAL(ss.queued_now, 0);
	st = mem_deref(st);
	/* landed: the journal is its header alone */
	CU_ASSERT_TRUE(file_size(jpath) < 128);
}

/* A record replaced again and again while down (a participant's flags)
 * grows the journal; past twice the queue (and 1 MB) it is rewritten
 * whole, and what lands after is the last state. */
static void test_journal_compacts(void)
{
	char db3[300], jpath[300];
	struct store *st = NULL;
	struct call_session c, r;
	size_t replayed = 0;
	sqlite3 *db;

	snprintf(db3, sizeof(db3), "%s/compact.db", dir);
	snprintf(jpath, sizeof(jpath), "%s/compact.journal", dir);
	CU_ASSERT_EQUAL_FATAL(store_open(&st, db3), 0);
	CU_ASSERT_EQUAL_FATAL(store_journal_open(st, jpath, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(db3, &db), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db, "BEGIN EXCLUSIVE", 0, 0, 0),
			      SQLITE_OK);
	contract_make_call(&c, "call-c", "conv-c", "initiated", 5000);
	CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	store_flush(st); /* down */
	for (int i = 0; i < 3000; i++) {
		c.endedAt = 6000 + (uint64_t)i;
		CU_ASSERT_EQUAL(store_call_put(st, &c), 0);
	}
	CU_ASSERT_TRUE(file_size(jpath) > 1024 * 1024);
	store_flush(st); /* still down: the journal is rewritten */
	CU_ASSERT_TRUE(file_size(jpath) < 64 * 1024);
	st = mem_deref(st);
	st = unlock_reopen(db, db3, jpath, &replayed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(replayed, 1);
	CU_ASSERT_EQUAL(store_call_get(st, "call-c", &r), 0);
	CU_ASSERT_EQUAL(r.endedAt, 6000 + 2999);
	mem_deref(st);
}

static CU_TestInfo tests[] = {
	{"memberships: put, read, upsert, none", test_members},
	{"locations in logs hide passwords", test_location_safe},
	{"call round trip and upsert", contract_call_roundtrip},
	{"participants and transcriptions",
	 contract_participants_and_transcriptions},
	{"seed indexes serve the queries", test_indexes_used},
	{"locked store: writes queued, then land in order",
	 test_queue_when_busy},
	{"a full write queue refuses new records, lands what it took",
	 test_queue_bounded},
	{"a write put soon lands within its window, or with the next",
	 test_soon_lands_within_its_window},
	{"archive: JSON lines, then delete", contract_archive},
	{"journal file: read back, torn tail cut, other layout set aside",
	 test_journal_file},
	{"journal: a locked store's queue outlives the store, lands after",
	 test_journal_store},
	{"journal: rewritten when replaced states make it twice the queue",
	 test_journal_compacts},
	{"archive schedule, ISO times", test_schedule_and_time},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("store", tests, setup, teardown)
