/* VP8 payload descriptor: keyframes, picture ID and TL0PICIDX. */
#include <errno.h>
#include <string.h>
#include "vp8.h"
#include "unit.h"

static void test_parse_and_rewrite(void)
{
	/* X, S, PID 0 | I L T | M + 15-bit picture ID 0x1234 | TL0 7 |
	 * TID | VP8 header with P=0 (key frame) */
	uint8_t key[] = {0x90, 0xe0, 0x80 | 0x12, 0x34, 7, 0x40, 0x10, 0, 0};
	uint8_t delta[] = {0x90, 0x80, 0x05, 0x01};
	struct vp8_desc d;

	CU_ASSERT_EQUAL_FATAL(vp8_desc_parse(&d, key, sizeof(key)), 0);
	CU_ASSERT_TRUE(d.start && d.keyframe && d.has_picture_id);
	CU_ASSERT_TRUE(d.picture_id_15bit);
	CU_ASSERT_EQUAL(d.picture_id, 0x1234);
	CU_ASSERT_TRUE(d.has_tl0);
	CU_ASSERT_EQUAL(d.tl0picidx, 7);
	CU_ASSERT_EQUAL(d.len, 6);
	vp8_desc_rewrite(key, &d, 0x7fff, 200);
	CU_ASSERT_EQUAL(key[2], 0xff);
	CU_ASSERT_EQUAL(key[3], 0xff);
	CU_ASSERT_EQUAL(key[4], 200);
	CU_ASSERT_EQUAL_FATAL(vp8_desc_parse(&d, key, sizeof(key)), 0);
	CU_ASSERT_EQUAL(d.picture_id, 0x7fff);

	/* 7-bit picture ID, P=1: not a key frame */
	CU_ASSERT_EQUAL_FATAL(vp8_desc_parse(&d, delta, sizeof(delta)), 0);
	CU_ASSERT_FALSE(d.keyframe);
	CU_ASSERT_FALSE(d.picture_id_15bit);
	CU_ASSERT_EQUAL(d.picture_id, 5);
	vp8_desc_rewrite(delta, &d, 0x1ff, 0); /* kept at 7 bits */
	CU_ASSERT_EQUAL(delta[2], 0x7f);
}

static void test_truncated(void)
{
	const uint8_t p[] = {0x90, 0xe0, 0x80 | 0x12, 0x34, 7, 0x40};
	struct vp8_desc d;
	for (size_t n = 0; n < 6; n++)
		CU_ASSERT_EQUAL(vp8_desc_parse(&d, p, n), EBADMSG);
	CU_ASSERT_EQUAL(vp8_desc_parse(&d, p, 6), 0);
	CU_ASSERT_FALSE(d.keyframe); /* no VP8 header byte to read */
}

static CU_TestInfo tests[] = {
	{"parse and rewrite", test_parse_and_rewrite},
	{"truncated descriptors refused", test_truncated},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("vp8", tests, NULL, NULL)
