/* Host, port, method, path and CIDR parsing and matching: the vocabulary of
 * rules. Shared by the broker (to validate what a user asks for) and the
 * enforcer (to match what a sandbox does). Canonical hosts are lower case,
 * without a trailing dot, IDNA A-labels, or IP literals (IPv6 without
 * brackets, in its compressed inet_ntop form). */
#ifndef AIRLOCK_NETMATCH_H
#define AIRLOCK_NETMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/error.h"
#include "common/limits.h"

#define AL_HOST_BUF (AL_HOST_MAX + 2)

enum host_kind { HOST_DNS, HOST_IPV4, HOST_IPV6 };

/* Canonicalise a host as it came from a request or the user: lower case, one
 * trailing dot dropped, U-labels to A-labels (libidn2), brackets removed from
 * an IPv6 literal, IPv4 literals only in dotted-quad form (no "0x7f.1",
 * no "2130706433": those are refused, not guessed). Anything else (empty
 * labels, '_', '%', userinfo, over 253 bytes, a label over 63) is AL_EINVAL. */
int host_canon(const char *in, size_t len, char out[AL_HOST_BUF], enum host_kind *kind) AL_MUST_CHECK;

/* A rule host: "*" (any), "*.example.com" (strict subdomains), or a host that
 * host_canon accepts. Written canonical into out. */
int host_pattern_parse(const char *in, char out[AL_HOST_BUF + 2]) AL_MUST_CHECK;
/* Match a canonical host against a canonical pattern. "*.example.com" matches
 * "a.example.com" and "a.b.example.com", never "example.com" itself. */
bool host_pattern_match(const char *pattern, const char *host);

/* "1".."65535" only: no sign, no leading zeros, no spaces. */
int port_parse(const char *s, uint16_t *out) AL_MUST_CHECK;
/* An HTTP method: an RFC 9110 token, upper-cased into out. */
int method_parse(const char *s, char out[AL_METHOD_MAX + 1]) AL_MUST_CHECK;

/* A rule path: starts with '/', at most AL_PATH_MAX, no dot segments (nor a
 * segment whose name before ';' is only dots: "..;x", "..."), no
 * '%', no '?', no '#', no '\\', no whitespace, control or non-ASCII bytes;
 * '*' only as the whole last segment (a suffix glob such as /ubuntu/<star>).
 * Returns 0, AL_EINVAL, or AL_ETOOBIG past AL_PATH_MAX. */
int path_pattern_parse(const char *in) AL_MUST_CHECK;
/* The suffix glob /x/<star> matches "/x/" and anything under it, never "/x" or "/x10";
 * any other pattern matches the exact path. `path` is normalised, without
 * its query. */
bool path_pattern_match(const char *pattern, const char *path);

/* Normalise a request target's path (origin-form, before '?'): resolve "."
 * and ".." segments (above the root is refused), decode %XX of unreserved
 * characters, and refuse what a backend may read differently: encoded '/',
 * '.', '%', '\\' and controls (C0, DEL, C1); a segment whose name (before
 * its first ';' or "%3B") is only dots and blanks but not a bare "." or ".."
 * ("..;x", ".%3B", "...", "..%20"); encoded bytes >= 0x80 that are not
 * well-formed UTF-8 (overlong, surrogate, past U+10FFFF, truncated, lone
 * continuation); characters that NFKC or Windows best fit turn into '.',
 * '/', '\\', ';', '%', '?' or '#' (U+FF0E, U+2215, U+FF0F, U+FF3C, ...).
 * Raw '\\', '#', space, controls and bytes >= 0x80 are refused; ';'
 * parameters on ordinary segments and empty segments are kept. The query is
 * kept apart: *query points into `in` at '?' (or NULL). Output at most
 * AL_PATH_MAX (AL_ETOOBIG past it). Encoded bytes that stay encoded are
 * written with upper-case hex; a trailing slash is kept ("/a/b/.." is "/a/").
 * The output normalises to itself. */
int path_normalise(const char *in, size_t len, char out[AL_PATH_MAX + 1],
		   const char **query) AL_MUST_CHECK;

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network order; IPv4 in the first 4 bytes */
	unsigned prefix;
};
/* "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). Host bits
 * set beyond the prefix are refused (a typo more often than not). */
int cidr_parse(const char *s, struct cidr *out) AL_MUST_CHECK;
bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr);
void cidr_format(const struct cidr *c, char *buf, size_t cap);

/* Client and secret names: 1..AL_NAME_MAX of [A-Za-z0-9._-], not starting
 * with '.' or '-'. */
int name_validate(const char *s) AL_MUST_CHECK;

#endif
