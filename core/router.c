/*
 * router.c - forwarding between the transports of one call: producers and
 * consumers, keyframes asked for, the layer each consumer forwards, and
 * the packet path.
 *
 * Per packet: find the producer layer by SSRC (or bind a RID-announced
 * layer to its SSRC on its first packet), keep it for NACKs, then for each
 * consumer forwarding that layer rewrite and send. No allocation on this
 * path; one scratch buffer per router. Packets arrive in router_input.c;
 * router_history.c keeps them for NACKs, router_feedback.c tells senders
 * (router_impl.h is what the files share).
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
#include "router_impl.h"

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
	if (p->r && p->r->speaker == p)
		p->r->speaker = NULL;
	mem_deref(p->up);
	for (size_t i = 0; i < p->nlayers; i++)
		history_free(&p->layers[i].hist);
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
int consumer_wanted_layer(const struct consumer *c)
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

bool layer_needed(const struct producer *p, int layer, uint64_t now)
{
	if (p->nlayers < 2)
		return true;
	if (p->paused)
		return false;
	for (struct le *le = p->consumers.head; le; le = le->next) {
		const struct consumer *c = le->data;
		if (c->paused)
			continue;
		if (c->current == NO_LAYER || c->current == layer ||
		    layer_within(p, consumer_wanted_layer(c), now) == layer)
			return true;
	}
	return false;
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
				 layer_within(c->p, consumer_wanted_layer(c),
					      port_now_us()));
}

/* The same, past the PLI interval: a consumer that starts, or whose layer
 * must change, waits on this keyframe, not on another receiver's
 * request. */
void consumer_wants_keyframe_now(struct consumer *c)
{
	if (!c->p || c->paused || !can_receive(c))
		return;
	c->p->last_pli_us = 0;
	consumer_wants_keyframe(c);
}

/* A receiver that lost its picture needs a keyframe of what it receives
 * now (a layer the sender stopped sending would never answer). */
void consumer_lost_picture(struct consumer *c)
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
	if (consumer_wanted_layer(c) != c->current)
		consumer_wants_keyframe_now(c);
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
struct producer *router_layer_bound(struct router *r,
				    const struct webrtc_transport *t,
				    uint32_t ssrc, int *layer, bool *rtx)
{
	for (struct le *le = r->producers.head; le; le = le->next) {
		struct producer *p = le->data;
		if (p->t != t)
			continue;
		for (size_t i = 0; i < p->nlayers; i++) {
			const struct layer *l = &p->layers[i];
			if (l->ssrc == ssrc || l->rtx_ssrc == ssrc) {
				*layer = (int)i;
				*rtx = l->rtx_ssrc == ssrc;
				return p;
			}
		}
	}
	return NULL;
}

struct producer *router_layer_of(struct router *r,
				 const struct webrtc_transport *t,
				 const struct rtp_view *v, int *layer,
				 bool *rtx)
{
	struct producer *bound = router_layer_bound(r, t, v->ssrc, layer, rtx);
	if (bound)
		return bound;
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
int consumer_send(struct router *r, struct consumer *c, uint16_t seq,
		  uint32_t ts, uint8_t marker, const uint8_t *payload,
		  size_t len, const struct vp8_desc *vd, bool resend)
{
	const bool rtx = resend && c->rtx_ssrc;
	/* the fixed header, abs-send-time when the receiver estimates its
	 * bandwidth with it, RTX's original sequence number */
	const size_t base = c->ast_id ? 20 : 12;
	const size_t hdr = rtx ? base + 2 : base, n = hdr + len;
	uint8_t *o = r->out;
	/* read once a copy: the send time and the consumer's last */
	const uint64_t now = port_now_us();
	uint16_t oseq = (uint16_t)(seq + c->seq_off);
	uint32_t ots = ts + c->ts_off;

	if (n + SRTP_PAIR_TRAILER > sizeof(r->out))
		return EMSGSIZE;
	o[0] = c->ast_id ? 0x90 : 0x80;
	if (c->ast_id) {
		/* RFC 8285 one-byte block of one word: send time in seconds,
		 * 6.18 fixed point, 24 bits */
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
		c->last_us = now;
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

/* A layer's bitrate as it arrives, over windows of RATE_WINDOW_US. */
void layer_rate_update(struct layer *l, size_t len, uint64_t now)
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
		if (l->hist.bytes)
			history_fit(l);
	}
}

void router_forward(struct router *r, struct producer *p, int layer,
		    const struct rtp_view *v)
{
	const uint64_t now = port_now_us();
	struct layer *l = &p->layers[layer];
	struct vp8_desc vd, *vdp = NULL;

	if (p->kind == MEDIA_VIDEO)
		history_keep(l, v);
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
			int want =
				layer_within(p, consumer_wanted_layer(c), now);
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
				if (consumer_send(r, c, v->seq, v->ts,
						  v->marker, v->payload,
						  v->payload_len, vdp, false)) {
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
		(void)consumer_send(r, c, v->seq, v->ts, v->marker, v->payload,
				    v->payload_len, vdp, false);
	}
}
