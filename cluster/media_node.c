/*
 * media_node.c - the media role's server: calls placed here, the internal
 * API gateways drive them with, and the heartbeat in Redis.
 *
 * Internal API (JSON in, JSON out; an error is {ok:false, error:{code,
 * message}} with the HTTP status of its code, fault.h):
 *   POST /internal/media {callId, userId, event, data}
 *        -> {ok, reply, news}: the media:* request of a participant; the
 *        call is made here by its first request.
 *   POST /internal/leave {callId, userId} -> {ok, producerIds}
 *   POST /internal/close {callId} -> {ok}
 *   GET  /internal/calls -> {node, calls: [{callId, participants}]}
 * Each of them carries the cluster's credential (internal_auth.h): one
 * without it, with a wrong one or with one already used is answered 401
 * and counted. /health and /metrics are open, as for any operator.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "cluster_keys.h"
#include "httpd.h"
#include "redis.h"
#include "bus.h"
#include "router.h"
#include "webrtc_transport.h"
#include "sfu_call.h"
#include "media_workers.h"
#include "validate.h"
#include "fault.h"
#include "http_json.h"
#include "prometheus.h"
#include "media_metrics.h"
#include "media_node.h"
#include "internal_auth.h"

/* FRESH_MS: calls made this lately are named in the heartbeat (longer
 * than a gateway counts a placement on its own) */
enum { TICK_MS = 100, ID_MAX = 128, LOAD_TTL_S = 3, FRESH_MS = 5000 };

struct node_call {
	struct le le;
	uint64_t created_ms;
	char id[ID_MAX + 1];
	char room[ID_MAX + 8];
	struct worker_call *sfu; /* on one of the node's media workers */
};

struct media_node {
	char *node_id, *api_url;
	struct httpd *http;
	struct media_workers *media;
	struct redis *redis;
	struct bus *bus;
	struct internal_auth *auth; /* checks /internal/ requests */
	uint64_t refused;           /* requests without a valid one */
	struct hash *calls;
	size_t ncalls;
	struct port_timer *tick_tmr;
	unsigned ticks;
	uint64_t started_ms;
	/* load, measured each heartbeat */
	double cpu_s, cpu; /* process CPU seconds, share of a core */
	uint64_t bytes, load_at_ms;
	double bandwidth_bps;
	/* draining */
	bool draining;
	uint64_t drain_until_ms;
	media_node_drained_h *drainedh;
	void *drained_arg;
};

static bool call_cmp(struct le *le, void *arg)
{
	const struct node_call *c = le->data;
	return !strcmp(c->id, arg);
}

static struct node_call *call_find(const struct media_node *m, const char *id)
{
	struct le *le =
		hash_lookup(m->calls, hash_joaat_str(id), call_cmp, (void *)id);
	return le ? le->data : NULL;
}

static void call_destructor(void *arg)
{
	struct node_call *c = arg;
	hash_unlink(&c->le);
	mem_deref(c->sfu);
}

static void call_close(struct media_node *m, struct node_call *c)
{
	m->ncalls--;
	mem_deref(c);
}

static struct node_call *call_want(struct media_node *m, const char *id)
{
	struct node_call *c = call_find(m, id);
	if (c)
		return c;
	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return NULL;
	str_ncpy(c->id, id, sizeof(c->id));
	c->created_ms = port_wallclock_ms();
	(void)re_snprintf(c->room, sizeof(c->room), CALL_ROOM, id);
	if (worker_call_alloc(&c->sfu, m->media, id)) {
		mem_deref(c);
		return NULL;
	}
	hash_append(m->calls, hash_joaat_str(id), &c->le, c);
	m->ncalls++;
	port_log(PORT_LOG_INFO, "media node %s: call %s placed here",
		 m->node_id, id);
	return c;
}

/* Totals over the workers: the calls here now and those closed. */
static void node_stats(const struct media_node *m, struct router_stats *st,
		       size_t *peers)
{
	memset(st, 0, sizeof(*st));
	*peers = 0;
	for (unsigned i = 0; i < media_workers_count(m->media); i++) {
		struct media_worker_stats ws;
		media_workers_stats(m->media, i, &ws);
		router_stats_add(st, &ws.router);
		*peers += ws.peers;
	}
}

static bool add_fresh(struct le *le, void *arg)
{
	const struct node_call *c = le->data;
	if (port_wallclock_ms() - c->created_ms < FRESH_MS)
		cJSON_AddItemToArray(arg, cJSON_CreateString(c->id));
	return false;
}

/* Heartbeat: alive, and how loaded (placement picks the least loaded). */
static void heartbeat(struct media_node *m)
{
	struct router_stats rs;
	const uint64_t now = port_wallclock_ms();
	const double cpu_s = prom_cpu_seconds();
	char key[ID_MAX + 16], *text;
	size_t peers;
	cJSON *o;

	node_stats(m, &rs, &peers);
	if (m->load_at_ms && now > m->load_at_ms) {
		double dt = (double)(now - m->load_at_ms) / 1000.0;
		m->cpu = (cpu_s - m->cpu_s) / dt;
		m->bandwidth_bps =
			(double)(rs.bytes_forwarded - m->bytes) * 8.0 / dt;
	}
	m->cpu_s = cpu_s;
	m->bytes = rs.bytes_forwarded;
	m->load_at_ms = now;
	if (!redis_up(m->redis))
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "url", m->api_url);
	cJSON_AddNumberToObject(o, "participants", (double)peers);
	cJSON_AddNumberToObject(o, "calls", (double)m->ncalls);
	cJSON_AddNumberToObject(o, "cpu", m->cpu);
	cJSON_AddNumberToObject(o, "bandwidthBps", m->bandwidth_bps);
	if (m->draining)
		cJSON_AddTrueToObject(o, "draining");
	/* the calls made here lately: gateways that placed them stop
	 * counting them on their own, as this count has them now */
	(void)hash_apply(m->calls, add_fresh,
			 cJSON_AddArrayToObject(o, "fresh"));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return;
	(void)re_snprintf(key, sizeof(key), KEY_MEDIA_LOAD, m->node_id);
	(void)redis_cmd(m->redis, NULL, NULL, "HSET " KEY_MEDIA_NODES " %s %s",
			m->node_id, m->api_url);
	(void)redis_cmd(m->redis, NULL, NULL, "SET %s %s EX %d", key, text,
			LOAD_TTL_S);
	cJSON_free(text);
}

/* A call's active speaker changed (from its media worker): to the
 * call's room, through the bus to its gateways. */
static void speaker_handler(const char *call_id, const char *producer_id,
			    const char *user_id, void *arg)
{
	struct media_node *m = arg;
	struct node_call *c = call_find(m, call_id);
	cJSON *o;

	if (!c)
		return; /* closed meanwhile */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->id);
	cJSON_AddStringToObject(o, "producerId", producer_id);
	cJSON_AddStringToObject(o, "userId", user_id);
	(void)bus_publish(m->bus, c->room, "media:active-speaker", o, NULL);
	cJSON_Delete(o);
}

static void tick(void *arg)
{
	struct media_node *m = arg;
	if (m->ticks % 10 == 0)
		heartbeat(m);
	if (m->draining && m->drainedh &&
	    (!m->ncalls || port_wallclock_ms() >= m->drain_until_ms)) {
		media_node_drained_h *h = m->drainedh;
		m->drainedh = NULL;
		h(m->ncalls, m->drained_arg);
	}
	m->ticks++;
	port_timer_start(m->tick_tmr, TICK_MS, tick, m);
}

/* Internal API */

static const char *str_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void reply_ok(struct httpd_conn *conn, cJSON *o)
{
	cJSON_AddTrueToObject(o, "ok");
	http_json_reply(conn, 200, "OK", o);
	cJSON_Delete(o);
}

static void api_media(struct media_node *m, struct httpd_conn *conn,
		      const cJSON *body)
{
	const char *call = str_field(body, "callId");
	const char *user = str_field(body, "userId");
	const char *event = str_field(body, "event");
	struct fault f = {FAULT_INTERNAL, ""};
	struct node_call *c;
	cJSON *reply, *news, *o;

	if (!validate_is_id(call) || !validate_is_id(user) ||
	    !sfu_call_handles(event)) {
		http_error_reply(conn, FAULT_VALIDATION,
				 "callId, userId (ids) and event (media:*)"
				 " are needed");
		return;
	}
	c = call_want(m, call);
	if (!c) {
		http_error_reply(conn, FAULT_INTERNAL, "out of resources");
		return;
	}
	reply = cJSON_CreateObject();
	news = cJSON_CreateArray();
	if (worker_call_request(c->sfu, user, event,
				cJSON_GetObjectItemCaseSensitive(body, "data"),
				reply, news, &f)) {
		cJSON_Delete(reply);
		cJSON_Delete(news);
		http_fault_reply(conn, &f);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "reply", reply);
	cJSON_AddItemToObject(o, "news", news);
	reply_ok(conn, o);
}

static void api_leave(struct media_node *m, struct httpd_conn *conn,
		      const cJSON *body, bool close)
{
	const char *call = str_field(body, "callId");
	const char *user = str_field(body, "userId");
	struct node_call *c = validate_is_id(call) ? call_find(m, call) : NULL;
	cJSON *o = cJSON_CreateObject(), *ids;

	ids = cJSON_AddArrayToObject(o, "producerIds");
	if (c && close)
		call_close(m, c);
	else if (c && validate_is_id(user))
		worker_call_leave(c->sfu, user, ids);
	reply_ok(conn, o);
}

static bool list_call(struct le *le, void *arg)
{
	struct node_call *c = le->data;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->id);
	cJSON_AddNumberToObject(o, "participants",
				(double)worker_call_peers(c->sfu));
	cJSON_AddItemToArray(arg, o);
	return false;
}

static int print_metrics(struct re_printf *pf, const struct media_node *m)
{
	struct router_stats rs;
	size_t peers;
	int err;

	node_stats(m, &rs, &peers);
	err = re_hprintf(pf,
			 "# HELP meeshy_media_calls Calls placed on this node\n"
			 "# TYPE meeshy_media_calls gauge\n"
			 "meeshy_media_calls %zu\n"
			 "# HELP meeshy_active_participants Participants with"
			 " media on this node\n"
			 "# TYPE meeshy_active_participants gauge\n"
			 "meeshy_active_participants %zu\n"
			 "# HELP meeshy_internal_api_refused_total Internal"
			 " API requests without a valid credential\n"
			 "# TYPE meeshy_internal_api_refused_total counter\n"
			 "meeshy_internal_api_refused_total %llu\n",
			 m->ncalls, peers, (unsigned long long)m->refused);
	err |= media_metrics_workers(pf, m->media);
	err |= prom_process(pf, m->started_ms);
	return err;
}

/* Whether a request to the internal API carries a valid credential;
 * answers 401 when not. */
static bool internal_ok(struct media_node *m, struct httpd_conn *conn,
			const struct http_msg *msg)
{
	const struct http_hdr *h = http_msg_xhdr(msg, INTERNAL_AUTH_HEADER);
	char method[16], path[256];
	int err = EACCES;

	if (h && msg->met.l < sizeof(method) && msg->path.l < sizeof(path)) {
		pl_strcpy(&msg->met, method, sizeof(method));
		pl_strcpy(&msg->path, path, sizeof(path));
		err = internal_auth_check(m->auth, h->val.p, h->val.l, method,
					  path, mbuf_buf(msg->mb),
					  mbuf_get_left(msg->mb),
					  port_wallclock_ms());
	}
	if (!err)
		return true;
	m->refused++;
	port_log(PORT_LOG_WARN, "internal API: %r %r from %J refused: %s",
		 &msg->met, &msg->path, httpd_conn_peer(conn),
		 internal_auth_strerror(err));
	http_error_reply(conn, FAULT_UNAUTHENTICATED, "%s",
			 internal_auth_strerror(err));
	return false;
}

static void http_handler(struct httpd_conn *conn, const struct http_msg *msg,
			 void *arg)
{
	struct media_node *m = arg;
	bool post = !pl_strcmp(&msg->met, "POST");
	cJSON *body = NULL;

	if (!pl_strcmp(&msg->path, "/health")) {
		cJSON *o = cJSON_CreateObject(), *checks;
		checks = cJSON_AddObjectToObject(o, "checks");
		cJSON_AddBoolToObject(checks, "sfu", m->media != NULL);
		cJSON_AddBoolToObject(checks, "redis", redis_up(m->redis));
		/* without Redis no gateway can place a call here, but the
		 * calls here go on: degraded, not dead */
		cJSON_AddStringToObject(o, "status",
					redis_up(m->redis) ? "healthy"
							   : "degraded");
		cJSON_AddStringToObject(o, "role", "media");
		cJSON_AddStringToObject(o, "node", m->node_id);
		cJSON_AddNumberToObject(o, "calls", (double)m->ncalls);
		http_json_reply(conn, 200, "OK", o);
		cJSON_Delete(o);
		return;
	}
	if (!pl_strcmp(&msg->path, "/metrics")) {
		struct mbuf *mb = mbuf_alloc(8192);
		if (!mb || mbuf_printf(mb, "%H", print_metrics, m))
			(void)httpd_ereply(conn, 500, "Internal Server Error");
		else
			http_body_reply(conn, 200, "OK",
					"text/plain; version=0.0.4", mb->buf,
					mb->end);
		mem_deref(mb);
		return;
	}
	if (!internal_ok(m, conn, msg))
		return;
	if (!pl_strcmp(&msg->path, "/internal/calls")) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "node", m->node_id);
		(void)hash_apply(m->calls, list_call,
				 cJSON_AddArrayToObject(o, "calls"));
		reply_ok(conn, o);
		return;
	}
	if (post)
		body = cJSON_ParseWithLength((const char *)mbuf_buf(msg->mb),
					     mbuf_get_left(msg->mb));
	if (post && !cJSON_IsObject(body)) {
		http_error_reply(conn, FAULT_VALIDATION,
				 "the body is not a JSON object");
	} else if (post && !pl_strcmp(&msg->path, "/internal/media"))
		api_media(m, conn, body);
	else if (post && !pl_strcmp(&msg->path, "/internal/leave"))
		api_leave(m, conn, body, false);
	else if (post && !pl_strcmp(&msg->path, "/internal/close"))
		api_leave(m, conn, body, true);
	else
		http_error_reply(conn, FAULT_NOT_FOUND, "no such resource");
	cJSON_Delete(body);
}

static void on_redis_msg(const char *channel, const char *msg, size_t len,
			 void *arg)
{
	/* a media node subscribes to nothing; whatever comes is not ours */
	(void)channel;
	(void)msg;
	(void)len;
	(void)arg;
}

static void node_destructor(void *arg)
{
	struct media_node *m = arg;
	m->tick_tmr = mem_deref(m->tick_tmr);
	m->http = mem_deref(m->http);
	hash_flush(m->calls);
	mem_deref(m->calls);
	mem_deref(m->bus);
	mem_deref(m->auth);
	mem_deref(m->redis);
	mem_deref(m->media);
	mem_deref(m->node_id);
	mem_deref(m->api_url);
}

static int node_listen(struct media_node *m,
		       const struct media_node_config *cfg)
{
	struct httpd_config hc;
	httpd_config_defaults(&hc);
	hc.max_body = 262144; /* an SDP-sized media request, with room */
	return httpd_listen(&m->http, cfg->listen, &hc, http_handler, m);
}

int media_node_alloc(struct media_node **mp,
		     const struct media_node_config *cfg)
{
	struct media_node *m;
	struct sa laddr;
	int err;

	if (!mp || !cfg || !cfg->listen || !cfg->rtc_listen || !cfg->node_id ||
	    !cfg->redis_host)
		return EINVAL;
	m = mem_zalloc(sizeof(*m), node_destructor);
	if (!m)
		return ENOMEM;
	m->started_ms = port_wallclock_ms();
	err = internal_auth_alloc(&m->auth, cfg->internal_secret,
				  cfg->internal_secret_len);
	if (!err)
		err = str_dup(&m->node_id, cfg->node_id);
	if (!err)
		err = hash_alloc(&m->calls, 256);
	if (!err) {
		struct media_workers_config wc = {cfg->media_workers,
						  cfg->rtc_listen,
						  cfg->rtc_announced};
		err = media_workers_alloc(&m->media, &wc, speaker_handler, m);
	}
	if (!err)
		err = node_listen(m, cfg);
	if (!err)
		err = httpd_local(m->http, &laddr);
	if (!err)
		err = cfg->api_url
			      ? str_dup(&m->api_url, cfg->api_url)
			      : re_sdprintf(&m->api_url, "http://%J", &laddr);
	if (!err)
		err = redis_alloc(&m->redis, cfg->redis_host, cfg->redis_port,
				  cfg->redis_password, on_redis_msg, NULL, m);
	if (!err)
		err = bus_alloc(&m->bus, m->redis, m->node_id, NULL, NULL);
	if (!err)
		err = port_timer_alloc(&m->tick_tmr);
	if (err) {
		mem_deref(m);
		return err;
	}
	port_timer_start(m->tick_tmr, TICK_MS, tick, m);
	media_workers_log(m->media);
	*mp = m;
	return 0;
}

static bool hand_back(struct le *le, void *arg)
{
	const struct node_call *c = le->data;
	struct media_node *m = arg;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callId", c->id);
	cJSON_AddStringToObject(o, "node", m->node_id);
	(void)bus_publish(m->bus, c->room, "media:node-draining", o, NULL);
	cJSON_Delete(o);
	return false;
}

void media_node_drain(struct media_node *m, uint32_t timeout_ms,
		      media_node_drained_h *done, void *arg)
{
	if (!m)
		return;
	port_log(PORT_LOG_INFO, "media node %s: draining %zu calls", m->node_id,
		 m->ncalls);
	m->draining = true;
	m->drain_until_ms = port_wallclock_ms() + timeout_ms;
	m->drainedh = done;
	m->drained_arg = arg;
	heartbeat(m); /* no new calls from now on */
	(void)hash_apply(m->calls, hand_back, m);
}

int media_node_local(const struct media_node *m, struct sa *laddr)
{
	if (!m || !laddr)
		return EINVAL;
	return httpd_local(m->http, laddr);
}
