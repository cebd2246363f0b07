/* libFuzzer target for enforcer/usage.c: input = a mode byte (even: a JSON
 * answer, odd: an event stream), a cut byte, then the body. The body is fed
 * in pieces of the cut's size and whole: both read the same counts, the
 * buffer never passes its cap, and nothing is kept after the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "enforcer/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(struct usage *u, bool sse, const char *in, size_t n, size_t piece)
{
	memset(u, 0, sizeof *u);
	usage_begin(u, 200, sse ? "text/event-stream" : "application/json", sse ? 17 : 16);
	for (size_t at = 0; at < n; at += piece) {
		usage_feed(u, in + at, at + piece < n ? piece : n - at);
		if (u->len > (sse ? AL_USAGE_SSE_LINE_MAX : AL_USAGE_JSON_MAX))
			__builtin_trap();
	}
	usage_end(u);
	if (u->buf || u->len)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usage a, b;
	if (size < 2)
		return 0;
	bool sse = data[0] & 1;
	size_t piece = (size_t)data[1] % 64 + 1;
	const char *in = (const char *)data + 2;
	size_t n = size - 2;
	run(&a, sse, in, n, piece);
	run(&b, sse, in, n, n ? n : 1);
	if (a.seen != b.seen || a.input != b.input || a.output != b.output)
		__builtin_trap();
	usage_free(&a);
	usage_free(&b);
	return 0;
}
