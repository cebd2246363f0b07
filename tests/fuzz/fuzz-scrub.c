/* libFuzzer target for enforcer/scrub.c: input = up to 4 forms, each a
 * length byte and its bytes, then a cut byte, then the stream. The stream
 * is scrubbed in pieces of the cut's size: the output has the input's
 * length, differs from the input only in placeholder bytes, replaces every
 * byte of every occurrence of every form the input held (overlapping ones
 * too), and equals scrubbing the whole input at once. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/scrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	char *buf;
	size_t len, cap;
};

static int emit(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	if (o->len + n > o->cap)
		__builtin_trap();   /* more out than in */
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scrub s;
	size_t off = 0;
	memset(&s, 0, sizeof s);
	for (int k = 0; k < 4 && off < size; k++) {
		size_t n = data[off++] % 48;
		if (n == 0 || off + n > size)
			break;
		if (scrub_add(&s, (const char *)data + off, n) < 0)
			__builtin_trap();
		off += n;
	}
	if (off >= size) {
		scrub_free(&s);
		return 0;
	}
	size_t piece = (size_t)data[off++] % 64 + 1;
	const char *in = (const char *)data + off;
	size_t n = size - off;
	struct out o = { .buf = malloc(n + 1), .cap = n };
	char *whole = malloc(n + 1);
	if (!o.buf || !whole)
		abort();
	memcpy(whole, in, n);
	scrub_inplace(&s, whole, n);
	for (size_t at = 0; at < n; at += piece)
		if (scrub_feed(&s, in + at, at + piece < n ? piece : n - at, emit, &o) < 0)
			__builtin_trap();
	if (scrub_flush(&s, emit, &o) < 0 || o.len != n)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (o.buf[i] != in[i] && !memchr("airlock-scrubbed-X", o.buf[i], 18))
			__builtin_trap();
	/* every byte of every occurrence in the input is replaced */
	for (size_t at = 0; at < n; at++)
		for (size_t k = 0; k < s.npats; k++) {
			size_t l = s.pats[k].len;
			if (at + l > n || memcmp(in + at, s.pats[k].s, l) != 0)
				continue;
			for (size_t i = at; i < at + l; i++)
				if (o.buf[i] == in[i])
					__builtin_trap();
		}
	if (memcmp(o.buf, whole, n) != 0)
		__builtin_trap();   /* the cuts change nothing */
	free(o.buf);
	free(whole);
	scrub_free(&s);
	return 0;
}
