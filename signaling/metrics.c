/*
 * metrics.c - the gateway's /metrics in the Prometheus text format: the
 * seed's metric names with the values the gateway and the store count,
 * then the media plane's (role all) and the process's own.
 */
#include <string.h>
#include <re.h>
#include "httpd.h"
#include "eio.h"
#include "sio.h"
#include "gateway_impl.h"
#include "port.h"
#include "prometheus.h"
#include "media_metrics.h"
#include "cache.h"
#include "translator.h"

/* What the HTTP server holds and sheds (httpd.h). */
static int metrics_http(struct re_printf *pf, const struct gateway *gw)
{
	const struct httpd_budget *b = httpd_budget(gw->http);
	struct httpd_stats hs;
	int err;

	httpd_stats(gw->http, &hs);
	err = prom_header(
		pf, "meeshy_http_connections", "gauge",
		"Open HTTP and websocket connections being read as HTTP");
	err |= re_hprintf(pf, "meeshy_http_connections %llu\n",
			  (unsigned long long)hs.conns_now);
	err |= prom_header(pf, "meeshy_http_heads_parsed_total", "counter",
			   "Request heads parsed: each once, when it has all"
			   " arrived");
	err |= re_hprintf(pf, "meeshy_http_heads_parsed_total %llu\n",
			  (unsigned long long)hs.heads_parsed);
	err |= prom_header(pf, "meeshy_http_buffered_bytes", "gauge",
			   "Bytes held of requests and websocket frames not yet"
			   " whole");
	err |= re_hprintf(pf, "meeshy_http_buffered_bytes %zu\n",
			  b ? b->used : 0);
	err |= prom_header(pf, "meeshy_http_shed_total", "counter",
			   "Connections and requests shed, by reason");
	err |= re_hprintf(
		pf,
		"meeshy_http_shed_total{reason=\"too_many_connections\"}"
		" %llu\n"
		"meeshy_http_shed_total{reason=\"budget\"} %llu\n"
		"meeshy_http_shed_total{reason=\"too_large\"} %llu\n"
		"meeshy_http_shed_total{reason=\"bad_request\"} %llu\n"
		"meeshy_http_shed_total{reason=\"timeout\"} %llu\n"
		"meeshy_http_shed_total{reason=\"per_address\"} %llu\n",
		(unsigned long long)hs.refused_conns,
		(unsigned long long)(b ? b->shed : 0),
		(unsigned long long)hs.too_large,
		(unsigned long long)hs.bad_requests,
		(unsigned long long)hs.timeouts,
		(unsigned long long)hs.refused_per_ip);
	return err;
}

/* The seed's caches and the translator behind one of them. */
static int metrics_caches(struct re_printf *pf, const struct gateway *gw)
{
	struct cache_stats cs = {0};
	struct translator_stats ts = {0};
	int err = 0;

	cache_stats(gw->cache, &cs);
	translator_stats(gw->translator, &ts);
	err |= prom_header(pf, "meeshy_cache_reads_total", "counter",
			   "Cache reads (call state, translations), by result");
	err |= re_hprintf(pf,
			  "meeshy_cache_reads_total{result=\"hit\"} %llu\n"
			  "meeshy_cache_reads_total{result=\"miss\"} %llu\n",
			  cs.hits, cs.misses);
	err |= prom_header(pf, "meeshy_translations_total", "counter",
			   "Translations of transcriptions, by where they came"
			   " from");
	err |= re_hprintf(
		pf,
		"meeshy_translations_total{source=\"cache\"} %llu\n"
		"meeshy_translations_total{source=\"translator\"} %llu\n",
		ts.cached, ts.requests);
	err |= prom_header(pf, "meeshy_translation_failures_total", "counter",
			   "Translator requests that failed or came too late");
	err |= re_hprintf(pf,
			  "meeshy_translation_failures_total{reason=\"error\"}"
			  " %llu\n"
			  "meeshy_translation_failures_total{reason=\"late\"}"
			  " %llu\n",
			  ts.failed, ts.late);
	return err;
}

/* The seed's call metrics: calls, failures, durations, participants. */
static int metrics_calls(struct re_printf *pf, const struct gateway *gw)
{
	static const char *const types[] = {"audio", "video"};
	static const char *const convs[] = {"direct", "group"};
	int err = prom_header(pf, "meeshy_calls_total", "counter",
			      "Total number of calls initiated");
	for (int t = 0; t < 2; t++)
		for (int c = 0; c < 2; c++)
			err |= re_hprintf(
				pf,
				"meeshy_calls_total{type=\"%s\","
				"conversation_type=\"%s\"} %llu\n",
				types[t], convs[c],
				(unsigned long long)gw->m.calls_total[t][c]);
	err |= prom_header(pf, "meeshy_calls_failed_total", "counter",
			   "Calls that ended in failure");
	err |= re_hprintf(pf, "meeshy_calls_failed_total %llu\n",
			  (unsigned long long)gw->m.calls_failed);
	err |= prom_header(pf, "meeshy_call_duration_seconds", "histogram",
			   "Call duration in seconds");
	err |= prom_histogram(pf, "meeshy_call_duration_seconds",
			      calls_duration_bounds, DURATION_BUCKETS,
			      gw->m.duration_count, gw->m.duration_n,
			      gw->m.duration_sum);
	err |= prom_header(pf, "meeshy_active_participants", "gauge",
			   "Current number of active call participants");
	err |= re_hprintf(pf, "meeshy_active_participants %zu\n",
			  gw->nparticipants);
	err |= prom_header(pf, "meeshy_active_calls", "gauge",
			   "Calls in progress by mode");
	err |= re_hprintf(pf, "meeshy_active_calls{mode=\"p2p\"} %zu\n",
			  calls_count_mode(gw, "p2p"));
	err |= re_hprintf(pf, "meeshy_active_calls{mode=\"sfu\"} %zu\n",
			  calls_count_mode(gw, "sfu"));
	return err;
}

/* Socket.IO: connections, events, and what was dropped, closed or
 * refused. */
static int metrics_socketio(struct re_printf *pf, const struct gateway *gw)
{
	struct sio_stats ss;
	struct eio_stats es;
	int err;

	sio_server_stats(gw->sio, &ss);
	eio_server_stats(sio_server_eio(gw->sio), &es);
	err = prom_header(pf, "meeshy_socketio_connections", "gauge",
			  "Current number of Socket.IO connections");
	err |= re_hprintf(pf, "meeshy_socketio_connections %zu\n",
			  sio_server_count(gw->sio));
	err |= prom_header(pf, "meeshy_socketio_events_total", "counter",
			   "Client events answered, by outcome");
	err |= re_hprintf(pf,
			  "meeshy_socketio_events_total{outcome=\"ok\"} %llu\n"
			  "meeshy_socketio_events_total{outcome=\"error\"}"
			  " %llu\n",
			  (unsigned long long)gw->m.events[0],
			  (unsigned long long)gw->m.events[1]);
	err |= prom_header(pf, "meeshy_socketio_dropped_total", "counter",
			   "Frames and packets dropped, by reason");
	err |= re_hprintf(
		pf,
		"meeshy_socketio_dropped_total{reason=\"malformed\"} %llu\n"
		"meeshy_socketio_dropped_total{reason=\"too_large\"} %llu\n"
		"meeshy_socketio_dropped_total{reason=\"binary\"} %llu\n"
		"meeshy_socketio_dropped_total{reason=\"rate_limited\"} %llu\n",
		(unsigned long long)(es.dropped_malformed +
				     ss.dropped_malformed),
		(unsigned long long)es.dropped_too_large,
		(unsigned long long)ss.dropped_binary,
		(unsigned long long)gw->m.rate_limited);
	err |= prom_header(pf, "meeshy_socketio_closed_total", "counter",
			   "Sessions the server closed, by reason");
	err |= re_hprintf(
		pf,
		"meeshy_socketio_closed_total{reason=\"ping_timeout\"} %llu\n"
		"meeshy_socketio_closed_total{reason=\"send_overflow\"} %llu\n"
		"meeshy_socketio_closed_total{reason=\"budget\"} %llu\n"
		"meeshy_socketio_closed_total{reason=\"protocol\"} %llu\n"
		"meeshy_socketio_closed_total{reason=\"connect_timeout\"}"
		" %llu\n",
		(unsigned long long)es.closed_ping_timeout,
		(unsigned long long)es.closed_send_overflow,
		(unsigned long long)es.closed_budget,
		(unsigned long long)ss.closed_protocol,
		(unsigned long long)ss.closed_connect_timeout);
	err |= prom_header(pf, "meeshy_socketio_refused_total", "counter",
			   "Handshakes refused, by the limit they hit");
	err |= re_hprintf(
		pf,
		"meeshy_socketio_refused_total{reason=\"per_connection\"}"
		" %llu\n"
		"meeshy_socketio_refused_total{reason=\"per_address\"} %llu\n"
		"meeshy_socketio_refused_total{reason=\"per_user\"} %llu\n",
		(unsigned long long)es.refused_per_conn,
		(unsigned long long)es.refused_per_ip,
		(unsigned long long)gw->m.refused_per_user);
	err |= prom_header(pf, "meeshy_socketio_unread_bytes", "gauge",
			   "Polling answers waiting for their client to poll");
	err |= re_hprintf(pf, "meeshy_socketio_unread_bytes %llu\n",
			  (unsigned long long)es.unread_bytes);
	return err;
}

/* The store's journal of queued writes (store_journal_open). */
static int metrics_journal(struct re_printf *pf, const struct store_stats *st)
{
	int err = prom_header(pf, "meeshy_db_journaled_writes_total", "counter",
			      "Queued writes kept in the journal while the"
			      " store could not take them");
	err |= re_hprintf(pf, "meeshy_db_journaled_writes_total %llu\n",
			  (unsigned long long)st->journaled);
	err |= prom_header(pf, "meeshy_db_journal_errors_total", "counter",
			   "Journal appends or syncs that failed");
	err |= re_hprintf(pf, "meeshy_db_journal_errors_total %llu\n",
			  (unsigned long long)st->journal_errors);
	err |= prom_header(pf, "meeshy_db_journal_replayed_writes", "gauge",
			   "Writes of a previous run found in the journal at"
			   " start");
	err |= re_hprintf(pf, "meeshy_db_journal_replayed_writes %llu\n",
			  (unsigned long long)st->journal_replayed);
	return err;
}

/* The store: its call durations and its write queue. */
static int metrics_store(struct re_printf *pf, const struct gateway *gw)
{
	struct store_stats st;
	int err;

	store_get_stats(gw->store, &st);
	err = prom_header(pf, "meeshy_db_query_duration_seconds", "histogram",
			  "Store call duration in seconds");
	err |= prom_histogram(pf, "meeshy_db_query_duration_seconds",
			      store_lat_bounds, STORE_LAT_BUCKETS, st.lat_count,
			      st.lat_n, st.lat_sum);
	err |= prom_header(pf, "meeshy_db_queued_writes", "gauge",
			   "Writes waiting for the store to take them");
	err |= re_hprintf(pf, "meeshy_db_queued_writes %llu\n",
			  (unsigned long long)st.queued_now);
	err |= prom_header(pf, "meeshy_db_refused_writes_total", "counter",
			   "Writes refused because the write queue was full");
	err |= re_hprintf(pf, "meeshy_db_refused_writes_total %llu\n",
			  (unsigned long long)st.refused_full);
	err |= prom_header(pf, "meeshy_db_write_errors_total", "counter",
			   "Writes the store refused outright");
	err |= re_hprintf(pf, "meeshy_db_write_errors_total %llu\n",
			  (unsigned long long)st.write_errors);
	return err | metrics_journal(pf, &st);
}

int metrics_print(struct re_printf *pf, const struct gateway *gw)
{
	int err = metrics_calls(pf, gw);
	err |= metrics_socketio(pf, gw);
	err |= metrics_http(pf, gw);
	err |= prom_header(pf, "meeshy_auth_failures_total", "counter",
			   "Tokens refused");
	err |= re_hprintf(pf, "meeshy_auth_failures_total %llu\n",
			  (unsigned long long)gw->m.auth_failures);
	err |= metrics_store(pf, gw);
	err |= metrics_caches(pf, gw);
	err |= gateway_cluster_metrics(pf, gw);
	if (gw->workers)
		err |= media_metrics_workers(pf, gw->workers);
	err |= prom_process(pf, gw->started_ms);
	return err;
}
