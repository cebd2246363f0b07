/* One sandbox connection and everything it owns: its byte stream (plain or
 * TLS), its input buffer, the request parser, its timers, the upstream it
 * talks to (upstream.h), the exchange under way (forward.h), its tunnel
 * (tunnel.h) or interception (mitm.h). The state machine lives in conn.c;
 * each request is decided against the worker's policy of that moment,
 * never one captured at accept.
 *
 * Its lifecycle is one state, and conn_set_state() asserts each move:
 *
 *           head parsed             request head sent upstream
 *   HEAD ---------------> WAIT -------------------------------> BODY
 *    ^ |                   | |                                   | |
 *    | | refused           | |  CONNECT 200                101   | |
 *    | v                   | +---------------> TUNNEL <----------+ |
 *    | DISCARD <-----------+ refused                               |
 *    |   | its body skipped                                        |
 *    +---+---------------------------------------------------------+
 *    |                                       the response done, kept alive
 *    +-- from WAIT: a CONNECT refused; an intercepted CONNECT's TLS begins
 *    +-- from HEAD: a CONNECT refused at once
 *
 *   HEAD --> H2    the intercepted TLS session picked ALPN h2: no more
 *                  HTTP/1.1 heads; each stream is a stream conn (h2.h) of
 *                  its own, which lives the diagram above from HEAD
 *
 *   HEAD..TUNNEL   --> DRAIN   last answer queued: FIN sent, what the client
 *                              still sends dropped until its FIN or a grace timer
 *   any but CLOSED --> CLOSED  closed now (error, abort, end of DRAIN); freed
 *                              once its handles are closed
 *
 * peer_eof, reading and in_process are not phases: the client half-closed
 * (its answer is its last), the client stream is being read, conn_process
 * is on the stack. */
#ifndef AIRLOCK_ENFORCER_CONN_H
#define AIRLOCK_ENFORCER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/limits.h"
#include "common/reasons.h"
#include "common/netmatch.h"
#include "enforcer/budget.h"
#include "enforcer/decision.h"
#include "enforcer/forward.h"
#include "enforcer/http.h"
#include "enforcer/io.h"
#include "enforcer/mitm.h"
#include "enforcer/policy.h"
#include "enforcer/tunnel.h"
#include "enforcer/upstream.h"

struct worker;
struct conn;
struct hold;

enum conn_state {
	CS_HEAD,      /* reading a request head */
	CS_WAIT,      /* deciding / asking the broker / resolving / connecting: nothing parsed */
	CS_BODY,      /* request forwarded; body (if any) streaming; response pending */
	CS_DISCARD,   /* refused request: skipping its body, then the next request */
	CS_TUNNEL,    /* CONNECT established or upgraded: bytes both ways */
	CS_DRAIN,     /* last answer queued: waiting for the client's FIN, then closed */
	CS_H2,        /* an HTTP/2 session (h2.c): its streams are stream conns */
	CS_CLOSED,    /* closed: its handles are closing, then it is freed */
	CS_NSTATES
};

enum timer_kind { T_NONE, T_IDLE, T_HEAD, T_GRACE };

struct conn {
	struct worker *w;
	struct conn *next, *prev;      /* worker's list */
	struct io *io;
	bool tls;
	enum conn_state state;
	struct http_msg req;
	char *in;                      /* unparsed client bytes */
	size_t inlen, inoff, incap;
	uv_timer_t timer;              /* head / idle timeout; closing grace */
	int handles;                   /* handles still to close before free */
	enum timer_kind tkind;
	bool reading, in_process, peer_eof;
	char counted[AL_NAME_MAX + 1]; /* client charged in the per-client count */
	/* Pre-auth: from accept until a request carries a valid token, the
	 * connection is counted in the pre-auth budget (total and per source,
	 * listener.c), not in --max-conns, and lives on one head deadline from
	 * accept that nothing renews (not a 407, not the keep-alive timer). */
	bool preauth;
	uint64_t preauth_deadline;     /* loop time */
	char src[AL_SOURCE_KEY_MAX];   /* source key of the per-source count */
	char peer[AL_SOURCE_KEY_MAX];  /* the sandbox's address:port (src= of its lines) */
	/* The client instance that authenticated this connection (on the plain
	 * listener: its latest request). A policy change that removes that
	 * instance closes the connection, whatever it is doing (worker.c). */
	struct client_id who;
	struct policy *pol;            /* reference held for the current decision */
	const struct policy_client *client;
	struct decision d;
	bool logged;
	struct budget_hold bh;         /* the budgets the request under way counts against */
	struct upstream up;
	struct exchange x;             /* the request under way (forward.c) */
	struct tunnel tun;
	struct mitm *mitm;             /* intercepted CONNECT: inner requests (mitm.c) */
	bool sniffed;                  /* the first bytes were looked at (SOCKS or HTTP) */
	bool socks;                    /* came by SOCKS5: c->io is socks5io.c's filter */
	struct h2sess *h2;             /* CS_H2: the HTTP/2 session (h2.c) */
	/* A stream conn: one HTTP/2 stream of an intercepted connection
	 * (c->io is the stream, h2stream.c). Not on the worker's list, not
	 * counted in any connection cap (the session's stream cap bounds
	 * them); it closes with its session. */
	bool stream;
	struct hold *hold;             /* held for a person's approval (hold.c), or NULL */
	bool hold_done;                /* this request was held once: never again */
};


/* Whether the lifecycle allows from -> to (the diagram above). */
bool conn_move_ok(enum conn_state from, enum conn_state to);
const char *conn_state_name(enum conn_state s);
/* Move c to state `to`, asserting the move is legal. */
void conn_set_state(struct conn *c, enum conn_state to);
/* Closed, or closing after a last answer: nothing new starts. */
static inline bool conn_ending(const struct conn *c)
{
	return c->state == CS_DRAIN || c->state == CS_CLOSED;
}

/* New connection on w over io (already accepted; TLS already wrapped),
 * already counted in the pre-auth budget under source key src; peer is its
 * address:port. */
void conn_new(struct worker *w, struct io *io, bool tls, const char *src, const char *peer);
/* A stream conn for one HTTP/2 stream of parent (CS_H2), reading the
 * request that h2stream.c writes to io: same client instance, same
 * intercepted target (mitm_share). */
struct conn *conn_new_stream(struct conn *parent, struct io *io);
/* CS_H2: no stream open (idle: the keep-alive timer runs) or some. */
void conn_h2_idle(struct conn *c, bool idle);
/* Close now (no further answer). */
void conn_abort(struct conn *c);
/* The client instance behind c is gone (deleted, or its token changed):
 * close now, log why, never park its upstream. */
void conn_revoke(struct conn *c, enum reason why);
/* Close once what is queued to the client is written. */
void conn_finish(struct conn *c);

/* --- used by forward.c, tunnel.c, mitm.c --- */
/* Answer with a short response; keep=false closes after it is written.
 * extra: more header lines (each ending in \r\n) or NULL. */
void conn_reply(struct conn *c, int status, enum reason reason, const char *extra, bool keep);
/* conn_reply with the given Content-Type and body (the token shim's answer;
 * Cache-Control: no-store). */
void conn_reply_body(struct conn *c, int status, enum reason reason, const char *ctype, const char *body,
		     size_t blen, bool keep);
/* Log c->d once (verdict, status and reason as set), and end what the
 * request counts against its budgets: conn_answer.c. */
void conn_log(struct conn *c);
/* A "hold" line for c's request (hold.c): the would-be denial's reason;
 * c->d is left as it is for the request's final line. */
void conn_log_hold(struct conn *c, enum reason reason);
/* An allowed request through rule (NULL: none): within its client's and
 * rule's budgets? true: go on (counted until conn_log). false: it was
 * answered 429 with Retry-After and X-Airlock-Reason (rate-limit,
 * byte-budget, concurrency-limit, token-budget). */
bool conn_budget_admit(struct conn *c, const struct policy_rule *rule, bool keep);
/* The reason phrase airlock writes for its own answers. */
const char *conn_status_text(int status);
/* A refusal of a gRPC call on an HTTP/2 stream is answered as gRPC
 * reports errors (grpc-status, trailers-only): the code for status, or -1
 * when c's request is not a gRPC call on a stream conn. */
int conn_grpc_code(const struct conn *c, int status);
/* A WebSocket upgrade was answered (101 passed on): log its decision line
 * now, with upgrade=websocket; conn_log writes the second one at close,
 * with the byte counts (upgrade=websocket-closed). */
void conn_log_upgrade(struct conn *c);
/* The current exchange is over: next request (keep) or close. */
void conn_exchange_done(struct conn *c, bool keep);
/* Re-evaluate whether to read from the client and parse buffered bytes. */
void conn_kick(struct conn *c);
/* Drop the input bytes already handed on (tunnel start). */
void conn_take_input(struct conn *c, const char **buf, size_t *n);
/* Intercepted CONNECT: the client's stream is now `io` (TLS over the old
 * one); read inner request heads from it. */
void conn_set_io(struct conn *c, struct io *io);

#endif
