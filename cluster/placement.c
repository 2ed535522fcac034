/*
 * placement.c - the least-loaded rule.
 */
#include <string.h>
#include "placement.h"

static bool better(const struct node_load *a, const struct node_load *b)
{
	if (a->participants != b->participants)
		return a->participants < b->participants;
	if (a->cpu != b->cpu)
		return a->cpu < b->cpu;
	return strcmp(a->id, b->id) < 0;
}

int placement_pick(const struct node_load *nodes, size_t n)
{
	int best = -1;
	for (size_t i = 0; nodes && i < n; i++) {
		if (!nodes[i].alive || nodes[i].draining)
			continue;
		if (best < 0 || better(&nodes[i], &nodes[best]))
			best = (int)i;
	}
	return best;
}
