/* A websocket's bytes as a client sends them after the upgrade, handed
 * over in pieces as TCP would (the first byte: the piece size): frames
 * (masked or not, fragmented, control frames, lengths of every width)
 * parsed, joined into messages within max_payload, charged to the shared
 * budget; each whole message then goes where the gateway sends it, the
 * Engine.IO packet check and the Socket.IO decoder. Once the websocket is
 * gone the budget must hold nothing of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "httpd.h"
#include "ws.h"
#include "eio.h"
#include "sio.h"

static struct httpd_budget *budget;

static void recv_h(struct ws *ws, enum ws_opcode op, const uint8_t *data,
		   size_t len, void *arg)
{
	struct sio_packet pkt;
	(void)ws;
	(void)arg;
	if (op != WS_TEXT || !eio_packet_valid((const char *)data, len))
		return;
	if (data[0] == EIO_MESSAGE &&
	    !sio_packet_decode(&pkt, (const char *)data + 1, len - 1))
		sio_packet_reset(&pkt);
}

static void close_h(int err, void *arg)
{
	(void)err;
	(void)arg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	budget = libre_init() ? NULL : mem_zalloc(sizeof(*budget), NULL);
	if (!budget)
		abort();
	budget->limit = 64 * 1024;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ws_config cfg = {1000, 20000};
	struct ws *ws = NULL;
	size_t piece;

	if (!size ||
	    ws_alloc_unconnected(&ws, &cfg, budget, recv_h, close_h, NULL))
		return 0;
	piece = (size_t)data[0] + 1;
	for (size_t i = 1; i < size; i += piece) {
		size_t n = size - i < piece ? size - i : piece;
		struct mbuf *mb = mbuf_alloc(n);
		if (!mb)
			break;
		(void)mbuf_write_mem(mb, data + i, n);
		mb->pos = 0;
		ws_input(ws, mb);
		mem_deref(mb);
	}
	mem_deref(ws);
	if (budget->used)
		abort(); /* a websocket gone left a charge behind */
	return 0;
}
