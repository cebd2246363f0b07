/* JSON helpers over jansson: parse a body with a size and depth cap and a
 * line/column error, and validate an object against a table of fields
 * (type, range, required). Unknown fields are refused, naming their JSON path.
 *
 *   static const struct json_field allow_fields[] = {
 *       { "client", JF_STRING, .required = true, .max_len = AL_NAME_MAX },
 *       { "ports",  JF_INT_ARRAY, .min = 1, .max = 65535, .max_items = AL_RULE_LIST_MAX },
 *       ...
 *   };
 *   if (json_validate(body, allow_fields, ARRAY_SIZE(allow_fields), "", err, sizeof err) < 0) ...
 *
 * Give every row at least one designated member (".required = false" will
 * do): -Wmissing-field-initializers refuses { "x", JF_BOOL }. For JF_INT and
 * JF_INT_ARRAY, min = max = 0 means any integer. Wrong type, unknown and
 * missing fields are AL_EINVAL; numbers, lengths and item counts out of
 * range are AL_ERANGE.
 */
#ifndef AIRLOCK_JSONUTIL_H
#define AIRLOCK_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

enum json_field_type {
	JF_STRING,        /* max_len bytes at most (0: no cap beyond the body's) */
	JF_INT,           /* min..max inclusive */
	JF_BOOL,
	JF_STRING_ARRAY,  /* max_items entries, each max_len bytes at most */
	JF_INT_ARRAY,     /* max_items entries, each min..max */
	JF_OBJECT,        /* any object (validated by the caller) */
	JF_NULLABLE_STRING, /* a string or null */
};

struct json_field {
	const char *name;
	enum json_field_type type;
	bool required;
	long long min, max;
	size_t max_len;
	size_t max_items;
};

/* Parse `len` bytes as one JSON object. Refuses bodies over `cap` bytes
 * (AL_ETOOBIG), nesting deeper than AL_JSON_DEPTH_MAX, and anything that is
 * not an object, with "line L, column C: what" in err. */
int json_parse_object(const char *buf, size_t len, size_t cap, json_t **out,
		      char *err, size_t errlen) AL_MUST_CHECK;

/* Validate obj against fields. `path` is the JSON path of obj ("" for the
 * root) used in messages such as "unknown field .rules[2].colour".
 * Returns 0, AL_EINVAL or AL_ERANGE with err filled. */
int json_validate(const json_t *obj, const struct json_field *fields, size_t nfields,
		  const char *path, char *err, size_t errlen) AL_MUST_CHECK;

/* Accessors that return a default when the key is absent (after validation). */
const char *json_str(const json_t *obj, const char *key, const char *dflt);
long long json_int(const json_t *obj, const char *key, long long dflt);
bool json_bool(const json_t *obj, const char *key, bool dflt);

/* Serialise compactly (caller frees with free()). Aborts on OOM. */
char *json_dump_compact(const json_t *v);

#endif
