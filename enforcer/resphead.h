/* Response heads written to the sandbox (resphead.c): which upstream
 * headers pass, and the framing airlock writes itself from what llhttp
 * parsed. Shared by the HTTP pump (forward.c) and its differential fuzz
 * target, so what is tested is what runs. */
#ifndef AIRLOCK_ENFORCER_RESPHEAD_H
#define AIRLOCK_ENFORCER_RESPHEAD_H

#include <stdbool.h>

#include "common/error.h"
#include "enforcer/http.h"
#include "enforcer/reqhead.h"

/* What the sandbox asked, as far as the answer's framing depends on it. */
struct resp_ctx {
	bool head_req;                /* the request was HEAD: no body follows */
	bool client10;                /* the sandbox speaks HTTP/1.0: no chunked, no 1xx */
	bool client_keep;             /* the sandbox wants the connection kept */
};

/* How the body that follows the head is to be passed on. */
struct resp_plan {
	bool interim;                 /* a 1xx (not 101): the real answer follows */
	bool drop;                    /* an interim answer the sandbox must not get */
	bool no_body;                 /* tell the parser: no body (HEAD, 1xx, 204, 304) */
	bool chunked_out;             /* re-chunk each body piece (chunk_head) */
	bool eof_delim;               /* the body ends when the upstream closes */
	bool close_after;             /* "Connection: close": the sandbox's connection ends */
};

/* Append the head for the response m (status 101 is the caller's) to out
 * and fill *plan. AL_EPROTO: an interim answer that announces a body
 * (Content-Length or Transfer-Encoding on a 1xx), refused as a whole —
 * every client reads a 1xx as bodiless, so its "body" would be read as the
 * next response. Upstream Content-Length and Transfer-Encoding never pass:
 * the framing is written here from the parse. */
int resphead_build(struct sbuf *out, const struct http_msg *m, const struct resp_ctx *ctx,
		   struct resp_plan *plan) AL_MUST_CHECK;

#endif
