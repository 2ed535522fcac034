/*
 * base64url.c - base64url.h.
 */
#include <errno.h>
#include "base64url.h"

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int base64url_decode(const char *in, size_t len, uint8_t *out, size_t *outlen)
{
	uint32_t acc = 0;
	size_t n = 0, bits = 0;

	if (!in || !out || !outlen)
		return EINVAL;
	if (len % 4 == 1)
		return EBADMSG;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i]);
		if (v < 0)
			return EBADMSG;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= *outlen)
				return EOVERFLOW;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = n;
	return 0;
}

int base64url_encode(const uint8_t *in, size_t len, char *out, size_t *outlen)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				  "opqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	size_t n = 0, bits = 0;

	if ((!in && len) || !out || !outlen)
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			if (n + 1 >= *outlen)
				return EOVERFLOW;
			out[n++] = tbl[(acc >> bits) & 0x3f];
		}
	}
	if (bits) {
		if (n + 1 >= *outlen)
			return EOVERFLOW;
		out[n++] = tbl[(acc << (6 - bits)) & 0x3f];
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}
