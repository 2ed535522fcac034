/*
 * packet.h - what arrives on a media port, and the RTP header in place.
 *
 * One UDP port carries STUN, DTLS, SRTP and SRTCP for every transport of a
 * worker (BUNDLE, rtcp-mux): the first byte tells them apart (RFC 7983) and
 * the payload type tells RTCP from RTP (RFC 5761). Parsing never copies and
 * checks every length before it reads: a malformed packet is reported, so
 * the caller can drop and count it.
 */
#ifndef MEESHY_CORE_PACKET_H
#define MEESHY_CORE_PACKET_H

#include <stddef.h>
#include <stdint.h>

enum packet_class {
	PACKET_UNKNOWN = 0,
	PACKET_STUN,
	PACKET_DTLS,
	PACKET_RTP,
	PACKET_RTCP,
};

enum packet_class packet_classify(const uint8_t *buf, size_t len);
const char *packet_class_name(enum packet_class c);

/* A parsed RTP header: pointers into the packet, no copies. */
struct rtp_view {
	uint8_t version, padding, extension, csrc_count, marker, pt;
	uint16_t seq;
	uint32_t ts, ssrc;
	uint16_t ext_profile; /* 0xBEDE one-byte, 0x100x two-byte */
	const uint8_t *ext;   /* extension data, ext_len bytes */
	size_t ext_len;
	const uint8_t *payload; /* after header, before padding */
	size_t payload_len;
	size_t header_len;
};

/* Returns 0, or EBADMSG when the packet is not a well-formed RTP packet. */
int rtp_view_parse(struct rtp_view *v, const uint8_t *buf, size_t len);

/* Finds a header extension by id in a one-byte (RFC 8285) block; returns its
 * length and sets *data, or 0 if absent. */
size_t rtp_view_ext_find(const struct rtp_view *v, uint8_t id,
			 const uint8_t **data);

/* Sequence number arithmetic with 16-bit wrap-around (RFC 3550 A.1). */
static inline int rtp_seq_newer(uint16_t a, uint16_t b)
{
	return a != b && (uint16_t)(a - b) < 0x8000;
}

#endif
