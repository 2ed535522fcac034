/*
 * parts.h - what a role's gateway works with, built and freed here, the
 * one place that puts the parts together: role all its SFU (the media
 * workers and the media door onto them), role gateway Redis, the bus and
 * the media nodes (the media door over HTTP); both the cache (in this
 * process, or Redis's) and the translator reading it.
 */
#ifndef MEESHY_APP_PARTS_H
#define MEESHY_APP_PARTS_H

#include <stddef.h>
#include "gateway.h"

struct app_config;
struct internal_auth;

struct app_parts {
	struct gateway_parts gw;             /* what the gateway borrows */
	struct internal_auth *internal_auth; /* role gateway: signs requests
					      * to media nodes */
};

/* The parts of cfg's role around store. On error an errno value, and the
 * setting that could not be honoured named in why. */
int app_parts_make(struct app_parts *p, const struct app_config *cfg,
		   struct store *store, char *why, size_t whysize);
/* After the gateway that borrowed them is freed. */
void app_parts_free(struct app_parts *p);

#endif
