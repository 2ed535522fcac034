/*
 * vp8.h - the VP8 RTP payload descriptor (RFC 7741 4.2): what a router
 * needs to switch simulcast layers cleanly: where a frame starts, whether
 * it is a keyframe, and the picture ID and TL0PICIDX, which it rewrites so
 * the receiver sees one continuous stream across switches.
 */
#ifndef MEESHY_CORE_VP8_H
#define MEESHY_CORE_VP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vp8_desc {
	size_t len;        /* descriptor bytes before the VP8 payload */
	bool start;        /* S: first packet of a partition */
	uint8_t partition; /* PID */
	bool has_picture_id, picture_id_15bit;
	uint16_t picture_id;
	bool has_tl0;
	uint8_t tl0picidx;
	bool keyframe; /* start of partition 0 of a key frame */
};

/* Returns 0, or EBADMSG when the payload is too short for what it says. */
int vp8_desc_parse(struct vp8_desc *d, const uint8_t *payload, size_t len);
/* Writes picture ID (kept at the packet's width) and TL0PICIDX in place. */
void vp8_desc_rewrite(uint8_t *payload, const struct vp8_desc *d,
		      uint16_t picture_id, uint8_t tl0picidx);

#endif
