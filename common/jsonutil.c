/* JSON helpers over jansson: capped, depth-checked parsing with a
 * "line L, column C" error, and validation of an object against a table of
 * fields so that every body is described once and unknown fields are refused. */
#include "config.h"

#include "common/jsonutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/xmalloc.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Depth of v, where a scalar is 0 and an object or array one more than its
 * deepest member. Stops descending once past limit. */
static int json_depth(const json_t *v, int limit)
{
	int max = 0;

	if (limit < 0)
		return 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m) {
			int d = json_depth(m, limit - 1);
			if (d > max)
				max = d;
			if (max > limit)
				break;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m) {
			int d = json_depth(m, limit - 1);
			if (d > max)
				max = d;
			if (max > limit)
				break;
		}
		return max + 1;
	}
	return 0;
}

/* What went wrong, in words of our own: jansson's text ends with "near
 * '...'", the token it stopped in, which for a string is the string so far
 * (a secret's value in an API body, a token hash in state.json). */
static const char *parse_problem(enum json_error_code code)
{
	switch (code) {
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_premature_end_of_input:
		return "the text ends inside a value";
	case json_error_end_of_input_expected:
		return "more text after the object";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "a NUL character (\\u0000)";
	case json_error_duplicate_key:
		return "a duplicate key in one object";
	case json_error_numeric_overflow:
		return "a number out of range";
	case json_error_stack_overflow:
		return "nesting too deep";
	default:
		return "not valid JSON here (a control character or bad escape in a string, or a "
		       "misplaced token)";
	}
}

int json_parse_object(const char *buf, size_t len, size_t cap, json_t **out, char *err,
		      size_t errlen)
{
	json_error_t jerr;
	json_t *v = NULL;
	int rc = AL_EINVAL;

	*out = NULL;
	if (len > cap) {
		set_err(err, errlen, "body is over %zu bytes", cap);
		rc = AL_ETOOBIG;
		goto out;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	/* the code is kept in the text's last byte: read it before the wipe */
	enum json_error_code code = json_error_code(&jerr);
	secure_wipe(jerr.text, sizeof jerr.text);
	if (!v) {
		set_err(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column,
			parse_problem(code));
		goto out;
	}
	if (!json_is_object(v)) {
		set_err(err, errlen, "line 1, column 1: expected a JSON object");
		goto out;
	}
	if (json_depth(v, AL_JSON_DEPTH_MAX) > AL_JSON_DEPTH_MAX) {
		set_err(err, errlen, "nesting deeper than %d levels", AL_JSON_DEPTH_MAX);
		goto out;
	}
	*out = v;
	v = NULL;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

/* A field name as it may appear in a message: user keys can hold anything,
 * so keep it short and printable. */
static void clean_name(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < cap; p++)
		out[o++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
	if (*in && o + 1 >= cap && o >= 3)
		memcpy(out + o - 3, "...", 3);
	out[o] = '\0';
}

static bool in_range(const struct json_field *f, long long v)
{
	if (f->min == 0 && f->max == 0)
		return true;
	return v >= f->min && v <= f->max;
}

static int check_field(const json_t *v, const struct json_field *f, const char *fp, char *err,
		       size_t errlen)
{
	size_t i;
	json_t *m;

	switch (f->type) {
	case JF_STRING:
	case JF_NULLABLE_STRING:
		if (f->type == JF_NULLABLE_STRING && json_is_null(v))
			return 0;
		if (!json_is_string(v)) {
			set_err(err, errlen, "field %s must be a string%s", fp,
				f->type == JF_NULLABLE_STRING ? " or null" : "");
			return AL_EINVAL;
		}
		if (f->max_len && json_string_length(v) > f->max_len) {
			set_err(err, errlen, "field %s must be at most %zu bytes", fp, f->max_len);
			return AL_ERANGE;
		}
		return 0;
	case JF_INT:
		if (!json_is_integer(v)) {
			set_err(err, errlen, "field %s must be an integer", fp);
			return AL_EINVAL;
		}
		if (!in_range(f, json_integer_value(v))) {
			set_err(err, errlen, "field %s must be between %lld and %lld", fp, f->min, f->max);
			return AL_ERANGE;
		}
		return 0;
	case JF_BOOL:
		if (!json_is_boolean(v)) {
			set_err(err, errlen, "field %s must be true or false", fp);
			return AL_EINVAL;
		}
		return 0;
	case JF_OBJECT:
		if (!json_is_object(v)) {
			set_err(err, errlen, "field %s must be an object", fp);
			return AL_EINVAL;
		}
		return 0;
	case JF_STRING_ARRAY:
	case JF_INT_ARRAY: {
		bool strs = f->type == JF_STRING_ARRAY;
		const char *what = strs ? "strings" : "integers";

		if (!json_is_array(v)) {
			set_err(err, errlen, "field %s must be an array of %s", fp, what);
			return AL_EINVAL;
		}
		json_array_foreach(v, i, m) {
			if (strs ? !json_is_string(m) : !json_is_integer(m)) {
				set_err(err, errlen, "field %s must be an array of %s", fp, what);
				return AL_EINVAL;
			}
		}
		if (f->max_items && json_array_size(v) > f->max_items) {
			set_err(err, errlen, "field %s must have at most %zu items", fp, f->max_items);
			return AL_ERANGE;
		}
		json_array_foreach(v, i, m) {
			if (strs && f->max_len && json_string_length(m) > f->max_len) {
				set_err(err, errlen, "field %s[%zu] must be at most %zu bytes", fp, i,
					f->max_len);
				return AL_ERANGE;
			}
			if (!strs && !in_range(f, json_integer_value(m))) {
				set_err(err, errlen, "field %s[%zu] must be between %lld and %lld", fp, i,
					f->min, f->max);
				return AL_ERANGE;
			}
		}
		return 0;
	}
	}
	set_err(err, errlen, "field %s has an unknown type in its table", fp);
	return AL_EINVAL;
}

int json_validate(const json_t *obj, const struct json_field *fields, size_t nfields,
		  const char *path, char *err, size_t errlen)
{
	char fp[256], name[96];
	const char *key;
	json_t *v;
	int rc = 0;

	if (!path)
		path = "";
	if (!json_is_object(obj)) {
		set_err(err, errlen, "%s must be an object", *path ? path : "body");
		return AL_EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		bool known = false;
		for (size_t i = 0; i < nfields && !known; i++)
			known = strcmp(fields[i].name, key) == 0;
		if (!known) {
			clean_name(key, name, sizeof name);
			set_err(err, errlen, "unknown field %s.%s", path, name);
			return AL_EINVAL;
		}
	}
	for (size_t i = 0; i < nfields; i++) {
		const struct json_field *f = &fields[i];

		snprintf(fp, sizeof fp, "%s.%s", path, f->name);
		v = json_object_get(obj, f->name);
		if (!v) {
			if (f->required) {
				set_err(err, errlen, "missing field %s", fp);
				return AL_EINVAL;
			}
			continue;
		}
		rc = check_field(v, f, fp, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const char *json_str(const json_t *obj, const char *key, const char *dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

long long json_int(const json_t *obj, const char *key, long long dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

bool json_bool(const json_t *obj, const char *key, bool dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

char *json_dump_compact(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		abort();
	return s;
}
