/*
 * sfu_call.h - one call's media on this process's SFU: its router, the
 * mediasoup-client peers and plain-SDP sessions of its participants, and
 * its periodic media work.
 *
 * Role all drives it from the call's Socket.IO events; role media from
 * gateways' requests on the internal API. Both speak the same request: a
 * participant, a media:* event and its data, answered at once.
 */
#ifndef MEESHY_SFU_CALL_H
#define MEESHY_SFU_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "router.h"

struct webrtc_server;
struct sfu_call;

int sfu_call_alloc(struct sfu_call **scp, struct webrtc_server *srv);
/* Whether the event is one sfu_call_request answers. */
bool sfu_call_handles(const char *event);
/* Participant user's request: media:get-capabilities, media:offer
 * (plain SDP) or one of ortc's (create-transport ... set-preferred-layers).
 * On success fills reply and appends {producerId, kind} to news for each
 * producer it made; else returns an errno value, with the fault (its code
 * and a sentence naming the bad value) in *f. */
struct fault;
int sfu_call_request(struct sfu_call *sc, const char *user, const char *event,
		     const cJSON *data, cJSON *reply, cJSON *news,
		     struct fault *f);
/* Whether user has media here (a mediasoup-client peer or an SDP session). */
bool sfu_call_has(const struct sfu_call *sc, const char *user);
/* User's media is gone; the ids of the producers that closed are appended
 * to closed. */
void sfu_call_leave(struct sfu_call *sc, const char *user, cJSON *closed);
/* Call every 100 ms with a counter: transport feedback each time, receiver
 * reports every 10th. Every 5th, returns true when the active speaker
 * changed, with its producer and user. */
bool sfu_call_tick(struct sfu_call *sc, unsigned tick, const char **producer_id,
		   const char **user_id);
size_t sfu_call_peers(const struct sfu_call *sc);
void sfu_call_stats(const struct sfu_call *sc, struct router_stats *st);

#endif
