/* oauth-providers refresh: the requests each provider builds (URL, method,
 * encoding, fields as the providers send them), answers parsed into the
 * next credential (rotated refresh token, kept when absent, expiry in
 * seconds), failure classification (permanent: invalid_grant, Codex
 * refresh_token_*, 400/401; transient: 429 with Retry-After, 5xx,
 * network), and when a refresh is due. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"
#include "oauth-providers/provider.h"
#include "tests/unit/unit.h"

#define NOW 1800000000LL

static json_t *cred_of(const struct oauth_provider *p)
{
	static const char claude[] = "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-A\","
				     "\"refreshToken\":\"sk-ant-ort01-R\",\"expiresAt\":1800003600000}}";
	static const char codex[] = "{\"access_token\":\"A\",\"refresh_token\":\"rt.R\",\"account_id\":\"acct-1\"}";
	static const char copilot[] = "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"ghu_U\",\"access\":\"\",\"expires\":0}}";
	static const char xai[] = "{\"access_token\":\"A\",\"refresh_token\":\"R\",\"expires_at\":1800003600,"
				  "\"token_endpoint\":\"https://auth.x.ai/oauth2/token\"}";
	const char *f = p == &oauth_claude ? claude : p == &oauth_codex ? codex
			: p == &oauth_github_copilot ? copilot : xai;
	char err[128];
	json_t *c = NULL;
	int ret = oauth_adopt(p, f, strlen(f), NOW, &c, err, sizeof err);
	CHECK(ret == 0, "adopt %s: %s", p->type, err);
	return c;
}

static const char *req_header(const struct oauth_http_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < OAUTH_REQ_HEADERS_MAX && r->headers[i]; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
			return r->headers[i] + n + 2;
	return NULL;
}

static void test_requests(void)
{
	struct oauth_http_req r;
	json_t *c, *b;

	/* Claude: JSON, client id, scope, platform.claude.com */
	memset(&r, 0, sizeof r);
	c = cred_of(&oauth_claude);
	CHECK(oauth_claude.refresh_request(c, &r) == 0, "claude request");
	CHECK_STR(r.url, "https://platform.claude.com/v1/oauth/token", "claude url");
	CHECK_STR(r.method, "POST", "claude method");
	CHECK_STR(r.content_type, "application/json", "claude json");
	b = json_loadb(r.body, r.body_len, 0, NULL);
	CHECK_STR(json_str(b, "grant_type", NULL), "refresh_token", "claude grant");
	CHECK_STR(json_str(b, "refresh_token", NULL), "sk-ant-ort01-R", "claude rt");
	CHECK_STR(json_str(b, "client_id", NULL), "9d1c250a-e61b-44d9-88ed-5944d1962f5e", "claude client");
	CHECK(strstr(json_str(b, "scope", ""), "user:inference") != NULL, "claude scope");
	json_decref(b);
	oauth_http_req_free(&r);
	json_decref(c);

	/* Codex: JSON to auth.openai.com */
	c = cred_of(&oauth_codex);
	CHECK(oauth_codex.refresh_request(c, &r) == 0, "codex request");
	CHECK_STR(r.url, "https://auth.openai.com/oauth/token", "codex url");
	CHECK_STR(r.content_type, "application/json", "codex json");
	b = json_loadb(r.body, r.body_len, 0, NULL);
	CHECK_STR(json_str(b, "client_id", NULL), "app_EMoamEEZ73f0CkXaXp7hrann", "codex client");
	CHECK_STR(json_str(b, "refresh_token", NULL), "rt.R", "codex rt");
	json_decref(b);
	oauth_http_req_free(&r);
	json_decref(c);

	/* xAI: form */
	c = cred_of(&oauth_xai);
	CHECK(oauth_xai.refresh_request(c, &r) == 0, "xai request");
	CHECK_STR(r.url, "https://auth.x.ai/oauth2/token", "xai url");
	CHECK_STR(r.content_type, "application/x-www-form-urlencoded", "xai form");
	json_t *form = oa_form_parse(r.body, r.body_len);
	CHECK_STR(json_str(form, "grant_type", NULL), "refresh_token", "xai grant");
	CHECK_STR(json_str(form, "refresh_token", NULL), "R", "xai rt");
	CHECK_STR(json_str(form, "client_id", NULL), "b1a00492-073a-47ea-816f-4c329264a828", "xai client");
	json_decref(form);
	oauth_http_req_free(&r);
	/* a credential whose endpoint left x.ai (state tampering) is not sent */
	json_object_set_new(c, "token_endpoint", json_string("https://evil.example/t"));
	CHECK(oauth_xai.refresh_request(c, &r) == AL_EINVAL, "xai endpoint re-checked");
	oauth_http_req_free(&r);
	json_decref(c);

	/* Copilot ghu_: GET exchange with "token" scheme */
	c = cred_of(&oauth_github_copilot);
	CHECK(oauth_github_copilot.refresh_request(c, &r) == 0, "copilot request");
	CHECK_STR(r.method, "GET", "copilot GET");
	CHECK_STR(r.url, "https://api.github.com/copilot_internal/v2/token", "copilot url");
	CHECK_STR(req_header(&r, "Authorization"), "token ghu_U", "copilot auth");
	CHECK(r.body == NULL, "copilot no body");
	oauth_http_req_free(&r);
	json_object_set_new(c, "enterprise", json_string("ghe.example.com"));
	CHECK(oauth_github_copilot.refresh_request(c, &r) == 0, "copilot ghe");
	CHECK_STR(r.url, "https://api.ghe.example.com/copilot_internal/v2/token", "copilot ghe url");
	oauth_http_req_free(&r);
	json_object_set_new(c, "github_token", json_string("gho_X"));
	CHECK(oauth_github_copilot.refresh_request(c, &r) == AL_ESTATE, "gho_ never refreshes");
	oauth_http_req_free(&r);
	json_decref(c);

	/* form encoding round trip with reserved characters */
	const char *kv[] = { "a b", "x&y=z+%/", "k", "", NULL };
	char *enc = oa_form(kv);
	CHECK_STR(enc, "a%20b=x%26y%3Dz%2B%25%2F&k=", "form encode");
	json_t *back = oa_form_parse(enc, strlen(enc));
	CHECK_STR(json_str(back, "a b", NULL), "x&y=z+%/", "form decode");
	json_decref(back);
	free(enc);
}

struct prow {
	const char *name;
	const struct oauth_provider *p;
	long status;
	const char *body;
	const char *retry_after, *retry_after_ms;
	enum oauth_outcome want;
	const char *reason;          /* substring of res.reason */
	int64_t want_retry;
	const char *key, *want_val;  /* checked in the next credential on OK */
	int64_t want_exp;            /* expires_at on OK (0: not checked) */
};

static const struct prow prows[] = {
	{ "claude ok rotates", &oauth_claude, 200,
	  "{\"access_token\":\"sk-ant-oat01-N\",\"refresh_token\":\"sk-ant-ort01-N\",\"expires_in\":28800,"
	  "\"token_type\":\"Bearer\",\"scope\":\"user:inference user:profile\",\"account\":{\"uuid\":\"acc-9\","
	  "\"email_address\":\"d@e.com\"},\"organization\":{\"uuid\":\"org-9\",\"name\":\"Org\"}}",
	  NULL, NULL, OAUTH_OK, "", 0, "refresh", "sk-ant-ort01-N", NOW + 28800 },
	{ "claude ok account", &oauth_claude, 200,
	  "{\"access_token\":\"sk-ant-oat01-N\",\"refresh_token\":\"sk-ant-ort01-N\",\"expires_in\":28800,"
	  "\"account\":{\"uuid\":\"acc-9\"}}", NULL, NULL, OAUTH_OK, "", 0, "account_id", "acc-9", 0 },
	{ "claude ok keeps old refresh", &oauth_claude, 200,
	  "{\"access_token\":\"sk-ant-oat01-N\",\"expires_in\":100}", NULL, NULL, OAUTH_OK, "", 0,
	  "refresh", "sk-ant-ort01-R", NOW + 100 },
	{ "claude invalid_grant", &oauth_claude, 400,
	  "{\"error\":\"invalid_grant\",\"error_description\":\"Refresh token not found or invalid\"}",
	  NULL, NULL, OAUTH_PERMANENT, "invalid_grant", 0, NULL, NULL, 0 },
	{ "claude 401", &oauth_claude, 401, "", NULL, NULL, OAUTH_PERMANENT, "http-401", 0, NULL, NULL, 0 },
	{ "claude 400 other", &oauth_claude, 400, "{\"error\":\"invalid_request\"}", NULL, NULL,
	  OAUTH_PERMANENT, "http-400:invalid_request", 0, NULL, NULL, 0 },
	{ "claude 429 retry-after", &oauth_claude, 429, "{\"error\":{\"type\":\"rate_limit_error\"}}", "17",
	  NULL, OAUTH_TRANSIENT, "http-429", 17, NULL, NULL, 0 },
	{ "claude 429 retry-after-ms", &oauth_claude, 429, "", "1", "2500", OAUTH_TRANSIENT, "http-429", 3,
	  NULL, NULL, 0 },
	{ "claude 429 date", &oauth_claude, 429, "", "Fri, 15 Jan 2100 08:00:30 GMT", NULL,
	  OAUTH_TRANSIENT, "http-429", 24 * 3600, NULL, NULL, 0 },
	{ "claude 500", &oauth_claude, 500, "oops", NULL, NULL, OAUTH_TRANSIENT, "http-500", 0, NULL, NULL, 0 },
	{ "claude 503 retry-after", &oauth_claude, 503, "", "5", NULL, OAUTH_TRANSIENT, "http-503", 5, NULL, NULL, 0 },
	{ "claude 403 (Cloudflare)", &oauth_claude, 403, "<html>", NULL, NULL, OAUTH_TRANSIENT, "http-403", 0,
	  NULL, NULL, 0 },
	{ "network", &oauth_claude, 0, NULL, NULL, NULL, OAUTH_TRANSIENT, "network", 0, NULL, NULL, 0 },
	{ "200 not JSON", &oauth_claude, 200, "<html>hi</html>", NULL, NULL, OAUTH_TRANSIENT, "bad-answer", 0,
	  NULL, NULL, 0 },
	{ "200 no access_token", &oauth_claude, 200, "{\"refresh_token\":\"x\"}", NULL, NULL, OAUTH_TRANSIENT,
	  "bad-answer: answer.access_token: missing", 0, NULL, NULL, 0 },
	{ "200 access_token with CRLF", &oauth_claude, 200, "{\"access_token\":\"a\\r\\nX: y\"}", NULL, NULL,
	  OAUTH_TRANSIENT, "bad-answer", 0, NULL, NULL, 0 },
	{ "codex reused (error.code)", &oauth_codex, 401,
	  "{\"error\":{\"message\":\"Your refresh token has already been used\",\"code\":\"refresh_token_reused\"}}",
	  NULL, NULL, OAUTH_PERMANENT, "refresh_token_reused", 0, NULL, NULL, 0 },
	{ "codex expired (code)", &oauth_codex, 400, "{\"code\":\"refresh_token_expired\"}", NULL, NULL,
	  OAUTH_PERMANENT, "refresh_token_expired", 0, NULL, NULL, 0 },
	{ "codex invalidated (403)", &oauth_codex, 403, "{\"error\":{\"code\":\"refresh_token_invalidated\"}}",
	  NULL, NULL, OAUTH_PERMANENT, "refresh_token_invalidated", 0, NULL, NULL, 0 },
	{ "codex 502", &oauth_codex, 502, "", NULL, NULL, OAUTH_TRANSIENT, "http-502", 0, NULL, NULL, 0 },
	{ "codex ok rotates", &oauth_codex, 200,
	  "{\"access_token\":\"N\",\"refresh_token\":\"rt.N\",\"expires_in\":864000}", NULL, NULL, OAUTH_OK, "",
	  0, "refresh", "rt.N", NOW + 864000 },
	{ "codex ok keeps account", &oauth_codex, 200, "{\"access_token\":\"N\",\"refresh_token\":\"rt.N\"}",
	  NULL, NULL, OAUTH_OK, "", 0, "account_id", "acct-1", NOW + 8 * 24 * 3600 },
	{ "xai revoked", &oauth_xai, 400,
	  "{\"error\":\"invalid_grant\",\"error_description\":\"Refresh token has been revoked\"}", NULL,
	  NULL, OAUTH_PERMANENT, "invalid_grant", 0, NULL, NULL, 0 },
	{ "xai ok no expires_in", &oauth_xai, 200, "{\"access_token\":\"N\",\"refresh_token\":\"N2\"}", NULL,
	  NULL, OAUTH_OK, "", 0, "refresh", "N2", NOW + 3600 },
	{ "copilot exchange", &oauth_github_copilot, 200,
	  "{\"token\":\"tid=1;exp=2;proxy-ep=proxy.individual.githubcopilot.com:mac\",\"expires_at\":1800001800,"
	  "\"refresh_in\":1500,\"endpoints\":{\"api\":\"https://api.individual.githubcopilot.com\"}}",
	  NULL, NULL, OAUTH_OK, "", 0, "api_host", "api.individual.githubcopilot.com", 1800001800 },
	{ "copilot exchange token", &oauth_github_copilot, 200,
	  "{\"token\":\"tid=1;exp=2\",\"expires_at\":1800001800,\"refresh_in\":1500}", NULL, NULL, OAUTH_OK,
	  "", 0, "access", "tid=1;exp=2", 0 },
	{ "copilot bad api url ignored", &oauth_github_copilot, 200,
	  "{\"token\":\"t\",\"expires_at\":1800001800,\"endpoints\":{\"api\":\"http://evil\"}}", NULL, NULL,
	  OAUTH_OK, "", 0, "api_host", "api.githubcopilot.com", 0 },
	{ "copilot 401", &oauth_github_copilot, 401, "{\"message\":\"Bad credentials\"}", NULL, NULL,
	  OAUTH_PERMANENT, "http-401", 0, NULL, NULL, 0 },
	{ "copilot 404 no seat", &oauth_github_copilot, 404, "{\"message\":\"Not Found\"}", NULL, NULL,
	  OAUTH_PERMANENT, "no Copilot access", 0, NULL, NULL, 0 },
	{ "copilot 500", &oauth_github_copilot, 500, "", NULL, NULL, OAUTH_TRANSIENT, "http-500", 0, NULL,
	  NULL, 0 },
};

static void test_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(prows); i++) {
		const struct prow *r = &prows[i];
		json_t *c = cred_of(r->p), *next = NULL;
		struct oauth_http_resp resp = { 0 };
		struct oauth_result res;
		resp.status = r->status;
		if (r->body) {
			resp.body = xstrdup(r->body);
			resp.body_len = strlen(r->body);
		}
		if (r->retry_after)
			resp.retry_after = xstrdup(r->retry_after);
		if (r->retry_after_ms)
			resp.retry_after_ms = xstrdup(r->retry_after_ms);
		CHECK(r->p->refresh_parse(c, &resp, NOW, &next, &res) == 0, "%s: parse", r->name);
		CHECK(res.outcome == r->want, "%s: outcome %d want %d (%s)", r->name, res.outcome,
		      r->want, res.reason);
		CHECK(strstr(res.reason, r->reason) != NULL, "%s: reason \"%s\" lacks \"%s\"", r->name,
		      res.reason, r->reason);
		if (r->want_retry)
			CHECK(res.retry_after == r->want_retry, "%s: retry %lld want %lld", r->name,
			      (long long)res.retry_after, (long long)r->want_retry);
		CHECK((next != NULL) == (r->want == OAUTH_OK), "%s: next", r->name);
		if (next && r->key)
			CHECK_STR(json_str(next, r->key, NULL), r->want_val, r->name);
		if (next && r->want_exp)
			CHECK(json_int(next, "expires_at", 0) == r->want_exp, "%s: exp %lld want %lld",
			      r->name, json_int(next, "expires_at", 0), (long long)r->want_exp);
		/* the old credential is untouched (the broker keeps it until the new one is saved) */
		if (r->p == &oauth_claude)
			CHECK_STR(json_str(c, "refresh", NULL), "sk-ant-ort01-R", r->name);
		oauth_http_resp_free(&resp);
		json_decref(next);
		json_decref(c);
	}
}

static void test_rexp_dropped(void)
{
	json_t *c = cred_of(&oauth_claude), *next = NULL;
	struct oauth_http_resp resp = { .status = 200 };
	struct oauth_result res;
	json_object_set_new(c, "refresh_expires_at", json_integer(NOW + 60));
	resp.body = xstrdup("{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":100}");
	resp.body_len = strlen(resp.body);
	CHECK(oauth_claude.refresh_parse(c, &resp, NOW, &next, &res) == 0 && next, "parse");
	CHECK(next && !json_object_get(next, "refresh_expires_at"),
	      "the old refresh token's death date does not stick to the new one");
	json_decref(next);
	json_decref(c);
	oauth_http_resp_free(&resp);
}

static void test_due(void)
{
	json_t *c = cred_of(&oauth_claude);
	CHECK(oauth_refresh_due(&oauth_claude, c) == 1800003600 - oauth_claude.lead_seconds, "claude due");
	CHECK(oauth_claude.lead_seconds >= 300, "lead >= 5 min");
	CHECK(oauth_access_usable(c, NOW), "usable");
	CHECK(!oauth_access_usable(c, 1800003600), "expired at expires_at");
	json_object_set_new(c, "refresh_expires_at", json_integer(1800001000));
	CHECK(oauth_refresh_due(&oauth_claude, c) == 1800001000 - oauth_claude.lead_seconds,
	      "a dying refresh token is used before it dies");
	json_object_del(c, "refresh_expires_at");
	json_object_set_new(c, "expires_at", json_integer(0));
	CHECK(oauth_refresh_due(&oauth_claude, c) == 0, "unknown expiry: now");
	json_object_del(c, "refresh");
	CHECK(oauth_refresh_due(&oauth_claude, c) == INT64_MAX, "no refresh token: never");
	json_decref(c);

	c = cred_of(&oauth_github_copilot);
	json_object_set_new(c, "access", json_string("tid"));
	json_object_set_new(c, "expires_at", json_integer(NOW + 1800));
	json_object_set_new(c, "refresh_at", json_integer(NOW + 1500));
	CHECK(oauth_refresh_due(&oauth_github_copilot, c) == NOW + 1500 - 300 ||
		      oauth_refresh_due(&oauth_github_copilot, c) == NOW + 1500,
	      "copilot due at refresh_in");
	json_object_set_new(c, "github_token", json_string("gho_X"));
	CHECK(oauth_refresh_due(&oauth_github_copilot, c) == INT64_MAX, "gho_: never");
	json_decref(c);
	for (size_t i = 0; oauth_providers[i]; i++)
		CHECK(oauth_providers[i]->lead_seconds >= 300, "%s lead", oauth_providers[i]->type);
}

int main(void)
{
	test_requests();
	test_parse();
	test_rexp_dropped();
	test_due();
	return unit_finish("test-oauth-refresh");
}
