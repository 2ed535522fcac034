/*
 * calls_cluster_none.c - the call code across gateways in a build without
 * Redis: there are no other gateways, so every call is this one's.
 */
#include <errno.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "calls_impl.h"

bool cluster_route(struct client *cl, const char *event, const cJSON *data,
		   int64_t ack_id, calls_handle_h *handle)
{
	return false;
}

int cluster_hold(struct live_call *c, cluster_held_h *h, void *arg)
{
	return ENOTSUP;
}

struct client *cluster_remote_find(struct gateway *gw, const char *node,
				   const char *sid)
{
	return NULL;
}

struct client *cluster_remote_client(struct gateway *gw, const cJSON *m,
				     const char *from, const char *sid)
{
	return NULL;
}

void cluster_remote_gone(struct gateway *gw, struct client *cl)
{
}

void cluster_to_socket(struct gateway *gw, const cJSON *m, const char *type,
		       struct sio_socket *sock)
{
}

void calls_cluster_tick(struct gateway *gw)
{
}

void calls_cluster_up(struct gateway *gw)
{
}
