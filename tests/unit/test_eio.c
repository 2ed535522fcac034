/* Engine.IO v4 codec: payload splitting and packet checks. */
#include <string.h>
#include "eio.h"
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
	/* binary (base64) packets are not supported */
	CU_ASSERT_EQUAL(eio_payload_decode("bAQID", 5, collect, &s), -1);
	CU_ASSERT_EQUAL(s.n, 0);
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
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("eio", tests, NULL, NULL)
