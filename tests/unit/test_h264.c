/* H264 payloads: key frames found in single NAL units, STAP-A and FU-A. */
#include "h264.h"
#include "unit.h"

static void test_keyframes(void)
{
	const uint8_t idr[] = {0x65, 0x88};
	const uint8_t p_slice[] = {0x41, 0x9a};
	const uint8_t stap_sps[] = {0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce};
	const uint8_t stap_bad[] = {0x78, 0, 9, 0x67};
	const uint8_t fu_start_idr[] = {0x7c, 0x85, 0xb8};
	const uint8_t fu_middle_idr[] = {0x7c, 0x05, 0xb8};
	const uint8_t fu_start_p[] = {0x7c, 0x81, 0x9a};

	CU_ASSERT_TRUE(h264_is_keyframe(idr, sizeof(idr)));
	CU_ASSERT_FALSE(h264_is_keyframe(p_slice, sizeof(p_slice)));
	CU_ASSERT_TRUE(h264_is_keyframe(stap_sps, sizeof(stap_sps)));
	CU_ASSERT_FALSE(h264_is_keyframe(stap_bad, sizeof(stap_bad)));
	CU_ASSERT_TRUE(h264_is_keyframe(fu_start_idr, sizeof(fu_start_idr)));
	CU_ASSERT_FALSE(h264_is_keyframe(fu_middle_idr, sizeof(fu_middle_idr)));
	CU_ASSERT_FALSE(h264_is_keyframe(fu_start_p, sizeof(fu_start_p)));
	CU_ASSERT_FALSE(h264_is_keyframe(idr, 0));
	CU_ASSERT_FALSE(h264_is_keyframe(fu_start_idr, 1));
}

static CU_TestInfo tests[] = {
	{"key frames", test_keyframes},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("h264", tests, NULL, NULL)
