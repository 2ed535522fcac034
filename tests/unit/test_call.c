/* The call rules (call_machine.c) without sockets: hooks that record what
 * they were asked, and a media side that can refuse. */
#include <string.h>
#include "unit.h"
#include "call_machine.h"

struct played {
	char log[256]; /* each hook call, in order */
	bool refuse_sfu;
};

static void note(struct played *pl, const char *what)
{
	strncat(pl->log, what, sizeof(pl->log) - strlen(pl->log) - 1);
	strncat(pl->log, ";", sizeof(pl->log) - strlen(pl->log) - 1);
}

static bool switch_h(void *arg, enum call_mode to, const char *reason)
{
	struct played *pl = arg;
	if (to == CALL_SFU && pl->refuse_sfu) {
		note(pl, "refused");
		return false;
	}
	note(pl, to == CALL_SFU ? "sfu" : "p2p");
	note(pl, reason);
	return true;
}

static void activated_h(void *arg)
{
	note(arg, "active");
}

static void ended_h(void *arg, const char *reason)
{
	note(arg, "ended");
	note(arg, reason);
}

static const struct call_hooks hooks = {switch_h, activated_h, ended_h};

static void play(struct call_machine *m, const struct call_policy *p,
		 struct played *pl)
{
	memset(pl, 0, sizeof(*pl));
	call_machine_init(m, p, &hooks, pl, CALL_P2P, CALL_INITIATED);
}

/* The default: the third joiner moves the call, two left move it back,
 * the last one out ends it. */
static void test_default_rules(void)
{
	const struct call_policy p = {3, true, true};
	struct call_machine m;
	struct played pl;

	play(&m, &p, &pl);
	call_joined(&m, 1);
	CU_ASSERT_STRING_EQUAL(pl.log, "");
	call_joined(&m, 2);
	CU_ASSERT_STRING_EQUAL(pl.log, "active;");
	CU_ASSERT_EQUAL(m.status, CALL_ACTIVE);
	CU_ASSERT_EQUAL(m.mode, CALL_P2P);
	call_joined(&m, 3);
	CU_ASSERT_STRING_EQUAL(pl.log, "active;sfu;participants;");
	CU_ASSERT_EQUAL(m.mode, CALL_SFU);
	call_joined(&m, 4); /* already there: nothing asked */
	call_left(&m, 3);
	CU_ASSERT_STRING_EQUAL(pl.log, "active;sfu;participants;");
	call_left(&m, 2);
	CU_ASSERT_STRING_EQUAL(pl.log,
			       "active;sfu;participants;p2p;two-participants;");
	CU_ASSERT_EQUAL(m.mode, CALL_P2P);
	call_left(&m, 1);
	call_left(&m, 0);
	CU_ASSERT_STRING_EQUAL(pl.log, "active;sfu;participants;p2p;"
				       "two-participants;ended;all-left;");
	CU_ASSERT_EQUAL(m.status, CALL_ENDED);
	call_joined(&m, 3); /* an ended call plays no more */
	call_left(&m, 0);
	CU_ASSERT_STRING_EQUAL(pl.log, "active;sfu;participants;p2p;"
				       "two-participants;ended;all-left;");
}

/* The media side cannot take the call: it stays P2P, and the next join
 * asks again. */
static void test_refused_move_stays(void)
{
	const struct call_policy p = {3, true, true};
	struct call_machine m;
	struct played pl;

	play(&m, &p, &pl);
	pl.refuse_sfu = true;
	call_joined(&m, 3);
	CU_ASSERT_EQUAL(m.mode, CALL_P2P);
	pl.refuse_sfu = false;
	call_joined(&m, 4);
	CU_ASSERT_EQUAL(m.mode, CALL_SFU);
	CU_ASSERT_STRING_EQUAL(pl.log, "active;refused;sfu;participants;");
}

/* Other policies: no SFU here, none wanted, the SFU from the first,
 * staying on the SFU, the SFU wanted for two. */
static void test_policies(void)
{
	const struct call_policy no_sfu = {3, false, true};
	const struct call_policy never = {0, true, true};
	const struct call_policy from_one = {1, true, true};
	const struct call_policy stay = {3, true, false};
	const struct call_policy from_two = {2, true, true};
	struct call_machine m;
	struct played pl;

	play(&m, &no_sfu, &pl);
	call_joined(&m, 5);
	CU_ASSERT_EQUAL(m.mode, CALL_P2P);
	play(&m, &never, &pl);
	call_joined(&m, 5);
	CU_ASSERT_EQUAL(m.mode, CALL_P2P);
	play(&m, &from_one, &pl);
	call_joined(&m, 1);
	CU_ASSERT_STRING_EQUAL(pl.log, "sfu;participants;");
	call_left(&m, 1); /* one left still wants the SFU */
	CU_ASSERT_EQUAL(m.mode, CALL_SFU);
	play(&m, &stay, &pl);
	call_joined(&m, 3);
	call_left(&m, 2);
	CU_ASSERT_EQUAL(m.mode, CALL_SFU);
	play(&m, &from_two, &pl);
	call_joined(&m, 2);
	call_joined(&m, 3);
	call_left(&m, 2);
	CU_ASSERT_EQUAL(m.mode, CALL_SFU);
	call_left(&m, 1);
	CU_ASSERT_EQUAL(m.mode, CALL_P2P);
}

static void test_mode_names(void)
{
	enum call_mode mode = CALL_P2P;
	CU_ASSERT_TRUE(call_mode_parse("sfu", &mode));
	CU_ASSERT_EQUAL(mode, CALL_SFU);
	CU_ASSERT_STRING_EQUAL(call_mode_name(mode), "sfu");
	CU_ASSERT_FALSE(call_mode_parse("mesh", &mode));
	CU_ASSERT_FALSE(call_mode_parse(NULL, &mode));
	CU_ASSERT_EQUAL(mode, CALL_SFU);
}

static CU_TestInfo tests[] = {
	{"third joiner moves it, two left back, last out ends it",
	 test_default_rules},
	{"a move the media side refuses leaves it P2P",
	 test_refused_move_stays},
	{"policies: no SFU, never, from one, stay, from two", test_policies},
	{"mode names", test_mode_names},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("call", tests, NULL, NULL)
