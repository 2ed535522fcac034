/*
 * store_contract.c - what every store backend must do, as CUnit tests: the
 * SQLite suite (test_store.c) and the MongoDB one (test_store_mongo.c, live
 * when MEESHY_MONGODB_URI is set) run the same functions on their store.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "store.h"
#include "store_contract.h"
#include <CUnit/CUnit.h>

struct store *contract_st;
char contract_dir[256];

void contract_make_call(struct call_session *c, const char *id,
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

void contract_make_transcription(struct call_transcription *t)
{
	memset(t, 0, sizeof(*t));
	str_ncpy(t->id, "t1", sizeof(t->id));
	str_ncpy(t->callSessionId, "call-1", sizeof(t->callSessionId));
	str_ncpy(t->participantId, "p1", sizeof(t->participantId));
	str_ncpy(t->language, "fr", sizeof(t->language));
	t->text = "bonjour \"à\" tous";
	t->isFinal = true;
	t->timestamp = 1700000000123ULL;
	t->translations = "{\"en\":\"hello everyone\"}";
}

void contract_call_roundtrip(void)
{
	struct call_session c, r;
	int n = 0;
	contract_make_call(&c, "call-1", "conv-1", "initiated", 1000);
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "call-1", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.conversationId, "conv-1");
	CU_ASSERT_EQUAL(r.createdAt, 1000);
	CU_ASSERT_EQUAL(r.startedAt, 0);
	/* upsert: status and times change, the row stays one */
	str_ncpy(c.status, "active", sizeof(c.status));
	c.startedAt = 2000;
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "call-1", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.status, "active");
	CU_ASSERT_EQUAL(r.startedAt, 2000);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "nope", &r), ENOENT);
	CU_ASSERT_EQUAL(store_calls_by_conversation(contract_st, "conv-1",
						    "active", 10, count_call,
						    &n),
			0);
	CU_ASSERT_EQUAL(n, 1);
	n = 0;
	CU_ASSERT_EQUAL(store_calls_by_conversation(contract_st, "conv-1",
						    "ended", 10, count_call,
						    &n),
			0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(store_calls_by_status(contract_st, "active", 10,
					      count_call, &n),
			0);
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

void contract_participants_and_transcriptions(void)
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
	CU_ASSERT_EQUAL(store_participant_put(contract_st, &p), 0);
	str_ncpy(p.id, "p2", sizeof(p.id));
	str_ncpy(p.userId, "bob", sizeof(p.userId));
	p.joinedAt = 20;
	CU_ASSERT_EQUAL(store_participant_put(contract_st, &p), 0);
	str_ncpy(p.status, "left", sizeof(p.status));
	p.leftAt = 30;
	CU_ASSERT_EQUAL(store_participant_put(contract_st, &p), 0);
	CU_ASSERT_EQUAL(
		store_participants(contract_st, "call-1", collect_part, out),
		0);
	CU_ASSERT_STRING_EQUAL(out, "alice+bob-");

	contract_make_transcription(&t);
	CU_ASSERT_EQUAL(store_transcription_put(contract_st, &t), 0);
	out[0] = '\0';
	CU_ASSERT_EQUAL(
		store_transcriptions(contract_st, "call-1", collect_trans, out),
		0);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(out, "\"text\":\"bonjour \\\"à\\\" tous\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"translations\":{\"en\":"
					   "\"hello everyone\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"timestamp\":"
					   "\"2023-11-14T22:13:20.123Z\""));
}

void contract_archive(void)
{
	const uint64_t day = 86400000ULL, now = port_wallclock_ms();
	struct call_session c, r;
	struct call_participant p;
	char path[400], day_s[32], line[4096];
	size_t n = 0, expected;
	FILE *f;

	contract_make_call(&c, "old-ended", "conv-a", "ended", now - 101 * day);
	c.endedAt = now - 100 * day;
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	memset(&p, 0, sizeof(p));
	str_ncpy(p.id, "old-p", sizeof(p.id));
	str_ncpy(p.callSessionId, "old-ended", sizeof(p.callSessionId));
	str_ncpy(p.userId, "carol", sizeof(p.userId));
	str_ncpy(p.status, "left", sizeof(p.status));
	CU_ASSERT_EQUAL(store_participant_put(contract_st, &p), 0);
	contract_make_call(&c, "recent-ended", "conv-a", "ended",
			   now - 11 * day);
	c.endedAt = now - 10 * day;
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);
	contract_make_call(&c, "old-active", "conv-a", "active",
			   now - 100 * day);
	CU_ASSERT_EQUAL(store_call_put(contract_st, &c), 0);

	/* old-ended, and call-q when the suite wrote it (ended in 1970) */
	expected = store_call_get(contract_st, "call-q", &r) ? 1 : 2;
	snprintf(path, sizeof(path), "%s/archive", contract_dir);
	CU_ASSERT_EQUAL(store_archive(contract_st, now - 90 * day, path, &n),
			0);
	CU_ASSERT_EQUAL(n, expected);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "call-q", &r), ENOENT);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "old-ended", &r), ENOENT);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "recent-ended", &r), 0);
	CU_ASSERT_EQUAL(store_call_get(contract_st, "old-active", &r), 0);

	store_iso_time(day_s, sizeof(day_s), now);
	day_s[10] = '\0';
	snprintf(path, sizeof(path), "%s/archive/calls-%s.jsonl", contract_dir,
		 day_s);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, "\"id\":\"old-ended\"")) {
			CU_ASSERT_PTR_NOT_NULL(
				strstr(line, "\"participants\":[{\"id\":"
					     "\"old-p\""));
		} else {
			CU_ASSERT_PTR_NOT_NULL(
				strstr(line, "\"id\":\"call-q\""));
		}
	}
	CU_ASSERT_EQUAL(n, expected); /* one line per archived call */
	fclose(f);
}
