/*
 * calls_cluster.c - the call code across gateways (role gateway, Redis).
 *
 * A call lives on the gateway that created it, its owner
 * (call:<id>:gateway in Redis). A client connected to another gateway
 * takes part through its own gateway: that gateway forwards the client's
 * events to the owner on the owner's channel (meeshy:node:<owner>), and the
 * owner treats it as a remote client: acks, emits and room changes for its
 * socket go back on the forwarding gateway's channel. Room broadcasts go
 * over the bus as usual. Gateways say every second that they are alive
 * (gateway:<id>:alive EX 3); the first gateway to hear from a participant
 * of a call whose owner is gone takes the call over, from the store (its
 * record and participants) and its media node, whose transports never
 * noticed.
 *
 * A build without Redis links calls_cluster_none.c instead.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "sio.h"
#include "validate.h"
#include "redis.h"
#include "bus.h"
#include "media.h"
#include "calls_impl.h"

/* Keeps KEYS[1] (call:<id>:gateway) ours for another hour, or makes it ours
 * again after Redis lost it; never takes it back from a gateway that took
 * the call over while we were cut off. */
static const char refresh_script[] =
	"local o = redis.call('GET', KEYS[1]) "
	"if o and o ~= ARGV[1] then return o end "
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', 3600) "
	"return ARGV[1]";

/* The owner of a call, claimed by `me` when its owner is gone: KEYS[1] is
 * call:<id>:gateway, ARGV[1] me. Nil when the call has no owner at all. */
static const char claim_script[] =
	"local o = redis.call('GET', KEYS[1]) "
	"if not o then return false end "
	"if o == ARGV[1] or "
	"redis.call('EXISTS', '" KEY_GATEWAY_ALIVE_HEAD
	"' .. o .. '" KEY_GATEWAY_ALIVE_TAIL "') == 1 then "
	"return o end "
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', 3600) "
	"return ARGV[1]";

/* Owner side: the remote clients of our calls, by gateway and socket. */
struct client *cluster_remote_find(struct gateway *gw, const char *node,
				   const char *sid)
{
	for (struct le *le = gw->remote_clients.head; le; le = le->next) {
		struct client *cl = le->data;
		if (!strcmp(cl->node, node) && !strcmp(cl->sid, sid))
			return cl;
	}
	return NULL;
}

void cluster_remote_gone(struct gateway *gw, struct client *cl)
{
	const uint64_t now = port_wallclock_ms();
	struct le *le;
	while ((le = list_head(&cl->parts))) {
		struct live_part *p = le->data;
		part_leave(p, now);
		after_leave(p->call, p, "disconnected");
	}
	list_unlink(&cl->le_remote);
	cl->gone = true;
	(void)gw;
	mem_deref(cl);
}

/* Takes over a call whose owner is gone: its record and participants from
 * the store, its media node from the record. */
static int adopt_part(const struct call_participant *rec, void *arg)
{
	struct live_call *c = arg;
	struct live_part *p;
	if (strcmp(rec->status, "joined") && strcmp(rec->status, "invited"))
		return 0;
	p = mem_zalloc(sizeof(*p), part_destructor);
	if (!p)
		return ENOMEM;
	p->call = c;
	p->rec = *rec;
	str_ncpy(p->name, rec->userId, sizeof(p->name));
	list_append(&c->parts, &p->le, p);
	if (!strcmp(rec->status, "joined"))
		c->gw->nparticipants++;
	return 0;
}

static void attach_local(struct sio_socket *sock, void *arg)
{
	struct live_call *c = arg;
	struct client *cl = sio_socket_user(sock);
	struct live_part *p = cl ? part_find(c, cl->user_id) : NULL;
	if (!p || p->client)
		return;
	p->client = cl;
	list_append(&cl->parts, &p->le_client, p);
	cl->owner[0] = cl->owned_call[0] = '\0';
}

static struct live_call *adopt_call(struct gateway *gw, const char *id)
{
	struct live_call *c;

	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return NULL;
	c->gw = gw;
	if (store_call_get(gw->store, id, &c->rec) || !call_open(&c->rec)) {
		mem_deref(c);
		return NULL;
	}
	call_room(c->room, sizeof(c->room), c->rec.id);
	rules_start(c);
	hash_append(gw->calls, hash_joaat_str(c->rec.id), &c->le, c);
	gw->ncalls++;
	(void)bus_join(gw->bus, c->room);
	(void)store_participants(gw->store, id, adopt_part, c);
	/* its media stays on its node, when that is alive */
	if (!strcmp(c->rec.mode, "sfu") && c->rec.mediaServerId[0] && gw->media)
		(void)media_call_open(&c->media, gw->media, c->rec.id,
				      joined_count(c), c->rec.mediaServerId);
	/* our sockets already in its room were its remote clients: they are
	 * ours to serve now */
	sio_room_apply(gw->sio, c->room, attach_local, c);
	port_log(PORT_LOG_INFO,
		 "call %s: taken over (%s, %zu participants, media %s)", id,
		 c->rec.mode, list_count(&c->parts),
		 c->media ? media_call_where(c->media) : "none");
	return c;
}

/* Forwarding side: an event of our client for a call we do not hold. */
struct routed {
	struct client *cl; /* held */
	calls_handle_h *handle;
	char event[64];
	cJSON *data;
	int64_t ack;
	char call[STORE_ID_MAX + 1];
};

static void routed_destructor(void *arg)
{
	struct routed *r = arg;
	mem_deref(r->cl);
	cJSON_Delete(r->data);
}

static void forward(struct client *cl, const char *owner, const char *event,
		    const cJSON *data, int64_t ack)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "user", cl->user_id);
	cJSON_AddStringToObject(m, "name", cl->name);
	if (cl->conversations)
		cJSON_AddItemToObject(m, "conversations",
				      cJSON_Duplicate(cl->conversations, 1));
	cJSON_AddStringToObject(m, "event", event);
	cJSON_AddItemToObject(m, "data",
			      data ? cJSON_Duplicate(data, 1)
				   : cJSON_CreateNull());
	cJSON_AddNumberToObject(m, "ack", (double)ack);
	(void)bus_to_node(cl->gw->bus, owner, "event", sio_socket_id(cl->sock),
			  m);
}

static void on_owner(int err, const redisReply *reply, void *arg)
{
	struct routed *r = arg;
	struct client *cl = r->cl;
	struct gateway *gw = cl->gw;
	const char *owner = !err && reply && reply->type == REDIS_REPLY_STRING
				    ? reply->str
				    : NULL;

	if (err == ECANCELED || cl->gone) {
		mem_deref(r);
		return;
	}
	if (owner && strcmp(owner, gw->node_id)) {
		str_ncpy(cl->owner, owner, sizeof(cl->owner));
		str_ncpy(cl->owned_call, r->call, sizeof(cl->owned_call));
		forward(cl, owner, r->event, r->data, r->ack);
	} else {
		/* ours now (its owner is gone), or nobody's: from the store */
		if (owner && !call_find(gw, r->call))
			(void)adopt_call(gw, r->call);
		r->handle(cl, r->event, r->data, r->ack);
	}
	mem_deref(r);
}

bool cluster_route(struct client *cl, const char *event, const cJSON *data,
		   int64_t ack_id, calls_handle_h *handle)
{
	struct gateway *gw = cl->gw;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "callId");
	const char *call = cJSON_IsString(id) && validate_is_id(id->valuestring)
				   ? id->valuestring
				   : NULL;
	struct routed *r;
	char key[STORE_ID_MAX + 24];

	if (!gw->redis || !cl->authed || !strcmp(event, "authenticate") ||
	    !strcmp(event, "call:initiate"))
		return false;

	/* media requests naming no call act in the call the client is in on
	 * another gateway, if that is where it is */
	if (!call && cl->owned_call[0] && !strncmp(event, "media:", 6) &&
	    !list_count(&cl->parts))
		call = cl->owned_call;
	if (!call || call_find(gw, call))
		return false;
	/* asked each time: the owner may be gone since, and then this
	 * event is what makes us take the call over */
	r = mem_zalloc(sizeof(*r), routed_destructor);
	if (!r)
		return false;
	r->cl = mem_ref(cl);
	r->handle = handle;
	str_ncpy(r->event, event, sizeof(r->event));
	r->data = data ? cJSON_Duplicate(data, 1) : NULL;
	r->ack = ack_id;
	str_ncpy(r->call, call, sizeof(r->call));
	(void)re_snprintf(key, sizeof(key), KEY_CALL_OWNER, r->call);
	if (redis_cmd(gw->redis, on_owner, r, "EVAL %s 1 %s %s", claim_script,
		      key, gw->node_id)) {
		mem_deref(r);
		return false; /* Redis down: only our own calls */
	}
	return true;
}

/* The stand-in for a client of gateway `from` in a call of ours, made at
 * its first event. */
struct client *cluster_remote_client(struct gateway *gw, const cJSON *m,
				     const char *from, const char *sid)
{
	struct client *cl = cluster_remote_find(gw, from, sid);
	const char *user = cJSON_GetStringValue(cJSON_GetObjectItem(m, "user"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(m, "name"));
	const cJSON *convs = cJSON_GetObjectItem(m, "conversations");

	if (cl || !user || !validate_is_id(user))
		return cl;
	cl = mem_zalloc(sizeof(*cl), client_destructor);
	if (!cl)
		return NULL;
	cl->gw = gw;
	str_ncpy(cl->node, from, sizeof(cl->node));
	str_ncpy(cl->sid, sid, sizeof(cl->sid));
	str_ncpy(cl->user_id, user, sizeof(cl->user_id));
	str_ncpy(cl->name, name ? name : user, sizeof(cl->name));
	cl->conversations =
		cJSON_IsArray(convs) ? cJSON_Duplicate(convs, 1) : NULL;
	cl->authed = true;
	list_append(&gw->remote_clients, &cl->le_remote, cl);
	return cl;
}

/* For our socket sid, from the gateway that holds its call: an ack, an
 * emit, or a room to join or leave. */
void cluster_to_socket(struct gateway *gw, const cJSON *m, const char *type,
		       struct sio_socket *sock)
{
	const cJSON *ack = cJSON_GetObjectItem(m, "ack");
	const char *event =
		cJSON_GetStringValue(cJSON_GetObjectItem(m, "event"));
	const char *room = cJSON_GetStringValue(cJSON_GetObjectItem(m, "room"));

	/* an ack id is a Socket.IO one: 0 to 2^53 (outside it the cast
	 * would be undefined) */
	if (!strcmp(type, "ack") && cJSON_IsNumber(ack) &&
	    ack->valuedouble >= 0 && ack->valuedouble < 9007199254740992.0) {
		(void)sio_ack(sock, (int64_t)ack->valuedouble,
			      cJSON_GetObjectItem(m, "body"));
	} else if (!strcmp(type, "emit") && event) {
		(void)sio_emit(sock, event, cJSON_GetObjectItem(m, "data"));
	} else if (!strcmp(type, "join") && room) {
		(void)sio_join(sock, room);
		(void)bus_join(gw->bus, room);
	} else if (!strcmp(type, "leave") && room) {
		sio_leave(sock, room);
		room_release(gw, room);
	}
}

static bool refresh_owner(struct le *le, void *arg)
{
	const struct live_call *c = le->data;
	struct gateway *gw = arg;
	char key[STORE_ID_MAX + 24];
	(void)re_snprintf(key, sizeof(key), KEY_CALL_OWNER, c->rec.id);
	(void)redis_cmd(gw->redis, NULL, NULL, "EVAL %s 1 %s %s",
			refresh_script, key, gw->node_id);
	return false;
}

/* Is the gateway of some of our remote clients still there? If not (it
 * died and they never came back through another), they leave our calls,
 * as a socket that closes does. */
struct alive_check {
	struct gateway *gw;
	char node[STORE_ID_MAX + 1];
};

static void on_alive(int err, const redisReply *reply, void *arg)
{
	struct alive_check *a = arg;
	struct gateway *gw = a->gw;
	struct le *le;

	if (!err && reply && reply->type == REDIS_REPLY_INTEGER &&
	    reply->integer == 0) {
		le = gw->remote_clients.head;
		while (le) {
			struct client *cl = le->data;
			le = le->next;
			if (strcmp(cl->node, a->node))
				continue;
			port_log(PORT_LOG_INFO,
				 "gateway %s is gone: %s leaves its calls",
				 a->node, cl->user_id);
			cluster_remote_gone(gw, cl);
		}
	}
	mem_deref(a);
}

static void check_remote_gateways(struct gateway *gw)
{
	for (struct le *le = gw->remote_clients.head; le; le = le->next) {
		const struct client *cl = le->data;
		struct alive_check *a;
		bool asked = false;
		/* once per gateway */
		for (struct le *k = gw->remote_clients.head; k != le;
		     k = k->next)
			asked = asked ||
				!strcmp(((struct client *)k->data)->node,
					cl->node);
		if (asked)
			continue;
		a = mem_zalloc(sizeof(*a), NULL);
		if (!a)
			return;
		a->gw = gw;
		str_ncpy(a->node, cl->node, sizeof(a->node));
		if (redis_cmd(gw->redis, on_alive, a,
			      "EXISTS " KEY_GATEWAY_ALIVE, a->node))
			mem_deref(a);
	}
}

void calls_cluster_tick(struct gateway *gw)
{
	if (!gw->redis)
		return;
	(void)redis_cmd(gw->redis, NULL, NULL,
			"SET " KEY_GATEWAY_ALIVE " 1 EX 3", gw->node_id);
	if (gw->ticks % 600 == 0) /* every 10 minutes */
		(void)hash_apply(gw->calls, refresh_owner, gw);
	if (gw->ticks % 5 == 0)
		check_remote_gateways(gw);
	/* what it knows of the nodes is Redis's: only while Redis is up */
	if (redis_up(gw->redis))
		calls_media_check(gw);
	gw->ticks++;
}

void calls_cluster_up(struct gateway *gw)
{
	if (!gw->redis)
		return;
	(void)redis_cmd(gw->redis, NULL, NULL,
			"SET " KEY_GATEWAY_ALIVE " 1 EX 3", gw->node_id);
	/* a Redis that restarted empty has forgotten whose calls are ours */
	(void)hash_apply(gw->calls, refresh_owner, gw);
}

/* The call's owner is this gateway from now on (call:<id>:gateway). */
struct hold {
	cluster_held_h *h;
	void *arg;
};

static void on_held(int err, const redisReply *reply, void *arg)
{
	struct hold *hd = arg;
	(void)reply;
	hd->h(err == ECANCELED, hd->arg);
	mem_deref(hd);
}

int cluster_hold(struct live_call *c, cluster_held_h *h, void *arg)
{
	struct hold *hd;
	int err;
	if (!c->gw->redis)
		return ENOTSUP;
	hd = mem_zalloc(sizeof(*hd), NULL);
	if (!hd)
		return ENOMEM;
	hd->h = h;
	hd->arg = arg;
	err = redis_cmd(c->gw->redis, on_held, hd,
			"SET " KEY_CALL_OWNER " %s EX 3600", c->rec.id,
			c->gw->node_id);
	if (err)
		mem_deref(hd);
	return err;
}
