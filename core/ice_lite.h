/*
 * ice_lite.h - the ICE-lite side of a media port (RFC 8445 section 2.5).
 *
 * The SFU only answers: browsers send STUN binding requests to its host
 * candidate, each signed with the transport's password and naming it in
 * USERNAME ("<our ufrag>:<their ufrag>"). One UDP port serves every
 * transport of a worker, so the request is first parsed to find the
 * transport by its ufrag, then checked with that transport's password and
 * answered with the address it came from (XOR-MAPPED-ADDRESS).
 */
#ifndef MEESHY_CORE_ICE_LITE_H
#define MEESHY_CORE_ICE_LITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sa;
struct mbuf;

enum { ICE_UFRAG_LEN = 16, ICE_PWD_LEN = 32, ICE_UFRAG_MAX = 256 };

/* Fresh credentials from the ice-char alphabet (RFC 8445 5.3):
 * ufrag of ICE_UFRAG_LEN, pwd of ICE_PWD_LEN characters (+ NUL). */
int ice_lite_credentials(char ufrag[ICE_UFRAG_LEN + 1],
			 char pwd[ICE_PWD_LEN + 1]);

struct ice_lite_request {
	char local_ufrag[ICE_UFRAG_MAX + 1];  /* ours: finds the transport */
	char remote_ufrag[ICE_UFRAG_MAX + 1]; /* the browser's */
	bool use_candidate;                   /* nomination */
	uint32_t priority;
	struct stun_msg *msg; /* owned */
	struct mbuf *mb;      /* what msg points into */
};

/* Parses a STUN binding request for ICE: USERNAME, MESSAGE-INTEGRITY and
 * FINGERPRINT present and the fingerprint right. EBADMSG otherwise.
 * Release with mem_deref(). */
int ice_lite_parse(struct ice_lite_request **reqp, const uint8_t *buf,
		   size_t len);
/* Checks MESSAGE-INTEGRITY with our password and writes the answer to mb:
 * a success response with XOR-MAPPED-ADDRESS = src, or, when the integrity
 * check fails, a 401 error response (and returns EACCES). */
int ice_lite_respond(const struct ice_lite_request *req, const char *local_pwd,
		     const struct sa *src, struct mbuf *mb);

#endif
