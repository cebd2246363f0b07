/* Client identity from Proxy-Authorization: "Basic base64(any-user:TOKEN)"
 * (what curl sends for http://user:TOKEN@proxy) or "Bearer TOKEN". The token
 * is looked up by hash in the policy; it is wiped from our buffers at once
 * and the header itself never goes upstream. */
#ifndef AIRLOCK_ENFORCER_PROXYAUTH_H
#define AIRLOCK_ENFORCER_PROXYAUTH_H

#include <stddef.h>

#include "common/error.h"
#include "common/limits.h"

struct policy;
struct policy_client;

/* Extract the token from one header value into tok (NUL-terminated).
 * AL_EINVAL for an unknown scheme, bad base64, no ':' in Basic, an empty
 * token; AL_ETOOBIG past AL_TOKEN_MAX. */
int proxyauth_parse(const char *val, size_t len, char tok[AL_TOKEN_MAX + 1], size_t *toklen) AL_MUST_CHECK;

/* The client a header value names in policy p, or NULL. */
const struct policy_client *proxyauth_client(const struct policy *p, const char *val, size_t len);

#endif
