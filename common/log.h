/* Structured logging: one line per event, key=value (or JSON lines).
 *
 * It can never print a secret: keys that name credentials (token, value,
 * password, authorization, cookie, *_token, secret_value) are written as
 * [redacted] whatever their value, and any value that looks like a credential
 * (airlock client tokens, "Bearer ...", "Basic ...", sk-ant-, gho_/ghu_/ghp_,
 * xai-, JWTs) is redacted too. Values with spaces, quotes or '=' are quoted.
 *
 * Decision lines (docs/airlock-enforcer.8, LOG) start with the verdict word:
 *   ts=... deny client=web-1 method=GET scheme=https host=... reason=no-rule
 * Other lines carry level= and msg=. */
#ifndef AIRLOCK_LOG_H
#define AIRLOCK_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_format { LOG_FMT_KV, LOG_FMT_JSON };

/* LOG_KV_CHECKED: a string log_kv_redact() already checked (or replaced):
 * rendered as it is, without the redaction checks again.
 * LOG_KV_INT_CHECKED: an integer whose key log_kv_redact() found not
 * sensitive: rendered as the number, without checking the key again. */
enum log_kv_type { LOG_KV_STR, LOG_KV_INT, LOG_KV_CHECKED, LOG_KV_INT_CHECKED };
struct log_kv {
	const char *key;
	enum log_kv_type type;
	const char *s;     /* LOG_KV_STR; NULL is skipped */
	long long i;       /* LOG_KV_INT, LOG_KV_INT_CHECKED */
};

#define KV_S(k, v) ((struct log_kv){ .key = (k), .type = LOG_KV_STR, .s = (v) })
#define KV_I(k, v) ((struct log_kv){ .key = (k), .type = LOG_KV_INT, .i = (long long)(v) })

/* Configure once at start-up (not thread-safe); writes go to `out`
 * (stderr by default), one write(2) per line so threads never interleave. */
void log_init(const char *program, enum log_format fmt, enum log_level min, FILE *out);
int log_format_parse(const char *s, enum log_format *out);
/* Send the lines (and whatever else goes to that descriptor: stderr by
 * default) to path, appended, created 0640; again on SIGHUP after a
 * rotation. 0, or AL_EPERM / AL_EIO with the old descriptor kept. */
int log_file_open(const char *path) AL_MUST_CHECK;
/* The lowest level written (SIGHUP may turn --debug on or off). */
void log_set_level(enum log_level min);

/* An operational event: level=... msg=... then the fields. */
void log_msg_(enum log_level lvl, const char *msg, const struct log_kv *kv, size_t n);
#define log_msg(lvl, msg, ...) \
	log_msg_((lvl), (msg), (const struct log_kv[]){ KV_S(NULL, NULL), ##__VA_ARGS__ } + 1, \
		 sizeof((const struct log_kv[]){ KV_S(NULL, NULL), ##__VA_ARGS__ }) / sizeof(struct log_kv) - 1)
#define log_error(msg, ...) log_msg(LOG_LVL_ERROR, msg, ##__VA_ARGS__)
#define log_warn(msg, ...)  log_msg(LOG_LVL_WARN, msg, ##__VA_ARGS__)
#define log_info(msg, ...)  log_msg(LOG_LVL_INFO, msg, ##__VA_ARGS__)
#define log_debug(msg, ...) log_msg(LOG_LVL_DEBUG, msg, ##__VA_ARGS__)

/* Apply the redaction to kv[0, n) once, in place: each sensitive value
 * (by its key or its look) becomes "[redacted]", every string is marked
 * LOG_KV_CHECKED and every other integer LOG_KV_INT_CHECKED, so rendering
 * the same fields again (the decision line for the log and for the
 * broker's feed) does not check them twice.
 * Renders exactly as the fields did before. */
void log_kv_redact(struct log_kv *kv, size_t n);

/* A proxy decision: verdict is "allow", "deny" or "audit". */
void log_decision_(const char *verdict, const struct log_kv *kv, size_t n);
#define log_decision(verdict, ...) \
	log_decision_((verdict), (const struct log_kv[]){ __VA_ARGS__ }, \
		      sizeof((const struct log_kv[]){ __VA_ARGS__ }) / sizeof(struct log_kv))

/* Render into buf (for tests and for callers that route lines elsewhere),
 * NUL-terminated, without a trailing newline. msg == NULL renders a decision
 * line (verdict_or_level is the verdict word); otherwise level= and msg=.
 * Returns the length written (truncated lines end in "..."). */
size_t log_render(char *buf, size_t cap, enum log_format fmt, const char *verdict_or_level,
		  const char *msg, const struct log_kv *kv, size_t n);

/* Batching, for event-loop threads that log a line per request: after
 * log_batch_start() this thread's lines are gathered and written by
 * log_batch_flush() (call it before the loop blocks) in whole lines, one
 * write(2) of at most LOG_BATCH_MAX bytes (PIPE_BUF: atomic on a pipe, so
 * threads never interleave inside a line). log_batch_stop() flushes and ends
 * batching. Other threads are unaffected. */
#define LOG_BATCH_MAX 4096
void log_batch_start(void);
void log_batch_flush(void);
void log_batch_stop(void);

/* True when a key names a credential, or a value looks like one. */
bool log_key_is_sensitive(const char *key);
bool log_value_is_sensitive(const char *value);

#endif
