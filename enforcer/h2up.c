/* HTTP/2 toward the origin (h2up.h): an io that takes the HTTP/1.1 request
 * forward.c writes and gives back an HTTP/1.1 response, speaking HTTP/2
 * over the TLS stream below with nghttp2's client session. One exchange at
 * a time, each its own stream on the same connection, so the pump, the
 * pool (a parked h2 connection is a parked io like any other, for the same
 * client only) and the decision line stay what they are for HTTP/1.1. The
 * request head is parsed by llhttp (it is our own, written by reqhead.c);
 * the response is written as HTTP/1.1 with chunked framing so that its
 * trailers (gRPC's status lives there) reach the sandbox. */
#include "config.h"

#include "enforcer/h2up.h"

#include <ctype.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/limits.h"
#include "common/xmalloc.h"
#include "enforcer/http.h"
#include "enforcer/reqhead.h"

#define REQ_HEAD_MAX (256 * 1024)
#define REQ_HEADERS_MAX 500

struct h2up {
	struct io io;                 /* first: what the upstream code sees */
	struct io *lower;             /* the TLS stream to the origin */
	nghttp2_session *ng;
	int busy;
	bool dead;                    /* GOAWAY, error or EOF: no new stream */
	bool reading;
	bool closed;
	int depth;                    /* inside our callbacks: freed when the last returns */
	/* the exchange under way */
	int32_t sid;                  /* 0: none */
	int32_t csid;                 /* the stream whose DATA waits in resp */
	struct http_msg req;          /* parses what forward.c writes */
	bool req_init;
	bool head_req;
	char *body;                   /* request body waiting for DATA frames */
	size_t blen, boff, bcap;
	bool req_end, deferred;
	bool want_drain;              /* forward.c stopped writing the body: tell it when to go on */
	struct sbuf resp;             /* the response as HTTP/1.1, not yet handed up */
	size_t unconsumed;            /* DATA bytes in resp: window given back once handed up */
	bool resp_head, resp_length, resp_trailers, resp_end, failed;
	int status;
	struct sbuf fields;           /* header lines of the block being received */
};

static void flush(struct h2up *u);
static void deliver(struct h2up *u);
static void enter(struct h2up *u);
static void leave(struct h2up *u);

/* ---- the request, from forward.c ---- */

static ssize_t body_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *arg)
{
	(void)ng;
	(void)id;
	(void)src;
	struct h2up *u = arg;
	size_t have = u->blen - u->boff;
	if (have == 0) {
		if (u->req_end) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			return 0;
		}
		u->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	size_t n = have < length ? have : length;
	memcpy(buf, u->body + u->boff, n);
	u->boff += n;
	if (u->boff == u->blen) {
		u->boff = u->blen = 0;
		if (u->req_end)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
	}
	return (ssize_t)n;
}

static void nv_add(nghttp2_nv *nv, size_t *n, const char *name, size_t nlen, const char *val, size_t vlen)
{
	nv[*n] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)val, nlen, vlen, NGHTTP2_NV_FLAG_NONE };
	(*n)++;
}

static int req_on_head(void *arg)
{
	struct h2up *u = arg;
	struct http_msg *m = &u->req;
	long hi = http_find(m, "host", 0);
	/* an upgrade cannot cross HTTP/2 (forward.c dials HTTP/1.1 for one) */
	if (hi < 0 || http_find(m, "upgrade", 0) >= 0 || u->dead)
		return -1;
	nghttp2_nv *nv = xcalloc(m->nhdrs + 6, sizeof *nv);
	size_t n = 0;
	const char *method = http_method_str(m);
	nv_add(nv, &n, ":method", 7, method, strlen(method));
	nv_add(nv, &n, ":scheme", 7, "https", 5);
	nv_add(nv, &n, ":authority", 10, http_value(m, (size_t)hi), m->hdrs[hi].vlen);
	nv_add(nv, &n, ":path", 5, m->arena + m->url, m->url_len);
	/* we pass trailers on (gRPC needs them, and says so with te) */
	nv_add(nv, &n, "te", 2, "trailers", 8);
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (http_is_hop(m, i) || http_name_is(m, i, "host") || http_name_is(m, i, "transfer-encoding") ||
		    http_name_is(m, i, "connection") || http_name_is(m, i, "te"))
			continue;
		char *name = m->arena + m->hdrs[i].name;
		for (size_t k = 0; k < m->hdrs[i].nlen; k++)
			name[k] = (char)tolower((unsigned char)name[k]);
		nv_add(nv, &n, name, m->hdrs[i].nlen, http_value(m, (size_t)i), m->hdrs[i].vlen);
	}
	bool body = http_is_chunked(m) || m->p.content_length > 0;
	u->head_req = m->p.method == HTTP_HEAD;
	u->req_end = !body;
	nghttp2_data_provider prd = { .source.ptr = u, .read_callback = body_read };
	int32_t sid = nghttp2_submit_request(u->ng, NULL, nv, n, body ? &prd : NULL, u);
	free(nv);
	if (sid < 0)
		return -1;
	u->sid = u->csid = sid;
	return HPE_PAUSED;
}

static int req_on_body(void *arg, const char *at, size_t n)
{
	struct h2up *u = arg;
	xgrow_secure(&u->body, &u->bcap, u->blen, u->blen + n, 16384);
	memcpy(u->body + u->blen, at, n);
	u->blen += n;
	if (u->deferred && u->sid) {
		u->deferred = false;
		(void)nghttp2_session_resume_data(u->ng, u->sid);
	}
	return 0;
}

static int req_on_complete(void *arg)
{
	struct h2up *u = arg;
	u->req_end = true;
	if (u->deferred && u->sid) {
		u->deferred = false;
		(void)nghttp2_session_resume_data(u->ng, u->sid);
	}
	return HPE_PAUSED;
}

static const struct http_msg_cb req_cb = {
	.on_head = req_on_head,
	.on_body = req_on_body,
	.on_complete = req_on_complete,
};

/* ---- the response, toward forward.c ---- */

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
	(void)ng;
	(void)flags;
	struct h2up *u = arg;
	if (f->hd.stream_id != u->sid || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
		u->status = 0;
		for (size_t i = 0; i < vlen && i < 3; i++)
			u->status = u->status * 10 + (value[i] - '0');
		return 0;
	}
	if (nlen && name[0] == ':')
		return 0;
	/* nghttp2 checked names and values (no CR, LF, NUL); framing is ours */
	if ((nlen == 17 && memcmp(name, "transfer-encoding", 17) == 0) || (nlen == 10 && memcmp(name, "connection", 10) == 0))
		return 0;
	if (nlen == 14 && memcmp(name, "content-length", 14) == 0) {
		if (u->resp_head)
			return 0;   /* never in trailers */
		u->resp_length = true;
	}
	sbuf_add(&u->fields, (const char *)name, nlen);
	sbuf_add(&u->fields, ": ", 2);
	sbuf_add(&u->fields, (const char *)value, vlen);
	sbuf_add(&u->fields, "\r\n", 2);
	return 0;
}

static void resp_finish(struct h2up *u)
{
	if (u->resp_end)
		return;
	u->resp_end = true;
	if (!u->resp_length && !u->head_req && u->status != 204 && u->status != 304) {
		sbuf_add(&u->resp, "0\r\n", 3);
		if (u->fields.len)
			sbuf_add(&u->resp, u->fields.p, u->fields.len);
		sbuf_add(&u->resp, "\r\n", 2);
	}
	u->fields.len = 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	(void)ng;
	struct h2up *u = arg;
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		u->dead = true;
		return 0;
	}
	if (f->hd.stream_id != u->sid || u->sid == 0)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !u->resp_head) {
		char line[64];
		if (u->status >= 100 && u->status < 200) {
			/* an interim answer: forward.c passes or drops it */
			snprintf(line, sizeof line, "HTTP/1.1 %d Continue\r\n", u->status);
			sbuf_str(&u->resp, line);
			sbuf_add(&u->resp, u->fields.p ? u->fields.p : "", u->fields.len);
			sbuf_add(&u->resp, "\r\n", 2);
			u->fields.len = 0;
			return 0;
		}
		u->resp_head = true;
		snprintf(line, sizeof line, "HTTP/1.1 %d h2\r\n", u->status);
		sbuf_str(&u->resp, line);
		sbuf_add(&u->resp, u->fields.p ? u->fields.p : "", u->fields.len);
		u->fields.len = 0;
		bool nobody = u->head_req || u->status == 204 || u->status == 304;
		if (!u->resp_length && !nobody)
			sbuf_str(&u->resp, "transfer-encoding: chunked\r\n");
		else if (!u->resp_length && end && !u->head_req)
			sbuf_str(&u->resp, "content-length: 0\r\n");
		sbuf_add(&u->resp, "\r\n", 2);
		if (end && !u->resp_length && !nobody)
			resp_finish(u);
		else if (end)
			u->resp_end = true;
	} else if (f->hd.type == NGHTTP2_HEADERS || (f->hd.type == NGHTTP2_DATA && end)) {
		resp_finish(u);   /* trailers, or the end of the body */
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *arg)
{
	(void)flags;
	struct h2up *u = arg;
	if (id != u->sid || !u->resp_head) {
		(void)nghttp2_session_consume_connection(ng, len);
		return 0;
	}
	if (!u->resp_length) {
		char hx[CHUNK_HEAD_MAX];
		sbuf_add(&u->resp, hx, chunk_head(hx, len));
		sbuf_add(&u->resp, (const char *)data, len);
		sbuf_add(&u->resp, CHUNK_TAIL, 2);
	} else {
		sbuf_add(&u->resp, (const char *)data, len);
	}
	u->unconsumed += len;
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error, void *arg)
{
	(void)ng;
	struct h2up *u = arg;
	if (id != u->sid)
		return 0;
	if (!u->resp_end || error != NGHTTP2_NO_ERROR)
		u->failed = !u->resp_end;   /* reset before its answer was whole */
	u->sid = 0;
	return 0;
}

/* ---- the stream below ---- */

/* The exchange is over: the next request is a new stream. */
static void next_exchange(struct h2up *u)
{
	u->resp_head = u->resp_end = u->resp_length = false;
	u->csid = 0;
	if (u->req_init && u->req.phase == MSG_DONE)
		http_msg_resume(&u->req);
}

static void deliver(struct h2up *u)
{
	if (!u->reading || u->closed)
		return;
	if (u->resp.len) {
		char *p = u->resp.p;
		size_t n = u->resp.len, cap = u->resp.cap;
		memset(&u->resp, 0, sizeof u->resp);
		if (u->unconsumed && u->ng) {
			/* the window goes back as the answer goes on */
			if (u->csid == 0 || nghttp2_session_consume(u->ng, u->csid, u->unconsumed) != 0)
				(void)nghttp2_session_consume_connection(u->ng, u->unconsumed);
			u->unconsumed = 0;
		}
		if (u->resp_end && u->sid == 0 && !u->failed)
			next_exchange(u);   /* before forward.c may write the next request */
		if (u->io.h && u->io.h->on_read)
			u->io.h->on_read(u->io.arg, p, n);
		secure_free(p, cap);
		if (u->closed)
			return;
	}
	if (u->failed && u->io.h) {
		u->failed = false;
		u->dead = true;
		u->io.h->on_error(u->io.arg, AL_EPROTO);
	}
}

static void flush(struct h2up *u)
{
	if (u->busy || u->closed || !u->ng)
		return;
	u->busy++;
	while (io_queued(u->lower) < IO_HIGH_WATER) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(u->ng, &data);
		if (n <= 0 || io_write(u->lower, data, (size_t)n) < 0)
			break;
	}
	u->busy--;
}

static size_t u_queued(const struct io *io);

/* The request body waiting here went under IO_LOW_WATER (the origin's
 * window opened): forward.c may write more. */
static void maybe_drain(struct h2up *u)
{
	if (u->want_drain && !u->closed && u_queued(&u->io) < IO_LOW_WATER && u->io.h && u->io.h->on_drain) {
		u->want_drain = false;
		u->io.h->on_drain(u->io.arg);
	}
}

static void on_lower_read(void *arg, const char *buf, size_t n)
{
	struct h2up *u = arg;
	enter(u);
	u->busy++;
	ssize_t rv = nghttp2_session_mem_recv(u->ng, (const uint8_t *)buf, n);
	u->busy--;
	if (rv < 0) {
		u->dead = true;
		if (u->io.h)
			u->io.h->on_error(u->io.arg, AL_EPROTO);
	} else {
		flush(u);
		deliver(u);
		if (!u->closed)
			maybe_drain(u);
	}
	leave(u);
}

static void on_lower_eof(void *arg)
{
	struct h2up *u = arg;
	enter(u);
	u->dead = true;
	if (u->io.h)
		u->io.h->on_eof(u->io.arg);
	leave(u);
}

static void on_lower_error(void *arg, int err)
{
	struct h2up *u = arg;
	enter(u);
	u->dead = true;
	if (u->io.h)
		u->io.h->on_error(u->io.arg, err);
	leave(u);
}

static void on_lower_drain(void *arg)
{
	struct h2up *u = arg;
	enter(u);
	flush(u);
	u->want_drain = true;   /* the stream below drained: forward.c looks again */
	maybe_drain(u);
	leave(u);
}

static const struct io_handler lower_h = {
	.on_read = on_lower_read,
	.on_eof = on_lower_eof,
	.on_error = on_lower_error,
	.on_drain = on_lower_drain,
};

static void h2up_free(struct h2up *u);

/* Around every call out of here: the handler may close us meanwhile. */
static void enter(struct h2up *u)
{
	u->depth++;
}

static void leave(struct h2up *u)
{
	if (--u->depth == 0 && u->closed)
		h2up_free(u);
}

/* ---- the io the upstream code sees ---- */

static int u_write(struct io *io, const void *buf, size_t n)
{
	struct h2up *u = (struct h2up *)io;
	const char *p = buf;
	if (u->closed || !u->ng)
		return AL_EIO;
	if (!u->req_init) {
		http_msg_init(&u->req, true, REQ_HEAD_MAX, REQ_HEADERS_MAX, &req_cb, u);
		u->req_init = true;
	} else if (u->sid == 0 && u->req.phase == MSG_DONE) {
		next_exchange(u);
	}
	while (n) {
		size_t used = 0;
		enum http_feed r = http_msg_feed(&u->req, p, n, &used);
		if (r == HTTP_FEED_ERROR)
			return AL_EIO;
		p += used;
		n -= used;
		if (r == HTTP_FEED_MORE)
			break;
		if (u->req.phase == MSG_BODY) {
			/* the head went as HEADERS: on to the body; one without
			 * a body completes without input */
			http_msg_resume(&u->req);
			if (u->req_end)
				(void)http_msg_feed(&u->req, "", 0, &used);
		} else if (n) {
			return AL_EIO;   /* a second request before the answer: never pipelined */
		}
	}
	enter(u);
	flush(u);
	if (!u->closed && u_queued(&u->io) > IO_HIGH_WATER)
		u->want_drain = true;
	int rc = u->closed ? AL_EIO : 0;
	leave(u);
	return rc;
}

static void u_read_start(struct io *io)
{
	struct h2up *u = (struct h2up *)io;
	u->reading = true;
	enter(u);
	deliver(u);
	leave(u);
}

static void u_read_stop(struct io *io)
{
	((struct h2up *)io)->reading = false;
}

static size_t u_queued(const struct io *io)
{
	const struct h2up *u = (const struct h2up *)io;
	return io_queued(u->lower) + (u->blen - u->boff);
}

static void u_shutdown(struct io *io)
{
	(void)io;   /* a request ends with its framing; nothing to half-close */
}

static void u_close(struct io *io)
{
	struct h2up *u = (struct h2up *)io;
	if (u->closed)
		return;
	u->closed = true;
	if (u->io.h && u->io.h->on_closed)
		u->io.h->on_closed(u->io.arg);
	u->io.h = NULL;
	if (u->ng)
		nghttp2_session_del(u->ng);
	u->ng = NULL;
	io_set_handler(u->lower, NULL, NULL);
	io_close(u->lower);
	if (u->depth == 0)
		h2up_free(u);
}

static void h2up_free(struct h2up *u)
{
	if (u->req_init)
		http_msg_free(&u->req);
	if (u->body)
		secure_free(u->body, u->bcap);
	if (u->resp.p)
		secure_free(u->resp.p, u->resp.cap);
	if (u->fields.p)
		secure_free(u->fields.p, u->fields.cap);
	free(u);
}

static const struct io_ops h2up_ops = {
	.write = u_write,
	.read_start = u_read_start,
	.read_stop = u_read_stop,
	.queued = u_queued,
	.shutdown = u_shutdown,
	.close = u_close,
};

bool h2up_is(const struct io *io)
{
	return io && io->ops == &h2up_ops;
}

int h2up_wrap(struct io *lower, struct io **out)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	struct h2up *u = xcalloc(1, sizeof *u);
	int rc = AL_EUNAVAIL;
	u->io.ops = &h2up_ops;
	u->io.loop = lower->loop;
	u->lower = lower;
	if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		goto out;
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	/* the connection's window goes back as the answer reaches the sandbox */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, AL_H2_HPACK_TABLE_MAX);
	nghttp2_option_set_max_continuations(opt, AL_H2_MAX_CONTINUATIONS);
	nghttp2_option_set_max_settings(opt, AL_H2_MAX_SETTINGS);
	nghttp2_option_set_max_outbound_ack(opt, AL_H2_MAX_OUTBOUND_ACK);
	if (nghttp2_session_client_new2(&u->ng, cb, u, opt) != 0) {
		u->ng = NULL;
		goto out;
	}
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, AL_H2_STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, AL_H2_HPACK_TABLE_MAX },
	};
	if (nghttp2_submit_settings(u->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
	    nghttp2_session_set_local_window_size(u->ng, NGHTTP2_FLAG_NONE, 0, AL_H2_CONN_WINDOW) != 0)
		goto out;
	io_set_handler(lower, &lower_h, u);
	io_read_start(lower);   /* SETTINGS and PINGs are answered whatever the exchange does */
	flush(u);
	*out = &u->io;
	u = NULL;
	rc = 0;
out:
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	if (u) {
		if (u->ng)
			nghttp2_session_del(u->ng);
		free(u);
	}
	return rc;
}
