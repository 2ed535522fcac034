/* A datagram that looks like STUN, as ICE-lite takes it: parsed, and when
 * it is a binding request answered (a 401 when its integrity fails). */
#include <stdint.h>
#include <re.h>
#include "ice_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ice_lite_request *req = NULL;
	struct mbuf *mb;
	struct sa src;

	if (ice_lite_parse(&req, data, size))
		return 0;
	mb = mbuf_alloc(512);
	(void)sa_set_str(&src, "192.0.2.7", 50000);
	if (mb)
		(void)ice_lite_respond(req, "0123456789abcdefghijkl", &src, mb);
	mem_deref(mb);
	mem_deref(req);
	return 0;
}
