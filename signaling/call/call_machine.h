/*
 * call_machine.h - the rules of one call, apart from who carries them
 * out: when it moves to the SFU and back, when it becomes active, when it
 * ends. The gateway (calls.c) and the simulator (sim/meeshy_sim.cc) both
 * play a call through it; what a move or an end does is theirs, behind a
 * table of hooks. No Socket.IO, Redis or store here.
 *
 * The caller counts the participants joined (n) and says so after each
 * join and each leave:
 *   - the SFU from policy.sfu_from joined on (when there is an SFU): the
 *     third joiner moves a call of the default policy;
 *   - back to P2P when a leave leaves two (policy.p2p_back), unless the
 *     policy wants the SFU for two;
 *   - active once two have joined; ended when the last one leaves.
 */
#ifndef MEESHY_CALL_MACHINE_H
#define MEESHY_CALL_MACHINE_H
#include <stdbool.h>
#include <stddef.h>

enum call_mode { CALL_P2P, CALL_SFU };
enum call_status { CALL_INITIATED, CALL_ACTIVE, CALL_ENDED };

struct call_policy {
	unsigned sfu_from; /* joined participants that move a call to the
			    * SFU; 0: never */
	bool sfu_here;     /* an SFU (or media nodes) can take calls */
	bool p2p_back;     /* back to P2P when two remain */
};

/* What a change does, for whoever plays the call. */
struct call_hooks {
	/* Moves the call's media; false when it cannot (no media node is
	 * alive): the call stays as it was. */
	bool (*switch_mode)(void *arg, enum call_mode to, const char *reason);
	void (*activated)(void *arg);
	void (*ended)(void *arg, const char *reason);
};

struct call_machine {
	enum call_mode mode;
	enum call_status status;
	const struct call_policy *policy; /* borrowed */
	const struct call_hooks *hooks;   /* borrowed */
	void *arg;
};

void call_machine_init(struct call_machine *m, const struct call_policy *p,
		       const struct call_hooks *h, void *arg,
		       enum call_mode mode, enum call_status status);
/* Someone joined: n are in now. */
void call_joined(struct call_machine *m, size_t n);
/* Someone left: n remain. */
void call_left(struct call_machine *m, size_t n);

const char *call_mode_name(enum call_mode mode);
/* The mode named ("p2p", "sfu"); false if neither. */
bool call_mode_parse(const char *name, enum call_mode *mode);

#endif
