/*
 * test_twcc.c - transport-wide feedback: what twcc_recv writes is decoded
 * here with a reader written from the draft, and must give back which
 * packets arrived and when (to the 250 us unit).
 */
#include <string.h>
#include "twcc.h"
#include "unit.h"

struct decoded {
	uint16_t base, count;
	uint8_t fb_count;
	uint32_t sender, media;
	int64_t ref_us;
	bool got[TWCC_WINDOW];
	int64_t at_us[TWCC_WINDOW]; /* reference + deltas */
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)rd16(p) << 16) | rd16(p + 2);
}

/* Returns 0 when the packet is a well-formed feedback packet. */
static int decode(struct decoded *d, const uint8_t *b, size_t len)
{
	uint8_t sym[TWCC_WINDOW];
	size_t n = 0, pos = 20, end = len;
	int64_t t;

	memset(d, 0, sizeof(*d));
	if (len < 20 || len % 4 || (b[0] >> 6) != 2 || (b[0] & 0x1f) != 15 ||
	    b[1] != 205 || ((size_t)rd16(b + 2) + 1) * 4 != len)
		return -1;
	if (b[0] & 0x20)
		end -= b[len - 1]; /* RTCP padding */
	d->sender = rd32(b + 4);
	d->media = rd32(b + 8);
	d->base = rd16(b + 12);
	d->count = rd16(b + 14);
	d->ref_us = (int64_t)(rd32(b + 16) >> 8) * 64000;
	d->fb_count = b[19];
	if (d->count > TWCC_WINDOW)
		return -1;
	while (n < d->count) {
		uint16_t c;
		if (pos + 2 > end)
			return -1;
		c = rd16(b + pos);
		pos += 2;
		if (!(c & 0x8000)) { /* run length */
			uint8_t s = (c >> 13) & 3;
			for (unsigned k = 0; k < (c & 0x1fffu) && n < d->count;
			     k++)
				sym[n++] = s;
		} else if (c & 0x4000) { /* 7 two-bit symbols */
			for (int k = 6; k >= 0 && n < d->count; k--)
				sym[n++] = (c >> (2 * k)) & 3;
		} else { /* 14 one-bit symbols */
			for (int k = 13; k >= 0 && n < d->count; k--)
				sym[n++] = (c >> k) & 1;
		}
	}
	t = d->ref_us;
	for (size_t i = 0; i < n; i++) {
		if (sym[i] == 1) {
			if (pos + 1 > end)
				return -1;
			t += b[pos++] * 250;
		} else if (sym[i] == 2) {
			if (pos + 2 > end)
				return -1;
			t += (int16_t)rd16(b + pos) * 250;
			pos += 2;
		} else if (sym[i] != 0)
			return -1;
		d->got[i] = sym[i] != 0;
		d->at_us[i] = t;
	}
	return end - pos < 4 ? 0 : -1; /* at most alignment left */
}

static int64_t units(uint64_t us)
{
	return (int64_t)(us / 250) * 250;
}

static void test_in_order(void)
{
	static struct twcc_recv tw;
	struct decoded d;
	uint8_t buf[1200];
	size_t len;
	const uint64_t t0 = 10000000123;

	twcc_recv_init(&tw);
	CU_ASSERT_EQUAL(twcc_recv_feedback(&tw, 1, 2, buf, sizeof(buf)), 0);
	for (uint16_t i = 0; i < 100; i++)
		twcc_recv_packet(&tw, (uint16_t)(65500 + i), t0 + i * 1000u);
	len = twcc_recv_feedback(&tw, 0x11223344, 0x55667788, buf, sizeof(buf));
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_EQUAL_FATAL(decode(&d, buf, len), 0);
	CU_ASSERT_EQUAL(d.sender, 0x11223344);
	CU_ASSERT_EQUAL(d.media, 0x55667788);
	CU_ASSERT_EQUAL(d.base, 65500);
	CU_ASSERT_EQUAL(d.count, 100);
	CU_ASSERT_EQUAL(d.fb_count, 0);
	for (int i = 0; i < 100; i++) {
		CU_ASSERT(d.got[i]);
		CU_ASSERT_EQUAL(d.at_us[i], units(t0 + (uint64_t)i * 1000u));
	}
	/* all reported: nothing more until the next packet */
	CU_ASSERT_EQUAL(twcc_recv_feedback(&tw, 1, 2, buf, sizeof(buf)), 0);
	twcc_recv_packet(&tw, 64, t0 + 200000);
	len = twcc_recv_feedback(&tw, 1, 2, buf, sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(decode(&d, buf, len), 0);
	CU_ASSERT_EQUAL(d.base, 64); /* 65500 + 100 wrapped */
	CU_ASSERT_EQUAL(d.count, 1);
	CU_ASSERT_EQUAL(d.fb_count, 1);
}

static void test_loss_reorder_and_gaps(void)
{
	static struct twcc_recv tw;
	struct decoded d;
	uint8_t buf[1200];
	size_t len;
	const uint64_t t0 = 5000000;

	twcc_recv_init(&tw);
	/* 0..29 with 5, 6 and 20..27 lost, 12 arriving after 13, and a
	 * 300 ms pause before 28 (a large delta) */
	for (uint16_t s = 0; s < 28; s++) {
		if (s == 5 || s == 6 || (s >= 20 && s <= 27) || s == 12)
			continue;
		twcc_recv_packet(&tw, s, t0 + s * 2000u);
		if (s == 13)
			twcc_recv_packet(&tw, 12, t0 + 13 * 2000u + 500);
	}
	twcc_recv_packet(&tw, 28, t0 + 28 * 2000u + 300000);
	twcc_recv_packet(&tw, 29, t0 + 29 * 2000u + 300000);
	len = twcc_recv_feedback(&tw, 1, 2, buf, sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(decode(&d, buf, len), 0);
	CU_ASSERT_EQUAL(d.base, 0);
	CU_ASSERT_EQUAL(d.count, 30);
	for (int s = 0; s < 30; s++) {
		bool lost = s == 5 || s == 6 || (s >= 20 && s <= 27);
		CU_ASSERT_EQUAL(d.got[s], !lost);
	}
	CU_ASSERT_EQUAL(d.at_us[12], units(t0 + 13 * 2000u + 500));
	CU_ASSERT_EQUAL(d.at_us[13], units(t0 + 13 * 2000u));
	CU_ASSERT_EQUAL(d.at_us[28], units(t0 + 28 * 2000u + 300000));
	CU_ASSERT_EQUAL(d.at_us[29], units(t0 + 29 * 2000u + 300000));
	/* a late arrival of a packet reported lost is not reported again */
	twcc_recv_packet(&tw, 21, t0 + 400000);
	CU_ASSERT_EQUAL(twcc_recv_feedback(&tw, 1, 2, buf, sizeof(buf)), 0);
}

static void test_split_when_small(void)
{
	static struct twcc_recv tw;
	struct decoded d;
	uint8_t buf[64];
	size_t len;
	uint16_t next = 1000, total = 0;
	int packets = 0;

	twcc_recv_init(&tw);
	for (uint16_t i = 0; i < 300; i++)
		twcc_recv_packet(&tw, (uint16_t)(1000 + i),
				 1000000 + i * 40000u); /* 40 ms apart */
	while ((len = twcc_recv_feedback(&tw, 1, 2, buf, sizeof(buf)))) {
		CU_ASSERT_FATAL(len <= sizeof(buf));
		CU_ASSERT_EQUAL_FATAL(decode(&d, buf, len), 0);
		CU_ASSERT_EQUAL(d.base, next);
		for (int i = 0; i < d.count; i++) {
			CU_ASSERT(d.got[i]);
			CU_ASSERT_EQUAL(
				d.at_us[i],
				units(1000000 +
				      (uint64_t)(next - 1000 + i) * 40000u));
		}
		next = (uint16_t)(next + d.count);
		total = (uint16_t)(total + d.count);
		packets++;
		CU_ASSERT_FATAL(packets < 100);
	}
	CU_ASSERT_EQUAL(total, 300);
	CU_ASSERT(packets > 1);
}

static void test_window_overrun(void)
{
	static struct twcc_recv tw;
	struct decoded d;
	static uint8_t buf[4000];
	size_t len;

	twcc_recv_init(&tw);
	for (uint32_t i = 0; i < 3000; i++)
		twcc_recv_packet(&tw, (uint16_t)i, 1000000 + i * 100u);
	len = twcc_recv_feedback(&tw, 1, 2, buf, sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(decode(&d, buf, len), 0);
	/* only the newest window is reported */
	CU_ASSERT_EQUAL(d.base, 3000 - TWCC_WINDOW);
	CU_ASSERT_EQUAL(d.count, TWCC_WINDOW);
	CU_ASSERT(d.got[TWCC_WINDOW - 1]);
}

static CU_TestInfo tests[] = {
	{"arrivals in order, with wrap-around", test_in_order},
	{"loss, reordering and a long pause", test_loss_reorder_and_gaps},
	{"a small buffer splits the feedback", test_split_when_small},
	{"more than the window unreported", test_window_overrun},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("twcc", tests, NULL, NULL)
