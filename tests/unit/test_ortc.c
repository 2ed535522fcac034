/* ortc.c and the codec table, without a browser: the capabilities say
 * what codecs.c holds, and produce and consume follow it (payload types
 * towards consumers, RTX, refusals naming the bad value). */
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "unit.h"
#include "port.h"
#include "router.h"
#include "webrtc_transport.h"
#include "codecs.h"
#include "fault.h"
#include "ortc.h"

static struct webrtc_server *srv;
static struct router *router;
static struct ortc_room *room;

static int send_nothing(struct webrtc_transport *t, uint8_t *buf, size_t len,
			size_t size, bool rtcp)
{
	return 0;
}

static int setup(void)
{
	struct sa laddr;
	if (libre_init() || sa_set_str(&laddr, "127.0.0.1", 0) ||
	    webrtc_server_alloc(&srv, &laddr, NULL) ||
	    router_alloc(&router, send_nothing) ||
	    ortc_room_alloc(&room, srv, router))
		return 1;
	return 0;
}

static int teardown(void)
{
	mem_deref(room);
	mem_deref(router);
	mem_deref(srv);
	libre_close();
	return 0;
}

/* One request; the reply (owned by the caller), or NULL with the fault
 * filled. */
static cJSON *request(struct ortc_peer *peer, const char *event,
		      const char *data_json, struct fault *f)
{
	cJSON *data = cJSON_Parse(data_json), *reply = cJSON_CreateObject();
	int err = ortc_request(peer, event, data, reply, f);
	cJSON_Delete(data);
	if (err) {
		cJSON_Delete(reply);
		return NULL;
	}
	return reply;
}

static const cJSON *codec_in(const cJSON *caps, const char *mime)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(caps, "codecs"))
	{
		const cJSON *m = cJSON_GetObjectItem(c, "mimeType");
		if (!strcmp(m->valuestring, mime))
			return c;
	}
	return NULL;
}

static void test_capabilities_are_the_table(void)
{
	cJSON *caps = ortc_capabilities();
	const cJSON *c, *rtx;
	size_t n = 0;
	for (size_t i = 0; i < media_codecs_count; i++) {
		const struct media_codec *mc = &media_codecs[i];
		c = codec_in(caps, mc->mime);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(cJSON_GetObjectItem(c, "preferredPayloadType")
					->valueint,
				mc->pt);
		CU_ASSERT_EQUAL(cJSON_GetObjectItem(c, "clockRate")->valueint,
				(int)mc->clock_rate);
		n += mc->rtx_pt ? 2 : 1;
		if (!mc->rtx_pt)
			continue;
		/* its RTX follows it, pointing back at it */
		rtx = c->next;
		CU_ASSERT_STRING_EQUAL(
			cJSON_GetObjectItem(rtx, "mimeType")->valuestring,
			"video/rtx");
		CU_ASSERT_EQUAL(
			cJSON_GetObjectItem(
				cJSON_GetObjectItem(rtx, "parameters"), "apt")
				->valueint,
			mc->pt);
	}
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(caps, "codecs")),
			(int)n);
	CU_ASSERT_PTR_EQUAL(media_codec_by_mime("VIDEO/vp8"), &media_codecs[1]);
	CU_ASSERT_PTR_NULL(media_codec_by_mime("video/AV1"));
	CU_ASSERT_STRING_EQUAL(media_codec_first(MEDIA_VIDEO)->name, "VP8");
	CU_ASSERT_STRING_EQUAL(media_codec_first(MEDIA_AUDIO)->name, "opus");
	cJSON_Delete(caps);
}

static char *transport(struct ortc_peer *peer, const char *dir)
{
	char data[64], *id = NULL;
	struct fault f;
	cJSON *r;
	(void)re_snprintf(data, sizeof(data), "{\"direction\":\"%s\"}", dir);
	r = request(peer, "media:create-transport", data, &f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	(void)str_dup(&id, cJSON_GetObjectItem(r, "id")->valuestring);
	cJSON_Delete(r);
	return id;
}

static void test_produce_and_consume_follow_the_table(void)
{
	struct ortc_peer *alice = NULL, *bob = NULL;
	char data[4096], *caps_text;
	struct fault f;
	char *send_id, *recv_id, *producer_id = NULL;
	cJSON *r, *caps = ortc_capabilities();
	const cJSON *codec;

	CU_ASSERT_EQUAL_FATAL(ortc_peer_alloc(&alice, room, "alice"), 0);
	CU_ASSERT_EQUAL_FATAL(ortc_peer_alloc(&bob, room, "bob"), 0);
	send_id = transport(alice, "send");
	recv_id = transport(bob, "recv");

	/* a codec the table lacks: refused, naming it */
	(void)re_snprintf(data, sizeof(data),
			  "{\"transportId\":\"%s\",\"kind\":\"video\","
			  "\"rtpParameters\":{\"codecs\":[{\"mimeType\":"
			  "\"video/AV1\",\"payloadType\":45}],"
			  "\"encodings\":[{\"ssrc\":1111}]}}",
			  send_id);
	CU_ASSERT_PTR_NULL(request(alice, "media:produce", data, &f));
	CU_ASSERT_EQUAL(f.code, FAULT_VALIDATION);
	CU_ASSERT_STRING_EQUAL(fault_code_name(f.code), "VALIDATION_ERROR");
	CU_ASSERT_PTR_NOT_NULL(strstr(f.message, "video/AV1"));

	/* VP8 on the sender's own payload type 96, its RTX on 97 */
	(void)re_snprintf(
		data, sizeof(data),
		"{\"transportId\":\"%s\",\"kind\":\"video\","
		"\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"video/VP8\","
		"\"payloadType\":96},{\"mimeType\":\"video/rtx\","
		"\"payloadType\":97,\"parameters\":{\"apt\":96}}],"
		"\"encodings\":[{\"ssrc\":2222,\"rtx\":{\"ssrc\":3333}}]}}",
		send_id);
	r = request(alice, "media:produce", data, &f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	(void)str_dup(&producer_id, cJSON_GetObjectItem(r, "id")->valuestring);
	cJSON_Delete(r);

	/* bob gets it on the table's payload types, 101 and RTX 102 */
	caps_text = cJSON_PrintUnformatted(caps);
	(void)re_snprintf(data, sizeof(data),
			  "{\"transportId\":\"%s\",\"producerId\":\"%s\","
			  "\"rtpCapabilities\":%s}",
			  recv_id, producer_id, caps_text);
	r = request(bob, "media:consume", data, &f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	codec = cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(r, "rtpParameters"),
				    "codecs"),
		0);
	CU_ASSERT_STRING_EQUAL(
		cJSON_GetObjectItem(codec, "mimeType")->valuestring,
		"video/VP8");
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(codec, "payloadType")->valueint,
			101);
	codec = cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(r, "rtpParameters"),
				    "codecs"),
		1);
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(codec, "payloadType")->valueint,
			102);
	cJSON_Delete(r);

	/* a receiver without VP8 is told so */
	(void)re_snprintf(data, sizeof(data),
			  "{\"transportId\":\"%s\",\"producerId\":\"%s\","
			  "\"rtpCapabilities\":{\"codecs\":[{\"mimeType\":"
			  "\"audio/opus\"}]}}",
			  recv_id, producer_id);
	CU_ASSERT_PTR_NULL(request(bob, "media:consume", data, &f));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.message, "video/VP8"));

	/* one consumer of a producer: a second copy of every packet to the
	 * same participant is refused (an amplification) */
	(void)re_snprintf(data, sizeof(data),
			  "{\"transportId\":\"%s\",\"producerId\":\"%s\","
			  "\"rtpCapabilities\":%s}",
			  recv_id, producer_id, caps_text);
	CU_ASSERT_PTR_NULL(request(bob, "media:consume", data, &f));
	CU_ASSERT_EQUAL(f.code, FAULT_CONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.message, "already consume"));

	cJSON_free(caps_text);
	mem_deref(producer_id);
	cJSON_Delete(caps);
	mem_deref(send_id);
	mem_deref(recv_id);
	mem_deref(alice);
	mem_deref(bob);
}

static CU_TestInfo tests[] = {
	{"the capabilities are the codec table",
	 test_capabilities_are_the_table},
	{"produce and consume follow the table",
	 test_produce_and_consume_follow_the_table},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("ortc", tests, setup, teardown)
