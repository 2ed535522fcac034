/* The in-process cache (role all): values with a time to live, sets, and
 * reads that are always answered from the loop, exactly once. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "cache.h"
#include "unit.h"

static struct cache *c;
static int answers, last_err;
static char last_val[64];
static bool in_get; /* an answer from inside cache_get would set this */
static bool answered_inside;

static void on_get(int err, const char *val, size_t len, void *arg)
{
	(void)arg;
	answers++;
	last_err = err;
	last_val[0] = '\0';
	if (in_get)
		answered_inside = true;
	if (!err)
		(void)re_snprintf(last_val, sizeof(last_val), "%b", val, len);
	re_cancel();
}

static void give_up(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Asks for key and runs the loop until the answer (or 1 s). */
static int get(const char *key)
{
	struct tmr limit;
	int err;
	answers = 0;
	in_get = true;
	err = cache_get(c, key, on_get, NULL);
	in_get = false;
	if (err)
		return err;
	tmr_init(&limit);
	tmr_start(&limit, 1000, give_up, NULL);
	(void)re_main(NULL);
	tmr_cancel(&limit);
	CU_ASSERT_EQUAL(answers, 1);
	return last_err;
}

static void sleep_ms(unsigned ms)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, ms, give_up, NULL);
	(void)re_main(NULL);
}

static void test_values(void)
{
	struct cache_stats st;
	CU_ASSERT_STRING_EQUAL(cache_kind(c), "memory");
	CU_ASSERT_EQUAL(get("call:1:state"), ENOENT);
	CU_ASSERT_EQUAL(
		cache_set(c, "call:1:state", "{\"status\":\"active\"}", 300),
		0);
	CU_ASSERT_EQUAL(get("call:1:state"), 0);
	CU_ASSERT_STRING_EQUAL(last_val, "{\"status\":\"active\"}");
	CU_ASSERT_FALSE(answered_inside);
	CU_ASSERT_EQUAL(cache_set(c, "call:1:state", "v2", 300), 0);
	CU_ASSERT_EQUAL(get("call:1:state"), 0);
	CU_ASSERT_STRING_EQUAL(last_val, "v2");
	CU_ASSERT_EQUAL(cache_del(c, "call:1:state"), 0);
	CU_ASSERT_EQUAL(get("call:1:state"), ENOENT);
	CU_ASSERT_EQUAL(cache_set(c, "k", "v", 0), EINVAL); /* no TTL: no */
	cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.hits, 2);
	CU_ASSERT_EQUAL(st.misses, 2);
	CU_ASSERT_EQUAL(st.entries, 0);
}

static void test_ttl(void)
{
	struct cache_stats st;
	CU_ASSERT_EQUAL(cache_set(c, "translation:abc", "\"hello\"", 1), 0);
	CU_ASSERT_EQUAL(get("translation:abc"), 0);
	sleep_ms(1100);
	CU_ASSERT_EQUAL(get("translation:abc"), ENOENT); /* gone, and freed */
	cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.entries, 0);
}

static void test_sets(void)
{
	struct cache_stats st;
	CU_ASSERT_EQUAL(cache_sadd(c, "call:1:participants", "alice", 7200), 0);
	CU_ASSERT_EQUAL(cache_sadd(c, "call:1:participants", "bob", 7200), 0);
	CU_ASSERT_EQUAL(cache_sadd(c, "call:1:participants", "bob", 7200), 0);
	CU_ASSERT_EQUAL(cache_srem(c, "call:1:participants", "alice", 7200), 0);
	cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.entries, 1);
	/* a set is not a value */
	CU_ASSERT_EQUAL(get("call:1:participants"), ENOENT);
	CU_ASSERT_EQUAL(cache_del(c, "call:1:participants"), 0);
	cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.entries, 0);
}

static int freed_err;
static void on_freed(int err, const char *val, size_t len, void *arg)
{
	(void)val;
	(void)len;
	(void)arg;
	freed_err = err;
}

static void test_freed_with_read_due(void)
{
	struct cache *c2;
	CU_ASSERT_EQUAL_FATAL(cache_alloc_memory(&c2), 0);
	CU_ASSERT_EQUAL(cache_get(c2, "k", on_freed, NULL), 0);
	mem_deref(c2);
	CU_ASSERT_EQUAL(freed_err, ECANCELED);
}

static int setup(void)
{
	return libre_init() || cache_alloc_memory(&c);
}

static int teardown(void)
{
	mem_deref(c);
	libre_close();
	return 0;
}

static CU_TestInfo tests[] = {
	{"values: set, get, replace, delete", test_values},
	{"a value expires", test_ttl},
	{"sets", test_sets},
	{"freed with a read due: ECANCELED", test_freed_with_read_due},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("cache", tests, setup, teardown)
