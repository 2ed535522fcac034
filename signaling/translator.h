/*
 * translator.h - what one participant says, in the languages of the others.
 *
 * The translator is a service of its own, reached over HTTP:
 *   POST <url>  {"text": "...", "from": "fr", "to": "en"}
 *   200         {"translation": "..."}
 * Each translation is cached 7 days (the seed's translation cache) under
 * translation:<sha256 of "text:from:to">, so a sentence said again, or by
 * the same speaker to another call, costs no request.
 *
 * A transcription waits at most TRANSLATOR_WAIT_MS for its translations;
 * those that come later still go into the cache for next time.
 */
#ifndef MEESHY_TRANSLATOR_H
#define MEESHY_TRANSLATOR_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum { TRANSLATOR_WAIT_MS = 2000, TRANSLATION_TTL_S = 604800 };

struct translator;
struct cache;

/* Exactly once per translator_translate: err 0 and {lang: text} of the
 * translations that came in time (maybe none), or ECANCELED when the
 * translator is being freed (free what arg holds, nothing else). */
typedef void(translator_h)(int err, const cJSON *translations, void *arg);

int translator_alloc(struct translator **tp, const char *url,
		     struct cache *cache);
/* text from `from` into each of to[0..n-1] (none equal to from). */
int translator_translate(struct translator *t, const char *text,
			 const char *from, const char *const *to, size_t n,
			 translator_h *h, void *arg);

struct translator_stats {
	unsigned long long requests, cached, failed, late;
};
void translator_stats(const struct translator *t, struct translator_stats *st);
/* The cache key of one translation (buf >= 78 bytes). */
void translator_key(char *buf, size_t size, const char *text, const char *from,
		    const char *to);

#endif
