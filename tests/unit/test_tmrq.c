/* tmrq: timers of one delay, in the loop that runs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "tmrq.h"
#include "unit.h"

static int setup(void)
{
	return libre_init();
}

static int teardown(void)
{
	libre_close();
	return 0;
}

struct owner {
	struct tmrq_entry e;
	int fired;
	uint64_t at; /* tmr_jiffies() when it fired */
	int order;   /* its place among those that fired */
};

static int fired_total;

static void on_due(void *arg)
{
	struct owner *o = arg;
	o->fired++;
	o->at = tmr_jiffies();
	o->order = ++fired_total;
}

static void stop_loop(void *arg)
{
	(void)arg;
	re_cancel();
}

static void run_for(uint32_t ms)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, ms, stop_loop, NULL);
	CU_ASSERT_EQUAL(re_main(NULL), 0);
	tmr_cancel(&t);
}

/* Entries fire after the delay, in the order started; a cancelled one
 * never does; one started again waits the delay from then. */
static void test_order_cancel_restart(void)
{
	struct tmrq *q;
	struct owner o[4];
	uint64_t t0;

	memset(o, 0, sizeof(o));
	fired_total = 0;
	CU_ASSERT_EQUAL_FATAL(tmrq_alloc(&q, 40), 0);
	t0 = tmr_jiffies();
	for (int i = 0; i < 4; i++)
		tmrq_start(q, &o[i].e, on_due, &o[i]);
	CU_ASSERT_TRUE(tmrq_isrunning(&o[0].e));
	tmrq_cancel(&o[1].e); /* never fires */
	CU_ASSERT_FALSE(tmrq_isrunning(&o[1].e));
	tmrq_cancel(&o[0].e); /* the head: the queue's timer finds */
	tmrq_start(q, &o[0].e, on_due, &o[0]); /* it again, now last */
	run_for(120);
	CU_ASSERT_EQUAL(o[1].fired, 0);
	CU_ASSERT_EQUAL(o[0].fired, 1);
	CU_ASSERT_EQUAL(o[2].fired, 1);
	CU_ASSERT_EQUAL(o[3].fired, 1);
	CU_ASSERT_EQUAL(o[2].order, 1);
	CU_ASSERT_EQUAL(o[3].order, 2);
	CU_ASSERT_EQUAL(o[0].order, 3);
	CU_ASSERT_TRUE(o[2].at >= t0 + 40);
	CU_ASSERT_FALSE(tmrq_isrunning(&o[0].e));
	mem_deref(q);
}

/* An entry started in another queue moves there: it waits that queue's
 * delay and fires once. */
static void test_move_between_queues(void)
{
	struct tmrq *slow, *fast;
	struct owner o;
	uint64_t t0;

	memset(&o, 0, sizeof(o));
	CU_ASSERT_EQUAL_FATAL(tmrq_alloc(&slow, 10000), 0);
	CU_ASSERT_EQUAL_FATAL(tmrq_alloc(&fast, 20), 0);
	tmrq_start(slow, &o.e, on_due, &o);
	t0 = tmr_jiffies();
	tmrq_start(fast, &o.e, on_due, &o);
	run_for(80);
	CU_ASSERT_EQUAL(o.fired, 1);
	CU_ASSERT_TRUE(o.at >= t0 + 20 && o.at < t0 + 10000);
	mem_deref(slow);
	mem_deref(fast);
}

/* Handlers may free their owner, and the queue with it. */
struct holder {
	struct tmrq *q;
	struct tmrq_entry e;
	int *gone;
};

static void holder_destructor(void *arg)
{
	struct holder *h = arg;
	tmrq_cancel(&h->e);
	mem_deref(h->q);
	(*h->gone)++;
}

static void free_holder(void *arg)
{
	mem_deref(arg);
}

static void test_handler_frees_queue(void)
{
	int gone = 0;
	struct holder *h[2];
	struct tmrq *q;

	CU_ASSERT_EQUAL_FATAL(tmrq_alloc(&q, 10), 0);
	for (int i = 0; i < 2; i++) {
		h[i] = mem_zalloc(sizeof(*h[i]), holder_destructor);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h[i]);
		h[i]->q = mem_ref(q);
		h[i]->gone = &gone;
		tmrq_start(q, &h[i]->e, free_holder, h[i]);
	}
	mem_deref(q); /* the holders' references are the last */
	run_for(60);
	CU_ASSERT_EQUAL(gone, 2);
}

/* How many timers libre's list holds (tmr_status says). */
static unsigned libre_timers(void)
{
	char *text = NULL;
	unsigned n = 0;
	if (re_sdprintf(&text, "%H", tmr_status, NULL) || !text)
		return 0;
	if (sscanf(text, "Timers (%u)", &n) != 1)
		n = 0;
	mem_deref(text);
	return n;
}

/* Many entries: each fires once, in order; the queue is one libre timer
 * however many wait (libre's list holds only its head's). */
static void test_many(void)
{
	enum { N = 20000 };
	struct owner *o = calloc(N, sizeof(*o));
	struct tmrq *q;
	bool in_order = true;
	int fired = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	fired_total = 0;
	CU_ASSERT_EQUAL_FATAL(tmrq_alloc(&q, 30), 0);
	for (int i = 0; i < N; i++)
		tmrq_start(q, &o[i].e, on_due, &o[i]);
	CU_ASSERT_EQUAL(libre_timers(), 1);
	run_for(150);
	for (int i = 0; i < N; i++) {
		fired += o[i].fired;
		if (o[i].order != i + 1)
			in_order = false;
	}
	CU_ASSERT_EQUAL(fired, N);
	CU_ASSERT_TRUE(in_order);
	mem_deref(q);
	free(o);
}

static CU_TestInfo tests[] = {
	{"in order after the delay; cancel; restart",
	 test_order_cancel_restart},
	{"an entry moves to the queue it is started in",
	 test_move_between_queues},
	{"a handler may free its owner and the queue",
	 test_handler_frees_queue},
	{"20,000 entries: one libre timer, each fires once in order",
	 test_many},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("tmrq", tests, setup, teardown)
