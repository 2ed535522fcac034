/*
 * mongo_map.h - the records of store.h as MongoDB documents.
 *
 * Documents look the way Prisma keeps the seed's models: one collection per
 * model (CallSession, CallParticipant, CallTranscription, QualityMetric),
 * the record id as _id, times as BSON dates (null when not set),
 * translations as a sub-document. No server is needed for any of this, so
 * the mapping is unit-tested on every build; store_mongo.c does the I/O.
 */
#ifndef MEESHY_MONGO_MAP_H
#define MEESHY_MONGO_MAP_H

#include <bson/bson.h>
#include "store.h"

/* Collection names, as the seed's models. */
/* Meeshy's collections (its Prisma schema's @@map), so its Node code reads
 * our records and we read its: ObjectId ids, its field names and enums,
 * DateTime as BSON dates. What only we need rides beside, in fields
 * Prisma does not read (callStatus, type, mediaServerId, endReason,
 * status of a participant, isFinal, translations). */
#define MONGO_CALLS "call_sessions"
#define MONGO_PARTICIPANTS "call_participants"
#define MONGO_TRANSCRIPTIONS "transcriptions"
#define MONGO_TRANSLATIONS "translation_calls"
#define MONGO_QUALITY "QualityMetric"
/* Meeshy's own collection (its Prisma model ConversationMember): read,
 * never written here */
#define MONGO_MEMBERS "ConversationMember"
#define MONGO_ANONYMOUS "AnonymousParticipant"
#define MONGO_SHARE_LINKS "ConversationShareLink"

/* Records -> documents (doc initialised by the caller, appended to). */
void mongo_call_to_bson(const struct call_session *c, bson_t *doc);
/* now_ms: what an invited participant's joinedAt says (Prisma requires
 * one). */
void mongo_participant_to_bson(const struct call_participant *p,
			       uint64_t now_ms, bson_t *doc);
/* EINVAL when t->translations is not a JSON object. */
int mongo_transcription_to_bson(const struct call_transcription *t,
				bson_t *doc);
void mongo_quality_to_bson(const struct quality_metric *q, bson_t *doc);

/* An id as Meeshy keeps it: an ObjectId when it is 24 hex digits (every
 * id we make), else the string (ids others chose: "conv-1"). The same in
 * filters, so a query finds what was written. */
void mongo_put_ref(bson_t *doc, const char *key, const char *id);
/* A status filter in Meeshy's terms: its enum has no "failed" (an ended
 * call, our callStatus says so). */
void mongo_status_filter(bson_t *filter, const char *status);
/* translation_calls: one document per language of t's translations,
 * upserted by (transcriptionId, targetLanguage); h gets each filter and
 * document. EINVAL: translations not a JSON object. */
typedef int(mongo_doc_h)(const bson_t *filter, const bson_t *doc, void *arg);
int mongo_translations_each(const struct call_transcription *t, uint64_t now_ms,
			    mongo_doc_h *h, void *arg);

/* Documents -> records. Missing fields read as empty/0; EINVAL when a
 * document has no string _id (a record another program wrote badly). */
int mongo_call_from_bson(const bson_t *doc, struct call_session *c);
int mongo_participant_from_bson(const bson_t *doc, struct call_participant *p);
/* Meeshy's membership document: {conversationId, userId} as ObjectIds
 * (Prisma's @db.ObjectId); EINVAL when an id is not 24 hex digits. */
int mongo_member_filter(const char *conversationId, const char *userId,
			bson_t *filter);
/* Its fields (role, joinedAt, leftAt, isActive; an absent isActive is
 * Prisma's default, true); ids as hex. */
int mongo_member_from_bson(const bson_t *doc, struct conversation_member *m);
/* Meeshy's AnonymousParticipant (its share link's id in link_id, to read
 * next), then its ConversationShareLink into the same record. */
int mongo_anonymous_from_bson(const bson_t *doc, struct anonymous_session *a,
			      char *link_id, size_t size);
void mongo_share_link_from_bson(const bson_t *doc, struct anonymous_session *a);
/* t->text and t->translations are allocated (mem_alloc): free both with
 * mongo_transcription_clear(). */
int mongo_transcription_from_bson(const bson_t *doc,
				  struct call_transcription *t);
void mongo_transcription_clear(struct call_transcription *t);
int mongo_quality_from_bson(const bson_t *doc, struct quality_metric *q);

/* The seed's indexes (DESIGN.md "Records"), created at start. */
struct mongo_index {
	const char *collection;
	const char *name;
	const char *keys; /* JSON, field order is the index's */
};
extern const struct mongo_index mongo_indexes[];
extern const size_t mongo_index_count;

/* Where each query class reads (the seed's "query routing"): the state of
 * live calls from the primary, history and transcriptions from a secondary
 * when there is one. Writes always go to the primary. */
enum mongo_query {
	MONGO_Q_CALL,         /* one call by id: a live call's state */
	MONGO_Q_CALLS_STATUS, /* calls in a status: recovery, takeover */
	MONGO_Q_PARTICIPANTS, /* who is in a live call */
	MONGO_Q_HISTORY,      /* a conversation's calls */
	MONGO_Q_TRANSCRIPTS,  /* a call's transcriptions */
	MONGO_Q_QUALITY,      /* a call's quality reports */
	MONGO_Q_ARCHIVE,      /* what to archive, then delete */
	MONGO_Q_ANONYMOUS,    /* an anonymous session: primary, as members */
	MONGO_Q_MEMBER,       /* may this user call in this conversation: a
			       * member just removed must not still ring */
};
enum mongo_read { MONGO_READ_PRIMARY, MONGO_READ_SECONDARY_PREFERRED };
enum mongo_read mongo_read_for(enum mongo_query q);

#endif
