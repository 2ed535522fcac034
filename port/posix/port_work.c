/*
 * port_work.c - port_work_* on POSIX threads: a pool of workers for what
 * would hold libre's loop too long (a DTLS handshake step is 1-3 ms of
 * ECDHE and ECDSA; 200 joins at once would stall every call's packets).
 *
 * A loop hands a job to the pool through a mutex-guarded list and gets it
 * back through an eventfd it watches with fd_listen: the loop never waits on
 * a worker, and a worker never touches libre (its timers, sockets and
 * memory are the loop's alone). Several loops may submit (the signaling
 * loop and each media worker's): each has a "home", made on its first
 * submit, where its jobs come back, so done() runs on the loop that
 * submitted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <re.h>
#include "port.h"

struct work_home;

struct work_job {
	port_work_h *run, *done;
	void *arg;
	uint64_t queued_us;
	struct work_home *home;
	struct work_job *next;
};

struct job_list {
	struct work_job *head, *tail;
};

/* One submitting loop: its finished jobs wait here for it. */
struct work_home {
	int efd;                  /* a worker's write wakes the loop */
	struct job_list finished; /* under pool.lock */
	unsigned in_flight;       /* submitted, not finished; under pool.lock */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* a job to run, or stop */
	pthread_cond_t finished; /* a job finished (for a closing home) */
	struct job_list todo;    /* under lock */
	pthread_t *threads;
	unsigned nthreads;
	bool stop;
	struct port_work_stats st; /* under lock */
} pool = {PTHREAD_MUTEX_INITIALIZER,
	  PTHREAD_COND_INITIALIZER,
	  PTHREAD_COND_INITIALIZER,
	  {0},
	  NULL,
	  0,
	  false,
	  {0}};

/* Each loop thread's home (see the top of this file). */
static pthread_once_t home_once = PTHREAD_ONCE_INIT;
static pthread_key_t home_key;

static void home_key_make(void)
{
	(void)pthread_key_create(&home_key, NULL);
}

static void list_push(struct job_list *l, struct work_job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct work_job *list_pop(struct job_list *l)
{
	struct work_job *j = l->head;
	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
	}
	return j;
}

/* Under pool.lock: j ran; back to its home, whose loop is woken. */
static void job_finished(struct work_job *j)
{
	uint64_t one = 1;
	list_push(&j->home->finished, j);
	j->home->in_flight--;
	(void)!write(j->home->efd, &one, sizeof(one));
	pthread_cond_broadcast(&pool.finished);
}

enum { BELOW_LOOPS_NICE = 10 };

/* A handshake can wait; a packet cannot. A pool thread runs below the
 * loops that carry media and signaling: under a real-time policy (which a
 * thread inherits from its creator) it leaves it for SCHED_OTHER, and it
 * takes BELOW_LOOPS_NICE more niceness, so a join storm gets the CPU the
 * calls leave (CFS gives a nice-10 thread about a tenth of a contended
 * core) instead of taking theirs. Lowering needs no privilege. */
static void run_below_loops(void)
{
#ifdef __linux__
	struct sched_param sp;
	int policy;
	if (!pthread_getschedparam(pthread_self(), &policy, &sp) &&
	    policy != SCHED_OTHER) {
		sp.sched_priority = 0;
		(void)pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
	}
	{
		/* Linux: a thread id names one thread's niceness */
		id_t tid = (id_t)syscall(SYS_gettid);
		int now;
		errno = 0;
		now = getpriority(PRIO_PROCESS, tid);
		if (errno == 0)
			(void)setpriority(PRIO_PROCESS, tid,
					  now + BELOW_LOOPS_NICE);
	}
	(void)pthread_setname_np(pthread_self(), "meeshy-handshk");
#endif
}

void port_thread_below_media(void)
{
	struct sched_param sp;
	int policy;
	if (pthread_getschedparam(pthread_self(), &policy, &sp) ||
	    (policy != SCHED_FIFO && policy != SCHED_RR) ||
	    sp.sched_priority <= sched_get_priority_min(policy))
		return;
	sp.sched_priority--;
	(void)pthread_setschedparam(pthread_self(), policy, &sp);
}

static void *worker_main(void *arg)
{
	(void)arg;
	run_below_loops();
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct work_job *j;
		uint64_t waited;
		while (!pool.stop && !pool.todo.head)
			pthread_cond_wait(&pool.wake, &pool.lock);
		j = list_pop(&pool.todo);
		if (!j)
			break; /* stopping, nothing left */
		pool.st.queued--;
		waited = port_now_us() - j->queued_us;
		if (waited > pool.st.wait_us_max)
			pool.st.wait_us_max = waited;
		pthread_mutex_unlock(&pool.lock);

		j->run(j->arg);

		pthread_mutex_lock(&pool.lock);
		job_finished(j);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* On a home's loop: every finished job's done(), in the order they
 * finished. */
static void home_drain(struct work_home *h)
{
	struct job_list l;
	struct work_job *j;
	uint64_t n;
	(void)!read(h->efd, &n, sizeof(n));
	pthread_mutex_lock(&pool.lock);
	l = h->finished;
	h->finished.head = h->finished.tail = NULL;
	pthread_mutex_unlock(&pool.lock);
	while ((j = list_pop(&l))) {
		j->done(j->arg);
		free(j);
		pthread_mutex_lock(&pool.lock);
		pool.st.completed++;
		pthread_mutex_unlock(&pool.lock);
	}
}

static void home_handler(int flags, void *arg)
{
	(void)flags;
	home_drain(arg);
}

/* This thread's home, made on first use (on this thread's loop). */
static struct work_home *home_get(int *errp)
{
	struct work_home *h;
	(void)pthread_once(&home_once, home_key_make);
	h = pthread_getspecific(home_key);
	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h) {
		*errp = ENOMEM;
		return NULL;
	}
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		*errp = errno;
		free(h);
		return NULL;
	}
	*errp = fd_listen(h->efd, FD_READ, home_handler, h);
	if (!*errp)
		*errp = pthread_setspecific(home_key, h);
	if (*errp) {
		fd_close(h->efd);
		close(h->efd);
		free(h);
		return NULL;
	}
	return h;
}

void port_work_thread_close(void)
{
	struct work_home *h;
	(void)pthread_once(&home_once, home_key_make);
	h = pthread_getspecific(home_key);
	if (!h)
		return;
	/* its jobs in flight come back here before the home goes */
	pthread_mutex_lock(&pool.lock);
	while (h->in_flight)
		pthread_cond_wait(&pool.finished, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	home_drain(h);
	fd_close(h->efd);
	close(h->efd);
	free(h);
	(void)pthread_setspecific(home_key, NULL);
}

int port_work_init(unsigned threads)
{
	sigset_t all, old;
	int err = 0;
	if (pool.nthreads)
		return EALREADY;
	if (!threads)
		return 0;
	/* the calling loop's home exists before any job can need it */
	if (!home_get(&err))
		return err;
	pool.threads = calloc(threads, sizeof(*pool.threads));
	if (!pool.threads) {
		port_work_thread_close();
		return ENOMEM;
	}
	pool.stop = false;
	/* signals stay with the loops: libre's handler flags the loop of the
	 * thread that takes one */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < threads && !err; i++) {
		err = pthread_create(&pool.threads[i], NULL, worker_main, NULL);
		if (!err)
			pool.nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		port_work_close();
		return err;
	}
	pool.st.threads = pool.nthreads;
	return 0;
}

void port_work_close(void)
{
	struct work_job *j;
	pthread_mutex_lock(&pool.lock);
	pool.stop = true;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	for (unsigned i = 0; i < pool.nthreads; i++)
		pthread_join(pool.threads[i], NULL);
	free(pool.threads);
	pool.threads = NULL;
	pool.nthreads = 0;
	pool.st.threads = 0;
	/* the workers are gone: what they left runs here, and comes back to
	 * its home (every other loop has closed its home by now) */
	while ((j = list_pop(&pool.todo))) {
		pool.st.queued--;
		j->run(j->arg);
		job_finished(j);
	}
	port_work_thread_close();
	pool.stop = false;
}

int port_work_submit(port_work_h *run, port_work_h *done, void *arg)
{
	struct work_job *j;
	struct work_home *h;
	int err = 0;
	if (!run || !done)
		return EINVAL;
	pthread_mutex_lock(&pool.lock);
	pool.st.submitted++;
	pthread_mutex_unlock(&pool.lock);
	if (!pool.nthreads) {
		run(arg);
		done(arg);
		pthread_mutex_lock(&pool.lock);
		pool.st.completed++;
		pthread_mutex_unlock(&pool.lock);
		return 0;
	}
	h = home_get(&err);
	if (!h)
		return err;
	j = calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	j->run = run;
	j->done = done;
	j->arg = arg;
	j->home = h;
	j->queued_us = port_now_us();
	pthread_mutex_lock(&pool.lock);
	h->in_flight++;
	list_push(&pool.todo, j);
	pool.st.queued++;
	pthread_cond_signal(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

void port_work_stats(struct port_work_stats *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&pool.lock);
	*st = pool.st;
	pthread_mutex_unlock(&pool.lock);
}
