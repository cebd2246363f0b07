/* The framing of the broker <-> enforcer door (ipc.h): 4-byte big-endian
 * length + one JSON object, a byte cap per frame, the incremental reader,
 * SO_PEERCRED checks, and blocking helpers with deadlines. The messages
 * themselves and their field tables are ipc.c's. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/token.h"
#include "common/xmalloc.h"

/* A reader buffers what it is fed until frames are taken; a caller that
 * feeds without taking gets at most two frames' worth before AL_ETOOBIG. */
#define IPC_READER_MAX (2 * ((size_t)IPC_HEADER_LEN + AL_IPC_FRAME_MAX))

static uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int frame_len_check(uint32_t n)
{
	if (n == 0)
		return AL_EPROTO;
	if (n > AL_IPC_FRAME_MAX)
		return AL_ETOOBIG;
	return 0;
}

/* One frame's body: a JSON object (depth-capped, no duplicate keys) whose
 * "type" is a string. Unknown types are the receiver's to refuse. */
static int frame_parse(const uint8_t *body, size_t n, json_t **msg)
{
	char err[128];
	json_t *v = NULL;

	*msg = NULL;
	if (json_parse_object((const char *)body, n, AL_IPC_FRAME_MAX, &v, err, sizeof err) < 0)
		return AL_EPROTO;
	if (!json_is_string(json_object_get(v, "type"))) {
		json_decref(v);
		return AL_EPROTO;
	}
	*msg = v;
	return 0;
}

int ipc_frame_encode(const json_t *msg, uint8_t **out, size_t *len)
{
	char *body = NULL;
	size_t n;
	uint8_t *f;
	int rc = AL_EINVAL;

	*out = NULL;
	*len = 0;
	if (!json_is_object(msg))
		goto out;
	body = json_dumps(msg, JSON_COMPACT);
	if (!body)
		abort(); /* jansson only fails here on OOM */
	n = strlen(body);
	if (n > AL_IPC_FRAME_MAX) {
		*len = IPC_HEADER_LEN + n;   /* how far over: the caller can say so */
		rc = AL_ETOOBIG;
		goto out;
	}
	f = xmalloc(IPC_HEADER_LEN + n);
	f[0] = (uint8_t)(n >> 24);
	f[1] = (uint8_t)(n >> 16);
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	memcpy(f + IPC_HEADER_LEN, body, n);
	*out = f;
	*len = IPC_HEADER_LEN + n;
	rc = 0;
out:
	/* an answer's text holds the injected headers */
	secure_free_str(body);
	return rc;
}

void ipc_reader_init(struct ipc_reader *r)
{
	r->buf = NULL;
	r->len = 0;
	r->cap = 0;
}

void ipc_reader_free(struct ipc_reader *r)
{
	/* Frames may carry injected headers: wipe what is left. */
	if (r->buf)
		secure_free(r->buf, r->cap);
	ipc_reader_init(r);
}

int ipc_reader_feed(struct ipc_reader *r, const uint8_t *data, size_t n)
{
	if (n > IPC_READER_MAX || r->len + n > IPC_READER_MAX)
		return AL_ETOOBIG;
	if (r->len + n > r->cap) {
		size_t ncap = r->cap ? r->cap : 4096;
		uint8_t *nb;
		while (ncap < r->len + n)
			ncap *= 2;
		/* Grow by copying so the old bytes can be wiped, not left in the heap. */
		nb = xmalloc(ncap);
		if (r->len)
			memcpy(nb, r->buf, r->len);
		if (r->buf)
			secure_free(r->buf, r->cap);
		r->buf = nb;
		r->cap = ncap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	if (r->len >= IPC_HEADER_LEN)
		return frame_len_check(be32_get(r->buf));
	return 0;
}

int ipc_reader_next(struct ipc_reader *r, json_t **msg)
{
	uint32_t flen;
	size_t whole;
	int rc;

	*msg = NULL;
	if (r->len < IPC_HEADER_LEN)
		return 0;
	flen = be32_get(r->buf);
	rc = frame_len_check(flen);
	if (rc < 0)
		return rc;
	whole = IPC_HEADER_LEN + (size_t)flen;
	if (r->len < whole)
		return 0;
	rc = frame_parse(r->buf + IPC_HEADER_LEN, flen, msg);
	memmove(r->buf, r->buf + whole, r->len - whole);
	secure_wipe(r->buf + r->len - whole, whole);
	r->len -= whole;
	if (rc < 0)
		return rc;
	return 1;
}

int ipc_peer_check(int fd, int *pid)
{
	struct ucred cred;
	socklen_t sl = sizeof cred;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0 || sl != sizeof cred)
		return AL_EPERM;
	if (cred.uid != geteuid())
		return AL_EPERM;
	if (pid)
		*pid = (int)cred.pid;
	return 0;
}

/* Wait until fd is ready for `events` or the deadline (monotonic ms, <0 for
 * none) passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int timeout = -1, n;

		if (deadline >= 0) {
			int64_t left = deadline - time_mono_ms();
			if (left <= 0)
				return AL_ETIMEOUT;
			timeout = left > 60000 ? 60000 : (int)left;
		}
		n = poll(&p, 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return AL_EIO;
		if (n > 0)
			return 0;
	}
}

int ipc_send_blocking(int fd, const json_t *msg)
{
	uint8_t *f = NULL;
	size_t len, off = 0;
	int rc;

	rc = ipc_frame_encode(msg, &f, &len);
	if (rc < 0)
		goto out;
	while (off < len) {
		ssize_t w = send(fd, f + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, f + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rc = wait_fd(fd, POLLOUT, -1);
				if (rc < 0)
					goto out;
				continue;
			}
			rc = errno == EPIPE || errno == ECONNRESET ? AL_EUNAVAIL : AL_EIO;
			goto out;
		}
		off += (size_t)w;
	}
	rc = 0;
out:
	if (f)
		secure_free(f, len);
	return rc;
}

/* Read exactly n bytes (never more: the next frame is not ours to eat). */
static int read_exact(int fd, uint8_t *buf, size_t n, int64_t deadline, bool at_start)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r;
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
		r = read(fd, buf + off, n - off);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return errno == ECONNRESET ? AL_EUNAVAIL : AL_EIO;
		}
		if (r == 0)
			return at_start && off == 0 ? AL_EUNAVAIL : AL_EPROTO;
		off += (size_t)r;
	}
	return 0;
}

int ipc_recv_blocking(int fd, int timeout_ms, json_t **msg)
{
	int64_t deadline = timeout_ms < 0 ? -1 : time_mono_ms() + timeout_ms;
	uint8_t hdr[IPC_HEADER_LEN];
	uint8_t *body = NULL;
	uint32_t flen = 0;
	int rc;

	*msg = NULL;
	rc = read_exact(fd, hdr, sizeof hdr, deadline, true);
	if (rc < 0)
		goto out;
	flen = be32_get(hdr);
	rc = frame_len_check(flen);
	if (rc < 0)
		goto out;
	body = xmalloc(flen);
	rc = read_exact(fd, body, flen, deadline, false);
	if (rc < 0)
		goto out;
	rc = frame_parse(body, flen, msg);
out:
	if (body)
		secure_free(body, flen);
	return rc;
}
