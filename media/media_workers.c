/*
 * media_workers.c - media worker threads, each running its calls' routers
 * on a libre loop of its own (re_thread_init), and the inboxes that carry
 * control requests to them and active speakers back.
 *
 * An inbox is a task list under a mutex plus an eventfd its loop watches.
 * The signaling loop hands a worker a task and waits for it (run_on): a
 * worker never waits on the signaling loop, so the two cannot deadlock,
 * and objects of the worker's (its sfu_calls, their transports and timers)
 * are only ever touched on its own thread. Packets never pass an inbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>
#include <re.h>
#include "port.h"
#include "sfu_call.h"
#include "media_workers.h"

enum { TICK_MS = 100, CALL_ID_MAX = 64, USER_ID_MAX = 128 };

typedef void(task_h)(void *arg);

struct task {
	task_h *fn;
	void *arg;
	bool wait; /* a sender waits for done; else fn owns the task */
	bool done;
	struct task *next;
};

struct inbox {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct task *head, *tail; /* under lock */
	int efd;
	bool listening; /* on its loop's fd_listen */
};

struct media_worker {
	/* Passed by argument */
	struct media_workers *mw;
	unsigned index;
	struct sa laddr, announced;
	bool has_announced;
	/* Allocated by this, on the worker's own loop */
	struct webrtc_server *srv;
	struct port_timer *tick_tmr;
	struct list calls; /* struct call_on_worker */
	struct router_stats ended;
	unsigned ticks;
	/* Others */
	struct inbox inbox;
	pthread_t thread;
	bool threaded, ready; /* ready: under inbox.lock */
	int start_err;
	size_t ncalls; /* the creator's count, for placement */
};

struct media_workers {
	struct media_worker *workers;
	unsigned n;         /* workers[] entries: cfg.workers, or 1 */
	struct inbox inbox; /* active speakers, to the creator's loop */
	media_speaker_h *speakerh;
	void *arg;
	bool closing;
};

/* A call's media on its worker (touched only there). */
struct call_on_worker {
	struct le le;
	struct media_worker *w;
	struct sfu_call *sc;
	char call_id[CALL_ID_MAX + 1];
};

/* The creator's handle of it. */
struct worker_call {
	struct media_workers *mw; /* a reference: workers outlive calls */
	struct media_worker *w;
	struct call_on_worker *wc;
};

/* Inboxes */

static void inbox_handler(int flags, void *arg)
{
	struct inbox *ib = arg;
	struct task *t;
	uint64_t n;
	(void)flags;
	(void)!read(ib->efd, &n, sizeof(n));
	pthread_mutex_lock(&ib->lock);
	t = ib->head;
	ib->head = ib->tail = NULL;
	pthread_mutex_unlock(&ib->lock);
	while (t) {
		struct task *next = t->next;
		bool wait = t->wait;
		t->fn(t->arg);
		if (wait) { /* after this, t (the sender's) may be gone */
			pthread_mutex_lock(&ib->lock);
			t->done = true;
			pthread_cond_broadcast(&ib->done);
			pthread_mutex_unlock(&ib->lock);
		}
		t = next;
	}
}

static int inbox_init(struct inbox *ib)
{
	int err = pthread_mutex_init(&ib->lock, NULL);
	if (err)
		return err;
	err = pthread_cond_init(&ib->done, NULL);
	if (err) {
		pthread_mutex_destroy(&ib->lock);
		return err;
	}
	ib->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ib->efd < 0) {
		err = errno;
		pthread_cond_destroy(&ib->done);
		pthread_mutex_destroy(&ib->lock);
	}
	return err;
}

/* On the loop that will run the inbox's tasks. */
static int inbox_listen(struct inbox *ib)
{
	int err = fd_listen(ib->efd, FD_READ, inbox_handler, ib);
	ib->listening = !err;
	return err;
}

/* On the inbox's loop: no more wake-ups; what is left runs now (a
 * closing owner's tasks only free themselves). */
static void inbox_unlisten(struct inbox *ib)
{
	if (ib->efd < 0)
		return;
	if (ib->listening)
		fd_close(ib->efd);
	ib->listening = false;
	inbox_handler(0, ib);
}

/* Once no thread can touch it: a waiter in run_on may still hold the lock
 * just after its task ran, so a worker's inbox goes after the join. */
static void inbox_destroy(struct inbox *ib)
{
	if (ib->efd < 0)
		return;
	close(ib->efd);
	ib->efd = -1;
	pthread_cond_destroy(&ib->done);
	pthread_mutex_destroy(&ib->lock);
}

static void inbox_push(struct inbox *ib, struct task *t)
{
	uint64_t one = 1;
	t->next = NULL;
	pthread_mutex_lock(&ib->lock);
	if (ib->tail)
		ib->tail->next = t;
	else
		ib->head = t;
	ib->tail = t;
	pthread_mutex_unlock(&ib->lock);
	(void)!write(ib->efd, &one, sizeof(one));
}

/* fn(arg) on w's loop, the caller waiting for it. */
static void run_on(struct media_worker *w, task_h *fn, void *arg)
{
	struct task t = {fn, arg, true, false, NULL};
	if (!w->threaded) {
		fn(arg);
		return;
	}
	inbox_push(&w->inbox, &t);
	pthread_mutex_lock(&w->inbox.lock);
	while (!t.done)
		pthread_cond_wait(&w->inbox.done, &w->inbox.lock);
	pthread_mutex_unlock(&w->inbox.lock);
}

/* Active speakers: from a worker's tick to the creator's loop */

struct speaker_msg {
	struct task task;
	struct media_workers *mw;
	char call_id[CALL_ID_MAX + 1];
	char producer_id[CALL_ID_MAX + 1];
	char user_id[USER_ID_MAX + 1];
};

static void speaker_deliver(void *arg)
{
	struct speaker_msg *m = arg;
	if (!m->mw->closing && m->mw->speakerh)
		m->mw->speakerh(m->call_id, m->producer_id, m->user_id,
				m->mw->arg);
	free(m);
}

static void speaker_post(struct media_worker *w, const char *call_id,
			 const char *pid, const char *uid)
{
	struct speaker_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return; /* the next change is announced */
	m->task.fn = speaker_deliver;
	m->task.arg = m;
	m->mw = w->mw;
	str_ncpy(m->call_id, call_id, sizeof(m->call_id));
	str_ncpy(m->producer_id, pid, sizeof(m->producer_id));
	str_ncpy(m->user_id, uid, sizeof(m->user_id));
	inbox_push(&w->mw->inbox, &m->task);
}

/* A worker's own loop */

static void tick(void *arg)
{
	struct media_worker *w = arg;
	for (struct le *le = w->calls.head; le; le = le->next) {
		struct call_on_worker *wc = le->data;
		const char *pid, *uid;
		if (sfu_call_tick(wc->sc, w->ticks, &pid, &uid))
			speaker_post(w, wc->call_id, pid, uid);
	}
	w->ticks++;
	port_timer_start(w->tick_tmr, TICK_MS, tick, w);
}

/* Its socket and tick, on the loop that will run them. */
static int worker_open(struct media_worker *w)
{
	int err = webrtc_server_alloc(&w->srv, &w->laddr,
				      w->has_announced ? &w->announced : NULL);
	if (!err)
		err = port_timer_alloc(&w->tick_tmr);
	if (!err)
		port_timer_start(w->tick_tmr, TICK_MS, tick, w);
	return err;
}

static void worker_shut(struct media_worker *w)
{
	/* calls hold a reference to the workers: none is left here */
	w->tick_tmr = mem_deref(w->tick_tmr);
	w->srv = mem_deref(w->srv);
}

static void worker_stop_task(void *arg)
{
	worker_shut(arg);
	re_cancel();
}

/* libre indexes a loop's descriptors by their number, and the process may
 * hold thousands of sockets (the signaling loop's): a worker's loop
 * watches as many as the process may open, or a descriptor it makes later
 * (a DTLS job's eventfd) would not be watched. */
static int loop_size(void)
{
	struct rlimit rl;
	rlim_t n = 1024;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur;
	if (n > 131072)
		n = 131072;
	(void)fd_setsize(0);
	return fd_setsize((int)n);
}

static void *worker_main(void *arg)
{
	struct media_worker *w = arg;
	char name[16];
	int err;

	(void)re_snprintf(name, sizeof(name), "meeshy-media%u", w->index);
	(void)pthread_setname_np(pthread_self(), name);
	err = re_thread_init();
	if (!err)
		err = loop_size();
	if (!err)
		err = inbox_listen(&w->inbox);
	if (!err)
		err = worker_open(w);
	pthread_mutex_lock(&w->inbox.lock);
	w->start_err = err;
	w->ready = true;
	pthread_cond_broadcast(&w->inbox.done);
	pthread_mutex_unlock(&w->inbox.lock);
	if (!err)
		(void)re_main(NULL);
	worker_shut(w); /* after a failed start */
	/* DTLS steps of its transports still on the pool come back here */
	port_work_thread_close();
	inbox_unlisten(&w->inbox);
	re_thread_close();
	return NULL;
}

/* Starts w's thread and waits until it listens (or failed to). Signals
 * stay with the creator's loop: libre's handler flags the loop of the
 * thread that takes the signal. */
static int worker_start(struct media_worker *w)
{
	sigset_t all, old;
	int err;

	err = inbox_init(&w->inbox);
	if (err)
		return err;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		inbox_destroy(&w->inbox);
		return err;
	}
	w->threaded = true;
	pthread_mutex_lock(&w->inbox.lock);
	while (!w->ready)
		pthread_cond_wait(&w->inbox.done, &w->inbox.lock);
	err = w->start_err;
	pthread_mutex_unlock(&w->inbox.lock);
	if (err) {
		pthread_join(w->thread, NULL);
		w->threaded = false;
		inbox_destroy(&w->inbox);
	}
	return err;
}

static void worker_stop(struct media_worker *w)
{
	if (w->threaded) {
		run_on(w, worker_stop_task, w);
		pthread_join(w->thread, NULL);
		w->threaded = false;
		inbox_destroy(&w->inbox);
	} else {
		worker_shut(w);
	}
}

static void workers_destructor(void *arg)
{
	struct media_workers *mw = arg;
	for (unsigned i = 0; i < mw->n; i++)
		worker_stop(&mw->workers[i]);
	free(mw->workers);
	mw->closing = true;
	inbox_unlisten(&mw->inbox);
	inbox_destroy(&mw->inbox);
}

static void worker_addr(struct media_worker *w,
			const struct media_workers_config *cfg, unsigned i)
{
	w->index = i;
	sa_cpy(&w->laddr, cfg->listen);
	if (sa_port(cfg->listen))
		sa_set_port(&w->laddr, (uint16_t)(sa_port(cfg->listen) + i));
	if (cfg->announced) {
		w->has_announced = true;
		sa_cpy(&w->announced, cfg->announced);
		if (sa_port(cfg->announced))
			sa_set_port(&w->announced,
				    (uint16_t)(sa_port(cfg->announced) + i));
	}
}

int media_workers_alloc(struct media_workers **mwp,
			const struct media_workers_config *cfg,
			media_speaker_h *speakerh, void *arg)
{
	struct media_workers *mw;
	int err;

	if (!mwp || !cfg || !cfg->listen)
		return EINVAL;
	if (sa_port(cfg->listen) &&
	    sa_port(cfg->listen) + (cfg->workers ? cfg->workers : 1) - 1 >
		    65535)
		return ERANGE;
	mw = mem_zalloc(sizeof(*mw), workers_destructor);
	if (!mw)
		return ENOMEM;
	mw->inbox.efd = -1;
	err = inbox_init(&mw->inbox);
	if (!err)
		err = inbox_listen(&mw->inbox);
	if (err) {
		mem_deref(mw);
		return err;
	}
	mw->speakerh = speakerh;
	mw->arg = arg;
	mw->n = cfg->workers ? cfg->workers : 1;
	mw->workers = calloc(mw->n, sizeof(*mw->workers));
	if (!mw->workers) {
		mw->n = 0;
		mem_deref(mw);
		return ENOMEM;
	}
	for (unsigned i = 0; i < mw->n; i++) {
		struct media_worker *w = &mw->workers[i];
		w->mw = mw;
		w->inbox.efd = -1;
		worker_addr(w, cfg, i);
		err = cfg->workers ? worker_start(w) : worker_open(w);
		if (err)
			break;
	}
	if (err) {
		mem_deref(mw);
		return err;
	}
	*mwp = mw;
	return 0;
}

void media_workers_set_speaker(struct media_workers *mw,
			       media_speaker_h *speakerh, void *arg)
{
	if (!mw)
		return;
	mw->speakerh = speakerh;
	mw->arg = arg;
}

unsigned media_workers_count(const struct media_workers *mw)
{
	return mw ? mw->n : 0;
}

/* Where media goes: what a firewall rule or a profile needs to know. */
void media_workers_log(struct media_workers *mw)
{
	char ports[64 * 7] = "";
	size_t used = 0;
	for (unsigned i = 0; mw && i < mw->n; i++) {
		struct media_worker_stats st;
		int k;
		media_workers_stats(mw, i, &st);
		k = re_snprintf(ports + used, sizeof(ports) - used, "%s%u",
				i ? " " : "", st.port);
		if (k < 0)
			break;
		used += (size_t)k;
	}
	if (!mw)
		return;
	if (!mw->workers[0].threaded)
		port_log(PORT_LOG_INFO,
			 "media: on the signaling loop, UDP port %s", ports);
	else
		port_log(PORT_LOG_INFO,
			 "media: %u worker threads, UDP ports %s", mw->n,
			 ports);
}

/* Figures */

struct stats_req {
	struct media_worker *w;
	struct media_worker_stats *st;
};

static void stats_task(void *arg)
{
	struct stats_req *r = arg;
	struct media_worker *w = r->w;
	struct media_worker_stats *st = r->st;
	struct sa cand;

	st->router = w->ended;
	for (struct le *le = w->calls.head; le; le = le->next) {
		struct call_on_worker *wc = le->data;
		struct router_stats rs;
		sfu_call_stats(wc->sc, &rs);
		router_stats_add(&st->router, &rs);
		st->peers += sfu_call_peers(wc->sc);
		st->calls++;
	}
	webrtc_server_stats(w->srv, &st->udp);
	if (!webrtc_server_candidate(w->srv, &cand))
		st->port = sa_port(&cand);
}

void media_workers_stats(struct media_workers *mw, unsigned i,
			 struct media_worker_stats *st)
{
	struct stats_req r;
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!mw || i >= mw->n)
		return;
	r.w = &mw->workers[i];
	r.st = st;
	run_on(r.w, stats_task, &r);
}

/* Calls */

static void call_on_worker_destructor(void *arg)
{
	struct call_on_worker *wc = arg;
	struct router_stats rs;
	if (wc->sc) {
		sfu_call_stats(wc->sc, &rs);
		router_stats_add(&wc->w->ended, &rs);
	}
	list_unlink(&wc->le);
	mem_deref(wc->sc);
}

struct call_req {
	struct media_worker *w;
	const char *call_id;
	struct call_on_worker *wc; /* out */
	int err;
};

static void call_alloc_task(void *arg)
{
	struct call_req *r = arg;
	struct call_on_worker *wc =
		mem_zalloc(sizeof(*wc), call_on_worker_destructor);
	if (!wc) {
		r->err = ENOMEM;
		return;
	}
	wc->w = r->w;
	r->err = sfu_call_alloc(&wc->sc, r->w->srv);
	if (r->err) {
		mem_deref(wc);
		return;
	}
	str_ncpy(wc->call_id, r->call_id, sizeof(wc->call_id));
	list_append(&r->w->calls, &wc->le, wc);
	r->wc = wc;
}

static void call_free_task(void *arg)
{
	mem_deref(arg);
}

static void worker_call_destructor(void *arg)
{
	struct worker_call *mc = arg;
	if (mc->wc) {
		run_on(mc->w, call_free_task, mc->wc);
		mc->w->ncalls--;
	}
	mem_deref(mc->mw);
}

int worker_call_alloc(struct worker_call **mcp, struct media_workers *mw,
		      const char *call_id)
{
	struct worker_call *mc;
	struct call_req r = {0};

	if (!mcp || !mw || !mw->n || !call_id)
		return EINVAL;
	mc = mem_zalloc(sizeof(*mc), worker_call_destructor);
	if (!mc)
		return ENOMEM;
	mc->mw = mem_ref(mw);
	mc->w = &mw->workers[0];
	for (unsigned i = 1; i < mw->n; i++)
		if (mw->workers[i].ncalls < mc->w->ncalls)
			mc->w = &mw->workers[i];
	r.w = mc->w;
	r.call_id = call_id;
	run_on(mc->w, call_alloc_task, &r);
	if (r.err) {
		mem_deref(mc);
		return r.err;
	}
	mc->wc = r.wc;
	mc->w->ncalls++;
	*mcp = mc;
	return 0;
}

unsigned worker_call_worker(const struct worker_call *mc)
{
	return mc ? mc->w->index : 0;
}

struct peers_req {
	struct call_on_worker *wc;
	size_t n;
};

static void peers_task(void *arg)
{
	struct peers_req *r = arg;
	r->n = sfu_call_peers(r->wc->sc);
}

size_t worker_call_peers(struct worker_call *mc)
{
	struct peers_req r = {NULL, 0};
	if (!mc)
		return 0;
	r.wc = mc->wc;
	run_on(mc->w, peers_task, &r);
	return r.n;
}

struct request_req {
	struct call_on_worker *wc;
	const char *user, *event;
	const cJSON *data;
	cJSON *reply, *news;
	struct fault *fault;
	int err;
};

static void request_task(void *arg)
{
	struct request_req *r = arg;
	r->err = sfu_call_request(r->wc->sc, r->user, r->event, r->data,
				  r->reply, r->news, r->fault);
}

int worker_call_request(struct worker_call *mc, const char *user,
			const char *event, const cJSON *data, cJSON *reply,
			cJSON *news, struct fault *f)
{
	struct request_req r = {NULL, user, event, data, reply, news, f, 0};
	if (!mc)
		return EINVAL;
	r.wc = mc->wc;
	run_on(mc->w, request_task, &r);
	return r.err;
}

struct leave_req {
	struct call_on_worker *wc;
	const char *user;
	cJSON *closed;
};

static void leave_task(void *arg)
{
	struct leave_req *r = arg;
	sfu_call_leave(r->wc->sc, r->user, r->closed);
}

void worker_call_leave(struct worker_call *mc, const char *user, cJSON *closed)
{
	struct leave_req r;
	if (!mc || !user)
		return;
	r.wc = mc->wc;
	r.user = user;
	r.closed = closed;
	run_on(mc->w, leave_task, &r);
}
