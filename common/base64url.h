/*
 * base64url.h - base64url without padding (RFC 4648 section 5): JWT
 * segments and Engine.IO session ids; and base64 with padding (section 4):
 * Engine.IO's binary packets on long-polling ("b" + base64).
 */
#ifndef MEESHY_BASE64URL_H
#define MEESHY_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* *outlen: the room in out on the way in, the bytes written on the way
 * out. EBADMSG for a character outside the alphabet or an impossible
 * length, EOVERFLOW when out is too small. */
int base64url_decode(const char *in, size_t len, uint8_t *out, size_t *outlen);
/* out is NUL-terminated; *outlen excludes the NUL. */
int base64url_encode(const uint8_t *in, size_t len, char *out, size_t *outlen);

/* The same for base64: the input a multiple of 4 characters, '=' only as
 * its last one or two; the output padded. */
int base64_decode_padded(const char *in, size_t len, uint8_t *out,
			 size_t *outlen);
int base64_encode_padded(const uint8_t *in, size_t len, char *out,
			 size_t *outlen);
/* Characters base64_encode_padded writes for len bytes (without NUL). */
size_t base64_padded_len(size_t len);

#endif
