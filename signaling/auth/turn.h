/*
 * turn.h - TURN for clients: time-limited credentials that coturn's
 * use-auth-secret checks (the TURN REST API, draft-uberti-behave-turn-rest:
 * username "<expiry>:<user>", password base64(HMAC-SHA1(secret, username))),
 * and the TURN servers nearest a client's region.
 *
 * Servers are configured per continent: a JSON object of continent code
 * (NA, SA, EU, AF, AS, OC, AN) to an array of TURN/STUN URIs, with a
 * "default" entry; a plain array is the default alone.
 */
#ifndef MEESHY_TURN_H
#define MEESHY_TURN_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct turn_config {
	const uint8_t *secret; /* NULL: no credentials are handed out */
	size_t secret_len;
	uint32_t ttl_s;      /* how long credentials stay valid */
	const char *servers; /* JSON, see above; NULL or "" for none */
};

enum { TURN_USERNAME_MAX = 160, TURN_CREDENTIAL_MAX = 32 };

/* Credentials for user, valid until now_s + ttl. Returns 0 or EINVAL. */
int turn_credentials(const struct turn_config *cfg, const char *user,
		     uint64_t now_s, char *username, char *credential);
/* The continent code of an ISO 3166-1 alpha-2 country code, or NULL. */
const char *turn_continent(const char *country);
/* The TURN URIs for a continent (its own, else "default"): a new array. */
cJSON *turn_uris(const struct turn_config *cfg, const char *continent);
/* RTCIceServer entries for user near continent, with credentials: a new
 * array, empty when TURN is not configured. */
cJSON *turn_ice_servers(const struct turn_config *cfg, const char *user,
			const char *continent, uint64_t now_s);
/* Checks the servers JSON; returns 0, or EINVAL with a sentence in why. */
int turn_servers_check(const char *servers, char *why, size_t whysize);

#endif
