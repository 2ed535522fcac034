/*
 * cache.h - the seed's caches: short-lived keys with a time to live, and
 * sets (who is in a call). In Redis when the server has one (every gateway
 * sees the same), else in this process's memory (role all on its own).
 *
 * Keys (DESIGN.md): call:<id>:state EX 300, call:<id>:participants set
 * EXPIRE 7200, translation:<sha256> EX 604800.
 *
 * A cache is an optimisation: a write that fails is dropped (the store has
 * the record), and a read that fails is a miss.
 */
#ifndef MEESHY_CACHE_H
#define MEESHY_CACHE_H

#include <stddef.h>

struct cache;
struct redis;

/* A read's answer, always after cache_get returned, exactly once: err 0
 * and the value (valid during the call), ENOENT for a miss, ENOTCONN when
 * the cache could not be asked, ECANCELED when the cache is being freed
 * (free what arg holds, touch nothing else). */
typedef void(cache_get_h)(int err, const char *val, size_t len, void *arg);

int cache_alloc_memory(struct cache **cp);
/* Over Redis: in builds with Redis only (cache_redis.c). */
int cache_alloc_redis(struct cache **cp, struct redis *r);
const char *cache_kind(const struct cache *c); /* "redis" or "memory" */

int cache_set(struct cache *c, const char *key, const char *val,
	      unsigned ttl_s);
int cache_get(struct cache *c, const char *key, cache_get_h *h, void *arg);
int cache_del(struct cache *c, const char *key);
/* Adds to / removes from the set at key; either way the set lives ttl_s
 * more seconds. */
int cache_sadd(struct cache *c, const char *key, const char *member,
	       unsigned ttl_s);
int cache_srem(struct cache *c, const char *key, const char *member,
	       unsigned ttl_s);

struct cache_stats {
	unsigned long long hits, misses, sets, entries;
};
void cache_stats(const struct cache *c, struct cache_stats *st);

#endif
