/* One sandbox connection and everything it owns: its byte stream (plain or
 * TLS), its input buffer, the request parser, its timers, and the upstream
 * it talks to (forward.c for plain HTTP, tunnel.c after CONNECT). The
 * state machine lives in conn.c; each request is decided against the
 * worker's policy of that moment, never one captured at accept. */
#ifndef AIRLOCK_ENFORCER_CONN_H
#define AIRLOCK_ENFORCER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/limits.h"
#include "common/netmatch.h"
#include "enforcer/http.h"
#include "enforcer/io.h"
#include "enforcer/policy.h"
#include "enforcer/reqhead.h"
#include "enforcer/resolve.h"
#include "enforcer/tlsframe.h"

struct worker;
struct conn;

enum conn_state {
	CS_HEAD,      /* reading a request head */
	CS_WAIT,      /* deciding / resolving / connecting: client reads stopped */
	CS_BODY,      /* request forwarded; body (if any) streaming; response pending */
	CS_DISCARD,   /* refused request: skipping its body, then the next request */
	CS_TUNNEL,    /* CONNECT established: bytes both ways */
	CS_CLOSING,   /* answering a last time, then closing */
};

enum timer_kind { T_NONE, T_IDLE, T_HEAD, T_GRACE };

/* The fields of one decision log line (SPEC §4). */
struct decision {
	const char *verdict;          /* "allow", "deny", "audit" */
	char client[AL_NAME_MAX + 1];
	char method[AL_METHOD_MAX + 1];
	const char *scheme;
	char host[AL_HOST_BUF];
	uint16_t port;
	char path[AL_PATH_MAX + 1];
	uint64_t rule;                /* 0: none */
	const char *reason;
	const char *inject;           /* secret name injected, or NULL */
	int status;
	uint64_t bytes_up, bytes_down;
	uint64_t start_ms;
};

struct upstream {
	struct io *io;                /* NULL when none */
	bool connected;
	bool idle_keep;               /* between exchanges, kept for the next one: may be parked */
	struct client_id client;      /* the client instance it was opened for: never another's */
	char host[AL_HOST_BUF];       /* canonical target this io serves */
	uint16_t port;
	struct resolve_req *rr;
	struct sockaddr_storage addrs[RESOLVE_ADDRS_MAX];
	size_t naddrs, next;
	struct http_msg resp;
	bool resp_init;
	bool tls;                     /* TLS to the upstream (interception) */
	bool tls_handshaking;         /* TCP up, TLS handshake running */
	bool resume_stored;
	bool ws;                      /* this exchange asked for a WebSocket upgrade */
	bool upgraded;                /* 101 answered: splice from now on */
	bool oauth;                   /* this exchange injects an OAuth credential */
	bool swap_401;                /* its upstream said 401: the sandbox gets 503 */
	/* current exchange */
	bool req_chunked, req_done;
	bool resp_started, resp_done, resp_chunked_out, resp_eof_delim, head_req, close_after;
	uint64_t last_chunk;
	bool client_keep, paused;     /* paused: upstream reads stopped (client congested) */
	bool reused, retried, bodyless; /* one retry of a bodiless request on a stale reused upstream */
	enum host_kind kind;
	int timer_mode;
	char *out;                    /* response bytes gathered during one upstream read */
	size_t outlen, outcap;
	bool batching;
	char *pending;                /* request head waiting for the connect */
	size_t pending_len;
	void (*done)(struct conn *c, int status, const char *reason);
};

struct tunnel {
	uint64_t rule_id;             /* of the connection's client instance (conn.who) */
	bool passthrough;
	bool client_eof, up_eof;
	bool client_paused, up_paused;
	bool align;                   /* cut writes to the client at its TLS records (tlsframe.h) */
	struct tls_framer down;
	uint64_t last_io;             /* loop time (ms) of the last byte either way */
};

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
	uv_timer_t up_timer;           /* upstream connect / idle timeout */
	int handles;                   /* handles still to close before free */
	enum timer_kind tkind;
	bool closing, close_after_flush, reading, in_process, peer_eof;
	char counted[AL_NAME_MAX + 1]; /* client charged in the per-client count */
	/* Pre-auth: from accept until a request carries a valid token, the
	 * connection is counted in the pre-auth budget (total and per source,
	 * listener.c), not in --max-conns, and lives on one head deadline from
	 * accept that nothing renews (not a 407, not the keep-alive timer). */
	bool preauth;
	uint64_t preauth_deadline;     /* loop time */
	char src[AL_SOURCE_KEY_MAX];   /* source key of the per-source count */
	/* The client instance that authenticated this connection (on the plain
	 * listener: its latest request). A policy change that removes that
	 * instance closes the connection, whatever it is doing (worker.c). */
	struct client_id who;
	struct policy *pol;            /* reference held for the current decision */
	const struct policy_client *client;
	struct decision d;
	bool logged;
	struct upstream up;
	struct tunnel tun;
	struct mitm *mitm;             /* intercepted CONNECT: inner requests (mitm.c) */
	bool sniffed;                  /* the first bytes were looked at (SOCKS or HTTP) */
	bool socks;                    /* came by SOCKS5: c->io is socks5io.c's filter */
};


/* New connection on w over io (already accepted; TLS already wrapped),
 * already counted in the pre-auth budget under source key src. */
void conn_new(struct worker *w, struct io *io, bool tls, const char *src);
/* Close now (no further answer). */
void conn_abort(struct conn *c);
/* The client instance behind c is gone (deleted, or its token changed):
 * close now, log why, never park its upstream. */
void conn_revoke(struct conn *c, const char *why);
/* Close once what is queued to the client is written. */
void conn_finish(struct conn *c);

/* --- used by forward.c and tunnel.c --- */
/* Answer with a short response; keep=false closes after it is written.
 * extra: more header lines (each ending in \r\n) or NULL. */
void conn_reply(struct conn *c, int status, const char *reason, const char *extra, bool keep);
/* conn_reply with the given Content-Type and body (the token shim's answer;
 * Cache-Control: no-store). */
void conn_reply_body(struct conn *c, int status, const char *reason, const char *ctype, const char *body,
		     size_t blen, bool keep);
/* Log c->d once (verdict, status and reason as set). */
void conn_log(struct conn *c);
/* The current exchange is over: next request (keep) or close. */
void conn_exchange_done(struct conn *c, bool keep);
/* Re-evaluate whether to read from the client and parse buffered bytes. */
void conn_kick(struct conn *c);
/* Drop the input bytes already handed on (tunnel start). */
void conn_take_input(struct conn *c, const char **buf, size_t *n);
/* Intercepted CONNECT: the client's stream is now `io` (TLS over the old
 * one); read inner request heads from it. */
void conn_set_io(struct conn *c, struct io *io);

/* forward.c: a plain-HTTP absolute-URI request whose head c->req holds. */
void forward_start(struct conn *c);
int forward_req_body(struct conn *c, const char *at, size_t n);
int forward_req_chunk(struct conn *c, uint64_t size);
int forward_req_chunk_done(struct conn *c);
void forward_req_done(struct conn *c);
bool forward_congested(const struct conn *c);
void forward_client_drain(struct conn *c);
void upstream_close(struct conn *c);
/* Send r upstream with c->req's headers (hop-by-hop, Host and the injected
 * credential headers dropped), over the kept upstream connection when it
 * serves the same target, else a new one; then pump the exchange. */
void forward_send(struct conn *c, const struct fwd_req *r);
/* After a 101 to an allowed upgrade: splice both ways (tunnel.c's copy). */
void tunnel_splice(struct conn *c, const char *early_down, size_t n);
/* Resolve + connect to host:port (canonical), then call done(c, status, reason). */
void upstream_open(struct conn *c, const char *host, enum host_kind kind, uint16_t port,
		   void (*done)(struct conn *c, int status, const char *reason));

/* mitm.c: intercepted CONNECT */
void mitm_start(struct conn *c, const char *host, enum host_kind kind, uint16_t port, uint64_t rule_id,
		bool audit, const char *audit_reason);
void mitm_request(struct conn *c);
/* The token shim: true when `cl` has a rule injecting a secret and
 * host:port is one of the OAuth token endpoints' hosts (a CONNECT there is
 * intercepted even without a rule of its own). */
bool mitm_shim_host(const struct policy_client *cl, const char *host, uint16_t port);
void mitm_handshake_done(struct conn *c);
void mitm_abort(struct conn *c);   /* conn closing: cancel a broker ask */
void mitm_free(struct conn *c);    /* conn freed (its TLS stream is gone) */

/* End the upstream with its sandbox connection: park it in the worker's
 * pool (uppool.h) when it sits idle between exchanges, else close it. */
void upstream_release(struct conn *c);
/* Take a parked upstream of this client instance for host:port (tls or not) as c's
 * upstream, connected, done its callback for later retries; false when
 * there is none (c's upstream then only remembers the client). */
bool upstream_take_pooled(struct conn *c, const struct client_id *client, const char *host,
			  enum host_kind kind, uint16_t port, bool tls, void (*done)(struct conn *c, int status, const char *reason));

/* tunnel.c: CONNECT */
void tunnel_start(struct conn *c);
void tunnel_client_read(struct conn *c, const char *buf, size_t n);
void tunnel_client_eof(struct conn *c);
void tunnel_client_drain(struct conn *c);
void tunnel_up_read(struct conn *c, const char *buf, size_t n);
void tunnel_up_eof(struct conn *c);
void tunnel_up_drain(struct conn *c);
/* Close c if its tunnel's rule is no longer live for its client instance
 * in the worker's policy; why is the log reason ("rule-revoked",
 * "rule-expired"). */
void tunnel_check(struct conn *c, int64_t now, const char *why);

#endif
