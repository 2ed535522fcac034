/*
 * media_cost.c - what one media packet costs the real server's CPU, for the
 * simulator's media-node model (sim/, "rx_us" and "tx_us").
 *
 * One video producer and K consumers on the real router, every packet as
 * the server handles it: SRTP unprotect of what comes in, the router's
 * forwarding, SRTP protect of each copy that goes out (a context per
 * receiver). Socket I/O is left out (the simulator's network carries the
 * packets). Runs K = 1, 2, 4, 8 and fits CPU time per incoming packet as
 * rx_us + tx_us * K, by least squares; each run is repeated and its
 * fastest pass kept, so a busy machine skews less.
 *
 *   build/bench/media-cost [--packets N] [--out sim/scenarios/calibration.json]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "port.h"
#include "router.h"
#include "srtp_pair.h"

struct bench_transport {
	struct srtp_pair *srtp;
	uint64_t sent;
};

static int bench_send(struct webrtc_transport *t, uint8_t *buf, size_t len,
		      size_t size, bool rtcp)
{
	struct bench_transport *bt = (struct bench_transport *)(void *)t;
	int err = rtcp ? srtp_pair_protect_rtcp(bt->srtp, buf, &len, size)
		       : srtp_pair_protect_rtp(bt->srtp, buf, &len, size);
	bt->sent++;
	return err;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void keys(struct srtp_keys *k, uint8_t local, uint8_t remote)
{
	memset(k, 0, sizeof(*k));
	k->profile = SRTP_AES128_CM_SHA1_80;
	k->key_len = 16;
	k->salt_len = 14;
	memset(k->local, local, 30);
	memset(k->remote, remote, 30);
}

/* CPU seconds per incoming packet with `fanout` receivers. */
static double run(unsigned fanout, unsigned packets)
{
	struct srtp_keys ks, kr;
	struct srtp_pair *sender = NULL;
	struct bench_transport in = {0}, out[8];
	struct router *r = NULL;
	struct producer *p = NULL;
	double best = 1e9;

	memset(out, 0, sizeof(out));
	keys(&ks, 0xa1, 0xb2); /* the browser: sends with a1 */
	keys(&kr, 0xb2, 0xa1); /* the server: receives a1 */
	if (srtp_pair_alloc(&sender, &ks) || srtp_pair_alloc(&in.srtp, &kr) ||
	    router_alloc(&r, bench_send) ||
	    router_produce(&p, r, (struct webrtc_transport *)(void *)&in,
			   MEDIA_VIDEO, 0x1234, 96, "VP8")) {
		fprintf(stderr, "media-cost: set-up failed\n");
		exit(1);
	}
	for (unsigned k = 0; k < fanout; k++) {
		struct srtp_keys ko;
		struct consumer *c;
		keys(&ko, (uint8_t)(0xc0 + k), (uint8_t)(0xd0 + k));
		if (srtp_pair_alloc(&out[k].srtp, &ko) ||
		    router_consume(&c, p,
				   (struct webrtc_transport *)(void *)&out[k],
				   96)) {
			fprintf(stderr, "media-cost: consumer set-up failed\n");
			exit(1);
		}
	}
	/* server side only, in batches; the browser's protect is outside
	 * the measured time */
	for (int pass = 0; pass < 3; pass++) {
		static uint8_t batch[256][1500];
		static size_t blen[256];
		double total = 0;
		unsigned done = 0;
		while (done < packets) {
			unsigned n = packets - done < 256 ? packets - done : 256;
			for (unsigned i = 0; i < n; i++) {
				uint16_t seq = (uint16_t)(40000 + pass * packets +
							  done + i);
				uint32_t ts = (uint32_t)(seq / 10) * 3000;
				uint8_t *b = batch[i];
				memset(b, 0, 1500);
				b[0] = 0x80;
				b[1] = 96;
				b[2] = (uint8_t)(seq >> 8);
				b[3] = (uint8_t)seq;
				b[4] = (uint8_t)(ts >> 24);
				b[5] = (uint8_t)(ts >> 16);
				b[6] = (uint8_t)(ts >> 8);
				b[7] = (uint8_t)ts;
				b[10] = 0x12;
				b[11] = 0x34;
				b[12] = 0x10;
				b[13] = ((done + i) % 300) ? 0x01 : 0x00;
				blen[i] = 1200;
				if (srtp_pair_protect_rtp(sender, b, &blen[i], 1500))
					exit(1);
			}
			{
				double s0 = cpu_s();
				for (unsigned i = 0; i < n; i++)
					if (!srtp_pair_unprotect_rtp(in.srtp,
								     batch[i],
								     &blen[i]))
						router_packet(
							r,
							(struct webrtc_transport
								 *)(void *)&in,
							batch[i], blen[i], 1500,
							false);
				total += cpu_s() - s0;
			}
			done += n;
		}
		if (total / packets < best)
			best = total / packets;
	}
	for (unsigned k = 0; k < fanout; k++) {
		if (!out[k].sent) {
			fprintf(stderr, "media-cost: receiver %u got nothing\n", k);
			exit(1);
		}
		mem_deref(out[k].srtp);
	}
	mem_deref(r);
	mem_deref(in.srtp);
	mem_deref(sender);
	return best;
}

int main(int argc, char **argv)
{
	static const unsigned fanouts[] = {1, 2, 4, 8};
	const size_t nf = sizeof(fanouts) / sizeof(fanouts[0]);
	unsigned packets = 20000;
	const char *out = NULL;
	double x[4], y[4], sx = 0, sy = 0, sxx = 0, sxy = 0, rx, tx;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--packets"))
			packets = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
	}
	if (packets < 1000) {
		fprintf(stderr, "media-cost: --packets: %u is too few (1000 at"
			" least)\n", packets);
		return 2;
	}
	if (libre_init() || srtp_pair_library_init())
		return 1;
	port_log_set_level(PORT_LOG_ERROR);
	for (size_t i = 0; i < nf; i++) {
		x[i] = fanouts[i];
		y[i] = run(fanouts[i], packets) * 1e6;
		printf("fanout %u: %.2f us per packet in\n", fanouts[i], y[i]);
		sx += x[i];
		sy += y[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
	}
	tx = (nf * sxy - sx * sy) / (nf * sxx - sx * sx);
	rx = (sy - tx * sx) / nf;
	printf("fit: rx_us %.2f + tx_us %.2f per receiver\n", rx, tx);
	if (out) {
		FILE *f = fopen(out, "w");
		if (!f) {
			fprintf(stderr, "media-cost: --out: cannot write %s\n",
				out);
			return 1;
		}
		fprintf(f,
			"{\n  \"what\": \"CPU per media packet of the real"
			" server (SRTP + router), from bench/media_cost.c\",\n"
			"  \"rx_us\": %.3f,\n  \"tx_us\": %.3f,\n"
			"  \"measured_us\": {\"1\": %.3f, \"2\": %.3f,"
			" \"4\": %.3f, \"8\": %.3f}\n}\n",
			rx, tx, y[0], y[1], y[2], y[3]);
		fclose(f);
	}
	libre_close();
	return 0;
}
