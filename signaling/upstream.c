/*
 * upstream.c - front mode (upstream.h). Each client socket has its own
 * Engine.IO v4 websocket to the upstream: its "0" open packet is answered
 * with the Socket.IO CONNECT carrying the client's auth; events sent
 * before the upstream's CONNECT answer wait (at most UPSTREAM_QUEUE_MAX);
 * its pings are answered; its EVENTs go to the client, its ACKs to the
 * client's ack ids they stand for.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "sio.h"
#include "upstream.h"

enum {
	UPSTREAM_QUEUE_MAX = 64, /* events before the upstream answers */
	UPSTREAM_ACKS_MAX = 256, /* acks awaited from the upstream */
	UPSTREAM_URL_MAX = 512,
};

struct upstream {
	struct dnsc *dnsc;
	struct http_cli *http;
	struct websock *ws;
	/* http://host:port/socket.io/?...: libre's client asks for the
	 * websocket upgrade itself */
	char uri[UPSTREAM_URL_MAX];
};

/* An upstream ack id and the client's it stands for. */
struct ack_map {
	struct le le;
	int64_t up_id, client_id;
};

/* A packet waiting for the upstream's CONNECT answer. */
struct queued {
	struct le le;
	struct mbuf *mb;
};

static void ack_map_destructor(void *arg)
{
	struct ack_map *m = arg;
	list_unlink(&m->le);
}

static void queued_destructor(void *arg)
{
	struct queued *q = arg;
	list_unlink(&q->le);
	mem_deref(q->mb);
}

struct upstream_link {
	struct upstream *up; /* held */
	struct websock_conn *conn;
	struct sio_socket *sock; /* borrowed: the link goes with its client */
	char *auth;              /* the client's auth object, as JSON */
	bool open;               /* the upstream answered our CONNECT */
	bool closed;       /* the link is over (its conn is freed with the link:
			    * not from inside libre's own callbacks) */
	struct list queue; /* struct queued: packets waiting for it */
	struct list acks;  /* struct ack_map */
	int64_t next_id;
};

static void upstream_destructor(void *arg)
{
	struct upstream *up = arg;
	mem_deref(up->ws);
	mem_deref(up->http);
	mem_deref(up->dnsc);
}

int upstream_alloc(struct upstream **upp, const char *url)
{
	struct upstream *up;
	struct sa ns[4];
	uint32_t nsn = ARRAY_SIZE(ns);
	struct pl scheme, rest;
	int err;

	if (!upp || !url ||
	    re_regex(url, strlen(url), "[a-z]+://[^]+", &scheme, &rest) ||
	    pl_strcmp(&scheme, "http") || rest.l > UPSTREAM_URL_MAX - 64)
		return EINVAL;
	up = mem_zalloc(sizeof(*up), upstream_destructor);
	if (!up)
		return ENOMEM;
	/* the path is Socket.IO's; a trailing slash of the URL dropped */
	if (rest.l && rest.p[rest.l - 1] == '/')
		rest.l--;
	(void)re_snprintf(up->uri, sizeof(up->uri),
			  "http://%r/socket.io/?EIO=4&transport=websocket",
			  &rest);
	err = dns_srv_get(NULL, 0, ns, &nsn);
	if (!err)
		err = dnsc_alloc(&up->dnsc, NULL, ns, nsn);
	if (!err)
		err = http_client_alloc(&up->http, up->dnsc);
	if (!err)
		err = websock_alloc(&up->ws, NULL, NULL);
	if (err) {
		mem_deref(up);
		return err;
	}
	*upp = up;
	return 0;
}

/* One Socket.IO packet as an Engine.IO message ("4" + packet). */
static int send_text(struct upstream_link *l, const struct mbuf *mb)
{
	return websock_send(l->conn, WEBSOCK_TEXT, "4%b", mb->buf, mb->end);
}

static void flush_queue(struct upstream_link *l)
{
	struct le *le;
	while ((le = list_head(&l->queue))) {
		struct queued *q = le->data;
		(void)send_text(l, q->mb);
		mem_deref(q);
	}
}

/* What the upstream says to this client. */
static void on_packet(struct upstream_link *l, const struct sio_packet *pkt)
{
	struct le *le;

	switch (pkt->type) {
	case SIO_CONNECT:
		l->open = true;
		flush_queue(l);
		break;
	case SIO_EVENT:
		(void)sio_emit_array(l->sock, pkt->data, NULL);
		break;
	case SIO_ACK:
		for (le = l->acks.head; le; le = le->next) {
			struct ack_map *m = le->data;
			if (m->up_id != pkt->id)
				continue;
			(void)sio_ack_array(l->sock, m->client_id, pkt->data,
					    NULL);
			mem_deref(m);
			break;
		}
		break;
	case SIO_CONNECT_ERROR:
	case SIO_DISCONNECT:
		port_log(PORT_LOG_WARN, "upstream: %s of socket %s",
			 pkt->type == SIO_DISCONNECT ? "disconnected"
						     : "refused the auth",
			 sio_socket_id(l->sock));
		l->closed = true;
		l->open = false;
		break;
	default:
		break; /* binary packets: not relayed */
	}
}

static void recv_handler(const struct websock_hdr *hdr, struct mbuf *mb,
			 void *arg)
{
	struct upstream_link *l = arg;
	const char *p = (const char *)mbuf_buf(mb);
	size_t n = mbuf_get_left(mb);
	struct sio_packet pkt;

	if (hdr->opcode != WEBSOCK_TEXT || !n)
		return;
	switch (p[0]) {
	case '0': /* open: now the Socket.IO CONNECT, with the auth */
		(void)websock_send(l->conn, WEBSOCK_TEXT, "40%s", l->auth);
		break;
	case '2': /* ping */
		(void)websock_send(l->conn, WEBSOCK_TEXT, "3");
		break;
	case '4':
		memset(&pkt, 0, sizeof(pkt));
		if (sio_packet_decode(&pkt, p + 1, n - 1))
			break;
		mem_ref(l);
		on_packet(l, &pkt);
		mem_deref(l);
		sio_packet_reset(&pkt);
		break;
	default:
		break;
	}
}

static void estab_handler(void *arg)
{
	(void)arg; /* the upstream speaks first: its open packet */
}

static void close_handler(int err, void *arg)
{
	struct upstream_link *l = arg;
	port_log(PORT_LOG_INFO, "upstream: socket %s's link closed (%m)",
		 sio_socket_id(l->sock), err);
	l->closed = true;
	l->open = false;
}

static void link_destructor(void *arg)
{
	struct upstream_link *l = arg;
	if (l->conn && !l->closed)
		(void)websock_close(l->conn, WEBSOCK_GOING_AWAY, "");
	mem_deref(l->conn);
	list_flush(&l->queue);
	list_flush(&l->acks);
	mem_deref(l->auth);
	mem_deref(l->up);
}

int upstream_link_alloc(struct upstream_link **lp, struct upstream *up,
			struct sio_socket *sock, const cJSON *auth)
{
	struct upstream_link *l;
	char *json;
	int err;

	if (!lp || !up || !sock)
		return EINVAL;
	l = mem_zalloc(sizeof(*l), link_destructor);
	if (!l)
		return ENOMEM;
	l->up = mem_ref(up);
	l->sock = sock;
	l->next_id = 1;
	json = auth ? cJSON_PrintUnformatted(auth) : NULL;
	err = str_dup(&l->auth, json ? json : "{}");
	cJSON_free(json);
	if (!err)
		err = websock_connect(&l->conn, up->ws, up->http, up->uri, 0,
				      estab_handler, recv_handler,
				      close_handler, l, "");
	if (err) {
		mem_deref(l);
		return err;
	}
	*lp = l;
	return 0;
}

/* The ack the upstream will give under a new id of ours. */
static int ack_remember(struct upstream_link *l, int64_t client_id,
			int64_t *up_id)
{
	struct ack_map *m;
	if (list_count(&l->acks) >= UPSTREAM_ACKS_MAX)
		return EBUSY;
	m = mem_zalloc(sizeof(*m), ack_map_destructor);
	if (!m)
		return ENOMEM;
	m->up_id = *up_id = l->next_id++;
	m->client_id = client_id;
	list_append(&l->acks, &m->le, m);
	return 0;
}

int upstream_relay(struct upstream_link *l, const char *event,
		   const cJSON *args, int64_t ack_id)
{
	cJSON *arr;
	struct mbuf *mb;
	int64_t up_id = SIO_ACK_NONE;
	int err;

	if (!l || !event)
		return EINVAL;
	if (!l->conn || l->closed)
		return ENOTCONN;
	if (!l->open && list_count(&l->queue) >= UPSTREAM_QUEUE_MAX)
		return EBUSY;
	if (ack_id != SIO_ACK_NONE) {
		err = ack_remember(l, ack_id, &up_id);
		if (err)
			return err;
	}
	arr = cJSON_Duplicate(args, 1);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		arr = cJSON_CreateArray();
	}
	cJSON_InsertItemInArray(arr, 0, cJSON_CreateString(event));
	mb = mbuf_alloc(256);
	err = mb ? sio_packet_encode(mb, SIO_EVENT, up_id, arr) : ENOMEM;
	cJSON_Delete(arr);
	if (!err && l->open) {
		err = send_text(l, mb);
	} else if (!err) {
		struct queued *q = mem_zalloc(sizeof(*q), queued_destructor);
		if (q) {
			q->mb = mem_ref(mb);
			list_append(&l->queue, &q->le, q);
		} else {
			err = ENOMEM;
		}
	}
	mem_deref(mb);
	return err;
}
