/*
 * internal_auth.c - HMAC-SHA256 request credentials between a cluster's
 * processes, with a replay window (see internal_auth.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/md.h>
#include <re.h>
#include "port.h"
#include "internal_auth.h"

enum { NONCE_BYTES = 16, SECRET_MIN = 16, SEEN_MAX = 200000 };

/* A nonce seen in a request that passed, kept until its time leaves the
 * window (after that its t alone refuses a replay). */
struct seen {
	struct le he, le;
	char nonce[2 * NONCE_BYTES + 1];
	uint64_t until_ms;
};

struct internal_auth {
	uint8_t *secret;
	size_t secret_len;
	struct hash *seen; /* by nonce */
	struct list order; /* oldest first, for expiry */
	size_t nseen;
};

static void seen_destructor(void *arg)
{
	struct seen *s = arg;
	hash_unlink(&s->he);
	list_unlink(&s->le);
}

static void auth_destructor(void *arg)
{
	struct internal_auth *ia = arg;
	list_flush(&ia->order);
	mem_deref(ia->seen);
	if (ia->secret)
		memset(ia->secret, 0, ia->secret_len);
	mem_deref(ia->secret);
}

int internal_auth_alloc(struct internal_auth **iap, const uint8_t *secret,
			size_t len)
{
	struct internal_auth *ia;
	int err;

	if (!iap || !secret || len < SECRET_MIN)
		return EINVAL;
	ia = mem_zalloc(sizeof(*ia), auth_destructor);
	if (!ia)
		return ENOMEM;
	ia->secret = mem_alloc(len, NULL);
	err = ia->secret ? hash_alloc(&ia->seen, 1024) : ENOMEM;
	if (err) {
		mem_deref(ia);
		return err;
	}
	memcpy(ia->secret, secret, len);
	ia->secret_len = len;
	*iap = ia;
	return 0;
}

static int mac_hex(const struct internal_auth *ia, const char *t,
		   const char *nonce, const char *method, const char *path,
		   const void *body, size_t body_len, char hex[65])
{
	const mbedtls_md_info_t *md =
		mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t ctx;
	uint8_t mac[32];
	char head[512];
	int n, rc;

	n = snprintf(head, sizeof(head), "%s\n%s\n%s %s\n", t, nonce, method,
		     path);
	if (n < 0 || (size_t)n >= sizeof(head))
		return EINVAL;
	mbedtls_md_init(&ctx);
	rc = mbedtls_md_setup(&ctx, md, 1);
	rc = rc ? rc : mbedtls_md_hmac_starts(&ctx, ia->secret, ia->secret_len);
	rc = rc ? rc
		: mbedtls_md_hmac_update(&ctx, (const uint8_t *)head,
					 (size_t)n);
	if (!rc && body_len)
		rc = mbedtls_md_hmac_update(&ctx, body, body_len);
	rc = rc ? rc : mbedtls_md_hmac_finish(&ctx, mac);
	mbedtls_md_free(&ctx);
	if (rc)
		return EPROTO;
	for (size_t i = 0; i < sizeof(mac); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

int internal_auth_sign(const struct internal_auth *ia, const char *method,
		       const char *path, const void *body, size_t body_len,
		       uint64_t now_ms, char *hdr)
{
	uint8_t raw[NONCE_BYTES];
	char t[24], nonce[2 * NONCE_BYTES + 1], sig[65];
	int err;

	if (!ia || !method || !path || !hdr || (body_len && !body))
		return EINVAL;
	err = port_random(raw, sizeof(raw));
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(raw); i++)
		(void)snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
	(void)snprintf(t, sizeof(t), "%" PRIu64, now_ms);
	err = mac_hex(ia, t, nonce, method, path, body, body_len, sig);
	if (err)
		return err;
	(void)snprintf(hdr, INTERNAL_AUTH_HDR_MAX, "t=%s,n=%s,s=%s", t, nonce,
		       sig);
	return 0;
}

/* Splits "t=<digits>,n=<32 hex>,s=<64 hex>"; false if it is not that. */
static bool parse(const char *hdr, size_t len, char t[24],
		  char nonce[2 * NONCE_BYTES + 1], char sig[65])
{
	struct pl pt, pn, ps;
	if (re_regex(hdr, len, "t=[0-9]+,n=[0-9a-f]+,s=[0-9a-f]+", &pt, &pn,
		     &ps) ||
	    pt.l >= 20 || pn.l != 2 * NONCE_BYTES || ps.l != 64 ||
	    (size_t)(ps.p + ps.l - hdr) != len || pt.p != hdr + 2)
		return false;
	pl_strcpy(&pt, t, 24);
	pl_strcpy(&pn, nonce, 2 * NONCE_BYTES + 1);
	pl_strcpy(&ps, sig, 65);
	return true;
}

static bool nonce_cmp(struct le *le, void *arg)
{
	const struct seen *s = le->data;
	return !strcmp(s->nonce, arg);
}

static void forget_expired(struct internal_auth *ia, uint64_t now_ms)
{
	struct le *le;
	while ((le = list_head(&ia->order)) &&
	       ((struct seen *)le->data)->until_ms < now_ms) {
		mem_deref(le->data);
		ia->nseen--;
	}
}

int internal_auth_check(struct internal_auth *ia, const char *hdr,
			size_t hdr_len, const char *method, const char *path,
			const void *body, size_t body_len, uint64_t now_ms)
{
	char t[24], nonce[2 * NONCE_BYTES + 1], sig[65], want[65];
	uint8_t diff = 0;
	uint64_t at;
	struct seen *s;

	if (!ia || !hdr || !parse(hdr, hdr_len, t, nonce, sig) ||
	    mac_hex(ia, t, nonce, method, path, body, body_len, want))
		return EACCES;
	for (size_t i = 0; i < 64; i++) /* constant time */
		diff |= (uint8_t)(want[i] ^ sig[i]);
	if (diff)
		return EACCES;
	at = strtoull(t, NULL, 10);
	if (at + INTERNAL_AUTH_WINDOW_MS < now_ms ||
	    at > now_ms + INTERNAL_AUTH_WINDOW_MS)
		return ETIMEDOUT;
	forget_expired(ia, now_ms);
	if (hash_lookup(ia->seen, hash_joaat_str(nonce), nonce_cmp, nonce))
		return EALREADY;
	if (ia->nseen >= SEEN_MAX)
		return EALREADY; /* more than the window can hold: refuse */
	s = mem_zalloc(sizeof(*s), seen_destructor);
	if (!s)
		return ENOMEM;
	str_ncpy(s->nonce, nonce, sizeof(s->nonce));
	s->until_ms = at + INTERNAL_AUTH_WINDOW_MS;
	hash_append(ia->seen, hash_joaat_str(nonce), &s->he, s);
	list_append(&ia->order, &s->le, s);
	ia->nseen++;
	return 0;
}

const char *internal_auth_strerror(int err)
{
	switch (err) {
	case 0:
		return "valid";
	case EACCES:
		return "missing or wrong " INTERNAL_AUTH_HEADER " credential";
	case ETIMEDOUT:
		return "the credential's time is outside the 30 s window"
		       " (clocks apart, or an old request)";
	case EALREADY:
		return "the credential was already used (a replay)";
	default:
		return "the credential could not be checked";
	}
}
