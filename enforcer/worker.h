/* Workers: one libuv loop per thread, each accepting on its own handles of
 * the shared listening sockets (no thread per connection). struct proxy is
 * what all workers share read-only (settings, resolver, TLS credentials)
 * plus the connection counters (authenticated, pre-auth, per client, per
 * source). Each worker holds its own reference to
 * the current policy, swapped on its own thread when the IPC client hands a
 * new one over (uv_async), and decides every request against it. */
#ifndef AIRLOCK_ENFORCER_WORKER_H
#define AIRLOCK_ENFORCER_WORKER_H

#include <gnutls/gnutls.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "common/limits.h"
#include "enforcer/h2up.h"
#include "enforcer/settings.h"

struct policy;
struct conn;
struct resolver;
struct connlimit;
struct leafcache;
struct tlsconf_resume;
struct ipc_client;
struct ask_box;

struct proxy {
	const struct config *cfg;
	struct resolver *resolver;
	gnutls_certificate_credentials_t tls_cred;   /* TLS listener; NULL when off */
	int http_fd, https_fd;                       /* listening sockets, -1 when off */
	atomic_uint nconns;                          /* authenticated client connections, all workers */
	atomic_uint npreauth;                        /* connections without a valid token yet */
	struct connlimit *per_client;
	struct connlimit *per_client_streams;        /* open HTTP/2 streams per client */
	struct connlimit *per_source;                /* pre-auth connections per source address */
	struct worker *workers;
	unsigned nworkers;
	/* interception (mitm.c): set before the workers start */
	struct leafcache *leaves;                    /* NULL: no CA, nothing is intercepted */
	gnutls_certificate_credentials_t up_cred;    /* upstream trust: system + --upstream-ca */
	struct tlsconf_resume *resume;               /* upstream TLS sessions */
	struct ipc_client *ipc;                      /* broker asks; NULL without --ipc-socket */
};

struct worker {
	unsigned id;
	struct proxy *px;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t async;
	uv_mutex_t mu;                 /* guards pending and stop */
	struct policy *pending;
	bool stop;
	bool stopping;
	struct policy *policy;         /* current; this thread only */
	_Atomic uint64_t applied;      /* version of policy, for the main thread's ack */
	uv_timer_t expiry;             /* closes tunnels whose rule's TTL ran out */
	uv_timer_t drain;              /* SIGTERM: waits for open requests to finish */
	uint64_t drain_deadline;       /* loop time; 0: not draining */
	uv_prepare_t log_flush;        /* writes the decision lines gathered in one loop turn */
	uv_tcp_t lis[2];
	bool lis_tls[2];
	unsigned nlis;
	struct conn *conns;            /* all open connections of this worker */
	struct ask_box *asks;          /* this worker's broker link and asks (broker_ask.c) */
	struct uppool *pool;           /* idle upstream connections (uppool.h) */
	struct h2up_list h2up;         /* HTTP/2 origin connections exchanges may join (h2up.h) */
};

/* Bind and listen (in the main thread, so a busy port fails at start). */
int listener_bind(const char *ip, uint16_t port, int *fd) AL_MUST_CHECK;
/* Accept on fd from w's loop (a dup of fd is wrapped). */
int listener_start(struct worker *w, int fd, bool tls) AL_MUST_CHECK;
void listener_stop(struct worker *w);
/* A pre-auth connection from source key src ends or authenticates: give
 * back its place in the pre-auth budget (listener.c). */
void preauth_release(struct proxy *px, const char *src);

int workers_start(struct proxy *px, unsigned n) AL_MUST_CHECK;
/* Hand a new policy to every worker (takes its own references). Any thread.
 * Once a worker decides with it (and has closed what it no longer allows)
 * it calls ipc_client_applied(px->ipc), which acknowledges the version to
 * the broker when every worker has it. */
void workers_set_policy(struct proxy *px, struct policy *p);
/* The oldest policy version any worker still decides with. Any thread. */
uint64_t workers_applied(const struct proxy *px);
/* Asks each worker to stop, then joins: a worker stops accepting, closes
 * its idle connections, lets the others finish their request for up to
 * cfg->drain_timeout_ms, then cuts what is left. */
void workers_stop(struct proxy *px);

/* Called by a worker for each new policy: close every connection whose
 * client instance is gone (client-revoked), then tunnels whose rule is no
 * longer live; re-arm the expiry timer; drop parked upstreams. */
void worker_policy_changed(struct worker *w);

/* Connection counts by key shared by all workers: per client name (429 past
 * the cap) and per source address (pre-auth). Keys up to
 * CONNLIMIT_KEY_MAX bytes. */
#define CONNLIMIT_KEY_MAX (AL_NAME_MAX + 1 > AL_SOURCE_KEY_MAX ? AL_NAME_MAX + 1 : AL_SOURCE_KEY_MAX)
int connlimit_new(struct connlimit **out) AL_MUST_CHECK;
void connlimit_free(struct connlimit *cl);
int connlimit_acquire(struct connlimit *cl, const char *client, unsigned max) AL_MUST_CHECK;
void connlimit_release(struct connlimit *cl, const char *client);

#endif
