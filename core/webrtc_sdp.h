/*
 * webrtc_sdp.h - the plain-SDP path: read a browser's offer, write the SFU's
 * answer (JSEP, RFC 8829; BUNDLE, rtcp-mux, ICE-lite).
 *
 * Only what an SFU needs is read: ICE credentials, the DTLS fingerprint and
 * setup role, and per m-line the mid, direction, codecs (rtpmap, fmtp,
 * rtcp-fb), header extensions and the sending SSRC (with its RTX partner).
 * Every line is length-checked; an offer that lacks what WebRTC requires is
 * refused with a sentence that names what is missing.
 */
#ifndef MEESHY_CORE_WEBRTC_SDP_H
#define MEESHY_CORE_WEBRTC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mbuf;

enum {
	WEBRTC_SDP_MAX_MEDIA = 16,
	WEBRTC_SDP_MAX_CODECS = 32,
	WEBRTC_SDP_MAX_EXT = 16,
	WEBRTC_SDP_TOKEN = 64,
	WEBRTC_SDP_FMTP = 256,
};

enum media_kind { MEDIA_AUDIO, MEDIA_VIDEO };
enum media_dir { DIR_SENDRECV, DIR_SENDONLY, DIR_RECVONLY, DIR_INACTIVE };

struct sdp_codec {
	uint8_t pt;
	char name[WEBRTC_SDP_TOKEN]; /* "VP8", "opus", "rtx" ... */
	uint32_t clock;
	uint8_t channels;
	char fmtp[WEBRTC_SDP_FMTP];
	bool nack, nack_pli, ccm_fir, remb, transport_cc;
	int apt; /* rtx: the payload type it repairs, else -1 */
};

struct sdp_ext {
	uint8_t id;
	char uri[128];
};

struct sdp_media {
	enum media_kind kind;
	char kind_name[16]; /* as offered: "audio", "video", "application" */
	char proto[40];
	char first_fmt[16]; /* to echo in a rejected m-line */
	char mid[WEBRTC_SDP_TOKEN];
	enum media_dir dir; /* as the offerer sees it */
	bool rejected;      /* port 0, or not UDP/TLS/RTP/SAVPF */
	size_t ncodecs;
	struct sdp_codec codecs[WEBRTC_SDP_MAX_CODECS];
	size_t nexts;
	struct sdp_ext exts[WEBRTC_SDP_MAX_EXT];
	uint32_t ssrc, rtx_ssrc; /* what the offerer sends, 0 if none */
	char msid[2 * WEBRTC_SDP_TOKEN + 2];
};

struct webrtc_offer {
	char ice_ufrag[257], ice_pwd[257];
	char fingerprint[96]; /* sha-256 */
	char setup[16];       /* actpass | active | passive */
	size_t nmedia;
	struct sdp_media media[WEBRTC_SDP_MAX_MEDIA];
};

/* Parses an offer. Returns 0, or EBADMSG with a sentence in why. */
int webrtc_offer_parse(struct webrtc_offer *o, const char *sdp, size_t len,
		       char *why, size_t whysize);
/* The first codec of a media section with this name (case-insensitive),
 * or NULL. */
const struct sdp_codec *sdp_media_codec(const struct sdp_media *m,
					const char *name);

/* Header extensions the SFU reads. */
#define SDP_EXT_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define SDP_EXT_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define SDP_EXT_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define SDP_EXT_REPAIRED_RID                                                   \
	"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define SDP_EXT_TWCC                                                           \
	"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-"         \
	"extensions-01"
/* ... and writes: the send time on video to receivers, whose bandwidth
 * estimate (REMB) it feeds */
#define SDP_EXT_ABS_SEND_TIME                                                  \
	"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
/* The id of an offered header extension, or 0. */
uint8_t sdp_media_ext_id(const struct sdp_media *m, const char *uri);

/* What the SFU answers for one m-line. */
struct answer_media {
	const struct sdp_media *offer; /* the offered section */
	const struct sdp_codec *codec; /* chosen codec, NULL to reject */
	enum media_dir dir;            /* as the SFU sees it */
	uint32_t send_ssrc;            /* when the SFU sends on it */
	char send_msid[2 * WEBRTC_SDP_TOKEN + 2];
};

struct answer_params {
	const char *ice_ufrag, *ice_pwd, *fingerprint;
	const char *setup; /* "passive" or "active" */
	const char *ip;    /* the announced address */
	uint16_t port;
	size_t nmedia;
	struct answer_media media[WEBRTC_SDP_MAX_MEDIA];
};

int webrtc_answer_print(struct mbuf *mb, const struct answer_params *a);

#endif
