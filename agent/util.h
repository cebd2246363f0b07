/* airlock-agent's small helpers: memory that aborts on exhaustion (a
 * helper that cannot allocate has nothing sensible left to do), the log
 * (key=value lines on stderr, which the daemon points at its log file),
 * base64 for the proxy's Basic credentials, wiping, and host:port text. */
#ifndef AIRLOCK_AGENT_UTIL_H
#define AIRLOCK_AGENT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void wipe(void *p, size_t n);

/* "ts=... level=LEVEL msg=\"MSG\" " then fmt (key=value pairs). */
void alog(const char *level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* base64 (RFC 4648, padded) of n bytes into out (cap >= 4 * ((n + 2) / 3) + 1). */
void b64_encode(const uint8_t *in, size_t n, char *out);

/* "IPv4:PORT", "[IPv6]:PORT", or a bare address with dflt_port (0: the port
 * is required) into ss; false on anything else. */
bool addr_parse(const char *s, uint16_t dflt_port, struct sockaddr_storage *ss, socklen_t *len);
/* "HOST:PORT" with HOST a name (peek_host_ok) or an address; host
 * written canonical (IPv6 without brackets). */
bool target_parse(const char *s, char host[254], uint16_t *port);
/* An address as text, IPv6 in brackets when with_port, ":PORT" appended. */
void addr_str(const struct sockaddr *sa, bool with_port, char *out, size_t cap);

#endif
