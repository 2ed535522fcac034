/*
 * conformance-server.c - the reference server of the Engine.IO and
 * Socket.IO protocols' own test suites, built from our meeshy_sio:
 *
 *   /engine.io/  Engine.IO alone: every message, text or bytes, echoed
 *   /socket.io/  Socket.IO: on "/" and "/custom" a socket is sent
 *                ["auth", <its handshake auth>] once connected; "message"
 *                is answered "message-back" with the same arguments (and
 *                attachments), "message-with-ack" acked with them
 *
 * with the suites' settings: ping interval 300 ms, timeout 200 ms, max
 * payload 1,000,000 bytes, connect timeout 1 s.
 *
 *   conformance-server [--listen 127.0.0.1:3000]
 *
 * prints "conformance-server: listening on ADDR" once it is, and serves
 * until SIGINT or SIGTERM. scripts/protocol-suites.sh runs the suites
 * against it; tests/integration/conformance.test.js checks each behaviour
 * they check.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "httpd.h"
#include "eio.h"
#include "sio.h"
#include "fault.h"

enum {
	PING_INTERVAL_MS = 300,
	PING_TIMEOUT_MS = 200,
	MAX_PAYLOAD = 1000000,
	CONNECT_TIMEOUT_MS = 1000,
};

struct conformance {
	struct httpd *http;
	struct eio_server *eio; /* /engine.io/ */
	struct sio_server *sio; /* /socket.io/ */
};

/* /engine.io/: echo */

static void eio_echo(struct eio_sock *s, const char *data, size_t len,
		     bool binary, void *arg)
{
	(void)arg;
	if (binary)
		(void)eio_send_binary(s, (const uint8_t *)data, len);
	else
		(void)eio_send(s, data, len);
}

static void eio_gone(struct eio_sock *s, const char *reason, void *arg)
{
	(void)s;
	(void)reason;
	(void)arg;
}

/* /socket.io/: the auth echo and the two events */

/* A socket's handshake auth, until it is sent back. */
struct auth_echo {
	struct sio_socket *sock;
	cJSON *auth;
	struct tmr tmr;
};

static void auth_echo_destructor(void *arg)
{
	struct auth_echo *a = arg;
	tmr_cancel(&a->tmr);
	cJSON_Delete(a->auth);
}

static int on_connect(struct sio_socket *sock, const cJSON *auth,
		      struct fault *f, void *arg)
{
	struct auth_echo *a = mem_zalloc(sizeof(*a), auth_echo_destructor);
	(void)arg;
	if (a) {
		a->sock = sock;
		a->auth =
			auth ? cJSON_Duplicate(auth, 1) : cJSON_CreateObject();
	}
	if (!a || !a->auth) {
		mem_deref(a);
		return fault_set(f, FAULT_INTERNAL, "out of memory"), ENOMEM;
	}
	sio_socket_set_user(sock, a);
	return 0;
}

static void send_auth(void *arg)
{
	struct auth_echo *a = arg;
	(void)sio_emit(a->sock, "auth", a->auth);
}

/* The auth goes in a write of its own, a moment after the CONNECT answer:
 * the suites' client takes one message per turn of its event loop, so
 * two messages in one TCP read would look like one to it (the reference
 * server writes each packet once the one before has been written). */
static void on_connected(struct sio_socket *sock, void *arg)
{
	struct auth_echo *a = sio_socket_user(sock);
	(void)arg;
	tmr_start(&a->tmr, 10, send_auth, a);
}

static void on_disconnect(struct sio_socket *sock, const char *reason,
			  void *arg)
{
	(void)reason;
	(void)arg;
	mem_deref(sio_socket_user(sock));
	sio_socket_set_user(sock, NULL);
}

/* "message" -> "message-back" with the same arguments; "message-with-ack"
 * -> its ack with them (att NULL: none). */
static void answer(struct sio_socket *sock, const char *event,
		   const cJSON *args, const struct sio_attachments *att,
		   int64_t ack_id)
{
	cJSON *back;

	if (!strcmp(event, "message-with-ack") && ack_id != SIO_ACK_NONE) {
		(void)sio_ack_array(sock, ack_id, args, att);
		return;
	}
	if (strcmp(event, "message"))
		return;
	back = cJSON_Duplicate(args, 1);
	if (!back)
		return;
	cJSON_InsertItemInArray(back, 0, cJSON_CreateString("message-back"));
	(void)sio_emit_array(sock, back, att);
	cJSON_Delete(back);
}

static void on_event(struct sio_socket *sock, const char *event,
		     const cJSON *args, int64_t ack_id, void *arg)
{
	(void)arg;
	answer(sock, event, args, NULL, ack_id);
}

static void on_binary_event(struct sio_socket *sock, const char *event,
			    const cJSON *args,
			    const struct sio_attachments *att, int64_t ack_id,
			    void *arg)
{
	(void)arg;
	answer(sock, event, args, att, ack_id);
}

/* HTTP */

static void http_handler(struct httpd_conn *conn, const struct http_msg *msg,
			 void *arg)
{
	struct conformance *cf = arg;

	if (!pl_strcmp(&msg->path, "/engine.io/"))
		eio_server_handle(cf->eio, conn, msg);
	else if (!pl_strcmp(&msg->path, "/socket.io/"))
		eio_server_handle(sio_server_eio(cf->sio), conn, msg);
	else
		(void)httpd_ereply(conn, 404, "Not Found");
}

static int servers_make(struct conformance *cf, const struct sa *laddr)
{
	const struct sio_handlers h = {
		.connecth = on_connect,
		.connectedh = on_connected,
		.eventh = on_event,
		.binaryh = on_binary_event,
		.disconnecth = on_disconnect,
	};
	struct httpd_config hc;
	struct eio_config ec;
	int err;

	httpd_config_defaults(&hc);
	hc.max_body = MAX_PAYLOAD;
	err = httpd_listen(&cf->http, laddr, &hc, http_handler, cf);
	if (err)
		return err;
	memset(&ec, 0, sizeof(ec));
	ec.ping_interval_ms = PING_INTERVAL_MS;
	ec.ping_timeout_ms = PING_TIMEOUT_MS;
	ec.max_payload = MAX_PAYLOAD;
	ec.max_sessions = 1000;
	ec.budget = httpd_budget(cf->http);
	err = eio_server_alloc(&cf->eio, &ec, NULL, eio_echo, eio_gone, cf);
	if (!err)
		err = sio_server_alloc(&cf->sio, &ec, &h);
	if (!err)
		err = sio_server_add_namespace(cf->sio, "/custom", &h);
	if (!err)
		err = sio_server_set_connect_timeout(cf->sio,
						     CONNECT_TIMEOUT_MS);
	return err;
}

static void signal_handler(int sig)
{
	(void)sig;
	re_cancel();
}

int main(int argc, char *argv[])
{
	const char *listen = "127.0.0.1:3000";
	struct conformance cf = {NULL, NULL, NULL};
	struct sa laddr;
	int err;

	if (argc == 3 && !strcmp(argv[1], "--listen")) {
		listen = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--listen ADDR:PORT]\n", argv[0]);
		return 2;
	}
	if (sa_decode(&laddr, listen, strlen(listen))) {
		fprintf(stderr,
			"conformance-server: --listen '%s' is not"
			" ADDR:PORT\n",
			listen);
		return 2;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	err = libre_init();
	if (!err)
		err = servers_make(&cf, &laddr);
	if (!err)
		err = httpd_local(cf.http, &laddr);
	if (err) {
		fprintf(stderr, "conformance-server: %s: %s\n", listen,
			strerror(err));
	} else {
		(void)re_printf("conformance-server: listening on %J\n",
				&laddr);
		fflush(stdout);
		err = re_main(signal_handler);
	}
	mem_deref(cf.sio);
	mem_deref(cf.eio);
	mem_deref(cf.http);
	libre_close();
	return err ? 1 : 0;
}
