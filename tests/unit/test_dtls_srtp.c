/* DTLS-SRTP: certificates, the handshake, key export, SRTP with the keys. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "dtls_srtp.h"
#include "srtp_pair.h"
#include "unit.h"

static struct dtls_cert *cert_a, *cert_b;
static pthread_t loop_thread;
static int off_loop_callbacks; /* handlers must all run on the loop */

static void on_loop(void)
{
	if (!pthread_equal(pthread_self(), loop_thread))
		off_loop_callbacks++;
}

static int setup(void)
{
	loop_thread = pthread_self();
	if (libre_init() || srtp_pair_library_init())
		return 1;
	return dtls_cert_generate(&cert_a, "a") ||
	       dtls_cert_generate(&cert_b, "b");
}

static int teardown(void)
{
	mem_deref(cert_a);
	mem_deref(cert_b);
	libre_close();
	return 0;
}

static void test_cert(void)
{
	const char *fa = dtls_cert_fingerprint(cert_a);
	CU_ASSERT_EQUAL(strlen(fa), DTLS_FP_LEN);
	for (size_t i = 0; i < strlen(fa); i++) {
		if (i % 3 == 2) {
			CU_ASSERT_EQUAL(fa[i], ':');
		} else {
			CU_ASSERT_PTR_NOT_NULL(
				strchr("0123456789ABCDEF", fa[i]));
		}
	}
	CU_ASSERT_STRING_NOT_EQUAL(fa, dtls_cert_fingerprint(cert_b));
}

/* Two endpoints joined by an in-memory "network" that a timer drains. */
struct end {
	struct dtls_srtp *dc;
	struct end *peer;
	struct list inbox;
	struct srtp_keys keys;
	int established, closed, close_err;
	int drop_next;   /* datagrams to lose on the way to the peer */
	int split_hello; /* send the ClientHello in two fragments, 2 datagrams
			  */
	int sent;
	struct port_timer *tick;
};

struct dgram {
	struct le le;
	size_t len;
	uint8_t buf[1500];
};

static void dgram_destructor(void *arg)
{
	list_unlink(&((struct dgram *)arg)->le);
}

static void enqueue(struct end *to, const uint8_t *buf, size_t len)
{
	struct dgram *d = mem_zalloc(sizeof(*d), dgram_destructor);
	memcpy(d->buf, buf, len);
	d->len = len;
	list_append(&to->inbox, &d->le, d);
}

/* Re-sends a one-record ClientHello as two fragments (as browsers whose
 * ClientHello exceeds the MTU do), the second datagram first. */
static bool split_client_hello(struct end *e, const uint8_t *buf, size_t len)
{
	uint8_t a[1500], b[1500];
	size_t body, k;
	if (len < 13 + 12 + 2 || buf[0] != 22 || buf[13] != 1)
		return false;
	body = len - 25;
	k = body / 2;
	/* fragment 1: bytes [0, k) */
	memcpy(a, buf, 25 + k);
	a[11] = (uint8_t)((12 + k) >> 8);
	a[12] = (uint8_t)(12 + k);
	a[22] = (uint8_t)(k >> 16);
	a[23] = (uint8_t)(k >> 8);
	a[24] = (uint8_t)k;
	/* fragment 2: bytes [k, body), its own record sequence number */
	memcpy(b, buf, 25);
	b[10] = (uint8_t)(b[10] + 1);
	b[11] = (uint8_t)((12 + body - k) >> 8);
	b[12] = (uint8_t)(12 + body - k);
	b[19] = (uint8_t)(k >> 16);
	b[20] = (uint8_t)(k >> 8);
	b[21] = (uint8_t)k;
	b[22] = (uint8_t)((body - k) >> 16);
	b[23] = (uint8_t)((body - k) >> 8);
	b[24] = (uint8_t)(body - k);
	memcpy(b + 25, buf + 25 + k, body - k);
	enqueue(e->peer, b, 25 + body - k);
	enqueue(e->peer, a, 25 + k);
	return true;
}

static int send_h(const uint8_t *buf, size_t len, void *arg)
{
	struct end *e = arg;
	struct dgram *d;
	on_loop();
	e->sent++;
	if (e->split_hello && split_client_hello(e, buf, len)) {
		e->split_hello = 0;
		return 0;
	}
	if (e->drop_next > 0) {
		e->drop_next--;
		return 0; /* lost */
	}
	if (len > sizeof(d->buf))
		return EMSGSIZE;
	d = mem_zalloc(sizeof(*d), dgram_destructor);
	memcpy(d->buf, buf, len);
	d->len = len;
	list_append(&e->peer->inbox, &d->le, d);
	return 0;
}

static void estab_h(const struct srtp_keys *keys, void *arg)
{
	struct end *e = arg;
	on_loop();
	e->keys = *keys;
	e->established++;
}

static void close_h(int err, const char *why, void *arg)
{
	struct end *e = arg;
	(void)why;
	on_loop();
	e->closed++;
	e->close_err = err;
}

struct net {
	struct end *a, *b;
	struct port_timer *tick;
	int rounds;
};

static void deliver(struct end *e)
{
	struct le *le;
	while ((le = list_head(&e->inbox))) {
		struct dgram *d = le->data;
		list_unlink(&d->le);
		(void)dtls_srtp_recv(e->dc, d->buf, d->len);
		mem_deref(d);
	}
}

static void tick_h(void *arg)
{
	struct net *n = arg;
	deliver(n->a);
	deliver(n->b);
	bool done_a = n->a->established || n->a->closed;
	bool done_b = n->b->established || n->b->closed;
	if ((done_a && done_b) || ++n->rounds > 1000) {
		re_cancel();
		return;
	}
	port_timer_start(n->tick, 2, tick_h, n);
}

static void handshake(struct end *a, struct end *b,
		      const char *fp_of_a_seen_by_b)
{
	struct net n = {a, b, NULL, 0};
	a->peer = b;
	b->peer = a;
	CU_ASSERT_EQUAL_FATAL(dtls_srtp_alloc(&a->dc, cert_a, DTLS_ROLE_CLIENT,
					      dtls_cert_fingerprint(cert_b),
					      send_h, estab_h, close_h, a),
			      0);
	CU_ASSERT_EQUAL_FATAL(dtls_srtp_alloc(&b->dc, cert_b, DTLS_ROLE_SERVER,
					      fp_of_a_seen_by_b, send_h,
					      estab_h, close_h, b),
			      0);
	port_timer_alloc(&n.tick);
	CU_ASSERT_EQUAL(dtls_srtp_start(b->dc), 0);
	CU_ASSERT_EQUAL(dtls_srtp_start(a->dc), 0);
	port_timer_start(n.tick, 1, tick_h, &n);
	re_main(NULL);
	mem_deref(n.tick);
}

static void end_reset(struct end *e)
{
	list_flush(&e->inbox);
	e->dc = mem_deref(e->dc);
}

static void test_handshake_and_srtp(void)
{
	struct end a = {0}, b = {0};
	struct srtp_pair *pa = NULL, *pb = NULL;
	uint8_t pkt[200], orig[172];
	size_t len;

	handshake(&a, &b, dtls_cert_fingerprint(cert_a));
	CU_ASSERT_EQUAL(a.established, 1);
	CU_ASSERT_EQUAL(b.established, 1);
	CU_ASSERT_EQUAL(a.closed + b.closed, 0);
	CU_ASSERT_TRUE(dtls_srtp_established(a.dc));
	CU_ASSERT_EQUAL(a.keys.profile, SRTP_AES128_CM_SHA1_80);
	CU_ASSERT_EQUAL(a.keys.key_len + a.keys.salt_len, 30);
	/* each side's sending key is the other's receiving key */
	CU_ASSERT_EQUAL(memcmp(a.keys.local, b.keys.remote, 30), 0);
	CU_ASSERT_EQUAL(memcmp(a.keys.remote, b.keys.local, 30), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a.keys.local, a.keys.remote, 30), 0);

	CU_ASSERT_EQUAL_FATAL(srtp_pair_alloc(&pa, &a.keys), 0);
	CU_ASSERT_EQUAL_FATAL(srtp_pair_alloc(&pb, &b.keys), 0);
	/* an RTP packet: V=2, PT 96, seq 1, ts, ssrc, 160 bytes payload */
	memset(orig, 0xab, sizeof(orig));
	orig[0] = 0x80;
	orig[1] = 96;
	orig[2] = 0;
	orig[3] = 1;
	memcpy(orig + 8, "\x11\x22\x33\x44", 4);
	memcpy(pkt, orig, sizeof(orig));
	len = sizeof(orig);
	CU_ASSERT_EQUAL(srtp_pair_protect_rtp(pa, pkt, &len, sizeof(pkt)), 0);
	CU_ASSERT_EQUAL(len, sizeof(orig) + 10); /* 80-bit tag */
	CU_ASSERT_NOT_EQUAL(memcmp(pkt + 12, orig + 12, 160), 0);
	{
		uint8_t copy[200];
		size_t clen = len;
		memcpy(copy, pkt, len);
		CU_ASSERT_EQUAL(srtp_pair_unprotect_rtp(pb, pkt, &len), 0);
		CU_ASSERT_EQUAL(len, sizeof(orig));
		CU_ASSERT_EQUAL(memcmp(pkt, orig, sizeof(orig)), 0);
		/* the same packet again is a replay */
		CU_ASSERT_EQUAL(srtp_pair_unprotect_rtp(pb, copy, &clen),
				EBADMSG);
	}
	/* a flipped bit does not authenticate */
	orig[3] = 2;
	memcpy(pkt, orig, sizeof(orig));
	len = sizeof(orig);
	CU_ASSERT_EQUAL(srtp_pair_protect_rtp(pa, pkt, &len, sizeof(pkt)), 0);
	pkt[40] ^= 1;
	CU_ASSERT_EQUAL(srtp_pair_unprotect_rtp(pb, pkt, &len), EBADMSG);
	/* no room for the tag */
	len = sizeof(orig);
	CU_ASSERT_EQUAL(srtp_pair_protect_rtp(pa, pkt, &len, sizeof(orig)),
			ENOBUFS);
	/* RTCP the other way: a receiver report */
	{
		uint8_t rr[64] = {0x80, 201, 0, 1, 0x55, 0x66, 0x77, 0x88};
		size_t rl = 8;
		CU_ASSERT_EQUAL(srtp_pair_protect_rtcp(pb, rr, &rl, sizeof(rr)),
				0);
		CU_ASSERT_EQUAL(rl, 8 + 4 + 10);
		CU_ASSERT_EQUAL(srtp_pair_unprotect_rtcp(pa, rr, &rl), 0);
		CU_ASSERT_EQUAL(rl, 8);
		CU_ASSERT_EQUAL(rr[1], 201);
	}
	mem_deref(pa);
	mem_deref(pb);
	end_reset(&a);
	end_reset(&b);
}

static void test_fingerprint_mismatch(void)
{
	struct end a = {0}, b = {0};
	/* b expects cert_b's fingerprint from a, who presents cert_a */
	handshake(&a, &b, dtls_cert_fingerprint(cert_b));
	CU_ASSERT_EQUAL(b.established, 0);
	CU_ASSERT_EQUAL(b.closed, 1);
	CU_ASSERT_EQUAL(b.close_err, EACCES);
	end_reset(&a);
	end_reset(&b);
}

static void test_lost_client_hello_is_resent(void)
{
	struct end a = {0}, b = {0};
	a.drop_next = 1; /* the first ClientHello never arrives */
	handshake(&a, &b, dtls_cert_fingerprint(cert_a));
	CU_ASSERT_EQUAL(a.established, 1);
	CU_ASSERT_EQUAL(b.established, 1);
	CU_ASSERT_TRUE(a.sent >= 3); /* hello, hello again, then the rest */
	end_reset(&a);
	end_reset(&b);
}

static void test_fragmented_client_hello(void)
{
	struct end a = {0}, b = {0};
	a.split_hello = 1;
	handshake(&a, &b, dtls_cert_fingerprint(cert_a));
	CU_ASSERT_EQUAL(a.split_hello, 0); /* it was split */
	CU_ASSERT_EQUAL(a.established, 1);
	CU_ASSERT_EQUAL(b.established, 1);
	CU_ASSERT_EQUAL(memcmp(a.keys.local, b.keys.remote, 30), 0);
	end_reset(&a);
	end_reset(&b);
}

static void test_garbage_refused(void)
{
	struct end a = {0}, b = {0};
	uint8_t junk[64];
	a.peer = &b;
	b.peer = &a;
	CU_ASSERT_EQUAL_FATAL(dtls_srtp_alloc(&b.dc, cert_b, DTLS_ROLE_SERVER,
					      dtls_cert_fingerprint(cert_a),
					      send_h, estab_h, close_h, &b),
			      0);
	memset(junk, 22, sizeof(junk)); /* looks like a handshake record */
	(void)dtls_srtp_recv(b.dc, junk, sizeof(junk));
	CU_ASSERT_EQUAL(b.established, 0);
	CU_ASSERT_EQUAL(dtls_srtp_recv(b.dc, junk, 0), EINVAL);
	CU_ASSERT_EQUAL(dtls_srtp_alloc(&a.dc, cert_a, DTLS_ROLE_CLIENT,
					"AB:CD", send_h, estab_h, close_h, &a),
			EINVAL);
	end_reset(&b);
}

/* Bytes the C heap holds (mbedTLS allocates there, not through libre).
 * Under AddressSanitizer malloc is its own and mallinfo2 says nothing. */
static long heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return -1;
#else
	return (long)mallinfo2().uordblks;
#endif
}

static void until_forgotten_h(void *arg)
{
	struct end *e = arg;
	static int rounds;
	if (dtls_srtp_forgotten(e->dc) || ++rounds > 1000) {
		rounds = 0;
		re_cancel();
		return;
	}
	port_timer_start(e->tick, 1, until_forgotten_h, e);
}

/* The loop runs until e's connection has let go of mbedTLS (a step that
 * was running when it was told must come back first). */
static void until_forgotten(struct end *e)
{
	port_timer_alloc(&e->tick);
	port_timer_start(e->tick, 0, until_forgotten_h, e);
	re_main(NULL);
	e->tick = mem_deref(e->tick);
}

static void test_forget_after_peer_srtp(void)
{
	struct end a = {0}, b = {0};
	uint8_t resend[64];
	long before, after;
	int sent;

	handshake(&a, &b, dtls_cert_fingerprint(cert_a));
	CU_ASSERT_EQUAL_FATAL(b.established, 1);
	before = heap_in_use();
	dtls_srtp_peer_confirmed(b.dc);
	until_forgotten(&b);
	after = heap_in_use();
	CU_ASSERT_TRUE(dtls_srtp_forgotten(b.dc));
	CU_ASSERT_TRUE(dtls_srtp_established(b.dc));
	/* two 16 kB record buffers and the kept flight at least */
	if (before >= 0)
		CU_ASSERT_TRUE(before - after >= 32 * 1024);
	/* a record from the peer now gets no answer and closes nothing */
	memset(resend, 0, sizeof(resend));
	resend[0] = 22;
	sent = b.sent;
	CU_ASSERT_EQUAL(dtls_srtp_recv(b.dc, resend, sizeof(resend)), 0);
	resend[0] = 21; /* an alert, close_notify or not */
	CU_ASSERT_EQUAL(dtls_srtp_recv(b.dc, resend, sizeof(resend)), 0);
	until_forgotten(&b);
	CU_ASSERT_EQUAL(b.sent, sent);
	CU_ASSERT_EQUAL(b.closed, 0);
	/* the client side too, and only once up */
	dtls_srtp_peer_confirmed(a.dc);
	until_forgotten(&a);
	CU_ASSERT_TRUE(dtls_srtp_forgotten(a.dc));
	end_reset(&a);
	end_reset(&b);
	CU_ASSERT_EQUAL_FATAL(dtls_srtp_alloc(&a.dc, cert_a, DTLS_ROLE_CLIENT,
					      dtls_cert_fingerprint(cert_b),
					      send_h, estab_h, close_h, &a),
			      0);
	dtls_srtp_peer_confirmed(a.dc);
	CU_ASSERT_FALSE(dtls_srtp_forgotten(a.dc));
	dtls_srtp_peer_confirmed(NULL);
	end_reset(&a);
}

/* Many handshakes at once, every step on one of two worker threads
 * sharing the certificates (and their random generator), as the server
 * runs a join storm. */
enum { MANY = 12 };

struct many {
	struct end a[MANY], b[MANY];
	struct port_timer *tick;
	uint64_t deadline_us;
};

/* A deadline in time, not in rounds: under qemu on a loaded machine the
 * 24 handshakes' ECDHE and ECDSA take seconds of emulated CPU. */
enum { MANY_DEADLINE_US = 60000000 };

static void many_tick(void *arg)
{
	struct many *m = arg;
	int done = 0;
	for (int i = 0; i < MANY; i++) {
		deliver(&m->a[i]);
		deliver(&m->b[i]);
		done += m->a[i].established && m->b[i].established;
	}
	if (done == MANY || port_now_us() > m->deadline_us) {
		re_cancel();
		return;
	}
	port_timer_start(m->tick, 1, many_tick, m);
}

static void many_at_once(void)
{
	static struct many m;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < MANY; i++) {
		struct end *a = &m.a[i], *b = &m.b[i];
		a->peer = b;
		b->peer = a;
		CU_ASSERT_EQUAL_FATAL(
			dtls_srtp_alloc(&a->dc, cert_a, DTLS_ROLE_CLIENT,
					dtls_cert_fingerprint(cert_b), send_h,
					estab_h, close_h, a),
			0);
		CU_ASSERT_EQUAL_FATAL(
			dtls_srtp_alloc(&b->dc, cert_b, DTLS_ROLE_SERVER,
					dtls_cert_fingerprint(cert_a), send_h,
					estab_h, close_h, b),
			0);
		CU_ASSERT_EQUAL(dtls_srtp_start(a->dc), 0);
	}
	m.deadline_us = port_now_us() + MANY_DEADLINE_US;
	port_timer_alloc(&m.tick);
	port_timer_start(m.tick, 1, many_tick, &m);
	re_main(NULL);
	mem_deref(m.tick);
	for (int i = 0; i < MANY; i++) {
		CU_ASSERT_EQUAL(m.a[i].established, 1);
		CU_ASSERT_EQUAL(m.b[i].established, 1);
		CU_ASSERT_EQUAL(
			memcmp(m.a[i].keys.local, m.b[i].keys.remote, 30), 0);
		end_reset(&m.a[i]);
		end_reset(&m.b[i]);
	}
}

/* A connection released while its step runs on a thread: the step's
 * result is dropped, no handler runs. */
static void released_mid_step(void)
{
	struct end a = {0}, b = {0};
	a.peer = &b;
	b.peer = &a;
	CU_ASSERT_EQUAL_FATAL(dtls_srtp_alloc(&a.dc, cert_a, DTLS_ROLE_CLIENT,
					      dtls_cert_fingerprint(cert_b),
					      send_h, estab_h, close_h, &a),
			      0);
	CU_ASSERT_EQUAL(dtls_srtp_start(a.dc), 0);
	a.dc = mem_deref(a.dc); /* the ClientHello step may be running */
	port_work_close();      /* waits for it, and runs what it left */
	CU_ASSERT_EQUAL(a.sent + a.established + a.closed, 0);
	list_flush(&b.inbox);
}

static void test_steps_on_threads(void)
{
	struct port_work_stats before, after;
	CU_ASSERT_EQUAL_FATAL(port_work_init(2), 0);
	port_work_stats(&before);
	off_loop_callbacks = 0;
	test_handshake_and_srtp();
	test_fingerprint_mismatch();
	test_lost_client_hello_is_resent();
	test_fragmented_client_hello();
	test_forget_after_peer_srtp();
	many_at_once();
	port_work_stats(&after);
	CU_ASSERT_EQUAL(after.threads, 2);
	/* a handshake is at least two steps a side */
	CU_ASSERT_TRUE(after.completed - before.completed >= 4 * (4 + MANY));
	CU_ASSERT_EQUAL(off_loop_callbacks, 0);
	released_mid_step();
	port_work_stats(&after);
	CU_ASSERT_EQUAL(after.threads, 0);
}

static CU_TestInfo tests[] = {
	{"certificate fingerprint", test_cert},
	{"handshake, key export, SRTP and SRTCP", test_handshake_and_srtp},
	{"fingerprint mismatch refused", test_fingerprint_mismatch},
	{"lost ClientHello is resent", test_lost_client_hello_is_resent},
	{"fragmented ClientHello reassembled", test_fragmented_client_hello},
	{"garbage and bad arguments refused", test_garbage_refused},
	{"mbedTLS state freed once the peer's SRTP proves it done",
	 test_forget_after_peer_srtp},
	{"handshake steps on worker threads", test_steps_on_threads},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("dtls_srtp", tests, setup, teardown)
