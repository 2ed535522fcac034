/*
 * cache.c - the door of cache.h and its side in this process (a hash
 * table); cache_redis.c is its side over Redis. Both answer alike: a read
 * is always answered later, from the loop, never from inside cache_get.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "cache.h"
#include "cache_impl.h"

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

void cache_destructor(void *arg)
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
	return c ? c->ops->kind : "memory";
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

static const struct cache_ops memory_ops;

int cache_alloc_memory(struct cache **cp)
{
	struct cache *c;
	int err;
	if (!cp)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), cache_destructor);
	if (!c)
		return ENOMEM;
	c->ops = &memory_ops;
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

static int mem_del(struct cache *c, const char *key)
{
	mem_deref(mem_find(c, key));
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

static const struct cache_ops memory_ops = {
	"memory", mem_get, mem_set, mem_del, mem_set_member,
};

/* --- the door --- */

int cache_get(struct cache *c, const char *key, cache_get_h *h, void *arg)
{
	if (!c || !key || !h)
		return EINVAL;
	return c->ops->get(c, key, h, arg);
}

int cache_set(struct cache *c, const char *key, const char *val, unsigned ttl_s)
{
	if (!c || !key || !val || !ttl_s)
		return EINVAL;
	c->st.sets++;
	return c->ops->set(c, key, val, ttl_s);
}

int cache_del(struct cache *c, const char *key)
{
	if (!c || !key)
		return EINVAL;
	return c->ops->del(c, key);
}

static int set_member(struct cache *c, const char *key, const char *member,
		      unsigned ttl_s, bool add)
{
	if (!c || !key || !member || !ttl_s)
		return EINVAL;
	return c->ops->set_member(c, key, member, ttl_s, add);
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
