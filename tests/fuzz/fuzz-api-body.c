/* libFuzzer target for the REST API's body checks: the first byte picks the
 * field table of one POST (broker/api_*.c, through api_*_bodies), the rest
 * is the body, parsed as api_server.c does (json_parse_object under
 * AL_API_BODY_MAX) and validated with json_validate. Invariants:
 *  - json_validate agrees with a reference written from jsonutil.h's
 *    contract (unknown fields, then each row in table order: type, then
 *    item count, then lengths and ranges; AL_EINVAL or AL_ERANGE);
 *  - an accepted body, dumped and parsed again, is accepted again and equal;
 *  - every refusal, of the parser or the validator, is one printable line
 *    that does not depend on the bytes of any string value (a secret's
 *    value travels in these bodies): with those bytes changed, the same
 *    code and the same message (secretcheck.h). */
#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "tests/fuzz/secretcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TABLES_MAX 16
static const struct api_body_table *tables[TABLES_MAX];
static size_t ntables;

static void tables_init(void)
{
	const struct api_body_table *const lists[] = { api_clients_bodies, api_secrets_bodies,
						       api_allows_bodies, api_explain_bodies,
						       api_approvals_bodies, api_ui_bodies };
	if (ntables)
		return;
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (const struct api_body_table *t = lists[l]; t->route && ntables < TABLES_MAX; t++)
			tables[ntables++] = t;
	if (!ntables)
		__builtin_trap();
}

static bool ref_range(const struct json_field *f, long long v)
{
	return (f->min == 0 && f->max == 0) || (v >= f->min && v <= f->max);
}

static int ref_field(const json_t *v, const struct json_field *f)
{
	size_t i;
	json_t *m;
	switch (f->type) {
	case JF_NULLABLE_STRING:
		if (json_is_null(v))
			return 0;
		/* fall through */
	case JF_STRING:
		if (!json_is_string(v))
			return AL_EINVAL;
		return f->max_len && json_string_length(v) > f->max_len ? AL_ERANGE : 0;
	case JF_INT:
		if (!json_is_integer(v))
			return AL_EINVAL;
		return ref_range(f, json_integer_value(v)) ? 0 : AL_ERANGE;
	case JF_BOOL:
		return json_is_boolean(v) ? 0 : AL_EINVAL;
	case JF_OBJECT:
		return json_is_object(v) ? 0 : AL_EINVAL;
	case JF_STRING_ARRAY:
	case JF_INT_ARRAY:
		if (!json_is_array(v))
			return AL_EINVAL;
		json_array_foreach(v, i, m)
			if (f->type == JF_STRING_ARRAY ? !json_is_string(m) : !json_is_integer(m))
				return AL_EINVAL;
		if (f->max_items && json_array_size(v) > f->max_items)
			return AL_ERANGE;
		json_array_foreach(v, i, m) {
			if (f->type == JF_STRING_ARRAY && f->max_len && json_string_length(m) > f->max_len)
				return AL_ERANGE;
			if (f->type == JF_INT_ARRAY && !ref_range(f, json_integer_value(m)))
				return AL_ERANGE;
		}
		return 0;
	}
	__builtin_trap();
}

static int ref_validate(const json_t *obj, const struct api_body_table *t)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		bool known = false;
		for (size_t i = 0; i < t->nfields; i++)
			known |= strcmp(t->fields[i].name, k) == 0;
		if (!known)
			return AL_EINVAL;
	}
	for (size_t i = 0; i < t->nfields; i++) {
		v = json_object_get(obj, t->fields[i].name);
		if (!v) {
			if (t->fields[i].required)
				return AL_EINVAL;
			continue;
		}
		int rc = ref_field(v, &t->fields[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void check_refusal(int rc, const char *err, size_t cap)
{
	if (rc != AL_EINVAL && rc != AL_ERANGE && rc != AL_ETOOBIG)
		__builtin_trap();
	secretcheck_printable(err, cap);
	if (!*err)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], err2[256];
	json_t *body = NULL, *again = NULL, *other = NULL;

	tables_init();
	if (size < 1)
		return 0;
	const struct api_body_table *t = tables[data[0] % ntables];
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;

	memset(err, 0, sizeof err);
	int prc = json_parse_object(buf, len, AL_API_BODY_MAX, &body, err, sizeof err);
	if (prc < 0) {
		if (body)
			__builtin_trap();
		check_refusal(prc, err, sizeof err);
		char *s = secretcheck_scramble_text((const uint8_t *)buf, len);
		memset(err2, 0, sizeof err2);
		int prc2 = json_parse_object(s, len, AL_API_BODY_MAX, &other, err2, sizeof err2);
		free(s);
		if (prc2 != prc || strcmp(err, err2) != 0)
			__builtin_trap();   /* the parser's message quotes the input */
		json_decref(other);
		return 0;
	}

	memset(err, 0, sizeof err);
	int rc = json_validate(body, t->fields, t->nfields, "", err, sizeof err);
	if (rc != ref_validate(body, t))
		__builtin_trap();
	if (rc == 0) {
		char *d = json_dump_compact(body);
		if (json_parse_object(d, strlen(d), AL_API_BODY_MAX, &again, err, sizeof err) < 0 ||
		    json_validate(again, t->fields, t->nfields, "", err, sizeof err) < 0 ||
		    !json_equal(body, again))
			__builtin_trap();
		free(d);
	} else {
		check_refusal(rc, err, sizeof err);
		other = secretcheck_scramble_values(body);
		memset(err2, 0, sizeof err2);
		if (json_validate(other, t->fields, t->nfields, "", err2, sizeof err2) != rc ||
		    strcmp(err, err2) != 0)
			__builtin_trap();   /* the message depends on a value's bytes */
	}
	json_decref(body);
	json_decref(again);
	json_decref(other);
	return 0;
}
