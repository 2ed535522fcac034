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
 * Socket I/O is measured apart, as the server does it on loopback: the
 * copies one receive batch produced leave in one sendmmsg of up to
 * PORT_UDP_BATCH (core/webrtc_transport.c), packets come in by recvmmsg
 * batches of PORT_UDP_BATCH; the kernel's work on the sender's behalf
 * (loopback delivery) counts as the sender's CPU ("io_tx_us", "io_rx_us";
 * the simulator adds them to rx_us and tx_us). A datagram a call, what a
 * lightly loaded server does, is kept beside it ("io_tx_single_us").
 *
 * The raw relay (unprotect, then copy and protect per receiver, no routing)
 * runs the same way: the floor our router is compared with
 * ("raw_relay_rx_us", "raw_relay_tx_us").
 *
 * It also times the DTLS handshake of a transport (ICE-lite answers cost
 * next to nothing): the real dtls_srtp.c on both sides in memory, the CPU
 * time of each side kept apart, since the server's share loads the media
 * node and the client's delays the joiner ("dtls_server_ms",
 * "dtls_client_ms").
 *
 *   build/bench/media-cost [--packets N] [--out sim/scenarios/calibration.json]
 *
 * For instruction counts (bench/arm-cost.sh runs it under qemu with an
 * instruction-counting plugin, where times mean nothing) one configuration
 * a run, untimed, so counts of two runs split cleanly by difference:
 *
 *   media-cost --one router|raw|browser|peek --bytes B --fanout K --packets N
 *   media-cost --one dtls --runs R
 *
 * "browser" is the sender's protect alone, which the others include;
 * "peek" a packet of a simulcast layer nobody gets, taken on its header
 * ("rx_peek_us" when timed; its fanout is none).
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "dtls_srtp.h"
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

/* `n` packets as the browser sends them: RTP of `size` bytes, numbered
 * from `first`, a keyframe start every 300, SRTP-protected by `sender`. */
static void browser_batch(struct srtp_pair *sender, uint8_t (*batch)[1500],
			  size_t *blen, unsigned n, unsigned first, size_t size)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t seq = (uint16_t)(40000 + first + i);
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
		b[13] = ((first + i) % 300) ? 0x01 : 0x00;
		blen[i] = size;
		if (srtp_pair_protect_rtp(sender, b, &blen[i], 1500))
			exit(1);
	}
}

/* The raw relay, the floor any SFU is measured against: unprotect, then a
 * copy protected per receiver, with no routing at all. */
static void raw_relay(struct bench_transport *in, struct bench_transport *out,
		      unsigned fanout, uint8_t *pkt, size_t len)
{
	static uint8_t copy[1500];
	if (srtp_pair_unprotect_rtp(in->srtp, pkt, &len))
		return;
	for (unsigned k = 0; k < fanout; k++) {
		memcpy(copy, pkt, len);
		(void)bench_send((struct webrtc_transport *)(void *)&out[k],
				 copy, len, sizeof(copy), false);
	}
}

/* What a run puts the packets through, after the browser's protect: the
 * router, the raw relay, nothing, or the router's look at the header of a
 * simulcast layer nobody gets (router_rtp_peek, as the transport asks it
 * first: what it wants whole, one packet in 4096, is decrypted and
 * routed) */
enum path { PATH_ROUTER, PATH_RAW, PATH_NONE, PATH_PEEK };

/* One packet in, as the server's transport takes it. */
static void server_in(struct router *r, struct bench_transport *in,
		      enum path path, uint8_t *pkt, size_t len)
{
	struct webrtc_transport *t = (struct webrtc_transport *)(void *)in;
	if (path == PATH_PEEK && !router_rtp_peek(r, t, pkt, len - 10))
		return; /* 10: the tag of AES_CM_128_HMAC_SHA1_80 */
	if (!srtp_pair_unprotect_rtp(in->srtp, pkt, &len))
		router_packet(r, t, pkt, len, 1500, false);
}

/* CPU seconds per incoming packet of `size` bytes with `fanout`
 * receivers, through the real router, the raw relay or nothing; or, for
 * PATH_PEEK, on a layer of two of a simulcast stream nobody receives
 * (fanout 0). */
static double run(unsigned fanout, unsigned packets, size_t size,
		  enum path path)
{
	struct srtp_keys ks, kr;
	struct srtp_pair *sender = NULL;
	struct bench_transport in = {0}, out[8];
	struct router *r = NULL;
	struct producer *p = NULL;
	struct consumer *cons[8] = {NULL};
	double best = 1e9;

	memset(out, 0, sizeof(out));
	keys(&ks, 0xa1, 0xb2); /* the browser: sends with a1 */
	keys(&kr, 0xb2, 0xa1); /* the server: receives a1 */
	static const uint32_t layers[] = {0x1234, 0x5678};
	if (srtp_pair_alloc(&sender, &ks) || srtp_pair_alloc(&in.srtp, &kr) ||
	    router_alloc(&r, bench_send) ||
	    (path == PATH_PEEK
		     ? router_produce_simulcast(
			       &p, r, (struct webrtc_transport *)(void *)&in,
			       96, "VP8", 2, layers, NULL, 0)
		     : router_produce(&p, r,
				      (struct webrtc_transport *)(void *)&in,
				      MEDIA_VIDEO, 0x1234, 96, "VP8"))) {
		fprintf(stderr, "media-cost: set-up failed\n");
		exit(1);
	}
	for (unsigned k = 0; k < fanout; k++) {
		struct srtp_keys ko;
		keys(&ko, (uint8_t)(0xc0 + k), (uint8_t)(0xd0 + k));
		if (srtp_pair_alloc(&out[k].srtp, &ko) ||
		    router_consume(&cons[k], p,
				   (struct webrtc_transport *)(void *)&out[k],
				   96)) {
			fprintf(stderr, "media-cost: consumer set-up failed\n");
			exit(1);
		}
	}
	/* server side only, in batches; the browser's protect is outside
	 * the measured time */
	for (unsigned pass = 0; pass < 3; pass++) {
		static uint8_t batch[256][1500];
		static size_t blen[256];
		double total = 0;
		unsigned done = 0;
		while (done < packets) {
			unsigned n =
				packets - done < 256 ? packets - done : 256;
			browser_batch(sender, batch, blen, n,
				      pass * packets + done, size);
			double s0 = cpu_s();
			for (unsigned i = 0; i < n && path != PATH_NONE; i++) {
				if (path == PATH_RAW)
					raw_relay(&in, out, fanout, batch[i],
						  blen[i]);
				else
					server_in(r, &in, path, batch[i],
						  blen[i]);
			}
			total += cpu_s() - s0;
			done += n;
		}
		if (total / packets < best)
			best = total / packets;
	}
	for (unsigned k = 0; k < fanout; k++) {
		if (!out[k].sent && path != PATH_NONE && path != PATH_PEEK) {
			fprintf(stderr, "media-cost: receiver %u got nothing\n",
				k);
			exit(1);
		}
		mem_deref(cons[k]);
		mem_deref(out[k].srtp);
	}
	mem_deref(p);
	mem_deref(r);
	mem_deref(in.srtp);
	mem_deref(sender);
	return best;
}

/* --- the DTLS handshake, both ends in memory --- */

struct hs_end {
	struct dtls_srtp *dc;
	struct hs_end *peer;
	uint8_t q[16][1500]; /* datagrams on their way to this end */
	size_t qlen[16], n;
	bool up;
	double cpu; /* seconds this end spent */
};

static int hs_send(const uint8_t *buf, size_t len, void *arg)
{
	struct hs_end *to = ((struct hs_end *)arg)->peer;
	if (to->n == 16 || len > 1500)
		return ENOBUFS;
	memcpy(to->q[to->n], buf, len);
	to->qlen[to->n++] = len;
	return 0;
}

static void hs_estab(const struct srtp_keys *k, void *arg)
{
	(void)k;
	((struct hs_end *)arg)->up = true;
}

static void hs_close(int err, const char *why, void *arg)
{
	(void)err;
	(void)arg;
	fprintf(stderr, "media-cost: DTLS handshake failed: %s\n", why);
	exit(1);
}

/* Delivers what is queued for e, charging its CPU to e. */
static bool hs_pump(struct hs_end *e)
{
	size_t n = e->n;
	static uint8_t in[16][1500];
	static size_t inlen[16];
	if (!n)
		return false;
	memcpy(in, e->q, sizeof(in));
	memcpy(inlen, e->qlen, sizeof(inlen));
	e->n = 0;
	for (size_t i = 0; i < n; i++) {
		double t0 = cpu_s();
		(void)dtls_srtp_recv(e->dc, in[i], inlen[i]);
		e->cpu += cpu_s() - t0;
	}
	return true;
}

/* --- socket I/O on loopback --- */

static int udp_socket(struct sockaddr_in *a)
{
	socklen_t alen = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 4 << 20;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) ||
	    getsockname(fd, (struct sockaddr *)a, &alen)) {
		fprintf(stderr, "media-cost: no loopback socket\n");
		exit(1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

/* CPU microseconds per packet of `size` bytes: sent `per_call` a
 * sendmmsg (1, or a whole PORT_UDP_BATCH as the server's egress sends what
 * one receive batch produced under load), and received in batches of
 * PORT_UDP_BATCH; the fastest of three passes. */
static void io_cost(unsigned packets, size_t size, unsigned per_call,
		    double *tx_us, double *rx_us)
{
	struct sockaddr_in a, b;
	int tx = udp_socket(&a), rx = udp_socket(&b);
	static uint8_t buf[PORT_UDP_BATCH][1500];
	struct mmsghdr m[PORT_UDP_BATCH];
	struct iovec iov[PORT_UDP_BATCH];
	*tx_us = *rx_us = 1e9;
	for (int pass = 0; pass < 3; pass++) {
		double ts = 0, rs = 0;
		unsigned got = 0;
		for (unsigned done = 0; done < packets;
		     done += PORT_UDP_BATCH) {
			/* a batch's worth out, per_call a call, then in */
			struct mmsghdr out[PORT_UDP_BATCH];
			struct iovec v[PORT_UDP_BATCH];
			double t0 = cpu_s();
			for (unsigned i = 0; i < PORT_UDP_BATCH; i++) {
				v[i].iov_base = buf[i];
				v[i].iov_len = size;
				memset(&out[i], 0, sizeof(out[i]));
				out[i].msg_hdr.msg_name = &b;
				out[i].msg_hdr.msg_namelen = sizeof(b);
				out[i].msg_hdr.msg_iov = &v[i];
				out[i].msg_hdr.msg_iovlen = 1;
			}
			for (unsigned i = 0; i < PORT_UDP_BATCH; i += per_call)
				(void)sendmmsg(tx, &out[i], per_call,
					       MSG_DONTWAIT);
			double t1 = cpu_s();
			for (unsigned i = 0; i < PORT_UDP_BATCH; i++) {
				iov[i].iov_base = buf[i];
				iov[i].iov_len = sizeof(buf[i]);
				memset(&m[i], 0, sizeof(m[i]));
				m[i].msg_hdr.msg_iov = &iov[i];
				m[i].msg_hdr.msg_iovlen = 1;
			}
			int n = recvmmsg(rx, m, PORT_UDP_BATCH, MSG_DONTWAIT,
					 NULL);
			double t2 = cpu_s();
			got += n > 0 ? (unsigned)n : 0;
			ts += t1 - t0;
			rs += t2 - t1;
		}
		if (got < packets / 2) {
			fprintf(stderr, "media-cost: loopback lost %u of %u\n",
				packets - got, packets);
			exit(1);
		}
		if (ts / packets * 1e6 < *tx_us)
			*tx_us = ts / packets * 1e6;
		if (rs / got * 1e6 < *rx_us)
			*rx_us = rs / got * 1e6;
	}
	close(tx);
	close(rx);
}

/* CPU seconds of one handshake on each side, the fastest of `runs`. */
static void handshake_cost(unsigned runs, double *server_s, double *client_s)
{
	struct dtls_cert *sc = NULL, *cc = NULL;
	*server_s = *client_s = 1e9;
	if (dtls_cert_generate(&sc, "server") ||
	    dtls_cert_generate(&cc, "client")) {
		fprintf(stderr, "media-cost: no certificates\n");
		exit(1);
	}
	for (unsigned r = 0; r < runs; r++) {
		static struct hs_end srv, cli;
		memset(&srv, 0, sizeof(srv));
		memset(&cli, 0, sizeof(cli));
		srv.peer = &cli;
		cli.peer = &srv;
		if (dtls_srtp_alloc(&srv.dc, sc, DTLS_ROLE_SERVER,
				    dtls_cert_fingerprint(cc), hs_send,
				    hs_estab, hs_close, &srv) ||
		    dtls_srtp_alloc(&cli.dc, cc, DTLS_ROLE_CLIENT,
				    dtls_cert_fingerprint(sc), hs_send,
				    hs_estab, hs_close, &cli)) {
			fprintf(stderr, "media-cost: DTLS set-up failed\n");
			exit(1);
		}
		double t0 = cpu_s();
		(void)dtls_srtp_start(cli.dc);
		cli.cpu += cpu_s() - t0;
		while (hs_pump(&srv) | hs_pump(&cli))
			;
		if (!srv.up || !cli.up) {
			fprintf(stderr, "media-cost: DTLS handshake stalled\n");
			exit(1);
		}
		if (srv.cpu < *server_s)
			*server_s = srv.cpu;
		if (cli.cpu < *client_s)
			*client_s = cli.cpu;
		mem_deref(srv.dc);
		mem_deref(cli.dc);
	}
	mem_deref(sc);
	mem_deref(cc);
}

/* What a packet of one size costs: rx_us + tx_us per receiver, fitted by
 * least squares over fanouts 1, 2, 4 and 8, for our router and for the raw
 * relay, and its socket I/O. */
struct cost {
	size_t bytes;
	double rx_us, tx_us, io_rx_us, io_tx_us;
	double io_tx_single_us; /* one datagram a sendmmsg */
	double raw_rx_us, raw_tx_us;
	double peek_us; /* a packet of a layer nobody gets (header only) */
	double measured_us[4];
};

static const unsigned fanouts[] = {1, 2, 4, 8};
#define NFANOUTS (sizeof(fanouts) / sizeof(fanouts[0]))

static void fit(size_t bytes, unsigned packets, bool raw, double *measured,
		double *rx_us, double *tx_us)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	for (size_t i = 0; i < NFANOUTS; i++) {
		double x = fanouts[i];
		double y = run(fanouts[i], packets, bytes,
			       raw ? PATH_RAW : PATH_ROUTER) *
			   1e6;
		measured[i] = y;
		printf("%zu bytes, fanout %u%s: %.2f us per packet in\n", bytes,
		       fanouts[i], raw ? " (raw relay)" : "", y);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	*tx_us = (NFANOUTS * sxy - sx * sy) / (NFANOUTS * sxx - sx * sx);
	*rx_us = (sy - *tx_us * sx) / NFANOUTS;
}

static void measure(struct cost *c, size_t bytes, unsigned packets)
{
	double raw_measured[NFANOUTS], rx_single;

	c->bytes = bytes;
	fit(bytes, packets, false, c->measured_us, &c->rx_us, &c->tx_us);
	fit(bytes, packets, true, raw_measured, &c->raw_rx_us, &c->raw_tx_us);
	c->peek_us = run(0, packets, bytes, PATH_PEEK) * 1e6;
	io_cost(packets, bytes, 1, &c->io_tx_single_us, &rx_single);
	io_cost(packets, bytes, PORT_UDP_BATCH, &c->io_tx_us, &c->io_rx_us);
	if (rx_single < c->io_rx_us)
		c->io_rx_us = rx_single;
	printf("%zu bytes: rx_us %.2f + tx_us %.2f per receiver (%.2f a"
	       " packet nobody gets, on its header); socket I/O %.2f us a"
	       " packet in, %.2f out in batches of %d (%.2f one a call)\n",
	       bytes, c->rx_us, c->tx_us, c->peek_us, c->io_rx_us, c->io_tx_us,
	       PORT_UDP_BATCH, c->io_tx_single_us);
	double ours = c->tx_us + c->io_tx_us;
	double raw = c->raw_tx_us + c->io_tx_us;
	printf("%zu bytes: a copy out, socket I/O included: %.2f us; the raw"
	       " relay's %.2f us (ours at %.0f %% of its speed)\n",
	       bytes, ours, raw, 100.0 * raw / ours);
}

static void write_cost(FILE *f, const struct cost *c, const char *indent)
{
	fprintf(f,
		"%s\"bytes\": %zu,\n%s\"rx_us\": %.3f,\n%s\"tx_us\": %.3f,\n"
		"%s\"rx_peek_us\": %.3f,\n"
		"%s\"io_rx_us\": %.3f,\n%s\"io_tx_us\": %.3f,\n"
		"%s\"io_tx_single_us\": %.3f,\n"
		"%s\"raw_relay_rx_us\": %.3f,\n%s\"raw_relay_tx_us\": %.3f,\n"
		"%s\"measured_us\": {\"1\": %.3f, \"2\": %.3f, \"4\": %.3f,"
		" \"8\": %.3f}",
		indent, c->bytes, indent, c->rx_us, indent, c->tx_us, indent,
		c->peek_us, indent, c->io_rx_us, indent, c->io_tx_us, indent,
		c->io_tx_single_us, indent, c->raw_rx_us, indent, c->raw_tx_us,
		indent, c->measured_us[0], c->measured_us[1], c->measured_us[2],
		c->measured_us[3]);
}

/* --one: one configuration, untimed, for an instruction count */
static int count_one(int argc, char **argv)
{
	const char *what = NULL;
	unsigned long bytes = 1200, fanout = 1, packets = 1000, runs = 1;
	double srv, cli;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--one"))
			what = argv[i + 1];
		else if (!strcmp(argv[i], "--bytes"))
			bytes = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--fanout"))
			fanout = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--packets"))
			packets = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--runs"))
			runs = strtoul(argv[i + 1], NULL, 10);
	}
	if (bytes < 28 || bytes > 1400 || fanout < 1 || fanout > 8 ||
	    !packets || !runs) {
		fprintf(stderr,
			"media-cost: --one: --bytes %lu (28..1400), --fanout"
			" %lu (1..8), --packets %lu, --runs %lu (> 0)\n",
			bytes, fanout, packets, runs);
		return 2;
	}
	if (!strcmp(what, "dtls"))
		handshake_cost((unsigned)runs, &srv, &cli);
	else if (!strcmp(what, "peek"))
		(void)run(0, (unsigned)packets, bytes, PATH_PEEK);
	else if (!strcmp(what, "router") || !strcmp(what, "raw") ||
		 !strcmp(what, "browser"))
		(void)run((unsigned)fanout, (unsigned)packets, bytes,
			  what[0] == 'r'
				  ? (what[1] == 'o' ? PATH_ROUTER : PATH_RAW)
				  : PATH_NONE);
	else {
		fprintf(stderr,
			"media-cost: --one: '%s' is not router, raw, browser,"
			" peek or dtls\n",
			what);
		return 2;
	}
	printf("media-cost: --one %s done\n", what);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned packets = 20000;
	const char *out = NULL;
	struct cost video, audio;
	double hs_srv, hs_cli;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--one")) {
			if (libre_init() || srtp_pair_library_init())
				return 1;
			port_log_set_level(PORT_LOG_ERROR);
			int rc = count_one(argc, argv);
			libre_close();
			return rc;
		}
		if (!strcmp(argv[i], "--packets"))
			packets = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
	}
	if (packets < 1000) {
		fprintf(stderr,
			"media-cost: --packets: %u is too few (1000 at"
			" least)\n",
			packets);
		return 2;
	}
	if (libre_init() || srtp_pair_library_init())
		return 1;
	port_log_set_level(PORT_LOG_ERROR);
	/* a full video packet, and an Opus one (the cost is near linear in
	 * the size between them: SRTP's cipher and MAC run over the bytes) */
	measure(&video, 1200, packets);
	measure(&audio, 100, packets);
	handshake_cost(20, &hs_srv, &hs_cli);
	printf("DTLS handshake: server %.2f ms, client %.2f ms of CPU\n",
	       hs_srv * 1e3, hs_cli * 1e3);
	if (out) {
		FILE *f = fopen(out, "w");
		if (!f) {
			fprintf(stderr, "media-cost: --out: cannot write %s\n",
				out);
			return 1;
		}
		fprintf(f,
			"{\n  \"what\": \"CPU of the real server per media"
			" packet (SRTP + router, and socket I/O) and per DTLS"
			" handshake, from bench/media_cost.c\",\n");
		write_cost(f, &video, "  ");
		fprintf(f, ",\n  \"small\": {\n");
		write_cost(f, &audio, "    ");
		fprintf(f,
			"\n  },\n  \"dtls_server_ms\": %.3f,\n"
			"  \"dtls_client_ms\": %.3f\n}\n",
			hs_srv * 1e3, hs_cli * 1e3);
		fclose(f);
	}
	libre_close();
	return 0;
}
