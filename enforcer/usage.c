/* LLM usage metering (usage.h): which answers are read, a bounded JSON
 * buffer, an SSE line reader with a bounded line, and where the counts sit
 * in the providers' objects. */
#include "config.h"

#include "enforcer/usage.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "common/limits.h"
#include "common/xmalloc.h"

/* The paths of the APIs that report usage: matched as a suffix so a
 * provider reached under a prefix (a gateway's /api/v1/chat/completions)
 * is read too. A path that only looks like one costs a parse, never a
 * wrong count: the counts must sit where these APIs put them. */
static const char *const llm_paths[] = {
	"/v1/messages",                /* Anthropic Messages */
	"/v1/responses",               /* OpenAI Responses */
	"/v1/chat/completions",        /* OpenAI Chat Completions (and compatible APIs) */
	"/backend-api/codex/responses", /* Codex on a ChatGPT login */
};

bool usage_wanted(const char *method, const char *path)
{
	if (!method || strcmp(method, "POST") != 0 || !path)
		return false;
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof llm_paths / sizeof llm_paths[0]; i++) {
		size_t k = strlen(llm_paths[i]);
		if (n >= k && memcmp(path + n - k, llm_paths[i], k) == 0)
			return true;
	}
	return false;
}

static bool media_is(const char *ct, size_t n, const char *want)
{
	size_t k = strlen(want);
	while (n && (*ct == ' ' || *ct == '\t'))
		ct++, n--;
	return n >= k && strncasecmp(ct, want, k) == 0 &&
	       (n == k || ct[k] == ';' || ct[k] == ' ' || ct[k] == '\t');
}

void usage_begin(struct usage *u, int status, const char *ctype, size_t ctlen)
{
	usage_free(u);
	memset(u, 0, sizeof *u);
	if (status < 200 || status > 299 || !ctype)
		return;
	if (media_is(ctype, ctlen, "application/json"))
		u->mode = USAGE_JSON;
	else if (media_is(ctype, ctlen, "text/event-stream"))
		u->mode = USAGE_SSE;
}

static uint64_t count_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* The usage object of one answer or event: top level (a JSON answer,
 * message_delta, a chat chunk), message.usage (message_start) or
 * response.usage (response.completed). */
static void take_usage(struct usage *u, const json_t *o)
{
	const json_t *us = json_object_get(o, "usage");
	if (!json_is_object(us))
		us = json_object_get(json_object_get(o, "message"), "usage");
	if (!json_is_object(us))
		us = json_object_get(json_object_get(o, "response"), "usage");
	if (!json_is_object(us))
		return;
	uint64_t in, out;
	if (json_object_get(us, "prompt_tokens") || json_object_get(us, "completion_tokens")) {
		in = count_of(us, "prompt_tokens");
		out = count_of(us, "completion_tokens");
	} else {
		in = count_of(us, "input_tokens") + count_of(us, "cache_creation_input_tokens") +
		     count_of(us, "cache_read_input_tokens");
		out = count_of(us, "output_tokens");
	}
	if (in > u->input)
		u->input = in;
	if (out > u->output)
		u->output = out;
	u->seen = true;
}

static void parse_json(struct usage *u, const char *p, size_t n)
{
	json_error_t err;
	json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
	if (json_is_object(o))
		take_usage(u, o);
	json_decref(o);
}

/* Does this text hold a "usage" key whose value is an object? A cheap
 * look before a parse: jansson costs some 30k instructions for even a
 * small event, and a chat completion stream with include_usage says
 * "usage":null in every chunk but the last. */
static bool usage_object_in(const char *p, size_t n)
{
	const char *end = p + n, *k;
	while ((k = memmem(p, (size_t)(end - p), "\"usage\"", 7)) != NULL) {
		const char *v = k + 7;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v < end && *v == ':') {
			v++;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			if (v < end && *v == '{')
				return true;
		}
		p = k + 7;
	}
	return false;
}

/* One whole SSE line (its end of line removed). Only data lines matter;
 * the event name is not needed: the object says what it is. */
static void sse_line(struct usage *u, const char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (n < 5 || memcmp(p, "data:", 5) != 0)
		return;
	p += 5, n -= 5;
	if (n && *p == ' ')
		p++, n--;
	if (n == 0 || *p != '{' || !usage_object_in(p, n))
		return;
	parse_json(u, p, n);
}

static void sse_feed(struct usage *u, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (!u->skip) {
			if (u->len + take > AL_USAGE_SSE_LINE_MAX) {
				u->skip = true;
				secure_wipe(u->buf, u->len);
				u->len = 0;
			} else if (nl && u->len == 0) {
				sse_line(u, p, take);   /* whole in this piece: no copy */
			} else {
				xgrow_secure(&u->buf, &u->cap, u->len, u->len + take, 1024);
				memcpy(u->buf + u->len, p, take);
				u->len += take;
				if (nl)
					sse_line(u, u->buf, u->len);
			}
		}
		if (!nl)
			return;
		/* the line ended: the next starts clean */
		if (u->len)
			secure_wipe(u->buf, u->len);
		u->len = 0;
		u->skip = false;
		p = nl + 1;
		n -= take + 1;
	}
}

void usage_feed(struct usage *u, const char *p, size_t n)
{
	switch (u->mode) {
	case USAGE_JSON:
		if (u->skip)
			return;
		if (u->len + n > AL_USAGE_JSON_MAX) {
			u->skip = true;
			return;
		}
		xgrow_secure(&u->buf, &u->cap, u->len, u->len + n, 4096);
		memcpy(u->buf + u->len, p, n);
		u->len += n;
		return;
	case USAGE_SSE:
		sse_feed(u, p, n);
		return;
	case USAGE_OFF:
		return;
	}
}

void usage_end(struct usage *u)
{
	if (u->mode == USAGE_JSON && !u->skip && u->len)
		parse_json(u, u->buf, u->len);
	else if (u->mode == USAGE_SSE && !u->skip && u->len)
		sse_line(u, u->buf, u->len);   /* a last line without its newline */
	if (u->buf)
		secure_free(u->buf, u->cap);
	u->buf = NULL;
	u->len = u->cap = 0;
	u->mode = USAGE_OFF;
}

void usage_free(struct usage *u)
{
	if (u->buf)
		secure_free(u->buf, u->cap);
	u->buf = NULL;
	u->len = u->cap = 0;
}
