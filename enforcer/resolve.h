/* Turning a request's host into the addresses the enforcer may dial: literal
 * IPs as they are, --resolve pins, else asynchronous DNS (uv_getaddrinfo).
 * Every address goes through the deny set; the addresses handed to the
 * callback are the only ones the caller may connect to (no second lookup
 * that a rebinding DNS server could answer differently). */
#ifndef AIRLOCK_ENFORCER_RESOLVE_H
#define AIRLOCK_ENFORCER_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/error.h"
#include "common/netmatch.h"
#include "common/denyset.h"
#include "common/reasons.h"

#define RESOLVE_ADDRS_MAX 8

/* One --resolve HOST:PORT:ADDR pin. host is canonical (host_canon). */
struct resolve_pin {
	char host[AL_HOST_BUF];
	uint16_t port;
	struct sockaddr_storage addr;   /* port filled in */
};

/* "HOST:PORT:ADDR"; ADDR is an IPv4 literal or an IPv6 literal in brackets
 * ("[::1]"). HOST goes through host_canon, PORT through port_parse. */
int resolve_pin_parse(const char *spec, struct resolve_pin *out) AL_MUST_CHECK;

/* Configuration shared read-only by all workers: the pins (copied) and the
 * deny set (borrowed; must outlive the resolver). */
struct resolver;
int resolver_new(const struct resolve_pin *pins, size_t npins, struct denyset *deny,
		 struct resolver **out) AL_MUST_CHECK;
void resolver_free(struct resolver *r);

struct resolve_req;

/* status 0: addrs[0..naddrs) (1..RESOLVE_ADDRS_MAX, port filled in, resolver
 * order, deduplicated), reason REASON_NONE. Otherwise status AL_EDENIED with reason
 * "denied-address" (addresses found, all denied), or AL_ENOTFOUND with
 * reason "dns-failure" (nothing found); addrs NULL, naddrs 0. The array is
 * only valid during the call. */
typedef void (*resolve_cb)(void *arg, int status, const struct sockaddr_storage *addrs,
			   size_t naddrs, enum reason reason);

/* Start resolving canonical `host` (of `kind`, from host_canon) for `port`.
 * A literal IP is checked directly (pinned=false: a literal asked for
 * directly is never exempt); a pinned host:port uses its pin (pinned=true);
 * anything else goes to uv_getaddrinfo on `loop`. Never blocks. The callback
 * always runs later from `loop` (never inside resolve_start), exactly once
 * unless resolve_cancel is called first. *req identifies the request until
 * the callback runs. Returns 0, or AL_EINVAL / AL_EIO when nothing was started
 * (cb will not be called). Must be called on the thread running `loop`. */
int resolve_start(const struct resolver *r, uv_loop_t *loop, const char *host, enum host_kind kind,
		  uint16_t port, resolve_cb cb, void *arg, struct resolve_req **req) AL_MUST_CHECK;

/* Cancel a request whose callback has not run yet: cb is never called after
 * this returns, and the request no longer touches the resolver (which may
 * then be freed). Its memory is released from the loop later, so keep
 * running the loop (uv_run) before uv_loop_close. A no-op on NULL and from
 * inside the request's own callback. Call on the loop's thread. */
void resolve_cancel(struct resolve_req *req);

#endif
