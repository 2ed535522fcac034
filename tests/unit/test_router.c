/* The router: RTP rewriting per consumer, PLI relay, NACK answers, pause. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "router.h"
#include "unit.h"

/* Transports are opaque to the router: two tags stand in for them. */
static int tag_a, tag_b;
#define TA ((struct webrtc_transport *)&tag_a)
#define TB ((struct webrtc_transport *)&tag_b)

struct sent {
	struct webrtc_transport *t;
	bool rtcp;
	size_t len;
	uint8_t buf[1600];
};
static struct sent sent[64];
static size_t nsent;

static int capture(struct webrtc_transport *t, uint8_t *buf, size_t len,
		   size_t size, bool rtcp)
{
	CU_ASSERT_TRUE(size >= len + 20); /* room for the SRTP tag */
	if (nsent < 64) {
		sent[nsent].t = t;
		sent[nsent].rtcp = rtcp;
		sent[nsent].len = len;
		memcpy(sent[nsent].buf, buf, len);
		nsent++;
	}
	return 0;
}

/* Waits on libre's loop (tests may not sleep on the OS directly). */
static void wake(void *arg)
{
	(void)arg;
	re_cancel();
}

static void usleep_ms(unsigned ms)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, ms, wake, NULL);
	re_main(NULL);
	tmr_cancel(&t);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

/* An RTP packet as a browser sends it: a CSRC, a one-byte header
 * extension block, 3 payload bytes and 2 bytes of padding. */
static size_t browser_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc)
{
	const uint8_t pkt[] = {0xb1, 0x80 | 96, 0,   0, 0,    0,   0x30, 0x39,
			       0,    0,         0,   0, 9,    9,   9,    9,
			       0xbe, 0xde,      0,   1, 0x10, '0', 0,    0,
			       'v',  'p',       '8', 0, 2};
	memcpy(b, pkt, sizeof(pkt));
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	return sizeof(pkt);
}

static void test_forward_rewrites(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	struct router_stats st;
	uint8_t in[1500];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	nsent = 0;
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0);
	/* a new consumer asks the producer for a keyframe at once */
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_PTR_EQUAL(sent[0].t, TA);
	CU_ASSERT_TRUE(sent[0].rtcp);
	CU_ASSERT_EQUAL(sent[0].buf[1], 206);
	CU_ASSERT_EQUAL(sent[0].buf[0] & 0x1f, 1);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), 1111);

	nsent = 0;
	n = browser_rtp(in, 7, 1111);
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_PTR_EQUAL(sent[0].t, TB);
	CU_ASSERT_FALSE(sent[0].rtcp);
	CU_ASSERT_EQUAL(sent[0].len, 12 + 3); /* no CSRC, extension, padding */
	CU_ASSERT_EQUAL(sent[0].buf[0], 0x80);
	CU_ASSERT_EQUAL(sent[0].buf[1], 0x80 | 101); /* marker kept, PT 101 */
	CU_ASSERT_EQUAL(sent[0].buf[3], 7);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 4), 0x3039);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), consumer_ssrc(c));
	CU_ASSERT_EQUAL(memcmp(sent[0].buf + 12, "vp8", 3), 0);
	CU_ASSERT_EQUAL(consumer_packets(c), 1);

	/* an SSRC nobody produces, and garbage: dropped and counted */
	nsent = 0;
	n = browser_rtp(in, 8, 2222);
	router_packet(r, TA, in, n, sizeof(in), false);
	router_packet(r, TA, in, 5, sizeof(in), false);
	CU_ASSERT_EQUAL(nsent, 0);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.drop_unknown_ssrc, 1);
	CU_ASSERT_EQUAL(st.drop_malformed, 1);
	CU_ASSERT_EQUAL(st.rtp_forwarded, 1);

	/* paused: nothing forwarded (9 after 7 only asks the sender for 8);
	 * resumed: a keyframe request */
	consumer_set_paused(c, true);
	n = browser_rtp(in, 9, 1111);
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_PTR_EQUAL(sent[0].t, TA);
	CU_ASSERT_EQUAL(sent[0].buf[1], 205);
	CU_ASSERT_EQUAL(sent[0].buf[13], 8);
	nsent = 0;
	consumer_set_paused(c, false);
	CU_ASSERT_EQUAL(nsent, 1);
	CU_ASSERT_TRUE(sent[0].rtcp);
	CU_ASSERT_EQUAL(sent[0].buf[1], 206);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* A generic NACK (RTCP 205, FMT 1) for consumer ssrc cs: pid and the
 * bitmask of the 16 after it. 16 bytes. */
static size_t nack_of(uint8_t *b, uint32_t cs, uint16_t pid, uint16_t blp)
{
	memset(b, 0, 16);
	b[0] = 0x81;
	b[1] = 205;
	b[3] = 3; /* 4 words */
	b[8] = (uint8_t)(cs >> 24);
	b[9] = (uint8_t)(cs >> 16);
	b[10] = (uint8_t)(cs >> 8);
	b[11] = (uint8_t)cs;
	b[12] = (uint8_t)(pid >> 8);
	b[13] = (uint8_t)pid;
	b[14] = (uint8_t)(blp >> 8);
	b[15] = (uint8_t)blp;
	return 16;
}

/* A router with one VP8 producer on TA (SSRC 1111, as browser_rtp's
 * packets) and a consumer of it on TB (payload type 101). */
static void vp8_pair(struct router **r, struct producer **p,
		     struct consumer **c)
{
	CU_ASSERT_EQUAL_FATAL(router_alloc(r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(p, *r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	CU_ASSERT_EQUAL_FATAL(router_consume(c, *p, TB, 101), 0);
}

static void vp8_pair_free(struct router *r, struct producer *p,
			  struct consumer *c)
{
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

static void test_pli_relay_and_nack(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	struct router_stats st;
	uint8_t in[1500], rtcp[64];
	uint32_t cs;

	vp8_pair(&r, &p, &c);
	cs = consumer_ssrc(c);
	for (uint16_t seq = 100; seq < 110; seq++) {
		size_t n = browser_rtp(in, seq, 1111);
		router_packet(r, TA, in, n, sizeof(in), false);
	}

	/* the receiver's PLI for our SSRC: inside 300 ms of the consumer's
	 * own request, so held back; the rate limit is per producer */
	nsent = 0;
	{
		uint8_t pli[] = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
		pli[8] = (uint8_t)(cs >> 24);
		pli[9] = (uint8_t)(cs >> 16);
		pli[10] = (uint8_t)(cs >> 8);
		pli[11] = (uint8_t)cs;
		router_packet(r, TB, pli, sizeof(pli), sizeof(pli), true);
		CU_ASSERT_EQUAL(nsent, 0);
		/* a PLI from the wrong transport is not ours to relay */
		router_packet(r, TA, pli, sizeof(pli), sizeof(pli), true);
		CU_ASSERT_EQUAL(nsent, 0);
	}

	/* NACK for 101 and (BLP bit 2) 104, plus 50 which is gone */
	memset(rtcp, 0, sizeof(rtcp));
	nack_of(rtcp, cs, 101, 0x04);
	nsent = 0;
	router_packet(r, TB, rtcp, 16, sizeof(rtcp), true);
	CU_ASSERT_EQUAL_FATAL(nsent, 2);
	CU_ASSERT_EQUAL(sent[0].buf[3], 101);
	CU_ASSERT_EQUAL(sent[1].buf[3], 104);
	CU_ASSERT_EQUAL(be32(sent[1].buf + 8), cs);
	CU_ASSERT_EQUAL(memcmp(sent[1].buf + 12, "vp8", 3), 0);
	nack_of(rtcp, cs, 50, 0);
	nsent = 0;
	router_packet(r, TB, rtcp, 16, sizeof(rtcp), true);
	CU_ASSERT_EQUAL(nsent, 0);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.nack_resent, 2);
	CU_ASSERT_EQUAL(st.nack_missed, 1);
	/* truncated RTCP is refused, not read past */
	rtcp[3] = 40;
	router_packet(r, TB, rtcp, 16, sizeof(rtcp), true);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.drop_malformed, 1);

	/* the producer goes: its consumer stays, idle */
	mem_deref(p);
	nsent = 0;
	consumer_set_paused(c, false);
	CU_ASSERT_EQUAL(nsent, 0);
	mem_deref(c);
	mem_deref(r);
}

/* A NACK from TB for one sequence number of consumer ssrc cs: how many
 * packets it brought back. */
static size_t nack_one(struct router *r, uint32_t cs, uint16_t seq)
{
	uint8_t rtcp[16];
	nack_of(rtcp, cs, seq, 0);
	nsent = 0;
	router_packet(r, TB, rtcp, sizeof(rtcp), sizeof(rtcp), true);
	return nsent;
}

static void send_video(struct router *r, uint16_t from, uint16_t to)
{
	uint8_t in[1500];
	for (uint16_t seq = from; seq != to; seq++)
		router_packet(r, TA, in, browser_rtp(in, seq, 1111), sizeof(in),
			      false);
}

/* The NACK history keeps a second of the layer at the rate it comes:
 * RING_FIRST (64) packets until the rate is known, then as many as a
 * second brings, the packets it had kept kept. */
static void test_nack_history_sized_to_rate(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	uint32_t cs;

	vp8_pair(&r, &p, &c);
	cs = consumer_ssrc(c);
	send_video(r, 65500, 64); /* 100 packets, across the wrap */
	CU_ASSERT_EQUAL(nack_one(r, cs, 0), 1);
	CU_ASSERT_EQUAL(nack_one(r, cs, 63), 1);
	CU_ASSERT_EQUAL(nack_one(r, cs, 65500), 0); /* 100 back: gone */
	/* a second on: 101 packets in 1.05 s, so about 96 slots */
	usleep_ms(1050);
	send_video(r, 64, 65);
	CU_ASSERT_EQUAL(nack_one(r, cs, 20), 1); /* kept through the resize */
	send_video(r, 65, 65 + 95);
	CU_ASSERT_EQUAL(nack_one(r, cs, 65 + 95 - 90), 1); /* 90 back */
	CU_ASSERT_EQUAL(nack_one(r, cs, 65 + 95 - 120), 0);
	vp8_pair_free(r, p, c);
}

/* A VP8 packet of SSRC 1111 with len payload bytes (a descriptor without
 * picture id, then bytes that name the packet): the history must give
 * them back as they came, whatever their size. */
static size_t sized_rtp(uint8_t *b, uint16_t seq, size_t len)
{
	const uint8_t head[] = {0x80, 96,   0, 0, 0,    0,
				0x30, 0x39, 0, 0, 0x04, 0x57};
	memcpy(b, head, sizeof(head));
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[12] = 0x10; /* S: a partition's start */
	for (size_t i = 1; i < len; i++)
		b[12 + i] = (uint8_t)(seq * 7 + i);
	return 12 + len;
}

/* Whether a NACK for seq brings back its payload of len bytes, intact. */
static bool resent_intact(struct router *r, uint32_t cs, uint16_t seq,
			  size_t len)
{
	uint8_t want[1300];
	sized_rtp(want, seq, len);
	return nack_one(r, cs, seq) == 1 && sent[0].len == 12 + len &&
	       !memcmp(sent[0].buf + 12, want + 12, len);
}

/* Payloads are kept back to back at their own size and given back as
 * they came; until the layer's rate is known, 64 of them. */
static void test_nack_history_keeps_bytes(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	uint8_t in[1500];
	uint16_t seq = 1;

	vp8_pair(&r, &p, &c);
	/* sizes 1 to 1200 in turn, round the first ring twice */
	for (; seq < 130; seq++)
		router_packet(r, TA, in,
			      sized_rtp(in, seq, 1 + seq * 389 % 1200),
			      sizeof(in), false);
	for (uint16_t back = 1; back <= 64; back++) {
		const uint16_t s = (uint16_t)(seq - back);
		CU_ASSERT_TRUE(resent_intact(r, consumer_ssrc(c), s,
					     1 + s * 389 % 1200));
	}
	CU_ASSERT_EQUAL(nack_one(r, consumer_ssrc(c), (uint16_t)(seq - 65)), 0);
	vp8_pair_free(r, p, c);
}

/* Sized to a second of a slow layer of small packets: its bytes at their
 * floor (16 kB), so when full packets come the bytes run out before the
 * slots: the 15 newest are there (16 kB less the tail a packet skipped
 * at the end of the ring), the 17th back is not. */
static void test_nack_history_bytes_bind(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	uint8_t in[1500];
	uint16_t seq = 1;

	vp8_pair(&r, &p, &c);
	for (int i = 0; i < 100; i++, seq++) {
		router_packet(r, TA, in, sized_rtp(in, seq, 20), sizeof(in),
			      false);
		usleep_ms(10);
	}
	usleep_ms(50);
	router_packet(r, TA, in, sized_rtp(in, seq, 20), sizeof(in), false);
	seq++;
	/* resized to a second's rate, what it had kept kept */
	CU_ASSERT_TRUE(
		resent_intact(r, consumer_ssrc(c), (uint16_t)(seq - 60), 20));
	for (int i = 0; i < 40; i++, seq++)
		router_packet(r, TA, in, sized_rtp(in, seq, 1000), sizeof(in),
			      false);
	for (uint16_t back = 1; back <= 15; back++)
		CU_ASSERT_TRUE(resent_intact(r, consumer_ssrc(c),
					     (uint16_t)(seq - back), 1000));
	CU_ASSERT_EQUAL(nack_one(r, consumer_ssrc(c), (uint16_t)(seq - 17)), 0);
	vp8_pair_free(r, p, c);
}

/* A VP8 packet of a RID layer: one-byte extension with the RID (id 10),
 * descriptor with a 15-bit picture ID, key or delta frame. */
static size_t simulcast_rtp(uint8_t *b, uint32_t ssrc, const char *rid,
			    uint16_t seq, uint32_t ts, uint16_t pic, bool key)
{
	size_t n = 0, rl = strlen(rid);
	b[n++] = 0x90;
	b[n++] = 96;
	b[n++] = (uint8_t)(seq >> 8);
	b[n++] = (uint8_t)seq;
	b[n++] = (uint8_t)(ts >> 24);
	b[n++] = (uint8_t)(ts >> 16);
	b[n++] = (uint8_t)(ts >> 8);
	b[n++] = (uint8_t)ts;
	b[n++] = (uint8_t)(ssrc >> 24);
	b[n++] = (uint8_t)(ssrc >> 16);
	b[n++] = (uint8_t)(ssrc >> 8);
	b[n++] = (uint8_t)ssrc;
	b[n++] = 0xbe;
	b[n++] = 0xde;
	b[n++] = 0;
	b[n++] = 1; /* one word: id 10 with a 2-byte rid, padding */
	b[n++] = (uint8_t)((10 << 4) | (rl - 1));
	memcpy(b + n, rid, rl);
	n += rl;
	while (n % 4)
		b[n++] = 0;
	b[n++] = 0x90; /* X, S */
	b[n++] = 0x80; /* I */
	b[n++] = (uint8_t)(0x80 | (pic >> 8));
	b[n++] = (uint8_t)pic;
	b[n++] = key ? 0x00 : 0x01; /* VP8 header: P bit */
	return n;
}

static void test_simulcast_switch(void)
{
	const char *rids[] = {"r0", "r1"};
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	uint8_t in[1500];
	uint16_t last_seq, last_pic;
	uint32_t last_ts;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(router_produce_simulcast(&p, r, TA, 96, "VP8", 2,
						       NULL, rids, 10),
			      0);
	CU_ASSERT_EQUAL(producer_layers(p), 2);
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0);
	CU_ASSERT_EQUAL(consumer_current_layer(c), -1);
	consumer_set_preferred_layer(c, 0);

	/* a delta frame on r0: not a place to start; then its keyframe */
	nsent = 0;
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", 10, 9000, 40, false),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), -1);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", 11, 9000, 41, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 0);
	/* r1 flows too, but this consumer wants r0 */
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", 3000, 50000, 900, true),
		      sizeof(in), false);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", 12, 12000, 42, false),
		      sizeof(in), false);
	{
		size_t rtp = 0;
		for (size_t i = 0; i < nsent; i++)
			if (!sent[i].rtcp)
				rtp++;
		CU_ASSERT_EQUAL(rtp, 2); /* r0's keyframe and next packet */
	}
	last_seq = (uint16_t)((sent[nsent - 1].buf[2] << 8) |
			      sent[nsent - 1].buf[3]);
	last_ts = be32(sent[nsent - 1].buf + 4);
	last_pic = (uint16_t)(((sent[nsent - 1].buf[14] & 0x7f) << 8) |
			      sent[nsent - 1].buf[15]);
	CU_ASSERT_EQUAL(last_seq, 12);
	CU_ASSERT_EQUAL(last_pic, 42);

	/* up to r1: nothing from r1 until its keyframe; then the stream
	 * carries on one sequence number and one picture ID later */
	consumer_set_preferred_layer(c, 1);
	nsent = 0;
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", 3001, 53000, 901, false),
		      sizeof(in), false);
	for (size_t i = 0; i < nsent; i++)
		CU_ASSERT_TRUE(sent[i].rtcp); /* only keyframe requests */
	nsent = 0;
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", 3002, 56000, 902, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 1);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_EQUAL((uint16_t)((sent[0].buf[2] << 8) | sent[0].buf[3]),
			(uint16_t)(last_seq + 1));
	CU_ASSERT_TRUE(be32(sent[0].buf + 4) > last_ts);
	CU_ASSERT_EQUAL(
		(uint16_t)(((sent[0].buf[14] & 0x7f) << 8) | sent[0].buf[15]),
		(uint16_t)(last_pic + 1));
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), consumer_ssrc(c));
	/* and r0 no longer reaches it */
	nsent = 0;
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", 13, 15000, 43, false),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(nsent, 0);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* An Opus packet with an ssrc-audio-level extension (id 12). */
static size_t audio_rtp(uint8_t *b, uint32_t ssrc, uint16_t seq, uint8_t level)
{
	const uint8_t pkt[] = {0x90, 111,  0,    0, 0, 0,    0, 0, 0, 0,   0,
			       0,    0xbe, 0xde, 0, 1, 0xc0, 0, 0, 0, 'o', 'p'};
	memcpy(b, pkt, sizeof(pkt));
	b[3] = (uint8_t)seq;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	b[17] = (uint8_t)(0x80 | level); /* V bit and -dBov */
	return sizeof(pkt);
}

/* A router with two audio producers with levels: ssrc 31 on A, 32 on B */
static void two_voices(struct router **r, struct producer **a,
		       struct producer **b)
{
	CU_ASSERT_EQUAL_FATAL(router_alloc(r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(a, *r, TA, MEDIA_AUDIO, 31, 111, "opus"), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(b, *r, TB, MEDIA_AUDIO, 32, 111, "opus"), 0);
	producer_set_audio_level_ext(*a, 12);
	producer_set_audio_level_ext(*b, 12);
}

static void test_loudest(void)
{
	struct router *r = NULL;
	struct producer *quiet = NULL, *loud = NULL;
	uint8_t in[64];

	two_voices(&r, &quiet, &loud);
	CU_ASSERT_PTR_NULL(router_loudest(r)); /* nothing heard yet */
	for (uint16_t i = 0; i < 10; i++) {
		router_packet(r, TA, in, audio_rtp(in, 31, i, 60), sizeof(in),
			      false);
		router_packet(r, TB, in, audio_rtp(in, 32, i, 20), sizeof(in),
			      false);
	}
	CU_ASSERT_PTR_EQUAL(router_loudest(r), loud);
	/* talking at -30 dBov half of the window, pauses the other half:
	 * still the speaker (average 78) */
	for (uint16_t i = 10; i < 20; i++)
		router_packet(r, TB, in, audio_rtp(in, 32, i, i % 2 ? 30 : 127),
			      sizeof(in), false);
	CU_ASSERT_PTR_EQUAL(router_loudest(r), loud);
	/* a new window: only silence (127 -dBov) is no speaker */
	router_packet(r, TA, in, audio_rtp(in, 31, 11, 127), sizeof(in), false);
	CU_ASSERT_PTR_NULL(router_loudest(r));
	mem_deref(quiet);
	mem_deref(loud);
	mem_deref(r);
}

/* One window of ten packets from each of A (ssrc 31) and B (32) at these
 * levels (-dBov), sequence numbers from *seq on; who is the speaker? */
static struct producer *window_of(struct router *r, uint16_t *seq, uint8_t a,
				  uint8_t b)
{
	uint8_t in[64];
	for (int i = 0; i < 10; i++, (*seq)++) {
		router_packet(r, TA, in, audio_rtp(in, 31, *seq, a), sizeof(in),
			      false);
		router_packet(r, TB, in, audio_rtp(in, 32, *seq, b), sizeof(in),
			      false);
	}
	return router_loudest(r);
}

static void test_speaker_held(void)
{
	struct router *r = NULL;
	struct producer *a = NULL, *b = NULL;
	uint16_t seq = 0;

	two_voices(&r, &a, &b);
	CU_ASSERT_PTR_EQUAL(window_of(r, &seq, 40, 127), a);
	/* b a little louder while a speaks: a stays (no trading every
	 * window between voices alike) */
	CU_ASSERT_PTR_EQUAL(window_of(r, &seq, 40, 36), a);
	/* a silent a window: nobody, and a kept for when talk resumes */
	CU_ASSERT_PTR_NULL(window_of(r, &seq, 127, 127));
	CU_ASSERT_PTR_EQUAL(window_of(r, &seq, 40, 36), a);
	/* b 6 dB louder takes over; a falling silent hands over at once */
	CU_ASSERT_PTR_EQUAL(window_of(r, &seq, 40, 34), b);
	CU_ASSERT_PTR_EQUAL(window_of(r, &seq, 50, 52), b);
	CU_ASSERT_PTR_EQUAL(window_of(r, &seq, 50, 127), a);
	/* the speaker's producer gone: the loudest of the others */
	mem_deref(a);
	CU_ASSERT_PTR_EQUAL(window_of(r, &seq, 50, 60), b);
	mem_deref(b);
	mem_deref(r);
}

static void test_receiver_report(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct router_stats st;
	uint8_t in[1500];

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	nsent = 0;
	router_report(r); /* nothing received: nothing to report */
	CU_ASSERT_EQUAL(nsent, 0);
	/* 100..109 with 103 and 105 lost */
	for (uint16_t seq = 100; seq < 110; seq++) {
		if (seq == 103 || seq == 105)
			continue;
		router_packet(r, TA, in, browser_rtp(in, seq, 1111), sizeof(in),
			      false);
	}
	/* each hole was asked for at once: a NACK to the sender */
	CU_ASSERT_EQUAL_FATAL(nsent, 2);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_PTR_EQUAL(sent[i].t, TA);
		CU_ASSERT_EQUAL(sent[i].buf[1], 205);
		CU_ASSERT_EQUAL(sent[i].buf[0] & 0x1f, 1);
		CU_ASSERT_EQUAL(be32(sent[i].buf + 8), 1111);
		CU_ASSERT_EQUAL(sent[i].buf[13], i ? 105 : 103);
	}
	nsent = 0;
	router_report(r);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_PTR_EQUAL(sent[0].t, TA);
	CU_ASSERT_TRUE(sent[0].rtcp);
	CU_ASSERT_EQUAL(sent[0].len, 32);
	CU_ASSERT_EQUAL(sent[0].buf[0], 0x81); /* one report block */
	CU_ASSERT_EQUAL(sent[0].buf[1], 201);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), 1111);
	CU_ASSERT_EQUAL(sent[0].buf[12], 2 * 256 / 10); /* fraction lost */
	CU_ASSERT_EQUAL(be32(sent[0].buf + 12) & 0xffffff, 2);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 16), 109); /* highest seq */
	/* nothing new since: no report */
	nsent = 0;
	router_report(r);
	CU_ASSERT_EQUAL(nsent, 0);
	/* the sender's SR reaches a receiver of that stream in its terms */
	{
		struct consumer *c = NULL;
		uint8_t sr[28] = {
			0x80, 200, 0,    6,    0,    0, 0x04, 0x57, /* 1111 */
			0xe8, 0,   0,    1,    0x80, 0, 0,    0,    /* NTP */
			0,    0,   0x30, 0x39,                      /* RTP ts */
			0,    0,   0,    8,    0,    0, 0,    0x18};
		CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0);
		router_packet(r, TA, in, browser_rtp(in, 110, 1111), sizeof(in),
			      false);
		nsent = 0;
		router_packet(r, TA, sr, sizeof(sr), sizeof(sr), true);
		CU_ASSERT_EQUAL_FATAL(nsent, 1);
		CU_ASSERT_PTR_EQUAL(sent[0].t, TB);
		CU_ASSERT_EQUAL(sent[0].buf[1], 200);
		CU_ASSERT_EQUAL(be32(sent[0].buf + 4), consumer_ssrc(c));
		CU_ASSERT_EQUAL(memcmp(sent[0].buf + 8, sr + 8, 8), 0);
		CU_ASSERT_EQUAL(be32(sent[0].buf + 16), 0x3039);
		CU_ASSERT_EQUAL(be32(sent[0].buf + 20), 1); /* its packets */
		CU_ASSERT_EQUAL(be32(sent[0].buf + 24), 3); /* its octets */
		mem_deref(c);
	}
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.rr_sent, 1);
	CU_ASSERT_EQUAL(st.sr_sent, 1);
	mem_deref(p);
	mem_deref(r);
}

/* The sender does not send the layer a receiver prefers: the receiver
 * starts on what is sent, and its PLIs reach that layer. */
static void test_pli_for_layer_being_sent(void)
{
	const char *rids[] = {"r0", "r1"};
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	uint8_t in[1500];
	uint32_t cs;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(router_produce_simulcast(&p, r, TA, 96, "VP8", 2,
						       NULL, rids, 10),
			      0);
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0); /* top */
	cs = consumer_ssrc(c);
	router_packet(r, TA, in, simulcast_rtp(in, 500, "r0", 1, 900, 1, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 0);
	{
		uint8_t pli[] = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
		pli[8] = (uint8_t)(cs >> 24);
		pli[9] = (uint8_t)(cs >> 16);
		pli[10] = (uint8_t)(cs >> 8);
		pli[11] = (uint8_t)cs;
		usleep_ms(310); /* past the keyframe-request rate limit */
		nsent = 0;
		router_packet(r, TB, pli, sizeof(pli), sizeof(pli), true);
		CU_ASSERT_EQUAL_FATAL(nsent, 1);
		CU_ASSERT_PTR_EQUAL(sent[0].t, TA);
		CU_ASSERT_EQUAL(be32(sent[0].buf + 8), 500);
	}
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* A packet numbered transport-wide (extension id 3, two bytes). */
static size_t twcc_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, uint16_t tw)
{
	const uint8_t pkt[] = {0x90, 96,   0,    0, 0, 0,    0, 1, 0, 0,  0,
			       0,    0xbe, 0xde, 0, 1, 0x31, 0, 0, 0, 'x'};
	memcpy(b, pkt, sizeof(pkt));
	b[3] = (uint8_t)seq;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	b[17] = (uint8_t)(tw >> 8);
	b[18] = (uint8_t)tw;
	return sizeof(pkt);
}

static void test_transport_feedback(void)
{
	struct router *r = NULL;
	struct producer *p = NULL, *p2 = NULL;
	struct router_stats st;
	uint8_t in[64];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p2, r, TA, MEDIA_AUDIO, 3333, 100, "opus"), 0);
	CU_ASSERT_EQUAL(producer_set_twcc_ext(p, 0), EINVAL);
	CU_ASSERT_EQUAL_FATAL(producer_set_twcc_ext(p, 3), 0);
	CU_ASSERT_EQUAL_FATAL(producer_set_twcc_ext(p2, 3), 0);
	nsent = 0;
	router_feedback(r);
	CU_ASSERT_EQUAL(nsent, 0); /* nothing arrived yet */
	/* 500-503 numbered, 502 lost; 504 on an SSRC nobody produces (as
	 * RTX or padding) counts too; audio shares the numbering */
	n = twcc_rtp(in, 1, 1111, 500);
	router_packet(r, TA, in, n, sizeof(in), false);
	n = twcc_rtp(in, 2, 1111, 501);
	router_packet(r, TA, in, n, sizeof(in), false);
	n = twcc_rtp(in, 3, 3333, 503);
	router_packet(r, TA, in, n, sizeof(in), false);
	n = twcc_rtp(in, 4, 2222, 504);
	router_packet(r, TA, in, n, sizeof(in), false);
	nsent = 0;
	router_feedback(r);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_PTR_EQUAL(sent[0].t, TA);
	CU_ASSERT_TRUE(sent[0].rtcp);
	CU_ASSERT_EQUAL(sent[0].buf[0] & 0x1f, 15);
	CU_ASSERT_EQUAL(sent[0].buf[1], 205);
	CU_ASSERT_EQUAL(sent[0].len % 4, 0);
	CU_ASSERT_EQUAL((sent[0].buf[12] << 8) | sent[0].buf[13], 500);
	CU_ASSERT_EQUAL((sent[0].buf[14] << 8) | sent[0].buf[15], 5);
	/* one status vector chunk: received, received, lost, received,
	 * received (two-bit symbols, 1 = small delta) */
	CU_ASSERT_EQUAL(sent[0].buf[20], 0xc0 | 0x10 | 0x04);
	CU_ASSERT_EQUAL(sent[0].buf[21], 0x40 | 0x10);
	nsent = 0;
	router_feedback(r);
	CU_ASSERT_EQUAL(nsent, 0);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.twcc_sent, 1);
	/* the numbering ends with the transport's last producer */
	mem_deref(p);
	n = twcc_rtp(in, 5, 3333, 505);
	router_packet(r, TA, in, n, sizeof(in), false);
	router_feedback(r);
	CU_ASSERT_EQUAL(nsent, 1);
	mem_deref(p2);
	nsent = 0;
	n = twcc_rtp(in, 6, 3333, 506);
	router_packet(r, TA, in, n, sizeof(in), false);
	router_feedback(r);
	CU_ASSERT_EQUAL(nsent, 0);
	mem_deref(r);
}

/* A bare RTP packet: header, then len bytes of payload. */
static size_t plain_rtp(uint8_t *b, uint8_t pt, uint16_t seq, uint32_t ssrc,
			const void *payload, size_t len)
{
	memset(b, 0, 12);
	b[0] = 0x80;
	b[1] = pt;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	if (len)
		memcpy(b + 12, payload, len);
	return 12 + len;
}

static void test_rtx(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	struct router_stats st;
	const uint32_t rtx_ssrc = 1112;
	uint8_t in[64], nack[16] = {0x81, 205, 0, 3};
	const uint8_t repair[] = {0, 102, 'v', 'p', '8'};
	uint32_t cs;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	CU_ASSERT_EQUAL(producer_set_rtx(p, 0, &rtx_ssrc, 0), EINVAL);
	CU_ASSERT_EQUAL_FATAL(producer_set_rtx(p, 97, &rtx_ssrc, 0), 0);
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0);
	CU_ASSERT_EQUAL_FATAL(consumer_set_rtx(c, 102), 0);
	cs = consumer_ssrc(c);
	CU_ASSERT(consumer_rtx_ssrc(c) != 0 && consumer_rtx_ssrc(c) != cs);
	for (uint16_t seq = 100; seq < 104; seq++) {
		if (seq == 102)
			continue; /* lost on the way in */
		n = plain_rtp(in, 96, seq, 1111, "vp8", 3);
		router_packet(r, TA, in, n, sizeof(in), false);
	}
	/* the sender repairs 102 on its RTX stream: the receiver gets 102 */
	nsent = 0;
	n = plain_rtp(in, 97, 7, rtx_ssrc, repair, sizeof(repair));
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_PTR_EQUAL(sent[0].t, TB);
	CU_ASSERT_EQUAL(sent[0].len, 12 + 3);
	CU_ASSERT_EQUAL(sent[0].buf[1] & 0x7f, 101);
	CU_ASSERT_EQUAL(sent[0].buf[3], 102);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), cs);
	CU_ASSERT_EQUAL(memcmp(sent[0].buf + 12, "vp8", 3), 0);
	/* a payload-less RTX packet, and a repeat of a packet that arrived,
	 * are bandwidth probes: for nobody */
	nsent = 0;
	n = plain_rtp(in, 97, 8, rtx_ssrc, NULL, 0);
	router_packet(r, TA, in, n, sizeof(in), false);
	n = plain_rtp(in, 97, 9, rtx_ssrc, repair, sizeof(repair));
	in[13] = 101;
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL(nsent, 0);
	/* the receiver NACKs 101 and 102: answered on its RTX stream, the
	 * original sequence number first */
	nack[8] = (uint8_t)(cs >> 24);
	nack[9] = (uint8_t)(cs >> 16);
	nack[10] = (uint8_t)(cs >> 8);
	nack[11] = (uint8_t)cs;
	nack[13] = 101;
	nack[15] = 0x01;
	router_packet(r, TB, nack, sizeof(nack), sizeof(nack), true);
	CU_ASSERT_EQUAL_FATAL(nsent, 2);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(sent[i].len, 14 + 3);
		CU_ASSERT_EQUAL(sent[i].buf[1] & 0x7f, 102);
		CU_ASSERT_EQUAL(be32(sent[i].buf + 8), consumer_rtx_ssrc(c));
		CU_ASSERT_EQUAL(sent[i].buf[13], 101 + i);
		CU_ASSERT_EQUAL(memcmp(sent[i].buf + 14, "vp8", 3), 0);
	}
	/* RTX sequence numbers are their own, consecutive */
	CU_ASSERT_EQUAL((uint16_t)(((sent[1].buf[2] << 8) | sent[1].buf[3]) -
				   ((sent[0].buf[2] << 8) | sent[0].buf[3])),
			1);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.rtx_in, 1);
	CU_ASSERT_EQUAL(st.rtx_probe, 2);
	CU_ASSERT_EQUAL(st.nack_resent, 2);
	CU_ASSERT_EQUAL(consumer_packets(c), 4);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

static void test_nack_generator(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct router_stats st;
	uint8_t in[64];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	nsent = 0;
	/* 200, then 203 and 220: 201, 202 and 204..219 are missing */
	for (int i = 0; i < 3; i++) {
		const uint16_t seq[] = {200, 203, 220};
		n = plain_rtp(in, 96, seq[i], 1111, "vp8", 3);
		router_packet(r, TA, in, n, sizeof(in), false);
	}
	CU_ASSERT_EQUAL_FATAL(nsent, 2);
	/* 201 with 202 in its bitmask */
	CU_ASSERT_EQUAL(sent[0].len, 16);
	CU_ASSERT_EQUAL(sent[0].buf[13], 201);
	CU_ASSERT_EQUAL(sent[0].buf[15], 0x01);
	/* 204 with 205..219 in its bitmask; 220 is no hole */
	CU_ASSERT_EQUAL(sent[1].len, 16);
	CU_ASSERT_EQUAL(sent[1].buf[13], 204);
	CU_ASSERT_EQUAL(sent[1].buf[14], 0x7f);
	CU_ASSERT_EQUAL(sent[1].buf[15], 0xff);
	/* asked again only after ~100 ms, without what arrived since */
	n = plain_rtp(in, 96, 202, 1111, "vp8", 3);
	router_packet(r, TA, in, n, sizeof(in), false);
	nsent = 0;
	router_feedback(r);
	CU_ASSERT_EQUAL(nsent, 0);
	usleep_ms(100);
	for (int round = 0; round < 4; round++) {
		nsent = 0;
		router_feedback(r);
		CU_ASSERT_EQUAL_FATAL(nsent, 1);
		/* 201 with 204..217 in its bitmask, then 218 with 219 */
		CU_ASSERT_EQUAL(sent[0].len, 20);
		CU_ASSERT_EQUAL(sent[0].buf[13], 201);
		CU_ASSERT_EQUAL(sent[0].buf[14], 0xff);
		CU_ASSERT_EQUAL(sent[0].buf[15], 0xfc);
		CU_ASSERT_EQUAL(sent[0].buf[17], 218);
		CU_ASSERT_EQUAL(sent[0].buf[19], 0x01);
		usleep_ms(100);
	}
	/* five times asked: given up */
	nsent = 0;
	router_feedback(r);
	CU_ASSERT_EQUAL(nsent, 0);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.nack_sent, 6);
	/* a jump of more than 100 is a restart: nothing asked */
	n = plain_rtp(in, 96, 1000, 1111, "vp8", 3);
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL(nsent, 0);
	mem_deref(p);
	mem_deref(r);
}

/* A receiver report with one block: fraction lost (of 256) of ssrc. */
static size_t rr_of(uint8_t *b, uint32_t ssrc, uint8_t fraction)
{
	memset(b, 0, 32);
	b[0] = 0x81;
	b[1] = 201;
	b[3] = 7;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	b[12] = fraction;
	return 32;
}

/* A two-layer simulcast producer on TA (r0 SSRC 500, r1 SSRC 700) and its
 * consumer on TB, forwarding r1 after a keyframe of each. */
static void two_layers_on_r1(struct router **rp, struct producer **pp,
			     struct consumer **cp, uint16_t *seq0,
			     uint16_t *seq1)
{
	const char *rids[] = {"r0", "r1"};
	uint8_t in[1500];

	CU_ASSERT_EQUAL_FATAL(router_alloc(rp, capture), 0);
	CU_ASSERT_EQUAL_FATAL(router_produce_simulcast(pp, *rp, TA, 96, "VP8",
						       2, NULL, rids, 10),
			      0);
	CU_ASSERT_EQUAL_FATAL(router_consume(cp, *pp, TB, 101), 0);
	router_packet(*rp, TA, in,
		      simulcast_rtp(in, 500, "r0", (*seq0)++, 9000, 1, true),
		      sizeof(in), false);
	router_packet(*rp, TA, in,
		      simulcast_rtp(in, 700, "r1", (*seq1)++, 9000, 1, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL_FATAL(consumer_current_layer(*cp), 1);
}

static void test_layer_down_on_loss(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	struct router_stats st;
	uint8_t in[1500], rr[32];
	uint16_t seq0 = 10, seq1 = 3000;

	two_layers_on_r1(&r, &p, &c, &seq0, &seq1);

	/* one lossy report is noise; a second in a row: one layer down, at
	 * r0's next keyframe (asked for at once) */
	router_packet(r, TB, rr, rr_of(rr, consumer_ssrc(c), 80), sizeof(rr),
		      true);
	nsent = 0;
	router_packet(r, TB, rr, rr_of(rr, consumer_ssrc(c), 80), sizeof(rr),
		      true);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_EQUAL(sent[0].buf[1], 206);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), 500);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", seq1++, 12000, 2, false),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 1);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", seq0++, 12000, 2, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 0);
	/* r1's keyframes no longer move it up while the link is poor,
	 * whatever it prefers */
	consumer_set_preferred_layer(c, 1);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", seq1++, 15000, 3, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 0);
	/* a clean report before 10 s have passed changes nothing */
	router_packet(r, TB, rr, rr_of(rr, consumer_ssrc(c), 0), sizeof(rr),
		      true);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", seq1++, 18000, 4, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 0);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.layer_down, 1);
	CU_ASSERT_EQUAL(st.layer_up, 0);
	/* reports about someone else's stream are not this consumer's */
	router_packet(r, TA, rr, rr_of(rr, consumer_ssrc(c), 200), sizeof(rr),
		      true);
	router_packet(r, TA, rr, rr_of(rr, consumer_ssrc(c), 200), sizeof(rr),
		      true);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.layer_down, 1);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* A REMB from TB (draft-alvestrand-rmcat-remb) with its bitrate as
 * exponent and mantissa. */
static size_t remb_of(uint8_t *b, uint64_t bps, uint32_t ssrc)
{
	unsigned exp = 0;
	while (bps >> exp > 0x3ffff)
		exp++;
	uint32_t mant = (uint32_t)(bps >> exp);
	memset(b, 0, 24);
	b[0] = 0x8f; /* FMT 15 */
	b[1] = 206;
	b[3] = 5; /* 6 words */
	memcpy(b + 12, "REMB", 4);
	b[16] = 1;
	b[17] = (uint8_t)((exp << 2) | (mant >> 16));
	b[18] = (uint8_t)(mant >> 8);
	b[19] = (uint8_t)mant;
	b[20] = (uint8_t)(ssrc >> 24);
	b[21] = (uint8_t)(ssrc >> 16);
	b[22] = (uint8_t)(ssrc >> 8);
	b[23] = (uint8_t)ssrc;
	return 24;
}

static void test_layer_down_on_bandwidth(void)
{
	const char *rids[] = {"r0", "r1"};
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	struct router_stats st;
	uint8_t in[1500], remb[24];
	uint16_t seq0 = 10, seq1 = 3000;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(router_produce_simulcast(&p, r, TA, 96, "VP8", 2,
						       NULL, rids, 10),
			      0);
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0);
	CU_ASSERT_EQUAL(consumer_set_abs_send_time(c, 15), EINVAL);
	CU_ASSERT_EQUAL_FATAL(consumer_set_abs_send_time(c, 4), 0);
	/* r1 keyframes reach the consumer, carrying abs-send-time */
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", seq0++, 9000, 1, true),
		      sizeof(in), false);
	nsent = 0;
	n = simulcast_rtp(in, 700, "r1", seq1++, 9000, 1, true);
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL_FATAL(consumer_current_layer(c), 1);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_EQUAL(sent[0].buf[0], 0x90);
	CU_ASSERT_EQUAL(sent[0].buf[12], 0xbe);
	CU_ASSERT_EQUAL(sent[0].buf[13], 0xde);
	CU_ASSERT_EQUAL(sent[0].buf[15], 1);
	CU_ASSERT_EQUAL(sent[0].buf[16], (4 << 4) | 2);
	CU_ASSERT_EQUAL(sent[0].buf[20], 0x90); /* then the VP8 payload */
	{
		/* the send time: seconds in 6.18 fixed point, mod 64 s */
		uint64_t now = port_now_us();
		uint32_t want =
			(uint32_t)(((now / 1000000) << 18) |
				   (((now % 1000000) << 18) / 1000000)) &
			0xffffff;
		uint32_t got = ((uint32_t)sent[0].buf[17] << 16) |
			       ((uint32_t)sent[0].buf[18] << 8) |
			       sent[0].buf[19];
		CU_ASSERT_TRUE(((want - got) & 0xffffff) < (1u << 18) / 100);
	}
	/* a second of both layers, so the router knows their bitrates */
	usleep_ms(1050);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", seq0++, 12000, 2, false),
		      sizeof(in), false);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", seq1++, 12000, 2, false),
		      sizeof(in), false);

	/* an estimate under what it gets that did not fall (the first, or
	 * climbing, as after a switch up) changes nothing; nor one well over
	 * it */
	nsent = 0;
	router_packet(r, TB, remb, remb_of(remb, 10, consumer_ssrc(c)),
		      sizeof(remb), true);
	router_packet(r, TB, remb, remb_of(remb, 20, consumer_ssrc(c)),
		      sizeof(remb), true);
	router_packet(r, TB, remb, remb_of(remb, 10000000, consumer_ssrc(c)),
		      sizeof(remb), true);
	CU_ASSERT_EQUAL(nsent, 0);
	/* one that fell under it: a layer down, at r0's next keyframe
	 * (asked at once) */
	router_packet(r, TB, remb, remb_of(remb, 10, consumer_ssrc(c)),
		      sizeof(remb), true);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_EQUAL(sent[0].buf[1], 206);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), 500);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", seq0++, 15000, 3, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 0);
	/* r1's keyframes no longer take it up, and a good estimate does
	 * not either before 10 s */
	router_packet(r, TB, remb, remb_of(remb, 10000000, consumer_ssrc(c)),
		      sizeof(remb), true);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", seq1++, 15000, 3, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 0);
	/* a REMB on the sender's transport, or cut short, is not about c */
	router_packet(r, TA, remb, remb_of(remb, 10, consumer_ssrc(c)),
		      sizeof(remb), true);
	remb_of(remb, 10, consumer_ssrc(c));
	remb[3] = 3; /* 16 bytes: no room for the bitrate */
	router_packet(r, TB, remb, 16, sizeof(remb), true);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.remb_in, 6);
	CU_ASSERT_EQUAL(st.layer_down_bw, 1);
	CU_ASSERT_EQUAL(st.layer_up_bw, 0);
	CU_ASSERT_EQUAL(st.layer_down, 0); /* nothing by loss */
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* Behind a deep buffer a browser's estimate may sit flat under what it
 * gets for a long time without ever falling by a step: not rising for 2 s
 * counts as falling; rising does not. */
static void test_layer_down_on_flat_estimate(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	struct router_stats st;
	uint8_t in[1500], remb[24];
	uint16_t seq0 = 10, seq1 = 3000;

	two_layers_on_r1(&r, &p, &c, &seq0, &seq1);
	usleep_ms(1050); /* the layers' bitrates are known */
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", seq0++, 12000, 2, false),
		      sizeof(in), false);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", seq1++, 12000, 2, false),
		      sizeof(in), false);
	nsent = 0;
	router_packet(r, TB, remb, remb_of(remb, 10, consumer_ssrc(c)),
		      sizeof(remb), true);
	usleep_ms(2050);
	/* rising for 2 s (10 -> 15), though still far under: nothing */
	router_packet(r, TB, remb, remb_of(remb, 15, consumer_ssrc(c)),
		      sizeof(remb), true);
	CU_ASSERT_EQUAL(nsent, 0);
	usleep_ms(2050);
	/* flat for 2 s under what it gets: one layer down (r0's keyframe
	 * asked for at once) */
	router_packet(r, TB, remb, remb_of(remb, 15, consumer_ssrc(c)),
		      sizeof(remb), true);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	CU_ASSERT_EQUAL(sent[0].buf[1], 206);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), 500);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.layer_down_bw, 1);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* TB's DTLS is not done yet: what goes to it fails, as the transport's
 * send does before SRTP keys exist. */
static bool tb_secured;

static int capture_secured(struct webrtc_transport *t, uint8_t *buf, size_t len,
			   size_t size, bool rtcp)
{
	if (t == TB && !tb_secured)
		return ENOTCONN;
	return capture(t, buf, len, size, rtcp);
}

static size_t plis_to(struct webrtc_transport *t)
{
	size_t n = 0;
	for (size_t i = 0; i < nsent; i++)
		n += sent[i].t == t && sent[i].rtcp && sent[i].buf[1] == 206;
	return n;
}

static void test_keyframe_when_secured(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL, *c2 = NULL;
	uint8_t in[1500];
	size_t n;

	tb_secured = false;
	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture_secured), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	nsent = 0;
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0);
	CU_ASSERT_EQUAL(plis_to(TA), 1); /* asked at once */
	/* the keyframe comes while TB's DTLS is still under way: lost */
	n = browser_rtp(in, 7, 1111);
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_packets(c), 0);
	/* TB is secured well inside the PLI interval: its consumer asks
	 * again at once instead of waiting out 300 ms */
	nsent = 0;
	tb_secured = true;
	router_transport_secured(r, TB);
	CU_ASSERT_EQUAL(plis_to(TA), 1);
	CU_ASSERT_EQUAL(be32(sent[0].buf + 8), 1111);
	n = browser_rtp(in, 8, 1111);
	router_packet(r, TA, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_packets(c), 1);
	/* once it has its picture, a transport event asks for nothing */
	nsent = 0;
	router_transport_secured(r, TB);
	CU_ASSERT_EQUAL(plis_to(TA), 0);
	/* nor for a consumer on another transport */
	CU_ASSERT_EQUAL_FATAL(router_consume(&c2, p, TA, 101), 0);
	nsent = 0;
	router_transport_secured(r, TB);
	CU_ASSERT_EQUAL(plis_to(TA), 0);
	mem_deref(c2);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* The sender's own transport is the late one: the PLI that a new consumer
 * sent could not leave; it goes when that transport is secured. */
static void test_keyframe_when_sender_secured(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;
	uint8_t in[1500];
	size_t n;

	tb_secured = false;
	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture_secured), 0);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TB, MEDIA_VIDEO, 2222, 96, "VP8"), 0);
	nsent = 0;
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TA, 101), 0);
	CU_ASSERT_EQUAL(plis_to(TB), 0); /* could not go out */
	nsent = 0;
	tb_secured = true;
	router_transport_secured(r, TB);
	CU_ASSERT_EQUAL(plis_to(TB), 1);
	CU_ASSERT_EQUAL(nsent ? be32(sent[0].buf + 8) : 0, 2222);
	n = browser_rtp(in, 8, 2222);
	router_packet(r, TB, in, n, sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_packets(c), 1);
	/* started: nothing more to ask */
	nsent = 0;
	router_transport_secured(r, TB);
	CU_ASSERT_EQUAL(plis_to(TB), 0);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

static bool tb_ready(const struct webrtc_transport *t)
{
	return t != TB || tb_secured;
}

/* mediasoup's flow with a transport that knows when it can receive: no
 * keyframe is asked for a consumer before it can get it (Chromium would
 * ignore the one asked once it can, within 300 ms of the first). */
static void test_keyframe_only_when_receivable(void)
{
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL;

	tb_secured = false;
	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture_secured), 0);
	router_set_ready_handler(r, tb_ready);
	CU_ASSERT_EQUAL_FATAL(
		router_produce(&p, r, TA, MEDIA_VIDEO, 1111, 96, "VP8"), 0);
	nsent = 0;
	/* made paused: nothing asked */
	CU_ASSERT_EQUAL_FATAL(router_consume_paused(&c, p, TB, 101), 0);
	CU_ASSERT_EQUAL(plis_to(TA), 0);
	/* resumed while TB's DTLS is under way: still nothing */
	consumer_set_paused(c, false);
	CU_ASSERT_EQUAL(plis_to(TA), 0);
	/* TB secured: the one request, at once */
	tb_secured = true;
	router_transport_secured(r, TB);
	CU_ASSERT_EQUAL(plis_to(TA), 1);
	mem_deref(c);
	/* on a transport that can receive, resuming asks at once */
	CU_ASSERT_EQUAL_FATAL(router_consume_paused(&c, p, TB, 101), 0);
	nsent = 0;
	consumer_set_paused(c, false);
	CU_ASSERT_EQUAL(plis_to(TA), 1);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

/* A layer nobody gets is taken on its header, not decrypted; it stays
 * known to flow, asks for no repairs, and is decrypted again when wanted,
 * or once in CLEAR_EVERY (4096) packets. */
static void test_peek_unwanted_layer(void)
{
	const char *rids[] = {"r0", "r1"};
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *c = NULL, *fresh = NULL;
	struct router_stats st;
	uint8_t in[1500];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(router_alloc(&r, capture), 0);
	CU_ASSERT_EQUAL_FATAL(router_produce_simulcast(&p, r, TA, 96, "VP8", 2,
						       NULL, rids, 10),
			      0);
	CU_ASSERT_EQUAL_FATAL(router_consume(&c, p, TB, 101), 0);
	consumer_set_preferred_layer(c, 0);
	/* nobody has anything yet: any layer's keyframe may start one */
	n = simulcast_rtp(in, 700, "r1", 3000, 9000, 1, true);
	CU_ASSERT_TRUE(router_rtp_peek(r, TA, in, n)); /* and not bound */
	router_packet(r, TA, in, n, sizeof(in), false);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", 10, 9000, 1, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL_FATAL(consumer_current_layer(c), 0);

	/* r1: not wanted; its header counted, nothing forwarded */
	nsent = 0;
	for (uint16_t seq = 3001; seq < 3001 + 300; seq++)
		CU_ASSERT_FALSE(router_rtp_peek(
			r, TA, in,
			simulcast_rtp(in, 700, "r1", seq, 9000, 2, false)));
	CU_ASSERT_EQUAL(nsent, 0);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.rtp_header_only, 300);
	CU_ASSERT_EQUAL(st.nack_sent, 0);
	/* r0 is wanted; so is a padded packet (its length is encrypted), a
	 * stream nobody produces, and r1 after 4096 packets undecrypted */
	CU_ASSERT_TRUE(router_rtp_peek(
		r, TA, in, simulcast_rtp(in, 500, "r0", 11, 9000, 2, false)));
	n = simulcast_rtp(in, 700, "r1", 3301, 9000, 2, false);
	in[0] |= 0x20;
	CU_ASSERT_TRUE(router_rtp_peek(r, TA, in, n));
	CU_ASSERT_TRUE(router_rtp_peek(
		r, TA, in, simulcast_rtp(in, 900, "r2", 1, 9000, 2, false)));
	CU_ASSERT_FALSE(router_rtp_peek(
		r, TA, in,
		simulcast_rtp(in, 700, "r1", 3000 + 4095, 9000, 2, false)));
	CU_ASSERT_TRUE(router_rtp_peek(
		r, TA, in,
		simulcast_rtp(in, 700, "r1", 3000 + 4096, 9000, 2, false)));

	/* wanted again: the peeked packets kept r1 known to flow, so it is
	 * asked for at once and its next packet is no loss to repair */
	consumer_set_preferred_layer(c, 1);
	CU_ASSERT_TRUE(router_rtp_peek(
		r, TA, in,
		simulcast_rtp(in, 700, "r1", 3000 + 4096, 9000, 3, true)));
	nsent = 0;
	router_packet(r, TA, in,
		      simulcast_rtp(in, 700, "r1", 3000 + 4096, 9000, 3, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL(consumer_current_layer(c), 1);
	router_stats(r, &st);
	CU_ASSERT_EQUAL(st.nack_sent, 0);

	/* back on r0, a new receiver that has nothing yet wants r1 too */
	consumer_set_preferred_layer(c, 0);
	router_packet(r, TA, in,
		      simulcast_rtp(in, 500, "r0", 12, 9000, 4, true),
		      sizeof(in), false);
	CU_ASSERT_EQUAL_FATAL(consumer_current_layer(c), 0);
	CU_ASSERT_FALSE(router_rtp_peek(
		r, TA, in,
		simulcast_rtp(in, 700, "r1", 3000 + 4097, 9000, 4, false)));
	CU_ASSERT_EQUAL_FATAL(router_consume(&fresh, p, TB, 101), 0);
	CU_ASSERT_TRUE(router_rtp_peek(
		r, TA, in,
		simulcast_rtp(in, 700, "r1", 3000 + 4098, 9000, 4, false)));
	mem_deref(fresh);
	mem_deref(c);
	mem_deref(p);
	mem_deref(r);
}

static CU_TestInfo tests[] = {
	{"a layer nobody gets is taken on its header, not decrypted",
	 test_peek_unwanted_layer},
	{"a keyframe is asked only when the receiver can get it",
	 test_keyframe_only_when_receivable},
	{"a consumer asks for a keyframe when its transport is secured",
	 test_keyframe_when_secured},
	{"a sender is asked for a keyframe when its transport is secured",
	 test_keyframe_when_sender_secured},
	{"a lossy receiver link takes the layer down", test_layer_down_on_loss},
	{"a receiver's bandwidth estimate takes the layer down",
	 test_layer_down_on_bandwidth},
	{"an estimate flat under what it gets takes the layer down",
	 test_layer_down_on_flat_estimate},
	{"NACKs to the sender for what it lost on the way in",
	 test_nack_generator},
	{"RTX: repairs forwarded, NACKs answered on RTX", test_rtx},
	{"transport-wide congestion control feedback", test_transport_feedback},
	{"PLI reaches the layer being sent", test_pli_for_layer_being_sent},
	{"receiver reports: loss and highest sequence", test_receiver_report},
	{"active speaker: the loudest over a window", test_loudest},
	{"active speaker: held while it speaks, unless another is 6 dB louder",
	 test_speaker_held},
	{"simulcast: start and switch on keyframes, continuous numbering",
	 test_simulcast_switch},
	{"forwarding rewrites SSRC and PT, strips the rest",
	 test_forward_rewrites},
	{"PLI relay and NACK answers", test_pli_relay_and_nack},
	{"NACK history: a second of the layer at its rate",
	 test_nack_history_sized_to_rate},
	{"NACK history keeps payloads back to back, at their size",
	 test_nack_history_keeps_bytes},
	{"NACK history of a slow layer: its bytes bind before its slots",
	 test_nack_history_bytes_bind},
	CU_TEST_INFO_NULL,
};

static int setup(void)
{
	return libre_init();
}

static int teardown(void)
{
	libre_close();
	return 0;
}

UNIT_MAIN("router", tests, setup, teardown)
