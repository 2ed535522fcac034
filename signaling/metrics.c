/*
 * metrics.c - /metrics in the Prometheus text format (version 0.0.4): the
 * seed's metric names with the values the gateway and the store count.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <re.h>
#include "httpd.h"
#include "eio.h"
#include "sio.h"
#include "gateway_impl.h"
#include "port.h"
#include "router.h"
#include "webrtc_transport.h"
#include "metrics.h"
#include "media_workers.h"
#include "cache.h"
#include "translator.h"

double metrics_cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static unsigned long long resident_bytes(void)
{
	unsigned long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return (unsigned long long)rss *
	       (unsigned long long)sysconf(_SC_PAGESIZE);
}

static int header(struct re_printf *pf, const char *name, const char *type,
		  const char *help)
{
	return re_hprintf(pf, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			  type);
}

/* A counter without labels. */
static int counter(struct re_printf *pf, const char *name, const char *help,
		   uint64_t value)
{
	return header(pf, name, "counter", help) |
	       re_hprintf(pf, "%s %llu\n", name, (unsigned long long)value);
}

/* A counter of layer changes, by direction. */
static int up_down(struct re_printf *pf, const char *name, const char *help,
		   uint64_t down, uint64_t up)
{
	return header(pf, name, "counter", help) |
	       re_hprintf(pf,
			  "%s{direction=\"down\"} %llu\n"
			  "%s{direction=\"up\"} %llu\n",
			  name, (unsigned long long)down, name,
			  (unsigned long long)up);
}

static int histogram(struct re_printf *pf, const char *name,
		     const double *bounds, size_t nb, const uint64_t *counts,
		     uint64_t n, double sum)
{
	uint64_t cum = 0;
	int err = 0;
	for (size_t i = 0; i < nb; i++) {
		char le[32];
		/* libre's printf has no %g; Prometheus wants the short form */
		(void)snprintf(le, sizeof(le), "%g", bounds[i]);
		cum += counts[i];
		err |= re_hprintf(pf, "%s_bucket{le=\"%s\"} %llu\n", name, le,
				  (unsigned long long)cum);
	}
	err |= re_hprintf(pf, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			  (unsigned long long)n);
	err |= re_hprintf(pf, "%s_sum %f\n%s_count %llu\n", name, sum, name,
			  (unsigned long long)n);
	return err;
}

/* DTLS handshake steps, run off the packet loop (port_work). */
static int metrics_dtls_steps(struct re_printf *pf)
{
	struct port_work_stats st;
	int err;
	port_work_stats(&st);
	err = counter(pf, "meeshy_dtls_steps_total",
		      "DTLS handshake steps run (each datagram's share of"
		      " ECDHE and ECDSA)",
		      st.completed);
	err |= header(pf, "meeshy_dtls_steps_queued", "gauge",
		      "Steps waiting for a handshake thread");
	err |= re_hprintf(pf, "meeshy_dtls_steps_queued %u\n", st.queued);
	err |= header(pf, "meeshy_dtls_threads", "gauge",
		      "Handshake threads (0: steps run on the packet loop)");
	err |= re_hprintf(pf, "meeshy_dtls_threads %u\n", st.threads);
	err |= header(pf, "meeshy_dtls_step_wait_seconds_max", "gauge",
		      "Longest a step has waited for a handshake thread");
	err |= re_hprintf(pf, "meeshy_dtls_step_wait_seconds_max %f\n",
			  (double)st.wait_us_max / 1e6);
	return err;
}

/* Socket in (the kernel's arrival stamp) to socket out (the send call),
 * per copy of an RTP packet. */
static int metrics_forward_delay(struct re_printf *pf,
				 const struct webrtc_server_stats *ws)
{
	double bounds[WEBRTC_DELAY_BUCKETS];
	for (size_t i = 0; i < WEBRTC_DELAY_BUCKETS; i++)
		bounds[i] = webrtc_delay_bounds_us[i] / 1e6;
	return header(pf, "meeshy_media_forward_delay_seconds", "histogram",
		      "Copies of RTP packets, from the packet's arrival at"
		      " the SFU's socket to the copy's send call") |
	       histogram(pf, "meeshy_media_forward_delay_seconds", bounds,
			 WEBRTC_DELAY_BUCKETS, ws->delay, ws->delay_n,
			 (double)ws->delay_sum_us / 1e6);
}

int metrics_media(struct re_printf *pf, const struct router_stats *rs,
		  const struct webrtc_server_stats *ws)
{
	int err = 0;
	err |= counter(pf, "meeshy_media_packets_received_total",
		       "RTP packets the SFU received", ws->rx_rtp);
	err |= counter(pf, "meeshy_media_packets_forwarded_total",
		       "RTP packets the SFU forwarded", rs->rtp_forwarded);
	err |= counter(pf, "meeshy_media_datagrams_sent_total",
		       "UDP datagrams the SFU sent", ws->tx_pkts);
	err |= counter(pf, "meeshy_media_send_calls_total",
		       "Send system calls for them (sendmmsg: one a batch)",
		       ws->tx_calls);
	err |= counter(pf, "meeshy_media_bytes_forwarded_total",
		       "RTP bytes the SFU forwarded", rs->bytes_forwarded);
	err |= metrics_forward_delay(pf, ws);
	err |= counter(pf, "meeshy_media_pli_total",
		       "Keyframe requests (PLI) sent to producers",
		       rs->pli_sent);
	err |= counter(pf, "meeshy_media_nack_total",
		       "Packets resent to answer receivers' NACKs",
		       rs->nack_resent);
	err |= counter(pf, "meeshy_media_nack_sent_total",
		       "NACKs sent to producers for packets lost on"
		       " their way in",
		       rs->nack_sent);
	err |= up_down(pf, "meeshy_media_layer_changes_total",
		       "Simulcast layer caps changed by receivers' reported"
		       " loss",
		       rs->layer_down, rs->layer_up);
	err |= counter(pf, "meeshy_media_remb_received_total",
		       "Receivers' bandwidth estimates (REMB) received",
		       rs->remb_in);
	err |= up_down(pf, "meeshy_media_bandwidth_layer_changes_total",
		       "Simulcast layer caps changed by receivers' bandwidth"
		       " estimates",
		       rs->layer_down_bw, rs->layer_up_bw);
	err |= counter(pf, "meeshy_media_rtx_received_total",
		       "Retransmissions (RTX) received from producers",
		       rs->rtx_in);
	err |= counter(pf, "meeshy_media_twcc_feedback_total",
		       "Transport-wide feedback packets sent to producers",
		       rs->twcc_sent);
	err |= header(pf, "meeshy_media_dropped_total", "counter",
		      "Media packets dropped, by reason");
	err |= re_hprintf(pf,
			  "meeshy_media_dropped_total{reason=\"malformed\"}"
			  " %llu\n"
			  "meeshy_media_dropped_total{reason=\"unknown_tuple\"}"
			  " %llu\n"
			  "meeshy_media_dropped_total{reason=\"srtp\"} %llu\n"
			  "meeshy_media_dropped_total{reason=\"no_srtp\"}"
			  " %llu\n"
			  "meeshy_media_dropped_total{reason=\"unknown_ssrc\"}"
			  " %llu\n",
			  (unsigned long long)ws->drop_malformed,
			  (unsigned long long)ws->drop_unknown_tuple,
			  (unsigned long long)ws->drop_srtp,
			  (unsigned long long)ws->drop_no_srtp,
			  (unsigned long long)rs->drop_unknown_ssrc);
	return err | metrics_dtls_steps(pf);
}

/* One gauge or counter per media worker, labelled with its index. */
static int per_worker(struct re_printf *pf, const char *name, const char *type,
		      const char *help, const struct media_worker_stats *st,
		      unsigned n,
		      uint64_t (*value)(const struct media_worker_stats *))
{
	int err = header(pf, name, type, help);
	for (unsigned i = 0; i < n; i++)
		err |= re_hprintf(pf, "%s{worker=\"%u\"} %llu\n", name, i,
				  (unsigned long long)value(&st[i]));
	return err;
}

static uint64_t w_calls(const struct media_worker_stats *st)
{
	return st->calls;
}

static uint64_t w_peers(const struct media_worker_stats *st)
{
	return st->peers;
}

static uint64_t w_received(const struct media_worker_stats *st)
{
	return st->udp.rx_rtp;
}

static uint64_t w_forwarded(const struct media_worker_stats *st)
{
	return st->router.rtp_forwarded;
}

/* The media plane: every worker's sum, then each worker's share (a call
 * lives on one worker; these show how they spread). */
int metrics_media_workers(struct re_printf *pf, struct media_workers *mw)
{
	unsigned n = media_workers_count(mw);
	struct media_worker_stats *st = mem_zalloc(n * sizeof(*st), NULL);
	struct router_stats rs;
	struct webrtc_server_stats ws;
	int err = 0;

	if (!st)
		return ENOMEM;
	memset(&rs, 0, sizeof(rs));
	memset(&ws, 0, sizeof(ws));
	for (unsigned i = 0; i < n; i++) {
		media_workers_stats(mw, i, &st[i]);
		router_stats_add(&rs, &st[i].router);
		webrtc_server_stats_add(&ws, &st[i].udp);
	}
	err |= metrics_media(pf, &rs, &ws);
	err |= header(pf, "meeshy_media_workers", "gauge",
		      "Media worker loops (each its own thread and UDP port)");
	err |= re_hprintf(pf, "meeshy_media_workers %u\n", n);
	err |= per_worker(pf, "meeshy_media_worker_calls", "gauge",
			  "Calls whose media this worker holds", st, n,
			  w_calls);
	err |= per_worker(pf, "meeshy_media_worker_peers", "gauge",
			  "Participants with media on this worker", st, n,
			  w_peers);
	err |= per_worker(pf, "meeshy_media_worker_packets_received_total",
			  "counter", "RTP packets this worker received", st, n,
			  w_received);
	err |= per_worker(pf, "meeshy_media_worker_packets_forwarded_total",
			  "counter", "RTP packets this worker forwarded", st, n,
			  w_forwarded);
	mem_deref(st);
	return err;
}

int metrics_process(struct re_printf *pf, uint64_t started_ms)
{
	int err = 0;
	err |= header(pf, "process_cpu_seconds_total", "counter",
		      "Total user and system CPU time spent in seconds");
	err |= re_hprintf(pf, "process_cpu_seconds_total %f\n",
			  metrics_cpu_seconds());
	err |= header(pf, "process_resident_memory_bytes", "gauge",
		      "Resident memory size in bytes");
	err |= re_hprintf(pf, "process_resident_memory_bytes %llu\n",
			  resident_bytes());
	err |= header(pf, "process_start_time_seconds", "gauge",
		      "Start time of the process since the Unix epoch");
	err |= re_hprintf(pf, "process_start_time_seconds %llu\n",
			  (unsigned long long)(started_ms / 1000));
	return err;
}

/* The seed's caches and the translator behind one of them. */
/* What the HTTP server holds and sheds (httpd.h). */
static int metrics_http(struct re_printf *pf, const struct gateway *gw)
{
	const struct httpd_budget *b = httpd_budget(gw->http);
	struct httpd_stats hs;
	int err;

	httpd_stats(gw->http, &hs);
	err = header(pf, "meeshy_http_connections", "gauge",
		     "Open HTTP and websocket connections being read as HTTP");
	err |= re_hprintf(pf, "meeshy_http_connections %llu\n",
			  (unsigned long long)hs.conns_now);
	err |= header(pf, "meeshy_http_buffered_bytes", "gauge",
		      "Bytes held of requests and websocket frames not yet"
		      " whole");
	err |= re_hprintf(pf, "meeshy_http_buffered_bytes %zu\n",
			  b ? b->used : 0);
	err |= header(pf, "meeshy_http_shed_total", "counter",
		      "Connections and requests shed, by reason");
	err |= re_hprintf(
		pf,
		"meeshy_http_shed_total{reason=\"too_many_connections\"}"
		" %llu\n"
		"meeshy_http_shed_total{reason=\"budget\"} %llu\n"
		"meeshy_http_shed_total{reason=\"too_large\"} %llu\n"
		"meeshy_http_shed_total{reason=\"bad_request\"} %llu\n"
		"meeshy_http_shed_total{reason=\"timeout\"} %llu\n",
		(unsigned long long)hs.refused_conns,
		(unsigned long long)(b ? b->shed : 0),
		(unsigned long long)hs.too_large,
		(unsigned long long)hs.bad_requests,
		(unsigned long long)hs.timeouts);
	return err;
}

static int metrics_caches(struct re_printf *pf, const struct gateway *gw)
{
	struct cache_stats cs = {0};
	struct translator_stats ts = {0};
	int err = 0;

	cache_stats(gw->cache, &cs);
	translator_stats(gw->translator, &ts);
	err |= header(pf, "meeshy_cache_reads_total", "counter",
		      "Cache reads (call state, translations), by result");
	err |= re_hprintf(pf,
			  "meeshy_cache_reads_total{result=\"hit\"} %llu\n"
			  "meeshy_cache_reads_total{result=\"miss\"} %llu\n",
			  cs.hits, cs.misses);
	err |= header(pf, "meeshy_translations_total", "counter",
		      "Translations of transcriptions, by where they came"
		      " from");
	err |= re_hprintf(
		pf,
		"meeshy_translations_total{source=\"cache\"} %llu\n"
		"meeshy_translations_total{source=\"translator\"} %llu\n",
		ts.cached, ts.requests);
	err |= header(pf, "meeshy_translation_failures_total", "counter",
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
	int err = header(pf, "meeshy_calls_total", "counter",
			 "Total number of calls initiated");
	for (int t = 0; t < 2; t++)
		for (int c = 0; c < 2; c++)
			err |= re_hprintf(
				pf,
				"meeshy_calls_total{type=\"%s\","
				"conversation_type=\"%s\"} %llu\n",
				types[t], convs[c],
				(unsigned long long)gw->m.calls_total[t][c]);
	err |= header(pf, "meeshy_calls_failed_total", "counter",
		      "Calls that ended in failure");
	err |= re_hprintf(pf, "meeshy_calls_failed_total %llu\n",
			  (unsigned long long)gw->m.calls_failed);
	err |= header(pf, "meeshy_call_duration_seconds", "histogram",
		      "Call duration in seconds");
	err |= histogram(pf, "meeshy_call_duration_seconds",
			 calls_duration_bounds, DURATION_BUCKETS,
			 gw->m.duration_count, gw->m.duration_n,
			 gw->m.duration_sum);
	err |= header(pf, "meeshy_active_participants", "gauge",
		      "Current number of active call participants");
	err |= re_hprintf(pf, "meeshy_active_participants %zu\n",
			  gw->nparticipants);
	err |= header(pf, "meeshy_active_calls", "gauge",
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
	err = header(pf, "meeshy_socketio_connections", "gauge",
		     "Current number of Socket.IO connections");
	err |= re_hprintf(pf, "meeshy_socketio_connections %zu\n",
			  sio_server_count(gw->sio));
	err |= header(pf, "meeshy_socketio_events_total", "counter",
		      "Client events answered, by outcome");
	err |= re_hprintf(pf,
			  "meeshy_socketio_events_total{outcome=\"ok\"} %llu\n"
			  "meeshy_socketio_events_total{outcome=\"error\"}"
			  " %llu\n",
			  (unsigned long long)gw->m.events[0],
			  (unsigned long long)gw->m.events[1]);
	err |= header(pf, "meeshy_socketio_dropped_total", "counter",
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
	err |= header(pf, "meeshy_socketio_closed_total", "counter",
		      "Sessions the server closed, by reason");
	err |= re_hprintf(
		pf,
		"meeshy_socketio_closed_total{reason=\"ping_timeout\"} %llu\n"
		"meeshy_socketio_closed_total{reason=\"send_overflow\"} %llu\n"
		"meeshy_socketio_closed_total{reason=\"budget\"} %llu\n",
		(unsigned long long)es.closed_ping_timeout,
		(unsigned long long)es.closed_send_overflow,
		(unsigned long long)es.closed_budget);
	err |= header(pf, "meeshy_socketio_refused_total", "counter",
		      "Handshakes refused, by the limit they hit");
	err |= re_hprintf(
		pf,
		"meeshy_socketio_refused_total{reason=\"per_connection\"}"
		" %llu\n"
		"meeshy_socketio_refused_total{reason=\"per_address\"} %llu\n",
		(unsigned long long)es.refused_per_conn,
		(unsigned long long)es.refused_per_ip);
	err |= header(pf, "meeshy_socketio_unread_bytes", "gauge",
		      "Polling answers waiting for their client to poll");
	err |= re_hprintf(pf, "meeshy_socketio_unread_bytes %llu\n",
			  (unsigned long long)es.unread_bytes);
	return err;
}

/* The store: its call durations and its write queue. */
static int metrics_store(struct re_printf *pf, const struct gateway *gw)
{
	struct store_stats st;
	int err;

	store_get_stats(gw->store, &st);
	err = header(pf, "meeshy_db_query_duration_seconds", "histogram",
		     "Store call duration in seconds");
	err |= histogram(pf, "meeshy_db_query_duration_seconds",
			 store_lat_bounds, STORE_LAT_BUCKETS, st.lat_count,
			 st.lat_n, st.lat_sum);
	err |= header(pf, "meeshy_db_queued_writes", "gauge",
		      "Writes waiting for the store to take them");
	err |= re_hprintf(pf, "meeshy_db_queued_writes %llu\n",
			  (unsigned long long)st.queued_now);
	err |= header(pf, "meeshy_db_refused_writes_total", "counter",
		      "Writes refused because the write queue was full");
	err |= re_hprintf(pf, "meeshy_db_refused_writes_total %llu\n",
			  (unsigned long long)st.refused_full);
	err |= header(pf, "meeshy_db_write_errors_total", "counter",
		      "Writes the store refused outright");
	err |= re_hprintf(pf, "meeshy_db_write_errors_total %llu\n",
			  (unsigned long long)st.write_errors);
	return err;
}

int metrics_print(struct re_printf *pf, const struct gateway *gw)
{
	int err = metrics_calls(pf, gw);
	err |= metrics_socketio(pf, gw);
	err |= metrics_http(pf, gw);
	err |= header(pf, "meeshy_auth_failures_total", "counter",
		      "Tokens refused");
	err |= re_hprintf(pf, "meeshy_auth_failures_total %llu\n",
			  (unsigned long long)gw->m.auth_failures);
	err |= metrics_store(pf, gw);
	err |= metrics_caches(pf, gw);
	if (gw->workers)
		err |= metrics_media_workers(pf, gw->workers);
	err |= metrics_process(pf, gw->started_ms);
	return err;
}
