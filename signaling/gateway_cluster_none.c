/*
 * gateway_cluster_none.c - role gateway in a build without Redis: there is
 * none (apps/ refuses --role gateway), so nothing to start or to stop.
 */
#include <errno.h>
#include <stdbool.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "gateway_impl.h"

int gateway_cluster_start(struct gateway *gw)
{
	return ENOTSUP;
}

int gateway_cluster_metrics(struct re_printf *pf, const struct gateway *gw)
{
	return 0;
}

void gateway_cluster_stop(struct gateway *gw)
{
}

void gateway_cluster_health(struct gateway *gw, cJSON *o, cJSON *checks,
			    bool *sio)
{
}
