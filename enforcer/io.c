/* The TCP byte stream: a libuv socket behind the io interface (io.h).
 * Writes are tried at once and queued (copied) only for what the kernel did
 * not take; the queue size drives backpressure in the layers above. */
#include "config.h"

#include "io.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct io_tcp {
	struct io base;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	size_t queued;
	size_t rsize;             /* read at most this much per read(2) */
	bool reading, closing, shut, above_high, connecting;
};

struct wreq {
	uv_write_t req;
	struct io_tcp *t;
	size_t len;
	char data[];
};

/* One read buffer per thread: libuv calls alloc_cb right before read(2) and
 * read_cb right after, for one handle at a time, and every reader copies
 * what it keeps (tunnels write it on at once). */
static __thread char tl_rbuf[IO_READ_MAX];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct io_tcp *t = h->data;
	buf->base = tl_rbuf;
	buf->len = t->rsize;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct io_tcp *t = s->data;
	if (t->closing)
		return;
	if (nread > 0)
		t->base.h->on_read(t->base.arg, buf->base, (size_t)nread);
	else if (nread == UV_EOF) {
		uv_read_stop(s);
		t->reading = false;
		t->base.h->on_eof(t->base.arg);
	} else if (nread < 0)
		t->base.h->on_error(t->base.arg, AL_EIO);
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct io_tcp *t = w->t;
	t->queued -= w->len;
	free(w);
	if (t->closing)
		return;
	if (status < 0) {
		t->base.h->on_error(t->base.arg, AL_EIO);
		return;
	}
	/* drained: after a high-water mark, and whenever the queue empties
	 * (owners waiting to close after a last answer listen for that) */
	if ((t->above_high && t->queued < IO_LOW_WATER) || t->queued == 0) {
		t->above_high = false;
		if (t->base.h->on_drain)
			t->base.h->on_drain(t->base.arg);
	}
}

static int tcp_write(struct io *io, const void *buf, size_t n)
{
	struct io_tcp *t = (struct io_tcp *)io;
	if (t->closing || t->shut)
		return AL_EIO;
	if (n == 0)
		return 0;
	const char *p = buf;
	if (t->queued == 0 && !t->connecting) {
		uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
		int w = uv_try_write((uv_stream_t *)&t->tcp, &b, 1);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && w != UV_EAGAIN && w != UV_ENOSYS) {
			return AL_EIO;
		}
		if (n == 0)
			return 0;
	}
	struct wreq *w = xmalloc(sizeof *w + n);
	w->t = t;
	w->len = n;
	memcpy(w->data, p, n);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&t->tcp, &b, 1, on_write) < 0) {
		free(w);
		return AL_EIO;
	}
	t->queued += n;
	if (t->queued >= IO_HIGH_WATER)
		t->above_high = true;
	return 0;
}

static void tcp_read_start(struct io *io)
{
	struct io_tcp *t = (struct io_tcp *)io;
	if (t->closing || t->reading)
		return;
	if (uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read) == 0)
		t->reading = true;
}

static void tcp_read_stop(struct io *io)
{
	struct io_tcp *t = (struct io_tcp *)io;
	if (t->closing || !t->reading)
		return;
	uv_read_stop((uv_stream_t *)&t->tcp);
	t->reading = false;
}

static size_t tcp_queued(const struct io *io)
{
	return ((const struct io_tcp *)io)->queued;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status;
}

static void tcp_shutdown(struct io *io)
{
	struct io_tcp *t = (struct io_tcp *)io;
	if (t->closing || t->shut)
		return;
	t->shut = true;
	if (uv_shutdown(&t->sreq, (uv_stream_t *)&t->tcp, on_shutdown) < 0)
		t->shut = true;
}

static void on_close(uv_handle_t *h)
{
	struct io_tcp *t = h->data;
	if (t->base.h && t->base.h->on_closed)
		t->base.h->on_closed(t->base.arg);
	free(t);
}

static void tcp_close(struct io *io)
{
	struct io_tcp *t = (struct io_tcp *)io;
	if (t->closing)
		return;
	t->closing = true;
	uv_close((uv_handle_t *)&t->tcp, on_close);
}

/* SO_LINGER 0: close() then sends a reset and drops the send queue, the
 * kernel's too (an orphaned socket would go on feeding it to the peer). */
static void tcp_discard(struct io *io)
{
	struct io_tcp *t = (struct io_tcp *)io;
	uv_os_fd_t fd;
	struct linger lg = { 1, 0 };
	if (!t->closing && uv_fileno((uv_handle_t *)&t->tcp, &fd) == 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static const struct io_ops tcp_ops = {
	.write = tcp_write,
	.read_start = tcp_read_start,
	.read_stop = tcp_read_stop,
	.queued = tcp_queued,
	.shutdown = tcp_shutdown,
	.close = tcp_close,
	.discard = tcp_discard,
};

static struct io_tcp *tcp_new(uv_loop_t *loop)
{
	struct io_tcp *t = xcalloc(1, sizeof *t);
	t->base.ops = &tcp_ops;
	t->base.loop = loop;
	t->rsize = IO_READ_CHUNK;
	uv_tcp_init(loop, &t->tcp);
	t->tcp.data = t;
	return t;
}

int io_tcp_accept(uv_loop_t *loop, uv_stream_t *server, struct io **out)
{
	struct io_tcp *t = tcp_new(loop);
	if (uv_accept(server, (uv_stream_t *)&t->tcp) < 0) {
		t->closing = true;
		uv_close((uv_handle_t *)&t->tcp, on_close);
		return AL_EIO;
	}
	uv_tcp_nodelay(&t->tcp, 1);
	*out = &t->base;
	return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct io_tcp *t = req->data;
	t->connecting = false;
	if (t->closing)
		return;
	if (status == 0)
		uv_tcp_nodelay(&t->tcp, 1);
	t->base.h->on_connect(t->base.arg, status == 0 ? 0 : AL_EUNAVAIL);
}

int io_tcp_connect(uv_loop_t *loop, const struct sockaddr *addr, const struct io_handler *h,
		   void *arg, struct io **out)
{
	struct io_tcp *t = tcp_new(loop);
	t->base.h = h;
	t->base.arg = arg;
	t->creq.data = t;
	t->connecting = true;
	if (uv_tcp_connect(&t->creq, &t->tcp, addr, on_connect) < 0) {
		t->base.h = NULL;
		t->closing = true;
		uv_close((uv_handle_t *)&t->tcp, on_close);
		return AL_EUNAVAIL;
	}
	*out = &t->base;
	return 0;
}

bool io_tcp_peer(struct io *io, char *buf, size_t cap)
{
	if (io->ops != &tcp_ops)
		return false;
	struct io_tcp *t = (struct io_tcp *)io;
	struct sockaddr_storage ss;
	int len = sizeof ss;
	if (uv_tcp_getpeername(&t->tcp, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return uv_ip4_name((struct sockaddr_in *)&ss, buf, cap) == 0;
	if (ss.ss_family == AF_INET6)
		return uv_ip6_name((struct sockaddr_in6 *)&ss, buf, cap) == 0;
	return false;
}

bool io_tcp_peer_port(struct io *io, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	if (io->ops != &tcp_ops)
		return false;
	struct io_tcp *t = (struct io_tcp *)io;
	struct sockaddr_storage ss;
	int len = sizeof ss, n;
	if (uv_tcp_getpeername(&t->tcp, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET && uv_ip4_name((struct sockaddr_in *)&ss, a, sizeof a) == 0)
		n = snprintf(buf, cap, "%s:%u", a, (unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
	else if (ss.ss_family == AF_INET6 && uv_ip6_name((struct sockaddr_in6 *)&ss, a, sizeof a) == 0)
		n = snprintf(buf, cap, "[%s]:%u", a, (unsigned)ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	else
		return false;
	return n > 0 && (size_t)n < cap;
}

void io_set_read_size(struct io *io, size_t n)
{
	if (io->ops != &tcp_ops) {
		if (io->ops->set_read_size)
			io->ops->set_read_size(io, n);
		return;
	}
	struct io_tcp *t = (struct io_tcp *)io;
	t->rsize = n < 1 ? 1 : n > IO_READ_MAX ? IO_READ_MAX : n;
}
