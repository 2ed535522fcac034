/*
 * http_json.c - HTTP answers with a body.
 */
#include <stdarg.h>
#include <string.h>
#include <re.h>
#include "httpd.h"
#include "http_json.h"

void http_body_reply(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const char *ctype, const void *body,
		     size_t len)
{
	(void)httpd_reply(conn, scode, reason,
			  "Content-Type: %s\r\n"
			  "Content-Length: %zu\r\n"
			  "Cache-Control: no-store\r\n"
			  "\r\n"
			  "%b",
			  ctype, len, body, len);
}

void http_json_reply(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const cJSON *body)
{
	char *json = cJSON_PrintUnformatted(body);
	if (!json) {
		(void)httpd_ereply(conn, 500, "Internal Server Error");
		return;
	}
	http_body_reply(conn, scode, reason, "application/json", json,
			strlen(json));
	cJSON_free(json);
}

void http_fault_reply(struct httpd_conn *conn, const struct fault *f)
{
	const char *reason;
	uint16_t scode = fault_http_status(f->code, &reason);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddItemToObject(o, "error", fault_json(f));
	http_json_reply(conn, scode, reason, o);
	cJSON_Delete(o);
}

void http_error_reply(struct httpd_conn *conn, enum fault_code code,
		      const char *fmt, ...)
{
	struct fault f;
	va_list ap;
	va_start(ap, fmt);
	fault_vset(&f, code, fmt, ap);
	va_end(ap);
	http_fault_reply(conn, &f);
}
