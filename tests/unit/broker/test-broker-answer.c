/* answer_headers() (broker/ipc_server.c) and the secret type table: the
 * broker answers a headers ask only for a host the secret is bound to, shapes
 * bearer and basic values, and refuses values that could split a header. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/ipc_server.h"
#include "broker/sealed.h"
#include "broker/secret_types.h"
#include "common/fileutil.h"
#include "common/seal.h"
#include "tests/unit/unit.h"

static void add_secret(struct broker *b, const char *name, const char *host, const char *type,
		       const char *value)
{
	char *sealed = NULL;
	CHECK(sealed_seal(b, name, type, host, (const uint8_t *)value, strlen(value), &sealed) == 0);
	json_t *d = state_begin(&b->state);
	json_array_append_new(state_secrets(d),
			      json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "name", name, "host", host,
					"type", type, "sealed", sealed, "created_at", 1, "status",
					"ok"));
	free(sealed);
	CHECK(state_commit(&b->state, d) == 0);
}

static const struct {
	const char *secret, *host;
	const char *want_header; /* NULL: refused */
	const char *want_error;
} asks[] = {
	{ "gh", "api.github.com", "Bearer ghp_x", NULL },
	{ "gh", "API.GITHUB.COM.", "Bearer ghp_x", NULL },
	{ "gh", "github.com", NULL, "secret-host-mismatch" },
	{ "gh", "api.github.com.evil.example", NULL, "secret-host-mismatch" },
	{ "gh", "evilapi.github.com", NULL, "secret-host-mismatch" },
	{ "gh", "*", NULL, "secret-host-mismatch" },
	{ "gh", "", NULL, "secret-host-mismatch" },
	{ "reg", "a.registry.example", "Basic dTpwOnc=", NULL }, /* base64("u:p:w") */
	{ "reg", "x.y.registry.example", "Basic dTpwOnc=", NULL },
	{ "reg", "registry.example", NULL, "secret-host-mismatch" },
	{ "ip", "10.1.2.3", "Bearer v", NULL },
	{ "ip", "10.1.2.4", NULL, "secret-host-mismatch" },
	{ "nope", "api.github.com", NULL, "secret-not-found" },
};

static const struct {
	const char *type, *value;
	bool ok;
} values[] = {
	{ "bearer", "tok", true },
	{ "bearer", "", false },
	{ "bearer", "a\r\nX-Evil: 1", false },
	{ "bearer", "a\nb", false },
	{ "bearer", " padded", false },
	{ "bearer", "tab\there", false },
	{ "basic", "user:pass", true },
	{ "basic", ":", true },
	{ "basic", "nocolon", false },
	{ "basic", "u:p\r\n", false },
};

int main(void)
{
	char dir[] = "/tmp/test-broker-answer-XXXXXX";
	char err[256];
	struct broker b;

	memset(&b, 0, sizeof b);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(state_open(dir, &b.state, err, sizeof err) == 0, "%s", err);
	CHECK(seal_key_generate(&b.key) == 0);
	add_secret(&b, "gh", "api.github.com", "bearer", "ghp_x");
	add_secret(&b, "reg", "*.registry.example", "basic", "u:p:w");
	add_secret(&b, "ip", "10.1.2.3", "bearer", "v");

	for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
		json_t *ask = json_pack("{s:s,s:i,s:s,s:s}", "type", "headers", "id", (int)i + 1,
					"secret", asks[i].secret, "host", asks[i].host);
		json_t *ans = answer_headers(&b, ask);
		char ctx[128];
		snprintf(ctx, sizeof ctx, "%s for %s", asks[i].secret, asks[i].host);
		CHECK(ans != NULL, "%s: no answer", ctx);
		if (!ans) {
			json_decref(ask);
			continue;
		}
		CHECK(json_integer_value(json_object_get(ans, "id")) == (json_int_t)i + 1, "%s: id", ctx);
		CHECK_STR(json_string_value(json_object_get(ans, "type")), "headers", ctx);
		json_t *h = json_object_get(ans, "headers");
		if (asks[i].want_header) {
			CHECK(json_array_size(h) == 1, "%s: one header", ctx);
			CHECK_STR(json_string_value(json_array_get(json_array_get(h, 0), 0)),
				  "Authorization", ctx);
			CHECK_STR(json_string_value(json_array_get(json_array_get(h, 0), 1)),
				  asks[i].want_header, ctx);
			CHECK(json_object_get(ans, "error") == NULL, "%s: no error", ctx);
		} else {
			CHECK(h == NULL, "%s: headers on a refusal", ctx);
			CHECK_STR(json_string_value(json_object_get(ans, "error")), asks[i].want_error, ctx);
		}
		json_decref(ans);
		json_decref(ask);
	}

	/* malformed asks get no answer at all: the connection closes */
	static const char *const malformed[] = {
		"{\"type\":\"headers\",\"secret\":\"gh\",\"host\":\"api.github.com\"}",
		"{\"type\":\"headers\",\"id\":-1,\"secret\":\"gh\",\"host\":\"api.github.com\"}",
		"{\"type\":\"headers\",\"id\":\"1\",\"secret\":\"gh\",\"host\":\"api.github.com\"}",
		"{\"type\":\"headers\",\"id\":1,\"secret\":\"gh\",\"host\":\"a\",\"extra\":1}",
		"{\"type\":\"headers\",\"id\":1,\"host\":\"api.github.com\"}",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		json_t *ask = json_loads(malformed[i], 0, NULL);
		json_t *ans = answer_headers(&b, ask);
		CHECK(ans == NULL, "malformed ask %zu answered", i);
		json_decref(ans);
		json_decref(ask);
	}

	/* a value sealed under another name does not open (bound to name, type, host) */
	json_t *d = state_begin(&b.state);
	json_t *gh = state_secret(d, "gh", NULL), *reg = state_secret(d, "reg", NULL);
	json_object_set(reg, "sealed", json_object_get(gh, "sealed"));
	CHECK(state_commit(&b.state, d) == 0);
	json_t *ask = json_pack("{s:s,s:i,s:s,s:s}", "type", "headers", "id", 1, "secret", "reg",
				"host", "a.registry.example");
	json_t *ans = answer_headers(&b, ask);
	CHECK(ans && json_object_get(ans, "headers") == NULL, "moved sealed value opened");
	CHECK_STR(json_string_value(json_object_get(ans, "error")), "secret-seal-mismatch", "moved value");
	json_decref(ans);
	json_decref(ask);
	/* its host or its type edited in place: refused the same way */
	static const char *const edits[][2] = { { "host", "evil.example" }, { "type", "basic" } };
	for (size_t i = 0; i < 2; i++) {
		d = state_begin(&b.state);
		gh = state_secret(d, "gh", NULL);
		json_object_set_new(gh, edits[i][0], json_string(edits[i][1]));
		CHECK(state_commit(&b.state, d) == 0);
		ask = json_pack("{s:s,s:i,s:s,s:s}", "type", "headers", "id", 2, "secret", "gh", "host",
				i == 0 ? "evil.example" : "api.github.com");
		ans = answer_headers(&b, ask);
		CHECK(ans && json_object_get(ans, "headers") == NULL, "%s edited: opened", edits[i][0]);
		CHECK_STR(json_string_value(json_object_get(ans, "error")), "secret-seal-mismatch", edits[i][0]);
		json_decref(ans);
		json_decref(ask);
		d = state_begin(&b.state);
		json_object_set_new(state_secret(d, "gh", NULL), edits[i][0],
				    json_string(i == 0 ? "api.github.com" : "bearer"));
		CHECK(state_commit(&b.state, d) == 0);
	}

	/* the type table */
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		const struct secret_type *t = secret_type_find(values[i].type);
		CHECK(t && secret_type_supported(t));
		uint8_t *out = NULL;
		size_t outlen = 0;
		json_t *meta = json_object();
		int r = t->prepare((const uint8_t *)values[i].value, strlen(values[i].value), 0, &out,
				   &outlen, meta, err, sizeof err);
		if (r == 0)
			CHECK(outlen == strlen(values[i].value) && memcmp(out, values[i].value, outlen) == 0,
			      "%s value row %zu sealed as given", values[i].type, i);
		free(out);
		json_decref(meta);
		CHECK((r == 0) == values[i].ok, "%s value row %zu", values[i].type, i);
		if (r < 0)
			CHECK(!strstr(err, values[i].value) || !*values[i].value,
			      "error echoes the value");
	}
	CHECK(secret_type_find("nope") == NULL);
	/* bindings: the GitHub types bound exactly to github.com also serve
	 * api.github.com; nothing else widens */
	static const struct { const char *type, *bound, *host; bool ok; } binds[] = {
		{ "github-app", "github.com", "github.com", true },
		{ "github-app", "github.com", "api.github.com", true },
		{ "github-app-user", "github.com", "api.github.com", true },
		{ "github-app", "github.com", "uploads.github.com", false },
		{ "github-app", "api.github.com", "github.com", false },
		{ "github-app", "*.github.com", "github.com", false },
		{ "github-app", "*.github.com", "api.github.com", true },
		{ "bearer", "github.com", "api.github.com", false },
		{ "oauth-client-creds", "github.com", "api.github.com", false },
		{ "oauth-github-copilot", "*.githubcopilot.com", "api.githubcopilot.com", true },
	};
	for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++) {
		json_t *sec = json_pack("{s:s, s:s}", "type", binds[i].type, "host", binds[i].bound);
		CHECK(secret_host_allowed(sec, binds[i].host) == binds[i].ok, "binding row %zu", i);
		json_decref(sec);
	}
	/* known types, supported once oauth-providers/ plugs in */
	static const char *const oauth_types[] = { "oauth-claude", "oauth-codex",
						    "oauth-github-copilot", "oauth-xai", "github-app",
						    "github-app-user", "oauth-client-creds" };
	for (size_t i = 0; i < sizeof oauth_types / sizeof oauth_types[0]; i++)
		CHECK(secret_type_find(oauth_types[i]) != NULL, "%s is a type", oauth_types[i]);

	char *p = path_join(dir, STATE_FILE_NAME);
	unlink(p);
	free(p);
	rmdir(dir);
	state_close(&b.state);
	return unit_finish("test-broker-answer");
}
