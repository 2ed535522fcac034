/*
 * media_metrics.c - the media plane's part of /metrics, which role all and
 * the media node both print: packets, copies, drops, NACK, PLI, layers,
 * forwarding delay and DTLS steps, summed over the media workers and then
 * each worker's share.
 */
#include <string.h>
#include <re.h>
#include "port.h"
#include "router.h"
#include "webrtc_transport.h"
#include "media_workers.h"
#include "prometheus.h"
#include "media_metrics.h"

/* DTLS handshake steps, run off the packet loop (port_work). */
static int metrics_dtls_steps(struct re_printf *pf)
{
	struct port_work_stats st;
	int err;
	port_work_stats(&st);
	err = prom_counter(pf, "meeshy_dtls_steps_total",
			   "DTLS handshake steps run (each datagram's share of"
			   " ECDHE and ECDSA)",
			   st.completed);
	err |= prom_header(pf, "meeshy_dtls_steps_queued", "gauge",
			   "Steps waiting for a handshake thread");
	err |= re_hprintf(pf, "meeshy_dtls_steps_queued %u\n", st.queued);
	err |= prom_header(
		pf, "meeshy_dtls_threads", "gauge",
		"Handshake threads (0: steps run on the packet loop)");
	err |= re_hprintf(pf, "meeshy_dtls_threads %u\n", st.threads);
	err |= prom_header(pf, "meeshy_dtls_step_wait_seconds_max", "gauge",
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
	return prom_header(pf, "meeshy_media_forward_delay_seconds",
			   "histogram",
			   "Copies of RTP packets, from the packet's arrival at"
			   " the SFU's socket to the copy's send call") |
	       prom_histogram(pf, "meeshy_media_forward_delay_seconds", bounds,
			      WEBRTC_DELAY_BUCKETS, ws->delay, ws->delay_n,
			      (double)ws->delay_sum_us / 1e6);
}

int media_metrics(struct re_printf *pf, const struct router_stats *rs,
		  const struct webrtc_server_stats *ws)
{
	int err = 0;
	err |= prom_counter(pf, "meeshy_media_packets_received_total",
			    "RTP packets the SFU received", ws->rx_rtp);
	err |= prom_counter(pf, "meeshy_media_packets_forwarded_total",
			    "RTP packets the SFU forwarded", rs->rtp_forwarded);
	err |= prom_counter(pf, "meeshy_media_datagrams_sent_total",
			    "UDP datagrams the SFU sent", ws->tx_pkts);
	err |= prom_counter(
		pf, "meeshy_media_send_calls_total",
		"Send system calls for them (sendmmsg: one a batch)",
		ws->tx_calls);
	err |= prom_counter(pf, "meeshy_media_bytes_forwarded_total",
			    "RTP bytes the SFU forwarded", rs->bytes_forwarded);
	err |= metrics_forward_delay(pf, ws);
	err |= prom_counter(pf, "meeshy_media_pli_total",
			    "Keyframe requests (PLI) sent to producers",
			    rs->pli_sent);
	err |= prom_counter(pf, "meeshy_media_nack_total",
			    "Packets resent to answer receivers' NACKs",
			    rs->nack_resent);
	err |= prom_counter(pf, "meeshy_media_nack_sent_total",
			    "NACKs sent to producers for packets lost on"
			    " their way in",
			    rs->nack_sent);
	err |= prom_up_down(
		pf, "meeshy_media_layer_changes_total",
		"Simulcast layer caps changed by receivers' reported"
		" loss",
		rs->layer_down, rs->layer_up);
	err |= prom_counter(pf, "meeshy_media_remb_received_total",
			    "Receivers' bandwidth estimates (REMB) received",
			    rs->remb_in);
	err |= prom_up_down(
		pf, "meeshy_media_bandwidth_layer_changes_total",
		"Simulcast layer caps changed by receivers' bandwidth"
		" estimates",
		rs->layer_down_bw, rs->layer_up_bw);
	err |= prom_counter(pf, "meeshy_media_rtx_received_total",
			    "Retransmissions (RTX) received from producers",
			    rs->rtx_in);
	err |= prom_counter(pf, "meeshy_media_rtp_header_only_total",
			    "RTP packets of simulcast layers no receiver "
			    "needed, taken on their header, not decrypted",
			    rs->rtp_header_only);
	err |= prom_counter(pf, "meeshy_media_twcc_feedback_total",
			    "Transport-wide feedback packets sent to producers",
			    rs->twcc_sent);
	err |= prom_header(pf, "meeshy_media_dropped_total", "counter",
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
	int err = prom_header(pf, name, type, help);
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
int media_metrics_workers(struct re_printf *pf, struct media_workers *mw)
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
	err |= media_metrics(pf, &rs, &ws);
	err |= prom_header(
		pf, "meeshy_media_workers", "gauge",
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
