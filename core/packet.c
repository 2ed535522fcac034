/*
 * packet.c - demultiplexing and RTP header parsing for the media port.
 */
#include <errno.h>
#include "packet.h"

enum packet_class packet_classify(const uint8_t *buf, size_t len)
{
	uint8_t b;

	if (!buf || len == 0)
		return PACKET_UNKNOWN;
	b = buf[0];
	/* RFC 7983: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP */
	if (b <= 3)
		return len >= 20 ? PACKET_STUN : PACKET_UNKNOWN;
	if (b >= 20 && b <= 63)
		return len >= 13 ? PACKET_DTLS : PACKET_UNKNOWN;
	if (b >= 128 && b <= 191 && len >= 8) {
		/* RFC 5761: RTCP packet types 192-223 sit where RTP has
		 * the marker bit and payload types 64-95. */
		uint8_t pt = buf[1];
		if (pt >= 192 && pt <= 223)
			return PACKET_RTCP;
		return len >= 12 ? PACKET_RTP : PACKET_UNKNOWN;
	}
	return PACKET_UNKNOWN;
}

const char *packet_class_name(enum packet_class c)
{
	switch (c) {
	case PACKET_STUN:
		return "stun";
	case PACKET_DTLS:
		return "dtls";
	case PACKET_RTP:
		return "rtp";
	case PACKET_RTCP:
		return "rtcp";
	default:
		return "unknown";
	}
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

int rtp_view_parse(struct rtp_view *v, const uint8_t *buf, size_t len)
{
	size_t pos = 12, pad = 0;

	if (!v || !buf || len < 12)
		return EBADMSG;
	v->version = buf[0] >> 6;
	v->padding = (buf[0] >> 5) & 1;
	v->extension = (buf[0] >> 4) & 1;
	v->csrc_count = buf[0] & 0x0f;
	v->marker = buf[1] >> 7;
	v->pt = buf[1] & 0x7f;
	v->seq = be16(buf + 2);
	v->ts = be32(buf + 4);
	v->ssrc = be32(buf + 8);
	v->ext_profile = 0;
	v->ext = NULL;
	v->ext_len = 0;
	if (v->version != 2)
		return EBADMSG;
	pos += 4u * v->csrc_count;
	if (pos > len)
		return EBADMSG;
	if (v->extension) {
		size_t words;
		if (pos + 4 > len)
			return EBADMSG;
		v->ext_profile = be16(buf + pos);
		words = be16(buf + pos + 2);
		pos += 4;
		if (pos + 4 * words > len)
			return EBADMSG;
		v->ext = buf + pos;
		v->ext_len = 4 * words;
		pos += 4 * words;
	}
	if (v->padding) {
		if (len == pos)
			return EBADMSG;
		pad = buf[len - 1];
		if (pad == 0 || pos + pad > len)
			return EBADMSG;
	}
	v->header_len = pos;
	v->payload = buf + pos;
	v->payload_len = len - pos - pad;
	return 0;
}

size_t rtp_view_ext_find(const struct rtp_view *v, uint8_t id,
			 const uint8_t **data)
{
	size_t i = 0;

	if (!v || !v->ext || v->ext_profile != 0xBEDE || id == 0 || id > 14)
		return 0;
	while (i < v->ext_len) {
		uint8_t b = v->ext[i], eid = b >> 4;
		size_t elen = (size_t)(b & 0x0f) + 1;
		if (b == 0) { /* padding between elements */
			i++;
			continue;
		}
		if (eid == 15)
			break; /* reserved: stop, per RFC 8285 */
		if (i + 1 + elen > v->ext_len)
			break;
		if (eid == id) {
			*data = v->ext + i + 1;
			return elen;
		}
		i += 1 + elen;
	}
	return 0;
}
