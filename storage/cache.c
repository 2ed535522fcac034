/*
 * cache.c - cache.h over Redis (storage/redis.c) or over a hash table in
 * this process, with the same answers: a read is always answered later,
 * from the loop, never from inside cache_get.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "cache.h"
#ifdef MEESHY_WITH_REDIS
#include <hiredis/hiredis.h>
#include "redis.h"
#endif

/* buckets of the memory cache: a call state and presence set per call */
enum { SWEEP_MS = 10000, CACHE_BUCKETS = 4096 };

struct entry {
	struct le le;
	struct cache *c;
	char *key;
	char *val; /* a value, or NULL for a set */
	size_t len;
	struct list members; /* of struct member, for a set */
	uint64_t expires_us;
};

struct member {
	struct le le;
	char *name;
};

/* A read of the memory cache, answered on the next turn of the loop. */
struct answer {
	struct le le;
	struct cache *c;
	struct tmr tmr;
	cache_get_h *h;
	void *arg;
	int err;
	char *val;
	size_t len;
};

struct cache {
	struct redis *redis; /* NULL: memory */
	struct hash *ht;
	struct list answers;
	struct tmr sweep;
	bool closing;
	struct cache_stats st; /* entries kept up to date (memory) */
};

static void entry_destructor(void *arg)
{
	struct entry *e = arg;
	e->c->st.entries--;
	hash_unlink(&e->le);
	list_flush(&e->members);
	mem_deref(e->key);
	mem_deref(e->val);
}

static void member_destructor(void *arg)
{
	struct member *m = arg;
	list_unlink(&m->le);
	mem_deref(m->name);
}

static void answer_destructor(void *arg)
{
	struct answer *a = arg;
	tmr_cancel(&a->tmr);
	list_unlink(&a->le);
	mem_deref(a->val);
}

static void cache_destructor(void *arg)
{
	struct cache *c = arg;
	struct le *le;
	c->closing = true;
	tmr_cancel(&c->sweep);
	/* reads still due: told, so they free what they hold */
	while ((le = list_head(&c->answers))) {
		struct answer *a = le->data;
		a->h(ECANCELED, NULL, 0, a->arg);
		mem_deref(a);
	}
	hash_flush(c->ht);
	mem_deref(c->ht);
}

const char *cache_kind(const struct cache *c)
{
	return c && c->redis ? "redis" : "memory";
}

void cache_stats(const struct cache *c, struct cache_stats *st)
{
	if (!c || !st)
		return;
	*st = c->st;
}

/* --- memory --- */

static bool key_eq(struct le *le, void *arg)
{
	const struct entry *e = le->data;
	return !strcmp(e->key, arg);
}

static struct entry *mem_find(struct cache *c, const char *key)
{
	struct le *le =
		hash_lookup(c->ht, hash_joaat_str(key), key_eq, (void *)key);
	struct entry *e = le ? le->data : NULL;
	if (e && e->expires_us <= port_now_us()) {
		mem_deref(e);
		return NULL;
	}
	return e;
}

static bool expired(struct le *le, void *arg)
{
	struct entry *e = le->data;
	if (e->expires_us <= *(uint64_t *)arg)
		mem_deref(e);
	return false;
}

static void sweep(void *arg)
{
	struct cache *c = arg;
	uint64_t now = port_now_us();
	(void)hash_apply(c->ht, expired, &now);
	tmr_start(&c->sweep, SWEEP_MS, sweep, c);
}

static struct entry *mem_entry(struct cache *c, const char *key)
{
	struct entry *e = mem_find(c, key);
	if (e)
		return e;
	e = mem_zalloc(sizeof(*e), entry_destructor);
	if (!e)
		return NULL;
	e->c = c;
	c->st.entries++;
	if (str_dup(&e->key, key)) {
		mem_deref(e);
		return NULL;
	}
	hash_append(c->ht, hash_joaat_str(key), &e->le, e);
	return e;
}

int cache_alloc_memory(struct cache **cp)
{
	struct cache *c;
	int err;
	if (!cp)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), cache_destructor);
	if (!c)
		return ENOMEM;
	err = hash_alloc(&c->ht, CACHE_BUCKETS);
	if (err) {
		mem_deref(c);
		return err;
	}
	tmr_start(&c->sweep, SWEEP_MS, sweep, c);
	*cp = c;
	return 0;
}

static void answer_now(void *arg)
{
	struct answer *a = arg;
	a->h(a->err, a->val, a->len, a->arg);
	mem_deref(a);
}

static int mem_get(struct cache *c, const char *key, cache_get_h *h, void *arg)
{
	struct entry *e = mem_find(c, key);
	struct answer *a = mem_zalloc(sizeof(*a), answer_destructor);
	if (!a)
		return ENOMEM;
	a->c = c;
	a->h = h;
	a->arg = arg;
	if (e && e->val) {
		a->val = mem_alloc(e->len + 1, NULL);
		if (!a->val) {
			mem_deref(a);
			return ENOMEM;
		}
		memcpy(a->val, e->val, e->len + 1);
		a->len = e->len;
		c->st.hits++;
	} else {
		a->err = ENOENT;
		c->st.misses++;
	}
	list_append(&c->answers, &a->le, a);
	tmr_start(&a->tmr, 0, answer_now, a);
	return 0;
}

static int mem_set(struct cache *c, const char *key, const char *val,
		   unsigned ttl_s)
{
	struct entry *e = mem_entry(c, key);
	char *v;
	if (!e)
		return ENOMEM;
	if (str_dup(&v, val))
		return ENOMEM;
	list_flush(&e->members);
	mem_deref(e->val);
	e->val = v;
	e->len = strlen(v);
	e->expires_us = port_now_us() + (uint64_t)ttl_s * 1000000;
	return 0;
}

static bool member_eq(struct le *le, void *arg)
{
	const struct member *m = le->data;
	return !strcmp(m->name, arg);
}

static int mem_set_member(struct cache *c, const char *key, const char *member,
			  unsigned ttl_s, bool add)
{
	struct entry *e = mem_entry(c, key);
	struct le *le;
	if (!e)
		return ENOMEM;
	e->val = mem_deref(e->val);
	e->expires_us = port_now_us() + (uint64_t)ttl_s * 1000000;
	le = list_apply(&e->members, true, member_eq, (void *)member);
	if (add && !le) {
		struct member *m = mem_zalloc(sizeof(*m), member_destructor);
		if (!m || str_dup(&m->name, member)) {
			mem_deref(m);
			return ENOMEM;
		}
		list_append(&e->members, &m->le, m);
	} else if (!add && le) {
		mem_deref(le->data);
	}
	return 0;
}

/* --- Redis --- */

#ifdef MEESHY_WITH_REDIS
struct redis_get {
	struct cache *c;
	cache_get_h *h;
	void *arg;
};

static void redis_got(int err, const redisReply *reply, void *arg)
{
	struct redis_get *g = arg;
	if (err == ECANCELED || g->c->closing) {
		g->h(ECANCELED, NULL, 0, g->arg);
	} else if (err) {
		g->h(ENOTCONN, NULL, 0, g->arg);
	} else if (reply && reply->type == REDIS_REPLY_STRING) {
		g->c->st.hits++;
		g->h(0, reply->str, reply->len, g->arg);
	} else {
		g->c->st.misses++;
		g->h(ENOENT, NULL, 0, g->arg);
	}
	mem_deref(g);
}
#endif

int cache_alloc_redis(struct cache **cp, struct redis *r)
{
#ifdef MEESHY_WITH_REDIS
	struct cache *c;
	if (!cp || !r)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), cache_destructor);
	if (!c)
		return ENOMEM;
	c->redis = r;
	*cp = c;
	return 0;
#else
	(void)cp;
	(void)r;
	return ENOTSUP;
#endif
}

/* --- the door --- */

int cache_get(struct cache *c, const char *key, cache_get_h *h, void *arg)
{
	if (!c || !key || !h)
		return EINVAL;
#ifdef MEESHY_WITH_REDIS
	if (c->redis) {
		struct redis_get *g = mem_zalloc(sizeof(*g), NULL);
		int err;
		if (!g)
			return ENOMEM;
		g->c = c;
		g->h = h;
		g->arg = arg;
		err = redis_cmd(c->redis, redis_got, g, "GET %s", key);
		if (err)
			mem_deref(g);
		return err;
	}
#endif
	return mem_get(c, key, h, arg);
}

int cache_set(struct cache *c, const char *key, const char *val, unsigned ttl_s)
{
	if (!c || !key || !val || !ttl_s)
		return EINVAL;
	c->st.sets++;
#ifdef MEESHY_WITH_REDIS
	if (c->redis)
		return redis_cmd(c->redis, NULL, NULL, "SET %s %s EX %u", key,
				 val, ttl_s);
#endif
	return mem_set(c, key, val, ttl_s);
}

int cache_del(struct cache *c, const char *key)
{
	struct entry *e;
	if (!c || !key)
		return EINVAL;
#ifdef MEESHY_WITH_REDIS
	if (c->redis)
		return redis_cmd(c->redis, NULL, NULL, "DEL %s", key);
#endif
	e = mem_find(c, key);
	mem_deref(e);
	return 0;
}

static int set_member(struct cache *c, const char *key, const char *member,
		      unsigned ttl_s, bool add)
{
	if (!c || !key || !member || !ttl_s)
		return EINVAL;
#ifdef MEESHY_WITH_REDIS
	if (c->redis) {
		int err = redis_cmd(c->redis, NULL, NULL,
				    add ? "SADD %s %s" : "SREM %s %s", key,
				    member);
		return err ? err
			   : redis_cmd(c->redis, NULL, NULL, "EXPIRE %s %u",
				       key, ttl_s);
	}
#endif
	return mem_set_member(c, key, member, ttl_s, add);
}

int cache_sadd(struct cache *c, const char *key, const char *member,
	       unsigned ttl_s)
{
	return set_member(c, key, member, ttl_s, true);
}

int cache_srem(struct cache *c, const char *key, const char *member,
	       unsigned ttl_s)
{
	return set_member(c, key, member, ttl_s, false);
}
