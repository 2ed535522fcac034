/*
 * prometheus.c - the Prometheus text format (version 0.0.4): a metric's
 * HELP and TYPE lines, counters, histograms, and the process's own
 * metrics, which every role prints.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <re.h>
#include "prometheus.h"

double prom_cpu_seconds(void)
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

int prom_header(struct re_printf *pf, const char *name, const char *type,
		const char *help)
{
	return re_hprintf(pf, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			  type);
}

/* A counter without labels. */
int prom_counter(struct re_printf *pf, const char *name, const char *help,
		 uint64_t value)
{
	return prom_header(pf, name, "counter", help) |
	       re_hprintf(pf, "%s %llu\n", name, (unsigned long long)value);
}

/* A counter of layer changes, by direction. */
int prom_up_down(struct re_printf *pf, const char *name, const char *help,
		 uint64_t down, uint64_t up)
{
	return prom_header(pf, name, "counter", help) |
	       re_hprintf(pf,
			  "%s{direction=\"down\"} %llu\n"
			  "%s{direction=\"up\"} %llu\n",
			  name, (unsigned long long)down, name,
			  (unsigned long long)up);
}

int prom_histogram(struct re_printf *pf, const char *name, const double *bounds,
		   size_t nb, const uint64_t *counts, uint64_t n, double sum)
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

int prom_process(struct re_printf *pf, uint64_t started_ms)
{
	int err = 0;
	err |= prom_header(pf, "process_cpu_seconds_total", "counter",
			   "Total user and system CPU time spent in seconds");
	err |= re_hprintf(pf, "process_cpu_seconds_total %f\n",
			  prom_cpu_seconds());
	err |= prom_header(pf, "process_resident_memory_bytes", "gauge",
			   "Resident memory size in bytes");
	err |= re_hprintf(pf, "process_resident_memory_bytes %llu\n",
			  resident_bytes());
	err |= prom_header(pf, "process_start_time_seconds", "gauge",
			   "Start time of the process since the Unix epoch");
	err |= re_hprintf(pf, "process_start_time_seconds %llu\n",
			  (unsigned long long)(started_ms / 1000));
	return err;
}
