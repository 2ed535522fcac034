/* What the other processes of a cluster tell a gateway of role gateway:
 * over Redis, messages on its own channel (meeshy:node:gw-fuzz: events of
 * clients of other gateways in calls it holds, their disconnects, acks and
 * emits for its sockets) and on rooms' channels (meeshy:room:...: emits of
 * other gateways and media nodes, a node draining), and a media node's
 * heartbeat (its load); over HTTP, the media node's answers to the
 * gateway's requests. A real gateway, its Redis client pointed at a port
 * where nothing listens (what it would publish back is refused, as while
 * Redis is down), over a SQLite store in memory (a new one every thousand
 * runs); its media requests go to the harness (media_remote_set_post).
 *
 * An input is lines: "L <json>" is media node node-1's load as Redis
 * holds it; "A <json>" is the body of the node's next answer (queued: the
 * requests are answered in order after each line; one with no answer
 * queued waits, and is cancelled at the end); any other line is
 * "<channel> <message>" over Redis. Each run starts with node-1 alive and
 * a call this gateway holds, initiated by a client of gateway gw-b (the
 * message gw-b sends for it); "$C" in a line stands for its id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "bus.h"
#include "cache.h"
#include "calls_impl.h"
#include "gateway.h"
#include "fuzz_gateway.h"
#include "gateway_impl.h"
#include "port.h"
#include "internal_auth.h"
#include "media.h"
#include "media_remote.h"
#include <hiredis/hiredis.h>
#include "redis.h"
#include "store.h"

static const char node_id[] = "gw-fuzz";
static struct cache *cache;
static struct redis *redis;
static struct bus *bus;
static struct internal_auth *auth;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t secret[] = "fuzz-cluster-secret-0123456789";
	(void)argc;
	(void)argv;
	port_log_set_level(PORT_LOG_ERROR); /* every run warns */
	/* port 1: refused at once, and retried with backoff */
	if (libre_init() || cache_alloc_memory(&cache) ||
	    redis_alloc(&redis, "127.0.0.1", 1, NULL, NULL, NULL, NULL) ||
	    bus_alloc(&bus, redis, node_id, NULL, NULL) ||
	    internal_auth_alloc(&auth, secret, sizeof(secret) - 1))
		abort();
	return 0;
}

/* The requests to the node waiting for their answer, and the answers
 * waiting for a request. */
struct node_side {
	struct list asked;   /* struct asked */
	struct list answers; /* struct answer */
	struct media_remote *remote;
	struct media *media;
};

struct asked {
	struct le le;
	media_remote_h *h;
	void *arg;
};

struct answer {
	struct le le;
	cJSON *body; /* NULL: not JSON */
};

static void answer_destructor(void *arg)
{
	struct answer *a = arg;
	list_unlink(&a->le);
	cJSON_Delete(a->body);
}

static void asked_destructor(void *arg)
{
	struct asked *q = arg;
	list_unlink(&q->le);
}

static int node_post(const char *uri, const cJSON *body, media_remote_h *h,
		     void *harg, void *arg)
{
	struct node_side *ns = arg;
	struct asked *q;
	(void)uri;
	(void)body;
	if (!h)
		return 0; /* nobody waits for it */
	q = mem_zalloc(sizeof(*q), asked_destructor);
	if (!q)
		return ENOMEM;
	q->h = h;
	q->arg = harg;
	list_append(&ns->asked, &q->le, q);
	return 0;
}

/* Each request waiting gets the next answer queued, in order; err for
 * those left when there is none (ECANCELED: the side is going). */
static void node_answer(struct node_side *ns, int err)
{
	struct le *le;
	while ((le = list_head(&ns->asked))) {
		struct asked *q = le->data;
		struct answer *a = list_ledata(list_head(&ns->answers));
		media_remote_h *h = q->h;
		void *harg = q->arg;
		if (!a && !err)
			return;
		mem_deref(q);
		if (a && !err) {
			h(a->body ? 0 : EPROTO, a->body, harg);
			mem_deref(a);
		} else {
			h(err, NULL, harg);
		}
	}
}

static void redis_string(redisReply *r, const char *s, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->type = REDIS_REPLY_STRING;
	r->str = (char *)s;
	r->len = len;
}

/* node-1 in the node table, alive (its heartbeat). */
static void node_up(struct node_side *ns)
{
	static const char load[] = "{\"participants\":0,\"cpu\":0.1}";
	redisReply id, url, table, heartbeat;
	redisReply *pair[2] = {&id, &url};

	redis_string(&id, "node-1", 6);
	redis_string(&url, "http://127.0.0.1:1", 18);
	memset(&table, 0, sizeof(table));
	table.type = REDIS_REPLY_ARRAY;
	table.elements = 2;
	table.element = pair;
	media_remote_take_nodes(ns->remote, &table);
	redis_string(&heartbeat, load, sizeof(load) - 1);
	media_remote_take_load(ns->remote, "node-1", &heartbeat);
}

static int node_side_make(struct node_side *ns)
{
	memset(ns, 0, sizeof(*ns));
	if (media_remote_alloc(&ns->remote, redis, auth) ||
	    media_remote_media(&ns->media, ns->remote))
		return ENOMEM;
	media_remote_set_post(ns->remote, node_post, ns);
	node_up(ns);
	return 0;
}

/* After the gateway: what still waits is cancelled, as the HTTP client
 * does when it is freed. */
static void node_side_free(struct node_side *ns)
{
	node_answer(ns, ECANCELED);
	list_flush(&ns->answers);
	mem_deref(ns->media);
	mem_deref(ns->remote);
}

static int gateway_make(struct gateway **gwp, struct store *store,
			struct node_side *ns)
{
	struct gateway_config cfg;
	struct gateway_parts parts = {
		.store = store,
		.cache = cache,
		.media = ns->media,
		.redis = redis,
		.bus = bus,
		.remote = ns->remote,
	};
	struct sa laddr;

	if (fuzz_gateway_config(&cfg, &laddr))
		return EINVAL;
	cfg.node_id = node_id;
	return gateway_alloc(gwp, &cfg, &parts);
}

/* As the gateway's Redis message handler hands it on. */
static void message(struct gateway *gw, const char *channel, const char *msg,
		    size_t len)
{
	if (!bus_message(gw->bus, channel, msg, len))
		calls_node_message(gw, channel, msg, len);
}

static bool first_call(struct le *le, void *arg)
{
	const struct live_call *c = le->data;
	str_ncpy(arg, c->rec.id, STORE_ID_MAX + 1);
	return true;
}

/* The run's call: ana, a client of gw-b, initiates it here. */
static void call_make(struct gateway *gw, char *id)
{
	static const char init[] =
		"{\"type\":\"event\",\"from\":\"gw-b\",\"sid\":\"ana-sid\","
		"\"user\":\"ana\",\"name\":\"Ana\",\"event\":\"call:initiate\","
		"\"data\":{\"conversationId\":\"conv-fuzz\",\"type\":"
		"\"video\"},\"ack\":0}";
	message(gw, "meeshy:node:gw-fuzz", init, sizeof(init) - 1);
	id[0] = '\0';
	(void)hash_apply(gw->calls, first_call, id);
}

/* line with "$C" replaced by the call's id, NUL-terminated in out. */
FUZZ_UNCOVERED static size_t expand(const char *line, size_t len,
				    const char *call, char *out, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		if (line[i] == '$' && i + 1 < len && line[i + 1] == 'C') {
			for (const char *c = call; *c && n + 1 < size; c++)
				out[n++] = *c;
			i++;
			continue;
		}
		out[n++] = line[i];
	}
	out[n] = '\0';
	return n;
}

static void answer_queue(struct node_side *ns, const char *json, size_t len)
{
	struct answer *a = mem_zalloc(sizeof(*a), answer_destructor);
	if (!a)
		return;
	a->body = cJSON_ParseWithLength(json, len);
	if (a->body && !cJSON_IsObject(a->body))
		a->body =
			(cJSON_Delete(a->body), NULL); /* json_client's rule */
	list_append(&ns->answers, &a->le, a);
}

static void line_take(struct gateway *gw, struct node_side *ns,
		      const char *call, const char *p, size_t len)
{
	static char text[16384];
	size_t n = expand(p, len, call, text, sizeof(text));
	char *space = memchr(text, ' ', n);
	redisReply load;

	if (!space)
		return;
	*space = '\0';
	if (!strcmp(text, "A")) {
		answer_queue(ns, space + 1, n - (size_t)(space + 1 - text));
	} else if (!strcmp(text, "L")) {
		redis_string(&load, space + 1, n - (size_t)(space + 1 - text));
		media_remote_take_load(ns->remote, "node-1", &load);
	} else {
		message(gw, text, space + 1, n - (size_t)(space + 1 - text));
	}
	node_answer(ns, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char call[STORE_ID_MAX + 1];
	struct gateway *gw = NULL;
	struct store *store = fuzz_store();
	struct node_side ns;

	if (!store || node_side_make(&ns) || gateway_make(&gw, store, &ns)) {
		node_side_free(&ns);
		return 0;
	}
	call_make(gw, call);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		line_take(gw, &ns, call, p, len);
		p += len + 1;
	}
	mem_deref(gw);
	node_side_free(&ns);
	store_flush(store);
	return 0;
}
