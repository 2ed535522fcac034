/*
 * srtp_pair.c - libsrtp2 sessions for one transport.
 */
#include <errno.h>
#include <string.h>
#include <srtp2/srtp.h>
#include <re.h>
#include "srtp_pair.h"

struct srtp_pair {
	srtp_t tx, rx;
	size_t rx_rtp_tag; /* bytes of an RTP packet's tag, as received */
};

int srtp_pair_library_init(void)
{
	return srtp_init() == srtp_err_status_ok ? 0 : EPROTO;
}

static void pair_destructor(void *arg)
{
	struct srtp_pair *p = arg;
	if (p->tx)
		srtp_dealloc(p->tx);
	if (p->rx)
		srtp_dealloc(p->rx);
}

static int set_policy(srtp_policy_t *pol, enum srtp_profile profile)
{
	switch (profile) {
	case SRTP_AES128_CM_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		return 0;
	case SRTP_AES128_CM_SHA1_32:
		/* RFC 5764: the _32 profile shortens the RTP tag only */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		return 0;
	case SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
		return 0;
	default:
		return ENOTSUP;
	}
}

static int create(srtp_t *s, enum srtp_profile profile, const uint8_t *key,
		  bool outbound, size_t *rtp_tag /* or NULL */)
{
	srtp_policy_t pol;
	uint8_t k[SRTP_MASTER_MAX];
	int err;

	memset(&pol, 0, sizeof(pol));
	err = set_policy(&pol, profile);
	if (err)
		return err;
	memcpy(k, key, sizeof(k));
	pol.key = k;
	pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	/* NACK answers resend packets we have already protected once */
	pol.allow_repeat_tx = 1;
	pol.window_size = 1024;
	if (rtp_tag)
		*rtp_tag = (size_t)pol.rtp.auth_tag_len;
	err = srtp_create(s, &pol) == srtp_err_status_ok ? 0 : EPROTO;
	memset(k, 0, sizeof(k));
	return err;
}

int srtp_pair_alloc(struct srtp_pair **pp, const struct srtp_keys *keys)
{
	struct srtp_pair *p;
	int err;

	if (!pp || !keys)
		return EINVAL;
	p = mem_zalloc(sizeof(*p), pair_destructor);
	if (!p)
		return ENOMEM;
	err = create(&p->tx, keys->profile, keys->local, true, NULL);
	if (!err)
		err = create(&p->rx, keys->profile, keys->remote, false,
			     &p->rx_rtp_tag);
	if (err)
		mem_deref(p);
	else
		*pp = p;
	return err;
}

typedef srtp_err_status_t(srtp_fn)(srtp_t, void *, int *);

static int run(srtp_fn *fn, srtp_t s, uint8_t *buf, size_t *len)
{
	int n;
	if (!s || !buf || !len || *len > (size_t)INT32_MAX)
		return EINVAL;
	n = (int)*len;
	if (fn(s, buf, &n) != srtp_err_status_ok)
		return EBADMSG;
	*len = (size_t)n;
	return 0;
}

/* Protects in place: the tag (and SRTCP index) must fit after the packet. */
static int protect(srtp_fn *fn, struct srtp_pair *p, uint8_t *buf, size_t *len,
		   size_t size)
{
	if (!p || !len || *len + SRTP_PAIR_TRAILER > size)
		return ENOBUFS;
	return run(fn, p->tx, buf, len);
}

int srtp_pair_protect_rtp(struct srtp_pair *p, uint8_t *buf, size_t *len,
			  size_t size)
{
	return protect(srtp_protect, p, buf, len, size);
}

int srtp_pair_unprotect_rtp(struct srtp_pair *p, uint8_t *buf, size_t *len)
{
	return p ? run(srtp_unprotect, p->rx, buf, len) : EINVAL;
}

int srtp_pair_protect_rtcp(struct srtp_pair *p, uint8_t *buf, size_t *len,
			   size_t size)
{
	return protect(srtp_protect_rtcp, p, buf, len, size);
}

int srtp_pair_unprotect_rtcp(struct srtp_pair *p, uint8_t *buf, size_t *len)
{
	return p ? run(srtp_unprotect_rtcp, p->rx, buf, len) : EINVAL;
}

size_t srtp_pair_rx_rtp_tag(const struct srtp_pair *p)
{
	return p ? p->rx_rtp_tag : 0;
}
