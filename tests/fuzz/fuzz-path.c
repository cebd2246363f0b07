/* libFuzzer target: request-path normalisation (common/netmatch.c), the
 * check every allow rule's path relies on. Whatever path_normalise accepts
 * is what airlock matches and sends upstream, so it must be a fixed point
 * (normalising it again gives it back), hold no dot segment, no name that a
 * backend reads as one ("..;x", "..%3B", "..."), no escape that is not
 * well-formed UTF-8 or that encodes '.', '/', '\\', '%', an unreserved
 * character or a control, and only upper-case hex. Checked here by code
 * written apart from netmatch.c's. A rule path that path_pattern_parse
 * accepts must be a normalised path too, or it could never match. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/netmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;   /* lower case is not the one spelling */
}

/* The escapes of a normalised path: "%XX" with upper-case hex, none of an
 * unreserved character, '.', '/', '\\', '%' or a control, and the bytes
 * >= 0x80 forming well-formed UTF-8 without C1 controls, each character
 * entirely escaped. Decoded into bytes[] for the checks that follow. */
static bool escapes_ok(const char *p)
{
	uint8_t b[AL_PATH_MAX];
	size_t n = 0;

	for (; *p; p++) {
		if (*p != '%') {
			if ((uint8_t)*p >= 0x80)
				return false;
			b[n++] = 0;   /* a literal: ends any multi-byte sequence */
			continue;
		}
		int h = hexv(p[1]), l = h < 0 ? -1 : hexv(p[2]);
		if (l < 0)
			return false;
		unsigned v = (unsigned)(h * 16 + l);
		if (v < 0x20 || v == 0x7f || v == '.' || v == '/' || v == '\\' || v == '%' ||
		    (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || (v >= '0' && v <= '9') || v == '-' ||
		    v == '_' || v == '~')
			return false;
		b[n++] = (uint8_t)v;
		p += 2;
	}
	/* UTF-8 by its code point ranges (not by the byte ranges netmatch.c uses) */
	for (size_t i = 0; i < n;) {
		uint8_t c = b[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
		if (len == 0 || c >= 0xF8 || i + len > n)
			return false;
		uint32_t cp = c & (0x7F >> len);
		for (size_t k = 1; k < len; k++) {
			if ((b[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (b[i + k] & 0x3F);
		}
		static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp <= 0x9F)
			return false;
		/* the folding characters named in docs/security.md */
		if (cp == 0xFF0E || cp == 0xFF0F || cp == 0xFF3C || cp == 0x2215 || cp == 0x2024 ||
		    cp == 0x2025 || cp == 0xFE52 || cp == 0xFE68)
			return false;
		i += len;
	}
	return true;
}

/* No segment whose name (before ';' or "%3B") is made only of dots and
 * spaces: neither "." nor ".." (resolved) nor "..;x", "...", "..%20". */
static bool segments_ok(const char *p)
{
	while (*p == '/') {
		const char *s = p + 1;
		size_t dots = 0;
		bool other = false;
		while (*s && *s != '/' && *s != ';' && strncmp(s, "%3B", 3) != 0) {
			if (*s == '.')
				dots++;
			else if (strncmp(s, "%20", 3) == 0)
				s += 2;
			else
				other = true;
			s++;
		}
		if (dots && !other)
			return false;
		p = s + strcspn(s, "/");
	}
	return *p == '\0';
}

static void check_normalised(const char *out)
{
	char again[AL_PATH_MAX + 1];
	const char *q;
	size_t n = strlen(out);

	if (n == 0 || n > AL_PATH_MAX || out[0] != '/' || strchr(out, '?') || strchr(out, '#') ||
	    strchr(out, '\\'))
		__builtin_trap();
	if (!escapes_ok(out) || !segments_ok(out))
		__builtin_trap();
	if (path_normalise(out, n, again, &q) != 0 || q != NULL || strcmp(out, again) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[AL_PATH_MAX + 1];
	const char *in = (const char *)data, *q;
	char *z;

	if (path_normalise(in, size, out, &q) == 0) {
		check_normalised(out);
		/* the query starts at the first '?', and nothing before it is query */
		const char *first = memchr(in, '?', size);
		if (q != first)
			__builtin_trap();
	}

	z = malloc(size + 1);
	if (!z)
		abort();
	memcpy(z, data, size);
	z[size] = '\0';
	if (path_pattern_parse(z) == 0) {
		/* a rule path is a normalised path, matched as written */
		if (path_normalise(z, strlen(z), out, &q) != 0 || strcmp(out, z) != 0)
			__builtin_trap();
		check_normalised(out);
	}
	free(z);
	return 0;
}
