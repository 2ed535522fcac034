/*
 * counters.h - adding up structs made only of uint64_t counters (a node's
 * total over its routers, a process's over its media workers).
 */
#ifndef MEESHY_CORE_COUNTERS_H
#define MEESHY_CORE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* sum[i] += x[i] for the n counters of a struct (n: its sizeof over
 * sizeof(uint64_t)). */
static inline void counters_add(uint64_t *sum, const uint64_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum[i] += x[i];
}

#endif
