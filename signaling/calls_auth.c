/*
 * calls_auth.c - who a socket is: its token checked when it connects or
 * sends "authenticate", its user and conversation rooms, the REST caller's
 * bearer token, and what leaving the server does to its calls.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include <mbedtls/md.h>
#include <re.h>
#include "port.h"
#include "jwt.h"
#include "sio.h"
#include "validate.h"
#include "bus.h"
#include "upstream.h"
#include "calls_impl.h"

/* Verifies a token into *who (its user, role, conversations) and the
 * user's name; with --dev-auth a token that is not a valid JWT names a
 * guest (the token itself when it looks like an id), and who->guest says
 * so. A token refused: an errno value, and why in *f. */
static int authenticate(struct gateway *gw, const char *token,
			struct http_caller *who, char *name, struct fault *f)
{
	struct jwt_claims *claims = NULL;
	char *user_id = who->user;
	int err = EACCES;

	memset(who, 0, sizeof(*who));
	if (gw->jwt_secret)
		err = jwt_verify(
			&claims, token, gw->jwt_secret, gw->cfg.jwt_secret_len,
			(int64_t)(port_wallclock_ms() / 1000), JWT_SKEW_S);
	if (!err) {
		str_ncpy(user_id, claims->sub, sizeof(who->user));
		str_ncpy(name, claims->name[0] ? claims->name : claims->sub,
			 NAME_MAX_LEN + 1);
		str_ncpy(who->role, claims->role, sizeof(who->role));
		who->conversations =
			claims->conversations
				? cJSON_Duplicate(claims->conversations, 1)
				: NULL;
		mem_deref(claims);
		return 0;
	}
	if (gw->cfg.dev_auth && token[0]) {
		who->guest = true;
		if (validate_is_id(token) && strlen(token) <= 64) {
			str_ncpy(user_id, token, STORE_ID_MAX + 1);
		} else {
			uint8_t h[32];
			const mbedtls_md_info_t *md =
				mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
			mbedtls_md(md, (const unsigned char *)token,
				   strlen(token), h);
			(void)re_snprintf(user_id, STORE_ID_MAX + 1, "guest-%w",
					  h, (size_t)8);
		}
		str_ncpy(name, user_id, NAME_MAX_LEN + 1);
		return 0;
	}
	fault_set(f, FAULT_UNAUTHENTICATED, "%s",
		  gw->jwt_secret
			  ? jwt_strerror(err)
			  : "no JWT secret is configured on this server");
	gw->m.auth_failures++;
	return err ? err : EACCES;
}

/* A user's signed-in sockets on this gateway (--max-sockets-per-user):
 * each of its clients holds a reference, so the references are the count
 * and the last client out frees it (client_destructor). */
struct user_socks {
	struct le le; /* in gw->user_sockets */
	char user[STORE_ID_MAX + 1];
};

static void user_socks_destructor(void *arg)
{
	struct user_socks *u = arg;
	hash_unlink(&u->le);
}

static bool user_cmp(struct le *le, void *arg)
{
	const struct user_socks *u = le->data;
	return !strcmp(u->user, arg);
}

/* The user's tally here, or NULL (no socket of it signed in). */
static struct user_socks *socks_find(struct gateway *gw, const char *user)
{
	struct le *le = hash_lookup(gw->user_sockets, hash_joaat_str(user),
				    user_cmp, (void *)user);
	return le ? le->data : NULL;
}

/* Whether one more socket of the user may sign in here; why not in *f. */
static bool socks_room(struct gateway *gw, const struct client *cl,
		       const char *user, struct fault *f)
{
	const struct user_socks *u;
	if (!gw->cfg.max_sockets_per_user || (cl && cl->socks))
		return true; /* no limit, or counted already */
	u = socks_find(gw, user);
	if (!u || mem_nrefs(u) < gw->cfg.max_sockets_per_user)
		return true;
	gw->m.refused_per_user++;
	fault_set(f, FAULT_RATE_LIMITED,
		  "user '%s' already has %u sockets signed in here"
		  " (--max-sockets-per-user): close one",
		  user, (unsigned)mem_nrefs(u));
	return false;
}

/* Counts the client's socket in its user's tally (once). */
static void socks_take(struct client *cl)
{
	struct gateway *gw = cl->gw;
	struct user_socks *u;
	if (cl->socks)
		return;
	u = mem_ref(socks_find(gw, cl->user_id));
	if (!u) {
		u = mem_zalloc(sizeof(*u), user_socks_destructor);
		if (!u)
			return; /* uncounted: the limit errs on the open side */
		str_ncpy(u->user, cl->user_id, sizeof(u->user));
		hash_append(gw->user_sockets, hash_joaat_str(u->user), &u->le,
			    u);
	}
	cl->socks = u;
}

/* Marks the client signed in and puts it in its user and conversation
 * rooms, where call:incoming finds it. */
static void client_signin(struct client *cl, const char *user_id,
			  const char *name, cJSON *conversations)
{
	char room[STORE_ID_MAX + 16];
	const cJSON *it;

	if (cl->authed) {
		(void)re_snprintf(room, sizeof(room), "user:%s", cl->user_id);
		client_leave(cl, room);
		cJSON_ArrayForEach(it, cl->conversations)
		{
			if (!cJSON_IsString(it))
				continue;
			(void)re_snprintf(room, sizeof(room), "conversation:%s",
					  it->valuestring);
			client_leave(cl, room);
		}
	}
	cJSON_Delete(cl->conversations);
	cl->conversations = conversations;
	str_ncpy(cl->user_id, user_id, sizeof(cl->user_id));
	str_ncpy(cl->name, name, sizeof(cl->name));
	cl->authed = true;
	socks_take(cl);
	(void)re_snprintf(room, sizeof(room), "user:%s", user_id);
	client_join(cl, room);
	cJSON_ArrayForEach(it, conversations)
	{
		if (!cJSON_IsString(it) || !validate_is_id(it->valuestring))
			continue;
		(void)re_snprintf(room, sizeof(room), "conversation:%s",
				  it->valuestring);
		client_join(cl, room);
	}
}

/* With --dev-auth the auth object may list conversations to listen to. */
static cJSON *dev_conversations(struct gateway *gw, const cJSON *auth)
{
	const cJSON *v =
		cJSON_GetObjectItemCaseSensitive(auth, "conversations");
	return gw->cfg.dev_auth && cJSON_IsArray(v) ? cJSON_Duplicate(v, 1)
						    : NULL;
}

/* The token a connection carries: the seed's auth.token, or Meeshy's
 * auth.authToken (its tokenType "jwt", or none); *meeshy says which. */
static const cJSON *connect_token(const cJSON *auth, bool *meeshy)
{
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(auth, "token");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(auth, "tokenType");
	*meeshy = false;
	if (tok)
		return tok;
	tok = cJSON_GetObjectItemCaseSensitive(auth, "authToken");
	if (!tok || (cJSON_IsString(type) && strcmp(type->valuestring, "jwt")))
		return NULL;
	*meeshy = true;
	return tok;
}

/* The language "authenticated" reports: auth.language when it is a tag,
 * else English (Meeshy's default systemLanguage). */
static void language_from(char *lang, size_t size, const cJSON *auth)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(auth, "language");
	str_ncpy(lang,
		 cJSON_IsString(v) && validate_is_language(v->valuestring)
			 ? v->valuestring
			 : "en",
		 size);
}

static struct client *client_new(struct gateway *gw, struct sio_socket *sock,
				 const cJSON *auth)
{
	struct client *cl = mem_zalloc(sizeof(*cl), client_destructor);
	if (!cl)
		return NULL;
	cl->gw = gw;
	cl->sock = sock;
	cl->tokens = 2.0 * gw->cfg.events_per_sec;
	cl->refill_us = port_now_us();
	language_from(cl->language, sizeof(cl->language), auth);
	return cl;
}

/* Meeshy's anonymous participant (auth.sessionToken, sessionType
 * "anonymous" or none): its session in Meeshy's database, still active,
 * its share link active and not expired. It is signed in as its
 * participant id, in the one conversation of its link; else told why. */
static void anonymous_signin(struct client *cl, const cJSON *auth)
{
	const cJSON *tok =
		cJSON_GetObjectItemCaseSensitive(auth, "sessionToken");
	const cJSON *type =
		cJSON_GetObjectItemCaseSensitive(auth, "sessionType");
	struct anonymous_session a;
	const char *why = NULL;
	cJSON *convs;
	int err;

	if (!cJSON_IsString(tok) || strlen(tok->valuestring) > 512 ||
	    (cJSON_IsString(type) && strcmp(type->valuestring, "anonymous")))
		why = "auth.sessionToken: not an anonymous session token";
	else if ((err = store_anonymous_get(cl->gw->store, tok->valuestring,
					    &a)))
		why = err == ENOENT ? "auth.sessionToken: no such anonymous"
				      " session (on MongoDB, Meeshy's"
				      " AnonymousParticipant)"
				    : "auth.sessionToken: the store is not"
				      " answering";
	else if (!a.isActive || !a.linkActive ||
		 (a.linkExpires && a.linkExpires < port_wallclock_ms()))
		why = "auth.sessionToken: this session, or its share link,"
		      " is no longer active";
	if (why) {
		(void)str_dup(&cl->greet_error, why);
		cl->greet = GREET_REFUSED;
		return;
	}
	convs = cJSON_CreateArray();
	cJSON_AddItemToArray(convs, cJSON_CreateString(a.conversationId));
	str_ncpy(cl->language, a.language, sizeof(cl->language));
	client_signin(cl, a.id, a.username[0] ? a.username : a.id, convs);
	cl->anonymous = true;
	cl->greet = GREET_SIGNED_IN;
}

/* Front mode: the client's own link to Meeshy's gateway, with its auth
 * (a link that cannot open leaves the calls working). */
static void upstream_open(struct client *cl, const cJSON *auth)
{
	struct gateway *gw = cl->gw;
	int err;
	if (!gw->upstream)
		return;
	err = upstream_link_alloc(&cl->up, gw->upstream, cl->sock, auth);
	if (err)
		port_log(PORT_LOG_WARN, "upstream: no link for socket %s: %m",
			 sio_socket_id(cl->sock), err);
}

/* A connection: signed in by its token (a bad one refuses it), or not yet
 * (then only "authenticate" is taken). Meeshy's client is never refused:
 * it is told why in "authenticated" {success:false}, as Meeshy's gateway
 * does, and may send "authenticate" still. */
int calls_connect(struct gateway *gw, struct sio_socket *sock,
		  const cJSON *auth, struct fault *f)
{
	char name[NAME_MAX_LEN + 1];
	struct http_caller who;
	const char *user_id = who.user;
	bool meeshy;
	const cJSON *tok = connect_token(auth, &meeshy);
	struct client *cl;
	cJSON *convs = NULL;
	int err = 0;

	if (tok && !cJSON_IsString(tok)) {
		fault_set(f, FAULT_VALIDATION, "auth.%s is not a string",
			  meeshy ? "authToken" : "token");
		return EINVAL;
	}
	if (tok) {
		err = authenticate(gw, tok->valuestring, &who, name, f);
		convs = who.conversations;
		if (!err && !socks_room(gw, NULL, who.user, f)) {
			cJSON_Delete(convs);
			convs = NULL;
			err = EMFILE;
		}
		if (err && !meeshy)
			return err;
		if (!err && !convs)
			convs = dev_conversations(gw, auth);
	}
	cl = client_new(gw, sock, auth);
	if (!cl || (err && str_dup(&cl->greet_error, f->message))) {
		mem_deref(cl);
		cJSON_Delete(convs);
		return fault_set(f, FAULT_INTERNAL, "out of memory"), ENOMEM;
	}
	sio_socket_set_user(sock, cl);
	upstream_open(cl, auth);
	cl->meeshy = meeshy ||
		     cJSON_GetObjectItemCaseSensitive(auth, "sessionToken");
	if (tok && !err) {
		client_signin(cl, user_id, name, convs);
		cl->greet = GREET_SIGNED_IN;
	} else if (tok) {
		cl->greet = GREET_REFUSED;
	} else if (cJSON_GetObjectItemCaseSensitive(auth, "sessionToken")) {
		anonymous_signin(cl, auth);
	}
	return 0;
}

/* "authenticated": {success:true, user:{id, language, isAnonymous}} as
 * Meeshy's client waits for (it disconnects after 5 s without), with the
 * seed's userId and name beside; or {success:false, error}. */
static cJSON *authenticated_json(const struct client *cl, const char *error)
{
	cJSON *o = cJSON_CreateObject(), *u;
	cJSON_AddBoolToObject(o, "success", error == NULL);
	if (error) {
		cJSON_AddStringToObject(o, "error", error);
		return o;
	}
	cJSON_AddStringToObject(o, "userId", cl->user_id);
	cJSON_AddStringToObject(o, "name", cl->name);
	u = cJSON_AddObjectToObject(o, "user");
	cJSON_AddStringToObject(u, "id", cl->user_id);
	cJSON_AddStringToObject(u, "language", cl->language);
	cJSON_AddBoolToObject(u, "isAnonymous", cl->anonymous);
	return o;
}

void calls_connected(struct gateway *gw, struct sio_socket *sock)
{
	struct client *cl = sio_socket_user(sock);
	cJSON *o;
	if (!cl || cl->greet == GREET_NONE)
		return;
	o = authenticated_json(cl, cl->greet == GREET_REFUSED ? cl->greet_error
							      : NULL);
	client_emit(cl, "authenticated", o);
	cJSON_Delete(o);
	cl->greet = GREET_NONE;
	cl->greet_error = mem_deref(cl->greet_error);
}

void calls_disconnect(struct gateway *gw, struct sio_socket *sock,
		      const char *reason)
{
	struct client *cl = sio_socket_user(sock);
	uint64_t now = port_wallclock_ms();
	struct le *le;

	if (!cl)
		return;
	sio_socket_set_user(sock, NULL);
	/* A participant whose socket is gone has left its calls. */
	while ((le = list_head(&cl->parts))) {
		struct live_part *p = le->data;

		part_leave(p, now);
		after_leave(p->call, p, "disconnected");
	}
	port_log(PORT_LOG_DEBUG, "socket %s (%s) gone: %s", sio_socket_id(sock),
		 cl->user_id, reason);
	if (cl->owner[0]) /* its call's gateway lets it go */
		(void)bus_to_node(gw->bus, cl->owner, "disconnect",
				  sio_socket_id(sock), cJSON_CreateObject());
	cl->sock = NULL;
	cl->gone = true; /* answers still due from media nodes are dropped */
	/* its upstream link points at the socket: it goes now, whoever
	 * still holds the client */
	cl->up = mem_deref(cl->up);
	mem_deref(cl);
}

void on_authenticate(struct ev *e)
{
	struct client *cl = e->cl;
	char name[NAME_MAX_LEN + 1];
	struct http_caller who;
	const char *user_id = who.user;
	const char *token;
	struct fault f;
	cJSON *convs, *o;

	if (!want_text(e, "token", JWT_MAX, &token))
		return;
	if (authenticate(cl->gw, token, &who, name, &f)) {
		ack_fault(cl, e->ack, e->name, &f);
		return;
	}
	convs = who.conversations;
	if (!socks_room(cl->gw, cl, user_id, &f)) {
		cJSON_Delete(convs);
		ack_fault(cl, e->ack, e->name, &f);
		return;
	}
	if (cl->authed && strcmp(cl->user_id, user_id)) {
		/* its rooms, calls and answers in flight are the first
		 * user's: a socket never changes hands */
		cJSON_Delete(convs);
		ack_error(cl, e->ack, e->name, FAULT_FORBIDDEN,
			  "this socket is signed in as '%s': connect again to"
			  " sign in as '%s'",
			  cl->user_id, user_id);
		return;
	}
	if (!convs)
		convs = dev_conversations(cl->gw, e->data);
	client_signin(cl, user_id, name, convs);
	o = authenticated_json(cl, NULL);
	client_emit(cl, "authenticated", o);
	cJSON_Delete(o);
	o = ok_body();
	cJSON_AddStringToObject(o, "userId", user_id);
	ack_send(cl, e->ack, o);
}

int calls_http_auth(struct gateway *gw, const struct http_msg *msg,
		    struct http_caller *who, struct fault *f)
{
	const struct http_hdr *h = http_msg_hdr(msg, HTTP_HDR_AUTHORIZATION);
	char token[JWT_MAX + 1], name[NAME_MAX_LEN + 1];

	if (!h || h->val.l < 8 || h->val.l - 7 > JWT_MAX ||
	    strncasecmp(h->val.p, "Bearer ", 7)) {
		fault_set(f, FAULT_UNAUTHENTICATED,
			  "send Authorization: Bearer <token>");
		return EACCES;
	}
	(void)re_snprintf(token, sizeof(token), "%b", h->val.p + 7,
			  h->val.l - 7);
	return authenticate(gw, token, who, name, f);
}
