/* Listening sockets: owner-only unix ones (see unixsock.c), and TCP ones
 * for --metrics-listen and --ui-listen. */
#ifndef AIRLOCK_BROKER_UNIXSOCK_H
#define AIRLOCK_BROKER_UNIXSOCK_H

#include <stddef.h>

#include "common/error.h"

/* A listening, non-blocking, close-on-exec socket at path (0600), or a
 * negative AL_E* with err filled. */
int unixsock_listen(const char *path, int backlog, char *err, size_t errlen) AL_MUST_CHECK;
/* A listening TCP socket on addrport ("IP:PORT", "[IPv6]:PORT"), the same
 * way; flag names the option in errors ("--metrics-listen"). */
int tcpsock_listen(const char *addrport, const char *flag, int backlog, char *err, size_t errlen)
	AL_MUST_CHECK;

#endif
