/* Interception (mitm.c): the pieces that stand alone, for the fuzz targets
 * and tests. The connection hooks (mitm_start, mitm_request, ...) are
 * declared in conn.h beside the other parts of the data path. */
#ifndef AIRLOCK_ENFORCER_MITM_H
#define AIRLOCK_ENFORCER_MITM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/limits.h"

struct inject;

/* An inner request's target: origin form ("/p?q"), or absolute form
 * ("https://host[:port]/p") that must name host:port, and a Host header
 * (when has_host) that must name it too. Writes the normalised path and
 * points *query at the "?..." in url (or NULL). Returns 0; AL_EDENIED with
 * *reason "host-mismatch"; AL_EINVAL with "bad-url", "bad-path",
 * "missing-host". */
int mitm_target(const char *url, size_t ulen, const char *hostval, size_t hlen, bool has_host,
		const char *host, uint16_t port, char path[AL_PATH_MAX + 1], const char **query,
		const char **reason) AL_MUST_CHECK;

/* The broker's "headers" answer as headers to inject: names (to add, merge
 * or strip) must be tokens and not framing or hop-by-hop fields (Host, Content-Length,
 * Transfer-Encoding, Connection, Upgrade, Proxy-*, ...), values free of CR,
 * LF and NUL, at most AL_INJECT_HEADERS_MAX of each.
 * AL_EPROTO otherwise (nothing kept). inject_free wipes the values. */
int inject_from_answer(const json_t *ans, struct inject *inj) AL_MUST_CHECK;
void inject_free(struct inject *inj);

#endif
