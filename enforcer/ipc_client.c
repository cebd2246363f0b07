/* IPC client: a libuv pipe to the broker's ipc.sock. Frames are read with
 * the incremental reader of common/ipc.c; a "policy" frame is parsed into an
 * immutable snapshot and given to every worker; a "headers" frame answers a
 * broker_ask_headers() of some worker; anything else closes the connection
 * (the door lists every message). Reconnects with backoff.
 *
 * Asks: each worker has its own connection to the broker (hello with
 * asks_only), on its own loop, and writes its asks there; the answer comes
 * back on the same loop, so an ask costs no thread hop. While that
 * connection is down (connecting, broker restarting) asks cross threads: a
 * worker queues its ask for the main loop (uv_async), which writes it and
 * remembers which worker waits for that id; the answer is queued back to
 * that worker's box (its own uv_async) and matched there by id. The worker
 * alone owns the ask and its deadline timer, so a late answer or one for a
 * cancelled ask is simply wiped and dropped. */
#include "ipc_client.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/policy.h"

#include "enforcer/worker.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000

/* an ask on its way to the broker (main thread queue) */
struct ask_out {
	struct ask_out *next;
	uint32_t id;
	struct worker *w;
	uint8_t *buf;
	size_t len;
};

/* ids the main thread wrote and waits an answer for */
#define ASK_BUCKETS 256
struct ask_wait {
	struct ask_wait *next;
	uint32_t id;
	struct worker *w;
};

/* an answer on its way to a worker (NULL msg: the broker went away) */
struct ask_in {
	struct ask_in *next;
	uint32_t id;
	json_t *msg;
};

/* per worker: its own door to the broker, answers queued for it by the
 * main loop, and its asks in flight */
struct ask_box {
	uv_async_t async;
	uv_mutex_t mu;
	struct ask_in *inbox, **intail;
	struct broker_ask *asks;
	bool stopped;
	/* the worker's own connection (this thread only) */
	struct worker *w;
	char *path;
	uv_pipe_t *pipe;          /* NULL when not connected */
	uv_connect_t creq;
	uv_timer_t retry;
	unsigned backoff_ms;
	struct ipc_reader rd;
	bool up;                  /* hello written: asks go this way */
};

struct broker_ask {
	struct broker_ask *next, *prev;
	struct ask_box *box;
	uint32_t id;
	uv_timer_t timer;
	broker_ask_cb cb;
	void *arg;
	bool shim;              /* a "shim" ask: the answer is status + body */
	bool direct;            /* written on the worker's own connection */
};

struct ipc_client {
	uv_loop_t *loop;
	struct proxy *px;
	char *path;
	uv_pipe_t *pipe;          /* NULL when not connected */
	uv_connect_t creq;
	uv_timer_t retry;
	unsigned backoff_ms;
	struct ipc_reader rd;
	bool stopping, said_down, closed;
	int closes;               /* handles still closing after stop */
	uv_pipe_t *last_pipe;
	uint64_t version;
	/* asks */
	atomic_bool up;           /* hello sent: asks may be written */
	atomic_uint next_id;
	uv_mutex_t mu;            /* guards outq */
	struct ask_out *outq, **outtail;
	uv_async_t ask_async;
	struct ask_wait *wait[ASK_BUCKETS];
};

struct ipc_wreq {
	uv_write_t req;
	uint8_t *buf;
};

static void ic_connect(struct ipc_client *ic);
static int box_write(struct ask_box *b, uint8_t *buf, size_t len);
static void answer_ask(struct ask_box *b, uint32_t id, const json_t *msg);
static void box_connect(struct ask_box *b);
static void on_box_pipe_closed(uv_handle_t *h);

static void ic_free_if_done(struct ipc_client *ic)
{
	if (!ic->stopping || --ic->closes > 0)
		return;
	ipc_reader_free(&ic->rd);
	ic->closed = true;
}

void ipc_client_free(struct ipc_client *ic)
{
	if (!ic)
		return;
	for (struct ask_out *o = ic->outq, *n; o; o = n) {
		n = o->next;
		free(o->buf);
		free(o);
	}
	for (size_t i = 0; i < ASK_BUCKETS; i++)
		for (struct ask_wait *a = ic->wait[i], *n; a; a = n) {
			n = a->next;
			free(a);
		}
	uv_mutex_destroy(&ic->mu);
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

static void box_post(struct worker *w, uint32_t id, json_t *msg);

/* The broker went away: every ask it holds is answered "unavailable" now
 * rather than at its deadline. */
static void fail_waits(struct ipc_client *ic)
{
	for (size_t i = 0; i < ASK_BUCKETS; i++) {
		for (struct ask_wait *a = ic->wait[i], *n; a; a = n) {
			n = a->next;
			box_post(a->w, a->id, NULL);
			free(a);
		}
		ic->wait[i] = NULL;
	}
}

static void ic_drop(struct ipc_client *ic, const char *why)
{
	atomic_store(&ic->up, false);
	fail_waits(ic);
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

/* A "headers" answer goes to the worker that asked. */
static int handle_headers(struct ipc_client *ic, json_t *msg)
{
	json_t *jid = json_object_get(msg, "id");
	if (!json_is_integer(jid) || json_integer_value(jid) <= 0 || json_integer_value(jid) > UINT32_MAX) {
		broker_answer_wipe(msg);
		return AL_EPROTO;
	}
	uint32_t id = (uint32_t)json_integer_value(jid);
	struct ask_wait **pp = &ic->wait[id % ASK_BUCKETS];
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	if (!*pp) {
		broker_answer_wipe(msg);   /* nobody waits for it (any more) */
		return 0;
	}
	struct ask_wait *a = *pp;
	*pp = a->next;
	box_post(a->w, id, json_incref(msg));
	free(a);
	return 0;
}

static int handle_msg(struct ipc_client *ic, json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (type && (strcmp(type, IPC_MSG_HEADERS) == 0 || strcmp(type, IPC_MSG_SHIM) == 0))
		return handle_headers(ic, msg);   /* an answer to an ask, found by id */
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

/* Feed n bytes read from the broker (wiped here: answers carry secrets)
 * and hand each whole frame to fn, which may not keep it. NULL when all
 * went well, else why the connection must go. */
static const char *take_frames(struct ipc_reader *rd, char *buf, size_t n, int (*fn)(void *arg, json_t *msg),
			       void *arg)
{
	int frc = ipc_reader_feed(rd, (const uint8_t *)buf, n);
	secure_wipe(buf, n);
	if (frc < 0)
		return "bad frame";
	for (;;) {
		json_t *msg = NULL;
		int r = ipc_reader_next(rd, &msg);
		if (r == 0)
			return NULL;
		if (r < 0)
			return "bad frame";
		int rc = fn(arg, msg);
		json_decref(msg);
		if (rc < 0)
			return "bad message";
	}
}

static int main_frame(void *arg, json_t *msg)
{
	return handle_msg(arg, msg);
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
	const char *why = take_frames(&ic->rd, buf->base, (size_t)nread, main_frame, ic);
	if (why)
		ic_drop(ic, why);
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
	atomic_store(&ic->up, true);
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

/* ---- broker asks (any worker thread -> main loop -> broker -> worker) ---- */

static void wipe_strings(json_t *v)
{
	size_t i;
	const char *k;
	json_t *e;
	if (json_is_string(v)) {
		secure_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			wipe_strings(e);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			wipe_strings(e);
	}
}

void broker_answer_wipe(json_t *msg)
{
	if (msg)
		wipe_strings(msg);
}

/* main thread: write the queued asks */
static void on_ask_async(uv_async_t *as)
{
	struct ipc_client *ic = as->data;
	uv_mutex_lock(&ic->mu);
	struct ask_out *q = ic->outq;
	ic->outq = NULL;
	ic->outtail = &ic->outq;
	uv_mutex_unlock(&ic->mu);
	for (struct ask_out *o = q, *n; o; o = n) {
		n = o->next;
		struct ipc_wreq *wr = NULL;
		if (ic->pipe && atomic_load(&ic->up) && !ic->stopping) {
			wr = xcalloc(1, sizeof *wr);
			wr->buf = o->buf;
			uv_buf_t b = uv_buf_init((char *)o->buf, (unsigned)o->len);
			if (uv_write(&wr->req, (uv_stream_t *)ic->pipe, &b, 1, on_written) < 0) {
				free(wr);
				wr = NULL;
			}
		}
		if (!o->w) {
			if (!wr)
				free(o->buf);   /* a note that wants no answer: dropped with the broker */
		} else if (wr) {
			struct ask_wait *a = xcalloc(1, sizeof *a);
			a->id = o->id;
			a->w = o->w;
			a->next = ic->wait[o->id % ASK_BUCKETS];
			ic->wait[o->id % ASK_BUCKETS] = a;
		} else {
			free(o->buf);
			box_post(o->w, o->id, NULL);
		}
		free(o);
	}
}

static void box_post(struct worker *w, uint32_t id, json_t *msg)
{
	struct ask_box *b = w->asks;
	uv_mutex_lock(&b->mu);
	if (b->stopped) {
		uv_mutex_unlock(&b->mu);
		broker_answer_wipe(msg);
		json_decref(msg);
		return;
	}
	struct ask_in *in = xcalloc(1, sizeof *in);
	in->id = id;
	in->msg = msg;
	*b->intail = in;
	b->intail = &in->next;
	uv_async_send(&b->async);   /* under the lock: the handle is not closed meanwhile */
	uv_mutex_unlock(&b->mu);
}

static void on_ask_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void ask_unlink_free(struct broker_ask *a)
{
	struct ask_box *b = a->box;
	if (a->prev)
		a->prev->next = a->next;
	else
		b->asks = a->next;
	if (a->next)
		a->next->prev = a->prev;
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, on_ask_timer_closed);
}

/* The error codes the door lists, as static strings (they end up in logs
 * after the answer is gone). */
static const char *error_code(const char *e)
{
	static const char *const known[] = { "secret-not-found", "secret-host-mismatch", "relogin-required",
					     "credential-refreshing", "broker-error", "no-shim" };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (e && strcmp(e, known[i]) == 0)
			return known[i];
	return "broker-error";
}

/* A shim answer: {status: 200..599, content_type, body} (strings). */
static bool shim_answer_ok(const json_t *m)
{
	const json_t *st = json_object_get(m, "status");
	return json_is_integer(st) && json_integer_value(st) >= 200 && json_integer_value(st) <= 599 &&
	       json_is_string(json_object_get(m, "content_type")) && json_is_string(json_object_get(m, "body"));
}

/* The answer (NULL: the broker went away) to ask id of this worker, if it
 * still waits: its callback, then the ask is gone. The caller wipes msg. */
static void answer_ask(struct ask_box *b, uint32_t id, const json_t *msg)
{
	struct broker_ask *a = b->asks;
	while (a && a->id != id)
		a = a->next;
	if (!a)
		return;
	broker_ask_cb cb = a->cb;
	void *arg = a->arg;
	bool shim = a->shim;
	ask_unlink_free(a);
	const char *err = NULL;
	if (!msg)
		err = "broker-unavailable";
	else if (json_object_get(msg, "error"))
		err = error_code(json_string_value(json_object_get(msg, "error")));
	else if (shim ? !shim_answer_ok(msg) : !json_is_array(json_object_get(msg, "headers")))
		err = "broker-error";
	cb(arg, err ? NULL : msg, err);
}

static void on_box(uv_async_t *as)
{
	struct ask_box *b = as->data;
	uv_mutex_lock(&b->mu);
	struct ask_in *q = b->inbox;
	b->inbox = NULL;
	b->intail = &b->inbox;
	uv_mutex_unlock(&b->mu);
	for (struct ask_in *in = q, *n; in; in = n) {
		n = in->next;
		answer_ask(b, in->id, in->msg);
		broker_answer_wipe(in->msg);
		json_decref(in->msg);
		free(in);
	}
}

static void on_ask_timeout(uv_timer_t *t)
{
	struct broker_ask *a = t->data;
	broker_ask_cb cb = a->cb;
	void *arg = a->arg;
	ask_unlink_free(a);
	cb(arg, NULL, "broker-unavailable");
}

/* Queue a frame for the main loop to write; w NULL: no answer expected. */
static int queue_out(struct ipc_client *ic, struct worker *w, uint32_t id, uint8_t *buf, size_t len)
{
	struct ask_out *o = xcalloc(1, sizeof *o);
	o->id = id;
	o->w = w;
	o->buf = buf;
	o->len = len;
	uv_mutex_lock(&ic->mu);
	if (ic->stopping) {
		uv_mutex_unlock(&ic->mu);
		free(buf);
		free(o);
		return AL_EUNAVAIL;
	}
	*ic->outtail = o;
	ic->outtail = &o->next;
	uv_async_send(&ic->ask_async);
	uv_mutex_unlock(&ic->mu);
	return 0;
}

/* ---- a worker's own connection to the broker (its loop only) ---- */

static void box_connect(struct ask_box *b);

static void on_box_pipe_closed(uv_handle_t *h)
{
	free(h);
}

static void on_box_retry(uv_timer_t *t)
{
	box_connect(t->data);
}

/* Down: asks written this way are answered "unavailable" now; new ones go
 * through the main loop until the connection is back. */
static void box_drop(struct ask_box *b)
{
	b->up = false;
	if (b->pipe) {
		uv_close((uv_handle_t *)b->pipe, on_box_pipe_closed);
		b->pipe = NULL;
	}
	ipc_reader_free(&b->rd);
	ipc_reader_init(&b->rd);
	/* by id: a callback may cancel other asks of the list */
	size_t n = 0, i = 0;
	for (struct broker_ask *a = b->asks; a; a = a->next)
		n += a->direct;
	uint32_t *ids = n ? xcalloc(n, sizeof *ids) : NULL;
	for (struct broker_ask *a = b->asks; a && i < n; a = a->next)
		if (a->direct)
			ids[i++] = a->id;
	for (i = 0; i < n; i++)
		answer_ask(b, ids[i], NULL);
	free(ids);
	if (b->stopped)
		return;
	uv_timer_start(&b->retry, on_box_retry, b->backoff_ms, 0);
	b->backoff_ms = b->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b->backoff_ms * 2;
}

/* Only answers pass on a worker's door; anything else closes it. */
static int box_frame(void *arg, json_t *msg)
{
	struct ask_box *b = arg;
	const char *type = json_string_value(json_object_get(msg, "type"));
	json_t *jid = json_object_get(msg, "id");
	bool ok = type && (strcmp(type, IPC_MSG_HEADERS) == 0 || strcmp(type, IPC_MSG_SHIM) == 0) &&
		  json_is_integer(jid) && json_integer_value(jid) > 0 && json_integer_value(jid) <= UINT32_MAX;
	if (ok)
		answer_ask(b, (uint32_t)json_integer_value(jid), msg);
	broker_answer_wipe(msg);
	return ok ? 0 : AL_EPROTO;
}

static void on_box_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ask_box *b = s->data;
	if (nread == 0)
		return;
	if (nread < 0) {
		box_drop(b);
		return;
	}
	if (take_frames(&b->rd, buf->base, (size_t)nread, box_frame, b))
		box_drop(b);
}

static void on_box_connect(uv_connect_t *req, int status)
{
	struct ask_box *b = req->data;
	uv_os_fd_t fd;
	if (b->stopped || status == UV_ECANCELED)
		return;
	if (status < 0 || uv_fileno((uv_handle_t *)b->pipe, &fd) < 0 || ipc_peer_check(fd, NULL) < 0) {
		box_drop(b);
		return;
	}
	json_t *hello = json_pack("{s:s, s:i, s:I, s:b}", "type", IPC_MSG_HELLO, "proto", IPC_PROTO_VERSION,
				  "pid", (json_int_t)getpid(), "asks_only", 1);
	uint8_t *buf;
	size_t len;
	int rc = hello ? ipc_frame_encode(hello, &buf, &len) : AL_EINVAL;
	json_decref(hello);
	if (rc < 0) {
		box_drop(b);
		return;
	}
	uv_read_start((uv_stream_t *)b->pipe, on_alloc, on_box_read);
	b->up = true;
	if (box_write(b, buf, len) < 0) {
		free(buf);   /* a failed box_write leaves the frame to us */
		box_drop(b);
		return;
	}
	b->backoff_ms = BACKOFF_MIN_MS;
}

static void box_connect(struct ask_box *b)
{
	if (b->stopped || b->pipe || !b->path)
		return;
	b->pipe = xcalloc(1, sizeof *b->pipe);
	uv_pipe_init(&b->w->loop, b->pipe, 0);
	b->pipe->data = b;
	b->creq.data = b;
	uv_pipe_connect(&b->creq, b->pipe, b->path, on_box_connect);
}

/* Write a frame (owned by us from now on) on the worker's own connection;
 * AL_EUNAVAIL (buf untouched) when it is not up. */
static int box_write(struct ask_box *b, uint8_t *buf, size_t len)
{
	if (!b || !b->up || !b->pipe || b->stopped)
		return AL_EUNAVAIL;
	uv_buf_t ub = uv_buf_init((char *)buf, (unsigned)len);
	int n = uv_try_write((uv_stream_t *)b->pipe, &ub, 1);
	if (n == (int)len) {
		free(buf);
		return 0;
	}
	if (n < 0 && n != UV_EAGAIN) {
		box_drop(b);
		return AL_EUNAVAIL;
	}
	size_t done = n > 0 ? (size_t)n : 0;
	struct ipc_wreq *wr = xcalloc(1, sizeof *wr);
	wr->buf = buf;
	ub = uv_buf_init((char *)buf + done, (unsigned)(len - done));
	if (uv_write(&wr->req, (uv_stream_t *)b->pipe, &ub, 1, on_written) < 0) {
		free(wr);
		if (done == 0)
			return AL_EUNAVAIL;   /* nothing went: the caller may send it the other way */
		free(buf);
		box_drop(b);
		return 0;   /* part of it went: the ask fails by its deadline or the drop */
	}
	return 0;
}

void broker_note_upstream_401(struct worker *w, const char *secret, const char *host)
{
	struct ipc_client *ic = w->px->ipc;
	uint8_t *buf;
	size_t len;
	if (!ic || !atomic_load(&ic->up))
		return;
	json_t *msg = json_pack("{s:s, s:s, s:s}", "type", IPC_MSG_UPSTREAM_401, "secret", secret, "host", host);
	int rc = msg ? ipc_frame_encode(msg, &buf, &len) : AL_EINVAL;
	json_decref(msg);
	if (rc == 0)
		(void)queue_out(ic, NULL, 0, buf, len);
}

/* Send ask (its "id" filled in here) and wait for the answer on w's loop. */
static int ask_send(struct worker *w, json_t *ask, bool shim, broker_ask_cb cb, void *arg, struct broker_ask **out)
{
	struct ipc_client *ic = w->px->ipc;
	uint8_t *buf;
	size_t len;
	*out = NULL;
	if (!ask)
		return AL_EINVAL;
	if (!ic || !w->asks || !atomic_load(&ic->up)) {
		json_decref(ask);
		return AL_EUNAVAIL;
	}
	uint32_t id = atomic_fetch_add(&ic->next_id, 1) + 1;
	if (id == 0)
		id = atomic_fetch_add(&ic->next_id, 1) + 1;
	int rc = json_object_set_new(ask, "id", json_integer((json_int_t)id)) < 0 ? AL_EINVAL
		 : ipc_frame_encode(ask, &buf, &len);
	json_decref(ask);
	if (rc < 0)
		return rc;
	bool direct = box_write(w->asks, buf, len) == 0;
	if (!direct && (rc = queue_out(ic, w, id, buf, len)) < 0)
		return rc;

	struct broker_ask *a = xcalloc(1, sizeof *a);
	a->box = w->asks;
	a->id = id;
	a->cb = cb;
	a->arg = arg;
	a->shim = shim;
	a->direct = direct;
	uv_timer_init(&w->loop, &a->timer);
	a->timer.data = a;
	uv_timer_start(&a->timer, on_ask_timeout, AL_BROKER_ASK_TIMEOUT_MS, 0);
	a->next = a->box->asks;
	if (a->next)
		a->next->prev = a;
	a->box->asks = a;
	*out = a;
	return 0;
}

int broker_ask_headers(struct worker *w, const char *secret, const char *host, broker_ask_cb cb, void *arg,
		       struct broker_ask **out)
{
	return ask_send(w, json_pack("{s:s, s:s, s:s}", "type", IPC_MSG_HEADERS, "secret", secret, "host", host),
			false, cb, arg, out);
}

int broker_ask_shim(struct worker *w, const char *client, const char *host, const char *path, const char *method,
		    broker_ask_cb cb, void *arg, struct broker_ask **out)
{
	return ask_send(w, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", IPC_MSG_SHIM, "client", client, "host",
				     host, "path", path, "method", method),
			true, cb, arg, out);
}

void broker_ask_cancel(struct broker_ask *a)
{
	if (a)
		ask_unlink_free(a);
}

void broker_box_init(struct worker *w)
{
	struct ask_box *b = xcalloc(1, sizeof *b);
	if (uv_mutex_init(&b->mu) < 0)
		abort();
	b->intail = &b->inbox;
	uv_async_init(&w->loop, &b->async, on_box);
	b->async.data = b;
	b->w = w;
	b->backoff_ms = BACKOFF_MIN_MS;
	ipc_reader_init(&b->rd);
	uv_timer_init(&w->loop, &b->retry);
	b->retry.data = b;
	w->asks = b;
	if (w->px->ipc) {
		b->path = xstrdup(w->px->ipc->path);
		box_connect(b);   /* the loop runs once the thread starts */
	}
}

void broker_box_stop(struct worker *w)
{
	struct ask_box *b = w->asks;
	if (!b)
		return;
	uv_mutex_lock(&b->mu);
	b->stopped = true;
	uv_mutex_unlock(&b->mu);
	while (b->asks)
		ask_unlink_free(b->asks);
	b->up = false;
	if (b->pipe) {
		uv_close((uv_handle_t *)b->pipe, on_box_pipe_closed);
		b->pipe = NULL;
	}
	uv_timer_stop(&b->retry);
	uv_close((uv_handle_t *)&b->retry, NULL);
	uv_close((uv_handle_t *)&b->async, NULL);
}

void broker_box_free(struct worker *w)
{
	struct ask_box *b = w->asks;
	if (!b)
		return;
	for (struct ask_in *in = b->inbox, *n; in; in = n) {
		n = in->next;
		broker_answer_wipe(in->msg);
		json_decref(in->msg);
		free(in);
	}
	uv_mutex_destroy(&b->mu);
	ipc_reader_free(&b->rd);
	free(b->path);
	free(b);
	w->asks = NULL;
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
	if (uv_mutex_init(&ic->mu) < 0)
		abort();
	ic->outtail = &ic->outq;
	uv_async_init(loop, &ic->ask_async, on_ask_async);
	ic->ask_async.data = ic;
	ic_connect(ic);
	*out = ic;
	return 0;
}

void ipc_client_stop(struct ipc_client *ic)
{
	if (!ic)
		return;
	uv_mutex_lock(&ic->mu);
	ic->stopping = true;
	uv_mutex_unlock(&ic->mu);
	atomic_store(&ic->up, false);
	fail_waits(ic);
	ic->closes = 2;
	uv_close((uv_handle_t *)&ic->ask_async, on_retry_closed);
	if (ic->pipe) {
		ic->closes++;
		ic->last_pipe = ic->pipe;
		uv_close((uv_handle_t *)ic->pipe, on_pipe_closed);
		ic->pipe = NULL;
	}
	uv_timer_stop(&ic->retry);
	uv_close((uv_handle_t *)&ic->retry, on_retry_closed);
}
