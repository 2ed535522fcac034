/* Engine.IO v4 codec: payload splitting, packet checks, binary packets. */
#include <string.h>
#include <errno.h>
#include "eio.h"
#include "base64url.h"
#include "unit.h"

struct seen {
	int n;
	char types[8];
	char data[8][32];
};

static void collect(char type, const char *data, size_t len, void *arg)
{
	struct seen *s = arg;
	if (s->n < 8) {
		s->types[s->n] = type;
		memcpy(s->data[s->n], data, len < 31 ? len : 31);
		s->data[s->n][len < 31 ? len : 31] = '\0';
	}
	s->n++;
}

static void test_payload_split(void)
{
	struct seen s = {0};
	const char p[] = "40{\"token\":\"a\"}\x1e"
			 "3\x1e"
			 "42[\"x\",1]";
	CU_ASSERT_EQUAL(eio_payload_decode(p, strlen(p), collect, &s), 3);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(s.types[0], '4');
	CU_ASSERT_STRING_EQUAL(s.data[0], "0{\"token\":\"a\"}");
	CU_ASSERT_EQUAL(s.types[1], '3');
	CU_ASSERT_STRING_EQUAL(s.data[1], "");
	CU_ASSERT_STRING_EQUAL(s.data[2], "2[\"x\",1]");
}

static void test_payload_malformed_dropped_whole(void)
{
	struct seen s = {0};
	/* one bad packet (type 9) among good ones: nothing is delivered */
	const char p[] = "3\x1e"
			 "9hello\x1e"
			 "42[\"x\"]";
	CU_ASSERT_EQUAL(eio_payload_decode(p, strlen(p), collect, &s), -1);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(eio_payload_decode("", 0, collect, &s), -1);
	CU_ASSERT_EQUAL(eio_payload_decode("4x\x1e", 3, collect, &s), -1);
	/* a binary packet must be padded base64 */
	CU_ASSERT_EQUAL(eio_payload_decode("bAQIDB", 6, collect, &s), -1);
	CU_ASSERT_EQUAL(eio_payload_decode("bAQ=D", 5, collect, &s), -1);
	CU_ASSERT_EQUAL(eio_payload_decode("bAQI*", 5, collect, &s), -1);
	CU_ASSERT_EQUAL(s.n, 0);
}

/* Text and binary packets in one payload, as the protocol's suite sends
 * them: the binary one's type is 'b' and its data the base64. */
static void test_payload_binary(void)
{
	struct seen s = {0};
	const char p[] = "4hello\x1e"
			 "bAQIDBA==";
	CU_ASSERT_EQUAL(eio_payload_decode(p, strlen(p), collect, &s), 2);
	CU_ASSERT_EQUAL(s.types[1], 'b');
	CU_ASSERT_STRING_EQUAL(s.data[1], "AQIDBA==");
	CU_ASSERT_TRUE(eio_packet_valid("b", 1)); /* no bytes */
	CU_ASSERT_TRUE(eio_packet_valid("bAQI=", 5));
	CU_ASSERT_TRUE(eio_packet_valid("bAQ==", 5));
	CU_ASSERT_FALSE(eio_packet_valid("bA===", 5));
	CU_ASSERT_FALSE(eio_packet_valid("bA=E=", 5));
	CU_ASSERT_FALSE(eio_packet_valid("b=AAA", 5));
	CU_ASSERT_FALSE(eio_packet_valid("bAAA", 4));
}

/* base64 with padding, both ways (Engine.IO's binary on polling). */
static void test_base64_padded(void)
{
	const uint8_t bytes[] = {1, 2, 3, 4};
	uint8_t back[8];
	char text[16];
	size_t n = sizeof(text);

	CU_ASSERT_EQUAL(base64_encode_padded(bytes, 4, text, &n), 0);
	CU_ASSERT_STRING_EQUAL(text, "AQIDBA==");
	CU_ASSERT_EQUAL(n, base64_padded_len(4));
	n = sizeof(back);
	CU_ASSERT_EQUAL(base64_decode_padded("AQIDBA==", 8, back, &n), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(back, bytes, 4), 0);
	n = sizeof(back);
	CU_ASSERT_EQUAL(base64_decode_padded("AQIDBA=", 7, back, &n), EBADMSG);
	n = 2;
	CU_ASSERT_EQUAL(base64_decode_padded("AQIDBA==", 8, back, &n),
			EOVERFLOW);
	n = 8; /* room for 8 characters but not the NUL */
	CU_ASSERT_EQUAL(base64_encode_padded(bytes, 4, text, &n), EOVERFLOW);
}

static void test_packet_valid(void)
{
	CU_ASSERT_TRUE(eio_packet_valid("2probe", 6));
	CU_ASSERT_TRUE(eio_packet_valid("3", 1));
	CU_ASSERT_TRUE(eio_packet_valid("5", 1));
	CU_ASSERT_TRUE(eio_packet_valid("4", 1));
	CU_ASSERT_FALSE(eio_packet_valid("5x", 2));
	CU_ASSERT_FALSE(eio_packet_valid("2probes", 7));
	CU_ASSERT_FALSE(eio_packet_valid("0{}", 3)); /* open: server only */
	CU_ASSERT_FALSE(eio_packet_valid("", 0));
	CU_ASSERT_FALSE(eio_packet_valid(NULL, 3));
}

static CU_TestInfo tests[] = {
	{"payload split", test_payload_split},
	{"malformed payload dropped whole",
	 test_payload_malformed_dropped_whole},
	{"packet checks", test_packet_valid},
	{"binary packets in a payload", test_payload_binary},
	{"base64 with padding", test_base64_padded},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("eio", tests, NULL, NULL)
