/*
 * tmrq.h - timers that all wait the same delay: a session's next ping, a
 * connection's request deadline.
 *
 * libre keeps its timers in one list sorted as they are started, found by
 * walking back from the latest: with 15,000 connections each holding a
 * 25 s timer, starting any shorter timer walked past all of them (about
 * 28 us each, and a connect ramp quadratic in the connections). Timers of
 * one delay are already in order as they start, so a queue of them takes a
 * start or a cancel in constant time, and libre sees one timer: the
 * queue's earliest.
 *
 * An entry lives inside its owner (zeroed memory is a stopped entry) and
 * is cancelled by the owner's destructor. An entry is in one queue at a
 * time: starting it in another moves it. Times are libre's (tmr_jiffies).
 */
#ifndef MEESHY_TMRQ_H
#define MEESHY_TMRQ_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>

struct tmrq;

struct tmrq_entry {
	struct le le;
	uint64_t due;
	tmr_h *h;
	void *arg;
};

int tmrq_alloc(struct tmrq **qp, uint32_t delay_ms);
/* (Re)starts e: h(arg) is called once the queue's delay has passed. */
void tmrq_start(struct tmrq *q, struct tmrq_entry *e, tmr_h *h, void *arg);
void tmrq_cancel(struct tmrq_entry *e);
bool tmrq_isrunning(const struct tmrq_entry *e);

#endif
