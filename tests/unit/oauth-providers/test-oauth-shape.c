/* oauth-providers: header shaping per provider, placeholder (stub) files
 * parsed back (Codex JWT claims decoded: the account id is the real one),
 * token-shim answers, and write-back keeping unknown keys. Real token
 * values contain "SECRET"; no stub or shim answer may contain one. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"
#include "oauth-providers/provider.h"
#include "tests/unit/unit.h"

#define NOW 1800000000LL

static const char claude_file[] =
	"{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-SECRETa\",\"refreshToken\":"
	"\"sk-ant-ort01-SECRETr\",\"expiresAt\":1800003600000,\"scopes\":[\"user:inference\","
	"\"user:profile\"],\"subscriptionType\":\"max\",\"rateLimitTier\":\"claude_max_20x\","
	"\"futureKey\":\"kept\"},\"mcpOAuth\":{\"srv\":{\"accessToken\":\"other\"}}}";
static const char copilot_gho[] =
	"{\"openai\":{\"type\":\"oauth\",\"refresh\":\"SECRETo\",\"access\":\"SECRETo\",\"expires\":1},"
	"\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"gho_SECRET\",\"access\":\"gho_SECRET\",\"expires\":0}}";
static const char copilot_ghu[] =
	"{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"ghu_SECRET\",\"access\":\"tid=SECRET;exp=1\",\"expires\":1800001000000}}";
static const char xai_file[] =
	"{\"type\":\"oauth-xai\",\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\","
	"\"token_type\":\"Bearer\",\"token_endpoint\":\"https://auth.x.ai/oauth2/token\","
	"\"obtained_at\":\"2027-01-15T08:00:00Z\",\"expires_at\":\"2027-01-15T14:00:00Z\",\"note\":\"mine\"}";

static char *codex_file(void)
{
	json_t *h = json_pack("{s:s}", "alg", "RS256");
	json_t *c = json_pack("{s:I, s:s, s:{s:s, s:s, s:s}}", "exp", (json_int_t)(NOW + 864000),
			      "email", "dev@example.com", "https://api.openai.com/auth",
			      "chatgpt_account_id", "acct-real-42", "chatgpt_plan_type", "pro",
			      "chatgpt_user_id", "user-7");
	char *idt = oa_jwt_make(h, c);
	json_t *f = json_pack("{s:s, s:n, s:{s:s, s:s, s:s, s:s}, s:s, s:s}", "auth_mode", "chatgpt",
			      "OPENAI_API_KEY", "tokens", "id_token", idt, "access_token", idt,
			      "refresh_token", "rt.SECRET", "account_id", "acct-real-42",
			      "last_refresh", "2026-11-20T00:00:00Z", "agent_identity", "kept");
	char *s = json_dumps(f, JSON_COMPACT);
	json_decref(h);
	json_decref(c);
	json_decref(f);
	free(idt);
	return s;
}

static json_t *adopt(const struct oauth_provider *p, const char *file)
{
	char err[256];
	json_t *cred = NULL;
	int ret = oauth_adopt(p, file, strlen(file), NOW, &cred, err, sizeof err);
	CHECK(ret == 0, "%s: adopt: %s", p->type, err);
	return cred;
}

/* headers has exactly one NAME; its value */
static const char *header(const json_t *headers, const char *name)
{
	size_t i;
	json_t *pair;
	const char *found = NULL;
	int n = 0;
	json_array_foreach(headers, i, pair) {
		if (strcasecmp(json_string_value(json_array_get(pair, 0)), name) == 0) {
			found = json_string_value(json_array_get(pair, 1));
			n++;
		}
	}
	return n == 1 ? found : NULL;
}

static bool contains(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcasecmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static bool no_secret(const json_t *v)
{
	char *d = json_dumps(v, JSON_COMPACT);
	bool ok = d && !strstr(d, "SECRET");
	free(d);
	return ok;
}

struct hrow {
	const struct oauth_provider *p;
	const char *file;      /* NULL: the Codex file */
	const char *auth;      /* Authorization value */
	const char *extra_name, *extra_value;
	const char *strip;     /* one header that must be stripped, or NULL */
	const char *merge_name, *merge_token;
};

static void test_headers(const char *codex)
{
	static const struct hrow rows[] = {
		{ &oauth_claude, claude_file, "Bearer sk-ant-oat01-SECRETa", NULL, NULL, "x-api-key",
		  "anthropic-beta", "oauth-2025-04-20" },
		{ &oauth_codex, NULL, NULL, "ChatGPT-Account-ID", "acct-real-42",
		  "ChatGPT-Account-ID", NULL, NULL },
		{ &oauth_github_copilot, copilot_gho, "Bearer gho_SECRET", NULL, NULL, "x-api-key",
		  NULL, NULL },
		{ &oauth_github_copilot, copilot_ghu, "Bearer tid=SECRET;exp=1", NULL, NULL,
		  "x-api-key", NULL, NULL },
		{ &oauth_xai, xai_file, "Bearer SECRETa", NULL, NULL, "x-api-key", NULL, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct hrow *r = &rows[i];
		json_t *cred = adopt(r->p, r->file ? r->file : codex);
		json_t *h = json_array(), *s = json_array(), *m = json_array();
		if (!cred)
			continue;
		CHECK(r->p->headers(cred, r->p->default_host, h, s, m) == 0, "%s headers", r->p->type);
		const char *auth = header(h, "Authorization");
		CHECK(auth && strncmp(auth, "Bearer ", 7) == 0, "%s: Bearer", r->p->type);
		if (r->auth)
			CHECK_STR(auth, r->auth, r->p->type);
		if (r->extra_name)
			CHECK_STR(header(h, r->extra_name), r->extra_value, r->p->type);
		if (r->strip)
			CHECK(contains(s, r->strip), "%s: strips %s", r->p->type, r->strip);
		if (r->merge_name) {
			json_t *pair = json_array_get(m, 0);
			CHECK(json_array_size(m) == 1 &&
				      strcmp(json_string_value(json_array_get(pair, 0)), r->merge_name) == 0 &&
				      strcmp(json_string_value(json_array_get(pair, 1)), r->merge_token) == 0,
			      "%s: merge", r->p->type);
			/* the beta list is merged, never stripped */
			CHECK(!contains(s, r->merge_name), "%s: %s not stripped", r->p->type,
			      r->merge_name);
		} else {
			CHECK(json_array_size(m) == 0, "%s: no merge", r->p->type);
		}
		json_decref(h);
		json_decref(s);
		json_decref(m);
		json_decref(cred);
	}
	/* Copilot ghu_ before its first exchange: nothing to inject yet */
	json_t *cred = adopt(&oauth_github_copilot,
			     "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"ghu_SECRET\",\"access\":\"\",\"expires\":0}}");
	json_t *h = json_array(), *s = json_array(), *m = json_array();
	CHECK(oauth_github_copilot.headers(cred, "api.githubcopilot.com", h, s, m) == AL_ESTATE,
	      "ghu_ without a session");
	CHECK(oauth_refresh_due(&oauth_github_copilot, cred) == 0, "ghu_ exchange due now");
	json_decref(cred);
	json_decref(h);
	json_decref(s);
	json_decref(m);
}

static void test_stub_claude(void)
{
	json_t *cred = adopt(&oauth_claude, claude_file), *f = NULL;
	CHECK(oauth_claude.stub(cred, NOW, &f) == 0 && f, "claude stub");
	json_t *o = json_object_get(f, "claudeAiOauth");
	CHECK(strncmp(json_str(o, "accessToken", ""), "sk-ant-oat01-", 13) == 0, "oat01 prefix");
	CHECK(strncmp(json_str(o, "refreshToken", ""), "sk-ant-ort01-", 13) == 0, "ort01 prefix");
	CHECK(json_int(o, "expiresAt", 0) == OAUTH_STUB_EXPIRES_MS, "expiresAt far future ms");
	CHECK(contains(json_object_get(o, "scopes"), "user:inference"), "user:inference");
	CHECK_STR(json_str(o, "subscriptionType", NULL), "max", "subscriptionType kept");
	CHECK_STR(json_str(o, "rateLimitTier", NULL), "claude_max_20x", "rateLimitTier kept");
	CHECK(no_secret(f), "claude stub holds no real token");
	/* printed, it parses back as a file Claude Code accepts, and airlock too */
	char *d = json_dumps(f, 0), err[128];
	json_t *again = NULL;
	CHECK(oauth_adopt(&oauth_claude, d, strlen(d), NOW, &again, err, sizeof err) == 0,
	      "stub adopts: %s", err);
	json_decref(again);
	free(d);
	json_decref(f);

	/* shim: identity from the last refresh (account, organization) */
	json_object_set_new(cred, "account_id", json_string("acc-uuid"));
	json_object_set_new(cred, "email", json_string("dev@example.com"));
	json_object_set_new(cred, "org_id", json_string("org-uuid"));
	json_t *a = NULL;
	CHECK(oauth_claude.shim(cred, &oauth_claude.token_endpoints[0], NOW, &a) == 0, "claude shim");
	CHECK(strncmp(json_str(a, "access_token", ""), "sk-ant-oat01-", 13) == 0, "shim access");
	CHECK(strncmp(json_str(a, "refresh_token", ""), "sk-ant-ort01-", 13) == 0, "shim refresh");
	CHECK(json_int(a, "expires_in", 0) == OAUTH_STUB_EXPIRES_S - NOW, "shim expires_in");
	CHECK_STR(json_str(json_object_get(a, "account"), "uuid", NULL), "acc-uuid", "shim account");
	CHECK(strstr(json_str(a, "scope", ""), "user:inference") != NULL, "shim scope");
	CHECK(no_secret(a), "claude shim holds no real token");
	json_decref(a);
	json_decref(cred);
}

static void check_codex_jwt(const char *tok, const char *what)
{
	int dots = 0;
	for (const char *p = tok; *p; p++)
		dots += *p == '.';
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	CHECK(dots == 2 && d1 > tok && d2 > d1 + 1 && d2[1], "%s: three non-empty parts", what);
	json_t *c = oa_jwt_claims(tok);
	CHECK(c != NULL, "%s: claims decode", what);
	json_t *auth = json_object_get(c, "https://api.openai.com/auth");
	CHECK_STR(json_str(auth, "chatgpt_account_id", NULL), "acct-real-42", what);
	CHECK_STR(json_str(auth, "chatgpt_plan_type", NULL), "pro", what);
	CHECK_STR(json_str(auth, "chatgpt_user_id", NULL), "user-7", what);
	CHECK(json_int(c, "exp", 0) == OAUTH_STUB_EXPIRES_S, "%s: exp far future (s)", what);
	json_decref(c);
}

static void test_stub_codex(const char *codex)
{
	json_t *cred = adopt(&oauth_codex, codex), *f = NULL;
	CHECK(oauth_codex.stub(cred, NOW, &f) == 0 && f, "codex stub");
	json_t *t = json_object_get(f, "tokens");
	CHECK_STR(json_str(f, "auth_mode", NULL), "chatgpt", "auth_mode");
	CHECK(json_is_null(json_object_get(f, "OPENAI_API_KEY")), "OPENAI_API_KEY null");
	CHECK_STR(json_str(t, "account_id", NULL), "acct-real-42", "real account id");
	check_codex_jwt(json_str(t, "id_token", ""), "stub id_token");
	check_codex_jwt(json_str(t, "access_token", ""), "stub access_token");
	json_t *idc = oa_jwt_claims(json_str(t, "id_token", ""));
	CHECK_STR(json_str(idc, "email", NULL), "dev@example.com", "id_token email");
	json_decref(idc);
	int64_t lr;
	CHECK(time_parse(json_str(f, "last_refresh", ""), &lr) == 0 && lr == NOW, "last_refresh now");
	CHECK(no_secret(f), "codex stub holds no real token");
	/* the stub adopts back (same shape), with the real account */
	char *d = json_dumps(f, 0), err[128];
	json_t *again = NULL;
	CHECK(oauth_adopt(&oauth_codex, d, strlen(d), NOW, &again, err, sizeof err) == 0, "stub adopts");
	CHECK_STR(json_str(again, "account_id", NULL), "acct-real-42", "stub account");
	json_decref(again);
	free(d);
	json_decref(f);

	json_t *a = NULL;
	CHECK(oauth_codex.shim(cred, &oauth_codex.token_endpoints[0], NOW, &a) == 0, "codex shim");
	check_codex_jwt(json_str(a, "id_token", ""), "shim id_token");
	check_codex_jwt(json_str(a, "access_token", ""), "shim access_token");
	CHECK(json_str(a, "refresh_token", NULL) != NULL, "shim refresh");
	CHECK(no_secret(a), "codex shim holds no real token");
	json_decref(a);
	json_decref(cred);
}

static void test_stub_copilot_xai(void)
{
	json_t *cred = adopt(&oauth_github_copilot, copilot_gho), *f = NULL;
	CHECK(oauth_github_copilot.stub(cred, NOW, &f) == 0, "copilot stub");
	json_t *e = json_object_get(f, "github-copilot");
	CHECK_STR(json_str(e, "type", NULL), "oauth", "copilot type");
	CHECK(strncmp(json_str(e, "refresh", ""), "gho_", 4) == 0, "gho_ placeholder");
	CHECK_STR(json_str(e, "access", NULL), json_str(e, "refresh", ""), "access = refresh");
	CHECK(json_int(e, "expires", -1) == 0, "gho_ expires 0");
	CHECK(no_secret(f), "copilot stub clean");
	json_decref(f);
	json_decref(cred);

	cred = adopt(&oauth_github_copilot, copilot_ghu);
	json_object_set_new(cred, "api_host", json_string("api.individual.githubcopilot.com"));
	CHECK(oauth_github_copilot.stub(cred, NOW, &f) == 0, "copilot ghu stub");
	e = json_object_get(f, "github-copilot");
	CHECK(strncmp(json_str(e, "refresh", ""), "ghu_", 4) == 0, "ghu_ placeholder");
	CHECK(json_int(e, "expires", 0) == OAUTH_STUB_EXPIRES_MS, "ghu_ expires far future ms");
	CHECK(strstr(json_str(e, "access", ""), "proxy-ep=proxy.individual.githubcopilot.com") != NULL,
	      "proxy-ep from api host");
	CHECK(no_secret(f), "copilot ghu stub clean");
	json_decref(f);
	json_t *a = NULL;
	CHECK(oauth_github_copilot.shim(cred, &oauth_github_copilot.token_endpoints[1], NOW, &a) == 0,
	      "copilot shim");
	CHECK_STR(json_str(json_object_get(a, "endpoints"), "api", NULL),
		  "https://api.individual.githubcopilot.com", "shim endpoints.api");
	CHECK(json_int(a, "expires_at", 0) == OAUTH_STUB_EXPIRES_S, "shim expires_at seconds");
	CHECK(no_secret(a), "copilot shim clean");
	json_decref(a);
	json_decref(cred);

	cred = adopt(&oauth_xai, xai_file);
	CHECK(oauth_xai.stub(cred, NOW, &f) == 0, "xai stub");
	e = json_object_get(f, "xai");
	CHECK_STR(json_str(e, "type", NULL), "oauth", "xai type");
	CHECK(json_int(e, "expires", 0) == OAUTH_STUB_EXPIRES_MS, "xai expires ms");
	CHECK(oa_jwt_claims(json_str(e, "access", "")) == NULL, "xai access opaque");
	CHECK(no_secret(f), "xai stub clean");
	json_decref(f);
	CHECK(oauth_xai.shim(cred, &oauth_xai.token_endpoints[0], NOW, &a) == 0, "xai shim");
	CHECK(json_int(a, "expires_in", 0) > 0 && no_secret(a), "xai shim");
	json_decref(a);
	json_decref(cred);
}

static void test_write_back(const char *codex)
{
	char *out;
	size_t len;
	json_t *cred = adopt(&oauth_claude, claude_file), *doc;
	json_object_set_new(cred, "access", json_string("sk-ant-oat01-NEWa"));
	json_object_set_new(cred, "refresh", json_string("sk-ant-ort01-NEWr"));
	json_object_set_new(cred, "expires_at", json_integer(NOW + 28800));
	CHECK(oauth_write_back(&oauth_claude, cred, claude_file, strlen(claude_file), NOW, &out,
			       &len) == 0, "claude write-back");
	doc = json_loadb(out, len, 0, NULL);
	json_t *o = json_object_get(doc, "claudeAiOauth");
	CHECK_STR(json_str(o, "accessToken", NULL), "sk-ant-oat01-NEWa", "wb access");
	CHECK_STR(json_str(o, "refreshToken", NULL), "sk-ant-ort01-NEWr", "wb refresh");
	CHECK(json_int(o, "expiresAt", 0) == (NOW + 28800) * 1000, "wb expiresAt ms");
	CHECK_STR(json_str(o, "futureKey", NULL), "kept", "wb unknown inner key");
	CHECK_STR(json_str(o, "subscriptionType", NULL), "max", "wb subscriptionType");
	CHECK(json_object_get(doc, "mcpOAuth") != NULL, "wb unknown top key");
	CHECK(out[len - 1] == '\n', "wb final newline");
	json_decref(doc);
	secure_free(out, len);
	json_decref(cred);

	cred = adopt(&oauth_codex, codex);
	json_object_set_new(cred, "refresh", json_string("rt.NEW"));
	CHECK(oauth_write_back(&oauth_codex, cred, codex, strlen(codex), NOW + 5, &out, &len) == 0,
	      "codex write-back");
	doc = json_loadb(out, len, 0, NULL);
	CHECK_STR(json_str(json_object_get(doc, "tokens"), "refresh_token", NULL), "rt.NEW", "wb rt");
	CHECK_STR(json_str(json_object_get(doc, "tokens"), "account_id", NULL), "acct-real-42", "wb acct");
	CHECK_STR(json_str(doc, "agent_identity", NULL), "kept", "wb codex unknown key");
	int64_t lr = 0;
	CHECK(time_parse(json_str(doc, "last_refresh", ""), &lr) == 0 && lr == NOW + 5, "wb last_refresh");
	json_decref(doc);
	secure_free(out, len);
	json_decref(cred);

	cred = adopt(&oauth_xai, xai_file);
	json_object_set_new(cred, "refresh", json_string("NEWr"));
	CHECK(oauth_write_back(&oauth_xai, cred, xai_file, strlen(xai_file), NOW, &out, &len) == 0,
	      "xai write-back");
	doc = json_loadb(out, len, 0, NULL);
	CHECK_STR(json_str(doc, "refresh_token", NULL), "NEWr", "wb xai refresh");
	CHECK_STR(json_str(doc, "note", NULL), "mine", "wb xai unknown key");
	json_decref(doc);
	secure_free(out, len);
	json_decref(cred);

	/* an expiry airlock does not know stays unknown: written back, the
	 * file's expires_in would have counted from the new obtained_at and the
	 * re-adopted login looked valid for that long (fuzz-cred-adopt) */
	static const char xai_rel[] = "{\"access_token\":\"opaqueACCESS0123\",\"refresh_token\":"
				      "\"r0123456789\",\"expires_in\":3600}";
	cred = adopt(&oauth_xai, xai_rel);
	CHECK(json_int(cred, "expires_at", -1) == 0, "xai: expires_in without obtained_at is unknown");
	CHECK(oauth_write_back(&oauth_xai, cred, xai_rel, strlen(xai_rel), NOW, &out, &len) == 0,
	      "xai write-back, expiry unknown");
	doc = json_loadb(out, len, 0, NULL);
	CHECK(!json_object_get(doc, "expires_in") && !json_object_get(doc, "expires_at"),
	      "wb xai: no relative or made-up expiry");
	json_t *again = adopt(&oauth_xai, out);
	CHECK(again && json_int(again, "expires_at", -1) == 0, "wb xai re-adopts with expiry unknown");
	json_decref(again);
	json_decref(doc);
	secure_free(out, len);
	json_decref(cred);

	/* an expiry RFC 3339 cannot write with four digits is refused at
	 * adoption: written back it would not adopt again (fuzz-cred-adopt),
	 * and obtained_at + a huge expires_in overflowed */
	static const char *const xai_far[] = {
		"{\"access_token\":\"a0123456789\",\"refresh_token\":\"r0123456789\","
		"\"expires_at\":\"0150-01-01T00:00:00Z\"}",
		"{\"access_token\":\"a0123456789\",\"refresh_token\":\"r0123456789\","
		"\"expires_at\":253402300800000}",   /* ms, as the file may give them */
		"{\"access_token\":\"a0123456789\",\"refresh_token\":\"r0123456789\","
		"\"obtained_at\":\"2025-06-15T00:00:00Z\",\"expires_in\":9223372036854775807}",
	};
	for (size_t i = 0; i < sizeof xai_far / sizeof xai_far[0]; i++) {
		char err[256];
		json_t *c = NULL;
		int rc = oauth_adopt(&oauth_xai, xai_far[i], strlen(xai_far[i]), NOW, &c, err, sizeof err);
		if (i < 2)
			CHECK(rc < 0 && strstr(err, "after 9999"), "xai far expiry %zu: %d %s", i, rc, err);
		else
			CHECK(rc == 0 && json_int(c, "expires_at", -1) == 0, "xai huge expires_in ignored");
		json_decref(c);
	}

	/* a vendor file that is not JSON is not overwritten */
	cred = adopt(&oauth_xai, xai_file);
	CHECK(oauth_write_back(&oauth_xai, cred, "{nope", 5, NOW, &out, &len) < 0, "wb bad file");
	json_decref(cred);
}

static void test_endpoints(void)
{
	static const struct {
		const char *host, *path;
		const struct oauth_provider *want;
	} rows[] = {
		{ "platform.claude.com", "/v1/oauth/token", &oauth_claude },
		{ "console.anthropic.com", "/v1/oauth/token", &oauth_claude },
		{ "auth.openai.com", "/oauth/token", &oauth_codex },
		{ "github.com", "/login/oauth/access_token", &oauth_github_copilot },
		{ "api.github.com", "/copilot_internal/v2/token", &oauth_github_copilot },
		{ "auth.x.ai", "/oauth2/token", &oauth_xai },
		{ "api.anthropic.com", "/v1/messages", NULL },
		{ "auth.openai.com", "/oauth/authorize", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct oauth_endpoint *e = oauth_token_endpoint_find(NULL, rows[i].host, rows[i].path);
		CHECK((e != NULL) == (rows[i].want != NULL), "endpoint %s%s", rows[i].host, rows[i].path);
		if (rows[i].want)
			CHECK(oauth_token_endpoint_find(rows[i].want, rows[i].host, rows[i].path) == e,
			      "endpoint owner %s", rows[i].host);
	}
}

int main(void)
{
	char *codex = codex_file();
	test_headers(codex);
	test_stub_claude();
	test_stub_codex(codex);
	test_stub_copilot_xai();
	test_write_back(codex);
	test_endpoints();
	free(codex);
	return unit_finish("test-oauth-shape");
}
