/* The table of secret types. A value becomes a header value, so anything
 * that could end a header line (CR, LF, NUL, other controls) is refused
 * when the secret is stored: the injection can never split a request. */
#include "config.h"

#include "broker/secret_types.h"

#include "broker/oauth.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/token.h"
#include "common/xmalloc.h"

static bool header_safe(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

static int bearer_check(const uint8_t *v, size_t len, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "value is empty");
		return AL_EINVAL;
	}
	if (!header_safe(v, len) || v[0] == ' ' || v[len - 1] == ' ') {
		snprintf(err, errlen, "value holds control characters or surrounding spaces");
		return AL_EINVAL;
	}
	return 0;
}

static int basic_check(const uint8_t *v, size_t len, char *err, size_t errlen)
{
	if (len == 0 || !memchr(v, ':', len)) {
		snprintf(err, errlen, "a basic secret's value must be user:pass");
		return AL_EINVAL;
	}
	if (!header_safe(v, len)) {
		snprintf(err, errlen, "value holds control characters");
		return AL_EINVAL;
	}
	return 0;
}

/* bearer and basic seal the value as given */
static int copy_value(const uint8_t *v, size_t len, uint8_t **out, size_t *outlen)
{
	*out = xmalloc(len + 1);
	memcpy(*out, v, len);
	(*out)[len] = 0;
	*outlen = len;
	return 0;
}

static int bearer_prepare(const uint8_t *v, size_t len, int64_t now, uint8_t **out,
			  size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	int ret = bearer_check(v, len, err, errlen);
	return ret < 0 ? ret : copy_value(v, len, out, outlen);
}

static int basic_prepare(const uint8_t *v, size_t len, int64_t now, uint8_t **out,
			 size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	int ret = basic_check(v, len, err, errlen);
	return ret < 0 ? ret : copy_value(v, len, out, outlen);
}

static void add_header(json_t *headers, const char *name, char *value)
{
	json_array_append_new(headers, json_pack("[s,s]", name, value));
}

static int bearer_headers(const uint8_t *v, size_t len, const char *host, json_t *headers,
			  json_t *strip, json_t *merge)
{
	size_t cap = len + sizeof "Bearer ";
	char *h = xmalloc(cap);
	memcpy(h, "Bearer ", 7);
	memcpy(h + 7, v, len);
	h[7 + len] = '\0';
	add_header(headers, "Authorization", h);
	secure_free(h, cap);
	return 0;
}

static int basic_headers(const uint8_t *v, size_t len, const char *host, json_t *headers,
			 json_t *strip, json_t *merge)
{
	size_t cap = 6 + 4 * ((len + 2) / 3) + 1;
	char *h = xmalloc(cap);
	int ret;
	memcpy(h, "Basic ", 6);
	ret = b64_encode(v, len, false, h + 6, cap - 6);
	if (ret >= 0) {
		add_header(headers, "Authorization", h);
		ret = 0;
	}
	secure_free(h, cap);
	return ret;
}

static const struct secret_type types[] = {
	{ "bearer", NULL, bearer_prepare, bearer_headers, { NULL, NULL } },
	{ "basic", NULL, basic_prepare, basic_headers, { NULL, NULL } },
	/* broker/oauth.c: adopt the vendor file; headers via oauth_answer_headers */
	{ "oauth-claude", "api.anthropic.com", oauth_prepare_claude, oauth_type_headers,
	  { NULL, NULL } },
	{ "oauth-codex", "chatgpt.com", oauth_prepare_codex, oauth_type_headers, { NULL, NULL } },
	{ "oauth-github-copilot", "*.githubcopilot.com", oauth_prepare_github_copilot,
	  oauth_type_headers, { NULL, NULL } },
	{ "oauth-xai", "api.x.ai", oauth_prepare_xai, oauth_type_headers, { NULL, NULL } },
	/* tokens the broker mints or refreshes itself; one secret bound to
	 * github.com serves Git there and the REST API on api.github.com */
	{ "github-app", "github.com", oauth_prepare_github_app, oauth_type_headers,
	  { "github.com", "api.github.com" } },
	{ "github-app-user", "github.com", oauth_prepare_github_app_user, oauth_type_headers,
	  { "github.com", "api.github.com" } },
	{ "oauth-client-creds", NULL, oauth_prepare_client_creds, oauth_type_headers,
	  { NULL, NULL } },
};

const struct secret_type *secret_type_find(const char *name)
{
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i].name, name) == 0)
			return &types[i];
	return NULL;
}

bool secret_type_supported(const struct secret_type *t)
{
	return t && t->prepare && t->headers;
}

bool secret_host_allowed(const json_t *sec, const char *host)
{
	const char *bound = json_str(sec, "host", "");
	if (host_pattern_match(bound, host))
		return true;
	const struct secret_type *t = secret_type_find(json_str(sec, "type", ""));
	/* exact binding only: a *.domain binding never widens to a companion */
	return t && t->also_host[0] && strcmp(bound, t->also_host[0]) == 0 &&
	       strcmp(host, t->also_host[1]) == 0;
}

const char *secret_type_names(void)
{
	static char names[256];
	if (!names[0])
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
			if (i)
				strcat(names, ", ");
			strcat(names, types[i].name);
		}
	return names;
}
