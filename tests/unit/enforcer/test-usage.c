/* enforcer/usage.c: which requests are metered, and the token counts read
 * from Anthropic and OpenAI answers (JSON and SSE) for every way of cutting
 * the body into pieces of 1..n bytes; what it refuses to count (not 2xx,
 * another media type, a JSON answer over its cap, an SSE line over its cap,
 * a usage it does not know). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "enforcer/usage.h"
#include "tests/unit/unit.h"

static const struct {
	const char *method, *path;
	bool want;
} paths[] = {
	{ "POST", "/v1/messages", true },
	{ "POST", "/v1/responses", true },
	{ "POST", "/v1/chat/completions", true },
	{ "POST", "/backend-api/codex/responses", true },
	{ "POST", "/api/v1/chat/completions", true },   /* a gateway's prefix */
	{ "GET", "/v1/messages", false },
	{ "POST", "/v1/messages/count_tokens", false },
	{ "POST", "/v1/models", false },
	{ "POST", "/responses", false },
	{ NULL, "/v1/messages", false },
};

static const struct {
	const char *name;
	int status;
	const char *ctype;
	const char *body;
	bool seen;
	uint64_t in, out;
} rows[] = {
	{ "anthropic json", 200, "application/json",
	  "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"usage\"}],"
	  "\"usage\":{\"input_tokens\":11,\"cache_creation_input_tokens\":2,\"cache_read_input_tokens\":4,"
	  "\"output_tokens\":13}}", true, 17, 13 },
	{ "anthropic sse", 200, "text/event-stream; charset=utf-8",
	  "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
	  "{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
	  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"x\"}}\n\n"
	  "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n"
	  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", true, 25, 15 },
	{ "anthropic sse crlf", 200, "text/event-stream",
	  "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
	  "{\"input_tokens\":3,\"output_tokens\":1}}}\r\n\r\n"
	  "data:{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\r\n\r\n", true, 3, 9 },
	{ "responses sse", 200, "text/event-stream",
	  "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n"
	  "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":"
	  "{\"input_tokens\":20,\"input_tokens_details\":{\"cached_tokens\":5},\"output_tokens\":30}}}\n\n",
	  true, 20, 30 },
	{ "responses json", 200, "application/json",
	  "{\"object\":\"response\",\"usage\":{\"input_tokens\":7,\"output_tokens\":8,\"total_tokens\":15}}",
	  true, 7, 8 },
	{ "chat sse, no final newline", 200, "text/event-stream",
	  "data: {\"choices\":[{\"delta\":{}}],\"usage\":null}\n\n"
	  "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":50}}\n\n"
	  "data: [DONE]", true, 40, 50 },
	{ "chat sse, usage last without newline", 200, "text/event-stream",
	  "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", true, 1, 2 },
	{ "chat json", 200, "Application/JSON ; charset=utf-8",
	  "{\"choices\":[],\"usage\":{\"prompt_tokens\":6,\"completion_tokens\":8}}", true, 6, 8 },
	{ "an error answer", 400, "application/json",
	  "{\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}", false, 0, 0 },
	{ "another media type", 200, "text/plain",
	  "{\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}", false, 0, 0 },
	{ "json-seq is not json", 200, "application/json-seq",
	  "{\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}", false, 0, 0 },
	{ "not json", 200, "application/json", "{\"usage\":{\"input_tokens\":1,", false, 0, 0 },
	{ "duplicate keys refused", 200, "application/json",
	  "{\"usage\":{\"input_tokens\":1},\"usage\":{\"input_tokens\":2}}", false, 0, 0 },
	{ "usage not an object", 200, "application/json", "{\"usage\":[1,2]}", false, 0, 0 },
	{ "negative and non-integer counts read as 0", 200, "application/json",
	  "{\"usage\":{\"input_tokens\":-5,\"output_tokens\":\"7\"}}", true, 0, 0 },
	{ "chat sse, usage null in every chunk but the last", 200, "text/event-stream",
	  "data: {\"choices\":[{\"delta\":{\"content\":\"\\\"usage\\\": {\"}}],\"usage\": null}\n\n"
	  "data: {\"choices\":[],\"usage\" :\t{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n", true, 3, 4 },
	{ "sse comment and unknown fields", 200, "text/event-stream",
	  ": keep-alive\nid: 1\nretry: 100\nevent: x\ndata: {\"usage\":{\"input_tokens\":2,\"output_tokens\":3}}\n\n",
	  true, 2, 3 },
};

static void run_row(size_t r, size_t piece)
{
	struct usage u = { 0 };
	const char *b = rows[r].body;
	size_t n = strlen(b);
	usage_begin(&u, rows[r].status, rows[r].ctype, strlen(rows[r].ctype));
	for (size_t i = 0; i < n; i += piece)
		usage_feed(&u, b + i, n - i < piece ? n - i : piece);
	usage_end(&u);
	CHECK(u.seen == rows[r].seen && u.input == rows[r].in && u.output == rows[r].out,
	      "%s, pieces of %zu: seen=%d in=%llu out=%llu", rows[r].name, piece, u.seen,
	      (unsigned long long)u.input, (unsigned long long)u.output);
	CHECK(u.buf == NULL, "%s: nothing kept after the end", rows[r].name);
	usage_free(&u);
}

/* A JSON answer one byte over its cap is not counted; at the cap it is. */
static void test_json_cap(void)
{
	static const char head[] = "{\"usage\":{\"input_tokens\":1,\"output_tokens\":2},\"pad\":\"";
	for (int over = 0; over <= 1; over++) {
		size_t n = AL_USAGE_JSON_MAX + (size_t)over;
		char *b = malloc(n);
		memset(b, 'a', n);
		memcpy(b, head, sizeof head - 1);
		memcpy(b + n - 2, "\"}", 2);
		struct usage u = { 0 };
		usage_begin(&u, 200, "application/json", 16);
		for (size_t i = 0; i < n; i += 65536)
			usage_feed(&u, b + i, n - i < 65536 ? n - i : 65536);
		usage_end(&u);
		CHECK(u.seen == !over, "a JSON answer of cap%s bytes: seen=%d", over ? "+1" : "", u.seen);
		usage_free(&u);
		free(b);
	}
}

/* An SSE line over its cap is skipped, and the next line is read. */
static void test_sse_line_cap(void)
{
	struct usage u = { 0 };
	size_t n = AL_USAGE_SSE_LINE_MAX + 1;
	char *b = malloc(n);
	memset(b, 'x', n);
	memcpy(b, "data: {\"usage\":{\"input_tokens\":99}}", 36);
	usage_begin(&u, 200, "text/event-stream", 17);
	for (size_t i = 0; i < n; i += 4096)
		usage_feed(&u, b + i, n - i < 4096 ? n - i : 4096);
	CHECK(u.len <= AL_USAGE_SSE_LINE_MAX && u.cap <= 2 * AL_USAGE_SSE_LINE_MAX, "bounded: len %zu cap %zu",
	      u.len, u.cap);
	static const char next[] = "\n\ndata: {\"usage\":{\"input_tokens\":4,\"output_tokens\":5}}\n\n";
	usage_feed(&u, next, sizeof next - 1);
	usage_end(&u);
	CHECK(u.seen && u.input == 4 && u.output == 5, "the line over its cap is skipped, the next read: %llu %llu",
	      (unsigned long long)u.input, (unsigned long long)u.output);
	usage_free(&u);
	free(b);
}

int main(void)
{
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		CHECK(usage_wanted(paths[i].method, paths[i].path) == paths[i].want, "%s %s",
		      paths[i].method ? paths[i].method : "(null)", paths[i].path);
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
		for (size_t piece = 1; piece <= strlen(rows[r].body); piece = piece < 16 ? piece + 1 : piece * 2)
			run_row(r, piece);
	test_json_cap();
	test_sse_line_cap();
	return unit_finish("test-usage");
}
