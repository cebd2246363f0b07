/* agent/peek.c: the TLS server name of a real ClientHello (as curl sends
 * it, built here field by field), cut at every length; HTTP Host heads;
 * what is refused. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "agent/peek.h"
#include "tests/unit/unit.h"

/* A ClientHello with the given SNI extension body (NULL: none). */
static size_t client_hello(uint8_t *b, const char *sni)
{
	uint8_t body[1024];
	size_t n = 0;
	body[n++] = 3;
	body[n++] = 3;                 /* legacy version */
	memset(body + n, 0x42, 32);    /* random */
	n += 32;
	body[n++] = 32;                /* session id */
	memset(body + n, 0x17, 32);
	n += 32;
	body[n++] = 0;
	body[n++] = 4;                 /* cipher suites */
	memcpy(body + n, "\x13\x01\x13\x02", 4);
	n += 4;
	body[n++] = 1;
	body[n++] = 0;                 /* compression: null */
	uint8_t ext[600];
	size_t e = 0;
	/* supported_versions first, so SNI is not the first extension */
	memcpy(ext + e, "\x00\x2b\x00\x03\x02\x03\x04", 7);
	e += 7;
	if (sni) {
		size_t l = strlen(sni);
		ext[e++] = 0;
		ext[e++] = 0;
		ext[e++] = (uint8_t)((l + 5) >> 8);
		ext[e++] = (uint8_t)(l + 5);
		ext[e++] = (uint8_t)((l + 3) >> 8);
		ext[e++] = (uint8_t)(l + 3);
		ext[e++] = 0;
		ext[e++] = (uint8_t)(l >> 8);
		ext[e++] = (uint8_t)l;
		memcpy(ext + e, sni, l);
		e += l;
	}
	body[n++] = (uint8_t)(e >> 8);
	body[n++] = (uint8_t)e;
	memcpy(body + n, ext, e);
	n += e;
	b[0] = 22;
	b[1] = 3;
	b[2] = 1;
	b[3] = (uint8_t)((n + 4) >> 8);
	b[4] = (uint8_t)(n + 4);
	b[5] = 1;
	b[6] = 0;
	b[7] = (uint8_t)(n >> 8);
	b[8] = (uint8_t)n;
	memcpy(b + 9, body, n);
	return n + 9;
}

static void sni(void)
{
	uint8_t b[2048];
	char name[PEEK_NAME_MAX + 1];
	size_t n = client_hello(b, "Origin.Test.");
	CHECK(peek_sni(b, n, name) == PEEK_FOUND, "SNI found");
	CHECK_STR(name, "origin.test", "lower case, trailing dot dropped");
	for (size_t k = 0; k < n; k++)
		CHECK(peek_sni(b, k, name) == PEEK_MORE, "cut at %zu: more", k);
	n = client_hello(b, NULL);
	CHECK(peek_sni(b, n, name) == PEEK_NONE, "no SNI: none");
	n = client_hello(b, "a b.test");
	CHECK(peek_sni(b, n, name) == PEEK_NONE, "a space in the name: none");
	n = client_hello(b, "a..test");
	CHECK(peek_sni(b, n, name) == PEEK_NONE, "empty label: none");
	n = client_hello(b, "origin.test");
	b[5] = 2;
	CHECK(peek_sni(b, n, name) == PEEK_NONE, "not a ClientHello");
	n = client_hello(b, "origin.test");
	b[8] += 1;
	CHECK(peek_sni(b, n, name) == PEEK_NONE, "handshake longer than its record");
	n = client_hello(b, "origin.test");
	b[n - 12 - 1] += 1;   /* the extensions' total length */
	CHECK(peek_sni(b, n, name) != PEEK_FOUND, "extensions' length off by one");
	CHECK(peek_sni((const uint8_t *)"GET / HTTP/1.1\r\n", 16, name) == PEEK_NONE, "HTTP is not TLS");
	CHECK(peek_sni((const uint8_t *)"\x16\x02", 2, name) == PEEK_NONE, "SSLv2-ish version");
}

struct hrow {
	const char *head;
	enum peek want;
	const char *name;
};

static const struct hrow hrows[] = {
	{ "GET / HTTP/1.1\r\nHost: Origin.Test\r\n\r\n", PEEK_FOUND, "origin.test" },
	{ "GET / HTTP/1.1\r\nUser-Agent: x\r\nhost:  origin.test:8080 \r\nAccept: */*\r\n\r\n", PEEK_FOUND,
	  "origin.test" },
	{ "POST /x HTTP/1.0\r\nHost: a.b\r\nContent-Length: 3\r\n\r\nabc", PEEK_FOUND, "a.b" },
	{ "GET / HTTP/1.1\r\nHost: origin.test\r\n", PEEK_MORE, NULL },
	{ "GET / HTTP/1.1\r\nHo", PEEK_MORE, NULL },
	{ "GET / HTT", PEEK_MORE, NULL },
	{ "GE", PEEK_MORE, NULL },
	{ "GET / HTTP/1.1\r\n\r\n", PEEK_NONE, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", PEEK_NONE, NULL },
	{ "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", PEEK_NONE, NULL },
	{ "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", PEEK_NONE, NULL },
	{ "GET / HTTP/1.1\nHost: a\r\n\r\n", PEEK_NONE, NULL },
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", PEEK_NONE, NULL },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", PEEK_NONE, NULL },
	{ "get / HTTP/1.1\r\nHost: a\r\n\r\n", PEEK_NONE, NULL },
	{ "SSH-2.0-OpenSSH_9.2\r\n", PEEK_NONE, NULL },
	{ "\x16\x03\x01", PEEK_NONE, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n", PEEK_NONE, NULL },
};

static void http(void)
{
	char name[PEEK_NAME_MAX + 1];
	for (size_t i = 0; i < sizeof hrows / sizeof hrows[0]; i++) {
		const struct hrow *r = &hrows[i];
		enum peek got = peek_http_host((const uint8_t *)r->head, strlen(r->head), name);
		CHECK(got == r->want, "row %zu (%.20s): %d", i, r->head, got);
		if (r->name && got == PEEK_FOUND)
			CHECK_STR(name, r->name, r->head);
	}
	/* a head that never ends is given up at the cap */
	char *big = malloc(PEEK_MAX + 1);
	memcpy(big, "GET / HTTP/1.1\r\n", 16);
	for (size_t i = 16; i < PEEK_MAX; i += 8)
		memcpy(big + i, "X-A: b\r\n", 8);
	CHECK(peek_http_host((const uint8_t *)big, PEEK_MAX, name) == PEEK_NONE, "no end within the cap");
	free(big);
	CHECK(peek_is_http((const uint8_t *)"GET /", 5), "GET is HTTP");
	CHECK(!peek_is_http((const uint8_t *)"GET", 3), "GET without a space: not yet");
	CHECK(!peek_is_http((const uint8_t *)"\x16\x03", 2), "TLS is not HTTP");
	char h1[] = "Example.COM.", h2[] = ".a", h3[] = "a..b", h4[] = "a_b-c.d";
	CHECK(peek_host_ok(h1) && strcmp(h1, "example.com") == 0, "host canonical");
	CHECK(!peek_host_ok(h2) && !peek_host_ok(h3), "empty labels");
	CHECK(peek_host_ok(h4), "underscore and hyphen");
}

int main(void)
{
	sni();
	http();
	return unit_finish("test-agent-peek");
}
