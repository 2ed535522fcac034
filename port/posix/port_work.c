/*
 * port_work.c - port_work_* on POSIX threads: a pool of workers for what
 * would hold libre's loop too long (a DTLS handshake step is 1-3 ms of
 * ECDHE and ECDSA; 200 joins at once would stall every call's packets).
 *
 * The loop hands a job to the pool through a mutex-guarded list and gets it
 * back through an eventfd it watches with fd_listen: the loop never waits on
 * a worker, and a worker never touches libre (its timers, sockets and
 * memory are the loop's alone).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <re.h>
#include "port.h"

struct work_job {
	port_work_h *run, *done;
	void *arg;
	uint64_t queued_us;
	struct work_job *next;
};

struct job_list {
	struct work_job *head, *tail;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job_list todo, finished; /* both under lock */
	pthread_t *threads;
	unsigned nthreads;
	bool stop;
	int efd; /* a worker's write wakes the loop */
	struct port_work_stats st;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0},
	  NULL, 0, false, -1, {0}};

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

static void *worker_main(void *arg)
{
	(void)arg;
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
		list_push(&pool.finished, j);
		{
			uint64_t one = 1;
			(void)!write(pool.efd, &one, sizeof(one));
		}
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* On the loop: every finished job's done(), in the order they finished. */
static void finished_handler(int flags, void *arg)
{
	struct job_list l;
	struct work_job *j;
	uint64_t n;
	(void)flags;
	(void)arg;
	(void)!read(pool.efd, &n, sizeof(n));
	pthread_mutex_lock(&pool.lock);
	l = pool.finished;
	pool.finished.head = pool.finished.tail = NULL;
	pthread_mutex_unlock(&pool.lock);
	while ((j = list_pop(&l))) {
		j->done(j->arg);
		pool.st.completed++;
		free(j);
	}
}

int port_work_init(unsigned threads)
{
	int err;
	if (pool.nthreads || pool.efd >= 0)
		return EALREADY;
	if (!threads)
		return 0;
	pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool.efd < 0)
		return errno;
	err = fd_listen(pool.efd, FD_READ, finished_handler, NULL);
	if (err)
		goto fail;
	pool.threads = calloc(threads, sizeof(*pool.threads));
	if (!pool.threads) {
		err = ENOMEM;
		goto fail;
	}
	pool.stop = false;
	for (unsigned i = 0; i < threads; i++) {
		err = pthread_create(&pool.threads[i], NULL, worker_main, NULL);
		if (err) {
			port_work_close();
			return err;
		}
		pool.nthreads++;
	}
	pool.st.threads = pool.nthreads;
	return 0;
fail:
	fd_close(pool.efd);
	close(pool.efd);
	pool.efd = -1;
	return err;
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
	/* the workers are gone: what they left runs here */
	while ((j = list_pop(&pool.todo))) {
		pool.st.queued--;
		j->run(j->arg);
		list_push(&pool.finished, j);
	}
	if (pool.efd >= 0) {
		finished_handler(0, NULL);
		fd_close(pool.efd);
		close(pool.efd);
		pool.efd = -1;
	}
	pool.stop = false;
}

int port_work_submit(port_work_h *run, port_work_h *done, void *arg)
{
	struct work_job *j;
	if (!run || !done)
		return EINVAL;
	pool.st.submitted++;
	if (!pool.nthreads) {
		run(arg);
		done(arg);
		pool.st.completed++;
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	j->run = run;
	j->done = done;
	j->arg = arg;
	j->queued_us = port_now_us();
	pthread_mutex_lock(&pool.lock);
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
