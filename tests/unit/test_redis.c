/*
 * test_redis.c - the Redis connection against a real redis-server started
 * here on a free port of 127.0.0.1: commands, pub/sub, the server killed
 * (commands refused at once, never waiting), restarted (reconnect and
 * subscriptions made again), and stopped with SIGSTOP (the watchdog drops
 * a connection whose commands go unanswered).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include <re.h>
#include "redis.h"
#include "unit.h"

static pid_t server;
static uint16_t port;
static struct redis *r;
static int ups, downs, messages, replies, reply_err;
static char last_msg[64], last_reply[64];
static bool (*waiting_for)(void);

static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)bind(fd, (struct sockaddr *)&a, sizeof(a));
	(void)getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

static void start_server(void)
{
	char p[8];
	snprintf(p, sizeof(p), "%u", port);
	server = fork();
	if (server == 0) {
		execlp("redis-server", "redis-server", "--port", p, "--bind",
		       "127.0.0.1", "--save", "", "--appendonly", "no",
		       "--loglevel", "warning", (char *)NULL);
		_exit(127);
	}
}

static void kill_server(int sig)
{
	kill(server, sig);
	if (sig == SIGKILL)
		(void)waitpid(server, NULL, 0);
}

static void check_wait(void *arg)
{
	struct tmr *t = arg;
	if (waiting_for && waiting_for()) {
		re_cancel();
		return;
	}
	tmr_start(t, 10, check_wait, t);
}

static void give_up(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Runs the loop until cond() holds or ms pass; returns cond(). */
static bool wait_for(bool (*cond)(void), unsigned ms)
{
	struct tmr poll, limit;
	tmr_init(&poll);
	tmr_init(&limit);
	waiting_for = cond;
	tmr_start(&poll, 0, check_wait, &poll);
	tmr_start(&limit, ms, give_up, NULL);
	re_main(NULL);
	tmr_cancel(&poll);
	tmr_cancel(&limit);
	waiting_for = NULL;
	return cond();
}

static void on_state(bool up, void *arg)
{
	(void)arg;
	if (up)
		ups++;
	else
		downs++;
}

static void on_msg(const char *channel, const char *msg, size_t len, void *arg)
{
	(void)arg;
	(void)channel;
	messages++;
	snprintf(last_msg, sizeof(last_msg), "%.*s", (int)len, msg);
}

static void on_reply(int err, const redisReply *reply, void *arg)
{
	(void)arg;
	replies++;
	reply_err = err;
	last_reply[0] = '\0';
	if (reply && (reply->type == REDIS_REPLY_STRING ||
		      reply->type == REDIS_REPLY_STATUS))
		snprintf(last_reply, sizeof(last_reply), "%s", reply->str);
}

static bool is_up(void)
{
	return redis_up(r);
}
static bool is_down(void)
{
	return !redis_up(r);
}
static bool got_reply(void)
{
	return replies > 0;
}

static int published;
static bool got_message(void)
{
	/* subscribing takes a round trip: publish until one arrives */
	if (!messages && redis_up(r))
		(void)redis_cmd(r, NULL, NULL, "PUBLISH %s %s", "room:a",
				"hello");
	published++;
	return messages > 0;
}

static void test_commands_and_pubsub(void)
{
	CU_ASSERT_EQUAL(redis_cmd(NULL, NULL, NULL, "PING"), EINVAL);
	CU_ASSERT_FATAL(wait_for(is_up, 5000));
	CU_ASSERT_EQUAL(ups, 1);
	replies = 0;
	CU_ASSERT_EQUAL(redis_cmd(r, on_reply, NULL, "SET %s %s", "k", "v"), 0);
	CU_ASSERT_FATAL(wait_for(got_reply, 2000));
	CU_ASSERT_EQUAL(reply_err, 0);
	CU_ASSERT_STRING_EQUAL(last_reply, "OK");
	replies = 0;
	CU_ASSERT_EQUAL(redis_cmd(r, on_reply, NULL, "GET %s", "k"), 0);
	CU_ASSERT_FATAL(wait_for(got_reply, 2000));
	CU_ASSERT_STRING_EQUAL(last_reply, "v");
	replies = 0;
	CU_ASSERT_EQUAL(redis_cmd(r, on_reply, NULL, "NOSUCHCOMMAND"), 0);
	CU_ASSERT_FATAL(wait_for(got_reply, 2000));
	CU_ASSERT_EQUAL(reply_err, EPROTO);

	CU_ASSERT_EQUAL(redis_subscribe(r, "room:a"), 0);
	messages = 0;
	CU_ASSERT_FATAL(wait_for(got_message, 3000));
	CU_ASSERT_STRING_EQUAL(last_msg, "hello");
}

static void test_server_gone_and_back(void)
{
	struct redis_stats st;

	kill_server(SIGKILL);
	CU_ASSERT_FATAL(wait_for(is_down, 3000));
	CU_ASSERT_EQUAL(downs, 1);
	/* refused at once: nothing waits for a Redis that is not there */
	CU_ASSERT_EQUAL(redis_cmd(r, on_reply, NULL, "GET %s", "k"), ENOTCONN);
	redis_stats(r, &st);
	CU_ASSERT(st.refused >= 1);

	start_server();
	CU_ASSERT_FATAL(wait_for(is_up, 8000));
	CU_ASSERT_EQUAL(ups, 2);
	/* the subscription was made again on the new connection */
	messages = 0;
	CU_ASSERT(wait_for(got_message, 3000));
}

static void test_server_hung(void)
{
	/* stopped, not dead: the command is taken and never answered */
	kill_server(SIGSTOP);
	replies = 0;
	CU_ASSERT_EQUAL(redis_cmd(r, on_reply, NULL, "GET %s", "k"), 0);
	CU_ASSERT(wait_for(got_reply, 4000));
	CU_ASSERT_EQUAL(reply_err, ENOTCONN);
	CU_ASSERT_FALSE(redis_up(r));
	kill_server(SIGCONT);
	CU_ASSERT(wait_for(is_up, 8000));
}

static struct redis *r2;
static bool r2_up(void)
{
	return redis_up(r2);
}

static void test_freed_with_command_waiting(void)
{
	/* a second client: what waits on it is told, so it can free its
	 * argument, and nothing is told twice */
	CU_ASSERT_EQUAL_FATAL(
		redis_alloc(&r2, "127.0.0.1", port, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_FATAL(wait_for(r2_up, 5000));
	replies = 0;
	reply_err = 0;
	CU_ASSERT_EQUAL(redis_cmd(r2, on_reply, NULL, "GET %s", "k"), 0);
	r2 = mem_deref(r2);
	CU_ASSERT_EQUAL(replies, 1);
	CU_ASSERT_EQUAL(reply_err, ECANCELED);
}

static struct redis *r3;
static bool r3_up(void)
{
	return redis_up(r3);
}

/* A server with a password: the right one lets us in, a wrong one never
 * does (and nothing is sent before AUTH). */
static void test_password(void)
{
	replies = 0;
	CU_ASSERT_EQUAL(redis_cmd(r, on_reply, NULL,
				  "CONFIG SET requirepass %s", "pw-for-tests"),
			0);
	CU_ASSERT_FATAL(wait_for(got_reply, 2000));
	CU_ASSERT_EQUAL_FATAL(reply_err, 0);

	CU_ASSERT_EQUAL_FATAL(
		redis_alloc(&r3, "127.0.0.1", port, "wrong", NULL, NULL, NULL),
		0);
	CU_ASSERT_FALSE(wait_for(r3_up, 1000));
	r3 = mem_deref(r3);

	CU_ASSERT_EQUAL_FATAL(redis_alloc(&r3, "127.0.0.1", port,
					  "pw-for-tests", NULL, NULL, NULL),
			      0);
	CU_ASSERT_FATAL(wait_for(r3_up, 3000));
	replies = 0;
	CU_ASSERT_EQUAL(
		redis_cmd(r3, on_reply, NULL, "SET %s %s", "authed", "yes"), 0);
	CU_ASSERT(wait_for(got_reply, 2000));
	CU_ASSERT_EQUAL(reply_err, 0);
	/* back as it was, for the tests after this one */
	replies = 0;
	CU_ASSERT_EQUAL(
		redis_cmd(r3, on_reply, NULL, "CONFIG SET requirepass %s", ""),
		0);
	CU_ASSERT(wait_for(got_reply, 2000));
	r3 = mem_deref(r3);
}

static void test_url(void)
{
	char host[64], pw[32];
	uint16_t p = 0;
	CU_ASSERT_EQUAL(redis_parse_url("redis://10.0.0.5:6380", host,
					sizeof(host), &p, pw, sizeof(pw)),
			0);
	CU_ASSERT_STRING_EQUAL(pw, "");
	CU_ASSERT_STRING_EQUAL(host, "10.0.0.5");
	CU_ASSERT_EQUAL(p, 6380);
	CU_ASSERT_EQUAL(redis_parse_url("cache.local:6379/0", host,
					sizeof(host), &p, NULL, 0),
			0);
	CU_ASSERT_STRING_EQUAL(host, "cache.local");
	CU_ASSERT_EQUAL(
		redis_parse_url("nohost", host, sizeof(host), &p, NULL, 0),
		EINVAL);
	CU_ASSERT_EQUAL(redis_parse_url("h:0", host, sizeof(host), &p, NULL, 0),
			EINVAL);
	CU_ASSERT_EQUAL(
		redis_parse_url("h:99999", host, sizeof(host), &p, NULL, 0),
		EINVAL);
	CU_ASSERT_EQUAL(redis_parse_url("redis://:s3cret@10.0.0.5:6380", host,
					sizeof(host), &p, pw, sizeof(pw)),
			0);
	CU_ASSERT_STRING_EQUAL(host, "10.0.0.5");
	CU_ASSERT_STRING_EQUAL(pw, "s3cret");
	CU_ASSERT_EQUAL(p, 6380);
	CU_ASSERT_EQUAL(redis_parse_url("redis://nopass@h:1", host,
					sizeof(host), &p, pw, sizeof(pw)),
			EINVAL);
}

static int setup(void)
{
	if (libre_init())
		return 1;
	port = free_port();
	start_server();
	return redis_alloc(&r, "127.0.0.1", port, NULL, on_msg, on_state, NULL);
}

static int teardown(void)
{
	r = mem_deref(r);
	kill_server(SIGKILL);
	libre_close();
	return 0;
}

static CU_TestInfo tests[] = {
	{"commands and pub/sub", test_commands_and_pubsub},
	{"server killed, then back", test_server_gone_and_back},
	{"server hung: the watchdog reconnects", test_server_hung},
	{"freed with a command waiting: ECANCELED",
	 test_freed_with_command_waiting},
	{"password: AUTH first, a wrong one never up", test_password},
	{"redis URLs", test_url},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("redis", tests, setup, teardown)
