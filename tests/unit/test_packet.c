/* core/packet: demultiplexing and the RTP header view. */
#include <errno.h>
#include <string.h>
#include "packet.h"
#include "unit.h"

static void test_classify(void)
{
	uint8_t stun[20] = {0x00, 0x01}, dtls[13] = {22, 0xfe, 0xfd};
	uint8_t rtp[12] = {0x80, 96}, rtcp[8] = {0x80, 200};
	uint8_t odd[12] = {70};
	CU_ASSERT_EQUAL(packet_classify(stun, sizeof(stun)), PACKET_STUN);
	CU_ASSERT_EQUAL(packet_classify(dtls, sizeof(dtls)), PACKET_DTLS);
	CU_ASSERT_EQUAL(packet_classify(rtp, sizeof(rtp)), PACKET_RTP);
	CU_ASSERT_EQUAL(packet_classify(rtcp, sizeof(rtcp)), PACKET_RTCP);
	CU_ASSERT_EQUAL(packet_classify(odd, sizeof(odd)), PACKET_UNKNOWN);
	CU_ASSERT_EQUAL(packet_classify(stun, 10), PACKET_UNKNOWN);
	CU_ASSERT_EQUAL(packet_classify(rtp, 9), PACKET_UNKNOWN);
	CU_ASSERT_EQUAL(packet_classify(NULL, 0), PACKET_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(packet_class_name(PACKET_RTCP), "rtcp");
}

static void test_rtp_view(void)
{
	/* V=2, X=1, CC=1, M=1 PT=96, seq 0x1234, ts, ssrc, csrc, ext with
	 * mid (id 1, "0") and audio level (id 3), then 3 bytes payload */
	uint8_t p[] = {0x91, 0xe0, 0x12, 0x34, 0,    0,    0x10, 0,    0xaa,
		       0xbb, 0xcc, 0xdd, 1,    2,    3,    4,    0xbe, 0xde,
		       0x00, 0x01, 0x10, '0',  0x30, 0x85, 'a',  'b',  'c'};
	struct rtp_view v;
	const uint8_t *d = NULL;
	CU_ASSERT_EQUAL_FATAL(rtp_view_parse(&v, p, sizeof(p)), 0);
	CU_ASSERT_EQUAL(v.pt, 96);
	CU_ASSERT_EQUAL(v.marker, 1);
	CU_ASSERT_EQUAL(v.seq, 0x1234);
	CU_ASSERT_EQUAL(v.ssrc, 0xaabbccdd);
	CU_ASSERT_EQUAL(v.csrc_count, 1);
	CU_ASSERT_EQUAL(v.header_len, 24);
	CU_ASSERT_EQUAL(v.payload_len, 3);
	CU_ASSERT_EQUAL(memcmp(v.payload, "abc", 3), 0);
	CU_ASSERT_EQUAL(rtp_view_ext_find(&v, 1, &d), 1);
	CU_ASSERT_EQUAL(d[0], '0');
	CU_ASSERT_EQUAL(rtp_view_ext_find(&v, 3, &d), 1);
	CU_ASSERT_EQUAL(d[0], 0x85);
	CU_ASSERT_EQUAL(rtp_view_ext_find(&v, 2, &d), 0);
}

static void test_rtp_malformed(void)
{
	uint8_t p[] = {0x91, 0xe0, 0x12, 0x34, 0,    0,   0x10, 0,
		       0xaa, 0xbb, 0xcc, 0xdd, 1,    2,   3,    4,
		       0xbe, 0xde, 0x00, 0x01, 0x10, '0', 0x30, 0x85};
	uint8_t pad[] = {0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'x', 0, 9};
	struct rtp_view v;
	/* every truncation of a valid header is refused, never read past */
	for (size_t n = 0; n < 24; n++)
		CU_ASSERT_EQUAL(rtp_view_parse(&v, p, n), EBADMSG);
	p[0] = 0x51; /* version 1 */
	CU_ASSERT_EQUAL(rtp_view_parse(&v, p, sizeof(p)), EBADMSG);
	/* padding count larger than the payload */
	CU_ASSERT_EQUAL(rtp_view_parse(&v, pad, sizeof(pad)), EBADMSG);
	pad[14] = 2;
	CU_ASSERT_EQUAL(rtp_view_parse(&v, pad, sizeof(pad)), 0);
	CU_ASSERT_EQUAL(v.payload_len, 1);
}

static void test_seq(void)
{
	CU_ASSERT_TRUE(rtp_seq_newer(1, 0));
	CU_ASSERT_TRUE(rtp_seq_newer(0, 65535));
	CU_ASSERT_FALSE(rtp_seq_newer(65535, 0));
	CU_ASSERT_FALSE(rtp_seq_newer(5, 5));
}

static CU_TestInfo tests[] = {
	{"demultiplex by first byte", test_classify},
	{"RTP header view", test_rtp_view},
	{"malformed RTP refused", test_rtp_malformed},
	{"sequence wrap-around", test_seq},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("packet", tests, NULL, NULL)
