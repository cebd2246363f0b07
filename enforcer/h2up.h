/* HTTP/2 toward the origin (h2up.c): when our TLS handshake with an
 * origin picks ALPN h2, the upstream's io becomes one that reads the
 * HTTP/1.1 request forward.c writes and answers in HTTP/1.1, speaking
 * HTTP/2 below (nghttp2's client session), one exchange at a time, each on
 * a new stream. Several such ios share one connection: the exchanges of one
 * client instance to one host and port (the TLS name) join a connection
 * already open for it (h2up_join), each its own stream, never more open
 * at once than the origin's SETTINGS_MAX_CONCURRENT_STREAMS (the others
 * wait for one to end); never another client's.
 * The connection ends with its last io; a GOAWAY stops new streams on it
 * (those the origin refused fail: 502), an error or EOF below fails only
 * its own ios. The pool parks such an io like any other (same client
 * only). An upgrade never goes over it: a WebSocket request dials HTTP/1.1
 * (upstream.h, h1_only). */
#ifndef AIRLOCK_ENFORCER_H2UP_H
#define AIRLOCK_ENFORCER_H2UP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "enforcer/io.h"
#include "enforcer/policy.h"

struct h2conn;

/* The open HTTP/2 connections of one worker that new exchanges may join. */
struct h2up_list {
	struct h2conn *head;
};

/* Take over lower (our TLS stream, h2 negotiated) for client's exchanges
 * to host:port, listed in list (NULL: never joined): *out is the io the
 * upstream code uses from now on; the connection closes lower with its
 * last io. */
int h2up_wrap(struct io *lower, struct h2up_list *list, const struct client_id *client, const char *host,
	      uint16_t port, struct io **out) AL_MUST_CHECK;
/* A new io on a listed connection of exactly this client, host and port:
 * the one with the most room under the origin's
 * SETTINGS_MAX_CONCURRENT_STREAMS, or when all are full the least loaded
 * (its stream waits in nghttp2 for one to end); AL_ENOTFOUND when there
 * is none. */
int h2up_join(struct h2up_list *list, const struct client_id *client, const char *host, uint16_t port,
	      struct io **out) AL_MUST_CHECK;
/* Is io one of ours (an HTTP/2 upstream)? */
bool h2up_is(const struct io *io);
/* ... and may its connection still open a stream (no GOAWAY, no error)? */
bool h2up_usable(const struct io *io);

#endif
