/*
 * codecs.h - the codecs the SFU forwards, once for the whole server: what
 * mediasoup-client is told (the router's RTP capabilities), what a
 * producer may send, the payload types consumers get, and what the
 * plain-SDP path picks from an offer.
 */
#ifndef MEESHY_MEDIA_CODECS_H
#define MEESHY_MEDIA_CODECS_H
#include <stddef.h>
#include <stdint.h>
#include "webrtc_sdp.h"
struct cJSON;

struct media_codec {
	const char *mime; /* mediasoup's mimeType, "audio/opus" */
	const char *name; /* SDP's encoding name, "opus" */
	enum media_kind kind;
	uint8_t pt;     /* towards consumers (preferredPayloadType) */
	uint8_t rtx_pt; /* its RTX towards consumers; 0: none */
	uint32_t clock_rate;
	uint8_t channels;       /* 0: not said (video) */
	const char *parameters; /* a JSON object's text */
};

/* In the order of preference: the first of a kind is what the plain-SDP
 * path forwards. */
extern const struct media_codec media_codecs[];
extern const size_t media_codecs_count;

/* The codec of that mimeType (case-insensitive), or NULL. */
const struct media_codec *media_codec_by_mime(const char *mime);
/* The preferred codec of a kind. */
const struct media_codec *media_codec_first(enum media_kind kind);
/* The codec as the capabilities describe it (mediasoup
 * RtpCodecCapability); the caller owns it. */
struct cJSON *media_codec_capability(const struct media_codec *c);
/* The capabilities' codecs array (mediasoup RtpCodecCapability, each
 * followed by its RTX); the caller owns it. */
struct cJSON *media_codecs_json(void);

#endif
