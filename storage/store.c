/*
 * store.c - the store front: picks the backend, times every call for
 * meeshy_db_query_duration_seconds, and keeps writes the backend cannot take
 * now in an ordered queue that a timer retries every second.
 *
 * Order matters (a participant's "left" must not land before its "joined"),
 * so while anything is queued, new writes queue behind it. A call's or a
 * participant's record already queued is replaced where it stands (writes
 * are upserts: only its last state has to land), so those take one place
 * per record; appended records (transcriptions, metrics) are refused with
 * ENOSPC once the queue holds STORE_QUEUE_MAX writes or
 * STORE_QUEUE_MAX_BYTES. The queue lands in slices of STORE_FLUSH_SLICE
 * writes, each its own turn of the event loop, so a long one never holds
 * the loop (and /health) for long.
 *
 * Every write goes through the queue: it lands at the end of the loop's
 * turn, with the turn's other writes in one transaction where the backend
 * has them (SQLite: one commit instead of one a write, its file lock and
 * WAL append paid once). A burst of events about one participant lands as
 * its last state only. A read lands what is queued first, so it sees every
 * write made before it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "journal.h"
#include "store.h"

const double store_lat_bounds[STORE_LAT_BUCKETS] = {0.0005, 0.001, 0.005, 0.01,
						    0.05,   0.1,   0.5,   1.0};

enum rec_kind { REC_CALL, REC_PART, REC_TRANS, REC_QUAL, REC_MEMBER };

/* buckets of the queue's index by record id: a burst of a few thousand
 * participants' flags finds its queued write in one or two compares */
enum { QUEUE_BUCKETS = 4096 };

struct pending {
	struct le le;
	struct le he; /* calls and participants: in the store's byid */
	enum rec_kind kind;
	union {
		struct call_session c;
		struct call_participant p;
		struct call_transcription t;
		struct quality_metric q;
		struct conversation_member m;
	} u;
	char *text, *translations; /* owned copies for REC_TRANS */
	size_t bytes;              /* what it holds, for the queue's bound */
	bool landed;               /* written in the slice under way */
	bool refused;              /* and refused for good by the backend */
	bool journaled;            /* its state is in the journal */
};

struct store {
	const struct store_backend *be;
	void *state;
	struct list queue;
	size_t nqueued;    /* its length: list_count walks the list */
	struct hash *byid; /* queued calls and participants, by record id */
	size_t queued_bytes;
	size_t max_writes, max_bytes; /* the queue's bounds */
	struct port_timer *retry;     /* the turn's flush, or the retry */
	bool answer_waits; /* a write queued that its answer must follow */
	bool down; /* the last flush found the backend unable to write */
	struct port_timer *archive_tmr;
	char *archive_dir;
	struct journal *journal; /* the queue on disk while down, or NULL */
	bool journal_failing;    /* said so in the log */
	struct store_stats stats;
};

static void pending_destructor(void *arg)
{
	struct pending *w = arg;
	list_unlink(&w->le);
	hash_unlink(&w->he);
	mem_deref(w->text);
	mem_deref(w->translations);
}

static void journal_queue(struct store *s);

static void store_destructor(void *arg)
{
	struct store *s = arg;
	if (!list_isempty(&s->queue) && s->journal) {
		journal_queue(s);
		port_log(s->journal_failing ? PORT_LOG_ERROR : PORT_LOG_WARN,
			 "store: closing with %zu queued writes not landed%s%s",
			 s->nqueued,
			 s->journal_failing ? ""
					    : "; the next start lands"
					      " them from ",
			 s->journal_failing ? "" : journal_path(s->journal));
	} else if (!list_isempty(&s->queue))
		port_log(PORT_LOG_ERROR,
			 "store: closing with %zu queued writes not landed",
			 s->nqueued);
	list_flush(&s->queue);
	mem_deref(s->journal);
	mem_deref(s->byid);
	mem_deref(s->retry);
	mem_deref(s->archive_tmr);
	mem_deref(s->archive_dir);
	if (s->be && s->state)
		s->be->close(s->state);
}

static void lat_observe(struct store *s, uint64_t t0)
{
	double secs = (double)(port_now_us() - t0) / 1e6;
	int i;
	for (i = 0; i < STORE_LAT_BUCKETS; i++)
		if (secs <= store_lat_bounds[i])
			break;
	s->stats.lat_count[i]++;
	s->stats.lat_n++;
	s->stats.lat_sum += secs;
	s->stats.ops++;
}

int store_open(struct store **sp, const char *location)
{
	const struct store_backend *be = &store_sqlite;
	struct store *s;
	const char *path = location;
	int err;

	if (!sp || !location || !*location)
		return EINVAL;
	if (!strncmp(location, "mongodb://", 10) ||
	    !strncmp(location, "mongodb+srv://", 14)) {
		be = &store_mongo; /* ENOSYS at open in a build without it */
	} else if (!strncmp(location, "sqlite:", 7))
		path = location + 7;

	s = mem_zalloc(sizeof(*s), store_destructor);
	if (!s)
		return ENOMEM;
	s->be = be;
	s->max_writes = STORE_QUEUE_MAX;
	s->max_bytes = STORE_QUEUE_MAX_BYTES;
	err = hash_alloc(&s->byid, QUEUE_BUCKETS);
	err |= port_timer_alloc(&s->retry);
	err |= port_timer_alloc(&s->archive_tmr);
	if (err)
		goto out;
	err = s->be->open(&s->state, path);
out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}

void store_location_safe(char *buf, size_t size, const char *location)
{
	const char *scheme = strstr(location, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;

	if (!size)
		return;
	if (!at || !colon || colon > at) { /* no user:password@ */
		str_ncpy(buf, location, size);
		return;
	}
	(void)re_snprintf(buf, size, "%b:***%s", location,
			  (size_t)(colon - location), at);
}

const char *store_backend_name(const struct store *s)
{
	return s ? s->be->name : "none";
}

int store_ping(struct store *s)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s)
		return EINVAL;
	err = s->be->ping(s->state);
	lat_observe(s, t0);
	return err;
}

static int backend_write(struct store *s, const struct pending *w)
{
	uint64_t t0 = port_now_us();
	int err = EINVAL;

	switch (w->kind) {
	case REC_CALL:
		err = s->be->call_put(s->state, &w->u.c);
		break;
	case REC_PART:
		err = s->be->participant_put(s->state, &w->u.p);
		break;
	case REC_TRANS:
		err = s->be->transcription_put(s->state, &w->u.t);
		break;
	case REC_QUAL:
		err = s->be->quality_put(s->state, &w->u.q);
		break;
	case REC_MEMBER:
		err = s->be->member_put(s->state, &w->u.m);
		break;
	}
	lat_observe(s, t0);
	return err;
}

static void retry_handler(void *arg);

static void dequeue(struct store *s, struct pending *w)
{
	s->queued_bytes -= w->bytes;
	s->nqueued--;
	mem_deref(w); /* unlinks it */
}

/* Writes up to max queued records in order, marking each w->landed;
 * EAGAIN at the first the backend cannot take now. */
static int write_slice(struct store *s, unsigned max)
{
	for (struct le *le = list_head(&s->queue); le && max--; le = le->next) {
		struct pending *w = le->data;
		int err = backend_write(s, w);
		if (err == EAGAIN)
			return EAGAIN;
		/* Not retryable (the record itself is refused): said loudly
		 * rather than spun on forever. */
		if (err)
			port_log(PORT_LOG_ERROR,
				 "store: %s refused a queued write: %m",
				 s->be->name, err);
		w->landed = true;
		w->refused = err != 0;
	}
	return 0;
}

/* Lands up to max queued writes in order, in one transaction where the
 * backend has them; false when the backend still cannot take them
 * (EAGAIN: then, in a transaction, none of them landed). */
static bool flush_slice(struct store *s, unsigned max)
{
	const bool tx = s->be->begin && s->be->commit && s->be->rollback;
	int err = 0;

	if (list_isempty(&s->queue))
		return true;
	if (tx)
		err = s->be->begin(s->state);
	if (!err)
		err = write_slice(s, max);
	if (!err && tx)
		err = s->be->commit(s->state);
	if (err && tx) {
		s->be->rollback(s->state);
		for (struct le *le = list_head(&s->queue); le; le = le->next)
			((struct pending *)le->data)->landed = false;
	}
	/* what landed leaves the queue; the rest waits, in order */
	while (!list_isempty(&s->queue)) {
		struct pending *w = list_head(&s->queue)->data;
		if (!w->landed)
			break;
		if (w->refused)
			s->stats.write_errors++;
		else
			s->stats.writes++;
		dequeue(s, w);
	}
	return !err;
}

/* The next slice: at once while the backend takes them, in a second when
 * it cannot. */
static void flush_next(struct store *s, bool taking)
{
	if (!s->nqueued)
		s->answer_waits = false;
	s->stats.queued_now = s->nqueued;
	if (!s->stats.queued_now)
		port_timer_cancel(s->retry);
	else
		port_timer_start(s->retry, taking ? 0 : 1000, retry_handler, s);
}

void store_set_queue_limits(struct store *s, size_t writes, size_t bytes)
{
	if (!s)
		return;
	s->max_writes = writes;
	s->max_bytes = bytes;
}

/* The journal: while the backend cannot take writes, every write queued
 * is also appended to a file, synced before an answer that acknowledges
 * one (and at each retry), so that what a client was told is stored
 * survives the process; once the queue has landed the file is emptied. */

static void journal_failed(struct store *s, int err)
{
	s->stats.journal_errors++;
	if (!s->journal_failing)
		port_log(PORT_LOG_ERROR,
			 "store: journal %s: %m; queued writes are in memory"
			 " only until it works again",
			 journal_path(s->journal), err);
	s->journal_failing = true;
}

static void journal_put(struct store *s, struct pending *w)
{
	int err;
	if (!s->journal || w->journaled)
		return;
	err = journal_append(s->journal, (uint8_t)w->kind, &w->u, sizeof(w->u),
			     w->text, w->translations);
	if (err) {
		journal_failed(s, err);
		return;
	}
	w->journaled = true;
	s->stats.journaled++;
}

static void journal_flush(struct store *s)
{
	int err = journal_sync(s->journal);
	if (err)
		journal_failed(s, err);
	else if (s->journal)
		s->journal_failing = false;
}

/* Down: all that waits is in the journal, which is rewritten whole once
 * replaced states (a participant's flags, again and again) have made it
 * more than twice the queue. */
static void journal_queue(struct store *s)
{
	if (!s->journal)
		return;
	if (journal_bytes(s->journal) > 2 * s->queued_bytes + 1024 * 1024) {
		int err = journal_restart(s->journal);
		for (struct le *le = list_head(&s->queue); le; le = le->next)
			((struct pending *)le->data)->journaled = false;
		/* the new file gets each queued write's state, then replaces
		 * the old one */
		for (struct le *le = list_head(&s->queue); le && !err;
		     le = le->next)
			journal_put(s, le->data);
		err = err ? err : journal_commit(s->journal);
		if (err) { /* the old file stays: all again there, below */
			journal_failed(s, err);
			for (struct le *le = list_head(&s->queue); le;
			     le = le->next)
				((struct pending *)le->data)->journaled = false;
		}
	}
	for (struct le *le = list_head(&s->queue); le; le = le->next)
		journal_put(s, le->data);
	journal_flush(s);
}

/* Everything landed: the journal holds nothing any more. */
static void journal_empty(struct store *s)
{
	int err = journal_reset(s->journal);
	if (err && s->journal)
		journal_failed(s, err);
}

/* After a landing: whether the backend took the writes, said once when
 * it stops (then no answer or read waits on it until the retry finds it
 * back), the journal kept or emptied, and the next landing. */
static void landed(struct store *s, bool taking)
{
	if (!taking && !s->down) {
		port_log(PORT_LOG_WARN,
			 "store: %s cannot take writes now;"
			 " queueing them and retrying every second%s%s",
			 s->be->name, s->journal ? ", kept in " : "",
			 s->journal ? journal_path(s->journal) : "");
	}
	s->down = !taking;
	if (s->down)
		journal_queue(s);
	else if (!s->nqueued)
		journal_empty(s);
	flush_next(s, taking);
}

void store_flush(struct store *s)
{
	bool taking = true;

	if (!s)
		return;
	while (taking && !list_isempty(&s->queue))
		taking = flush_slice(s, STORE_FLUSH_SLICE);
	landed(s, taking);
}

static void retry_handler(void *arg)
{
	struct store *s = arg;
	landed(s, flush_slice(s, STORE_FLUSH_SLICE));
}

/* Before a read: what was written before it lands first. */
static void land_queued(struct store *s)
{
	if (!list_isempty(&s->queue) && !s->down)
		store_flush(s);
}

static const char *record_id(const struct pending *w)
{
	return w->kind == REC_CALL ? w->u.c.id : w->u.p.id;
}

static bool same_record(struct le *le, void *arg)
{
	const struct pending *q = le->data, *w = arg;
	return q->kind == w->kind && !strcmp(record_id(q), record_id(w));
}

/* Queues w behind the others (taking ownership), in place of the queued
 * write of the same call or participant if there is one; ENOSPC when the
 * queue is full. */
static int enqueue(struct store *s, struct pending *w)
{
	const bool upsert = w->kind == REC_CALL || w->kind == REC_PART;
	struct le *le = NULL;
	uint32_t h = 0;

	if (upsert) {
		h = hash_joaat_str(record_id(w));
		le = hash_lookup(s->byid, h, same_record, w);
	}
	if (le) {
		struct pending *q = le->data;
		q->u = w->u; /* the record's last state, where it stood */
		mem_deref(w);
		s->stats.queued_total++;
		return 0;
	}
	if (s->nqueued >= s->max_writes ||
	    s->queued_bytes + w->bytes > s->max_bytes) {
		s->stats.refused_full++;
		mem_deref(w);
		return ENOSPC;
	}
	list_append(&s->queue, &w->le, w);
	if (upsert)
		hash_append(s->byid, h, &w->he, w);
	s->queued_bytes += w->bytes;
	s->nqueued++;
	s->stats.queued_total++;
	s->stats.queued_now = s->nqueued;
	return 0;
}

/* Takes ownership of w: queued behind the others, landing before the
 * answer that acknowledges it (store_land_before_answer), else at the end
 * of this turn of the loop, or within STORE_SOON_MS when soon (or, while
 * the backend cannot take writes, when the retry timer finds it can). No
 * attempt is made here, and none while the store is down: each on a
 * locked database can wait out the busy timeout, and the event loop must
 * pay that once, not per event. A write that may wait rides in the same
 * ordered queue: whichever lands first takes all before it. */
static int submit(struct store *s, struct pending *w, bool soon)
{
	w->bytes = sizeof(*w) + (w->text ? strlen(w->text) : 0) +
		   (w->translations ? strlen(w->translations) : 0);
	/* while down, the retry's second stands: no write pulls it in */
	if (!s->down || !port_timer_isrunning(s->retry))
		port_timer_start_within(s->retry, soon ? STORE_SOON_MS : 0,
					retry_handler, s);
	if (!soon)
		s->answer_waits = true;
	if (s->down)
		journal_put(s, w); /* its state, whether it joins or replaces */
	return enqueue(s, w);
}

void store_land_before_answer(struct store *s)
{
	if (!s || !s->answer_waits)
		return;
	s->answer_waits = false;
	if (s->down)
		journal_flush(s);
	else
		land_queued(s);
}

static struct pending *pending_alloc(enum rec_kind kind)
{
	struct pending *w = mem_zalloc(sizeof(*w), pending_destructor);
	if (w)
		w->kind = kind;
	return w;
}

/* A write of the journal a previous run left: queued as it was. */
static int replay_one(uint8_t kind, const void *body, size_t len,
		      const char *text, const char *text2, void *arg)
{
	struct store *s = arg;
	struct pending *w;
	int err = 0;

	if (kind > REC_MEMBER || len != sizeof(w->u) ||
	    (kind == REC_TRANS && !text))
		return 0; /* not one of ours: skipped */
	w = pending_alloc((enum rec_kind)kind);
	if (!w)
		return ENOMEM;
	memcpy(&w->u, body, len);
	if (kind == REC_TRANS) {
		err = str_dup(&w->text, text);
		if (!err && text2)
			err = str_dup(&w->translations, text2);
		w->u.t.text = w->text;
		w->u.t.translations = w->translations;
	}
	w->bytes = sizeof(*w) + (text ? strlen(text) : 0) +
		   (text2 ? strlen(text2) : 0);
	w->journaled = true;
	if (err) {
		mem_deref(w);
		return err;
	}
	(void)enqueue(s, w); /* past the queue's bounds: refused, counted */
	return 0;
}

/* The structs as this build lays them out: a journal of another build is
 * refused, never misread. */
static void journal_layout(char *buf, size_t size)
{
	(void)re_snprintf(buf, size,
			  "store queue v1: call %zu, participant %zu,"
			  " transcription %zu, quality %zu, member %zu",
			  sizeof(struct call_session),
			  sizeof(struct call_participant),
			  sizeof(struct call_transcription),
			  sizeof(struct quality_metric),
			  sizeof(struct conversation_member));
}

int store_journal_open(struct store *s, const char *path, size_t *replayed)
{
	char layout[256];
	size_t n = 0, before;
	int refused = 0, err;

	if (!s || !path || s->journal)
		return EINVAL;
	journal_layout(layout, sizeof(layout));
	before = s->nqueued;
	err = journal_open(&s->journal, path, layout, replay_one, s, &n,
			   &refused);
	if (refused)
		port_log(PORT_LOG_ERROR,
			 "store: %s was written by another build; set aside"
			 " as %s.refused-<time>, its writes not replayed",
			 path, path);
	if (err)
		return err;
	if (n)
		port_log(PORT_LOG_WARN,
			 "store: %zu queued writes of a previous run found in"
			 " %s; landing them first (%zu in the queue)",
			 n, path, s->nqueued - before);
	s->stats.journal_replayed = n;
	if (replayed)
		*replayed = n;
	if (s->nqueued) /* they land now, before anything of this run */
		port_timer_start(s->retry, 0, retry_handler, s);
	return 0;
}

int store_call_put(struct store *s, const struct call_session *c)
{
	struct pending *w;
	if (!s || !c || !c->id[0])
		return EINVAL;
	w = pending_alloc(REC_CALL);
	if (!w)
		return ENOMEM;
	w->u.c = *c;
	return submit(s, w, false);
}

static int participant_put(struct store *s, const struct call_participant *p,
			   bool soon)
{
	struct pending *w;
	if (!s || !p || !p->id[0])
		return EINVAL;
	w = pending_alloc(REC_PART);
	if (!w)
		return ENOMEM;
	w->u.p = *p;
	return submit(s, w, soon);
}

int store_participant_put(struct store *s, const struct call_participant *p)
{
	return participant_put(s, p, false);
}

int store_participant_put_soon(struct store *s,
			       const struct call_participant *p)
{
	return participant_put(s, p, true);
}

int store_transcription_put(struct store *s, const struct call_transcription *t)
{
	struct pending *w;
	int err = 0;
	if (!s || !t || !t->id[0] || !t->text)
		return EINVAL;
	w = pending_alloc(REC_TRANS);
	if (!w)
		return ENOMEM;
	w->u.t = *t;
	err = str_dup(&w->text, t->text);
	if (!err && t->translations)
		err = str_dup(&w->translations, t->translations);
	if (err) {
		mem_deref(w);
		return err;
	}
	w->u.t.text = w->text;
	w->u.t.translations = w->translations;
	return submit(s, w, false);
}

int store_quality_put(struct store *s, const struct quality_metric *q)
{
	struct pending *w;
	if (!s || !q || !q->callSessionId[0])
		return EINVAL;
	w = pending_alloc(REC_QUAL);
	if (!w)
		return ENOMEM;
	w->u.q = *q;
	return submit(s, w, false);
}

int store_member_put(struct store *s, const struct conversation_member *m)
{
	struct pending *w;
	if (!s || !m || !m->conversationId[0] || !m->userId[0])
		return EINVAL;
	if (!s->be->member_put)
		return ENOTSUP;
	w = pending_alloc(REC_MEMBER);
	if (!w)
		return ENOMEM;
	w->u.m = *m;
	return submit(s, w, false);
}

int store_member_get(struct store *s, const char *conv, const char *user,
		     struct conversation_member *m)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !conv || !user || !m)
		return EINVAL;
	land_queued(s);
	err = s->be->member_get ? s->be->member_get(s->state, conv, user, m)
				: ENOENT;
	lat_observe(s, t0);
	return err;
}

int store_anonymous_get(struct store *s, const char *token,
			struct anonymous_session *a)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !token || !a)
		return EINVAL;
	err = s->be->anonymous_get ? s->be->anonymous_get(s->state, token, a)
				   : ENOENT;
	lat_observe(s, t0);
	return err;
}

/* Reads: timed, passed through. */

int store_call_get(struct store *s, const char *id, struct call_session *c)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !id || !c)
		return EINVAL;
	land_queued(s);
	err = s->be->call_get(s->state, id, c);
	lat_observe(s, t0);
	return err;
}

int store_calls_by_conversation(struct store *s, const char *conv,
				const char *status, unsigned limit,
				store_call_h *h, void *arg)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !conv || !h)
		return EINVAL;
	land_queued(s);
	err = s->be->calls_by_conversation(s->state, conv, status, limit, h,
					   arg);
	lat_observe(s, t0);
	return err;
}

int store_calls_by_status(struct store *s, const char *status, unsigned limit,
			  store_call_h *h, void *arg)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !status || !h)
		return EINVAL;
	land_queued(s);
	err = s->be->calls_by_status(s->state, status, limit, h, arg);
	lat_observe(s, t0);
	return err;
}

int store_participants(struct store *s, const char *call_id,
		       store_participant_h *h, void *arg)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !call_id || !h)
		return EINVAL;
	land_queued(s);
	err = s->be->participants(s->state, call_id, h, arg);
	lat_observe(s, t0);
	return err;
}

int store_transcriptions(struct store *s, const char *call_id,
			 store_transcription_h *h, void *arg)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !call_id || !h)
		return EINVAL;
	land_queued(s);
	err = s->be->transcriptions(s->state, call_id, h, arg);
	lat_observe(s, t0);
	return err;
}

int store_quality(struct store *s, const char *call_id, store_quality_h *h,
		  void *arg)
{
	uint64_t t0 = port_now_us();
	int err;
	if (!s || !call_id || !h)
		return EINVAL;
	land_queued(s);
	err = s->be->quality(s->state, call_id, h, arg);
	lat_observe(s, t0);
	return err;
}

void store_get_stats(const struct store *s, struct store_stats *st)
{
	if (s && st)
		*st = s->stats;
}

/* Archiving (the seed's daily job): ended calls past the retention go to a
 * JSON-lines file per day, made durable, then deleted from the store. */

struct archive_sink {
	FILE *f;
	const char *path;
};

static int archive_emit(const char *line, void *arg)
{
	struct archive_sink *k = arg;
	if (!line) {
		if (fflush(k->f) != 0 || fsync(fileno(k->f)) != 0)
			return errno ? errno : EIO;
		return 0;
	}
	if (fputs(line, k->f) < 0 || fputc('\n', k->f) == EOF)
		return errno ? errno : EIO;
	return 0;
}

int store_archive(struct store *s, uint64_t before_ms, const char *dir,
		  size_t *archived)
{
	struct archive_sink k;
	char path[1024], day[32];
	int err;

	if (!s || !dir)
		return EINVAL;
	land_queued(s);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return errno;
	store_iso_time(day, sizeof(day), port_wallclock_ms());
	day[10] = '\0';
	if (re_snprintf(path, sizeof(path), "%s/calls-%s.jsonl", dir, day) < 0)
		return ENAMETOOLONG;
	k.path = path;
	k.f = fopen(path, "a");
	if (!k.f)
		return errno;
	err = s->be->archive(s->state, before_ms, archive_emit, &k, archived);
	if (fclose(k.f) != 0 && !err)
		err = errno;
	return err;
}

uint64_t store_archive_next_delay(uint64_t now_ms)
{
	const uint64_t day = 86400000u, at = 2u * 3600000u;
	uint64_t into = now_ms % day;
	return into < at ? at - into : day - into + at;
}

static void archive_handler(void *arg)
{
	struct store *s = arg;
	uint64_t now = port_wallclock_ms();
	uint64_t before = now - (uint64_t)STORE_RETENTION_DAYS * 86400000u;
	size_t n = 0;
	int err;

	err = store_archive(s, before, s->archive_dir, &n);
	if (err)
		port_log(PORT_LOG_ERROR,
			 "archive: to %s failed after %zu calls: %m",
			 s->archive_dir, n, err);
	else
		port_log(PORT_LOG_INFO,
			 "archive: %zu calls ended before %d"
			 " days ago moved to %s",
			 n, STORE_RETENTION_DAYS, s->archive_dir);
	port_timer_start(s->archive_tmr,
			 store_archive_next_delay(port_wallclock_ms()),
			 archive_handler, s);
}

int store_archive_schedule(struct store *s, const char *dir)
{
	int err;
	if (!s || !dir)
		return EINVAL;
	s->archive_dir = mem_deref(s->archive_dir);
	err = str_dup(&s->archive_dir, dir);
	if (err)
		return err;
	port_timer_start(s->archive_tmr,
			 store_archive_next_delay(port_wallclock_ms()),
			 archive_handler, s);
	return 0;
}
