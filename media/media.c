/*
 * media.c - the door's own part: a side and a call's media on it, each
 * call forwarding to the side's table.
 */
#include <errno.h>
#include <re.h>
#include "media.h"

struct media {
	const struct media_ops *ops;
	void *side; /* held */
};

struct media_call {
	struct media *m; /* held: a side outlives its calls */
	void *call;      /* the side's object for this call */
	char where[MEDIA_WHERE_MAX + 1];
};

static void media_destructor(void *arg)
{
	struct media *m = arg;
	mem_deref(m->side);
}

int media_alloc(struct media **mp, const struct media_ops *ops, void *side)
{
	struct media *m;
	if (!mp || !ops || !side)
		return EINVAL;
	m = mem_zalloc(sizeof(*m), media_destructor);
	if (!m)
		return ENOMEM;
	m->ops = ops;
	m->side = mem_ref(side);
	*mp = m;
	return 0;
}

static void call_destructor(void *arg)
{
	struct media_call *mc = arg;
	mem_deref(mc->call);
	mem_deref(mc->m);
}

int media_call_open(struct media_call **mcp, struct media *m,
		    const char *call_id, size_t participants, const char *where)
{
	struct media_call *mc;
	int err;
	if (!mcp || !m || !call_id)
		return EINVAL;
	mc = mem_zalloc(sizeof(*mc), call_destructor);
	if (!mc)
		return ENOMEM;
	mc->m = mem_ref(m);
	err = m->ops->open(m->side, call_id, participants, where, &mc->call,
			   mc->where, sizeof(mc->where));
	if (err) {
		mem_deref(mc);
		return err;
	}
	*mcp = mc;
	return 0;
}

const char *media_call_where(const struct media_call *mc)
{
	return mc ? mc->where : "";
}

int media_call_request(struct media_call *mc, const char *user,
		       const char *event, const struct cJSON *data,
		       media_answer_h *h, void *arg)
{
	if (!mc || !user || !event || !h)
		return EINVAL;
	return mc->m->ops->request(mc->call, user, event, data, h, arg);
}

int media_call_leave(struct media_call *mc, const char *user, media_left_h *h,
		     void *arg)
{
	if (!mc || !user || !h)
		return EINVAL;
	return mc->m->ops->leave(mc->call, user, h, arg);
}

bool media_call_lost(const struct media_call *mc)
{
	return mc && mc->m->ops->lost && mc->m->ops->lost(mc->call);
}
