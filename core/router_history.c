/*
 * router_history.c - the video packets a layer keeps to answer receivers'
 * NACKs: a second of the layer, its payloads back to back in a ring of
 * bytes sized to its bitrate, found through slots sized to its packet
 * rate. A slot of a whole packet's room each (1.2 kB) held a 1 kB packet
 * in 1.2 kB, and a low layer's half-empty packets in as much.
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

/* Whether the packet a slot names is still in the bytes: no more than
 * cap bytes were kept from its first on. */
static bool kept_whole(const struct history *h, const struct kept *k)
{
	return k->used && h->head - k->at <= h->cap;
}

/* Where the next packet of len bytes goes: the tail of bytes when it fits
 * there, else the start (the tail skipped, counted as kept). */
static uint32_t place(struct history *h, uint16_t len)
{
	uint32_t off = (uint32_t)(h->head % h->cap);
	if (off + len > h->cap) {
		h->head += h->cap - off;
		off = 0;
	}
	return off;
}

static void keep(struct history *h, uint16_t seq, uint32_t ts, uint8_t marker,
		 const uint8_t *payload, uint16_t len)
{
	const uint32_t off = place(h, len);
	h->slot[seq % h->nslot] = (struct kept){.at = h->head,
						.ts = ts,
						.seq = seq,
						.len = len,
						.marker = marker,
						.used = true};
	memcpy(h->bytes + off, payload, len);
	h->head += len;
	h->last_seq = seq;
}

/* A history of cap bytes and nslot slots, holding what the old one held,
 * oldest first, so where the new one is smaller the newest stay. Slots
 * are seq % nslot: a count that does not divide 65536 loses a few
 * packets' history once per wrap, no more. */
static void resize(struct history *h, uint32_t cap, uint16_t nslot)
{
	struct history n = {
		.cap = cap, .nslot = nslot, .last_seq = h->last_seq};
	n.bytes = mem_alloc(cap, NULL);
	n.slot = mem_zalloc(nslot * sizeof(*n.slot), NULL);
	if (!n.bytes || !n.slot) {
		history_free(&n);
		return; /* the old one serves on */
	}
	for (uint16_t back = h->nslot; h->bytes && back > 0; back--) {
		const uint16_t seq = (uint16_t)(h->last_seq - (back - 1));
		const struct kept *k = &h->slot[seq % h->nslot];
		if (k->seq == seq && kept_whole(h, k))
			keep(&n, seq, k->ts, k->marker,
			     h->bytes + k->at % h->cap, k->len);
	}
	history_free(h);
	*h = n;
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Whether a history of have (slots or bytes) should be resized for want:
 * up past a sixteenth more (a layer's rate moves a little from one
 * window to the next: each move would copy the history), down under
 * half. */
static bool refit(uint32_t want, uint32_t have)
{
	return want > have + have / 16 || 2 * want < have;
}

/* RING_KEEP_MS of the layer at its measured rates. The bitrate counts
 * headers too: a margin of a few percent over the payloads it sizes. */
void history_fit(struct layer *l)
{
	struct history *h = &l->hist;
	const uint32_t slots =
		clamp((l->pps * RING_KEEP_MS + 999) / 1000, RING_MIN, RING_MAX);
	const uint32_t bytes =
		clamp((uint32_t)((uint64_t)l->bps / 8 * RING_KEEP_MS / 1000) +
			      RING_PAYLOAD,
		      RING_MIN_BYTES, RING_MAX_BYTES);
	if (refit(slots, h->nslot) || refit(bytes, h->cap))
		resize(h, bytes, (uint16_t)slots);
}

void history_keep(struct layer *l, const struct rtp_view *v)
{
	struct history *h = &l->hist;
	if (!h->bytes)
		resize(h, RING_FIRST_BYTES, RING_FIRST);
	if (!h->bytes || v->payload_len > RING_PAYLOAD)
		return;
	keep(h, v->seq, v->ts, v->marker, v->payload, (uint16_t)v->payload_len);
}

bool history_find(const struct layer *l, uint16_t seq, struct kept_packet *k)
{
	const struct history *h = l ? &l->hist : NULL;
	const struct kept *s;
	if (!h || !h->bytes)
		return false;
	s = &h->slot[seq % h->nslot];
	if (s->seq != seq || !kept_whole(h, s))
		return false;
	*k = (struct kept_packet){.payload = h->bytes + s->at % h->cap,
				  .seq = s->seq,
				  .len = s->len,
				  .ts = s->ts,
				  .marker = s->marker};
	return true;
}

void history_free(struct history *h)
{
	h->bytes = mem_deref(h->bytes);
	h->slot = mem_deref(h->slot);
}
