/*
 * http_json.h - HTTP answers with a body: JSON documents, the protocol's
 * error shape {ok:false, error:{code, message}}, and raw bodies.
 */
#ifndef MEESHY_HTTP_JSON_H
#define MEESHY_HTTP_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct httpd_conn;

void http_body_reply(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const char *ctype, const void *body,
		     size_t len);
void http_json_reply(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const cJSON *body);
void http_json_error(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const char *code, const char *msg);

#endif
