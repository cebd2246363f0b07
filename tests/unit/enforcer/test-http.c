/* enforcer/http.c: the strict request head parser (every refusal it makes,
 * each with a twin that passes), the caps at cap and cap + 1, the same
 * verdict whether the bytes come at once or one by one, hop-by-hop
 * detection, and authority_parse. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/http.h"
#include "tests/unit/unit.h"

#define CAP_BYTES 160
#define CAP_HDRS 5

static int on_head(void *arg) { (void)arg; return HPE_PAUSED; }
static int on_complete(void *arg) { (void)arg; return HPE_PAUSED; }
static const struct http_msg_cb cb = { .on_head = on_head, .on_complete = on_complete };

/* 0: head parsed; else the status (400/431), reason in *reason. -1: incomplete */
static int parse(const char *in, size_t n, bool bytewise, const char **reason)
{
	struct http_msg m;
	int out = -1;
	http_msg_init(&m, true, CAP_BYTES, CAP_HDRS, &cb, NULL);
	size_t off = 0;
	*reason = NULL;
	while (off < n) {
		size_t len = bytewise ? 1 : n - off, used;
		enum http_feed r = http_msg_feed(&m, in + off, len, &used);
		if (r == HTTP_FEED_ERROR) {
			out = m.err_status;
			*reason = reason_name(m.err_reason);
			break;
		}
		off += used;
		if (r == HTTP_FEED_PAUSED && m.phase == MSG_BODY) {
			out = 0;
			break;
		}
	}
	http_msg_free(&m);
	return out;
}

struct row {
	const char *name;
	const char *in;
	size_t len;       /* 0: strlen */
	int want;         /* 0, 400, 431 */
	const char *reason;
};

#define G "GET http://h/ HTTP/1.1\r\n"
#define P "POST http://h/ HTTP/1.1\r\n"

static const struct row rows[] = {
	{ "plain GET", G "Host: h\r\n\r\n", 0, 0, NULL },
	{ "CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 0, 0, NULL },
	{ "chunked alone", P "Transfer-Encoding: chunked\r\n\r\n", 0, 0, NULL },
	{ "chunked any case", P "Transfer-Encoding: ChUnKeD\r\n\r\n", 0, 0, NULL },
	{ "one CL", P "Content-Length: 3\r\n\r\n", 0, 0, NULL },
	{ "CL+TE", P "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400, "content-length-with-transfer-encoding" },
	{ "TE+CL", P "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0, 400, "content-length-with-transfer-encoding" },
	{ "dup CL equal", P "Content-Length: 3\r\nContent-Length: 3\r\n\r\n", 0, 400, NULL },
	{ "dup CL differ", P "Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 0, 400, NULL },
	{ "TE gzip", P "Transfer-Encoding: gzip\r\n\r\n", 0, 400, "bad-transfer-encoding" },
	{ "TE gzip, chunked", P "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 400, "bad-transfer-encoding" },
	{ "TE chunked, chunked", P "Transfer-Encoding: chunked, chunked\r\n\r\n", 0, 400, "bad-transfer-encoding" },
	{ "TE twice", P "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400, "bad-transfer-encoding" },
	{ "obs-fold space", G "A: b\r\n c\r\n\r\n", 0, 400, NULL },
	{ "obs-fold tab", G "A: b\r\n\tc\r\n\r\n", 0, 400, NULL },
	{ "space before colon", G "A : b\r\n\r\n", 0, 400, NULL },
	{ "tab before colon", G "A\t: b\r\n\r\n", 0, 400, NULL },
	{ "bare LF everywhere", "GET http://h/ HTTP/1.1\nA: b\n\n", 0, 400, NULL },
	{ "bare LF at the end", G "A: b\r\n\n", 0, 400, NULL },
	{ "bare CR", G "A: b\rB: c\r\n\r\n", 0, 400, NULL },
	{ "NUL in value", G "A: b\0c\r\n\r\n", sizeof(G "A: b\0c\r\n\r\n") - 1, 400, NULL },
	{ "CTL in value", G "A: b\x01" "c\r\n\r\n", 0, 400, NULL },
	{ "DEL in value", G "A: b\x7f" "c\r\n\r\n", 0, 400, NULL },
	{ "obs-text in value ok", G "A: caf\xc3\xa9\r\n\r\n", 0, 0, NULL },
	{ "tab in value ok", G "A: b\tc\r\n\r\n", 0, 0, NULL },
	{ "dup Host", G "Host: a\r\nHost: b\r\n\r\n", 0, 400, "duplicate-host" },
	{ "unknown method", "BREW http://h/ HTTP/1.1\r\n\r\n", 0, 400, NULL },
	{ "HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, 400, NULL },
	{ "Connection names Content-Length", P "Connection: content-length\r\nContent-Length: 3\r\n\r\n", 0, 400, "bad-connection-header" },
	{ "... in mixed case", P "Connection: Content-LENGTH\r\nContent-Length: 3\r\n\r\n", 0, 400, "bad-connection-header" },
	{ "... beside keep-alive", P "Connection: keep-alive,  content-length \r\nContent-Length: 3\r\n\r\n", 0, 400, "bad-connection-header" },
	{ "... in a second Connection", P "Connection: keep-alive\r\nConnection: content-length\r\n\r\n", 0, 400, "bad-connection-header" },
	{ "... Transfer-Encoding", P "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400, "bad-connection-header" },
	{ "... Host", G "Connection: close, host\r\nHost: h\r\n\r\n", 0, 400, "bad-connection-header" },
	{ "Connection names another header ok", G "Connection: keep-alive, x-a\r\nX-A: 1\r\n\r\n", 0, 0, NULL },
	{ "Connection token that only starts like one ok", G "Connection: content-lengths, hosts\r\n\r\n", 0, 0, NULL },
	{ "five headers (cap)", G "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 0, 0, NULL },
	{ "six headers (cap+1)", G "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n", 0, 431, "too-many-headers" },
};

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		size_t n = r->len ? r->len : strlen(r->in);
		for (int bw = 0; bw < 2; bw++) {
			const char *reason;
			int got = parse(r->in, n, bw, &reason);
			CHECK(got == r->want, "%s (%s): got %d want %d (%s)", r->name, bw ? "bytewise" : "at once", got,
			      r->want, reason ? reason : "-");
			if (r->reason && got == r->want)
				CHECK_STR(reason, r->reason, r->name);
		}
	}
}

/* A head of exactly CAP_BYTES bytes passes; one more byte is 431. */
static void test_head_cap(void)
{
	char buf[CAP_BYTES + 2];
	for (int extra = 0; extra < 2; extra++) {
		size_t want = CAP_BYTES + (size_t)extra;
		const char *pre = G "X: ";
		size_t pad = want - strlen(pre) - 4;
		memcpy(buf, pre, strlen(pre));
		memset(buf + strlen(pre), 'v', pad);
		memcpy(buf + strlen(pre) + pad, "\r\n\r\n", 4);
		for (int bw = 0; bw < 2; bw++) {
			const char *reason;
			int got = parse(buf, want, bw, &reason);
			CHECK(got == (extra ? 431 : 0), "head of %zu bytes (%s): %d", want, bw ? "bytewise" : "at once", got);
		}
	}
}

static void test_hop(void)
{
	const char *in = G "Connection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
			   "Upgrade: h2c\r\nProxy-Foo: 1\r\nX-Keep: 1\r\n\r\n";
	struct http_msg m;
	size_t used;
	http_msg_init(&m, true, 4096, 50, &cb, NULL);
	CHECK(http_msg_feed(&m, in, strlen(in), &used) == HTTP_FEED_PAUSED);
	int hops = 0;
	for (size_t i = 0; i < m.nhdrs; i++) {
		bool hop = http_is_hop(&m, i);
		hops += hop;
		if (http_name_is(&m, i, "x-keep"))
			CHECK(!hop, "X-Keep is end to end");
	}
	CHECK(hops == 6, "hop-by-hop headers: %d", hops);
	CHECK(!http_keep_alive(&m), "Connection: close");
	http_msg_free(&m);
}

struct arow {
	const char *in;
	uint16_t dflt;
	int rc;
	const char *host;
	uint16_t port;
};

static const struct arow arows[] = {
	{ "example.com", 80, 0, "example.com", 80 },
	{ "Example.COM.:8080", 80, 0, "example.com", 8080 },
	{ "example.com", 0, AL_EINVAL, NULL, 0 },
	{ "example.com:443", 0, 0, "example.com", 443 },
	{ "[2001:DB8::1]:22", 0, 0, "2001:db8::1", 22 },
	{ "[::1]", 80, 0, "::1", 80 },
	{ "::1:80", 80, AL_EINVAL, NULL, 0 },
	{ "user@example.com", 80, AL_EINVAL, NULL, 0 },
	{ "example%2ecom", 80, AL_EINVAL, NULL, 0 },
	{ "example.com:", 80, AL_EINVAL, NULL, 0 },
	{ "example.com:0", 80, AL_EINVAL, NULL, 0 },
	{ "example.com:65536", 80, AL_EINVAL, NULL, 0 },
	{ "example.com:+80", 80, AL_EINVAL, NULL, 0 },
	{ "[::1]x", 80, AL_EINVAL, NULL, 0 },
	{ "[::1", 80, AL_EINVAL, NULL, 0 },
	{ "", 80, AL_EINVAL, NULL, 0 },
	{ ":80", 80, AL_EINVAL, NULL, 0 },
	{ "0x7f.0.0.1", 80, AL_EINVAL, NULL, 0 },
	{ "127.0.0.1:8080", 80, 0, "127.0.0.1", 8080 },
};

static void test_authority(void)
{
	for (size_t i = 0; i < sizeof arows / sizeof arows[0]; i++) {
		const struct arow *r = &arows[i];
		char host[AL_HOST_BUF];
		enum host_kind kind;
		uint16_t port = 0;
		int rc = authority_parse(r->in, strlen(r->in), r->dflt, host, &kind, &port);
		CHECK((rc < 0 ? AL_EINVAL : 0) == r->rc, "authority '%s': rc %d", r->in, rc);
		if (rc == 0 && r->rc == 0) {
			CHECK_STR(host, r->host, r->in);
			CHECK(port == r->port, "'%s': port %u", r->in, port);
		}
	}
}

int main(void)
{
	test_rows();
	test_head_cap();
	test_hop();
	test_authority();
	return unit_finish("test-http");
}
