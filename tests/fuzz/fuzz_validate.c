/* The checks on client payloads (validate.h) over a JSON document as a
 * client sends it: every field of the object through each check, the
 * sentence it writes on a refusal bounded and NUL-terminated, and a value
 * it accepts being what it says (an id is one, a text within its bound). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "validate.h"

static const char *const kinds[] = {"audio", "video", NULL};

static void check_field(const cJSON *o, const char *field)
{
	char msg[64];
	const char *s = NULL;
	bool b, given;

	memset(msg, 'x', sizeof(msg));
	if (!validate_id(o, field, &s, msg, sizeof(msg))) {
		if (s && !validate_is_id(s))
			abort();
	} else if (!memchr(msg, '\0', sizeof(msg))) {
		abort(); /* the sentence must end within its buffer */
	}
	if (!validate_text(o, field, 16, &s, msg, sizeof(msg)) && s &&
	    (!*s || strlen(s) > 16))
		abort();
	(void)validate_enum(o, field, kinds, NULL, &s, msg, sizeof(msg));
	(void)validate_bool(o, field, &b, &given, msg, sizeof(msg));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, field)))
		(void)validate_is_language(
			cJSON_GetObjectItemCaseSensitive(o, field)
				->valuestring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *o = cJSON_ParseWithLength((const char *)data, size);
	const cJSON *f;

	cJSON_ArrayForEach(f, o)
	{
		if (f->string)
			check_field(o, f->string);
	}
	check_field(o, "callId"); /* absent, or not an object at all */
	cJSON_Delete(o);
	return 0;
}
