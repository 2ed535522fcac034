/* The one error shape (fault.h): codes as the wire spells them, the HTTP
 * status each takes, the JSON both ways, and a message cut to its room. */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "fault.h"
#include "unit.h"

static void test_codes(void)
{
	static const struct {
		enum fault_code code;
		const char *name;
		uint16_t status;
	} want[] = {
		{FAULT_VALIDATION, "VALIDATION_ERROR", 400},
		{FAULT_UNAUTHENTICATED, "UNAUTHENTICATED", 401},
		{FAULT_FORBIDDEN, "FORBIDDEN", 403},
		{FAULT_NOT_FOUND, "NOT_FOUND", 404},
		{FAULT_CONFLICT, "CONFLICT", 409},
		{FAULT_RATE_LIMITED, "RATE_LIMITED", 429},
		{FAULT_INTERNAL, "INTERNAL", 503},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		enum fault_code back = FAULT_INTERNAL;
		const char *reason = NULL;
		CU_ASSERT_STRING_EQUAL(fault_code_name(want[i].code),
				       want[i].name);
		CU_ASSERT_EQUAL(fault_http_status(want[i].code, &reason),
				want[i].status);
		CU_ASSERT_PTR_NOT_NULL(reason);
		CU_ASSERT_TRUE(fault_code_parse(want[i].name, &back));
		CU_ASSERT_EQUAL(back, want[i].code);
	}
	/* a code from elsewhere that we do not know is ours to handle */
	CU_ASSERT_FALSE(fault_code_parse("TEAPOT", &(enum fault_code){0}));
	CU_ASSERT_STRING_EQUAL(fault_code_name((enum fault_code)99),
			       "INTERNAL");
}

static void test_json_both_ways(void)
{
	struct fault f, back;
	cJSON *e;
	char *text;

	fault_set(&f, FAULT_NOT_FOUND, "callId: %s is not a call", "c-9");
	e = fault_json(&f);
	text = cJSON_PrintUnformatted(e);
	CU_ASSERT_STRING_EQUAL(text, "{\"code\":\"NOT_FOUND\",\"message\":"
				     "\"callId: c-9 is not a call\"}");
	fault_from_json(&back, e, "unused");
	CU_ASSERT_EQUAL(back.code, FAULT_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(back.message, f.message);
	cJSON_free(text);
	cJSON_Delete(e);

	/* not an error member at all: INTERNAL with the caller's words */
	fault_from_json(&back, NULL, "the media node refused");
	CU_ASSERT_EQUAL(back.code, FAULT_INTERNAL);
	CU_ASSERT_STRING_EQUAL(back.message, "the media node refused");
}

static void test_message_bounded(void)
{
	static char big[3 * FAULT_MESSAGE_MAX];
	struct fault f;
	memset(big, 'x', sizeof(big) - 1);
	fault_set(&f, FAULT_VALIDATION, "sdp: %s", big);
	CU_ASSERT_EQUAL(strlen(f.message), FAULT_MESSAGE_MAX - 1);
	CU_ASSERT_EQUAL(memcmp(f.message, "sdp: xxx", 8), 0);
	fault_set(&f, FAULT_INTERNAL, "the store refused it: %m", ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.message, "space"));
}

static CU_TestInfo tests[] = {
	{"codes, names, HTTP statuses", test_codes},
	{"JSON both ways", test_json_both_ways},
	{"a message is cut to its room", test_message_bounded},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("fault", tests, NULL, NULL)
