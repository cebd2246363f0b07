/* libFuzzer target, differential: for any request stream airlock accepts,
 * what it would send upstream for each request — the head reqhead_build
 * writes (with an injected Authorization when the first input byte says
 * so) and the body as forward.c frames it (chunk_head / CHUNK_LAST) — is
 * read back by a plain llhttp parser as exactly one request with the same
 * method, the matched target, the same body bytes, exactly one
 * Authorization carrying the injected value, and nothing after it. A
 * request that names a framing header in Connection, or any other trick,
 * must never turn into a second message upstream. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/http.h"
#include "enforcer/reqhead.h"
#include "reparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	struct http_msg m;
	bool inject;
	bool active;             /* this message is forwarded (not CONNECT/TRACE) */
	bool chunked;            /* ... re-chunked (as parsed at its head) */
	int method;
	struct sbuf out;         /* what goes upstream for this message */
	struct sbuf body;        /* the body as airlock parsed it */
};

static const char injected[] = "Bearer real-credential";

static int on_head(void *arg)
{
	(void)arg;
	return HPE_PAUSED;
}

static int on_body(void *arg, const char *at, size_t n)
{
	struct state *s = arg;
	if (!s->active || n == 0)
		return 0;
	sbuf_add(&s->body, at, n);
	if (s->chunked) {
		char hx[CHUNK_HEAD_MAX];
		sbuf_add(&s->out, hx, chunk_head(hx, n));
		sbuf_add(&s->out, at, n);
		sbuf_add(&s->out, CHUNK_TAIL, 2);
	} else {
		sbuf_add(&s->out, at, n);
	}
	return 0;
}

static int on_complete(void *arg)
{
	(void)arg;
	return HPE_PAUSED;
}

static const struct http_msg_cb cb = { .on_head = on_head, .on_body = on_body, .on_complete = on_complete };

static void begin(struct state *s)
{
	struct http_msg *m = &s->m;
	char name[] = "Authorization", value[sizeof injected];
	memcpy(value, injected, sizeof injected);
	struct inject_hdr add = { name, value, sizeof injected - 1 };
	struct inject inj = { .add = &add, .nadd = 1 };
	s->method = m->p.method;
	s->active = m->p.method != HTTP_CONNECT && m->p.method != HTTP_TRACE;
	s->chunked = http_is_chunked(m);
	s->out.len = s->body.len = 0;
	if (!s->active)
		return;
	struct fwd_req r = { .host = "origin.test", .kind = HOST_DNS, .port = 80, .path = "/p",
			     .websocket = reqhead_is_websocket(m), .inj = s->inject ? &inj : NULL };
	reqhead_build(&s->out, m, http_method_str(m), &r);
}

static void verify(struct state *s)
{
	struct reparse r;
	if (!s->active)
		return;
	if (s->chunked)
		sbuf_add(&s->out, CHUNK_LAST, sizeof CHUNK_LAST - 1);
	reparse_init(&r, true);
	r.auth_want = s->inject ? injected : NULL;
	llhttp_errno_t e = llhttp_execute(&r.p, s->out.p ? s->out.p : "", s->out.len);
	bool upgrade = e == HPE_PAUSED_UPGRADE;
	if (e != HPE_OK && !upgrade)
		__builtin_trap();            /* the next hop cannot parse what we sent */
	if (r.messages != 1 || r.heads != 1)
		__builtin_trap();            /* exactly one request */
	if (upgrade && llhttp_get_error_pos(&r.p) != s->out.p + s->out.len)
		__builtin_trap();            /* nothing after an upgrade request either */
	if (r.method != s->method || r.url_len != 2 || memcmp(r.url, "/p", 2) != 0)
		__builtin_trap();
	if (r.body_len != s->body.len || (r.body_len && memcmp(r.body, s->body.p, r.body_len) != 0))
		__builtin_trap();            /* the same body, byte for byte */
	if (s->inject && (r.auth_headers != 1 || !r.auth_ok))
		__builtin_trap();            /* ours, once; never the sandbox's beside it */
	reparse_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;
	if (size < 1)
		return 0;
	memset(&s, 0, sizeof s);
	s.inject = data[0] & 1;
	http_msg_init(&s.m, true, 4096, 32, &cb, &s);
	const char *in = (const char *)data + 1;
	size_t len = size - 1, off = 0;
	/* bytes arrive in pieces of the size the first byte says */
	size_t piece = (size_t)(data[0] >> 1) + 1;
	for (int rounds = 0; rounds < 4096 && off < len; rounds++) {
		size_t end = off + piece < len ? off + piece : len, used = 0;
		enum http_feed f = http_msg_feed(&s.m, in + off, end - off, &used);
		if (f == HTTP_FEED_ERROR)
			break;
		off += used;
		if (f == HTTP_FEED_MORE)
			continue;
		if (s.m.phase == MSG_BODY) {
			begin(&s);
		} else if (s.m.phase == MSG_DONE) {
			verify(&s);
		}
		http_msg_resume(&s.m);
	}
	http_msg_free(&s.m);
	free(s.out.p);
	free(s.body.p);
	return 0;
}
