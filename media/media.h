/*
 * media.h - a call's media, wherever it runs: on this process's SFU
 * (media_local.h, over the media workers) or on a media node reached over
 * HTTP (the cluster's media_remote.h). The call code holds a media_call
 * and speaks to it through this door only; which side carries it was
 * chosen by whoever built the struct media.
 *
 * A side is a table of operations (struct media_ops) and its state. Every
 * request and every leave gets exactly one answer: at once on this
 * process's SFU, later from a node. Releasing a media_call (mem_deref)
 * lets the call's media go, transports and all.
 */
#ifndef MEESHY_MEDIA_MEDIA_H
#define MEESHY_MEDIA_MEDIA_H
#include <stdbool.h>
#include <stddef.h>
struct cJSON;
struct fault;
struct media;
struct media_call;

enum { MEDIA_WHERE_MAX = 128 };

/* A request's answer; what it points at lives until the handler returns.
 * err ECANCELED: the side is closing; touch nothing but arg. */
struct media_answer {
	int err;
	const struct fault *fault; /* err: what went wrong (fault.h) */
	const struct cJSON *reply; /* else: the reply (an object) */
	const struct cJSON *news;  /* else: [{producerId, kind}] it made */
};
typedef void(media_answer_h)(const struct media_answer *a, void *arg);
/* A leave's answer: the ids of the producers it closed (an array; NULL
 * when the side could not say). */
typedef void(media_left_h)(const struct cJSON *producer_ids, void *arg);

/* What a side implements. `call` is the side's own object for one call
 * (a mem object: its destructor lets that call's media go). */
struct media_ops {
	/* The call's media: made here, or placed on a node (`where`, when
	 * given, the one it is on already: ENOENT if that is gone). Fills
	 * where_out with where it is. */
	int (*open)(void *side, const char *call_id, size_t participants,
		    const char *where, void **callp, char *where_out,
		    size_t size);
	int (*request)(void *call, const char *user, const char *event,
		       const struct cJSON *data, media_answer_h *h, void *arg);
	int (*leave)(void *call, const char *user, media_left_h *h, void *arg);
	/* Optional: the call's media is gone with what carried it (a media
	 * node that died without draining); NULL: never. */
	bool (*lost)(const void *call);
};

/* A side: ops and its state (held). */
int media_alloc(struct media **mp, const struct media_ops *ops, void *side);

/* The call's media on side m (see media_ops.open). */
int media_call_open(struct media_call **mcp, struct media *m,
		    const char *call_id, size_t participants,
		    const char *where);
/* The node (or, on this process's SFU, the server) that carries it. */
const char *media_call_where(const struct media_call *mc);
/* Whether what carried it is gone (then the call's media must move). */
bool media_call_lost(const struct media_call *mc);
/* A participant's media:* request: get-capabilities, offer, or one of
 * mediasoup-client's. Returns 0 and h gets the answer once, or returns an
 * errno value and h is never called. */
int media_call_request(struct media_call *mc, const char *user,
		       const char *event, const struct cJSON *data,
		       media_answer_h *h, void *arg);
/* The participant's media is gone. Returns 0 and h gets what closed
 * once, or returns an errno value and h is never called. */
int media_call_leave(struct media_call *mc, const char *user, media_left_h *h,
		     void *arg);

#endif
