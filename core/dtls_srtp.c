/*
 * dtls_srtp.c - DTLS-SRTP endpoints over mbedTLS, fed and drained by the
 * caller.
 *
 * mbedTLS talks to "the network" through two callbacks (bio_send,
 * bio_recv): bio_recv returns the one datagram being fed, bio_send collects
 * what mbedTLS writes. Its retransmission timer runs on a port timer, so the
 * same code runs on libre's loop and inside the ns-3 simulator.
 *
 * A handshake step is milliseconds of ECDHE and ECDSA: it runs as a
 * port_work job, off the packet loop when the platform has worker threads.
 * A step may touch only the mbedTLS state and the job's own effects (the
 * datagrams to send, the timer to set, the keys or the failure); the loop
 * applies those when the job comes back (apply()). One job at a time per
 * connection; datagrams that arrive meanwhile wait in `pending`.
 */
#include <errno.h>
#include <string.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <re.h>
#include "port.h"
#include "dtls_srtp.h"

struct dtls_cert {
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	char fingerprint[DTLS_FP_LEN + 1];
};

/* What one handshake step asks of the loop. */
enum { FX_DGRAMS = 16, FX_BYTES = 16384, PENDING_MAX = 16 };

struct dtls_effects {
	uint8_t out[FX_BYTES]; /* datagrams to send, back to back */
	uint16_t out_len[FX_DGRAMS];
	unsigned n_out;
	size_t used;
	bool timer_set;
	uint32_t timer_ms; /* 0: cancel */
	bool up;
	struct srtp_keys keys;
	int err; /* non-zero: the connection failed, for `why` */
	char why[160];
};

struct dtls_srtp {
	/* the loop's side */
	struct dtls_cert *cert;
	enum dtls_role role;
	dtls_srtp_send_h *sendh;
	dtls_srtp_estab_h *estabh;
	dtls_srtp_close_h *closeh;
	void *arg;
	struct port_timer *tmr;
	struct list pending; /* datagrams waiting for the next step */
	bool start_pending, tick_pending;
	bool busy;                 /* a step is running */
	bool up, closed;           /* as signaled to the owner */
	bool confirmed;            /* the peer's SRTP authenticated */
	bool forgotten;            /* mbedTLS's state is freed */
	struct hello_reasm *hello; /* server: ClientHello fragments so far */
	bool hello_whole;          /* server: a whole ClientHello went in */

	/* the step's side: touched only by the one step running */
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	char remote_fp[DTLS_FP_LEN + 1];
	const uint8_t *in; /* the datagram being fed to mbedTLS */
	size_t in_len;
	struct dtls_effects *fx;
	uint64_t tmr_start_us;
	uint32_t int_ms, fin_ms;
	uint8_t master[48], randoms[64]; /* for the SRTP key export */
	mbedtls_tls_prf_types prf;
	bool have_master, established, dead;
};

/* A ClientHello that arrived in fragments, put back together. Browsers now
 * send ClientHellos bigger than one datagram (post-quantum key shares make
 * Chromium's about 1.4 kB), and mbedTLS 2.28's DTLS server cannot
 * reassemble a fragmented ClientHello. So we do, and hand mbedTLS the one
 * unfragmented record it expects; the handshake transcript is the same,
 * since DTLS hashes a message as if it had never been fragmented. */
enum { HELLO_MAX = 8192, REC_HDR = 13, HS_HDR = 12 };

struct hello_reasm {
	uint8_t rec[REC_HDR]; /* the first fragment's record header */
	uint8_t hs[HS_HDR];   /* and its handshake header */
	uint32_t len;         /* the whole message's length */
	uint32_t have;        /* bytes received (no overlap counted) */
	uint8_t body[HELLO_MAX];
	uint8_t got[HELLO_MAX]; /* which bytes have arrived */
};

static const uint16_t srtp_profiles[] = {
	MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_80,
	MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_32, MBEDTLS_TLS_SRTP_UNSET};

/* Key exchange groups, fastest first. mbedTLS's default list puts the
 * largest curves first and a server takes the first the client also
 * offers: P-521 against another mbedTLS, P-384 against Chromium, several
 * times the CPU of X25519 or P-256 for no gain in a handshake whose trust
 * is the signaled fingerprint. */
static const mbedtls_ecp_group_id key_exchange_groups[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};

static int entropy(void *ctx, unsigned char *out, size_t len)
{
	(void)ctx;
	return port_random(out, len)
		       ? MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED
		       : 0;
}

static void fingerprint_of(const uint8_t *der, size_t len, char *out)
{
	uint8_t h[32];
	mbedtls_sha256_ret(der, len, h, 0);
	for (size_t i = 0; i < sizeof(h); i++)
		(void)re_snprintf(out + 3 * i, 4, "%02X%s", h[i],
				  i + 1 < sizeof(h) ? ":" : "");
}

static void cert_destructor(void *arg)
{
	struct dtls_cert *c = arg;
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
}

int dtls_cert_generate(struct dtls_cert **certp, const char *common_name)
{
	static const char pers[] = "meeshy-dtls";
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	uint8_t buf[1024], sn[8];
	char subject[96];
	struct dtls_cert *c;
	int n, err = 0;

	if (!certp)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), cert_destructor);
	if (!c)
		return ENOMEM;
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_pk_init(&c->key);
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);

	if (mbedtls_ctr_drbg_seed(&c->drbg, entropy, NULL,
				  (const unsigned char *)pers, sizeof(pers)) ||
	    mbedtls_pk_setup(&c->key,
			     mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(c->key),
				mbedtls_ctr_drbg_random, &c->drbg)) {
		err = EPROTO;
		goto out;
	}
	(void)re_snprintf(subject, sizeof(subject), "CN=%s",
			  common_name ? common_name : "meeshy");
	if (port_random(sn, sizeof(sn))) {
		err = EIO;
		goto out;
	}
	sn[0] &= 0x7f; /* a positive serial number */
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &c->key);
	mbedtls_x509write_crt_set_issuer_key(&w, &c->key);
	/* WebRTC authenticates the certificate by its signaled fingerprint,
	 * not by dates; a validity that does not depend on this box's clock
	 * keeps a badly set clock from breaking calls. */
	if (mbedtls_mpi_read_binary(&serial, sn, sizeof(sn)) ||
	    mbedtls_x509write_crt_set_serial(&w, &serial) ||
	    mbedtls_x509write_crt_set_subject_name(&w, subject) ||
	    mbedtls_x509write_crt_set_issuer_name(&w, subject) ||
	    mbedtls_x509write_crt_set_validity(&w, "20200101000000",
					       "20491231235959")) {
		err = EPROTO;
		goto out;
	}
	n = mbedtls_x509write_crt_der(&w, buf, sizeof(buf),
				      mbedtls_ctr_drbg_random, &c->drbg);
	if (n <= 0 || mbedtls_x509_crt_parse_der(&c->crt, buf + sizeof(buf) - n,
						 (size_t)n)) {
		err = EPROTO;
		goto out;
	}
	fingerprint_of(c->crt.raw.p, c->crt.raw.len, c->fingerprint);
out:
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	if (err)
		mem_deref(c);
	else
		*certp = c;
	return err;
}

const char *dtls_cert_fingerprint(const struct dtls_cert *cert)
{
	return cert ? cert->fingerprint : "";
}

/* mbedTLS plumbing */

/* Collected, sent by the loop when the step is back. A flight is a few
 * datagrams of at most the MTU (1200): FX_DGRAMS of them is room to spare. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct dtls_effects *fx = ((struct dtls_srtp *)ctx)->fx;
	if (fx->n_out == FX_DGRAMS || fx->used + len > FX_BYTES)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	memcpy(fx->out + fx->used, buf, len);
	fx->out_len[fx->n_out++] = (uint16_t)len;
	fx->used += len;
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct dtls_srtp *dc = ctx;
	size_t n = dc->in_len;
	if (!dc->in)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > len)
		return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
	memcpy(buf, dc->in, n);
	dc->in = NULL;
	dc->in_len = 0;
	return (int)n;
}

static void kick(struct dtls_srtp *dc);
static int timer_get(void *ctx);

/* On the loop. Timers may fire a fraction of a millisecond early: mbedTLS
 * must see the delay as passed, or it would wait for a datagram forever.
 * The step's timer fields are read only while no step runs. */
static void timer_expired(void *arg)
{
	struct dtls_srtp *dc = arg;
	if (dc->forgotten)
		return;
	if (!dc->busy && timer_get(dc) != 2) {
		port_timer_start(dc->tmr, 1, timer_expired, dc);
		return;
	}
	dc->tick_pending = true;
	kick(dc);
}

/* In a step: the loop arms the port timer when the step is back. */
static void timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
	struct dtls_srtp *dc = ctx;
	dc->int_ms = int_ms;
	dc->fin_ms = fin_ms;
	dc->tmr_start_us = port_now_us();
	if (!dc->fx)
		return; /* mbedtls_ssl_set_timer_cb() resets it: none runs */
	dc->fx->timer_set = true;
	dc->fx->timer_ms = fin_ms;
}

static int timer_get(void *ctx)
{
	struct dtls_srtp *dc = ctx;
	uint64_t ms;
	if (!dc->fin_ms)
		return -1;
	ms = (port_now_us() - dc->tmr_start_us) / 1000;
	return ms >= dc->fin_ms ? 2 : ms >= dc->int_ms ? 1 : 0;
}

/* Keep what RFC 5764 needs to derive the SRTP keys once the handshake
 * is done. */
static int export_keys(void *ctx, const unsigned char *ms,
		       const unsigned char *kb, size_t maclen, size_t keylen,
		       size_t ivlen, const unsigned char client_random[32],
		       const unsigned char server_random[32],
		       mbedtls_tls_prf_types prf)
{
	struct dtls_srtp *dc = ctx;
	(void)kb;
	(void)maclen;
	(void)keylen;
	(void)ivlen;
	memcpy(dc->master, ms, sizeof(dc->master));
	memcpy(dc->randoms, client_random, 32);
	memcpy(dc->randoms + 32, server_random, 32);
	dc->prf = prf;
	dc->have_master = true;
	return 0;
}

/* The chain is not what authenticates a WebRTC peer: its fingerprint is
 * (checked in established()). */
static int verify_any(void *ctx, mbedtls_x509_crt *crt, int depth,
		      uint32_t *flags)
{
	(void)ctx;
	(void)crt;
	(void)depth;
	*flags = 0;
	return 0;
}

/* In a step: the loop tells the owner when the step is back. */
static void fail(struct dtls_srtp *dc, int err, const char *why)
{
	if (dc->dead)
		return;
	dc->dead = true;
	dc->fx->err = err;
	str_ncpy(dc->fx->why, why, sizeof(dc->fx->why));
}

static void established(struct dtls_srtp *dc)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&dc->ssl);
	mbedtls_dtls_srtp_info srtp;
	struct srtp_keys *keys = &dc->fx->keys;
	uint8_t km[2 * SRTP_MASTER_MAX];
	char fp[DTLS_FP_LEN + 1];
	size_t kl, sl;

	if (!peer) {
		fail(dc, EACCES, "the peer sent no certificate");
		return;
	}
	fingerprint_of(peer->raw.p, peer->raw.len, fp);
	if (str_casecmp(fp, dc->remote_fp)) {
		fail(dc, EACCES,
		     "the peer's certificate does not match the"
		     " fingerprint it signaled");
		return;
	}
	mbedtls_ssl_get_dtls_srtp_negotiation_result(&dc->ssl, &srtp);
	memset(keys, 0, sizeof(*keys));
	switch (srtp.chosen_dtls_srtp_profile) {
	case MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_80:
		keys->profile = SRTP_AES128_CM_SHA1_80;
		break;
	case MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_32:
		keys->profile = SRTP_AES128_CM_SHA1_32;
		break;
	default:
		fail(dc, EPROTO, "no SRTP profile was negotiated (use_srtp)");
		return;
	}
	if (!dc->have_master) {
		fail(dc, EPROTO, "the TLS master secret was not exported");
		return;
	}
	kl = keys->key_len = 16;
	sl = keys->salt_len = 14;
	/* RFC 5764 4.2: client key, server key, client salt, server salt */
	if (mbedtls_ssl_tls_prf(dc->prf, dc->master, sizeof(dc->master),
				"EXTRACTOR-dtls_srtp", dc->randoms,
				sizeof(dc->randoms), km, 2 * (kl + sl))) {
		fail(dc, EPROTO, "SRTP key export failed");
		return;
	}
	{
		const uint8_t *ck = km, *sk = km + kl, *cs = km + 2 * kl,
			      *ss = km + 2 * kl + sl;
		bool client = dc->role == DTLS_ROLE_CLIENT;
		memcpy(keys->local, client ? ck : sk, kl);
		memcpy(keys->local + kl, client ? cs : ss, sl);
		memcpy(keys->remote, client ? sk : ck, kl);
		memcpy(keys->remote + kl, client ? ss : cs, sl);
	}
	mbedtls_platform_zeroize(km, sizeof(km));
	mbedtls_platform_zeroize(dc->master, sizeof(dc->master));
	dc->established = true;
	dc->fx->up = true;
}

/* In a step: runs the handshake (or, once established, reads alerts) as
 * far as the datagrams fed so far allow. */
static void drive(struct dtls_srtp *dc)
{
	unsigned char sink[256];
	int r;

	if (dc->dead)
		return;
	if (!dc->established) {
		r = mbedtls_ssl_handshake(&dc->ssl);
		if (r == 0) {
			established(dc);
			return;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_READ ||
		    r == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		{
			char why[160], e[100];
			mbedtls_strerror(r, e, sizeof(e));
			(void)re_snprintf(why, sizeof(why),
					  "DTLS handshake failed: %s", e);
			fail(dc, EPROTO, why);
		}
		return;
	}
	/* WebRTC sends no application data over DTLS here (no data
	 * channels yet): what comes is alerts. */
	r = mbedtls_ssl_read(&dc->ssl, sink, sizeof(sink));
	if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		fail(dc, ECONNRESET, "the peer closed DTLS");
}

/* --- steps as port_work jobs --- */

struct dtls_datagram {
	struct le le;
	size_t len;
	uint8_t buf[];
};

struct dtls_job {
	struct dtls_srtp *dc; /* referenced while the job lives */
	struct list in;       /* datagrams to feed, in order */
	bool start, tick;
	struct dtls_effects fx;
};

static void job_destructor(void *arg)
{
	struct dtls_job *j = arg;
	mbedtls_platform_zeroize(&j->fx.keys, sizeof(j->fx.keys));
	list_flush(&j->in);
	mem_deref(j->dc);
}

/* On a worker thread (or inline): no libre call but list walking. */
static void job_run(void *arg)
{
	struct dtls_job *j = arg;
	struct dtls_srtp *dc = j->dc;
	dc->fx = &j->fx;
	if (j->start)
		drive(dc);
	for (struct le *le = j->in.head; le; le = le->next) {
		struct dtls_datagram *d = le->data;
		dc->in = d->buf;
		dc->in_len = d->len;
		drive(dc);
		dc->in = NULL;
		dc->in_len = 0;
	}
	if (j->tick)
		drive(dc);
	dc->fx = NULL;
}

/* The owner let go while the step ran: only the job holds it now. */
static bool orphaned(const struct dtls_srtp *dc)
{
	return mem_nrefs(dc) <= 1;
}

/* On the loop: what the step asked for, in the order mbedTLS did it. */
static void apply(struct dtls_srtp *dc, const struct dtls_effects *fx)
{
	const uint8_t *p = fx->out;
	for (unsigned i = 0; i < fx->n_out && !orphaned(dc); i++) {
		(void)dc->sendh(p, fx->out_len[i], dc->arg);
		p += fx->out_len[i];
	}
	if (orphaned(dc) || dc->closed)
		return;
	if (fx->timer_set && fx->timer_ms)
		port_timer_start(dc->tmr, fx->timer_ms, timer_expired, dc);
	else if (fx->timer_set)
		port_timer_cancel(dc->tmr);
	if (fx->up && !dc->up) {
		dc->up = true;
		port_timer_cancel(dc->tmr);
		if (dc->estabh)
			dc->estabh(&fx->keys, dc->arg);
	} else if (fx->err) {
		dc->closed = true;
		port_timer_cancel(dc->tmr);
		if (dc->closeh)
			dc->closeh(fx->err, fx->why, dc->arg);
	}
}

/* On the loop, no step running. What mbedTLS keeps of an established
 * connection is its two 16 kB record buffers, the last flight kept for a
 * resend (mbedTLS frees it on the peer's first application record, which
 * WebRTC without data channels never sends) and the peer's certificate:
 * most of a subscription's memory. Once the peer's SRTP authenticates,
 * the peer has finished the handshake, so no record it sends will need
 * an answer. Its close_notify goes unread from then on: ICE consent (30
 * s) and the signaling end the transport instead. */
static void forget(struct dtls_srtp *dc)
{
	if (dc->forgotten)
		return;
	mbedtls_ssl_free(&dc->ssl);
	mbedtls_ssl_config_free(&dc->conf);
	mbedtls_ssl_init(&dc->ssl); /* the destructor frees them again */
	mbedtls_ssl_config_init(&dc->conf);
	port_timer_cancel(dc->tmr);
	list_flush(&dc->pending);
	dc->hello = mem_deref(dc->hello);
	dc->forgotten = true;
}

static void job_done(void *arg)
{
	struct dtls_job *j = arg;
	struct dtls_srtp *dc = j->dc;
	dc->busy = false;
	apply(dc, &j->fx);
	if (!orphaned(dc) && dc->confirmed)
		forget(dc);
	if (!orphaned(dc))
		kick(dc);
	mem_deref(j);
}

/* Starts a step with all that waits, unless one is running. */
static void kick(struct dtls_srtp *dc)
{
	struct dtls_job *j;
	if (dc->busy || dc->closed || dc->forgotten ||
	    (!dc->start_pending && !dc->tick_pending && !dc->pending.head))
		return;
	j = mem_zalloc(sizeof(*j), job_destructor);
	if (!j)
		return; /* the next datagram or retransmission tries again */
	j->dc = mem_ref(dc);
	j->start = dc->start_pending;
	j->tick = dc->tick_pending;
	while (dc->pending.head) {
		struct le *le = dc->pending.head;
		list_unlink(le);
		list_append(&j->in, le, le->data);
	}
	dc->start_pending = dc->tick_pending = false;
	dc->busy = true;
	if (port_work_submit(job_run, job_done, j)) {
		job_run(j);
		job_done(j);
	}
}

static void conn_destructor(void *arg)
{
	struct dtls_srtp *dc = arg;
	mbedtls_ssl_free(&dc->ssl);
	mbedtls_ssl_config_free(&dc->conf);
	mem_deref(dc->tmr);
	mem_deref(dc->cert);
	mem_deref(dc->hello);
	list_flush(&dc->pending);
}

int dtls_srtp_alloc(struct dtls_srtp **dcp, struct dtls_cert *cert,
		    enum dtls_role role, const char *remote_fingerprint,
		    dtls_srtp_send_h *sendh, dtls_srtp_estab_h *estabh,
		    dtls_srtp_close_h *closeh, void *arg)
{
	struct dtls_srtp *dc;
	int err = 0;

	if (!dcp || !cert || !remote_fingerprint || !sendh ||
	    strlen(remote_fingerprint) != DTLS_FP_LEN)
		return EINVAL;
	dc = mem_zalloc(sizeof(*dc), conn_destructor);
	if (!dc)
		return ENOMEM;
	mbedtls_ssl_config_init(&dc->conf);
	mbedtls_ssl_init(&dc->ssl);
	dc->cert = mem_ref(cert);
	dc->role = role;
	str_ncpy(dc->remote_fp, remote_fingerprint, sizeof(dc->remote_fp));
	dc->sendh = sendh;
	dc->estabh = estabh;
	dc->closeh = closeh;
	dc->arg = arg;
	err = port_timer_alloc(&dc->tmr);
	if (err)
		goto out;
	if (mbedtls_ssl_config_defaults(&dc->conf,
					role == DTLS_ROLE_CLIENT
						? MBEDTLS_SSL_IS_CLIENT
						: MBEDTLS_SSL_IS_SERVER,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM,
					MBEDTLS_SSL_PRESET_DEFAULT)) {
		err = EPROTO;
		goto out;
	}
	mbedtls_ssl_conf_min_version(&dc->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(&dc->conf, mbedtls_ctr_drbg_random, &cert->drbg);
	mbedtls_ssl_conf_curves(&dc->conf, key_exchange_groups);
	/* both sides present and check certificates (RFC 5763 5) */
	mbedtls_ssl_conf_authmode(&dc->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_verify(&dc->conf, verify_any, NULL);
	mbedtls_ssl_conf_ca_chain(&dc->conf, &cert->crt, NULL);
	mbedtls_ssl_conf_export_keys_ext_cb(&dc->conf, export_keys, dc);
	mbedtls_ssl_conf_handshake_timeout(&dc->conf, 500, 16000);
	/* ICE has already checked the peer's address: no cookie round trip */
	if (role == DTLS_ROLE_SERVER)
		mbedtls_ssl_conf_dtls_cookies(&dc->conf, NULL, NULL, NULL);
	if (mbedtls_ssl_conf_own_cert(&dc->conf, &cert->crt, &cert->key) ||
	    mbedtls_ssl_conf_dtls_srtp_protection_profiles(&dc->conf,
							   srtp_profiles) ||
	    mbedtls_ssl_setup(&dc->ssl, &dc->conf)) {
		err = EPROTO;
		goto out;
	}
	mbedtls_ssl_set_bio(&dc->ssl, dc, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_timer_cb(&dc->ssl, dc, timer_set, timer_get);
	mbedtls_ssl_set_mtu(&dc->ssl, 1200);
out:
	if (err)
		mem_deref(dc);
	else
		*dcp = dc;
	return err;
}

int dtls_srtp_start(struct dtls_srtp *dc)
{
	if (!dc)
		return EINVAL;
	if (dc->role == DTLS_ROLE_CLIENT) {
		dc->start_pending = true;
		kick(dc);
	}
	return 0;
}

static uint32_t be24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static void feed(struct dtls_srtp *dc, const uint8_t *buf, size_t len);

/* Collects ClientHello fragments of one datagram. Returns true when it
 * took the datagram (fed the whole message, or is still waiting). */
static bool hello_fragments(struct dtls_srtp *dc, const uint8_t *buf,
			    size_t len)
{
	struct hello_reasm *h = dc->hello;
	size_t pos = 0;
	bool took = false;

	while (pos + REC_HDR + HS_HDR <= len) {
		const uint8_t *r = buf + pos, *hs = r + REC_HDR;
		size_t rlen = ((size_t)r[11] << 8) | r[12];
		uint32_t mlen, off, flen;

		if (r[0] != 22 || pos + REC_HDR + rlen > len || rlen < HS_HDR ||
		    hs[0] != 1 || r[3] != 0 || r[4] != 0)
			return took; /* not a ClientHello record of epoch 0 */
		mlen = be24(hs + 1);
		off = be24(hs + 6);
		flen = be24(hs + 9);
		if (flen + HS_HDR > rlen || off + flen > mlen)
			return took;
		if (off == 0 && flen == mlen)
			return took; /* whole: mbedTLS can take it */
		if (mlen > HELLO_MAX)
			return took; /* too big: let mbedTLS refuse it */
		if (!h) {
			h = dc->hello = mem_zalloc(sizeof(*h), NULL);
			if (!h)
				return took;
			memcpy(h->rec, r, REC_HDR);
			memcpy(h->hs, hs, HS_HDR);
			h->len = mlen;
		}
		if (mlen != h->len)
			return took;
		for (uint32_t i = 0; i < flen; i++) {
			if (!h->got[off + i]) {
				h->got[off + i] = 1;
				h->body[off + i] = hs[HS_HDR + i];
				h->have++;
			}
		}
		took = true;
		pos += REC_HDR + rlen;
	}
	if (h && h->have == h->len) {
		size_t n = REC_HDR + HS_HDR + h->len;
		uint8_t *whole = mem_alloc(n, NULL);
		if (whole) {
			memcpy(whole, h->rec, REC_HDR);
			whole[11] = (uint8_t)((HS_HDR + h->len) >> 8);
			whole[12] = (uint8_t)(HS_HDR + h->len);
			memcpy(whole + REC_HDR, h->hs, HS_HDR);
			/* fragment_offset 0, fragment_length = length */
			memset(whole + REC_HDR + 6, 0, 3);
			memcpy(whole + REC_HDR + 9, whole + REC_HDR + 1, 3);
			memcpy(whole + REC_HDR + HS_HDR, h->body, h->len);
			dc->hello = mem_deref(dc->hello);
			dc->hello_whole = true;
			feed(dc, whole, n);
			mem_deref(whole);
		}
	}
	return took;
}

int dtls_srtp_recv(struct dtls_srtp *dc, const uint8_t *buf, size_t len)
{
	if (!dc || !buf || !len)
		return EINVAL;
	if (dc->closed)
		return ENOTCONN;
	if (dc->forgotten)
		return 0; /* a late resend or an alert: nothing to answer */
	if (dc->role == DTLS_ROLE_SERVER && !dc->hello_whole) {
		bool took = hello_fragments(dc, buf, len);
		if (took)
			return 0;
		dc->hello_whole = true;
	}
	feed(dc, buf, len);
	return 0;
}

/* Queues a copy for the next step. A peer that sends faster than steps
 * run loses the excess: DTLS retransmits what mattered. */
static void feed(struct dtls_srtp *dc, const uint8_t *buf, size_t len)
{
	struct dtls_datagram *d;
	if (list_count(&dc->pending) >= PENDING_MAX)
		return;
	d = mem_alloc(sizeof(*d) + len, NULL);
	if (!d)
		return;
	memset(&d->le, 0, sizeof(d->le));
	d->len = len;
	memcpy(d->buf, buf, len);
	list_append(&dc->pending, &d->le, d);
	kick(dc); /* its job holds dc while a handler may release it */
}

bool dtls_srtp_established(const struct dtls_srtp *dc)
{
	return dc && dc->up;
}

void dtls_srtp_peer_confirmed(struct dtls_srtp *dc)
{
	if (!dc || !dc->up || dc->confirmed)
		return;
	dc->confirmed = true;
	if (!dc->busy)
		forget(dc);
}

bool dtls_srtp_forgotten(const struct dtls_srtp *dc)
{
	return dc && dc->forgotten;
}
