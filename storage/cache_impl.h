/*
 * cache_impl.h - what the cache's door (cache.c) and its sides share: the
 * cache object and a side's table of operations. Not a door: only
 * cache.c and cache_redis.c include it.
 */
#ifndef MEESHY_CACHE_IMPL_H
#define MEESHY_CACHE_IMPL_H
#include <stdbool.h>
#include "cache.h"

struct cache_ops {
	const char *kind; /* what cache_kind() says */
	int (*get)(struct cache *c, const char *key, cache_get_h *h, void *arg);
	int (*set)(struct cache *c, const char *key, const char *val,
		   unsigned ttl_s);
	int (*del)(struct cache *c, const char *key);
	int (*set_member)(struct cache *c, const char *key, const char *member,
			  unsigned ttl_s, bool add);
};

struct cache {
	const struct cache_ops *ops;
	struct redis *redis; /* the Redis side's */
	struct hash *ht;     /* the memory side's, and its reads due: */
	struct list answers;
	struct tmr sweep;
	bool closing;
	struct cache_stats st; /* entries kept up to date (memory) */
};

/* Either side's cache is freed by this (mem_zalloc's destructor). */
void cache_destructor(void *arg);

#endif
