/*
 * sio_rooms.c - sio.h's rooms: named sets of one namespace's sockets.
 *
 * Rooms live in a hash by name; a membership links one socket to one room
 * and sits in both lists, so leaving is O(1) and a disconnect leaves every
 * room without a search. An emit to a room is encoded once.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "sio_impl.h"

struct room {
	struct le le;
	const struct sio_nsp *nsp;
	char *name;
	struct list members;
};

struct membership {
	struct le le_room, le_sock;
	struct room *room;
	struct sio_socket *sock;
};

struct room_key {
	const struct sio_nsp *nsp;
	const char *name;
};

static void room_destructor(void *arg)
{
	struct room *r = arg;
	hash_unlink(&r->le);
	mem_deref(r->name);
}

static void membership_destructor(void *arg)
{
	struct membership *m = arg;
	list_unlink(&m->le_sock);
	list_unlink(&m->le_room);
	if (m->room && list_isempty(&m->room->members))
		mem_deref(m->room);
}

static bool room_cmp(struct le *le, void *arg)
{
	const struct room *r = le->data;
	const struct room_key *k = arg;
	return r->nsp == k->nsp && !strcmp(r->name, k->name);
}

static struct room *room_find(const struct sio_server *srv,
			      const struct sio_nsp *nsp, const char *name)
{
	struct room_key k = {nsp, name};
	struct le *le =
		hash_lookup(srv->rooms, hash_joaat_str(name), room_cmp, &k);
	return le ? le->data : NULL;
}

static struct room *main_room(const struct sio_server *srv, const char *name)
{
	return srv && name ? room_find(srv, sio_nsp_main(srv), name) : NULL;
}

static struct membership *membership_find(const struct sio_socket *sock,
					  const char *room)
{
	struct le *le;
	for (le = sock->memberships.head; le; le = le->next) {
		struct membership *m = le->data;
		if (!strcmp(m->room->name, room))
			return m;
	}
	return NULL;
}

int sio_join(struct sio_socket *sock, const char *name)
{
	struct sio_server *srv;
	struct membership *m;
	struct room *r;

	if (!sock || !name)
		return EINVAL;
	if (membership_find(sock, name))
		return 0;
	srv = sock->client->srv;
	r = room_find(srv, sock->nsp, name);
	if (!r) {
		r = mem_zalloc(sizeof(*r), room_destructor);
		if (!r || str_dup(&r->name, name)) {
			mem_deref(r);
			return ENOMEM;
		}
		r->nsp = sock->nsp;
		hash_append(srv->rooms, hash_joaat_str(name), &r->le, r);
	}
	m = mem_zalloc(sizeof(*m), membership_destructor);
	if (!m) {
		if (list_isempty(&r->members))
			mem_deref(r);
		return ENOMEM;
	}
	m->room = r;
	m->sock = sock;
	list_append(&r->members, &m->le_room, m);
	list_append(&sock->memberships, &m->le_sock, m);
	return 0;
}

void sio_leave(struct sio_socket *sock, const char *name)
{
	if (sock && name)
		mem_deref(membership_find(sock, name));
}

bool sio_in_room(const struct sio_socket *sock, const char *name)
{
	return sock && name && membership_find(sock, name) != NULL;
}

size_t sio_room_size(const struct sio_server *srv, const char *name)
{
	const struct room *r = main_room(srv, name);
	return r ? list_count(&r->members) : 0;
}

void sio_room_apply(struct sio_server *srv, const char *name,
		    sio_socket_apply_h *h, void *arg)
{
	struct room *r = main_room(srv, name);
	struct le *le;
	if (!r || !h)
		return;
	/* The handler may leave the room: hold the room, step first. */
	mem_ref(r);
	for (le = r->members.head; le;) {
		struct membership *m = le->data;
		le = le->next;
		h(m->sock, arg);
	}
	mem_deref(r);
}

size_t sio_room_emit(struct sio_server *srv, const char *name,
		     const struct sio_socket *except, const char *event,
		     const cJSON *data)
{
	struct room *r = main_room(srv, name);
	struct le *le;
	size_t n = 0;
	char *json;

	if (!r || !event)
		return 0;
	json = sio_event_text(event, data);
	if (!json)
		return 0;
	/* A slow member may be closed by the send: step first, hold room. */
	mem_ref(r);
	for (le = r->members.head; le;) {
		struct membership *m = le->data;
		le = le->next;
		if (m->sock == except)
			continue;
		if (!sio_send_event_text(m->sock, json))
			n++;
	}
	mem_deref(r);
	cJSON_free(json);
	return n;
}
