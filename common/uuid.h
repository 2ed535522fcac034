/*
 * uuid.h - identifiers: for media objects (transports, producers,
 * consumers) RFC 4122 UUIDs as mediasoup uses; for records (calls,
 * participants, transcriptions) MongoDB ObjectIds as Meeshy's database
 * holds them, so its code reads our ids as its own.
 */
#ifndef MEESHY_UUID_H
#define MEESHY_UUID_H

#include <stddef.h>

enum { UUID_STR_SIZE = 37 }; /* 36 characters and the NUL */

/* An RFC 4122 version 4 UUID in lower-case hex, from port_random(). */
int uuid_random(char *buf, size_t size);

enum { OBJECTID_STR_SIZE = 25 }; /* 24 hex digits and the NUL */

/* A MongoDB ObjectId in lower-case hex: the second it was made (4 bytes),
 * a random value of this process (5), a counter from a random start (3).
 * Not thread-safe: the signaling loop's. */
int objectid_new(char *buf, size_t size);

#endif
