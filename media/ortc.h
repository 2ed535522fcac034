/*
 * ortc.h - the SFU as mediasoup-client expects it: router RTP
 * capabilities, WebRTC transports with ICE/DTLS parameters, producers and
 * consumers in mediasoup's shapes (the media:* events of the protocol).
 *
 * One ortc_room per call shares the call's router with the plain-SDP path;
 * one ortc_peer per participant holds its transports, producers and
 * consumers, and releases them all when it goes.
 */
#ifndef MEESHY_MEDIA_ORTC_H
#define MEESHY_MEDIA_ORTC_H

#include <stddef.h>

struct cJSON;
struct router;
struct webrtc_server;

struct ortc_room;
struct ortc_peer;

int ortc_room_alloc(struct ortc_room **roomp, struct webrtc_server *srv,
		    struct router *router);
/* [{producerId, userId, kind}] of every peer but `except` (may be NULL). */
struct cJSON *ortc_room_producers(const struct ortc_room *room,
				  const struct ortc_peer *except);

int ortc_peer_alloc(struct ortc_peer **peerp, struct ortc_room *room,
		    const char *user_id);
/* The ids of the peer's producers (for media:producer-closed). */
struct cJSON *ortc_peer_producer_ids(const struct ortc_peer *peer);

/* The peer and producer heard loudest since the last call, or 0 with
 * nobody speaking (ENOENT). */
int ortc_room_loudest(const struct ortc_room *room, const char **producer_id,
		      const char **user_id);
/* The user whose producer this is, or NULL. */
const char *ortc_room_producer_user(const struct ortc_room *room,
				    const char *producer_id);

/* The router's RTP capabilities (mediasoup RtpCapabilities). */
struct cJSON *ortc_capabilities(void);

/* One media:* request. On success fills reply (an object) and returns 0;
 * on failure returns an errno value and says why in *f (fault.h). */
struct fault;
int ortc_request(struct ortc_peer *peer, const char *event,
		 const struct cJSON *data, struct cJSON *reply,
		 struct fault *f);

#endif
