/*
 * call_machine.c - the call rules (call_machine.h).
 */
#include <string.h>
#include "call_machine.h"

void call_machine_init(struct call_machine *m, const struct call_policy *p,
		       const struct call_hooks *h, void *arg,
		       enum call_mode mode, enum call_status status)
{
	m->mode = mode;
	m->status = status;
	m->policy = p;
	m->hooks = h;
	m->arg = arg;
}

/* Whether a call of n joined belongs on the SFU. */
static bool call_wants_sfu(const struct call_policy *p, size_t n)
{
	return p->sfu_here && p->sfu_from && n >= p->sfu_from;
}

static void move(struct call_machine *m, enum call_mode to, const char *reason)
{
	if (m->mode != to && m->hooks->switch_mode(m->arg, to, reason))
		m->mode = to;
}

void call_joined(struct call_machine *m, size_t n)
{
	if (m->status == CALL_ENDED)
		return;
	if (m->status == CALL_INITIATED && n >= 2) {
		m->status = CALL_ACTIVE;
		if (m->hooks->activated)
			m->hooks->activated(m->arg);
	}
	if (call_wants_sfu(m->policy, n))
		move(m, CALL_SFU, "participants");
}

void call_left(struct call_machine *m, size_t n)
{
	if (m->status == CALL_ENDED)
		return;
	if (n == 0) {
		m->status = CALL_ENDED;
		m->hooks->ended(m->arg, "all-left");
	} else if (n <= 2 && m->policy->p2p_back &&
		   !call_wants_sfu(m->policy, n)) {
		move(m, CALL_P2P, "two-participants");
	}
}

const char *call_mode_name(enum call_mode mode)
{
	return mode == CALL_SFU ? "sfu" : "p2p";
}

bool call_mode_parse(const char *name, enum call_mode *mode)
{
	if (!name)
		return false;
	if (!strcmp(name, "p2p"))
		*mode = CALL_P2P;
	else if (!strcmp(name, "sfu"))
		*mode = CALL_SFU;
	else
		return false;
	return true;
}
