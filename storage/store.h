/*
 * store.h - the call records and where they live.
 *
 * The four records of the seed (CallSession, CallParticipant,
 * CallTranscription, QualityMetric) with the field names the seed uses, and
 * one door to keep them: SQLite (storage/sqlite, the embedded default) or
 * MongoDB (storage/mongo). A backend is a struct of function pointers, so the
 * gateway never knows which one it talks to.
 *
 * Nothing is lost when the backend cannot take a write: the write is kept in
 * an ordered queue in memory and retried every second until it lands. The
 * queue is bounded: once full, a put answers ENOSPC and the caller says so
 * (nothing is dropped silently). Reads
 * see the backend only (a queued write is not visible to a read until it has
 * landed).
 *
 * Times are milliseconds since the Unix epoch; 0 means "not set".
 */
#ifndef MEESHY_STORE_H
#define MEESHY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	STORE_ID_MAX = 128, /* longest id, user id or conversation id */
	STORE_RETENTION_DAYS = 90,
	/* the write queue (a turn's writes, and all of them while the
	 * backend cannot take writes): beyond these, new records are refused
	 * with ENOSPC and counted */
	STORE_QUEUE_MAX = 20000,
	STORE_QUEUE_MAX_BYTES = 16 * 1024 * 1024,
	STORE_FLUSH_SLICE = 200, /* writes landed per turn of the loop */
	/* how long a write put "soon" may wait for others to land with */
	STORE_SOON_MS = 100,
};

struct call_session {
	char id[STORE_ID_MAX + 1];
	char conversationId[STORE_ID_MAX + 1];
	char initiatorId[STORE_ID_MAX + 1];
	char type[8];    /* audio | video */
	char mode[8];    /* p2p | sfu */
	char status[12]; /* initiated | active | ended | failed */
	char mediaServerId[STORE_ID_MAX + 1];
	uint64_t createdAt, startedAt, endedAt;
	char endReason[64];
};

struct call_participant {
	char id[STORE_ID_MAX + 1];
	char callSessionId[STORE_ID_MAX + 1];
	char userId[STORE_ID_MAX + 1];
	char status[8]; /* invited | joined | left | failed */
	uint64_t joinedAt, leftAt;
	bool audioEnabled, videoEnabled;
	bool initiator; /* Meeshy's role (MongoDB only: SQLite reads false) */
};

struct call_transcription {
	char id[STORE_ID_MAX + 1];
	char callSessionId[STORE_ID_MAX + 1];
	char participantId[STORE_ID_MAX + 1];
	char language[16];
	const char *text; /* UTF-8, borrowed by puts, owned by reads */
	bool isFinal;
	uint64_t timestamp;
	const char *translations; /* JSON object text {"fr":"..."}, or NULL */
};

struct quality_metric {
	char callSessionId[STORE_ID_MAX + 1];
	char participantId[STORE_ID_MAX + 1];
	uint64_t at;
	int64_t packetsLost, packetsReceived, bytesReceived, framesDecoded;
	double packetLossRate, jitter;
	int32_t frameWidth, frameHeight;
};

/* A user's place in a conversation, as Meeshy's ConversationMember holds
 * it: who may ring and join the conversation's calls when the token does
 * not say (docs/meeshy.md). */
struct conversation_member {
	char conversationId[STORE_ID_MAX + 1];
	char userId[STORE_ID_MAX + 1];
	char role[16]; /* admin | moderator | member */
	uint64_t joinedAt, leftAt;
	bool isActive;
};

/* An anonymous participant of Meeshy (AnonymousParticipant, joined
 * through a share link), found by the session token its client holds. */
struct anonymous_session {
	char id[STORE_ID_MAX + 1]; /* its participant id: its user id here */
	char conversationId[STORE_ID_MAX + 1];
	char username[STORE_ID_MAX + 1];
	char language[16];
	bool isActive;        /* the participant, and its share link, */
	bool linkActive;      /* still active, */
	uint64_t linkExpires; /* and the link not expired (0: never) */
};

/* Read callbacks: the record is valid during the call only. Return non-zero
 * to stop the iteration. */
typedef int(store_call_h)(const struct call_session *c, void *arg);
typedef int(store_participant_h)(const struct call_participant *p, void *arg);
typedef int(store_transcription_h)(const struct call_transcription *t,
				   void *arg);
typedef int(store_quality_h)(const struct quality_metric *q, void *arg);

/* The backend contract. Every write is an upsert by id (quality metrics are
 * appended). Functions return 0 or an errno value; EAGAIN means "cannot take
 * it now, try later" and makes the front queue the write. */
struct store_backend {
	const char *name;
	int (*open)(void **statep, const char *location);
	void (*close)(void *state);
	int (*ping)(void *state);
	int (*call_put)(void *state, const struct call_session *c);
	int (*call_get)(void *state, const char *id, struct call_session *c);
	int (*calls_by_conversation)(void *state, const char *conversationId,
				     const char *status, unsigned limit,
				     store_call_h *h, void *arg);
	int (*calls_by_status)(void *state, const char *status, unsigned limit,
			       store_call_h *h, void *arg);
	int (*participant_put)(void *state, const struct call_participant *p);
	int (*participants)(void *state, const char *callSessionId,
			    store_participant_h *h, void *arg);
	int (*transcription_put)(void *state,
				 const struct call_transcription *t);
	int (*transcriptions)(void *state, const char *callSessionId,
			      store_transcription_h *h, void *arg);
	int (*quality_put)(void *state, const struct quality_metric *q);
	int (*quality)(void *state, const char *callSessionId,
		       store_quality_h *h, void *arg);
	/* Membership, upserted by (conversationId, userId); ENOENT when
	 * none. ENOTSUP: the backend reads a membership others write. */
	int (*member_put)(void *state, const struct conversation_member *m);
	int (*member_get)(void *state, const char *conversationId,
			  const char *userId, struct conversation_member *m);
	/* Optional: Meeshy's anonymous participants (MongoDB); ENOENT. */
	int (*anonymous_get)(void *state, const char *sessionToken,
			     struct anonymous_session *a);
	/* Archiving: emit each ended call older than before_ms as one JSON
	 * line; emit(NULL) asks the sink to make what it has durable, and
	 * only when that succeeds are those calls deleted. */
	int (*archive)(void *state, uint64_t before_ms,
		       int (*emit)(const char *line, void *arg), void *arg,
		       size_t *archived);
	/* Optional: the writes between begin and commit land together
	 * (SQLite: one transaction, one WAL commit); rollback undoes them. */
	int (*begin)(void *state);
	int (*commit)(void *state);
	void (*rollback)(void *state);
};

extern const struct store_backend store_sqlite;
/* In a build without mongo-c-driver, one whose open says ENOSYS. */
extern const struct store_backend store_mongo;

/* Latency of backend calls, for meeshy_db_query_duration_seconds. */
enum { STORE_LAT_BUCKETS = 8 };
extern const double store_lat_bounds[STORE_LAT_BUCKETS];
struct store_stats {
	uint64_t lat_count[STORE_LAT_BUCKETS + 1]; /* last one is +Inf */
	uint64_t lat_n;
	double lat_sum;
	uint64_t writes, write_errors, queued_now, queued_total, ops;
	uint64_t refused_full;     /* writes refused: the queue was full */
	uint64_t journaled;        /* queued writes appended to the journal */
	uint64_t journal_errors;   /* appends or syncs that failed */
	uint64_t journal_replayed; /* writes of a previous run, at start */
};

struct store;

/* location: "sqlite:PATH" (or a bare path), or "mongodb://..." (ENOSYS in
 * a build without mongo-c-driver). */
int store_open(struct store **sp, const char *location);
const char *store_backend_name(const struct store *s);
/* location as it may be logged: a password in a URI becomes "***". */
void store_location_safe(char *buf, size_t size, const char *location);
int store_ping(struct store *s);

int store_call_put(struct store *s, const struct call_session *c);
int store_call_get(struct store *s, const char *id, struct call_session *c);
int store_calls_by_conversation(struct store *s, const char *conversationId,
				const char *status, unsigned limit,
				store_call_h *h, void *arg);
/* Calls in a status, any conversation (recovery after a restart). */
int store_calls_by_status(struct store *s, const char *status, unsigned limit,
			  store_call_h *h, void *arg);
int store_participant_put(struct store *s, const struct call_participant *p);
/* The same, for state a client may change many times a second (its media
 * flags): the write may wait up to STORE_SOON_MS, so that a burst of them
 * lands in one transaction instead of one per turn of the loop. */
int store_participant_put_soon(struct store *s,
			       const struct call_participant *p);
int store_participants(struct store *s, const char *callSessionId,
		       store_participant_h *h, void *arg);
int store_transcription_put(struct store *s,
			    const struct call_transcription *t);
int store_transcriptions(struct store *s, const char *callSessionId,
			 store_transcription_h *h, void *arg);
int store_quality_put(struct store *s, const struct quality_metric *q);
int store_quality(struct store *s, const char *callSessionId,
		  store_quality_h *h, void *arg);
/* A membership, queued like every write (ENOTSUP on MongoDB, where
 * Meeshy's own ConversationMember collection is read). */
int store_member_put(struct store *s, const struct conversation_member *m);
/* The user's membership of the conversation; ENOENT when none. */
int store_member_get(struct store *s, const char *conversationId,
		     const char *userId, struct conversation_member *m);
/* Meeshy's anonymous participant holding this session token; ENOENT when
 * none (always on SQLite: Meeshy keeps them in its MongoDB). */
int store_anonymous_get(struct store *s, const char *sessionToken,
			struct anonymous_session *a);

/* Writes each ended call older than before_ms to DIR/calls-YYYY-MM-DD.jsonl
 * (the day of the run, UTC), fsyncs, then deletes them. */
int store_archive(struct store *s, uint64_t before_ms, const char *dir,
		  size_t *archived);
/* Runs store_archive with the 90-day retention every day at 02:00 UTC. */
int store_archive_schedule(struct store *s, const char *dir);
/* Milliseconds from now_ms until the next 02:00 UTC. */
uint64_t store_archive_next_delay(uint64_t now_ms);

/* The write queue's bounds (STORE_QUEUE_MAX, STORE_QUEUE_MAX_BYTES by
 * default). */
void store_set_queue_limits(struct store *s, size_t writes, size_t bytes);
/* Before answering a client: lands now what was put without "soon" since
 * the last landing (and everything queued before it), so that an answer
 * never leaves before the write it acknowledges is committed. Nothing to
 * do when only "soon" writes wait, or while the backend cannot take
 * writes (they stay queued, and /health says so). */
void store_land_before_answer(struct store *s);
/* Retries queued writes now (the timer also does, every second). */
void store_flush(struct store *s);
/* Keeps the writes queued while the backend cannot take them in a journal
 * file at path too (storage/journal.h), synced before the answer that
 * acknowledges one, so that what clients were told is stored outlives the
 * process (a crash, a stop while Mongo is away); emptied once they land.
 * Writes a previous run left there are queued now, ahead of this run's
 * (*replayed: how many), and land as soon as the backend takes them: at
 * least once (calls, participants, transcriptions and memberships are
 * upserts; a quality sample may be stored twice after a crash mid-
 * landing). */
int store_journal_open(struct store *s, const char *path, size_t *replayed);
void store_get_stats(const struct store *s, struct store_stats *st);

/* Records <-> JSON (cJSON), shared by the REST API and the archive. */
struct cJSON;
struct cJSON *store_call_json(const struct call_session *c);
struct cJSON *store_participant_json(const struct call_participant *p);
struct cJSON *store_transcription_json(const struct call_transcription *t);
struct cJSON *store_quality_json(const struct quality_metric *q);
struct cJSON *store_member_json(const struct conversation_member *m);
/* name: ms as store_iso_time writes it, or null for 0. */
void store_json_time(struct cJSON *o, const char *name, uint64_t ms);
/* ISO 8601 UTC with milliseconds, or "" for 0. buf >= 25 bytes. */
void store_iso_time(char *buf, size_t size, uint64_t ms);

#endif
