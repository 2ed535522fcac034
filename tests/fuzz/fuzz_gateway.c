/* fuzz_gateway.c - fuzz_gateway.h. */
#include <errno.h>
#include <re.h>
#include "gateway.h"
#include "store.h"
#include "fuzz_gateway.h"

struct store *fuzz_store(void)
{
	enum { STORE_RUNS = 1000 };
	static struct store *store;
	static unsigned runs;

	if (store && ++runs < STORE_RUNS)
		return store;
	runs = 0;
	store = mem_deref(store);
	if (store_open(&store, "sqlite::memory:"))
		store = NULL;
	return store;
}

int fuzz_gateway_config(struct gateway_config *cfg, struct sa *laddr)
{
	gateway_config_defaults(cfg);
	if (sa_set_str(laddr, "127.0.0.1", 0))
		return EINVAL;
	cfg->listen = laddr;
	cfg->dev_auth = true;
	cfg->max_connections = 64;
	return 0;
}
