/*
 * router_impl.h - what the router's files share (router.c: producers,
 * consumers and forwarding; router_history.c: the packets kept for
 * NACKs; router_feedback.c: what senders are told: TWCC, NACKs, receiver
 * reports, and the loudest; router_input.c: what arrives, RTP on its way
 * to router_forward and RTCP read). Private to core/: the door is
 * router.h. Files only call down this list's reverse: input -> router.c
 * -> feedback, history.
 */
#ifndef MEESHY_ROUTER_IMPL_H
#define MEESHY_ROUTER_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>
#include "packet.h"
#include "twcc.h"
#include "vp8.h"
#include "router.h"

enum {
	PLI_INTERVAL_US = 300000,
	LOSS_HIGH = 26,               /* of 256: above 10 % the link is full */
	LOSS_LOW = 5,                 /* under 2 %: room, perhaps */
	LOSS_HIGH_REPORTS = 2,        /* reports in a row before going down */
	LAYER_UP_AFTER_US = 10000000, /* clean time before trying one up */
	BW_DOWN_HOLD_US = 1000000,    /* between two steps down by estimate */
	REMB_TREND_US = 2000000,  /* how far back an estimate's trend looks */
	RATE_WINDOW_US = 1000000, /* a layer's bitrate, measured over */
	MISSING_MAX = 64,  /* sequence numbers a layer waits to be repaired */
	MISSING_GAP = 100, /* a longer jump is a restart, not a loss */
	/* A layer taken on its headers alone still has one packet in this
	 * many decrypted: libsrtp guesses a packet's rollover counter from
	 * the last it decrypted, and past 2^15 sequence numbers it cannot */
	CLEAR_EVERY = 4096,
	NACK_TRIES = 5,        /* asks for a packet, then gives up on it */
	NACK_RETRY_US = 90000, /* a tick of router_feedback, or so */
	/* Video kept to answer NACKs: a second of each layer, its payloads
	 * back to back in a ring of bytes sized to the layer's bitrate, found
	 * through slots (seq % slots) sized to its packet rate */
	RING_KEEP_MS = 1000,
	RING_FIRST = 64, /* slots until the layer's rate is known */
	RING_MIN = 32,
	RING_MAX = 1024,
	RING_PAYLOAD = 1200, /* the largest payload kept */
	RING_FIRST_BYTES = RING_FIRST * RING_PAYLOAD,
	RING_MIN_BYTES = 16 * 1024,
	RING_MAX_BYTES = RING_MAX * RING_PAYLOAD,
	NO_LAYER = -1,
};

/* A forwarded packet as it came, for retransmission: its payload is
 * history.bytes[at % cap], while no more than cap bytes were kept after
 * its first. */
struct kept {
	uint64_t at; /* its first byte, counted in all the bytes ever kept */
	uint32_t ts;
	uint16_t seq, len;
	uint8_t marker;
	bool used;
};

/* The packets a video layer keeps to answer NACKs (router_history.c).
 * A packet never wraps round the end of bytes: the tail too short for it
 * is skipped, counted in head as if kept. */
struct history {
	uint8_t *bytes;
	uint32_t cap;      /* bytes */
	uint64_t head;     /* bytes ever kept: where the next packet goes */
	struct kept *slot; /* seq % nslot */
	uint16_t nslot;
	uint16_t last_seq; /* the newest kept */
};

/* A packet found in the history, valid until the next one is kept. */
struct kept_packet {
	const uint8_t *payload;
	uint16_t seq, len;
	uint32_t ts;
	uint8_t marker;
};

/* What RFC 3550 appendix A keeps per source to report on it. */
struct rx_stats {
	bool init;
	uint16_t max_seq;
	uint32_t cycles, base_seq, received;
	uint32_t expected_prior, received_prior;
	uint32_t jitter_q4; /* in RTP units, times 16 */
	int64_t transit;
	bool fresh;   /* packets since the last report */
	uint32_t lsr; /* middle of the last SR's NTP time */
	uint64_t lsr_at_us;
};

/* A packet the sender is asked to retransmit. */
struct missing {
	uint16_t seq;
	uint8_t tries;
	uint64_t asked_us;
};

struct layer {
	uint32_t ssrc;     /* 0 until a RID layer's first packet */
	uint32_t rtx_ssrc; /* its retransmissions (RFC 4588), or 0 */
	char rid[ROUTER_RID_MAX];
	uint64_t packets, last_us;
	struct history hist; /* video only, from its first packet */
	struct rx_stats rx;
	struct missing miss[MISSING_MAX];
	size_t nmiss;
	/* its bitrate as it arrives, over the last RATE_WINDOW_US */
	uint64_t win_bytes, win_start_us;
	uint32_t win_packets;
	uint32_t bps, pps;
	/* the last packet decrypted (the others were peeked at) */
	bool clear_seen;
	uint16_t clear_seq;
};

/* A transport that sends to the router: the arrival times of its packets,
 * numbered transport-wide, go back to it as feedback for its bandwidth
 * estimation. Its producers hold it. */
struct uplink {
	struct le le;
	struct router *r;
	const struct webrtc_transport *t;
	uint8_t twcc_ext_id;
	uint32_t media_ssrc; /* a stream of it, for the feedback */
	struct twcc_recv tw;
};

struct router {
	router_send_h *sendh;
	router_ready_h *readyh; /* NULL: every transport can receive */
	struct list producers;
	struct list uplinks;
	uint32_t rtcp_ssrc; /* sender SSRC of the router's own RTCP */
	/* the last router_loudest() named, not referenced: its producer's
	 * destructor clears it */
	struct producer *speaker;
	struct router_stats stats;
	uint8_t out[PORT_UDP_MTU + SRTP_PAIR_TRAILER];
};

struct producer {
	struct le le;
	struct router *r;
	struct webrtc_transport *t;
	struct uplink *up; /* with transport-wide numbering */
	enum media_kind kind;
	uint8_t pt, rid_ext_id, level_ext_id;
	uint8_t rtx_pt, rrid_ext_id; /* RTX: payload type, repaired-rid */
	uint32_t level_sum, level_n; /* -dBov, averaged per window */
	char codec[WEBRTC_SDP_TOKEN];
	bool vp8, h264;
	size_t nlayers;
	struct layer layers[ROUTER_MAX_LAYERS];
	struct list consumers;
	uint64_t last_pli_us, packets;
	bool paused;
};

struct consumer {
	struct le le;
	struct producer *p;
	struct webrtc_transport *t;
	uint32_t ssrc;
	uint8_t pt;
	uint32_t rtx_ssrc; /* NACK answers go apart, if non-zero */
	uint8_t rtx_pt;
	uint16_t rtx_seq;
	uint64_t packets, octets;
	bool paused;
	/* layer switching: the layer forwarded, the one the receiver prefers,
	 * and the highest its link has shown it can take */
	int current, target, cap;
	unsigned lossy_reports;
	uint64_t cap_changed_us;
	/* and the highest the receiver's bandwidth estimate (REMB) lets it
	 * have, which takes abs-send-time on what it gets */
	int bw_cap;
	uint64_t bw_changed_us, remb_prev;
	/* the estimate's trend: its value REMB_TREND_US ago, and whether it
	 * has not risen since (flat counts as not rising) */
	uint64_t remb_ref, remb_ref_us, switched_us;
	bool remb_stalled;
	uint8_t ast_id;
	bool started;               /* something was sent */
	uint16_t seq_off, last_seq; /* out = in + off */
	uint32_t ts_off, last_ts;
	uint64_t last_us;
	uint16_t pid_off, last_pid;
	uint8_t tl0_off, last_tl0;
};

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* router.c */
/* The producer (and its layer; *rtx: on its RTX stream) a packet of t
 * belongs to, a RID-announced layer bound to the SSRC on its first
 * packet; NULL for streams nobody asked for. */
struct producer *router_layer_of(struct router *r,
				 const struct webrtc_transport *t,
				 const struct rtp_view *v, int *layer,
				 bool *rtx);
/* The same among the layers already bound to their SSRC only. */
struct producer *router_layer_bound(struct router *r,
				    const struct webrtc_transport *t,
				    uint32_t ssrc, int *layer, bool *rtx);
/* Whether anyone needs a layer's payload now: a receiver gets it, should
 * get it, or has nothing yet (it starts on any layer's keyframe). A
 * stream of one layer always. */
bool layer_needed(const struct producer *p, int layer, uint64_t now);
/* The layer's bitrate and packet rate as it arrives (and its history
 * sized to them). */
void layer_rate_update(struct layer *l, size_t len, uint64_t now);
/* A packet of p's layer to every consumer forwarding that layer, kept for
 * their NACKs first. */
void router_forward(struct router *r, struct producer *p, int layer,
		    const struct rtp_view *v);
/* The layer a consumer should have: its preferred one, as far as its
 * link lets it (loss and bandwidth caps). */
int consumer_wanted_layer(const struct consumer *c);
/* A keyframe for the consumer, past the PLI interval (one that starts or
 * must change layer waits on it). */
void consumer_wants_keyframe_now(struct consumer *c);
/* The receiver lost its picture: a keyframe of the layer it gets now. */
void consumer_lost_picture(struct consumer *c);
/* One packet to the consumer, rewritten into its stream (resend: an
 * answer to its NACK, on its RTX stream when it has one). */
int consumer_send(struct router *r, struct consumer *c, uint16_t seq,
		  uint32_t ts, uint8_t marker, const uint8_t *payload,
		  size_t len, const struct vp8_desc *vd, bool resend);

/* router_history.c */
/* Keeps a forwarded video packet for NACKs. */
void history_keep(struct layer *l, const struct rtp_view *v);
/* The kept packet with this (producer's) sequence number into *k, if
 * there is one. */
bool history_find(const struct layer *l, uint16_t seq, struct kept_packet *k);
/* Sizes the history to a second of the layer's measured bitrate and
 * packet rate. */
void history_fit(struct layer *l);
/* What the history holds: its buffers go. */
void history_free(struct history *h);

/* router_feedback.c */
/* The sender side of transport t (TWCC, NACKs), or NULL. */
struct uplink *uplink_find(const struct router *r,
			   const struct webrtc_transport *t);
/* Closes the hole of seq, if it is one; returns whether it was. */
bool missing_close(struct layer *l, uint16_t seq);
/* The holes in a video layer's sequence numbers: a jump forward opens
 * them (and asks for them at once), a late packet closes one. */
void missing_track(struct router *r, struct producer *p, struct layer *l,
		   uint16_t seq);
/* A packet's share of the layer's receive statistics (RFC 3550 A.3, A.8). */
void rx_stats_update(struct rx_stats *s, const struct rtp_view *v,
		     uint32_t clock, uint64_t now_us);

#endif
