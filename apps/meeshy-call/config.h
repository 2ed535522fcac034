/*
 * config.h - meeshy-call's settings: defaults, then a JSON config file,
 * then MEESHY_* environment variables, then command-line flags. Every value
 * is checked; a bad one is reported with its name and value.
 */
#ifndef MEESHY_APP_CONFIG_H
#define MEESHY_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app_config {
	char role[16];
	char listen[128];
	char rtc_listen[128];
	char redis_url[300];
	char api_url[300];
	char announced_ip[64];
	uint32_t announced_port;
	uint32_t drain_timeout_ms;
	char db[512];
	char archive_dir[512];
	char web_root[512];
	char ice_servers[2048];
	char node_id[64];
	char log_level[8];
	bool dev_auth;
	bool stay_sfu;
	uint32_t sfu_from;
	uint32_t ping_interval_ms, ping_timeout_ms, max_payload;
	uint32_t max_connections, max_participants, events_per_sec;
	uint32_t events_per_sec_per_ip, max_sessions_per_ip, max_buffered;
	uint32_t max_conns_per_ip;
	uint32_t max_sockets_per_user;
	uint32_t request_timeout_ms;
	uint32_t dtls_threads;
	uint32_t media_workers;
	char jwt_secret_file[512];
	/* The secret itself: from MEESHY_JWT_SECRET or the file, never a
	 * flag (it would show in ps) and never logged. */
	uint8_t jwt_secret[256];
	size_t jwt_secret_len;
	char turn_servers[2048];
	char translator_url[512];
	char upstream_url[512];
	char redis_password[256]; /* from the URL or MEESHY_REDIS_PASSWORD */
	char turn_secret_file[512];
	uint32_t turn_ttl_s;
	uint8_t turn_secret[256]; /* as the JWT secret: env or file only */
	size_t turn_secret_len;
	/* roles gateway and media: what signs the internal API's requests
	 * (MEESHY_INTERNAL_SECRET or the file; as the JWT secret) */
	char internal_secret_file[512];
	uint8_t internal_secret[256];
	size_t internal_secret_len;
};

/* Returns 0, 1 when --help or --version was printed (exit 0), or 2 after
 * printing what was wrong to stderr (exit 2). */
int app_config_load(struct app_config *cfg, int argc, char *const argv[]);

#endif
