/* The connection to the origin that one sandbox connection talks to
 * (upstream.c): resolving its host (resolve.h: only the addresses the deny
 * set lets through are dialled), connecting to them one after the other,
 * our own verified TLS session when intercepting (tlsio.h, tlsconf.h), the
 * per-worker pool of idle connections (uppool.h), its timer, and the events
 * of its byte stream. Those go to whoever drives the phase it is in:
 * forward.c while an HTTP exchange is in flight (forward_up_*), tunnel.c
 * while spliced (tunnel_up_*); in any other phase an origin that speaks or
 * closes has its connection closed.
 *
 * Its lifecycle is one phase, and upstream_set_phase() asserts each move:
 *
 *   upstream_open()                TCP up                  upstream_take_pooled()
 *   NONE ---> RESOLVING ---> CONNECTING -----------> READY <------------------ NONE
 *                            |  ^    |   TCP up, TLS   ^  |  \
 *                            +--+    +----> TLS -------+  |   +-- CONNECT 200 --> SPLICE
 *                        next address    handshake done   |                         ^
 *                                                         | request head sent       | 101
 *                                                         v                         |
 *          IDLE ------ request head sent ------------> REQUEST --> RESPONSE --> DONE
 *           ^                                              response head  complete  |
 *           +------------------------ kept for the next request -------------------+
 *
 *   any phase --> NONE: upstream_close(); upstream_release() parks an IDLE one
 *   READY --> IDLE --> parked: upstream_park_unused(), when the sandbox side
 *             turned out to be HTTP/2 (its streams take their own upstreams)
 *
 * READY is a connection no request has used yet: it is never parked (an
 * intercepted CONNECT dials before its 200; if the sandbox never sends a
 * request, the connection goes). The timer follows the phase: the connect
 * timeout in CONNECTING and TLS, the upstream idle timeout in REQUEST and
 * RESPONSE (re-armed by every byte read), the keep-alive timeout in IDLE. */
#ifndef AIRLOCK_ENFORCER_UPSTREAM_H
#define AIRLOCK_ENFORCER_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/limits.h"
#include "common/reasons.h"
#include "common/netmatch.h"
#include "enforcer/io.h"
#include "enforcer/policy.h"
#include "enforcer/resolve.h"

struct conn;

enum up_phase {
	UP_NONE,        /* no connection, nothing under way */
	UP_RESOLVING,   /* the host is being resolved (rr) */
	UP_CONNECTING,  /* TCP connect to addrs[next - 1] under way */
	UP_TLS,         /* TCP up, our TLS handshake with the origin under way */
	UP_READY,       /* connected, no request sent on it yet */
	UP_REQUEST,     /* a request head went out; no response head yet */
	UP_RESPONSE,    /* the response head was passed on; its body streams */
	UP_DONE,        /* the response is complete: kept, closed or spliced next */
	UP_IDLE,        /* between exchanges, kept for the next request */
	UP_SPLICE,      /* bytes both ways (CONNECT tunnel, 101 upgrade): tunnel.c */
	UP_NPHASES
};

/* Called once per upstream_open() when it ends: status 0 (phase READY), or
 * an AL_E* code with a reason (phase NONE; upstream_fail_status() says how
 * to answer it). Never after upstream_close(). */
typedef void (*upstream_done_cb)(struct conn *c, int status, enum reason reason);

struct upstream {
	enum up_phase phase;
	struct io *io;                /* NULL in NONE and RESOLVING */
	struct client_id client;      /* the client instance it was opened for: never another's */
	char host[AL_HOST_BUF];       /* canonical target */
	enum host_kind kind;
	uint16_t port;
	bool tls;                     /* our TLS to the origin (interception) */
	bool resume_stored;           /* its TLS session ticket is kept for the next connection */
	bool paused;                  /* reads stopped while the sandbox side is congested */
	/* offer only http/1.1 to the origin and never use an HTTP/2 one
	 * (h2up.h): set by forward.c for a WebSocket upgrade */
	bool h1_only;
	struct resolve_req *rr;
	struct sockaddr_storage addrs[RESOLVE_ADDRS_MAX];
	size_t naddrs, next;
	uv_timer_t timer;             /* counted in the connection's handles */
	upstream_done_cb done;
};

/* The phase as text, for assertion messages and logs. */
const char *upstream_phase_name(enum up_phase p);
/* Whether the lifecycle allows from -> to (the diagram above). */
bool upstream_move_ok(enum up_phase from, enum up_phase to);
/* Move c's upstream to phase `to` (asserting the move is legal) and set the
 * timer that phase runs under. */
void upstream_set_phase(struct conn *c, enum up_phase to);

/* How an open that failed (done's status < 0, with its reason) is
 * answered, wherever it was asked for (CONNECT, intercepted CONNECT,
 * forwarded request, its retry): returns the HTTP status and sets *reason
 * to the reason code. AL_EDENIED: 403 denied-address (a deny);
 * AL_ETIMEOUT: 504 upstream-timeout; AL_ENOTFOUND: 502 dns-failure;
 * anything else: 502 with the reason given (upstream-tls-failed, ...), or
 * upstream-connect-failed. */
int upstream_fail_status(int status, enum reason *reason);

/* From conn_new: the timer (the connection closes it with its handles). */
void upstream_init(struct conn *c);
/* From the connection's last free: wipe what remains. */
void upstream_free(struct conn *c);

/* Close what c's upstream has (any phase) and resolve + connect to
 * host:port (canonical; tls: our verified TLS on top) for c's client
 * instance; then done(). */
void upstream_open(struct conn *c, const char *host, enum host_kind kind, uint16_t port, bool tls,
		   upstream_done_cb done);
/* Close what c's upstream has and take, as its new one (phase READY), the
 * most recently parked connection of c's client instance to host:port with
 * the same tls; done() serves a later retry's open. false when the pool has
 * none (c's upstream is then NONE). */
bool upstream_take_pooled(struct conn *c, const char *host, enum host_kind kind, uint16_t port, bool tls,
			  upstream_done_cb done);
/* Connected to host:port (with tls) for c's client instance, and free for
 * a request (READY or IDLE). */
bool upstream_serves(const struct conn *c, const char *host, uint16_t port, bool tls);
/* An intercepted CONNECT's TLS picked h2: its READY upstream (dialled and
 * verified before the 200) is parked for the first stream to take, instead
 * of being closed unused. */
void upstream_park_unused(struct conn *c);
/* Close it now: phase NONE. */
void upstream_close(struct conn *c);
/* The sandbox connection is done with it: park it in the worker's pool
 * when it is IDLE (and the worker is not stopping), else close it. */
void upstream_release(struct conn *c);

#endif
