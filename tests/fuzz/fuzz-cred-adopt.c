/* libFuzzer target for what `airlock secret create` hands the broker: the
 * first byte picks a secret type (oauth-claude, oauth-codex,
 * oauth-github-copilot, oauth-xai: the vendor's credential file, adopted by
 * oauth-providers/; bearer, basic: the value as is), the rest is the value,
 * given to the type's prepare row (broker/secret_types.c) as the API does.
 * Invariants:
 *  - a refusal is one printable line that never quotes a secret: where a
 *    window of a token-looking value (a string under a key that names a
 *    token, a secret or a password; the whole value for bearer and basic)
 *    shows in the message, the same value with its bytes changed must not
 *    show changed in the message of a second run;
 *  - an accepted value gives headers that are safe to write (names are
 *    tokens; values hold no CR, LF, NUL or other control);
 *  - an OAuth credential loads back (oauth_cred_load), is written back into
 *    the file it came from (oauth_write_back, as the broker keeps a
 *    source_file in sync) and that file adopts again to the same
 *    credential (expiries already past at `now` count as one);
 *  - the placeholder file for the sandbox (stub) and the token shim's
 *    answer hold no byte of a real token, and the stub adopts. */
#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/secret_types.h"
#include "common/limits.h"
#include "oauth-providers/provider.h"
#include "tests/fuzz/secretcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1750000000LL
#define WINDOW 12   /* bytes of a value that make a quote, not a chance match */

static const char *const type_names[] = { "oauth-claude", "oauth-codex", "oauth-github-copilot",
					  "oauth-xai", "bearer", "basic" };

/* keys whose string values are credentials in the vendors' files */
static bool token_key(const char *k)
{
	static const char *const words[] = { "token", "Token", "access", "Access", "refresh",
					     "Refresh", "secret", "Secret", "password", "key",
					     "Key", "code" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(k, words[i]))
			return true;
	return false;
}

/* v with every string under a token key rotated (secretcheck.h) */
static json_t *scramble_tokens(const json_t *v, bool under_token)
{
	if (json_is_string(v))
		return under_token ? secretcheck_scramble_values(v) : json_deep_copy(v);
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m)
			json_object_set_new_nocheck(o, k, scramble_tokens(m, token_key(k)));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m)
			json_array_append_new(a, scramble_tokens(m, under_token));
		return a;
	}
	return json_deep_copy(v);
}

/* Does msg show a WINDOW-byte piece of s (n bytes)? Its offset in s, or -1. */
static long shows(const char *msg, const char *s, size_t n)
{
	size_t w = n < WINDOW ? n : WINDOW;
	if (n < 8)
		return -1;
	for (size_t o = 0; o + w <= n; o++)
		if (memmem(msg, strlen(msg), s + o, w))
			return (long)o;
	return -1;
}

static void rotate_n(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = secretcheck_rotate(s[i]);
}

/* msg (from value) shows a piece of s; msg2 (from the value with its token
 * bytes rotated) must not show that piece rotated */
static void check_quote(const char *msg, const char *msg2, const char *s, size_t n)
{
	long o = shows(msg, s, n);
	if (o < 0)
		return;
	size_t w = n < WINDOW ? n : WINDOW;
	char *r = malloc(w);
	if (!r)
		abort();
	memcpy(r, s + o, w);
	rotate_n(r, w);
	if (memmem(msg2, strlen(msg2), r, w))
		__builtin_trap();   /* the message quotes a secret */
	free(r);
}

static void check_quotes_in(const char *msg, const char *msg2, const json_t *v, bool under_token)
{
	if (json_is_string(v) && under_token) {
		check_quote(msg, msg2, json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m)
			check_quotes_in(msg, msg2, m, token_key(k));
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m)
			check_quotes_in(msg, msg2, m, under_token);
	}
}

static int prepare(const struct secret_type *t, const void *buf, size_t len, uint8_t **out,
		   size_t *outlen, char *err, size_t errlen)
{
	json_t *meta = json_object();
	memset(err, 0, errlen);
	*out = NULL;
	*outlen = 0;
	int rc = t->prepare(buf, len, NOW, out, outlen, meta, err, errlen);
	json_decref(meta);
	return rc;
}

static void check_refusal(const struct secret_type *t, bool oauth, const uint8_t *buf,
			  size_t len, const char *err, size_t errlen)
{
	char err2[256];
	uint8_t *out;
	size_t outlen;

	secretcheck_printable(err, errlen);
	if (!*err)
		__builtin_trap();
	if (!oauth) {
		/* bearer and basic: the whole value is the secret */
		char *v = malloc(len ? len : 1);
		if (!v)
			abort();
		memcpy(v, buf, len);
		rotate_n(v, len);
		if (prepare(t, v, len, &out, &outlen, err2, sizeof err2) == 0)
			free(out);
		check_quote(err, err2, (const char *)buf, len);
		free(v);
		return;
	}
	json_t *root = json_loadb((const char *)buf, len, 0, NULL);
	if (!root)
		return;   /* oa_parse_object gives line and column only */
	json_t *other = scramble_tokens(root, false);
	char *text = json_dumps(other, JSON_ENCODE_ANY);
	if (text && prepare(t, text, strlen(text), &out, &outlen, err2, sizeof err2) == 0)
		free(out);
	else if (text)
		check_quotes_in(err, err2, root, false);
	free(text);
	json_decref(other);
	json_decref(root);
}

static bool header_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p))
			return false;
	return true;
}

static void check_headers(const struct secret_type *t, const uint8_t *pt, size_t len)
{
	json_t *headers = json_array(), *strip = json_array(), *merge = json_array();
	size_t i;
	json_t *h;
	char host[] = "api.example.com";
	if (t->headers(pt, len, host, headers, strip, merge) == 0) {
		json_array_foreach(headers, i, h) {
			const char *v = json_string_value(json_array_get(h, 1));
			if (json_array_size(h) != 2 || !header_token(json_string_value(json_array_get(h, 0))) ||
			    !v || strlen(v) != json_string_length(json_array_get(h, 1)))
				__builtin_trap();
			for (const unsigned char *p = (const unsigned char *)v; *p; p++)
				if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
					__builtin_trap();   /* could end or split a header line */
		}
		json_array_foreach(strip, i, h)
			if (!header_token(json_string_value(h)))
				__builtin_trap();
		json_array_foreach(merge, i, h)
			if (!header_token(json_string_value(json_array_get(h, 0))) ||
			    !header_token(json_string_value(json_array_get(h, 1))))
				__builtin_trap();
	}
	oauth_json_free(headers);
	oauth_json_free(strip);
	oauth_json_free(merge);
}

/* expiries past at NOW mean "expired" whatever their value */
static json_t *normalised(const json_t *cred)
{
	json_t *c = json_deep_copy(cred);
	json_t *e = json_object_get(c, "expires_at");
	if (json_is_integer(e) && json_integer_value(e) <= NOW)
		json_object_set_new(c, "expires_at", json_integer(0));
	return c;
}

static const char *const real_keys[] = { "access", "refresh", "github_token", "id_token" };

/* text (a stub, a shim answer) built from cred holds no piece of a real
 * token: differential, with the tokens rotated, as for messages */
static void check_no_tokens(const json_t *cred, const char *text, const char *text2)
{
	for (size_t i = 0; i < sizeof real_keys / sizeof real_keys[0]; i++) {
		json_t *v = json_object_get(cred, real_keys[i]);
		if (json_is_string(v))
			check_quote(text, text2, json_string_value(v), json_string_length(v));
	}
}

static json_t *rotated_tokens(const json_t *cred)
{
	json_t *c = json_deep_copy(cred);
	for (size_t i = 0; i < sizeof real_keys / sizeof real_keys[0]; i++) {
		json_t *v = json_object_get(c, real_keys[i]);
		if (json_is_string(v))
			json_object_set_new(c, real_keys[i], secretcheck_scramble_values(v));
	}
	return c;
}

static char *stub_text(const struct oauth_provider *p, const json_t *cred)
{
	json_t *file = NULL;
	if (p->stub(cred, NOW, &file) < 0)
		__builtin_trap();
	char *s = json_dumps(file, JSON_COMPACT);
	json_decref(file);
	return s;
}

static char *shim_text(const struct oauth_provider *p, const struct oauth_endpoint *ep,
		       const json_t *cred)
{
	json_t *a = NULL;
	if (p->shim(cred, ep, NOW, &a) < 0)
		__builtin_trap();
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static void check_oauth(const struct secret_type *t, const uint8_t *buf, size_t len,
			const uint8_t *pt, size_t ptlen)
{
	const struct oauth_provider *p = oauth_provider_find(t->name);
	json_t *cred = NULL, *cred2 = NULL;
	char *back = NULL, err[256];
	size_t blen;
	uint8_t *out;
	size_t outlen;

	if (!p || oauth_cred_load((const char *)pt, ptlen, &cred) < 0 ||
	    strcmp(json_string_value(json_object_get(cred, "type")), t->name) != 0)
		__builtin_trap();

	/* the source file kept in sync, adopted again */
	if (oauth_write_back(p, cred, (const char *)buf, len, NOW, &back, &blen) == 0) {
		if (prepare(t, back, blen, &out, &outlen, err, sizeof err) < 0 ||
		    oauth_cred_load((const char *)out, outlen, &cred2) < 0)
			__builtin_trap();   /* what the broker writes back does not adopt */
		json_t *a = normalised(cred), *b = normalised(cred2);
		if (!json_equal(a, b))
			__builtin_trap();   /* ... or adopts to another credential */
		json_decref(a);
		json_decref(b);
		oauth_json_free(cred2);
		free(out);
		free(back);
	}

	/* the sandbox's placeholders */
	json_t *rot = rotated_tokens(cred);
	char *s1 = stub_text(p, cred), *s2 = stub_text(p, rot);
	check_no_tokens(cred, s1, s2);
	if (prepare(t, s1, strlen(s1), &out, &outlen, err, sizeof err) < 0)
		__builtin_trap();   /* the stub must adopt */
	free(out);
	free(s1);
	free(s2);
	for (const struct oauth_endpoint *ep = p->token_endpoints; ep->host; ep++) {
		s1 = shim_text(p, ep, cred);
		s2 = shim_text(p, ep, rot);
		check_no_tokens(cred, s1, s2);
		free(s1);
		free(s2);
	}
	json_decref(rot);
	oauth_json_free(cred);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	uint8_t *out;
	size_t outlen;

	if (size < 1)
		return 0;
	const struct secret_type *t =
		secret_type_find(type_names[data[0] % (sizeof type_names / sizeof type_names[0])]);
	if (!t || !secret_type_supported(t))
		__builtin_trap();
	bool oauth = oauth_provider_find(t->name) != NULL;
	const uint8_t *buf = data + 1;
	size_t len = size - 1;

	if (prepare(t, buf, len, &out, &outlen, err, sizeof err) < 0) {
		if (out)
			__builtin_trap();
		check_refusal(t, oauth, buf, len, err, sizeof err);
		return 0;
	}
	check_headers(t, out, outlen);
	if (oauth)
		check_oauth(t, buf, len, out, outlen);
	free(out);
	return 0;
}
