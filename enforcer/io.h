/* A connection's byte stream, plain or TLS, behind one small interface so
 * that the proxy code above never knows which. A TCP stream (io.c) sits on a
 * libuv socket; a TLS stream (tlsio.c) sits on any other stream, so a TLS
 * session can run inside a CONNECT tunnel that itself runs over TLS.
 *
 * Ownership: an io is heap-allocated and frees itself after io_close(); its
 * handler gets no callback after io_close() returns except on_closed. */
#ifndef AIRLOCK_ENFORCER_IO_H
#define AIRLOCK_ENFORCER_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/error.h"

/* Backpressure: a reader stops when its peer's write queue passes IO_HIGH_WATER
 * and resumes on on_drain (queue back under IO_LOW_WATER). */
#define IO_HIGH_WATER (256 * 1024)
#define IO_LOW_WATER (64 * 1024)
#define IO_READ_CHUNK (64 * 1024)
/* Largest read a TCP stream can be set to (io_set_read_size): tunnels read
 * big chunks and write them on at once; fewer, larger read(2)/write(2)
 * calls cost far less kernel time per byte on loopback. */
#define IO_READ_MAX (256 * 1024)

struct io;

struct io_handler {
	void (*on_read)(void *arg, const char *buf, size_t n);
	void (*on_eof)(void *arg);               /* the peer finished sending */
	void (*on_error)(void *arg, int err);    /* an AL_E* code; close the io */
	void (*on_drain)(void *arg);             /* write queue under IO_LOW_WATER again */
	void (*on_closed)(void *arg);            /* optional: the io is gone */
	void (*on_connect)(void *arg, int status); /* io_tcp_connect / TLS handshake done: 0 or AL_E* */
};

struct io_ops {
	int (*write)(struct io *io, const void *buf, size_t n);
	void (*read_start)(struct io *io);
	void (*read_stop)(struct io *io);
	size_t (*queued)(const struct io *io);
	void (*shutdown)(struct io *io);         /* half-close our sending side */
	void (*close)(struct io *io);
	/* optional: hold what the writes between cork and uncork produce and
	 * hand it down in one write (a TLS stream's many records, one syscall).
	 * Only over a TCP stream: a TLS stream below would re-cut the blob
	 * into records that straddle ours (see tlsframe.h). */
	void (*cork)(struct io *io);
	int (*uncork)(struct io *io);
	/* optional: a filter that passes bytes through unchanged (SOCKS after
	 * its negotiation) hands io_set_read_size on to the stream below */
	void (*set_read_size)(struct io *io, size_t n);
	/* optional: before close, discard what is queued: the peer gets a
	 * reset, not the rest of the queue (a flooder that never reads) */
	void (*discard)(struct io *io);
};

struct io {
	const struct io_ops *ops;
	const struct io_handler *h;
	void *arg;
	uv_loop_t *loop;
};

static inline int io_write(struct io *io, const void *buf, size_t n) { return io->ops->write(io, buf, n); }
static inline void io_read_start(struct io *io) { io->ops->read_start(io); }
static inline void io_read_stop(struct io *io) { io->ops->read_stop(io); }
static inline size_t io_queued(const struct io *io) { return io->ops->queued(io); }
static inline void io_shutdown(struct io *io) { io->ops->shutdown(io); }
static inline void io_close(struct io *io) { io->ops->close(io); }
static inline void io_discard(struct io *io)
{
	if (io->ops->discard)
		io->ops->discard(io);
}
static inline void io_cork(struct io *io)
{
	if (io->ops->cork)
		io->ops->cork(io);
}
static inline int io_uncork(struct io *io) { return io->ops->uncork ? io->ops->uncork(io) : 0; }
static inline void io_set_handler(struct io *io, const struct io_handler *h, void *arg)
{
	io->h = h;
	io->arg = arg;
}

/* Accept a connection from a listening socket into a new TCP io. */
int io_tcp_accept(uv_loop_t *loop, uv_stream_t *server, struct io **out) AL_MUST_CHECK;
/* Start connecting to addr; h->on_connect reports the result (the io must
 * then be closed on failure). */
int io_tcp_connect(uv_loop_t *loop, const struct sockaddr *addr, const struct io_handler *h,
		   void *arg, struct io **out) AL_MUST_CHECK;
/* Read up to n bytes (<= IO_READ_MAX) per read(2) from now on; only for TCP
 * streams whose reader hands every byte on at once (a TLS stream's inbox is
 * capped: leave those at IO_READ_CHUNK), and pass-through filters over them
 * (set_read_size). No-op on other streams. */
void io_set_read_size(struct io *io, size_t n);
/* The peer address of a TCP io (for logs); false when unknown. */
bool io_tcp_peer(struct io *io, char *buf, size_t cap);
/* The same with its port: "192.0.2.1:40000", "[2001:db8::1]:40000". */
bool io_tcp_peer_port(struct io *io, char *buf, size_t cap);

#endif
