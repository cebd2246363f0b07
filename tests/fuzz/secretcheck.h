/* Checks the fuzz targets share about messages built from input that may
 * hold secrets: a message is printable one-line ASCII, and it does not
 * depend on the bytes of a value, only on its shape. The test for the
 * latter is differential: change every letter and digit inside the
 * input's strings (same length, same character class, so that nothing a
 * validator may look at changes but the bytes themselves), run again, and
 * the message must be the same. A message that quotes a value changes with
 * it. Header-only: each target is one program. */
#ifndef AIRLOCK_FUZZ_SECRETCHECK_H
#define AIRLOCK_FUZZ_SECRETCHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* a letter or digit becomes the next one of its class (z -> a, 9 -> 0) */
static inline char secretcheck_rotate(char c)
{
	if (c >= 'a' && c <= 'z')
		return c == 'z' ? 'a' : (char)(c + 1);
	if (c >= 'A' && c <= 'Z')
		return c == 'Z' ? 'A' : (char)(c + 1);
	if (c >= '0' && c <= '9')
		return c == '9' ? '0' : (char)(c + 1);
	return c;
}

/* A copy of raw JSON text with the letters and digits inside its string
 * literals rotated; escapes are kept (the character after a backslash, and
 * the four hex digits of \uXXXX), so a text that did not parse fails at the
 * same place for the same reason. Caller frees. */
static inline char *secretcheck_scramble_text(const uint8_t *in, size_t n)
{
	char *out = malloc(n ? n : 1);
	bool str = false;
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = (char)in[i];
		out[i] = c;
		if (!str) {
			str = c == '"';
			continue;
		}
		if (c == '"') {
			str = false;
		} else if (c == '\\' && i + 1 < n) {
			i++;
			out[i] = (char)in[i];
			if (in[i] == 'u')
				for (int k = 0; k < 4 && i + 1 < n; k++, i++)
					out[i + 1] = (char)in[i + 1];
		} else {
			out[i] = secretcheck_rotate(c);
		}
	}
	return out;
}

/* A deep copy of v whose string values (not object keys) have their
 * letters and digits rotated, bytes and lengths otherwise the same. */
static inline json_t *secretcheck_scramble_values(const json_t *v)
{
	if (json_is_string(v)) {
		size_t n = json_string_length(v);
		char *s = malloc(n + 1);
		if (!s)
			abort();
		memcpy(s, json_string_value(v), n + 1);
		for (size_t i = 0; i < n; i++)
			s[i] = secretcheck_rotate(s[i]);
		json_t *r = json_stringn_nocheck(s, n);
		free(s);
		return r;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m)
			json_object_set_new_nocheck(o, k, secretcheck_scramble_values(m));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m)
			json_array_append_new(a, secretcheck_scramble_values(m));
		return a;
	}
	return json_deep_copy(v);
}

/* NUL-terminated within cap, one line of printable ASCII */
static inline void secretcheck_printable(const char *msg, size_t cap)
{
	size_t n = strnlen(msg, cap);
	if (n == cap)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
			__builtin_trap();
}

#endif
