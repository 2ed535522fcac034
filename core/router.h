/*
 * router.h - one call's media: producers (streams a participant sends) and
 * consumers (a producer's stream sent to another participant), forwarded
 * between WebRTC transports. The mediasoup model, kept small.
 *
 * Forwarding rewrites per consumer what the receiver negotiated: SSRC and
 * payload type; header extensions and CSRCs are dropped. A simulcast
 * producer has up to three layers (encodings, lowest first), found by SSRC
 * or by their RID header extension; each consumer forwards one layer, its
 * preferred one, and switches only on a keyframe of the new layer, with
 * sequence numbers, timestamps and the VP8 picture ID / TL0PICIDX rewritten
 * so the receiver sees one continuous stream. A sender's RTCP sender report
 * reaches the receivers of that layer in their own terms (SSRC, timestamp
 * space, counts), so they can line audio and video up. A receiver's PLI
 * or FIR becomes a PLI towards the producer, at most one per producer every
 * 300 ms; its NACKs are answered from a buffer of each layer's last 256
 * packets, on an RTX stream when the receiver has one. What a sender's
 * video stream lost on its way in is asked for with NACKs (again every
 * ~100 ms, at most 5 times), and its retransmissions are forwarded. Every
 * sender gets RTCP receiver reports once a second, and transport-wide
 * congestion control feedback ten times a second.
 */
#ifndef MEESHY_CORE_ROUTER_H
#define MEESHY_CORE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "webrtc_sdp.h"

struct webrtc_transport;

struct router_stats {
	uint64_t rtp_in, rtp_forwarded, bytes_forwarded, rtcp_in;
	uint64_t drop_unknown_ssrc, drop_malformed, pli_sent, send_errors;
	uint64_t nack_requested, nack_resent, nack_missed;
	uint64_t rr_sent, sr_sent, twcc_sent, rtx_in, rtx_probe, nack_sent;
	uint64_t layer_down, layer_up;                /* by receivers' loss */
	uint64_t remb_in, layer_down_bw, layer_up_bw; /* by their estimate */
	uint64_t rtp_header_only; /* of rtp_in: not decrypted (peeked at) */
};

struct router;
struct producer;
struct consumer;

/* How the router sends a packet on a transport: webrtc_transport_send in
 * the server; the simulator and the tests plug in their own. */
typedef int(router_send_h)(struct webrtc_transport *t, uint8_t *buf, size_t len,
			   size_t size, bool rtcp);

int router_alloc(struct router **rp, router_send_h *sendh);
/* Whether a transport can receive now (its DTLS is done): keyframes are
 * asked for a consumer only then (router_transport_secured() asks when it
 * becomes so). Without a handler every transport can. */
typedef bool(router_ready_h)(const struct webrtc_transport *t);
void router_set_ready_handler(struct router *r, router_ready_h *readyh);
void router_stats(const struct router *r, struct router_stats *st);
/* Adds every count of x to sum (a node's total over its routers). */
void router_stats_add(struct router_stats *sum, const struct router_stats *x);
/* Every packet a transport of this router receives comes here (the
 * transport's packet handler calls it). */
void router_packet(struct router *r, struct webrtc_transport *t, uint8_t *buf,
		   size_t len, size_t size, bool rtcp);
/* An RTP packet of t before it is decrypted (the transport's peek
 * handler calls it; len without the tag): false when no one needs its
 * payload, a simulcast layer no receiver gets, should get or waits on.
 * Its header is then taken into account as router_packet would (the
 * sender's arrival feedback, the layer's bitrate and receive statistics,
 * so layers stay known to be flowing) and it is done with. Such headers
 * are not authenticated: they feed statistics, never what is forwarded.
 * One packet in CLEAR_EVERY (4096) of such a layer is still wanted whole,
 * so the SRTP context keeps up with the stream's rollover counter. */
bool router_rtp_peek(struct router *r, struct webrtc_transport *t,
		     const uint8_t *buf, size_t len);

enum { ROUTER_MAX_LAYERS = 3, ROUTER_RID_MAX = 16 };

/* A stream `t` sends with `ssrc`, payload type `pt` of codec `codec`. */
int router_produce(struct producer **pp, struct router *r,
		   struct webrtc_transport *t, enum media_kind kind,
		   uint32_t ssrc, uint8_t pt, const char *codec);
/* A simulcast stream: nlayers encodings, lowest first, each known by its
 * SSRC (non-zero) or by its RID (carried in header extension rid_ext_id). */
int router_produce_simulcast(struct producer **pp, struct router *r,
			     struct webrtc_transport *t, uint8_t pt,
			     const char *codec, size_t nlayers,
			     const uint32_t *ssrcs, const char *const *rids,
			     uint8_t rid_ext_id);
/* RTX (RFC 4588): the sender retransmits on a separate stream per layer,
 * payload type rtx_pt, SSRC rtx_ssrcs[i] (NULL or 0: learned from the
 * repaired-rid extension rrid_ext_id). Retransmissions are forwarded as
 * the packets they repair when the router asked for them (NACK); other
 * RTX packets are the sender's bandwidth probes and go no further. Video
 * only. */
int producer_set_rtx(struct producer *p, uint8_t rtx_pt,
		     const uint32_t *rtx_ssrcs, uint8_t rrid_ext_id);
size_t producer_layers(const struct producer *p);
enum media_kind producer_kind(const struct producer *p);
const char *producer_codec(const struct producer *p);
const struct webrtc_transport *producer_transport(const struct producer *p);
uint64_t producer_packets(const struct producer *p);
/* The producers of the router, oldest first. */
struct producer *router_producer_next(const struct router *r,
				      const struct producer *after);

/* t's DTLS is done: its consumers that have had nothing yet ask for a
 * keyframe now (one sent while DTLS was under way could not reach them,
 * and the next request would wait out the PLI interval). */
void router_transport_secured(struct router *r, struct webrtc_transport *t);

/* Sends p's stream to t with a fresh SSRC and the receiver's payload type.
 * Asks the producer for a keyframe so the receiver can start. */
int router_consume(struct consumer **cp, struct producer *p,
		   struct webrtc_transport *t, uint8_t pt);
/* The same, paused: no keyframe is asked until consumer_set_paused(c,
 * false) (mediasoup's flow: the client resumes once its receiver is set up;
 * a keyframe asked before would arrive to a paused consumer, and cost the
 * one asked at resume, see router_ready_h). */
int router_consume_paused(struct consumer **cp, struct producer *p,
			  struct webrtc_transport *t, uint8_t pt);
uint32_t consumer_ssrc(const struct consumer *c);
/* The receiver takes RTX with payload type rtx_pt: NACKs are answered on
 * a stream of its own, whose SSRC consumer_rtx_ssrc() gives. */
int consumer_set_rtx(struct consumer *c, uint8_t rtx_pt);
/* The receiver estimates its bandwidth from abs-send-time (extension id
 * 1-14) and reports it by REMB: what it gets carries the send time, and
 * its estimate caps its simulcast layer. */
int consumer_set_abs_send_time(struct consumer *c, uint8_t ext_id);
uint32_t consumer_rtx_ssrc(const struct consumer *c);
uint64_t consumer_packets(const struct consumer *c);
/* The simulcast layer the consumer should forward (clamped to what the
 * producer has); the switch happens at that layer's next keyframe. */
void consumer_set_preferred_layer(struct consumer *c, unsigned spatial);
/* The layer being forwarded now, or -1 before the first keyframe. */
int consumer_current_layer(const struct consumer *c);

void producer_request_keyframe(struct producer *p);
/* Audio producers: the header extension id of ssrc-audio-level (RFC 6464),
 * whose levels router_loudest() averages. */
void producer_set_audio_level_ext(struct producer *p, uint8_t ext_id);
/* The header extension id (1-14) of transport-wide sequence numbers on
 * p's transport: the router then sends that transport feedback of when
 * its packets arrived (router_feedback), for its bandwidth estimation. */
int producer_set_twcc_ext(struct producer *p, uint8_t ext_id);
/* Sends each transport with transport-wide numbering the arrivals since
 * the last call, and asks senders again for packets still missing. Call
 * about every 100 ms. */
void router_feedback(struct router *r);
/* The audio producer loudest on average since the last call (and above
 * silence), or NULL; starts a new averaging window. The last one named
 * stays while it speaks, unless another is 6 dB louder. */
struct producer *router_loudest(struct router *r);
/* Sends each sender an RTCP receiver report (RFC 3550 6.4.2) of every
 * stream it sent since the last one: loss, jitter, LSR/DLSR for its RTT.
 * Call about once a second. */
void router_report(struct router *r);
/* A paused producer's packets are dropped; a paused consumer sends none
 * (resuming asks for a keyframe). */
void producer_set_paused(struct producer *p, bool paused);
void consumer_set_paused(struct consumer *c, bool paused);

#endif
