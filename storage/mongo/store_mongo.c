/*
 * store_mongo.c - the MongoDB store (mongo-c-driver), for deployments that
 * run a replica set, as the seed does.
 *
 * A client pool built from the URI, so the pool settings (maxPoolSize,
 * minPoolSize, waitQueueTimeoutMS...) and the replica set come from there.
 * Every write goes to the primary with the URI's write concern; reads go
 * where mongo_read_for() says (live call state from the primary, history
 * from a secondary when there is one).
 *
 * The store front calls backends from the event loop, so a Mongo that is
 * away must answer quickly. The front already queues a write that fails
 * with EAGAIN and retries it every second, so the driver need not wait for
 * a server: unless the URI says otherwise, server selection gives up after
 * 200 ms and a connect after 1 s. After such a failure every operation
 * answers EAGAIN at once for a second; then one goes to the driver again
 * (the front's retry). A Mongo that is away costs the loop at most 200 ms
 * a second, and nothing is lost.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mongoc/mongoc.h>
#include <re.h>
#include "port.h"
#include "mongo_map.h"

struct mongo_store {
	mongoc_uri_t *uri;
	mongoc_client_pool_t *pool;
	char db[64];
	bool indexed;           /* the seed's indexes are there */
	uint64_t index_try_ms;  /* when we last tried to make them */
	uint64_t away_until_ms; /* Mongo failed us: EAGAIN until then */
	bool away;              /* said so in the log; back when one works */
	mongoc_read_prefs_t *primary, *secondary_preferred;
};

/* Errors a later try may not meet: the server or the network away, a
 * primary being elected. Anything else (a bad document) is EIO. */
static int map_err(const bson_error_t *e)
{
	switch (e->domain) {
	case MONGOC_ERROR_STREAM:
	case MONGOC_ERROR_SERVER_SELECTION:
	case MONGOC_ERROR_CLIENT:
	case MONGOC_ERROR_WRITE_CONCERN:
		return EAGAIN;
	case MONGOC_ERROR_SERVER:
		switch (e->code) {
		case 6:
		case 7:
		case 89:
		case 91:
		case 189:
		case 262:
		case 9001:
		case 10107:
		case 11600:
		case 11602:
		case 13435:
		case 13436:
		case 63:
		case 150:
		case 13388:
		case 234:
			return EAGAIN; /* network, shutdown, not primary */
		default:
			return EIO;
		}
	default:
		return EIO;
	}
}

static void log_err(const char *what, const bson_error_t *e)
{
	port_log(PORT_LOG_WARN, "mongo: %s: %s (domain %u, code %u)", what,
		 e->message, e->domain, e->code);
}

static const mongoc_read_prefs_t *prefs(struct mongo_store *s,
					enum mongo_query q)
{
	return mongo_read_for(q) == MONGO_READ_PRIMARY ? s->primary
						       : s->secondary_preferred;
}

static int ensure_indexes(struct mongo_store *s, mongoc_client_t *cl)
{
	mongoc_database_t *db = mongoc_client_get_database(cl, s->db);
	int err = 0;

	for (size_t i = 0; i < mongo_index_count && !err; i++) {
		const struct mongo_index *ix = &mongo_indexes[i];
		bson_error_t e;
		bson_t *keys =
			bson_new_from_json((const uint8_t *)ix->keys, -1, &e);
		bson_t cmd = BSON_INITIALIZER, arr, one;

		if (!keys) {
			err = EINVAL;
			break;
		}
		BSON_APPEND_UTF8(&cmd, "createIndexes", ix->collection);
		BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
		BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &one);
		BSON_APPEND_DOCUMENT(&one, "key", keys);
		BSON_APPEND_UTF8(&one, "name", ix->name);
		bson_append_document_end(&arr, &one);
		bson_append_array_end(&cmd, &arr);
		if (!mongoc_database_write_command_with_opts(db, &cmd, NULL,
							     NULL, &e)) {
			log_err("createIndexes", &e);
			err = map_err(&e);
		}
		bson_destroy(&cmd);
		bson_destroy(keys);
	}
	mongoc_database_destroy(db);
	if (!err)
		s->indexed = true;
	return err;
}

enum { AWAY_MS = 1000, INDEX_RETRY_MS = 10000 };

/* A client from the pool for one operation, or NULL (EAGAIN) while Mongo
 * is known to be away. The indexes are made on the first operation that
 * reaches a server (Mongo may be away at start). The pool never runs dry:
 * one thread takes at most two clients at once (archiving). */
static mongoc_client_t *client_pop(struct mongo_store *s)
{
	const uint64_t now = port_now_us() / 1000;
	mongoc_client_t *cl;

	if (now < s->away_until_ms)
		return NULL;
	cl = mongoc_client_pool_pop(s->pool);
	if (cl && !s->indexed && now - s->index_try_ms >= INDEX_RETRY_MS) {
		s->index_try_ms = now;
		if (ensure_indexes(s, cl) == EAGAIN) {
			s->away_until_ms = now + AWAY_MS;
			mongoc_client_pool_push(s->pool, cl);
			return NULL;
		}
	}
	return cl;
}

/* An error from the driver; the ones that say "Mongo is away" open the
 * one-second window in which nothing more is tried. */
static int failed(struct mongo_store *s, const char *what,
		  const bson_error_t *e)
{
	int err = map_err(e);
	if (err != EAGAIN || !s->away)
		log_err(what, e);
	if (err == EAGAIN) {
		s->away = true;
		s->away_until_ms = port_now_us() / 1000 + AWAY_MS;
	}
	return err;
}

static void push(struct mongo_store *s, mongoc_client_t *cl, int err)
{
	if (!err && s->away) {
		port_log(PORT_LOG_INFO, "mongo: reachable again");
		s->away = false;
	}
	mongoc_client_pool_push(s->pool, cl);
}

/* mongoc's own log lines, into ours: warnings and errors only (its
 * monitor reports each failed heartbeat at debug level). */
static void log_from_mongoc(mongoc_log_level_t level, const char *domain,
			    const char *msg, void *arg)
{
	(void)arg;
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		port_log(level <= MONGOC_LOG_LEVEL_CRITICAL ? PORT_LOG_ERROR
							    : PORT_LOG_WARN,
			 "mongo (%s): %s", domain, msg);
}

static void mo_close(void *state)
{
	struct mongo_store *s = state;
	if (!s)
		return;
	mongoc_read_prefs_destroy(s->primary);
	mongoc_read_prefs_destroy(s->secondary_preferred);
	if (s->pool)
		mongoc_client_pool_destroy(s->pool);
	mongoc_uri_destroy(s->uri);
	mem_deref(s);
}

static void default_ms(mongoc_uri_t *uri, const char *opt, int32_t ms)
{
	if (!mongoc_uri_has_option(uri, opt))
		(void)mongoc_uri_set_option_as_int32(uri, opt, ms);
}

static int mo_open(void **statep, const char *location)
{
	struct mongo_store *s;
	bson_error_t e;
	const char *db;

	mongoc_init(); /* once per process: mongoc guards it */
	mongoc_log_set_handler(log_from_mongoc, NULL);
	s = mem_zalloc(sizeof(*s), NULL);
	if (!s)
		return ENOMEM;
	s->uri = mongoc_uri_new_with_error(location, &e);
	if (!s->uri) {
		port_log(PORT_LOG_ERROR, "mongo: bad URI: %s", e.message);
		mo_close(s);
		return EINVAL;
	}
	default_ms(s->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 200);
	default_ms(s->uri, MONGOC_URI_CONNECTTIMEOUTMS, 1000);
	default_ms(s->uri, MONGOC_URI_SOCKETTIMEOUTMS, 5000);
	if (!mongoc_uri_has_option(s->uri, MONGOC_URI_APPNAME))
		(void)mongoc_uri_set_appname(s->uri, "meeshy-call");
	db = mongoc_uri_get_database(s->uri);
	str_ncpy(s->db, db && *db ? db : "meeshy", sizeof(s->db));
	s->pool = mongoc_client_pool_new(s->uri);
	s->primary = mongoc_read_prefs_new(MONGOC_READ_PRIMARY);
	s->secondary_preferred =
		mongoc_read_prefs_new(MONGOC_READ_SECONDARY_PREFERRED);
	if (!s->pool || !s->primary || !s->secondary_preferred) {
		mo_close(s);
		return ENOMEM;
	}
	(void)mongoc_client_pool_set_error_api(s->pool,
					       MONGOC_ERROR_API_VERSION_2);
	*statep = s;
	/* an unreachable Mongo is not fatal: writes queue until it is back */
	{
		mongoc_client_t *cl = client_pop(s);
		const mongoc_host_list_t *h = mongoc_uri_get_hosts(s->uri);
		if (!s->indexed) /* hosts only: the URI may hold a password */
			port_log(PORT_LOG_WARN,
				 "mongo: %s not reachable yet;"
				 " writes will queue until it is",
				 h ? h->host_and_port : "(no host)");
		if (cl)
			mongoc_client_pool_push(s->pool, cl);
	}
	return 0;
}

static int mo_ping(void *state)
{
	struct mongo_store *s = state;
	mongoc_client_t *cl = client_pop(s);
	bson_t cmd = BSON_INITIALIZER;
	bson_error_t e;
	int err = 0;

	if (!cl)
		return EAGAIN;
	BSON_APPEND_INT32(&cmd, "ping", 1);
	if (!mongoc_client_command_simple(cl, "admin", &cmd, s->primary, NULL,
					  &e))
		err = failed(s, "ping", &e);
	bson_destroy(&cmd);
	push(s, cl, err);
	return err;
}

/* Upsert of a whole document by _id. */
static int replace(struct mongo_store *s, const char *coll, const char *id,
		   const bson_t *doc)
{
	mongoc_client_t *cl = client_pop(s);
	mongoc_collection_t *c;
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	bson_error_t e;
	int err = 0;

	if (!cl)
		return EAGAIN;
	c = mongoc_client_get_collection(cl, s->db, coll);
	mongo_put_ref(&filter, "_id", id);
	BSON_APPEND_BOOL(&opts, "upsert", true);
	if (!mongoc_collection_replace_one(c, &filter, doc, &opts, NULL, &e))
		err = failed(s, coll, &e);
	bson_destroy(&filter);
	bson_destroy(&opts);
	mongoc_collection_destroy(c);
	push(s, cl, err);
	return err;
}

/* A found document: 0 for the next one, FIND_STOP for no more, or an
 * errno value that ends the search with it. */
typedef int(doc_h)(const bson_t *doc, void *arg);
enum { FIND_STOP = -1 };

/* find(filter).sort(sort).limit(limit), each document to h until it says
 * stop. sort may be NULL; limit 0 is no limit. */
static int find(struct mongo_store *s, enum mongo_query q, const char *coll,
		const bson_t *filter, const char *sort_json, unsigned limit,
		doc_h *h, void *arg)
{
	mongoc_client_t *cl = client_pop(s);
	mongoc_collection_t *c;
	bson_t opts = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	int err = 0;

	if (!cl)
		return EAGAIN;
	c = mongoc_client_get_collection(cl, s->db, coll);

	if (sort_json) {
		bson_t *sort =
			bson_new_from_json((const uint8_t *)sort_json, -1, &e);
		if (sort) {
			BSON_APPEND_DOCUMENT(&opts, "sort", sort);
			bson_destroy(sort);
		}
	}
	if (limit)
		BSON_APPEND_INT64(&opts, "limit", limit);
	cur = mongoc_collection_find_with_opts(c, filter, &opts, prefs(s, q));
	while (!err && mongoc_cursor_next(cur, &doc))
		err = h(doc, arg);
	if (err == FIND_STOP)
		err = 0;
	if (!err && mongoc_cursor_error(cur, &e))
		err = failed(s, coll, &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	mongoc_collection_destroy(c);
	push(s, cl, err);
	return err;
}

/* --- calls --- */

static int mo_call_put(void *state, const struct call_session *c)
{
	bson_t doc = BSON_INITIALIZER;
	int err;
	mongo_call_to_bson(c, &doc);
	err = replace(state, MONGO_CALLS, c->id, &doc);
	bson_destroy(&doc);
	return err;
}

static int one_call(const bson_t *doc, void *arg)
{
	struct call_session *c = arg;
	int err = mongo_call_from_bson(doc, c);
	return err ? err : FIND_STOP; /* the first one is it */
}

static int mo_call_get(void *state, const char *id, struct call_session *c)
{
	bson_t filter = BSON_INITIALIZER;
	int err;
	c->id[0] = '\0';
	mongo_put_ref(&filter, "_id", id);
	err = find(state, MONGO_Q_CALL, MONGO_CALLS, &filter, NULL, 1, one_call,
		   c);
	bson_destroy(&filter);
	if (!err && !c->id[0])
		err = ENOENT;
	return err;
}

struct calls_iter {
	store_call_h *h;
	void *arg;
};

static int each_call(const bson_t *doc, void *arg)
{
	struct calls_iter *it = arg;
	struct call_session c;
	if (mongo_call_from_bson(doc, &c))
		return 0; /* not ours to read: skip it */
	return it->h(&c, it->arg) ? FIND_STOP : 0;
}

static int mo_calls_by_conversation(void *state, const char *conv,
				    const char *status, unsigned limit,
				    store_call_h *h, void *arg)
{
	struct calls_iter it = {h, arg};
	bson_t filter = BSON_INITIALIZER;
	int err;
	mongo_put_ref(&filter, "conversationId", conv);
	if (status)
		mongo_status_filter(&filter, status);
	err = find(state, MONGO_Q_HISTORY, MONGO_CALLS, &filter,
		   "{\"startedAt\":-1}", limit, each_call, &it);
	bson_destroy(&filter);
	return err;
}

static int mo_calls_by_status(void *state, const char *status, unsigned limit,
			      store_call_h *h, void *arg)
{
	struct calls_iter it = {h, arg};
	bson_t filter = BSON_INITIALIZER, in, modes;
	int err;
	/* mode $in lets the (mode, status) index serve it */
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "mode", &in);
	BSON_APPEND_ARRAY_BEGIN(&in, "$in", &modes);
	BSON_APPEND_UTF8(&modes, "0", "p2p");
	BSON_APPEND_UTF8(&modes, "1", "sfu");
	bson_append_array_end(&in, &modes);
	bson_append_document_end(&filter, &in);
	mongo_status_filter(&filter, status);
	err = find(state, MONGO_Q_CALLS_STATUS, MONGO_CALLS, &filter, NULL,
		   limit, each_call, &it);
	bson_destroy(&filter);
	return err;
}

/* --- participants, transcriptions, quality --- */

static int mo_participant_put(void *state, const struct call_participant *p)
{
	bson_t doc = BSON_INITIALIZER;
	int err;
	mongo_participant_to_bson(p, port_wallclock_ms(), &doc);
	err = replace(state, MONGO_PARTICIPANTS, p->id, &doc);
	bson_destroy(&doc);
	return err;
}

struct parts_iter {
	store_participant_h *h;
	void *arg;
};

static int each_participant(const bson_t *doc, void *arg)
{
	struct parts_iter *it = arg;
	struct call_participant p;
	if (mongo_participant_from_bson(doc, &p))
		return 0;
	return it->h(&p, it->arg) ? FIND_STOP : 0;
}

static int by_call(struct mongo_store *s, enum mongo_query q, const char *coll,
		   const char *call_id, const char *sort, doc_h *h, void *arg)
{
	bson_t filter = BSON_INITIALIZER;
	int err;
	mongo_put_ref(&filter, "callSessionId", call_id);
	err = find(s, q, coll, &filter, sort, 0, h, arg);
	bson_destroy(&filter);
	return err;
}

static int mo_participants(void *state, const char *call_id,
			   store_participant_h *h, void *arg)
{
	struct parts_iter it = {h, arg};
	return by_call(state, MONGO_Q_PARTICIPANTS, MONGO_PARTICIPANTS, call_id,
		       "{\"joinedAt\":1,\"_id\":1}", each_participant, &it);
}

struct translation_put {
	struct mongo_store *s;
	mongoc_collection_t *c;
};

/* One of Meeshy's translation_calls, upserted by its filter. */
static int translation_upsert(const bson_t *filter, const bson_t *doc,
			      void *arg)
{
	struct translation_put *tp = arg;
	bson_t opts = BSON_INITIALIZER;
	bson_error_t e;
	int err = 0;
	BSON_APPEND_BOOL(&opts, "upsert", true);
	if (!mongoc_collection_replace_one(tp->c, filter, doc, &opts, NULL, &e))
		err = failed(tp->s, MONGO_TRANSLATIONS, &e);
	bson_destroy(&opts);
	return err;
}

/* The transcription, then its translations as Meeshy keeps them (one
 * translation_calls document per language). */
static int mo_transcription_put(void *state, const struct call_transcription *t)
{
	struct mongo_store *s = state;
	struct translation_put tp = {s, NULL};
	bson_t doc = BSON_INITIALIZER;
	mongoc_client_t *cl;
	int err = mongo_transcription_to_bson(t, &doc);
	if (!err)
		err = replace(s, MONGO_TRANSCRIPTIONS, t->id, &doc);
	bson_destroy(&doc);
	if (err || !t->translations)
		return err;
	cl = client_pop(s);
	if (!cl)
		return EAGAIN;
	tp.c = mongoc_client_get_collection(cl, s->db, MONGO_TRANSLATIONS);
	err = mongo_translations_each(t, port_wallclock_ms(),
				      translation_upsert, &tp);
	mongoc_collection_destroy(tp.c);
	push(s, cl, err);
	return err;
}

struct trans_iter {
	store_transcription_h *h;
	void *arg;
};

static int each_transcription(const bson_t *doc, void *arg)
{
	struct trans_iter *it = arg;
	struct call_transcription t;
	int err = mongo_transcription_from_bson(doc, &t);
	if (!err)
		err = it->h(&t, it->arg) ? FIND_STOP : 0;
	else if (err == EINVAL)
		err = 0;
	mongo_transcription_clear(&t);
	return err;
}

static int mo_transcriptions(void *state, const char *call_id,
			     store_transcription_h *h, void *arg)
{
	struct trans_iter it = {h, arg};
	return by_call(state, MONGO_Q_TRANSCRIPTS, MONGO_TRANSCRIPTIONS,
		       call_id, "{\"timestamp\":1,\"_id\":1}",
		       each_transcription, &it);
}

static int mo_quality_put(void *state, const struct quality_metric *q)
{
	struct mongo_store *s = state;
	mongoc_client_t *cl = client_pop(s);
	mongoc_collection_t *c;
	bson_t doc = BSON_INITIALIZER;
	bson_error_t e;
	int err = 0;

	if (!cl)
		return EAGAIN;
	c = mongoc_client_get_collection(cl, s->db, MONGO_QUALITY);
	/* appended: an ObjectId _id from the driver */
	mongo_quality_to_bson(q, &doc);
	if (!mongoc_collection_insert_one(c, &doc, NULL, NULL, &e))
		err = failed(s, MONGO_QUALITY, &e);
	bson_destroy(&doc);
	mongoc_collection_destroy(c);
	push(s, cl, err);
	return err;
}

struct qual_iter {
	store_quality_h *h;
	void *arg;
};

static int each_quality(const bson_t *doc, void *arg)
{
	struct qual_iter *it = arg;
	struct quality_metric q;
	if (mongo_quality_from_bson(doc, &q))
		return 0;
	return it->h(&q, it->arg) ? FIND_STOP : 0;
}

static int mo_quality(void *state, const char *call_id, store_quality_h *h,
		      void *arg)
{
	struct qual_iter it = {h, arg};
	return by_call(state, MONGO_Q_QUALITY, MONGO_QUALITY, call_id,
		       "{\"at\":1,\"_id\":1}", each_quality, &it);
}

/* --- archiving --- */

enum { ARCHIVE_BATCH = 500 };

struct arch {
	struct mongo_store *s;
	int (*emit)(const char *line, void *arg);
	void *arg;
	char (*ids)[STORE_ID_MAX + 1];
	size_t n;
};

static int arch_part(const struct call_participant *p, void *arg)
{
	cJSON_AddItemToArray(arg, store_participant_json(p));
	return 0;
}

static int arch_trans(const struct call_transcription *t, void *arg)
{
	cJSON_AddItemToArray(arg, store_transcription_json(t));
	return 0;
}

static int arch_qual(const struct quality_metric *q, void *arg)
{
	cJSON_AddItemToArray(arg, store_quality_json(q));
	return 0;
}

/* One ended call as one JSON line, with everything that belongs to it:
 * the same line the SQLite store writes. */
static int arch_call(const bson_t *doc, void *arg)
{
	struct arch *a = arg;
	struct call_session c;
	cJSON *o;
	char *line;
	int err;

	if (mongo_call_from_bson(doc, &c))
		return 0;
	o = store_call_json(&c);
	if (!o)
		return ENOMEM;
	err = mo_participants(a->s, c.id, arch_part,
			      cJSON_AddArrayToObject(o, "participants"));
	if (!err)
		err = mo_transcriptions(
			a->s, c.id, arch_trans,
			cJSON_AddArrayToObject(o, "transcriptions"));
	if (!err)
		err = mo_quality(a->s, c.id, arch_qual,
				 cJSON_AddArrayToObject(o, "qualityMetrics"));
	line = err ? NULL : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!err && !line)
		err = ENOMEM;
	if (!err)
		err = a->emit(line, a->arg);
	cJSON_free(line);
	if (!err)
		str_ncpy(a->ids[a->n++], c.id, sizeof(a->ids[0]));
	return err;
}

static int delete_many(struct mongo_store *s, mongoc_client_t *cl,
		       const char *coll, const char *field, const char *id)
{
	mongoc_collection_t *c = mongoc_client_get_collection(cl, s->db, coll);
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	int err = 0;
	mongo_put_ref(&filter, field, id);
	if (!mongoc_collection_delete_many(c, &filter, NULL, NULL, &e))
		err = failed(s, coll, &e);
	bson_destroy(&filter);
	mongoc_collection_destroy(c);
	return err;
}

static int mo_archive(void *state, uint64_t before_ms,
		      int (*emit)(const char *line, void *arg), void *arg,
		      size_t *archived)
{
	struct mongo_store *s = state;
	struct arch a = {s, emit, arg, NULL, 0};
	size_t total = 0;
	int err = 0;

	a.ids = mem_alloc(ARCHIVE_BATCH * sizeof(*a.ids), NULL);
	if (!a.ids)
		return ENOMEM;
	do {
		bson_t filter = BSON_INITIALIZER, lt;
		/* Meeshy's "ended" is ours and "failed" */
		BSON_APPEND_UTF8(&filter, "status", "ended");
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "endedAt", &lt);
		BSON_APPEND_DATE_TIME(&lt, "$lt", (int64_t)before_ms);
		bson_append_document_end(&filter, &lt);
		a.n = 0;
		err = find(s, MONGO_Q_ARCHIVE, MONGO_CALLS, &filter,
			   "{\"endedAt\":1}", ARCHIVE_BATCH, arch_call, &a);
		bson_destroy(&filter);
		/* delete only what the sink has made durable */
		if (!err && a.n)
			err = emit(NULL, arg);
		if (!err && a.n) {
			mongoc_client_t *cl = client_pop(s);
			if (!cl)
				err = EAGAIN;
			for (size_t i = 0; cl && i < a.n && !err; i++) {
				err = delete_many(s, cl, MONGO_PARTICIPANTS,
						  "callSessionId", a.ids[i]);
				err = err ? err
					  : delete_many(
						    s, cl, MONGO_TRANSCRIPTIONS,
						    "callSessionId", a.ids[i]);
				err = err ? err
					  : delete_many(s, cl, MONGO_QUALITY,
							"callSessionId",
							a.ids[i]);
				err = err ? err
					  : delete_many(
						    s, cl, MONGO_TRANSLATIONS,
						    "callSessionId", a.ids[i]);
				/* the call last: a retry finds it again */
				err = err ? err
					  : delete_many(s, cl, MONGO_CALLS,
							"_id", a.ids[i]);
			}
			if (cl)
				mongoc_client_pool_push(s->pool, cl);
			if (!err)
				total += a.n;
		}
	} while (!err && a.n == ARCHIVE_BATCH);
	mem_deref(a.ids);
	if (archived)
		*archived = total;
	return err;
}

/* --- Meeshy's memberships (read only: Meeshy writes them) --- */

static int one_member(const bson_t *doc, void *arg)
{
	struct conversation_member *m = arg;
	int err = mongo_member_from_bson(doc, m);
	return err ? err : FIND_STOP;
}

static int mo_member_get(void *state, const char *conv, const char *user,
			 struct conversation_member *m)
{
	bson_t filter = BSON_INITIALIZER;
	int err = mongo_member_filter(conv, user, &filter);
	m->conversationId[0] = '\0';
	if (!err)
		err = find(state, MONGO_Q_MEMBER, MONGO_MEMBERS, &filter, NULL,
			   1, one_member, m);
	bson_destroy(&filter);
	if (err == EINVAL) /* not Meeshy's ids: no such member */
		return ENOENT;
	if (!err && !m->conversationId[0])
		err = ENOENT;
	return err;
}

struct anon_read {
	struct anonymous_session *a;
	char link[STORE_ID_MAX + 1];
	bool found;
};

static int one_anonymous(const bson_t *doc, void *arg)
{
	struct anon_read *r = arg;
	int err =
		mongo_anonymous_from_bson(doc, r->a, r->link, sizeof(r->link));
	r->found = !err;
	return err ? err : FIND_STOP;
}

static int one_link(const bson_t *doc, void *arg)
{
	struct anon_read *r = arg;
	mongo_share_link_from_bson(doc, r->a);
	return FIND_STOP;
}

/* The participant by its session token, then its share link. */
static int mo_anonymous_get(void *state, const char *token,
			    struct anonymous_session *a)
{
	struct anon_read r = {a, "", false};
	bson_t filter = BSON_INITIALIZER;
	int err;
	BSON_APPEND_UTF8(&filter, "sessionToken", token);
	err = find(state, MONGO_Q_ANONYMOUS, MONGO_ANONYMOUS, &filter, NULL, 1,
		   one_anonymous, &r);
	bson_destroy(&filter);
	if (!err && !r.found)
		return ENOENT;
	if (err)
		return err == EINVAL ? ENOENT : err;
	bson_init(&filter);
	mongo_put_ref(&filter, "_id", r.link);
	err = find(state, MONGO_Q_ANONYMOUS, MONGO_SHARE_LINKS, &filter, NULL,
		   1, one_link, &r);
	bson_destroy(&filter);
	return err;
}

const struct store_backend store_mongo = {
	.name = "mongodb",
	.open = mo_open,
	.close = mo_close,
	.ping = mo_ping,
	.call_put = mo_call_put,
	.call_get = mo_call_get,
	.calls_by_conversation = mo_calls_by_conversation,
	.calls_by_status = mo_calls_by_status,
	.participant_put = mo_participant_put,
	.participants = mo_participants,
	.transcription_put = mo_transcription_put,
	.transcriptions = mo_transcriptions,
	.quality_put = mo_quality_put,
	.quality = mo_quality,
	.member_get = mo_member_get,
	.anonymous_get = mo_anonymous_get,
	.archive = mo_archive,
};
