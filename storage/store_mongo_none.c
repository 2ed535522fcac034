/*
 * store_mongo_none.c - the MongoDB backend of a build without
 * mongo-c-driver: a mongodb:// location is refused (ENOSYS) at open.
 */
#include <errno.h>
#include <stddef.h>
#include "store.h"

static int none_open(void **statep, const char *location)
{
	(void)statep;
	(void)location;
	return ENOSYS; /* mongo-c-driver is not in this build */
}

const struct store_backend store_mongo = {
	.name = "mongodb",
	.open = none_open,
};
