/*
 * bus.c - room emits over Redis pub/sub.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "cluster_keys.h"
#include "redis.h"
#include "bus.h"

struct bus {
	struct redis *redis;
	char *node;
	bus_deliver_h *deliverh;
	void *arg;
	struct bus_stats stats;
};

static void bus_destructor(void *arg)
{
	struct bus *b = arg;
	mem_deref(b->node);
}

int bus_alloc(struct bus **bp, struct redis *redis, const char *node_id,
	      bus_deliver_h *deliverh, void *arg)
{
	struct bus *b;
	if (!bp || !redis || !node_id)
		return EINVAL;
	b = mem_zalloc(sizeof(*b), bus_destructor);
	if (!b)
		return ENOMEM;
	b->redis = redis;
	b->deliverh = deliverh;
	b->arg = arg;
	if (str_dup(&b->node, node_id)) {
		mem_deref(b);
		return ENOMEM;
	}
	*bp = b;
	return 0;
}

static int channel(char *buf, size_t size, const char *room)
{
	int n = re_snprintf(buf, size, CHANNEL_ROOM_PREFIX "%s", room);
	return n > 0 && (size_t)n < size ? 0 : EINVAL;
}

void bus_set_deliver(struct bus *b, bus_deliver_h *deliverh, void *arg)
{
	if (!b)
		return;
	b->deliverh = deliverh;
	b->arg = arg;
}

int bus_join(struct bus *b, const char *room)
{
	char ch[256];
	if (!b || !room || channel(ch, sizeof(ch), room))
		return EINVAL;
	return redis_subscribe(b->redis, ch);
}

void bus_leave(struct bus *b, const char *room)
{
	char ch[256];
	if (b && room && !channel(ch, sizeof(ch), room))
		(void)redis_unsubscribe(b->redis, ch);
}

/* Publishes m (taken) on channel ch. ENOMEM: it could not be printed,
 * and nothing was sent; another error: Redis did not take it. */
static int send_json(struct bus *b, const char *ch, cJSON *m)
{
	char *text = cJSON_PrintUnformatted(m);
	int err;
	cJSON_Delete(m);
	if (!text)
		return ENOMEM;
	err = redis_cmd(b->redis, NULL, NULL, "PUBLISH %s %s", ch, text);
	cJSON_free(text);
	return err;
}

static int publish(struct bus *b, const char *room, const char *event,
		   const cJSON *data, const char *except_sid,
		   const char *except_user)
{
	char ch[256];
	cJSON *m;
	int err;

	if (!b || !room || !event || channel(ch, sizeof(ch), room))
		return EINVAL;
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "node", b->node);
	cJSON_AddStringToObject(m, "event", event);
	cJSON_AddItemToObject(m, "data",
			      data ? cJSON_Duplicate(data, 1)
				   : cJSON_CreateNull());
	if (except_sid)
		cJSON_AddStringToObject(m, "except", except_sid);
	if (except_user)
		cJSON_AddStringToObject(m, "exceptUser", except_user);
	err = send_json(b, ch, m);
	if (err == ENOMEM)
		return err;
	if (err)
		b->stats.publish_failed++;
	else
		b->stats.published++;
	return err;
}

int bus_publish(struct bus *b, const char *room, const char *event,
		const cJSON *data, const char *except_sid)
{
	return publish(b, room, event, data, except_sid, NULL);
}

int bus_publish_except_user(struct bus *b, const char *room, const char *event,
			    const cJSON *data, const char *user)
{
	return publish(b, room, event, data, NULL, user);
}

bool bus_message(struct bus *b, const char *ch, const char *msg, size_t len)
{
	const size_t plen = sizeof(CHANNEL_ROOM_PREFIX) - 1;
	const cJSON *node, *event, *except, *except_user;
	cJSON *m;

	if (!b || !ch || strncmp(ch, CHANNEL_ROOM_PREFIX, plen))
		return false;
	m = cJSON_ParseWithLength(msg, len);
	node = cJSON_GetObjectItemCaseSensitive(m, "node");
	event = cJSON_GetObjectItemCaseSensitive(m, "event");
	except = cJSON_GetObjectItemCaseSensitive(m, "except");
	except_user = cJSON_GetObjectItemCaseSensitive(m, "exceptUser");
	if (!cJSON_IsString(node) || !cJSON_IsString(event)) {
		b->stats.malformed++;
		port_log(PORT_LOG_WARN,
			 "bus: dropped a malformed message on %s", ch);
	} else if (!strcmp(node->valuestring, b->node))
		b->stats.own++;
	else {
		b->stats.delivered++;
		if (b->deliverh)
			b->deliverh(ch + plen, event->valuestring,
				    cJSON_GetObjectItemCaseSensitive(m, "data"),
				    cJSON_IsString(except) ? except->valuestring
							   : NULL,
				    cJSON_IsString(except_user)
					    ? except_user->valuestring
					    : NULL,
				    b->arg);
	}
	cJSON_Delete(m);
	return true;
}

void bus_stats(const struct bus *b, struct bus_stats *st)
{
	if (b && st)
		*st = b->stats;
}

int bus_to_node(struct bus *b, const char *node, const char *type,
		const char *sid, cJSON *msg)
{
	char ch[256];
	int err;

	if (!b || !node || !type || !msg) {
		cJSON_Delete(msg);
		return EINVAL;
	}
	(void)re_snprintf(ch, sizeof(ch), CHANNEL_NODE, node);
	cJSON_AddStringToObject(msg, "type", type);
	cJSON_AddStringToObject(msg, "from", b->node);
	if (sid)
		cJSON_AddStringToObject(msg, "sid", sid);
	err = send_json(b, ch, msg);
	if (err && err != ENOMEM)
		port_log(PORT_LOG_WARN,
			 "to gateway %s: Redis is down, %s dropped", node,
			 type);
	return err;
}
