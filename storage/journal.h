/*
 * journal.h - an append-only file of records that must survive the process
 * until they land elsewhere: the store's writes queued while its backend
 * cannot take them (a Mongo away, a full or locked disk).
 *
 * A record is a kind, a fixed-size body (a record struct, as this build
 * lays it out) and two optional strings, with a checksum. The file starts
 * with a layout string the caller gives (the structs' sizes): a journal
 * written by a build whose structs differ is refused by name and set aside,
 * never misread. A record cut short by a crash, or damaged, ends the
 * reading: what was whole before it is kept.
 *
 * Writes are buffered by the kernel until journal_sync() (one fsync for
 * all that was appended since). A rewrite (journal_restart() ...
 * journal_commit()) replaces the file at once by rename, so a crash leaves
 * the old file or the new one, whole.
 */
#ifndef MEESHY_JOURNAL_H
#define MEESHY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct journal;

/* One record read back; strings may be NULL. Non-zero stops the reading. */
typedef int(journal_rec_h)(uint8_t kind, const void *body, size_t len,
			   const char *text, const char *text2, void *arg);

/* Opens (or makes) the journal at path; each record already there is
 * handed to h first (*n: how many). A file of another layout is renamed
 * to "<path>.refused-<ms>" (*refused set) and a new one begun. */
int journal_open(struct journal **jp, const char *path, const char *layout,
		 journal_rec_h *h, void *arg, size_t *n, int *refused);
int journal_append(struct journal *j, uint8_t kind, const void *body,
		   size_t len, const char *text, const char *text2);
/* fsyncs what was appended since the last sync (nothing to do if none). */
int journal_sync(struct journal *j);
/* Back to no records (the header alone), synced. */
int journal_reset(struct journal *j);
/* Appends go to a new file from now on until journal_commit() puts it in
 * place of the old one. */
int journal_restart(struct journal *j);
int journal_commit(struct journal *j);
/* Bytes of records in the file (the header not counted). */
size_t journal_bytes(const struct journal *j);
const char *journal_path(const struct journal *j);

#endif
