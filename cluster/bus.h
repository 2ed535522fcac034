/*
 * bus.h - emits to a room reach its sockets in every process of a cluster
 * (what the seed's Socket.IO Redis adapter does, in small).
 *
 * One Redis channel per room, "meeshy:room:<room>", subscribed while this
 * process has a stake in the room (a call it serves). A message is JSON
 * {"node", "event", "data", "except", "exceptUser"}: except is the socket
 * id the emit leaves out, exceptUser a user whose sockets it leaves out. A
 * process skips its own messages: it delivered them to its sockets when it
 * published. Media nodes publish too (the active speaker).
 *
 * Gateways also speak to one another on "meeshy:node:<id>" (bus_to_node):
 * events of a client in a call another gateway holds, and that gateway's
 * acks, emits and room changes back.
 *
 * A build without Redis links bus_none.c instead of bus.c: bus_alloc says
 * ENOTSUP, and everything else does nothing, so the call code calls the
 * bus the same way in every build (role all has no bus: a NULL one).
 */
#ifndef MEESHY_BUS_H
#define MEESHY_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct redis;
struct bus;

/* A room's emit from another process: except_sid, the socket it leaves
 * out, or except_user, whose sockets it leaves out (either may be NULL). */
typedef void(bus_deliver_h)(const char *room, const char *event,
			    const cJSON *data, const char *except_sid,
			    const char *except_user, void *arg);

int bus_alloc(struct bus **bp, struct redis *redis, const char *node_id,
	      bus_deliver_h *deliverh, void *arg);
/* Who gets the room emits of other processes from now on (set by the
 * gateway, built after the bus). */
void bus_set_deliver(struct bus *b, bus_deliver_h *deliverh, void *arg);
/* Takes (or drops) this process's interest in the room's messages. */
int bus_join(struct bus *b, const char *room);
void bus_leave(struct bus *b, const char *room);
/* Sends to the room's sockets in the other processes; ENOTCONN while
 * Redis is down (the local sockets got it anyway). */
int bus_publish(struct bus *b, const char *room, const char *event,
		const cJSON *data, const char *except_sid);
/* The same, leaving out every socket of a user (a caller's own devices). */
int bus_publish_except_user(struct bus *b, const char *room, const char *event,
			    const cJSON *data, const char *user);
/* A Redis message: true if it was the bus's (and was delivered). */
bool bus_message(struct bus *b, const char *channel, const char *msg,
		 size_t len);
/* A message to gateway `node` (its channel): msg (taken) gets type, from
 * (this gateway) and sid (the socket it is about, or none). */
int bus_to_node(struct bus *b, const char *node, const char *type,
		const char *sid, cJSON *msg);

struct bus_stats {
	uint64_t published, publish_failed, delivered, own, malformed;
};
void bus_stats(const struct bus *b, struct bus_stats *st);

#endif
