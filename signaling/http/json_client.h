/*
 * json_client.h - JSON over HTTP POST, for the services a server talks to:
 * media nodes' internal API, the translator.
 *
 * Every request gets exactly one answer: its JSON object body, or err
 * (the service did not answer or did not answer JSON: EPROTO; ECANCELED:
 * the client is being freed, touch nothing but arg).
 */
#ifndef MEESHY_JSON_CLIENT_H
#define MEESHY_JSON_CLIENT_H

#include <cjson/cJSON.h>

struct json_client;

typedef void(json_client_h)(int err, const cJSON *body, void *arg);

/* Host names in URLs are resolved with the system's name servers. */
int json_client_alloc(struct json_client **jcp);
/* Signs every request from now on with the cluster's credential
 * (internal_auth.h); auth is borrowed and must outlive the client. */
struct internal_auth;
void json_client_set_auth(struct json_client *jc,
			  const struct internal_auth *auth);
/* POSTs body to url; h (may be NULL) gets the answer. */
int json_client_post(struct json_client *jc, const char *url, const cJSON *body,
		     json_client_h *h, void *arg);

#endif
