/* One HTTP/2 stream as the byte stream of its stream conn (h2stream.h):
 * the request written as an HTTP/1.1 head from the HEADERS nghttp2 checked
 * (pseudo-headers to the request line and Host, cookie crumbs joined), the
 * body as DATA brings it; the stream conn's answer parsed by llhttp (as
 * strict as any origin's) and turned into HEADERS, DATA pulled by nghttp2
 * within the sandbox's window, and the end of the stream. The head is the
 * only text we write; every byte of it comes from a field nghttp2 already
 * refused to let carry CR, LF or NUL, and we check again before writing. */
#include "config.h"

#include "enforcer/h2stream.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/conn.h"
#include "enforcer/worker.h"

/* Response heads from our own stream conn: the forward.c caps. */
#define RESP_HEAD_MAX (256 * 1024)
#define RESP_HEADERS_MAX 500

/* ---- the request, toward the stream conn ---- */

static void in_add(struct h2s *st, const void *p, size_t n)
{
	xgrow_secure(&st->in, &st->incap, st->inlen, st->inlen + n, 4096);
	memcpy(st->in + st->inlen, p, n);
	st->inlen += n;
}

/* The head being written stops growing one byte past the cap: the stream
 * conn's parser refuses it with 431 as it would an HTTP/1.1 head. */
static void head_add(struct h2s *st, const void *p, size_t n)
{
	size_t cap = st->sess->max_head + 1;
	if (st->overflow)
		return;
	if (st->head.len + n > cap) {
		n = cap - st->head.len;
		st->overflow = true;
	}
	sbuf_add(&st->head, p, n);
}

static bool field_ok(const uint8_t *v, size_t n, bool no_space)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0' || v[i] == 0x7f || (no_space && v[i] <= ' '))
			return false;
	return true;
}

static bool name_ok(const uint8_t *v, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower(v[i]) || isdigit(v[i]) || strchr("!#$%&'*+-.^_`|~", v[i])) || v[i] == 0)
			return false;
	return true;
}

static bool is(const uint8_t *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

void h2stream_on_header(struct h2s *st, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
	if (st->capped && is(name, nlen, "content-type") && vlen >= 16 &&
	    strncasecmp((const char *)value, "application/grpc", 16) == 0)
		st->grpc = true;
	if (st->bad)
		return;
	if (nlen && name[0] == ':') {
		/* nghttp2 has checked that they come first, once each, and are
		 * the four a request may carry (no :protocol: RFC 8441 is not
		 * enabled) */
		if (!field_ok(value, vlen, true) || vlen == 0 || vlen > st->sess->max_head) {
			st->bad = true;
		} else if (is(name, nlen, ":method")) {
			if (vlen >= sizeof st->method) {
				st->bad = true;
				return;
			}
			memcpy(st->method, value, vlen);
			st->method[vlen] = '\0';
			st->got_method = true;
		} else if (is(name, nlen, ":path")) {
			st->got_path = true;
			sbuf_add(&st->path, (const char *)value, vlen);
		} else if (is(name, nlen, ":authority")) {
			st->got_authority = true;
			sbuf_add(&st->authority, (const char *)value, vlen);
		} else if (is(name, nlen, ":scheme")) {
			st->got_scheme = true;
			if (!is(value, vlen, "https"))
				st->bad = true;   /* the tunnel is TLS: nothing else is meant */
		} else {
			st->bad = true;
		}
		return;
	}
	if (!name_ok(name, nlen) || !field_ok(value, vlen, false)) {
		st->bad = true;
		return;
	}
	if (is(name, nlen, "cookie")) {
		if (st->cookie.len)
			sbuf_add(&st->cookie, "; ", 2);
		if (st->cookie.len + vlen <= st->sess->max_head)
			sbuf_add(&st->cookie, (const char *)value, vlen);
		else
			st->overflow = true;
		return;
	}
	/* A Host beside :authority is left in: the stream conn's parser
	 * refuses a head with two. A content-length is kept (nghttp2 checks
	 * the DATA against it); without one the body goes as chunks. */
	if (is(name, nlen, "content-length"))
		st->has_length = true;
	head_add(st, name, nlen);
	head_add(st, ": ", 2);
	head_add(st, value, vlen);
	head_add(st, "\r\n", 2);
}

static void sbuf_wipe(struct sbuf *b)
{
	if (b->p)
		secure_free(b->p, b->cap);
	memset(b, 0, sizeof *b);
}

/* Past the client's open-stream cap: 429 on this stream from here (no
 * stream conn, no upstream), its request body dropped as it comes. */
static void answer_capped(struct h2s *st)
{
	struct h2sess *s = st->sess;
	const char *reason = reason_name(REASON_TOO_MANY_STREAMS);
	char gmsg[64];
	snprintf(gmsg, sizeof gmsg, "airlock: %s", reason);
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
	/* a gRPC call gets a trailers-only answer: RESOURCE_EXHAUSTED */
	const nghttp2_nv http[] = { NV(":status", "429"), NV("x-airlock-reason", reason), NV("content-length", "0") };
	const nghttp2_nv grpc[] = { NV(":status", "200"), NV("content-type", "application/grpc"),
				    NV("grpc-status", "8"), NV("grpc-message", gmsg), NV("x-airlock-reason", reason) };
#undef NV
	const nghttp2_nv *nv = st->grpc ? grpc : http;
	size_t nnv = st->grpc ? sizeof grpc / sizeof grpc[0] : sizeof http / sizeof http[0];
	st->bad = true;
	st->started = true;     /* no stream conn will start ... */
	st->io_closed = true;   /* ... nor wait to close: freed with the stream */
	if (!s->cap_logged && s->c) {
		s->cap_logged = true;
		log_info("h2 stream refused", KV_S("client", s->c->who.name), KV_S("reason", reason),
			 KV_I("max", s->c->w->px->cfg->max_h2_streams_per_client));
	}
	if (nghttp2_submit_response(s->ng, st->id, nv, nnv, NULL) != 0)
		(void)nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
}

void h2stream_on_head_done(struct h2s *st, bool end)
{
	static const char bad[] = "BAD * HTTP/1.1\r\n\r\n";
	st->head_done = true;
	st->req_end = end;
	if (st->capped) {
		answer_capped(st);
		goto out;
	}
	if (!st->got_method || !st->got_path || !st->got_scheme || strcmp(st->method, "CONNECT") == 0)
		st->bad = true;
	if (st->bad) {
		/* a line its parser refuses: the stream conn answers 400 */
		in_add(st, bad, sizeof bad - 1);
		st->req_end = true;
		goto out;
	}
	st->head_req = strcmp(st->method, "HEAD") == 0;
	in_add(st, st->method, strlen(st->method));
	in_add(st, " ", 1);
	in_add(st, st->path.p, st->path.len);
	in_add(st, " HTTP/1.1\r\n", 11);
	if (st->got_authority) {
		in_add(st, "host: ", 6);
		in_add(st, st->authority.p, st->authority.len);
		in_add(st, "\r\n", 2);
	}
	if (st->cookie.len) {
		head_add(st, "cookie: ", 8);
		head_add(st, st->cookie.p, st->cookie.len);
		head_add(st, "\r\n", 2);
	}
	if (!end && !st->has_length) {
		st->chunked = true;
		head_add(st, "transfer-encoding: chunked\r\n", 28);
	}
	/* past the cap the head ends without its blank line: the parser
	 * refuses it (431) before it would look for one */
	if (!st->overflow)
		head_add(st, "\r\n", 2);
	if (st->head.len)
		in_add(st, st->head.p, st->head.len);
	if (st->overflow)
		st->req_end = true;
out:
	sbuf_wipe(&st->head);
	sbuf_wipe(&st->cookie);
	sbuf_wipe(&st->path);
	sbuf_wipe(&st->authority);
}

void h2stream_on_data(struct h2s *st, const uint8_t *data, size_t n)
{
	if (n == 0)
		return;
	if (st->capped) {
		/* no stream conn takes it: the window goes back at once */
		(void)nghttp2_session_consume(st->sess->ng, st->id, n);
		return;
	}
	st->unconsumed += n;
	if (st->bad || st->req_end)
		return;
	if (st->chunked) {
		char hx[CHUNK_HEAD_MAX];
		in_add(st, hx, chunk_head(hx, n));
		in_add(st, data, n);
		in_add(st, CHUNK_TAIL, 2);
	} else {
		in_add(st, data, n);
	}
}

void h2stream_on_end(struct h2s *st)
{
	if (st->req_end)
		return;
	st->req_end = true;
	if (st->chunked)
		in_add(st, CHUNK_LAST, sizeof CHUNK_LAST - 1);
}

/* ---- the response, from the stream conn ---- */

static ssize_t read_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
		       nghttp2_data_source *src, void *arg);

static int resp_on_head(void *arg)
{
	struct h2s *st = arg;
	struct http_msg *m = &st->resp;
	int status = m->p.status_code;
	if (status < 200)
		return 1;   /* interim answers stay on this side (100-continue) */
	nghttp2_nv *nv = xcalloc(m->nhdrs + 1, sizeof *nv);
	char sb[8];
	size_t n = 0;
	snprintf(sb, sizeof sb, "%03d", status);
	nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)sb, 7, strlen(sb), NGHTTP2_NV_FLAG_NONE };
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (http_is_hop(m, i) || http_name_is(m, i, "transfer-encoding") || http_name_is(m, i, "connection"))
			continue;
		/* HTTP/2 field names are lower case: in place, in our own arena */
		char *name = m->arena + m->hdrs[i].name;
		for (size_t k = 0; k < m->hdrs[i].nlen; k++)
			name[k] = (char)tolower((unsigned char)name[k]);
		nv[n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)http_value(m, i), m->hdrs[i].nlen,
					m->hdrs[i].vlen, NGHTTP2_NV_FLAG_NONE };
	}
	/* no DATA for an answer that has none: its HEADERS end the stream
	 * (gRPC's trailers-only answers are this) */
	long cl = http_find(m, "content-length", 0);
	bool no_body = st->head_req || status == 204 || status == 304 ||
		       (cl >= 0 && m->hdrs[cl].vlen == 1 && http_value(m, (size_t)cl)[0] == '0');
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_cb };
	int rc = nghttp2_submit_response(st->sess->ng, st->id, nv, n, no_body ? NULL : &prd);
	free(nv);
	if (rc != 0)
		return -1;
	st->submitted = true;
	return no_body ? 1 : 0;
}

static int resp_on_body(void *arg, const char *at, size_t n)
{
	struct h2s *st = arg;
	xgrow(&st->out, &st->outcap, st->outlen + n, 16384);
	memcpy(st->out + st->outlen, at, n);
	st->outlen += n;
	return 0;
}

static int resp_on_complete(void *arg)
{
	struct h2s *st = arg;
	if (st->resp.p.status_code < 200)
		return 0;
	st->resp_end = true;
	return HPE_PAUSED;
}

static const struct http_msg_cb resp_cb = {
	.on_head = resp_on_head,
	.on_body = resp_on_body,
	.on_complete = resp_on_complete,
};

static void resume(struct h2s *st)
{
	if (st->deferred && st->sess && !st->ng_closed) {
		st->deferred = false;
		(void)nghttp2_session_resume_data(st->sess->ng, st->id);
	}
}

/* The answer's trailers (the stream conn passed the origin's on, parsed
 * and checked by http.c) end the stream instead of the last DATA frame. */
static void trailers(struct h2s *st, uint32_t *flags)
{
	struct http_msg *m = &st->resp;
	if (!m->tlen)
		return;
	nghttp2_nv nv[64];
	size_t n = 0, i = 0;
	while (i < m->tlen && n < sizeof nv / sizeof nv[0]) {
		char *name = m->trailers + i;
		char *colon = memchr(name, ':', m->tlen - i);
		char *eol = colon ? memchr(colon, '\r', m->tlen - (size_t)(colon - m->trailers)) : NULL;
		if (!eol)
			break;
		for (char *k = name; k < colon; k++)
			*k = (char)tolower((unsigned char)*k);
		nv[n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)colon + 2, (size_t)(colon - name),
					(size_t)(eol - colon - 2), NGHTTP2_NV_FLAG_NONE };
		i = (size_t)(eol - m->trailers) + 2;
	}
	if (n && nghttp2_submit_trailer(st->sess->ng, st->id, nv, n) == 0)
		*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
}

/* nghttp2 asks for DATA as the sandbox's window allows: what waits in
 * `out`, or the end of the stream, or "later" (resume_data when more comes). */
static ssize_t read_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
		       nghttp2_data_source *src, void *arg)
{
	(void)ng;
	(void)id;
	(void)arg;
	struct h2s *st = src->ptr;
	size_t have = st->outlen - st->outoff;
	if (have == 0) {
		if (st->resp_end) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			trailers(st, flags);
			return 0;
		}
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	bool high = have >= IO_LOW_WATER;
	size_t n = have < length ? have : length;
	memcpy(buf, st->out + st->outoff, n);
	st->outoff += n;
	if (st->outoff == st->outlen) {
		st->outoff = st->outlen = 0;
		if (st->resp_end) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			trailers(st, flags);
		}
	}
	if (high && st->outlen - st->outoff < IO_LOW_WATER)
		st->drain_due = true;
	return (ssize_t)n;
}

/* The stream's answer is broken or cut short: the sandbox sees the stream
 * reset, never a truncated body that looks whole. */
static void reset(struct h2s *st, uint32_t code)
{
	if (st->sess && !st->ng_closed)
		(void)nghttp2_submit_rst_stream(st->sess->ng, NGHTTP2_FLAG_NONE, st->id, code);
}

/* ---- the io the stream conn sees ---- */

static int s_write(struct io *io, const void *buf, size_t n)
{
	struct h2s *st = (struct h2s *)io;
	if (!st->sess || st->ng_closed || st->shut)
		return AL_EIO;
	if (!st->resp_init) {
		http_msg_init(&st->resp, false, RESP_HEAD_MAX, RESP_HEADERS_MAX, &resp_cb, st);
		st->resp.keep_trailers = true;
		st->resp_init = true;
	}
	const char *p = buf;
	while (n && !st->resp_end) {
		size_t used = 0;
		enum http_feed r = http_msg_feed(&st->resp, p, n, &used);
		if (r == HTTP_FEED_ERROR) {
			reset(st, NGHTTP2_INTERNAL_ERROR);
			h2sess_kick(st->sess);
			return AL_EIO;
		}
		p += used;
		n -= used;
		if (r == HTTP_FEED_MORE)
			break;
		if (!st->resp_end)
			http_msg_resume(&st->resp);   /* after an interim answer */
	}
	resume(st);
	h2sess_flush(st->sess);
	return 0;
}

static void s_read_start(struct io *io)
{
	struct h2s *st = (struct h2s *)io;
	if (st->reading)
		return;
	st->reading = true;
	if (st->sess && (st->inlen || (st->ng_closed && !st->eof_given)))
		h2sess_kick(st->sess);
}

static void s_read_stop(struct io *io)
{
	((struct h2s *)io)->reading = false;
}

static size_t s_queued(const struct io *io)
{
	const struct h2s *st = (const struct h2s *)io;
	return st->outlen - st->outoff;
}

/* The stream conn's last answer is written: a body that ends with the
 * close ends here; one without its end is cut short. */
static void s_shutdown(struct io *io)
{
	struct h2s *st = (struct h2s *)io;
	if (st->shut)
		return;
	st->shut = true;
	if (st->resp_init && !st->resp_end && http_msg_finish(&st->resp))
		st->resp_end = true;
	if (!st->submitted || !st->resp_end)
		reset(st, NGHTTP2_INTERNAL_ERROR);
	resume(st);
	if (st->sess) {
		h2sess_kick(st->sess);
		h2sess_flush(st->sess);
	}
}

static void s_close(struct io *io)
{
	struct h2s *st = (struct h2s *)io;
	struct conn *child = st->child;
	if (st->io_closed)
		return;
	st->io_closed = true;
	st->child = NULL;
	if (!st->shut)
		s_shutdown(io);
	else if (!st->resp_end)
		reset(st, NGHTTP2_CANCEL);
	/* what the sandbox sent and nobody will read: its window comes back */
	if (st->sess && !st->ng_closed && st->unconsumed) {
		(void)nghttp2_session_consume(st->sess->ng, st->id, st->unconsumed);
		st->unconsumed = 0;
	}
	if (st->sess)
		h2sess_kick(st->sess);
	if (io->h && io->h->on_closed)
		io->h->on_closed(io->arg);
	(void)child;
	io->h = NULL;
	io->arg = NULL;
	if (!st->sess)
		h2stream_free(st);
}

static const struct io_ops stream_ops = {
	.write = s_write,
	.read_start = s_read_start,
	.read_stop = s_read_stop,
	.queued = s_queued,
	.shutdown = s_shutdown,
	.close = s_close,
};

/* ---- the stream's life ---- */

struct h2s *h2stream_new(struct h2sess *s, int32_t id)
{
	struct h2s *st = xcalloc(1, sizeof *st);
	st->io.ops = &stream_ops;
	st->io.loop = s->c ? s->c->io->loop : NULL;   /* no connection: the fuzz target */
	st->sess = s;
	st->id = id;
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	s->nstreams++;
	if (s->c) {
		/* open streams per client, over all its connections: past the
		 * cap this one is answered 429 without a stream conn */
		struct proxy *px = s->c->w->px;
		if (connlimit_acquire(px->per_client_streams, s->c->who.name, px->cfg->max_h2_streams_per_client) < 0)
			st->capped = true;
		else
			st->counted = true;
	}
	return st;
}

static void unlink_stream(struct h2s *st)
{
	struct h2sess *s = st->sess;
	if (!s)
		return;
	if (!st->ng_closed && s->ng)
		nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->next = st->prev = NULL;
	s->nstreams--;
	if (st->counted) {
		st->counted = false;
		connlimit_release(s->c->w->px->per_client_streams, s->c->who.name);
	}
	st->sess = NULL;
}

void h2stream_free(struct h2s *st)
{
	unlink_stream(st);
	if (st->in)
		secure_free(st->in, st->incap);
	sbuf_wipe(&st->head);
	sbuf_wipe(&st->cookie);
	sbuf_wipe(&st->path);
	sbuf_wipe(&st->authority);
	if (st->resp_init)
		http_msg_free(&st->resp);
	free(st->out);
	free(st);
}

bool h2stream_pump(struct h2s *st)
{
	struct h2sess *s = st->sess;
	if (!st->started && st->head_done && !s->dead && !st->ng_closed) {
		st->started = true;
		st->child = conn_new_stream(s->c, &st->io);
	}
	/* the stream conn takes what is waiting while it reads; the window
	 * goes back for what it took */
	if (st->child && st->reading && st->inlen) {
		char *buf = st->in;
		size_t n = st->inlen, cap = st->incap, give = st->unconsumed;
		st->in = NULL;
		st->inlen = st->incap = 0;
		st->unconsumed = 0;
		if (give && !st->ng_closed)
			(void)nghttp2_session_consume(s->ng, st->id, give);
		st->io.h->on_read(st->io.arg, buf, n);
		secure_free(buf, cap);
	}
	if (st->child && st->ng_closed && !st->eof_given) {
		/* a stream that ended cleanly, its answer whole and what it sent
		 * taken, is the peer's EOF; one reset or cut short takes its
		 * request (and its upstream) with it */
		bool clean = st->ng_error == NGHTTP2_NO_ERROR && st->resp_end;
		if (!clean || (st->reading && st->inlen == 0)) {
			st->eof_given = true;
			if (clean)
				st->io.h->on_eof(st->io.arg);
			else
				st->io.h->on_error(st->io.arg, AL_EIO);
		}
	}
	if (st->ng_closed && (!st->started || st->io_closed)) {
		h2stream_free(st);
		return false;
	}
	return true;
}

void h2stream_detach(struct h2s *st, bool revoked)
{
	struct conn *child = st->child;
	unlink_stream(st);
	st->ng_closed = true;
	if (child && !st->io_closed) {
		/* its io closes with it, and frees st (no session any more) */
		if (revoked)
			conn_revoke(child, REASON_CLIENT_REVOKED);
		else
			conn_abort(child);
		return;
	}
	h2stream_free(st);
}
