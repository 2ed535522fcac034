/*
 * uuid.h - random identifiers for calls, participants and media objects.
 */
#ifndef MEESHY_UUID_H
#define MEESHY_UUID_H

#include <stddef.h>

enum { UUID_STR_SIZE = 37 }; /* 36 characters and the NUL */

/* An RFC 4122 version 4 UUID in lower-case hex, from port_random(). */
int uuid_random(char *buf, size_t size);

#endif
