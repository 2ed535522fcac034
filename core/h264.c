/*
 * h264.c - keyframe detection in H264 RTP payloads.
 */
#include "h264.h"

enum { NAL_IDR = 5, NAL_SPS = 7, NAL_STAP_A = 24, NAL_FU_A = 28 };

static bool key_nal(uint8_t type)
{
	return type == NAL_IDR || type == NAL_SPS;
}

bool h264_is_keyframe(const uint8_t *p, size_t len)
{
	uint8_t type;

	if (!p || len < 1)
		return false;
	type = p[0] & 0x1f;
	if (type == NAL_STAP_A) {
		/* aggregated NAL units, each after a 16-bit size */
		size_t i = 1;
		while (i + 2 < len) {
			size_t n = ((size_t)p[i] << 8) | p[i + 1];
			i += 2;
			if (n == 0 || i + n > len)
				return false;
			if (key_nal(p[i] & 0x1f))
				return true;
			i += n;
		}
		return false;
	}
	if (type == NAL_FU_A) {
		/* the first fragment (S bit) carries the NAL type */
		return len >= 2 && (p[1] & 0x80) && key_nal(p[1] & 0x1f);
	}
	return key_nal(type);
}
