/*
 * calls_transcripts.c - call:transcription: a participant's words stored
 * (finals only) and told to the call, a final one translated first into
 * the languages its listeners hear when a translator is configured.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "port.h"
#include "validate.h"
#include "translator.h"
#include "uuid.h"
#include "calls_impl.h"

/* A final transcription waiting for its translations. */
struct pending_tr {
	struct gateway *gw;
	struct client *cl; /* held: the speaker, left out of the broadcast */
	struct call_transcription t;
	char *text;
	char room[STORE_ID_MAX + 16];
};

static void pending_tr_destructor(void *arg)
{
	struct pending_tr *pt = arg;
	mem_deref(pt->cl);
	mem_deref(pt->text);
}

/* Stores the transcription (finals only) and tells the room. */
static int transcription_out(struct gateway *gw, struct client *speaker,
			     const char *room, struct call_transcription *t)
{
	cJSON *o;
	int err = 0;

	if (t->isFinal)
		err = store_transcription_put(gw->store, t);
	if (err)
		return err;
	o = store_transcription_json(t);
	cJSON_AddStringToObject(o, "userId", speaker->user_id);
	cJSON_AddStringToObject(o, "callId", t->callSessionId);
	emit_except(gw, room, speaker->gone ? NULL : speaker,
		    "call:transcription", o);
	cJSON_Delete(o);
	return err;
}

static void on_translations(int err, const cJSON *translations, void *arg)
{
	struct pending_tr *pt = arg;
	char *json;

	if (err == ECANCELED) { /* shutting down: the gateway is going */
		mem_deref(pt);
		return;
	}
	json = cJSON_PrintUnformatted(translations);
	pt->t.text = pt->text;
	pt->t.translations = json ? json : "{}";
	err = transcription_out(pt->gw, pt->cl, pt->room, &pt->t);
	if (err)
		port_log(PORT_LOG_ERROR,
			 "transcription %s: the store refused it: %m", pt->t.id,
			 err);
	cJSON_free(json);
	mem_deref(pt);
}

/* The languages the call's other participants hear, other than `from`. */
static size_t listener_languages(const struct live_call *c,
				 const struct live_part *speaker,
				 const char *from, const char **langs,
				 size_t max)
{
	size_t n = 0;
	for (struct le *le = c->parts.head; le && n < max; le = le->next) {
		const struct live_part *p = le->data;
		bool seen = false;
		if (p == speaker || !p->language[0] ||
		    strcmp(p->rec.status, "joined") ||
		    !strcasecmp(p->language, from))
			continue;
		for (size_t i = 0; i < n; i++)
			seen = seen || !strcasecmp(langs[i], p->language);
		if (!seen)
			langs[n++] = p->language;
	}
	return n;
}

/* A final transcription waits for its translations (at most
 * TRANSLATOR_WAIT_MS) before it goes out; false when it could not be
 * handed to the translator (then it goes out untranslated). */
static bool transcription_translate(struct live_call *c, struct client *cl,
				    const struct call_transcription *t,
				    const char **to, size_t n)
{
	struct gateway *gw = cl->gw;
	struct pending_tr *pt = mem_zalloc(sizeof(*pt), pending_tr_destructor);
	if (!pt || str_dup(&pt->text, t->text)) {
		mem_deref(pt);
		return false;
	}
	pt->gw = gw;
	pt->cl = mem_ref(cl);
	pt->t = *t;
	str_ncpy(pt->room, c->room, sizeof(pt->room));
	if (translator_translate(gw->translator, t->text, t->language, to, n,
				 on_translations, pt)) {
		mem_deref(pt);
		return false;
	}
	return true;
}

void on_transcription(struct ev *e)
{
	struct client *cl = e->cl;
	struct gateway *gw = cl->gw;
	struct live_call *c = want_call(e, NULL);
	struct call_transcription t;
	struct live_part *p;
	const char *text, *lang, *to[32];
	bool is_final = false, given;
	size_t n = 0;
	cJSON *o;
	int err = 0;

	if (!c || !(p = want_joined(e, c)) ||
	    !want_text(e, "text", TEXT_MAX, &text) ||
	    !want_text(e, "language", 15, &lang) ||
	    !want_bool(e, "isFinal", &is_final, &given))
		return;
	if (!validate_is_language(lang)) {
		ack_error(cl, e->ack, e->name, FAULT_VALIDATION,
			  "language: '%s' is not a language tag (like en or"
			  " pt-BR)",
			  lang);
		return;
	}
	memset(&t, 0, sizeof(t));
	if (objectid_new(t.id, sizeof(t.id))) {
		ack_error(cl, e->ack, e->name, FAULT_INTERNAL, "no randomness");
		return;
	}
	str_ncpy(t.callSessionId, c->rec.id, sizeof(t.callSessionId));
	str_ncpy(t.participantId, p->rec.id, sizeof(t.participantId));
	str_ncpy(t.language, lang, sizeof(t.language));
	t.text = text;
	t.isFinal = is_final;
	t.timestamp = port_wallclock_ms();
	t.translations = "{}";
	/* interim results go out at once, as said */
	if (is_final && gw->translator)
		n = listener_languages(c, p, lang, to, ARRAY_SIZE(to));
	if (!n || !transcription_translate(c, cl, &t, to, n))
		err = transcription_out(gw, cl, c->room, &t);
	if (err == ENOSPC) {
		ack_error(cl, e->ack, e->name, FAULT_RATE_LIMITED,
			  "the store is not keeping up (its write queue is"
			  " full): send it again later");
		return;
	}
	if (err) {
		ack_error(cl, e->ack, e->name, FAULT_INTERNAL,
			  "the store refused the transcription: %m", err);
		return;
	}
	o = ok_body();
	cJSON_AddStringToObject(o, "id", t.id);
	ack_send(cl, e->ack, o);
}
