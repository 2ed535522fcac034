/*
 * cache_redis.c - the cache's side over Redis (storage/redis.c): shared
 * by every process of a cluster. Built only with Redis.
 */
#include <errno.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <re.h>
#include "port.h"
#include "redis.h"
#include "cache_impl.h"

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

static int redis_get(struct cache *c, const char *key, cache_get_h *h,
		     void *arg)
{
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

static int redis_set(struct cache *c, const char *key, const char *val,
		     unsigned ttl_s)
{
	return redis_cmd(c->redis, NULL, NULL, "SET %s %s EX %u", key, val,
			 ttl_s);
}

static int redis_del(struct cache *c, const char *key)
{
	return redis_cmd(c->redis, NULL, NULL, "DEL %s", key);
}

static int redis_set_member(struct cache *c, const char *key,
			    const char *member, unsigned ttl_s, bool add)
{
	int err = redis_cmd(c->redis, NULL, NULL,
			    add ? "SADD %s %s" : "SREM %s %s", key, member);
	return err ? err
		   : redis_cmd(c->redis, NULL, NULL, "EXPIRE %s %u", key,
			       ttl_s);
}

static const struct cache_ops redis_ops = {
	"redis", redis_get, redis_set, redis_del, redis_set_member,
};

int cache_alloc_redis(struct cache **cp, struct redis *r)
{
	struct cache *c;
	if (!cp || !r)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), cache_destructor);
	if (!c)
		return ENOMEM;
	c->ops = &redis_ops;
	c->redis = r;
	*cp = c;
	return 0;
}
