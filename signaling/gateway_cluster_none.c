/*
 * gateway_cluster_none.c - role gateway's parts in a build without Redis:
 * there are none, and the cache is this process's.
 */
#include <errno.h>
#include <stdbool.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "gateway_impl.h"
#include "cache.h"

int gateway_cluster_make(struct gateway *gw, const struct gateway_config *cfg)
{
	return ENOTSUP;
}

void gateway_cluster_health(struct gateway *gw, cJSON *o, cJSON *checks,
			    bool *sio)
{
}

int gateway_cache_make(struct gateway *gw)
{
	return cache_alloc_memory(&gw->cache);
}
