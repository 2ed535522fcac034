/*
 * parts.c - a role's parts built, in the order they need each other, and
 * freed the other way round (parts.h).
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "config.h"
#include "cache.h"
#include "translator.h"
#include "media.h"
#include "media_workers.h"
#include "media_local.h"
#include "upstream.h"
#include "parts.h"
#ifdef MEESHY_WITH_REDIS
#include "redis.h"
#include "bus.h"
#include "internal_auth.h"
#include "media_remote.h"
#endif

/* Role all: the SFU's workers on --rtc-listen, the media door onto them,
 * and the cache in this process. */
static int make_all(struct app_parts *p, const struct app_config *cfg,
		    char *why, size_t whysize)
{
	struct gateway_parts *gp = &p->gw;
	struct sa laddr, announced;
	struct media_workers_config mc = {cfg->media_workers, &laddr, NULL};
	int err;

	(void)sa_decode(&laddr, cfg->rtc_listen, strlen(cfg->rtc_listen));
	if (cfg->announced_ip[0] || cfg->announced_port) {
		if (!cfg->announced_ip[0] ||
		    sa_set_str(&announced, cfg->announced_ip, 0))
			announced = laddr;
		sa_set_port(&announced, (uint16_t)cfg->announced_port);
		mc.announced = &announced;
	}
	err = media_workers_alloc(&gp->workers, &mc, NULL, NULL);
	if (err) {
		(void)re_snprintf(why, whysize, "--rtc-listen %s: %m",
				  cfg->rtc_listen, err);
		return err;
	}
	media_workers_log(gp->workers);
	err = media_local_alloc(&gp->media, gp->workers, cfg->node_id);
	if (!err)
		err = cache_alloc_memory(&gp->cache);
	if (err)
		(void)re_snprintf(why, whysize, "%m", err);
	return err;
}

#ifdef MEESHY_WITH_REDIS
/* Role gateway: Redis, the bus over it, the media nodes (requests signed
 * with the cluster's secret) and the media door onto them, the cache in
 * Redis. Who hears Redis and the bus is set by the gateway. */
static int make_gateway(struct app_parts *p, const struct app_config *cfg,
			char *why, size_t whysize)
{
	struct gateway_parts *gp = &p->gw;
	char host[256];
	uint16_t port = 0;
	int err;

	(void)redis_parse_url(cfg->redis_url, host, sizeof(host), &port, NULL,
			      0);
	err = redis_alloc(&gp->redis, host, port, cfg->redis_password, NULL,
			  NULL, NULL);
	if (err) {
		(void)re_snprintf(why, whysize, "--redis %s: %m",
				  cfg->redis_url, err);
		return err;
	}
	err = bus_alloc(&gp->bus, gp->redis, cfg->node_id, NULL, NULL);
	if (!err)
		err = internal_auth_alloc(&p->internal_auth,
					  cfg->internal_secret,
					  cfg->internal_secret_len);
	if (!err)
		err = media_remote_alloc(&gp->remote, gp->redis,
					 p->internal_auth);
	if (!err)
		err = media_remote_media(&gp->media, gp->remote);
	if (!err)
		err = cache_alloc_redis(&gp->cache, gp->redis);
	if (err)
		(void)re_snprintf(why, whysize, "%m", err);
	return err;
}
#else
static int make_gateway(struct app_parts *p, const struct app_config *cfg,
			char *why, size_t whysize)
{
	/* config.c refuses --role gateway in this build */
	(void)re_snprintf(why, whysize, "--role %s: built without Redis",
			  cfg->role);
	return ENOTSUP;
}
#endif

int app_parts_make(struct app_parts *p, const struct app_config *cfg,
		   struct store *store, char *why, size_t whysize)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->gw.store = store;
	err = strcmp(cfg->role, "gateway") ? make_all(p, cfg, why, whysize)
					   : make_gateway(p, cfg, why, whysize);
	if (!err && cfg->upstream_url[0]) {
		err = upstream_alloc(&p->gw.upstream, cfg->upstream_url);
		if (err)
			(void)re_snprintf(why, whysize, "--upstream %s: %m",
					  cfg->upstream_url, err);
	}
	if (!err && cfg->translator_url[0]) {
		err = translator_alloc(&p->gw.translator, cfg->translator_url,
				       p->gw.cache);
		if (err)
			(void)re_snprintf(why, whysize,
					  "--translator-url %s: %m",
					  cfg->translator_url, err);
	}
	if (err)
		app_parts_free(p);
	return err;
}

void app_parts_free(struct app_parts *p)
{
	struct gateway_parts *gp = &p->gw;
	/* the media door before what carries it; the translator before
	 * the cache it reads; both before Redis */
	gp->media = mem_deref(gp->media);
	gp->workers = mem_deref(gp->workers);
	gp->translator = mem_deref(gp->translator);
	gp->upstream = mem_deref(gp->upstream);
	gp->cache = mem_deref(gp->cache);
	gp->remote = mem_deref(gp->remote);
	p->internal_auth = mem_deref(p->internal_auth);
	gp->bus = mem_deref(gp->bus);
	gp->redis = mem_deref(gp->redis);
}
