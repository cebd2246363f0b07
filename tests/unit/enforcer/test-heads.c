/* enforcer/reqhead.c and resphead.c: the heads airlock writes to the next
 * hop, row by row: the sandbox's or the origin's own framing headers never
 * pass, the framing written is the one llhttp parsed, hop-by-hop and
 * credential headers go, injected ones come; interim answers have no body
 * and skip HTTP/1.0 clients. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/reqhead.h"
#include "enforcer/resphead.h"
#include "tests/unit/unit.h"

static int on_head(void *arg) { (void)arg; return HPE_PAUSED; }
static const struct http_msg_cb cb = { .on_head = on_head };

static bool parse_head(struct http_msg *m, bool request, const char *in)
{
	size_t used;
	http_msg_init(m, request, 8192, 50, &cb, NULL);
	return http_msg_feed(m, in, strlen(in), &used) == HTTP_FEED_PAUSED && m->phase == MSG_BODY;
}

struct qrow {
	const char *name;
	const char *in;
	bool inject;
	const char *want;
};

#define H "Host: h\r\n"
static const struct qrow qrows[] = {
	{ "GET", "GET /a HTTP/1.1\r\n" H "X-A: 1\r\n\r\n", false, "GET /p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n" },
	{ "POST with a length", "POST /a HTTP/1.1\r\n" H "content-length: 3\r\nX-A: 1\r\n\r\n", false,
	  "POST /p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 3\r\n\r\n" },
	{ "a zero length stays", "POST /a HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", false,
	  "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n" },
	{ "chunked", "POST /a HTTP/1.1\r\n" H "Transfer-Encoding: CHUNKED\r\n\r\n", false,
	  "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" },
	{ "hop-by-hop and Connection's names go", "GET /a HTTP/1.1\r\n" H "Connection: close, X-B\r\nX-B: 1\r\n"
	  "Keep-Alive: 1\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\nX-C: 2\r\n\r\n", false,
	  "GET /p HTTP/1.1\r\nHost: h\r\nX-C: 2\r\n\r\n" },
	{ "the sandbox's credentials go, ours come", "GET /a HTTP/1.1\r\n" H "Authorization: Bearer stub\r\n"
	  "X-Api-Key: stub\r\nAccept-Encoding: gzip\r\n\r\n", true,
	  "GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity\r\nAuthorization: Bearer real\r\n\r\n" },
};

static void test_requests(void)
{
	char strip0[] = "x-api-key";
	char *strip[] = { strip0 };
	char name[] = "Authorization", value[] = "Bearer real";
	struct inject_hdr add = { name, value, sizeof value - 1 };
	struct inject inj = { .add = &add, .nadd = 1, .strip = strip, .nstrip = 1 };
	for (size_t i = 0; i < sizeof qrows / sizeof qrows[0]; i++) {
		const struct qrow *r = &qrows[i];
		struct http_msg m;
		struct sbuf b = { 0 };
		CHECK(parse_head(&m, true, r->in), "%s: parses", r->name);
		struct fwd_req fr = { .host = "h", .kind = HOST_DNS, .port = 80, .path = "/p",
				      .inj = r->inject ? &inj : NULL };
		reqhead_build(&b, &m, http_method_str(&m), &fr);
		CHECK_STR(b.p, r->want, r->name);
		free(b.p);
		http_msg_free(&m);
	}
}

struct srow {
	const char *name;
	const char *in;
	struct resp_ctx ctx;
	int rc;
	const char *want;
	struct resp_plan plan;
};

#define K { false, false, true }
static const struct srow srows[] = {
	{ "length", "HTTP/1.1 200 OK\r\ncontent-LENGTH: 4\r\nX-A: 1\r\n\r\n", K, 0,
	  "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 4\r\n\r\n", { .no_body = false } },
	{ "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", K, 0,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", { .chunked_out = true } },
	{ "chunked to HTTP/1.0", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", { false, true, false }, 0,
	  "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", { .close_after = true } },
	{ "no length: until close", "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", K, 0,
	  "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\n", { .eof_delim = true, .close_after = true } },
	{ "HEAD keeps the length", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", { true, false, true }, 0,
	  "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", { .no_body = true } },
	{ "304 keeps the length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", K, 0,
	  "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", { .no_body = true } },
	{ "204 loses its length", "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", K, 0,
	  "HTTP/1.1 204 No Content\r\n\r\n", { .no_body = true } },
	{ "hop-by-hop go", "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-B\r\nX-B: 1\r\nKeep-Alive: 5\r\n"
	  "Content-Length: 0\r\n\r\n", K, 0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", { .no_body = false } },
	{ "the sandbox closes", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", { false, false, false }, 0,
	  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", { .close_after = true } },
	{ "103", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", K, 0,
	  "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", { .interim = true, .no_body = true } },
	{ "103 to HTTP/1.0 is dropped", "HTTP/1.1 103 Early Hints\r\n\r\n", { false, true, false }, 0, "",
	  { .interim = true, .no_body = true, .drop = true } },
	{ "150 with a length", "HTTP/1.1 150 X\r\nContent-Length: 5\r\n\r\n", K, AL_EPROTO, NULL, { 0 } },
	{ "103 chunked", "HTTP/1.1 103 X\r\nTransfer-Encoding: chunked\r\n\r\n", K, AL_EPROTO, NULL, { 0 } },
	{ "100 with a zero length", "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n", K, AL_EPROTO, NULL, { 0 } },
};

static void test_responses(void)
{
	for (size_t i = 0; i < sizeof srows / sizeof srows[0]; i++) {
		const struct srow *r = &srows[i];
		struct http_msg m;
		struct sbuf b = { 0 };
		struct resp_plan plan;
		CHECK(parse_head(&m, false, r->in), "%s: parses", r->name);
		int rc = resphead_build(&b, &m, &r->ctx, &plan);
		CHECK(rc == r->rc, "%s: rc %d", r->name, rc);
		if (rc == 0) {
			CHECK_STR(b.p ? b.p : "", r->want, r->name);
			CHECK(memcmp(&plan, &r->plan, sizeof plan) == 0,
			      "%s: plan interim %d drop %d no_body %d chunked %d eof %d close %d", r->name,
			      plan.interim, plan.drop, plan.no_body, plan.chunked_out, plan.eof_delim, plan.close_after);
		}
		free(b.p);
		http_msg_free(&m);
	}
}

int main(void)
{
	test_requests();
	test_responses();
	return unit_finish("test-heads");
}
