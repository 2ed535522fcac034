/*
 * router_history.c - the video packets a layer keeps to answer receivers'
 * NACKs: a ring of slots sized to a second of the layer's packet rate.
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
void history_fit(struct layer *l)
{
	uint32_t want = (l->pps * RING_KEEP_MS + 999) / 1000;
	if (want < RING_MIN)
		want = RING_MIN;
	if (want > RING_MAX)
		want = RING_MAX;
	if (want > l->ring_size || 2 * want < l->ring_size)
		ring_resize(l, (uint16_t)want);
}

void history_keep(struct layer *l, const struct rtp_view *v)
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

const struct ring_slot *history_find(const struct layer *l, uint16_t seq)
{
	const struct ring_slot *s;
	if (!l || !l->ring)
		return NULL;
	s = &l->ring[seq % l->ring_size];
	return s->used && s->seq == seq ? s : NULL;
}
