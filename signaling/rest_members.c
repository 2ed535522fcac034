/*
 * rest_members.c - who may ring and join a conversation's calls when the
 * token does not list its conversations (Meeshy's tokens never do):
 *   PUT    /api/conversations/:id/members/:userId {role?}  -> {ok, member}
 *   DELETE /api/conversations/:id/members/:userId          -> {ok, member}
 * Kept in the store's ConversationMember (Meeshy's model and field names)
 * on SQLite; on MongoDB Meeshy writes its own collection and these answer
 * CONFLICT. Only Meeshy's administrators (role ADMIN or BIGBOSS) may.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "httpd.h"
#include "http_json.h"
#include "fault.h"
#include "validate.h"
#include "gateway_impl.h"

/* The role a PUT asks for: admin, moderator or member (the default). */
static bool role_of(struct httpd_conn *conn, const struct http_msg *msg,
		    char *role, size_t size)
{
	static const char *const roles[] = {"admin", "moderator", "member",
					    NULL};
	char why[160];
	const char *v = "member";
	cJSON *body = NULL;
	bool ok = true;

	if (mbuf_get_left(msg->mb)) {
		body = cJSON_ParseWithLength((const char *)mbuf_buf(msg->mb),
					     mbuf_get_left(msg->mb));
		ok = cJSON_IsObject(body) &&
		     !validate_enum(body, "role", roles, "member", &v, why,
				    sizeof(why));
		if (!ok)
			http_error_reply(
				conn, FAULT_VALIDATION, "%s",
				cJSON_IsObject(body)
					? why
					: "the body is not a JSON object");
	}
	if (ok)
		str_ncpy(role, v, size);
	cJSON_Delete(body);
	return ok;
}

static void member_stored(struct gateway *gw, struct httpd_conn *conn,
			  const struct conversation_member *m, int err)
{
	cJSON *o;
	if (err == ENOTSUP) {
		http_error_reply(conn, FAULT_CONFLICT,
				 "this server reads Meeshy's own"
				 " ConversationMember collection (MongoDB):"
				 " change memberships in Meeshy");
		return;
	}
	if (err) {
		http_error_reply(conn,
				 err == ENOSPC ? FAULT_RATE_LIMITED
					       : FAULT_INTERNAL,
				 "the store refused the membership: %m", err);
		return;
	}
	store_land_before_answer(gw->store);
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddItemToObject(o, "member", store_member_json(m));
	http_json_reply(conn, 200, "OK", o);
	cJSON_Delete(o);
}

void rest_member(struct gateway *gw, struct httpd_conn *conn,
		 const struct http_msg *msg, const struct http_caller *who,
		 const char *conv, const char *user)
{
	const bool put = !pl_strcmp(&msg->met, "PUT");
	struct conversation_member m;
	int err;

	if (!put && pl_strcmp(&msg->met, "DELETE")) {
		http_error_reply(conn, FAULT_VALIDATION,
				 "a membership is PUT or DELETEd, not %r",
				 &msg->met);
		return;
	}
	if (strcmp(who->role, "ADMIN") && strcmp(who->role, "BIGBOSS")) {
		http_error_reply(conn, FAULT_FORBIDDEN,
				 "memberships are kept by Meeshy's"
				 " administrators (role ADMIN or BIGBOSS);"
				 " your token's role is '%s'",
				 who->role);
		return;
	}
	err = store_member_get(gw->store, conv, user, &m);
	if (err && err != ENOENT) {
		member_stored(gw, conn, &m, err);
		return;
	}
	if (err && !put) {
		http_error_reply(conn, FAULT_NOT_FOUND,
				 "'%s' is not a member of '%s'", user, conv);
		return;
	}
	if (err) {
		memset(&m, 0, sizeof(m));
		str_ncpy(m.conversationId, conv, sizeof(m.conversationId));
		str_ncpy(m.userId, user, sizeof(m.userId));
	}
	if (put && !role_of(conn, msg, m.role, sizeof(m.role)))
		return;
	if (put && (!m.isActive || !m.joinedAt))
		m.joinedAt = port_wallclock_ms();
	m.isActive = put;
	m.leftAt = put ? 0 : port_wallclock_ms();
	member_stored(gw, conn, &m, store_member_put(gw->store, &m));
}
