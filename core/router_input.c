/*
 * router_input.c - what reaches the router from its transports: RTP is
 * counted for the sender's feedback, its holes tracked and its layer's
 * rate measured, then forwarded (router.c); RTCP is read here: NACKs
 * answered from the history, sender reports, bandwidth estimates (REMB)
 * and loss reports that move a consumer's simulcast layer.
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
			struct kept_packet k;
			struct vp8_desc vd;
			bool has;
			uint16_t seq;
			if (i >= 0 && !(blp & (1u << i)))
				continue;
			seq = (uint16_t)(pid + (i + 1) - c->seq_off);
			r->stats.nack_requested++;
			if (!history_find(l, seq, &k)) {
				r->stats.nack_missed++;
				continue;
			}
			has = p->vp8 && !vp8_desc_parse(&vd, k.payload, k.len);
			if (!consumer_send(r, c, k.seq, k.ts, k.marker,
					   k.payload, k.len, has ? &vd : NULL,
					   true))
				r->stats.nack_resent++;
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
			before = consumer_wanted_layer(c);
			c->bw_cap++;
			c->bw_changed_us = now;
			r->stats.layer_up_bw++;
			if (consumer_wanted_layer(c) != before)
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
	const int before = consumer_wanted_layer(c);

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
	if (consumer_wanted_layer(c) != before)
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
static void router_rtcp(struct router *r, struct webrtc_transport *t,
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

/* A packet's arrival, for the feedback to its sender: every packet
 * counts, RTX and padding too, as the sender's estimate is of the whole
 * transport. */
static void twcc_arrival(struct router *r, const struct webrtc_transport *t,
			 const struct rtp_view *v, uint64_t now)
{
	struct uplink *up = uplink_find(r, t);
	const uint8_t *x;
	if (up && rtp_view_ext_find(v, up->twcc_ext_id, &x) == 2) {
		twcc_recv_packet(&up->tw, be16(x), now);
		up->media_ssrc = v->ssrc;
	}
}

/* A packet's share of its layer's counts, bitrate and receive statistics
 * (len: its header and payload), arrived at `now`. */
static void layer_arrival(struct producer *p, int layer,
			  const struct rtp_view *v, size_t len, uint64_t now)
{
	struct layer *l = &p->layers[layer];
	p->packets++;
	l->packets++;
	l->last_us = now;
	layer_rate_update(l, len, l->last_us);
	rx_stats_update(&l->rx, v, p->kind == MEDIA_VIDEO ? 90000 : 48000,
			l->last_us);
}

bool router_rtp_peek(struct router *r, struct webrtc_transport *t,
		     const uint8_t *buf, size_t len)
{
	struct rtp_view v;
	struct producer *p;
	struct layer *l;
	int layer = 0;
	bool rtx = false;
	uint64_t now;

	/* padding's length is in the encrypted payload's last byte */
	if (!r || !t || !buf || rtp_view_parse(&v, buf, len) || v.padding)
		return true;
	p = router_layer_bound(r, t, v.ssrc, &layer, &rtx);
	if (!p || rtx)
		return true;
	l = &p->layers[layer];
	/* the clock once: a read costs as much as the rest of a peek */
	now = port_now_us();
	if (!l->clear_seen || (uint16_t)(v.seq - l->clear_seq) >= CLEAR_EVERY ||
	    layer_needed(p, layer, now))
		return true;
	r->stats.rtp_in++;
	r->stats.rtp_header_only++;
	twcc_arrival(r, t, &v, now);
	layer_arrival(p, layer, &v, len, now);
	return false;
}

void router_packet(struct router *r, struct webrtc_transport *t, uint8_t *buf,
		   size_t len, size_t size, bool rtcp)
{
	struct rtp_view v;
	struct producer *p;
	int layer = 0;
	bool rtx = false;
	uint64_t now;
	(void)size;

	if (!r || !t || !buf)
		return;
	if (rtcp) {
		router_rtcp(r, t, buf, len);
		return;
	}
	r->stats.rtp_in++;
	if (rtp_view_parse(&v, buf, len)) {
		r->stats.drop_malformed++;
		return;
	}
	now = port_now_us();
	twcc_arrival(r, t, &v, now);
	p = router_layer_of(r, t, &v, &layer, &rtx);
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
		    !missing_close(&p->layers[layer], be16(v.payload))) {
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
			router_forward(r, p, layer, &v);
		return;
	}
	if (p->kind == MEDIA_VIDEO)
		missing_track(r, p, &p->layers[layer], v.seq);
	p->layers[layer].clear_seen = true;
	p->layers[layer].clear_seq = v.seq;
	layer_arrival(p, layer, &v, len, now);
	if (p->level_ext_id) {
		const uint8_t *lv;
		if (rtp_view_ext_find(&v, p->level_ext_id, &lv) >= 1) {
			p->level_sum += lv[0] & 0x7f; /* level, without V */
			p->level_n++;
		}
	}
	if (!p->paused)
		router_forward(r, p, layer, &v);
}
