/*
 * eio_codec.c - Engine.IO v4 payloads and packets as a client sends them
 * (eio.h's codec), and the request's query parameters.
 */
#include <string.h>
#include <re.h>
#include "eio.h"

/* Codec */

/* Padded base64: whole quads, '=' only in the last one's last two. */
static bool base64_valid(const char *p, size_t len)
{
	if (len % 4)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/')
			continue;
		if (c != '=' || i + 2 < len ||
		    (i + 2 == len && p[len - 1] != '='))
			return false;
	}
	return true;
}

bool eio_packet_valid(const char *p, size_t len)
{
	if (!p || len == 0)
		return false;
	switch (p[0]) {
	case EIO_CLOSE:
	case EIO_UPGRADE:
	case EIO_NOOP:
		return len == 1;
	case EIO_PING:
	case EIO_PONG:
		return len == 1 || (len == 6 && !memcmp(p + 1, "probe", 5));
	case EIO_MESSAGE:
		return true;
	case EIO_BINARY:
		return base64_valid(p + 1, len - 1);
	default:
		return false; /* open is server-only */
	}
}

bool eio_payload_valid(const char *p, size_t len)
{
	size_t start = 0;

	if (!p)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || p[i] == 0x1e) {
			if (!eio_packet_valid(p + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

int eio_payload_decode(const char *p, size_t len, eio_packet_h *h, void *arg)
{
	size_t start = 0, n = 0;

	/* Check the whole payload first so a bad one is dropped whole. */
	if (!h || !eio_payload_valid(p, len))
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || p[i] == 0x1e) {
			h(p[start], p + start + 1, i - start - 1, arg);
			n++;
			start = i + 1;
		}
	}
	return (int)n;
}

/* Query string */

bool eio_query_get(const struct http_msg *msg, const char *key, struct pl *val)
{
	struct pl q = msg->prm;
	size_t klen = strlen(key);

	if (q.l && q.p[0] == '?') {
		q.p++;
		q.l--;
	}
	while (q.l) {
		const char *amp = memchr(q.p, '&', q.l);
		size_t plen = amp ? (size_t)(amp - q.p) : q.l;
		if (plen > klen && q.p[klen] == '=' &&
		    !memcmp(q.p, key, klen)) {
			val->p = q.p + klen + 1;
			val->l = plen - klen - 1;
			return true;
		}
		if (!amp)
			break;
		q.l -= plen + 1;
		q.p = amp + 1;
	}
	return false;
}
