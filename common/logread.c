/* The decision log line reader (logread.h): key=value lines as
 * log_render() writes them (render_kv_value's quoting, in reverse) and
 * JSON lines, into one struct logread_line, each field checked to fit. */
#include "config.h"

#include "common/logread.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *key;
	size_t off, cap;
} fields[LF_COUNT] = {
#define F(id, name) [id] = { #name, offsetof(struct logread_line, name), sizeof(((struct logread_line *)0)->name) }
	F(LF_TS, ts), F(LF_VERDICT, verdict), F(LF_CLIENT, client), F(LF_METHOD, method),
	F(LF_SCHEME, scheme), F(LF_HOST, host), F(LF_PORT, port), F(LF_PATH, path), F(LF_MODE, mode),
	F(LF_RULE, rule), F(LF_INJECT, inject), F(LF_REASON, reason), F(LF_STATUS, status),
	F(LF_BYTES_UP, bytes_up), F(LF_BYTES_DOWN, bytes_down), F(LF_MS, ms), F(LF_SCRUBBED, scrubbed),
	F(LF_HINT, hint), F(LF_UPGRADE, upgrade), F(LF_VIA, via), F(LF_SRC, src), F(LF_REQ, req),
#undef F
};

const char *logread_key(enum logread_field f)
{
	return (unsigned)f < LF_COUNT ? fields[f].key : NULL;
}

const char *logread_get(const struct logread_line *l, enum logread_field f)
{
	return (unsigned)f < LF_COUNT && logread_has(l, f) ? (const char *)l + fields[f].off : NULL;
}

/* Store a value for `key`; AL_EINVAL when it repeats a field, holds a NUL
 * or does not fit (a value longer than any valid one is not valid). A key
 * airlock does not write is skipped. */
static int field_set(struct logread_line *l, const char *key, size_t klen, const char *v, size_t vlen)
{
	for (unsigned f = 0; f < LF_COUNT; f++) {
		if (strlen(fields[f].key) != klen || memcmp(fields[f].key, key, klen) != 0)
			continue;
		if (l->seen & (1u << f) || vlen >= fields[f].cap || memchr(v, '\0', vlen))
			return AL_EINVAL;
		char *dst = (char *)l + fields[f].off;
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
		l->seen |= 1u << f;
		return 0;
	}
	return 0;
}

/* ---- key=value lines ---- */

/* A quoted value starting at *p (on the '"'): decode \" \\ \n \r \t \xHH
 * into out, advance *p past the closing quote. Anything else after a
 * backslash, or no closing quote (a line cut by the logger), is AL_EINVAL. */
static int kv_unquote(const char **p, const char *end, char *out, size_t *olen)
{
	const char *s = *p + 1;
	size_t n = 0;
	while (s < end && *s != '"') {
		char c = *s++;
		if (c == '\\') {
			if (s >= end)
				return AL_EINVAL;
			char e = *s++;
			switch (e) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'x': {
				if (end - s < 2 || bytes_hexval(s[0]) < 0 || bytes_hexval(s[1]) < 0)
					return AL_EINVAL;
				c = (char)(bytes_hexval(s[0]) * 16 + bytes_hexval(s[1]));
				s += 2;
				break;
			}
			default:
				return AL_EINVAL;
			}
		}
		out[n++] = c; /* never more bytes out than in: out is as big as the line */
	}
	if (s >= end)
		return AL_EINVAL;
	*p = s + 1;
	*olen = n;
	return 0;
}

/* "ts=T VERDICT k=v k="v v" ...": the verdict is the one word without '='.
 * Operational lines (level=... msg=...) have none: 1, not a decision. */
static int kv_parse(const char *line, size_t len, struct logread_line *l, char *scratch)
{
	const char *p = line, *end = line + len;
	bool have_verdict = false;

	while (p < end) {
		const char *w = p;
		while (p < end && *p != ' ' && *p != '=')
			p++;
		if (p == w)
			return AL_EINVAL; /* two spaces, or "=v" */
		if (p == end || *p == ' ') {
			/* a bare word: the verdict, once, second in the line */
			if (have_verdict || l->seen != (1u << LF_TS))
				return AL_EINVAL;
			if (field_set(l, "verdict", 7, w, (size_t)(p - w)) < 0)
				return AL_EINVAL;
			have_verdict = true;
		} else {
			const char *key = w;
			size_t klen = (size_t)(p - w);
			p++; /* '=' */
			if (p < end && *p == '"') {
				size_t vlen;
				if (kv_unquote(&p, end, scratch, &vlen) < 0 ||
				    field_set(l, key, klen, scratch, vlen) < 0)
					return AL_EINVAL;
			} else {
				const char *v = p;
				while (p < end && *p != ' ')
					p++;
				if (memchr(v, '"', (size_t)(p - v)) || field_set(l, key, klen, v, (size_t)(p - v)) < 0)
					return AL_EINVAL;
			}
		}
		if (p < end) {
			if (*p != ' ')
				return AL_EINVAL; /* "k="v"x" */
			p++;
		}
	}
	return have_verdict ? 0 : 1;
}

/* ---- JSON lines ---- */

static int json_field(struct logread_line *l, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	char num[24];
	if (v == NULL)
		return 0;
	if (json_is_string(v))
		return field_set(l, key, strlen(key), json_string_value(v), json_string_length(v));
	if (json_is_integer(v)) {
		int n = snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
		return field_set(l, key, strlen(key), num, (size_t)n);
	}
	return AL_EINVAL;
}

static int json_parse(const char *line, size_t len, struct logread_line *l)
{
	json_error_t jerr;
	int ret = AL_EINVAL;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o))
		goto out;
	if (json_object_get(o, "verdict") == NULL) {
		ret = 1; /* an operational line (level, msg) */
		goto out;
	}
	for (unsigned f = 0; f < LF_COUNT; f++)
		if (json_field(l, o, fields[f].key) < 0)
			goto out;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

int logread_parse(const char *line, size_t len, struct logread_line *out, char *scratch)
{
	memset(out, 0, sizeof *out);
	if (len && line[len - 1] == '\r')
		len--;
	/* Only lines as airlock writes them: a decision found in the middle of
	 * a line could sit inside another line's quoted value. */
	if (len >= 3 && memcmp(line, "ts=", 3) == 0)
		return kv_parse(line, len, out, scratch);
	if (len >= 1 && line[0] == '{')
		return json_parse(line, len, out);
	return 1;
}
