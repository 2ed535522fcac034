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
	const char *node_id;
	const char *redis_host;
	uint16_t redis_port;
	const char *api_url;            /* how gateways reach the API; NULL:
					 * http://<listen address> */
};

int media_node_alloc(struct media_node **mp,
		     const struct media_node_config *cfg);
int media_node_local(const struct media_node *m, struct sa *laddr);

#endif
