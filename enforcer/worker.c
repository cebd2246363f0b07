/* Worker threads: each runs one libuv loop with its own listener handles,
 * connections and policy reference. The IPC client (main thread) hands a
 * new policy over through w->pending + uv_async; the worker swaps it in on
 * its own thread, closes the connections whose client instance is gone and
 * the tunnels whose rule is gone, and re-arms the timer that closes tunnels
 * when a rule's TTL runs out. Also the per-client and per-source connection
 * counters shared by all workers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/conn.h"
#include "enforcer/hold.h"
#include "enforcer/decision.h"
#include "enforcer/ipc_client.h"
#include "enforcer/policy.h"
#include "enforcer/uppool.h"
#include "enforcer/worker.h"

/* ---- per-client connection counts ---- */

#define CL_BUCKETS 1024
#define DRAIN_POLL_MS 20

struct cl_entry {
	struct cl_entry *next;
	unsigned n;
	char name[CONNLIMIT_KEY_MAX];
};

struct connlimit {
	uv_mutex_t mu;
	struct cl_entry *b[CL_BUCKETS];
};

static unsigned cl_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % CL_BUCKETS;
}

int connlimit_new(struct connlimit **out)
{
	struct connlimit *cl = xcalloc(1, sizeof *cl);
	if (uv_mutex_init(&cl->mu) < 0) {
		free(cl);
		return AL_EIO;
	}
	*out = cl;
	return 0;
}

void connlimit_free(struct connlimit *cl)
{
	if (!cl)
		return;
	for (size_t i = 0; i < CL_BUCKETS; i++)
		for (struct cl_entry *e = cl->b[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	uv_mutex_destroy(&cl->mu);
	free(cl);
}

int connlimit_acquire(struct connlimit *cl, const char *client, unsigned max)
{
	int rc = 0;
	unsigned h = cl_hash(client);
	uv_mutex_lock(&cl->mu);
	struct cl_entry *e = cl->b[h];
	while (e && strcmp(e->name, client) != 0)
		e = e->next;
	if (!e) {
		e = xcalloc(1, sizeof *e);
		snprintf(e->name, sizeof e->name, "%s", client);
		e->next = cl->b[h];
		cl->b[h] = e;
	}
	if (e->n >= max)
		rc = AL_ERANGE;
	else
		e->n++;
	uv_mutex_unlock(&cl->mu);
	return rc;
}

void connlimit_release(struct connlimit *cl, const char *client)
{
	unsigned h = cl_hash(client);
	uv_mutex_lock(&cl->mu);
	struct cl_entry **pp = &cl->b[h];
	while (*pp && strcmp((*pp)->name, client) != 0)
		pp = &(*pp)->next;
	if (*pp && --(*pp)->n == 0) {
		struct cl_entry *e = *pp;
		*pp = e->next;
		free(e);
	}
	uv_mutex_unlock(&cl->mu);
}

/* ---- policy changes and TTLs ---- */

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check_tunnels(struct worker *w, const char *why);

/* A connection belongs to the client instance that authenticated it: when
 * the instance is gone (deleted, or deleted and created again with a new
 * token), everything it opened closes now, whatever it is doing. */
static void close_revoked(struct worker *w)
{
	for (struct conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		if (c->state == CS_CLOSED || !client_id_is_set(&c->who) || policy_client_by_id(w->policy, &c->who))
			continue;
		if (c->hold)
			hold_revoked(c);   /* its request is answered: 403, then closed */
		else
			conn_revoke(c, "client-revoked");
	}
}

static void on_expiry(uv_timer_t *t)
{
	check_tunnels(t->data, "rule-expired");
}

static void check_tunnels(struct worker *w, const char *why)
{
	int64_t now = time_now();
	for (struct conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		tunnel_check(c, now, why);
	}
	if (w->stopping)
		return;
	int64_t next = policy_next_expiry(w->policy, now);
	if (next > 0) {
		int64_t delay = next * 1000 - wall_ms() + 5;
		uv_timer_start(&w->expiry, on_expiry, delay > 0 ? (uint64_t)delay : 0, 0);
	} else {
		uv_timer_stop(&w->expiry);
	}
}

void worker_policy_changed(struct worker *w)
{
	close_revoked(w);
	check_tunnels(w, "rule-revoked");
	/* parked upstreams were opened under the rules of their time */
	uppool_clear(w->pool);
	/* and kept headers answers were asked under them */
	broker_box_policy_changed(w);
}

static void worker_shutdown(struct worker *w)
{
	w->stopping = true;
	listener_stop(w);
	for (struct conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		conn_abort(c);
	}
	decision_feed_stop(w);
	broker_box_stop(w);
	uppool_free(w->pool);
	w->pool = NULL;
	uv_close((uv_handle_t *)&w->async, NULL);
	uv_close((uv_handle_t *)&w->expiry, NULL);
	uv_close((uv_handle_t *)&w->drain, NULL);
	uv_close((uv_handle_t *)&w->log_flush, NULL);
}

/* A connection between requests, nothing of the next one read: closing it
 * loses nothing (a client retries a keep-alive connection that closes). */
static bool conn_idle(const struct conn *c)
{
	return c->state == CS_HEAD && !c->in_process && c->inoff == c->inlen &&
	       c->req.phase == MSG_IDLE && !c->mitm;
}

static void on_drain(uv_timer_t *t)
{
	struct worker *w = t->data;
	unsigned left = 0;
	if (w->stopping)
		return;
	for (struct conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		if (conn_idle(c))
			conn_abort(c);
		else if (c->state != CS_CLOSED)
			left++;
	}
	if (left && uv_now(&w->loop) < w->drain_deadline)
		return;
	if (left)
		log_warn("drain time over; cutting open connections", KV_I("worker", w->id),
			 KV_I("open", left));
	uv_timer_stop(&w->drain);
	worker_shutdown(w);
}

/* SIGTERM: no new connection; what is under way may finish. */
static void worker_drain(struct worker *w)
{
	if (w->drain_deadline)
		return;
	w->drain_deadline = uv_now(&w->loop) + w->px->cfg->drain_timeout_ms;
	listener_stop(w);
	uv_timer_start(&w->drain, on_drain, 0, DRAIN_POLL_MS);
}

static void on_async(uv_async_t *a)
{
	struct worker *w = a->data;
	uv_mutex_lock(&w->mu);
	struct policy *p = w->pending;
	bool stop = w->stop;
	w->pending = NULL;
	uv_mutex_unlock(&w->mu);
	if (p && !w->stopping) {
		policy_unref(w->policy);
		w->policy = p;
		worker_policy_changed(w);
		atomic_store(&w->applied, policy_version(p));
		ipc_client_applied(w->px->ipc);
	} else if (p) {
		policy_unref(p);
	}
	if (stop && !w->stopping)
		worker_drain(w);
}

/* One decision line per request: gather a loop turn's lines and write them
 * in one write(2) right before the loop waits for I/O again. */
static void on_log_flush(uv_prepare_t *p)
{
	log_batch_flush();
	decision_feed_flush(p->data);
}

static void worker_main(void *arg)
{
	struct worker *w = arg;
	log_batch_start();
	decision_feed_start(w);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	log_batch_stop();
	decision_feed_free();
}

int workers_start(struct proxy *px, unsigned n)
{
	reqid_init();
	px->workers = xcalloc(n, sizeof *px->workers);
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &px->workers[i];
		w->id = i;
		w->px = px;
		if (uv_loop_init(&w->loop) < 0 || uv_mutex_init(&w->mu) < 0)
			return AL_EIO;
		uv_async_init(&w->loop, &w->async, on_async);
		w->async.data = w;
		uv_timer_init(&w->loop, &w->expiry);
		w->expiry.data = w;
		uv_timer_init(&w->loop, &w->drain);
		w->drain.data = w;
		uv_prepare_init(&w->loop, &w->log_flush);
		w->log_flush.data = w;
		uv_prepare_start(&w->log_flush, on_log_flush);
		w->policy = policy_empty();
		w->pool = uppool_new(&w->loop, px->cfg->idle_timeout_ms < AL_UPSTREAM_POOL_IDLE_MS
						   ? px->cfg->idle_timeout_ms : AL_UPSTREAM_POOL_IDLE_MS);
		broker_box_init(w);
		if (px->http_fd >= 0 && listener_start(w, px->http_fd, false) < 0)
			return AL_EIO;
		if (px->https_fd >= 0 && listener_start(w, px->https_fd, true) < 0)
			return AL_EIO;
		px->nworkers++;
	}
	for (unsigned i = 0; i < n; i++)
		if (uv_thread_create(&px->workers[i].thread, worker_main, &px->workers[i]) < 0)
			return AL_EIO;
	return 0;
}

void workers_set_policy(struct proxy *px, struct policy *p)
{
	for (unsigned i = 0; i < px->nworkers; i++) {
		struct worker *w = &px->workers[i];
		uv_mutex_lock(&w->mu);
		if (w->pending)
			policy_unref(w->pending);
		w->pending = policy_ref(p);
		uv_mutex_unlock(&w->mu);
		uv_async_send(&w->async);
	}
}

uint64_t workers_applied(const struct proxy *px)
{
	uint64_t min = UINT64_MAX;
	for (unsigned i = 0; i < px->nworkers; i++) {
		uint64_t v = atomic_load(&px->workers[i].applied);
		if (v < min)
			min = v;
	}
	return px->nworkers ? min : 0;
}

void workers_stop(struct proxy *px)
{
	for (unsigned i = 0; i < px->nworkers; i++) {
		struct worker *w = &px->workers[i];
		uv_mutex_lock(&w->mu);
		w->stop = true;
		uv_mutex_unlock(&w->mu);
		uv_async_send(&w->async);
	}
	for (unsigned i = 0; i < px->nworkers; i++) {
		struct worker *w = &px->workers[i];
		uv_thread_join(&w->thread);
		uv_loop_close(&w->loop);
		broker_box_free(w);
		uv_mutex_destroy(&w->mu);
		if (w->pending)
			policy_unref(w->pending);
		policy_unref(w->policy);
	}
	free(px->workers);
	px->workers = NULL;
	px->nworkers = 0;
}
