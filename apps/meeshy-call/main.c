/*
 * main.c - meeshy-call, the composition root: reads the settings, opens the
 * store, builds the role's parts (parts.c) and the gateway on them, runs
 * libre's main loop until SIGINT/SIGTERM, then closes calls and sockets
 * and lets queued store writes land.
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <re.h>
#include "port.h"
#include "store.h"
#include "gateway.h"
#include "config.h"
#include "parts.h"
#include "srtp_pair.h"
#ifdef MEESHY_WITH_REDIS
#include "redis.h"
#include "media_node.h"
#endif

static volatile int signals; /* SIGINT/SIGTERM seen */

static void signal_handler(int sig)
{
	(void)sig;
	signals++;
	re_cancel();
}

/* Blocks of 64 kB and more come from their own mapping, and go back to
 * the system when freed: a video layer's NACK history is one (77 kB until
 * its rate is known, then a second of it, 190 kB at 1.5 Mbit/s). Taken
 * from glibc's arenas, a history freed at its first resize or at its
 * call's end left a hole the arena kept resident: 40-60 kB a publisher
 * (bench/load.js). A fixed threshold also stops glibc raising its own
 * after the first such block is freed. */
static void big_blocks_mapped(void)
{
#ifdef M_MMAP_THRESHOLD
	(void)mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
}

/* Descriptors for every connection the settings allow, with room for the
 * store, Redis, UDP and the connections answered 503 beyond the limit:
 * the soft limit goes up towards the hard one, and libre's loop (which
 * watches 1,024 by default, and fails the next socket silently) is sized
 * to it. Before any socket exists: libre sizes its loop once. */
static uint32_t raise_descriptors(uint32_t max_connections)
{
	const rlim_t want = (rlim_t)max_connections * 2 + 1024;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur > want)
		rl.rlim_cur = want;
	(void)fd_setsize(0);
	if (fd_setsize((int)rl.rlim_cur))
		return 1024;
	return (uint32_t)rl.rlim_cur;
}

static enum port_log_level level_of(const char *s)
{
	if (!strcmp(s, "debug"))
		return PORT_LOG_DEBUG;
	if (!strcmp(s, "warn"))
		return PORT_LOG_WARN;
	if (!strcmp(s, "error"))
		return PORT_LOG_ERROR;
	return PORT_LOG_INFO;
}

#ifdef MEESHY_WITH_REDIS
static void drained(size_t calls_left, void *arg)
{
	(void)arg;
	if (calls_left)
		port_log(PORT_LOG_WARN,
			 "drain timed out with %zu calls still here",
			 calls_left);
	else
		port_log(PORT_LOG_INFO, "drained: every call moved");
	re_cancel();
}

/* Role media: an SFU node gateways place calls on. No store, no sockets
 * of clients: the internal API, the media port and Redis. */
static int run_media(const struct app_config *cfg)
{
	struct media_node_config mc = {0};
	struct media_node *m = NULL;
	struct sa laddr, rtc_laddr, rtc_ip;
	char host[256];
	int err;

	(void)redis_parse_url(cfg->redis_url, host, sizeof(host),
			      &mc.redis_port, NULL, 0);
	mc.redis_host = host;
	mc.redis_password = cfg->redis_password;
	(void)sa_decode(&laddr, cfg->listen, strlen(cfg->listen));
	(void)sa_decode(&rtc_laddr, cfg->rtc_listen, strlen(cfg->rtc_listen));
	mc.listen = &laddr;
	mc.rtc_listen = &rtc_laddr;
	mc.media_workers = cfg->media_workers;
	if (cfg->announced_ip[0] || cfg->announced_port) {
		if (!cfg->announced_ip[0] ||
		    sa_set_str(&rtc_ip, cfg->announced_ip, 0))
			rtc_ip = rtc_laddr;
		sa_set_port(&rtc_ip, (uint16_t)cfg->announced_port);
		mc.rtc_announced = &rtc_ip;
	}
	mc.node_id = cfg->node_id;
	mc.api_url = cfg->api_url[0] ? cfg->api_url : NULL;
	mc.internal_secret = cfg->internal_secret;
	mc.internal_secret_len = cfg->internal_secret_len;
	if (sa_is_any(&laddr))
		port_log(PORT_LOG_WARN,
			 "--listen %s: the internal API answers"
			 " on every address of this host; give it the"
			 " private address gateways reach it at",
			 cfg->listen);
	err = media_node_alloc(&m, &mc);
	if (err) {
		fprintf(stderr,
			"meeshy-call: --listen %s / --rtc-listen %s:"
			" cannot listen: %s\n",
			cfg->listen, cfg->rtc_listen, strerror(err));
		return 1;
	}
	port_thread_below_media(); /* its media workers run now */
	(void)media_node_local(m, &laddr);
	port_log(PORT_LOG_INFO, "role media, node %s, redis %s", cfg->node_id,
		 cfg->redis_url);
	(void)re_fprintf(stdout,
			 "meeshy-call: serving http://%J/ (media"
			 " node %s: internal API, /health, /metrics)\n",
			 &laddr, cfg->node_id);
	fflush(stdout);
	err = re_main(signal_handler);
	if (!err && signals == 1 && cfg->drain_timeout_ms) {
		/* the first signal drains: the calls move to other nodes
		 * first; a second signal cuts it short */
		media_node_drain(m, cfg->drain_timeout_ms, drained, NULL);
		err = re_main(signal_handler);
	}
	mem_deref(m);
	return err ? 1 : 0;
}
#endif

/* The store's journal: the writes it queues while its backend cannot take
 * them (docs/reliability.md), in the archive folder, one per node id (two
 * gateways may share the folder); those of a previous run land first. */
static int journal_start(struct store *store, const struct app_config *cfg)
{
	char path[1024];
	size_t n = 0;
	int err = 0;

	if (mkdir(cfg->archive_dir, 0755) < 0 && errno != EEXIST)
		err = errno;
	(void)re_snprintf(path, sizeof(path), "%s/queued-writes-%s.journal",
			  cfg->archive_dir, cfg->node_id);
	if (!err)
		err = store_journal_open(store, path, &n);
	if (err)
		fprintf(stderr,
			"meeshy-call: --archive-dir: cannot keep the store's"
			" journal at %s: %s\n",
			path,
			err == EBUSY ? "another meeshy-call uses it (give each"
				       " process its own --node-id or"
				       " --archive-dir)"
				     : strerror(err));
	return err;
}

int main(int argc, char *argv[])
{
	struct app_config cfg;
	struct gateway_config gc;
	struct gateway *gw = NULL;
	struct store *store = NULL;
	struct app_parts parts;
	struct sa laddr;
	char db_safe[sizeof(cfg.db)], why[512];
	uint32_t fds;
	int err, rc;

	memset(&parts, 0, sizeof(parts));
	rc = app_config_load(&cfg, argc, argv);
	if (rc)
		return rc == 1 ? 0 : 2;
	port_log_set_level(level_of(cfg.log_level));
	(void)signal(SIGPIPE, SIG_IGN);
	big_blocks_mapped();

	err = libre_init();
	if (err) {
		fprintf(stderr, "meeshy-call: libre: %s\n", strerror(err));
		return 1;
	}
	fds = raise_descriptors(cfg.max_connections);
	err = port_work_init(cfg.dtls_threads);
	if (err) {
		fprintf(stderr, "meeshy-call: --dtls-threads %u: %s\n",
			cfg.dtls_threads, strerror(err));
		rc = 1;
		goto out;
	}
	err = srtp_pair_library_init();
	if (err) {
		fprintf(stderr, "meeshy-call: libsrtp2 did not initialise\n");
		rc = 1;
		goto out;
	}
#ifdef MEESHY_WITH_REDIS
	if (!strcmp(cfg.role, "media")) {
		rc = run_media(&cfg);
		goto out;
	}
#endif
	store_location_safe(db_safe, sizeof(db_safe), cfg.db);
	err = store_open(&store, cfg.db);
	if (err) {
		fprintf(stderr, "meeshy-call: --db: cannot open '%s': %s%s\n",
			db_safe, strerror(err),
			err == ENOSYS ? " (built without MEESHY_WITH_MONGO)"
				      : "");
		rc = 1;
		goto out;
	}
	err = store_archive_schedule(store, cfg.archive_dir);
	if (err)
		goto fail;
	if (journal_start(store, &cfg)) {
		rc = 1;
		goto out;
	}
	err = app_parts_make(&parts, &cfg, store, why, sizeof(why));
	if (err) {
		fprintf(stderr, "meeshy-call: %s\n", why);
		rc = 1;
		goto out;
	}

	gateway_config_defaults(&gc);
	(void)sa_decode(&laddr, cfg.listen, strlen(cfg.listen));
	gc.listen = &laddr;
	gc.jwt_secret = cfg.jwt_secret_len ? cfg.jwt_secret : NULL;
	gc.jwt_secret_len = cfg.jwt_secret_len;
	gc.dev_auth = cfg.dev_auth;
	gc.web_root = cfg.web_root[0] ? cfg.web_root : NULL;
	gc.ice_servers = cfg.ice_servers;
	gc.turn.secret = cfg.turn_secret_len ? cfg.turn_secret : NULL;
	gc.turn.secret_len = cfg.turn_secret_len;
	gc.turn.ttl_s = cfg.turn_ttl_s;
	gc.turn.servers = cfg.turn_servers;
	gc.node_id = cfg.node_id;
	gc.ping_interval_ms = cfg.ping_interval_ms;
	gc.ping_timeout_ms = cfg.ping_timeout_ms;
	gc.max_payload = cfg.max_payload;
	gc.max_connections = cfg.max_connections;
	gc.max_participants = cfg.max_participants;
	gc.events_per_sec = cfg.events_per_sec;
	gc.max_fds = fds;
	gc.events_per_sec_per_ip = cfg.events_per_sec_per_ip;
	gc.max_sessions_per_ip = cfg.max_sessions_per_ip;
	gc.max_conns_per_ip = cfg.max_conns_per_ip;
	gc.max_sockets_per_user = cfg.max_sockets_per_user;
	gc.max_buffered = cfg.max_buffered;
	gc.request_timeout_ms = cfg.request_timeout_ms;
	gc.sfu_from = cfg.sfu_from;
	gc.p2p_back = !cfg.stay_sfu;
	err = gateway_alloc(&gw, &gc, &parts.gw);
	if (err) {
		fprintf(stderr, "meeshy-call: --listen %s: cannot listen: %s\n",
			cfg.listen, strerror(err));
		rc = 1;
		goto out;
	}
	/* role all: calls left open were this process's. A gateway shares
	 * its store with others, whose calls are not over. */
	if (!strcmp(cfg.role, "all")) {
		size_t n = 0;
		err = gateway_recover(gw, &n);
		if (err)
			port_log(PORT_LOG_ERROR,
				 "closing calls left open by a"
				 " previous run: %m",
				 err);
		else if (n)
			port_log(PORT_LOG_INFO,
				 "closed %zu calls left open by a previous run",
				 n);
	}
	port_thread_below_media(); /* its media workers run now */
	(void)gateway_local(gw, &laddr);
	if (cfg.dev_auth)
		port_log(PORT_LOG_WARN,
			 "--dev-auth: any token is accepted as"
			 " a guest id; never use this in production");
	port_log(PORT_LOG_INFO, "role %s, store %s (%s), archive %s", cfg.role,
		 store_backend_name(store), db_safe, cfg.archive_dir);
	port_log(fds < cfg.max_connections + 256 ? PORT_LOG_WARN
						 : PORT_LOG_INFO,
		 "descriptors: %u (--max-connections %u)%s", fds,
		 cfg.max_connections,
		 fds < cfg.max_connections + 256
			 ? ": fewer than the connections allowed; raise the"
			   " hard limit (ulimit -Hn, LimitNOFILE)"
			 : "");
	/* The one line a person starting the server looks for. */
	(void)re_fprintf(stdout,
			 "meeshy-call: serving http://%J/ (demo page"
			 " at /, health at /health)\n",
			 &laddr);
	fflush(stdout);

	err = re_main(signal_handler);
	port_log(PORT_LOG_INFO, "shutting down");
	gateway_shutdown(gw, "server-shutdown");
	store_flush(store);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "meeshy-call: %s\n", strerror(err));
	rc = 1;
out:
	mem_deref(gw);
	app_parts_free(&parts);
	mem_deref(store);
	port_work_close();
	libre_close();
	return rc;
}
