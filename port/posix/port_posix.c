/*
 * port_posix.c - port.h on Linux (x86 and ARM) over libre's main loop.
 *
 * Timers are libre timers, sockets are watched with fd_listen, and UDP moves
 * in batches with recvmmsg/sendmmsg so one system call carries up to
 * PORT_UDP_BATCH packets: on loopback that is the difference between about
 * 60 k and 250 k packets per CPU-second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "port.h"

/* Clock */

uint64_t port_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t port_wallclock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Timers */

struct port_timer {
	struct tmr tmr;
};

static void timer_destructor(void *arg)
{
	struct port_timer *t = arg;
	tmr_cancel(&t->tmr);
}

int port_timer_alloc(struct port_timer **timerp)
{
	struct port_timer *t;
	if (!timerp)
		return EINVAL;
	t = mem_zalloc(sizeof(*t), timer_destructor);
	if (!t)
		return ENOMEM;
	tmr_init(&t->tmr);
	*timerp = t;
	return 0;
}

void port_timer_start(struct port_timer *timer, uint64_t delay_ms,
		      port_timer_h *h, void *arg)
{
	if (timer)
		tmr_start(&timer->tmr, delay_ms, h, arg);
}

void port_timer_start_within(struct port_timer *timer, uint64_t delay_ms,
			     port_timer_h *h, void *arg)
{
	if (!timer)
		return;
	if (tmr_isrunning(&timer->tmr) &&
	    tmr_get_expire(&timer->tmr) <= delay_ms)
		return;
	tmr_start(&timer->tmr, delay_ms, h, arg);
}

void port_timer_cancel(struct port_timer *timer)
{
	if (timer)
		tmr_cancel(&timer->tmr);
}

int port_timer_isrunning(const struct port_timer *timer)
{
	return timer && tmr_isrunning(&timer->tmr);
}

/* UDP */

struct port_udp {
	int fd;
	port_udp_recv_h *recvh;
	void *arg;
	struct port_udp_stats stats;
	/* receive batch: buffers reused for every batch */
	uint8_t bufs[PORT_UDP_BATCH][PORT_UDP_MTU];
	struct sa peers[PORT_UDP_BATCH];
	struct port_pkt pkts[PORT_UDP_BATCH];
	struct mmsghdr msgs[PORT_UDP_BATCH];
	struct iovec iovs[PORT_UDP_BATCH];
	/* SO_TIMESTAMPNS: each packet's arrival, for rx_us */
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct timespec))];
	} ctrl[PORT_UDP_BATCH];
};

/* The kernel stamps arrivals on the wall clock; rx_us is on the monotonic
 * one. The offset between them is read once a batch (two vDSO calls). */
static uint64_t wall_to_mono_us(const struct msghdr *h, int64_t offset_us)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c;
	     c = CMSG_NXTHDR((struct msghdr *)h, c)) {
		struct timespec ts;
		int64_t us;
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 -
		     offset_us;
		return us > 0 ? (uint64_t)us : 0;
	}
	return 0;
}

static int64_t wall_minus_mono_us(void)
{
	struct timespec w, m;
	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)w.tv_sec - (int64_t)m.tv_sec) * 1000000 +
	       (w.tv_nsec - m.tv_nsec) / 1000;
}

static void udp_destructor(void *arg)
{
	struct port_udp *u = arg;
	if (u->fd >= 0) {
		fd_close(u->fd);
		(void)close(u->fd);
	}
}

static void udp_read_handler(int flags, void *arg)
{
	struct port_udp *u = arg;
	int64_t offset;
	int i, n;
	(void)flags;

	/* Drain what is queued, one batch per system call. A bounded number
	 * of rounds keeps one busy socket from starving the others. */
	for (int round = 0; round < 8; round++) {
		for (i = 0; i < PORT_UDP_BATCH; i++) {
			u->iovs[i].iov_base = u->bufs[i];
			u->iovs[i].iov_len = PORT_UDP_MTU;
			memset(&u->msgs[i].msg_hdr, 0, sizeof(struct msghdr));
			u->msgs[i].msg_hdr.msg_iov = &u->iovs[i];
			u->msgs[i].msg_hdr.msg_iovlen = 1;
			u->msgs[i].msg_hdr.msg_name = &u->peers[i].u;
			u->msgs[i].msg_hdr.msg_namelen = sizeof(u->peers[i].u);
			u->msgs[i].msg_hdr.msg_control = u->ctrl[i].buf;
			u->msgs[i].msg_hdr.msg_controllen =
				sizeof(u->ctrl[i].buf);
		}
		n = recvmmsg(u->fd, u->msgs, PORT_UDP_BATCH, MSG_DONTWAIT,
			     NULL);
		if (n <= 0)
			return;
		offset = wall_minus_mono_us();
		for (i = 0; i < n; i++) {
			u->pkts[i].rx_us =
				wall_to_mono_us(&u->msgs[i].msg_hdr, offset);
			u->peers[i].len = u->msgs[i].msg_hdr.msg_namelen;
			u->pkts[i].buf = u->bufs[i];
			u->pkts[i].len = u->msgs[i].msg_len;
			u->pkts[i].size = PORT_UDP_MTU;
			u->pkts[i].peer = &u->peers[i];
		}
		u->stats.rx_pkts += (uint64_t)n;
		u->stats.rx_batches++;
		u->recvh(u->pkts, (size_t)n, u->arg);
		if (n < PORT_UDP_BATCH)
			return;
	}
}

int port_udp_listen(struct port_udp **udpp, const struct sa *laddr,
		    port_udp_recv_h *recvh, void *arg)
{
	struct port_udp *u;
	int err = 0, on = 1, bufsize = 4 << 20;

	if (!udpp || !laddr || !recvh)
		return EINVAL;
	u = mem_zalloc(sizeof(*u), udp_destructor);
	if (!u)
		return ENOMEM;
	u->recvh = recvh;
	u->arg = arg;
	u->fd = socket(sa_af(laddr), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (u->fd < 0) {
		err = errno;
		goto out;
	}
	if (sa_af(laddr) == AF_INET6)
		(void)setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
				 sizeof(on));
	(void)setsockopt(u->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	/* room for bursts (a keyframe to many subscribers); the kernel caps
	 * it at net.core.rmem_max / wmem_max */
	(void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &bufsize,
			 sizeof(bufsize));
	(void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
			 sizeof(bufsize));
	if (bind(u->fd, &laddr->u.sa, laddr->len) < 0) {
		err = errno;
		goto out;
	}
	err = fd_listen(u->fd, FD_READ, udp_read_handler, u);
out:
	if (err)
		mem_deref(u);
	else
		*udpp = u;
	return err;
}

int port_udp_local(const struct port_udp *udp, struct sa *laddr)
{
	if (!udp || !laddr)
		return EINVAL;
	laddr->len = sizeof(laddr->u);
	if (getsockname(udp->fd, &laddr->u.sa, &laddr->len) < 0)
		return errno;
	return 0;
}

int port_udp_send_batch(struct port_udp *udp, const struct port_pkt *pkts,
			size_t n, size_t *sent)
{
	struct mmsghdr msgs[PORT_UDP_BATCH];
	struct iovec iovs[PORT_UDP_BATCH];
	size_t done = 0;
	int err = 0;

	if (!udp || (!pkts && n))
		return EINVAL;

	while (done < n) {
		size_t k = n - done, i;
		int r;
		if (k > PORT_UDP_BATCH)
			k = PORT_UDP_BATCH;
		for (i = 0; i < k; i++) {
			const struct port_pkt *p = &pkts[done + i];
			iovs[i].iov_base = p->buf;
			iovs[i].iov_len = p->len;
			memset(&msgs[i].msg_hdr, 0, sizeof(struct msghdr));
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = (void *)&p->peer->u.sa;
			msgs[i].msg_hdr.msg_namelen = p->peer->len;
		}
		r = sendmmsg(udp->fd, msgs, (unsigned)k, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				err = errno;
			break;
		}
		udp->stats.tx_batches++;
		udp->stats.tx_pkts += (uint64_t)r;
		done += (size_t)r;
		if ((size_t)r < k)
			break;
	}
	udp->stats.tx_dropped += (uint64_t)(n - done);
	if (sent)
		*sent = done;
	return err;
}

void port_udp_stats(const struct port_udp *udp, struct port_udp_stats *st)
{
	if (udp && st)
		*st = udp->stats;
}

/* Random */

int port_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t r = getrandom(p, len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Log: the platform's one sink. The level is the only process-wide state
 * here; it is set once by the composition root (apps/). */

static enum port_log_level log_level = PORT_LOG_INFO;

void port_log_set_level(enum port_log_level level)
{
	log_level = level;
}

int port_log_enabled(enum port_log_level level)
{
	return level >= log_level;
}

void port_vlog(enum port_log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char msg[1024];
	struct timespec ts;
	struct tm tm;

	if (!port_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, names[level & 3],
		msg);
}

void port_log(enum port_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	port_vlog(level, fmt, ap);
	va_end(ap);
}
