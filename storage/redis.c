/*
 * redis.c - hiredis's asynchronous API driven by libre's main loop.
 *
 * hiredis asks for read/write interest on its socket through the ev hooks;
 * they map onto fd_listen(). Each connection remakes itself after it drops
 * (connect refused, server gone, watchdog), waiting 0.1 s, then twice as
 * long each time up to 5 s.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <hiredis/async.h>
#include <re.h>
#include "port.h"
#include "redis.h"

enum {
	BACKOFF_FIRST_MS = 100,
	BACKOFF_MAX_MS = 5000,
	WATCHDOG_MS = 500,
	ANSWER_WITHIN_US = 2000000,
};

struct conn {
	struct redis *r;
	redisAsyncContext *ac;
	int fd, flags;
	bool up, sub;
	struct tmr retry;
	uint32_t backoff_ms;
	unsigned outstanding; /* commands sent, not answered yet */
	uint64_t progress_us; /* last answer, or first command waiting */
};

struct chan {
	struct le le;
	char *name;
};

struct redis {
	char host[256];
	uint16_t port;
	char password[REDIS_PASSWORD_MAX + 1]; /* "": none */
	struct conn cmd, sub;
	struct list chans;
	redis_msg_h *msgh;
	redis_state_h *stateh;
	void *arg;
	struct tmr watchdog;
	bool closing;
	struct redis_stats stats;
};

struct pending {
	struct conn *c;
	redis_reply_h *h;
	void *arg;
};

static void conn_start(struct conn *c);

/* hiredis event hooks */

/* What the reader holds of a reply not whole yet: the bytes it buffered,
 * and the elements its arrays announced (hiredis makes room for them as
 * soon as it reads the count). */
static bool reply_too_large(const redisReader *rd)
{
	long long elements = 0;
	if (rd->len - rd->pos > REDIS_REPLY_BYTES_MAX)
		return true;
	for (int i = 0; i <= rd->ridx && i < 9; i++)
		if (rd->rstack[i].elements > 0)
			elements += rd->rstack[i].elements;
	return elements > REDIS_REPLY_ELEMENTS_MAX;
}

static void fd_handler(int flags, void *arg)
{
	struct conn *c = arg;
	redisAsyncContext *ac = c->ac;
	if (!ac)
		return;
	if (flags & FD_READ) {
		redisAsyncHandleRead(ac);
		if (c->ac == ac && reply_too_large(ac->c.reader)) {
			c->r->stats.replies_too_large++;
			port_log(PORT_LOG_WARN,
				 "redis: %s:%u sent a reply over %u bytes or"
				 " %u elements, reconnecting",
				 c->r->host, c->r->port,
				 (unsigned)REDIS_REPLY_BYTES_MAX,
				 (unsigned)REDIS_REPLY_ELEMENTS_MAX);
			redisAsyncFree(ac); /* answers waiting: ENOTCONN */
			return;
		}
	}
	if ((flags & FD_WRITE) && c->ac == ac) /* still there after read */
		redisAsyncHandleWrite(ac);
}

static void set_flags(struct conn *c, int flags)
{
	c->flags = flags;
	if (c->fd < 0)
		return;
	if (flags)
		(void)fd_listen(c->fd, flags, fd_handler, c);
	else
		fd_close(c->fd);
}

static void ev_add_read(void *p)
{
	struct conn *c = p;
	set_flags(c, c->flags | FD_READ);
}

static void ev_del_read(void *p)
{
	struct conn *c = p;
	set_flags(c, c->flags & ~FD_READ);
}

static void ev_add_write(void *p)
{
	struct conn *c = p;
	set_flags(c, c->flags | FD_WRITE);
}

static void ev_del_write(void *p)
{
	struct conn *c = p;
	set_flags(c, c->flags & ~FD_WRITE);
}

static void ev_cleanup(void *p)
{
	struct conn *c = p;
	set_flags(c, 0);
	c->fd = -1;
}

/* Connection life */

static void retry_handler(void *arg)
{
	conn_start(arg);
}

static void schedule_retry(struct conn *c)
{
	if (c->r->closing)
		return;
	tmr_start(&c->retry, c->backoff_ms, retry_handler, c);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							   : c->backoff_ms * 2;
}

static void sub_reply(redisAsyncContext *ac, void *reply, void *priv);

/* Connected (and, with a password, let in): commands may flow. */
static void conn_ready(struct conn *c)
{
	struct redis *r = c->r;

	c->up = true;
	c->backoff_ms = BACKOFF_FIRST_MS;
	c->outstanding = 0;
	r->stats.connects++;
	if (c->sub) {
		for (struct le *le = r->chans.head; le; le = le->next) {
			const struct chan *ch = le->data;
			(void)redisAsyncCommand(c->ac, sub_reply, r,
						"SUBSCRIBE %s", ch->name);
		}
	} else {
		port_log(PORT_LOG_INFO, "redis: connected to %s:%u", r->host,
			 r->port);
		if (r->stateh)
			r->stateh(true, r->arg);
	}
}

static void auth_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct conn *c = priv;
	const redisReply *rep = reply;

	if (!rep || c->r->closing)
		return; /* the connection went meanwhile */
	if (rep->type == REDIS_REPLY_ERROR) {
		/* a wrong password is not fixed by retrying fast: the
		 * backoff grows to 5 s, and each failure says why */
		port_log(PORT_LOG_ERROR,
			 "redis: %s:%u refused our password: %s", c->r->host,
			 c->r->port, rep->str);
		redisAsyncDisconnect(ac);
		return;
	}
	conn_ready(c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct conn *c = ac->data;
	struct redis *r = c->r;

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback */
		c->ac = NULL;
		if (!r->closing)
			schedule_retry(c);
		return;
	}
	if (r->password[0]) {
		/* first on the wire: nothing else is sent before we are up */
		(void)redisAsyncCommand(c->ac, auth_reply, c, "AUTH %s",
					r->password);
		return;
	}
	conn_ready(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct conn *c = ac->data;
	struct redis *r = c->r;
	bool was_up = c->up;
	(void)status;

	c->ac = NULL;
	c->up = false;
	c->outstanding = 0;
	if (r->closing)
		return;
	r->stats.disconnects++;
	if (!c->sub && was_up) {
		port_log(PORT_LOG_WARN, "redis: lost %s:%u, reconnecting",
			 r->host, r->port);
		if (r->stateh)
			r->stateh(false, r->arg);
	}
	schedule_retry(c);
}

static void conn_start(struct conn *c)
{
	redisAsyncContext *ac = redisAsyncConnect(c->r->host, c->r->port);

	if (!ac || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		schedule_retry(c);
		return;
	}
	c->ac = ac;
	c->fd = ac->c.fd;
	c->flags = 0;
	{
		/* a command written in two pieces must not wait for Redis's
		 * delayed ACK */
		int one = 1;
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	}
	ac->data = c;
	ac->ev.data = c;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	(void)redisAsyncSetConnectCallback(ac, on_connect);
	(void)redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* the connect is under way: wait until the socket is writable */
	ev_add_write(c);
}

/* A server that takes commands and never answers is as good as down. */
static void watchdog(void *arg)
{
	struct redis *r = arg;
	struct conn *c = &r->cmd;

	if (c->ac && c->up && c->outstanding &&
	    port_now_us() - c->progress_us > ANSWER_WITHIN_US) {
		port_log(PORT_LOG_WARN,
			 "redis: %s:%u did not answer in 2 s, reconnecting",
			 r->host, r->port);
		redisAsyncFree(c->ac); /* answers waiting get ENOTCONN */
	}
	tmr_start(&r->watchdog, WATCHDOG_MS, watchdog, r);
}

static void redis_destructor(void *arg)
{
	struct redis *r = arg;
	r->closing = true;
	tmr_cancel(&r->watchdog);
	tmr_cancel(&r->cmd.retry);
	tmr_cancel(&r->sub.retry);
	if (r->cmd.ac)
		redisAsyncFree(r->cmd.ac);
	if (r->sub.ac)
		redisAsyncFree(r->sub.ac);
	list_flush(&r->chans);
}

void redis_set_handlers(struct redis *r, redis_msg_h *msgh,
			redis_state_h *stateh, void *arg)
{
	if (!r)
		return;
	r->msgh = msgh;
	r->stateh = stateh;
	r->arg = arg;
}

int redis_alloc(struct redis **rp, const char *host, uint16_t port,
		const char *password, redis_msg_h *msgh, redis_state_h *stateh,
		void *arg)
{
	struct redis *r;

	if (!rp || !host || !*host || !port)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), redis_destructor);
	if (!r)
		return ENOMEM;
	str_ncpy(r->host, host, sizeof(r->host));
	r->port = port;
	if (password)
		str_ncpy(r->password, password, sizeof(r->password));
	r->msgh = msgh;
	r->stateh = stateh;
	r->arg = arg;
	r->cmd.r = r->sub.r = r;
	r->cmd.fd = r->sub.fd = -1;
	r->sub.sub = true;
	r->cmd.backoff_ms = r->sub.backoff_ms = BACKOFF_FIRST_MS;
	tmr_init(&r->cmd.retry);
	tmr_init(&r->sub.retry);
	tmr_init(&r->watchdog);
	conn_start(&r->cmd);
	conn_start(&r->sub);
	tmr_start(&r->watchdog, WATCHDOG_MS, watchdog, r);
	*rp = r;
	return 0;
}

int redis_parse_url(const char *url, char *host, size_t hostsize,
		    uint16_t *port, char *password, size_t pwsize)
{
	struct pl h, p;
	const char *s = url, *at;

	if (!s || !host || !port)
		return EINVAL;
	if (password && pwsize)
		password[0] = '\0';
	if (!strncmp(s, "redis://", 8))
		s += 8;
	/* redis://:password@host:port (the user part is not used) */
	at = strchr(s, '@');
	if (at) {
		const char *colon = memchr(s, ':', (size_t)(at - s));
		size_t len = colon ? (size_t)(at - colon - 1) : 0;
		if (!colon || (password && len >= pwsize))
			return EINVAL;
		if (password) {
			memcpy(password, colon + 1, len);
			password[len] = '\0';
		}
		s = at + 1;
	}
	if (re_regex(s, strlen(s), "[^:/]+:[0-9]+[/]*", &h, &p, NULL) ||
	    h.p != s || h.l >= hostsize)
		return EINVAL;
	if (pl_u32(&p) < 1 || pl_u32(&p) > 65535)
		return EINVAL;
	pl_strcpy(&h, host, hostsize);
	*port = (uint16_t)pl_u32(&p);
	return 0;
}

bool redis_up(const struct redis *r)
{
	return r && r->cmd.up;
}

static void cmd_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct pending *pd = priv;
	struct conn *c = pd->c;
	const redisReply *rep = reply;
	(void)ac;

	if (c->outstanding)
		c->outstanding--;
	c->progress_us = port_now_us();
	/* exactly once per command, so whoever waits can free what it holds */
	if (pd->h) {
		if (c->r->closing)
			pd->h(ECANCELED, NULL, pd->arg);
		else if (!rep)
			pd->h(ENOTCONN, NULL, pd->arg);
		else if (rep->type == REDIS_REPLY_ERROR)
			pd->h(EPROTO, rep, pd->arg);
		else
			pd->h(0, rep, pd->arg);
	}
	mem_deref(pd);
}

int redis_cmd(struct redis *r, redis_reply_h *h, void *arg, const char *fmt,
	      ...)
{
	struct conn *c = r ? &r->cmd : NULL;
	struct pending *pd;
	va_list ap;
	int err;

	if (!c || !fmt)
		return EINVAL;
	if (!c->up || !c->ac) {
		r->stats.refused++;
		return ENOTCONN;
	}
	pd = mem_zalloc(sizeof(*pd), NULL);
	if (!pd)
		return ENOMEM;
	pd->c = c;
	pd->h = h;
	pd->arg = arg;
	va_start(ap, fmt);
	err = redisvAsyncCommand(c->ac, cmd_reply, pd, fmt, ap);
	va_end(ap);
	if (err != REDIS_OK) {
		mem_deref(pd);
		r->stats.refused++;
		return ENOTCONN;
	}
	if (!c->outstanding++)
		c->progress_us = port_now_us();
	r->stats.commands++;
	return 0;
}

static void sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis *r = priv;
	const redisReply *rep = reply;
	(void)ac;

	if (!rep || r->closing || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 3 || rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "message"))
		return;
	r->stats.messages++;
	if (r->msgh)
		r->msgh(rep->element[1]->str, rep->element[2]->str,
			rep->element[2]->len, r->arg);
}

static void chan_destructor(void *arg)
{
	struct chan *ch = arg;
	list_unlink(&ch->le);
	mem_deref(ch->name);
}

static struct chan *chan_find(const struct redis *r, const char *name)
{
	for (struct le *le = r->chans.head; le; le = le->next) {
		struct chan *ch = le->data;
		if (!strcmp(ch->name, name))
			return ch;
	}
	return NULL;
}

int redis_subscribe(struct redis *r, const char *channel)
{
	struct chan *ch;
	if (!r || !channel || !*channel)
		return EINVAL;
	if (chan_find(r, channel))
		return 0;
	ch = mem_zalloc(sizeof(*ch), chan_destructor);
	if (!ch || str_dup(&ch->name, channel)) {
		mem_deref(ch);
		return ENOMEM;
	}
	list_append(&r->chans, &ch->le, ch);
	/* while down, the reconnect subscribes it */
	if (r->sub.up && r->sub.ac)
		(void)redisAsyncCommand(r->sub.ac, sub_reply, r, "SUBSCRIBE %s",
					channel);
	return 0;
}

int redis_unsubscribe(struct redis *r, const char *channel)
{
	struct chan *ch = r && channel ? chan_find(r, channel) : NULL;
	if (!ch)
		return ENOENT;
	mem_deref(ch);
	if (r->sub.up && r->sub.ac)
		(void)redisAsyncCommand(r->sub.ac, NULL, NULL, "UNSUBSCRIBE %s",
					channel);
	return 0;
}

void redis_stats(const struct redis *r, struct redis_stats *st)
{
	if (r && st)
		*st = r->stats;
}
