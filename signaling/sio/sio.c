/*
 * sio.c - Socket.IO v5 server: codec, main namespace, acks and rooms.
 *
 * Rooms live in a hash by name; a membership links one socket to one room
 * and sits in both lists, so leaving is O(1) and a disconnect leaves every
 * room without a search. An emit to a room is encoded once.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "eio.h"
#include "base64url.h"
#include "fault.h"
#include "sio.h"

struct sio_server {
	struct eio_server *eio;
	struct hash *rooms;
	struct hash *sockets; /* by id */
	sio_connect_h *connh;
	sio_connected_h *connectedh; /* may be NULL */
	sio_event_h *eventh;
	sio_disconnect_h *disch;
	void *arg;
	size_t connected;
	struct sio_stats stats;
};

struct sio_socket {
	struct le le; /* in srv->sockets */
	struct sio_server *srv;
	struct eio_sock *eio;
	char id[32];
	bool connected;
	struct list memberships;
	void *user;
};

struct room {
	struct le le;
	char *name;
	struct list members;
};

struct membership {
	struct le le_room, le_sock;
	struct room *room;
	struct sio_socket *sock;
};

/* Codec */

void sio_packet_reset(struct sio_packet *pkt)
{
	if (!pkt)
		return;
	cJSON_Delete(pkt->data);
	pkt->data = NULL;
}

/* The header after the type: a binary packet's attachment count, the
 * namespace, the ack id. Returns where the payload starts, or len + 1 on
 * a malformed header. */
static size_t header_decode(struct sio_packet *pkt, const char *p, size_t len)
{
	size_t i = 1, d = 0, s;
	int64_t id = 0;

	if (pkt->type == SIO_BINARY_EVENT || pkt->type == SIO_BINARY_ACK) {
		/* attachments count then '-' (binary is not supported, but
		 * it is still well-formed) */
		while (i < len && p[i] >= '0' && p[i] <= '9' && d < 6) {
			i++;
			d++;
		}
		if (!d || i >= len || p[i] != '-')
			return len + 1;
		i++;
	}
	if (i < len && p[i] == '/') {
		s = i;
		while (i < len && p[i] != ',')
			i++;
		if (i - s >= sizeof(pkt->nsp))
			return len + 1;
		memcpy(pkt->nsp, p + s, i - s);
		pkt->nsp[i - s] = '\0';
		if (i < len)
			i++; /* the comma */
	}
	for (d = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (++d > 15)
			return len + 1;
		id = id * 10 + (p[i] - '0');
	}
	if (d)
		pkt->id = id;
	return i;
}

/* Whether the payload and ack id fit the packet's type. */
static bool payload_fits(const struct sio_packet *pkt)
{
	switch (pkt->type) {
	case SIO_CONNECT:
		return (!pkt->data || cJSON_IsObject(pkt->data)) &&
		       pkt->id == SIO_ACK_NONE;
	case SIO_DISCONNECT:
		return !pkt->data && pkt->id == SIO_ACK_NONE;
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		return cJSON_IsArray(pkt->data) &&
		       cJSON_IsString(cJSON_GetArrayItem(pkt->data, 0));
	case SIO_ACK:
	case SIO_BINARY_ACK:
		return cJSON_IsArray(pkt->data) && pkt->id != SIO_ACK_NONE;
	case SIO_CONNECT_ERROR:
		return false; /* server to client only */
	}
	return false;
}

int sio_packet_decode(struct sio_packet *pkt, const char *p, size_t len)
{
	const char *end = NULL;
	size_t i;

	if (!pkt || !p)
		return EINVAL;
	memset(pkt, 0, sizeof(*pkt));
	pkt->id = SIO_ACK_NONE;
	str_ncpy(pkt->nsp, "/", sizeof(pkt->nsp));
	if (len == 0 || p[0] < '0' || p[0] > '6')
		return EBADMSG;
	pkt->type = (enum sio_packet_type)(p[0] - '0');
	i = header_decode(pkt, p, len);
	if (i > len)
		return EBADMSG;
	if (i < len) {
		pkt->data = cJSON_ParseWithLengthOpts(p + i, len - i, &end, 0);
		if (!pkt->data || end != p + len) {
			sio_packet_reset(pkt);
			return EBADMSG;
		}
	}
	if (!payload_fits(pkt)) {
		sio_packet_reset(pkt);
		return EBADMSG;
	}
	return 0;
}

int sio_packet_encode(struct mbuf *mb, enum sio_packet_type type, int64_t id,
		      const cJSON *data)
{
	char *json = NULL;
	int err;

	if (!mb)
		return EINVAL;
	err = mbuf_printf(mb, "%d", (int)type);
	if (!err && id != SIO_ACK_NONE)
		err = mbuf_printf(mb, "%lld", (long long)id);
	if (!err && data) {
		json = cJSON_PrintUnformatted(data);
		if (!json)
			return ENOMEM;
		err = mbuf_write_str(mb, json);
		cJSON_free(json);
	}
	return err;
}

/* Sending */

static int send_packet(struct sio_socket *sock, enum sio_packet_type type,
		       int64_t id, const cJSON *data)
{
	struct mbuf *mb = mbuf_alloc(256);
	int err;
	if (!mb)
		return ENOMEM;
	err = sio_packet_encode(mb, type, id, data);
	if (!err)
		err = eio_send(sock->eio, (const char *)mb->buf, mb->end);
	mem_deref(mb);
	return err;
}

/* ["event", data] as text, encoded once for any number of sockets. */
static char *event_text(const char *event, const cJSON *data)
{
	cJSON *arr = cJSON_CreateArray();
	char *json;
	if (!arr)
		return NULL;
	cJSON_AddItemToArray(arr, cJSON_CreateString(event));
	if (data)
		cJSON_AddItemReferenceToArray(arr, (cJSON *)data);
	json = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return json;
}

static int send_event_text(struct sio_socket *sock, const char *json)
{
	if (!sock->connected)
		return ENOTCONN;
	sock->srv->stats.events_out++;
	/* "2" + array: an EVENT on the main namespace without ack id */
	return eio_send_prefixed(sock->eio, '2', json, strlen(json));
}

int sio_emit(struct sio_socket *sock, const char *event, const cJSON *data)
{
	char *json;
	int err;
	if (!sock || !event)
		return EINVAL;
	json = event_text(event, data);
	if (!json)
		return ENOMEM;
	err = send_event_text(sock, json);
	cJSON_free(json);
	return err;
}

int sio_ack(struct sio_socket *sock, int64_t id, const cJSON *data)
{
	cJSON *arr;
	int err;
	if (!sock || id == SIO_ACK_NONE)
		return EINVAL;
	arr = cJSON_CreateArray();
	if (!arr)
		return ENOMEM;
	if (data)
		cJSON_AddItemReferenceToArray(arr, (cJSON *)data);
	err = send_packet(sock, SIO_ACK, id, arr);
	cJSON_Delete(arr);
	return err;
}

int sio_emit_array(struct sio_socket *sock, const cJSON *array)
{
	if (!sock || !cJSON_IsArray(array) ||
	    !cJSON_IsString(cJSON_GetArrayItem(array, 0)))
		return EINVAL;
	if (!sock->connected)
		return ENOTCONN;
	sock->srv->stats.events_out++;
	return send_packet(sock, SIO_EVENT, SIO_ACK_NONE, array);
}

int sio_ack_array(struct sio_socket *sock, int64_t id, const cJSON *args)
{
	if (!sock || id == SIO_ACK_NONE || !cJSON_IsArray(args))
		return EINVAL;
	return send_packet(sock, SIO_ACK, id, args);
}

/* Rooms */

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
	return !strcmp(r->name, arg);
}

static struct room *room_find(const struct sio_server *srv, const char *name)
{
	struct le *le = hash_lookup(srv->rooms, hash_joaat_str(name), room_cmp,
				    (void *)name);
	return le ? le->data : NULL;
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
	struct membership *m;
	struct room *r;

	if (!sock || !name)
		return EINVAL;
	if (membership_find(sock, name))
		return 0;
	r = room_find(sock->srv, name);
	if (!r) {
		r = mem_zalloc(sizeof(*r), room_destructor);
		if (!r || str_dup(&r->name, name)) {
			mem_deref(r);
			return ENOMEM;
		}
		hash_append(sock->srv->rooms, hash_joaat_str(name), &r->le, r);
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
	const struct room *r = srv && name ? room_find(srv, name) : NULL;
	return r ? list_count(&r->members) : 0;
}

void sio_room_apply(struct sio_server *srv, const char *name,
		    sio_socket_apply_h *h, void *arg)
{
	struct room *r = srv && name ? room_find(srv, name) : NULL;
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
	struct room *r = srv && name ? room_find(srv, name) : NULL;
	struct le *le;
	size_t n = 0;
	char *json;

	if (!r || !event)
		return 0;
	json = event_text(event, data);
	if (!json)
		return 0;
	/* A slow member may be closed by the send: step first, hold room. */
	mem_ref(r);
	for (le = r->members.head; le;) {
		struct membership *m = le->data;
		le = le->next;
		if (m->sock == except)
			continue;
		if (!send_event_text(m->sock, json))
			n++;
	}
	mem_deref(r);
	cJSON_free(json);
	return n;
}

/* Sockets */

static void socket_destructor(void *arg)
{
	struct sio_socket *sock = arg;
	hash_unlink(&sock->le);
	list_flush(&sock->memberships);
}

static bool socket_cmp(struct le *le, void *arg)
{
	const struct sio_socket *sock = le->data;
	return !strcmp(sock->id, arg);
}

struct sio_socket *sio_socket_find(const struct sio_server *srv, const char *id)
{
	struct le *le = srv && id
				? hash_lookup(srv->sockets, hash_joaat_str(id),
					      socket_cmp, (void *)id)
				: NULL;
	return le ? le->data : NULL;
}

const char *sio_socket_id(const struct sio_socket *sock)
{
	return sock ? sock->id : "";
}

const struct sa *sio_socket_peer(const struct sio_socket *sock)
{
	return sock ? eio_peer(sock->eio) : NULL;
}

const char *sio_socket_transport(const struct sio_socket *sock)
{
	return sock ? eio_transport_name(sock->eio) : "";
}

void sio_socket_set_user(struct sio_socket *sock, void *user)
{
	if (sock)
		sock->user = user;
}

void *sio_socket_user(const struct sio_socket *sock)
{
	return sock ? sock->user : NULL;
}

void sio_socket_disconnect(struct sio_socket *sock)
{
	if (!sock)
		return;
	if (sock->connected)
		(void)send_packet(sock, SIO_DISCONNECT, SIO_ACK_NONE, NULL);
	eio_close(sock->eio, "server namespace disconnect");
}

static void socket_gone(struct sio_socket *sock, const char *reason)
{
	struct sio_server *srv = sock->srv;
	if (sock->connected) {
		sock->connected = false;
		srv->connected--;
		srv->disch(sock, reason, srv->arg);
	}
	list_flush(&sock->memberships);
}

static void eio_open_handler(struct eio_sock *es, void *arg)
{
	struct sio_server *srv = arg;
	struct sio_socket *sock;
	uint8_t raw[15];
	size_t n = sizeof(sock->id);

	sock = mem_zalloc(sizeof(*sock), socket_destructor);
	if (!sock) {
		eio_close(es, "out of memory");
		return;
	}
	sock->srv = srv;
	sock->eio = es;
	if (port_random(raw, sizeof(raw)) ||
	    base64url_encode(raw, sizeof(raw), sock->id, &n)) {
		mem_deref(sock);
		eio_close(es, "no randomness");
		return;
	}
	hash_append(srv->sockets, hash_joaat_str(sock->id), &sock->le, sock);
	eio_set_user(es, sock);
}

static void eio_close_handler(struct eio_sock *es, const char *reason,
			      void *arg)
{
	struct sio_socket *sock = eio_user(es);
	(void)arg;
	if (!sock)
		return;
	eio_set_user(es, NULL);
	socket_gone(sock, reason);
	mem_deref(sock);
}

/* CONNECT_ERROR {message} (socket.io-client's err.message), and for a
 * refusal of the connect handler's its fault: "CODE: sentence" as the
 * message and {code, message} as the data (err.data). */
static void connect_error(struct sio_socket *sock, const char *message,
			  const struct fault *f)
{
	cJSON *o = cJSON_CreateObject();
	char text[FAULT_MESSAGE_MAX + 32];
	if (f) {
		(void)re_snprintf(text, sizeof(text), "%s: %s",
				  fault_code_name(f->code), f->message);
		message = text;
		cJSON_AddItemToObject(o, "data", fault_json(f));
	}
	cJSON_AddStringToObject(o, "message", message);
	(void)send_packet(sock, SIO_CONNECT_ERROR, SIO_ACK_NONE, o);
	cJSON_Delete(o);
	sock->srv->stats.connect_errors++;
}

static void on_connect(struct sio_socket *sock, const struct sio_packet *pkt)
{
	struct sio_server *srv = sock->srv;
	struct fault f = {FAULT_UNAUTHENTICATED, "connection refused"};
	cJSON *o;
	int err;

	if (strcmp(pkt->nsp, "/")) {
		connect_error(sock, "Invalid namespace", NULL);
		return;
	}
	if (sock->connected)
		return; /* a repeated CONNECT changes nothing */
	err = srv->connh(sock, pkt->data, &f, srv->arg);
	if (err) {
		connect_error(sock, NULL, &f);
		return;
	}
	sock->connected = true;
	srv->connected++;
	srv->stats.connects++;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "sid", sock->id);
	(void)send_packet(sock, SIO_CONNECT, SIO_ACK_NONE, o);
	cJSON_Delete(o);
	if (srv->connectedh)
		srv->connectedh(sock, srv->arg);
}

void sio_server_set_connected_handler(struct sio_server *srv,
				      sio_connected_h *connectedh)
{
	if (srv)
		srv->connectedh = connectedh;
}

static void eio_message_handler(struct eio_sock *es, const char *data,
				size_t len, void *arg)
{
	struct sio_server *srv = arg;
	struct sio_socket *sock = eio_user(es);
	struct sio_packet pkt;
	const cJSON *name;
	cJSON *name_item;

	if (!sock)
		return;
	if (sio_packet_decode(&pkt, data, len)) {
		srv->stats.dropped_malformed++;
		return;
	}
	mem_ref(sock);
	switch (pkt.type) {
	case SIO_CONNECT:
		on_connect(sock, &pkt);
		break;
	case SIO_DISCONNECT:
		socket_gone(sock, "client namespace disconnect");
		break;
	case SIO_EVENT:
		if (!sock->connected || strcmp(pkt.nsp, "/")) {
			srv->stats.dropped_malformed++;
			break;
		}
		name = cJSON_GetArrayItem(pkt.data, 0);
		if (strlen(name->valuestring) > SIO_EVENT_NAME_MAX) {
			srv->stats.dropped_malformed++;
			break;
		}
		srv->stats.events_in++;
		/* Hand over the arguments after the name as their own array. */
		name_item = cJSON_DetachItemFromArray(pkt.data, 0);
		srv->eventh(sock, name_item->valuestring, pkt.data, pkt.id,
			    srv->arg);
		cJSON_Delete(name_item);
		break;
	case SIO_BINARY_EVENT:
	case SIO_BINARY_ACK:
		srv->stats.dropped_binary++;
		break;
	default:
		break; /* client acks: the server asks for none */
	}
	mem_deref(sock);
	sio_packet_reset(&pkt);
}

static void server_destructor(void *arg)
{
	struct sio_server *srv = arg;
	mem_deref(srv->eio); /* closes every session first */
	hash_flush(srv->rooms);
	mem_deref(srv->rooms);
	hash_clear(srv->sockets); /* unlinks, the sockets are not ours */
	mem_deref(srv->sockets);
}

int sio_server_alloc(struct sio_server **srvp, const struct eio_config *cfg,
		     sio_connect_h *connh, sio_event_h *eventh,
		     sio_disconnect_h *disch, void *arg)
{
	struct sio_server *srv;
	int err;

	if (!srvp || !cfg || !connh || !eventh || !disch)
		return EINVAL;
	srv = mem_zalloc(sizeof(*srv), server_destructor);
	if (!srv)
		return ENOMEM;
	srv->connh = connh;
	srv->eventh = eventh;
	srv->disch = disch;
	srv->arg = arg;
	/* rooms: a user's own, its calls' and its conversations' */
	err = hash_alloc(&srv->rooms,
			 eio_hash_buckets(4 * (uint64_t)cfg->max_sessions));
	if (!err)
		err = hash_alloc(&srv->sockets,
				 eio_hash_buckets(cfg->max_sessions));
	if (!err)
		err = eio_server_alloc(&srv->eio, cfg, eio_open_handler,
				       eio_message_handler, eio_close_handler,
				       srv);
	if (err)
		mem_deref(srv);
	else
		*srvp = srv;
	return err;
}

struct eio_server *sio_server_eio(const struct sio_server *srv)
{
	return srv ? srv->eio : NULL;
}

size_t sio_server_count(const struct sio_server *srv)
{
	return srv ? srv->connected : 0;
}

void sio_server_stats(const struct sio_server *srv, struct sio_stats *st)
{
	if (srv && st)
		*st = srv->stats;
}
