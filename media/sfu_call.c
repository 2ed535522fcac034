/*
 * sfu_call.c - a call's router and its participants' media sessions.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "webrtc_transport.h"
#include "ortc.h"
#include "sdp_session.h"
#include "validate.h"
#include "fault.h"
#include "sfu_call.h"

enum { SDP_MAX = 65536, USER_MAX = 128 };

struct sfu_peer {
	struct le le;
	char user[USER_MAX + 1];
	struct media_session *media; /* plain SDP, or NULL */
	struct ortc_peer *ortc;      /* mediasoup-client, or NULL */
};

struct sfu_call {
	struct webrtc_server *srv;
	struct router *router;
	struct ortc_room *ortc;
	struct list peers;
	char speaker[40]; /* producer id of the active speaker */
};

static void peer_destructor(void *arg)
{
	struct sfu_peer *p = arg;
	list_unlink(&p->le);
	mem_deref(p->media);
	mem_deref(p->ortc);
}

static void call_destructor(void *arg)
{
	struct sfu_call *sc = arg;
	/* sessions and peers hold transports in the router: they go first */
	list_flush(&sc->peers);
	mem_deref(sc->ortc);
	mem_deref(sc->router);
}

static bool transport_secured(const struct webrtc_transport *t)
{
	return webrtc_transport_state(t) == WEBRTC_SECURED;
}

int sfu_call_alloc(struct sfu_call **scp, struct webrtc_server *srv)
{
	struct sfu_call *sc;
	int err;

	if (!scp || !srv)
		return EINVAL;
	sc = mem_zalloc(sizeof(*sc), call_destructor);
	if (!sc)
		return ENOMEM;
	sc->srv = srv;
	err = router_alloc(&sc->router, webrtc_transport_send);
	if (!err)
		router_set_ready_handler(sc->router, transport_secured);
	if (!err)
		err = ortc_room_alloc(&sc->ortc, srv, sc->router);
	if (err) {
		mem_deref(sc);
		return err;
	}
	*scp = sc;
	return 0;
}

static struct sfu_peer *peer_find(const struct sfu_call *sc, const char *user)
{
	for (struct le *le = sc->peers.head; le; le = le->next) {
		struct sfu_peer *p = le->data;
		if (!strcmp(p->user, user))
			return p;
	}
	return NULL;
}

static struct sfu_peer *peer_want(struct sfu_call *sc, const char *user)
{
	struct sfu_peer *p = peer_find(sc, user);
	if (p)
		return p;
	p = mem_zalloc(sizeof(*p), peer_destructor);
	if (!p)
		return NULL;
	str_ncpy(p->user, user, sizeof(p->user));
	list_append(&sc->peers, &p->le, p);
	return p;
}

bool sfu_call_handles(const char *event)
{
	return event && !strncmp(event, "media:", 6);
}

bool sfu_call_has(const struct sfu_call *sc, const char *user)
{
	const struct sfu_peer *p = sc && user ? peer_find(sc, user) : NULL;
	return p && (p->media || p->ortc);
}

/* The plain-SDP path: {sdp} -> {sdp}. A new offer from the same
 * participant replaces its previous session. */
static int offer(struct sfu_call *sc, struct sfu_peer *p, const cJSON *data,
		 cJSON *reply, cJSON *news, struct fault *f)
{
	const char *sdp;
	char *answer = NULL, msg[160] = "";
	int err;

	if (validate_text(data, "sdp", SDP_MAX, &sdp, msg, sizeof(msg)))
		return fault_set(f, FAULT_VALIDATION, "%s", msg), EINVAL;
	p->media = mem_deref(p->media);
	err = media_session_offer(&p->media, sc->srv, sc->router, p->user, sdp,
				  &answer, news, msg, sizeof(msg));
	if (err) {
		fault_set(f, err == EBADMSG ? FAULT_VALIDATION : FAULT_INTERNAL,
			  "sdp: %s", msg[0] ? msg : "the offer was refused");
		return err;
	}
	cJSON_AddStringToObject(reply, "sdp", answer);
	mem_deref(answer);
	return 0;
}

int sfu_call_request(struct sfu_call *sc, const char *user, const char *event,
		     const cJSON *data, cJSON *reply, cJSON *news,
		     struct fault *f)
{
	struct sfu_peer *p;
	int err;

	if (!sc || !user || !*user || !event || !reply || !news || !f)
		return EINVAL;
	p = peer_want(sc, user);
	if (!p)
		return fault_set(f, FAULT_INTERNAL, "out of memory"), ENOMEM;
	if (!strcmp(event, "media:offer"))
		return offer(sc, p, data, reply, news, f);
	if (!p->ortc && ortc_peer_alloc(&p->ortc, sc->ortc, user))
		return fault_set(f, FAULT_INTERNAL, "out of memory"), ENOMEM;
	if (!strcmp(event, "media:get-capabilities")) {
		cJSON_AddItemToObject(reply, "rtpCapabilities",
				      ortc_capabilities());
		cJSON_AddItemToObject(reply, "producers",
				      ortc_room_producers(sc->ortc, p->ortc));
		/* the speaker announced last: media:active-speaker only
		 * says changes, and a joiner would not hear of one that
		 * holds the floor. (Not the loudest now: asking the router
		 * takes its level window from the tick, which then sees no
		 * one and announces nothing more.) */
		const char *uid =
			sc->speaker[0]
				? ortc_room_producer_user(sc->ortc, sc->speaker)
				: NULL;
		if (uid) {
			cJSON *a =
				cJSON_AddObjectToObject(reply, "activeSpeaker");
			cJSON_AddStringToObject(a, "producerId", sc->speaker);
			cJSON_AddStringToObject(a, "userId", uid);
		}
		return 0;
	}
	err = ortc_request(p->ortc, event, data, reply, f);
	if (!err && !strcmp(event, "media:produce")) {
		cJSON *np = cJSON_CreateObject();
		cJSON_AddStringToObject(
			np, "producerId",
			cJSON_GetObjectItem(reply, "id")->valuestring);
		cJSON_AddStringToObject(
			np, "kind",
			cJSON_GetObjectItem(reply, "kind")->valuestring);
		cJSON_AddItemToArray(news, np);
	}
	return err;
}

void sfu_call_leave(struct sfu_call *sc, const char *user, cJSON *closed)
{
	struct sfu_peer *p = sc && user ? peer_find(sc, user) : NULL;
	cJSON *ids, *id;

	if (!p)
		return;
	if (p->ortc && closed) {
		ids = ortc_peer_producer_ids(p->ortc);
		cJSON_ArrayForEach(id, ids)
		{
			cJSON_AddItemToArray(
				closed, cJSON_CreateString(id->valuestring));
		}
		cJSON_Delete(ids);
	}
	mem_deref(p);
}

bool sfu_call_tick(struct sfu_call *sc, unsigned tick, const char **producer_id,
		   const char **user_id)
{
	if (!sc)
		return false;
	router_feedback(sc->router);
	if (tick % 10 == 0)
		router_report(sc->router);
	if (tick % 5 != 0 ||
	    ortc_room_loudest(sc->ortc, producer_id, user_id) ||
	    !strcmp(sc->speaker, *producer_id))
		return false;
	str_ncpy(sc->speaker, *producer_id, sizeof(sc->speaker));
	return true;
}

size_t sfu_call_peers(const struct sfu_call *sc)
{
	return sc ? list_count(&sc->peers) : 0;
}

void sfu_call_stats(const struct sfu_call *sc, struct router_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (sc)
		router_stats(sc->router, st);
}
