/*
 * placement.h - which media node takes a new call: the least loaded of
 * those alive, by participants first (the SFU's work grows with them),
 * then CPU, then name (so that equal nodes are chosen the same way by
 * every gateway).
 */
#ifndef MEESHY_PLACEMENT_H
#define MEESHY_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

enum { PLACEMENT_ID_MAX = 64, PLACEMENT_URL_MAX = 256 };

struct node_load {
	char id[PLACEMENT_ID_MAX];
	char url[PLACEMENT_URL_MAX]; /* its internal API */
	double participants, cpu;
	bool alive, draining;
};

/* The index of the node to place on, or -1 when none is alive. */
int placement_pick(const struct node_load *nodes, size_t n);

#endif
