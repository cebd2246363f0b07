/* The HTTP pump (forward.c): one request/response exchange at a time over
 * the connection's upstream (upstream.h). The request head goes out as
 * reqhead.c writes it, bodies stream both ways as llhttp framed them, with
 * backpressure on both sides, the response head as resphead.c writes it;
 * both sides are kept alive when they can be; a bodiless idempotent
 * request that finds its reused upstream closed is sent once more on a
 * fresh one; a 101 to an allowed WebSocket upgrade becomes a splice
 * (tunnel.c). mitm.c comes in through forward_send() alone. */
#ifndef AIRLOCK_ENFORCER_FORWARD_H
#define AIRLOCK_ENFORCER_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "enforcer/http.h"
#include "enforcer/reqhead.h"
#include "enforcer/usage.h"

struct conn;

/* What the exchange under way knows of itself. Where it stands (request
 * sent, response streaming, done) is its upstream's phase. */
struct exchange {
	char *pending;                /* request head: until written, and while a retry may need it */
	size_t pending_len;
	struct http_msg resp;         /* the response parser (set up on first use) */
	bool resp_init;
	/* the request */
	bool reused;                  /* sent on a connection that served before (or a parked one) */
	bool retried;                 /* sent once more already, on a fresh connection */
	bool bodyless;                /* idempotent and without a body: may be sent once more */
	bool req_chunked;
	bool req_done;                /* the whole request went upstream */
	bool head_req;                /* HEAD: the response has no body */
	bool client_keep;             /* the sandbox asked to keep its connection */
	bool ws;                      /* it asked for a WebSocket upgrade */
	bool oauth;                   /* it injects an OAuth credential */
	/* the response */
	bool resp_chunked_out;        /* re-chunked toward the sandbox */
	bool resp_eof_delim;          /* its body ends when the upstream closes */
	bool close_after;             /* the sandbox's connection ends with it */
	bool swap_401;                /* a 401 to an OAuth credential: the sandbox gets a 503 */
	bool unscannable;             /* compressed: the injected secret could not be scrubbed */
	struct scrub *scrub;          /* the injected secret's forms (scrub.h); NULL: none */
	bool meter;                   /* an injected request to an LLM API: read its usage */
	struct usage usage;           /* ... as the answer streams (usage.h) */
	/* response bytes gathered during one upstream read, written at once */
	char *out;
	size_t outlen, outcap;
	bool batching;
};

/* A plain-HTTP absolute-URI request whose head c->req holds: canonical
 * host, normalised path, first-match decision, then forward_send(). */
void forward_start(struct conn *c);
/* Send r upstream with c->req's headers (hop-by-hop, Host and the injected
 * credential headers dropped), over c's upstream when it serves the same
 * target for the same client instance, else over one this client parked,
 * else a new one; once it is connected, pump the exchange (CS_BODY). */
void forward_send(struct conn *c, const struct fwd_req *r);

/* --- conn.c: the request body, as the request parser hands it on --- */
int forward_req_body(struct conn *c, const char *at, size_t n) AL_MUST_CHECK;
void forward_req_done(struct conn *c);
/* In CS_BODY: may more request body be parsed (the request is not done and
 * the upstream takes it)? */
bool forward_wants_body(const struct conn *c);
/* In CS_BODY: the whole request went upstream (only the answer is awaited). */
bool forward_req_sent(const struct conn *c);
/* The sandbox's write queue drained: upstream reads may resume. */
void forward_client_drain(struct conn *c);
/* The answer ended (or was cut: a stream cancelled after its first usage
 * event still counts what it reported): the LLM usage read so far goes on
 * the decision line. */
void forward_usage_take(struct conn *c);
/* The connection ends: the request head kept for a retry is wiped. */
void forward_end(struct conn *c);
/* The connection's last free. */
void forward_free(struct conn *c);
/* The spliced stream after a 101 to an injected upgrade: bytes toward the
 * sandbox go through the scrubber (tunnel.c); emit writes to the sandbox. */
int forward_scrub_down(struct conn *c, const char *buf, size_t n) AL_MUST_CHECK;
/* ... and the stream ended: what was held back goes. */
int forward_scrub_end(struct conn *c) AL_MUST_CHECK;

/* --- upstream.c: the upstream's events while the exchange is in flight
 * (phases REQUEST and RESPONSE) --- */
void forward_up_read(struct conn *c, const char *buf, size_t n);
void forward_up_eof(struct conn *c);
void forward_up_error(struct conn *c);
void forward_up_timeout(struct conn *c);

#endif
