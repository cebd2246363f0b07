/* A link to the broker (brokerlink.h): a uv_pipe_t, the peer check, hello,
 * the incremental frame reader of common/ipc.c, ordered writes (a try_write
 * first: an ask is usually written before its caller returns), frames
 * queued while connecting, and reconnects with backoff. Written once for the
 * policy feed and for every worker's ask channel. */
#include "config.h"

#include "enforcer/brokerlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/limits.h"
#include "common/xmalloc.h"

/* A connect() to a unix socket nobody listens on fails at once and costs a
 * few microseconds, so the cap is short: injection comes back within a
 * quarter of a second of the broker's restart (bench/soak faults). */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 250

/* a frame written while the link connects */
struct link_frame {
	struct link_frame *next;
	uint8_t *buf;
	size_t len;
};

struct link_wreq {
	uv_write_t req;
	uint8_t *buf;
};

static void on_pipe_closed(uv_handle_t *h)
{
	free(h);
}

static void on_written(uv_write_t *req, int status)
{
	struct link_wreq *w = (struct link_wreq *)req;
	(void)status;   /* a broken pipe shows on the read side too */
	free(w->buf);
	free(w);
}

static void drop_queued(struct broker_link *l)
{
	for (struct link_frame *f = l->queued, *n; f; f = n) {
		n = f->next;
		free(f->buf);
		free(f);
	}
	l->queued = NULL;
	l->qtail = &l->queued;
}

static void on_retry(uv_timer_t *t)
{
	brokerlink_connect(t->data);
}

/* Down: the connection, what was buffered and queued go; a retry is
 * scheduled; then the owner hears of it (and may connect again at once). */
static void link_drop(struct broker_link *l, const char *why)
{
	if (l->state == BROKERLINK_DOWN && !l->pipe)
		return;
	l->state = BROKERLINK_DOWN;
	if (l->pipe) {
		uv_close((uv_handle_t *)l->pipe, on_pipe_closed);
		l->pipe = NULL;
	}
	ipc_reader_free(&l->rd);
	ipc_reader_init(&l->rd);
	drop_queued(l);
	if (l->stopped)
		return;
	uv_timer_start(&l->retry, on_retry, l->backoff_ms, 0);
	l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
	l->ops->on_down(l, why);
}

/* Write buf (taken) on the open pipe, after whatever is still queued in
 * libuv (uv_try_write refuses to pass it). AL_EIO: the pipe is broken. */
static int link_send(struct broker_link *l, uint8_t *buf, size_t len)
{
	uv_buf_t ub = uv_buf_init((char *)buf, (unsigned)len);
	int n = uv_try_write((uv_stream_t *)l->pipe, &ub, 1);
	if (n == (int)len) {
		free(buf);
		return 0;
	}
	if (n < 0 && n != UV_EAGAIN) {
		free(buf);
		return AL_EIO;
	}
	size_t done = n > 0 ? (size_t)n : 0;
	struct link_wreq *w = xcalloc(1, sizeof *w);
	w->buf = buf;
	ub = uv_buf_init((char *)buf + done, (unsigned)(len - done));
	if (uv_write(&w->req, (uv_stream_t *)l->pipe, &ub, 1, on_written) < 0) {
		free(buf);
		free(w);
		return AL_EIO;
	}
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static __thread char rbuf[AL_IPC_READ_CHUNK];
	(void)h;
	(void)suggested;
	buf->base = rbuf;
	buf->len = sizeof rbuf;
}

/* n bytes read from the broker: into the frame reader, then each whole
 * frame to the owner. The bytes are wiped (answers carry credentials). */
static void link_input(struct broker_link *l, char *data, size_t n)
{
	uv_pipe_t *pipe = l->pipe;
	int rc = ipc_reader_feed(&l->rd, (const uint8_t *)data, n);
	secure_wipe(data, n);
	if (rc < 0) {
		link_drop(l, "bad frame");
		return;
	}
	/* an owner's callback may drop the link (a write that breaks): stop
	 * at once then, the reader was reset with it */
	while (l->pipe == pipe) {
		json_t *msg = NULL;
		rc = ipc_reader_next(&l->rd, &msg);
		if (rc == 0)
			return;
		if (rc < 0) {
			link_drop(l, "bad frame");
			return;
		}
		rc = l->ops->on_frame(l, msg);
		json_decref(msg);
		if (rc < 0 && l->pipe == pipe) {
			link_drop(l, "bad message");
			return;
		}
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct broker_link *l = s->data;
	if (nread == 0)
		return;
	if (nread < 0) {
		link_drop(l, nread == UV_EOF ? "broker closed the connection" : uv_strerror((int)nread));
		return;
	}
	link_input(l, buf->base, (size_t)nread);
}

void brokerlink_read_now(struct broker_link *l)
{
	uv_os_fd_t fd;
	uv_buf_t buf;

	if (l->state != BROKERLINK_UP || !l->pipe || uv_fileno((uv_handle_t *)l->pipe, &fd) < 0)
		return;
	uv_pipe_t *pipe = l->pipe;
	/* bounded: what a stall let pile up, not a flood */
	for (int i = 0; i < AL_IPC_READ_NOW_CHUNKS && l->pipe == pipe; i++) {
		on_alloc((uv_handle_t *)pipe, AL_IPC_READ_CHUNK, &buf);
		ssize_t n = recv(fd, buf.base, buf.len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			link_drop(l, n == 0 ? "broker closed the connection" : strerror(errno));
			return;
		}
		link_input(l, buf.base, (size_t)n);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct broker_link *l = req->data;
	uv_os_fd_t fd;
	uint8_t *buf;
	size_t len;

	if (l->stopped || status == UV_ECANCELED)
		return;
	if (status < 0) {
		link_drop(l, uv_strerror(status));
		return;
	}
	if (uv_fileno((uv_handle_t *)l->pipe, &fd) < 0 || ipc_peer_check(fd, NULL) < 0) {
		link_drop(l, "peer is not our uid");
		return;
	}
	json_t *hello = ipc_msg_hello(l->asks_only);
	int rc = hello ? ipc_frame_encode(hello, &buf, &len) : AL_EINVAL;
	json_decref(hello);
	if (rc < 0 || link_send(l, buf, len) < 0) {
		link_drop(l, "cannot write hello");
		return;
	}
	uv_read_start((uv_stream_t *)l->pipe, on_alloc, on_read);
	/* what was written while connecting goes right after hello, in order */
	while (l->queued) {
		struct link_frame *f = l->queued;
		l->queued = f->next;
		if (!l->queued)
			l->qtail = &l->queued;
		rc = link_send(l, f->buf, f->len);
		free(f);
		if (rc < 0) {
			link_drop(l, "write failed");
			return;
		}
	}
	l->state = BROKERLINK_UP;
	l->ops->on_up(l);
}

void brokerlink_init(struct broker_link *l, uv_loop_t *loop, const char *path, bool asks_only,
		     const struct brokerlink_ops *ops, void *data)
{
	memset(l, 0, sizeof *l);
	l->loop = loop;
	l->path = xstrdup(path);
	l->asks_only = asks_only;
	l->ops = ops;
	l->data = data;
	l->state = BROKERLINK_DOWN;
	l->backoff_ms = BACKOFF_MIN_MS;
	l->qtail = &l->queued;
	ipc_reader_init(&l->rd);
	uv_timer_init(loop, &l->retry);
	l->retry.data = l;
}

void brokerlink_connect(struct broker_link *l)
{
	if (l->stopped || l->pipe)
		return;
	uv_timer_stop(&l->retry);
	l->pipe = xcalloc(1, sizeof *l->pipe);
	uv_pipe_init(l->loop, l->pipe, 0);
	l->pipe->data = l;
	l->creq.data = l;
	l->state = BROKERLINK_CONNECTING;
	uv_pipe_connect(&l->creq, l->pipe, l->path, on_connect);
}

int brokerlink_write(struct broker_link *l, uint8_t *buf, size_t len)
{
	if (l->stopped || l->state == BROKERLINK_DOWN) {
		free(buf);
		return AL_EUNAVAIL;
	}
	if (l->state == BROKERLINK_CONNECTING) {
		struct link_frame *f = xmalloc(sizeof *f);
		f->next = NULL;
		f->buf = buf;
		f->len = len;
		*l->qtail = f;
		l->qtail = &f->next;
		return 0;
	}
	if (link_send(l, buf, len) < 0) {
		link_drop(l, "write failed");
		return AL_EUNAVAIL;
	}
	return 0;
}

void brokerlink_healthy(struct broker_link *l)
{
	l->backoff_ms = BACKOFF_MIN_MS;
}

void brokerlink_stop(struct broker_link *l)
{
	if (l->stopped)
		return;
	l->stopped = true;
	link_drop(l, "stopping");
	uv_timer_stop(&l->retry);
	uv_close((uv_handle_t *)&l->retry, NULL);
}

void brokerlink_free(struct broker_link *l)
{
	ipc_reader_free(&l->rd);
	drop_queued(l);
	free(l->path);
	l->path = NULL;
}
