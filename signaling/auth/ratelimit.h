/*
 * ratelimit.h - token buckets by key (a user id, an address), for limits
 * that must hold across all the sockets one user or one address opens.
 *
 * Each key's bucket refills at `rate` tokens a second up to `burst`. A key
 * is kept while it is used: the buckets least recently used are dropped
 * once full again, a few on each take, so the table holds the keys active
 * in the last burst / rate seconds and no more.
 */
#ifndef MEESHY_RATELIMIT_H
#define MEESHY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

int ratelimit_alloc(struct ratelimit **rlp, double rate, double burst);
/* Takes one token from key's bucket at now_us; false when it is empty. */
bool ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_us);

#endif
