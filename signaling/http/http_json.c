/*
 * http_json.c - HTTP answers with a body.
 */
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

void http_json_error(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const char *code, const char *msg)
{
	cJSON *o = cJSON_CreateObject(), *e = cJSON_CreateObject();
	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddItemToObject(o, "error", e);
	http_json_reply(conn, scode, reason, o);
	cJSON_Delete(o);
}
