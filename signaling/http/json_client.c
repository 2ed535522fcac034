/*
 * json_client.c - json_client.h over libre's HTTP client.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "internal_auth.h"
#include "json_client.h"

struct json_client {
	struct http_cli *http;
	struct dnsc *dnsc;
	const struct internal_auth *auth; /* borrowed: signs each request */
	bool closing;
};

struct post {
	struct json_client *jc;
	json_client_h *h;
	void *arg;
};

static void client_destructor(void *arg)
{
	struct json_client *jc = arg;
	jc->closing = true;
	mem_deref(jc->http); /* answers still due come now, as ECANCELED */
	mem_deref(jc->dnsc);
}

int json_client_alloc(struct json_client **jcp)
{
	struct json_client *jc;
	struct sa ns[4];
	uint32_t nsn = ARRAY_SIZE(ns);
	char domain[64];
	int err;

	if (!jcp)
		return EINVAL;
	jc = mem_zalloc(sizeof(*jc), client_destructor);
	if (!jc)
		return ENOMEM;
	/* URLs with addresses need no name server: none found is fine */
	if (dns_srv_get(domain, sizeof(domain), ns, &nsn))
		nsn = 0;
	err = dnsc_alloc(&jc->dnsc, NULL, ns, nsn);
	if (!err)
		err = http_client_alloc(&jc->http, jc->dnsc);
	if (err) {
		mem_deref(jc);
		return err;
	}
	*jcp = jc;
	return 0;
}

static void on_response(int err, const struct http_msg *msg, void *arg)
{
	struct post *p = arg;
	cJSON *body = NULL;

	if (!err && msg && msg->mb)
		body = cJSON_ParseWithLength((const char *)mbuf_buf(msg->mb),
					     mbuf_get_left(msg->mb));
	if (!err && !cJSON_IsObject(body))
		err = EPROTO;
	if (p->jc->closing)
		err = ECANCELED;
	if (p->h)
		p->h(err, err ? NULL : body, p->arg);
	cJSON_Delete(body);
	mem_deref(p);
}

void json_client_set_auth(struct json_client *jc,
			  const struct internal_auth *auth)
{
	if (jc)
		jc->auth = auth;
}

/* "X-Meeshy-Auth: ...\r\n" for a POST of text to url, or "" without a
 * credential to give. */
static int auth_line(const struct json_client *jc, const char *url,
		     const char *text, char *line, size_t size)
{
	const char *host = strstr(url, "://"), *path;
	char cred[INTERNAL_AUTH_HDR_MAX];
	int err;

	line[0] = '\0';
	if (!jc->auth)
		return 0;
	path = host ? strchr(host + 3, '/') : NULL;
	err = internal_auth_sign(jc->auth, "POST", path ? path : "/", text,
				 strlen(text), port_wallclock_ms(), cred);
	if (!err && re_snprintf(line, size, "%s: %s\r\n", INTERNAL_AUTH_HEADER,
				cred) < 0)
		err = ENOMEM;
	return err;
}

int json_client_post(struct json_client *jc, const char *url, const cJSON *body,
		     json_client_h *h, void *arg)
{
	char auth[INTERNAL_AUTH_HDR_MAX + 32];
	struct post *p;
	char *text;
	int err;

	if (!jc || !url || !body)
		return EINVAL;
	text = cJSON_PrintUnformatted(body);
	p = mem_zalloc(sizeof(*p), NULL);
	if (!text || !p) {
		cJSON_free(text);
		mem_deref(p);
		return ENOMEM;
	}
	p->jc = jc;
	p->h = h;
	p->arg = arg;
	err = auth_line(jc, url, text, auth, sizeof(auth));
	if (!err)
		err = http_request(NULL, jc->http, "POST", url, on_response,
				   NULL, p,
				   "%s"
				   "Content-Type: application/json\r\n"
				   "Content-Length: %zu\r\n"
				   "\r\n"
				   "%s",
				   auth, strlen(text), text);
	cJSON_free(text);
	if (err)
		mem_deref(p);
	return err;
}
