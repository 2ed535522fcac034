/*
 * fault.h - the one shape of an error a client or an operator is told:
 * a code a program can switch on and a sentence a person can act on,
 * naming the bad value. An ack's {ok:false, error:{code, message}}, the
 * "exception" event, a Socket.IO connect_error, a REST answer (its HTTP
 * status chosen by the code), a media node's answer and a log line all
 * carry a struct fault.
 */
#ifndef MEESHY_FAULT_H
#define MEESHY_FAULT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct cJSON;

enum fault_code {
	FAULT_VALIDATION,      /* VALIDATION_ERROR: the request is wrong */
	FAULT_UNAUTHENTICATED, /* no valid token */
	FAULT_FORBIDDEN,       /* a token, but not allowed to do this */
	FAULT_NOT_FOUND,       /* what it names does not exist (here) */
	FAULT_CONFLICT,        /* not in the state this needs */
	FAULT_RATE_LIMITED,    /* too many: send it again later */
	FAULT_INTERNAL,        /* ours: out of resources, a part down */
};

enum { FAULT_MESSAGE_MAX = 512 };

struct fault {
	enum fault_code code;
	char message[FAULT_MESSAGE_MAX];
};

/* Sets f's code and message (libre's printf: %s, %m for an errno...);
 * returns f. */
struct fault *fault_set(struct fault *f, enum fault_code code, const char *fmt,
			...);
struct fault *fault_vset(struct fault *f, enum fault_code code, const char *fmt,
			 va_list ap);
/* "VALIDATION_ERROR", "NOT_FOUND", ...: what the wire carries. */
const char *fault_code_name(enum fault_code code);
/* The code a name says; false (and *code untouched) if none. */
bool fault_code_parse(const char *name, enum fault_code *code);
/* The HTTP status a REST answer gives it, and its reason phrase. */
uint16_t fault_http_status(enum fault_code code, const char **reason);
/* {code, message}: the "error" member of an answer. */
struct cJSON *fault_json(const struct fault *f);
/* Reads an "error" member back (a media node's answer); a member that is
 * not one gives INTERNAL with `otherwise` as its message. */
void fault_from_json(struct fault *f, const struct cJSON *error,
		     const char *otherwise);

#endif
