/*
 * jwt.c - HS256 verification and signing with mbedTLS.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mbedtls/md.h>
#include <re.h>
#include "base64url.h"
#include "jwt.h"

static int hs256(const uint8_t *key, size_t keylen, const char *data,
		 size_t len, uint8_t mac[32])
{
	const mbedtls_md_info_t *md =
		mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	return mbedtls_md_hmac(md, key, keylen, (const unsigned char *)data,
			       len, mac)
		       ? EPROTO
		       : 0;
}

/* Decodes one base64url JSON segment. */
static cJSON *segment_json(const char *p, size_t len)
{
	uint8_t buf[JWT_MAX];
	size_t n = sizeof(buf) - 1;
	if (base64url_decode(p, len, buf, &n))
		return NULL;
	buf[n] = '\0';
	return cJSON_ParseWithLength((const char *)buf, n);
}

static void claims_destructor(void *arg)
{
	struct jwt_claims *c = arg;
	cJSON_Delete(c->conversations);
}

/* A NumericDate claim (RFC 7519 section 2): whole seconds since the epoch.
 * false when present but not such a number (a string, a negative or a
 * huge one: casting past int64_t's range is undefined behaviour). */
static bool time_claim(const cJSON *o, const char *name, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	*out = 0;
	if (!v)
		return true;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    v->valuedouble > JWT_TIME_MAX)
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

/* The header says HS256 and the signature is the secret's MAC of
 * header.payload (compared in constant time). */
static int signature_check(const char *token, const char *dot1,
			   const char *dot2, const uint8_t *secret,
			   size_t secret_len)
{
	uint8_t mac[32], sig[48], diff = 0;
	size_t siglen = sizeof(sig);
	cJSON *hdr = segment_json(token, (size_t)(dot1 - token));
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	int err = 0;

	if (!cJSON_IsObject(hdr))
		err = EBADMSG;
	else if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256"))
		err = ENOTSUP;
	cJSON_Delete(hdr);
	if (err)
		return err;
	if (base64url_decode(dot2 + 1, strlen(dot2 + 1), sig, &siglen) ||
	    siglen != sizeof(mac))
		return EACCES;
	err = hs256(secret, secret_len, token, (size_t)(dot2 - token), mac);
	if (err)
		return err;
	/* constant time: do not leak where the MAC differs */
	for (size_t i = 0; i < sizeof(mac); i++)
		diff |= (uint8_t)(mac[i] ^ sig[i]);
	return diff ? EACCES : 0;
}

/* The claim `name` if it is a string, else `other` if that one is. */
static const cJSON *string_claim(const cJSON *body, const char *name,
				 const char *other)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(body, other);
	return cJSON_IsString(v) ? v : NULL;
}

/* The payload's claims: an expiry (required), in force now within skew,
 * and a subject. */
static int claims_read(struct jwt_claims *c, const cJSON *body, int64_t now_s,
		       unsigned skew_s)
{
	const cJSON *v;
	if (!time_claim(body, "exp", &c->exp) ||
	    !time_claim(body, "iat", &c->iat) ||
	    !time_claim(body, "nbf", &c->nbf) || !c->exp)
		return EPROTO; /* a token that never expires is not taken */
	if (now_s > c->exp + (int64_t)skew_s)
		return ETIMEDOUT;
	if (c->nbf && now_s + (int64_t)skew_s < c->nbf)
		return EAGAIN;
	v = string_claim(body, "sub", "userId");
	if (!v || !v->valuestring[0] ||
	    strlen(v->valuestring) >= sizeof(c->sub))
		return ENOENT;
	str_ncpy(c->sub, v->valuestring, sizeof(c->sub));
	v = string_claim(body, "name", "username");
	if (v)
		str_ncpy(c->name, v->valuestring, sizeof(c->name));
	v = cJSON_GetObjectItemCaseSensitive(body, "role");
	if (cJSON_IsString(v))
		str_ncpy(c->role, v->valuestring, sizeof(c->role));
	v = cJSON_GetObjectItemCaseSensitive(body, "conversations");
	if (cJSON_IsArray(v))
		c->conversations = cJSON_Duplicate(v, 1);
	return 0;
}

int jwt_verify(struct jwt_claims **claimsp, const char *token,
	       const uint8_t *secret, size_t secret_len, int64_t now_s,
	       unsigned skew_s)
{
	const char *dot1, *dot2;
	struct jwt_claims *c;
	cJSON *body;
	size_t len;
	int err;

	if (!claimsp || !token || !secret)
		return EINVAL;
	len = strlen(token);
	if (len == 0 || len > JWT_MAX)
		return EBADMSG;
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
		return EBADMSG;
	err = signature_check(token, dot1, dot2, secret, secret_len);
	if (err)
		return err;
	body = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	c = mem_zalloc(sizeof(*c), claims_destructor);
	if (!cJSON_IsObject(body))
		err = EBADMSG;
	else if (!c)
		err = ENOMEM;
	else
		err = claims_read(c, body, now_s, skew_s);
	cJSON_Delete(body);
	if (err) {
		mem_deref(c);
		return err;
	}
	*claimsp = c;
	return 0;
}

const char *jwt_strerror(int err)
{
	switch (err) {
	case 0:
		return "valid";
	case EBADMSG:
		return "token is not a well-formed JWT";
	case ENOTSUP:
		return "token algorithm is not HS256";
	case EACCES:
		return "token signature does not verify";
	case ETIMEDOUT:
		return "token has expired";
	case ENOENT:
		return "token has no subject (sub or userId)";
	case EPROTO:
		return "token has no exp, or exp, nbf or iat is not a number"
		       " of seconds";
	case EAGAIN:
		return "token is not valid yet (nbf is in the future)";
	default:
		return "token could not be verified";
	}
}

int jwt_sign(char **tokenp, const char *claims_json, const uint8_t *secret,
	     size_t secret_len)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *tok;
	size_t cap, n, pos = 0, len;
	uint8_t mac[32];
	int err;

	if (!tokenp || !claims_json || !secret)
		return EINVAL;
	len = strlen(claims_json);
	cap = (sizeof(hdr) + len + sizeof(mac)) * 4 / 3 + 16;
	tok = mem_alloc(cap, NULL);
	if (!tok)
		return ENOMEM;
	n = cap;
	err = base64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, tok, &n);
	if (err)
		goto out;
	pos = n;
	tok[pos++] = '.';
	n = cap - pos;
	err = base64url_encode((const uint8_t *)claims_json, len, tok + pos,
			       &n);
	if (err)
		goto out;
	pos += n;
	err = hs256(secret, secret_len, tok, pos, mac);
	if (err)
		goto out;
	tok[pos++] = '.';
	n = cap - pos;
	err = base64url_encode(mac, sizeof(mac), tok + pos, &n);
out:
	if (err)
		mem_deref(tok);
	else
		*tokenp = tok;
	return err;
}
