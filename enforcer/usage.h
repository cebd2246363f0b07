/* LLM usage metering: the token counts an LLM API reports in its own
 * answer, read as the answer streams past (never buffered whole), for
 * responses to injected requests to Anthropic Messages (POST /v1/messages)
 * and OpenAI Responses and Chat Completions (POST /v1/responses,
 * /v1/chat/completions, and chatgpt.com's /backend-api/codex/responses).
 *
 * Where the counts live: a JSON answer has "usage" at its top level; a
 * stream (text/event-stream) carries it in Anthropic's message_start
 * (message.usage: input) and message_delta (usage: output so far), in
 * OpenAI's response.completed (response.usage), and in the last chunk of a
 * chat completion (usage). Input counts Anthropic's cache reads and writes
 * too (input_tokens leaves them out); OpenAI's input_tokens and
 * prompt_tokens already hold them. A count seen twice (message_delta after
 * message_start) is the running total: the largest is kept.
 *
 * Bounds: a JSON answer is kept up to AL_USAGE_JSON_MAX bytes (past it,
 * nothing is counted); an SSE line up to AL_USAGE_SSE_LINE_MAX (a longer
 * one is skipped); a data line is parsed (jansson) only when it holds a
 * "usage" key whose value is an object. The bytes kept may hold a
 * reflected secret: wiped. */
#ifndef AIRLOCK_ENFORCER_USAGE_H
#define AIRLOCK_ENFORCER_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum usage_mode { USAGE_OFF, USAGE_JSON, USAGE_SSE };

struct usage {
	enum usage_mode mode;
	char *buf;              /* the JSON answer so far, or the SSE line being read */
	size_t len, cap;
	bool skip;              /* over its cap: JSON not counted / this SSE line skipped */
	bool seen;              /* some usage was read */
	uint64_t input, output;
};

/* Is this request one whose answer reports usage? method upper case,
 * path normalised without its query. */
bool usage_wanted(const char *method, const char *path);
/* The response head: status and Content-Type (not NUL-terminated) decide
 * whether and how the body is read (2xx JSON or SSE; else off). */
void usage_begin(struct usage *u, int status, const char *ctype, size_t ctlen);
/* n more body bytes (after transfer decoding). */
void usage_feed(struct usage *u, const char *p, size_t n);
/* The body ended: a JSON answer is parsed now. */
void usage_end(struct usage *u);
/* Wipe and free what it holds (u itself is the caller's). */
void usage_free(struct usage *u);

#endif
