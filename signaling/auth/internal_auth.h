/*
 * internal_auth.h - the credential on requests between the processes of a
 * cluster (gateway -> media node internal API).
 *
 * Every request carries a header
 *   X-Meeshy-Auth: t=<unix ms>,n=<32 hex nonce>,s=<64 hex HMAC-SHA256>
 * whose signature covers "<t>\n<n>\n<METHOD> <path>\n<body>" under a secret
 * all the cluster's processes share (MEESHY_INTERNAL_SECRET or a file; never
 * a flag, never logged). A receiver takes a request only when the signature
 * verifies (compared in constant time), t is within INTERNAL_AUTH_WINDOW_MS
 * of its own clock, and it has not seen the nonce within that window: a
 * captured request can neither be altered nor replayed.
 */
#ifndef MEESHY_INTERNAL_AUTH_H
#define MEESHY_INTERNAL_AUTH_H

#include <stddef.h>
#include <stdint.h>

enum {
	INTERNAL_AUTH_WINDOW_MS = 30000,
	INTERNAL_AUTH_HDR_MAX = 128, /* the header's value, with its NUL */
};
#define INTERNAL_AUTH_HEADER "X-Meeshy-Auth"

struct internal_auth;

/* Keeps a copy of the secret (at least 16 bytes: EINVAL otherwise). */
int internal_auth_alloc(struct internal_auth **iap, const uint8_t *secret,
			size_t len);
/* The header value for a request, into hdr (INTERNAL_AUTH_HDR_MAX). */
int internal_auth_sign(const struct internal_auth *ia, const char *method,
		       const char *path, const void *body, size_t body_len,
		       uint64_t now_ms, char *hdr);
/* 0 when the request may pass; else EACCES (missing, malformed or wrong
 * signature), ETIMEDOUT (t outside the window) or EALREADY (a replay). A
 * request that passes has its nonce remembered. */
int internal_auth_check(struct internal_auth *ia, const char *hdr,
			size_t hdr_len, const char *method, const char *path,
			const void *body, size_t body_len, uint64_t now_ms);
const char *internal_auth_strerror(int err);

#endif
