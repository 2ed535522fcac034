/*
 * validate.h - checks on client payloads. Each check reads one field of a
 * JSON object; on failure it writes a sentence naming the field and the bad
 * value into msg and returns EINVAL.
 */
#ifndef MEESHY_VALIDATE_H
#define MEESHY_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

enum { VALIDATE_ID_MAX = 128 };

/* An id: 1-128 characters of A-Z a-z 0-9 _ - . : @ */
bool validate_is_id(const char *s);
bool validate_is_language(const char *s);

int validate_id(const struct cJSON *o, const char *field, const char **out,
		char *msg, size_t size);
/* One of the NULL-terminated list `allowed`; def (may be NULL) if absent. */
int validate_enum(const struct cJSON *o, const char *field,
		  const char *const *allowed, const char *def, const char **out,
		  char *msg, size_t size);
/* Optional boolean: *given tells whether it was there. */
int validate_bool(const struct cJSON *o, const char *field, bool *out,
		  bool *given, char *msg, size_t size);
/* A non-empty string of at most max bytes. */
int validate_text(const struct cJSON *o, const char *field, size_t max,
		  const char **out, char *msg, size_t size);

#endif
