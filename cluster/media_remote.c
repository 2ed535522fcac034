/*
 * media_remote.c - media nodes as a gateway sees them.
 *
 * Every second: HGETALL media:nodes (id -> API URL), then GET
 * media:<id>:load for each; a node whose load key expired (no heartbeat
 * for 3 s) is not alive and gets no new call.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "cluster_keys.h"
#include "redis.h"
#include "json_client.h"
#include "fault.h"
#include "media.h"
#include "validate.h"
#include "media_remote.h"

enum {
	MAX_NODES = 64,
	REFRESH_MS = 1000,
	MAX_RECENT = 32,
	/* a node's heartbeat may not count a call placed this long ago yet */
	RECENT_MS = 2500,
};

/* Calls placed on a node lately: counted on top of what it reports. */
/* A call placed on a node lately: counted on it until the node's report
 * names it among the calls it made lately (then its report counts it). */
struct recent {
	uint64_t at_ms;
	double participants;
	uint32_t call_hash; /* of the call id */
	bool reported;
};

struct media_remote {
	struct redis *redis;
	struct json_client *http;
	struct tmr refresh;
	struct node_load nodes[MAX_NODES];
	double reported[MAX_NODES]; /* participants by heartbeat */
	struct recent recent[MAX_NODES][MAX_RECENT];
	size_t n;
	bool closing;
	media_remote_post_h *post; /* tests: posts go here, not HTTP */
	void *post_arg;
};

struct load_req {
	struct media_remote *mr;
	char id[PLACEMENT_ID_MAX];
};

static struct node_load *node_find(struct media_remote *mr, const char *id)
{
	for (size_t i = 0; i < mr->n; i++)
		if (!strcmp(mr->nodes[i].id, id))
			return &mr->nodes[i];
	return NULL;
}

/* What a node carries: what it reported, plus the calls placed on it too
 * lately for its report to show them. */
static double estimate(const struct media_remote *mr, size_t i)
{
	const uint64_t now = port_wallclock_ms();
	double n = mr->reported[i];
	for (size_t k = 0; k < MAX_RECENT; k++) {
		const struct recent *r = &mr->recent[i][k];
		if (r->at_ms && now - r->at_ms < RECENT_MS && !r->reported)
			n += r->participants;
	}
	return n;
}

/* The calls a node's report names as made lately are in its count. */
static void mark_reported(struct recent *recent, const cJSON *fresh)
{
	const cJSON *id;
	cJSON_ArrayForEach(id, fresh)
	{
		uint32_t h;
		if (!cJSON_IsString(id))
			continue;
		h = hash_joaat_str(id->valuestring);
		for (size_t k = 0; k < MAX_RECENT; k++)
			if (recent[k].at_ms && recent[k].call_hash == h)
				recent[k].reported = true;
	}
}

static void on_load(int err, const redisReply *reply, void *arg)
{
	struct load_req *lr = arg;
	struct node_load *nl;
	cJSON *o;

	if (err == ECANCELED) {
		mem_deref(lr);
		return;
	}
	nl = lr->mr->closing ? NULL : node_find(lr->mr, lr->id);

	if (nl) {
		nl->alive = false;
		nl->participants =
			estimate(lr->mr, (size_t)(nl - lr->mr->nodes));
		if (!err && reply && reply->type == REDIS_REPLY_STRING) {
			o = cJSON_ParseWithLength(reply->str, reply->len);
			if (cJSON_IsObject(o)) {
				const cJSON *p =
					cJSON_GetObjectItem(o, "participants");
				const cJSON *c = cJSON_GetObjectItem(o, "cpu");
				const cJSON *d =
					cJSON_GetObjectItem(o, "draining");
				lr->mr->reported[nl - lr->mr->nodes] =
					cJSON_IsNumber(p) ? p->valuedouble : 0;
				nl->cpu =
					cJSON_IsNumber(c) ? c->valuedouble : 0;
				nl->draining = cJSON_IsTrue(d);
				nl->alive = true;
				mark_reported(
					lr->mr->recent[nl - lr->mr->nodes],
					cJSON_GetObjectItem(o, "fresh"));
				nl->participants = estimate(
					lr->mr, (size_t)(nl - lr->mr->nodes));
			}
			cJSON_Delete(o);
		}
	}
	mem_deref(lr);
}

static void on_nodes(int err, const redisReply *reply, void *arg)
{
	struct media_remote *mr = arg;
	struct node_load next[MAX_NODES];
	double reported[MAX_NODES];
	struct recent recent[MAX_NODES][MAX_RECENT]; /* 32 kB */
	size_t n = 0;

	if (err || mr->closing || !reply || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < reply->elements && n < MAX_NODES; i += 2) {
		const redisReply *id = reply->element[i];
		const redisReply *url = reply->element[i + 1];
		const struct node_load *old;
		if (id->type != REDIS_REPLY_STRING ||
		    url->type != REDIS_REPLY_STRING ||
		    id->len >= PLACEMENT_ID_MAX ||
		    url->len >= PLACEMENT_URL_MAX)
			continue;
		memset(&next[n], 0, sizeof(next[n]));
		str_ncpy(next[n].id, id->str, sizeof(next[n].id));
		str_ncpy(next[n].url, url->str, sizeof(next[n].url));
		/* keep what we knew until its load is read again */
		old = node_find(mr, next[n].id);
		memset(recent[n], 0, sizeof(recent[n]));
		reported[n] = 0;
		if (old) {
			size_t o = (size_t)(old - mr->nodes);
			reported[n] = mr->reported[o];
			memcpy(recent[n], mr->recent[o], sizeof(recent[n]));
			next[n].participants = old->participants;
			next[n].cpu = old->cpu;
			next[n].alive = old->alive;
			next[n].draining = old->draining;
		}
		n++;
	}
	memcpy(mr->nodes, next, n * sizeof(next[0]));
	memcpy(mr->reported, reported, n * sizeof(reported[0]));
	memcpy(mr->recent, recent, n * sizeof(recent[0]));
	mr->n = n;
	for (size_t i = 0; i < n; i++) {
		struct load_req *lr = mem_zalloc(sizeof(*lr), NULL);
		if (!lr)
			break;
		lr->mr = mr;
		str_ncpy(lr->id, mr->nodes[i].id, sizeof(lr->id));
		if (redis_cmd(mr->redis, on_load, lr, "GET " KEY_MEDIA_LOAD,
			      lr->id))
			mem_deref(lr);
	}
}

static void refresh(void *arg)
{
	struct media_remote *mr = arg;
	(void)redis_cmd(mr->redis, on_nodes, mr, "HGETALL " KEY_MEDIA_NODES);
	tmr_start(&mr->refresh, REFRESH_MS, refresh, mr);
}

static void remote_destructor(void *arg)
{
	struct media_remote *mr = arg;
	mr->closing = true;
	tmr_cancel(&mr->refresh);
	mem_deref(mr->http); /* answers still due come now, as ECANCELED */
}

int media_remote_alloc(struct media_remote **mrp, struct redis *redis,
		       const struct internal_auth *auth)
{
	struct media_remote *mr;
	int err;

	if (!mrp || !redis)
		return EINVAL;
	mr = mem_zalloc(sizeof(*mr), remote_destructor);
	if (!mr)
		return ENOMEM;
	mr->redis = redis;
	tmr_init(&mr->refresh);
	err = json_client_alloc(&mr->http);
	if (err) {
		mem_deref(mr);
		return err;
	}
	json_client_set_auth(mr->http, auth);
	tmr_start(&mr->refresh, 0, refresh, mr);
	*mrp = mr;
	return 0;
}

int media_remote_place(struct media_remote *mr, const char *call_id,
		       size_t participants, struct node_load *chosen)
{
	int i = mr ? placement_pick(mr->nodes, mr->n) : -1;
	struct recent *oldest;
	if (i < 0 || !chosen)
		return ENOENT;
	/* counted at once, and until the node's own reports include it */
	oldest = &mr->recent[i][0];
	for (size_t k = 1; k < MAX_RECENT; k++)
		if (mr->recent[i][k].at_ms < oldest->at_ms)
			oldest = &mr->recent[i][k];
	oldest->at_ms = port_wallclock_ms();
	oldest->participants = (double)participants;
	oldest->call_hash = call_id ? hash_joaat_str(call_id) : 0;
	oldest->reported = false;
	mr->nodes[i].participants = estimate(mr, (size_t)i);
	*chosen = mr->nodes[i];
	return 0;
}

void media_remote_draining(struct media_remote *mr, const char *node_id)
{
	struct node_load *nl = mr && node_id ? node_find(mr, node_id) : NULL;
	if (nl)
		nl->draining = true;
}

int media_remote_post(struct media_remote *mr, const char *url,
		      const char *path, const cJSON *body, media_remote_h *h,
		      void *arg)
{
	char uri[PLACEMENT_URL_MAX + 64];

	if (!mr || !url || !path || !body)
		return EINVAL;
	if (re_snprintf(uri, sizeof(uri), "%s%s", url, path) < 0)
		return EINVAL;
	if (mr->post)
		return mr->post(uri, body, h, arg, mr->post_arg);
	return json_client_post(mr->http, uri, body, h, arg);
}

void media_remote_set_post(struct media_remote *mr, media_remote_post_h *post,
			   void *arg)
{
	if (!mr)
		return;
	mr->post = post;
	mr->post_arg = arg;
}

void media_remote_take_nodes(struct media_remote *mr,
			     const struct redisReply *reply)
{
	if (mr)
		on_nodes(0, reply, mr);
}

void media_remote_take_load(struct media_remote *mr, const char *node_id,
			    const struct redisReply *reply)
{
	struct load_req *lr =
		mr && node_id ? mem_zalloc(sizeof(*lr), NULL) : NULL;
	if (!lr)
		return;
	lr->mr = mr;
	str_ncpy(lr->id, node_id, sizeof(lr->id));
	on_load(0, reply, lr); /* frees lr */
}

size_t media_remote_nodes(const struct media_remote *mr,
			  const struct node_load **nodes)
{
	if (!mr)
		return 0;
	if (nodes)
		*nodes = mr->nodes;
	return mr->n;
}

/* The media door's side on the nodes: a call's media is the node it was
 * placed on; requests and leaves are posts to that node's API, and
 * letting the call go asks the node to close it. */

struct node_call {
	struct media_remote *mr; /* held once placed */
	char call_id[VALIDATE_ID_MAX + 1];
	struct node_load node;
};

static void node_call_destructor(void *arg)
{
	struct node_call *nc = arg;
	cJSON *o;
	if (!nc->mr)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", nc->call_id);
	(void)media_remote_post(nc->mr, nc->node.url, "/internal/close", o,
				NULL, NULL);
	cJSON_Delete(o);
	mem_deref(nc->mr);
}

/* On the node named `where` when it is alive, else on the one placement
 * picks (its id kept in call:<id>:media-server for the other gateways). */
static int node_open(void *side, const char *call_id, size_t participants,
		     const char *where, void **callp, char *where_out,
		     size_t size)
{
	struct media_remote *mr = side;
	struct node_call *nc = mem_zalloc(sizeof(*nc), node_call_destructor);
	const struct node_load *at = where ? node_find(mr, where) : NULL;

	if (!nc)
		return ENOMEM;
	if (where && (!at || !at->alive)) {
		mem_deref(nc);
		return ENOENT;
	}
	if (at) {
		nc->node = *at;
	} else if (media_remote_place(mr, call_id, participants, &nc->node)) {
		port_log(PORT_LOG_WARN, "call %s: no media node is alive",
			 call_id);
		mem_deref(nc);
		return ENOENT;
	} else {
		(void)redis_cmd(mr->redis, NULL, NULL,
				"SET " KEY_CALL_MEDIA_SERVER " %s EX 3600",
				call_id, nc->node.id);
		port_log(PORT_LOG_INFO, "call %s: media on node %s (%s)",
			 call_id, nc->node.id, nc->node.url);
	}
	str_ncpy(nc->call_id, call_id, sizeof(nc->call_id));
	nc->mr = mem_ref(mr);
	str_ncpy(where_out, nc->node.id, size);
	*callp = nc;
	return 0;
}

/* A post's caller, waiting for the node's answer. */
struct node_req {
	media_answer_h *answerh;
	media_left_h *lefth;
	void *arg;
};

static struct node_req *node_req_new(media_answer_h *answerh,
				     media_left_h *lefth, void *arg)
{
	struct node_req *r = mem_zalloc(sizeof(*r), NULL);
	if (r) {
		r->answerh = answerh;
		r->lefth = lefth;
		r->arg = arg;
	}
	return r;
}

static void on_node_answer(int err, const cJSON *body, void *arg)
{
	struct node_req *r = arg;
	struct media_answer a = {0};
	struct fault f;

	a.err = err;
	a.fault = &f;
	if (err) {
		fault_set(&f, FAULT_INTERNAL,
			  "the call's media node did not answer (%m)", err);
	} else if (!cJSON_IsTrue(cJSON_GetObjectItem(body, "ok"))) {
		/* the node's answer, told as it said it */
		a.err = EINVAL;
		fault_from_json(&f, cJSON_GetObjectItem(body, "error"),
				"the media node refused");
	} else {
		a.reply = cJSON_GetObjectItem(body, "reply");
		a.news = cJSON_GetObjectItem(body, "news");
	}
	r->answerh(&a, r->arg);
	mem_deref(r);
}

static int node_post(struct node_call *nc, const char *path, cJSON *body,
		     struct node_req *r, media_remote_h *h)
{
	int err = r ? media_remote_post(nc->mr, nc->node.url, path, body, h, r)
		    : ENOMEM;
	cJSON_Delete(body);
	if (err)
		mem_deref(r);
	return err;
}

static int node_request(void *call, const char *user, const char *event,
			const cJSON *data, media_answer_h *h, void *arg)
{
	struct node_call *nc = call;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", nc->call_id);
	cJSON_AddStringToObject(o, "userId", user);
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddItemToObject(o, "data",
			      data ? cJSON_Duplicate(data, 1)
				   : cJSON_CreateObject());
	return node_post(nc, "/internal/media", o, node_req_new(h, NULL, arg),
			 on_node_answer);
}

static void on_node_left(int err, const cJSON *body, void *arg)
{
	struct node_req *r = arg;
	r->lefth(err ? NULL : cJSON_GetObjectItem(body, "producerIds"), r->arg);
	mem_deref(r);
}

static int node_leave(void *call, const char *user, media_left_h *h, void *arg)
{
	struct node_call *nc = call;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", nc->call_id);
	cJSON_AddStringToObject(o, "userId", user);
	return node_post(nc, "/internal/leave", o, node_req_new(NULL, h, arg),
			 on_node_left);
}

/* Its node is listed and not alive any more: no heartbeat for 3 s
 * (SIGKILLed, its host lost; a draining node says so itself). A node not
 * listed at all is not judged: Redis may have restarted empty. */
static bool node_lost(const void *call)
{
	const struct node_call *nc = call;
	const struct node_load *nl;
	if (!nc->mr || nc->mr->closing)
		return false;
	nl = node_find(nc->mr, nc->node.id);
	return nl && !nl->alive;
}

static const struct media_ops node_ops = {
	node_open,
	node_request,
	node_leave,
	node_lost,
};

int media_remote_media(struct media **mp, struct media_remote *mr)
{
	return media_alloc(mp, &node_ops, mr);
}
