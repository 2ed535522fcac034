/*
 * port.h - the handful of platform services the portable code may use.
 *
 * core/ (and the call orchestration in signaling/) never calls the OS: it
 * asks this door for the time, for timers, for UDP sockets, for random bytes
 * and for logging. port/posix implements it on libre's main loop for Linux
 * (x86 and ARM); port/ns3 implements it over ns-3's simulator so the same
 * code runs inside a simulated network.
 *
 * Objects are libre objects: allocate with the *_alloc functions, release
 * with mem_deref().
 */
#ifndef MEESHY_PORT_H
#define MEESHY_PORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct sa;

/* Clock */

/* Monotonic time in microseconds since an arbitrary origin. */
uint64_t port_now_us(void);
/* Wall-clock time in milliseconds since the Unix epoch (for records). */
uint64_t port_wallclock_ms(void);

/* Timers: one-shot; re-arm from the handler for periodic work. */

struct port_timer;
typedef void(port_timer_h)(void *arg);

int port_timer_alloc(struct port_timer **timerp);
void port_timer_start(struct port_timer *timer, uint64_t delay_ms,
		      port_timer_h *h, void *arg);
/* Fires within delay_ms: a timer already due by then is left as it is,
 * so many callers that each accept some wait share one firing. */
void port_timer_start_within(struct port_timer *timer, uint64_t delay_ms,
			     port_timer_h *h, void *arg);
void port_timer_cancel(struct port_timer *timer);
int port_timer_isrunning(const struct port_timer *timer);

/* UDP with batch I/O: the media hot path moves packets in batches so one
 * system call carries many of them (recvmmsg/sendmmsg on Linux). */

enum { PORT_UDP_BATCH = 32, PORT_UDP_MTU = 1500 };

struct port_pkt {
	uint8_t *buf;    /* payload */
	size_t len;      /* bytes used */
	size_t size;     /* bytes available at buf */
	struct sa *peer; /* source on receive, destination on send */
	/* receive: when the packet reached the socket (the kernel's stamp,
	 * on port_now_us's clock), so time spent queued counts; 0: unknown */
	uint64_t rx_us;
};

struct port_udp;
/* Called with up to PORT_UDP_BATCH packets that arrived together. The
 * buffers belong to the socket and are reused after the handler returns. */
typedef void(port_udp_recv_h)(const struct port_pkt *pkts, size_t n, void *arg);

int port_udp_listen(struct port_udp **udpp, const struct sa *laddr,
		    port_udp_recv_h *recvh, void *arg);
int port_udp_local(const struct port_udp *udp, struct sa *laddr);
/* Sends n packets; *sent tells how many left (the rest would block). */
int port_udp_send_batch(struct port_udp *udp, const struct port_pkt *pkts,
			size_t n, size_t *sent);
/* Counters the benchmark and /metrics read. */
struct port_udp_stats {
	uint64_t rx_pkts, rx_batches, tx_pkts, tx_batches, tx_dropped;
};
void port_udp_stats(const struct port_udp *udp, struct port_udp_stats *st);

/* Work off the loop: a self-contained computation that would hold the
 * packet loop for milliseconds (a DTLS handshake's public-key steps) runs
 * on a pool of threads, and its result comes back to the loop. run() may
 * touch only what the job owns (it runs on another thread); done() runs on
 * the loop, after run(), in submission order per thread. Without threads
 * (port_work_init(0), and the ns-3 port) run() and done() both run inside
 * port_work_submit(), so a caller must cope with done() before it returns. */
typedef void(port_work_h)(void *arg);
/* Starts `threads` worker threads (0: run jobs inline on the loop). */
int port_work_init(unsigned threads);
/* Stops the workers; jobs not run yet are run inline first. */
void port_work_close(void);
/* A loop of its own on another thread (a media worker) gets its jobs'
 * done() on that loop. Before that loop stops, the thread calls this: it
 * waits for the thread's jobs still running and runs their done(). */
void port_work_thread_close(void);
int port_work_submit(port_work_h *run, port_work_h *done, void *arg);
struct port_work_stats {
	uint64_t submitted, completed;
	uint64_t wait_us_max; /* longest a job waited for a thread */
	unsigned threads, queued;
};
void port_work_stats(struct port_work_stats *st);

/* Priorities, relative to what the process was started with: the media
 * loops keep it; the signaling loop, once it has started them, calls this
 * to step below them; the work pool's threads run below both (nicer by 10,
 * and out of any real-time policy). Under a real-time policy (SCHED_FIFO,
 * SCHED_RR) this takes one priority step down, so a burst of signaling
 * never holds a media loop off its core; under the ordinary policy it
 * changes nothing (CFS already shares a core). */
void port_thread_below_media(void);

/* Random bytes from the platform's cryptographic source. */
int port_random(void *buf, size_t len);

/* Log */

enum port_log_level {
	PORT_LOG_DEBUG = 0,
	PORT_LOG_INFO,
	PORT_LOG_WARN,
	PORT_LOG_ERROR,
};

void port_log_set_level(enum port_log_level level);
int port_log_enabled(enum port_log_level level);
void port_log(enum port_log_level level, const char *fmt, ...);
void port_vlog(enum port_log_level level, const char *fmt, va_list ap);

#endif
