/*
 * jwt.h - JSON Web Tokens, HS256 only (RFC 7519 / RFC 7515).
 *
 * The gateway trusts a token when its HMAC-SHA256 signature verifies with the
 * shared secret and it has not expired (with a little clock skew allowed).
 * "alg":"none" and every other algorithm are refused: accepting an algorithm
 * chosen by the token is the classic JWT mistake.
 */
#ifndef MEESHY_JWT_H
#define MEESHY_JWT_H

#include <stddef.h>
#include <stdint.h>

/* JWT_TIME_MAX: the latest exp/nbf/iat taken (year 33658), far inside
 * int64_t, so a huge number is refused rather than cast. */
enum { JWT_MAX = 8192, JWT_SKEW_S = 30 };
#define JWT_TIME_MAX 1e12

/* Two shapes of claims are read: the seed's {sub, name, conversations}
 * and Meeshy's {userId, username, role} (its gateway's TokenPayload). */
struct jwt_claims {
	char sub[129];               /* the user id: sub, else userId */
	char name[129];              /* display name: name, else username;
				      * may be empty */
	char role[33];               /* Meeshy's role (USER, ADMIN...), or "" */
	int64_t exp;                 /* seconds since the epoch; required */
	int64_t iat, nbf;            /* seconds since the epoch; 0 if absent */
	struct cJSON *conversations; /* array of ids the user belongs to, or
				      * NULL when the token does not say */
};

/* Returns 0, or: EBADMSG (not a well-formed JWT), ENOTSUP (alg not HS256),
 * EACCES (bad signature), EPROTO (no exp, or exp, nbf or iat not a
 * NumericDate), ETIMEDOUT (expired), EAGAIN (nbf still ahead), ENOENT (no
 * "sub" nor "userId"). exp and nbf are judged with skew_s seconds of clock
 * skew. */
int jwt_verify(struct jwt_claims **claimsp, const char *token,
	       const uint8_t *secret, size_t secret_len, int64_t now_s,
	       unsigned skew_s);
const char *jwt_strerror(int err);

/* Signs a token over the given claims object text (a JSON object). */
int jwt_sign(char **tokenp, const char *claims_json, const uint8_t *secret,
	     size_t secret_len);

#endif
