/*
 * webrtc_transport.h - WebRTC transports on a shared UDP port.
 *
 * As in mediasoup, a webrtc_server is one UDP port that many transports
 * share: every browser sends STUN, DTLS, SRTP and SRTCP to the same host
 * candidate (BUNDLE, rtcp-mux). The server tells them apart by the ICE
 * ufrag of the STUN binding requests, then by the 5-tuple the browser
 * nominated. A transport answers ICE (lite), runs DTLS-SRTP over the
 * nominated tuple, and hands decrypted RTP/RTCP to its owner.
 *
 * Packets that fit nowhere (unknown tuple, no SRTP yet, failed
 * authentication, malformed) are dropped and counted in the server stats.
 */
#ifndef MEESHY_CORE_WEBRTC_TRANSPORT_H
#define MEESHY_CORE_WEBRTC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dtls_srtp.h"

struct sa;

enum { WEBRTC_CONSENT_TIMEOUT_MS = 30000 };

/* Forwarding delay buckets (µs): an RTP packet's arrival at the socket
 * (the kernel's stamp) to the send call of each copy made of it. */
enum { WEBRTC_DELAY_BUCKETS = 10 };
extern const uint32_t webrtc_delay_bounds_us[WEBRTC_DELAY_BUCKETS];

struct webrtc_server_stats {
	uint64_t rx_stun, rx_dtls, rx_rtp, rx_rtcp;
	uint64_t drop_unknown_tuple, drop_malformed, drop_srtp, drop_no_srtp;
	uint64_t ice_refused, tx_pkts, tx_bytes, tx_dropped;
	uint64_t tx_calls; /* send system calls: tx_pkts / tx_calls is how
			    * well egress is batched */
	/* copies sent of RTP packets, by delay: delay[i] counts those within
	 * webrtc_delay_bounds_us[i] (and over the one before), the last
	 * those over every bound */
	uint64_t delay[WEBRTC_DELAY_BUCKETS + 1];
	uint64_t delay_n, delay_sum_us;
};

struct webrtc_server;

/* laddr: where to bind; announced: the address browsers are told (NULL:
 * laddr's; port 0: the bound port). */
int webrtc_server_alloc(struct webrtc_server **srvp, const struct sa *laddr,
			const struct sa *announced);
/* The announced address with the bound port: the host candidate. */
int webrtc_server_candidate(const struct webrtc_server *srv, struct sa *addr);
const char *webrtc_server_fingerprint(const struct webrtc_server *srv);
void webrtc_server_stats(const struct webrtc_server *srv,
			 struct webrtc_server_stats *st);
/* Adds every count of x to sum (a process's total over its servers). */
void webrtc_server_stats_add(struct webrtc_server_stats *sum,
			     const struct webrtc_server_stats *x);

enum webrtc_transport_state {
	WEBRTC_NEW,       /* waiting for the browser's ICE checks */
	WEBRTC_CONNECTED, /* ICE nominated a tuple; DTLS under way */
	WEBRTC_SECURED,   /* DTLS done: SRTP flows */
	WEBRTC_CLOSED,    /* failed, or consent expired */
};

struct webrtc_transport;

/* Decrypted RTP or RTCP, in place in a buffer of `size` bytes. */
typedef void(webrtc_packet_h)(struct webrtc_transport *t, uint8_t *buf,
			      size_t len, size_t size, bool rtcp, void *arg);
/* An RTP packet before it is decrypted: its header in clear, then its
 * payload still encrypted (len: without the authentication tag). True:
 * decrypt it and pass it on (webrtc_packet_h); false: its header was all
 * that was needed, and the packet is done with. */
typedef bool(webrtc_peek_h)(struct webrtc_transport *t, const uint8_t *buf,
			    size_t len, void *arg);
typedef void(webrtc_state_h)(struct webrtc_transport *t,
			     enum webrtc_transport_state state, const char *why,
			     void *arg);

int webrtc_transport_alloc(struct webrtc_transport **tp,
			   struct webrtc_server *srv, webrtc_packet_h *pkth,
			   webrtc_state_h *stateh, void *arg);
/* Asks peekh first, for every RTP packet (none: every one is decrypted). */
void webrtc_transport_set_peek(struct webrtc_transport *t,
			       webrtc_peek_h *peekh);
const char *webrtc_transport_ice_ufrag(const struct webrtc_transport *t);
const char *webrtc_transport_ice_pwd(const struct webrtc_transport *t);
enum webrtc_transport_state
webrtc_transport_state(const struct webrtc_transport *t);
/* The browser's DTLS fingerprint and the role we take (the browser's
 * "actpass" offer makes us the server, "passive" in our answer). */
int webrtc_transport_connect(struct webrtc_transport *t,
			     const char *remote_fingerprint,
			     enum dtls_role role);
/* Protects in place (buf has size bytes of room) and sends. */
int webrtc_transport_send(struct webrtc_transport *t, uint8_t *buf, size_t len,
			  size_t size, bool rtcp);

#endif
