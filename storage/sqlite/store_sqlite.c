/*
 * store_sqlite.c - the embedded default store: one SQLite file.
 *
 * WAL journal with synchronous=NORMAL: a committed write survives kill -9 of
 * the server (the WAL is in the OS page cache and replayed at next open);
 * only a power cut may lose the last transactions. Statements are prepared
 * once at open. A busy or failing database answers EAGAIN so the store front
 * queues the write instead of losing it.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <re.h>
#include "store.h"

enum stmt_id {
	S_CALL_PUT,
	S_CALL_GET,
	S_CALLS_CONV,
	S_CALLS_CONV_STATUS,
	S_CALLS_STATUS,
	S_PART_PUT,
	S_PARTS,
	S_TRANS_PUT,
	S_TRANS,
	S_QUAL_PUT,
	S_QUAL,
	S_ARCH_SELECT,
	S_ARCH_DEL_CALL,
	S_ARCH_DEL_PART,
	S_ARCH_DEL_TRANS,
	S_ARCH_DEL_QUAL,
	S_MEMBER_PUT,
	S_MEMBER_GET,
	S_COUNT
};

static const char *const schema =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"PRAGMA foreign_keys=OFF;"
	"CREATE TABLE IF NOT EXISTS CallSession("
	" id TEXT PRIMARY KEY, conversationId TEXT NOT NULL,"
	" initiatorId TEXT NOT NULL, type TEXT NOT NULL, mode TEXT NOT NULL,"
	" status TEXT NOT NULL, mediaServerId TEXT, createdAt INTEGER NOT NULL,"
	" startedAt INTEGER, endedAt INTEGER, endReason TEXT);"
	"CREATE INDEX IF NOT EXISTS CallSession_conv_status_created"
	" ON CallSession(conversationId, status, createdAt DESC);"
	"CREATE INDEX IF NOT EXISTS CallSession_mode_status"
	" ON CallSession(mode, status);"
	"CREATE INDEX IF NOT EXISTS CallSession_created"
	" ON CallSession(createdAt);"
	"CREATE TABLE IF NOT EXISTS CallParticipant("
	" id TEXT PRIMARY KEY, callSessionId TEXT NOT NULL,"
	" userId TEXT NOT NULL, status TEXT NOT NULL, joinedAt INTEGER,"
	" leftAt INTEGER, audioEnabled INTEGER NOT NULL,"
	" videoEnabled INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS CallParticipant_call_status"
	" ON CallParticipant(callSessionId, status);"
	"CREATE INDEX IF NOT EXISTS CallParticipant_user_status"
	" ON CallParticipant(userId, status);"
	"CREATE TABLE IF NOT EXISTS CallTranscription("
	" id TEXT PRIMARY KEY, callSessionId TEXT NOT NULL,"
	" participantId TEXT NOT NULL, language TEXT NOT NULL,"
	" text TEXT NOT NULL, isFinal INTEGER NOT NULL,"
	" timestamp INTEGER NOT NULL, translations TEXT);"
	"CREATE INDEX IF NOT EXISTS CallTranscription_call_time"
	" ON CallTranscription(callSessionId, timestamp);"
	"CREATE INDEX IF NOT EXISTS CallTranscription_part_lang"
	" ON CallTranscription(participantId, language);"
	"CREATE TABLE IF NOT EXISTS QualityMetric("
	" callSessionId TEXT NOT NULL, participantId TEXT NOT NULL,"
	" at INTEGER NOT NULL, packetsLost INTEGER, packetsReceived INTEGER,"
	" packetLossRate REAL, jitter REAL, bytesReceived INTEGER,"
	" framesDecoded INTEGER, frameWidth INTEGER, frameHeight INTEGER);"
	"CREATE INDEX IF NOT EXISTS QualityMetric_call_at"
	" ON QualityMetric(callSessionId, at);"
	/* Meeshy's ConversationMember, its field names */
	"CREATE TABLE IF NOT EXISTS ConversationMember("
	" conversationId TEXT NOT NULL, userId TEXT NOT NULL,"
	" role TEXT NOT NULL, joinedAt INTEGER, leftAt INTEGER,"
	" isActive INTEGER NOT NULL, PRIMARY KEY(conversationId, userId));";

static const char *const sql[S_COUNT] = {
	[S_CALL_PUT] = "INSERT INTO CallSession VALUES(?,?,?,?,?,?,?,?,?,?,?)"
		       " ON CONFLICT(id) DO UPDATE SET type=excluded.type,"
		       " mode=excluded.mode, status=excluded.status,"
		       " mediaServerId=excluded.mediaServerId,"
		       " startedAt=excluded.startedAt,"
		       " endedAt=excluded.endedAt,"
		       " endReason=excluded.endReason",
	[S_CALL_GET] = "SELECT * FROM CallSession WHERE id=?",
	[S_CALLS_CONV] = "SELECT * FROM CallSession WHERE conversationId=?"
			 " ORDER BY createdAt DESC LIMIT ?",
	[S_CALLS_CONV_STATUS] = "SELECT * FROM CallSession WHERE"
				" conversationId=? AND status=?"
				" ORDER BY createdAt DESC LIMIT ?",
	/* mode IN (...) lets the (mode, status) index serve this */
	[S_CALLS_STATUS] = "SELECT * FROM CallSession WHERE mode IN"
			   " ('p2p','sfu') AND status=? LIMIT ?",
	[S_PART_PUT] = "INSERT INTO CallParticipant VALUES(?,?,?,?,?,?,?,?)"
		       " ON CONFLICT(id) DO UPDATE SET status=excluded.status,"
		       " joinedAt=excluded.joinedAt, leftAt=excluded.leftAt,"
		       " audioEnabled=excluded.audioEnabled,"
		       " videoEnabled=excluded.videoEnabled",
	[S_PARTS] = "SELECT * FROM CallParticipant WHERE callSessionId=?"
		    " ORDER BY joinedAt, rowid",
	[S_TRANS_PUT] = "INSERT INTO CallTranscription VALUES(?,?,?,?,?,?,?,?)"
			" ON CONFLICT(id) DO UPDATE SET text=excluded.text,"
			" isFinal=excluded.isFinal,"
			" translations=excluded.translations",
	[S_TRANS] = "SELECT * FROM CallTranscription WHERE callSessionId=?"
		    " ORDER BY timestamp, rowid",
	[S_QUAL_PUT] =
		"INSERT INTO QualityMetric VALUES(?,?,?,?,?,?,?,?,?,?,?)",
	[S_QUAL] = "SELECT * FROM QualityMetric WHERE callSessionId=?"
		   " ORDER BY at",
	[S_ARCH_SELECT] = "SELECT * FROM CallSession WHERE status IN"
			  " ('ended','failed') AND endedAt<? ORDER BY endedAt"
			  " LIMIT 500",
	[S_ARCH_DEL_CALL] = "DELETE FROM CallSession WHERE id=?",
	[S_ARCH_DEL_PART] = "DELETE FROM CallParticipant WHERE callSessionId=?",
	[S_ARCH_DEL_TRANS] = "DELETE FROM CallTranscription"
			     " WHERE callSessionId=?",
	[S_ARCH_DEL_QUAL] = "DELETE FROM QualityMetric WHERE callSessionId=?",
	[S_MEMBER_PUT] = "INSERT INTO ConversationMember VALUES(?,?,?,?,?,?)"
			 " ON CONFLICT(conversationId, userId) DO UPDATE SET"
			 " role=excluded.role, joinedAt=excluded.joinedAt,"
			 " leftAt=excluded.leftAt, isActive=excluded.isActive",
	[S_MEMBER_GET] = "SELECT * FROM ConversationMember WHERE"
			 " conversationId=? AND userId=?",
};

struct sqlite_store {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
};

/* SQLite result -> errno. Busy, locked, full or I/O trouble may pass: the
 * front queues the write and retries. */
static int map_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
		return EAGAIN;
	case SQLITE_NOMEM:
		return ENOMEM;
	default:
		return EPROTO;
	}
}

static void sq_destructor(void *arg)
{
	struct sqlite_store *s = arg;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
}

static void sq_close(void *state)
{
	mem_deref(state);
}

static int sq_open(void **statep, const char *path)
{
	struct sqlite_store *s;
	char *msg = NULL;
	int rc, err = 0;

	s = mem_zalloc(sizeof(*s), sq_destructor);
	if (!s)
		return ENOMEM;
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		err = map_err(rc) == EAGAIN ? EACCES : EPROTO;
		goto out;
	}
	/* A short busy wait: the event loop must not stall; a write that
	 * still finds the file locked is queued and retried. */
	sqlite3_busy_timeout(s->db, 20);
	rc = sqlite3_exec(s->db, schema, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		err = EPROTO;
		goto out;
	}
	for (int i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &s->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			err = EPROTO;
			goto out;
		}
	}
out:
	sqlite3_free(msg);
	if (err)
		mem_deref(s);
	else
		*statep = s;
	return err;
}

static int sq_ping(void *state)
{
	struct sqlite_store *s = state;
	return map_err(sqlite3_exec(s->db, "SELECT 1", NULL, NULL, NULL));
}

/* A turn's writes in one transaction (store.c): one commit, one lock. */
static int sq_begin(void *state)
{
	struct sqlite_store *s = state;
	return map_err(sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL));
}

static int sq_commit(void *state)
{
	struct sqlite_store *s = state;
	return map_err(sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL));
}

static void sq_rollback(void *state)
{
	struct sqlite_store *s = state;
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Binding helpers: 0 stands for "not set" and is stored as NULL. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, (sqlite3_int64)v);
	else
		sqlite3_bind_null(st, i);
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	str_ncpy(dst, v ? (const char *)v : "", size);
}

static uint64_t col_time(sqlite3_stmt *st, int i)
{
	return (uint64_t)sqlite3_column_int64(st, i);
}

/* Steps a bound query: row() reads each row and hands it on (non-zero stops
 * the loop); the statement is reset for its next use either way. */
static int each_row(sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *arg),
		    void *arg)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row(st, arg))
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 0 : map_err(rc);
}

/* A record callback with its argument, for the row readers below (a
 * generic function pointer, cast back to the record's type to call). */
typedef void(any_fn)(void);
struct row_cb {
	any_fn *h;
	void *arg;
};

/* Runs a write statement to completion and resets it. */
static int step_write(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return map_err(rc);
}

static int sq_call_put(void *state, const struct call_session *c)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_CALL_PUT];
	bind_text(st, 1, c->id);
	bind_text(st, 2, c->conversationId);
	bind_text(st, 3, c->initiatorId);
	bind_text(st, 4, c->type);
	bind_text(st, 5, c->mode);
	bind_text(st, 6, c->status);
	bind_text(st, 7, c->mediaServerId);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)c->createdAt);
	bind_time(st, 9, c->startedAt);
	bind_time(st, 10, c->endedAt);
	bind_text(st, 11, c->endReason);
	return step_write(st);
}

static void read_call(sqlite3_stmt *st, struct call_session *c)
{
	memset(c, 0, sizeof(*c));
	col_text(st, 0, c->id, sizeof(c->id));
	col_text(st, 1, c->conversationId, sizeof(c->conversationId));
	col_text(st, 2, c->initiatorId, sizeof(c->initiatorId));
	col_text(st, 3, c->type, sizeof(c->type));
	col_text(st, 4, c->mode, sizeof(c->mode));
	col_text(st, 5, c->status, sizeof(c->status));
	col_text(st, 6, c->mediaServerId, sizeof(c->mediaServerId));
	c->createdAt = col_time(st, 7);
	c->startedAt = col_time(st, 8);
	c->endedAt = col_time(st, 9);
	col_text(st, 10, c->endReason, sizeof(c->endReason));
}

static int sq_call_get(void *state, const char *id, struct call_session *c)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_CALL_GET];
	int rc, err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_call(st, c);
		err = 0;
	} else {
		err = rc == SQLITE_DONE ? ENOENT : map_err(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

static int call_row(sqlite3_stmt *st, void *arg)
{
	const struct row_cb *cb = arg;
	struct call_session c;
	read_call(st, &c);
	return ((store_call_h *)cb->h)(&c, cb->arg);
}

static int sq_calls_by_conversation(void *state, const char *conv,
				    const char *status, unsigned limit,
				    store_call_h *h, void *arg)
{
	struct sqlite_store *s = state;
	sqlite3_stmt *st = s->st[status ? S_CALLS_CONV_STATUS : S_CALLS_CONV];
	struct row_cb cb = {(any_fn *)h, arg};
	int i = 1;

	sqlite3_bind_text(st, i++, conv, -1, SQLITE_STATIC);
	if (status)
		sqlite3_bind_text(st, i++, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i, (int)limit);
	return each_row(st, call_row, &cb);
}

static int sq_calls_by_status(void *state, const char *status, unsigned limit,
			      store_call_h *h, void *arg)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_CALLS_STATUS];
	struct row_cb cb = {(any_fn *)h, arg};

	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)limit);
	return each_row(st, call_row, &cb);
}

static int sq_participant_put(void *state, const struct call_participant *p)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_PART_PUT];
	bind_text(st, 1, p->id);
	bind_text(st, 2, p->callSessionId);
	bind_text(st, 3, p->userId);
	bind_text(st, 4, p->status);
	bind_time(st, 5, p->joinedAt);
	bind_time(st, 6, p->leftAt);
	sqlite3_bind_int(st, 7, p->audioEnabled);
	sqlite3_bind_int(st, 8, p->videoEnabled);
	return step_write(st);
}

static void read_participant(sqlite3_stmt *st, struct call_participant *p)
{
	memset(p, 0, sizeof(*p));
	col_text(st, 0, p->id, sizeof(p->id));
	col_text(st, 1, p->callSessionId, sizeof(p->callSessionId));
	col_text(st, 2, p->userId, sizeof(p->userId));
	col_text(st, 3, p->status, sizeof(p->status));
	p->joinedAt = col_time(st, 4);
	p->leftAt = col_time(st, 5);
	p->audioEnabled = sqlite3_column_int(st, 6) != 0;
	p->videoEnabled = sqlite3_column_int(st, 7) != 0;
}

static int participant_row(sqlite3_stmt *st, void *arg)
{
	const struct row_cb *cb = arg;
	struct call_participant p;
	read_participant(st, &p);
	return ((store_participant_h *)cb->h)(&p, cb->arg);
}

static int sq_participants(void *state, const char *call_id,
			   store_participant_h *h, void *arg)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_PARTS];
	struct row_cb cb = {(any_fn *)h, arg};
	sqlite3_bind_text(st, 1, call_id, -1, SQLITE_STATIC);
	return each_row(st, participant_row, &cb);
}

static int sq_member_put(void *state, const struct conversation_member *m)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_MEMBER_PUT];
	bind_text(st, 1, m->conversationId);
	bind_text(st, 2, m->userId);
	bind_text(st, 3, m->role[0] ? m->role : "member");
	bind_time(st, 4, m->joinedAt);
	bind_time(st, 5, m->leftAt);
	sqlite3_bind_int(st, 6, m->isActive);
	return step_write(st);
}

static int sq_member_get(void *state, const char *conv, const char *user,
			 struct conversation_member *m)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_MEMBER_GET];
	int rc, err = 0;
	sqlite3_bind_text(st, 1, conv, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(m, 0, sizeof(*m));
		col_text(st, 0, m->conversationId, sizeof(m->conversationId));
		col_text(st, 1, m->userId, sizeof(m->userId));
		col_text(st, 2, m->role, sizeof(m->role));
		m->joinedAt = col_time(st, 3);
		m->leftAt = col_time(st, 4);
		m->isActive = sqlite3_column_int(st, 5) != 0;
	} else {
		err = rc == SQLITE_DONE ? ENOENT : map_err(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

static int sq_transcription_put(void *state, const struct call_transcription *t)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_TRANS_PUT];
	bind_text(st, 1, t->id);
	bind_text(st, 2, t->callSessionId);
	bind_text(st, 3, t->participantId);
	bind_text(st, 4, t->language);
	sqlite3_bind_text(st, 5, t->text ? t->text : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, t->isFinal);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)t->timestamp);
	bind_text(st, 8, t->translations);
	return step_write(st);
}

static int transcription_row(sqlite3_stmt *st, void *arg)
{
	const struct row_cb *cb = arg;
	struct call_transcription t;
	memset(&t, 0, sizeof(t));
	col_text(st, 0, t.id, sizeof(t.id));
	col_text(st, 1, t.callSessionId, sizeof(t.callSessionId));
	col_text(st, 2, t.participantId, sizeof(t.participantId));
	col_text(st, 3, t.language, sizeof(t.language));
	t.text = (const char *)sqlite3_column_text(st, 4);
	t.isFinal = sqlite3_column_int(st, 5) != 0;
	t.timestamp = col_time(st, 6);
	t.translations = (const char *)sqlite3_column_text(st, 7);
	return ((store_transcription_h *)cb->h)(&t, cb->arg);
}

static int sq_transcriptions(void *state, const char *call_id,
			     store_transcription_h *h, void *arg)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_TRANS];
	struct row_cb cb = {(any_fn *)h, arg};
	sqlite3_bind_text(st, 1, call_id, -1, SQLITE_STATIC);
	return each_row(st, transcription_row, &cb);
}

static int sq_quality_put(void *state, const struct quality_metric *q)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_QUAL_PUT];
	bind_text(st, 1, q->callSessionId);
	bind_text(st, 2, q->participantId);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)q->at);
	sqlite3_bind_int64(st, 4, q->packetsLost);
	sqlite3_bind_int64(st, 5, q->packetsReceived);
	sqlite3_bind_double(st, 6, q->packetLossRate);
	sqlite3_bind_double(st, 7, q->jitter);
	sqlite3_bind_int64(st, 8, q->bytesReceived);
	sqlite3_bind_int64(st, 9, q->framesDecoded);
	sqlite3_bind_int(st, 10, q->frameWidth);
	sqlite3_bind_int(st, 11, q->frameHeight);
	return step_write(st);
}

static int quality_row(sqlite3_stmt *st, void *arg)
{
	const struct row_cb *cb = arg;
	struct quality_metric q;
	memset(&q, 0, sizeof(q));
	col_text(st, 0, q.callSessionId, sizeof(q.callSessionId));
	col_text(st, 1, q.participantId, sizeof(q.participantId));
	q.at = col_time(st, 2);
	q.packetsLost = sqlite3_column_int64(st, 3);
	q.packetsReceived = sqlite3_column_int64(st, 4);
	q.packetLossRate = sqlite3_column_double(st, 5);
	q.jitter = sqlite3_column_double(st, 6);
	q.bytesReceived = sqlite3_column_int64(st, 7);
	q.framesDecoded = sqlite3_column_int64(st, 8);
	q.frameWidth = sqlite3_column_int(st, 9);
	q.frameHeight = sqlite3_column_int(st, 10);
	return ((store_quality_h *)cb->h)(&q, cb->arg);
}

static int sq_quality(void *state, const char *call_id, store_quality_h *h,
		      void *arg)
{
	sqlite3_stmt *st = ((struct sqlite_store *)state)->st[S_QUAL];
	struct row_cb cb = {(any_fn *)h, arg};
	sqlite3_bind_text(st, 1, call_id, -1, SQLITE_STATIC);
	return each_row(st, quality_row, &cb);
}

/* One archived call: the session with everything recorded about it. */
struct arch_doc {
	struct cJSON *parts, *trans, *qual;
};

static int add_part(const struct call_participant *p, void *arg)
{
	cJSON_AddItemToArray(((struct arch_doc *)arg)->parts,
			     store_participant_json(p));
	return 0;
}

static int add_trans(const struct call_transcription *t, void *arg)
{
	cJSON_AddItemToArray(((struct arch_doc *)arg)->trans,
			     store_transcription_json(t));
	return 0;
}

static int add_qual(const struct quality_metric *q, void *arg)
{
	cJSON_AddItemToArray(((struct arch_doc *)arg)->qual,
			     store_quality_json(q));
	return 0;
}

static int delete_call(struct sqlite_store *s, const char *id)
{
	static const enum stmt_id dels[] = {S_ARCH_DEL_PART, S_ARCH_DEL_TRANS,
					    S_ARCH_DEL_QUAL, S_ARCH_DEL_CALL};
	int err = 0;
	for (size_t i = 0; i < ARRAY_SIZE(dels) && !err; i++) {
		sqlite3_stmt *st = s->st[dels[i]];
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		err = step_write(st);
	}
	return err;
}

static int sq_archive(void *state, uint64_t before_ms,
		      int (*emit)(const char *line, void *arg), void *arg,
		      size_t *archived)
{
	struct sqlite_store *s = state;
	sqlite3_stmt *sel = s->st[S_ARCH_SELECT];
	struct call_session c;
	char(*ids)[STORE_ID_MAX + 1] = NULL;
	size_t n, total = 0;
	int rc, err = 0;

	ids = mem_alloc(500 * sizeof(*ids), NULL);
	if (!ids)
		return ENOMEM;
	do {
		n = 0;
		sqlite3_bind_int64(sel, 1, (sqlite3_int64)before_ms);
		while (!err && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
			struct arch_doc d;
			cJSON *doc;
			char *line;

			read_call(sel, &c);
			doc = store_call_json(&c);
			d.parts = cJSON_AddArrayToObject(doc, "participants");
			d.trans = cJSON_AddArrayToObject(doc, "transcriptions");
			d.qual = cJSON_AddArrayToObject(doc, "qualityMetrics");
			err = sq_participants(s, c.id, add_part, &d);
			err |= sq_transcriptions(s, c.id, add_trans, &d);
			err |= sq_quality(s, c.id, add_qual, &d);
			line = err ? NULL : cJSON_PrintUnformatted(doc);
			cJSON_Delete(doc);
			if (!err && !line)
				err = ENOMEM;
			if (!err)
				err = emit(line, arg);
			cJSON_free(line);
			if (!err)
				str_ncpy(ids[n++], c.id, sizeof(ids[0]));
		}
		sqlite3_reset(sel);
		sqlite3_clear_bindings(sel);
		/* Delete only what the sink has made durable. */
		if (!err && n)
			err = emit(NULL, arg);
		if (!err && n) {
			err = map_err(sqlite3_exec(s->db, "BEGIN", 0, 0, 0));
			for (size_t i = 0; i < n && !err; i++)
				err = delete_call(s, ids[i]);
			if (!err)
				err = map_err(
					sqlite3_exec(s->db, "COMMIT", 0, 0, 0));
			if (err)
				sqlite3_exec(s->db, "ROLLBACK", 0, 0, 0);
			else
				total += n;
		}
	} while (!err && n == 500);
	mem_deref(ids);
	if (archived)
		*archived = total;
	return err;
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.ping = sq_ping,
	.call_put = sq_call_put,
	.call_get = sq_call_get,
	.calls_by_conversation = sq_calls_by_conversation,
	.calls_by_status = sq_calls_by_status,
	.participant_put = sq_participant_put,
	.participants = sq_participants,
	.transcription_put = sq_transcription_put,
	.transcriptions = sq_transcriptions,
	.quality_put = sq_quality_put,
	.quality = sq_quality,
	.member_put = sq_member_put,
	.member_get = sq_member_get,
	.archive = sq_archive,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
};
