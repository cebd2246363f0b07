/* The destination a redirected connection names in its first bytes, for
 * connections to an address the DNS stub did not hand out: the server name
 * of a TLS ClientHello (RFC 6066) or the Host of an HTTP/1 request head.
 * Strict and bounded; anything unusual is NONE (the address itself is then
 * used). Pure functions. */
#ifndef AIRLOCK_AGENT_PEEK_H
#define AIRLOCK_AGENT_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEEK_MAX (16 * 1024)     /* bytes looked at before giving up */
#define PEEK_NAME_MAX 253

enum peek { PEEK_MORE, PEEK_FOUND, PEEK_NONE };

/* TLS: one handshake record holding a whole ClientHello with a host_name. */
enum peek peek_sni(const uint8_t *b, size_t n, char name[PEEK_NAME_MAX + 1]);
/* HTTP/1: "METHOD SP target SP HTTP/1.x CRLF", then headers up to an
 * empty line; the one Host header, its port dropped. */
enum peek peek_http_host(const uint8_t *b, size_t n, char name[PEEK_NAME_MAX + 1]);
/* The bytes start like an HTTP/1 request line (a method token and a space):
 * such a client can read the proxy's refusal as its own answer. */
bool peek_is_http(const uint8_t *b, size_t n);
/* A host name as the agent passes it on: 1 to 253 of [a-z0-9.-_], lower
 * cased in place, no empty label, one trailing dot dropped. */
bool peek_host_ok(char *name);

#endif
