/*
 * uuid.c - uuid.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <re.h>
#include "port.h"
#include "uuid.h"

int uuid_random(char *buf, size_t size)
{
	uint8_t b[16];
	int err;

	if (!buf || size < UUID_STR_SIZE)
		return EINVAL;
	err = port_random(b, sizeof(b));
	if (err)
		return err;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return re_snprintf(buf, size,
			   "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			   "%02x%02x%02x%02x%02x%02x",
			   b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8],
			   b[9], b[10], b[11], b[12], b[13], b[14], b[15]) < 0
		       ? ENOMEM
		       : 0;
}

int objectid_new(char *buf, size_t size)
{
	static uint8_t process[5];
	static uint32_t counter;
	static bool seeded;
	uint32_t secs = (uint32_t)(port_wallclock_ms() / 1000);
	int err;

	if (!buf || size < OBJECTID_STR_SIZE)
		return EINVAL;
	if (!seeded) {
		err = port_random(process, sizeof(process));
		if (!err)
			err = port_random(&counter, sizeof(counter));
		if (err)
			return err;
		seeded = true;
	}
	counter = (counter + 1) & 0xffffff;
	return re_snprintf(buf, size, "%08x%02x%02x%02x%02x%02x%06x", secs,
			   process[0], process[1], process[2], process[3],
			   process[4], counter) < 0
		       ? ENOMEM
		       : 0;
}
