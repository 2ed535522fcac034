/*
 * media_workers.h - the SFU's media workers: threads, each with a libre
 * loop, a UDP socket (webrtc_server) and the routers of the calls placed
 * on it, as mediasoup's workers. A call's media lives on one worker, the
 * one with the fewest calls when it first needs the SFU, so its packets
 * never cross a thread and the packet path takes no lock.
 *
 * The signaling loop reaches a call's media through worker_call_*: each
 * runs the sfu_call request on the worker's loop while the caller waits (a
 * control request now and then, never a packet), so the answers are those
 * of sfu_call.h. With 0 workers the media runs on the creator's loop, as a
 * single-threaded server. Active speakers come back to the creator's loop
 * through speakerh, without a wait.
 *
 * Every function here is for the creator's thread.
 */
#ifndef MEESHY_MEDIA_WORKERS_H
#define MEESHY_MEDIA_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "router.h"
#include "webrtc_transport.h"

struct sa;
struct media_workers;
struct worker_call;

struct media_workers_config {
	unsigned workers; /* threads; 0: media on the creator's loop */
	/* worker i binds listen's address at port + i (port 0: each its
	 * own); announced (or NULL) is what candidates say, its port
	 * shifted the same way */
	const struct sa *listen;
	const struct sa *announced;
};

/* A call's active speaker changed (on the creator's loop). */
typedef void(media_speaker_h)(const char *call_id, const char *producer_id,
			      const char *user_id, void *arg);

/* Starts the workers; returns once each has its socket, or the first
 * error (EADDRINUSE: a worker's port is taken). */
int media_workers_alloc(struct media_workers **mwp,
			const struct media_workers_config *cfg,
			media_speaker_h *speakerh, void *arg);
/* Who hears of active speakers from now on (on the creator's loop; set
 * by the gateway, built after the workers). */
void media_workers_set_speaker(struct media_workers *mw,
			       media_speaker_h *speakerh, void *arg);
/* How many media loops: the workers, or 1 for the creator's own. */
unsigned media_workers_count(const struct media_workers *mw);
/* Logs the workers and their UDP ports (at info). */
void media_workers_log(struct media_workers *mw);

struct media_worker_stats {
	size_t calls, peers;
	struct router_stats router; /* its calls', ended ones included */
	struct webrtc_server_stats udp;
	uint16_t port; /* the host candidate's */
};
/* Worker i's figures, read on its loop. */
void media_workers_stats(struct media_workers *mw, unsigned i,
			 struct media_worker_stats *st);

/* The call's media, on the least loaded worker. */
int worker_call_alloc(struct worker_call **mcp, struct media_workers *mw,
		      const char *call_id);
/* Which worker holds it (0 ..count-1). */
unsigned worker_call_worker(const struct worker_call *mc);
/* Participants with media in it (sfu_call_peers). */
size_t worker_call_peers(struct worker_call *mc);
struct fault;
/* sfu_call_request and sfu_call_leave (sfu_call.h) on the call's worker. */
int worker_call_request(struct worker_call *mc, const char *user,
			const char *event, const cJSON *data, cJSON *reply,
			cJSON *news, struct fault *f);
void worker_call_leave(struct worker_call *mc, const char *user, cJSON *closed);

#endif
