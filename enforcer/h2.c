/* The HTTP/2 server session toward the sandbox (h2.h): nghttp2 configured
 * with airlock's caps (common/limits.h), fed with what the TLS stream
 * reads, asked for what to write while the sandbox's stream takes it, and
 * its callbacks handed to the streams (h2stream.c). nghttp2 is never
 * re-entered from one of its own callbacks: what the callbacks set off
 * (a stream conn starting, bytes handed on) runs after it returns. */
#include "config.h"

#include "enforcer/h2.h"

#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/conn.h"
#include "enforcer/h2stream.h"
#include "enforcer/worker.h"

static struct h2s *stream_of(nghttp2_session *ng, int32_t id)
{
	return nghttp2_session_get_stream_user_data(ng, id);
}

/* ---- nghttp2's callbacks ---- */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2sess *s = arg;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (s->dead)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	struct h2s *st = h2stream_new(s, f->hd.stream_id);
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
	(void)flags;
	(void)arg;
	struct h2s *st = stream_of(ng, f->hd.stream_id);
	/* trailers of a request: HTTP/1.1 toward the origin has nowhere to
	 * put them (its body is chunked by us); they are dropped */
	if (!st || f->hd.type != NGHTTP2_HEADERS || st->head_done)
		return 0;
	h2stream_on_header(st, name, nlen, value, vlen);
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2sess *s = arg;
	struct h2s *st;
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		if (!(st = stream_of(ng, f->hd.stream_id)))
			return 0;
		if (!st->head_done)
			h2stream_on_head_done(st, end);
		else if (end)
			h2stream_on_end(st);
		s->want_pump = true;
		return 0;
	case NGHTTP2_DATA:
		if (end && (st = stream_of(ng, f->hd.stream_id)) != NULL) {
			h2stream_on_end(st);
			s->want_pump = true;
		}
		return 0;
	default:
		return 0;
	}
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
			 void *arg)
{
	(void)flags;
	struct h2sess *s = arg;
	struct h2s *st = stream_of(ng, id);
	if (!st) {
		/* a stream we no longer follow: its window is not ours to hold */
		nghttp2_session_consume_connection(ng, len);
		return 0;
	}
	h2stream_on_data(st, data, len);
	s->want_pump = true;
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error, void *arg)
{
	struct h2sess *s = arg;
	struct h2s *st = stream_of(ng, id);
	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	st->ng_closed = true;
	st->ng_error = error;
	s->want_pump = true;
	return 0;
}

/* ---- nghttp2's memory ---- */

/* nghttp2 takes a 16 KiB frame buffer when a session is created, where
 * each outgoing frame is written before we copy it out; it is dead between
 * frames, yet once written its pages stay in an idle connection's RSS.
 * Our allocator gives that one buffer pages of its own (the first
 * allocation of at least H2_SCRATCH_MIN while the session is created) and
 * h2sess_flush hands them back to the kernel (MADV_DONTNEED: zero pages
 * on the next write) when nothing is left to send and no stream is open.
 * Everything else is plain malloc. */
#define H2_SCRATCH_MIN (16 * 1024)

static void *big_alloc(struct h2sess *s, size_t n)
{
	if (!s->creating || s->scratch || n < H2_SCRATCH_MIN)
		return NULL;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;   /* malloc then, kept as it is */
	s->scratch = p;
	s->scratch_len = n;
	return p;
}

static void *m_malloc(size_t n, void *arg)
{
	void *p = big_alloc(arg, n);
	return p ? p : malloc(n);
}

static void m_free(void *p, void *arg)
{
	struct h2sess *s = arg;
	if (p && p == s->scratch) {
		munmap(p, s->scratch_len);
		s->scratch = NULL;
		return;
	}
	free(p);
}

static void *m_calloc(size_t n, size_t size, void *arg)
{
	void *p = size && n <= SIZE_MAX / size ? big_alloc(arg, n * size) : NULL;
	return p ? p : calloc(n, size);   /* fresh pages are zero */
}

static void *m_realloc(void *p, size_t n, void *arg)
{
	struct h2sess *s = arg;
	if (!p)
		return m_malloc(n, arg);
	if (p == s->scratch) {
		void *q = malloc(n);
		if (!q)
			return NULL;
		memcpy(q, p, n < s->scratch_len ? n : s->scratch_len);
		m_free(p, arg);
		return q;
	}
	return realloc(p, n);
}

/* Idle: the frame buffer's pages go back (no frame is half sent when
 * nghttp2 wants to write nothing). */
static void scratch_release(struct h2sess *s)
{
	if (s->scratch && s->scratch_dirty && s->nstreams == 0 && !nghttp2_session_want_write(s->ng)) {
		(void)madvise(s->scratch, s->scratch_len, MADV_DONTNEED);
		s->scratch_dirty = false;
	}
}

/* ---- the session's turns ---- */

static void pump(struct h2sess *s)
{
	s->want_pump = false;
	for (struct h2s *st = s->streams, *n; st; st = n) {
		n = st->next;
		(void)h2stream_pump(st);
	}
	/* no stream: the connection idles on the keep-alive timer */
	if (s->c->state == CS_H2)
		conn_h2_idle(s->c, s->nstreams == 0);
}

static void on_kick(uv_timer_t *t);

void h2sess_flush(struct h2sess *s)
{
	struct conn *c = s->c;
	if (s->busy || c->state != CS_H2 || s->abort_due)
		return;
	s->busy++;
	int rc = 0;
	while (io_queued(c->io) < IO_HIGH_WATER) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(s->ng, &data);
		if (n <= 0) {
			rc = (int)n;
			break;
		}
		s->scratch_dirty = true;
		c->d.bytes_down += (uint64_t)n;
		if (io_write(c->io, data, (size_t)n) < 0) {
			rc = -1;
			break;
		}
	}
	s->busy--;
	if (rc < 0) {
		/* the sandbox's connection is gone: it ends on the next turn of
		 * the loop, never under the stream conn whose write got here
		 * (its io would be freed beneath it) */
		s->abort_due = true;
		s->dead = true;
		s->kick_armed = true;
		uv_timer_start(&s->kick, on_kick, 0, 0);
		return;
	}
	scratch_release(s);
	/* the streams whose queue went down: their origin may be read again */
	for (struct h2s *st = s->streams; st; st = st->next) {
		if (st->drain_due && st->child && st->io.h && st->io.h->on_drain) {
			st->drain_due = false;
			st->io.h->on_drain(st->io.arg);
		}
	}
	if (c->state == CS_H2 && !nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng) &&
	    io_queued(c->io) == 0)
		conn_finish(c);   /* GOAWAY sent and nothing left open */
}

static void on_kick(uv_timer_t *t)
{
	struct h2sess *s = t->data;
	s->kick_armed = false;
	if (s->c->state != CS_H2)
		return;
	if (s->abort_due) {
		conn_abort(s->c);
		return;
	}
	pump(s);
	h2sess_flush(s);
}

void h2sess_kick(struct h2sess *s)
{
	if (s->kick_armed || s->dead)
		return;
	s->kick_armed = true;
	uv_timer_start(&s->kick, on_kick, 0, 0);
}

void h2_read(struct conn *c, const char *buf, size_t n)
{
	struct h2sess *s = c->h2;
	c->d.bytes_up += n;
	s->busy++;
	ssize_t rv = nghttp2_session_mem_recv(s->ng, (const uint8_t *)buf, n);
	s->busy--;
	if (rv < 0) {
		/* fatal for the session (protocol errors nghttp2 answers itself,
		 * with its GOAWAY, and carries on): a flood of frames whose
		 * answers the sandbox does not read, a bad preface */
		log_info("h2 session ended", KV_S("client", c->who.name), KV_S("error", nghttp2_strerror((int)rv)));
		s->dead = true;
		(void)nghttp2_session_terminate_session(s->ng, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
											: NGHTTP2_PROTOCOL_ERROR);
		/* the GOAWAY goes behind what is queued (when it fits), then the
		 * connection closes: a peer that floods and never reads must not
		 * hold it open on the idle timer. A flood's close drops what is
		 * queued: closed gracefully, the kernel would go on feeding the
		 * flooder its backlog of acks, through its small window, long
		 * after we let go of the socket */
		h2sess_flush(s);
		if (rv == NGHTTP2_ERR_FLOODED)
			io_discard(c->io);
		if (c->state == CS_H2)
			conn_finish(c);
		return;
	}
	pump(s);
	h2sess_flush(s);
}

void h2_drain(struct conn *c)
{
	h2sess_flush(c->h2);
}

/* ---- start and end ---- */

static void on_kick_closed(uv_handle_t *h)
{
	free(h->data);
}

int h2_session_new(struct h2sess *s)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	int rc = AL_EUNAVAIL;   /* nghttp2 could not set up (out of memory) */
	s->ng = NULL;
	if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		goto out;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	/* the window goes back only as the stream conn takes the bytes */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, AL_H2_HPACK_TABLE_MAX);
	nghttp2_option_set_max_continuations(opt, AL_H2_MAX_CONTINUATIONS);
	nghttp2_option_set_stream_reset_rate_limit(opt, AL_H2_RESET_BURST, AL_H2_RESET_RATE);
	nghttp2_option_set_max_settings(opt, AL_H2_MAX_SETTINGS);
	nghttp2_option_set_max_outbound_ack(opt, AL_H2_MAX_OUTBOUND_ACK);
	nghttp2_mem mem = { s, m_malloc, m_free, m_calloc, m_realloc };
	s->creating = true;
	int nrc = nghttp2_session_server_new3(&s->ng, cb, s, opt, &mem);
	s->creating = false;
	if (nrc != 0) {
		s->ng = NULL;
		goto out;
	}
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, AL_H2_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, AL_H2_HPACK_TABLE_MAX },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)s->max_head },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, AL_H2_STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
	};
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, AL_H2_CONN_WINDOW) != 0)
		goto out;
	rc = 0;
out:
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	if (rc < 0 && s->ng) {
		nghttp2_session_del(s->ng);
		s->ng = NULL;
	}
	return rc;
}

int h2_start(struct conn *c)
{
	struct h2sess *s = xcalloc(1, sizeof *s);
	s->c = c;
	s->max_head = c->w->px->cfg->max_head_bytes;
	if (h2_session_new(s) < 0) {
		free(s);
		return AL_EUNAVAIL;
	}
	uv_timer_init(&c->w->loop, &s->kick);
	s->kick.data = s;
	c->h2 = s;
	conn_set_state(c, CS_H2);
	conn_h2_idle(c, true);
	h2sess_flush(s);
	return 0;
}

void h2_free(struct conn *c, bool revoked)
{
	struct h2sess *s = c->h2;
	if (!s)
		return;
	c->h2 = NULL;
	s->dead = true;
	/* each stream conn ends with its session; a stream whose conn is
	 * already gone is freed here */
	while (s->streams)
		h2stream_detach(s->streams, revoked);
	nghttp2_session_del(s->ng);
	s->ng = NULL;
	uv_timer_stop(&s->kick);
	uv_close((uv_handle_t *)&s->kick, on_kick_closed);
}
