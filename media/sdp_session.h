/*
 * sdp_session.h - the plain-SDP path of the SFU (media:offer): one media
 * session per participant, holding its WebRTC transport and the producers
 * and consumers its offer asked for, in the call's router.
 */
#ifndef MEESHY_MEDIA_SDP_SESSION_H
#define MEESHY_MEDIA_SDP_SESSION_H

#include <stddef.h>

struct cJSON;
struct router;
struct webrtc_server;
struct media_session;

/* Answers an offer: makes the transport, a producer for each stream the
 * offer sends, a consumer for each stream it wants to receive (from the
 * other participants' producers). *answerp is the SDP (mem string);
 * new_producers gets {producerId, kind} for each producer made. On a bad
 * offer returns EBADMSG with the reason in why. */
int media_session_offer(struct media_session **msp, struct webrtc_server *srv,
			struct router *router, const char *owner,
			const char *sdp, char **answerp,
			struct cJSON *new_producers, char *why, size_t whysize);
/* Counts for stats and tests. */
size_t media_session_producers(const struct media_session *ms);
size_t media_session_consumers(const struct media_session *ms);

#endif
