/*
 * base64url.h - base64url without padding (RFC 4648 section 5): JWT
 * segments and Engine.IO session ids.
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

#endif
