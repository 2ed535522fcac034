/*
 * config.c - one table of options; each one a flag, an environment twin and
 * a config-file key, with its check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "turn.h"
#include "store.h"
#ifdef MEESHY_WITH_REDIS
#include "redis.h"
#endif
#include "config.h"
#include "gateway.h"

#ifndef MEESHY_VERSION
#define MEESHY_VERSION "0.0.0"
#endif
#ifndef MEESHY_WEB_DEFAULT
#define MEESHY_WEB_DEFAULT "web"
#endif

enum kind { K_STR, K_UINT, K_BOOL };

struct option {
	const char *name; /* flag without "--", also the JSON key */
	const char *env;
	enum kind kind;
	size_t off, size;
	uint32_t min, max; /* K_UINT */
	const char *help;
};

#define STR(f)                                                                 \
	K_STR, offsetof(struct app_config, f),                                 \
		sizeof(((struct app_config *)0)->f), 0, 0
#define UINT(f, lo, hi) K_UINT, offsetof(struct app_config, f), 0, lo, hi
#define BOOL(f) K_BOOL, offsetof(struct app_config, f), 0, 0, 0

static const struct option options[] = {
	{"role", "MEESHY_ROLE", STR(role),
	 "all | gateway | media (default all: everything in one process)"},
	{"listen", "MEESHY_LISTEN", STR(listen),
	 "HTTP/Socket.IO address:port, port 0 for any free one"
	 " (default 127.0.0.1:4000)"},
	{"rtc-listen", "MEESHY_RTC_LISTEN", STR(rtc_listen),
	 "the SFU's UDP address:port for all media, port 0 for any free one"
	 " (default 127.0.0.1:40000)"},
	{"announced-ip", "MEESHY_ANNOUNCED_IP", STR(announced_ip),
	 "the IP browsers send media to, when not --rtc-listen's (NAT, cloud)"},
	{"announced-port", "MEESHY_ANNOUNCED_PORT",
	 UINT(announced_port, 0, 65535),
	 "the UDP port browsers send media to, when a NAT or load balancer"
	 " maps --rtc-listen's port to another (default 0: the same)"},
	{"redis", "MEESHY_REDIS_URL", STR(redis_url),
	 "roles gateway and media: redis://host:port (default"
	 " redis://127.0.0.1:6379); a password as redis://:pw@host:port"
	 " or in MEESHY_REDIS_PASSWORD"},
	{"api-url", "MEESHY_API_URL", STR(api_url),
	 "role media: the URL gateways reach this node's internal API at"
	 " (default http://<--listen>)"},
	{"drain-timeout", "MEESHY_DRAIN_TIMEOUT",
	 UINT(drain_timeout_ms, 0, 600000),
	 "role media: ms SIGTERM waits for calls to move to other nodes"
	 " (default 30000; 0: exit at once)"},
	{"db", "MEESHY_DB", STR(db),
	 "store: a SQLite file, sqlite:PATH (default meeshy.db), or a"
	 " mongodb:// URI (replica set, pool, timeouts from the URI)"},
	{"archive-dir", "MEESHY_ARCHIVE_DIR", STR(archive_dir),
	 "where calls past the 90-day retention go (default archive), and"
	 " the journal of writes the store could not take yet"},
	{"web-root", "MEESHY_WEB_ROOT", STR(web_root),
	 "folder served at / (the demo page)"},
	{"ice-servers", "MEESHY_ICE_SERVERS", STR(ice_servers),
	 "JSON array of RTCIceServer for P2P calls (default [])"},
	{"node-id", "MEESHY_NODE_ID", STR(node_id),
	 "this process's name in records and metrics (default meeshy-1)"},
	{"log-level", "MEESHY_LOG_LEVEL", STR(log_level),
	 "debug | info | warn | error (default info)"},
	{"jwt-secret-file", "MEESHY_JWT_SECRET_FILE", STR(jwt_secret_file),
	 "file holding the HS256 secret (or set MEESHY_JWT_SECRET)"},
	{"internal-secret-file", "MEESHY_INTERNAL_SECRET_FILE",
	 STR(internal_secret_file),
	 "roles gateway and media: file holding the secret that signs the"
	 " media nodes' internal API requests (or set"
	 " MEESHY_INTERNAL_SECRET); the same on every node"},
	{"upstream", "MEESHY_UPSTREAM", STR(upstream_url),
	 "front mode: every event that is not a call's goes, with its ack, to"
	 " this Socket.IO server (Meeshy's gateway, http://host:port) over a"
	 " connection per client carrying the client's auth"},
	{"translator-url", "MEESHY_TRANSLATOR_URL", STR(translator_url),
	 "translator service (POST {text, from, to} -> {translation}):"
	 " final transcriptions go out in each listener's language"},
	{"turn-servers", "MEESHY_TURN_SERVERS", STR(turn_servers),
	 "TURN URIs handed out with credentials: a JSON array, or an object"
	 " of arrays by continent (NA, SA, EU, AF, AS, OC, AN, default)"},
	{"turn-secret-file", "MEESHY_TURN_SECRET_FILE", STR(turn_secret_file),
	 "file holding coturn's static-auth-secret (or set"
	 " MEESHY_TURN_SECRET)"},
	{"turn-ttl", "MEESHY_TURN_TTL", UINT(turn_ttl_s, 60, 604800),
	 "seconds TURN credentials stay valid (default 86400)"},
	{"dev-auth", "MEESHY_DEV_AUTH", BOOL(dev_auth),
	 "accept any token as a guest id: demos and load tests only"},
	{"sfu-from", "MEESHY_SFU_FROM", UINT(sfu_from, 0, 1000),
	 "participants that move a call from P2P to the SFU, 0 for never"
	 " (default 3)"},
	{"stay-sfu", "MEESHY_STAY_SFU", BOOL(stay_sfu),
	 "keep a call on the SFU when it is down to two (default: back to"
	 " P2P)"},
	{"ping-interval", "MEESHY_PING_INTERVAL",
	 UINT(ping_interval_ms, 100, 600000),
	 "Engine.IO ping interval in ms (default 25000)"},
	{"ping-timeout", "MEESHY_PING_TIMEOUT",
	 UINT(ping_timeout_ms, 100, 600000),
	 "Engine.IO pong timeout in ms (default 20000)"},
	{"max-payload", "MEESHY_MAX_PAYLOAD", UINT(max_payload, 1024, 120000),
	 "largest Engine.IO payload in bytes (default 100000)"},
	{"max-connections", "MEESHY_MAX_CONNECTIONS",
	 UINT(max_connections, 1, 1000000),
	 "Socket.IO sessions before new ones are refused (default 10000)"},
	{"max-participants", "MEESHY_MAX_PARTICIPANTS",
	 UINT(max_participants, 2, 1000), "participants per call (default 50)"},
	{"events-per-sec", "MEESHY_EVENTS_PER_SEC",
	 UINT(events_per_sec, 0, 100000),
	 "events per socket per second, 0 for no limit (default 50; a"
	 " user's sockets together 4 times that)"},
	{"events-per-sec-per-ip", "MEESHY_EVENTS_PER_SEC_PER_IP",
	 UINT(events_per_sec_per_ip, 0, 10000000),
	 "events per second from one address, all its sockets together, 0"
	 " for no limit (default 1000)"},
	{"max-sockets-per-user", "MEESHY_MAX_SOCKETS_PER_USER",
	 UINT(max_sockets_per_user, 0, 100000),
	 "signed-in sockets of one user on this gateway, 0 for no limit"
	 " (default 32)"},
	{"max-sessions-per-ip", "MEESHY_MAX_SESSIONS_PER_IP",
	 UINT(max_sessions_per_ip, 0, 10000000),
	 "live Socket.IO sessions from one address, 0 for no limit (default"
	 " 1000; behind a proxy every client has the proxy's address)"},
	{"max-connections-per-ip", "MEESHY_MAX_CONNECTIONS_PER_IP",
	 UINT(max_conns_per_ip, 0, 10000000),
	 "open HTTP connections from one address, 0 for no limit (default"
	 " 1000; a websocket counts as a session once upgraded; behind a"
	 " proxy every client has the proxy's address)"},
	{"max-buffered", "MEESHY_MAX_BUFFERED",
	 UINT(max_buffered, 65536, 4000000000u),
	 "bytes all clients together may make the server hold, for each of:"
	 " requests and frames not yet whole; answers not yet polled for"
	 " (default 67108864)"},
	{"request-timeout", "MEESHY_REQUEST_TIMEOUT",
	 UINT(request_timeout_ms, 100, 600000),
	 "ms a request or websocket frame, once begun, has to arrive whole"
	 " (default 20000)"},
	{"dtls-threads", "MEESHY_DTLS_THREADS", UINT(dtls_threads, 0, 64),
	 "threads for DTLS handshakes, off the packet loop; 0 runs them on"
	 " the loop (default: cores - 1, at least 1)"},
	{"media-workers", "MEESHY_MEDIA_WORKERS", UINT(media_workers, 0, 64),
	 "media worker threads (roles all and media), each with its own"
	 " loop and UDP port: worker i listens on --rtc-listen's port + i; a"
	 " call's media stays on one; 0 runs the media on the signaling loop"
	 " (default: cores - 1, at least 1)"},
};

static void defaults(struct app_config *c)
{
	struct gateway_config gw;

	memset(c, 0, sizeof(*c));
	str_ncpy(c->role, "all", sizeof(c->role));
	str_ncpy(c->redis_url, "redis://127.0.0.1:6379", sizeof(c->redis_url));
	str_ncpy(c->listen, "127.0.0.1:4000", sizeof(c->listen));
	str_ncpy(c->rtc_listen, "127.0.0.1:40000", sizeof(c->rtc_listen));
	str_ncpy(c->db, "meeshy.db", sizeof(c->db));
	str_ncpy(c->archive_dir, "archive", sizeof(c->archive_dir));
	str_ncpy(c->web_root, MEESHY_WEB_DEFAULT, sizeof(c->web_root));
	str_ncpy(c->ice_servers, "[]", sizeof(c->ice_servers));
	str_ncpy(c->node_id, "meeshy-1", sizeof(c->node_id));
	str_ncpy(c->log_level, "info", sizeof(c->log_level));
	/* the gateway's own defaults, so they are written in one place */
	gateway_config_defaults(&gw);
	c->turn_ttl_s = gw.turn.ttl_s;
	c->drain_timeout_ms = 30000;
	c->ping_interval_ms = gw.ping_interval_ms;
	c->ping_timeout_ms = gw.ping_timeout_ms;
	c->max_payload = gw.max_payload;
	c->max_connections = gw.max_connections;
	c->max_participants = gw.max_participants;
	c->events_per_sec = gw.events_per_sec;
	c->events_per_sec_per_ip = gw.events_per_sec_per_ip;
	c->max_sessions_per_ip = gw.max_sessions_per_ip;
	c->max_conns_per_ip = gw.max_conns_per_ip;
	c->max_sockets_per_user = gw.max_sockets_per_user;
	c->max_buffered = gw.max_buffered;
	c->request_timeout_ms = gw.request_timeout_ms;
	{
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		c->dtls_threads = cores > 2 ? (uint32_t)(cores - 1) : 1;
		c->media_workers = c->dtls_threads;
	}
	c->sfu_from = gw.sfu_from;
	c->stay_sfu = !gw.p2p_back;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: meeshy-call [options]\n\n"
		   "The Meeshy call server: Socket.IO gateway, SFU and store."
		   "\nEach option also reads from its environment variable"
		   " and from\nthe JSON file of --config (key = option"
		   " name).\n\n");
	fprintf(f, "  --config FILE         JSON settings (MEESHY_CONFIG)\n");
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		char flag[40];
		(void)re_snprintf(flag, sizeof(flag), "--%s%s", options[i].name,
				  options[i].kind == K_BOOL ? "" : " V");
		fprintf(f, "  %-21s %s (%s)\n", flag, options[i].help,
			options[i].env);
	}
	fprintf(f, "  --help, --version\n");
}

/* Sets one option from text; `from` names where the text came from. */
static int set_opt(struct app_config *c, const struct option *o,
		   const char *val, const char *from)
{
	char *p = (char *)c + o->off;
	char *end;
	unsigned long v;

	switch (o->kind) {
	case K_STR:
		if (strlen(val) >= o->size) {
			fprintf(stderr,
				"meeshy-call: %s: value is longer than"
				" %zu characters\n",
				from, o->size - 1);
			return 2;
		}
		str_ncpy(p, val, o->size);
		return 0;
	case K_BOOL:
		if (!strcmp(val, "1") || !strcmp(val, "true") ||
		    !strcmp(val, "yes"))
			*(bool *)p = true;
		else if (!strcmp(val, "0") || !strcmp(val, "false") ||
			 !strcmp(val, "no"))
			*(bool *)p = false;
		else {
			fprintf(stderr,
				"meeshy-call: %s: '%s' is not true or false\n",
				from, val);
			return 2;
		}
		return 0;
	case K_UINT:
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-' ||
		    v < o->min || v > o->max) {
			fprintf(stderr,
				"meeshy-call: %s: '%s' is not a number"
				" from %u to %u\n",
				from, val, o->min, o->max);
			return 2;
		}
		*(uint32_t *)p = (uint32_t)v;
		return 0;
	}
	return 2;
}

static int load_file(struct app_config *c, const char *path)
{
	char *text = NULL, from[160];
	cJSON *doc, *it;
	long n;
	int err = 0;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "meeshy-call: --config: cannot open '%s': %s\n",
			path, strerror(errno));
		return 2;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    n < 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = mem_zalloc((size_t)n + 1, NULL)) &&
	    fread(text, 1, (size_t)n, f) == (size_t)n) {
		doc = cJSON_Parse(text);
	} else {
		doc = NULL;
	}
	fclose(f);
	mem_deref(text);
	if (!cJSON_IsObject(doc)) {
		fprintf(stderr,
			"meeshy-call: --config: '%s' is not a JSON object\n",
			path);
		cJSON_Delete(doc);
		return 2;
	}
	cJSON_ArrayForEach(it, doc)
	{
		const struct option *o = NULL;
		char num[32];
		const char *val = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(options); i++)
			if (!strcmp(options[i].name, it->string))
				o = &options[i];
		(void)re_snprintf(from, sizeof(from), "%s: \"%s\"", path,
				  it->string);
		if (!o) {
			fprintf(stderr,
				"meeshy-call: %s is not a setting"
				" (see --help)\n",
				from);
			err = 2;
			break;
		}
		if (cJSON_IsString(it))
			val = it->valuestring;
		else if (cJSON_IsBool(it))
			val = cJSON_IsTrue(it) ? "true" : "false";
		else if (cJSON_IsNumber(it)) {
			(void)re_snprintf(num, sizeof(num), "%.0f",
					  it->valuedouble);
			val = num;
		} else if (cJSON_IsArray(it) && o->kind == K_STR) {
			char *s = cJSON_PrintUnformatted(it);
			err = set_opt(c, o, s ? s : "", from);
			cJSON_free(s);
			if (err)
				break;
			continue;
		}
		if (!val) {
			fprintf(stderr,
				"meeshy-call: %s has a value of the"
				" wrong type\n",
				from);
			err = 2;
			break;
		}
		err = set_opt(c, o, val, from);
		if (err)
			break;
	}
	cJSON_Delete(doc);
	return err;
}

/* A secret from its file (trailing newlines dropped) or else from the
 * environment; returns 0, or 2 after saying why on stderr. */
static int load_secret(const char *file, const char *env, const char *flag,
		       uint8_t *buf, size_t size, size_t *len)
{
	*len = 0;
	if (file[0]) {
		FILE *f = fopen(file, "rb");
		size_t n;
		if (!f) {
			fprintf(stderr,
				"meeshy-call: %s: cannot open '%s': %s\n", flag,
				file, strerror(errno));
			return 2;
		}
		n = fread(buf, 1, size, f);
		fclose(f);
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		*len = n;
	} else if (env) {
		*len = strlen(env) < size ? strlen(env) : size;
		memcpy(buf, env, *len);
	}
	return 0;
}

/* Says why a setting is refused (after "meeshy-call: ") and returns the
 * exit status for bad settings. */
static int refuse(const char *fmt, ...)
{
	va_list ap;
	fputs("meeshy-call: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* The role and the addresses it listens on and announces. */
static int check_addresses(const struct app_config *c)
{
	struct sa sa, ip;

	if (strcmp(c->role, "all") && strcmp(c->role, "gateway") &&
	    strcmp(c->role, "media"))
		return refuse("--role: '%s' is not all, gateway or media",
			      c->role);
	if (sa_decode(&sa, c->listen, strlen(c->listen)))
		return refuse("--listen: '%s' is not an address:port (like"
			      " 127.0.0.1:4000 or [::1]:4000; port 0 picks a"
			      " free one)",
			      c->listen);
	if (sa_decode(&sa, c->rtc_listen, strlen(c->rtc_listen)))
		return refuse("--rtc-listen: '%s' is not an address:port"
			      " (like 127.0.0.1:40000)",
			      c->rtc_listen);
	if (sa_port(&sa) && c->media_workers > 1 &&
	    sa_port(&sa) + c->media_workers - 1 > 65535)
		return refuse("--rtc-listen: port %u and --media-workers %u"
			      " would need ports past 65535 (worker i listens"
			      " on port + i)",
			      sa_port(&sa), c->media_workers);
	if (c->announced_ip[0] && sa_set_str(&ip, c->announced_ip, 0))
		return refuse("--announced-ip: '%s' is not an IP address",
			      c->announced_ip);
	if (!c->announced_ip[0] && sa_is_any(&sa))
		return refuse("--rtc-listen: '%s' listens on every address;"
			      " say which one browsers reach with"
			      " --announced-ip",
			      c->rtc_listen);
	return 0;
}

/* Roles gateway and media: the Redis they meet in. */
static int check_redis(struct app_config *c)
{
#ifndef MEESHY_WITH_REDIS
	return refuse("--role %s needs Redis, and this build has none"
		      " (configure with -DMEESHY_WITH_REDIS=ON)",
		      c->role);
#else
	char host[256], safe[sizeof(c->redis_url)];
	uint16_t p;
	const char *pw = getenv("MEESHY_REDIS_PASSWORD");
	if (redis_parse_url(c->redis_url, host, sizeof(host), &p,
			    c->redis_password, sizeof(c->redis_password))) {
		store_location_safe(safe, sizeof(safe), c->redis_url);
		return refuse("--redis: '%s' is not"
			      " redis://[:password@]host:port",
			      safe);
	}
	/* the environment keeps the password off the command line */
	if (!c->redis_password[0] && pw)
		str_ncpy(c->redis_password, pw, sizeof(c->redis_password));
	return 0;
#endif
}

/* Settings of their own: log level, ICE servers, heartbeat, translator. */
static int check_settings(const struct app_config *c)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	bool level_ok = false, ice_ok;
	cJSON *ice;

	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		level_ok |= !strcmp(c->log_level, levels[i]);
	if (!level_ok)
		return refuse("--log-level: '%s' is not debug, info, warn or"
			      " error",
			      c->log_level);
	ice = cJSON_Parse(c->ice_servers);
	ice_ok = cJSON_IsArray(ice);
	cJSON_Delete(ice);
	if (!ice_ok)
		return refuse("--ice-servers: '%s' is not a JSON array of"
			      " RTCIceServer objects",
			      c->ice_servers);
	if (c->ping_timeout_ms >= c->ping_interval_ms * 10u)
		return refuse("--ping-timeout: %u ms is more than ten ping"
			      " intervals (%u ms)",
			      c->ping_timeout_ms, c->ping_interval_ms);
	if (c->translator_url[0] && strncmp(c->translator_url, "http://", 7) &&
	    strncmp(c->translator_url, "https://", 8))
		return refuse("--translator-url: '%s' is not an http:// or"
			      " https:// URL",
			      c->translator_url);
	if (c->upstream_url[0] && strncmp(c->upstream_url, "http://", 7))
		return refuse("--upstream: '%s' is not an http://host:port URL"
			      " (the Socket.IO server of Meeshy's gateway)",
			      c->upstream_url);
	return 0;
}

/* The secrets, from their files or the environment, and what each role
 * needs of them. */
static int check_secrets(struct app_config *c)
{
	const char *secret = getenv("MEESHY_JWT_SECRET");
	char why[512];

	if (load_secret(c->jwt_secret_file, secret, "--jwt-secret-file",
			c->jwt_secret, sizeof(c->jwt_secret),
			&c->jwt_secret_len) ||
	    load_secret(c->turn_secret_file, getenv("MEESHY_TURN_SECRET"),
			"--turn-secret-file", c->turn_secret,
			sizeof(c->turn_secret), &c->turn_secret_len) ||
	    load_secret(c->internal_secret_file,
			getenv("MEESHY_INTERNAL_SECRET"),
			"--internal-secret-file", c->internal_secret,
			sizeof(c->internal_secret), &c->internal_secret_len))
		return 2;
	if (strcmp(c->role, "all") && c->internal_secret_len < 16)
		return refuse("--role %s: the internal API's secret has %zu"
			      " bytes, it needs at least 16: set"
			      " MEESHY_INTERNAL_SECRET (or"
			      " --internal-secret-file), the same on every"
			      " gateway and media node",
			      c->role, c->internal_secret_len);
	if (turn_servers_check(c->turn_servers, why, sizeof(why)))
		return refuse("--turn-servers: %s", why);
	if (c->turn_servers[0] && !c->turn_secret_len)
		return refuse("--turn-servers: '%s' is set but no TURN secret"
			      " is (MEESHY_TURN_SECRET or --turn-secret-file):"
			      " no credentials could be given",
			      c->turn_servers);
	if ((c->jwt_secret_file[0] || secret) && c->jwt_secret_len < 16)
		return refuse("the JWT secret has %zu bytes; HS256 needs at"
			      " least 16 (32 or more recommended)",
			      c->jwt_secret_len);
	if (!c->jwt_secret_file[0] && !secret && !c->dev_auth &&
	    strcmp(c->role, "media"))
		return refuse("no way to authenticate anyone: set"
			      " MEESHY_JWT_SECRET (or --jwt-secret-file), or"
			      " pass --dev-auth for a demo");
	return 0;
}

static int check(struct app_config *c)
{
	int rc = check_addresses(c);
	if (!rc && strcmp(c->role, "all"))
		rc = check_redis(c);
	if (!rc)
		rc = check_settings(c);
	if (!rc)
		rc = check_secrets(c);
	return rc;
}

int app_config_load(struct app_config *c, int argc, char *const argv[])
{
	const char *file = getenv("MEESHY_CONFIG");
	int err;

	defaults(c);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 1;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("meeshy-call %s\n", MEESHY_VERSION);
			return 1;
		}
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "meeshy-call: --config needs a"
						" file name\n");
				return 2;
			}
			file = argv[i + 1];
		}
	}
	if (file && (err = load_file(c, file)))
		return err;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const char *v = getenv(options[i].env);
		if (v && (err = set_opt(c, &options[i], v, options[i].env)))
			return err;
	}
	for (int i = 1; i < argc; i++) {
		const struct option *o = NULL;
		char from[64];
		if (!strcmp(argv[i], "--config")) {
			i++;
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(options); k++)
			if (!strncmp(argv[i], "--", 2) &&
			    !strcmp(argv[i] + 2, options[k].name))
				o = &options[k];
		if (!o) {
			fprintf(stderr,
				"meeshy-call: '%s' is not an option"
				" (see --help)\n",
				argv[i]);
			return 2;
		}
		(void)re_snprintf(from, sizeof(from), "--%s", o->name);
		if (o->kind == K_BOOL) {
			*(bool *)((char *)c + o->off) = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "meeshy-call: %s needs a value\n",
				from);
			return 2;
		}
		if ((err = set_opt(c, o, argv[++i], from)))
			return err;
	}
	return check(c);
}
