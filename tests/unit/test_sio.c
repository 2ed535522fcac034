/* Socket.IO v5 codec: the shapes each packet type must have. */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "sio.h"
#include "unit.h"

static int dec(struct sio_packet *p, const char *s)
{
	return sio_packet_decode(p, s, strlen(s));
}

static void test_connect(void)
{
	struct sio_packet p;
	CU_ASSERT_EQUAL(dec(&p, "0"), 0);
	CU_ASSERT_EQUAL(p.type, SIO_CONNECT);
	CU_ASSERT_STRING_EQUAL(p.nsp, "/");
	CU_ASSERT_PTR_NULL(p.data);
	CU_ASSERT_EQUAL(dec(&p, "0{\"token\":\"abc\"}"), 0);
	CU_ASSERT_STRING_EQUAL(
		cJSON_GetObjectItem(p.data, "token")->valuestring, "abc");
	sio_packet_reset(&p);
	CU_ASSERT_EQUAL(dec(&p, "0/admin,{\"token\":\"t\"}"), 0);
	CU_ASSERT_STRING_EQUAL(p.nsp, "/admin");
	sio_packet_reset(&p);
	CU_ASSERT_EQUAL(dec(&p, "0[1]"), EBADMSG); /* auth must be an object */
}

static void test_event_with_ack(void)
{
	struct sio_packet p;
	CU_ASSERT_EQUAL(dec(&p, "212[\"call:join\",{\"callId\":\"c1\"}]"), 0);
	CU_ASSERT_EQUAL(p.type, SIO_EVENT);
	CU_ASSERT_EQUAL(p.id, 12);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(p.data), 2);
	sio_packet_reset(&p);
	CU_ASSERT_EQUAL(dec(&p, "2[\"ping\"]"), 0);
	CU_ASSERT_EQUAL(p.id, SIO_ACK_NONE);
	sio_packet_reset(&p);
	CU_ASSERT_EQUAL(dec(&p, "2/nsp,7[\"x\"]"), 0);
	CU_ASSERT_STRING_EQUAL(p.nsp, "/nsp");
	CU_ASSERT_EQUAL(p.id, 7);
	sio_packet_reset(&p);
}

static void test_malformed(void)
{
	struct sio_packet p;
	const char *bad[] = {
		"",                         /* empty */
		"7[\"x\"]",                 /* unknown type */
		"2",                        /* event without data */
		"2{\"a\":1}",               /* event data not an array */
		"2[]",                      /* no event name */
		"2[1,2]",                   /* name not a string */
		"2[\"x\"",                  /* broken JSON */
		"2[\"x\"]junk",             /* trailing bytes */
		"21234567890123456[\"x\"]", /* ack id too long */
		"3[]",                      /* ack without id */
		"1{}",                      /* disconnect with data */
		"4{\"message\":\"x\"}",     /* connect_error from a client */
		"5[\"x\"]",                 /* binary without attachments */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = dec(&p, bad[i]);
		if (err != EBADMSG)
			fprintf(stderr, "accepted bad packet '%s'\n", bad[i]);
		CU_ASSERT_EQUAL(err, EBADMSG);
		CU_ASSERT_PTR_NULL(p.data);
	}
	/* well-formed binary event: decodes, its attachments counted */
	CU_ASSERT_EQUAL(
		dec(&p, "51-[\"up\",{\"_placeholder\":true,\"num\":0}]"), 0);
	CU_ASSERT_EQUAL(p.type, SIO_BINARY_EVENT);
	CU_ASSERT_EQUAL(p.attachments, 1);
	sio_packet_reset(&p);
	/* more attachments than a packet may announce */
	CU_ASSERT_EQUAL(dec(&p, "517-[\"up\"]"), EBADMSG);
	CU_ASSERT_EQUAL(dec(&p, "5-[\"up\"]"), EBADMSG);
}

/* The suites' binary packets: count, namespace and ack id, both ways. */
static void test_binary_packets(void)
{
	const char *in = "452-789[\"message-with-ack\",{\"_placeholder\":true,"
			 "\"num\":0},{\"_placeholder\":true,\"num\":1}]";
	struct mbuf *mb = mbuf_alloc(128);
	struct sio_packet p;

	CU_ASSERT_EQUAL(dec(&p, in + 1), 0);
	CU_ASSERT_EQUAL(p.attachments, 2);
	CU_ASSERT_EQUAL(p.id, 789);
	CU_ASSERT_TRUE(sio_placeholders_valid(p.data, 2));
	CU_ASSERT_FALSE(sio_placeholders_valid(p.data, 1)); /* num 1 */
	p.type = SIO_BINARY_ACK;
	str_ncpy(p.nsp, "/custom", sizeof(p.nsp));
	CU_ASSERT_EQUAL(sio_packet_write(mb, &p), 0);
	const char want[] = "62-/custom,789[\"message-with-ack\",";
	CU_ASSERT_EQUAL(memcmp(mb->buf, want, strlen(want)), 0);
	sio_packet_reset(&p);
	/* a placeholder must be exactly one: true, and an integer num */
	cJSON *bad = cJSON_Parse("[{\"_placeholder\":true,\"num\":0.5}]");
	CU_ASSERT_FALSE(sio_placeholders_valid(bad, 2));
	cJSON_Delete(bad);
	bad = cJSON_Parse("[{\"a\":[{\"_placeholder\":1,\"num\":0}]}]");
	CU_ASSERT_FALSE(sio_placeholders_valid(bad, 2));
	cJSON_Delete(bad);
	bad = cJSON_Parse("[{\"_placeholder\":true,\"num\":-1}]");
	CU_ASSERT_FALSE(sio_placeholders_valid(bad, 2));
	cJSON_Delete(bad);
	mem_deref(mb);
}

/* A namespace without its comma ends at the end of the packet. */
static void test_namespace_alone(void)
{
	struct sio_packet p;
	CU_ASSERT_EQUAL(dec(&p, "0/random"), 0);
	CU_ASSERT_STRING_EQUAL(p.nsp, "/random");
	CU_ASSERT_PTR_NULL(p.data);
	CU_ASSERT_EQUAL(dec(&p, "1/custom"), 0);
	CU_ASSERT_EQUAL(p.type, SIO_DISCONNECT);
}

static void test_encode(void)
{
	struct mbuf *mb = mbuf_alloc(64);
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, cJSON_CreateString("ok"));
	CU_ASSERT_EQUAL(sio_packet_encode(mb, SIO_ACK, 42, a), 0);
	CU_ASSERT_EQUAL(mb->end, strlen("342[\"ok\"]"));
	CU_ASSERT_EQUAL(memcmp(mb->buf, "342[\"ok\"]", mb->end), 0);
	mbuf_rewind(mb);
	CU_ASSERT_EQUAL(
		sio_packet_encode(mb, SIO_DISCONNECT, SIO_ACK_NONE, NULL), 0);
	CU_ASSERT_EQUAL(mb->end, 1);
	cJSON_Delete(a);
	mem_deref(mb);
}

static CU_TestInfo tests[] = {
	{"connect with auth", test_connect},
	{"event with ack id", test_event_with_ack},
	{"malformed packets refused", test_malformed},
	{"encode", test_encode},
	{"binary packets", test_binary_packets},
	{"a namespace alone", test_namespace_alone},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("sio", tests, NULL, NULL)
