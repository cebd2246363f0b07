/* CONNECT tunnels and splices (tunnel.c): bytes copied both ways between
 * the sandbox connection and its upstream (phase UP_SPLICE), after a
 * CONNECT answered 200 or a 101 to an allowed WebSocket upgrade. */
#ifndef AIRLOCK_ENFORCER_TUNNEL_H
#define AIRLOCK_ENFORCER_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enforcer/tlsframe.h"
#include "common/reasons.h"

struct conn;

struct tunnel {
	uint64_t rule_id;             /* of the connection's client instance (conn.who) */
	bool passthrough;
	bool client_eof, up_eof;
	bool client_paused, up_paused;
	bool align;                   /* cut writes to the client at its TLS records (tlsframe.h) */
	struct tls_framer down;
	uint64_t last_io;             /* loop time (ms) of the last byte either way */
};

/* A CONNECT whose head c->req holds: decide on host and port, then tunnel,
 * intercept (mitm.c) or refuse. */
void tunnel_start(struct conn *c);
/* forward.c, after a 101 to an allowed upgrade: splice both ways, starting
 * with the upstream's bytes that came behind the 101. */
void tunnel_splice(struct conn *c, const char *early_down, size_t n);

/* conn.c: the sandbox side's events while spliced */
void tunnel_client_read(struct conn *c, const char *buf, size_t n);
void tunnel_client_eof(struct conn *c);
void tunnel_client_drain(struct conn *c);
/* upstream.c: the upstream's events while spliced */
void tunnel_up_read(struct conn *c, const char *buf, size_t n);
void tunnel_up_eof(struct conn *c);
void tunnel_up_drain(struct conn *c);

/* Close c if its tunnel's rule is no longer live for its client instance
 * in the worker's policy; why is the log reason ("rule-revoked",
 * "rule-expired"). */
void tunnel_check(struct conn *c, int64_t now, enum reason why);

#endif
