/* HTTP/2 toward the origin (h2up.h): an io that takes the HTTP/1.1 request
 * forward.c writes and gives back an HTTP/1.1 response, speaking HTTP/2
 * over a TLS stream with nghttp2's client session. One exchange at a time
 * per io, each its own stream; several ios (of one client, to one origin)
 * share a connection, so the pump, the pool (a parked io is parked like
 * any other, for the same client only) and the decision line stay what
 * they are for HTTP/1.1. The
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

/* One HTTP/2 connection to an origin, shared by the exchange ios of one
 * client instance to one host and port (the TLS name): each exchange is a
 * stream of its own, as many at once as the origin's
 * SETTINGS_MAX_CONCURRENT_STREAMS allows. */
struct h2conn {
	struct io *lower;             /* the TLS stream to the origin */
	nghttp2_session *ng;
	struct h2up_list *list;       /* listed: new exchanges may join it */
	struct h2conn *lnext, *lprev;
	struct client_id client;
	char host[AL_HOST_BUF];
	uint16_t port;
	struct h2up *ios;             /* the exchange ios on it (parked ones too) */
	size_t nios;
	unsigned round;               /* visiting each io once while they may go */
	int busy;
	int depth;                    /* inside our callbacks: freed when the last returns */
	bool dead;                    /* GOAWAY, error or EOF: no new stream */
	bool closed;
};

struct h2up {
	struct io io;                 /* first: what the upstream code sees */
	struct h2conn *conn;          /* NULL once closed */
	struct h2up *next, *prev;
	unsigned round;
	bool reading;
	bool closed;
	int depth;                    /* inside our calls out: freed when the last returns */
	bool reserved;                /* joined, its first request not sent yet: counts as a stream */
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

static void flush(struct h2conn *k);
static void deliver(struct h2up *u);
static void enter(struct h2up *u);
static void leave(struct h2up *u);
static void kenter(struct h2conn *k);
static void kleave(struct h2conn *k);
static size_t u_queued(const struct io *io);
static void h2up_free(struct h2up *u);

static struct h2up *stream_of(nghttp2_session *ng, int32_t id)
{
	return id ? nghttp2_session_get_stream_user_data(ng, id) : NULL;
}

/* ---- the request, from forward.c ---- */

static ssize_t body_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *arg)
{
	(void)src;
	(void)arg;
	struct h2up *u = stream_of(ng, id);
	if (!u)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;   /* its io is gone: reset */
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
	struct h2conn *k = u->conn;
	struct http_msg *m = &u->req;
	long hi = http_find(m, "host", 0);
	/* an upgrade cannot cross HTTP/2 (forward.c dials HTTP/1.1 for one) */
	if (hi < 0 || http_find(m, "upgrade", 0) >= 0 || !k || k->dead || !k->ng)
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
		for (size_t j = 0; j < m->hdrs[i].nlen; j++)
			name[j] = (char)tolower((unsigned char)name[j]);
		nv_add(nv, &n, name, m->hdrs[i].nlen, http_value(m, (size_t)i), m->hdrs[i].vlen);
	}
	bool body = http_is_chunked(m) || m->p.content_length > 0;
	u->head_req = m->p.method == HTTP_HEAD;
	u->req_end = !body;
	nghttp2_data_provider prd = { .source.ptr = NULL, .read_callback = body_read };
	int32_t sid = nghttp2_submit_request(k->ng, NULL, nv, n, body ? &prd : NULL, u);
	free(nv);
	if (sid < 0)
		return -1;
	u->sid = u->csid = sid;
	u->reserved = false;
	return HPE_PAUSED;
}

static int req_on_body(void *arg, const char *at, size_t n)
{
	struct h2up *u = arg;
	xgrow_secure(&u->body, &u->bcap, u->blen, u->blen + n, 16384);
	memcpy(u->body + u->blen, at, n);
	u->blen += n;
	if (u->deferred && u->sid && u->conn && u->conn->ng) {
		u->deferred = false;
		(void)nghttp2_session_resume_data(u->conn->ng, u->sid);
	}
	return 0;
}

static int req_on_complete(void *arg)
{
	struct h2up *u = arg;
	u->req_end = true;
	if (u->deferred && u->sid && u->conn && u->conn->ng) {
		u->deferred = false;
		(void)nghttp2_session_resume_data(u->conn->ng, u->sid);
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
	(void)flags;
	(void)arg;
	struct h2up *u = stream_of(ng, f->hd.stream_id);
	if (!u || f->hd.stream_id != u->sid || f->hd.type != NGHTTP2_HEADERS)
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

static void unlist(struct h2conn *k)
{
	if (!k->list)
		return;
	if (k->lprev)
		k->lprev->lnext = k->lnext;
	else
		k->list->head = k->lnext;
	if (k->lnext)
		k->lnext->lprev = k->lprev;
	k->lnext = k->lprev = NULL;
	k->list = NULL;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2conn *k = arg;
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		/* no new stream here; nghttp2 closes those past last-stream-id
		 * (REFUSED_STREAM: their exchanges fail, 502), the others finish */
		k->dead = true;
		unlist(k);
		return 0;
	}
	struct h2up *u = stream_of(ng, f->hd.stream_id);
	if (!u || f->hd.stream_id != u->sid)
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
	(void)arg;
	struct h2up *u = stream_of(ng, id);
	if (!u || id != u->sid || !u->resp_head) {
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
	(void)arg;
	struct h2up *u = stream_of(ng, id);
	if (!u || id != u->sid)
		return 0;
	if (!u->resp_end || error != NGHTTP2_NO_ERROR)
		u->failed = !u->resp_end;   /* reset (or refused by a GOAWAY) before its answer was whole */
	u->sid = 0;
	return 0;
}

/* ---- the connection below ---- */

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
	enter(u);
	if (u->resp.len) {
		char *p = u->resp.p;
		size_t n = u->resp.len, cap = u->resp.cap;
		memset(&u->resp, 0, sizeof u->resp);
		nghttp2_session *ng = u->conn ? u->conn->ng : NULL;
		if (u->unconsumed && ng) {
			/* the window goes back as the answer goes on */
			if (u->csid == 0 || nghttp2_session_consume(ng, u->csid, u->unconsumed) != 0)
				(void)nghttp2_session_consume_connection(ng, u->unconsumed);
		}
		u->unconsumed = 0;
		if (u->resp_end && u->sid == 0 && !u->failed)
			next_exchange(u);   /* before forward.c may write the next request */
		if (u->io.h && u->io.h->on_read)
			u->io.h->on_read(u->io.arg, p, n);
		secure_free(p, cap);
	}
	if (!u->closed && u->failed && u->io.h) {
		u->failed = false;
		u->io.h->on_error(u->io.arg, AL_EPROTO);
	}
	leave(u);
}

static void flush(struct h2conn *k)
{
	if (k->busy || k->closed || !k->ng)
		return;
	k->busy++;
	while (io_queued(k->lower) < IO_HIGH_WATER) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(k->ng, &data);
		if (n <= 0 || io_write(k->lower, data, (size_t)n) < 0)
			break;
	}
	k->busy--;
}

/* The request body waiting here went under IO_LOW_WATER (the origin's
 * window opened): forward.c may write more. */
static void maybe_drain(struct h2up *u)
{
	if (u->want_drain && !u->closed && u_queued(&u->io) < IO_LOW_WATER && u->io.h && u->io.h->on_drain) {
		u->want_drain = false;
		enter(u);
		u->io.h->on_drain(u->io.arg);
		leave(u);
	}
}

/* Each io on k once, whatever the calls out close meanwhile. */
static struct h2up *next_unvisited(struct h2conn *k)
{
	for (struct h2up *u = k->ios; u; u = u->next)
		if (u->round != k->round) {
			u->round = k->round;
			return u;
		}
	return NULL;
}

/* The connection is gone (EOF, error, a fatal frame): no more callbacks
 * from nghttp2 or the stream below; each io hears it. */
static void lower_close(struct h2conn *k)
{
	unlist(k);
	if (k->closed)
		return;
	k->closed = true;
	if (k->ng)
		nghttp2_session_del(k->ng);
	k->ng = NULL;
	io_set_handler(k->lower, NULL, NULL);
	io_close(k->lower);
}

static void conn_down(struct h2conn *k, bool eof, int err)
{
	k->dead = true;
	lower_close(k);
	k->round++;
	for (struct h2up *u; (u = next_unvisited(k)) != NULL;) {
		if (u->closed || !u->io.h)
			continue;
		u->sid = 0;
		enter(u);
		if (eof)
			u->io.h->on_eof(u->io.arg);
		else
			u->io.h->on_error(u->io.arg, err);
		leave(u);
	}
}

static void on_lower_read(void *arg, const char *buf, size_t n)
{
	struct h2conn *k = arg;
	kenter(k);
	k->busy++;
	ssize_t rv = nghttp2_session_mem_recv(k->ng, (const uint8_t *)buf, n);
	k->busy--;
	if (rv < 0) {
		conn_down(k, false, AL_EPROTO);
	} else {
		flush(k);
		k->round++;
		for (struct h2up *u; (u = next_unvisited(k)) != NULL;) {
			deliver(u);
			if (!u->closed)
				maybe_drain(u);
		}
		/* a GOAWAY with nothing left open: the connection is done */
		if (!k->closed && k->ng && !nghttp2_session_want_read(k->ng) && !nghttp2_session_want_write(k->ng))
			conn_down(k, true, 0);
	}
	kleave(k);
}

static void on_lower_eof(void *arg)
{
	struct h2conn *k = arg;
	kenter(k);
	conn_down(k, true, 0);
	kleave(k);
}

static void on_lower_error(void *arg, int err)
{
	struct h2conn *k = arg;
	kenter(k);
	conn_down(k, false, err);
	kleave(k);
}

static void on_lower_drain(void *arg)
{
	struct h2conn *k = arg;
	kenter(k);
	flush(k);
	k->round++;
	for (struct h2up *u; (u = next_unvisited(k)) != NULL;) {
		u->want_drain = true;   /* the stream below drained: forward.c looks again */
		maybe_drain(u);
	}
	kleave(k);
}

static const struct io_handler lower_h = {
	.on_read = on_lower_read,
	.on_eof = on_lower_eof,
	.on_error = on_lower_error,
	.on_drain = on_lower_drain,
};

static void conn_free(struct h2conn *k)
{
	lower_close(k);
	client_id_wipe(&k->client);
	free(k);
}

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

static void kenter(struct h2conn *k)
{
	k->depth++;
}

/* The connection ends with its last io (parked ones count) */
static void kleave(struct h2conn *k)
{
	if (--k->depth == 0 && k->nios == 0)
		conn_free(k);
}

/* ---- the io the upstream code sees ---- */

static int u_write(struct io *io, const void *buf, size_t n)
{
	struct h2up *u = (struct h2up *)io;
	struct h2conn *k = u->conn;
	const char *p = buf;
	if (u->closed || !k || !k->ng)
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
	kenter(k);
	enter(u);
	flush(k);
	if (!u->closed && u_queued(&u->io) > IO_HIGH_WATER)
		u->want_drain = true;
	int rc = u->closed || k->closed ? AL_EIO : 0;
	leave(u);
	kleave(k);
	return rc;
}

static void u_read_start(struct io *io)
{
	struct h2up *u = (struct h2up *)io;
	u->reading = true;
	deliver(u);
}

static void u_read_stop(struct io *io)
{
	((struct h2up *)io)->reading = false;
}

static size_t u_queued(const struct io *io)
{
	const struct h2up *u = (const struct h2up *)io;
	size_t below = u->conn && !u->conn->closed ? io_queued(u->conn->lower) : 0;
	return below + (u->blen - u->boff);
}

static void u_shutdown(struct io *io)
{
	(void)io;   /* a request ends with its framing; nothing to half-close */
}

/* The io leaves its connection: a stream still open is reset (CANCEL),
 * and the connection ends with its last io. */
static void detach(struct h2up *u)
{
	struct h2conn *k = u->conn;
	if (!k)
		return;
	u->conn = NULL;
	if (u->prev)
		u->prev->next = u->next;
	else
		k->ios = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->next = u->prev = NULL;
	k->nios--;
	kenter(k);
	if (u->sid && k->ng) {
		nghttp2_session_set_stream_user_data(k->ng, u->sid, NULL);
		(void)nghttp2_submit_rst_stream(k->ng, NGHTTP2_FLAG_NONE, u->sid, NGHTTP2_CANCEL);
		flush(k);
	}
	u->sid = 0;
	kleave(k);
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
	detach(u);
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

bool h2up_usable(const struct io *io)
{
	const struct h2up *u = (const struct h2up *)io;
	return h2up_is(io) && u->conn && !u->conn->dead && !u->conn->closed;
}

/* A new exchange io on k, counted as a stream until its first request. */
static struct h2up *io_new(struct h2conn *k)
{
	struct h2up *u = xcalloc(1, sizeof *u);
	u->io.ops = &h2up_ops;
	u->io.loop = k->lower->loop;
	u->conn = k;
	u->reserved = true;
	u->round = k->round;
	u->next = k->ios;
	if (k->ios)
		k->ios->prev = u;
	k->ios = u;
	k->nios++;
	return u;
}

/* Streams under way or promised on k. */
static size_t busy_of(const struct h2conn *k)
{
	size_t busy = 0;
	for (const struct h2up *u = k->ios; u; u = u->next)
		busy += u->sid != 0 || u->reserved;
	return busy;
}

/* Streams k may have open at once: the origin's
 * SETTINGS_MAX_CONCURRENT_STREAMS, AL_H2_MAX_STREAMS at most. */
static size_t room_of(const struct h2conn *k)
{
	uint32_t max = nghttp2_session_get_remote_settings(k->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	return max > AL_H2_MAX_STREAMS ? AL_H2_MAX_STREAMS : max;
}

int h2up_join(struct h2up_list *list, const struct client_id *client, const char *host, uint16_t port,
	      struct io **out)
{
	/* the connection with the most room; when all are full, the least
	 * loaded: nghttp2 holds the new stream's HEADERS until one of its
	 * streams ends (never past the origin's limit), as browsers do */
	struct h2conn *best = NULL;
	long best_room = 0;
	for (struct h2conn *k = list->head; k; k = k->lnext) {
		if (k->dead || k->closed || !k->ng || k->port != port || strcmp(k->host, host) != 0 ||
		    !client_id_eq(&k->client, client))
			continue;
		long room = (long)room_of(k) - (long)busy_of(k);
		if (!best || room > best_room) {
			best = k;
			best_room = room;
		}
	}
	if (!best)
		return AL_ENOTFOUND;
	*out = &io_new(best)->io;
	return 0;
}

int h2up_wrap(struct io *lower, struct h2up_list *list, const struct client_id *client, const char *host,
	      uint16_t port, struct io **out)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	struct h2conn *k = xcalloc(1, sizeof *k);
	int rc = AL_EUNAVAIL;
	k->lower = lower;
	k->client = *client;
	snprintf(k->host, sizeof k->host, "%s", host);
	k->port = port;
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
	if (nghttp2_session_client_new2(&k->ng, cb, k, opt) != 0) {
		k->ng = NULL;
		goto out;
	}
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, AL_H2_STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, AL_H2_HPACK_TABLE_MAX },
	};
	if (nghttp2_submit_settings(k->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
	    nghttp2_session_set_local_window_size(k->ng, NGHTTP2_FLAG_NONE, 0, AL_H2_CONN_WINDOW) != 0)
		goto out;
	/* listed: the same client's next exchanges to this origin join it */
	if (list) {
		k->list = list;
		k->lnext = list->head;
		if (list->head)
			list->head->lprev = k;
		list->head = k;
	}
	*out = &io_new(k)->io;
	io_set_handler(lower, &lower_h, k);
	io_read_start(lower);   /* SETTINGS and PINGs are answered whatever the exchanges do */
	flush(k);
	k = NULL;
	rc = 0;
out:
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	if (k) {
		if (k->ng)
			nghttp2_session_del(k->ng);
		client_id_wipe(&k->client);
		free(k);
	}
	return rc;
}
