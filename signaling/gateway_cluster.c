/*
 * gateway_cluster.c - role gateway over Redis (its Redis, bus and media
 * nodes are built by apps/): what Redis and the bus deliver to us, this
 * gateway's channel, the cluster tick, and what /health says of them. A
 * build without Redis links gateway_cluster_none.c instead.
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
#include "prometheus.h"
#include "redis.h"
#include "bus.h"
#include "media.h"
#include "media_remote.h"

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
	if (!strcmp(event, "call:incoming") ||
	    !strcmp(event, "call:initiated")) {
		/* an invite: to the user's sockets that are members */
		calls_ring_members(gw, room, event, data);
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

/* Role gateway: Redis's messages and the bus's deliveries come to us, our
 * own channel, the cluster tick. */
int gateway_cluster_start(struct gateway *gw)
{
	char ch[256];
	int err;

	redis_set_handlers(gw->redis, redis_msg_handler, redis_state_handler,
			   gw);
	bus_set_deliver(gw->bus, bus_deliver, gw);
	/* our channel: other gateways' clients in our calls */
	(void)re_snprintf(ch, sizeof(ch), CHANNEL_NODE, gw->node_id);
	err = redis_subscribe(gw->redis, ch);
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

int gateway_cluster_metrics(struct re_printf *pf, const struct gateway *gw)
{
	struct redis_stats st;
	int err;

	if (!gw->redis)
		return 0;
	redis_stats(gw->redis, &st);
	err = prom_header(pf, "meeshy_redis_disconnects_total", "counter",
			  "Redis connections lost or dropped");
	err |= re_hprintf(pf, "meeshy_redis_disconnects_total %llu\n",
			  (unsigned long long)st.disconnects);
	err |= prom_header(pf, "meeshy_redis_replies_too_large_total",
			   "counter",
			   "Redis connections dropped for a reply over the "
			   "bound (4 MB, 1,000,000 elements)");
	err |= re_hprintf(pf, "meeshy_redis_replies_too_large_total %llu\n",
			  (unsigned long long)st.replies_too_large);
	return err;
}

void gateway_cluster_stop(struct gateway *gw)
{
	redis_set_handlers(gw->redis, NULL, NULL, NULL);
	bus_set_deliver(gw->bus, NULL, NULL);
}
