/*
 * media.c - media:offer: a browser's SDP offer becomes a transport, its
 * producers and consumers, and an ICE-lite answer.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "router.h"
#include "webrtc_sdp.h"
#include "webrtc_transport.h"
#include "codecs.h"
#include "sdp_session.h"

enum { MAX_STREAMS = WEBRTC_SDP_MAX_MEDIA };

struct media_session {
	struct router *router;
	struct webrtc_transport *t;
	char owner[129];
	struct producer *prods[MAX_STREAMS];
	size_t nprods;
	struct consumer *cons[MAX_STREAMS];
	const struct producer *consumed[MAX_STREAMS];
	size_t ncons;
};

static void session_destructor(void *arg)
{
	struct media_session *ms = arg;
	/* consumers and producers point at the transport: release it last */
	for (size_t i = 0; i < ms->ncons; i++)
		mem_deref(ms->cons[i]);
	for (size_t i = 0; i < ms->nprods; i++)
		mem_deref(ms->prods[i]);
	mem_deref(ms->t);
	mem_deref(ms->router);
}

static void on_packet(struct webrtc_transport *t, uint8_t *buf, size_t len,
		      size_t size, bool rtcp, void *arg)
{
	struct media_session *ms = arg;
	router_packet(ms->router, t, buf, len, size, rtcp);
}

static bool on_peek(struct webrtc_transport *t, const uint8_t *buf, size_t len,
		    void *arg)
{
	struct media_session *ms = arg;
	return router_rtp_peek(ms->router, t, buf, len);
}

static void on_state(struct webrtc_transport *t, enum webrtc_transport_state st,
		     const char *why, void *arg)
{
	struct media_session *ms = arg;
	port_log(st == WEBRTC_CLOSED ? PORT_LOG_WARN : PORT_LOG_DEBUG,
		 "media %s: %s", ms->owner, why);
	if (st == WEBRTC_SECURED)
		router_transport_secured(ms->router, t);
}

/* The codec the SFU forwards for a kind on this path: the preferred one
 * (Opus for audio, VP8 for video). */
static const struct sdp_codec *pick_codec(const struct sdp_media *m)
{
	return sdp_media_codec(m, media_codec_first(m->kind)->name);
}

static bool already_consumed(const struct media_session *ms,
			     const struct producer *p)
{
	for (size_t i = 0; i < ms->ncons; i++)
		if (ms->consumed[i] == p)
			return true;
	return false;
}

/* Another participant's producer of this kind and codec, not yet sent to
 * this session. */
static struct producer *find_producer(const struct media_session *ms,
				      const struct sdp_media *m,
				      const struct sdp_codec *codec)
{
	struct producer *p = NULL;
	while ((p = router_producer_next(ms->router, p))) {
		if (producer_transport(p) == ms->t ||
		    producer_kind(p) != m->kind ||
		    str_casecmp(producer_codec(p), codec->name) ||
		    already_consumed(ms, p))
			continue;
		return p;
	}
	return NULL;
}

/* A producer for the stream the offer's section sends; its id and kind
 * go to new_producers. Returns whether we receive on this section. */
static bool produce_from(struct media_session *ms, const struct sdp_media *m,
			 const struct sdp_codec *codec, cJSON *new_producers)
{
	struct producer **pp = &ms->prods[ms->nprods];
	char id[32];
	cJSON *np;
	uint8_t tw;

	if (!m->ssrc || ms->nprods >= MAX_STREAMS ||
	    router_produce(pp, ms->router, ms->t, m->kind, m->ssrc, codec->pt,
			   codec->name))
		return false;
	tw = sdp_media_ext_id(m, SDP_EXT_TWCC);
	if (tw)
		(void)producer_set_twcc_ext(*pp, tw);
	producer_set_audio_level_ext(*pp,
				     sdp_media_ext_id(m, SDP_EXT_AUDIO_LEVEL));
	ms->nprods++;
	np = cJSON_CreateObject();
	(void)re_snprintf(id, sizeof(id), "%u", m->ssrc);
	cJSON_AddStringToObject(np, "producerId", id);
	cJSON_AddStringToObject(np, "kind",
				m->kind == MEDIA_VIDEO ? "video" : "audio");
	cJSON_AddItemToArray(new_producers, np);
	return true;
}

/* A consumer of another participant's producer of this section's kind
 * and codec, sent on it. Returns whether we send on this section. */
static bool consume_for(struct media_session *ms, const struct sdp_media *m,
			const struct sdp_codec *codec, struct answer_media *am)
{
	struct producer *p = find_producer(ms, m, codec);
	struct consumer **cp = &ms->cons[ms->ncons];
	uint8_t ast;

	if (ms->ncons >= MAX_STREAMS || !p ||
	    router_consume(cp, p, ms->t, codec->pt))
		return false;
	/* the receiver's estimate, when it makes one */
	ast = sdp_media_ext_id(m, SDP_EXT_ABS_SEND_TIME);
	if (m->kind == MEDIA_VIDEO && codec->remb && ast)
		(void)consumer_set_abs_send_time(*cp, ast);
	ms->consumed[ms->ncons++] = p;
	am->send_ssrc = consumer_ssrc(*cp);
	(void)re_snprintf(am->send_msid, sizeof(am->send_msid),
			  "meeshy-%u track-%u", am->send_ssrc, am->send_ssrc);
	return true;
}

/* Each section of the offer: what we receive of it and send on it. */
static void answer_sections(struct media_session *ms,
			    const struct webrtc_offer *o,
			    struct answer_params *a, cJSON *new_producers)
{
	for (size_t i = 0; i < o->nmedia; i++) {
		const struct sdp_media *m = &o->media[i];
		struct answer_media *am = &a->media[i];
		const struct sdp_codec *codec =
			m->rejected ? NULL : pick_codec(m);
		bool we_recv = false, we_send = false;

		am->offer = m;
		am->codec = codec;
		if (!codec)
			continue;
		if (m->dir == DIR_SENDRECV || m->dir == DIR_SENDONLY)
			we_recv = produce_from(ms, m, codec, new_producers);
		if (m->dir == DIR_SENDRECV || m->dir == DIR_RECVONLY)
			we_send = consume_for(ms, m, codec, am);
		am->dir = we_send && we_recv ? DIR_SENDRECV
			  : we_send          ? DIR_SENDONLY
			  : we_recv          ? DIR_RECVONLY
					     : DIR_INACTIVE;
	}
}

/* The session's transport, its DTLS role as the offer implies. */
static int transport_for(struct media_session *ms, struct webrtc_server *srv,
			 const struct webrtc_offer *o, enum dtls_role *role,
			 char *why, size_t whysize)
{
	/* JSEP: the offerer's actpass (or active) makes us the DTLS server */
	int err;
	*role = !strcmp(o->setup, "passive") ? DTLS_ROLE_CLIENT
					     : DTLS_ROLE_SERVER;
	err = webrtc_transport_alloc(&ms->t, srv, on_packet, on_state, ms);
	if (!err)
		webrtc_transport_set_peek(ms->t, on_peek);
	if (!err)
		err = webrtc_transport_connect(ms->t, o->fingerprint, *role);
	if (err)
		str_ncpy(why, "the offer's DTLS fingerprint is not usable",
			 whysize);
	return err;
}

int media_session_offer(struct media_session **msp, struct webrtc_server *srv,
			struct router *router, const char *owner,
			const char *sdp, char **answerp, cJSON *new_producers,
			char *why, size_t whysize)
{
	struct webrtc_offer *o = NULL;
	struct answer_params *a = NULL;
	struct media_session *ms;
	struct mbuf *mb = NULL;
	struct sa cand;
	char ip[64];
	enum dtls_role role;
	int err;

	if (!msp || !srv || !router || !sdp || !answerp)
		return EINVAL;
	ms = mem_zalloc(sizeof(*ms), session_destructor);
	o = mem_zalloc(sizeof(*o), NULL);
	a = mem_zalloc(sizeof(*a), NULL);
	mb = mbuf_alloc(4096);
	err = ms && o && a && mb ? 0 : ENOMEM;
	if (err)
		goto out;
	ms->router = mem_ref(router);
	str_ncpy(ms->owner, owner ? owner : "", sizeof(ms->owner));
	err = webrtc_offer_parse(o, sdp, strlen(sdp), why, whysize);
	if (!err)
		err = transport_for(ms, srv, o, &role, why, whysize);
	if (err)
		goto out;
	(void)webrtc_server_candidate(srv, &cand);
	(void)re_snprintf(ip, sizeof(ip), "%j", &cand);
	a->ice_ufrag = webrtc_transport_ice_ufrag(ms->t);
	a->ice_pwd = webrtc_transport_ice_pwd(ms->t);
	a->fingerprint = webrtc_server_fingerprint(srv);
	a->setup = role == DTLS_ROLE_SERVER ? "passive" : "active";
	a->ip = ip;
	a->port = sa_port(&cand);
	a->nmedia = o->nmedia;
	answer_sections(ms, o, a, new_producers);
	err = webrtc_answer_print(mb, a);
	if (!err)
		err = re_sdprintf(answerp, "%b", mb->buf, mb->end);
out:
	mem_deref(o);
	mem_deref(a);
	mem_deref(mb);
	if (err)
		mem_deref(ms);
	else
		*msp = ms;
	return err;
}

size_t media_session_producers(const struct media_session *ms)
{
	return ms ? ms->nprods : 0;
}

size_t media_session_consumers(const struct media_session *ms)
{
	return ms ? ms->ncons : 0;
}
