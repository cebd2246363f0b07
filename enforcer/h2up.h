/* HTTP/2 toward the origin (h2up.c): when our TLS handshake with an
 * origin picks ALPN h2, the upstream's io becomes one that reads the
 * HTTP/1.1 request forward.c writes and answers in HTTP/1.1, speaking
 * HTTP/2 below (nghttp2's client session), one exchange at a time, each on
 * a new stream of the same connection. The pool parks it like any other
 * upstream io (same client only). An upgrade never goes over it: a
 * WebSocket request dials HTTP/1.1 (upstream.h, h1_only). */
#ifndef AIRLOCK_ENFORCER_H2UP_H
#define AIRLOCK_ENFORCER_H2UP_H

#include <stdbool.h>

#include "common/error.h"
#include "enforcer/io.h"

/* Take over lower (our TLS stream, h2 negotiated): *out is the io the
 * upstream code uses from now on; it closes lower with itself. */
int h2up_wrap(struct io *lower, struct io **out) AL_MUST_CHECK;
/* Is io one of ours (an HTTP/2 upstream)? */
bool h2up_is(const struct io *io);

#endif
