/*
 * ratelimit.c - ratelimit.h: a hash of buckets plus a list in order of
 * last use (oldest first), which is where idle buckets are dropped from.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "ratelimit.h"

enum { KEY_MAX = 128, DROP_PER_TAKE = 2 };

struct bucket {
	struct le he, le;
	char key[KEY_MAX + 1];
	double tokens;
	uint64_t at_us;
};

struct ratelimit {
	struct hash *buckets;
	struct list lru; /* least recently used first */
	double rate, burst;
};

static void bucket_destructor(void *arg)
{
	struct bucket *b = arg;
	hash_unlink(&b->he);
	list_unlink(&b->le);
}

static void rl_destructor(void *arg)
{
	struct ratelimit *rl = arg;
	list_flush(&rl->lru);
	mem_deref(rl->buckets);
}

int ratelimit_alloc(struct ratelimit **rlp, double rate, double burst)
{
	struct ratelimit *rl;
	int err;

	if (!rlp || !(rate > 0) || burst < 1)
		return EINVAL;
	rl = mem_zalloc(sizeof(*rl), rl_destructor);
	if (!rl)
		return ENOMEM;
	rl->rate = rate;
	rl->burst = burst;
	err = hash_alloc(&rl->buckets, 1024);
	if (err)
		mem_deref(rl);
	else
		*rlp = rl;
	return err;
}

static bool key_cmp(struct le *le, void *arg)
{
	const struct bucket *b = le->data;
	return !strcmp(b->key, arg);
}

/* A bucket idle long enough to be full again holds nothing worth
 * keeping: a new one would start full too. */
static void drop_idle(struct ratelimit *rl, uint64_t now_us)
{
	const uint64_t full_us = (uint64_t)(rl->burst / rl->rate * 1e6);
	for (int i = 0; i < DROP_PER_TAKE; i++) {
		struct le *le = list_head(&rl->lru);
		struct bucket *b = le ? le->data : NULL;
		if (!b || now_us - b->at_us < full_us)
			return;
		mem_deref(b);
	}
}

bool ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_us)
{
	uint32_t h;
	struct le *le;
	struct bucket *b;

	if (!rl || !key)
		return true;
	drop_idle(rl, now_us);
	h = hash_joaat_str(key);
	le = hash_lookup(rl->buckets, h, key_cmp, (void *)key);
	b = le ? le->data : NULL;
	if (!b) {
		b = mem_zalloc(sizeof(*b), bucket_destructor);
		if (!b)
			return true; /* out of memory is not the client's fault
				      */
		str_ncpy(b->key, key, sizeof(b->key));
		b->tokens = rl->burst;
		b->at_us = now_us;
		hash_append(rl->buckets, h, &b->he, b);
	} else {
		list_unlink(&b->le);
		b->tokens += (double)(now_us - b->at_us) * rl->rate / 1e6;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->at_us = now_us;
	}
	list_append(&rl->lru, &b->le, b);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}
