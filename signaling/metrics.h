/*
 * metrics.h - pieces of /metrics (Prometheus text format) that more than
 * one role prints: the media plane's counters and the process's own.
 */
#ifndef MEESHY_METRICS_H
#define MEESHY_METRICS_H

#include <stdint.h>

struct re_printf;
struct router_stats;
struct webrtc_server_stats;

int metrics_media(struct re_printf *pf, const struct router_stats *rs,
		  const struct webrtc_server_stats *ws);
/* metrics_media over every media worker, then each worker's share. */
struct media_workers;
int metrics_media_workers(struct re_printf *pf, struct media_workers *mw);
/* process_cpu_seconds_total, process_resident_memory_bytes and
 * process_start_time_seconds (started_ms: wall clock at start). */
int metrics_process(struct re_printf *pf, uint64_t started_ms);
/* User and system CPU time of this process so far, in seconds. */
double metrics_cpu_seconds(void);

#endif
