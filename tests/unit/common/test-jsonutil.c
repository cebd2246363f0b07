/* Unit tests of common/jsonutil.c: capped and depth-checked parsing with
 * line/column errors, and validation against a field table (types, ranges,
 * required and unknown fields, item counts), each cap tested at cap + 1. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/limits.h"
#include "tests/unit/unit.h"

static void test_parse(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *err; /* substring of the message */
	} cases[] = {
		{ "{}", 0, NULL },
		{ "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":null}}", 0, NULL },
		{ "  {\"a\":\"\\u00e9\"}\n", 0, NULL },
		{ "", AL_EINVAL, "line 1, column" },
		{ "[]", AL_EINVAL, "object" },
		{ "1", AL_EINVAL, "line 1" },
		{ "\"s\"", AL_EINVAL, "line 1" },
		{ "null", AL_EINVAL, "line 1" },
		{ "{\"a\":1,\"a\":2}", AL_EINVAL, "duplicate" },
		{ "{\"a\":", AL_EINVAL, "line 1, column 5" },
		{ "{\n\"a\": 1,\n\"b\": tru }", AL_EINVAL, "line 3, column" },
		{ "{} x", AL_EINVAL, "line 1" },
		{ "{}{}", AL_EINVAL, "line 1" },
		{ "{\"a\":\"\\u0000\"}", AL_EINVAL, "line 1" },
		{ "{\"a\":\"\x01\"}", AL_EINVAL, "line 1" },
		{ "{'a':1}", AL_EINVAL, "line 1" },
		{ "{\"a\":1,}", AL_EINVAL, "line 1" },
		{ "{\"a\":\"\xff\"}", AL_EINVAL, "line 1" },
	};
	char err[256];
	json_t *v;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;
		err[0] = '\0';
		rc = json_parse_object(cases[i].in, strlen(cases[i].in), AL_API_BODY_MAX, &v, err, sizeof err);
		CHECK(rc == cases[i].rc, "'%s': rc %d (%s)", cases[i].in, rc, err);
		if (rc == 0) {
			CHECK(json_is_object(v));
			json_decref(v);
		} else {
			CHECK(v == NULL);
			CHECK(strstr(err, cases[i].err) != NULL, "'%s': err \"%s\" lacks \"%s\"", cases[i].in,
			      err, cases[i].err);
		}
	}
}

/* A refused body's message never quotes it: jansson's own text ends with
 * "near '<the token so far>'", which for a string is the string itself
 * (fuzz-api-body found an API 400 quoting a secret's value this way). */
static void test_parse_no_quote(void)
{
	static const char *const cases[] = {
		"{\"value\":\"sk-S3CRET-abc\x01\"}",        /* control character */
		"{\"value\":\"sk-S3CRET-abc\\q\"}",        /* bad escape */
		"{\"value\":\"sk-S3CRET-abc",                /* unterminated */
		"{\"value\":\"sk-S3CRET-\\uD800x\"}",      /* lone surrogate */
		"{\"value\":\"sk-S3CRET-\xff\"}",           /* invalid UTF-8 */
		"{\"value\":\"a\" \"sk-S3CRET\"}",          /* a string where ':' or '}' goes */
		"{\"sk-S3CRET\":1,\"sk-S3CRET\":2}",         /* duplicate key */
		"{\"value\":\"sk-S3CRET\\u0000\"}",        /* NUL */
		"{\"value\":\"x\"} \"sk-S3CRET\"",          /* text after the object */
		"{\"value\":1e999999}",                     /* overflow */
	};
	char err[256];
	json_t *v;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		int rc = json_parse_object(cases[i], strlen(cases[i]), AL_API_BODY_MAX, &v, err, sizeof err);
		CHECK(rc == AL_EINVAL && v == NULL, "case %zu: rc %d", i, rc);
		CHECK(strncmp(err, "line 1, column ", 15) == 0, "case %zu: \"%s\"", i, err);
		CHECK(strstr(err, "S3CRET") == NULL && strstr(err, "near") == NULL &&
		      strstr(err, "999") == NULL, "case %zu quotes its input: \"%s\"", i, err);
	}
}

/* {"a":{"a":...{}...}} nested `depth` objects deep. */
static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 6 + 8);
	size_t o = 0;

	for (int i = 0; i < depth; i++) {
		memcpy(s + o, i ? "\"a\":{" : "{", i ? 5 : 1);
		o += i ? 5 : 1;
	}
	memset(s + o, '}', (size_t)depth);
	o += (size_t)depth;
	s[o] = '\0';
	return s;
}

static void test_caps(void)
{
	char err[256];
	json_t *v;
	char *body, *s;
	size_t n;

	/* Body cap: exactly cap bytes parse, cap + 1 is AL_ETOOBIG. */
	n = AL_API_BODY_MAX;
	body = malloc(n + 2);
	memset(body, ' ', n + 1);
	body[0] = '{';
	body[n - 1] = '}';
	body[n + 1] = '\0';
	CHECK(json_parse_object(body, n, AL_API_BODY_MAX, &v, err, sizeof err) == 0, "body of cap: %s", err);
	json_decref(v);
	CHECK(json_parse_object(body, n + 1, AL_API_BODY_MAX, &v, err, sizeof err) == AL_ETOOBIG, "cap + 1");
	CHECK(v == NULL);
	free(body);

	/* Depth cap, with objects and with arrays. */
	s = nested(AL_JSON_DEPTH_MAX);
	CHECK(json_parse_object(s, strlen(s), AL_API_BODY_MAX, &v, err, sizeof err) == 0, "depth cap: %s", err);
	json_decref(v);
	free(s);
	s = nested(AL_JSON_DEPTH_MAX + 1);
	CHECK(json_parse_object(s, strlen(s), AL_API_BODY_MAX, &v, err, sizeof err) == AL_EINVAL, "depth cap + 1");
	CHECK(strstr(err, "nesting") != NULL, "%s", err);
	free(s);
	s = nested(5000); /* far past jansson's own limit too */
	CHECK(json_parse_object(s, strlen(s), 1 << 20, &v, err, sizeof err) == AL_EINVAL, "depth 5000");
	free(s);

	s = malloc(64);
	{
		/* {"a":[[[...]]]}: 1 object + 15 arrays = 16 is fine, 17 is not. */
		char buf[128];
		int o = snprintf(buf, sizeof buf, "{\"a\":");
		for (int i = 0; i < AL_JSON_DEPTH_MAX - 1; i++)
			buf[o++] = '[';
		for (int i = 0; i < AL_JSON_DEPTH_MAX - 1; i++)
			buf[o++] = ']';
		buf[o++] = '}';
		buf[o] = '\0';
		CHECK(json_parse_object(buf, strlen(buf), AL_API_BODY_MAX, &v, err, sizeof err) == 0, "arrays at cap");
		json_decref(v);
		o = snprintf(buf, sizeof buf, "{\"a\":");
		for (int i = 0; i < AL_JSON_DEPTH_MAX; i++)
			buf[o++] = '[';
		for (int i = 0; i < AL_JSON_DEPTH_MAX; i++)
			buf[o++] = ']';
		buf[o++] = '}';
		buf[o] = '\0';
		CHECK(json_parse_object(buf, strlen(buf), AL_API_BODY_MAX, &v, err, sizeof err) == AL_EINVAL, "arrays at cap + 1");
	}
	free(s);
}

static const struct json_field rule_fields[] = {
	{ "name", JF_STRING, .required = true, .max_len = AL_NAME_MAX },
	{ "ports", JF_INT_ARRAY, .min = 1, .max = 65535, .max_items = AL_RULE_LIST_MAX },
	{ "ttl_seconds", JF_INT, .min = AL_TTL_MIN_SECONDS, .max = AL_TTL_MAX_SECONDS },
	{ "passthrough", JF_BOOL, .required = false },
	{ "paths", JF_STRING_ARRAY, .max_len = 8, .max_items = AL_RULE_LIST_MAX },
	{ "meta", JF_OBJECT, .required = false },
	{ "secret", JF_NULLABLE_STRING, .max_len = AL_NAME_MAX },
	{ "count", JF_INT, .required = false },  /* min = max = 0: any integer */
};

static void test_validate(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *err; /* the whole message */
	} cases[] = {
		{ "{\"name\":\"x\"}", 0, NULL },
		{ "{\"name\":\"x\",\"ports\":[80,443],\"ttl_seconds\":3600,\"passthrough\":false,"
		  "\"paths\":[\"/a\"],\"meta\":{\"any\":[1]},\"secret\":null,\"count\":-5}", 0, NULL },
		{ "{\"name\":\"x\",\"secret\":\"gh\"}", 0, NULL },
		{ "{\"name\":\"x\",\"ports\":[]}", 0, NULL },
		{ "{}", AL_EINVAL, "missing field .name" },
		{ "{\"name\":\"x\",\"colour\":1}", AL_EINVAL, "unknown field .colour" },
		{ "{\"colour\":1}", AL_EINVAL, "unknown field .colour" },
		{ "{\"name\":\"x\",\"ports\":[\"80\"]}", AL_EINVAL, "field .ports must be an array of integers" },
		{ "{\"name\":\"x\",\"ports\":80}", AL_EINVAL, "field .ports must be an array of integers" },
		{ "{\"name\":\"x\",\"ports\":[80.5]}", AL_EINVAL, "field .ports must be an array of integers" },
		{ "{\"name\":\"x\",\"ports\":[0]}", AL_ERANGE, "field .ports[0] must be between 1 and 65535" },
		{ "{\"name\":\"x\",\"ports\":[80,65536]}", AL_ERANGE, "field .ports[1] must be between 1 and 65535" },
		{ "{\"name\":\"x\",\"ttl_seconds\":0}", AL_ERANGE, "field .ttl_seconds must be between 1 and 31622400" },
		{ "{\"name\":\"x\",\"ttl_seconds\":31622400}", 0, NULL },
		{ "{\"name\":\"x\",\"ttl_seconds\":31622401}", AL_ERANGE, "field .ttl_seconds must be between 1 and 31622400" },
		{ "{\"name\":\"x\",\"ttl_seconds\":\"1h\"}", AL_EINVAL, "field .ttl_seconds must be an integer" },
		{ "{\"name\":\"x\",\"ttl_seconds\":1.0}", AL_EINVAL, "field .ttl_seconds must be an integer" },
		{ "{\"name\":1}", AL_EINVAL, "field .name must be a string" },
		{ "{\"name\":null}", AL_EINVAL, "field .name must be a string" },
		{ "{\"name\":\"x\",\"passthrough\":\"yes\"}", AL_EINVAL, "field .passthrough must be true or false" },
		{ "{\"name\":\"x\",\"passthrough\":1}", AL_EINVAL, "field .passthrough must be true or false" },
		{ "{\"name\":\"x\",\"secret\":5}", AL_EINVAL, "field .secret must be a string or null" },
		{ "{\"name\":\"x\",\"meta\":[]}", AL_EINVAL, "field .meta must be an object" },
		{ "{\"name\":\"x\",\"paths\":[1]}", AL_EINVAL, "field .paths must be an array of strings" },
		{ "{\"name\":\"x\",\"paths\":\"/a\"}", AL_EINVAL, "field .paths must be an array of strings" },
		{ "{\"name\":\"x\",\"paths\":[\"/a\",\"/12345678\"]}", AL_ERANGE, "field .paths[1] must be at most 8 bytes" },
		{ "{\"name\":\"x\",\"paths\":[\"/1234567\"]}", 0, NULL },
		{ "{\"name\":\"x\",\"\\u0001bad\\nkey\":1}", AL_EINVAL, "unknown field .?bad?key" },
	};
	char err[256];
	json_t *v;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;
		CHECK(json_parse_object(cases[i].in, strlen(cases[i].in), AL_API_BODY_MAX, &v, err, sizeof err) == 0,
		      "%s: %s", cases[i].in, err);
		if (!v)
			continue;
		err[0] = '\0';
		rc = json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), "", err, sizeof err);
		CHECK(rc == cases[i].rc, "%s: rc %d (%s)", cases[i].in, rc, err);
		if (cases[i].err)
			CHECK_STR(err, cases[i].err, cases[i].in);
		json_decref(v);
	}
}

static void test_validate_caps_and_paths(void)
{
	char err[256], name[AL_NAME_MAX + 2];
	json_t *v = json_object(), *ports = json_array();
	int rc;

	/* max_len: AL_NAME_MAX bytes pass, one more is refused. */
	memset(name, 'n', AL_NAME_MAX);
	name[AL_NAME_MAX] = '\0';
	json_object_set_new(v, "name", json_string(name));
	CHECK(json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), "", err, sizeof err) == 0, "%s", err);
	name[AL_NAME_MAX] = 'n';
	name[AL_NAME_MAX + 1] = '\0';
	json_object_set_new(v, "name", json_string(name));
	rc = json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), "", err, sizeof err);
	CHECK(rc == AL_ERANGE, "name of AL_NAME_MAX + 1: %d", rc);
	CHECK_STR(err, "field .name must be at most 64 bytes", "name cap");
	json_object_set_new(v, "name", json_string("x"));

	/* max_items: AL_RULE_LIST_MAX pass, one more is refused. */
	for (int i = 0; i < AL_RULE_LIST_MAX; i++)
		json_array_append_new(ports, json_integer(i + 1));
	json_object_set(v, "ports", ports);
	CHECK(json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), "", err, sizeof err) == 0, "%s", err);
	json_array_append_new(ports, json_integer(99));
	rc = json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), "", err, sizeof err);
	CHECK(rc == AL_ERANGE);
	CHECK_STR(err, "field .ports must have at most 32 items", "items cap");
	json_object_del(v, "ports");

	/* The JSON path of a nested object appears in messages. */
	json_object_set_new(v, "colour", json_string("red"));
	rc = json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), ".rules[2]", err, sizeof err);
	CHECK(rc == AL_EINVAL);
	CHECK_STR(err, "unknown field .rules[2].colour", "nested path");
	json_object_del(v, "colour");
	json_object_del(v, "name");
	rc = json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), ".rules[0]", err, sizeof err);
	CHECK_STR(err, "missing field .rules[0].name", "nested missing");

	/* Not an object at all. */
	CHECK(json_validate(ports, rule_fields, ARRAY_SIZE(rule_fields), "", err, sizeof err) == AL_EINVAL);
	/* A short err buffer is truncated, not overrun. */
	json_object_set_new(v, "colour", json_string("red"));
	CHECK(json_validate(v, rule_fields, ARRAY_SIZE(rule_fields), "", err, 8) == AL_EINVAL);
	CHECK(strlen(err) == 7);
	json_decref(ports);
	json_decref(v);
}

static void test_accessors(void)
{
	char err[128];
	json_t *v;
	char *s;

	CHECK(json_parse_object("{\"s\":\"x\",\"i\":7,\"b\":true,\"n\":null}", 33, 1024, &v, err, sizeof err) == 0);
	CHECK_STR(json_str(v, "s", "d"), "x", "str");
	CHECK_STR(json_str(v, "missing", "d"), "d", "str default");
	CHECK_STR(json_str(v, "i", "d"), "d", "str of int");
	CHECK(json_str(v, "n", NULL) == NULL);
	CHECK(json_int(v, "i", -1) == 7);
	CHECK(json_int(v, "s", -1) == -1);
	CHECK(json_int(v, "missing", 42) == 42);
	CHECK(json_bool(v, "b", false) == true);
	CHECK(json_bool(v, "i", false) == false);
	CHECK(json_bool(v, "missing", true) == true);
	s = json_dump_compact(v);
	CHECK(strchr(s, ' ') == NULL && strstr(s, "\"i\":7") != NULL, "%s", s);
	free(s);
	json_decref(v);
}

int main(void)
{
	test_parse();
	test_parse_no_quote();
	test_caps();
	test_validate();
	test_validate_caps_and_paths();
	test_accessors();
	return unit_finish("test-jsonutil");
}
