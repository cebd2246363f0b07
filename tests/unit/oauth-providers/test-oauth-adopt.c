/* oauth-providers adopt(): each vendor file shape the real clients write, and
 * malformed ones. Every refusal must name the field, and no message may
 * quote a value: all token values in this file contain "SECRET". */
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

/* A Codex-style JWT with the given account id (NULL: no auth claim). */
static char *jwt(const char *acct, const char *email, long long exp)
{
	json_t *h = json_pack("{s:s}", "alg", "RS256");
	json_t *c = json_pack("{s:I, s:s}", "exp", (json_int_t)exp, "sub", "SECRET-sub-not-secret");
	if (acct)
		json_object_set_new(c, "https://api.openai.com/auth",
				    json_pack("{s:s, s:s, s:s}", "chatgpt_account_id", acct,
					      "chatgpt_plan_type", "pro", "chatgpt_user_id",
					      "user-42"));
	if (email)
		json_object_set_new(c, "email", json_string(email));
	char *t = oa_jwt_make(h, c);
	json_decref(h);
	json_decref(c);
	return t;
}

/* %1$s and %2$s in a row's file, replaced (no printf with a variable format) */
static char *fill(const char *tpl, const char *a, const char *b)
{
	size_t n = strlen(tpl) + 1, o = 0;
	n += 2 * (strlen(a) + strlen(b)) * 4;
	char *out = xmalloc(n);
	for (const char *p = tpl; *p;) {
		if (strncmp(p, "%1$s", 4) == 0 || strncmp(p, "%2$s", 4) == 0) {
			const char *v = p[1] == '1' ? a : b;
			memcpy(out + o, v, strlen(v));
			o += strlen(v);
			p += 4;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

struct row {
	const struct oauth_provider *p;
	const char *name;
	const char *file;     /* %1$s = JWT with account acct-real, %2$s = JWT without */
	const char *want_err; /* NULL: must be accepted */
	const char *key;      /* a credential key to check when accepted */
	const char *want_val; /* its string value, or NULL */
	long long want_int;   /* its int value when want_val is NULL */
};

static const struct row rows[] = {
	/* ---- Claude ---- */
	{ &oauth_claude, "claude full",
	  "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-SECRETa\",\"refreshToken\":"
	  "\"sk-ant-ort01-SECRETr\",\"expiresAt\":1800003600000,\"scopes\":[\"user:inference\","
	  "\"user:profile\"],\"subscriptionType\":\"max\",\"rateLimitTier\":\"claude_max_20x\"},"
	  "\"other\":1}",
	  NULL, "expires_at", NULL, 1800003600 },
	{ &oauth_claude, "claude full access", "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-SECRETa\","
	  "\"refreshToken\":\"sk-ant-ort01-SECRETr\",\"expiresAt\":1800003600000}}",
	  NULL, "access", "sk-ant-oat01-SECRETa", 0 },
	{ &oauth_claude, "claude minimal top-level",
	  "{\"accessToken\":\"sk-ant-oat01-SECRETa\",\"refreshToken\":\"sk-ant-ort01-SECRETr\"}",
	  NULL, "expires_at", NULL, 0 },
	{ &oauth_claude, "claude refreshTokenExpiresAt",
	  "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-SECRETa\",\"refreshToken\":\"x-SECRET\","
	  "\"expiresAt\":1800003600000,\"refreshTokenExpiresAt\":1802000000000,\"clientId\":\"c\"}}",
	  NULL, "refresh_expires_at", NULL, 1802000000 },
	/* 99999999 read as seconds is 1973; written back as ms (x1000) it
	 * read back as seconds in year 5138 (fuzz-cred-adopt): unknown */
	{ &oauth_claude, "claude expiresAt neither ms nor s",
	  "{\"accessToken\":\"sk-ant-oat01-SECRETa\",\"refreshToken\":\"sk-ant-ort01-SECRETr\","
	  "\"expiresAt\":99999999}",
	  NULL, "expires_at", NULL, 0 },
	{ &oauth_claude, "claude expiresAt seconds",
	  "{\"accessToken\":\"sk-ant-oat01-SECRETa\",\"refreshToken\":\"sk-ant-ort01-SECRETr\","
	  "\"expiresAt\":1800003600}",
	  NULL, "expires_at", NULL, 1800003600 },
	{ &oauth_claude, "claude no object", "{\"somethingElse\":{}}", ".claudeAiOauth: missing", NULL, NULL, 0 },
	{ &oauth_claude, "claude object wrong type", "{\"claudeAiOauth\":\"SECRET\"}",
	  ".claudeAiOauth: must be an object", NULL, NULL, 0 },
	{ &oauth_claude, "claude no access",
	  "{\"claudeAiOauth\":{\"refreshToken\":\"sk-ant-ort01-SECRETr\",\"expiresAt\":1}}",
	  ".claudeAiOauth.accessToken: missing", NULL, NULL, 0 },
	{ &oauth_claude, "claude no refresh",
	  "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-SECRETa\",\"expiresAt\":1}}",
	  ".claudeAiOauth.refreshToken: missing", NULL, NULL, 0 },
	{ &oauth_claude, "claude empty access",
	  "{\"claudeAiOauth\":{\"accessToken\":\"\",\"refreshToken\":\"SECRET\"}}",
	  ".claudeAiOauth.accessToken: is empty", NULL, NULL, 0 },
	{ &oauth_claude, "claude access number",
	  "{\"claudeAiOauth\":{\"accessToken\":12,\"refreshToken\":\"SECRET\"}}",
	  ".claudeAiOauth.accessToken: must be a string", NULL, NULL, 0 },
	{ &oauth_claude, "claude access with CRLF",
	  "{\"claudeAiOauth\":{\"accessToken\":\"SECRET\\r\\nX-Evil: 1\",\"refreshToken\":\"SECRET\"}}",
	  ".claudeAiOauth.accessToken: holds characters that cannot go in a header", NULL, NULL, 0 },
	{ &oauth_claude, "claude expiresAt string",
	  "{\"claudeAiOauth\":{\"accessToken\":\"SECRETa\",\"refreshToken\":\"SECRETr\",\"expiresAt\":\"SECRET\"}}",
	  ".claudeAiOauth.expiresAt: must be a number", NULL, NULL, 0 },
	{ &oauth_claude, "claude scopes without inference",
	  "{\"claudeAiOauth\":{\"accessToken\":\"SECRETa\",\"refreshToken\":\"SECRETr\",\"scopes\":[\"user:profile\"]}}",
	  ".claudeAiOauth.scopes: lacks user:inference", NULL, NULL, 0 },
	{ &oauth_claude, "claude scopes not strings",
	  "{\"claudeAiOauth\":{\"accessToken\":\"SECRETa\",\"refreshToken\":\"SECRETr\",\"scopes\":[1]}}",
	  ".claudeAiOauth.scopes[0]: must be a string", NULL, NULL, 0 },
	{ &oauth_claude, "claude not JSON (the token is not echoed)",
	  "{\"claudeAiOauth\":{\"accessToken\":sk-ant-oat01-SECRET}}", "not valid JSON (line 1", NULL, NULL, 0 },
	{ &oauth_claude, "claude array", "[\"SECRET\"]", "not a JSON object", NULL, NULL, 0 },
	{ &oauth_claude, "claude duplicate key",
	  "{\"claudeAiOauth\":{\"accessToken\":\"SECRET1\",\"accessToken\":\"SECRET2\"}}", "not valid JSON", NULL, NULL, 0 },

	/* ---- Codex ---- */
	{ &oauth_codex, "codex full",
	  "{\"auth_mode\":\"chatgpt\",\"OPENAI_API_KEY\":null,\"tokens\":{\"id_token\":\"%2$s\","
	  "\"access_token\":\"%1$s\",\"refresh_token\":\"rt.SECRET\",\"account_id\":\"acct-file\"},"
	  "\"last_refresh\":\"2026-11-20T00:00:00Z\",\"agent_identity\":null}",
	  NULL, "account_id", "acct-file", 0 },
	{ &oauth_codex, "codex expiry from access JWT",
	  "{\"tokens\":{\"id_token\":\"%1$s\",\"access_token\":\"%1$s\",\"refresh_token\":\"rt.SECRET\"}}",
	  NULL, "expires_at", NULL, 1800864000 },
	{ &oauth_codex, "codex account from id_token claims",
	  "{\"tokens\":{\"id_token\":\"%1$s\",\"access_token\":\"opaque-SECRET\",\"refresh_token\":\"rt.SECRET\"}}",
	  NULL, "account_id", "acct-real", 0 },
	{ &oauth_codex, "codex email from claims",
	  "{\"tokens\":{\"id_token\":\"%1$s\",\"access_token\":\"opaque-SECRET\",\"refresh_token\":\"rt.SECRET\"}}",
	  NULL, "email", "dev@example.com", 0 },
	{ &oauth_codex, "codex minimal top-level",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"account_id\":\"acct-min\"}",
	  NULL, "account_id", "acct-min", 0 },
	{ &oauth_codex, "codex no account anywhere",
	  "{\"tokens\":{\"id_token\":\"%2$s\",\"access_token\":\"SECRETa\",\"refresh_token\":\"rt.SECRET\"}}",
	  ".tokens.account_id: missing", NULL, NULL, 0 },
	{ &oauth_codex, "codex api key login",
	  "{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"sk-SECRET\"}",
	  ".tokens: missing: this auth.json holds an API key", NULL, NULL, 0 },
	{ &oauth_codex, "codex no tokens", "{\"x\":1}", ".tokens: missing", NULL, NULL, 0 },
	{ &oauth_codex, "codex tokens not object", "{\"tokens\":[\"SECRET\"]}", ".tokens: must be an object", NULL, NULL, 0 },
	{ &oauth_codex, "codex id_token not a JWT",
	  "{\"tokens\":{\"id_token\":\"SECRET.only-two\",\"access_token\":\"SECRETa\",\"refresh_token\":\"rt.SECRET\",\"account_id\":\"a\"}}",
	  ".tokens.id_token: not a JWT", NULL, NULL, 0 },
	{ &oauth_codex, "codex no refresh",
	  "{\"tokens\":{\"access_token\":\"SECRETa\",\"account_id\":\"a\"}}",
	  ".tokens.refresh_token: missing", NULL, NULL, 0 },
	{ &oauth_codex, "codex no access",
	  "{\"tokens\":{\"refresh_token\":\"SECRETr\",\"account_id\":\"a\"}}",
	  ".tokens.access_token: missing", NULL, NULL, 0 },
	{ &oauth_codex, "codex apikey mode with tokens",
	  "{\"auth_mode\":\"apikey\",\"tokens\":{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"account_id\":\"a\"}}",
	  ".auth_mode: not a ChatGPT login", NULL, NULL, 0 },
	{ &oauth_codex, "codex account id with a space",
	  "{\"tokens\":{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"account_id\":\"a b\"}}",
	  ".tokens.account_id: holds characters", NULL, NULL, 0 },

	/* ---- GitHub Copilot (opencode auth.json) ---- */
	{ &oauth_github_copilot, "copilot gho",
	  "{\"anthropic\":{\"type\":\"oauth\",\"refresh\":\"SECRETx\",\"access\":\"SECRETy\",\"expires\":1},"
	  "\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"gho_SECRET\",\"access\":\"gho_SECRET\",\"expires\":0}}",
	  NULL, "access", "gho_SECRET", 0 },
	{ &oauth_github_copilot, "copilot gho never expires",
	  "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"gho_SECRET\",\"access\":\"gho_SECRET\",\"expires\":0}}",
	  NULL, "expires_at", NULL, 0 },
	{ &oauth_github_copilot, "copilot ghu with live session",
	  "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"ghu_SECRET\",\"access\":\"tid=SECRET\",\"expires\":1800001000000}}",
	  NULL, "expires_at", NULL, 1800001000 },
	{ &oauth_github_copilot, "copilot ghu token kept",
	  "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"ghu_SECRET\",\"access\":\"\",\"expires\":0}}",
	  NULL, "github_token", "ghu_SECRET", 0 },
	{ &oauth_github_copilot, "copilot enterprise",
	  "{\"github-copilot-enterprise\":{\"type\":\"oauth\",\"refresh\":\"gho_SECRET\",\"access\":\"gho_SECRET\",\"expires\":0,"
	  "\"enterpriseUrl\":\"https://GHE.Example.com/\"}}",
	  NULL, "api_host", "copilot-api.ghe.example.com", 0 },
	{ &oauth_github_copilot, "copilot default api host",
	  "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"gho_SECRET\"}}",
	  NULL, "api_host", "api.githubcopilot.com", 0 },
	{ &oauth_github_copilot, "copilot entry missing",
	  "{\"openai\":{\"type\":\"oauth\",\"refresh\":\"SECRET\"}}", ".github-copilot: missing", NULL, NULL, 0 },
	{ &oauth_github_copilot, "copilot wrong type",
	  "{\"github-copilot\":{\"type\":\"api\",\"key\":\"SECRET\"}}", ".github-copilot.type: must be \"oauth\"", NULL, NULL, 0 },
	{ &oauth_github_copilot, "copilot no refresh",
	  "{\"github-copilot\":{\"type\":\"oauth\",\"access\":\"gho_SECRET\"}}", ".github-copilot.refresh: missing", NULL, NULL, 0 },
	{ &oauth_github_copilot, "copilot expires string",
	  "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"gho_SECRET\",\"expires\":\"SECRET\"}}",
	  ".github-copilot.expires: must be a number", NULL, NULL, 0 },
	{ &oauth_github_copilot, "copilot bad enterprise url",
	  "{\"github-copilot\":{\"type\":\"oauth\",\"refresh\":\"gho_SECRET\",\"enterpriseUrl\":\"https://a b/\"}}",
	  ".github-copilot.enterpriseUrl: not a host name", NULL, NULL, 0 },

	/* ---- xAI ---- */
	{ &oauth_xai, "xai printed shape",
	  "{\"type\":\"oauth-xai\",\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"id_token\":\"%1$s\","
	  "\"token_type\":\"Bearer\",\"token_endpoint\":\"https://auth.x.ai/oauth2/token\","
	  "\"obtained_at\":\"2027-01-15T08:00:00Z\",\"expires_at\":\"2027-01-15T14:00:00Z\"}",
	  NULL, "expires_at", NULL, 1800021600 },
	{ &oauth_xai, "xai email from id_token",
	  "{\"type\":\"oauth-xai\",\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"id_token\":\"%1$s\"}",
	  NULL, "email", "dev@example.com", 0 },
	{ &oauth_xai, "xai expires_at seconds",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"expires_at\":1800000123}",
	  NULL, "expires_at", NULL, 1800000123 },
	{ &oauth_xai, "xai expiry from JWT",
	  "{\"access_token\":\"%1$s\",\"refresh_token\":\"SECRETr\"}", NULL, "expires_at", NULL, 1800864000 },
	{ &oauth_xai, "xai expiry from obtained_at + expires_in",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"obtained_at\":\"2027-01-15T08:00:00Z\",\"expires_in\":21600}",
	  NULL, "expires_at", NULL, 1800021600 },
	{ &oauth_xai, "xai default endpoint",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\"}", NULL, "token_endpoint",
	  "https://auth.x.ai/oauth2/token", 0 },
	{ &oauth_xai, "xai opencode entry",
	  "{\"xai\":{\"type\":\"oauth\",\"refresh\":\"SECRETr\",\"access\":\"SECRETa\",\"expires\":1800000500000}}",
	  NULL, "expires_at", NULL, 1800000500 },
	{ &oauth_xai, "xai endpoint elsewhere",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"token_endpoint\":\"https://evil.example/oauth2/token\"}",
	  ".token_endpoint: must be an https URL on x.ai", NULL, NULL, 0 },
	{ &oauth_xai, "xai endpoint lookalike",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"token_endpoint\":\"https://evilx.ai/t\"}",
	  ".token_endpoint: must be an https URL on x.ai", NULL, NULL, 0 },
	{ &oauth_xai, "xai endpoint userinfo",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"token_endpoint\":\"https://auth.x.ai@evil.example/t\"}",
	  ".token_endpoint: must be an https URL on x.ai", NULL, NULL, 0 },
	{ &oauth_xai, "xai endpoint plain http",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"token_endpoint\":\"http://auth.x.ai/oauth2/token\"}",
	  ".token_endpoint: must be an https URL on x.ai", NULL, NULL, 0 },
	{ &oauth_xai, "xai wrong type",
	  "{\"type\":\"oauth-claude\",\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\"}",
	  ".type: must be \"oauth-xai\"", NULL, NULL, 0 },
	{ &oauth_xai, "xai no refresh", "{\"access_token\":\"SECRETa\"}", ".refresh_token: missing", NULL, NULL, 0 },
	{ &oauth_xai, "xai bad expires_at",
	  "{\"access_token\":\"SECRETa\",\"refresh_token\":\"SECRETr\",\"expires_at\":\"SECRET\"}",
	  ".expires_at: not an RFC 3339 time", NULL, NULL, 0 },
	{ &oauth_xai, "xai opencode entry without access",
	  "{\"xai\":{\"type\":\"oauth\",\"refresh\":\"SECRETr\"}}", ".xai.access: missing", NULL, NULL, 0 },
};

int main(void)
{
	char *with = jwt("acct-real", "dev@example.com", NOW + 864000);
	char *without = jwt(NULL, NULL, NOW + 864000);

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		char *file, err[256] = "";
		json_t *cred = NULL;
		file = fill(r->file, with, without);
		int ret = oauth_adopt(r->p, file, strlen(file), NOW, &cred, err, sizeof err);
		if (r->want_err) {
			CHECK(ret < 0 && !cred, "%s: accepted", r->name);
			CHECK(strstr(err, r->want_err) != NULL, "%s: err \"%s\" lacks \"%s\"", r->name,
			      err, r->want_err);
			CHECK(!strstr(err, "SECRET"), "%s: err quotes a value: %s", r->name, err);
		} else {
			CHECK(ret == 0 && cred, "%s: refused: %s", r->name, err);
			if (cred) {
				CHECK_STR(json_str(cred, "type", NULL), r->p->type, r->name);
				if (r->want_val)
					CHECK_STR(json_str(cred, r->key, NULL), r->want_val, r->name);
				else
					CHECK(json_int(cred, r->key, -1) == r->want_int,
					      "%s: %s = %lld want %lld", r->name, r->key,
					      json_int(cred, r->key, -1), r->want_int);
				/* the sealed form loads back */
				char *dump = oauth_cred_dump(cred);
				json_t *back = NULL;
				CHECK(oauth_cred_load(dump, strlen(dump), &back) == 0, "%s: reload",
				      r->name);
				CHECK(json_equal(back, cred), "%s: reload differs", r->name);
				json_decref(back);
				free(dump);
			}
		}
		json_decref(cred);
		free(file);
	}

	/* over the file cap */
	{
		size_t n = AL_CRED_FILE_MAX + 1;
		char *big = xmalloc(n);
		memset(big, ' ', n);
		char err[256];
		json_t *c = NULL;
		CHECK(oauth_adopt(&oauth_claude, big, n, NOW, &c, err, sizeof err) == AL_ETOOBIG,
		      "cap+1 refused");
		free(big);
	}
	/* a sealed value of another shape does not load as a credential */
	{
		json_t *c = NULL;
		CHECK(oauth_cred_load("{\"v\":1,\"type\":\"bearer\"}", 24, &c) < 0, "not oauth");
		CHECK(oauth_cred_load("{\"v\":2,\"type\":\"oauth-xai\"}", 26, &c) < 0, "v2");
	}
	CHECK(oauth_provider_find("oauth-codex") == &oauth_codex, "find codex");
	CHECK(oauth_provider_find("bearer") == NULL, "bearer is not oauth");
	free(with);
	free(without);
	return unit_finish("test-oauth-adopt");
}
