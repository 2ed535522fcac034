/* TURN REST credentials (checked against an HMAC computed elsewhere) and
 * the choice of TURN servers by continent. */
#include <string.h>
#include "turn.h"
#include "unit.h"

static const uint8_t secret[] = "north-sea";

static void test_credentials(void)
{
	struct turn_config cfg = {secret, sizeof(secret) - 1, 86400, NULL};
	char user[TURN_USERNAME_MAX], cred[TURN_CREDENTIAL_MAX];

	CU_ASSERT_EQUAL_FATAL(
		turn_credentials(&cfg, "alice", 1700000000, user, cred), 0);
	CU_ASSERT_STRING_EQUAL(user, "1700086400:alice");
	/* python3: base64(hmac.new(b'north-sea', user, sha1).digest()) */
	CU_ASSERT_STRING_EQUAL(cred, "QffDl1RgZbeZoAM37viPwEo5Gkk=");
	cfg.secret = NULL;
	CU_ASSERT_EQUAL(turn_credentials(&cfg, "alice", 1, user, cred), EINVAL);
	cfg.secret = secret;
	CU_ASSERT_EQUAL(turn_credentials(&cfg, "", 1, user, cred), EINVAL);
}

static void test_continents(void)
{
	CU_ASSERT_STRING_EQUAL(turn_continent("FR"), "EU");
	CU_ASSERT_STRING_EQUAL(turn_continent("us"), "NA");
	CU_ASSERT_STRING_EQUAL(turn_continent("BR"), "SA");
	CU_ASSERT_STRING_EQUAL(turn_continent("SG"), "AS");
	CU_ASSERT_STRING_EQUAL(turn_continent("NG"), "AF");
	CU_ASSERT_STRING_EQUAL(turn_continent("NZ"), "OC");
	CU_ASSERT_STRING_EQUAL(turn_continent("XK"), "EU"); /* last of a list */
	CU_ASSERT_PTR_NULL(turn_continent("ZZ"));
	CU_ASSERT_PTR_NULL(turn_continent("F"));
	CU_ASSERT_PTR_NULL(turn_continent("1A"));
	CU_ASSERT_PTR_NULL(turn_continent(NULL));
}

static void test_servers(void)
{
	const char *map = "{\"default\":[\"turn:us.example:3478\"],"
			  "\"EU\":[\"turn:eu.example:3478\","
			  "\"turns:eu.example:5349\"]}";
	struct turn_config cfg = {secret, sizeof(secret) - 1, 600, map};
	char why[256];
	cJSON *a, *s;

	a = turn_uris(&cfg, "EU");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(a), 2);
	cJSON_Delete(a);
	a = turn_uris(&cfg, "AS"); /* none of its own: the default */
	CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(a, 0)->valuestring,
			       "turn:us.example:3478");
	cJSON_Delete(a);
	a = turn_ice_servers(&cfg, "bob", "EU", 1000);
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(a), 1);
	s = cJSON_GetArrayItem(a, 0);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(s, "username")->valuestring,
			       "1600:bob");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(s, "urls")), 2);
	CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItem(s, "credential"));
	cJSON_Delete(a);
	/* without a secret: no entry, not one without credentials */
	cfg.secret = NULL;
	a = turn_ice_servers(&cfg, "bob", "EU", 1000);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);

	CU_ASSERT_EQUAL(turn_servers_check(map, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(turn_servers_check("[\"turn:a:1\"]", why, sizeof(why)),
			0);
	CU_ASSERT_EQUAL(turn_servers_check("[\"http://a\"]", why, sizeof(why)),
			EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "'[\"http://a\"]'"));
	CU_ASSERT_EQUAL(turn_servers_check("{\"EU\":3}", why, sizeof(why)),
			EINVAL);
	CU_ASSERT_EQUAL(turn_servers_check("nope", why, sizeof(why)), EINVAL);
}

static CU_TestInfo tests[] = {
	{"credentials as coturn's use-auth-secret checks them",
	 test_credentials},
	{"countries to continents", test_continents},
	{"servers by continent", test_servers},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("turn", tests, NULL, NULL)
