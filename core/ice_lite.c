/*
 * ice_lite.c - STUN binding requests answered ICE-lite style, on libre's
 * STUN codec.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "ice_lite.h"

int ice_lite_credentials(char ufrag[ICE_UFRAG_LEN + 1],
			 char pwd[ICE_PWD_LEN + 1])
{
	static const char ice_char[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[ICE_UFRAG_LEN + ICE_PWD_LEN];
	int err;

	if (!ufrag || !pwd)
		return EINVAL;
	err = port_random(r, sizeof(r));
	if (err)
		return err;
	/* 64 characters: the low 6 bits of each random byte pick one
	 * without bias */
	for (size_t i = 0; i < ICE_UFRAG_LEN; i++)
		ufrag[i] = ice_char[r[i] & 63];
	for (size_t i = 0; i < ICE_PWD_LEN; i++)
		pwd[i] = ice_char[r[ICE_UFRAG_LEN + i] & 63];
	ufrag[ICE_UFRAG_LEN] = '\0';
	pwd[ICE_PWD_LEN] = '\0';
	return 0;
}

static void request_destructor(void *arg)
{
	struct ice_lite_request *req = arg;
	mem_deref(req->msg);
	mem_deref(req->mb);
}

int ice_lite_parse(struct ice_lite_request **reqp, const uint8_t *buf,
		   size_t len)
{
	struct ice_lite_request *req;
	const struct stun_attr *user, *prio;
	const char *colon;
	int err = 0;

	if (!reqp || !buf || len < 20)
		return EBADMSG;
	req = mem_zalloc(sizeof(*req), request_destructor);
	if (!req)
		return ENOMEM;
	req->mb = mbuf_alloc(len);
	if (!req->mb) {
		mem_deref(req);
		return ENOMEM;
	}
	(void)mbuf_write_mem(req->mb, buf, len);
	req->mb->pos = 0;
	if (stun_msg_decode(&req->msg, req->mb, NULL) ||
	    stun_msg_method(req->msg) != STUN_METHOD_BINDING ||
	    stun_msg_class(req->msg) != STUN_CLASS_REQUEST ||
	    !stun_msg_mcookie(req->msg) ||
	    !stun_msg_attr(req->msg, STUN_ATTR_MSG_INTEGRITY) ||
	    stun_msg_chk_fingerprint(req->msg)) {
		err = EBADMSG;
		goto out;
	}
	user = stun_msg_attr(req->msg, STUN_ATTR_USERNAME);
	colon = user ? strchr(user->v.username, ':') : NULL;
	if (!colon || colon == user->v.username ||
	    (size_t)(colon - user->v.username) > ICE_UFRAG_MAX ||
	    strlen(colon + 1) > ICE_UFRAG_MAX) {
		err = EBADMSG;
		goto out;
	}
	memcpy(req->local_ufrag, user->v.username,
	       (size_t)(colon - user->v.username));
	str_ncpy(req->remote_ufrag, colon + 1, sizeof(req->remote_ufrag));
	req->use_candidate =
		stun_msg_attr(req->msg, STUN_ATTR_USE_CAND) != NULL;
	prio = stun_msg_attr(req->msg, STUN_ATTR_PRIORITY);
	req->priority = prio ? prio->v.priority : 0;
out:
	if (err)
		mem_deref(req);
	else
		*reqp = req;
	return err;
}

int ice_lite_respond(const struct ice_lite_request *req, const char *local_pwd,
		     const struct sa *src, struct mbuf *mb)
{
	const uint8_t *key = (const uint8_t *)local_pwd;
	size_t keylen;

	if (!req || !local_pwd || !src || !mb)
		return EINVAL;
	keylen = strlen(local_pwd);
	if (stun_msg_chk_mi(req->msg, key, keylen)) {
		struct stun_errcode ec = {401, "Unauthorized"};
		(void)stun_msg_encode(
			mb, STUN_METHOD_BINDING, STUN_CLASS_ERROR_RESP,
			stun_msg_tid(req->msg), &ec, NULL, 0, true, 0x20, 0);
		return EACCES;
	}
	return stun_msg_encode(mb, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS_RESP,
			       stun_msg_tid(req->msg), NULL, key, keylen, true,
			       0x20, 1, STUN_ATTR_XOR_MAPPED_ADDR, src);
}
