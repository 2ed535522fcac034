/* A plain-SDP offer (media:offer) as the SFU parses it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "webrtc_sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* large: a struct of every media section, off the stack */
	struct webrtc_offer *o = malloc(sizeof(*o));
	char why[256];
	if (!o)
		return 0;
	(void)webrtc_offer_parse(o, (const char *)data, size, why, sizeof(why));
	free(o);
	return 0;
}
