/*
 * fault.c - the error shape every surface tells (fault.h).
 */
#include <stdarg.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "fault.h"

static const struct {
	const char *name;
	uint16_t status;
	const char *reason;
} codes[] = {
	[FAULT_VALIDATION] = {"VALIDATION_ERROR", 400, "Bad Request"},
	[FAULT_UNAUTHENTICATED] = {"UNAUTHENTICATED", 401, "Unauthorized"},
	[FAULT_FORBIDDEN] = {"FORBIDDEN", 403, "Forbidden"},
	[FAULT_NOT_FOUND] = {"NOT_FOUND", 404, "Not Found"},
	[FAULT_CONFLICT] = {"CONFLICT", 409, "Conflict"},
	[FAULT_RATE_LIMITED] = {"RATE_LIMITED", 429, "Too Many Requests"},
	/* a part of ours is down or out of room: try again, maybe elsewhere */
	[FAULT_INTERNAL] = {"INTERNAL", 503, "Service Unavailable"},
};

static enum fault_code known(enum fault_code code)
{
	return (unsigned)code < ARRAY_SIZE(codes) ? code : FAULT_INTERNAL;
}

struct fault *fault_vset(struct fault *f, enum fault_code code, const char *fmt,
			 va_list ap)
{
	char *text = NULL;
	f->code = known(code);
	/* libre's snprintf leaves nothing of a text too long: print it
	 * whole, then keep what fits */
	if (re_vsdprintf(&text, fmt, ap))
		str_ncpy(f->message, "(no memory to say why)",
			 sizeof(f->message));
	else
		str_ncpy(f->message, text, sizeof(f->message));
	mem_deref(text);
	return f;
}

struct fault *fault_set(struct fault *f, enum fault_code code, const char *fmt,
			...)
{
	va_list ap;
	va_start(ap, fmt);
	fault_vset(f, code, fmt, ap);
	va_end(ap);
	return f;
}

const char *fault_code_name(enum fault_code code)
{
	return codes[known(code)].name;
}

bool fault_code_parse(const char *name, enum fault_code *code)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(codes); i++)
		if (!strcmp(codes[i].name, name)) {
			*code = (enum fault_code)i;
			return true;
		}
	return false;
}

uint16_t fault_http_status(enum fault_code code, const char **reason)
{
	if (reason)
		*reason = codes[known(code)].reason;
	return codes[known(code)].status;
}

cJSON *fault_json(const struct fault *f)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "code", fault_code_name(f->code));
	cJSON_AddStringToObject(e, "message", f->message);
	return e;
}

void fault_from_json(struct fault *f, const cJSON *error, const char *otherwise)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
	f->code = FAULT_INTERNAL;
	if (!cJSON_IsString(code) ||
	    !fault_code_parse(code->valuestring, &f->code))
		f->code = FAULT_INTERNAL;
	str_ncpy(f->message, cJSON_IsString(msg) ? msg->valuestring : otherwise,
		 sizeof(f->message));
}
