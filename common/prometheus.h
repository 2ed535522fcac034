/*
 * prometheus.h - pieces of the Prometheus text format (version 0.0.4)
 * that /metrics of every role is printed with (re_hprintf's re_printf).
 */
#ifndef MEESHY_PROMETHEUS_H
#define MEESHY_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>

struct re_printf;

/* The "# HELP" and "# TYPE" lines of a metric. */
int prom_header(struct re_printf *pf, const char *name, const char *type,
		const char *help);
/* A counter without labels. */
int prom_counter(struct re_printf *pf, const char *name, const char *help,
		 uint64_t value);
/* A counter of changes, labelled direction="down" and "up". */
int prom_up_down(struct re_printf *pf, const char *name, const char *help,
		 uint64_t down, uint64_t up);
/* A histogram's buckets (counts per bucket, not cumulative), sum, count;
 * the caller prints its header. */
int prom_histogram(struct re_printf *pf, const char *name, const double *bounds,
		   size_t nb, const uint64_t *counts, uint64_t n, double sum);
/* process_cpu_seconds_total, process_resident_memory_bytes and
 * process_start_time_seconds (started_ms: wall clock at start). */
int prom_process(struct re_printf *pf, uint64_t started_ms);
/* User and system CPU time of this process so far, in seconds. */
double prom_cpu_seconds(void);

#endif
