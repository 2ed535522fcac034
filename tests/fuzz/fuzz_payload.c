/* What the router reads inside a packet: the RTP header and its
 * extensions, the VP8 payload descriptor (and its rewrite), whether an
 * H264 payload starts a keyframe; and transport-wide arrivals (two bytes
 * of sequence number, one of microseconds since the last) reported as
 * TWCC feedback. */
#include <stdint.h>
#include <string.h>
#include "packet.h"
#include "vp8.h"
#include "h264.h"
#include "twcc.h"

static void rtp(const uint8_t *data, size_t size)
{
	struct rtp_view v;
	const uint8_t *x;
	if (rtp_view_parse(&v, data, size))
		return;
	for (uint8_t id = 1; id <= 14; id++)
		(void)rtp_view_ext_find(&v, id, &x);
}

static void payloads(const uint8_t *data, size_t size)
{
	uint8_t copy[2048];
	struct vp8_desc d;
	if (size > sizeof(copy))
		size = sizeof(copy);
	memcpy(copy, data, size);
	if (!vp8_desc_parse(&d, copy, size) && d.len <= size)
		vp8_desc_rewrite(copy, &d, 0x7abc, 0x5d);
	(void)h264_is_keyframe(data, size);
}

static void twcc(const uint8_t *data, size_t size)
{
	static struct twcc_recv tw;
	uint8_t out[1500];
	uint64_t at = 1000000;
	unsigned feedbacks = 0;

	twcc_recv_init(&tw);
	/* a feedback walks up to the whole window: one after each arrival
	 * made a run of a 4 kB input cost a million steps (2 k runs a
	 * second); eight of them mid-stream cover the same paths */
	for (size_t i = 0; i + 3 <= size; i += 3) {
		at += data[i + 2] * 250u;
		twcc_recv_packet(&tw, (uint16_t)(data[i] << 8 | data[i + 1]),
				 at);
		if (data[i + 2] > 240 && feedbacks < 8) {
			feedbacks++;
			(void)twcc_recv_feedback(&tw, 1, 2, out, sizeof(out));
		}
	}
	(void)twcc_recv_feedback(&tw, 1, 2, out, sizeof(out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rtp(data, size);
	payloads(data, size);
	twcc(data, size);
	return 0;
}
