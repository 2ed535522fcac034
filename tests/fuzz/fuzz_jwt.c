/* A token as a client sends it (auth.token, "authenticate", Bearer),
 * verified against the secret its seeds were signed with. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "jwt.h"

static const char secret[] = "meeshy-fuzz-secret-0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_claims *claims = NULL;
	char *token;

	if (size > JWT_MAX)
		return 0;
	token = malloc(size + 1);
	if (!token)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	/* "now" inside the seeds' lifetimes, so signed ones get as far as
	 * their claims */
	if (!jwt_verify(&claims, token, (const uint8_t *)secret,
			sizeof(secret) - 1, 1800000000, JWT_SKEW_S))
		mem_deref(claims);
	free(token);
	return 0;
}
