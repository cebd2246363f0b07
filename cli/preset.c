/* Presets (preset.h): reading the compiled-in preset files strictly, and
 * answering what they know of a request. The files are ours, but they are
 * still checked like any input: a preset that would add a rule the broker
 * refuses, or that suggest would misread, fails at once and names the
 * field (test-cli-preset.py loads every one). */
#include "config.h"

#include "cli/preset.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/netmatch.h"

#define PRESET_TEXT_MAX 400 /* summary and why: one line */
#define PRESET_ENTRIES_MAX 64

static const struct json_field entry_fields[] = {
	{ "host", JF_STRING, true, 0, 0, AL_HOST_MAX + 2, 0 },
	{ "methods", JF_STRING_ARRAY, false, 0, 0, AL_METHOD_MAX, AL_RULE_LIST_MAX },
	{ "paths", JF_STRING_ARRAY, false, 0, 0, AL_PATH_MAX, AL_RULE_LIST_MAX },
	{ "ports", JF_INT_ARRAY, false, 1, 65535, 0, AL_RULE_LIST_MAX },
	{ "secret", JF_BOOL, false, 0, 0, 0, 0 },
	{ "kind", JF_STRING, false, 0, 0, 32, 0 },
	{ "why", JF_STRING, true, 0, 0, PRESET_TEXT_MAX, 0 },
};

static bool one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

/* What an entry's values mean: the same vocabulary the broker checks. */
static int entry_check(const json_t *e, const char *where, bool optional, char *err, size_t errlen)
{
	char pat[AL_HOST_BUF + 2], m[AL_METHOD_MAX + 1];
	size_t i;
	json_t *v;
	const char *host = json_str(e, "host", "");
	const char *kind = json_str(e, "kind", NULL);

	if (json_validate(e, entry_fields, ARRAY_SIZE(entry_fields), where, err, errlen) < 0)
		return AL_EINVAL;
	if (host_pattern_parse(host, pat) < 0 || strcmp(pat, host) != 0) {
		snprintf(err, errlen, "%s.host: not a canonical host pattern", where);
		return AL_EINVAL;
	}
	json_array_foreach(json_object_get(e, "methods"), i, v)
		if (method_parse(json_string_value(v), m) < 0 || strcmp(m, json_string_value(v)) != 0) {
			snprintf(err, errlen, "%s.methods[%zu]: not an upper-case method", where, i);
			return AL_EINVAL;
		}
	json_array_foreach(json_object_get(e, "paths"), i, v)
		if (path_pattern_parse(json_string_value(v)) < 0) {
			snprintf(err, errlen, "%s.paths[%zu]: not a rule path", where, i);
			return AL_EINVAL;
		}
	if ((kind != NULL) != optional) {
		snprintf(err, errlen, "%s.kind: %s", where,
			 optional ? "missing (an optional call says what kind it is)" : "only optional calls have one");
		return AL_EINVAL;
	}
	if (kind && (kind[0] == '\0' || strspn(kind, "abcdefghijklmnopqrstuvwxyz-") != strlen(kind))) {
		snprintf(err, errlen, "%s.kind: lower-case letters and '-' only", where);
		return AL_EINVAL;
	}
	if (!one_line(json_str(e, "why", ""))) {
		snprintf(err, errlen, "%s.why: one line of text", where);
		return AL_EINVAL;
	}
	return 0;
}

static int entries_check(const json_t *arr, const char *key, char *err, size_t errlen)
{
	char where[48];
	size_t i;
	json_t *e;
	if (!json_is_array(arr) || json_array_size(arr) > PRESET_ENTRIES_MAX) {
		snprintf(err, errlen, ".%s: must be an array of at most %d entries", key, PRESET_ENTRIES_MAX);
		return AL_EINVAL;
	}
	json_array_foreach(arr, i, e) {
		snprintf(where, sizeof where, ".%s[%zu]", key, i);
		if (!json_is_object(e)) {
			snprintf(err, errlen, "%s: must be an object", where);
			return AL_EINVAL;
		}
		if (entry_check(e, where, strcmp(key, "optional") == 0, err, errlen) < 0)
			return AL_EINVAL;
	}
	return 0;
}

static int preset_check(const json_t *p, const char *name, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "summary", "secret", "secret_types", "rules", "optional" };
	const char *k, *secret;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)p, k, v) {
		for (i = 0; i < ARRAY_SIZE(keys) && strcmp(keys[i], k) != 0; i++)
			;
		if (i == ARRAY_SIZE(keys)) {
			snprintf(err, errlen, "unknown field .%s", k);
			return AL_EINVAL;
		}
	}
	if (!json_is_string(json_object_get(p, "name")) || strcmp(json_str(p, "name", ""), name) != 0) {
		snprintf(err, errlen, ".name: must be \"%s\"", name);
		return AL_EINVAL;
	}
	if (!json_is_string(json_object_get(p, "summary")) || !one_line(json_str(p, "summary", "")) ||
	    strlen(json_str(p, "summary", "")) > PRESET_TEXT_MAX) {
		snprintf(err, errlen, ".summary: one line of text");
		return AL_EINVAL;
	}
	secret = json_str(p, "secret", "");
	if (strcmp(secret, "required") != 0 && strcmp(secret, "optional") != 0 && strcmp(secret, "none") != 0) {
		snprintf(err, errlen, ".secret: must be \"required\", \"optional\" or \"none\"");
		return AL_EINVAL;
	}
	v = json_object_get(p, "secret_types");
	if ((v != NULL) == (strcmp(secret, "none") == 0) || (v && (!json_is_array(v) || json_array_size(v) == 0))) {
		snprintf(err, errlen, ".secret_types: a non-empty list when a secret is taken, else absent");
		return AL_EINVAL;
	}
	for (i = 0; v && i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i))) {
			snprintf(err, errlen, ".secret_types[%zu]: must be a string", i);
			return AL_EINVAL;
		}
	if (entries_check(json_object_get(p, "rules"), "rules", err, errlen) < 0 ||
	    entries_check(json_object_get(p, "optional"), "optional", err, errlen) < 0)
		return AL_EINVAL;
	if (json_array_size(json_object_get(p, "rules")) == 0) {
		snprintf(err, errlen, ".rules: empty");
		return AL_EINVAL;
	}
	return 0;
}

json_t *preset_load(const char *name, char *err, size_t errlen)
{
	json_error_t jerr;
	for (const struct preset_blob *b = preset_blobs; b->name; b++) {
		if (strcmp(b->name, name) != 0)
			continue;
		json_t *p = json_loadb(b->json, b->len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(p)) {
			snprintf(err, errlen, "preset %s: line %d: %s", name, jerr.line, jerr.text);
			json_decref(p);
			return NULL;
		}
		char why[256];
		if (preset_check(p, name, why, sizeof why) < 0) {
			snprintf(err, errlen, "preset %s: %s", name, why);
			json_decref(p);
			return NULL;
		}
		return p;
	}
	snprintf(err, errlen, "no preset '%s' (see: airlock preset list)", name);
	return NULL;
}

bool preset_takes_type(const json_t *preset, const char *type)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(preset, "secret_types"), i, v)
		if (strcmp(json_string_value(v), type) == 0)
			return true;
	return false;
}

static bool list_has(const json_t *arr, const char *s, bool path)
{
	size_t i;
	json_t *v;
	if (json_array_size(arr) == 0)
		return true; /* absent or empty: any */
	if (s == NULL)
		return true; /* a CONNECT: the entry covers some request on the host */
	json_array_foreach(arr, i, v)
		if (path ? path_pattern_match(json_string_value(v), s) : strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

bool preset_entry_match(const json_t *e, const char *host, uint16_t port, const char *method, const char *path)
{
	const json_t *ports = json_object_get(e, "ports");
	bool port_ok = false;
	size_t i;
	json_t *v;
	if (!host_pattern_match(json_str(e, "host", ""), host))
		return false;
	if (json_array_size(ports) == 0)
		port_ok = port == 443;
	json_array_foreach(ports, i, v)
		port_ok |= json_integer_value(v) == port;
	return port_ok && list_has(json_object_get(e, "methods"), method, false) &&
	       list_has(json_object_get(e, "paths"), path, true);
}

/* ---- every preset, loaded once for suggest ---- */

static json_t *cache;

const json_t *preset_all(void)
{
	char err[256];
	if (cache)
		return cache;
	cache = json_array();
	for (const struct preset_blob *b = preset_blobs; b->name; b++) {
		json_t *p = preset_load(b->name, err, sizeof err);
		if (p)
			json_array_append_new(cache, p);
		else
			cli_warn("%s", err); /* a broken build: say so, go on without it */
	}
	return cache;
}

void preset_cache_free(void)
{
	json_decref(cache);
	cache = NULL;
}

const json_t *preset_knowledge(const char *type, const char *host, uint16_t port, const char *method,
			       const char *path, bool *optional, const char **preset)
{
	static const char *const lists[] = { "rules", "optional" };
	size_t i, j;
	json_t *p, *e;
	/* a call one program needs is needed, even if another can do without */
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		json_array_foreach(preset_all(), i, p) {
			if (!preset_takes_type(p, type))
				continue;
			json_array_foreach(json_object_get(p, lists[l]), j, e)
				if (preset_entry_match(e, host, port, method, path)) {
					*optional = l == 1;
					*preset = json_str(p, "name", "");
					return e;
				}
		}
	return NULL;
}

bool preset_names_host(const char *host)
{
	static const char *const lists[] = { "rules", "optional" };
	size_t i, j;
	json_t *p, *e;
	json_array_foreach(preset_all(), i, p)
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
			json_array_foreach(json_object_get(p, lists[l]), j, e)
				if (host_pattern_match(json_str(e, "host", ""), host))
					return true;
	return false;
}
