/*
 * meeshy_sim.cc - meeshy-sim: a scenario (a JSON file of sim/scenarios) played
 * on ns-3, with the real SFU core on the media nodes and the real placement
 * rule choosing them, through port/ns3. It writes a JSON report.
 *
 *   meeshy-sim sim/scenarios/small.json [--out report.json]
 *
 * What is real and what is modelled:
 * - real: core/router.c forwards every RTP/RTCP packet (SSRC rewriting,
 *   simulcast layer choice on keyframes, PLI towards senders, receiver
 *   reports), signaling/placement.c picks the media node of each SFU call,
 *   the gateway's call rules (signaling/call/call_machine.c) decide when a
 *   call moves to the SFU and when it ends, and every packet crosses a
 *   simulated network (ns-3 point-to-point links
 *   with the region's delay, loss and bandwidth).
 * - modelled (sim/ only, no copy of core logic): clients (RTP senders with
 *   the seed's Opus and simulcast rates, one packet per video frame and
 *   layer), the signaling exchanges of a join (request/answer round trips
 *   to a gateway node with a service time), ICE and DTLS as two round trips
 *   to the media node, and a media node's CPU: a FIFO server whose service
 *   time is rx_us per packet in plus tx_us per packet out (peek_us for a
 *   packet of a simulcast layer nobody gets), with a bounded queue, so
 *   overload shows as queueing delay and loss.
 */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"

extern "C" {
#include <cjson/cJSON.h>
#include <re.h>
#include "call_machine.h"
#include "placement.h"
#include "port.h"
#include "router.h"
}
#include "port_ns3.h"
#include "network.h"
#include "scenario.h"
#include "search.h"

using namespace ns3;
using sim::Region;
using sim::Scenario;

namespace
{

/* --- measurements --- */

struct Samples {
	std::vector<double> v;
	void add(double x)
	{
		v.push_back(x);
	}
	double pct(double p)
	{
		if (v.empty())
			return NAN;
		std::sort(v.begin(), v.end());
		size_t i = (size_t)std::ceil(p / 100.0 * (double)v.size());
		return v[std::min(v.size() - 1, i ? i - 1 : 0)];
	}
};

struct Results {
	Samples join_ms, p2p_rtt_ms, sfu_rtt_ms, event_ms, switch_ms;
	/* SFU round trips per region, each beside its pair's own path
	 * (direct_rtt_ms): the seed grants the SFU 50 ms over P2P, so for
	 * the pairs P2P would serve within its SLA the SFU SLA is the
	 * plan's to keep (near_pairs). A pair further apart misses it
	 * wherever its call is placed. */
	std::map<std::string, std::vector<std::pair<double, double>>>
		sfu_rtt_own_in;
	/* P2P round trips of pairs relayed by TURN (either peer behind a NAT
	 * that needs it), each beside its pair's own path (direct_rtt_ms):
	 * the plan's TURN sites decide the SLA of those whose own path,
	 * plus what the clients add (own_path_excess), is within it */
	Samples p2p_relayed;
	std::vector<std::pair<double, double>> p2p_relayed_own;
	/* direct P2P round trips over their pair's own path: the clients'
	 * queues, jitter and CPU, which a relay adds to as well */
	Samples own_path_excess;
	/* one way through the SFU: sender -> node -> receiver */
	Samples sfu_oneway_audio_ms, sfu_oneway_video_ms;
	/* the node's own part: from a packet's arrival to its copies'
	 * leaving (the queue and the CPU), meeshy_media_forward_delay's */
	Samples sfu_forward_ms;
	/* a join's request, from its sending to its answer at the client */
	Samples request_answer_ms;
	/* a measured join's start to its transport secured (ICE + DTLS) */
	Samples join_secured_ms;
	Samples recovery_ms; /* a dead node's calls, until media flows again */
	uint64_t resent = 0; /* control messages sent again (Exchange) */
	/* participants still waiting for the others' media at the end, and
	 * for longer than the join SLA: counted in the join rows */
	uint64_t joins_unfinished = 0;
	/* per region: P2P round trips of two peers in it, the SFU's and
	 * joins of its participants */
	std::map<std::string, Samples> p2p_within, sfu_rtt_in, join_in;
	/* calls whose participants are in more than one region: apart from
	 * the rows above (the distance alone may exceed the SLA) */
	struct {
		Samples join, p2p, sfu, event;
	} across;
	unsigned calls_ended = 0;
	unsigned back_to_p2p = 0; /* calls the rules moved back to P2P */
	uint64_t media_in = 0, media_dropped = 0;
} results;

double urand_value();

/* --- packets --- */

enum : uint8_t { PT_OPUS = 111, PT_VP8 = 96 };
enum { STAMP_OFF = 2 }; /* after the VP8 descriptor and payload header */
enum { CLIENT_PORT = 5000, TURN_PORT = 3478 };

struct Client;
struct MediaNode;
struct Site;

struct Call {
	unsigned id;
	std::vector<Client *> parts;
	struct call_machine rules; /* the gateway's, played here */
	Client *joiner = nullptr;  /* whose join the rules are deciding on */
	bool sfu = false;
	MediaNode *mn = nullptr;
	unsigned on_node = 0; /* participants counted in mn's load */
	struct router *router = nullptr;
	double switch_at = -1;
	bool sampled = true; /* its media runs packet by packet */
	bool ended = false;
	double fluid_us_per_s = 0; /* else: its CPU load on the node */
	bool across = false;       /* its participants in several regions */
};

void next_round(Client *c);
void handshake(Client *c);
Site *turn_site(const Client *c);

/* A client's transport on a media node: what the router calls `t`. */
struct SimTransport {
	struct sa peer;
	struct MediaNode *mn;
	Call *call;
	Client *client;
	bool secured = false; /* DTLS done: what the router sends leaves */
};

struct Out {
	std::vector<uint8_t> buf;
	struct sa peer;
};

/* A control message awaiting its answer: a signaling request (over the
 * websocket, which TCP resends) or an ICE check or DTLS flight (resent on
 * their own timers). Loss on an access link drops them here as well:
 * without a resend, a participant waited for ever and was in no figure.
 * Each carries its id last, which the answer echoes, so that the answer
 * to an earlier copy is not taken twice. */
enum { EXCHANGE_MAX = 16, EXCHANGE_TRIES = 8 };
struct Exchange {
	uint32_t id = 0;
	bool waiting = false;
	std::vector<uint8_t> msg;
	Address to;
};

uint32_t exchange_id(const uint8_t *b, size_t n)
{
	uint32_t id = 0;
	if (n >= 4)
		memcpy(&id, b + n - 4, 4);
	return id;
}

/* Whether b is the answer x awaits (then x no longer waits) */
bool exchange_answered(Exchange *x, const uint8_t *b, size_t n)
{
	if (!x->waiting || n < 4 || exchange_id(b, n) != x->id)
		return false;
	x->waiting = false;
	return true;
}

/* What a media node's CPU does: a packet for the router, a DTLS flight
 * to answer, or (role all: the gateway in the same process) a signaling
 * request to answer. */
enum JobKind { JOB_MEDIA, JOB_FLIGHT, JOB_REQUEST };

struct Job {
	JobKind kind;
	std::vector<uint8_t> buf;
	SimTransport *t; /* JOB_MEDIA: whose packet */
	bool rtcp;
	struct sa from;   /* JOB_FLIGHT: who to answer */
	Address reply_to; /* JOB_REQUEST: who to answer */
	double arrived_s = Simulator::Now().GetSeconds();
};

struct MediaNode {
	unsigned idx;
	Ptr<Node> node;
	Ipv4Address addr;
	struct port_udp *udp = nullptr;
	uint16_t port = 40000;
	std::map<uint64_t, SimTransport *> by_peer;
	std::deque<Job> queue;
	unsigned busy = 0; /* cores at work */
	bool dead = false;
	double busy_s = 0; /* CPU time spent on sampled packets */
	/* the fluid calls' CPU load (us per s) and its integral */
	double fluid_us_per_s = 0, fluid_s = 0, fluid_since = 0;
	uint64_t in = 0, dropped = 0, forwarded = 0;
	uint64_t flights = 0;  /* DTLS flights handled (their CPU in busy_s) */
	uint64_t requests = 0; /* signaling requests (role all) */
	uint64_t bytes_in = 0, bytes_out = 0;
	uint64_t peeked = 0, bytes_peeked = 0; /* of in: header only */
	std::vector<Out> out; /* what the router sends while it runs */
	struct node_load load;
	Site *site = nullptr; /* its data centre */
};

std::vector<MediaNode *> media_nodes;
Scenario sc;

/* CPU microseconds of a packet of len bytes: the line through the two
 * calibrated sizes (or flat when only one is known). */
double size_cost(double big_us, double small_us, double len)
{
	if (small_us < 0 || sc.cost_bytes == sc.small_bytes)
		return big_us;
	double per_byte =
		(big_us - small_us) / (sc.cost_bytes - sc.small_bytes);
	return std::max(0.0, small_us + per_byte * (len - sc.small_bytes));
}

double rx_cost_us(double len)
{
	return size_cost(sc.rx_us, sc.rx_small_us, len);
}

double tx_cost_us(double len)
{
	return size_cost(sc.tx_us, sc.tx_small_us, len);
}

double peek_cost_us(double len)
{
	return sc.peek_us >= 0 ? sc.peek_us : rx_cost_us(len);
}

double client_tx_cost_us(double len)
{
	return sc.client_tx_us >= 0 ? sc.client_tx_us : tx_cost_us(len);
}

uint64_t peer_key(const struct sa *a)
{
	return ((uint64_t)sa_in(a) << 16) | sa_port(a);
}

int sim_send(struct webrtc_transport *t, uint8_t *buf, size_t len, size_t size,
	     bool rtcp)
{
	SimTransport *st = reinterpret_cast<SimTransport *>(t);
	(void)size;
	(void)rtcp;
	if (!st->secured)
		return ENOTCONN; /* no SRTP keys yet, as webrtc_transport */
	st->mn->out.push_back({std::vector<uint8_t>(buf, buf + len), st->peer});
	return 0;
}

/* Whether a keyframe sent now could reach t's receiver: as the server's
 * router asks (media/sfu_call.c), its transport is secured. Without it, a
 * keyframe asked for during the receiver's DTLS started its consumer and
 * was lost, and the non-key packets after the handshake ended its join
 * (the cross-check's sim joins were 6-7 ms short). */
bool sim_transport_secured(const struct webrtc_transport *t)
{
	return reinterpret_cast<const SimTransport *>(t)->secured;
}

void mn_flush(MediaNode *mn, std::vector<Out> *out)
{
	for (Out &o : *out) {
		if (mn->dead)
			break;
		struct port_pkt p = {o.buf.data(), o.buf.size(), o.buf.size(),
				     &o.peer};
		size_t sent = 0;
		(void)port_udp_send_batch(mn->udp, &p, 1, &sent);
		mn->forwarded += sent;
		mn->bytes_out += sent * o.buf.size();
	}
	delete out;
}

/* The CPU: one packet at a time, rx_us in + tx_us per packet out. */
void mn_next(MediaNode *mn);

void mn_echo(MediaNode *mn, std::vector<uint8_t> *b, struct sa from)
{
	struct port_pkt echo = {b->data(), b->size(), b->size(), &from};
	if (!mn->dead)
		(void)port_udp_send_batch(mn->udp, &echo, 1, nullptr);
	delete b;
}

void gateway_answer(Site *site, Address to, uint32_t id);
double gateway_service_s();
double handshake_core_wait(Site *site, double cpu_s);

/* A DTLS flight (b) answered `after_s` from now, once the server's share
 * of the handshake has had its CPU: on a media core or the site's
 * handshake core. */
void answer_flight(MediaNode *mn, double after_s, std::vector<uint8_t> *b,
		   struct sa from)
{
	mn->flights++;
	Simulator::Schedule(Seconds(after_s), &mn_echo, mn, b, from);
}

/* A core takes cpu_s of work: it counts as busy time, and on the wall it
 * lasts longer by the share the fluid calls take. Returns that wall time;
 * the core takes its next job then. */
double mn_occupy(MediaNode *mn, double cpu_s)
{
	mn->busy_s += cpu_s;
	double wall =
		cpu_s / std::max(0.01, 1 - mn->fluid_us_per_s / 1e6 / sc.cores);
	mn->busy++;
	Simulator::Schedule(Seconds(wall), &mn_next, mn);
	return wall;
}

/* One packet through the router, as the server's transport takes it:
 * the router looks at the header first, and a layer nobody gets goes no
 * further (the packets here carry no SRTP tag). Its copies join
 * mn->out; returns its CPU microseconds. */
double mn_route(MediaNode *mn, Job &j)
{
	Call *call = j.t->call;
	auto *t = reinterpret_cast<struct webrtc_transport *>(j.t);
	if (!j.rtcp && sc.peek_us >= 0 &&
	    !router_rtp_peek(call->router, t, j.buf.data(), j.buf.size())) {
		mn->peeked++;
		mn->bytes_peeked += j.buf.size();
		return peek_cost_us((double)j.buf.size());
	}
	size_t before = mn->out.size();
	router_packet(call->router, t, j.buf.data(), j.buf.size(), j.buf.size(),
		      j.rtcp);
	double us = rx_cost_us((double)j.buf.size());
	for (size_t i = before; i < mn->out.size(); i++)
		us += tx_cost_us((double)mn->out[i].buf.size());
	return us;
}

/* A receive batch, as the server's recvmmsg takes it: the media packets
 * at the queue's front (first), up to PORT_UDP_BATCH, each through the
 * router, and every copy they made leaves at the batch's end, in one
 * send per socket (the server's egress batch). */
void mn_run_batch(MediaNode *mn, Job &first)
{
	mn->out.clear();
	std::vector<double> copied; /* arrivals of the packets with copies */
	double service = 0;
	for (unsigned n = 0; n < PORT_UDP_BATCH; n++) {
		Job j;
		if (n == 0)
			j = std::move(first);
		else if (!mn->queue.empty() &&
			 mn->queue.front().kind == JOB_MEDIA) {
			j = std::move(mn->queue.front());
			mn->queue.pop_front();
		} else
			break;
		size_t before = mn->out.size();
		service += mn_route(mn, j);
		if (mn->out.size() > before)
			copied.push_back(j.arrived_s);
	}
	auto *out = new std::vector<Out>(std::move(mn->out));
	mn->out.clear();
	double wall = mn_occupy(mn, service / 1e6);
	for (double a : copied)
		results.sfu_forward_ms.add(
			(Simulator::Now().GetSeconds() + wall - a) * 1e3);
	Simulator::Schedule(Seconds(wall), &mn_flush, mn, out);
}

void mn_run(MediaNode *mn, Job &j)
{
	if (j.kind == JOB_REQUEST) {
		mn->requests++;
		Simulator::Schedule(Seconds(mn_occupy(mn, gateway_service_s())),
				    &gateway_answer, mn->site, j.reply_to,
				    exchange_id(j.buf.data(), j.buf.size()));
		return;
	}
	if (j.kind == JOB_FLIGHT) { /* the server's share of the handshake,
				     * for both transports of the participant */
		answer_flight(mn, mn_occupy(mn, sc.dtls_server_ms / 1e3),
			      new std::vector<uint8_t>(std::move(j.buf)),
			      j.from);
		return;
	}
	mn_run_batch(mn, j);
}

void mn_next(MediaNode *mn)
{
	mn->busy--;
	if (mn->queue.empty() || mn->dead)
		return;
	Job j = std::move(mn->queue.front());
	mn->queue.pop_front();
	mn_run(mn, j);
}

/* To a free core, else to the queue (the caller has checked its room).
 * A free core is asleep: it takes the job once awake (wake_us), with
 * what has come by then. */
void mn_enqueue(MediaNode *mn, Job &&j)
{
	if (mn->busy == sc.cores) {
		mn->queue.push_back(std::move(j));
		return;
	}
	if (sc.wake_us > 0) {
		mn->queue.push_back(std::move(j));
		mn->busy++;
		Simulator::Schedule(Seconds(sc.wake_us / 1e6), &mn_next, mn);
		return;
	}
	mn_run(mn, j);
}

/* Handshake packets ('H', then the flight: 0 ICE, 1 and 2 DTLS): the
 * ICE check is answered at once, DTLS flights after their CPU time in the
 * node's queue (or on the site's handshake core); RTP and RTCP go to the
 * CPU queue, then the router. */
void mn_recv(const struct port_pkt *pkts, size_t n, void *arg)
{
	MediaNode *mn = static_cast<MediaNode *>(arg);
	if (mn->dead)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct port_pkt &p = pkts[i];
		if (p.len == 6 && p.buf[0] == 'H') {
			if (p.buf[1] == 0 || sc.dtls_server_ms <= 0) {
				struct port_pkt echo = p;
				(void)port_udp_send_batch(mn->udp, &echo, 1,
							  nullptr);
				continue;
			}
			if (sc.handshake_core) { /* beside the media cores */
				answer_flight(mn,
					      handshake_core_wait(
						      mn->site,
						      sc.dtls_server_ms / 1e3),
					      new std::vector<uint8_t>(
						      p.buf, p.buf + p.len),
					      *p.peer);
				continue;
			}
			mn_enqueue(mn, Job{JOB_FLIGHT,
					   std::vector<uint8_t>(p.buf,
								p.buf + p.len),
					   nullptr, false, *p.peer, Address()});
			continue;
		}
		auto it = mn->by_peer.find(peer_key(p.peer));
		if (it == mn->by_peer.end() || p.len < 8)
			continue;
		mn->in++;
		mn->bytes_in += p.len;
		results.media_in++;
		double rho = mn->fluid_us_per_s / 1e6 / sc.cores;
		if (mn->queue.size() >= sc.queue_packets ||
		    (rho >= 1 && urand_value() > 1 / rho)) {
			mn->dropped++;
			results.media_dropped++;
			continue;
		}
		mn_enqueue(mn,
			   Job{JOB_MEDIA,
			       std::vector<uint8_t>(p.buf, p.buf + p.len),
			       it->second, p.buf[1] >= 192 && p.buf[1] <= 223,
			       *p.peer, Address()});
	}
}

/* --- calls and clients --- */

struct Client {
	unsigned id;
	const Region *region;
	unsigned metro = 0;
	double link_ms = 0;   /* its access link's delay, one way */
	bool relayed = false; /* its P2P media goes through TURN */
	Site *turn = nullptr; /* then: whose TURN relay */
	Site *site = nullptr; /* its gateway: the nearest data centre's */
	/* its access link's queue lets packets out in order, no earlier
	 * than these (simulated seconds) */
	double up_free_at = 0, down_free_at = 0;
	Ptr<Node> node;
	Ipv4Address addr;
	Ptr<Socket> sock;
	Call *call = nullptr;
	bool joined = false, on_sfu = false, media_on = false;
	bool left = false; /* it has left its call (or never will join) */
	double join_start = 0, switch_start = -1;
	bool join_measured = false;
	bool measure_join = false; /* someone was there to see */
	bool recovering = false;   /* its media node died */
	uint32_t ssrc_audio = 0, ssrc_video[3] = {0, 0, 0};
	uint16_t seq[4] = {0, 0, 0, 0};
	bool want_key[3] = {true, true, true};
	unsigned rounds_left = 0;     /* of the join, before the SFU */
	unsigned sfu_rounds_left = 0; /* while the transports connect */
	double round_sent = 0;
	unsigned hs_left = 0; /* handshake flights still to answer */
	bool hs_done = false;
	Exchange sig, hs; /* the signaling request, the handshake flight */
	bool made = false; /* its producers and consumers are on the router */
	SimTransport *transport = nullptr;
	std::vector<struct producer *> producers;
	std::vector<struct consumer *> consumers;    /* of what it receives */
	std::map<unsigned, double> last_oneway_from; /* sender -> ms */
	/* its network thread (a browser's, the probe's loop) protects and
	 * sends, and receives and unprotects, one packet at a time: busy
	 * until then (simulated seconds) */
	double cpu_free_at = 0;
};

std::vector<Client *> clients;
std::vector<Call *> calls;

/* A data centre of the plan as it runs: one gateway host for its
 * instances (a service time per request, no queue) and its media nodes. */
struct Site {
	const sim::Datacentre *plan;
	Ptr<Node> gateway;
	Ipv4Address gateway_addr;
	Ptr<Socket> gateway_sock;
	std::vector<MediaNode *> nodes;
	/* its TURN servers (one host for the instances), when it has some */
	Ptr<Node> turn_host;
	Ipv4Address turn_addr;
	Ptr<Socket> turn_sock;
	uint64_t relayed = 0;        /* packets */
	double handshake_free_s = 0; /* its handshake core (handshake_core) */
};
std::vector<Site *> sites;

/* A handshake on the site's handshake core, after those before it:
 * seconds from now until it is done. */
double handshake_core_wait(Site *site, double cpu_s)
{
	double now = Simulator::Now().GetSeconds();
	site->handshake_free_s = std::max(now, site->handshake_free_s) + cpu_s;
	return site->handshake_free_s - now;
}

Ptr<UniformRandomVariable> urand;

double urand_value()
{
	return urand->GetValue();
}
Ptr<ExponentialRandomVariable> gw_service;

/* A packet's wait in the access link's queue, on top of `after` s from
 * now: an exponential time of the region's mean jitter, in order (never
 * before the packet ahead of it). */
double access_wait(Client *c, double *free_at, double after)
{
	double mean_ms = c->region->packet_jitter_ms;
	if (mean_ms <= 0)
		return after;
	double now = Simulator::Now().GetSeconds();
	double at = now + after - std::log(1 - urand_value()) * mean_ms / 1e3;
	*free_at = std::max(at, *free_at);
	return *free_at - now;
}

void send_packet(Client *c, Ptr<Packet> p, Address to)
{
	if (c->media_on)
		c->sock->SendTo(p, 0, to);
}

/* The client's thread takes us microseconds from when it is free;
 * returns when it is done, in seconds from now. */
double client_cpu(Client *c, double us)
{
	double now = Simulator::Now().GetSeconds();
	c->cpu_free_at = std::max(now, c->cpu_free_at) + us / 1e6;
	return c->cpu_free_at - now;
}

/* RTP: 12-byte header, then (video) the VP8 descriptor and payload
 * header, then the time its frame was taken and the sender's id. It
 * leaves once the client's thread has protected and sent it, after what
 * it was doing (the packets before it in the frame). */
void send_rtp(Client *c, Address to, int relay_to, uint8_t pt, uint32_t ssrc,
	      uint16_t &seq, size_t size, bool key)
{
	std::vector<uint8_t> b(std::max<size_t>(size, 28), 0);
	uint64_t now = (uint64_t)Simulator::Now().GetMicroSeconds();
	uint32_t ts = (uint32_t)(now * 90 / 1000);
	b[0] = 0x80;
	b[1] = pt;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	seq++;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	b[12] = 0x10;              /* VP8: start of partition 0 */
	b[13] = key ? 0x00 : 0x01; /* P bit: 0 on keyframes */
	memcpy(&b[12 + STAMP_OFF], &now, 8);
	memcpy(&b[12 + STAMP_OFF + 8], &c->id, 4);
	if (relay_to >= 0) /* to a relay: 4 bytes, as ChannelData's header */
		b.insert(b.begin(), (uint8_t *)&relay_to,
			 (uint8_t *)&relay_to + 4);
	Ptr<Packet> p = Create<Packet>(b.data(), (uint32_t)b.size());
	double after =
		access_wait(c, &c->up_free_at,
			    client_cpu(c, client_tx_cost_us((double)b.size())));
	if (after <= 0)
		c->sock->SendTo(p, 0, to);
	else
		Simulator::Schedule(Seconds(after), &send_packet, c, p, to);
}

/* Where c's media goes: its call's media node, or its peer (*peer) at
 * its address, or through a TURN relay (*relay_to: the peer's id), c's
 * own or the peer's relayed address. The SFU is reached directly: its
 * ICE-lite address is public, so a NAT on the client's side does not
 * stand in the way. */
Address media_target(Client *c, Client **peer, int *relay_to)
{
	*peer = nullptr;
	*relay_to = -1;
	if (c->on_sfu)
		return InetSocketAddress(c->call->mn->addr, c->call->mn->port);
	for (Client *o : c->call->parts)
		if (o != c && o->joined)
			*peer = o;
	if (!*peer)
		return Address();
	Site *relay = c->relayed         ? c->turn
		      : (*peer)->relayed ? (*peer)->turn
					 : nullptr;
	if (!relay)
		return InetSocketAddress((*peer)->addr, CLIENT_PORT);
	*relay_to = (int)(*peer)->id;
	return InetSocketAddress(relay->turn_addr, TURN_PORT);
}

void audio_tick(Client *c)
{
	Client *peer;
	if (!c->media_on)
		return;
	int relay_to;
	Address to = media_target(c, &peer, &relay_to);
	if (c->call->sfu && !c->on_sfu)
		peer = nullptr; /* between P2P and the SFU: nothing to send to
				 */
	if (c->on_sfu || peer)
		send_rtp(c, to, relay_to, PT_OPUS, c->ssrc_audio, c->seq[3],
			 (size_t)sc.audio_bytes + 12, false);
	Simulator::Schedule(MilliSeconds(sc.audio_ms), &audio_tick, c);
}

void video_tick(Client *c)
{
	Client *peer;
	if (!c->media_on)
		return;
	int relay_to;
	Address to = media_target(c, &peer, &relay_to);
	if (c->call->sfu && !c->on_sfu)
		peer = nullptr;
	/* P2P sends its top layer only; to the SFU all three (simulcast) */
	for (int l = c->on_sfu ? 0 : 2; l < 3 && (c->on_sfu || peer); l++) {
		size_t bytes =
			(size_t)(sc.video_kbps[l] * 1000 / 8 / sc.video_fps);
		bool key = c->want_key[l];
		c->want_key[l] = false;
		/* a frame larger than a packet goes as several */
		for (size_t sent = 0; sent < bytes; sent += 1200)
			send_rtp(c, to, relay_to, PT_VP8, c->ssrc_video[l],
				 c->seq[l],
				 std::min<size_t>(1200, bytes - sent) + 12,
				 key && sent == 0);
	}
	Simulator::Schedule(Seconds(1.0 / sc.video_fps), &video_tick, c);
}

void start_media(Client *c)
{
	if (c->media_on || !c->call->sampled)
		return;
	c->media_on = true;
	Simulator::ScheduleNow(&audio_tick, c);
	/* the camera runs on its own clock, not in step with the join */
	Simulator::Schedule(Seconds(urand->GetValue() / sc.video_fps),
			    &video_tick, c);
}

/* The round trip of c and o's own path, without queues: what P2P
 * between them costs at least. */
double direct_rtt_ms(const Client *c, const Client *o)
{
	double metros = sc.rtt_ms.empty() ? 0 : sc.rtt_ms[c->metro][o->metro];
	return 2 * (c->link_ms + o->link_ms) + metros;
}

/* A round trip between c and o (audio, one way each direction) */
void add_rtt(Client *c, Client *o, bool via_sfu, double ms)
{
	if (c->call->across) {
		(via_sfu ? results.across.sfu : results.across.p2p).add(ms);
		return;
	}
	if (via_sfu) {
		results.sfu_rtt_ms.add(ms);
		results.sfu_rtt_in[c->region->name].add(ms);
		results.sfu_rtt_own_in[c->region->name].emplace_back(
			ms, direct_rtt_ms(c, o));
		return;
	}
	if (c->relayed || o->relayed) {
		results.p2p_relayed.add(ms);
		results.p2p_relayed_own.emplace_back(ms, direct_rtt_ms(c, o));
		return;
	}
	results.own_path_excess.add(ms - direct_rtt_ms(c, o));
	results.p2p_rtt_ms.add(ms);
	results.p2p_within[o->region->name].add(ms);
}

/* A receiver: RTCP from the SFU (a PLI asks for a keyframe), RTP from a
 * peer or the SFU (latency samples; the first video frame ends a join or a
 * mode switch). */
void client_recv(Client *c, Ptr<Socket> s)
{
	Ptr<Packet> p;
	Address from;
	uint8_t b[1500];
	while ((p = s->RecvFrom(from))) {
		uint32_t len = std::min<uint32_t>(p->GetSize(), sizeof(b));
		p->CopyData(b, len);
		InetSocketAddress in = InetSocketAddress::ConvertFrom(from);
		if (in.GetIpv4() == c->site->gateway_addr) { /* signaling */
			uint64_t handled = 0;
			if (len != 13 || !exchange_answered(&c->sig, b, len))
				continue; /* an earlier copy's answer */
			memcpy(&handled, &b[1], 8);
			(c->call->across ? results.across.event
					 : results.event_ms)
				.add((double)handled / 1000 -
				     c->round_sent * 1000);
			results.request_answer_ms.add(
				(Simulator::Now().GetSeconds() -
				 c->round_sent) *
				1e3);
			next_round(c);
			continue;
		}
		if (len == 6 && b[0] == 'H') { /* handshake round trip */
			if (exchange_answered(&c->hs, b, len))
				handshake(c);
			continue;
		}
		if (len >= 8 && b[1] >= 192 && b[1] <= 223) {
			/* RTCP: PLI (PSFB, FMT 1) for one of our SSRCs */
			for (uint32_t o = 0; o + 12 <= len;) {
				uint16_t words =
					(uint16_t)((b[o + 2] << 8) | b[o + 3]);
				if (b[o + 1] == 206 && (b[o] & 0x1f) == 1) {
					uint32_t media =
						((uint32_t)b[o + 8] << 24) |
						((uint32_t)b[o + 9] << 16) |
						((uint32_t)b[o + 10] << 8) |
						b[o + 11];
					for (int l = 0; l < 3; l++)
						if (media == c->ssrc_video[l])
							c->want_key[l] = true;
				}
				o += 4u * (words + 1u);
			}
			continue;
		}
		if (len < 12 + STAMP_OFF + 12)
			continue;
		uint64_t sent;
		uint32_t sender;
		memcpy(&sent, &b[12 + STAMP_OFF], 8);
		memcpy(&sender, &b[12 + STAMP_OFF + 8], 4);
		/* seen once the client's thread has unprotected it */
		double seen_s =
			Simulator::Now().GetSeconds() +
			access_wait(c, &c->down_free_at,
				    client_cpu(c, rx_cost_us((double)len)));
		double oneway = (seen_s * 1e6 - (double)sent) / 1000;
		bool video = (b[1] & 0x7f) != PT_OPUS;
		bool via_sfu = c->call->mn && in.GetIpv4() == c->call->mn->addr;
		if (via_sfu)
			(video ? results.sfu_oneway_video_ms
			       : results.sfu_oneway_audio_ms)
				.add(oneway);
		if (sender < clients.size()) {
			Client *o = clients[sender];
			auto back = o->last_oneway_from.find(c->id);
			if (back != o->last_oneway_from.end() && !video)
				add_rtt(c, o, via_sfu, oneway + back->second);
			c->last_oneway_from[sender] = oneway;
		}
		if (video && !c->join_measured && c->joined &&
		    c->measure_join) {
			c->join_measured = true;
			double ms = (seen_s - c->join_start) * 1000;
			if (c->call->across) {
				results.across.join.add(ms);
			} else {
				results.join_ms.add(ms);
				results.join_in[c->region->name].add(ms);
			}
		}
		if (video && via_sfu && c->switch_start >= 0) {
			(c->recovering ? results.recovery_ms
				       : results.switch_ms)
				.add((seen_s - c->switch_start) * 1000);
			c->switch_start = -1;
			c->recovering = false;
		}
	}
}

/* The gateway: answers each request after its service time. */
/* The answer says when the event was handled: the client's emit to that
 * moment is the event's delivery (the seed's "Socket.IO latency"). */
void gateway_answer(Site *site, Address to, uint32_t id)
{
	uint8_t a[13] = {'A'};
	uint64_t now = (uint64_t)Simulator::Now().GetMicroSeconds();
	memcpy(&a[1], &now, 8);
	memcpy(&a[9], &id, 4);
	site->gateway_sock->SendTo(Create<Packet>(a, sizeof(a)), 0, to);
}

/* in seconds: MilliSeconds() would take whole milliseconds */
double gateway_service_s()
{
	return gw_service->GetValue() / 1e3;
}

/* A gateway of its own answers after its service time; in role all
 * (gateway.on_media_node) the request waits its turn on the media node's
 * CPU, behind packets and DTLS flights, as on the real single loop. */
void gateway_recv(Site *site, Ptr<Socket> s)
{
	Ptr<Packet> p;
	Address from;
	uint8_t q[EXCHANGE_MAX];
	while ((p = s->RecvFrom(from))) {
		MediaNode *own = site->nodes.empty() ? nullptr : site->nodes[0];
		uint32_t n = p->CopyData(q, sizeof(q));
		if (sc.gateway_on_media && own && !own->dead)
			mn_enqueue(own, Job{JOB_REQUEST,
					    std::vector<uint8_t>(q, q + n),
					    nullptr, false, {}, from});
		else
			Simulator::Schedule(Seconds(gateway_service_s()),
					    &gateway_answer, site, from,
					    exchange_id(q, n));
	}
}

/* The round trip of c's access link and the metros to `metro`, in s */
double path_rtt_s(const Client *c, unsigned metro)
{
	double metros = sc.rtt_ms.empty() ? 0 : sc.rtt_ms[c->metro][metro];
	return (2 * c->link_ms + metros) / 1e3;
}

/* When a message not answered goes again: twice the path's round trip
 * and the server's work, 200 ms at least (Linux's least TCP RTO), doubled
 * each time (RFC 6298 5.5, RFC 6347 4.2.4.1) */
double exchange_rto_s(const Client *c, unsigned metro, double work_s)
{
	return std::max(0.2, 2 * path_rtt_s(c, metro) + work_s);
}

void exchange_put(Client *c, const Exchange *x)
{
	c->sock->SendTo(Create<Packet>(x->msg.data(), (uint32_t)x->msg.size()),
			0, x->to);
}

void exchange_retry(Client *c, Exchange *x, uint32_t id, double rto_s,
		    unsigned tries)
{
	if (!x->waiting || x->id != id || c->left || c->call->ended ||
	    tries >= EXCHANGE_TRIES)
		return;
	results.resent++;
	exchange_put(c, x);
	Simulator::Schedule(Seconds(2 * rto_s), &exchange_retry, c, x, id,
			    2 * rto_s, tries + 1);
}

/* Sends msg, its id appended, to `to`; again until answered */
void exchange_send(Client *c, Exchange *x, const uint8_t *msg, size_t n,
		   Address to, double rto_s)
{
	x->id++;
	x->waiting = true;
	x->msg.assign(msg, msg + n);
	x->msg.resize(n + 4);
	memcpy(&x->msg[n], &x->id, 4);
	x->to = to;
	exchange_put(c, x);
	Simulator::Schedule(Seconds(rto_s), &exchange_retry, c, x, x->id,
			    rto_s, 1u);
}

void request(Client *c)
{
	uint8_t q = 'Q';
	c->round_sent = Simulator::Now().GetSeconds();
	exchange_send(c, &c->sig, &q, 1,
		      InetSocketAddress(c->site->gateway_addr, 4000),
		      exchange_rto_s(c, c->site->plan->metro,
				     sc.gateway_ms / 1e3));
}

void go_sfu(Client *c);

/* CPU microseconds a second of one video layer's packets, as video_tick
 * cuts its frames (1200-byte packets, the rest in the last), with cost(). */
double layer_us_per_s(unsigned l, double (*cost)(double))
{
	double bytes = sc.video_kbps[l] * 1000 / 8 / sc.video_fps, us = 0;
	for (double sent = 0; sent < bytes; sent += 1200)
		us += cost(std::min(1200.0, bytes - sent) + 12);
	return us * sc.video_fps;
}

double audio_us_per_s(double (*cost)(double))
{
	return cost(sc.audio_bytes + 12) * 1000 / sc.audio_ms;
}

/* A participant's packets into the SFU (all three layers and audio; the
 * layers its receivers do not get taken on their headers), and what one
 * receiver of it costs (its layer and audio). */
double in_us_per_s()
{
	double v = 0;
	unsigned got = std::min(2u, sc.consume_layer);
	for (unsigned l = 0; l < 3; l++)
		v += layer_us_per_s(l, l == got ? rx_cost_us : peek_cost_us);
	return v + audio_us_per_s(rx_cost_us);
}

double out_us_per_s()
{
	return layer_us_per_s(std::min(2u, sc.consume_layer), tx_cost_us) +
	       audio_us_per_s(tx_cost_us);
}

/* A fluid call's load on its node follows who is on the SFU. */
void fluid_update(Call *call)
{
	MediaNode *mn = call->mn;
	double now = Simulator::Now().GetSeconds(), n = 0;
	for (Client *o : call->parts)
		n += o->on_sfu;
	mn->fluid_s += mn->fluid_us_per_s / 1e6 * (now - mn->fluid_since);
	mn->fluid_since = now;
	mn->fluid_us_per_s -= call->fluid_us_per_s;
	call->fluid_us_per_s = n * (in_us_per_s() + out_us_per_s() * (n - 1));
	mn->fluid_us_per_s += call->fluid_us_per_s;
}

/* What the router sent meanwhile (keyframe requests) leaves now, as the
 * node's API answers. */
void mn_flush_now(MediaNode *mn)
{
	if (!mn->out.empty()) {
		mn_flush(mn, new std::vector<Out>(std::move(mn->out)));
		mn->out.clear();
	}
}

/* The orchestration a gateway does through the node's API once the
 * join's requests are answered: the client's producers, and consumers
 * both ways with everyone else made so far. Its transport may still be
 * shaking hands: the keyframes asked for then cannot reach it, and
 * router_transport_secured() asks again (as on the real server). */
void sfu_made(Client *c)
{
	Call *call = c->call;
	MediaNode *mn = call->mn;
	auto *t = reinterpret_cast<struct webrtc_transport *>(c->transport);
	struct producer *p;
	c->made = true;
	if (!call->sampled)
		return;
	mn->by_peer[peer_key(&c->transport->peer)] = c->transport;
	if (!router_produce(&p, call->router, t, MEDIA_AUDIO, c->ssrc_audio,
			    PT_OPUS, "opus"))
		c->producers.push_back(p);
	if (!router_produce_simulcast(&p, call->router, t, PT_VP8, "VP8", 3,
				      c->ssrc_video, nullptr, 0))
		c->producers.push_back(p);
	for (Client *o : call->parts) {
		if (o == c || !o->made || !o->joined)
			continue;
		for (struct producer *op : o->producers) {
			struct consumer *k;
			if (router_consume(&k, op, t,
					   producer_kind(op) == MEDIA_AUDIO
						   ? PT_OPUS
						   : PT_VP8))
				continue;
			c->consumers.push_back(k);
			if (producer_kind(op) == MEDIA_VIDEO)
				consumer_set_preferred_layer(k,
							     sc.consume_layer);
		}
		for (struct producer *mp : c->producers) {
			struct consumer *k;
			auto *ot = reinterpret_cast<struct webrtc_transport *>(
				o->transport);
			if (router_consume(&k, mp, ot,
					   producer_kind(mp) == MEDIA_AUDIO
						   ? PT_OPUS
						   : PT_VP8))
				continue;
			o->consumers.push_back(k);
			if (producer_kind(mp) == MEDIA_VIDEO)
				consumer_set_preferred_layer(k,
							     sc.consume_layer);
		}
	}
	mn_flush_now(mn);
}

/* Media flows through the SFU once the transport is up and the requests
 * that make producers and consumers are answered. */
void maybe_connected(Client *c)
{
	if (!c->hs_done || c->sfu_rounds_left || c->on_sfu)
		return;
	c->on_sfu = true;
	if (c->call->sampled)
		start_media(c);
	else
		fluid_update(c->call);
}

/* ICE and DTLS are done: the router's packets reach the client now. */
void sfu_secured(Client *c)
{
	Call *call = c->call;
	c->hs_done = true;
	c->transport->secured = true;
	if (c->measure_join)
		results.join_secured_ms.add(
			(Simulator::Now().GetSeconds() - c->join_start) * 1e3);
	if (c->made && call->router) {
		router_transport_secured(
			call->router,
			reinterpret_cast<struct webrtc_transport *>(
				c->transport));
		mn_flush_now(call->mn);
	}
	maybe_connected(c);
}

enum { HS_FLIGHTS = 3 }; /* ICE check, then DTLS flights 1 and 3 */

void send_flight(Client *c, uint8_t flight)
{
	MediaNode *mn = c->call->mn;
	if (c->hs_left == 0 || c->call->ended || !mn)
		return;
	uint8_t h[2] = {'H', flight};
	exchange_send(c, &c->hs, h, 2, InetSocketAddress(mn->addr, mn->port),
		      exchange_rto_s(c, mn->site->plan->metro,
				     flight ? sc.dtls_server_ms / 1e3 : 0));
}

/* The next step of ICE + DTLS 1.2 (no cookie): three round trips; the
 * client's CPU (verifying the server, its key share and signature) goes
 * before its second DTLS flight, twice when its send and receive
 * transports shake hands at the same time on one thread (a browser's
 * network thread: clients.serial_handshakes). */
void handshake(Client *c)
{
	if (c->hs_left == 0)
		return;
	if (--c->hs_left == 0) {
		sfu_secured(c);
		return;
	}
	uint8_t flight = (uint8_t)(HS_FLIGHTS - c->hs_left);
	if (flight == 2 && sc.dtls_client_ms > 0)
		Simulator::Schedule(
			MicroSeconds((int64_t)(1e3 * sc.dtls_client_ms *
					       sc.client_serial_handshakes)),
			&send_flight, c, flight);
	else
		send_flight(c, flight);
}

/* Moves a client's media to the call's SFU: ICE + DTLS, and meanwhile the
 * requests for its producers and for consumers of the others. */
void go_sfu(Client *c)
{
	if (c->on_sfu || c->hs_left)
		return;
	if (!c->transport) {
		c->transport = new SimTransport();
		sa_set_in(&c->transport->peer, c->addr.Get(), CLIENT_PORT);
		c->transport->call = c->call;
		c->transport->client = c;
	}
	c->transport->mn = c->call->mn; /* placed again: a new node */
	unsigned peers = 0;
	for (Client *o : c->call->parts)
		peers += o != c && o->joined;
	c->hs_left = HS_FLIGHTS + 1;
	c->hs_done = false;
	c->made = false;
	c->transport->secured = false;
	handshake(c);
	/* media flows once the first peer's consumers are made; the
	 * others' follow a few round trips later, not modelled apart */
	c->sfu_rounds_left =
		sc.sfu_rounds_fixed + sc.sfu_rounds_per_peer * (peers ? 1 : 0);
	if (c->sfu_rounds_left)
		request(c);
	else
		sfu_made(c);
}

/* A call reaches the SFU: the real placement picks the node. */
void place(Call *call);
void end_call(Call *call);

/* A client's media leaves the SFU: its producers and consumers go from
 * the router, its transport from the node, a handshake under way stops. */
void sfu_drop(Client *c)
{
	Call *call = c->call;
	for (struct consumer *k : c->consumers)
		mem_deref(k);
	c->consumers.clear();
	for (struct producer *p : c->producers)
		mem_deref(p);
	c->producers.clear();
	if (c->transport && call->mn)
		call->mn->by_peer.erase(peer_key(&c->transport->peer));
	c->on_sfu = c->made = c->hs_done = false;
	c->hs_left = c->sfu_rounds_left = 0;
	c->hs.waiting = false;
}

/* Back to P2P (a leave left two): the call's media leaves its node and
 * the two send to each other again, as call:mode-changed has their pages
 * do. */
void back_p2p(Call *call)
{
	MediaNode *mn = call->mn;
	for (Client *o : call->parts)
		sfu_drop(o);
	if (mn) {
		mn->load.participants -= call->on_node;
		call->on_node = 0;
		if (call->sampled)
			call->router = (struct router *)mem_deref(call->router);
		else
			fluid_update(call); /* nobody on the SFU: no load */
	}
	call->sfu = false;
	call->mn = nullptr;
	results.back_to_p2p++;
}

/* The call rules' hooks (call_machine.h). To the SFU: placed, and every
 * participant joined moves its media (the joiner's own counts from its
 * join, the others' from now). Back to P2P when a leave leaves two. */
bool rules_switch_mode(void *arg, enum call_mode to, const char *reason)
{
	Call *call = static_cast<Call *>(arg);
	(void)reason;
	if (to == CALL_P2P) {
		back_p2p(call);
		return true;
	}
	place(call);
	call->switch_at = Simulator::Now().GetSeconds();
	for (Client *o : call->parts)
		if (o->joined) {
			if (o != call->joiner)
				o->switch_start = call->switch_at;
			go_sfu(o);
		}
	return true;
}

void rules_ended(void *arg, const char *reason)
{
	(void)reason;
	end_call(static_cast<Call *>(arg));
}

const struct call_hooks rules_hooks = {rules_switch_mode, nullptr, rules_ended};
struct call_policy rules_policy;

/* A participant leaves: its media stops and leaves the node, and the
 * rules decide (two left: back to P2P; none: the end). One that has not
 * joined yet never will. */
void leave(Client *c)
{
	Call *call = c->call;
	unsigned n = 0;
	if (call->ended || c->left)
		return;
	c->left = true;
	if (!c->joined)
		return;
	c->joined = false;
	c->media_on = false;
	if (call->sfu && call->mn) {
		bool was_on = c->on_sfu;
		sfu_drop(c);
		if (call->on_node) {
			call->mn->load.participants -= 1;
			call->on_node--;
		}
		if (!call->sampled && was_on)
			fluid_update(call);
	}
	for (Client *o : call->parts)
		n += o->joined;
	call_left(&call->rules, n);
}

/* The call's end: everyone leaves, at once (the rules end it) or one
 * after another (leave_spacing_s), as the gateway's rules play it. */
void all_leave(Call *call)
{
	double t = 0;
	if (sc.leave_spacing_s <= 0) {
		call_left(&call->rules, 0);
		return;
	}
	for (Client *c : call->parts) {
		Simulator::Schedule(Seconds(t), &leave, c);
		t += sc.leave_spacing_s;
	}
}

bool site_alive(const Site *site)
{
	for (const MediaNode *m : site->nodes)
		if (!m->dead)
			return true;
	return false;
}

/* The data centre of most of the call's participants (each counted at
 * the one nearest to it; a tie goes to the earliest joiner's), as the
 * seed plans it; when none of its media nodes is alive, the nearest data
 * centre to it that has one. */
Site *call_site(Call *call)
{
	std::map<Site *, unsigned> n;
	Site *best = nullptr;
	for (Client *o : call->parts)
		if (!o->left && ++n[o->site] > n[best])
			best = o->site;
	if (!best)
		best = call->parts[0]->site;
	if (site_alive(best))
		return best;
	Site *alt = nullptr;
	const std::vector<double> &rtt = sc.rtt_ms[best->plan->metro];
	for (Site *s : sites)
		if (site_alive(s) &&
		    (!alt || rtt[s->plan->metro] < rtt[alt->plan->metro]))
			alt = s;
	return alt ? alt : best;
}

/* The real placement rule picks among the data centre's media nodes. */
void place(Call *call)
{
	std::vector<struct node_load> loads;
	Site *site = call_site(call);
	for (MediaNode *m : site->nodes)
		loads.push_back(m->load);
	int i = placement_pick(loads.data(), loads.size());
	call->mn = site->nodes[i < 0 ? 0 : i];
	call->on_node = 0;
	for (Client *o : call->parts)
		call->on_node += !o->left;
	call->mn->load.participants += (double)call->on_node;
	port_ns3_set_node(call->mn->node);
	if (call->sampled && !router_alloc(&call->router, sim_send))
		router_set_ready_handler(call->router, sim_transport_secured);
	call->sfu = true;
}

/* A media node dies. Gateways notice when its heartbeat expires; each of
 * its calls is placed again and its participants connect to the new node
 * (what call:media-moved does), counted from the moment of the failure. */
void replace_calls(MediaNode *dead)
{
	for (Call *call : calls) {
		if (call->mn != dead || call->ended)
			continue;
		if (!call->sampled) { /* its load leaves with the node */
			dead->fluid_us_per_s -= call->fluid_us_per_s;
			call->fluid_us_per_s = 0;
		}
		if (call->router)
			call->router = (struct router *)mem_deref(call->router);
		place(call);
		for (Client *c : call->parts) {
			if (!c->joined)
				continue;
			c->on_sfu = false;
			c->hs_left = 0;
			c->sfu_rounds_left = 0;
			c->producers.clear();
			if (c->transport)
				c->transport->mn = call->mn;
			c->recovering = true;
			c->switch_start = sc.fail_at_s;
			go_sfu(c);
		}
	}
}

void fail_node(MediaNode *mn)
{
	double now = Simulator::Now().GetSeconds();
	mn->fluid_s += mn->fluid_us_per_s / 1e6 * (now - mn->fluid_since);
	mn->fluid_since = now;
	mn->dead = true;
	mn->load.alive = false;
	mn->queue.clear();
	Simulator::Schedule(Seconds(sc.fail_detect_s), &replace_calls, mn);
}

/* The node with the most packet-by-packet calls: losing it is measured
 * on the most calls. */
void fail_busiest()
{
	std::map<MediaNode *, unsigned> n;
	MediaNode *worst = nullptr;
	for (Call *c : calls)
		if (c->sfu && c->sampled && !c->ended && c->mn &&
		    ++n[c->mn] >= n[worst])
			worst = c->mn;
	if (worst)
		fail_node(worst);
}

void request_if_in(Client *c)
{
	if (!c->call->ended && !c->left)
		request(c);
}

/* The join's next request, once the client has done its own work on the
 * answer (clients.request_gap_ms). */
void request_next(Client *c)
{
	if (sc.request_gap_ms > 0)
		Simulator::Schedule(Seconds(sc.request_gap_ms / 1e3),
				    &request_if_in, c);
	else
		request(c);
}

void next_round(Client *c)
{
	if (c->call->ended || c->left)
		return;
	if (c->rounds_left ==
	    0) { /* a request made while on the way to the SFU */
		if (!c->call->sfu || !c->joined) /* back to P2P, or gone */
			return;
		if (c->sfu_rounds_left && --c->sfu_rounds_left) {
			request_next(c);
			return;
		}
		if (!c->made)
			sfu_made(c);
		maybe_connected(c);
		return;
	}
	if (--c->rounds_left > 0) {
		request_next(c);
		return;
	}
	/* the join is acked: this participant is in */
	Call *call = c->call;
	unsigned joined = 0;
	for (Client *o : call->parts)
		joined += o->joined;
	/* a join ends when media from the others flows: the first one in
	 * has no one to see yet */
	c->measure_join = joined > 0 && call->sampled;
	c->joined = true;
	joined++;
	/* the gateway's rules decide: the switch moves everyone joined,
	 * this joiner too */
	bool was_sfu = call->sfu;
	call->joiner = c;
	call_joined(&call->rules, joined);
	call->joiner = nullptr;
	if (!was_sfu && call->sfu)
		return;
	if (call->sfu)
		go_sfu(c);
	else
		start_media(c);
}

void join(Client *c)
{
	if (c->call->ended || c->left)
		return;
	c->join_start = Simulator::Now().GetSeconds();
	c->rounds_left = (unsigned)sc.signaling_rounds;
	request(c);
}

/* --- the report --- */

cJSON *pct_json(Samples &s, double sla)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "samples", (double)s.v.size());
	if (s.v.empty()) {
		cJSON_AddNullToObject(o, "p50");
		return o;
	}
	cJSON_AddNumberToObject(o, "p50", s.pct(50));
	cJSON_AddNumberToObject(o, "p95", s.pct(95));
	cJSON_AddNumberToObject(o, "p99", s.pct(99));
	if (sla > 0) { /* the margin: the share of the SLA left */
		cJSON_AddNumberToObject(o, "sla_p95", sla);
		cJSON_AddBoolToObject(o, "pass", s.pct(95) < sla);
		cJSON_AddNumberToObject(o, "margin", (sla - s.pct(95)) / sla);
	}
	/* the distribution, for the report's CDF plots */
	cJSON *cdf = cJSON_AddArrayToObject(o, "cdf_5");
	for (int q = 5; q <= 100; q += 5)
		cJSON_AddItemToArray(cdf, cJSON_CreateNumber(s.pct(q)));
	return o;
}

/* --- calls coming and going --- */

void end_call(Call *call);

struct World {
	sim::Network *net;
	/* the load's draws: its own generator, so that one load plays the
	 * same calls and participants on every plan */
	std::mt19937_64 gen;
} world;

double draw()
{
	return std::uniform_real_distribution<double>(0, 1)(world.gen);
}

bool star()
{
	return sc.regions[0].access.empty();
}

/* A region by its share, but `skip` (nullptr: none). */
const Region *draw_region(const Region *skip)
{
	double total = 0, acc = 0;
	for (const Region &r : sc.regions)
		total += &r != skip ? r.share : 0;
	double pick = draw() * (skip ? total : 1);
	const Region *last = nullptr;
	for (const Region &r : sc.regions) {
		if (&r == skip || r.share <= 0)
			continue;
		last = &r;
		acc += r.share;
		if (pick <= acc)
			return &r;
	}
	return last ? last : &sc.regions.back();
}

/* A star's client: its region's delay, +- its jitter, fixed. */
bool star_client(Client *c)
{
	c->region = draw_region(nullptr);
	c->metro = 0;
	/* at least 1 us: jitter never makes a link instantaneous */
	double d = std::max(0.001,
			    c->region->delay_ms +
				    (draw() * 2 - 1) * c->region->jitter_ms);
	c->link_ms = d;
	c->node = world.net->client(0, c->region->mbps, d, c->region->loss,
				    &c->addr);
	return c->node != nullptr;
}

/* A client of the world: the call's region (another one with the
 * load's cross_region_share, for all but the first), one of its metros,
 * and an access network by their shares. */
bool world_client(Client *c, const Region *home, unsigned i)
{
	c->region =
		i && draw() < sc.cross_region_share ? draw_region(home) : home;
	const std::vector<unsigned> &ms = c->region->metros;
	const Client *first = i ? c->call->parts[0] : nullptr;
	if (first && first->region == c->region && draw() < sc.same_metro_share)
		c->metro = first->metro;
	else
		c->metro = ms[std::min(ms.size() - 1,
				       (size_t)(draw() * (double)ms.size()))];
	double pick = draw(), acc = 0;
	const sim::Access *a = &c->region->access.back();
	for (const sim::Access &x : c->region->access) {
		acc += x.share;
		if (pick <= acc) {
			a = &x;
			break;
		}
	}
	c->link_ms = a->delay_ms;
	c->node = world.net->client(c->metro, c->region->mbps, a->delay_ms,
				    a->loss, &c->addr);
	return c->node != nullptr;
}

/* A region's verdict rests on its own sampled calls: at 2 % of Year-1's
 * 1,115 calls Asia-Pacific and South America drew none, and a plan with
 * no media node there passed on the other regions' samples. So the first
 * sc.region_sampled calls (6 unless the load says) of each region large
 * enough for the SFU are played packet by packet, whatever the draw. */
bool sampled_call(const Region *home, unsigned participants, bool drawn)
{
	static std::map<const Region *, unsigned> sampled_in;
	if (!home || participants < sc.sfu_from)
		return drawn;
	if (!drawn && sampled_in[home] >= sc.region_sampled)
		return false;
	sampled_in[home]++;
	return true;
}

/* A load cut to one region (only_region) plays only the calls with a
 * participant there, but draws every call as the whole load does, and
 * builds its participants' hosts too (ns-3 numbers its random streams in
 * the order objects are made): the calls played are the whole load's,
 * with the same participants, metros and sampled calls. */
bool played(const Call *call)
{
	if (sc.only_region.empty())
		return true;
	for (const Client *c : call->parts)
		if (c->region && c->region->name == sc.only_region)
			return true;
	return false;
}

std::vector<Call *> unplayed; /* drawn, never played (only_region) */

/* Participant i of call (its first joining at t0): drawn, its host and
 * socket made; false when the address plan is full. */
bool new_client(Call *call, const Region *home, unsigned i)
{
	Client *c = new Client();
	c->id = (unsigned)(clients.size() + i);
	c->call = call; /* world_client looks at its first participant */
	call->parts.push_back(c);
	if (!(star() ? star_client(c) : world_client(c, home, i))) {
		fprintf(stderr,
			"meeshy-sim: more than %u participants"
			" at %s: the address plan is full\n",
			sim::Network::clients_per_metro(),
			sc.metros[c->metro].c_str());
		return false;
	}
	c->site = sites[sim::nearest_datacentre(sc, c->metro)];
	if (sc.turn_share > 0 && draw() < sc.turn_share) {
		c->turn = turn_site(c);
		c->relayed = c->turn != nullptr;
	}
	c->sock = Socket::CreateSocket(c->node, UdpSocketFactory::GetTypeId());
	c->sock->Bind(InetSocketAddress(Ipv4Address::GetAny(), CLIENT_PORT));
	c->sock->SetRecvCallback(MakeBoundCallback(&client_recv, c));
	c->ssrc_audio = 0x10000000u + c->id * 8;
	for (int l = 0; l < 3; l++)
		c->ssrc_video[l] = c->ssrc_audio + 1 + (uint32_t)l;
	return true;
}

/* A call and its participants, the first joining at t0 (s from now);
 * false when one cannot be placed on the network. */
bool new_call(double t0)
{
	static unsigned drawn_calls;
	/* group calls: 3 plus a Poisson number more (mean group_mean) */
	std::poisson_distribution<unsigned> extra(
		std::max(0.001, sc.group_mean - 3));
	Call *call = new Call();
	call_machine_init(&call->rules, &rules_policy, &rules_hooks, call,
			  CALL_P2P, CALL_INITIATED);
	bool drawn = drawn_calls++ == 0 || draw() < sc.media_sample_share;
	unsigned n = sc.participants         ? sc.participants
		     : draw() < sc.two_share ? 2
					     : 3 + extra(world.gen);
	/* a star draws each participant's region by itself */
	const Region *home = star() ? nullptr : draw_region(nullptr);
	call->sampled = sampled_call(home, n, drawn);
	for (unsigned i = 0; i < n; i++)
		if (!new_client(call, home, i))
			return false;
	double len = sc.mean_call_s > 0
			     ? -std::log(1 - draw()) * sc.mean_call_s
			     : 0;
	if (!played(call)) {
		unplayed.push_back(call);
		return true;
	}
	call->id = (unsigned)calls.size();
	for (unsigned i = 0; i < n; i++) {
		Client *c = call->parts[i];
		clients.push_back(c);
		Simulator::Schedule(Seconds(t0 + i * sc.join_spacing_s), &join,
				    c);
		/* a star's regions are delays only */
		call->across = call->across ||
			       (!star() && c->region != call->parts[0]->region);
	}
	calls.push_back(call);
	if (sc.mean_call_s > 0)
		Simulator::Schedule(Seconds(t0 + len), &all_leave, call);
	return true;
}

/* The call ends: everyone leaves, its media goes from its node. */
void end_call(Call *call)
{
	call->ended = true;
	for (Client *c : call->parts) {
		c->media_on = false; /* its ticks stop */
		c->joined = false;
		c->rounds_left = 0;
		sfu_drop(c);
	}
	results.calls_ended++;
	if (!call->mn)
		return;
	call->mn->load.participants -= (double)call->on_node;
	call->on_node = 0;
	if (call->sampled) {
		if (call->router)
			call->router = (struct router *)mem_deref(call->router);
	} else {
		fluid_update(call); /* nobody on the SFU: no load */
	}
}

/* Seconds to the next new call: a Poisson process at the rate that keeps
 * `calls` in progress with the mean duration. */
double next_arrival()
{
	if (sc.mean_call_s <= 0)
		return INFINITY;
	double rate = sc.calls / sc.mean_call_s; /* calls a second */
	return -std::log(1 - draw()) / rate;
}

/* --- the plan as it runs --- */

/* A TURN relay, coturn's part as a model: a client's packet carries its
 * peer's id in 4 bytes where ChannelData has its channel and length; the
 * relay sends the rest on to the peer, or whole to the peer's own relay
 * when the peer has one elsewhere (both peers behind NATs: two
 * allocations, two relays). Its CPU time is not modelled. */
void turn_recv(Site *site, Ptr<Socket> s)
{
	Ptr<Packet> p;
	Address from;
	while ((p = s->RecvFrom(from))) {
		uint32_t id = UINT32_MAX;
		if (p->GetSize() >= 4)
			p->CopyData((uint8_t *)&id, 4);
		if (id >= clients.size())
			continue;
		Client *to = clients[id];
		site->relayed++;
		if (to->relayed && to->turn != site) {
			s->SendTo(p, 0,
				  InetSocketAddress(to->turn->turn_addr,
						    TURN_PORT));
			continue;
		}
		p->RemoveAtStart(4);
		s->SendTo(p, 0, InetSocketAddress(to->addr, CLIENT_PORT));
	}
}

/* The site's TURN host, when the plan gives it TURN instances */
void build_turn(sim::Network &net, Site *site)
{
	site->turn_host = net.dc_host(site->plan->metro, &site->turn_addr);
	site->turn_sock = Socket::CreateSocket(site->turn_host,
					       UdpSocketFactory::GetTypeId());
	site->turn_sock->Bind(
		InetSocketAddress(Ipv4Address::GetAny(), TURN_PORT));
	site->turn_sock->SetRecvCallback(MakeBoundCallback(&turn_recv, site));
}

/* A client's TURN relay by /api/region's rule: its continent's servers
 * (the plan's TURN sites in its region), else the default (the plan's
 * first TURN site); of its continent's, ICE settles on the nearest.
 * nullptr when the plan has no TURN. */
Site *turn_site(const Client *c)
{
	Site *best = nullptr, *first = nullptr;
	const std::vector<unsigned> &ours = c->region->metros;
	auto rtt = [c](const Site *s) {
		return sc.rtt_ms.empty() ? 0
					 : sc.rtt_ms[c->metro][s->plan->metro];
	};
	for (Site *s : sites) {
		if (!s->plan->turn)
			continue;
		if (!first)
			first = s;
		if (std::find(ours.begin(), ours.end(), s->plan->metro) !=
			    ours.end() &&
		    (!best || rtt(s) < rtt(best)))
			best = s;
	}
	return best ? best : first;
}

/* A data centre's gateway and media nodes at its metro, 10 Gbit/s and
 * dc_delay_ms (0.25) from its router. */
bool build_site(sim::Network &net, const sim::Datacentre &d)
{
	Site *site = new Site();
	site->plan = &d;
	site->gateway = net.dc_host(d.metro, &site->gateway_addr);
	site->gateway_sock = Socket::CreateSocket(
		site->gateway, UdpSocketFactory::GetTypeId());
	site->gateway_sock->Bind(
		InetSocketAddress(Ipv4Address::GetAny(), 4000));
	site->gateway_sock->SetRecvCallback(
		MakeBoundCallback(&gateway_recv, site));
	sites.push_back(site);
	if (d.turn)
		build_turn(net, site);
	for (unsigned i = 0; i < d.media_nodes; i++) {
		MediaNode *m = new MediaNode();
		m->idx = (unsigned)media_nodes.size();
		m->site = site;
		m->node = net.dc_host(d.metro, &m->addr);
		memset(&m->load, 0, sizeof(m->load));
		if (star())
			snprintf(m->load.id, sizeof(m->load.id), "media-%u",
				 m->idx);
		else
			snprintf(m->load.id, sizeof(m->load.id), "%.40s-%u",
				 d.name.c_str(), i);
		m->load.alive = true;
		port_ns3_set_node(m->node);
		struct sa la;
		sa_set_in(&la, 0, m->port);
		if (port_udp_listen(&m->udp, &la, mn_recv, m)) {
			fprintf(stderr,
				"meeshy-sim: media node %s: no socket\n",
				m->load.id);
			return false;
		}
		site->nodes.push_back(m);
		media_nodes.push_back(m);
	}
	return true;
}

/* The calls in progress at the start, arriving over the window; with a
 * mean duration, calls end and new ones keep arriving (a Poisson process
 * at the rate that keeps their number steady). The arrivals of the whole
 * run are drawn now: ns-3 wants every node and link to exist before it
 * starts. */
bool draw_calls()
{
	for (unsigned k = 0; k < sc.calls; k++)
		if (!new_call(draw() * sc.arrival_window_s))
			return false;
	for (double t = next_arrival(); sc.mean_call_s > 0 && t < sc.duration_s;
	     t += next_arrival())
		if (!new_call(t))
			return false;
	return true;
}

/* --- the report --- */

/* the fluid calls' load integrated up to the run's end, once */
void close_fluid()
{
	for (MediaNode *mn : media_nodes) {
		mn->fluid_s += mn->fluid_us_per_s / 1e6 *
			       (sc.duration_s - mn->fluid_since);
		mn->fluid_since = sc.duration_s;
	}
}

double node_cpu(const MediaNode *mn) /* cores busy on average, the run */
{
	return (mn->busy_s + mn->fluid_s) / sc.duration_s;
}

void report_cpu_model(cJSON *rep)
{
	cJSON *cpu = cJSON_AddObjectToObject(rep, "media_node_cpu_model");
	cJSON_AddNumberToObject(cpu, "rx_us", sc.rx_us);
	cJSON_AddNumberToObject(cpu, "tx_us", sc.tx_us);
	cJSON_AddNumberToObject(cpu, "bytes", sc.cost_bytes);
	cJSON_AddNumberToObject(cpu, "rx_small_us", sc.rx_small_us);
	cJSON_AddNumberToObject(cpu, "tx_small_us", sc.tx_small_us);
	cJSON_AddNumberToObject(cpu, "small_bytes", sc.small_bytes);
	cJSON_AddNumberToObject(cpu, "dtls_server_ms", sc.dtls_server_ms);
	cJSON_AddNumberToObject(cpu, "dtls_client_ms", sc.dtls_client_ms);
	cJSON_AddNumberToObject(cpu, "client_tx_us", sc.client_tx_us);
	if (sc.peek_us >= 0)
		cJSON_AddNumberToObject(cpu, "peek_us", sc.peek_us);
}

/* A row over the pairs within P2P's reach (near, of all), with their
 * share of all. */
cJSON *near_json(Samples &near, const Samples &all, double sla)
{
	cJSON *o = pct_json(near, sla);
	cJSON_AddNumberToObject(o, "share_of_pairs",
				all.v.empty() ? 0
					      : (double)near.v.size() /
							(double)all.v.size());
	return o;
}

/* What the clients add to a pair's own path: a pair whose own path is
 * 98 ms (two DSL links) measures 110-120 ms direct, for the clients'
 * queues and jitter. The p95 of what this run's direct pairs measured
 * over their own path (none without direct pairs), unless the load
 * gives it. */
double own_path_allowance()
{
	if (sc.own_path_allowance_ms >= 0) /* the load's */
		return sc.own_path_allowance_ms;
	return results.own_path_excess.v.empty()
		       ? 0
		       : std::max(0.0, results.own_path_excess.pct(95));
}

/* Into near, the round trips of the pairs that a direct path would serve
 * within the P2P SLA (own path + allowance within it): the pairs within
 * P2P's reach, which a plan is held to, relayed or through the SFU. */
void near_pairs(const std::vector<std::pair<double, double>> &ms_own,
		double allowance, Samples &near)
{
	for (const auto &[ms, own] : ms_own)
		if (own + allowance <= sc.sla_p2p_rtt_ms)
			near.add(ms);
}

/* The relayed P2P pairs a plan is held to */
cJSON *relayed_near_json()
{
	double allowance = own_path_allowance();
	Samples near;
	near_pairs(results.p2p_relayed_own, allowance, near);
	cJSON *o = near_json(near, results.p2p_relayed, sc.sla_p2p_rtt_ms);
	cJSON_AddNumberToObject(o, "own_path_allowance_ms", allowance);
	return o;
}

/* The SFU's round trips a plan is held to, over every region's pairs
 * (a cut run's: its region's) */
cJSON *sfu_near_json()
{
	double allowance = own_path_allowance();
	Samples near;
	for (const auto &[region, ms_own] : results.sfu_rtt_own_in)
		if (held_to(sc, region))
			near_pairs(ms_own, allowance, near);
	cJSON *o = near_json(near, results.sfu_rtt_ms, sc.sla_sfu_rtt_ms);
	cJSON_AddNumberToObject(o, "own_path_allowance_ms", allowance);
	return o;
}

/* Each SLA row, against the seed's table; true when all pass. The rows
 * a plan decides say in *plan_rows whether they all pass: all but the
 * direct P2P round trip (the peers' own path) and, in a world, the SFU
 * round trip of every pair, which a plan is held to over the pairs near
 * enough for P2P's SLA (sfu_rtt_near); so are relayed P2P pairs
 * (p2p_relayed_near: where the plan's TURN sites are). */
bool report_sla(cJSON *rep, bool *plan_rows)
{
	cJSON *m = cJSON_AddObjectToObject(rep, "ms");
	cJSON_AddItemToObject(m, "join",
			      pct_json(results.join_ms, sc.sla_join_ms));
	cJSON_AddItemToObject(m, "p2p_rtt",
			      pct_json(results.p2p_rtt_ms, sc.sla_p2p_rtt_ms));
	cJSON_AddItemToObject(m, "sfu_rtt",
			      pct_json(results.sfu_rtt_ms, sc.sla_sfu_rtt_ms));
	if (!star()) {
		cJSON_AddItemToObject(m, "sfu_rtt_near", sfu_near_json());
		cJSON_AddItemToObject(m, "p2p_relayed_near",
				      relayed_near_json());
	}
	cJSON_AddItemToObject(m, "event",
			      pct_json(results.event_ms, sc.sla_event_ms));
	cJSON_AddItemToObject(m, "mode_switch",
			      pct_json(results.switch_ms, sc.sla_switch_ms));
	if (sc.fail_node != -1) /* held to the join SLA: media back within it */
		cJSON_AddItemToObject(
			m, "recovery",
			pct_json(results.recovery_ms,
				 sc.sla_join_ms + sc.fail_detect_s * 1000));
	/* forwarding latency, not held to an SLA (the RTTs are) */
	cJSON *fwd = cJSON_AddObjectToObject(rep, "sfu_oneway_ms");
	cJSON_AddItemToObject(fwd, "audio",
			      pct_json(results.sfu_oneway_audio_ms, 0));
	cJSON_AddItemToObject(fwd, "video",
			      pct_json(results.sfu_oneway_video_ms, 0));
	cJSON_AddItemToObject(rep, "sfu_forward_ms",
			      pct_json(results.sfu_forward_ms, 0));
	cJSON_AddItemToObject(rep, "request_answer_ms",
			      pct_json(results.request_answer_ms, 0));
	cJSON_AddItemToObject(rep, "join_secured_ms",
			      pct_json(results.join_secured_ms, 0));
	bool pass = true;
	cJSON *it;
	*plan_rows = true;
	cJSON_ArrayForEach(it, m)
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "pass");
		bool ok = !cJSON_IsBool(p) || cJSON_IsTrue(p);
		pass = pass && ok;
		bool peers_own = !strcmp(it->string, "p2p_rtt") ||
				 (!star() && !strcmp(it->string, "sfu_rtt"));
		if (!peers_own)
			*plan_rows = *plan_rows && ok;
	}
	return pass;
}

/* An SLA row of `o` that has samples and misses its SLA */
bool row_fails(const cJSON *o, const char *row)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, row);
	return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "pass"));
}

/* Per region (a world's): its P2P round trips within it, the SFU's, and
 * its joins, with its verdict (the rows a plan keeps: the SFU's round
 * trips within P2P's reach and joins); P2P round trips across regions.
 * True when every region passes: a plan is held to each region's users,
 * not to all of them pooled, where a small region's misses hide. */
bool report_regions(cJSON *rep)
{
	bool all = true;
	double allowance = own_path_allowance();
	cJSON *by = cJSON_AddObjectToObject(rep, "by_region");
	for (const Region &r : sc.regions) {
		/* a cut run has the others' participants of its calls alone */
		if (r.share <= 0 || !held_to(sc, r.name))
			continue;
		cJSON *o = cJSON_AddObjectToObject(by, r.name.c_str());
		cJSON_AddNumberToObject(o, "share", r.share);
		cJSON_AddItemToObject(o, "p2p_rtt",
				      pct_json(results.p2p_within[r.name],
					       sc.sla_p2p_rtt_ms));
		cJSON_AddItemToObject(o, "sfu_rtt",
				      pct_json(results.sfu_rtt_in[r.name],
					       sc.sla_sfu_rtt_ms));
		Samples near;
		near_pairs(results.sfu_rtt_own_in[r.name], allowance, near);
		cJSON_AddItemToObject(o, "sfu_rtt_near",
				      pct_json(near, sc.sla_sfu_rtt_ms));
		cJSON_AddItemToObject(
			o, "join",
			pct_json(results.join_in[r.name], sc.sla_join_ms));
		bool pass =
			!row_fails(o, "sfu_rtt_near") && !row_fails(o, "join");
		cJSON_AddBoolToObject(o, "plan_pass", pass);
		all = all && pass;
	}
	cJSON *x = cJSON_AddObjectToObject(rep, "across_regions");
	cJSON_AddItemToObject(x, "join", pct_json(results.across.join, 0));
	cJSON_AddItemToObject(x, "p2p_rtt", pct_json(results.across.p2p, 0));
	cJSON_AddItemToObject(x, "sfu_rtt", pct_json(results.across.sfu, 0));
	cJSON_AddItemToObject(x, "event", pct_json(results.across.event, 0));
	return all;
}

cJSON *node_json(MediaNode *mn)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", mn->load.id);
	cJSON_AddNumberToObject(o, "participants", mn->load.participants);
	cJSON_AddNumberToObject(o, "packets_in", (double)mn->in);
	cJSON_AddNumberToObject(o, "packets_out", (double)mn->forwarded);
	cJSON_AddNumberToObject(o, "dropped", (double)mn->dropped);
	cJSON_AddNumberToObject(o, "dtls_flights", (double)mn->flights);
	cJSON_AddNumberToObject(o, "requests", (double)mn->requests);
	cJSON_AddNumberToObject(o, "bytes_in", (double)mn->bytes_in);
	if (sc.peek_us >= 0) {
		cJSON_AddNumberToObject(o, "packets_peeked",
					(double)mn->peeked);
		cJSON_AddNumberToObject(o, "bytes_peeked",
					(double)mn->bytes_peeked);
	}
	cJSON_AddNumberToObject(o, "bytes_out", (double)mn->bytes_out);
	cJSON_AddNumberToObject(o, "cpu", node_cpu(mn));
	return o;
}

/* What the SFU participants cost at the end of the run; returns the
 * egress in Mbit/s. */
double report_capacity(cJSON *rep)
{
	double cores_busy = 0, sfu_parts = 0, egress_bps = 0;
	for (MediaNode *mn : media_nodes)
		cores_busy += node_cpu(mn);
	for (Call *c : calls) {
		double n = 0;
		for (Client *o : c->parts)
			n += o->on_sfu;
		sfu_parts += n;
		unsigned l = std::min(2u, sc.consume_layer);
		egress_bps += n * (n - 1) *
			      (sc.video_kbps[l] * 1000 +
			       sc.audio_bytes * 8 * 1000 / sc.audio_ms);
	}
	cJSON *cap = cJSON_AddObjectToObject(rep, "capacity");
	cJSON_AddNumberToObject(cap, "sfu_participants", sfu_parts);
	cJSON_AddNumberToObject(cap, "media_cores_busy", cores_busy);
	cJSON_AddNumberToObject(cap, "cores_per_node", sc.cores);
	cJSON_AddNumberToObject(cap, "core_share_per_sfu_participant",
				sfu_parts ? cores_busy / sfu_parts : 0);
	cJSON_AddNumberToObject(cap, "sfu_egress_mbps", egress_bps / 1e6);
	return egress_bps / 1e6;
}

/* One data centre of the plan as it ran; *media and *turn: the busiest
 * media node's share of its cores, its TURN's share of its sessions
 * (relayed participants in P2P calls at the end, one allocation each). */
cJSON *site_json(const Site *s, double *media, double *turn)
{
	cJSON *o = cJSON_CreateObject();
	double busy = 0;
	unsigned connected = 0, sessions = 0, relayed = 0;
	*media = 0;
	for (MediaNode *mn : s->nodes) {
		*media = std::max(*media, node_cpu(mn) / sc.cores);
		busy += node_cpu(mn);
	}
	for (const Client *c : clients) {
		connected += c->site == s && c->joined;
		relayed += c->turn == s; /* at any time of the run */
		sessions += c->turn == s && c->joined && !c->left && !c->on_sfu;
	}
	*turn = s->plan->turn ? sessions / (s->plan->turn * sc.turn_sessions)
			      : 0;
	cJSON_AddStringToObject(o, "name", s->plan->name.c_str());
	cJSON_AddStringToObject(o, "metro", sc.metros[s->plan->metro].c_str());
	cJSON_AddNumberToObject(o, "gateways", s->plan->gateways);
	cJSON_AddNumberToObject(o, "media_nodes", s->plan->media_nodes);
	cJSON_AddNumberToObject(o, "turn", s->plan->turn);
	cJSON_AddNumberToObject(o, "busiest_media_cpu_share", *media);
	cJSON_AddNumberToObject(o, "media_cores_busy", busy);
	cJSON_AddNumberToObject(o, "connected_at_end", connected);
	cJSON_AddNumberToObject(o, "relay_sessions", sessions);
	cJSON_AddNumberToObject(o, "relayed_participants", relayed);
	cJSON_AddNumberToObject(o, "relayed_packets", (double)s->relayed);
	cJSON_AddNumberToObject(o, "turn_share_busy", *turn);
	return o;
}

/* The plan's data centres, the busiest media node's share of its cores
 * and the busiest TURN site's share of its sessions against the headroom
 * the search keeps (30 %: at most 1/1.3 busy), and the plan's monthly
 * cost at the seed's prices (egress as if the run's went on all month).
 * True when the headroom holds. */
bool report_plan(cJSON *rep, double egress_mbps)
{
	cJSON *dcs = cJSON_AddArrayToObject(rep, "datacentres");
	double busiest = 0, busiest_turn = 0;
	const sim::Prices &p = sc.prices;
	double usd = sc.redis * p.redis + (sc.redis ? p.database : 0);
	for (Site *s : sites) {
		double media, turn;
		cJSON_AddItemToArray(dcs, site_json(s, &media, &turn));
		busiest = std::max(busiest, media);
		busiest_turn = std::max(busiest_turn, turn);
		usd += s->plan->gateways * p.gateway +
		       s->plan->media_nodes * p.media_node +
		       s->plan->turn * p.turn;
	}
	double egress_gb = egress_mbps / 8 * 3600 * 24 * 30 / 1000;
	const double limit = 1 / 1.3;
	cJSON *h = cJSON_AddObjectToObject(rep, "headroom");
	cJSON_AddNumberToObject(h, "busiest_media_cpu_share", busiest);
	cJSON_AddNumberToObject(h, "busiest_turn_share", busiest_turn);
	cJSON_AddNumberToObject(h, "limit", limit);
	cJSON_AddBoolToObject(h, "media_pass", busiest <= limit);
	cJSON_AddBoolToObject(h, "turn_pass", busiest_turn <= limit);
	cJSON_AddBoolToObject(h, "pass",
			      busiest <= limit && busiest_turn <= limit);
	cJSON *cost = cJSON_AddObjectToObject(rep, "monthly_cost_usd");
	cJSON_AddNumberToObject(cost, "instances", usd);
	cJSON_AddNumberToObject(cost, "egress", egress_gb * p.egress_per_gb);
	cJSON_AddNumberToObject(cost, "total",
				usd + egress_gb * p.egress_per_gb);
	return busiest <= limit && busiest_turn <= limit;
}

/* A participant of a sampled call still waiting for the others' media
 * at the end, for longer than the join SLA, is a join that missed it:
 * counted at its wait so far (a lower bound), or a plan that strands
 * joins would look better for it. */
void count_unfinished_joins()
{
	double end = Simulator::Now().GetSeconds();
	for (Client *c : clients) {
		double ms = (end - c->join_start) * 1000;
		if (!c->call->sampled || c->call->ended || c->join_measured ||
		    c->left || c->join_start <= 0 || ms < sc.sla_join_ms)
			continue;
		/* the first one in has nobody to see (measure_join); a join
		 * not acked has its call's others to see, if still there */
		bool others = false;
		for (Client *o : c->call->parts)
			others = others || (o != c && !o->left);
		if (c->joined ? !c->measure_join : !others)
			continue;
		results.joins_unfinished++;
		if (c->call->across) {
			results.across.join.add(ms);
		} else {
			results.join_ms.add(ms);
			results.join_in[c->region->name].add(ms);
		}
	}
}

cJSON *report()
{
	cJSON *rep = cJSON_CreateObject();
	close_fluid();
	unsigned sfu_calls = 0, sampled = 0;
	for (Call *c : calls) {
		sfu_calls += c->sfu;
		sampled += c->sampled;
	}
	cJSON_AddStringToObject(rep, "scenario", sc.name.c_str());
	cJSON_AddNumberToObject(rep, "participants", (double)clients.size());
	cJSON_AddNumberToObject(rep, "calls", (double)calls.size());
	cJSON_AddNumberToObject(rep, "calls_ended", results.calls_ended);
	cJSON_AddNumberToObject(rep, "calls_back_to_p2p", results.back_to_p2p);
	cJSON_AddNumberToObject(rep, "sfu_calls", sfu_calls);
	cJSON_AddNumberToObject(rep, "sampled_calls", sampled);
	cJSON_AddNumberToObject(rep, "duration_s", sc.duration_s);
	count_unfinished_joins();
	cJSON_AddNumberToObject(rep, "joins_unfinished",
				(double)results.joins_unfinished);
	cJSON_AddNumberToObject(rep, "control_resent", (double)results.resent);
	report_cpu_model(rep);
	bool plan_rows;
	bool pass = report_sla(rep, &plan_rows);
	cJSON *nodes = cJSON_AddArrayToObject(rep, "media_nodes");
	for (MediaNode *mn : media_nodes)
		cJSON_AddItemToArray(nodes, node_json(mn));
	double egress = report_capacity(rep);
	cJSON_AddBoolToObject(rep, "sla_pass", pass);
	if (!star()) {
		bool regions = report_regions(rep);
		bool room = report_plan(rep, egress);
		/* a load cut to one region holds the plan to that region's
		 * rows: its pooled rows are over the calls it plays, other
		 * regions' participants among them, and its relayed pairs
		 * few (17 in Year-1 cut to Asia-Pacific, where one pair
		 * failed a row the whole run passes) */
		bool pooled = plan_rows || !sc.only_region.empty();
		cJSON_AddBoolToObject(rep, "plan_pass",
				      pooled && regions && room);
	}
	return rep;
}

} // namespace

/* Plays the scenario (or plan and load) and prints its report. */
int play(const std::vector<std::string> &files, const char *out_path)
{
	std::string why;
	if (!sim::load_scenario(files, sc, why)) {
		fprintf(stderr, "meeshy-sim: %s\n", why.c_str());
		return 2;
	}
	/* the gateway's defaults but --sfu-from, with media nodes to place on
	 */
	rules_policy.sfu_from = sc.sfu_from;
	rules_policy.sfu_here = true;
	rules_policy.p2p_back = true;
	/* the same order of events as ns-3's default map (time, then the
	 * order scheduled), on a binary heap: a fifth less CPU than the
	 * calendar queue on month 6, whose buckets turned into long sorted
	 * lists with the 50,000 participants' joins pending at once (most
	 * of the scale run's setup) */
	Simulator::SetScheduler(ObjectFactory("ns3::PriorityQueueScheduler"));
	if (libre_init())
		return 1;
	RngSeedManager::SetSeed((uint32_t)(sc.seed ? sc.seed : 1));
	port_ns3_seed(sc.seed);
	port_log_set_level(PORT_LOG_ERROR);
	urand = CreateObject<UniformRandomVariable>();
	gw_service = CreateObject<ExponentialRandomVariable>();
	gw_service->SetAttribute("Mean", DoubleValue(sc.gateway_ms));

	sim::Network net(sc.rtt_ms, sc.dc_delay_ms);
	for (const sim::Datacentre &d : sc.datacentres)
		if (!build_site(net, d))
			return 1;
	if (sc.fail_node >= 0 && (unsigned)sc.fail_node < media_nodes.size())
		Simulator::Schedule(Seconds(sc.fail_at_s), &fail_node,
				    media_nodes[(unsigned)sc.fail_node]);
	else if (sc.fail_node == sim::FAIL_BUSIEST_SAMPLED)
		Simulator::Schedule(Seconds(sc.fail_at_s), &fail_busiest);
	world.net = &net;
	world.gen.seed(sc.seed);
	if (!draw_calls())
		return 2;
	fprintf(stderr,
		"meeshy-sim: %s: %zu participants in %zu calls, %u media"
		" nodes, %.0f s\n",
		sc.name.c_str(), clients.size(), calls.size(), sc.media_nodes,
		sc.duration_s);
	Simulator::Stop(Seconds(sc.duration_s));
	Simulator::Run();

	cJSON *rep = report();
	char *text = cJSON_Print(rep);
	FILE *f = out_path ? fopen(out_path, "w") : nullptr;
	if (out_path && !f) {
		fprintf(stderr, "meeshy-sim: --out: cannot write %s\n",
			out_path);
		return 1;
	}
	if (f) {
		fputs(text, f);
		fputc('\n', f);
		fclose(f);
	}
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(rep);
	/* The report is out and the process ends here: tearing down tens
	 * of thousands of ns-3 nodes (Simulator::Destroy, then the static
	 * destructors) took minutes of malloc_consolidate at 50,000
	 * participants, for memory the exit gives back at once. */
	fflush(nullptr);
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *out_path = nullptr;
	std::vector<std::string> files;
	bool search = false, descend = false;
	unsigned jobs = (unsigned)std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out_path = argv[++i];
		else if (!strcmp(argv[i], "--search"))
			search = true;
		else if (!strcmp(argv[i], "--descend"))
			search = descend = true;
		else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			jobs = (unsigned)std::max(1, atoi(argv[++i]));
		else if (!strcmp(argv[i], "--help"))
			files.clear(), argc = 0;
		else if (argv[i][0] == '-')
			return fprintf(stderr,
				       "meeshy-sim: unknown option %s\n",
				       argv[i]),
			       2;
		else
			files.push_back(argv[i]);
	}
	if (files.empty() || files.size() > 2 ||
	    (search && files.size() != 2)) {
		fprintf(stderr,
			"usage: meeshy-sim SCENARIO.json [--out REPORT.json]\n"
			"       meeshy-sim PLAN.json LOAD.json [--out "
			"REPORT.json]\n"
			"       meeshy-sim PLAN.json LOAD.json --search "
			"[--descend] [--jobs N] "
			"[--out RESULT.json]\n");
		return argc ? 2 : 0;
	}
	if (search) { /* each candidate a run of this very program */
		char *self = realpath("/proc/self/exe", nullptr);
		int rc = self ? sim::search_plan(self, files[0], files[1], jobs,
						 descend, out_path)
			      : 1;
		free(self);
		return rc;
	}
	return play(files, out_path);
}
