/* IPC client: a libuv pipe to the broker's ipc.sock. Frames are read with
 * the incremental reader of common/ipc.c; a "policy" frame is parsed into an
 * immutable snapshot and given to every worker; anything else closes the
 * connection (the door lists every message). Reconnects with backoff. */
#include "ipc_client.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/policy.h"
#include "enforcer/worker.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000

struct ipc_client {
	uv_loop_t *loop;
	struct proxy *px;
	char *path;
	uv_pipe_t *pipe;          /* NULL when not connected */
	uv_connect_t creq;
	uv_timer_t retry;
	unsigned backoff_ms;
	struct ipc_reader rd;
	bool stopping, said_down;
	int closes;               /* handles still closing after stop */
	uv_pipe_t *last_pipe;
	uint64_t version;
};

struct ipc_wreq {
	uv_write_t req;
	uint8_t *buf;
};

static void ic_connect(struct ipc_client *ic);

static void ic_free_if_done(struct ipc_client *ic)
{
	if (!ic->stopping || --ic->closes > 0)
		return;
	ipc_reader_free(&ic->rd);
	free(ic->path);
	free(ic);
}

static void on_pipe_closed(uv_handle_t *h)
{
	struct ipc_client *ic = h->data;
	bool counted = ic->stopping && h == (uv_handle_t *)ic->last_pipe;
	free(h);
	if (counted)
		ic_free_if_done(ic);
}

static void on_retry_closed(uv_handle_t *h)
{
	ic_free_if_done(h->data);
}

static void on_retry(uv_timer_t *t)
{
	ic_connect(t->data);
}

static void ic_drop(struct ipc_client *ic, const char *why)
{
	if (ic->pipe) {
		uv_close((uv_handle_t *)ic->pipe, on_pipe_closed);
		ic->pipe = NULL;
	}
	ipc_reader_free(&ic->rd);
	ipc_reader_init(&ic->rd);
	if (ic->stopping)
		return;
	if (!ic->said_down) {
		log_warn("broker not reachable; serving with the last policy", KV_S("why", why),
			 KV_S("socket", ic->path));
		ic->said_down = true;
	}
	uv_timer_start(&ic->retry, on_retry, ic->backoff_ms, 0);
	ic->backoff_ms = ic->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ic->backoff_ms * 2;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static __thread char rbuf[64 * 1024];
	(void)h;
	(void)suggested;
	buf->base = rbuf;
	buf->len = sizeof rbuf;
}

static int handle_msg(struct ipc_client *ic, json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type || strcmp(type, IPC_MSG_POLICY) != 0) {
		log_warn("unexpected IPC message", KV_S("type", type));
		return AL_EPROTO;
	}
	struct policy *p;
	int rc = policy_parse(msg, &p);
	if (rc < 0) {
		log_error("policy refused", KV_S("error", airlock_strerror(rc)));
		return rc;
	}
	ic->version = policy_version(p);
	workers_set_policy(ic->px, p);
	policy_unref(p);
	ic->backoff_ms = BACKOFF_MIN_MS;
	ic->said_down = false;
	log_debug("policy installed", KV_I("version", ic->version));
	return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ipc_client *ic = s->data;
	if (nread == 0)
		return;
	if (nread < 0) {
		ic_drop(ic, nread == UV_EOF ? "broker closed the connection" : uv_strerror((int)nread));
		return;
	}
	if (ipc_reader_feed(&ic->rd, (const uint8_t *)buf->base, (size_t)nread) < 0) {
		ic_drop(ic, "bad frame");
		return;
	}
	for (;;) {
		json_t *msg = NULL;
		int r = ipc_reader_next(&ic->rd, &msg);
		if (r == 0)
			break;
		if (r < 0) {
			ic_drop(ic, "bad frame");
			return;
		}
		int rc = handle_msg(ic, msg);
		json_decref(msg);
		if (rc < 0) {
			ic_drop(ic, "bad message");
			return;
		}
	}
}

static void on_written(uv_write_t *req, int status)
{
	struct ipc_wreq *w = (struct ipc_wreq *)req;
	(void)status;
	free(w->buf);
	free(w);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct ipc_client *ic = req->data;
	uv_os_fd_t fd;
	if (ic->stopping || status == UV_ECANCELED)
		return;
	if (status < 0) {
		ic_drop(ic, uv_strerror(status));
		return;
	}
	if (uv_fileno((uv_handle_t *)ic->pipe, &fd) < 0 || ipc_peer_check(fd, NULL) < 0) {
		ic_drop(ic, "peer is not our uid");
		return;
	}
	json_t *hello = json_pack("{s:s, s:i, s:I}", "type", IPC_MSG_HELLO, "proto", IPC_PROTO_VERSION,
				  "pid", (json_int_t)getpid());
	struct ipc_wreq *w = xcalloc(1, sizeof *w);
	size_t len;
	int rc = ipc_frame_encode(hello, &w->buf, &len);
	json_decref(hello);
	if (rc < 0) {
		free(w);
		ic_drop(ic, "encode");
		return;
	}
	uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)ic->pipe, &b, 1, on_written) < 0) {
		free(w->buf);
		free(w);
		ic_drop(ic, "write");
		return;
	}
	uv_read_start((uv_stream_t *)ic->pipe, on_alloc, on_read);
	if (ic->said_down)
		log_info("broker reachable again", KV_S("socket", ic->path));
}

static void ic_connect(struct ipc_client *ic)
{
	if (ic->stopping || ic->pipe)
		return;
	ic->pipe = xcalloc(1, sizeof *ic->pipe);
	uv_pipe_init(ic->loop, ic->pipe, 0);
	ic->pipe->data = ic;
	ic->creq.data = ic;
	uv_pipe_connect(&ic->creq, ic->pipe, ic->path, on_connect);
}

int ipc_client_start(uv_loop_t *loop, struct proxy *px, const char *path, struct ipc_client **out)
{
	struct ipc_client *ic = xcalloc(1, sizeof *ic);
	ic->loop = loop;
	ic->px = px;
	ic->path = xstrdup(path);
	ic->backoff_ms = BACKOFF_MIN_MS;
	ipc_reader_init(&ic->rd);
	uv_timer_init(loop, &ic->retry);
	ic->retry.data = ic;
	ic_connect(ic);
	*out = ic;
	return 0;
}

void ipc_client_stop(struct ipc_client *ic)
{
	if (!ic)
		return;
	ic->stopping = true;
	ic->closes = 1;
	if (ic->pipe) {
		ic->closes++;
		ic->last_pipe = ic->pipe;
		uv_close((uv_handle_t *)ic->pipe, on_pipe_closed);
		ic->pipe = NULL;
	}
	uv_timer_stop(&ic->retry);
	uv_close((uv_handle_t *)&ic->retry, on_retry_closed);
}
