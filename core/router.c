/*
 * router.c - forwarding between the transports of one call.
 *
 * Per packet: find the producer layer by SSRC (or bind a RID-announced
 * layer to its SSRC on its first packet), keep it for NACKs, then for each
 * consumer forwarding that layer rewrite and send. No allocation on this
 * path; one scratch buffer per router.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "counters.h"
#include "port.h"
#include "packet.h"
#include "srtp_pair.h"
#include "vp8.h"
#include "h264.h"
#include "twcc.h"
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
	NACK_TRIES = 5,    /* asks for a packet, then gives up on it */
	NACK_RETRY_US = 90000, /* a tick of router_feedback, or so */
	/* Video kept to answer NACKs: a second of each layer, sized to its
	 * packet rate (a slot holds a whole packet: 1.2 kB) */
	RING_KEEP_MS = 1000,
	RING_FIRST = 64, /* slots until the layer's rate is known */
	RING_MIN = 32,
	RING_MAX = 1024,
	RING_PAYLOAD = 1200,
	NO_LAYER = -1,
};

/* A forwarded packet as it came, for retransmission. */
struct ring_slot {
	bool used;
	uint8_t marker;
	uint16_t seq, len;
	uint32_t ts;
	uint8_t payload[RING_PAYLOAD];
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
	struct ring_slot *ring; /* video only, from its first packet */
	uint16_t ring_size;     /* slots: RING_KEEP_MS of packets */
	struct rx_stats rx;
	struct missing miss[MISSING_MAX];
	size_t nmiss;
	/* its bitrate as it arrives, over the last RATE_WINDOW_US */
	uint64_t win_bytes, win_start_us;
	uint32_t win_packets;
	uint32_t bps, pps;
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

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void router_destructor(void *arg)
{
	struct router *r = arg;
	struct le *le;
	/* producers are owned by whoever created them; forget them */
	while ((le = list_head(&r->producers))) {
		struct producer *p = le->data;
		list_unlink(&p->le);
		p->r = NULL;
	}
	while ((le = list_head(&r->uplinks))) {
		struct uplink *up = le->data;
		list_unlink(&up->le);
		up->r = NULL;
	}
}

int router_alloc(struct router **rp, router_send_h *sendh)
{
	struct router *r;
	if (!rp || !sendh)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), router_destructor);
	if (!r)
		return ENOMEM;
	r->sendh = sendh;
	if (port_random(&r->rtcp_ssrc, sizeof(r->rtcp_ssrc))) {
		mem_deref(r);
		return EIO;
	}
	*rp = r;
	return 0;
}

void router_set_ready_handler(struct router *r, router_ready_h *readyh)
{
	if (r)
		r->readyh = readyh;
}

void router_stats(const struct router *r, struct router_stats *st)
{
	if (r && st)
		*st = r->stats;
}

void router_stats_add(struct router_stats *sum, const struct router_stats *x)
{
	/* the struct is all uint64_t counters */
	if (sum && x)
		counters_add((uint64_t *)sum, (const uint64_t *)x,
			     sizeof(*sum) / sizeof(uint64_t));
}

static void producer_destructor(void *arg)
{
	struct producer *p = arg;
	struct le *le;
	list_unlink(&p->le);
	mem_deref(p->up);
	for (size_t i = 0; i < p->nlayers; i++)
		mem_deref(p->layers[i].ring);
	/* its consumers stay, idle, until their owners release them */
	while ((le = list_head(&p->consumers))) {
		struct consumer *c = le->data;
		list_unlink(&c->le);
		c->p = NULL;
	}
}

int router_produce_simulcast(struct producer **pp, struct router *r,
			     struct webrtc_transport *t, uint8_t pt,
			     const char *codec, size_t nlayers,
			     const uint32_t *ssrcs, const char *const *rids,
			     uint8_t rid_ext_id)
{
	struct producer *p;

	if (!pp || !r || !t || !codec || !nlayers ||
	    nlayers > ROUTER_MAX_LAYERS)
		return EINVAL;
	p = mem_zalloc(sizeof(*p), producer_destructor);
	if (!p)
		return ENOMEM;
	p->r = r;
	p->t = t;
	p->kind = str_casecmp(codec, "opus") ? MEDIA_VIDEO : MEDIA_AUDIO;
	p->pt = pt;
	p->rid_ext_id = rid_ext_id;
	str_ncpy(p->codec, codec, sizeof(p->codec));
	p->vp8 = !str_casecmp(codec, "VP8");
	p->h264 = !str_casecmp(codec, "H264");
	p->nlayers = nlayers;
	for (size_t i = 0; i < nlayers; i++) {
		struct layer *l = &p->layers[i];
		l->ssrc = ssrcs ? ssrcs[i] : 0;
		if (rids && rids[i])
			str_ncpy(l->rid, rids[i], sizeof(l->rid));
		if (!l->ssrc && !l->rid[0]) {
			mem_deref(p);
			return EINVAL;
		}
	}
	list_append(&r->producers, &p->le, p);
	*pp = p;
	return 0;
}

int router_produce(struct producer **pp, struct router *r,
		   struct webrtc_transport *t, enum media_kind kind,
		   uint32_t ssrc, uint8_t pt, const char *codec)
{
	int err;
	if (!ssrc)
		return EINVAL;
	err = router_produce_simulcast(pp, r, t, pt, codec, 1, &ssrc, NULL, 0);
	if (!err)
		(*pp)->kind = kind;
	return err;
}

enum media_kind producer_kind(const struct producer *p)
{
	return p->kind;
}

const char *producer_codec(const struct producer *p)
{
	return p->codec;
}

const struct webrtc_transport *producer_transport(const struct producer *p)
{
	return p->t;
}

uint64_t producer_packets(const struct producer *p)
{
	return p ? p->packets : 0;
}

size_t producer_layers(const struct producer *p)
{
	return p ? p->nlayers : 0;
}

struct producer *router_producer_next(const struct router *r,
				      const struct producer *after)
{
	struct le *le;
	if (!r)
		return NULL;
	le = after ? after->le.next : r->producers.head;
	return le ? le->data : NULL;
}

/* Keyframe requests go to one layer's SSRC. */
static void request_keyframe(struct producer *p, int layer)
{
	struct router *r = p ? p->r : NULL;
	uint64_t now = port_now_us();
	uint8_t *b;

	if (!r || p->kind != MEDIA_VIDEO || layer < 0 ||
	    (size_t)layer >= p->nlayers || !p->layers[layer].ssrc ||
	    (p->last_pli_us && now - p->last_pli_us < PLI_INTERVAL_US))
		return;
	p->last_pli_us = now;
	/* RFC 4585 6.3.1: PSFB, FMT 1, length 2 words */
	b = r->out;
	b[0] = 0x81;
	b[1] = 206;
	b[2] = 0;
	b[3] = 2;
	put32(b + 4, r->rtcp_ssrc);
	put32(b + 8, p->layers[layer].ssrc);
	if (r->sendh(p->t, b, 12, sizeof(r->out), true))
		r->stats.send_errors++;
	else
		r->stats.pli_sent++;
}

/* The layer a consumer should have: its preferred one, as far as its
 * link lets it. */
static int wanted(const struct consumer *c)
{
	int w = c->target < c->cap ? c->target : c->cap;
	return w < c->bw_cap ? w : c->bw_cap;
}

/* The layer a consumer can have now: its preferred one if the sender is
 * sending it, else the best lower one that is flowing (a sender short of
 * bandwidth stops its top layers). */
static int layer_within(const struct producer *p, int target, uint64_t now)
{
	for (int i = target; i > 0; i--) {
		const struct layer *l = &p->layers[i];
		if (l->last_us && now - l->last_us < 1000000)
			return i;
	}
	return 0;
}

/* Whether a keyframe sent now could reach c's receiver. One that cannot
 * is worse than none: Chromium ignores a request within 300 ms of the last
 * it took, so it would also cost the one router_transport_secured() asks
 * for once the receiver's DTLS is done. */
static bool can_receive(const struct consumer *c)
{
	return !c->p->r->readyh || c->p->r->readyh(c->t);
}

/* A consumer starting or changing layer needs a keyframe of the layer it
 * should have: its preferred one, or the best one being sent. */
static void consumer_wants_keyframe(struct consumer *c)
{
	if (c->p && !c->paused && can_receive(c))
		request_keyframe(c->p,
				 layer_within(c->p, wanted(c), port_now_us()));
}

/* The same, past the PLI interval: a consumer that starts, or whose layer
 * must change, waits on this keyframe, not on another receiver's
 * request. */
static void consumer_wants_keyframe_now(struct consumer *c)
{
	if (!c->p || c->paused || !can_receive(c))
		return;
	c->p->last_pli_us = 0;
	consumer_wants_keyframe(c);
}

/* A receiver that lost its picture needs a keyframe of what it receives
 * now (a layer the sender stopped sending would never answer). */
static void consumer_lost_picture(struct consumer *c)
{
	if (!c->p)
		return;
	if (c->current >= 0)
		request_keyframe(c->p, c->current);
	else
		consumer_wants_keyframe(c);
}

/* Keyframe requests sent before a transport was secured were lost, both
 * ways: its consumers' requests to their senders (the PLI went out, the
 * keyframe could not come in), and requests to its own producers (the PLI
 * itself could not go out). Ask again for whoever still waits. */
void router_transport_secured(struct router *r, struct webrtc_transport *t)
{
	for (struct le *le = r ? r->producers.head : NULL; le; le = le->next) {
		struct producer *p = le->data;
		if (p->kind != MEDIA_VIDEO)
			continue;
		for (struct le *cl = p->consumers.head; cl; cl = cl->next) {
			struct consumer *c = cl->data;
			if ((c->t != t && p->t != t) || c->paused || c->started)
				continue;
			consumer_wants_keyframe_now(c);
		}
	}
}

void producer_request_keyframe(struct producer *p)
{
	if (p)
		request_keyframe(p, (int)p->nlayers - 1);
}

static void consumer_destructor(void *arg)
{
	struct consumer *c = arg;
	list_unlink(&c->le);
}

static int consume(struct consumer **cp, struct producer *p,
		   struct webrtc_transport *t, uint8_t pt, bool paused)
{
	struct consumer *c;
	if (!cp || !p || !t)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), consumer_destructor);
	if (!c)
		return ENOMEM;
	c->p = p;
	c->t = t;
	c->pt = pt;
	c->target = c->cap = c->bw_cap = (int)p->nlayers - 1;
	/* one layer: nothing to switch, forward from the first packet */
	c->current = p->nlayers == 1 ? 0 : NO_LAYER;
	do {
		if (port_random(&c->ssrc, sizeof(c->ssrc))) {
			mem_deref(c);
			return EIO;
		}
	} while (!c->ssrc);
	c->paused = paused;
	list_append(&p->consumers, &c->le, c);
	*cp = c;
	consumer_wants_keyframe(c);
	return 0;
}

int router_consume(struct consumer **cp, struct producer *p,
		   struct webrtc_transport *t, uint8_t pt)
{
	return consume(cp, p, t, pt, false);
}

int router_consume_paused(struct consumer **cp, struct producer *p,
			  struct webrtc_transport *t, uint8_t pt)
{
	return consume(cp, p, t, pt, true);
}

int producer_set_rtx(struct producer *p, uint8_t rtx_pt,
		     const uint32_t *rtx_ssrcs, uint8_t rrid_ext_id)
{
	if (!p || !rtx_pt || rtx_pt > 127 || p->kind != MEDIA_VIDEO)
		return EINVAL;
	p->rtx_pt = rtx_pt;
	p->rrid_ext_id = rrid_ext_id;
	for (size_t i = 0; rtx_ssrcs && i < p->nlayers; i++)
		p->layers[i].rtx_ssrc = rtx_ssrcs[i];
	return 0;
}

int consumer_set_abs_send_time(struct consumer *c, uint8_t ext_id)
{
	if (!c || !ext_id || ext_id > 14)
		return EINVAL;
	c->ast_id = ext_id;
	return 0;
}

int consumer_set_rtx(struct consumer *c, uint8_t rtx_pt)
{
	if (!c || !rtx_pt || rtx_pt > 127)
		return EINVAL;
	c->rtx_pt = rtx_pt;
	while (!c->rtx_ssrc || c->rtx_ssrc == c->ssrc)
		if (port_random(&c->rtx_ssrc, sizeof(c->rtx_ssrc)))
			return EIO;
	return port_random(&c->rtx_seq, sizeof(c->rtx_seq)) ? EIO : 0;
}

uint32_t consumer_rtx_ssrc(const struct consumer *c)
{
	return c ? c->rtx_ssrc : 0;
}

uint32_t consumer_ssrc(const struct consumer *c)
{
	return c ? c->ssrc : 0;
}

uint64_t consumer_packets(const struct consumer *c)
{
	return c ? c->packets : 0;
}

int consumer_current_layer(const struct consumer *c)
{
	return c ? c->current : NO_LAYER;
}

void consumer_set_preferred_layer(struct consumer *c, unsigned spatial)
{
	if (!c || !c->p)
		return;
	if (spatial >= c->p->nlayers)
		spatial = (unsigned)c->p->nlayers - 1;
	c->target = (int)spatial;
	if (wanted(c) != c->current)
		consumer_wants_keyframe_now(c);
}

static void uplink_destructor(void *arg)
{
	struct uplink *up = arg;
	list_unlink(&up->le);
}

static struct uplink *uplink_of(const struct router *r,
				const struct webrtc_transport *t)
{
	for (struct le *le = r->uplinks.head; le; le = le->next) {
		struct uplink *up = le->data;
		if (up->t == t)
			return up;
	}
	return NULL;
}

static void ask_missing(struct router *r, struct producer *p, struct layer *l);

int producer_set_twcc_ext(struct producer *p, uint8_t ext_id)
{
	struct uplink *up;
	if (!p || !p->r || !ext_id || ext_id > 14)
		return EINVAL;
	up = uplink_of(p->r, p->t);
	if (up) {
		up->twcc_ext_id = ext_id; /* one numbering per transport */
		mem_deref(p->up);
		p->up = mem_ref(up);
		return 0;
	}
	up = mem_zalloc(sizeof(*up), uplink_destructor);
	if (!up)
		return ENOMEM;
	up->r = p->r;
	up->t = p->t;
	up->twcc_ext_id = ext_id;
	twcc_recv_init(&up->tw);
	list_append(&p->r->uplinks, &up->le, up);
	mem_deref(p->up);
	p->up = up;
	return 0;
}

void router_feedback(struct router *r)
{
	for (struct le *le = r ? r->producers.head : NULL; le; le = le->next) {
		struct producer *p = le->data;
		for (size_t i = 0; i < p->nlayers; i++)
			if (p->layers[i].nmiss)
				ask_missing(r, p, &p->layers[i]);
	}
	for (struct le *le = r ? r->uplinks.head : NULL; le; le = le->next) {
		struct uplink *up = le->data;
		size_t n;
		/* a long gap may take more than one packet */
		for (int i = 0; i < 4; i++) {
			n = twcc_recv_feedback(
				&up->tw, r->rtcp_ssrc, up->media_ssrc, r->out,
				sizeof(r->out) - SRTP_PAIR_TRAILER);
			if (!n)
				break;
			if (r->sendh((struct webrtc_transport *)up->t, r->out,
				     n, sizeof(r->out), true))
				r->stats.send_errors++;
			else
				r->stats.twcc_sent++;
		}
	}
}

void producer_set_audio_level_ext(struct producer *p, uint8_t ext_id)
{
	if (p)
		p->level_ext_id = ext_id;
}

/* Quieter than this on average (-dBov) is silence, whatever the loudest. */
enum { SPEAKING_DBOV = 70 };

struct producer *router_loudest(struct router *r)
{
	struct producer *best = NULL;
	uint32_t best_level = SPEAKING_DBOV;
	for (struct le *le = r ? r->producers.head : NULL; le; le = le->next) {
		struct producer *p = le->data;
		if (p->level_n) {
			uint32_t avg = p->level_sum / p->level_n;
			if (avg < best_level) {
				best_level = avg;
				best = p;
			}
		}
		p->level_sum = p->level_n = 0;
	}
	return best;
}

/* Asks the sender of layer l for what is still missing and was not asked
 * for in the last NACK_RETRY_US, as one generic NACK (RFC 4585 6.2.1);
 * forgets what was asked NACK_TRIES times. */
static void ask_missing(struct router *r, struct producer *p, struct layer *l)
{
	const uint64_t now = port_now_us();
	uint8_t *b = r->out;
	size_t n = 12, k = 0;
	int32_t pid = -1; /* of the FCI entry being filled */

	for (size_t i = 0; i < l->nmiss; i++) {
		struct missing *m = &l->miss[i];
		uint16_t d;
		if (m->asked_us && now - m->asked_us < NACK_RETRY_US)
			continue;
		m->tries++;
		m->asked_us = now;
		d = (uint16_t)(m->seq - (uint16_t)pid);
		if (pid >= 0 && d >= 1 && d <= 16) {
			b[n - 2 + (d > 8 ? 0 : 1)] |=
				(uint8_t)(1u << ((d - 1) % 8));
		} else {
			put16(b + n, m->seq);
			b[n + 2] = b[n + 3] = 0;
			pid = m->seq;
			n += 4;
		}
	}
	/* keep what may still be asked for */
	for (size_t i = 0; i < l->nmiss; i++)
		if (l->miss[i].tries < NACK_TRIES)
			l->miss[k++] = l->miss[i];
	l->nmiss = k;
	if (n == 12)
		return;
	b[0] = 0x81;
	b[1] = 205;
	put16(b + 2, (uint16_t)(n / 4 - 1));
	put32(b + 4, r->rtcp_ssrc);
	put32(b + 8, l->ssrc);
	if (r->sendh(p->t, b, n, sizeof(r->out), true))
		r->stats.send_errors++;
	else
		r->stats.nack_sent++;
}

/* Closes the hole of seq, if it is one; returns whether it was. */
static bool close_missing(struct layer *l, uint16_t seq)
{
	for (size_t i = 0; i < l->nmiss; i++) {
		if (l->miss[i].seq == seq) { /* keep the order: fewer FCIs */
			memmove(l->miss + i, l->miss + i + 1,
				(--l->nmiss - i) * sizeof(*l->miss));
			return true;
		}
	}
	return false;
}

/* Keeps track of the holes in a video layer's sequence numbers: a jump
 * forward opens them (and asks for them at once), a late packet closes
 * one. */
static void track_missing(struct router *r, struct producer *p, struct layer *l,
			  uint16_t seq)
{
	uint16_t gap;

	if (!l->rx.init)
		return;
	if (!rtp_seq_newer(seq, l->rx.max_seq)) {
		(void)close_missing(l, seq);
		return;
	}
	gap = (uint16_t)(seq - l->rx.max_seq - 1);
	if (!gap)
		return;
	if (gap > MISSING_GAP) {
		l->nmiss = 0;
		return;
	}
	for (uint16_t s = (uint16_t)(l->rx.max_seq + 1); s != seq; s++) {
		if (l->nmiss == MISSING_MAX) { /* the oldest go */
			memmove(l->miss, l->miss + 1,
				(MISSING_MAX - 1) * sizeof(*l->miss));
			l->nmiss--;
		}
		l->miss[l->nmiss].seq = s;
		l->miss[l->nmiss].tries = 0;
		l->miss[l->nmiss].asked_us = 0;
		l->nmiss++;
	}
	ask_missing(r, p, l);
}

static void rx_update(struct rx_stats *s, const struct rtp_view *v,
		      uint32_t clock, uint64_t now_us)
{
	int64_t arrival = (int64_t)(now_us * clock / 1000000u), transit, d;

	if (!s->init) {
		s->init = true;
		s->base_seq = v->seq;
		s->max_seq = v->seq;
		s->transit = arrival - v->ts;
	} else if (rtp_seq_newer(v->seq, s->max_seq)) {
		if (v->seq < s->max_seq)
			s->cycles += 1u << 16; /* wrapped */
		s->max_seq = v->seq;
	}
	s->received++;
	s->fresh = true;
	/* RFC 3550 A.8: interarrival jitter, in timestamp units */
	transit = arrival - v->ts;
	d = transit - s->transit;
	s->transit = transit;
	if (d < 0)
		d = -d;
	s->jitter_q4 += (uint32_t)d - ((s->jitter_q4 + 8) >> 4);
}

/* One report block (RFC 3550 6.4.1) about a layer, at b (24 bytes). */
static void report_block(uint8_t *b, struct layer *l, uint64_t now_us)
{
	struct rx_stats *s = &l->rx;
	uint32_t ext_max = s->cycles + s->max_seq;
	uint32_t expected = ext_max - s->base_seq + 1;
	int32_t lost = (int32_t)(expected - s->received);
	uint32_t exp_int = expected - s->expected_prior;
	uint32_t rec_int = s->received - s->received_prior;
	int32_t lost_int = (int32_t)(exp_int - rec_int);
	uint8_t fraction =
		exp_int && lost_int > 0
			? (uint8_t)(((uint32_t)lost_int << 8) / exp_int)
			: 0;
	uint32_t dlsr =
		s->lsr ? (uint32_t)((now_us - s->lsr_at_us) * 65536 / 1000000u)
		       : 0;

	s->expected_prior = expected;
	s->received_prior = s->received;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	else if (lost < -0x800000)
		lost = -0x800000;
	put32(b, l->ssrc);
	put32(b + 4, ((uint32_t)fraction << 24) | ((uint32_t)lost & 0xffffff));
	put32(b + 8, ext_max);
	put32(b + 12, s->jitter_q4 >> 4);
	put32(b + 16, s->lsr);
	put32(b + 20, dlsr);
}

void router_report(struct router *r)
{
	uint64_t now = port_now_us();
	for (struct le *le = r ? r->producers.head : NULL; le; le = le->next) {
		struct producer *p = le->data;
		uint8_t *b = r->out;
		size_t n = 0;
		/* one RR per sender, a block per layer that sent */
		for (size_t i = 0; i < p->nlayers && n < 31; i++) {
			struct layer *l = &p->layers[i];
			if (!l->ssrc || !l->rx.fresh)
				continue;
			l->rx.fresh = false;
			report_block(b + 8 + 24 * n, l, now);
			n++;
		}
		if (!n)
			continue;
		b[0] = (uint8_t)(0x80 | n);
		b[1] = 201;
		b[2] = (uint8_t)((1 + 6 * n) >> 8);
		b[3] = (uint8_t)(1 + 6 * n);
		put32(b + 4, r->rtcp_ssrc);
		if (r->sendh(p->t, b, 8 + 24 * n, sizeof(r->out), true))
			r->stats.send_errors++;
		else
			r->stats.rr_sent++;
	}
}

void producer_set_paused(struct producer *p, bool paused)
{
	if (p)
		p->paused = paused;
}

void consumer_set_paused(struct consumer *c, bool paused)
{
	if (!c)
		return;
	if (c->paused && !paused && c->p) {
		/* a receiver starting now needs its keyframe now */
		c->paused = false;
		consumer_wants_keyframe_now(c);
	}
	c->paused = paused;
}

/* Whether the packet's extension `id` holds the RID `rid`. */
static bool names_rid(const struct rtp_view *v, uint8_t id, const char *rid)
{
	const uint8_t *x;
	size_t n = id ? rtp_view_ext_find(v, id, &x) : 0;
	return n && rid[0] && strlen(rid) == n && !memcmp(rid, x, n);
}

/* The producer layer a packet from t belongs to, and whether it is that
 * layer's RTX stream. A RID layer learns its SSRCs from the first packets
 * that name it (rid for the media, repaired-rid for RTX). */
static struct producer *layer_of(struct router *r,
				 const struct webrtc_transport *t,
				 const struct rtp_view *v, int *layer,
				 bool *rtx)
{
	for (struct le *le = r->producers.head; le; le = le->next) {
		struct producer *p = le->data;
		if (p->t != t)
			continue;
		for (size_t i = 0; i < p->nlayers; i++) {
			const struct layer *l = &p->layers[i];
			if (l->ssrc == v->ssrc || l->rtx_ssrc == v->ssrc) {
				*layer = (int)i;
				*rtx = l->rtx_ssrc == v->ssrc;
				return p;
			}
		}
	}
	for (struct le *le = r->producers.head; le; le = le->next) {
		struct producer *p = le->data;
		if (p->t != t)
			continue;
		for (size_t i = 0; i < p->nlayers; i++) {
			struct layer *l = &p->layers[i];
			if (!l->ssrc && names_rid(v, p->rid_ext_id, l->rid)) {
				l->ssrc = v->ssrc;
				*rtx = false;
			} else if (!l->rtx_ssrc && p->rtx_pt &&
				   v->pt == p->rtx_pt &&
				   names_rid(v, p->rrid_ext_id, l->rid)) {
				l->rtx_ssrc = v->ssrc;
				*rtx = true;
			} else
				continue;
			*layer = (int)i;
			return p;
		}
	}
	return NULL;
}

/* One packet to one consumer, rewritten: its SSRC, payload type, sequence
 * number and timestamp spaces, VP8 picture ID and TL0PICIDX. A
 * retransmission to a consumer with RTX goes on its RTX stream, the
 * original sequence number first in the payload (RFC 4588 4). */
static int send_rtp(struct router *r, struct consumer *c, uint16_t seq,
		    uint32_t ts, uint8_t marker, const uint8_t *payload,
		    size_t len, const struct vp8_desc *vd, bool resend)
{
	const bool rtx = resend && c->rtx_ssrc;
	/* the fixed header, abs-send-time when the receiver estimates its
	 * bandwidth with it, RTX's original sequence number */
	const size_t base = c->ast_id ? 20 : 12;
	const size_t hdr = rtx ? base + 2 : base, n = hdr + len;
	uint8_t *o = r->out;
	uint16_t oseq = (uint16_t)(seq + c->seq_off);
	uint32_t ots = ts + c->ts_off;

	if (n + SRTP_PAIR_TRAILER > sizeof(r->out))
		return EMSGSIZE;
	o[0] = c->ast_id ? 0x90 : 0x80;
	if (c->ast_id) {
		/* RFC 8285 one-byte block of one word: send time in seconds,
		 * 6.18 fixed point, 24 bits */
		const uint64_t now = port_now_us();
		uint32_t ast =
			(uint32_t)((((now / 1000000) << 18) |
				    (((now % 1000000) << 18) / 1000000)) &
				   0xffffff);
		o[12] = 0xbe;
		o[13] = 0xde;
		o[14] = 0;
		o[15] = 1;
		o[16] = (uint8_t)((c->ast_id << 4) | 2);
		o[17] = (uint8_t)(ast >> 16);
		o[18] = (uint8_t)(ast >> 8);
		o[19] = (uint8_t)ast;
	}
	if (rtx) {
		o[1] = (uint8_t)((marker << 7) | (c->rtx_pt & 0x7f));
		put16(o + 2, c->rtx_seq++);
		put32(o + 8, c->rtx_ssrc);
		put16(o + base, oseq);
	} else {
		o[1] = (uint8_t)((marker << 7) | (c->pt & 0x7f));
		put16(o + 2, oseq);
		put32(o + 8, c->ssrc);
	}
	put32(o + 4, ots);
	memcpy(o + hdr, payload, len);
	if (vd && (vd->has_picture_id || vd->has_tl0)) {
		uint16_t pid =
			(uint16_t)((vd->picture_id + c->pid_off) &
				   (vd->picture_id_15bit ? 0x7fff : 0x7f));
		uint8_t tl0 = (uint8_t)(vd->tl0picidx + c->tl0_off);
		vp8_desc_rewrite(o + hdr, vd, pid, tl0);
		if (!resend) {
			c->last_pid = pid;
			c->last_tl0 = tl0;
		}
	}
	if (r->sendh(c->t, o, n, sizeof(r->out), false)) {
		r->stats.send_errors++;
		return EIO;
	}
	if (!resend &&
	    (!c->started || (uint16_t)(oseq - c->last_seq) < 0x8000)) {
		c->last_seq = oseq;
		c->last_ts = ots;
		c->last_us = port_now_us();
	}
	if (!resend) {
		c->started = true;
		c->packets++;
		c->octets += len;
	}
	r->stats.rtp_forwarded++;
	r->stats.bytes_forwarded += n;
	return 0;
}

/* Moves a consumer onto `layer` at this packet (a keyframe start): the
 * receiver's sequence numbers, timestamps and picture IDs carry on from
 * where the previous layer left them. */
static void switch_layer(struct consumer *c, int layer,
			 const struct rtp_view *v, const struct vp8_desc *vd)
{
	if (c->started) {
		uint64_t ms = (port_now_us() - c->last_us) / 1000;
		uint32_t step = (uint32_t)(ms ? ms * 90 : 1);
		c->seq_off = (uint16_t)(c->last_seq + 1 - v->seq);
		c->ts_off = c->last_ts + step - v->ts;
		if (vd && vd->has_picture_id)
			c->pid_off =
				(uint16_t)(c->last_pid + 1 - vd->picture_id);
		if (vd && vd->has_tl0)
			c->tl0_off = (uint8_t)(c->last_tl0 + 1 - vd->tl0picidx);
	}
	if (c->current != layer)
		c->switched_us = port_now_us();
	c->current = layer;
}

/* The ring in `size` slots, the packets it holds kept where they fit
 * (the newest, where two meet). Slots are seq % size: a size that does not
 * divide 65536 loses a few packets' history once per wrap, no more. */
static void ring_resize(struct layer *l, uint16_t size)
{
	struct ring_slot *ring = mem_zalloc(size * sizeof(*ring), NULL);
	if (!ring)
		return; /* the old one serves on */
	for (uint16_t i = 0; l->ring && i < l->ring_size; i++) {
		const struct ring_slot *s = &l->ring[i];
		struct ring_slot *d = &ring[s->seq % size];
		if (s->used && (!d->used || (int16_t)(s->seq - d->seq) > 0))
			*d = *s;
	}
	mem_deref(l->ring);
	l->ring = ring;
	l->ring_size = size;
}

/* RING_KEEP_MS of the layer at its measured packet rate; resized when
 * that is more than the ring holds, or under half of it. */
static void ring_fit(struct layer *l)
{
	uint32_t want = (l->pps * RING_KEEP_MS + 999) / 1000;
	if (want < RING_MIN)
		want = RING_MIN;
	if (want > RING_MAX)
		want = RING_MAX;
	if (want > l->ring_size || 2 * want < l->ring_size)
		ring_resize(l, (uint16_t)want);
}

static void ring_keep(struct layer *l, const struct rtp_view *v)
{
	struct ring_slot *s;
	if (!l->ring)
		ring_resize(l, RING_FIRST);
	if (!l->ring || v->payload_len > RING_PAYLOAD)
		return;
	s = &l->ring[v->seq % l->ring_size];
	s->used = true;
	s->seq = v->seq;
	s->ts = v->ts;
	s->marker = v->marker;
	s->len = (uint16_t)v->payload_len;
	memcpy(s->payload, v->payload, v->payload_len);
}

static const struct ring_slot *ring_find(const struct layer *l, uint16_t seq)
{
	const struct ring_slot *s;
	if (!l || !l->ring)
		return NULL;
	s = &l->ring[seq % l->ring_size];
	return s->used && s->seq == seq ? s : NULL;
}

static void forward(struct router *r, struct producer *p, int layer,
		    const struct rtp_view *v)
{
	const uint64_t now = port_now_us();
	struct layer *l = &p->layers[layer];
	struct vp8_desc vd, *vdp = NULL;

	if (p->kind == MEDIA_VIDEO)
		ring_keep(l, v);
	if (p->vp8 && !vp8_desc_parse(&vd, v->payload, v->payload_len))
		vdp = &vd;
	for (struct le *le = p->consumers.head; le; le = le->next) {
		struct consumer *c = le->data;
		if (c->paused)
			continue;
		if (c->current != layer) {
			/* switch only where the receiver can start decoding:
			 * on a keyframe of the layer it should have, or,
			 * before anything was sent, of any layer (then climb
			 * to the one it should have) */
			int want = layer_within(p, wanted(c), now);
			bool key = vdp ? vdp->keyframe
				       : p->h264 && h264_is_keyframe(
							    v->payload,
							    v->payload_len);
			if (c->current == want && c->current != layer)
				continue;
			if (!key || (layer != want && c->current != NO_LAYER)) {
				/* ask for that keyframe (rate-limited) */
				if (layer == want || c->current == NO_LAYER)
					request_keyframe(p, layer);
				continue;
			}
			{
				const struct consumer before = *c;
				switch_layer(c, layer, v, vdp);
				/* a keyframe that did not go out is no start:
				 * stay as we were and wait for the next one */
				if (send_rtp(r, c, v->seq, v->ts, v->marker,
					     v->payload, v->payload_len, vdp,
					     false)) {
					c->current = before.current;
					c->seq_off = before.seq_off;
					c->ts_off = before.ts_off;
					c->pid_off = before.pid_off;
					c->tl0_off = before.tl0_off;
					continue;
				}
			}
			if (layer != want)
				request_keyframe(p, want);
			continue;
		}
		(void)send_rtp(r, c, v->seq, v->ts, v->marker, v->payload,
			       v->payload_len, vdp, false);
	}
}

/* RFC 4585 6.2.1 generic NACK: each FCI names a lost packet (PID) and
 * which of the 16 after it are lost too (BLP). Sequence numbers are the
 * consumer's; the buffer is the current layer's. */
static void on_nack(struct router *r, struct consumer *c, const uint8_t *fci,
		    size_t len)
{
	struct producer *p = c->p;
	const struct layer *l =
		p && c->current >= 0 ? &p->layers[c->current] : NULL;
	for (; len >= 4; fci += 4, len -= 4) {
		uint16_t pid = be16(fci), blp = be16(fci + 2);
		for (int i = -1; i < 16; i++) {
			const struct ring_slot *s;
			uint16_t seq;
			if (i >= 0 && !(blp & (1u << i)))
				continue;
			seq = (uint16_t)(pid + (i + 1) - c->seq_off);
			r->stats.nack_requested++;
			s = ring_find(l, seq);
			if (!s) {
				r->stats.nack_missed++;
				continue;
			}
			{
				struct vp8_desc vd;
				bool has = p->vp8 &&
					   !vp8_desc_parse(&vd, s->payload,
							   s->len);
				if (!send_rtp(r, c, s->seq, s->ts, s->marker,
					      s->payload, s->len,
					      has ? &vd : NULL, true))
					r->stats.nack_resent++;
			}
		}
	}
}

static struct consumer *
consumer_of(struct router *r, const struct webrtc_transport *t, uint32_t ssrc)
{
	for (struct le *pl = r->producers.head; pl; pl = pl->next) {
		struct producer *p = pl->data;
		for (struct le *cl = p->consumers.head; cl; cl = cl->next) {
			struct consumer *c = cl->data;
			if (c->ssrc == ssrc && c->t == t)
				return c;
		}
	}
	return NULL;
}

/* A sender's SR: kept for our receiver reports' LSR/DLSR, and passed to
 * the receivers of that layer in their terms (RFC 3550 6.4.1), which lets
 * them line the stream up with others on the sender's clock. */
static void on_sender_report(struct router *r, const struct webrtc_transport *t,
			     const uint8_t *b)
{
	const uint32_t ssrc = be32(b + 4);
	for (struct le *le = r->producers.head; le; le = le->next) {
		struct producer *p = le->data;
		for (size_t i = 0; p->t == t && i < p->nlayers; i++) {
			struct layer *l = &p->layers[i];
			if (l->ssrc != ssrc)
				continue;
			l->rx.lsr = (be32(b + 8) << 16) | (be32(b + 12) >> 16);
			l->rx.lsr_at_us = port_now_us();
			for (struct le *cl = p->consumers.head; cl;
			     cl = cl->next) {
				struct consumer *c = cl->data;
				uint8_t *o = r->out;
				if (c->paused || c->current != (int)i ||
				    !c->started)
					continue;
				o[0] = 0x80;
				o[1] = 200;
				o[2] = 0;
				o[3] = 6;
				put32(o + 4, c->ssrc);
				memcpy(o + 8, b + 8, 8); /* NTP time */
				put32(o + 16, be32(b + 16) + c->ts_off);
				put32(o + 20, (uint32_t)c->packets);
				put32(o + 24, (uint32_t)c->octets);
				if (r->sendh(c->t, o, 28, sizeof(r->out), true))
					r->stats.send_errors++;
				else
					r->stats.sr_sent++;
			}
		}
	}
}

/* A layer's bitrate as it arrives, over windows of RATE_WINDOW_US. */
static void layer_rate(struct layer *l, size_t len, uint64_t now)
{
	if (!l->win_start_us)
		l->win_start_us = now;
	l->win_bytes += len;
	l->win_packets++;
	if (now - l->win_start_us >= RATE_WINDOW_US) {
		l->bps = (uint32_t)(l->win_bytes * 8 * 1000000 /
				    (now - l->win_start_us));
		l->pps = (uint32_t)((uint64_t)l->win_packets * 1000000 /
				    (now - l->win_start_us));
		l->win_bytes = 0;
		l->win_packets = 0;
		l->win_start_us = now;
		if (l->ring)
			ring_fit(l);
	}
}

/* What a consumer gets now, in bit/s. */
static uint32_t consumer_bps(const struct consumer *c)
{
	if (!c->p || c->paused || c->current < 0 ||
	    (size_t)c->current >= c->p->nlayers)
		return 0;
	return c->p->layers[c->current].bps;
}

/* Whether the estimate has stopped rising: not above its value of
 * REMB_TREND_US ago, the consumer's layer not switched meanwhile (after a
 * switch up a browser's estimate climbs towards the new rate). */
static bool remb_stalled(struct consumer *c, uint64_t bps, uint64_t now)
{
	if (now - c->switched_us < REMB_TREND_US) {
		c->remb_ref_us = 0;
		c->remb_stalled = false;
	}
	if (!c->remb_ref_us || now - c->remb_ref_us >= REMB_TREND_US) {
		c->remb_stalled =
			c->remb_ref_us && bps * 100 <= c->remb_ref * 102;
		c->remb_ref = bps;
		c->remb_ref_us = now;
	}
	return c->remb_stalled;
}

/* A receiver's bandwidth estimate (REMB) for all it gets on t. A browser
 * lowers its estimate only when its path fills up (the delay grows:
 * it drops to 85 % of what arrives, before losses), or holds it there;
 * otherwise it climbs slowly towards 1.5 times what arrives, so a layer
 * just switched up is above the estimate for a while without being too
 * much. So: an estimate that fell, or has not risen for 2 s, and is under
 * 95 % of what t gets, takes the video consumer on the highest layer one
 * down, at most one step a second so the estimate can follow. (A fall
 * alone is not enough: behind a deep buffer the estimate may sit flat
 * below what is sent for a minute, never falling by a step.) 10 s without
 * such a step lets it try one up again, as after losses. */
static void on_remb(struct router *r, const struct webrtc_transport *t,
		    uint64_t bps)
{
	const uint64_t now = port_now_us();
	uint64_t getting = 0;
	struct consumer *top = NULL;
	bool fell = false;

	r->stats.remb_in++;
	for (struct le *le = r->producers.head; le; le = le->next) {
		struct producer *p = le->data;
		for (struct le *cl = p->consumers.head; cl; cl = cl->next) {
			struct consumer *c = cl->data;
			if (c->t != t)
				continue;
			/* a drop of 3 % or more (a browser reports one at
			 * once), or no rise for a while */
			fell = fell || bps * 100 < c->remb_prev * 97;
			c->remb_prev = bps;
			if (p->kind == MEDIA_VIDEO && remb_stalled(c, bps, now))
				fell = true;
			getting += consumer_bps(c);
			if (p->kind == MEDIA_VIDEO && c->current > 0 &&
			    (!top || consumer_bps(c) > consumer_bps(top)))
				top = c;
		}
	}
	port_log(PORT_LOG_DEBUG, "router: REMB %llu bit/s, getting %llu",
		 (unsigned long long)bps, (unsigned long long)getting);
	if (fell && getting && bps * 100 < getting * 95) {
		if (top && now - top->bw_changed_us >= BW_DOWN_HOLD_US) {
			top->bw_cap = top->current - 1;
			top->bw_changed_us = now;
			r->stats.layer_down_bw++;
			consumer_wants_keyframe_now(top);
		}
		return;
	}
	for (struct le *le = r->producers.head; le; le = le->next) {
		struct producer *p = le->data;
		for (struct le *cl = p->consumers.head; cl; cl = cl->next) {
			struct consumer *c = cl->data;
			int before;
			if (c->t != t || c->bw_cap >= (int)p->nlayers - 1 ||
			    now - c->bw_changed_us < LAYER_UP_AFTER_US)
				continue;
			before = wanted(c);
			c->bw_cap++;
			c->bw_changed_us = now;
			r->stats.layer_up_bw++;
			if (wanted(c) != before)
				consumer_wants_keyframe_now(c);
		}
	}
}

/* A receiver's report on a consumer's stream: the share of packets its
 * link lost. A link that keeps losing more than 10 % cannot take the layer
 * it gets (a congested path drops what does not fit): go one down. After
 * 10 s under 2 %, try one up again; if that is too much, the losses say
 * so. */
static void on_consumer_loss(struct router *r, struct consumer *c,
			     uint8_t fraction)
{
	const uint64_t now = port_now_us();
	const int top = c->p ? (int)c->p->nlayers - 1 : 0;
	const int before = wanted(c);

	if (!c->p || top == 0)
		return;
	if (fraction > LOSS_HIGH) {
		if (++c->lossy_reports >= LOSS_HIGH_REPORTS && c->current > 0) {
			c->cap = c->current - 1;
			c->cap_changed_us = now;
			c->lossy_reports = 0;
			r->stats.layer_down++;
		}
	} else {
		c->lossy_reports = 0;
		if (fraction < LOSS_LOW && c->cap < top &&
		    now - c->cap_changed_us >= LAYER_UP_AFTER_US) {
			c->cap++;
			c->cap_changed_us = now;
			r->stats.layer_up++;
		}
	}
	if (wanted(c) != before)
		consumer_wants_keyframe_now(c);
}

/* Report blocks (RFC 3550 6.4.1) of an SR or RR a receiver sent: those
 * about our consumers' streams. */
static void on_report_blocks(struct router *r, const struct webrtc_transport *t,
			     const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++, b += 24) {
		struct consumer *c = consumer_of(r, t, be32(b));
		if (c)
			on_consumer_loss(r, c, b[4]);
	}
}

/* Reads a compound RTCP packet for what concerns our streams: keyframe
 * requests and NACKs. */
static void on_rtcp(struct router *r, struct webrtc_transport *t,
		    const uint8_t *b, size_t len)
{
	r->stats.rtcp_in++;
	while (len >= 4) {
		size_t plen = ((size_t)be16(b + 2) + 1) * 4;
		uint8_t fmt = b[0] & 0x1f, pt = b[1];
		if ((b[0] >> 6) != 2 || plen > len) {
			r->stats.drop_malformed++;
			return;
		}
		if (pt == 200 && plen >= 28) {
			on_sender_report(r, t, b);
			if (plen >= 28 + 24 * (size_t)(b[0] & 0x1f))
				on_report_blocks(r, t, b + 28, b[0] & 0x1f);
		}
		if (pt == 201 && plen >= 8 + 24 * (size_t)(b[0] & 0x1f))
			on_report_blocks(r, t, b + 8, b[0] & 0x1f);
		if (pt == 205 && fmt == 1 && plen >= 16) {
			struct consumer *c = consumer_of(r, t, be32(b + 8));
			if (c && !c->paused)
				on_nack(r, c, b + 12, plen - 12);
		}
		/* REMB (draft-alvestrand-rmcat-remb): PSFB FMT 15, "REMB",
		 * the SSRC count, then a 6-bit exponent and an 18-bit
		 * mantissa */
		if (pt == 206 && fmt == 15 && plen >= 20 &&
		    !memcmp(b + 12, "REMB", 4)) {
			uint32_t mant = ((uint32_t)(b[17] & 0x03) << 16) |
					((uint32_t)b[18] << 8) | b[19];
			unsigned exp = b[17] >> 2;
			on_remb(r, t,
				exp > 40 ? UINT64_MAX >> 8
					 : (uint64_t)mant << exp);
		}
		if (pt == 206 && (fmt == 1 || fmt == 4) && plen >= 12) {
			/* PLI names the stream in "media SSRC"; FIR in its
			 * FCI entry */
			uint32_t ssrc = fmt == 1 || plen < 20 ? be32(b + 8)
							      : be32(b + 12);
			struct consumer *c = consumer_of(r, t, ssrc);
			if (c)
				consumer_lost_picture(c);
		}
		b += plen;
		len -= plen;
	}
}

void router_packet(struct router *r, struct webrtc_transport *t, uint8_t *buf,
		   size_t len, size_t size, bool rtcp)
{
	struct rtp_view v;
	struct producer *p;
	struct uplink *up;
	int layer = 0;
	bool rtx = false;
	(void)size;

	if (!r || !t || !buf)
		return;
	if (rtcp) {
		on_rtcp(r, t, buf, len);
		return;
	}
	r->stats.rtp_in++;
	if (rtp_view_parse(&v, buf, len)) {
		r->stats.drop_malformed++;
		return;
	}
	up = uplink_of(r, t);
	if (up) {
		/* every packet counts, RTX and padding too: the sender's
		 * estimate is of the whole transport */
		const uint8_t *x;
		if (rtp_view_ext_find(&v, up->twcc_ext_id, &x) == 2) {
			twcc_recv_packet(&up->tw, be16(x), port_now_us());
			up->media_ssrc = v.ssrc;
		}
	}
	p = layer_of(r, t, &v, &layer, &rtx);
	if (!p) {
		/* FEC and streams nobody asked for */
		r->stats.drop_unknown_ssrc++;
		return;
	}
	if (rtx) {
		/* a retransmission we asked for: the original packet, to the
		 * buffer and the receivers. Anything else on RTX is the
		 * sender probing its bandwidth (padding, or packets we have)
		 * and goes no further. */
		if (v.pt != p->rtx_pt || v.payload_len < 2 ||
		    !close_missing(&p->layers[layer], be16(v.payload))) {
			r->stats.rtx_probe++;
			return;
		}
		r->stats.rtx_in++;
		v.seq = be16(v.payload);
		v.payload += 2;
		v.payload_len -= 2;
		v.ssrc = p->layers[layer].ssrc;
		v.pt = p->pt;
		if (!p->paused)
			forward(r, p, layer, &v);
		return;
	}
	if (p->kind == MEDIA_VIDEO)
		track_missing(r, p, &p->layers[layer], v.seq);
	p->packets++;
	p->layers[layer].packets++;
	p->layers[layer].last_us = port_now_us();
	layer_rate(&p->layers[layer], len, p->layers[layer].last_us);
	rx_update(&p->layers[layer].rx, &v,
		  p->kind == MEDIA_VIDEO ? 90000 : 48000,
		  p->layers[layer].last_us);
	if (p->level_ext_id) {
		const uint8_t *lv;
		if (rtp_view_ext_find(&v, p->level_ext_id, &lv) >= 1) {
			p->level_sum += lv[0] & 0x7f; /* level, without V */
			p->level_n++;
		}
	}
	if (!p->paused)
		forward(r, p, layer, &v);
}
