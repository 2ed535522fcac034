/*
 * redis.h - a Redis server on libre's main loop (hiredis, asynchronous).
 *
 * Two connections: one for commands, one for pub/sub. Both reconnect on
 * their own with a backoff (0.1 s doubling to 5 s), and subscriptions are
 * made again after a reconnect. Nothing ever waits for Redis: while it is
 * down, redis_cmd() fails at once with ENOTCONN and the caller decides what
 * that means (a cache miss, a publish that only reaches local clients, a
 * heartbeat skipped). A command Redis does not answer within 2 s counts as
 * Redis being down: the connection is dropped and remade, as is one whose
 * reply outgrows REDIS_REPLY_BYTES_MAX bytes or REDIS_REPLY_ELEMENTS_MAX
 * elements on its way in (no answer of ours is near them: a Redis sending
 * that is not ours, or broken).
 */
#ifndef MEESHY_REDIS_H
#define MEESHY_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

struct redis;

/* A command's answer, called exactly once: err 0 and the reply, or err
 * (ENOTCONN: the connection dropped before the answer; EPROTO: Redis
 * answered an error, in reply; ECANCELED: the redis client is being freed,
 * so free what arg holds and touch nothing else) and reply possibly NULL. */
typedef void(redis_reply_h)(int err, const redisReply *reply, void *arg);
/* A message on a subscribed channel. */
typedef void(redis_msg_h)(const char *channel, const char *msg, size_t len,
			  void *arg);
/* The command connection came up (up) or went down. */
typedef void(redis_state_h)(bool up, void *arg);

enum {
	REDIS_PASSWORD_MAX = 255,
	/* hiredis grows its buffer 1 MB at a time past the first: a bound of
	 * n MB copies n(n+1)/2 MB on the way; our largest replies are kB */
	REDIS_REPLY_BYTES_MAX = 4 * 1024 * 1024,
	REDIS_REPLY_ELEMENTS_MAX = 1000000,
};

/* password: sent (AUTH) before anything else on each connection; NULL or
 * "" for none. A refused password is logged and retried with backoff. */
int redis_alloc(struct redis **rp, const char *host, uint16_t port,
		const char *password, redis_msg_h *msgh, redis_state_h *stateh,
		void *arg);
/* Who hears messages and the connection's state from now on: whoever is
 * built after Redis (the gateway) and set before the loop runs. */
void redis_set_handlers(struct redis *r, redis_msg_h *msgh,
			redis_state_h *stateh, void *arg);
/* "host:port", "redis://host:port" or "redis://:password@host:port" into
 * host, port and password ("" when none; NULL: not wanted). */
int redis_parse_url(const char *url, char *host, size_t hostsize,
		    uint16_t *port, char *password, size_t pwsize);
bool redis_up(const struct redis *r);
/* Sends a command (hiredis format: %s strings, %b binary + length, %d
 * ints); h may be NULL. Returns 0, ENOTCONN while down, or ENOMEM. */
int redis_cmd(struct redis *r, redis_reply_h *h, void *arg, const char *fmt,
	      ...);
int redis_subscribe(struct redis *r, const char *channel);
int redis_unsubscribe(struct redis *r, const char *channel);

struct redis_stats {
	uint64_t connects, disconnects, commands, refused, messages;
	uint64_t replies_too_large; /* connections dropped for one */
};
void redis_stats(const struct redis *r, struct redis_stats *st);

#endif
