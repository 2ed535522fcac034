/*
 * media_local.c - the media door over the media workers: a request runs
 * on the call's worker while the caller waits, and is answered then.
 */
#include <errno.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "fault.h"
#include "media_workers.h"
#include "media.h"
#include "media_local.h"

struct local {
	struct media_workers *mw; /* held */
	char *name;
};

static void local_destructor(void *arg)
{
	struct local *l = arg;
	mem_deref(l->mw);
	mem_deref(l->name);
}

static int local_open(void *side, const char *call_id, size_t participants,
		      const char *where, void **callp, char *where_out,
		      size_t size)
{
	struct local *l = side;
	struct worker_call *wc = NULL;
	int err = worker_call_alloc(&wc, l->mw, call_id);
	if (err)
		return err;
	str_ncpy(where_out, l->name, size);
	*callp = wc;
	return 0;
}

static int local_request(void *call, const char *user, const char *event,
			 const cJSON *data, media_answer_h *h, void *arg)
{
	struct fault f = {FAULT_INTERNAL, ""};
	struct media_answer a = {0};
	cJSON *reply = cJSON_CreateObject(), *news = cJSON_CreateArray();

	a.err = reply && news ? worker_call_request(call, user, event, data,
						    reply, news, &f)
			      : ENOMEM;
	if (a.err == ENOMEM && !f.message[0])
		fault_set(&f, FAULT_INTERNAL, "out of memory");
	a.fault = &f;
	a.reply = a.err ? NULL : reply;
	a.news = a.err ? NULL : news;
	h(&a, arg);
	cJSON_Delete(reply);
	cJSON_Delete(news);
	return 0;
}

static int local_leave(void *call, const char *user, media_left_h *h, void *arg)
{
	cJSON *closed = cJSON_CreateArray();
	worker_call_leave(call, user, closed);
	h(closed, arg);
	cJSON_Delete(closed);
	return 0;
}

static const struct media_ops local_ops = {
	local_open,
	local_request,
	local_leave,
};

int media_local_alloc(struct media **mp, struct media_workers *mw,
		      const char *name)
{
	struct local *l;
	int err;
	if (!mp || !mw)
		return EINVAL;
	l = mem_zalloc(sizeof(*l), local_destructor);
	if (!l)
		return ENOMEM;
	l->mw = mem_ref(mw);
	err = str_dup(&l->name, name ? name : "");
	if (!err)
		err = media_alloc(mp, &local_ops, l);
	mem_deref(l); /* the door holds it */
	return err;
}
