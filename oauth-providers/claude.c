/* oauth-claude: Claude Code's ~/.claude/.credentials.json (docs/oauth.md).
 * expiresAt is in milliseconds; refresh is a JSON
 * POST to platform.claude.com whose refresh tokens are single-use; OAuth
 * requests need Bearer, no x-api-key, and oauth-2025-04-20 in anthropic-beta. */
#include "config.h"

#include <string.h>

#include "common/jsonutil.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

#define CLAUDE_CLIENT_ID "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
#define CLAUDE_TOKEN_URL "https://platform.claude.com/v1/oauth/token"
#define CLAUDE_OAUTH_BETA "oauth-2025-04-20"
#define CLAUDE_INFERENCE_SCOPE "user:inference"
/* What Claude Code 2.1.x asks for on refresh (as observed). */
#define CLAUDE_SCOPES \
	"user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload"
/* Access tokens live ~8 h; used when an answer carries no expires_in. */
#define CLAUDE_DEFAULT_LIFETIME (8 * 3600)

static const struct oauth_endpoint claude_endpoints[] = {
	{ "platform.claude.com", "/v1/oauth/token", "POST" },
	{ "console.anthropic.com", "/v1/oauth/token", "POST" },
	{ NULL, NULL, NULL },
};

/* ms epoch, but a seconds value (some tools write one) is read as such.
 * A value that is neither (1e8 or less: before 1973 as seconds, the
 * second day of 1970 as ms) is no expiry we know: 0, refresh at once.
 * Written back as ms it would have read as seconds, centuries later. */
static int64_t ms_to_s(int64_t v)
{
	if (v > 100000000000LL)
		return v / 1000;
	return v > 100000000LL ? v : 0;
}

static bool has_scope(const json_t *scopes, const char *want)
{
	size_t i;
	json_t *v;
	json_array_foreach(scopes, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	return false;
}

static int claude_adopt(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
			size_t errlen)
{
	json_t *root = NULL, *o, *scopes, *c = NULL;
	const char *path = ".claudeAiOauth", *access, *refresh, *s;
	int64_t exp, rexp;
	bool has_exp, has_rexp;
	int ret;

	if ((ret = oa_parse_object(buf, len, AL_CRED_FILE_MAX, &root, err, errlen)) < 0)
		return ret;
	ret = AL_EINVAL;
	o = json_object_get(root, "claudeAiOauth");
	if (!o && json_object_get(root, "accessToken")) {
		o = root;   /* the minimal shape: the object's fields at the top */
		path = "";
	}
	if (!o) {
		oa_err(err, errlen, ".claudeAiOauth: missing (is this Claude Code's .credentials.json?)");
		goto out;
	}
	if (!json_is_object(o)) {
		oa_err(err, errlen, ".claudeAiOauth: must be an object");
		goto out;
	}
	if (oa_string(o, path, "accessToken", OA_REQUIRED | OA_HEADER, &access, err, errlen) < 0 ||
	    oa_string(o, path, "refreshToken", OA_REQUIRED | OA_HEADER, &refresh, err, errlen) < 0 ||
	    oa_int(o, path, "expiresAt", &exp, &has_exp, err, errlen) < 0 ||
	    oa_int(o, path, "refreshTokenExpiresAt", &rexp, &has_rexp, err, errlen) < 0)
		goto out;
	scopes = json_object_get(o, "scopes");
	if (scopes) {
		size_t i;
		json_t *v;
		if (!json_is_array(scopes)) {
			oa_err(err, errlen, "%s.scopes: must be an array of strings", path);
			goto out;
		}
		json_array_foreach(scopes, i, v) {
			if (!json_is_string(v)) {
				oa_err(err, errlen, "%s.scopes[%zu]: must be a string", path, i);
				goto out;
			}
		}
		/* without it Claude Code itself refuses the login
		 * (oauth_no_inference_scope): a setup or profile-only token */
		if (!has_scope(scopes, CLAUDE_INFERENCE_SCOPE)) {
			oa_err(err, errlen, "%s.scopes: lacks " CLAUDE_INFERENCE_SCOPE
				" (this login cannot call the API)", path);
			goto out;
		}
	}
	c = oa_cred_new(&oauth_claude);
	json_object_set_new(c, "access", json_string(access));
	json_object_set_new(c, "refresh", json_string(refresh));
	json_object_set_new(c, "expires_at", json_integer(has_exp && exp > 0 ? ms_to_s(exp) : 0));
	if (has_rexp && ms_to_s(rexp) > 0)
		json_object_set_new(c, "refresh_expires_at", json_integer(ms_to_s(rexp)));
	json_object_set_new(c, "scopes", scopes ? json_deep_copy(scopes)
					: oa_scopes_from_string(CLAUDE_SCOPES));
	json_t *extra = json_object();
	static const char *const keep[] = { "subscriptionType", "rateLimitTier", "clientId" };
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		if (oa_string(o, path, keep[i], 0, &s, err, errlen) < 0) {
			json_decref(extra);
			goto out;
		}
		if (s)
			json_object_set_new(extra, keep[i], json_string(s));
	}
	json_object_set_new(c, "extra", extra);
	*cred = c;
	c = NULL;
	ret = 0;
out:
	oauth_json_free(c);
	oauth_json_free(root);
	return ret;
}

static int claude_refresh_request(const json_t *cred, struct oauth_http_req *req)
{
	const char *refresh = json_str(cred, "refresh", NULL);
	if (!refresh)
		return AL_ESTATE;
	json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "refresh_token",
				 "refresh_token", refresh, "client_id", CLAUDE_CLIENT_ID, "scope",
				 CLAUDE_SCOPES);
	oa_req_json(req, CLAUDE_TOKEN_URL, body);
	/* what Claude Code sends (observed); Cloudflare fronts the endpoint */
	oa_req_header(req, "User-Agent: axios/1.15.2");
	return 0;
}

static int claude_refresh_parse(const json_t *cred, const struct oauth_http_resp *resp,
				int64_t now, json_t **next, struct oauth_result *res)
{
	json_t *body;
	int ret;

	*next = NULL;
	if ((ret = oa_classify(resp, &body, res)) < 0 || res->outcome != OAUTH_OK)
		return ret;
	ret = oa_standard_tokens(cred, body, now, CLAUDE_DEFAULT_LIFETIME, next, res);
	if (ret == 0 && *next) {
		json_t *acct = json_object_get(body, "account");
		json_t *org = json_object_get(body, "organization");
		const char *v;
		if ((v = json_str(acct, "uuid", NULL)))
			json_object_set_new(*next, "account_id", json_string(v));
		if ((v = json_str(acct, "email_address", NULL)))
			json_object_set_new(*next, "email", json_string(v));
		if ((v = json_str(org, "uuid", NULL)))
			json_object_set_new(*next, "org_id", json_string(v));
		if ((v = json_str(org, "name", NULL)))
			json_object_set_new(*next, "org_name", json_string(v));
		/* the new refresh token's own lifetime is not in the answer */
		json_object_del(*next, "refresh_expires_at");
		/* a refresh may narrow the scopes; keep inference or say why */
		if (!has_scope(json_object_get(*next, "scopes"), CLAUDE_INFERENCE_SCOPE))
			json_array_append_new(json_object_get(*next, "scopes"),
					      json_string(CLAUDE_INFERENCE_SCOPE));
	}
	oauth_json_free(body);
	return ret;
}

static int claude_headers(const json_t *cred, const char *host, json_t *headers, json_t *strip,
			  json_t *merge)
{
	const char *access = json_str(cred, "access", NULL);
	if (!access)
		return AL_ESTATE;
	oa_add_bearer(headers, access);
	json_array_append_new(strip, json_string("x-api-key"));
	json_array_append_new(merge, json_pack("[s,s]", "anthropic-beta", CLAUDE_OAUTH_BETA));
	return 0;
}

static json_t *stub_scopes(const json_t *cred)
{
	json_t *s = json_object_get(cred, "scopes");
	json_t *out = json_is_array(s) && json_array_size(s) ? json_deep_copy(s)
							      : oa_scopes_from_string(CLAUDE_SCOPES);
	if (!has_scope(out, CLAUDE_INFERENCE_SCOPE))
		json_array_append_new(out, json_string(CLAUDE_INFERENCE_SCOPE));
	return out;
}

static int claude_stub(const json_t *cred, int64_t now, json_t **file)
{
	char *at = oa_placeholder("sk-ant-oat01-" "airlock-placeholder-", 43);
	char *rt = oa_placeholder("sk-ant-ort01-" "airlock-placeholder-", 43);
	json_t *o = json_pack("{s:s, s:s, s:I, s:o}", "accessToken", at, "refreshToken", rt,
			      "expiresAt", (json_int_t)OAUTH_STUB_EXPIRES_MS, "scopes",
			      stub_scopes(cred));
	json_t *extra = json_object_get(cred, "extra");
	const char *v;
	if ((v = json_str(extra, "subscriptionType", NULL)))
		json_object_set_new(o, "subscriptionType", json_string(v));
	if ((v = json_str(extra, "rateLimitTier", NULL)))
		json_object_set_new(o, "rateLimitTier", json_string(v));
	*file = json_pack("{s:o}", "claudeAiOauth", o);
	free(at);
	free(rt);
	return 0;
}

static int claude_shim(const json_t *cred, const struct oauth_endpoint *ep, int64_t now,
		       json_t **answer)
{
	char *at = oa_placeholder("sk-ant-oat01-" "airlock-placeholder-", 43);
	char *rt = oa_placeholder("sk-ant-ort01-" "airlock-placeholder-", 43);
	json_t *sc = stub_scopes(cred);
	char *scope = oa_scopes_to_string(sc);
	json_t *a = json_pack("{s:s, s:s, s:s, s:I, s:s}", "token_type", "Bearer", "access_token",
			      at, "refresh_token", rt, "expires_in",
			      (json_int_t)(OAUTH_STUB_EXPIRES_S - now), "scope", scope);
	const char *acct = json_str(cred, "account_id", NULL), *email = json_str(cred, "email", NULL);
	if (acct)
		json_object_set_new(a, "account",
				    json_pack("{s:s, s:s?}", "uuid", acct, "email_address", email));
	const char *org = json_str(cred, "org_id", NULL), *oname = json_str(cred, "org_name", NULL);
	if (org)
		json_object_set_new(a, "organization",
				    json_pack("{s:s, s:s?}", "uuid", org, "name", oname));
	*answer = a;
	json_decref(sc);
	free(scope);
	free(at);
	free(rt);
	return 0;
}

static int claude_write_back(const json_t *cred, json_t *vendor, int64_t now)
{
	json_t *o = json_object_get(vendor, "claudeAiOauth");
	if (!o && json_object_get(vendor, "accessToken"))
		o = vendor;
	if (!o || !json_is_object(o)) {
		o = json_object();
		json_object_set_new(vendor, "claudeAiOauth", o);
	}
	json_object_set_new(o, "accessToken", json_string(json_str(cred, "access", "")));
	json_object_set_new(o, "refreshToken", json_string(json_str(cred, "refresh", "")));
	json_object_set_new(o, "expiresAt", json_integer(json_int(cred, "expires_at", 0) * 1000));
	json_t *sc = json_object_get(cred, "scopes");
	if (json_is_array(sc))
		json_object_set_new(o, "scopes", json_deep_copy(sc));
	return 0;
}

const struct oauth_provider oauth_claude = {
	.type = "oauth-claude",
	.vendor_file = "~/.claude/.credentials.json",
	.default_host = "api.anthropic.com",
	.lead_seconds = 10 * 60,
	.token_endpoints = claude_endpoints,
	.adopt = claude_adopt,
	.refresh_request = claude_refresh_request,
	.refresh_parse = claude_refresh_parse,
	.headers = claude_headers,
	.stub = claude_stub,
	.shim = claude_shim,
	.write_back = claude_write_back,
};
