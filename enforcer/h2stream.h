/* Inside the HTTP/2 side (h2.h): the session (h2.c) and its streams
 * (h2stream.c), each stream the byte stream (struct io) of one stream conn.
 *
 * A stream's life: HEADERS arrive (h2.c gathers them into an HTTP/1.1 head,
 * h2stream_on_header) -> the stream conn starts and reads that head, then
 * the request body as DATA brings it (re-framed as chunks when no
 * content-length was given); the window is only given back to the sandbox
 * (nghttp2_session_consume) once the stream conn has taken the bytes, so a
 * slow origin slows the sandbox down -> what the stream conn writes is parsed
 * as an HTTP/1.1 response: its head becomes HEADERS, its body DATA pulled by
 * nghttp2 as the sandbox's window allows (io_queued reports what waits, so
 * forward.c stops reading the origin past IO_HIGH_WATER) -> nghttp2 closes
 * the stream: the stream conn reads EOF (or an error if cut short) and
 * closes; the stream is freed once both are gone. */
#ifndef AIRLOCK_ENFORCER_H2STREAM_H
#define AIRLOCK_ENFORCER_H2STREAM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "enforcer/http.h"
#include "enforcer/io.h"
#include "enforcer/reqhead.h"

struct conn;
struct h2s;

struct h2sess {
	struct conn *c;               /* the sandbox connection (CS_H2) */
	nghttp2_session *ng;
	struct h2s *streams;          /* every stream not yet freed */
	size_t nstreams;
	int busy;                     /* inside nghttp2 (recv, send): no re-entry */
	bool want_pump;               /* something happened inside: pump after */
	bool dead;                    /* closing: no new stream conn */
	bool abort_due;               /* a write failed: the connection ends on the kick */
	uv_timer_t kick;              /* a later turn of the loop for deferred work */
	bool kick_armed;
	size_t max_head;              /* the request head cap (--max-head-bytes) */
	bool cap_logged;              /* the per-client stream cap was logged once */
	/* nghttp2's frame buffer (h2.c's allocator): pages of its own, given
	 * back to the kernel while the session is idle */
	void *scratch;
	size_t scratch_len;
	bool scratch_dirty;           /* written since it was last given back */
	bool creating;                /* inside nghttp2_session_server_new3 */
};

struct h2s {
	struct io io;                 /* first: the stream conn's byte stream */
	struct h2sess *sess;          /* NULL once the session is gone */
	int32_t id;
	struct h2s *next, *prev;
	struct conn *child;           /* the stream conn; NULL before it starts or once closed */
	bool started;                 /* the stream conn was created */
	bool io_closed;               /* it closed its io */
	bool ng_closed;               /* nghttp2 closed the stream */
	uint32_t ng_error;            /* ... with this error code */
	bool eof_given;               /* EOF or error handed to the stream conn */
	/* the request */
	struct sbuf head;             /* its header lines, being written from HEADERS */
	char method[32];
	bool got_method, got_path, got_authority, got_scheme;
	bool has_length;              /* a content-length came: the body goes as is */
	struct sbuf path, authority;  /* the pseudo-headers, until the block ends */
	bool bad;                     /* a field we refuse: answered 400 */
	bool counted;                 /* charged in the client's open-stream count */
	bool capped;                  /* past that cap: answered 429 here, no stream conn */
	bool grpc;                    /* content-type application/grpc (seen when capped) */
	bool overflow;                /* the head passed the cap: the stream conn answers 431 */
	struct sbuf cookie;           /* cookie crumbs, joined (RFC 9113 8.2.3) */
	bool head_done;
	bool chunked;                 /* no content-length: the body goes as chunks */
	bool req_end;                 /* END_STREAM seen */
	char *in;                     /* bytes for the stream conn, not yet taken */
	size_t inlen, incap;
	size_t unconsumed;            /* DATA bytes in `in`: window given back once taken */
	bool reading;                 /* the stream conn reads */
	/* the response */
	struct http_msg resp;
	bool resp_init;
	bool head_req;                /* HEAD: no body follows the response head */
	bool submitted;               /* HEADERS sent (nghttp2_submit_response) */
	bool resp_end;                /* the whole response is in `out` */
	bool deferred;                /* nghttp2 waits for body bytes (resume_data) */
	bool shut;                    /* the stream conn said its last word */
	bool drain_due;               /* out fell under IO_LOW_WATER: tell the stream conn */
	char *out;                    /* response body bytes waiting for DATA frames */
	size_t outlen, outoff, outcap;
};

/* h2.c -> h2stream.c */
struct h2s *h2stream_new(struct h2sess *s, int32_t id);
/* One request header field (names lower case, checked by nghttp2 and again
 * here); false: refuse the stream. */
void h2stream_on_header(struct h2s *st, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen);
/* The request's header block is complete; end: it carried END_STREAM. */
void h2stream_on_head_done(struct h2s *st, bool end);
void h2stream_on_data(struct h2s *st, const uint8_t *data, size_t n);
void h2stream_on_end(struct h2s *st);
/* Start stream conns, hand bytes and EOF on, free what is done; false when
 * st was freed. */
bool h2stream_pump(struct h2s *st);
/* The session is gone: the stream conn gets an error and st is detached. */
void h2stream_detach(struct h2s *st, bool revoked);
void h2stream_free(struct h2s *st);

/* The nghttp2 server session of s (s->max_head set; s->c may be NULL in
 * the fuzz target): callbacks, airlock's caps, our SETTINGS queued. */
int h2_session_new(struct h2sess *s) AL_MUST_CHECK;

/* h2stream.c -> h2.c */
void h2sess_flush(struct h2sess *s);
void h2sess_kick(struct h2sess *s);

#endif
