/*
 * twcc.h - transport-wide congestion control feedback, the receiving side
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01).
 *
 * A sender numbers every packet of a transport in a header extension; the
 * receiver notes when each one arrived and sends the arrival times back
 * (RTPFB, FMT 15) about every 100 ms. From them the sender's bandwidth
 * estimator (Chromium's) sees queues build or drain and sets its bitrate:
 * without this feedback a browser stays near its start bitrate and sends
 * only the low simulcast layers.
 *
 * The state is a plain struct, no allocation, so a router keeps one per
 * sending transport.
 */
#ifndef MEESHY_CORE_TWCC_H
#define MEESHY_CORE_TWCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TWCC_WINDOW = 1024 }; /* arrivals kept until reported */

struct twcc_arrival {
	bool got;
	uint16_t seq;
	uint64_t at_us;
};

struct twcc_recv {
	bool started, pending; /* pending: arrivals not reported yet */
	uint16_t base;         /* first sequence number not yet reported */
	uint16_t max;          /* newest sequence number seen */
	uint8_t fb_count;      /* feedback packet count, wraps */
	struct twcc_arrival slot[TWCC_WINDOW];
};

void twcc_recv_init(struct twcc_recv *tw);
/* Notes that the packet numbered seq arrived at at_us. */
void twcc_recv_packet(struct twcc_recv *tw, uint16_t seq, uint64_t at_us);
/* Writes one feedback packet into buf and returns its length, or 0 when
 * there is nothing to report (or size is too small). Packets that do not
 * fit are left for the next call. */
size_t twcc_recv_feedback(struct twcc_recv *tw, uint32_t sender_ssrc,
			  uint32_t media_ssrc, uint8_t *buf, size_t size);

#endif
