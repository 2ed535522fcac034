/*
 * sio.c - Socket.IO v5 server: namespaces, a session's sockets, events,
 * acks and binary attachments (the codec is sio_codec.c, rooms
 * sio_rooms.c).
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "httpd.h"
#include "eio.h"
#include "base64url.h"
#include "fault.h"
#include "sio_impl.h"

/* Namespaces */

struct sio_nsp *sio_nsp_main(const struct sio_server *srv)
{
	return srv->nsps.head->data;
}

static struct sio_nsp *nsp_find(const struct sio_server *srv, const char *name)
{
	struct le *le;
	for (le = srv->nsps.head; le; le = le->next) {
		struct sio_nsp *n = le->data;
		if (!strcmp(n->name, name))
			return n;
	}
	return NULL;
}

static void nsp_destructor(void *arg)
{
	struct sio_nsp *n = arg;
	list_unlink(&n->le);
}

int sio_server_add_namespace(struct sio_server *srv, const char *name,
			     const struct sio_handlers *h)
{
	struct sio_nsp *n;

	if (!srv || !name || name[0] != '/' || !h || !h->connecth ||
	    !h->eventh || !h->disconnecth)
		return EINVAL;
	if (strlen(name) >= sizeof(n->name))
		return ENAMETOOLONG;
	if (nsp_find(srv, name))
		return EEXIST;
	n = mem_zalloc(sizeof(*n), nsp_destructor);
	if (!n)
		return ENOMEM;
	str_ncpy(n->name, name, sizeof(n->name));
	n->h = *h;
	list_append(&srv->nsps, &n->le, n);
	return 0;
}

/* Sending */

static int client_send(struct sio_client *c, const struct sio_packet *pkt,
		       const struct sio_attachments *att)
{
	struct mbuf *mb = mbuf_alloc(256);
	int err;

	if (!mb)
		return ENOMEM;
	err = sio_packet_write(mb, pkt);
	if (!err)
		err = eio_send(c->eio, (const char *)mb->buf, mb->end);
	for (size_t i = 0; !err && att && i < att->n; i++)
		err = eio_send_binary(c->eio, att->a[i].p, att->a[i].len);
	mem_deref(mb);
	return err;
}

/* A packet on the socket's namespace; with attachments the binary kind
 * of type. */
static int socket_send(struct sio_socket *sock, enum sio_packet_type type,
		       int64_t id, const cJSON *data,
		       const struct sio_attachments *att)
{
	struct sio_packet pkt = {type, "", id, 0, (cJSON *)data};

	if (att && att->n) {
		if (att->n > SIO_ATTACHMENTS_MAX)
			return EINVAL;
		pkt.type = type == SIO_ACK ? SIO_BINARY_ACK : SIO_BINARY_EVENT;
		pkt.attachments = (unsigned)att->n;
	}
	str_ncpy(pkt.nsp, sock->nsp->name, sizeof(pkt.nsp));
	return client_send(sock->client, &pkt, att);
}

char *sio_event_text(const char *event, const cJSON *data)
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

int sio_send_event_text(struct sio_socket *sock, const char *json)
{
	struct mbuf *mb;
	int err;

	if (!sock->connected)
		return ENOTCONN;
	sock->client->srv->stats.events_out++;
	/* "2" + array: an EVENT without ack id, on the main namespace... */
	if (sock->nsp == sio_nsp_main(sock->client->srv))
		return eio_send_prefixed(sock->client->eio, '2', json,
					 strlen(json));
	/* ... or "2/name," + array on another */
	mb = mbuf_alloc(strlen(json) + sizeof(sock->nsp->name) + 2);
	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "2%s,%s", sock->nsp->name, json);
	if (!err)
		err = eio_send(sock->client->eio, (const char *)mb->buf,
			       mb->end);
	mem_deref(mb);
	return err;
}

int sio_emit(struct sio_socket *sock, const char *event, const cJSON *data)
{
	char *json;
	int err;
	if (!sock || !event)
		return EINVAL;
	json = sio_event_text(event, data);
	if (!json)
		return ENOMEM;
	err = sio_send_event_text(sock, json);
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
	err = socket_send(sock, SIO_ACK, id, arr, NULL);
	cJSON_Delete(arr);
	return err;
}

int sio_emit_array(struct sio_socket *sock, const cJSON *array,
		   const struct sio_attachments *att)
{
	if (!sock || !cJSON_IsArray(array) ||
	    !cJSON_IsString(cJSON_GetArrayItem(array, 0)))
		return EINVAL;
	if (!sock->connected)
		return ENOTCONN;
	sock->client->srv->stats.events_out++;
	return socket_send(sock, SIO_EVENT, SIO_ACK_NONE, array, att);
}

int sio_ack_array(struct sio_socket *sock, int64_t id, const cJSON *args,
		  const struct sio_attachments *att)
{
	if (!sock || id == SIO_ACK_NONE || !cJSON_IsArray(args))
		return EINVAL;
	return socket_send(sock, SIO_ACK, id, args, att);
}

/* Sockets */

static void socket_destructor(void *arg)
{
	struct sio_socket *sock = arg;
	hash_unlink(&sock->le);
	list_unlink(&sock->le_client);
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

const char *sio_socket_nsp(const struct sio_socket *sock)
{
	return sock ? sock->nsp->name : "";
}

const struct sa *sio_socket_peer(const struct sio_socket *sock)
{
	return sock ? eio_peer(sock->client->eio) : NULL;
}

const char *sio_socket_transport(const struct sio_socket *sock)
{
	return sock ? eio_transport_name(sock->client->eio) : "";
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
		(void)socket_send(sock, SIO_DISCONNECT, SIO_ACK_NONE, NULL,
				  NULL);
	eio_close(sock->client->eio, "server namespace disconnect");
}

/* The joined socket of the client's for a namespace, or NULL. */
static struct sio_socket *client_socket(const struct sio_client *c,
					const char *nsp)
{
	struct le *le;
	for (le = c->sockets.head; le; le = le->next) {
		struct sio_socket *sock = le->data;
		if (!strcmp(sock->nsp->name, nsp))
			return sock;
	}
	return NULL;
}

/* The socket leaves its namespace: told to the handler, then gone. */
static void socket_leave(struct sio_socket *sock, const char *reason)
{
	struct sio_server *srv = sock->client->srv;
	if (sock->connected) {
		sock->connected = false;
		srv->connected--;
		sock->nsp->h.disconnecth(sock, reason, sock->nsp->h.arg);
	}
	/* out of reach now, though a caller may still hold it */
	hash_unlink(&sock->le);
	list_unlink(&sock->le_client);
	list_flush(&sock->memberships);
	mem_deref(sock);
}

static struct sio_socket *socket_new(struct sio_client *c,
				     const struct sio_nsp *nsp)
{
	struct sio_socket *sock = mem_zalloc(sizeof(*sock), socket_destructor);
	uint8_t raw[15];
	size_t n = sizeof(sock->id);

	if (!sock)
		return NULL;
	sock->client = c;
	sock->nsp = nsp;
	if (port_random(raw, sizeof(raw)) ||
	    base64url_encode(raw, sizeof(raw), sock->id, &n))
		return mem_deref(sock);
	return sock;
}

/* Receiving */

/* The client broke the protocol: its session ends, as the reference
 * server ends it. */
static void protocol_error(struct sio_client *c, const char *why)
{
	c->srv->stats.dropped_malformed++;
	c->srv->stats.closed_protocol++;
	port_log(PORT_LOG_INFO, "sio %s: %s: closing", eio_sid(c->eio), why);
	eio_close(c->eio, "parse error");
}

/* CONNECT_ERROR {message} (socket.io-client's err.message), and for a
 * refusal of the connect handler's its fault: "CODE: sentence" as the
 * message and {code, message} as the data (err.data). */
static void connect_error(struct sio_client *c, const char *nsp,
			  const char *message, const struct fault *f)
{
	struct sio_packet pkt = {SIO_CONNECT_ERROR, "", SIO_ACK_NONE, 0, NULL};
	char text[FAULT_MESSAGE_MAX + 32];

	pkt.data = cJSON_CreateObject();
	if (f) {
		(void)re_snprintf(text, sizeof(text), "%s: %s",
				  fault_code_name(f->code), f->message);
		message = text;
		cJSON_AddItemToObject(pkt.data, "data", fault_json(f));
	}
	cJSON_AddStringToObject(pkt.data, "message", message);
	str_ncpy(pkt.nsp, nsp, sizeof(pkt.nsp));
	(void)client_send(c, &pkt, NULL);
	cJSON_Delete(pkt.data);
	c->srv->stats.connect_errors++;
}

static void on_connect(struct sio_client *c, const struct sio_packet *pkt)
{
	struct sio_server *srv = c->srv;
	const struct sio_nsp *nsp = nsp_find(srv, pkt->nsp);
	struct fault f = {FAULT_UNAUTHENTICATED, "connection refused"};
	struct sio_socket *sock;
	cJSON *o;

	if (!nsp) {
		connect_error(c, pkt->nsp, "Invalid namespace", NULL);
		return;
	}
	if (client_socket(c, nsp->name))
		return; /* a repeated CONNECT changes nothing */
	sock = socket_new(c, nsp);
	if (!sock) {
		connect_error(c, pkt->nsp, "Server error", NULL);
		return;
	}
	if (nsp->h.connecth(sock, pkt->data, &f, nsp->h.arg)) {
		connect_error(c, nsp->name, NULL, &f);
		mem_deref(sock);
		return;
	}
	sock->connected = true;
	list_append(&c->sockets, &sock->le_client, sock);
	hash_append(srv->sockets, hash_joaat_str(sock->id), &sock->le, sock);
	tmrq_cancel(&c->connect_tmr);
	srv->connected++;
	srv->stats.connects++;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "sid", sock->id);
	(void)socket_send(sock, SIO_CONNECT, SIO_ACK_NONE, o, NULL);
	cJSON_Delete(o);
	if (nsp->h.connectedh)
		nsp->h.connectedh(sock, nsp->h.arg);
}

/* An EVENT (att NULL) or a BINARY_EVENT whose attachments are all here. */
static void on_event(struct sio_socket *sock, cJSON *data,
		     const struct sio_attachments *att, int64_t id)
{
	struct sio_server *srv = sock->client->srv;
	const struct sio_handlers *h = &sock->nsp->h;
	cJSON *name = cJSON_GetArrayItem(data, 0);

	if (strlen(name->valuestring) > SIO_EVENT_NAME_MAX) {
		srv->stats.dropped_malformed++;
		return;
	}
	srv->stats.events_in++;
	/* Hand over the arguments after the name as their own array. */
	name = cJSON_DetachItemFromArray(data, 0);
	if (att)
		h->binaryh(sock, name->valuestring, data, att, id, h->arg);
	else
		h->eventh(sock, name->valuestring, data, id, h->arg);
	cJSON_Delete(name);
}

/* Binary packets: the text part, then each attachment as Engine.IO
 * bytes; nothing else may come in between. What waits is the session's
 * pending packet, made when one comes. */

static void pending_destructor(void *arg)
{
	struct pending *pd = arg;
	sio_packet_reset(&pd->pkt);
	for (size_t i = 0; i < SIO_ATTACHMENTS_MAX; i++)
		mem_deref(pd->bytes[i]);
	if (pd->srv->budget)
		httpd_budget_give(pd->srv->budget, pd->charged);
}

/* Every attachment is here: the event goes to its handler (a binary ack
 * goes nowhere: the server asks for none). */
static void pending_done(struct sio_client *c)
{
	struct pending *pd = c->pending; /* ours: the handler may end it all */
	struct sio_socket *sock = client_socket(c, pd->pkt.nsp);
	struct sio_attachments att = {pd->pkt.attachments, {{0}}};

	c->pending = NULL;
	for (size_t i = 0; pd->keep && i < att.n; i++) {
		att.a[i].p = pd->bytes[i]->buf;
		att.a[i].len = pd->bytes[i]->end;
	}
	if (!sock || pd->pkt.type != SIO_BINARY_EVENT) {
		/* its socket left meanwhile, or a binary ack */
	} else if (!pd->keep) {
		c->srv->stats.dropped_binary++;
	} else if (!sio_placeholders_valid(pd->pkt.data, att.n)) {
		protocol_error(c, "a placeholder names no attachment");
	} else {
		mem_ref(sock);
		on_event(sock, pd->pkt.data, &att, pd->pkt.id);
		mem_deref(sock);
	}
	mem_deref(pd);
}

/* Takes pkt's data. */
static void pending_start(struct sio_client *c, const struct sio_socket *sock,
			  struct sio_packet *pkt)
{
	struct pending *pd = mem_zalloc(sizeof(*pd), pending_destructor);

	if (!pd) {
		eio_close(c->eio, "out of memory");
		return;
	}
	pd->srv = c->srv;
	pd->pkt = *pkt;
	pkt->data = NULL;
	pd->keep = pkt->type == SIO_BINARY_EVENT && sock->nsp->h.binaryh;
	c->pending = pd;
	if (!pd->pkt.attachments)
		pending_done(c);
}

static void attachment_in(struct sio_client *c, const char *data, size_t len)
{
	struct sio_server *srv = c->srv;
	struct pending *pd = c->pending;
	struct mbuf *mb;

	if (!pd) {
		protocol_error(c, "bytes that no packet announced");
		return;
	}
	if (pd->keep) {
		/* a packet's attachments together: one payload's worth, and
		 * within the budget all clients share */
		if (pd->charged + len > srv->max_payload ||
		    (srv->budget && !httpd_budget_take(srv->budget, len))) {
			protocol_error(c, "attachments too large");
			return;
		}
		pd->charged += len;
		mb = mbuf_alloc(len ? len : 1);
		if (!mb || mbuf_write_mem(mb, (const uint8_t *)data, len)) {
			mem_deref(mb);
			eio_close(c->eio, "out of memory");
			return;
		}
		pd->bytes[pd->got] = mb;
	}
	if (++pd->got == pd->pkt.attachments)
		pending_done(c);
}

static void packet_in(struct sio_client *c, const char *data, size_t len)
{
	struct sio_packet pkt;
	struct sio_socket *sock;

	if (sio_packet_decode(&pkt, data, len)) {
		protocol_error(c, "undecodable packet");
		return;
	}
	sock = pkt.type == SIO_CONNECT ? NULL : client_socket(c, pkt.nsp);
	if (pkt.type == SIO_CONNECT) {
		on_connect(c, &pkt);
	} else if (!sock) {
		protocol_error(c, "a packet for a namespace not joined");
	} else {
		mem_ref(sock);
		if (pkt.type == SIO_DISCONNECT)
			socket_leave(sock, "client namespace disconnect");
		else if (pkt.type == SIO_EVENT)
			on_event(sock, pkt.data, NULL, pkt.id);
		else if (pkt.type == SIO_BINARY_EVENT ||
			 pkt.type == SIO_BINARY_ACK)
			pending_start(c, sock, &pkt);
		/* SIO_ACK: the server asks for none */
		mem_deref(sock);
	}
	sio_packet_reset(&pkt);
}

static void eio_message_handler(struct eio_sock *es, const char *data,
				size_t len, bool binary, void *arg)
{
	struct sio_client *c = eio_user(es);
	(void)arg;

	if (!c)
		return;
	mem_ref(c);
	if (binary)
		attachment_in(c, data, len);
	else if (c->pending)
		protocol_error(c, "text while attachments were awaited");
	else
		packet_in(c, data, len);
	mem_deref(c);
}

/* Sessions */

static void client_destructor(void *arg)
{
	struct sio_client *c = arg;
	tmrq_cancel(&c->connect_tmr);
	c->pending = mem_deref(c->pending);
}

static void connect_timeout(void *arg)
{
	struct sio_client *c = arg;
	if (!list_isempty(&c->sockets))
		return;
	c->srv->stats.closed_connect_timeout++;
	eio_close(c->eio, "connect timeout");
}

static void eio_open_handler(struct eio_sock *es, void *arg)
{
	struct sio_server *srv = arg;
	struct sio_client *c = mem_zalloc(sizeof(*c), client_destructor);

	if (!c) {
		eio_close(es, "out of memory");
		return;
	}
	c->srv = srv;
	c->eio = es;
	eio_set_user(es, c);
	tmrq_start(srv->connect_q, &c->connect_tmr, connect_timeout, c);
}

static void eio_close_handler(struct eio_sock *es, const char *reason,
			      void *arg)
{
	struct sio_client *c = eio_user(es);
	struct le *le;
	(void)arg;

	if (!c)
		return;
	eio_set_user(es, NULL);
	while ((le = list_head(&c->sockets)))
		socket_leave(le->data, reason);
	mem_deref(c);
}

/* The server */

static void server_destructor(void *arg)
{
	struct sio_server *srv = arg;
	mem_deref(srv->eio); /* closes every session first */
	hash_flush(srv->rooms);
	mem_deref(srv->rooms);
	hash_clear(srv->sockets); /* unlinks, the sockets are not ours */
	mem_deref(srv->sockets);
	list_flush(&srv->nsps);
	mem_deref(srv->connect_q);
	mem_deref(srv->budget);
}

int sio_server_alloc(struct sio_server **srvp, const struct eio_config *cfg,
		     const struct sio_handlers *main_nsp)
{
	struct sio_server *srv;
	int err;

	if (!srvp || !cfg)
		return EINVAL;
	srv = mem_zalloc(sizeof(*srv), server_destructor);
	if (!srv)
		return ENOMEM;
	srv->budget = mem_ref(cfg->budget);
	srv->max_payload = cfg->max_payload;
	err = sio_server_add_namespace(srv, "/", main_nsp);
	/* rooms: a user's own, its calls' and its conversations' */
	if (!err)
		err = hash_alloc(
			&srv->rooms,
			eio_hash_buckets(4 * (uint64_t)cfg->max_sessions));
	if (!err)
		err = hash_alloc(&srv->sockets,
				 eio_hash_buckets(cfg->max_sessions));
	if (!err)
		err = tmrq_alloc(&srv->connect_q, SIO_CONNECT_TIMEOUT_MS);
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

int sio_server_set_connect_timeout(struct sio_server *srv, uint32_t ms)
{
	struct tmrq *q;
	int err;

	if (!srv || !ms)
		return EINVAL;
	if (eio_server_count(srv->eio))
		return EBUSY;
	err = tmrq_alloc(&q, ms);
	if (err)
		return err;
	mem_deref(srv->connect_q);
	srv->connect_q = q;
	return 0;
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
