/* The media door's local side (media_local.c) over one real media worker
 * thread: answers come before the call returns, errors carry the
 * protocol's code and name the bad value, a leave says which producers
 * closed, and releasing a call's media frees it on its worker. */
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "unit.h"
#include "port.h"
#include "media_workers.h"
#include "fault.h"
#include "media.h"
#include "media_local.h"

static struct media_workers *mw;
static struct media *media;

static int setup(void)
{
	struct sa laddr;
	struct media_workers_config cfg = {1, &laddr, NULL};
	if (libre_init() || sa_set_str(&laddr, "127.0.0.1", 0) ||
	    media_workers_alloc(&mw, &cfg, NULL, NULL) ||
	    media_local_alloc(&media, mw, "node-a"))
		return 1;
	return 0;
}

static int teardown(void)
{
	mem_deref(media);
	mem_deref(mw);
	libre_close();
	return 0;
}

/* What the handler saw; `calls` counts its calls. */
struct seen {
	int calls;
	int err;
	char code[32], why[200];
	cJSON *reply, *news, *closed;
};

static void answer_h(const struct media_answer *a, void *arg)
{
	struct seen *s = arg;
	s->calls++;
	s->err = a->err;
	if (a->err) {
		str_ncpy(s->code, fault_code_name(a->fault->code),
			 sizeof(s->code));
		str_ncpy(s->why, a->fault->message, sizeof(s->why));
		return;
	}
	s->reply = cJSON_Duplicate(a->reply, 1);
	s->news = cJSON_Duplicate(a->news, 1);
}

static void left_h(const cJSON *ids, void *arg)
{
	struct seen *s = arg;
	s->calls++;
	s->closed = cJSON_Duplicate(ids, 1);
}

static void seen_clear(struct seen *s)
{
	cJSON_Delete(s->reply);
	cJSON_Delete(s->news);
	cJSON_Delete(s->closed);
	memset(s, 0, sizeof(*s));
}

static int request(struct media_call *mc, const char *user, const char *event,
		   const char *json, struct seen *s)
{
	cJSON *data = cJSON_Parse(json);
	int err = media_call_request(mc, user, event, data, answer_h, s);
	cJSON_Delete(data);
	return err;
}

static size_t calls_on_worker(void)
{
	struct media_worker_stats st;
	media_workers_stats(mw, 0, &st);
	return st.calls;
}

static void test_answers_at_once(void)
{
	struct media_call *mc = NULL;
	struct seen s = {0};

	CU_ASSERT_EQUAL_FATAL(media_call_open(&mc, media, "call-1", 3, NULL),
			      0);
	CU_ASSERT_STRING_EQUAL(media_call_where(mc), "node-a");
	CU_ASSERT_EQUAL(calls_on_worker(), 1);

	CU_ASSERT_EQUAL(
		request(mc, "alice", "media:get-capabilities", "{}", &s), 0);
	CU_ASSERT_EQUAL(s.calls, 1); /* before the request returned */
	CU_ASSERT_EQUAL(s.err, 0);
	CU_ASSERT_TRUE(cJSON_IsArray(cJSON_GetObjectItem(
		cJSON_GetObjectItem(s.reply, "rtpCapabilities"), "codecs")));
	seen_clear(&s);

	CU_ASSERT_EQUAL(request(mc, "alice", "media:create-transport",
				"{\"direction\":\"sideways\"}", &s),
			0);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_NOT_EQUAL(s.err, 0);
	CU_ASSERT_STRING_EQUAL(s.code, "VALIDATION_ERROR");
	CU_ASSERT_PTR_NOT_NULL(strstr(s.why, "sideways"));
	CU_ASSERT_PTR_NULL(s.reply);
	seen_clear(&s);

	mem_deref(mc); /* released: freed on its worker */
	CU_ASSERT_EQUAL(calls_on_worker(), 0);
}

static void test_leave_says_what_closed(void)
{
	struct media_call *mc = NULL;
	struct seen s = {0};
	char data[512], tid[64] = "", pid[64] = "";

	CU_ASSERT_EQUAL_FATAL(media_call_open(&mc, media, "call-2", 3, NULL),
			      0);
	CU_ASSERT_EQUAL(request(mc, "alice", "media:create-transport",
				"{\"direction\":\"send\"}", &s),
			0);
	CU_ASSERT_EQUAL_FATAL(s.err, 0);
	str_ncpy(tid, cJSON_GetObjectItem(s.reply, "id")->valuestring,
		 sizeof(tid));
	seen_clear(&s);
	(void)re_snprintf(data, sizeof(data),
			  "{\"transportId\":\"%s\",\"kind\":\"audio\","
			  "\"rtpParameters\":{\"codecs\":[{\"mimeType\":"
			  "\"audio/opus\",\"payloadType\":111}],"
			  "\"encodings\":[{\"ssrc\":4444}]}}",
			  tid);
	CU_ASSERT_EQUAL(request(mc, "alice", "media:produce", data, &s), 0);
	CU_ASSERT_EQUAL_FATAL(s.err, 0);
	/* the news names the producer for the others */
	str_ncpy(
		pid,
		cJSON_GetObjectItem(cJSON_GetArrayItem(s.news, 0), "producerId")
			->valuestring,
		sizeof(pid));
	CU_ASSERT_STRING_EQUAL(pid,
			       cJSON_GetObjectItem(s.reply, "id")->valuestring);
	seen_clear(&s);

	CU_ASSERT_EQUAL(media_call_leave(mc, "bob", left_h, &s), 0);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(s.closed), 0);
	seen_clear(&s);
	CU_ASSERT_EQUAL(media_call_leave(mc, "alice", left_h, &s), 0);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(s.closed), 1);
	CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(s.closed, 0)->valuestring,
			       pid);
	seen_clear(&s);

	/* no handler: refused, nothing called */
	CU_ASSERT_NOT_EQUAL(media_call_leave(mc, "alice", NULL, NULL), 0);
	mem_deref(mc);
}

static CU_TestInfo tests[] = {
	{"answers come at once, errors name the bad value",
	 test_answers_at_once},
	{"a leave says which producers closed", test_leave_says_what_closed},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("media_local", tests, setup, teardown)
