/* enforcer/scrub.c: which forms of an injected secret are scrubbed, and the
 * streaming replacement: for every way of cutting a stream into two and
 * three pieces, the output equals replacing on the whole stream at once,
 * has the same length, and holds no form. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/reqhead.h"
#include "enforcer/scrub.h"
#include "tests/unit/unit.h"

struct out {
	char buf[4096];
	size_t len;
};

static int emit(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	if (o->len + n > sizeof o->buf)
		return -1;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static bool has(const char *buf, size_t n, const char *form)
{
	return memmem(buf, n, form, strlen(form)) != NULL;
}

static void test_forms(void)
{
	char n1[] = "Authorization", v1[] = "Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ=";   /* user:s3cret-password */
	char n2[] = "x-api-key", v2[] = "sk-live-0123456789";
	char n3[] = "ChatGPT-Account-ID", v3[] = "acct-1234567890";
	char n4[] = "X-Short-Token", v4[] = "abc";
	struct inject_hdr add[] = { { n1, v1, sizeof v1 - 1 }, { n2, v2, sizeof v2 - 1 },
				    { n3, v3, sizeof v3 - 1 }, { n4, v4, sizeof v4 - 1 } };
	struct inject inj = { .add = add, .nadd = 4 };
	struct scrub s;
	int n = scrub_init(&s, &inj);
	CHECK(n == 4, "forms: %d (base64, user:pass, password, api key)", n);
	char body[] = "echo: Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ= user:s3cret-password s3cret-password "
		      "sk-live-0123456789 acct-1234567890 abc";
	size_t blen = strlen(body);
	char orig[sizeof body];
	memcpy(orig, body, sizeof body);
	scrub_inplace(&s, body, blen);
	const char *tok = strstr(orig, "sk-live-0123456789");
	for (size_t i = (size_t)(tok - orig); i < (size_t)(tok - orig) + 18; i++)
		CHECK(body[i] != orig[i], "every byte of a form changes (%zu)", i);
	CHECK(strlen(body) == blen, "same length");
	CHECK(!has(body, blen, "dXNlcjpzM2NyZXQtcGFzc3dvcmQ=") && !has(body, blen, "s3cret-password") &&
	      !has(body, blen, "sk-live-0123456789"), "every form is gone: %s", body);
	CHECK(has(body, blen, "acct-1234567890") && has(body, blen, " abc"), "identity and short values stay: %s", body);
	CHECK(has(body, blen, "echo: Basic air"), "a placeholder of the same length: %s", body);
	CHECK(s.count == 4, "count %llu", (unsigned long long)s.count);
	scrub_free(&s);

	char nb[] = "Authorization", vb[] = "Bearer tok-ABCDEFGHIJKLMNOP";
	struct inject_hdr addb[] = { { nb, vb, sizeof vb - 1 } };
	struct inject injb = { .add = addb, .nadd = 1 };
	CHECK(scrub_init(&s, &injb) == 1, "bearer: the token");
	CHECK(s.pats[0].len == strlen("tok-ABCDEFGHIJKLMNOP"), "the token without its scheme");
	scrub_free(&s);
}

/* Reference: replace on the whole buffer at once. */
static void reference(struct scrub *s, const char *in, size_t n, char *out)
{
	memcpy(out, in, n);
	uint64_t c = s->count;
	scrub_inplace(s, out, n);
	s->count = c;
}

static void test_stream(void)
{
	static const char *const inputs[] = {
		"SECRET-TOKEN-1234",
		"xxSECRET-TOKEN-1234yySECRET-TOKEN-1234",
		"SECRET-TOKEN-123SECRET-TOKEN-1234",          /* a near miss right before a hit */
		"data: {\"auth\":\"Bearer SECRET-TOKEN-1234\"}\n\ndata: SECRET-TOKEN-1234\n\n",
		"no secret here at all, only text",
		"user:pw-longer-than-8 and pw-longer-than-8",
		"",
	};
	for (size_t t = 0; t < sizeof inputs / sizeof inputs[0]; t++) {
		const char *in = inputs[t];
		size_t n = strlen(in);
		char want[512];
		struct scrub s;
		memset(&s, 0, sizeof s);
		CHECK(scrub_add(&s, "SECRET-TOKEN-1234", 17) == 0);
		CHECK(scrub_add(&s, "user:pw-longer-than-8", 21) == 0);
		CHECK(scrub_add(&s, "pw-longer-than-8", 16) == 0);
		reference(&s, in, n, want);
		for (size_t a = 0; a <= n; a++)
			for (size_t b = a; b <= n; b++) {
				struct out o = { .len = 0 };
				CHECK(scrub_feed(&s, in, a, emit, &o) == 0);
				CHECK(scrub_feed(&s, in + a, b - a, emit, &o) == 0);
				CHECK(scrub_feed(&s, in + b, n - b, emit, &o) == 0);
				CHECK(scrub_flush(&s, emit, &o) == 0);
				if (o.len != n || memcmp(o.buf, want, n) != 0 || has(o.buf, o.len, "SECRET-TOKEN-1234") ||
				    has(o.buf, o.len, "pw-longer-than-8"))
					CHECK(false, "input %zu cut at %zu and %zu: %.*s", t, a, b, (int)o.len, o.buf);
			}
		scrub_free(&s);
	}
}

/* Streams are not held up: only an end that could begin a form waits. */
static void test_held_back(void)
{
	struct scrub s;
	memset(&s, 0, sizeof s);
	CHECK(scrub_add(&s, "SECRET-TOKEN-1234", 17) == 0);
	struct out o = { .len = 0 };
	CHECK(scrub_feed(&s, "data: {}\n\n", 10, emit, &o) == 0);
	CHECK(o.len == 10, "a whole SSE event goes at once (%zu)", o.len);
	CHECK(scrub_feed(&s, "data: SEC", 9, emit, &o) == 0);
	CHECK(o.len == 16, "\"SEC\" waits: it could begin the form (%zu)", o.len);
	CHECK(scrub_feed(&s, "RET-TOKEN-1234\n", 15, emit, &o) == 0);
	CHECK(o.len == 34 && !has(o.buf, o.len, "SECRET-TOKEN-1234"), "then goes scrubbed (%zu)", o.len);
	CHECK(scrub_feed(&s, "SECRET-TOKEN-123", 16, emit, &o) == 0 && o.len == 34, "a near miss waits whole");
	CHECK(scrub_feed(&s, "x", 1, emit, &o) == 0 && o.len == 51, "and goes as it was when it is not one");
	CHECK(memcmp(o.buf + 34, "SECRET-TOKEN-123x", 17) == 0);
	scrub_free(&s);
}

static void test_nothing_to_scrub(void)
{
	struct scrub s;
	struct out o = { .len = 0 };
	CHECK(scrub_init(&s, NULL) == 0);
	CHECK(scrub_feed(&s, "abc", 3, emit, &o) == 0 && o.len == 3, "passes straight through");
	CHECK(s.work == NULL, "and holds nothing back");
	scrub_free(&s);
}

/* The common case costs no copy: a piece without a whole form, after
 * nothing held back, goes out as it is, and only an end that could begin a
 * form is copied aside (into a buffer the size of the forms, not a page). */
static void test_fast_path(void)
{
	struct scrub s;
	memset(&s, 0, sizeof s);
	CHECK(scrub_add(&s, "SECRET-TOKEN-1234", 17) == 0);
	CHECK(scrub_add(&s, "pw-longer-than-8", 16) == 0);
	CHECK(s.minlen == 16 && s.maxlen == 17);
	struct out o = { .len = 0 };
	char body[100];
	memset(body, 'x', sizeof body);
	CHECK(scrub_feed(&s, body, sizeof body, emit, &o) == 0 && o.len == 100, "a clean body goes whole");
	CHECK(s.work == NULL && s.marks == NULL, "without a copy or marks");
	CHECK(scrub_feed(&s, "short", 5, emit, &o) == 0 && o.len == 105, "shorter than any form: goes");
	CHECK(s.work == NULL, "still no copy");
	CHECK(scrub_feed(&s, "abc SECRET-TOK", 14, emit, &o) == 0 && o.len == 109, "the start of a form waits");
	CHECK(s.wlen == 10 && s.wcap > 0 && s.wcap <= 64, "in a small buffer (%zu of %zu)", s.wlen, s.wcap);
	CHECK(scrub_feed(&s, "EN-1234 and pw-longer-than-8.", 29, emit, &o) == 0 && o.len == 148, "then the rest");
	CHECK(!has(o.buf, o.len, "SECRET-TOKEN-1234") && !has(o.buf, o.len, "pw-longer-than-8") && s.count == 2,
	      "both forms replaced across the cut: %.*s", (int)o.len, o.buf);
	CHECK(scrub_flush(&s, emit, &o) == 0 && o.len == 148);
	scrub_free(&s);
}

int main(void)
{
	test_forms();
	test_stream();
	test_held_back();
	test_nothing_to_scrub();
	test_fast_path();
	return unit_finish("test-scrub");
}
