/*
 * validate.c - payload checks with messages that name the bad value.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "validate.h"

bool validate_is_id(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.' || c == ':' || c == '@'))
			return false;
	}
	return n > 0 && n <= VALIDATE_ID_MAX;
}

bool validate_is_language(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* The value as JSON, cut to fit a message. */
static const char *shown(const cJSON *v, char *buf, size_t size)
{
	char *p;
	if (!v)
		return "(missing)";
	p = cJSON_PrintUnformatted(v);
	if (!p)
		return "?";
	str_ncpy(buf, p, size);
	if (strlen(p) >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
	cJSON_free(p);
	return buf;
}

int validate_id(const cJSON *o, const char *field, const char **out, char *msg,
		size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
	char buf[48];
	if (cJSON_IsString(v) && validate_is_id(v->valuestring)) {
		*out = v->valuestring;
		return 0;
	}
	if (!v)
		(void)re_snprintf(msg, size,
				  "%s is required (an id of 1-%d characters)",
				  field, VALIDATE_ID_MAX);
	else
		(void)re_snprintf(msg, size,
				  "%s: %s is not an id (1-%d"
				  " characters of A-Z a-z 0-9 _ - . : @)",
				  field, shown(v, buf, sizeof(buf)),
				  VALIDATE_ID_MAX);
	return EINVAL;
}

int validate_enum(const cJSON *o, const char *field, const char *const *allowed,
		  const char *def, const char **out, char *msg, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
	char buf[48], list[128] = "";
	size_t pos = 0;

	if (!v && def) {
		*out = def;
		return 0;
	}
	for (size_t i = 0; allowed[i]; i++) {
		if (cJSON_IsString(v) && !strcmp(v->valuestring, allowed[i])) {
			*out = allowed[i];
			return 0;
		}
		pos += (size_t)re_snprintf(list + pos, sizeof(list) - pos,
					   "%s%s", i ? ", " : "", allowed[i]);
		if (pos >= sizeof(list))
			break;
	}
	(void)re_snprintf(msg, size, "%s: %s is not one of %s", field,
			  shown(v, buf, sizeof(buf)), list);
	return EINVAL;
}

int validate_bool(const cJSON *o, const char *field, bool *out, bool *given,
		  char *msg, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
	char buf[48];
	*given = v != NULL;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v)) {
		(void)re_snprintf(msg, size, "%s: %s is not true or false",
				  field, shown(v, buf, sizeof(buf)));
		return EINVAL;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

int validate_text(const cJSON *o, const char *field, size_t max,
		  const char **out, char *msg, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
	char buf[48];
	if (cJSON_IsString(v) && v->valuestring[0] &&
	    strlen(v->valuestring) <= max) {
		*out = v->valuestring;
		return 0;
	}
	(void)re_snprintf(msg, size, "%s: %s is not a text of 1-%zu bytes",
			  field, shown(v, buf, sizeof(buf)), max);
	return EINVAL;
}
