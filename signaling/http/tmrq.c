/*
 * tmrq.c - tmrq.h: a list in due order and one libre timer for its head.
 *
 * A cancelled head leaves the timer armed for it: the timer then finds
 * nothing due and is armed for the new head (cheaper than rearming on
 * every cancel, which is what most entries end in).
 */
#include "tmrq.h"

struct tmrq {
	struct tmr tmr;
	struct list entries; /* in due order: all wait delay_ms */
	uint32_t delay_ms;
};

static void expire(void *arg);

static void tmrq_destructor(void *arg)
{
	struct tmrq *q = arg;
	tmr_cancel(&q->tmr);
	while (q->entries.head)
		list_unlink(q->entries.head); /* owned by their owners */
}

int tmrq_alloc(struct tmrq **qp, uint32_t delay_ms)
{
	struct tmrq *q;
	if (!qp)
		return EINVAL;
	q = mem_zalloc(sizeof(*q), tmrq_destructor);
	if (!q)
		return ENOMEM;
	tmr_init(&q->tmr);
	list_init(&q->entries);
	q->delay_ms = delay_ms;
	*qp = q;
	return 0;
}

static void arm(struct tmrq *q)
{
	const struct le *le = list_head(&q->entries);
	uint64_t now = tmr_jiffies(), due;
	if (!le) {
		tmr_cancel(&q->tmr);
		return;
	}
	due = ((const struct tmrq_entry *)le->data)->due;
	tmr_start(&q->tmr, due > now ? due - now : 0, expire, q);
}

/* Every entry due: out of the queue, then its handler (which may start
 * it again, cancel others or free their owners, this queue's too). */
static void expire(void *arg)
{
	struct tmrq *q = arg;
	const uint64_t now = tmr_jiffies();
	struct le *le;

	mem_ref(q);
	while ((le = list_head(&q->entries))) {
		struct tmrq_entry *e = le->data;
		if (e->due > now)
			break;
		list_unlink(le);
		e->h(e->arg);
	}
	arm(q);
	mem_deref(q);
}

void tmrq_start(struct tmrq *q, struct tmrq_entry *e, tmr_h *h, void *arg)
{
	if (!q || !e || !h)
		return;
	list_unlink(&e->le);
	e->due = tmr_jiffies() + q->delay_ms;
	e->h = h;
	e->arg = arg;
	list_append(&q->entries, &e->le, e);
	if (!tmr_isrunning(&q->tmr))
		arm(q);
}

void tmrq_cancel(struct tmrq_entry *e)
{
	if (e)
		list_unlink(&e->le);
}

bool tmrq_isrunning(const struct tmrq_entry *e)
{
	return e && e->le.list != NULL;
}
