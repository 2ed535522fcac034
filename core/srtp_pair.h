/*
 * srtp_pair.h - the SRTP/SRTCP contexts of one transport: one to protect
 * what we send, one to unprotect what we receive (libsrtp2).
 *
 * Keys come from the DTLS-SRTP handshake (dtls_srtp.h). Packets are
 * protected in place: the buffer must have SRTP_PAIR_TRAILER bytes of room
 * after the packet for the authentication tag (and the SRTCP index).
 * A packet that does not authenticate, or that is replayed, is refused with
 * EBADMSG so the caller drops and counts it.
 */
#ifndef MEESHY_CORE_SRTP_PAIR_H
#define MEESHY_CORE_SRTP_PAIR_H

#include <stddef.h>
#include <stdint.h>
#include "dtls_srtp.h"

enum { SRTP_PAIR_TRAILER = 16 + 4 };

/* libsrtp2 keeps process-wide tables: call once before any srtp_pair
 * (the composition root does). */
int srtp_pair_library_init(void);

struct srtp_pair;

int srtp_pair_alloc(struct srtp_pair **pp, const struct srtp_keys *keys);
int srtp_pair_protect_rtp(struct srtp_pair *p, uint8_t *buf, size_t *len,
			  size_t size);
int srtp_pair_unprotect_rtp(struct srtp_pair *p, uint8_t *buf, size_t *len);
/* The bytes an RTP packet received ends with (its authentication tag):
 * what is left without them is its header in clear, and its payload. */
size_t srtp_pair_rx_rtp_tag(const struct srtp_pair *p);
int srtp_pair_protect_rtcp(struct srtp_pair *p, uint8_t *buf, size_t *len,
			   size_t size);
int srtp_pair_unprotect_rtcp(struct srtp_pair *p, uint8_t *buf, size_t *len);

#endif
