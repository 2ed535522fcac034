/*
 * gateway-load: the paced and saturating phases of bench/gateway.js without
 * socket.io-client. N websocket clients speak Engine.IO 4 and Socket.IO 5
 * by hand from one epoll loop, in calls of 4 (one initiates, three join),
 * so that one core of load costs a few microseconds an event and a server
 * can be driven to its own limit; socket.io-client costs more to receive an
 * event than either server does to send it.
 *
 *   gateway-load --port P [--sockets 1000] [--rate 1000] [--paced-s 4]
 *                [--phase-s 5] [--pid SERVER_PID] [--prefix gwl]
 *
 * Phases, the same against any server giving call:initiate, call:join and
 * call:media-state (ours, bench/socketio-twin.js):
 *  1. connect and join: every socket connects (200 at a time), authenticates
 *     with the token PREFIX-i in the Socket.IO CONNECT packet, and its call
 *     is initiated then joined;
 *  2. paced: --rate call:media-state a second from the sockets in turn, one
 *     outstanding per socket (a busy one is skipped): the fan-out delay from
 *     the emit to each of the three receipts, the sockets that heard one;
 *  3. saturation: the first socket of each call emits again as soon as it
 *     is answered, for --phase-s: events delivered, the server's CPU time
 *     (/proc/PID/stat) and this process's over the same wall time.
 * One JSON object on stdout; progress and errors on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	GROUP = 4,            /* sockets a call */
	CONNECTING_MAX = 200, /* handshakes in flight */
	RX_MAX = 16384,       /* a socket's unparsed bytes */
	EVENTS_MAX = 256,
};

enum state {
	S_IDLE,
	S_TCP,
	S_UPGRADE,
	S_EIO_OPEN,
	S_SIO_OPEN,
	S_READY,
	S_DEAD
};
enum phase { P_SETUP, P_PACED, P_SATURATE };

struct conn {
	int fd;
	enum state state;
	int idx;    /* PREFIX-idx, its user id */
	bool busy;  /* an emit waits for its ack */
	bool heard; /* told one call:media-state in the paced phase */
	unsigned ack_id;
	uint64_t sent_ns; /* its outstanding emit */
	size_t rxlen;
	char *tx; /* what the kernel did not take yet */
	size_t txlen;
	char rx[RX_MAX];
};

struct call {
	char id[96];
	int joined; /* members whose join (or initiate) was answered */
};

struct load {
	const char *prefix;
	int port, nsock, ncalls, pid;
	double rate, paced_s, phase_s;
	int ep;
	struct conn *conns;
	struct call *calls;
	enum phase phase;
	int connecting, next_connect, ready, dead;
	/* counters of the phase under way */
	uint64_t sent, delivered, skipped;
	double *delays;
	size_t ndelays, capdelays;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "gateway-load: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* utime + stime of pid, in seconds; sys gets the stime part */
static double cpu_seconds(int pid, double *sys)
{
	char path[64], buf[1024];
	const char *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
			 " %lu %lu",
			 &ut, &st) != 2)
		return 0;
	if (sys)
		*sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void conn_dead(struct load *l, struct conn *c, const char *why)
{
	if (c->state == S_DEAD)
		return;
	fprintf(stderr, "gateway-load: socket %d: %s\n", c->idx, why);
	if (c->state < S_READY)
		l->connecting--;
	c->state = S_DEAD;
	l->dead++;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void want_out(struct load *l, struct conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u),
				 .data.ptr = c};
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl");
}

/* Writes what is queued, then len bytes of p; the rest waits for EPOLLOUT. */
static void conn_write(struct load *l, struct conn *c, const char *p,
		       size_t len)
{
	if (!c->txlen && len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			conn_dead(l, c, "send failed");
			return;
		}
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
		if (!len)
			return;
	}
	if (len) {
		char *t = realloc(c->tx, c->txlen + len);
		if (!t)
			die("realloc");
		memcpy(t + c->txlen, p, len);
		c->tx = t;
		c->txlen += len;
		want_out(l, c, true);
	}
}

static void conn_flush(struct load *l, struct conn *c)
{
	ssize_t n = send(c->fd, c->tx, c->txlen, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN)
			conn_dead(l, c, "send failed");
		return;
	}
	memmove(c->tx, c->tx + n, c->txlen - (size_t)n);
	c->txlen -= (size_t)n;
	if (!c->txlen)
		want_out(l, c, false);
}

/* One masked text frame (a client must mask; the key need not be secret
 * here: nothing between us and the server caches). */
static void send_text(struct load *l, struct conn *c, const char *text)
{
	static const uint8_t key[4] = {0x5a, 0x17, 0xc3, 0x81};
	size_t len = strlen(text), h = 0;
	uint8_t frame[RX_MAX];

	if (len + 8 > sizeof(frame))
		return;
	frame[h++] = 0x81;
	if (len < 126) {
		frame[h++] = 0x80 | (uint8_t)len;
	} else {
		frame[h++] = 0x80 | 126;
		frame[h++] = (uint8_t)(len >> 8);
		frame[h++] = (uint8_t)len;
	}
	memcpy(frame + h, key, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		frame[h + i] = (uint8_t)text[i] ^ key[i & 3];
	conn_write(l, c, (const char *)frame, h + len);
}

static void emit_ack(struct load *l, struct conn *c, const char *event,
		     const char *json)
{
	char text[512];
	snprintf(text, sizeof(text), "42%u[\"%s\",%s]", ++c->ack_id, event,
		 json);
	send_text(l, c, text);
}

static void emit_media_state(struct load *l, struct conn *c)
{
	char json[256];
	snprintf(json, sizeof(json),
		 "{\"callId\":\"%s\",\"audio\":%s,\"video\":true}",
		 l->calls[c->idx / GROUP].id, l->sent % 2 ? "true" : "false");
	c->busy = true;
	c->sent_ns = now_ns();
	l->sent++;
	emit_ack(l, c, "call:media-state", json);
}

static void start_connect(struct load *l, struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)l->port)};
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		die("socket");
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    errno != EINPROGRESS)
		die("connect");
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl");
	c->state = S_TCP;
	l->connecting++;
}

static void connect_more(struct load *l)
{
	while (l->connecting < CONNECTING_MAX && l->next_connect < l->nsock)
		start_connect(l, &l->conns[l->next_connect++]);
}

/* The call's sockets all in: its first initiates. */
static void call_maybe_initiate(struct load *l, int call)
{
	struct conn *first = &l->conns[call * GROUP];
	char json[160];
	for (int i = call * GROUP; i < l->nsock && i < (call + 1) * GROUP; i++)
		if (l->conns[i].state != S_READY)
			return;
	snprintf(json, sizeof(json),
		 "{\"conversationId\":\"%s-conv-%d\",\"type\":\"video\"}",
		 l->prefix, call);
	emit_ack(l, first, "call:initiate", json);
}

static void on_setup_ack(struct load *l, struct conn *c, const char *body)
{
	struct call *k = &l->calls[c->idx / GROUP];
	const int first = (c->idx / GROUP) * GROUP;
	const int n = l->nsock - first < GROUP ? l->nsock - first : GROUP;

	if (!strstr(body, "\"ok\":true")) {
		conn_dead(l, c, body);
		return;
	}
	if (c->idx == first && !k->id[0]) {
		const char *p = strstr(body, "\"callId\":\"");
		size_t len;
		if (!p) {
			conn_dead(l, c, "an initiate ack without callId");
			return;
		}
		p += 10;
		len = strcspn(p, "\"");
		if (len >= sizeof(k->id))
			len = sizeof(k->id) - 1;
		memcpy(k->id, p, len);
		for (int i = first + 1; i < first + n; i++) {
			char json[160];
			snprintf(json, sizeof(json), "{\"callId\":\"%s\"}",
				 k->id);
			emit_ack(l, &l->conns[i], "call:join", json);
		}
	}
	if (++k->joined == n)
		l->ready += n;
}

static void add_delay(struct load *l, double ms)
{
	if (l->ndelays == l->capdelays) {
		size_t cap = l->capdelays ? 2 * l->capdelays : 65536;
		double *d = realloc(l->delays, cap * sizeof(*d));
		if (!d)
			die("realloc");
		l->delays = d;
		l->capdelays = cap;
	}
	l->delays[l->ndelays++] = ms;
}

/* A Socket.IO packet (after the Engine.IO "4"). */
static void on_sio(struct load *l, struct conn *c, const char *p)
{
	if (p[0] == '0') { /* CONNECT answered */
		c->state = S_READY;
		l->connecting--;
		call_maybe_initiate(l, c->idx / GROUP);
		return;
	}
	if (p[0] == '4') {
		conn_dead(l, c, p);
		return;
	}
	if (p[0] == '3') { /* an ack: ours is the only one outstanding */
		const char *body = p + 1 + strspn(p + 1, "0123456789");
		c->busy = false;
		if (l->phase == P_SETUP)
			on_setup_ack(l, c, body);
		else if (l->phase == P_SATURATE && c->idx % GROUP == 0)
			emit_media_state(l, c);
		return;
	}
	if (p[0] == '2' && !strncmp(p + 1, "[\"call:media-state\"", 19)) {
		char needle[64];
		const char *u;
		int n = snprintf(needle, sizeof(needle), "\"userId\":\"%s-",
				 l->prefix);
		l->delivered++;
		if (l->phase != P_PACED)
			return;
		c->heard = true;
		u = strstr(p, needle);
		if (u) {
			int from = atoi(u + n);
			if (from >= 0 && from < l->nsock &&
			    l->conns[from].sent_ns)
				add_delay(l, (double)(now_ns() -
						      l->conns[from].sent_ns) /
						     1e6);
		}
	}
}

/* An Engine.IO packet in one websocket text frame. */
static void on_eio(struct load *l, struct conn *c, char *p)
{
	switch (p[0]) {
	case '0': { /* open: Socket.IO CONNECT with our token */
		char text[256];
		snprintf(text, sizeof(text),
			 "40{\"token\":\"%s-%d\",\"conversations\":"
			 "[\"%s-conv-%d\"]}",
			 l->prefix, c->idx, l->prefix, c->idx / GROUP);
		c->state = S_SIO_OPEN;
		send_text(l, c, text);
		break;
	}
	case '2':
		send_text(l, c, "3");
		break;
	case '4':
		on_sio(l, c, p + 1);
		break;
	case '1':
		conn_dead(l, c, "the server closed the session");
		break;
	default:
		break;
	}
}

/* Whole frames out of c->rx; the rest stays. */
static void parse_frames(struct load *l, struct conn *c)
{
	size_t pos = 0;
	while (c->state != S_DEAD && c->rxlen - pos >= 2) {
		const uint8_t *b = (const uint8_t *)c->rx + pos;
		uint64_t len = b[1] & 0x7f;
		size_t h = 2;
		if (len == 126) {
			if (c->rxlen - pos < 4)
				break;
			len = ((uint64_t)b[2] << 8) | b[3];
			h = 4;
		} else if (len == 127) {
			if (c->rxlen - pos < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = (len << 8) | b[2 + i];
			h = 10;
		}
		if (len > RX_MAX - 16) {
			conn_dead(l, c,
				  "a frame larger than this client takes");
			return;
		}
		if (c->rxlen - pos < h + len)
			break;
		if ((b[0] & 0x0f) == 0x1) {
			char save = c->rx[pos + h + len];
			c->rx[pos + h + len] = '\0'; /* rx has room past it */
			on_eio(l, c, c->rx + pos + h);
			c->rx[pos + h + len] = save;
		} else if ((b[0] & 0x0f) == 0x8) {
			conn_dead(l, c, "websocket closed by the server");
			return;
		}
		pos += h + len;
	}
	memmove(c->rx, c->rx + pos, c->rxlen - pos);
	c->rxlen -= pos;
}

static void on_upgrade(struct load *l, struct conn *c)
{
	char *end = memmem(c->rx, c->rxlen, "\r\n\r\n", 4);
	size_t hlen;
	if (!end)
		return;
	if (strncmp(c->rx, "HTTP/1.1 101", 12)) {
		c->rx[c->rxlen < 200 ? c->rxlen : 200] = '\0';
		conn_dead(l, c, c->rx);
		return;
	}
	hlen = (size_t)(end + 4 - c->rx);
	memmove(c->rx, c->rx + hlen, c->rxlen - hlen);
	c->rxlen -= hlen;
	c->state = S_EIO_OPEN;
}

static void on_readable(struct load *l, struct conn *c)
{
	for (;;) {
		ssize_t n =
			recv(c->fd, c->rx + c->rxlen, RX_MAX - 1 - c->rxlen, 0);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_dead(l, c,
				  n ? "recv failed" : "closed by the server");
			return;
		}
		c->rxlen += (size_t)n;
		if (c->state == S_UPGRADE)
			on_upgrade(l, c);
		if (c->state >= S_EIO_OPEN && c->state != S_DEAD)
			parse_frames(l, c);
		if (c->state == S_DEAD)
			return;
		if (c->rxlen >= RX_MAX - 1) {
			conn_dead(l, c, "too much unparsed input");
			return;
		}
	}
}

static void on_writable(struct load *l, struct conn *c)
{
	if (c->state == S_TCP) {
		char req[512];
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err) {
			errno = err;
			conn_dead(l, c, strerror(err));
			return;
		}
		snprintf(
			req, sizeof(req),
			"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
			"Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
			"Connection: Upgrade\r\n"
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			"Sec-WebSocket-Version: 13\r\n\r\n",
			l->port);
		c->state = S_UPGRADE;
		want_out(l, c, false);
		conn_write(l, c, req, strlen(req));
		return;
	}
	if (c->txlen)
		conn_flush(l, c);
}

/* Runs the loop until until_ns (0: until every socket is in its call), with
 * tick() called every millisecond or so. */
static void run(struct load *l, uint64_t until_ns, void (*tick)(struct load *))
{
	struct epoll_event ev[EVENTS_MAX];
	for (;;) {
		uint64_t t = now_ns();
		int n;
		if (until_ns ? t >= until_ns : l->ready + l->dead >= l->nsock)
			return;
		n = epoll_wait(l->ep, ev, EVENTS_MAX, 1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (c->state == S_DEAD)
				continue;
			if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				on_writable(l, c);
			if (c->state != S_DEAD &&
			    ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				on_readable(l, c);
		}
		if (tick)
			tick(l);
	}
}

static void setup_tick(struct load *l)
{
	connect_more(l);
}

/* --rate emits a second from the sockets in turn, one outstanding each. */
static struct {
	uint64_t t0;
	uint64_t due;
	int next;
} pace;

static void paced_tick(struct load *l)
{
	const uint64_t want =
		(uint64_t)((double)(now_ns() - pace.t0) / 1e9 * l->rate);
	while (pace.due < want) {
		struct conn *c = &l->conns[pace.next++ % l->nsock];
		pace.due++;
		if (c->busy || c->state != S_READY) {
			l->skipped++;
			continue;
		}
		emit_media_state(l, c);
	}
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(struct load *l, double p)
{
	size_t i;
	if (!l->ndelays)
		return -1;
	i = (size_t)(p * (double)l->ndelays);
	return l->delays[i < l->ndelays ? i : l->ndelays - 1];
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return def;
}

static void setup(struct load *l, int argc, char **argv)
{
	struct rlimit rl;
	l->port = atoi(arg(argc, argv, "--port", "0"));
	l->nsock = atoi(arg(argc, argv, "--sockets", "1000"));
	l->rate = atof(arg(argc, argv, "--rate", "1000"));
	l->paced_s = atof(arg(argc, argv, "--paced-s", "4"));
	l->phase_s = atof(arg(argc, argv, "--phase-s", "5"));
	l->pid = atoi(arg(argc, argv, "--pid", "0"));
	l->prefix = arg(argc, argv, "--prefix", "gwl");
	if (l->port <= 0 || l->port > 65535 || l->nsock <= 0 || l->rate <= 0) {
		fprintf(stderr,
			"gateway-load: --port (1-65535), --sockets and"
			" --rate (> 0) are required; got port '%s', sockets"
			" '%s', rate '%s'\n",
			arg(argc, argv, "--port", ""),
			arg(argc, argv, "--sockets", ""),
			arg(argc, argv, "--rate", ""));
		exit(2);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	l->ncalls = (l->nsock + GROUP - 1) / GROUP;
	l->conns = calloc((size_t)l->nsock, sizeof(*l->conns));
	l->calls = calloc((size_t)l->ncalls, sizeof(*l->calls));
	l->ep = epoll_create1(0);
	if (!l->conns || !l->calls || l->ep < 0)
		die("setup");
	for (int i = 0; i < l->nsock; i++) {
		l->conns[i].fd = -1;
		l->conns[i].idx = i;
	}
}

int main(int argc, char **argv)
{
	struct load l = {0};
	uint64_t t0, t1;
	double c0 = 0, s0 = 0, c1 = 0, s1 = 0, me0, me1, wall, cpu;
	uint64_t paced_sent, paced_delivered, paced_skipped;
	int heard = 0;
	double p50, p95, p99;

	setup(&l, argc, argv);
	t0 = now_ns();
	run(&l, 0, setup_tick);
	fprintf(stderr,
		"gateway-load: %d sockets in calls in %.2f s (%d failed)\n",
		l.ready, (double)(now_ns() - t0) / 1e9, l.dead);
	if (l.dead)
		return 1;

	fprintf(stderr, "gateway-load: paced phase, %.0f events/s for %.1f s\n",
		l.rate, l.paced_s);
	l.phase = P_PACED;
	pace.t0 = now_ns();
	run(&l, pace.t0 + (uint64_t)(l.paced_s * 1e9), paced_tick);
	run(&l, now_ns() + 500000000u, NULL); /* the last ones' deliveries */
	paced_sent = l.sent;
	paced_delivered = l.delivered;
	paced_skipped = l.skipped;
	for (int i = 0; i < l.nsock; i++)
		heard += l.conns[i].heard;
	qsort(l.delays, l.ndelays, sizeof(*l.delays), cmp_double);
	p50 = pct(&l, 0.5);
	p95 = pct(&l, 0.95);
	p99 = pct(&l, 0.99);

	/* saturation: the first of each call, again as soon as answered (one
	 * still waiting from the paced phase starts on its answer) */
	fprintf(stderr, "gateway-load: saturation phase, %.1f s\n", l.phase_s);
	l.phase = P_SATURATE;
	l.sent = l.delivered = 0;
	if (l.pid)
		c0 = cpu_seconds(l.pid, &s0);
	me0 = cpu_seconds(getpid(), NULL);
	t0 = now_ns();
	for (int i = 0; i < l.nsock; i += GROUP)
		if (!l.conns[i].busy)
			emit_media_state(&l, &l.conns[i]);
	run(&l, t0 + (uint64_t)(l.phase_s * 1e9), NULL);
	t1 = now_ns();
	if (l.pid)
		c1 = cpu_seconds(l.pid, &s1);
	me1 = cpu_seconds(getpid(), NULL);
	wall = (double)(t1 - t0) / 1e9;
	cpu = c1 - c0;

	printf("{\"sockets\":%d,\"paced\":{\"sent\":%llu,\"skipped\":%llu,"
	       "\"delivered\":%llu,\"expected\":%llu,\"heard\":%d,"
	       "\"fanout_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}},"
	       "\"saturation\":{\"sent\":%llu,\"delivered\":%llu,"
	       "\"wall_s\":%.3f,\"server_cpu\":%.4f,\"server_sys_share\":%.4f,"
	       "\"delivered_per_s\":%.1f,\"delivered_per_cpu_s\":%.1f,"
	       "\"load_cpu\":%.4f}}\n",
	       l.nsock, (unsigned long long)paced_sent,
	       (unsigned long long)paced_skipped,
	       (unsigned long long)paced_delivered,
	       (unsigned long long)(paced_sent * (GROUP - 1)), heard, p50, p95,
	       p99, (unsigned long long)l.sent, (unsigned long long)l.delivered,
	       wall, cpu / wall, cpu > 0 ? (s1 - s0) / cpu : 0,
	       (double)l.delivered / wall,
	       cpu > 0 ? (double)l.delivered / cpu : 0, (me1 - me0) / wall);
	return 0;
}
