/* The value of a github-app, github-app-user or oauth-client-creds secret
 * in YAML, as the seed system also takes a GitHub App's (app_id: 123,
 * private_key: | and the PEM as a block). libyaml parses; what is read is
 * one document holding one block or flow mapping of plain keys to scalar
 * values, turned into the JSON object the adopt functions check. Anything
 * else (lists, nested mappings, anchors and aliases, tags, directives,
 * several documents, a key given twice) is refused with its line, never
 * with its text. A plain scalar of digits becomes a JSON integer, "", "~"
 * and "null" a JSON null; every other scalar is a string. libyaml keeps
 * copies of the input in its buffers and events: they are wiped before
 * they are freed (the value holds a private key or a client secret). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

/* keys are field names: short */
#define YAML_KEY_MAX 64

static void event_wipe(yaml_event_t *ev)
{
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value)
		secure_wipe(ev->data.scalar.value, ev->data.scalar.length);
	yaml_event_delete(ev);
}

static void parser_wipe(yaml_parser_t *p)
{
	if (p->buffer.start)
		secure_wipe(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start)
		secure_wipe(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	yaml_parser_delete(p);
}

static json_t *scalar_json(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (n == 0 || (n == 1 && v[0] == '~') || (n == 4 && memcmp(v, "null", 4) == 0))
			return json_null();
		if (n < 16 && strspn(v, "0123456789") == n)
			return json_integer(strtoll(v, NULL, 10));
	}
	return json_stringn(v, n);   /* NULL when not UTF-8 or with a NUL */
}

int oa_yaml_object(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_event_t ev;
	json_t *obj = json_object();
	char key[YAML_KEY_MAX + 1] = "";
	bool have_key = false, done = false;
	int depth = 0, ret = AL_EINVAL;
	size_t line = 0;

	*out = NULL;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			/* libyaml's problem texts are its own fixed words */
			oa_err(err, errlen, "not valid YAML (line %zu, column %zu: %s)",
			       p.problem_mark.line + 1, p.problem_mark.column + 1,
			       p.problem ? p.problem : "error");
			goto out;
		}
		line = ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (ev.data.document_start.version_directive ||
			    ev.data.document_start.tag_directives.start != ev.data.document_start.tag_directives.end) {
				oa_err(err, errlen, "line %zu: YAML directives are not taken", line);
				goto bad;
			}
			break;
		case YAML_MAPPING_START_EVENT:
			if (depth++ > 0 || json_object_size(obj) || ev.data.mapping_start.anchor ||
			    (ev.data.mapping_start.tag && !ev.data.mapping_start.implicit)) {
				oa_err(err, errlen, "line %zu: only key: value pairs of text (no nested "
					"mapping, anchor or tag)", line);
				goto bad;
			}
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			if (depth != 1 || ev.data.scalar.anchor ||
			    (ev.data.scalar.tag && !ev.data.scalar.plain_implicit &&
			     !ev.data.scalar.quoted_implicit)) {
				oa_err(err, errlen, "line %zu: %s", line,
				       depth != 1 ? "the value must be a mapping of key: value pairs"
						  : "anchors and tags are not taken");
				goto bad;
			}
			if (!have_key) {
				const char *k = (const char *)ev.data.scalar.value;
				size_t n = ev.data.scalar.length;
				if (n == 0 || n > YAML_KEY_MAX || strlen(k) != n) {
					oa_err(err, errlen, "line %zu: a key that is not a field name", line);
					goto bad;
				}
				memcpy(key, k, n + 1);
				if (json_object_get(obj, key)) {
					oa_err(err, errlen, "line %zu: a key given twice", line);
					goto bad;
				}
				have_key = true;
			} else {
				json_t *v = scalar_json(&ev);
				if (!v) {
					oa_err(err, errlen, "line %zu: a value that is not UTF-8 text", line);
					goto bad;
				}
				json_object_set_new(obj, key, v);
				have_key = false;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:   /* sequences, aliases */
			oa_err(err, errlen, "line %zu: only key: value pairs of text (no list or alias)",
			       line);
			goto bad;
		}
		/* a second document is a second value */
		if (ev.type == YAML_DOCUMENT_END_EVENT && json_object_size(obj) == 0 && depth == 0) {
			oa_err(err, errlen, "line %zu: not a mapping of key: value pairs", line);
			goto bad;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && json_object_size(obj)) {
			oa_err(err, errlen, "line %zu: one document only", line);
			goto bad;
		}
		event_wipe(&ev);
	}
	if (json_object_size(obj) == 0) {
		oa_err(err, errlen, "not a mapping of key: value pairs");
		goto out;
	}
	*out = obj;
	obj = NULL;
	ret = 0;
	goto out;
bad:
	event_wipe(&ev);
out:
	parser_wipe(&p);
	oauth_json_free(obj);
	return ret;
}
