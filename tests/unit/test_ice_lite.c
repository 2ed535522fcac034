/* ICE-lite: binding requests as a browser sends them, and the answers. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "ice_lite.h"
#include "unit.h"

static const char srv_ufrag[] = "SrvUfragABCDEFGH";
static const char srv_pwd[] = "ServerPasswordServerPassword1234";

/* A request as Chrome sends it: USERNAME, ICE-CONTROLLING, PRIORITY,
 * USE-CANDIDATE, MESSAGE-INTEGRITY with our password, FINGERPRINT. */
static struct mbuf *browser_request(const char *pwd, bool nominate,
				    uint8_t tid[12])
{
	struct mbuf *mb = mbuf_alloc(256);
	uint32_t prio = 1853817087;
	uint64_t tiebreak = 0x1122334455667788ULL;
	uint8_t flag = 1; /* libre skips attributes whose value is NULL */
	char user[64];
	memset(tid, 0x5a, 12);
	re_snprintf(user, sizeof(user), "%s:BrowserUfrag", srv_ufrag);
	if (nominate)
		CU_ASSERT_EQUAL(
			stun_msg_encode(mb, STUN_METHOD_BINDING,
					STUN_CLASS_REQUEST, tid, NULL,
					(const uint8_t *)pwd, strlen(pwd), true,
					0x20, 4, STUN_ATTR_USERNAME, user,
					STUN_ATTR_CONTROLLING, &tiebreak,
					STUN_ATTR_PRIORITY, &prio,
					STUN_ATTR_USE_CAND, &flag),
			0)
	else
		CU_ASSERT_EQUAL(
			stun_msg_encode(mb, STUN_METHOD_BINDING,
					STUN_CLASS_REQUEST, tid, NULL,
					(const uint8_t *)pwd, strlen(pwd), true,
					0x20, 3, STUN_ATTR_USERNAME, user,
					STUN_ATTR_CONTROLLING, &tiebreak,
					STUN_ATTR_PRIORITY, &prio),
			0)
	return mb;
}

static void test_credentials(void)
{
	char u1[ICE_UFRAG_LEN + 1], p1[ICE_PWD_LEN + 1];
	char u2[ICE_UFRAG_LEN + 1], p2[ICE_PWD_LEN + 1];
	CU_ASSERT_EQUAL(ice_lite_credentials(u1, p1), 0);
	CU_ASSERT_EQUAL(ice_lite_credentials(u2, p2), 0);
	CU_ASSERT_EQUAL(strlen(u1), ICE_UFRAG_LEN);
	CU_ASSERT_EQUAL(strlen(p1), ICE_PWD_LEN);
	CU_ASSERT_STRING_NOT_EQUAL(u1, u2);
	CU_ASSERT_EQUAL(strspn(p1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				   "qrstuvwxyz0123456789+/"),
			ICE_PWD_LEN);
}

static void test_answer(void)
{
	struct ice_lite_request *req = NULL;
	struct stun_msg *resp = NULL;
	struct mbuf *out = mbuf_alloc(256);
	struct stun_attr *xma;
	struct sa src;
	uint8_t tid[12];
	struct mbuf *in = browser_request(srv_pwd, true, tid);

	sa_set_str(&src, "127.0.0.1", 50123);
	CU_ASSERT_EQUAL_FATAL(ice_lite_parse(&req, in->buf, in->end), 0);
	CU_ASSERT_STRING_EQUAL(req->local_ufrag, srv_ufrag);
	CU_ASSERT_STRING_EQUAL(req->remote_ufrag, "BrowserUfrag");
	CU_ASSERT_TRUE(req->use_candidate);
	CU_ASSERT_EQUAL(req->priority, 1853817087);
	CU_ASSERT_EQUAL(ice_lite_respond(req, srv_pwd, &src, out), 0);

	out->pos = 0;
	CU_ASSERT_EQUAL_FATAL(stun_msg_decode(&resp, out, NULL), 0);
	CU_ASSERT_EQUAL(stun_msg_class(resp), STUN_CLASS_SUCCESS_RESP);
	CU_ASSERT_EQUAL(memcmp(stun_msg_tid(resp), tid, 12), 0);
	CU_ASSERT_EQUAL(stun_msg_chk_mi(resp, (const uint8_t *)srv_pwd,
					strlen(srv_pwd)),
			0);
	CU_ASSERT_EQUAL(stun_msg_chk_fingerprint(resp), 0);
	xma = stun_msg_attr(resp, STUN_ATTR_XOR_MAPPED_ADDR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xma);
	CU_ASSERT_TRUE(sa_cmp(&xma->v.xor_mapped_addr, &src, SA_ALL));
	mem_deref(resp);
	mem_deref(req);
	mem_deref(in);
	mem_deref(out);
}

static void test_wrong_password(void)
{
	struct ice_lite_request *req = NULL;
	struct stun_msg *resp = NULL;
	struct mbuf *out = mbuf_alloc(256);
	struct stun_attr *ec;
	struct sa src;
	uint8_t tid[12];
	struct mbuf *in =
		browser_request("not-the-password-at-all-00000000", false, tid);
	sa_set_str(&src, "::1", 4000);
	CU_ASSERT_EQUAL_FATAL(ice_lite_parse(&req, in->buf, in->end), 0);
	CU_ASSERT_FALSE(req->use_candidate);
	CU_ASSERT_EQUAL(ice_lite_respond(req, srv_pwd, &src, out), EACCES);
	out->pos = 0;
	CU_ASSERT_EQUAL_FATAL(stun_msg_decode(&resp, out, NULL), 0);
	CU_ASSERT_EQUAL(stun_msg_class(resp), STUN_CLASS_ERROR_RESP);
	ec = stun_msg_attr(resp, STUN_ATTR_ERR_CODE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	CU_ASSERT_EQUAL(ec->v.err_code.code, 401);
	mem_deref(resp);
	mem_deref(req);
	mem_deref(in);
	mem_deref(out);
}

static void test_malformed(void)
{
	struct ice_lite_request *req = NULL;
	uint8_t tid[12];
	struct mbuf *in = browser_request(srv_pwd, true, tid);
	/* every truncation is refused, never read past */
	for (size_t n = 0; n < in->end; n++)
		CU_ASSERT_EQUAL(ice_lite_parse(&req, in->buf, n), EBADMSG);
	/* a flipped byte breaks the fingerprint */
	in->buf[30] ^= 0x40;
	CU_ASSERT_EQUAL(ice_lite_parse(&req, in->buf, in->end), EBADMSG);
	mem_deref(in);
	/* no USERNAME */
	in = mbuf_alloc(128);
	CU_ASSERT_EQUAL(stun_msg_encode(in, STUN_METHOD_BINDING,
					STUN_CLASS_REQUEST, tid, NULL,
					(const uint8_t *)srv_pwd,
					strlen(srv_pwd), true, 0x20, 0),
			0);
	CU_ASSERT_EQUAL(ice_lite_parse(&req, in->buf, in->end), EBADMSG);
	CU_ASSERT_PTR_NULL(req);
	mem_deref(in);
}

static CU_TestInfo tests[] = {
	{"credentials", test_credentials},
	{"binding request answered", test_answer},
	{"wrong password gets 401", test_wrong_password},
	{"malformed requests refused", test_malformed},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("ice_lite", tests, NULL, NULL)
