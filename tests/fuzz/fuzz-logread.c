/* libFuzzer target: decision log lines as `airlock audit suggest` reads
 * them (common/logread.c), key=value or JSON. Whatever the bytes: an
 * answer of 0, 1 or AL_EINVAL, every field found NUL-terminated within
 * its cap. A line read as a decision is written again with log_render()
 * (key=value) and read back to the same fields: the reader is the
 * writer's inverse. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/logread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RENDER_MAX (4 * AL_AUDIT_LINE_MAX + 4096)

static bool word_ok(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || (*w >= '0' && *w <= '9') ||
		      *w == '_' || *w == '-' || *w == '.'))
			return false;
	return true;
}

static void roundtrip(const struct logread_line *l)
{
	static char out[RENDER_MAX], scratch[RENDER_MAX];
	struct log_kv kv[LF_COUNT];
	size_t n = 0;
	struct logread_line again;

	if (!word_ok(l->verdict))
		return; /* log_render writes the verdict as a key: only such words */
	for (unsigned f = LF_CLIENT; f < LF_COUNT; f++) {
		const char *v = logread_get(l, f);
		if (!v)
			continue;
		if (log_value_is_sensitive(v))
			return; /* written [redacted] on purpose */
		kv[n++] = KV_S(logread_key(f), v);
	}
	size_t len = log_render(out, sizeof out, LOG_FMT_KV, l->verdict, NULL, kv, n);
	if (len + 1 >= sizeof out)
		return;
	if (logread_parse(out, len, &again, scratch) != 0)
		__builtin_trap();
	for (unsigned f = LF_VERDICT; f < LF_COUNT; f++) {
		const char *a = logread_get(l, f), *b = logread_get(&again, f);
		if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logread_line l;
	if (size > AL_AUDIT_LINE_MAX)
		return 0; /* audit suggest skips longer lines whole */
	/* exact-size heap copies: reads past the line are caught */
	char *line = malloc(size ? size : 1), *scratch = malloc(size ? size : 1);
	if (!line || !scratch)
		__builtin_trap();
	memcpy(line, data, size);
	int rc = logread_parse(line, size, &l, scratch);
	if (rc != 0 && rc != 1 && rc != AL_EINVAL)
		__builtin_trap();
	if (l.seen >> LF_COUNT)
		__builtin_trap();
	for (unsigned f = 0; f < LF_COUNT; f++) {
		const char *v = logread_get(&l, f);
		if (v && !memchr(v, '\0', (size_t)((const char *)(&l + 1) - v)))
			__builtin_trap(); /* not NUL-terminated inside the struct */
	}
	if (rc == 0) {
		if (!logread_has(&l, LF_VERDICT))
			__builtin_trap();
		roundtrip(&l);
	}
	free(line);
	free(scratch);
	return 0;
}
