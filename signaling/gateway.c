/*
 * gateway.c - one HTTP port for everything a client or an operator asks:
 * /socket.io/ (Engine.IO), /health, /metrics, the REST API under /api/
 * (rest.c), and the demo page from the web root; and the gateway's parts
 * made and wired.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "httpd.h"
#include "eio.h"
#include "sio.h"
#include "gateway_impl.h"
#include "http_json.h"
#include "cache.h"
#include "translator.h"
#include "bus.h"
#include "webrtc_transport.h"
#include "media_workers.h"
#include "media.h"
#include "validate.h"
#include "ratelimit.h"

void gateway_config_defaults(struct gateway_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ice_servers = "[]";
	cfg->turn.ttl_s = 86400;
	cfg->ping_interval_ms = 25000;
	cfg->ping_timeout_ms = 20000;
	cfg->max_payload = 100000;
	cfg->max_connections = 10000;
	cfg->max_participants = 50;
	cfg->events_per_sec = 50;
	cfg->events_per_sec_per_ip = 1000;
	cfg->max_sessions_per_ip = 1000;
	cfg->max_conns_per_ip = 1000;
	cfg->max_sockets_per_user = 32;
	cfg->max_buffered = 64u * 1024 * 1024;
	cfg->request_timeout_ms = 20000;
	cfg->sfu_from = 3;
	cfg->p2p_back = true;
	cfg->node_id = "meeshy-1";
}

/* /health: the store answers, the signaling server runs. */
static void serve_health(struct gateway *gw, struct httpd_conn *conn)
{
	struct store_stats st;
	bool db = store_ping(gw->store) == 0, sio = gw->sio != NULL;
	cJSON *o = cJSON_CreateObject(), *checks = cJSON_CreateObject();

	store_get_stats(gw->store, &st);
	/* Writes waiting for the store mean it is not keeping up. */
	db = db && st.queued_now == 0;
	cJSON_AddBoolToObject(checks, "database", db);
	cJSON_AddBoolToObject(checks, "socketio", sio);
	gateway_cluster_health(gw, o, checks, &sio);
	cJSON_AddStringToObject(o, "status",
				db && sio ? "healthy" : "unhealthy");
	cJSON_AddItemToObject(o, "checks", checks);
	cJSON_AddStringToObject(o, "store", store_backend_name(gw->store));
	cJSON_AddNumberToObject(o, "queuedWrites", (double)st.queued_now);
	cJSON_AddNumberToObject(o, "connections",
				(double)sio_server_count(gw->sio));
	cJSON_AddNumberToObject(o, "activeCalls", (double)gw->ncalls);
	cJSON_AddNumberToObject(o, "uptimeSeconds",
				(double)(port_wallclock_ms() - gw->started_ms) /
					1000.0);
	http_json_reply(conn, db && sio ? 200 : 503,
			db && sio ? "OK" : "Service Unavailable", o);
	cJSON_Delete(o);
}

static void serve_metrics(struct gateway *gw, struct httpd_conn *conn)
{
	struct mbuf *mb = mbuf_alloc(8192);
	if (!mb || mbuf_printf(mb, "%H", metrics_print, gw)) {
		mem_deref(mb);
		(void)httpd_ereply(conn, 500, "Internal Server Error");
		return;
	}
	http_body_reply(conn, 200, "OK",
			"text/plain; version=0.0.4; charset=utf-8", mb->buf,
			mb->end);
	mem_deref(mb);
}

/* Static files of the demo page: no "..", a short list of types. */
static void serve_static(struct gateway *gw, struct httpd_conn *conn,
			 const struct http_msg *msg)
{
	static const struct {
		const char *ext, *type;
	} types[] = {{".html", "text/html; charset=utf-8"},
		     {".js", "text/javascript; charset=utf-8"},
		     {".css", "text/css; charset=utf-8"},
		     {".svg", "image/svg+xml"},
		     {".map", "application/json"}};
	char rel[256], path[1024];
	const char *type = NULL;
	struct mbuf *mb = NULL;
	FILE *f = NULL;
	size_t n;

	if (!gw->web_root || msg->path.l >= sizeof(rel)) {
		(void)httpd_ereply(conn, 404, "Not Found");
		return;
	}
	pl_strcpy(&msg->path, rel, sizeof(rel));
	if (strstr(rel, "..")) {
		(void)httpd_ereply(conn, 404, "Not Found");
		return;
	}
	if (!strcmp(rel, "/"))
		str_ncpy(rel, "/index.html", sizeof(rel));
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		size_t el = strlen(types[i].ext), rl = strlen(rel);
		if (rl > el && !strcmp(rel + rl - el, types[i].ext))
			type = types[i].type;
	}
	if (!type ||
	    re_snprintf(path, sizeof(path), "%s%s", gw->web_root, rel) < 0 ||
	    !(f = fopen(path, "rb"))) {
		(void)httpd_ereply(conn, 404, "Not Found");
		return;
	}
	mb = mbuf_alloc(65536);
	while (mb && (n = fread(mb->buf + mb->end, 1, mb->size - mb->end, f))) {
		mb->end += n;
		if (mb->end == mb->size && mbuf_resize(mb, mb->size * 2))
			break;
	}
	fclose(f);
	if (!mb) {
		(void)httpd_ereply(conn, 500, "Internal Server Error");
		return;
	}
	http_body_reply(conn, 200, "OK", type, mb->buf, mb->end);
	mem_deref(mb);
}

static void http_handler(struct httpd_conn *conn, const struct http_msg *msg,
			 void *arg)
{
	struct gateway *gw = arg;

	gw->m.http_requests++;
	if (!pl_strcmp(&msg->path, "/socket.io/") ||
	    !pl_strcmp(&msg->path, "/socket.io"))
		eio_server_handle(sio_server_eio(gw->sio), conn, msg);
	else if (!pl_strcmp(&msg->path, "/health"))
		serve_health(gw, conn);
	else if (!pl_strcmp(&msg->path, "/metrics"))
		serve_metrics(gw, conn);
	else if (msg->path.l > 5 && !memcmp(msg->path.p, "/api/", 5))
		rest_serve(gw, conn, msg);
	else if (!pl_strcmp(&msg->met, "GET"))
		serve_static(gw, conn, msg);
	else
		(void)httpd_ereply(conn, 405, "Method Not Allowed");
}

/* Socket.IO hooks */

static int sio_connect_handler(struct sio_socket *sock, const cJSON *auth,
			       struct fault *f, void *arg)
{
	return calls_connect(arg, sock, auth, f);
}

static void sio_connected_handler(struct sio_socket *sock, void *arg)
{
	calls_connected(arg, sock);
}

static void sio_event_handler(struct sio_socket *sock, const char *event,
			      const cJSON *args, int64_t ack_id, void *arg)
{
	calls_event(arg, sock, event, args, ack_id);
}

static void sio_disconnect_handler(struct sio_socket *sock, const char *reason,
				   void *arg)
{
	calls_disconnect(arg, sock, reason);
}

static void speaker_handler(const char *call_id, const char *producer_id,
			    const char *user_id, void *arg)
{
	calls_speaker(arg, call_id, producer_id, user_id);
}

/* gw_room_emit_h: our sockets in the room, then the bus for the rest. */
static void room_emit(struct gateway *gw, const char *room,
		      const struct sio_socket *except, const char *except_sid,
		      const char *event, const cJSON *data)
{
	(void)sio_room_emit(gw->sio, room, except, event, data);
	(void)bus_publish(gw->bus, room, event, data,
			  except ? sio_socket_id(except) : except_sid);
}

static void gateway_destructor(void *arg)
{
	struct gateway *gw = arg;
	gw->cluster_tmr = mem_deref(gw->cluster_tmr);
	gw->http = mem_deref(gw->http);
	gateway_shutdown(gw, "server shutdown");
	gw->state_tmr = mem_deref(gw->state_tmr);
	gw->sio = mem_deref(gw->sio);
	list_flush(&gw->remote_clients);
	gw->user_rate = mem_deref(gw->user_rate);
	gw->ip_rate = mem_deref(gw->ip_rate);
	/* the borrowed parts stop calling us; apps/ frees them */
	media_workers_set_speaker(gw->workers, NULL, NULL);
	gateway_cluster_stop(gw);
	hash_flush(gw->calls);
	mem_deref(gw->calls);
	/* its tallies went with their clients, which held them */
	hash_clear(gw->user_sockets);
	mem_deref(gw->user_sockets);
	mem_deref(gw->node_id);
	mem_deref(gw->web_root);
	mem_deref(gw->ice_servers);
	mem_deref(gw->jwt_secret);
	mem_deref(gw->turn_secret);
	mem_deref(gw->turn_servers);
}

/* The HTTP port. Requests wait for the loop, so nothing is served before
 * gateway_alloc has built the rest. */
static int gateway_listen(struct gateway *gw, const struct gateway_config *cfg)
{
	struct httpd_config hc;

	httpd_config_defaults(&hc);
	hc.max_body = cfg->max_payload;
	hc.budget = cfg->max_buffered;
	hc.request_ms = cfg->request_timeout_ms;
	/* a long-poll is held up to a ping interval */
	hc.answer_ms = 2 * cfg->ping_interval_ms + cfg->ping_timeout_ms;
	if (hc.answer_ms < 60000)
		hc.answer_ms = 60000;
	/* a session takes up to two connections while it upgrades; the
	 * margin answers those beyond with a 503 */
	hc.max_conns = cfg->max_connections ? 2 * cfg->max_connections + 64 : 0;
	hc.max_conns_per_ip = cfg->max_conns_per_ip;
	/* beyond what descriptors allow, a connection could not even be
	 * answered: keep room for the store, Redis, UDP and the 503s */
	if (cfg->max_fds > 512 &&
	    (!hc.max_conns || hc.max_conns > cfg->max_fds - 256))
		hc.max_conns = cfg->max_fds - 256;
	return httpd_listen(&gw->http, cfg->listen, &hc, http_handler, gw);
}

static int bytes_dup(uint8_t **dst, const uint8_t *src, size_t len)
{
	*dst = mem_alloc(len, NULL);
	if (!*dst)
		return ENOMEM;
	memcpy(*dst, src, len);
	return 0;
}

/* The gateway's own copies of what the caller's config points at: the
 * pointers in gw->cfg must not outlive gateway_alloc's caller. */
static int config_own(struct gateway *gw, const struct gateway_config *cfg)
{
	int err =
		str_dup(&gw->node_id, cfg->node_id ? cfg->node_id : "meeshy-1");
	err |= str_dup(&gw->ice_servers,
		       cfg->ice_servers ? cfg->ice_servers : "[]");
	if (!err && cfg->web_root)
		err = str_dup(&gw->web_root, cfg->web_root);
	if (!err && cfg->jwt_secret)
		err = bytes_dup(&gw->jwt_secret, cfg->jwt_secret,
				cfg->jwt_secret_len);
	if (!err && cfg->turn.secret)
		err = bytes_dup(&gw->turn_secret, cfg->turn.secret,
				cfg->turn.secret_len);
	if (!err)
		err = str_dup(&gw->turn_servers,
			      cfg->turn.servers ? cfg->turn.servers : "");
	if (err)
		return err;
	gw->cfg.jwt_secret = gw->jwt_secret;
	gw->cfg.web_root = gw->web_root;
	gw->cfg.ice_servers = gw->ice_servers;
	gw->cfg.turn.secret = gw->turn_secret;
	gw->cfg.turn.servers = gw->turn_servers;
	gw->cfg.node_id = gw->node_id;
	gw->cfg.listen = NULL;
	return 0;
}

/* The HTTP port, the rate limits and Socket.IO on it. */
static int sockets_make(struct gateway *gw, const struct gateway_config *cfg)
{
	/* binary events are not ours: dropped and counted */
	const struct sio_handlers h = {
		.connecth = sio_connect_handler,
		.connectedh = sio_connected_handler,
		.eventh = sio_event_handler,
		.disconnecth = sio_disconnect_handler,
		.arg = gw,
	};
	struct eio_config ec;
	int err =
		hash_alloc(&gw->calls, eio_hash_buckets(cfg->max_connections));
	if (!err)
		err = hash_alloc(&gw->user_sockets,
				 eio_hash_buckets(cfg->max_connections));
	if (!err)
		err = port_timer_alloc(&gw->state_tmr);
	if (!err)
		err = gateway_listen(gw, cfg);
	if (!err && cfg->events_per_sec)
		err = ratelimit_alloc(
			&gw->user_rate, USER_RATE_FACTOR * cfg->events_per_sec,
			2.0 * USER_RATE_FACTOR * cfg->events_per_sec);
	if (!err && cfg->events_per_sec_per_ip)
		err = ratelimit_alloc(&gw->ip_rate, cfg->events_per_sec_per_ip,
				      2.0 * cfg->events_per_sec_per_ip);
	if (err)
		return err;
	memset(&ec, 0, sizeof(ec));
	ec.budget = httpd_budget(gw->http);
	ec.answer_budget = cfg->max_buffered;
	ec.max_sessions_per_ip = cfg->max_sessions_per_ip;
	ec.ping_interval_ms = cfg->ping_interval_ms;
	ec.ping_timeout_ms = cfg->ping_timeout_ms;
	ec.max_payload = cfg->max_payload;
	ec.max_sessions = cfg->max_connections;
	return sio_server_alloc(&gw->sio, &ec, &h);
}

/* The parts apps/ built, borrowed; the ones that call back now call us. */
static int parts_take(struct gateway *gw, const struct gateway_parts *parts)
{
	gw->store = parts->store;
	gw->cache = parts->cache;
	gw->cache_shared = gw->cache && !strcmp(cache_kind(gw->cache), "redis");
	gw->media = parts->media;
	gw->workers = parts->workers;
	gw->translator = parts->translator;
	gw->redis = parts->redis;
	gw->bus = parts->bus;
	gw->remote = parts->remote;
	gw->upstream = parts->upstream;
	media_workers_set_speaker(gw->workers, speaker_handler, gw);
	return gw->redis ? gateway_cluster_start(gw) : 0;
}

int gateway_alloc(struct gateway **gwp, const struct gateway_config *cfg,
		  const struct gateway_parts *parts)
{
	struct gateway *gw;
	int err;

	if (!gwp || !cfg || !cfg->listen || !parts || !parts->store ||
	    !parts->cache)
		return EINVAL;
	gw = mem_zalloc(sizeof(*gw), gateway_destructor);
	if (!gw)
		return ENOMEM;
	gw->cfg = *cfg;
	gw->room_emit = room_emit;
	gw->started_ms = port_wallclock_ms();
	err = config_own(gw, cfg);
	if (!err)
		err = sockets_make(gw, cfg);
	if (!err)
		err = parts_take(gw, parts);
	gw->call_policy.sfu_from = cfg->sfu_from;
	gw->call_policy.sfu_here = gw->media != NULL;
	gw->call_policy.p2p_back = cfg->p2p_back;
	if (err) {
		mem_deref(gw);
		return err;
	}
	*gwp = gw;
	return 0;
}

int gateway_local(const struct gateway *gw, struct sa *laddr)
{
	if (!gw || !gw->http)
		return EINVAL;
	return httpd_local(gw->http, laddr);
}

void gateway_shutdown(struct gateway *gw, const char *reason)
{
	if (!gw)
		return;
	calls_end_all(gw, reason);
	if (gw->sio)
		eio_server_close_all(sio_server_eio(gw->sio), reason);
}
