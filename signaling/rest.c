/*
 * rest.c - the REST API under /api/: calls, their participants and
 * transcriptions, a conversation's calls, quality metrics, the region and
 * TURN credentials. Each route checks who asks (a Bearer token) and what
 * they may see: the participants of a call, the members of its
 * conversation.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "cluster_keys.h"
#include "httpd.h"
#include "gateway_impl.h"
#include "fault.h"
#include "http_json.h"
#include "cache.h"
#include "turn.h"
#include "validate.h"

/* REST */

static int add_part(const struct call_participant *p, void *arg)
{
	cJSON_AddItemToArray(arg, store_participant_json(p));
	return 0;
}

static int add_call(const struct call_session *c, void *arg)
{
	cJSON_AddItemToArray(arg, store_call_json(c));
	return 0;
}

static int add_trans(const struct call_transcription *t, void *arg)
{
	cJSON_AddItemToArray(arg, store_transcription_json(t));
	return 0;
}

static bool id_ok(const struct pl *id)
{
	char buf[VALIDATE_ID_MAX + 1];
	if (!id->l || id->l > VALIDATE_ID_MAX)
		return false;
	pl_strcpy(id, buf, sizeof(buf));
	return validate_is_id(buf);
}

/* Who may read and write a call's records: the participants of the call
 * (invited ones included), and the members of its conversation as the
 * caller's token lists them. A token that lists no conversation proves no
 * membership here: such a caller sees the calls it takes part in. */

static bool lists_conversation(const struct http_caller *rc, const char *conv)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, rc->conversations)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, conv))
			return true;
	}
	return false;
}

struct part_lookup {
	const char *user;
	char id[STORE_ID_MAX + 1]; /* the user's participant id, "" if none */
};

static int find_part(const struct call_participant *p, void *arg)
{
	struct part_lookup *f = arg;
	if (!f->id[0] && !strcmp(p->userId, f->user))
		str_ncpy(f->id, p->id, sizeof(f->id));
	return 0;
}

/* The user's participant id in the call ("" if none): live or stored. */
static void participation(struct gateway *gw, const char *call_id,
			  const char *user, char *id, size_t size)
{
	struct part_lookup f = {user, ""};
	id[0] = '\0';
	if (calls_live_participant(gw, call_id, user, id, size))
		return;
	(void)store_participants(gw->store, call_id, find_part, &f);
	str_ncpy(id, f.id, size);
}

/* 0 when the caller may see the call (its record in *c), or ENOENT, EACCES,
 * or another errno value when the store did not answer. */
static int call_access(struct gateway *gw, const struct http_caller *rc,
		       const char *id, struct call_session *c)
{
	char part[STORE_ID_MAX + 1];
	int err = calls_live_get(gw, id, c);

	if (err)
		err = store_call_get(gw->store, id, c);
	if (err)
		return err;
	if (lists_conversation(rc, c->conversationId))
		return 0;
	participation(gw, id, rc->user, part, sizeof(part));
	return part[0] ? 0 : EACCES;
}

struct conv_scan {
	struct gateway *gw;
	const char *user;
	bool found;
};

static int call_has_user(const struct call_session *c, void *arg)
{
	struct conv_scan *k = arg;
	char part[STORE_ID_MAX + 1];
	if (!k->found) {
		participation(k->gw, c->id, k->user, part, sizeof(part));
		k->found = part[0] != '\0';
	}
	return 0;
}

/* Whether the caller may see the conversation's calls: listed by its
 * token, or it took part in one of the conversation's last 100 calls.
 * With --dev-auth a guest may (the demo page finds the call to join so;
 * a guest can name itself anyone anyway). */
static bool conversation_access(struct gateway *gw,
				const struct http_caller *rc, const char *conv)
{
	struct conv_scan k = {gw, rc->user, false};
	if (rc->guest || lists_conversation(rc, conv) ||
	    calls_live_in_conversation(gw, conv, rc->user))
		return true;
	(void)store_calls_by_conversation(gw->store, conv, NULL, 100,
					  call_has_user, &k);
	return k.found;
}

/* Answers a refused access: 404, 403 or 503; false when access is given. */
static bool refused(struct httpd_conn *conn, int err)
{
	if (err == ENOENT)
		http_error_reply(conn, FAULT_NOT_FOUND, "no call with this id");
	else if (err == EACCES)
		http_error_reply(conn, FAULT_FORBIDDEN,
				 "you take no part in this call or its"
				 " conversation");
	else if (err)
		http_error_reply(conn, FAULT_INTERNAL,
				 "the store is not answering");
	return err != 0;
}

static void serve_call_stored(struct gateway *gw, struct httpd_conn *conn,
			      const char *id)
{
	struct call_session c;
	cJSON *o, *parts;
	int err = store_call_get(gw->store, id, &c);

	if (err == ENOENT) {
		http_error_reply(conn, FAULT_NOT_FOUND, "no call with this id");
		return;
	}
	if (err) {
		http_error_reply(conn, FAULT_INTERNAL,
				 "the store is not answering");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddItemToObject(o, "call", store_call_json(&c));
	parts = cJSON_AddArrayToObject(o, "participants");
	(void)store_participants(gw->store, id, add_part, parts);
	http_json_reply(conn, 200, "OK", o);
	cJSON_Delete(o);
}

/* GET /api/calls/:id of a live call is answered from the call state
 * cache (call:<id>:state in Redis, kept by calls.c), or without Redis from
 * the live call itself; a miss reads the store. */
struct call_read {
	struct gateway *gw;
	struct httpd_conn *conn; /* held */
	char id[STORE_ID_MAX + 1];
};

static void call_read_destructor(void *arg)
{
	struct call_read *r = arg;
	mem_deref(r->conn);
}

static void on_call_state(int err, const char *val, size_t len, void *arg)
{
	struct call_read *r = arg;
	if (err == ECANCELED)
		;
	else if (!err)
		http_body_reply(r->conn, 200, "OK", "application/json", val,
				len);
	else
		serve_call_stored(r->gw, r->conn, r->id);
	mem_deref(r);
}

static void serve_call(struct gateway *gw, struct httpd_conn *conn,
		       const struct http_caller *rc, const char *id)
{
	struct call_read *r;
	struct call_session c;
	char key[STORE_ID_MAX + 16];

	if (refused(conn, call_access(gw, rc, id, &c)))
		return;
	if (!gw->cache_shared) {
		cJSON *o = calls_state_json(gw, id);
		if (o) {
			http_json_reply(conn, 200, "OK", o);
			cJSON_Delete(o);
			return;
		}
		serve_call_stored(gw, conn, id);
		return;
	}
	r = mem_zalloc(sizeof(*r), call_read_destructor);
	if (r) {
		r->gw = gw;
		r->conn = mem_ref(conn);
		str_ncpy(r->id, id, sizeof(r->id));
		(void)re_snprintf(key, sizeof(key), KEY_CALL_STATE, id);
		if (!cache_get(gw->cache, key, on_call_state, r))
			return;
		mem_deref(r);
	}
	serve_call_stored(gw, conn, id);
}

/* {ok: true, <name>: []}, with the array to fill. */
static cJSON *listing(const char *name, cJSON **list)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	*list = cJSON_AddArrayToObject(o, name);
	return o;
}

/* Sends a listing the store filled, or 503 when the store did not answer;
 * releases it either way. */
static void reply_listing(struct httpd_conn *conn, cJSON *o, int store_err)
{
	if (store_err)
		http_error_reply(conn, FAULT_INTERNAL,
				 "the store is not answering");
	else
		http_json_reply(conn, 200, "OK", o);
	cJSON_Delete(o);
}

static void serve_conversation_calls(struct gateway *gw,
				     struct httpd_conn *conn,
				     const struct http_caller *rc,
				     const char *conv,
				     const struct http_msg *msg)
{
	static const char *const statuses[] = {"initiated", "active", "ended",
					       "failed"};
	const char *status = NULL;
	struct pl v;
	cJSON *o, *calls;

	if (!re_regex(msg->prm.p, msg->prm.l, "status=[a-z]+", &v)) {
		for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
			if (!pl_strcmp(&v, statuses[i]))
				status = statuses[i];
		if (!status) {
			char m[96];
			(void)re_snprintf(m, sizeof(m),
					  "status: '%r' is not initiated,"
					  " active, ended or failed",
					  &v);
			http_error_reply(conn, FAULT_VALIDATION, "%s", m);
			return;
		}
	}
	if (!conversation_access(gw, rc, conv)) {
		http_error_reply(conn, FAULT_FORBIDDEN,
				 "you are not a member of this conversation");
		return;
	}
	o = listing("calls", &calls);
	reply_listing(conn, o,
		      store_calls_by_conversation(gw->store, conv, status, 100,
						  add_call, calls));
}

static void serve_transcriptions(struct gateway *gw, struct httpd_conn *conn,
				 const struct http_caller *rc, const char *id)
{
	struct call_session c;
	cJSON *list, *o;

	if (refused(conn, call_access(gw, rc, id, &c)))
		return;
	o = listing("transcriptions", &list);
	reply_listing(conn, o,
		      store_transcriptions(gw->store, id, add_trans, list));
}

/* Reads a JSON number field into *out; false names the bad field. */
static bool num_field(const cJSON *o, const char *name, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v)
		return true; /* absent: stays 0 */
	if (!cJSON_IsNumber(v) || v->valuedouble < 0)
		return false;
	*out = v->valuedouble;
	return true;
}

/* A quality metric's body: each field a number >= 0, and participantId
 * (when given) the caller's own (its user id or participation id). On
 * success q is filled; else the 400 or 403 went out. */
static bool quality_read(struct httpd_conn *conn, const cJSON *body,
			 const char *own, const char *user_id,
			 struct quality_metric *q)
{
	static const char *const fields[] = {
		"packetsLost", "packetsReceived", "packetLossRate",
		"jitter",      "bytesReceived",   "framesDecoded",
		"frameWidth",  "frameHeight"};
	double v[ARRAY_SIZE(fields)] = {0};
	const cJSON *pid =
		cJSON_GetObjectItemCaseSensitive(body, "participantId");
	char m[128];

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (num_field(body, fields[i], &v[i]))
			continue;
		(void)re_snprintf(m, sizeof(m), "%s: must be a number >= 0",
				  fields[i]);
		http_error_reply(conn, FAULT_VALIDATION, "%s", m);
		return false;
	}
	if (pid &&
	    !(cJSON_IsString(pid) && (!strcmp(pid->valuestring, own) ||
				      !strcmp(pid->valuestring, user_id)))) {
		http_error_reply(conn, FAULT_FORBIDDEN,
				 "participantId: not your participation in"
				 " this call (yours is your user id or the"
				 " participant id of your join)");
		return false;
	}
	str_ncpy(q->participantId, pid ? pid->valuestring : user_id,
		 sizeof(q->participantId));
	q->packetsLost = (int64_t)v[0];
	q->packetsReceived = (int64_t)v[1];
	q->packetLossRate = v[2];
	q->jitter = v[3];
	q->bytesReceived = (int64_t)v[4];
	q->framesDecoded = (int64_t)v[5];
	q->frameWidth = (int32_t)v[6];
	q->frameHeight = (int32_t)v[7];
	return true;
}

static void serve_quality(struct gateway *gw, struct httpd_conn *conn,
			  const char *id, const struct http_msg *msg,
			  const char *user_id)
{
	char own[STORE_ID_MAX + 1];
	struct quality_metric q;
	struct call_session c;
	cJSON *body, *o;
	bool ok;

	if (calls_live_get(gw, id, &c) && store_call_get(gw->store, id, &c)) {
		http_error_reply(conn, FAULT_NOT_FOUND, "no call with this id");
		return;
	}
	/* only the caller's own participation is measured */
	participation(gw, id, user_id, own, sizeof(own));
	if (!own[0]) {
		http_error_reply(conn, FAULT_FORBIDDEN,
				 "you take no part in this call");
		return;
	}
	body = cJSON_ParseWithLength((const char *)mbuf_buf(msg->mb),
				     mbuf_get_left(msg->mb));
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		http_error_reply(conn, FAULT_VALIDATION,
				 "the body is not a JSON object");
		return;
	}
	memset(&q, 0, sizeof(q));
	ok = quality_read(conn, body, own, user_id, &q);
	cJSON_Delete(body);
	if (!ok)
		return;
	str_ncpy(q.callSessionId, id, sizeof(q.callSessionId));
	q.at = port_wallclock_ms();
	if (store_quality_put(gw->store, &q)) {
		http_error_reply(conn, FAULT_INTERNAL,
				 "the store refused the metric");
		return;
	}
	store_land_before_answer(gw->store);
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	http_json_reply(conn, 201, "Created", o);
	cJSON_Delete(o);
}

/* The client's continent, from the country a CDN in front names
 * (CF-IPCountry, as the seed's frontend expects), or NULL. */
static const char *client_continent(const struct http_msg *msg, char *country,
				    size_t size)
{
	const struct http_hdr *h = http_msg_xhdr(msg, "CF-IPCountry");
	country[0] = '\0';
	if (h)
		pl_strcpy(&h->val, country, size);
	return turn_continent(country);
}

/* GET /api/region: where the client is and its nearest TURN servers. */
static void serve_region(struct gateway *gw, struct httpd_conn *conn,
			 const struct http_msg *msg)
{
	char country[8];
	const char *continent = client_continent(msg, country, sizeof(country));
	cJSON *o = cJSON_CreateObject();

	if (continent)
		cJSON_AddStringToObject(o, "country", country);
	else
		cJSON_AddNullToObject(o, "country");
	cJSON_AddStringToObject(o, "continent",
				continent ? continent : "default");
	cJSON_AddItemToObject(o, "turnServers",
			      turn_uris(&gw->cfg.turn, continent));
	http_json_reply(conn, 200, "OK", o);
	cJSON_Delete(o);
}

/* GET /api/turn-credentials: the TURN REST API's answer for this user. */
static void serve_turn(struct gateway *gw, struct httpd_conn *conn,
		       const struct http_msg *msg, const char *user)
{
	char username[TURN_USERNAME_MAX], credential[TURN_CREDENTIAL_MAX];
	char country[8];
	const char *continent = client_continent(msg, country, sizeof(country));
	const uint64_t now_s = port_wallclock_ms() / 1000;
	cJSON *o;

	if (turn_credentials(&gw->cfg.turn, user, now_s, username,
			     credential)) {
		http_error_reply(conn, FAULT_NOT_FOUND,
				 "TURN is not configured on this server");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "username", username);
	cJSON_AddStringToObject(o, "password", credential);
	cJSON_AddNumberToObject(o, "ttl", gw->cfg.turn.ttl_s);
	cJSON_AddItemToObject(o, "uris", turn_uris(&gw->cfg.turn, continent));
	cJSON_AddItemToObject(
		o, "iceServers",
		turn_ice_servers(&gw->cfg.turn, user, continent, now_s));
	http_json_reply(conn, 200, "OK", o);
	cJSON_Delete(o);
}

/* The API behind authentication, for the caller rc. */
static void serve_api_as(struct gateway *gw, struct httpd_conn *conn,
			 const struct http_msg *msg,
			 const struct http_caller *rc)
{
	struct pl id, rest;
	char idbuf[STORE_ID_MAX + 1];
	bool get = !pl_strcmp(&msg->met, "GET");

	if (get && !pl_strcmp(&msg->path, "/api/turn-credentials")) {
		serve_turn(gw, conn, msg, rc->user);
		return;
	}
	if (!re_regex(msg->path.p, msg->path.l, "/api/calls/[^/]+[^]*", &id,
		      &rest) &&
	    id_ok(&id)) {
		pl_strcpy(&id, idbuf, sizeof(idbuf));
		if (get && !rest.l)
			serve_call(gw, conn, rc, idbuf);
		else if (get && !pl_strcmp(&rest, "/transcriptions"))
			serve_transcriptions(gw, conn, rc, idbuf);
		else if (!pl_strcmp(&msg->met, "POST") &&
			 !pl_strcmp(&rest, "/quality-metrics"))
			serve_quality(gw, conn, idbuf, msg, rc->user);
		else
			http_error_reply(conn, FAULT_NOT_FOUND,
					 "no such resource");
		return;
	}
	if (!re_regex(msg->path.p, msg->path.l,
		      "/api/conversations/[^/]+/members/[^/]+", &id, &rest) &&
	    id_ok(&id) && id_ok(&rest)) {
		char user[STORE_ID_MAX + 1];
		pl_strcpy(&id, idbuf, sizeof(idbuf));
		pl_strcpy(&rest, user, sizeof(user));
		rest_member(gw, conn, msg, rc, idbuf, user);
		return;
	}
	if (get &&
	    !re_regex(msg->path.p, msg->path.l,
		      "/api/conversations/[^/]+/calls", &id) &&
	    id_ok(&id)) {
		pl_strcpy(&id, idbuf, sizeof(idbuf));
		serve_conversation_calls(gw, conn, rc, idbuf, msg);
		return;
	}
	http_error_reply(conn, FAULT_NOT_FOUND, "no such resource");
}

void rest_serve(struct gateway *gw, struct httpd_conn *conn,
		const struct http_msg *msg)
{
	struct http_caller rc;
	bool get = !pl_strcmp(&msg->met, "GET");
	struct fault f;

	/* public: the seed's frontend asks before it has a token */
	if (get && !pl_strcmp(&msg->path, "/api/region")) {
		serve_region(gw, conn, msg);
		return;
	}
	if (calls_http_auth(gw, msg, &rc, &f)) {
		http_fault_reply(conn, &f);
		return;
	}
	serve_api_as(gw, conn, msg, &rc);
	cJSON_Delete(rc.conversations);
}
