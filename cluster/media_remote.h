/*
 * media_remote.h - the gateway's side of media nodes (role gateway): what
 * nodes are alive and how loaded (read from Redis every second), where a
 * call goes (placement), and requests to a node's internal API.
 *
 * A placed call counts towards its node's load at once, before the node's
 * next heartbeat says so, so that calls placed in the same second spread.
 */
#ifndef MEESHY_MEDIA_REMOTE_H
#define MEESHY_MEDIA_REMOTE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "placement.h"

struct redis;
struct media_remote;

/* A node's answer: err (the node did not answer; ECANCELED: we are
 * closing, touch nothing but arg) or its JSON body (valid during the
 * call). Every request gets exactly one answer. */
typedef void(media_remote_h)(int err, const cJSON *body, void *arg);

/* auth (borrowed, outliving the client) signs every request to a node. */
struct internal_auth;
int media_remote_alloc(struct media_remote **mrp, struct redis *redis,
		       const struct internal_auth *auth);
/* Picks the node for the call of `participants` and counts them on it
 * until the node's own heartbeat names the call (among its "fresh" ones);
 * returns 0 with its id and URL, or ENOENT when no node is alive. */
int media_remote_place(struct media_remote *mr, const char *call_id,
		       size_t participants, struct node_load *chosen);
/* The node said it drains: no new call goes there. */
void media_remote_draining(struct media_remote *mr, const char *node_id);
/* POSTs body to url + path; h (may be NULL) gets the answer. */
int media_remote_post(struct media_remote *mr, const char *url,
		      const char *path, const cJSON *body, media_remote_h *h,
		      void *arg);
/* The media door (media.h) onto the nodes: a call's media is opened by
 * placing it, requests and leaves go to its node, and releasing it closes
 * it there. */
struct media;
int media_remote_media(struct media **mp, struct media_remote *mr);
/* For tests and fuzzing, which hand in what Redis and the nodes answer:
 * a reply to the node table's HGETALL, or to a node's load GET, taken as
 * the refresh takes it; and posts going to post() instead of HTTP, which
 * must answer each once, later (never from inside the call). */
struct redisReply;
void media_remote_take_nodes(struct media_remote *mr,
			     const struct redisReply *reply);
void media_remote_take_load(struct media_remote *mr, const char *node_id,
			    const struct redisReply *reply);
typedef int(media_remote_post_h)(const char *uri, const cJSON *body,
				 media_remote_h *h, void *harg, void *arg);
void media_remote_set_post(struct media_remote *mr, media_remote_post_h *post,
			   void *arg);

/* The nodes as last read (for /health and tests). */
size_t media_remote_nodes(const struct media_remote *mr,
			  const struct node_load **nodes);

#endif
