/*
 * base64url.c - base64url.h: one coder for both alphabets, which differ
 * in their last two characters.
 */
#include <errno.h>
#include "base64url.h"

static const char url_tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
			      "opqrstuvwxyz0123456789-_";
static const char std_tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
			      "opqrstuvwxyz0123456789+/";

static int b64val(char c, const char *tbl)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == tbl[62])
		return 62;
	if (c == tbl[63])
		return 63;
	return -1;
}

static int decode(const char *in, size_t len, uint8_t *out, size_t *outlen,
		  const char *tbl)
{
	uint32_t acc = 0;
	size_t n = 0, bits = 0;

	if (!in || !out || !outlen)
		return EINVAL;
	if (len % 4 == 1)
		return EBADMSG;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i], tbl);
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

static int encode(const uint8_t *in, size_t len, char *out, size_t *outlen,
		  const char *tbl)
{
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

int base64url_decode(const char *in, size_t len, uint8_t *out, size_t *outlen)
{
	return decode(in, len, out, outlen, url_tbl);
}

int base64url_encode(const uint8_t *in, size_t len, char *out, size_t *outlen)
{
	return encode(in, len, out, outlen, url_tbl);
}

int base64_decode_padded(const char *in, size_t len, uint8_t *out,
			 size_t *outlen)
{
	size_t pad = 0;

	if (!in || len % 4)
		return EBADMSG;
	while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
		pad++;
	return decode(in, len - pad, out, outlen, std_tbl);
}

size_t base64_padded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

int base64_encode_padded(const uint8_t *in, size_t len, char *out,
			 size_t *outlen)
{
	size_t room = outlen ? *outlen : 0, n = room;
	int err;

	if (room < base64_padded_len(len) + 1)
		return EOVERFLOW;
	err = encode(in, len, out, &n, std_tbl);
	if (err)
		return err;
	while (n % 4)
		out[n++] = '=';
	out[n] = '\0';
	*outlen = n;
	return 0;
}
