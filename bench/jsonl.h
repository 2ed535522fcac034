/*
 * jsonl.h - how the bench's C tools (media-probe, raw-relay) talk to their
 * driver: JSON lines, commands on stdin, events on stdout.
 */
#ifndef MEESHY_BENCH_JSONL_H
#define MEESHY_BENCH_JSONL_H

#include <cjson/cJSON.h>

/* Prints o as one line on stdout, flushed, and frees it. */
void jsonl_emit(cJSON *o);
/* {"event":"error","what":...,"detail":...} */
void jsonl_error(const char *what, const char *detail);
/* Reads stdin on libre's loop and hands each whole line to h; stops the
 * loop (re_cancel) when stdin closes: the driver went away. */
typedef void(jsonl_line_h)(const char *line);
int jsonl_listen(jsonl_line_h *h);
void jsonl_close(void);

#endif
