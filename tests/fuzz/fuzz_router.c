/* Decrypted RTP and RTCP as the router gets them from one call's
 * transports: an Opus producer (audio level, transport-wide numbers), a
 * VP8 simulcast producer by SSRC with RTX, one by RID, an H264 one, and a
 * receiver consuming each (RTX, abs-send-time); RTP peeked at first
 * (router_rtp_peek), as the transport does. The input is a run of
 * records: a flags byte (bit 0 RTCP, bit 1 from the receiver, bit 2 a
 * feedback tick after it), a length byte, then that many bytes. */
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "router.h"

static int sink(struct webrtc_transport *t, uint8_t *buf, size_t len,
		size_t size, bool rtcp)
{
	(void)t;
	(void)buf;
	(void)len;
	(void)size;
	(void)rtcp;
	return 0;
}

/* What a call holds: every producer and consumer, freed together. */
struct call {
	struct router *r;
	struct producer *p[4];
	struct consumer *c[4];
};

static void call_make(struct call *k, struct webrtc_transport *pub,
		      struct webrtc_transport *sub)
{
	static const uint32_t vp8[3] = {0x2000, 0x2001, 0x2002};
	static const uint32_t rtx[3] = {0x3000, 0x3001, 0x3002};
	static const char *const rids[3] = {"q", "h", "f"};
	static const uint8_t pts[4] = {111, 96, 98, 102};

	memset(k, 0, sizeof(*k));
	if (router_alloc(&k->r, sink))
		return;
	if (!router_produce(&k->p[0], k->r, pub, MEDIA_AUDIO, 0x1111, 111,
			    "opus")) {
		producer_set_audio_level_ext(k->p[0], 1);
		(void)producer_set_twcc_ext(k->p[0], 3);
	}
	if (!router_produce_simulcast(&k->p[1], k->r, pub, 96, "VP8", 3, vp8,
				      NULL, 0))
		(void)producer_set_rtx(k->p[1], 97, rtx, 0);
	if (!router_produce_simulcast(&k->p[2], k->r, pub, 98, "VP8", 3, NULL,
				      rids, 4))
		(void)producer_set_rtx(k->p[2], 99, NULL, 5);
	(void)router_produce(&k->p[3], k->r, pub, MEDIA_VIDEO, 0x4444, 102,
			     "H264");
	for (int i = 0; i < 4; i++) {
		if (!k->p[i] || router_consume(&k->c[i], k->p[i], sub, pts[i]))
			continue;
		if (i > 0) {
			(void)consumer_set_rtx(k->c[i], (uint8_t)(pts[i] + 1));
			(void)consumer_set_abs_send_time(k->c[i], 2);
			consumer_set_preferred_layer(k->c[i], (unsigned)i % 3);
		}
	}
}

static void call_free(struct call *k)
{
	for (int i = 0; i < 4; i++) {
		mem_deref(k->c[i]);
		mem_deref(k->p[i]);
	}
	mem_deref(k->r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int pub_tag, sub_tag; /* the transports: identities only */
	struct webrtc_transport *pub = (struct webrtc_transport *)&pub_tag;
	struct webrtc_transport *sub = (struct webrtc_transport *)&sub_tag;
	uint8_t buf[300];
	struct call k;

	call_make(&k, pub, sub);
	if (!k.r)
		return 0;
	while (size >= 2) {
		uint8_t flags = data[0];
		size_t len = data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		memcpy(buf, data, len); /* the router may rewrite in place */
		/* RTP is peeked at first, as the server's transport does */
		if ((flags & 1) ||
		    router_rtp_peek(k.r, flags & 2 ? sub : pub, buf, len))
			router_packet(k.r, flags & 2 ? sub : pub, buf, len,
				      sizeof(buf), flags & 1);
		if (flags & 4) {
			router_feedback(k.r);
			router_report(k.r);
			(void)router_loudest(k.r);
		}
		data += len;
		size -= len;
	}
	call_free(&k);
	return 0;
}
