/*
 * media_node.h - the media role: an SFU node that gateways place calls on.
 *
 * It runs one sfu_call per call placed here and answers gateways on an
 * internal HTTP/JSON API (docs/protocol.md, "Media node API"); it publishes
 * each call's active speaker to the call's room on the bus, and tells Redis
 * every second that it is alive and how loaded it is (media:nodes and
 * media:<id>:load with a 3 s expiry), which is what gateways place by.
 */
#ifndef MEESHY_MEDIA_NODE_H
#define MEESHY_MEDIA_NODE_H

#include <stdbool.h>
#include <stdint.h>

struct sa;
struct media_node;

struct media_node_config {
	const struct sa *listen;        /* internal API, /health, /metrics */
	const struct sa *rtc_listen;    /* the SFU's UDP port */
	const struct sa *rtc_announced; /* the address in candidates, or NULL */
	unsigned media_workers; /* threads, worker i on rtc_listen's port + i
				 * (0: the media on this loop) */
	const char *node_id;
	const char *redis_host;
	uint16_t redis_port;
	const char *redis_password; /* NULL or "": none */
	const char *api_url;        /* how gateways reach the API; NULL:
				     * http://<listen address> */
	/* what every /internal/ request is signed with (internal_auth.h);
	 * at least 16 bytes, copied */
	const uint8_t *internal_secret;
	size_t internal_secret_len;
};

int media_node_alloc(struct media_node **mp,
		     const struct media_node_config *cfg);
int media_node_local(const struct media_node *m, struct sa *laddr);

/* Draining (SIGTERM): no new calls (the heartbeat says draining), and each
 * call here is handed back to its gateways ("media:node-draining" on the
 * call's room), which place it on another node and move its participants.
 * done() runs once no call is left here, or after timeout_ms. */
typedef void(media_node_drained_h)(size_t calls_left, void *arg);
void media_node_drain(struct media_node *m, uint32_t timeout_ms,
		      media_node_drained_h *done, void *arg);

#endif
