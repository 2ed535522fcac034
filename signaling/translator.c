/*
 * translator.c - translator.h: per target language, the cache first, then
 * the translator service; one job per transcription collects them.
 *
 * Lifetimes: a job is held by the translator's list until it is answered,
 * and by each of its language requests until that one is answered (a late
 * answer still fills the cache), so whichever ends last frees it.
 */
#include <errno.h>
#include <string.h>
#include <mbedtls/md.h>
#include <re.h>
#include "port.h"
#include "cache.h"
#include "json_client.h"
#include "translator.h"

struct translator {
	struct json_client *http;
	struct cache *cache;
	char *url;
	struct list jobs; /* not yet answered */
	struct translator_stats st;
};

struct job {
	struct le le;
	struct translator *t;
	struct tmr deadline;
	translator_h *h;
	void *arg;
	cJSON *translations;
	size_t waiting; /* languages not answered, +1 while being set up */
	bool answered;
	char *text;
	char from[16];
};

struct lang_req {
	struct job *job; /* held */
	char to[16];
	char key[80];
};

static void job_destructor(void *arg)
{
	struct job *j = arg;
	tmr_cancel(&j->deadline);
	list_unlink(&j->le);
	cJSON_Delete(j->translations);
	mem_deref(j->text);
}

static void req_destructor(void *arg)
{
	struct lang_req *r = arg;
	mem_deref(r->job);
}

/* The job's one answer; the translator's list lets go of it. */
static void job_answer(struct job *j, int err)
{
	if (j->answered)
		return;
	j->answered = true;
	tmr_cancel(&j->deadline);
	list_unlink(&j->le);
	j->h(err, err ? NULL : j->translations, j->arg);
	mem_deref(j);
}

static void deadline(void *arg)
{
	job_answer(arg, 0);
}

static void got(struct lang_req *r, const char *text)
{
	struct job *j = r->job;
	if (j->answered) {
		j->t->st.late++;
		return;
	}
	if (text)
		cJSON_AddStringToObject(j->translations, r->to, text);
	if (--j->waiting == 0)
		job_answer(j, 0);
}

/* Callbacks other than ECANCELED ones run while the translator lives: it
 * cancels its requests, and its cache outlives it. */
static void on_translated(int err, const cJSON *body, void *arg)
{
	struct lang_req *r = arg;
	struct translator *t = r->job->t;
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(body, "translation");
	char *json;

	if (err == ECANCELED) {
		mem_deref(r);
		return;
	}
	if (!err && !cJSON_IsString(tr))
		err = EPROTO;
	if (err) {
		t->st.failed++;
		port_log(PORT_LOG_WARN, "translator: %s -> %s: %m",
			 r->job->from, r->to, err);
		got(r, NULL);
		mem_deref(r);
		return;
	}
	/* cached as the seed does: the JSON of the translation */
	json = cJSON_PrintUnformatted(tr);
	if (json)
		(void)cache_set(t->cache, r->key, json, TRANSLATION_TTL_S);
	cJSON_free(json);
	got(r, tr->valuestring);
	mem_deref(r);
}

static void ask_service(struct lang_req *r)
{
	struct job *j = r->job;
	struct translator *t = j->t;
	cJSON *body = cJSON_CreateObject();
	int err;

	cJSON_AddStringToObject(body, "text", j->text);
	cJSON_AddStringToObject(body, "from", j->from);
	cJSON_AddStringToObject(body, "to", r->to);
	t->st.requests++;
	err = json_client_post(t->http, t->url, body, on_translated, r);
	cJSON_Delete(body);
	if (err) {
		t->st.failed++;
		got(r, NULL);
		mem_deref(r);
	}
}

static void on_cached(int err, const char *val, size_t len, void *arg)
{
	struct lang_req *r = arg;
	cJSON *v = NULL;

	if (err == ECANCELED || r->job->answered) {
		mem_deref(r);
		return;
	}
	if (!err)
		v = cJSON_ParseWithLength(val, len);
	if (cJSON_IsString(v)) {
		r->job->t->st.cached++;
		got(r, v->valuestring);
		mem_deref(r);
	} else {
		ask_service(r); /* a miss, or a cache that could not answer */
	}
	cJSON_Delete(v);
}

void translator_key(char *buf, size_t size, const char *text, const char *from,
		    const char *to)
{
	const mbedtls_md_info_t *md =
		mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t ctx;
	uint8_t h[32];

	mbedtls_md_init(&ctx);
	if (mbedtls_md_setup(&ctx, md, 0) || mbedtls_md_starts(&ctx) ||
	    mbedtls_md_update(&ctx, (const uint8_t *)text, strlen(text)) ||
	    mbedtls_md_update(&ctx, (const uint8_t *)":", 1) ||
	    mbedtls_md_update(&ctx, (const uint8_t *)from, strlen(from)) ||
	    mbedtls_md_update(&ctx, (const uint8_t *)":", 1) ||
	    mbedtls_md_update(&ctx, (const uint8_t *)to, strlen(to)) ||
	    mbedtls_md_finish(&ctx, h))
		memset(h, 0, sizeof(h));
	mbedtls_md_free(&ctx);
	(void)re_snprintf(buf, size, "translation:%w", h, sizeof(h));
}

int translator_translate(struct translator *t, const char *text,
			 const char *from, const char *const *to, size_t n,
			 translator_h *h, void *arg)
{
	struct job *j;

	if (!t || !text || !from || !h || (n && !to))
		return EINVAL;
	j = mem_zalloc(sizeof(*j), job_destructor);
	if (!j)
		return ENOMEM;
	j->translations = cJSON_CreateObject();
	if (!j->translations || str_dup(&j->text, text)) {
		mem_deref(j);
		return ENOMEM;
	}
	j->t = t;
	j->h = h;
	j->arg = arg;
	j->waiting = 1; /* set-up: no answer from inside this function */
	str_ncpy(j->from, from, sizeof(j->from));
	list_append(&t->jobs, &j->le, j);
	tmr_start(&j->deadline, TRANSLATOR_WAIT_MS, deadline, j);
	for (size_t i = 0; i < n; i++) {
		struct lang_req *r = mem_zalloc(sizeof(*r), req_destructor);
		if (!r)
			break;
		r->job = mem_ref(j);
		str_ncpy(r->to, to[i], sizeof(r->to));
		translator_key(r->key, sizeof(r->key), text, from, to[i]);
		j->waiting++;
		if (cache_get(t->cache, r->key, on_cached, r))
			ask_service(r);
	}
	/* everything answered already (or nothing to do): answer next turn */
	if (--j->waiting == 0)
		tmr_start(&j->deadline, 0, deadline, j);
	return 0;
}

static void translator_destructor(void *arg)
{
	struct translator *t = arg;
	struct le *le;
	while ((le = list_head(&t->jobs)))
		job_answer(le->data, ECANCELED);
	mem_deref(t->http); /* requests due: ECANCELED */
	mem_deref(t->url);
}

int translator_alloc(struct translator **tp, const char *url,
		     struct cache *cache)
{
	struct translator *t;
	int err;

	if (!tp || !url || !cache)
		return EINVAL;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return EINVAL;
	t = mem_zalloc(sizeof(*t), translator_destructor);
	if (!t)
		return ENOMEM;
	t->cache = cache;
	err = str_dup(&t->url, url);
	if (!err)
		err = json_client_alloc(&t->http);
	if (err) {
		mem_deref(t);
		return err;
	}
	*tp = t;
	return 0;
}

void translator_stats(const struct translator *t, struct translator_stats *st)
{
	if (t && st)
		*st = t->st;
}
