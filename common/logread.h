/* Reading a decision log line back: the reverse of log_render() (log.h)
 * for decision lines, key=value or JSON. The log is untrusted input (a
 * sandbox chooses hosts, methods and paths): only lines as airlock writes
 * them are read (starting "ts=" or "{"), every field at most once, each
 * within its cap, no NUL byte; anything else is refused. Keys airlock does
 * not write are skipped (a newer writer may add fields). */
#ifndef AIRLOCK_LOGREAD_H
#define AIRLOCK_LOGREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/duration.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/netmatch.h"

/* The fields of a decision line, in the order the enforcer writes them. */
enum logread_field {
	LF_TS, LF_VERDICT, LF_CLIENT, LF_METHOD, LF_SCHEME, LF_HOST, LF_PORT, LF_PATH, LF_MODE,
	LF_RULE, LF_INJECT, LF_REASON, LF_STATUS, LF_BYTES_UP, LF_BYTES_DOWN, LF_MS, LF_SCRUBBED,
	LF_HINT, LF_UPGRADE, LF_VIA, LF_SRC, LF_REQ,
	LF_COUNT
};

/* One decision line, read: each value NUL-terminated, seen has a bit per
 * field found (logread_has). */
struct logread_line {
	char ts[AL_TIME_STR_MAX + 16];
	char verdict[16];
	char client[AL_NAME_MAX + 1];
	char method[AL_METHOD_MAX + 1];
	char scheme[16];
	char host[AL_HOST_BUF];
	char port[8];
	char path[AL_PATH_MAX + 1];
	char mode[16];
	char rule[24];
	char inject[AL_NAME_MAX + 1];
	char reason[64];
	char status[8];
	char bytes_up[24], bytes_down[24], ms[24], scrubbed[24];
	char hint[32];
	char upgrade[32];
	char via[16];
	char src[AL_HOST_BUF + 8];
	char req[24];
	unsigned seen;
};

/* The key of field f ("ts", "verdict", "bytes_up", ...). */
const char *logread_key(enum logread_field f);
/* Field f's value in l, or NULL when the line has none. */
const char *logread_get(const struct logread_line *l, enum logread_field f);
static inline bool logread_has(const struct logread_line *l, enum logread_field f)
{
	return (l->seen & (1u << f)) != 0;
}

/* Read the len bytes at line (no newline; a trailing CR is ignored) into
 * out. 0: a decision line; 1: not one (an operational line with level= and
 * msg=, or a line airlock did not write); AL_EINVAL: a decision line that
 * is malformed (a bad quote or escape, a field twice or over its cap, a
 * NUL). scratch holds at least len bytes. */
int logread_parse(const char *line, size_t len, struct logread_line *out, char *scratch) AL_MUST_CHECK;

#endif
