/* Engine.IO payloads (polling bodies: packets split by 0x1e, binary ones
 * base64) and the Socket.IO packets inside them, as a client's bytes reach
 * eio.c and sio.c; a packet that decodes is written again and must decode
 * to the same header (type, attachments, namespace, ack id). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "base64url.h"
#include "eio.h"
#include "sio.h"

static void round_trip(const struct sio_packet *pkt)
{
	struct mbuf *mb = mbuf_alloc(256);
	struct sio_packet again;

	if (!mb || sio_packet_write(mb, pkt)) {
		mem_deref(mb);
		return;
	}
	if (sio_packet_decode(&again, (const char *)mb->buf, mb->end) ||
	    again.type != pkt->type || again.id != pkt->id ||
	    again.attachments != pkt->attachments ||
	    strcmp(again.nsp, pkt->nsp))
		abort();
	sio_packet_reset(&again);
	mem_deref(mb);
}

static void sio_in(const char *data, size_t len)
{
	struct sio_packet pkt;
	if (sio_packet_decode(&pkt, data, len))
		return;
	(void)sio_placeholders_valid(pkt.data, pkt.attachments);
	round_trip(&pkt);
	sio_packet_reset(&pkt);
}

static void on_packet(char type, const char *data, size_t len, void *arg)
{
	(void)arg;
	if (type == EIO_MESSAGE) {
		sio_in(data, len);
	} else if (type == EIO_BINARY) {
		uint8_t *bytes = malloc(len / 4 * 3 + 1);
		size_t n = len / 4 * 3 + 1;
		if (bytes && base64_decode_padded(data, len, bytes, &n))
			abort(); /* eio_payload_decode checked it */
		free(bytes);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)eio_packet_valid((const char *)data, size);
	(void)eio_payload_decode((const char *)data, size, on_packet, NULL);
	/* and as one websocket message's Socket.IO packet */
	sio_in((const char *)data, size);
	return 0;
}
