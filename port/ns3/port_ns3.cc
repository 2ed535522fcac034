/*
 * port_ns3.cc - port.h over ns-3's simulator, so the portable code (core/,
 * placement) runs unchanged inside a simulated network.
 *
 * Time is the simulator's; timers are scheduled events; UDP sockets are
 * ns-3 sockets on the node the harness names with port_ns3_set_node()
 * before it creates a process's objects; random bytes come from a seeded
 * generator, so a scenario replays exactly. Objects are still libre
 * objects (mem_zalloc/mem_deref), as everywhere else.
 */
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"

extern "C" {
#include <re.h>
#include "port.h"
}
#include "port_ns3.h"

using namespace ns3;

namespace {
Ptr<Node> current_node;
uint64_t rng_state = 0x9e3779b97f4a7c15ull;
enum port_log_level log_level = PORT_LOG_WARN;
/* 2026-01-01T00:00:00Z: records made in a run carry plausible dates */
const uint64_t epoch_ms = 1767225600000ull;
} // namespace

void port_ns3_set_node(Ptr<Node> node)
{
	current_node = node;
}

Ptr<Node> port_ns3_node(void)
{
	return current_node;
}

void port_ns3_seed(uint64_t seed)
{
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

/* Clock */

uint64_t port_now_us(void)
{
	/* never 0: callers use 0 as "not yet" */
	return (uint64_t)Simulator::Now().GetMicroSeconds() + 1;
}

uint64_t port_wallclock_ms(void)
{
	return epoch_ms + (uint64_t)Simulator::Now().GetMilliSeconds();
}

/* Timers */

struct port_timer {
	EventId *ev;
	port_timer_h *h;
	void *arg;
};

static void timer_destructor(void *arg)
{
	struct port_timer *t = static_cast<struct port_timer *>(arg);
	Simulator::Cancel(*t->ev);
	delete t->ev;
}

int port_timer_alloc(struct port_timer **timerp)
{
	struct port_timer *t;
	if (!timerp)
		return EINVAL;
	t = static_cast<struct port_timer *>(
		mem_zalloc(sizeof(*t), timer_destructor));
	if (!t)
		return ENOMEM;
	t->ev = new EventId();
	*timerp = t;
	return 0;
}

static void timer_fire(struct port_timer *t)
{
	t->h(t->arg);
}

void port_timer_start(struct port_timer *timer, uint64_t delay_ms,
		      port_timer_h *h, void *arg)
{
	if (!timer)
		return;
	Simulator::Cancel(*timer->ev);
	timer->h = h;
	timer->arg = arg;
	*timer->ev = Simulator::Schedule(MilliSeconds(delay_ms), &timer_fire,
					 timer);
}

void port_timer_start_within(struct port_timer *timer, uint64_t delay_ms,
			     port_timer_h *h, void *arg)
{
	if (!timer)
		return;
	if (timer->ev->IsRunning() &&
	    Simulator::GetDelayLeft(*timer->ev) <= MilliSeconds(delay_ms))
		return;
	port_timer_start(timer, delay_ms, h, arg);
}

void port_timer_cancel(struct port_timer *timer)
{
	if (timer)
		Simulator::Cancel(*timer->ev);
}

int port_timer_isrunning(const struct port_timer *timer)
{
	return timer && timer->ev->IsRunning();
}

/* UDP */

struct port_udp {
	Ptr<Socket> *sock;
	port_udp_recv_h *recvh;
	void *arg;
	struct sa local;
	struct port_udp_stats stats;
	uint8_t buf[PORT_UDP_BATCH][PORT_UDP_MTU];
	struct sa peer[PORT_UDP_BATCH];
};

static void udp_destructor(void *arg)
{
	struct port_udp *u = static_cast<struct port_udp *>(arg);
	if (*u->sock) {
		(*u->sock)->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
		(*u->sock)->Close();
	}
	delete u->sock;
}

/* What arrived, in batches as recvmmsg would hand them over. */
static void udp_readable(struct port_udp *u, Ptr<Socket> s)
{
	struct port_pkt pkts[PORT_UDP_BATCH];
	Address from;
	Ptr<Packet> p;
	size_t n = 0;

	while ((p = s->RecvFrom(from))) {
		InetSocketAddress in = InetSocketAddress::ConvertFrom(from);
		uint32_t len = p->GetSize();
		if (len > PORT_UDP_MTU)
			continue; /* larger than any MTU we use: dropped */
		p->CopyData(u->buf[n], len);
		sa_set_in(&u->peer[n], in.GetIpv4().Get(), in.GetPort());
		pkts[n].buf = u->buf[n];
		pkts[n].len = len;
		pkts[n].size = PORT_UDP_MTU;
		pkts[n].peer = &u->peer[n];
		pkts[n].rx_us = port_now_us(); /* delivered now */
		if (++n == PORT_UDP_BATCH) {
			u->stats.rx_pkts += n;
			u->stats.rx_batches++;
			u->recvh(pkts, n, u->arg);
			n = 0;
		}
	}
	if (n) {
		u->stats.rx_pkts += n;
		u->stats.rx_batches++;
		u->recvh(pkts, n, u->arg);
	}
}

int port_udp_listen(struct port_udp **udpp, const struct sa *laddr,
		    port_udp_recv_h *recvh, void *arg)
{
	struct port_udp *u;

	if (!udpp || !laddr || !recvh || !current_node ||
	    sa_af(laddr) != AF_INET)
		return EINVAL;
	u = static_cast<struct port_udp *>(
		mem_zalloc(sizeof(*u), udp_destructor));
	if (!u)
		return ENOMEM;
	u->sock = new Ptr<Socket>(Socket::CreateSocket(
		current_node, UdpSocketFactory::GetTypeId()));
	u->recvh = recvh;
	u->arg = arg;
	if ((*u->sock)->Bind(InetSocketAddress(Ipv4Address(sa_in(laddr)),
					       sa_port(laddr)))) {
		mem_deref(u);
		return EADDRINUSE;
	}
	{
		Address a;
		(*u->sock)->GetSockName(a);
		InetSocketAddress in = InetSocketAddress::ConvertFrom(a);
		sa_set_in(&u->local, in.GetIpv4().Get(), in.GetPort());
	}
	(*u->sock)->SetRecvCallback(
		MakeBoundCallback(&udp_readable, u));
	*udpp = u;
	return 0;
}

int port_udp_local(const struct port_udp *udp, struct sa *laddr)
{
	if (!udp || !laddr)
		return EINVAL;
	*laddr = udp->local;
	return 0;
}

int port_udp_send_batch(struct port_udp *udp, const struct port_pkt *pkts,
			size_t n, size_t *sent)
{
	size_t i;
	if (!udp)
		return EINVAL;
	for (i = 0; i < n; i++) {
		Ptr<Packet> p = Create<Packet>(pkts[i].buf, pkts[i].len);
		InetSocketAddress to(Ipv4Address(sa_in(pkts[i].peer)),
				     sa_port(pkts[i].peer));
		if ((*udp->sock)->SendTo(p, 0, to) < 0) {
			udp->stats.tx_dropped++;
			break;
		}
	}
	udp->stats.tx_pkts += i;
	udp->stats.tx_batches++;
	if (sent)
		*sent = i;
	return 0;
}

void port_udp_stats(const struct port_udp *udp, struct port_udp_stats *st)
{
	if (udp && st)
		*st = udp->stats;
}

/* Work: a simulation has one thread and models CPU time itself (the media
 * node's handshake cost, sim/meeshy_sim.cc): jobs run inline. */

static struct port_work_stats work_stats;

int port_work_init(unsigned threads)
{
	(void)threads;
	return 0;
}

void port_work_close(void)
{
}

void port_work_thread_close(void)
{
}

int port_work_submit(port_work_h *run, port_work_h *done, void *arg)
{
	if (!run || !done)
		return EINVAL;
	work_stats.submitted++;
	run(arg);
	done(arg);
	work_stats.completed++;
	return 0;
}

void port_work_stats(struct port_work_stats *st)
{
	if (st)
		*st = work_stats;
}

/* One thread, simulated time: nothing to rank. */
void port_thread_below_media(void)
{
}

/* Random: xorshift64*, seeded per run (port_ns3_seed) */

int port_random(void *buf, size_t len)
{
	uint8_t *b = static_cast<uint8_t *>(buf);
	while (len) {
		uint64_t x = rng_state;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		rng_state = x;
		x *= 0x2545f4914f6cdd1dull;
		for (int i = 0; i < 8 && len; i++, len--)
			*b++ = (uint8_t)(x >> (8 * i));
	}
	return 0;
}

/* Log: simulated time first */

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
	static const char *const names[] = {"debug", "info", "warn", "error"};
	if (!port_log_enabled(level))
		return;
	(void)re_fprintf(stderr, "[sim %.6f s] %s ",
			 Simulator::Now().GetSeconds(), names[level]);
	(void)re_vfprintf(stderr, fmt, ap);
	(void)re_fprintf(stderr, "\n");
}

void port_log(enum port_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	port_vlog(level, fmt, ap);
	va_end(ap);
}
