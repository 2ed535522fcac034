/*
 * media_probe.c - one call participant's media without a browser, for
 * measuring the real server (sim/crosscheck.js compares it with meeshy-sim).
 *
 * It does what a browser's transports do towards the SFU: ICE checks with
 * USE-CANDIDATE against the server's ICE-lite candidate, a DTLS client
 * handshake checked against the server's fingerprint (core/dtls_srtp.c),
 * then SRTP (core/srtp_pair.c). On a send transport it sends what the
 * simulator's clients send: Opus-sized audio every 20 ms and three VP8
 * simulcast layers at the seed's bitrates, a keyframe whenever a PLI or FIR
 * asks for one. Every packet carries its send time (CLOCK_MONOTONIC, the
 * clock node's hrtime reads too) and the sender's number, so a receiver
 * knows each packet's one-way delay through the SFU.
 *
 * Its driver speaks JSON lines: commands on stdin, events on stdout.
 *   -> {"event":"ready","fingerprint":"AB:..."}
 *   <- {"cmd":"prepare","id":T[,"ip":A]} (optional) our side first, for
 *                                   an SDP; A: where to bind (127.0.0.1)
 *   -> {"event":"local","id":T,"ufrag":..,"pwd":..,"ip":..,"port":N}
 *   <- {"cmd":"transport","id":T,"ufrag":..,"pwd":..,"ip":..,"port":N,
 *       "fingerprint":..[,"dtls":"server"][,"ice":"controlled"]
 *       [,"pt_audio":P,"pt_video":P]}
 *                                   ICE + DTLS towards the server
 * Towards a full-ICE server (Janus) it also answers the server's own
 * connectivity checks, and takes the DTLS server role when the SDP says so.
 *   -> {"event":"connected","id":T,"us":N}     SRTP ready
 *   <- {"cmd":"send","id":T,"sender":K,"audio":SSRC,"video":[S0,S1,S2],
 *       "kbps":[500,1000,2500],"fps":30,"audio_bytes":80}
 *   <- {"cmd":"report"}
 *   -> {"event":"report","first_video_us":{"K":N},"audio_oneway_us":{..},
 *       "video_oneway_us":{..},"stun_rtt_us":{..},"wake_us":{..},
 *       "send_ns":{..},"rtp_in":N,"bad":N,
 *       "key_requests":N,...}
 *   <- {"cmd":"quit"}
 *
 * A receive transport counts what it gets from the RTP header (sequence
 * numbers per SSRC, in the clear): "expected" and "received" give the loss.
 * With --sample K it decrypts only every K-th packet, for its delay, so one
 * probe can stand for thousands of subscribers (bench/load.js).
 *
 * A delay ends when the packet reached the receiving socket (the kernel's
 * stamp, port_pkt.rx_us), not when this process got to read it: on a
 * small machine running the server and many probes, a receiver's wait for
 * a core is the rig's, and the sim, whose clients each have their own
 * machine, ends it there too. The same holds for the STUN round trip.
 *
 * --stamp-on-send stamps each packet as it leaves, not at its frame's
 * capture: the delay is then the network's and the SFU's alone.
 *
 *   build/bench/media-probe [--transports N] [--consent-ms MS] [--sample K]
 *                           [--stamp-on-send]
 */
#include <errno.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "dtls_srtp.h"
#include "ice_lite.h"
#include "packet.h"
#include "jsonl.h"
#include "port.h"
#include "srtp_pair.h"

enum {
	MAX_TRANSPORTS = 8192,
	MAX_SENDERS = 64,
	MAX_SAMPLES = 1 << 19, /* per kind: ~20 minutes of a 4-way call */
	PAYLOAD_MAX = 1200,
	STAMP_OFF = 2, /* after the VP8 descriptor and payload header */
	AUDIO_MS = 20,
	/* consent checks (the server drops a transport after 30 s without),
	 * by default often enough that their round trips measure the
	 * loopback hop (--consent-ms) */
	CONSENT_MS = 200,
	/* a receiver report a second per transport that receives, as
	 * Chromium sends for video */
	RR_MS = 1000,
	ICE_PWD_MAX = 256,
	PT_AUDIO = 100,
	PT_VIDEO = 101, /* the router's, which we consume */
};

struct layer {
	uint32_t ssrc;
	uint16_t seq;
	double kbps;
	bool want_key;
};

/* Sequence numbers of one received SSRC, extended (RFC 3550 A.1). */
struct seq_track {
	uint32_t ssrc;
	uint32_t first, highest; /* extended */
	uint64_t received;
	bool on;
};

struct transport {
	char id[64];
	struct seq_track seq[2];    /* the audio and the video we consume */
	uint64_t rtp_seen;          /* for --sample */
	uint8_t pt_audio, pt_video; /* what we receive (the SFU's choice) */
	bool started;               /* remote side given, ICE under way */
	bool controlled; /* the server offered (full ICE): it nominates */
	enum dtls_role dtls_role;
	char ufrag[ICE_UFRAG_LEN + 1], pwd[ICE_PWD_LEN + 1]; /* ours */
	char remote_ufrag[ICE_UFRAG_MAX + 1], remote_pwd[ICE_PWD_MAX + 1];
	struct sa server;
	struct port_udp *udp;
	struct port_timer *ice_tmr, *audio_tmr, *video_tmr;
	struct dtls_srtp *dtls;
	struct srtp_pair *srtp;
	uint8_t tid[12];
	uint64_t check_sent_us, rr_sent_us;
	uint32_t rr_ssrc; /* ours, as the reports' sender */
	bool ice_ok;
	/* sending, once asked to and SRTP is up */
	bool sending;
	uint32_t sender;
	struct layer audio, video[3];
	unsigned layers;
	double fps, audio_bytes;
	uint64_t video_start_us, frames;
	uint32_t audio_ts;
};

struct samples {
	uint32_t *us;
	size_t n;
};

static struct {
	struct dtls_cert *cert;
	struct transport **t;
	size_t nt, max_transports;
	unsigned consent_ms, sample_every;
	bool stamp_on_send; /* delay from the send, not the frame's capture */
	struct samples audio, video, video_first, stun_rtt, wake, send;
	uint64_t first_video_us[MAX_SENDERS];
	uint64_t rtp_in, rtcp_in, bad, key_requests, rtp_out;
} probe;

/* --- sending --- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* An RTP packet in buf (with SRTP_PAIR_TRAILER bytes of room): the
 * header, two bytes of codec header, then the time its frame was taken
 * (`stamp`) and the sender. */
static size_t rtp_build(uint8_t *buf, struct transport *t, struct layer *l,
			uint8_t pt, uint32_t ts, size_t payload, bool marker,
			uint8_t b0, uint8_t b1, uint64_t stamp)
{
	size_t len = 12 + payload;
	if (payload < STAMP_OFF + 12)
		len = 12 + STAMP_OFF + 12;
	memset(buf, 0, len);
	buf[0] = 0x80;
	buf[1] = (uint8_t)(pt | (marker ? 0x80 : 0));
	buf[2] = (uint8_t)(l->seq >> 8);
	buf[3] = (uint8_t)l->seq;
	l->seq++;
	put32(buf + 4, ts);
	put32(buf + 8, l->ssrc);
	buf[12] = b0;
	buf[13] = b1;
	memcpy(buf + 12 + STAMP_OFF, &stamp, 8);
	memcpy(buf + 12 + STAMP_OFF + 8, &t->sender, 4);
	return len;
}

static void sample(struct samples *s, uint64_t us)
{
	if (s->n < MAX_SAMPLES)
		s->us[s->n++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
}

/* Each packet protected and sent on its own, as a browser's network
 * thread does (without its pacer): a frame's packets leave one by one. */
static void send_packets(struct transport *t, uint8_t bufs[][PORT_UDP_MTU],
			 size_t *lens, size_t n)
{
	uint64_t start = port_now_us();
	for (size_t i = 0; i < n; i++) {
		struct port_pkt pk = {bufs[i], lens[i], PORT_UDP_MTU,
				      &t->server};
		size_t sent = 0;
		if (probe.stamp_on_send) {
			uint64_t now = port_now_us();
			memcpy(bufs[i] + 12 + STAMP_OFF, &now, 8);
		}
		if (srtp_pair_protect_rtp(t->srtp, bufs[i], &pk.len,
					  PORT_UDP_MTU))
			continue;
		(void)port_udp_send_batch(t->udp, &pk, 1, &sent);
		probe.rtp_out += sent;
	}
	/* a packet's protect and send (ns), as a video frame's took them:
	 * on a VM, a send that wakes the server's sleeping vCPU pays for
	 * that, and the packets after it wait */
	if (n > 1)
		sample(&probe.send, (port_now_us() - start) * 1000 / n);
}

static void audio_tick(void *arg)
{
	struct transport *t = arg;
	static uint8_t buf[1][PORT_UDP_MTU];
	size_t len = rtp_build(buf[0], t, &t->audio, PT_AUDIO, t->audio_ts,
			       (size_t)t->audio_bytes, false, 0x78, 0,
			       port_now_us());
	t->audio_ts += 48000 / 1000 * AUDIO_MS;
	send_packets(t, buf, &len, 1);
	port_timer_start(t->audio_tmr, AUDIO_MS, audio_tick, t);
}

/* One frame of each layer, split into packets of PAYLOAD_MAX bytes. */
static void video_tick(void *arg)
{
	struct transport *t = arg;
	static uint8_t bufs[PORT_UDP_BATCH][PORT_UDP_MTU];
	size_t lens[PORT_UDP_BATCH], n = 0;
	uint64_t now = port_now_us();
	uint32_t ts = (uint32_t)(now * 90 / 1000);
	for (unsigned i = 0; i < t->layers; i++) {
		struct layer *l = &t->video[i];
		size_t bytes = (size_t)(l->kbps * 1000 / 8 / t->fps);
		bool key = l->want_key;
		l->want_key = false;
		for (size_t off = 0; off < bytes; off += PAYLOAD_MAX) {
			size_t part = bytes - off < PAYLOAD_MAX ? bytes - off
								: PAYLOAD_MAX;
			bool first = off == 0;
			if (n == PORT_UDP_BATCH) {
				send_packets(t, bufs, lens, n);
				n = 0;
			}
			/* VP8 descriptor: S on the frame's first packet,
			 * whose payload header's P bit is 0 on keyframes */
			lens[n] = rtp_build(
				bufs[n], t, l, PT_VIDEO, ts, part,
				off + part >= bytes, first ? 0x10 : 0x00,
				first ? (key ? 0x00 : 0x01) : 0, now);
			n++;
		}
	}
	send_packets(t, bufs, lens, n);
	/* frames on a fixed grid, however late this tick ran */
	t->frames++;
	uint64_t due = t->video_start_us +
		       (uint64_t)((double)t->frames * 1e6 / t->fps);
	now = port_now_us();
	port_timer_start(t->video_tmr, due > now ? (due - now) / 1000 : 0,
			 video_tick, t);
}

static void start_sending(struct transport *t)
{
	if (!t->sending || !t->srtp || port_timer_isrunning(t->audio_tmr))
		return;
	/* the camera runs on its own clock: its first frame comes at a
	 * random point of a frame interval, not in step with the join */
	uint32_t r = 0;
	(void)port_random(&r, sizeof(r));
	uint64_t phase_ms =
		(uint64_t)((double)(r % 1000) / 1000 * 1e3 / t->fps);
	t->video_start_us = port_now_us() + phase_ms * 1000;
	audio_tick(t);
	port_timer_start(t->video_tmr, phase_ms, video_tick, t);
}

/* --- receiving --- */

static void on_rtp(const struct transport *t, uint8_t *buf, size_t len,
		   uint64_t now)
{
	struct rtp_view v;
	uint64_t sent;
	uint32_t sender;
	if (rtp_view_parse(&v, buf, len) || v.payload_len < STAMP_OFF + 12) {
		probe.bad++;
		return;
	}
	probe.rtp_in++;
	memcpy(&sent, v.payload + STAMP_OFF, 8);
	memcpy(&sender, v.payload + STAMP_OFF + 8, 4);
	if (v.pt != t->pt_audio && v.pt != t->pt_video)
		return; /* a retransmission: not a delay sample */
	bool video = v.pt == t->pt_video;
	sample(video ? &probe.video : &probe.audio,
	       now > sent ? now - sent : 0);
	/* a frame's first packet: no wait behind the frame's others */
	if (video && (v.payload[0] & 0x10))
		sample(&probe.video_first, now > sent ? now - sent : 0);
	if (video && sender < MAX_SENDERS && !probe.first_video_us[sender])
		probe.first_video_us[sender] = now;
}

/* A PLI (PSFB FMT 1) or FIR (PSFB FMT 4) for one of our layers. */
static void on_rtcp(const uint8_t *b, size_t len)
{
	probe.rtcp_in++;
	for (size_t o = 0; o + 12 <= len;) {
		size_t words = ((size_t)b[o + 2] << 8) | b[o + 3];
		uint8_t fmt = b[o] & 0x1f;
		if (b[o + 1] == 206 && (fmt == 1 || fmt == 4)) {
			size_t at = fmt == 1 ? o + 8 : o + 12;
			if (at + 4 > len)
				break;
			uint32_t media = ((uint32_t)b[at] << 24) |
					 ((uint32_t)b[at + 1] << 16) |
					 ((uint32_t)b[at + 2] << 8) | b[at + 3];
			for (size_t i = 0; i < probe.nt; i++)
				for (unsigned l = 0; l < 3; l++)
					if (probe.t[i]->video[l].ssrc ==
					    media) {
						probe.t[i]->video[l].want_key =
							true;
						probe.key_requests++;
					}
		}
		o += 4 * (words + 1);
	}
}

/* A full-ICE server checks our candidate too: answer what carries our
 * password, with the address it came from. */
static void answer_check(struct transport *t, struct stun_msg *req,
			 const struct sa *from)
{
	struct mbuf *mb;
	if (stun_msg_chk_mi(req, (const uint8_t *)t->pwd, strlen(t->pwd))) {
		probe.bad++;
		return;
	}
	mb = mbuf_alloc(256);
	if (mb &&
	    !stun_msg_encode(mb, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS_RESP,
			     stun_msg_tid(req), NULL, (const uint8_t *)t->pwd,
			     strlen(t->pwd), true, 0x20, 1,
			     STUN_ATTR_XOR_MAPPED_ADDR, from)) {
		struct port_pkt p = {mb->buf, mb->end, mb->size,
				     (struct sa *)from};
		(void)port_udp_send_batch(t->udp, &p, 1, NULL);
	}
	mem_deref(mb);
}

static void on_stun(struct transport *t, const uint8_t *buf, size_t len,
		    const struct sa *from, uint64_t now)
{
	/* a heap mbuf: the decoded message keeps a reference to it */
	struct mbuf *mb = mbuf_alloc(len);
	struct stun_msg *msg = NULL;
	int err = !mb || mbuf_write_mem(mb, buf, len);
	if (mb)
		mb->pos = 0;
	if (!err)
		err = stun_msg_decode(&msg, mb, NULL);
	mem_deref(mb);
	if (!err && stun_msg_class(msg) == STUN_CLASS_REQUEST) {
		answer_check(t, msg, from);
		mem_deref(msg);
		return;
	}
	if (!msg || stun_msg_class(msg) != STUN_CLASS_SUCCESS_RESP ||
	    memcmp(stun_msg_tid(msg), t->tid, 12) ||
	    stun_msg_chk_mi(msg, (const uint8_t *)t->remote_pwd,
			    strlen(t->remote_pwd))) {
		mem_deref(msg);
		probe.bad++;
		return;
	}
	mem_deref(msg);
	sample(&probe.stun_rtt,
	       now > t->check_sent_us ? now - t->check_sent_us : 0);
	if (t->ice_ok)
		return;
	t->ice_ok = true;
	if (t->dtls_role == DTLS_ROLE_CLIENT && dtls_srtp_start(t->dtls))
		jsonl_error("dtls", t->id);
}

/* Counts a packet of ours (audio or video, not a retransmission) by its
 * sequence number: what was expected of each SSRC and what came. */
static void count_seq(struct transport *t, const uint8_t *b, size_t len)
{
	struct seq_track *st = NULL;
	if (len < 12)
		return;
	uint8_t pt = b[1] & 0x7f;
	uint16_t seq = (uint16_t)((b[2] << 8) | b[3]);
	uint32_t ssrc = ((uint32_t)b[8] << 24) | ((uint32_t)b[9] << 16) |
			((uint32_t)b[10] << 8) | b[11];
	if (pt != t->pt_audio && pt != t->pt_video)
		return;
	for (size_t i = 0; i < 2 && !st; i++)
		if (t->seq[i].on && t->seq[i].ssrc == ssrc)
			st = &t->seq[i];
	for (size_t i = 0; i < 2 && !st; i++)
		if (!t->seq[i].on) {
			st = &t->seq[i];
			st->on = true;
			st->ssrc = ssrc;
			st->first = st->highest = seq;
		}
	if (!st)
		return;
	st->received++;
	/* the extended number nearest the highest so far */
	uint32_t ext = (st->highest & 0xffff0000u) | seq;
	if (ext + 0x8000u < st->highest)
		ext += 0x10000u;
	else if (ext > st->highest + 0x8000u && ext >= 0x10000u)
		ext -= 0x10000u;
	if (ext > st->highest)
		st->highest = ext;
}

static void on_udp(const struct port_pkt *pkts, size_t n, void *arg)
{
	struct transport *t = arg;
	/* the first of a batch waited for this process to wake and read it:
	 * what a sleeping server pays too, before its first packet */
	uint64_t now = port_now_us();
	if (n && pkts[0].rx_us && now > pkts[0].rx_us)
		sample(&probe.wake, now - pkts[0].rx_us);
	for (size_t i = 0; i < n; i++) {
		uint8_t *b = pkts[i].buf;
		size_t len = pkts[i].len;
		uint64_t arrived =
			pkts[i].rx_us ? pkts[i].rx_us : port_now_us();
		switch (packet_classify(b, len)) {
		case PACKET_STUN:
			on_stun(t, b, len, pkts[i].peer, arrived);
			break;
		case PACKET_DTLS:
			(void)dtls_srtp_recv(t->dtls, b, len);
			break;
		case PACKET_RTP:
			if (!t->srtp) {
				probe.bad++;
				break;
			}
			count_seq(t, b, len);
			if (t->rtp_seen++ % probe.sample_every) {
				probe.rtp_in++;
				break;
			}
			if (srtp_pair_unprotect_rtp(t->srtp, b, &len)) {
				probe.bad++;
				break;
			}
			dtls_srtp_peer_confirmed(t->dtls);
			on_rtp(t, b, len, arrived);
			break;
		case PACKET_RTCP:
			if (!t->srtp ||
			    srtp_pair_unprotect_rtcp(t->srtp, b, &len)) {
				probe.bad++;
				break;
			}
			dtls_srtp_peer_confirmed(t->dtls);
			on_rtcp(b, len);
			break;
		default:
			probe.bad++;
		}
	}
}

/* RFC 3550 6.4.2: one report block per stream we receive. */
static void send_receiver_report(struct transport *t)
{
	uint8_t b[8 + 2 * 24 + SRTP_PAIR_TRAILER];
	size_t len = 8, blocks = 0;
	for (size_t i = 0; i < 2; i++) {
		const struct seq_track *st = &t->seq[i];
		uint64_t expected;
		uint32_t lost;
		uint8_t *r = b + len;
		if (!st->on)
			continue;
		expected = (uint64_t)st->highest - st->first + 1;
		lost = expected > st->received
			       ? (uint32_t)(expected - st->received)
			       : 0;
		memset(r, 0, 24);
		put32(r, st->ssrc);
		put32(r + 4, lost > 0x7fffff ? 0x7fffff : lost);
		put32(r + 8, st->highest);
		len += 24;
		blocks++;
	}
	if (!blocks)
		return;
	b[0] = (uint8_t)(0x80 | blocks);
	b[1] = 201;
	b[2] = 0;
	b[3] = (uint8_t)(len / 4 - 1);
	put32(b + 4, t->rr_ssrc);
	struct port_pkt p = {b, len, sizeof(b), &t->server};
	if (!srtp_pair_protect_rtcp(t->srtp, b, &p.len, sizeof(b)))
		(void)port_udp_send_batch(t->udp, &p, 1, NULL);
}

/* --- ICE and DTLS --- */

/* A binding request as a controlling browser sends it: it nominates the
 * pair at once (the server is ICE-lite) and, repeated, keeps consent. */
static void ice_check(void *arg)
{
	struct transport *t = arg;
	struct mbuf *mb = mbuf_alloc(256);
	char user[2 * ICE_UFRAG_MAX + 2];
	uint32_t prio = 1853817087;
	uint64_t tiebreak = 0x6d65657368790001ULL;
	uint8_t flag = 1; /* libre skips attributes whose value is NULL */
	int err;
	if (!mb)
		return;
	(void)port_random(t->tid, sizeof(t->tid));
	(void)re_snprintf(user, sizeof(user), "%s:%s", t->remote_ufrag,
			  t->ufrag);
	/* as the answerer to a full-ICE offerer we are controlled: the
	 * server nominates (USE-CANDIDATE left out) */
	err = stun_msg_encode(
		mb, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, t->tid, NULL,
		(const uint8_t *)t->remote_pwd, strlen(t->remote_pwd), true,
		0x20, 4, STUN_ATTR_USERNAME, user,
		t->controlled ? STUN_ATTR_CONTROLLED : STUN_ATTR_CONTROLLING,
		&tiebreak, STUN_ATTR_PRIORITY, &prio, STUN_ATTR_USE_CAND,
		t->controlled ? NULL : &flag);
	if (!err) {
		struct port_pkt p = {mb->buf, mb->end, mb->size, &t->server};
		t->check_sent_us = port_now_us();
		(void)port_udp_send_batch(t->udp, &p, 1, NULL);
	}
	mem_deref(mb);
	if (t->srtp && t->check_sent_us - t->rr_sent_us >= RR_MS * 1000ULL) {
		t->rr_sent_us = t->check_sent_us;
		send_receiver_report(t);
	}
	/* every 50 ms until answered, then for consent */
	port_timer_start(t->ice_tmr, t->ice_ok ? probe.consent_ms : 50,
			 ice_check, t);
}

static int probe_dtls_send(const uint8_t *buf, size_t len, void *arg)
{
	struct transport *t = arg;
	struct port_pkt p = {(uint8_t *)buf, len, len, &t->server};
	return port_udp_send_batch(t->udp, &p, 1, NULL);
}

static void probe_dtls_estab(const struct srtp_keys *keys, void *arg)
{
	struct transport *t = arg;
	if (srtp_pair_alloc(&t->srtp, keys)) {
		jsonl_error("srtp", t->id);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "connected");
	cJSON_AddStringToObject(o, "id", t->id);
	cJSON_AddNumberToObject(o, "us", (double)port_now_us());
	jsonl_emit(o);
	start_sending(t);
}

static void probe_dtls_close(int err, const char *why, void *arg)
{
	struct transport *t = arg;
	(void)err;
	jsonl_error(t->id, why);
}

static void transport_destructor(void *arg)
{
	struct transport *t = arg;
	mem_deref(t->ice_tmr);
	mem_deref(t->audio_tmr);
	mem_deref(t->video_tmr);
	mem_deref(t->dtls);
	mem_deref(t->srtp);
	mem_deref(t->udp);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct transport *find(const char *id)
{
	for (size_t i = 0; id && i < probe.nt; i++)
		if (!strcmp(probe.t[i]->id, id))
			return probe.t[i];
	return NULL;
}

/* Our side of a transport: a socket on loopback and ICE credentials. */
static struct transport *transport_new(const char *id, const char *ip)
{
	struct transport *t;
	struct sa local;
	if (probe.nt == probe.max_transports)
		return NULL;
	t = mem_zalloc(sizeof(*t), transport_destructor);
	if (!t)
		return NULL;
	str_ncpy(t->id, id, sizeof(t->id));
	t->pt_audio = PT_AUDIO;
	t->pt_video = PT_VIDEO;
	if (sa_set_str(&local, ip, 0))
		return mem_deref(t);
	(void)port_random(&t->rr_ssrc, sizeof(t->rr_ssrc));
	if (ice_lite_credentials(t->ufrag, t->pwd) ||
	    port_udp_listen(&t->udp, &local, on_udp, t) ||
	    port_timer_alloc(&t->ice_tmr) || port_timer_alloc(&t->audio_tmr) ||
	    port_timer_alloc(&t->video_tmr))
		return mem_deref(t);
	probe.t[probe.nt++] = t;
	return t;
}

static void cmd_prepare(const cJSON *c)
{
	const char *id = str(c, "id"), *ip = str(c, "ip");
	struct transport *t = id && !find(id)
				      ? transport_new(id, ip ? ip : "127.0.0.1")
				      : NULL;
	struct sa local;
	cJSON *o;
	if (!t) {
		jsonl_error("prepare", "needs a new id, an address of this"
				       " machine if any (or no room left)");
		return;
	}
	(void)port_udp_local(t->udp, &local);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "local");
	cJSON_AddStringToObject(o, "id", t->id);
	cJSON_AddStringToObject(o, "ufrag", t->ufrag);
	cJSON_AddStringToObject(o, "pwd", t->pwd);
	cJSON_AddStringToObject(o, "ip", ip ? ip : "127.0.0.1");
	cJSON_AddNumberToObject(o, "port", sa_port(&local));
	jsonl_emit(o);
}

static void cmd_transport(const cJSON *c)
{
	const char *id = str(c, "id"), *ufrag = str(c, "ufrag"),
		   *pwd = str(c, "pwd"), *ip = str(c, "ip"),
		   *fp = str(c, "fingerprint"), *role = str(c, "dtls"),
		   *ice = str(c, "ice");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(c, "port");
	const cJSON *pta = cJSON_GetObjectItemCaseSensitive(c, "pt_audio");
	const cJSON *ptv = cJSON_GetObjectItemCaseSensitive(c, "pt_video");
	struct transport *t = find(id);
	struct sa server;
	if (!id || !ufrag || !pwd || !ip || !fp || !cJSON_IsNumber(port) ||
	    (t && t->started) ||
	    sa_set_str(&server, ip, (uint16_t)port->valueint)) {
		jsonl_error("transport", "needs a new or prepared id, ufrag,"
					 " pwd, ip, port and fingerprint");
		return;
	}
	if (!t)
		t = transport_new(id, sa_af(&server) == AF_INET6 ? "::1"
								 : "127.0.0.1");
	if (!t) {
		jsonl_error("transport", "cannot set it up");
		return;
	}
	t->server = server;
	str_ncpy(t->remote_ufrag, ufrag, sizeof(t->remote_ufrag));
	str_ncpy(t->remote_pwd, pwd, sizeof(t->remote_pwd));
	if (cJSON_IsNumber(pta))
		t->pt_audio = (uint8_t)pta->valueint;
	if (cJSON_IsNumber(ptv))
		t->pt_video = (uint8_t)ptv->valueint;
	t->dtls_role = role && !strcmp(role, "server") ? DTLS_ROLE_SERVER
						       : DTLS_ROLE_CLIENT;
	t->controlled = ice && !strcmp(ice, "controlled");
	if (dtls_srtp_alloc(&t->dtls, probe.cert, t->dtls_role, fp,
			    probe_dtls_send, probe_dtls_estab, probe_dtls_close,
			    t)) {
		jsonl_error("transport", "bad fingerprint");
		return;
	}
	t->started = true;
	ice_check(t);
}

static uint32_t u32(const cJSON *v)
{
	return cJSON_IsNumber(v) ? (uint32_t)v->valuedouble : 0;
}

static void cmd_send(const cJSON *c)
{
	struct transport *t = find(str(c, "id"));
	const cJSON *video = cJSON_GetObjectItemCaseSensitive(c, "video");
	const cJSON *kbps = cJSON_GetObjectItemCaseSensitive(c, "kbps");
	const cJSON *fps = cJSON_GetObjectItemCaseSensitive(c, "fps");
	const cJSON *ab = cJSON_GetObjectItemCaseSensitive(c, "audio_bytes");
	if (!t || !cJSON_IsArray(video) || cJSON_GetArraySize(video) < 1 ||
	    cJSON_GetArraySize(video) > 3 ||
	    cJSON_GetArraySize(kbps) != cJSON_GetArraySize(video)) {
		jsonl_error("send", "needs a transport id, 1-3 video SSRCs and"
				    " as many kbps");
		return;
	}
	t->sender = u32(cJSON_GetObjectItemCaseSensitive(c, "sender"));
	t->audio.ssrc = u32(cJSON_GetObjectItemCaseSensitive(c, "audio"));
	t->layers = (unsigned)cJSON_GetArraySize(video);
	for (unsigned i = 0; i < t->layers; i++) {
		t->video[i].ssrc = u32(cJSON_GetArrayItem(video, (int)i));
		t->video[i].kbps =
			cJSON_GetArrayItem(kbps, (int)i)->valuedouble;
		t->video[i].want_key = true;
	}
	t->fps = cJSON_IsNumber(fps) && fps->valuedouble > 0 ? fps->valuedouble
							     : 30;
	t->audio_bytes = cJSON_IsNumber(ab) ? ab->valuedouble : 80;
	t->sending = true;
	start_sending(t);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static cJSON *pcts(struct samples *s)
{
	cJSON *o = cJSON_CreateObject();
	static const int ps[] = {50, 95, 99};
	cJSON_AddNumberToObject(o, "n", (double)s->n);
	if (!s->n)
		return o;
	qsort(s->us, s->n, sizeof(*s->us), cmp_u32);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		char k[8];
		size_t at = (s->n * (size_t)ps[i] + 99) / 100;
		snprintf(k, sizeof(k), "p%d", ps[i]);
		cJSON_AddNumberToObject(o, k, s->us[at ? at - 1 : 0]);
	}
	/* every percentile, so a driver can pool several probes */
	cJSON *q = cJSON_AddArrayToObject(o, "q");
	for (size_t p = 0; p <= 100; p++)
		cJSON_AddItemToArray(
			q, cJSON_CreateNumber(s->us[p * (s->n - 1) / 100]));
	return o;
}

static void cmd_report(void)
{
	cJSON *o = cJSON_CreateObject(), *fv;
	cJSON_AddStringToObject(o, "event", "report");
	fv = cJSON_AddObjectToObject(o, "first_video_us");
	for (unsigned i = 0; i < MAX_SENDERS; i++)
		if (probe.first_video_us[i]) {
			char k[16];
			snprintf(k, sizeof(k), "%u", i);
			cJSON_AddNumberToObject(
				fv, k, (double)probe.first_video_us[i]);
		}
	cJSON_AddItemToObject(o, "audio_oneway_us", pcts(&probe.audio));
	cJSON_AddItemToObject(o, "video_oneway_us", pcts(&probe.video));
	cJSON_AddItemToObject(o, "video_first_oneway_us",
			      pcts(&probe.video_first));
	cJSON_AddItemToObject(o, "stun_rtt_us", pcts(&probe.stun_rtt));
	cJSON_AddItemToObject(o, "wake_us", pcts(&probe.wake));
	cJSON_AddItemToObject(o, "send_ns", pcts(&probe.send));
	cJSON_AddNumberToObject(o, "rtp_in", (double)probe.rtp_in);
	cJSON_AddNumberToObject(o, "rtcp_in", (double)probe.rtcp_in);
	cJSON_AddNumberToObject(o, "rtp_out", (double)probe.rtp_out);
	cJSON_AddNumberToObject(o, "bad", (double)probe.bad);
	cJSON_AddNumberToObject(o, "key_requests", (double)probe.key_requests);
	{
		uint64_t expected = 0, received = 0;
		for (size_t i = 0; i < probe.nt; i++)
			for (size_t k = 0; k < 2; k++) {
				const struct seq_track *st =
					&probe.t[i]->seq[k];
				if (!st->on)
					continue;
				expected += st->highest - st->first + 1;
				received += st->received;
			}
		cJSON_AddNumberToObject(o, "expected", (double)expected);
		cJSON_AddNumberToObject(o, "received", (double)received);
	}
	cJSON_AddNumberToObject(o, "transports", (double)probe.nt);
	jsonl_emit(o);
}

static void command(const char *line)
{
	cJSON *c = cJSON_Parse(line);
	const char *cmd = str(c, "cmd");
	if (!cmd)
		jsonl_error("command", line);
	else if (!strcmp(cmd, "prepare"))
		cmd_prepare(c);
	else if (!strcmp(cmd, "transport"))
		cmd_transport(c);
	else if (!strcmp(cmd, "send"))
		cmd_send(c);
	else if (!strcmp(cmd, "report")) {
		cmd_report();
		/* "reset": the next report's delays start from here */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "reset")))
			probe.audio.n = probe.video.n = probe.video_first.n = 0;
	} else if (!strcmp(cmd, "quit"))
		re_cancel();
	else
		jsonl_error("command", cmd);
	cJSON_Delete(c);
}

/* A descriptor a transport: the soft limit up to what they need, and
 * libre's loop sized to it before any socket exists. */
static void raise_descriptors(size_t transports)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)transports + 64;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	(void)fd_setsize(0);
	(void)fd_setsize((int)want);
}

/* --name N with N in [lo, hi], or exit 2 naming the bad value. */
static unsigned long arg_num(const char *name, const char *v, unsigned long lo,
			     unsigned long hi)
{
	char *end = NULL;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;
	if (!v || *end || n < lo || n > hi) {
		fprintf(stderr,
			"media-probe: %s: '%s' is not a number from"
			" %lu to %lu\n",
			name, v ? v : "", lo, hi);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	int err;
	cJSON *o;
	probe.max_transports = 4;
	probe.consent_ms = CONSENT_MS;
	probe.sample_every = 1;
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--transports"))
			probe.max_transports =
				arg_num(argv[i], v, 1, MAX_TRANSPORTS);
		else if (!strcmp(argv[i], "--consent-ms"))
			probe.consent_ms =
				(unsigned)arg_num(argv[i], v, 50, 20000);
		else if (!strcmp(argv[i], "--stamp-on-send")) {
			probe.stamp_on_send = true;
			i--; /* takes no value */
		} else if (!strcmp(argv[i], "--sample"))
			probe.sample_every =
				(unsigned)arg_num(argv[i], v, 1, 1000);
		else {
			fprintf(stderr,
				"usage: media-probe [--transports N]"
				" [--consent-ms MS] [--sample K]"
				" [--stamp-on-send] (JSON lines"
				" on stdin; see bench/media_probe.c)\n");
			return 2;
		}
	}
	probe.t = calloc(probe.max_transports, sizeof(*probe.t));
	raise_descriptors(probe.max_transports);
	probe.audio.us = calloc(MAX_SAMPLES, sizeof(uint32_t));
	probe.video.us = calloc(MAX_SAMPLES, sizeof(uint32_t));
	probe.stun_rtt.us = calloc(MAX_SAMPLES, sizeof(uint32_t));
	probe.video_first.us = calloc(MAX_SAMPLES, sizeof(uint32_t));
	probe.wake.us = calloc(MAX_SAMPLES, sizeof(uint32_t));
	probe.send.us = calloc(MAX_SAMPLES, sizeof(uint32_t));
	if (!probe.t || !probe.audio.us || !probe.video.us ||
	    !probe.stun_rtt.us || !probe.video_first.us || !probe.wake.us ||
	    !probe.send.us || libre_init() || srtp_pair_library_init() ||
	    dtls_cert_generate(&probe.cert, "media-probe")) {
		fprintf(stderr, "media-probe: cannot start\n");
		return 1;
	}
	port_log_set_level(PORT_LOG_WARN);
	err = jsonl_listen(command);
	if (err) {
		fprintf(stderr, "media-probe: stdin: %s\n", strerror(err));
		return 1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "ready");
	cJSON_AddStringToObject(o, "fingerprint",
				dtls_cert_fingerprint(probe.cert));
	jsonl_emit(o);
	(void)re_main(NULL);
	jsonl_close();
	for (size_t i = 0; i < probe.nt; i++)
		mem_deref(probe.t[i]);
	mem_deref(probe.cert);
	free(probe.audio.us);
	free(probe.video.us);
	free(probe.stun_rtt.us);
	free(probe.video_first.us);
	free(probe.wake.us);
	free(probe.send.us);
	free(probe.t);
	libre_close();
	return 0;
}
