/* fuzz_gateway.h - what the harnesses that run a whole gateway share
 * (fuzz_http, fuzz_cluster): its store and the start of its config. */
#ifndef MEESHY_FUZZ_GATEWAY_H
#define MEESHY_FUZZ_GATEWAY_H

/* On the harness's own bookkeeping (scanning its input for switches and
 * ids, its answers for ids): not the server's code, so no coverage to
 * steer by, and its byte comparisons were the fuzzer's busiest hooks. */
#define FUZZ_UNCOVERED __attribute__((no_sanitize("coverage")))

struct sa;
struct store;
struct gateway_config;

/* A SQLite store in memory, a new one every thousand runs: what runs write
 * stays bounded, and opening one each run would halve the speed. NULL when
 * it cannot be opened. Call once a run. */
struct store *fuzz_store(void);
/* The defaults, listening on 127.0.0.1 (a port the kernel picks: laddr
 * must outlive the gateway_alloc call), dev-auth (any Bearer token is a
 * user: the fuzzer reaches past authentication), 64 connections. */
int fuzz_gateway_config(struct gateway_config *cfg, struct sa *laddr);

#endif
