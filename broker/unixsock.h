/* Owner-only listening unix sockets (see unixsock.c). */
#ifndef AIRLOCK_BROKER_UNIXSOCK_H
#define AIRLOCK_BROKER_UNIXSOCK_H

#include <stddef.h>

#include "common/error.h"

/* A listening, non-blocking, close-on-exec socket at path (0600), or a
 * negative AL_E* with err filled. */
int unixsock_listen(const char *path, int backlog, char *err, size_t errlen) AL_MUST_CHECK;

#endif
