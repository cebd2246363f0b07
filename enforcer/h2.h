/* HTTP/2 toward the sandbox inside an intercepted tunnel (h2.c, h2stream.c).
 * When the minted-leaf handshake picks ALPN h2, the sandbox connection
 * stops parsing HTTP/1.1 (state CS_H2) and an nghttp2 server session runs
 * on its TLS stream: nghttp2 does the framing, HPACK, flow control and the
 * protocol's own checks. Each stream becomes a connection of its own (a
 * "stream conn", conn_new_stream) whose byte stream is the h2 stream: it
 * reads the request as an HTTP/1.1 head that h2stream.c writes from the
 * HEADERS frame and decides, injects, forwards, scrubs and logs it through
 * the same code as any inner HTTP/1.1 request (mitm.c, forward.c); what it
 * writes back is parsed (llhttp) and becomes HEADERS and DATA on the
 * stream. The origin side stays HTTP/1.1: one upstream connection per
 * stream, from the client's own pool. */
#ifndef AIRLOCK_ENFORCER_H2_H
#define AIRLOCK_ENFORCER_H2_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct conn;

/* c's intercepted TLS session negotiated h2: its stream is an HTTP/2
 * server session from now on (c moves to CS_H2). */
int h2_start(struct conn *c) AL_MUST_CHECK;
/* c's events in CS_H2. */
void h2_read(struct conn *c, const char *buf, size_t n);
void h2_drain(struct conn *c);
/* c closes: every stream conn closes with it (revoked: their upstreams
 * are closed, never parked), then the session goes. */
void h2_free(struct conn *c, bool revoked);

#endif
