/* SOCKS5 on the plain listener, as a stream filter between the client's
 * socket and its connection (socks5io.c): conn.c puts it in place when the
 * first byte a client sends is a SOCKS version, and from then on sees an
 * HTTP CONNECT carrying the client's token, exactly as if it had been sent
 * over HTTP. */
#ifndef AIRLOCK_ENFORCER_SOCKS5IO_H
#define AIRLOCK_ENFORCER_SOCKS5IO_H

#include <stdbool.h>
#include <stdint.h>

#include "enforcer/io.h"

struct worker;

/* A first byte that starts a SOCKS conversation (5, or 4 to refuse). */
bool socks5io_first_byte(uint8_t b);
/* Put the filter over lower: it takes lower's handler (and its argument) as
 * its own and becomes lower's handler. Returns the io to use from now on. */
struct io *socks5io_wrap(struct io *lower, struct worker *w);
/* Bytes already read from lower (the read that showed the first byte). */
void socks5io_feed(struct io *io, const char *buf, size_t n);

#endif
