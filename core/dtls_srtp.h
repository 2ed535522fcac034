/*
 * dtls_srtp.h - DTLS 1.2 for DTLS-SRTP (RFC 5763, RFC 5764) over mbedTLS.
 *
 * A media worker generates one ECDSA P-256 certificate at start and signals
 * its SHA-256 fingerprint. Each WebRTC transport runs one DTLS connection
 * over its ICE 5-tuple: datagrams come in with dtls_srtp_recv() and go out
 * through the send handler, so the connection never touches a socket. When
 * the handshake completes and the peer's certificate matches the fingerprint
 * it signaled, the established handler gets the SRTP keys (use_srtp).
 *
 * mbedTLS 2.28 (Debian 12) negotiates only the AES_CM_128_HMAC_SHA1_80/_32
 * profiles in use_srtp; AEAD_AES_128_GCM would need a newer mbedTLS.
 */
#ifndef MEESHY_CORE_DTLS_SRTP_H
#define MEESHY_CORE_DTLS_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DTLS_FP_LEN = 95,     /* "AB:CD:..." for 32 bytes */
	SRTP_MASTER_MAX = 46, /* key + salt, largest profile */
};

/* SRTP protection profiles, with their IANA numbers (RFC 5764, 7714). */
enum srtp_profile {
	SRTP_PROFILE_NONE = 0,
	SRTP_AES128_CM_SHA1_80 = 0x0001,
	SRTP_AES128_CM_SHA1_32 = 0x0002,
	SRTP_AEAD_AES_128_GCM = 0x0007,
};

struct dtls_cert;

/* A fresh self-signed ECDSA P-256 certificate, with the random generator
 * the worker's DTLS connections use (one per worker thread). */
int dtls_cert_generate(struct dtls_cert **certp, const char *common_name);
/* SHA-256 fingerprint as WebRTC signals it: 32 hex pairs joined by ':'. */
const char *dtls_cert_fingerprint(const struct dtls_cert *cert);

enum dtls_role { DTLS_ROLE_CLIENT, DTLS_ROLE_SERVER };

struct srtp_keys {
	enum srtp_profile profile;
	size_t key_len, salt_len;
	uint8_t local[SRTP_MASTER_MAX];  /* our sending key || salt */
	uint8_t remote[SRTP_MASTER_MAX]; /* the peer's sending key || salt */
};

struct dtls_srtp;

/* Sends one datagram towards the peer. */
typedef int(dtls_srtp_send_h)(const uint8_t *buf, size_t len, void *arg);
typedef void(dtls_srtp_estab_h)(const struct srtp_keys *keys, void *arg);
/* The connection failed (handshake error, fingerprint mismatch, peer
 * closed): why is a sentence for the log. */
typedef void(dtls_srtp_close_h)(int err, const char *why, void *arg);

int dtls_srtp_alloc(struct dtls_srtp **dcp, struct dtls_cert *cert,
		    enum dtls_role role, const char *remote_fingerprint,
		    dtls_srtp_send_h *sendh, dtls_srtp_estab_h *estabh,
		    dtls_srtp_close_h *closeh, void *arg);
/* The client sends its ClientHello; a server waits for one. */
int dtls_srtp_start(struct dtls_srtp *dc);
/* One datagram from the peer (first byte 20-63, see packet_classify). */
int dtls_srtp_recv(struct dtls_srtp *dc, const uint8_t *buf, size_t len);
bool dtls_srtp_established(const struct dtls_srtp *dc);
/* The peer's SRTP or SRTCP authenticated with the exported keys, so it
 * has finished the handshake: the connection frees mbedTLS's state (about
 * 40 kB) and ignores DTLS from then on, the peer's close_notify included
 * (ICE consent ends the transport). Safe while a step runs: it frees
 * when the step is back. */
void dtls_srtp_peer_confirmed(struct dtls_srtp *dc);
bool dtls_srtp_forgotten(const struct dtls_srtp *dc);

#endif
