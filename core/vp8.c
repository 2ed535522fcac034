/*
 * vp8.c - VP8 payload descriptor parsing and rewriting (RFC 7741).
 */
#include <errno.h>
#include "vp8.h"

int vp8_desc_parse(struct vp8_desc *d, const uint8_t *p, size_t len)
{
	size_t i = 1;

	if (!d || !p || len < 1)
		return EBADMSG;
	*d = (struct vp8_desc){0};
	d->start = (p[0] & 0x10) != 0;
	d->partition = p[0] & 0x07;
	if (p[0] & 0x80) { /* X: the extension byte follows */
		uint8_t x;
		if (len < 2)
			return EBADMSG;
		x = p[1];
		i = 2;
		if (x & 0x80) { /* I: picture ID */
			if (i >= len)
				return EBADMSG;
			d->has_picture_id = true;
			if (p[i] & 0x80) {
				if (i + 1 >= len)
					return EBADMSG;
				d->picture_id_15bit = true;
				d->picture_id =
					(uint16_t)(((p[i] & 0x7f) << 8) |
						   p[i + 1]);
				i += 2;
			} else {
				d->picture_id = p[i] & 0x7f;
				i += 1;
			}
		}
		if (x & 0x40) { /* L: TL0PICIDX */
			if (i >= len)
				return EBADMSG;
			d->has_tl0 = true;
			d->tl0picidx = p[i++];
		}
		if (x & 0x30) { /* T or K: one byte of TID/Y/KEYIDX */
			if (i >= len)
				return EBADMSG;
			i++;
		}
	}
	d->len = i;
	/* the VP8 payload header's P bit is 0 on key frames */
	d->keyframe =
		d->start && d->partition == 0 && len > i && (p[i] & 0x01) == 0;
	return 0;
}

void vp8_desc_rewrite(uint8_t *p, const struct vp8_desc *d, uint16_t picture_id,
		      uint8_t tl0picidx)
{
	size_t i = 2;
	if (!p || !d || !(p[0] & 0x80))
		return;
	if (d->has_picture_id) {
		if (d->picture_id_15bit) {
			p[i] = (uint8_t)(0x80 | ((picture_id >> 8) & 0x7f));
			p[i + 1] = (uint8_t)picture_id;
			i += 2;
		} else {
			p[i] = picture_id & 0x7f;
			i += 1;
		}
	}
	if (d->has_tl0)
		p[i] = tl0picidx;
}
