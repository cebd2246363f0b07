/* Interception (mitm.c): the connection hooks conn.c and tunnel.c call,
 * and the pieces that stand alone, for the fuzz targets and tests. */
#ifndef AIRLOCK_ENFORCER_MITM_H
#define AIRLOCK_ENFORCER_MITM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/reasons.h"
#include "common/netmatch.h"

struct conn;
struct inject;
struct policy_client;

/* A CONNECT to host:port that is intercepted (rule_id: its rule, 0 when
 * none), or read once and refused when audit (audit_reason logged): dial
 * and verify the origin first (not in audit), then answer 200 and
 * terminate the sandbox's TLS with a leaf for host. */
void mitm_start(struct conn *c, const char *host, enum host_kind kind, uint16_t port, uint64_t rule_id,
		bool audit, enum reason audit_reason);
/* An inner request head (c->req) arrived: check it, then forward_send(). */
void mitm_request(struct conn *c);
/* The token shim: true when `cl` has a rule injecting a secret and
 * host:port is one of the OAuth token endpoints' hosts (a CONNECT there is
 * intercepted even without a rule of its own). */
bool mitm_shim_host(const struct policy_client *cl, const char *host, uint16_t port);
/* The sandbox's TLS handshake with our leaf is done. */
void mitm_handshake_done(struct conn *c);
/* A stream conn (h2.h) of the intercepted connection parent: the same
 * target, rule and mode; no leaf (the TLS session is the parent's). */
void mitm_share(struct conn *c, const struct conn *parent);
void mitm_abort(struct conn *c);   /* conn closing: cancel a broker ask */
void mitm_free(struct conn *c);    /* conn freed (its TLS stream is gone) */

/* An inner request's target: origin form ("/p?q"), or absolute form
 * ("https://host[:port]/p") that must name host:port, and a Host header
 * (when has_host) that must name it too. Writes the normalised path and
 * points *query at the "?..." in url (or NULL). Returns 0; AL_EDENIED with
 * *reason "host-mismatch"; AL_EINVAL with "bad-url", "bad-path",
 * "missing-host". */
int mitm_target(const char *url, size_t ulen, const char *hostval, size_t hlen, bool has_host,
		const char *host, uint16_t port, char path[AL_PATH_MAX + 1], const char **query,
		enum reason *reason) AL_MUST_CHECK;

/* The broker's "headers" answer as headers to inject: names (to add, merge
 * or strip) must be tokens and not framing or hop-by-hop fields (Host, Content-Length,
 * Transfer-Encoding, Connection, Upgrade, Proxy-*, ...), values free of CR,
 * LF and NUL, at most AL_INJECT_HEADERS_MAX of each.
 * AL_EPROTO otherwise (nothing kept). inject_free wipes the values. */
int inject_from_answer(const json_t *ans, struct inject *inj) AL_MUST_CHECK;
void inject_free(struct inject *inj);

#endif
