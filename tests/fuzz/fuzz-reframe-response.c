/* libFuzzer target, differential: for any response stream airlock accepts
 * from an upstream, what it would write to the sandbox — each head from
 * resphead_build and the body as forward.c frames it (re-chunked, or raw
 * until close) — is read back by a plain llhttp parser as the same
 * interim answers (none for an HTTP/1.0 sandbox), then exactly one final
 * answer with the same status and the same body bytes, and nothing after
 * it. The first input byte says whether the request was HEAD, whether the
 * sandbox speaks HTTP/1.0, whether it keeps the connection, and the size
 * of the pieces the bytes arrive in. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/http.h"
#include "enforcer/resphead.h"
#include "reparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	struct http_msg m;
	struct resp_ctx ctx;
	struct resp_plan plan;   /* of the final answer */
	bool refused, final, done;
	int interims;            /* interim heads written */
	int status;
	struct sbuf out, body;
};

static int on_head(void *arg)
{
	struct state *s = arg;
	struct resp_plan plan;
	if (s->m.p.status_code == 101) {
		s->refused = true;   /* the caller's case (an upgrade it asked for) */
		return -1;
	}
	if (resphead_build(&s->out, &s->m, &s->ctx, &plan) < 0) {
		s->refused = true;   /* answered 502: nothing more is written */
		return -1;
	}
	if (plan.interim) {
		s->interims += !plan.drop;
		return 1;
	}
	s->final = true;
	s->plan = plan;
	s->status = s->m.p.status_code;
	return plan.no_body ? 1 : 0;
}

static int on_body(void *arg, const char *at, size_t n)
{
	struct state *s = arg;
	if (n == 0)
		return 0;
	sbuf_add(&s->body, at, n);
	if (s->plan.chunked_out) {
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
	struct state *s = arg;
	if (!s->final)
		return 0;    /* an interim answer: the real one follows */
	if (s->plan.chunked_out)
		sbuf_add(&s->out, CHUNK_LAST, sizeof CHUNK_LAST - 1);
	s->done = true;
	return HPE_PAUSED;
}

static const struct http_msg_cb cb = { .on_head = on_head, .on_body = on_body, .on_complete = on_complete };

static void verify(struct state *s)
{
	struct reparse r;
	reparse_init(&r, false);
	r.skip_body = s->ctx.head_req;
	llhttp_errno_t e = llhttp_execute(&r.p, s->out.p ? s->out.p : "", s->out.len);
	if (e != HPE_OK)
		__builtin_trap();            /* the sandbox cannot parse what we sent */
	if (s->plan.close_after && r.messages == s->interims)
		e = llhttp_finish(&r.p);     /* read until we close */
	if (e != HPE_OK || r.messages != s->interims + 1 || r.heads != s->interims + 1)
		__builtin_trap();            /* the interims, then exactly one answer */
	for (int i = 0; i < s->interims && i < 8; i++)
		if (r.status[i] < 100 || r.status[i] > 199)
			__builtin_trap();
	if (r.heads <= 8 && r.status[r.heads - 1] != s->status)
		__builtin_trap();
	if (r.body_len != s->body.len || (r.body_len && memcmp(r.body, s->body.p, r.body_len) != 0))
		__builtin_trap();            /* the same body, byte for byte */
	if (s->ctx.client10 && s->interims)
		__builtin_trap();            /* no 1xx for an HTTP/1.0 client */
	reparse_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;
	if (size < 1)
		return 0;
	memset(&s, 0, sizeof s);
	s.ctx.head_req = data[0] & 1;
	s.ctx.client10 = data[0] & 2;
	s.ctx.client_keep = data[0] & 4;
	size_t piece = (size_t)(data[0] >> 3) + 1;
	http_msg_init(&s.m, false, 4096, 32, &cb, &s);
	const char *in = (const char *)data + 1;
	size_t len = size - 1, off = 0;
	for (int rounds = 0; rounds < 4096 && off < len && !s.done; rounds++) {
		size_t end = off + piece < len ? off + piece : len, used = 0;
		enum http_feed f = http_msg_feed(&s.m, in + off, end - off, &used);
		if (f == HTTP_FEED_ERROR)
			break;
		off += used;
		if (f == HTTP_FEED_PAUSED && !s.done)
			http_msg_resume(&s.m);
	}
	/* the upstream closes: an answer delimited by that ends here */
	if (!s.refused && s.final && !s.done && s.plan.eof_delim && http_msg_finish(&s.m))
		s.done = true;
	if (s.done && !s.refused)
		verify(&s);
	http_msg_free(&s.m);
	free(s.out.p);
	free(s.body.p);
	return 0;
}
