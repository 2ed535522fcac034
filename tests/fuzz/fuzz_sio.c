/* Engine.IO payloads (polling bodies: packets split by 0x1e) and the
 * Socket.IO packets inside them, as a client's bytes reach eio.c and
 * sio.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "eio.h"
#include "sio.h"

static void on_packet(char type, const char *data, size_t len, void *arg)
{
	struct sio_packet pkt;
	(void)arg;
	if (type != '4') /* a message: the Socket.IO packet */
		return;
	memset(&pkt, 0, sizeof(pkt));
	if (!sio_packet_decode(&pkt, data, len))
		sio_packet_reset(&pkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sio_packet pkt;
	(void)eio_packet_valid((const char *)data, size);
	(void)eio_payload_decode((const char *)data, size, on_packet, NULL);
	/* and as one websocket message's Socket.IO packet */
	memset(&pkt, 0, sizeof(pkt));
	if (!sio_packet_decode(&pkt, (const char *)data, size))
		sio_packet_reset(&pkt);
	return 0;
}
