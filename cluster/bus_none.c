/*
 * bus_none.c - the bus of a build without Redis (bus.h): no other process
 * to reach, so nothing to do. Role all needs none.
 */
#include <errno.h>
#include <string.h>
#include "bus.h"

int bus_alloc(struct bus **bp, struct redis *redis, const char *node_id,
	      bus_deliver_h *deliverh, void *arg)
{
	return ENOTSUP;
}

void bus_set_deliver(struct bus *b, bus_deliver_h *deliverh, void *arg)
{
}

int bus_join(struct bus *b, const char *room)
{
	return 0;
}

void bus_leave(struct bus *b, const char *room)
{
}

int bus_publish(struct bus *b, const char *room, const char *event,
		const cJSON *data, const char *except_sid)
{
	return 0;
}

int bus_publish_except_user(struct bus *b, const char *room, const char *event,
			    const cJSON *data, const char *user)
{
	return 0;
}

bool bus_message(struct bus *b, const char *channel, const char *msg,
		 size_t len)
{
	return false;
}

int bus_to_node(struct bus *b, const char *node, const char *type,
		const char *sid, cJSON *msg)
{
	cJSON_Delete(msg);
	return ENOTSUP;
}

void bus_stats(const struct bus *b, struct bus_stats *st)
{
	memset(st, 0, sizeof(*st));
}
