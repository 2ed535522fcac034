/*
 * media_metrics.h - the media plane's counters in the Prometheus text
 * format, for /metrics of role all and of a media node.
 */
#ifndef MEESHY_MEDIA_METRICS_H
#define MEESHY_MEDIA_METRICS_H

struct re_printf;
struct router_stats;
struct webrtc_server_stats;
struct media_workers;

int media_metrics(struct re_printf *pf, const struct router_stats *rs,
		  const struct webrtc_server_stats *ws);
/* media_metrics over every media worker, then each worker's share. */
int media_metrics_workers(struct re_printf *pf, struct media_workers *mw);

#endif
