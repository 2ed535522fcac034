/*
 * http_json.h - HTTP answers with a body: JSON documents, a fault
 * (fault.h) as {ok:false, error:{code, message}} with the HTTP status its
 * code takes, and raw bodies.
 */
#ifndef MEESHY_HTTP_JSON_H
#define MEESHY_HTTP_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "fault.h"

struct httpd_conn;

void http_body_reply(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const char *ctype, const void *body,
		     size_t len);
void http_json_reply(struct httpd_conn *conn, uint16_t scode,
		     const char *reason, const cJSON *body);
void http_fault_reply(struct httpd_conn *conn, const struct fault *f);
/* A fault made of a code and a sentence (libre's printf). */
void http_error_reply(struct httpd_conn *conn, enum fault_code code,
		      const char *fmt, ...);

#endif
