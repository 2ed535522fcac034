/* A plain-SDP offer (media:offer) as the SFU parses it. */
#include <errno.h>
#include <stdint.h>
#include "webrtc_sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* large (200 kB: every media section), so made once: a malloc of it
	 * per input made ASan the most of each run (19 k runs in 20 s) */
	static struct webrtc_offer o;
	char why[256];
	(void)webrtc_offer_parse(&o, (const char *)data, size, why,
				 sizeof(why));
	return 0;
}
