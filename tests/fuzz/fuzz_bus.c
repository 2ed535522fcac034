/* What other processes say to a gateway over Redis, as its message handler
 * takes it: messages on its own channel (meeshy:node:gw-fuzz: events of
 * clients of other gateways in calls it holds, their disconnects, acks and
 * emits for its sockets) and on rooms' channels (meeshy:room:...: emits of
 * other gateways and media nodes, a node draining). A real gateway of role
 * gateway, its Redis client pointed at a port where nothing listens (so
 * what it would publish back is refused, as while Redis is down), over a
 * SQLite store in memory (a new one every thousand runs).
 *
 * An input is lines "<channel> <message>". Each run starts with a call
 * this gateway holds, initiated by a client of gateway gw-b (the message
 * gw-b sends for it); "$C" in a line stands for its id. */
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
#include "redis.h"
#include "store.h"

static const char node_id[] = "gw-fuzz";
static struct cache *cache;
static struct redis *redis;
static struct bus *bus;
static struct internal_auth *auth;
static struct media_remote *remote;
static struct media *media;

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
	    internal_auth_alloc(&auth, secret, sizeof(secret) - 1) ||
	    media_remote_alloc(&remote, redis, auth) ||
	    media_remote_media(&media, remote))
		abort();
	return 0;
}

static int gateway_make(struct gateway **gwp, struct store *store)
{
	struct gateway_config cfg;
	struct gateway_parts parts = {
		.store = store,
		.cache = cache,
		.media = media,
		.redis = redis,
		.bus = bus,
		.remote = remote,
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
static size_t expand(const char *line, size_t len, const char *call, char *out,
		     size_t size)
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

static void line_take(struct gateway *gw, const char *call, const char *p,
		      size_t len)
{
	static char text[16384];
	size_t n = expand(p, len, call, text, sizeof(text));
	char *space = memchr(text, ' ', n);

	if (!space)
		return;
	*space = '\0';
	message(gw, text, space + 1, n - (size_t)(space + 1 - text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char call[STORE_ID_MAX + 1];
	struct gateway *gw = NULL;
	struct store *store = fuzz_store();

	if (!store || gateway_make(&gw, store))
		return 0;
	call_make(gw, call);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		line_take(gw, call, p, len);
		p += len + 1;
	}
	mem_deref(gw);
	store_flush(store);
	return 0;
}
