/*
 * gateway_cluster.c - role gateway's parts, built with Redis: Redis, the
 * bus and its deliveries, the media nodes and the media door onto them,
 * this gateway's channel and the cluster tick, the cache in Redis, and
 * what /health says of them. A build without Redis links
 * gateway_cluster_none.c instead.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "cluster_keys.h"
#include "sio.h"
#include "gateway_impl.h"
#include "cache.h"
#include "redis.h"
#include "bus.h"
#include "media.h"
#include "media_remote.h"
#include "internal_auth.h"

/* A room emit from another process: to our sockets in the room (the
 * socket it leaves out is that process's, never one of ours). */
static void bus_deliver(const char *room, const char *event, const cJSON *data,
			const char *except_sid, const char *except_user,
			void *arg)
{
	struct gateway *gw = arg;
	if (!strcmp(event, "media:node-draining")) {
		/* for the gateway, not the clients: no new call goes to
		 * that node, and this one moves */
		const cJSON *node = cJSON_GetObjectItem(data, "node");
		if (cJSON_IsString(node))
			media_remote_draining(gw->remote, node->valuestring);
		calls_node_draining(gw, data);
		return;
	}
	if (except_user) {
		calls_emit_unless_user(gw, room, except_user, event, data);
		return;
	}
	if (!strcmp(event, "call:incoming")) {
		/* an invite: to the user's sockets that are members */
		calls_ring_members(gw, room, data);
		return;
	}
	/* the socket left out may be one of ours (a remote client's) */
	(void)sio_room_emit(gw->sio, room, sio_socket_find(gw->sio, except_sid),
			    event, data);
}

/* Redis (back) up: say at once that we are alive, or another gateway
 * hearing from a client of one of our calls within the first second would
 * take the call over from us. */
static void redis_state_handler(bool up, void *arg)
{
	struct gateway *gw = arg;
	if (up)
		calls_cluster_up(gw);
}

static void redis_msg_handler(const char *channel, const char *msg, size_t len,
			      void *arg)
{
	struct gateway *gw = arg;
	if (!bus_message(gw->bus, channel, msg, len))
		calls_node_message(gw, channel, msg, len);
}

static void cluster_timer(void *arg)
{
	struct gateway *gw = arg;
	calls_cluster_tick(gw);
	port_timer_start(gw->cluster_tmr, 1000, cluster_timer, gw);
}

/* Role gateway: Redis, the bus, the media nodes (and the media door onto
 * them), our own channel and the cluster tick. */
int gateway_cluster_make(struct gateway *gw, const struct gateway_config *cfg)
{
	char ch[256];
	int err = redis_alloc(&gw->redis, cfg->redis_host, cfg->redis_port,
			      cfg->redis_password, redis_msg_handler,
			      redis_state_handler, gw);
	if (!err)
		err = bus_alloc(&gw->bus, gw->redis, gw->node_id, bus_deliver,
				gw);
	if (!err)
		err = internal_auth_alloc(&gw->internal_auth,
					  cfg->internal_secret,
					  cfg->internal_secret_len);
	if (!err)
		err = media_remote_alloc(&gw->remote, gw->redis,
					 gw->internal_auth);
	if (!err)
		err = media_remote_media(&gw->media, gw->remote);
	if (!err) {
		/* our channel: other gateways' clients in our calls */
		(void)re_snprintf(ch, sizeof(ch), CHANNEL_NODE, gw->node_id);
		err = redis_subscribe(gw->redis, ch);
	}
	if (!err)
		err = port_timer_alloc(&gw->cluster_tmr);
	if (!err)
		port_timer_start(gw->cluster_tmr, 1000, cluster_timer, gw);
	return err;
}

void gateway_cluster_health(struct gateway *gw, cJSON *o, cJSON *checks,
			    bool *sio)
{
	if (gw->redis) {
		/* role gateway: without Redis no room crosses gateways and no
		 * call can be placed on a media node */
		const struct node_load *nodes;
		size_t n = media_remote_nodes(gw->remote, &nodes), alive = 0;
		bool redis = redis_up(gw->redis);
		for (size_t i = 0; i < n; i++)
			alive += nodes[i].alive;
		cJSON_AddBoolToObject(checks, "redis", redis);
		cJSON_AddNumberToObject(o, "mediaNodes", (double)alive);
		*sio = *sio && redis;
	}
}

int gateway_cache_make(struct gateway *gw)
{
	return gw->redis ? cache_alloc_redis(&gw->cache, gw->redis)
			 : cache_alloc_memory(&gw->cache);
}
