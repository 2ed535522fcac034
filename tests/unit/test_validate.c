/* Event payload validation: what passes, and messages naming bad values. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "validate.h"
#include "uuid.h"
#include "unit.h"

static cJSON *obj(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

static void test_id(void)
{
	char msg[256];
	const char *v = NULL;
	cJSON *o = obj("{\"callId\":\"c-1.a:b@x_\",\"bad\":\"a b\","
		       "\"num\":5}");
	CU_ASSERT_EQUAL(validate_id(o, "callId", &v, msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(v, "c-1.a:b@x_");
	CU_ASSERT_EQUAL(validate_id(o, "bad", &v, msg, sizeof(msg)), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "bad: \"a b\" is not an id"));
	CU_ASSERT_EQUAL(validate_id(o, "num", &v, msg, sizeof(msg)), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "num: 5 is not an id"));
	CU_ASSERT_EQUAL(validate_id(o, "missing", &v, msg, sizeof(msg)),
			EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "missing is required"));
	cJSON_Delete(o);
	CU_ASSERT_FALSE(validate_is_id(""));
	{
		char big[200];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CU_ASSERT_FALSE(validate_is_id(big));
		big[128] = '\0';
		CU_ASSERT_TRUE(validate_is_id(big));
	}
}

static void test_enum(void)
{
	static const char *const types[] = {"audio", "video", NULL};
	char msg[256];
	const char *v = NULL;
	cJSON *o = obj("{\"type\":\"video\",\"t2\":\"fax\"}");
	CU_ASSERT_EQUAL(
		validate_enum(o, "type", types, NULL, &v, msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(v, "video");
	CU_ASSERT_EQUAL(
		validate_enum(o, "t2", types, NULL, &v, msg, sizeof(msg)),
		EINVAL);
	CU_ASSERT_STRING_EQUAL(msg, "t2: \"fax\" is not one of audio, video");
	CU_ASSERT_EQUAL(
		validate_enum(o, "t3", types, "audio", &v, msg, sizeof(msg)),
		0);
	CU_ASSERT_STRING_EQUAL(v, "audio");
	CU_ASSERT_EQUAL(
		validate_enum(o, "t3", types, NULL, &v, msg, sizeof(msg)),
		EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(missing)"));
	cJSON_Delete(o);
}

static void test_bool_and_text(void)
{
	char msg[256];
	bool b = false, given = false;
	const char *t;
	cJSON *o = obj("{\"audio\":true,\"video\":\"yes\",\"text\":\"hi\","
		       "\"empty\":\"\"}");
	CU_ASSERT_EQUAL(validate_bool(o, "audio", &b, &given, msg, sizeof(msg)),
			0);
	CU_ASSERT_TRUE(b && given);
	CU_ASSERT_EQUAL(validate_bool(o, "video", &b, &given, msg, sizeof(msg)),
			EINVAL);
	CU_ASSERT_STRING_EQUAL(msg, "video: \"yes\" is not true or false");
	CU_ASSERT_EQUAL(validate_bool(o, "none", &b, &given, msg, sizeof(msg)),
			0);
	CU_ASSERT_FALSE(given);
	CU_ASSERT_EQUAL(validate_text(o, "text", 10, &t, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(validate_text(o, "text", 1, &t, msg, sizeof(msg)),
			EINVAL);
	CU_ASSERT_EQUAL(validate_text(o, "empty", 10, &t, msg, sizeof(msg)),
			EINVAL);
	CU_ASSERT_TRUE(validate_is_language("pt-BR"));
	CU_ASSERT_FALSE(validate_is_language("e"));
	CU_ASSERT_FALSE(validate_is_language("en_US"));
	cJSON_Delete(o);
}

/* Record ids are ObjectIds (Meeshy's database's): 24 hex digits, the
 * second first, never twice the same; and they pass as ids. */
static void test_objectids(void)
{
	char a[OBJECTID_STR_SIZE], b[OBJECTID_STR_SIZE], small[24];
	unsigned long secs;
	CU_ASSERT_EQUAL(objectid_new(small, sizeof(small)), EINVAL);
	CU_ASSERT_EQUAL_FATAL(objectid_new(a, sizeof(a)), 0);
	CU_ASSERT_EQUAL_FATAL(objectid_new(b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(strlen(a), 24);
	CU_ASSERT_EQUAL(strspn(a, "0123456789abcdef"), 24);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(memcmp(a + 8, b + 8, 10), 0); /* the same process */
	CU_ASSERT_TRUE(validate_is_id(a));
	CU_ASSERT_EQUAL(sscanf(a, "%8lx", &secs), 1);
	CU_ASSERT_TRUE(secs > 1700000000UL); /* this century's seconds */
}

static CU_TestInfo tests[] = {
	{"record ids are ObjectIds", test_objectids},
	{"ids", test_id},
	{"enums", test_enum},
	{"booleans, texts, languages", test_bool_and_text},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("validate", tests, NULL, NULL)
