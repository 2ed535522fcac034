/* JWT HS256: what the gateway trusts and what it refuses. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "base64url.h"
#include "jwt.h"
#include "unit.h"

static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN (sizeof(secret) - 1)
static const int64_t now = 1800000000;

static char *sign(const char *claims)
{
	char *tok = NULL;
	CU_ASSERT_EQUAL_FATAL(jwt_sign(&tok, claims, secret, SECRET_LEN), 0);
	return tok;
}

static int verify(const char *tok, struct jwt_claims **c)
{
	return jwt_verify(c, tok, secret, SECRET_LEN, now, JWT_SKEW_S);
}

static void test_valid(void)
{
	struct jwt_claims *c = NULL;
	char *tok =
		sign("{\"sub\":\"user-42\",\"name\":\"Ada\",\"exp\":1800000100,"
		     "\"conversations\":[\"c1\",\"c2\"]}");
	CU_ASSERT_EQUAL(verify(tok, &c), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->sub, "user-42");
	CU_ASSERT_STRING_EQUAL(c->name, "Ada");
	CU_ASSERT_EQUAL(c->exp, 1800000100);
	CU_ASSERT_PTR_NOT_NULL(c->conversations);
	mem_deref(c);
	mem_deref(tok);
}

static void test_expired_and_skew(void)
{
	struct jwt_claims *c = NULL;
	char *old = sign("{\"sub\":\"u\",\"exp\":1799999900}");
	char *edge = sign("{\"sub\":\"u\",\"exp\":1799999980}");
	CU_ASSERT_EQUAL(verify(old, &c), ETIMEDOUT);
	CU_ASSERT_PTR_NULL(c);
	/* 20 s past exp is inside the 30 s skew allowance */
	CU_ASSERT_EQUAL(verify(edge, &c), 0);
	mem_deref(c);
	mem_deref(old);
	mem_deref(edge);
}

static void test_bad_signature(void)
{
	struct jwt_claims *c = NULL;
	char *tok = sign("{\"sub\":\"u\"}");
	size_t n = strlen(tok);
	/* flip one signature character */
	tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(verify(tok, &c), EACCES);
	mem_deref(tok);
	/* same token, other secret */
	tok = sign("{\"sub\":\"u\"}");
	CU_ASSERT_EQUAL(jwt_verify(&c, tok, (const uint8_t *)"another-secret!!",
				   16, now, JWT_SKEW_S),
			EACCES);
	mem_deref(tok);
}

static void test_alg_none_refused(void)
{
	struct jwt_claims *c = NULL;
	char hdr[64], body[64], tok[256];
	size_t n = sizeof(hdr);
	const char *h = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
	const char *b = "{\"sub\":\"admin\"}";
	CU_ASSERT_EQUAL(
		base64url_encode((const uint8_t *)h, strlen(h), hdr, &n), 0);
	n = sizeof(body);
	CU_ASSERT_EQUAL(
		base64url_encode((const uint8_t *)b, strlen(b), body, &n), 0);
	re_snprintf(tok, sizeof(tok), "%s.%s.", hdr, body);
	CU_ASSERT_EQUAL(verify(tok, &c), ENOTSUP);
	CU_ASSERT_PTR_NULL(c);
	/* HS512 header is refused too, whatever the signature */
	h = "{\"alg\":\"HS512\"}";
	n = sizeof(hdr);
	base64url_encode((const uint8_t *)h, strlen(h), hdr, &n);
	re_snprintf(tok, sizeof(tok), "%s.%s.abc", hdr, body);
	CU_ASSERT_EQUAL(verify(tok, &c), ENOTSUP);
}

static void test_malformed(void)
{
	struct jwt_claims *c = NULL;
	char *nosub = sign("{\"name\":\"x\",\"exp\":1800000100}");
	CU_ASSERT_EQUAL(verify("", &c), EBADMSG);
	CU_ASSERT_EQUAL(verify("abc", &c), EBADMSG);
	CU_ASSERT_EQUAL(verify("a.b", &c), EBADMSG);
	CU_ASSERT_EQUAL(verify("a.b.c.d", &c), EBADMSG);
	CU_ASSERT_EQUAL(verify("!!!.e30.sig", &c), EBADMSG);
	CU_ASSERT_EQUAL(verify(nosub, &c), ENOENT);
	CU_ASSERT_STRING_EQUAL(jwt_strerror(ETIMEDOUT), "token has expired");
	mem_deref(nosub);
}

/* Meeshy's gateway signs {userId, username, role} (jsonwebtoken: iat and
 * exp added): the same user, name and role are read; sub wins when both
 * are there. */
static void test_meeshy_claims(void)
{
	struct jwt_claims *c = NULL;
	char *tok = sign("{\"userId\":\"64b7f0c2a1b2c3d4e5f60718\","
			 "\"username\":\"ada\",\"role\":\"USER\","
			 "\"iat\":1799990000,\"exp\":1800086400}");
	char *both = sign("{\"sub\":\"s-1\",\"userId\":\"u-1\","
			  "\"exp\":1800000100}");
	CU_ASSERT_EQUAL_FATAL(verify(tok, &c), 0);
	CU_ASSERT_STRING_EQUAL(c->sub, "64b7f0c2a1b2c3d4e5f60718");
	CU_ASSERT_STRING_EQUAL(c->name, "ada");
	CU_ASSERT_STRING_EQUAL(c->role, "USER");
	CU_ASSERT_PTR_NULL(c->conversations);
	c = mem_deref(c);
	CU_ASSERT_EQUAL_FATAL(verify(both, &c), 0);
	CU_ASSERT_STRING_EQUAL(c->sub, "s-1");
	CU_ASSERT_STRING_EQUAL(c->role, "");
	mem_deref(c);
	mem_deref(tok);
	mem_deref(both);
}

/* Time claims: exp is required and a number of seconds; nbf ahead of now
 * (beyond the skew) is not valid yet; huge numbers are refused, not cast. */
static void test_time_claims(void)
{
	static const struct {
		const char *claims;
		int want;
	} cases[] = {
		{"{\"sub\":\"u\"}", EPROTO},
		{"{\"sub\":\"u\",\"exp\":\"1800000100\"}", EPROTO},
		{"{\"sub\":\"u\",\"exp\":-5}", EPROTO},
		{"{\"sub\":\"u\",\"exp\":1e300}", EPROTO},
		{"{\"sub\":\"u\",\"exp\":1800000100,\"nbf\":\"x\"}", EPROTO},
		{"{\"sub\":\"u\",\"exp\":1800000100,\"iat\":1e30}", EPROTO},
		{"{\"sub\":\"u\",\"exp\":1800000100,\"nbf\":1800000060}",
		 EAGAIN},
		/* 20 s ahead is inside the 30 s skew */
		{"{\"sub\":\"u\",\"exp\":1800000100,\"nbf\":1800000020}", 0},
		{"{\"sub\":\"u\",\"exp\":1800000100,\"nbf\":1799999000,"
		 "\"iat\":1799999000}",
		 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jwt_claims *c = NULL;
		char *tok = sign(cases[i].claims);
		int err = verify(tok, &c);
		if (err != cases[i].want)
			printf("\n%s: %d, want %d\n", cases[i].claims, err,
			       cases[i].want);
		CU_ASSERT_EQUAL(err, cases[i].want);
		CU_ASSERT_EQUAL(c == NULL, cases[i].want != 0);
		mem_deref(c);
		mem_deref(tok);
	}
	CU_ASSERT_STRING_EQUAL(jwt_strerror(EAGAIN),
			       "token is not valid yet (nbf is in the future)");
}

static void test_b64url(void)
{
	const uint8_t in[] = {0xfb, 0xff, 0x00, 0x10, 0x3e};
	uint8_t out[8];
	char enc[16];
	size_t n = sizeof(enc), m = sizeof(out);
	CU_ASSERT_EQUAL(base64url_encode(in, sizeof(in), enc, &n), 0);
	CU_ASSERT_STRING_EQUAL(enc, "-_8AED4");
	CU_ASSERT_EQUAL(base64url_decode(enc, n, out, &m), 0);
	CU_ASSERT_EQUAL(m, sizeof(in));
	CU_ASSERT_EQUAL(memcmp(in, out, sizeof(in)), 0);
	m = sizeof(out);
	CU_ASSERT_EQUAL(base64url_decode("a", 1, out, &m), EBADMSG);
	m = 2;
	CU_ASSERT_EQUAL(base64url_decode("AAAAAA", 6, out, &m), EOVERFLOW);
}

static CU_TestInfo tests[] = {
	{"valid token", test_valid},
	{"expired, and clock skew", test_expired_and_skew},
	{"bad signature", test_bad_signature},
	{"alg none and others refused", test_alg_none_refused},
	{"malformed tokens", test_malformed},
	{"Meeshy's claims (userId, username, role)", test_meeshy_claims},
	{"exp required, nbf, numeric dates", test_time_claims},
	{"base64url", test_b64url},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("jwt", tests, NULL, NULL)
