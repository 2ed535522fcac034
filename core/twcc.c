/*
 * twcc.c - transport-wide feedback packets.
 *
 * A feedback packet reports a run of sequence numbers from `base`: one
 * status symbol each (not received, received with a small delta, received
 * with a large delta), packed into 16-bit chunks, then the arrival deltas
 * in 250 us units, the first from a reference time in 64 ms units. Runs of
 * one symbol go in run-length chunks, the rest in two-bit status vectors.
 */
#include <string.h>
#include "packet.h"
#include "twcc.h"

enum {
	UNIT_US = 250,
	REF_UNITS = 256, /* 64 ms in 250 us units */
	HEADER = 20,
	SYM_LOST = 0,
	SYM_SMALL = 1, /* delta 0..63.75 ms, one byte */
	SYM_LARGE = 2, /* signed 16-bit delta, two bytes */
	RUN_MIN = 7,   /* shorter runs go in a status vector */
	RUN_MAX = 8191,
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

void twcc_recv_init(struct twcc_recv *tw)
{
	if (tw)
		memset(tw, 0, sizeof(*tw));
}

void twcc_recv_packet(struct twcc_recv *tw, uint16_t seq, uint64_t at_us)
{
	struct twcc_arrival *a;

	if (!tw)
		return;
	if (!tw->started) {
		tw->started = true;
		tw->base = tw->max = seq;
	} else if (rtp_seq_newer(seq, tw->max)) {
		tw->max = seq;
		/* more than the window unreported: the oldest go unreported */
		if ((uint16_t)(tw->max - tw->base) >= TWCC_WINDOW)
			tw->base = (uint16_t)(tw->max - TWCC_WINDOW + 1);
	} else if (rtp_seq_newer(tw->base, seq)) {
		return; /* reported already (as lost): too late to matter */
	}
	a = &tw->slot[seq % TWCC_WINDOW];
	a->got = true;
	a->seq = seq;
	a->at_us = at_us;
	tw->pending = true;
}

static const struct twcc_arrival *arrival(const struct twcc_recv *tw,
					  uint16_t seq)
{
	const struct twcc_arrival *a = &tw->slot[seq % TWCC_WINDOW];
	return a->got && a->seq == seq ? a : NULL;
}

/* Status chunks for count symbols at p; returns the bytes written. */
static size_t write_chunks(uint8_t *p, const uint8_t *sym, size_t count)
{
	size_t i = 0, n = 0;
	while (i < count) {
		size_t run = 1;
		uint16_t chunk;
		while (i + run < count && sym[i + run] == sym[i] &&
		       run < RUN_MAX)
			run++;
		if (run >= RUN_MIN) {
			chunk = (uint16_t)((sym[i] << 13) | run);
			i += run;
		} else {
			chunk = 0xc000; /* status vector of 7 two-bit symbols */
			for (size_t k = 0; k < 7; k++)
				if (i + k < count)
					chunk |= (uint16_t)(sym[i + k]
							    << (2 * (6 - k)));
			i += 7;
		}
		put16(p + n, chunk);
		n += 2;
	}
	return n;
}

/* The symbols and receive deltas of one feedback, from tw->base on: as
 * many as fit `size` bytes, up to a delta too large to say (the next
 * feedback starts there). Returns the count of symbols. */
struct fb_symbols {
	uint8_t sym[TWCC_WINDOW];
	int16_t delta[TWCC_WINDOW];
	size_t ndelta, delta_bytes;
};

static uint16_t symbols_fill(const struct twcc_recv *tw, int64_t ref,
			     size_t size, struct fb_symbols *fs)
{
	const uint16_t span = (uint16_t)(tw->max - tw->base + 1);
	int64_t prev = ref * REF_UNITS;
	uint16_t count = 0;

	for (uint16_t i = 0; i < span; i++) {
		const struct twcc_arrival *a =
			arrival(tw, (uint16_t)(tw->base + i));
		int64_t units = 0, d = 0;
		uint8_t s = SYM_LOST;
		size_t need;
		if (a) {
			units = (int64_t)(a->at_us / UNIT_US);
			d = units - prev;
			if (d >= 0 && d <= 255)
				s = SYM_SMALL;
			else if (d >= -32768 && d <= 32767)
				s = SYM_LARGE;
			else
				break;
		}
		/* worst case: every chunk a status vector */
		need = HEADER + 2 * (((size_t)count + 1 + 6) / 7) +
		       fs->delta_bytes + s;
		if (((need + 3) & ~(size_t)3) > size)
			break;
		fs->sym[count++] = s;
		if (a) {
			fs->delta[fs->ndelta++] = (int16_t)d;
			fs->delta_bytes += s;
			prev = units;
		}
	}
	return count;
}

/* Padding (RFC 3550 6.4.1: zeros, the last byte their count) and the
 * header of a feedback of len bytes; returns its padded length. */
static size_t feedback_close(struct twcc_recv *tw, uint8_t *buf, size_t len,
			     uint32_t sender_ssrc, uint32_t media_ssrc,
			     uint16_t count, int64_t ref)
{
	size_t pad = (4 - len % 4) % 4;
	if (pad) {
		memset(buf + len, 0, pad);
		len += pad;
		buf[len - 1] = (uint8_t)pad;
	}
	buf[0] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | 15);
	buf[1] = 205;
	put16(buf + 2, (uint16_t)(len / 4 - 1));
	put32(buf + 4, sender_ssrc);
	put32(buf + 8, media_ssrc);
	put16(buf + 12, tw->base);
	put16(buf + 14, count);
	put32(buf + 16, ((uint32_t)ref << 8) | tw->fb_count);
	return len;
}

size_t twcc_recv_feedback(struct twcc_recv *tw, uint32_t sender_ssrc,
			  uint32_t media_ssrc, uint8_t *buf, size_t size)
{
	struct fb_symbols fs;
	const struct twcc_arrival *first = NULL;
	uint16_t span, count;
	size_t len;
	int64_t ref;

	if (!tw || !buf || !tw->pending || size < HEADER + 4)
		return 0;
	span = (uint16_t)(tw->max - tw->base + 1);
	for (uint16_t i = 0; i < span && !first; i++)
		first = arrival(tw, (uint16_t)(tw->base + i));
	if (!first) {
		tw->pending = false;
		return 0;
	}
	ref = (int64_t)(first->at_us / (REF_UNITS * UNIT_US));
	fs.ndelta = fs.delta_bytes = 0;
	count = symbols_fill(tw, ref, size, &fs);
	if (!count)
		return 0;
	len = HEADER + write_chunks(buf + HEADER, fs.sym, count);
	for (size_t i = 0, k = 0; i < count; i++) {
		if (fs.sym[i] == SYM_SMALL) {
			buf[len++] = (uint8_t)fs.delta[k++];
		} else if (fs.sym[i] == SYM_LARGE) {
			put16(buf + len, (uint16_t)fs.delta[k++]);
			len += 2;
		}
	}
	len = feedback_close(tw, buf, len, sender_ssrc, media_ssrc, count, ref);
	tw->fb_count++;
	tw->base = (uint16_t)(tw->base + count);
	if (tw->base == (uint16_t)(tw->max + 1))
		tw->pending = false;
	return len;
}
