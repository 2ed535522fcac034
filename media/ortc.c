/*
 * ortc.c - mediasoup-client's server side: capabilities, transports,
 * produce, consume, pause and resume.
 *
 * The router forwards the codecs of codecs.c (Opus, VP8, H264) with their
 * payload types towards consumers; a video producer may send up to three
 * simulcast encodings, named by SSRC or by RID. Senders number their
 * packets transport-wide and get feedback of their arrival (transport-cc),
 * which their bandwidth estimation needs to send the higher simulcast
 * layers.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "router.h"
#include "webrtc_transport.h"
#include "codecs.h"
#include "fault.h"
#include "ortc.h"
#include "uuid.h"

/* A participant's producers, and its consumers: every other one's audio,
 * video and screen at the largest call (--max-participants 50), with
 * room; each consumer is a copy of every packet, so a participant
 * consuming without end would multiply what the server sends. */
enum { ID_LEN = 37, MAX_PER_PEER = 32, MAX_CONSUMERS_PER_PEER = 256 };

/* The header extensions the router reads or writes; the codecs come from
 * codecs.c. */
static const char header_extensions_json[] =
	"["
	"{\"kind\":\"audio\",\"uri\":\"urn:ietf:params:rtp-hdrext:sdes:mid\","
	"\"preferredId\":1,\"preferredEncrypt\":false,"
	"\"direction\":\"sendrecv\"},"
	"{\"kind\":\"audio\",\"uri\":"
	"\"urn:ietf:params:rtp-hdrext:ssrc-audio-level\","
	"\"preferredId\":12,\"preferredEncrypt\":false,"
	"\"direction\":\"recvonly\"},"
	"{\"kind\":\"video\",\"uri\":\"urn:ietf:params:rtp-hdrext:sdes:mid\","
	"\"preferredId\":1,\"preferredEncrypt\":false,"
	"\"direction\":\"sendrecv\"},"
	"{\"kind\":\"video\",\"uri\":"
	"\"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\","
	"\"preferredId\":10,\"preferredEncrypt\":false,"
	"\"direction\":\"recvonly\"},"
	"{\"kind\":\"video\",\"uri\":"
	"\"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\","
	"\"preferredId\":11,\"preferredEncrypt\":false,"
	"\"direction\":\"recvonly\"},"
	"{\"kind\":\"audio\",\"uri\":\"" SDP_EXT_TWCC "\","
	"\"preferredId\":5,\"preferredEncrypt\":false,"
	"\"direction\":\"recvonly\"},"
	"{\"kind\":\"video\",\"uri\":\"" SDP_EXT_TWCC "\","
	"\"preferredId\":5,\"preferredEncrypt\":false,"
	"\"direction\":\"recvonly\"},"
	/* on what receivers get: their bandwidth estimate (REMB) */
	"{\"kind\":\"video\",\"uri\":\"" SDP_EXT_ABS_SEND_TIME "\","
	"\"preferredId\":4,\"preferredEncrypt\":false,"
	"\"direction\":\"sendonly\"}]";

struct ortc_room {
	struct webrtc_server *srv;
	struct router *router;
	struct list peers;
};

struct o_transport {
	struct le le;
	struct ortc_peer *peer;
	char id[ID_LEN];
	bool recv;         /* created with direction "recv" */
	unsigned next_mid; /* recv: each consumer gets its own mid */
	struct webrtc_transport *t;
};

struct o_producer {
	struct le le;
	char id[ID_LEN];
	enum media_kind kind;
	const struct media_codec *codec;
	struct producer *p;
};

struct o_consumer {
	struct le le;
	char id[ID_LEN];
	char producer_id[ID_LEN]; /* what it consumes */
	struct consumer *c;
};

struct ortc_peer {
	struct le le;
	struct ortc_room *room;
	char user[129];
	struct list transports, producers, consumers;
};

static void room_destructor(void *arg)
{
	struct ortc_room *room = arg;
	struct le *le;
	while ((le = list_head(&room->peers))) {
		struct ortc_peer *p = le->data;
		list_unlink(&p->le);
		p->room = NULL;
	}
	mem_deref(room->router);
}

int ortc_room_alloc(struct ortc_room **roomp, struct webrtc_server *srv,
		    struct router *router)
{
	struct ortc_room *room;
	if (!roomp || !srv || !router)
		return EINVAL;
	room = mem_zalloc(sizeof(*room), room_destructor);
	if (!room)
		return ENOMEM;
	room->srv = srv;
	room->router = mem_ref(router);
	*roomp = room;
	return 0;
}

int ortc_room_loudest(const struct ortc_room *room, const char **producer_id,
		      const char **user_id)
{
	struct producer *p = room ? router_loudest(room->router) : NULL;
	for (struct le *le = p ? room->peers.head : NULL; le; le = le->next) {
		const struct ortc_peer *peer = le->data;
		for (struct le *pl = peer->producers.head; pl; pl = pl->next) {
			const struct o_producer *op = pl->data;
			if (op->p == p) {
				*producer_id = op->id;
				*user_id = peer->user;
				return 0;
			}
		}
	}
	return ENOENT;
}

const char *ortc_room_producer_user(const struct ortc_room *room,
				    const char *producer_id)
{
	for (struct le *le = room ? room->peers.head : NULL; le;
	     le = le->next) {
		const struct ortc_peer *peer = le->data;
		for (struct le *pl = peer->producers.head; pl; pl = pl->next) {
			const struct o_producer *op = pl->data;
			if (!strcmp(op->id, producer_id))
				return peer->user;
		}
	}
	return NULL;
}

cJSON *ortc_capabilities(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "codecs", media_codecs_json());
	cJSON_AddItemToObject(o, "headerExtensions",
			      cJSON_Parse(header_extensions_json));
	return o;
}

static const char *kind_name(enum media_kind k)
{
	return k == MEDIA_VIDEO ? "video" : "audio";
}

cJSON *ortc_room_producers(const struct ortc_room *room,
			   const struct ortc_peer *except)
{
	cJSON *a = cJSON_CreateArray();
	for (struct le *le = room ? room->peers.head : NULL; le;
	     le = le->next) {
		const struct ortc_peer *p = le->data;
		if (p == except)
			continue;
		for (struct le *pl = p->producers.head; pl; pl = pl->next) {
			const struct o_producer *op = pl->data;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "producerId", op->id);
			cJSON_AddStringToObject(o, "userId", p->user);
			cJSON_AddStringToObject(o, "kind", kind_name(op->kind));
			cJSON_AddItemToArray(a, o);
		}
	}
	return a;
}

cJSON *ortc_peer_producer_ids(const struct ortc_peer *peer)
{
	cJSON *a = cJSON_CreateArray();
	for (struct le *le = peer ? peer->producers.head : NULL; le;
	     le = le->next)
		cJSON_AddItemToArray(
			a, cJSON_CreateString(
				   ((struct o_producer *)le->data)->id));
	return a;
}

static void o_transport_destructor(void *arg)
{
	struct o_transport *ot = arg;
	list_unlink(&ot->le);
	mem_deref(ot->t);
}

static void o_producer_destructor(void *arg)
{
	struct o_producer *op = arg;
	list_unlink(&op->le);
	mem_deref(op->p);
}

static void o_consumer_destructor(void *arg)
{
	struct o_consumer *oc = arg;
	list_unlink(&oc->le);
	mem_deref(oc->c);
}

static void peer_destructor(void *arg)
{
	struct ortc_peer *peer = arg;
	list_unlink(&peer->le);
	/* consumers and producers point at transports: those go last */
	list_flush(&peer->consumers);
	list_flush(&peer->producers);
	list_flush(&peer->transports);
}

int ortc_peer_alloc(struct ortc_peer **peerp, struct ortc_room *room,
		    const char *user_id)
{
	struct ortc_peer *peer;
	if (!peerp || !room)
		return EINVAL;
	peer = mem_zalloc(sizeof(*peer), peer_destructor);
	if (!peer)
		return ENOMEM;
	peer->room = room;
	str_ncpy(peer->user, user_id ? user_id : "", sizeof(peer->user));
	list_append(&room->peers, &peer->le, peer);
	*peerp = peer;
	return 0;
}

/* Requests */

struct req {
	struct ortc_peer *peer;
	const cJSON *data;
	cJSON *reply;
	struct fault *fault;
};

/* The request fails with err, the fault's code and a sentence that names
 * the bad value v. */
static int fail(struct req *r, enum fault_code code, int err, const char *fmt,
		const char *v)
{
	fault_set(r->fault, code, fmt, v);
	return err;
}

static const char *shown(const char *v)
{
	return v ? v : "(missing)";
}

static const char *str_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct o_transport *transport_by_id(struct ortc_peer *peer,
					   const char *id)
{
	for (struct le *le = id ? peer->transports.head : NULL; le;
	     le = le->next) {
		struct o_transport *ot = le->data;
		if (!strcmp(ot->id, id))
			return ot;
	}
	return NULL;
}

static void on_packet(struct webrtc_transport *t, uint8_t *buf, size_t len,
		      size_t size, bool rtcp, void *arg)
{
	struct o_transport *ot = arg;
	if (ot->peer && ot->peer->room)
		router_packet(ot->peer->room->router, t, buf, len, size, rtcp);
}

static bool on_peek(struct webrtc_transport *t, const uint8_t *buf, size_t len,
		    void *arg)
{
	struct o_transport *ot = arg;
	return !ot->peer || !ot->peer->room ||
	       router_rtp_peek(ot->peer->room->router, t, buf, len);
}

static void on_state(struct webrtc_transport *t, enum webrtc_transport_state st,
		     const char *why, void *arg)
{
	struct o_transport *ot = arg;
	port_log(st == WEBRTC_CLOSED ? PORT_LOG_WARN : PORT_LOG_DEBUG,
		 "transport %s of %s: %s", ot->id,
		 ot->peer ? ot->peer->user : "?", why);
	if (st == WEBRTC_SECURED && ot->peer && ot->peer->room)
		router_transport_secured(ot->peer->room->router, t);
}

static int create_transport(struct req *r)
{
	const char *dir = str_field(r->data, "direction");
	struct ortc_peer *peer = r->peer;
	struct o_transport *ot;
	struct sa cand;
	char ip[64];
	cJSON *ice, *cands, *c, *dtls, *fps, *fp;
	int err;

	if (!dir || (strcmp(dir, "send") && strcmp(dir, "recv")))
		return fail(r, FAULT_VALIDATION, EINVAL,
			    "direction: %s is not send or recv",
			    dir ? dir : "(missing)");
	if (list_count(&peer->transports) >= 4)
		return fail(r, FAULT_CONFLICT, EALREADY,
			    "%s: at most 4 transports per participant", dir);
	ot = mem_zalloc(sizeof(*ot), o_transport_destructor);
	if (!ot)
		return fail(r, FAULT_INTERNAL, ENOMEM, "out of %s", "memory");
	ot->peer = peer;
	ot->recv = !strcmp(dir, "recv");
	err = uuid_random(ot->id, sizeof(ot->id));
	if (!err)
		err = webrtc_transport_alloc(&ot->t, peer->room->srv, on_packet,
					     on_state, ot);
	if (err) {
		mem_deref(ot);
		return fail(r, FAULT_INTERNAL, err, "no transport: %s",
			    "out of resources");
	}
	webrtc_transport_set_peek(ot->t, on_peek);
	list_append(&peer->transports, &ot->le, ot);

	(void)webrtc_server_candidate(peer->room->srv, &cand);
	(void)re_snprintf(ip, sizeof(ip), "%j", &cand);
	cJSON_AddStringToObject(r->reply, "id", ot->id);
	ice = cJSON_AddObjectToObject(r->reply, "iceParameters");
	cJSON_AddStringToObject(ice, "usernameFragment",
				webrtc_transport_ice_ufrag(ot->t));
	cJSON_AddStringToObject(ice, "password",
				webrtc_transport_ice_pwd(ot->t));
	cJSON_AddTrueToObject(ice, "iceLite");
	cands = cJSON_AddArrayToObject(r->reply, "iceCandidates");
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "foundation", "udpcandidate");
	cJSON_AddNumberToObject(c, "priority", 1076302079);
	cJSON_AddStringToObject(c, "ip", ip);
	cJSON_AddStringToObject(c, "address", ip);
	cJSON_AddStringToObject(c, "protocol", "udp");
	cJSON_AddNumberToObject(c, "port", sa_port(&cand));
	cJSON_AddStringToObject(c, "type", "host");
	cJSON_AddItemToArray(cands, c);
	dtls = cJSON_AddObjectToObject(r->reply, "dtlsParameters");
	cJSON_AddStringToObject(dtls, "role", "auto");
	fps = cJSON_AddArrayToObject(dtls, "fingerprints");
	fp = cJSON_CreateObject();
	cJSON_AddStringToObject(fp, "algorithm", "sha-256");
	cJSON_AddStringToObject(fp, "value",
				webrtc_server_fingerprint(peer->room->srv));
	cJSON_AddItemToArray(fps, fp);
	return 0;
}

static int connect_transport(struct req *r)
{
	struct o_transport *ot =
		transport_by_id(r->peer, str_field(r->data, "transportId"));
	const cJSON *dtls =
		cJSON_GetObjectItemCaseSensitive(r->data, "dtlsParameters");
	const cJSON *fps =
		cJSON_GetObjectItemCaseSensitive(dtls, "fingerprints");
	const char *role = str_field(dtls, "role"), *value = NULL;
	const cJSON *fp;
	int err;

	if (!ot)
		return fail(r, FAULT_NOT_FOUND, ENOENT,
			    "transportId: %s is not one of your transports",
			    shown(str_field(r->data, "transportId")));
	cJSON_ArrayForEach(fp, fps)
	{
		const char *alg = str_field(fp, "algorithm");
		if (alg && !str_casecmp(alg, "sha-256"))
			value = str_field(fp, "value");
	}
	if (!value)
		return fail(r, FAULT_VALIDATION, EINVAL, "dtlsParameters: %s",
			    "no sha-256 fingerprint");
	/* the browser's role decides ours; "client" is what it says */
	err = webrtc_transport_connect(ot->t, value,
				       role && !strcmp(role, "server")
					       ? DTLS_ROLE_CLIENT
					       : DTLS_ROLE_SERVER);
	if (err == EALREADY)
		return fail(r, FAULT_CONFLICT, err,
			    "transport %s is already connected", ot->id);
	if (err)
		return fail(r, FAULT_VALIDATION, err,
			    "dtlsParameters: the fingerprint %s is not usable",
			    value);
	return 0;
}

/* The payload type of the RTX codec repairing payload type pt among
 * codecs (mediasoup's shape: mimeType video/rtx, parameters.apt), or 0. */
static uint8_t rtx_payload_type(const cJSON *codecs, double pt)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, codecs)
	{
		const char *m = str_field(c, "mimeType");
		const cJSON *apt = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(c, "parameters"),
			"apt");
		const cJSON *rpt =
			cJSON_GetObjectItemCaseSensitive(c, "payloadType");
		if (m && !str_casecmp(m, "video/rtx") && cJSON_IsNumber(apt) &&
		    apt->valuedouble == pt && cJSON_IsNumber(rpt) &&
		    rpt->valuedouble >= 1 && rpt->valuedouble <= 127)
			return (uint8_t)rpt->valuedouble;
	}
	return 0;
}

static uint32_t ssrc_value(const cJSON *s)
{
	return cJSON_IsNumber(s) && s->valuedouble >= 1 &&
			       s->valuedouble <= 4294967295.0
		       ? (uint32_t)s->valuedouble
		       : 0;
}

/* What media:produce's rtpParameters say, checked. */
struct produce_params {
	const struct media_codec *mc;
	uint8_t pt, rtx_pt; /* the sender's */
	size_t nlayers;
	uint32_t ssrcs[ROUTER_MAX_LAYERS], rtx_ssrcs[ROUTER_MAX_LAYERS];
	const char *rids[ROUTER_MAX_LAYERS];
	uint8_t rid_ext, rrid_ext, level_ext, twcc_ext;
};

/* kind and the first codec: one of the table's, of that kind. */
static int produce_codec(struct req *r, const cJSON *rp,
			 struct produce_params *pp)
{
	const cJSON *codecs = cJSON_GetObjectItemCaseSensitive(rp, "codecs");
	const cJSON *codec = cJSON_GetArrayItem(codecs, 0);
	const cJSON *pt =
		cJSON_GetObjectItemCaseSensitive(codec, "payloadType");
	const char *mime = str_field(codec, "mimeType");
	const char *kind = str_field(r->data, "kind");

	if (!kind || (strcmp(kind, "audio") && strcmp(kind, "video")))
		return fail(r, FAULT_VALIDATION, EINVAL,
			    "kind: %s is not audio or video", shown(kind));
	pp->mc = media_codec_by_mime(mime);
	if (!pp->mc || strcmp(kind, kind_name(pp->mc->kind)))
		return fail(r, FAULT_VALIDATION, ENOTSUP,
			    "rtpParameters.codecs[0].mimeType: %s is not"
			    " audio/opus, video/VP8 or video/H264 for this"
			    " kind",
			    shown(mime));
	if (!cJSON_IsNumber(pt) || pt->valuedouble < 0 || pt->valuedouble > 127)
		return fail(r, FAULT_VALIDATION, EINVAL,
			    "rtpParameters.codecs[0].payloadType: %s",
			    "must be 0-127");
	pp->pt = (uint8_t)pt->valuedouble;
	pp->rtx_pt = pp->mc->kind == MEDIA_VIDEO
			     ? rtx_payload_type(codecs, pt->valuedouble)
			     : 0;
	return 0;
}

/* One encoding, or 2-3 simulcast ones of video, each by SSRC or RID. */
static int produce_encodings(struct req *r, const cJSON *rp,
			     struct produce_params *pp)
{
	const cJSON *encs = cJSON_GetObjectItemCaseSensitive(rp, "encodings");
	pp->nlayers = (size_t)cJSON_GetArraySize(encs);
	if (pp->nlayers < 1 || pp->nlayers > ROUTER_MAX_LAYERS ||
	    (pp->nlayers > 1 && pp->mc->kind != MEDIA_VIDEO))
		return fail(r, FAULT_VALIDATION, ENOTSUP,
			    "rtpParameters.encodings: %s",
			    "1 encoding, or 2-3 simulcast encodings of video");
	for (size_t i = 0; i < pp->nlayers; i++) {
		const cJSON *e = cJSON_GetArrayItem(encs, (int)i);
		const char *rid = str_field(e, "rid");
		pp->ssrcs[i] =
			ssrc_value(cJSON_GetObjectItemCaseSensitive(e, "ssrc"));
		pp->rtx_ssrcs[i] = ssrc_value(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(e, "rtx"), "ssrc"));
		pp->rids[i] = rid && strlen(rid) < ROUTER_RID_MAX ? rid : NULL;
		if (!pp->ssrcs[i] && !pp->rids[i])
			return fail(r, FAULT_VALIDATION, EINVAL,
				    "rtpParameters.encodings: %s",
				    "each needs an ssrc or a rid");
	}
	return 0;
}

/* The header extensions the router reads (ids 1-14: one-byte form). */
static int produce_extensions(struct req *r, const cJSON *rp,
			      struct produce_params *pp)
{
	const cJSON *x;
	cJSON_ArrayForEach(
		x, cJSON_GetObjectItemCaseSensitive(rp, "headerExtensions"))
	{
		const char *uri = str_field(x, "uri");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "id");
		uint8_t v;
		/* checked before the cast: a double past uint8_t's range made
		 * it undefined (fuzz_media found it) */
		if (!uri || !cJSON_IsNumber(id) || id->valuedouble < 1 ||
		    id->valuedouble > 14)
			continue;
		v = (uint8_t)id->valuedouble;
		if (!strcmp(uri, SDP_EXT_RID))
			pp->rid_ext = v;
		if (!strcmp(uri, SDP_EXT_AUDIO_LEVEL))
			pp->level_ext = v;
		if (!strcmp(uri, SDP_EXT_TWCC))
			pp->twcc_ext = v;
		if (!strcmp(uri, SDP_EXT_REPAIRED_RID))
			pp->rrid_ext = v;
	}
	if (pp->rids[0] && !pp->ssrcs[0] && !pp->rid_ext)
		return fail(
			r, FAULT_VALIDATION, EINVAL,
			"rtpParameters.headerExtensions: %s",
			"encodings by rid need the rtp-stream-id extension");
	return 0;
}

static int produce(struct req *r)
{
	struct ortc_peer *peer = r->peer;
	struct o_transport *ot =
		transport_by_id(peer, str_field(r->data, "transportId"));
	const cJSON *rp =
		cJSON_GetObjectItemCaseSensitive(r->data, "rtpParameters");
	struct produce_params pp;
	struct o_producer *op;
	int err;

	memset(&pp, 0, sizeof(pp));
	if (!ot || ot->recv)
		return fail(r, FAULT_NOT_FOUND, ENOENT,
			    "transportId: %s is not one of your send"
			    " transports",
			    shown(str_field(r->data, "transportId")));
	err = produce_codec(r, rp, &pp);
	if (!err)
		err = produce_encodings(r, rp, &pp);
	if (!err)
		err = produce_extensions(r, rp, &pp);
	if (err)
		return err;
	if (list_count(&peer->producers) >= MAX_PER_PEER)
		return fail(r, FAULT_CONFLICT, EALREADY, "%s",
			    "too many producers");
	op = mem_zalloc(sizeof(*op), o_producer_destructor);
	if (!op)
		return fail(r, FAULT_INTERNAL, ENOMEM, "out of %s", "memory");
	op->kind = pp.mc->kind;
	op->codec = pp.mc;
	err = uuid_random(op->id, sizeof(op->id));
	if (!err)
		err = router_produce_simulcast(
			&op->p, peer->room->router, ot->t, pp.pt, pp.mc->name,
			pp.nlayers, pp.ssrcs, pp.rids, pp.rid_ext);
	if (err) {
		mem_deref(op);
		return fail(r, FAULT_INTERNAL, err, "no producer: %s",
			    "out of resources");
	}
	if (op->kind == MEDIA_AUDIO)
		producer_set_audio_level_ext(op->p, pp.level_ext);
	if (pp.twcc_ext)
		(void)producer_set_twcc_ext(op->p, pp.twcc_ext);
	if (pp.rtx_pt)
		(void)producer_set_rtx(op->p, pp.rtx_pt, pp.rtx_ssrcs,
				       pp.rrid_ext);
	list_append(&peer->producers, &op->le, op);
	cJSON_AddStringToObject(r->reply, "id", op->id);
	cJSON_AddStringToObject(r->reply, "kind", kind_name(op->kind));
	return 0;
}

static struct o_producer *producer_by_id(struct ortc_room *room, const char *id,
					 struct ortc_peer **owner)
{
	for (struct le *le = id ? room->peers.head : NULL; le; le = le->next) {
		struct ortc_peer *p = le->data;
		for (struct le *pl = p->producers.head; pl; pl = pl->next) {
			struct o_producer *op = pl->data;
			if (!strcmp(op->id, id)) {
				*owner = p;
				return op;
			}
		}
	}
	return NULL;
}

/* Whether the browser's capabilities include the codec. */
static bool can_receive(const cJSON *caps, const char *mime)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(caps, "codecs"))
	{
		const char *m = str_field(c, "mimeType");
		if (m && !str_casecmp(m, mime))
			return true;
	}
	return false;
}

/* The id the receiver gives abs-send-time on video, or 0. */
static uint8_t abs_send_time_id(const cJSON *caps)
{
	const cJSON *x;
	cJSON_ArrayForEach(
		x, cJSON_GetObjectItemCaseSensitive(caps, "headerExtensions"))
	{
		const char *uri = str_field(x, "uri"),
			   *kind = str_field(x, "kind");
		const cJSON *id =
			cJSON_GetObjectItemCaseSensitive(x, "preferredId");
		if (uri && !strcmp(uri, SDP_EXT_ABS_SEND_TIME) &&
		    (!kind || !strcmp(kind, "video")) && cJSON_IsNumber(id) &&
		    id->valuedouble >= 1 && id->valuedouble <= 14)
			return (uint8_t)id->valuedouble;
	}
	return 0;
}

/* The consumer's codec as the capabilities describe it, on the payload
 * type the router sends it with. */
static cJSON *consumer_codec(const struct media_codec *mc)
{
	cJSON *codec = media_codec_capability(mc);
	cJSON_DeleteItemFromObject(codec, "preferredPayloadType");
	cJSON_DeleteItemFromObject(codec, "kind");
	cJSON_AddNumberToObject(codec, "payloadType", mc->pt);
	return codec;
}

/* Retransmissions on their own stream, when the receiver takes them: the
 * RTX codec and the encoding's rtx SSRC. */
static void consumer_rtx(struct o_consumer *oc, const struct media_codec *mc,
			 const cJSON *caps, cJSON *codecs, cJSON *enc)
{
	cJSON *rtx, *params;
	if (!mc->rtx_pt || !can_receive(caps, "video/rtx") ||
	    consumer_set_rtx(oc->c, mc->rtx_pt))
		return;
	rtx = cJSON_CreateObject();
	cJSON_AddStringToObject(rtx, "mimeType", "video/rtx");
	cJSON_AddNumberToObject(rtx, "payloadType", mc->rtx_pt);
	cJSON_AddNumberToObject(rtx, "clockRate", mc->clock_rate);
	params = cJSON_AddObjectToObject(rtx, "parameters");
	cJSON_AddNumberToObject(params, "apt", mc->pt);
	cJSON_AddArrayToObject(rtx, "rtcpFeedback");
	cJSON_AddItemToArray(codecs, rtx);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(enc, "rtx"), "ssrc",
				consumer_rtx_ssrc(oc->c));
}

/* The send time on video, when the receiver makes an estimate from it. */
static void consumer_extensions(struct o_consumer *oc, enum media_kind kind,
				const cJSON *caps, cJSON *exts)
{
	uint8_t id = abs_send_time_id(caps);
	cJSON *x;
	if (kind != MEDIA_VIDEO || !id || consumer_set_abs_send_time(oc->c, id))
		return;
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "uri", SDP_EXT_ABS_SEND_TIME);
	cJSON_AddNumberToObject(x, "id", id);
	cJSON_AddFalseToObject(x, "encrypt");
	cJSON_AddObjectToObject(x, "parameters");
	cJSON_AddItemToArray(exts, x);
}

/* mediasoup's RtpParameters of a consumer. */
static void consumer_rtp_parameters(struct o_transport *ot,
				    const struct o_producer *op,
				    struct o_consumer *oc, const cJSON *caps,
				    cJSON *rtp)
{
	cJSON *codecs = cJSON_AddArrayToObject(rtp, "codecs");
	cJSON *encs = cJSON_CreateArray(), *enc = cJSON_CreateObject(), *rtcp;
	char mid[16];

	cJSON_AddItemToArray(codecs, consumer_codec(op->codec));
	cJSON_AddNumberToObject(enc, "ssrc", consumer_ssrc(oc->c));
	cJSON_AddItemToArray(encs, enc);
	consumer_rtx(oc, op->codec, caps, codecs, enc);
	consumer_extensions(oc, op->kind, caps,
			    cJSON_AddArrayToObject(rtp, "headerExtensions"));
	cJSON_AddItemToObject(rtp, "encodings", encs);
	/* the receiver's m-line: unique on its transport, so that consumers
	 * set up at once never share one */
	(void)re_snprintf(mid, sizeof(mid), "%u", ot->next_mid++);
	cJSON_AddStringToObject(rtp, "mid", mid);
	rtcp = cJSON_AddObjectToObject(rtp, "rtcp");
	cJSON_AddStringToObject(rtcp, "cname", "meeshy-sfu");
	cJSON_AddTrueToObject(rtcp, "reducedSize");
	cJSON_AddTrueToObject(rtcp, "mux");
}

/* One consumer of a producer per participant, and MAX_CONSUMERS_PER_PEER
 * in all. */
static int consume_allowed(struct req *r, const char *pid)
{
	for (struct le *le = r->peer->consumers.head; le; le = le->next) {
		const struct o_consumer *oc = le->data;
		if (!strcmp(oc->producer_id, pid))
			return fail(r, FAULT_CONFLICT, EALREADY,
				    "producerId: you already consume %s", pid);
	}
	if (list_count(&r->peer->consumers) >= MAX_CONSUMERS_PER_PEER)
		return fail(r, FAULT_CONFLICT, EALREADY, "%s",
			    "too many consumers (256 per participant)");
	return 0;
}

static int consume(struct req *r)
{
	struct ortc_peer *peer = r->peer, *owner = NULL;
	struct o_transport *ot =
		transport_by_id(peer, str_field(r->data, "transportId"));
	const char *pid = str_field(r->data, "producerId");
	struct o_producer *op = producer_by_id(peer->room, pid, &owner);
	const cJSON *caps =
		cJSON_GetObjectItemCaseSensitive(r->data, "rtpCapabilities");
	struct o_consumer *oc;
	int err;

	if (!ot || !ot->recv)
		return fail(r, FAULT_NOT_FOUND, ENOENT,
			    "transportId: %s is not one of your receive"
			    " transports",
			    shown(str_field(r->data, "transportId")));
	if (!op)
		return fail(r, FAULT_NOT_FOUND, ENOENT,
			    "producerId: no producer %s in this call",
			    shown(pid));
	if (owner == peer)
		return fail(r, FAULT_CONFLICT, EINVAL,
			    "producerId: %s is your own producer", pid);
	if (!can_receive(caps, op->codec->mime))
		return fail(r, FAULT_VALIDATION, ENOTSUP,
			    "rtpCapabilities: %s is not among your codecs",
			    op->codec->mime);
	err = consume_allowed(r, pid);
	if (err)
		return err;
	oc = mem_zalloc(sizeof(*oc), o_consumer_destructor);
	if (!oc)
		return fail(r, FAULT_INTERNAL, ENOMEM, "out of %s", "memory");
	str_ncpy(oc->producer_id, pid, sizeof(oc->producer_id));
	err = uuid_random(oc->id, sizeof(oc->id));
	if (!err)
		err = router_consume_paused(&oc->c, op->p, ot->t,
					    op->codec->pt);
	if (err) {
		mem_deref(oc);
		return fail(r, FAULT_INTERNAL, err, "no consumer: %s",
			    "out of resources");
	}
	/* as mediasoup: it starts paused; media:resume-consumer once the
	 * client has set up its receiver */
	list_append(&peer->consumers, &oc->le, oc);
	cJSON_AddStringToObject(r->reply, "id", oc->id);
	cJSON_AddStringToObject(r->reply, "producerId", op->id);
	cJSON_AddStringToObject(r->reply, "kind", kind_name(op->kind));
	cJSON_AddStringToObject(r->reply, "type",
				producer_layers(op->p) > 1 ? "simulcast"
							   : "simple");
	cJSON_AddFalseToObject(r->reply, "producerPaused");
	consumer_rtp_parameters(
		ot, op, oc, caps,
		cJSON_AddObjectToObject(r->reply, "rtpParameters"));
	return 0;
}

static int set_paused(struct req *r, bool consumer, bool paused)
{
	const char *id =
		str_field(r->data, consumer ? "consumerId" : "producerId");
	struct le *le =
		consumer ? r->peer->consumers.head : r->peer->producers.head;
	for (; le && id; le = le->next) {
		if (consumer) {
			struct o_consumer *oc = le->data;
			if (!strcmp(oc->id, id)) {
				consumer_set_paused(oc->c, paused);
				return 0;
			}
		} else {
			struct o_producer *op = le->data;
			if (!strcmp(op->id, id)) {
				producer_set_paused(op->p, paused);
				return 0;
			}
		}
	}
	return fail(r, FAULT_NOT_FOUND, ENOENT,
		    consumer ? "consumerId: %s is not one of your consumers"
			     : "producerId: %s is not one of your producers",
		    shown(id));
}

static int set_layers(struct req *r)
{
	const char *id = str_field(r->data, "consumerId");
	const cJSON *sp =
		cJSON_GetObjectItemCaseSensitive(r->data, "spatialLayer");
	if (!cJSON_IsNumber(sp) || sp->valuedouble < 0 || sp->valuedouble > 15)
		return fail(r, FAULT_VALIDATION, EINVAL, "spatialLayer: %s",
			    "must be a number 0-15");
	for (struct le *le = id ? r->peer->consumers.head : NULL; le;
	     le = le->next) {
		struct o_consumer *oc = le->data;
		if (!strcmp(oc->id, id)) {
			consumer_set_preferred_layer(oc->c,
						     (unsigned)sp->valuedouble);
			return 0;
		}
	}
	return fail(r, FAULT_NOT_FOUND, ENOENT,
		    "consumerId: %s is not one of your consumers", shown(id));
}

int ortc_request(struct ortc_peer *peer, const char *event, const cJSON *data,
		 cJSON *reply, struct fault *f)
{
	struct req r = {peer, data, reply, f};

	if (!peer || !peer->room || !event || !reply || !f)
		return EINVAL;
	if (!strcmp(event, "media:create-transport"))
		return create_transport(&r);
	if (!strcmp(event, "media:connect-transport"))
		return connect_transport(&r);
	if (!strcmp(event, "media:produce"))
		return produce(&r);
	if (!strcmp(event, "media:consume"))
		return consume(&r);
	if (!strcmp(event, "media:resume-consumer"))
		return set_paused(&r, true, false);
	if (!strcmp(event, "media:pause-producer"))
		return set_paused(&r, false, true);
	if (!strcmp(event, "media:resume-producer"))
		return set_paused(&r, false, false);
	if (!strcmp(event, "media:set-preferred-layers"))
		return set_layers(&r);
	return fail(&r, FAULT_NOT_FOUND, ENOENT, "'%s' is not a media request",
		    event);
}
