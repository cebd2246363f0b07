/* Idle upstream connections, parked when their sandbox connection ends and
 * handed to the next connection of the same client to the same host and
 * port: a sandbox that opens a connection per request (most CLIs) then pays
 * for its own TLS handshake with airlock, not for a second one upstream.
 *
 * One pool per worker thread (no locks). An entry belongs to one client
 * instance (name and token hash, policy.h): an upstream connection is never
 * shared between two clients, nor handed to a client created again under
 * the same name. Entries
 * close when the origin closes them or sends anything, after
 * AL_UPSTREAM_POOL_IDLE_MS unused, past the caps in common/limits.h
 * (oldest first), and all at once on a policy change. Every request sent
 * on a taken connection is still checked on its own. */
#ifndef AIRLOCK_ENFORCER_UPPOOL_H
#define AIRLOCK_ENFORCER_UPPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "enforcer/io.h"
#include "enforcer/policy.h"

struct uppool;

struct uppool *uppool_new(uv_loop_t *loop, uint64_t idle_ms);
/* Close every entry and free the pool (from its loop, before it stops). */
void uppool_free(struct uppool *p);
/* Park io (the pool owns it from now on, and may close it at once). */
void uppool_put(struct uppool *p, struct io *io, const struct client_id *client, const char *host,
		uint16_t port, bool tls, bool unused);
/* The most recently parked io for exactly this key, or NULL. The caller
 * owns it and sets its handler. unused (put and taken back): it never
 * carried a request (upstream_park_unused), so the TLS session ticket that
 * comes with its first answer is still to be kept. */
struct io *uppool_take(struct uppool *p, const struct client_id *client, const char *host, uint16_t port,
			bool tls, bool *unused);
/* Close every entry (a policy change). */
void uppool_clear(struct uppool *p);

#endif
