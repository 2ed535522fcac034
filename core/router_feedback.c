/*
 * router_feedback.c - what the router tells senders: transport-wide
 * feedback (TWCC), NACKs for packets lost on their way in, receiver
 * reports; and which audio producer is loudest.
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

static void uplink_destructor(void *arg)
{
	struct uplink *up = arg;
	list_unlink(&up->le);
}

struct uplink *uplink_find(const struct router *r,
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
	up = uplink_find(p->r, p->t);
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

/* Quieter than this on average (-dBov) is silence, whatever the loudest.
 * The average takes a speaker's pauses in (127 each): someone talking at
 * -30 dBov half of the window averages 78, so 80, mediasoup's default
 * for its audio level observer (70 here missed Chromium's beeping test
 * microphone in most windows: 72-77 on average). */
enum { SPEAKING_DBOV = 80 };

/* How much louder on average (dB) another voice must be to take over from
 * a speaker still speaking: two voices alike, talking over each other,
 * would otherwise trade the speaker every window (each an announcement
 * to every page of the call). */
enum { TAKEOVER_DB = 6 };

struct producer *router_loudest(struct router *r)
{
	struct producer *best = NULL, *held = NULL;
	uint32_t best_level = SPEAKING_DBOV, held_level = SPEAKING_DBOV;
	for (struct le *le = r ? r->producers.head : NULL; le; le = le->next) {
		struct producer *p = le->data;
		if (p->level_n) {
			uint32_t avg = p->level_sum / p->level_n;
			if (avg < best_level) {
				best_level = avg;
				best = p;
			}
			if (p == r->speaker && avg < SPEAKING_DBOV) {
				held_level = avg;
				held = p;
			}
		}
		p->level_sum = p->level_n = 0;
	}
	if (held && best_level + TAKEOVER_DB > held_level)
		best = held;
	if (best) /* silence keeps the last speaker for when talk resumes */
		r->speaker = best;
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
bool missing_close(struct layer *l, uint16_t seq)
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
void missing_track(struct router *r, struct producer *p, struct layer *l,
		   uint16_t seq)
{
	uint16_t gap;

	if (!l->rx.init)
		return;
	if (!rtp_seq_newer(seq, l->rx.max_seq)) {
		(void)missing_close(l, seq);
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

void rx_stats_update(struct rx_stats *s, const struct rtp_view *v,
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
