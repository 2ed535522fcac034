/* DTLS datagrams as a WebRTC transport hands them to dtls_srtp_recv():
 * the server side (a browser's ClientHello, in fragments or whole, then
 * its second flight) or, when the first byte is odd, the client side (the
 * SFU's own hello answered). The rest of the input is datagrams, each
 * after its length in two bytes.
 *
 * FUZZ_DTLS_SEEDS=dir fuzz_dtls -runs=0 writes seeds from a real
 * handshake between two of our connections: what the client sent (for the
 * server side) and what the server sent (for the client side), in the
 * same framing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "dtls_srtp.h"

static struct dtls_cert *cert_sfu, *cert_peer;

/* What one side sent, framed as an input. */
struct flight {
	uint8_t buf[16384];
	size_t len;
};

static int send_h(const uint8_t *buf, size_t len, void *arg)
{
	struct flight *f = arg;
	if (f && f->len + 2 + len <= sizeof(f->buf)) {
		f->buf[f->len++] = (uint8_t)(len >> 8);
		f->buf[f->len++] = (uint8_t)len;
		memcpy(f->buf + f->len, buf, len);
		f->len += len;
	}
	return 0;
}

/* Feeds one side's framed datagrams (after its first byte) to dc. */
static void feed(struct dtls_srtp *dc, const uint8_t *p, size_t n, size_t from)
{
	size_t i = from;
	while (i + 2 <= n) {
		size_t len = (size_t)p[i] << 8 | p[i + 1];
		i += 2;
		if (len > n - i)
			len = n - i;
		(void)dtls_srtp_recv(dc, p + i, len);
		i += len;
	}
}

static void seed_write(const char *dir, const char *name,
		       const struct flight *f, uint8_t role)
{
	char path[512];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp)
		return;
	fputc(role, fp);
	fwrite(f->buf, 1, f->len, fp);
	fclose(fp);
}

/* A handshake of two of our connections, each flight delivered as it is
 * sent; what each side sent becomes the other side's seed. */
static void seeds(const char *dir)
{
	static struct flight to_sfu, to_peer;
	struct dtls_srtp *sfu = NULL, *peer = NULL;
	size_t fed_sfu = 0, fed_peer = 0;

	(void)dtls_srtp_alloc(&sfu, cert_sfu, DTLS_ROLE_SERVER,
			      dtls_cert_fingerprint(cert_peer), send_h, NULL,
			      NULL, &to_peer);
	(void)dtls_srtp_alloc(&peer, cert_peer, DTLS_ROLE_CLIENT,
			      dtls_cert_fingerprint(cert_sfu), send_h, NULL,
			      NULL, &to_sfu);
	if (!sfu || !peer)
		exit(1);
	(void)dtls_srtp_start(sfu);
	(void)dtls_srtp_start(peer);
	for (int round = 0; round < 20; round++) {
		feed(sfu, to_sfu.buf, to_sfu.len, fed_sfu);
		fed_sfu = to_sfu.len;
		feed(peer, to_peer.buf, to_peer.len, fed_peer);
		fed_peer = to_peer.len;
	}
	fprintf(stderr, "fuzz_dtls: handshake %s; seeds of %zu and %zu bytes\n",
		dtls_srtp_established(sfu) && dtls_srtp_established(peer)
			? "complete"
			: "INCOMPLETE",
		to_sfu.len, to_peer.len);
	seed_write(dir, "browser-flights", &to_sfu, 0);
	seed_write(dir, "sfu-flights", &to_peer, 1);
	mem_deref(sfu);
	mem_deref(peer);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_DTLS_SEEDS");
	(void)argc;
	(void)argv;
	if (libre_init() || port_work_init(0) ||
	    dtls_cert_generate(&cert_sfu, "sfu") ||
	    dtls_cert_generate(&cert_peer, "peer"))
		abort();
	if (dir)
		seeds(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const bool client = size && (data[0] & 1);
	struct dtls_srtp *dc = NULL;

	if (dtls_srtp_alloc(
		    &dc, client ? cert_sfu : cert_peer,
		    client ? DTLS_ROLE_CLIENT : DTLS_ROLE_SERVER,
		    dtls_cert_fingerprint(client ? cert_peer : cert_sfu),
		    send_h, NULL, NULL, NULL))
		return 0;
	(void)dtls_srtp_start(dc);
	feed(dc, data, size, 1);
	mem_deref(dc);
	return 0;
}
