/* oauth-codex: Codex's ~/.codex/auth.json with a ChatGPT login
 * (docs/oauth.md). id_token and access_token are
 * JWTs (exp in seconds); refresh is a JSON POST to auth.openai.com with
 * single-use refresh tokens. The account id is identity, not a secret: the
 * sandbox's placeholder must carry the real one or Codex's workspace
 * routing fails, and the broker overwrites ChatGPT-Account-ID with it. */
#include "config.h"

#include <string.h>

#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

#define CODEX_CLIENT_ID "app_EMoamEEZ73f0CkXaXp7hrann"
#define CODEX_TOKEN_URL "https://auth.openai.com/oauth/token"
#define CODEX_AUTH_CLAIM "https://api.openai.com/auth"
#define CODEX_PROFILE_CLAIM "https://api.openai.com/profile"
/* Codex treats a login as stale after 8 days when exp is unknown. */
#define CODEX_DEFAULT_LIFETIME (8 * 24 * 3600)

static const struct oauth_endpoint codex_endpoints[] = {
	{ "auth.openai.com", "/oauth/token", "POST" },
	{ NULL, NULL, NULL },
};

/* Identity claims of an id_token (or access token) into cred. */
static void take_claims(json_t *cred, const char *jwt)
{
	json_t *c = oa_jwt_claims(jwt);
	if (!c)
		return;
	json_t *auth = json_object_get(c, CODEX_AUTH_CLAIM);
	json_t *prof = json_object_get(c, CODEX_PROFILE_CLAIM);
	const char *v;
	if ((v = json_str(auth, "chatgpt_account_id", NULL)) && oa_header_safe(v))
		json_object_set_new(cred, "account_id", json_string(v));
	if ((v = json_str(auth, "chatgpt_plan_type", NULL)))
		json_object_set_new(cred, "plan", json_string(v));
	if ((v = json_str(auth, "chatgpt_user_id", NULL)) || (v = json_str(auth, "user_id", NULL)))
		json_object_set_new(cred, "user_id", json_string(v));
	if ((v = json_str(c, "email", NULL)) || (v = json_str(prof, "email", NULL)))
		json_object_set_new(cred, "email", json_string(v));
	oauth_json_free(c);
}

static int codex_adopt(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
		       size_t errlen)
{
	json_t *root = NULL, *t, *c = NULL;
	const char *path = ".tokens", *access, *refresh, *idt, *acct, *mode;
	int ret;

	if ((ret = oa_parse_object(buf, len, AL_CRED_FILE_MAX, &root, err, errlen)) < 0)
		return ret;
	ret = AL_EINVAL;
	t = json_object_get(root, "tokens");
	if ((!t || json_is_null(t)) && json_object_get(root, "access_token")) {
		t = root;   /* the minimal shape: access_token, refresh_token, account_id */
		path = "";
	}
	if (!t || json_is_null(t)) {
		if (json_is_string(json_object_get(root, "OPENAI_API_KEY")))
			oa_err(err, errlen, ".tokens: missing: this auth.json holds an API key, not a "
				"ChatGPT login (store the key as a bearer secret)");
		else
			oa_err(err, errlen, ".tokens: missing (is this Codex's auth.json?)");
		goto out;
	}
	if (!json_is_object(t)) {
		oa_err(err, errlen, ".tokens: must be an object");
		goto out;
	}
	if (oa_string(root, "", "auth_mode", 0, &mode, err, errlen) < 0)
		goto out;
	if (mode && strcmp(mode, "chatgpt") != 0 && strcmp(mode, "chatgptAuthTokens") != 0) {
		oa_err(err, errlen, ".auth_mode: not a ChatGPT login");
		goto out;
	}
	if (oa_string(t, path, "access_token", OA_REQUIRED | OA_HEADER, &access, err, errlen) < 0 ||
	    oa_string(t, path, "refresh_token", OA_REQUIRED | OA_HEADER, &refresh, err, errlen) < 0 ||
	    oa_string(t, path, "id_token", 0, &idt, err, errlen) < 0 ||
	    oa_string(t, path, "account_id", OA_HEADER, &acct, err, errlen) < 0)
		goto out;
	json_t *claims = idt ? oa_jwt_claims(idt) : NULL;
	if (idt && !claims) {
		/* Codex itself refuses such a file */
		oa_err(err, errlen, "%s.id_token: not a JWT (three base64url parts, JSON payload)",
		       path);
		goto out;
	}
	oauth_json_free(claims);
	c = oa_cred_new(&oauth_codex);
	json_object_set_new(c, "access", json_string(access));
	json_object_set_new(c, "refresh", json_string(refresh));
	take_claims(c, access);
	if (idt) {
		json_object_set_new(c, "id_token", json_string(idt));
		take_claims(c, idt);
	}
	if (acct)   /* the file's own account_id wins over claims, as in Codex */
		json_object_set_new(c, "account_id", json_string(acct));
	if (!json_str(c, "account_id", NULL)) {
		oa_err(err, errlen, "%s.account_id: missing (and no chatgpt_account_id claim in "
			"the id_token)", path);
		goto out;
	}
	json_object_set_new(c, "expires_at", json_integer(oa_jwt_exp(access)));
	json_object_set_new(c, "extra", json_pack("{s:s}", "auth_mode", mode ? mode : "chatgpt"));
	*cred = c;
	c = NULL;
	ret = 0;
out:
	oauth_json_free(c);
	oauth_json_free(root);
	return ret;
}

static int codex_refresh_request(const json_t *cred, struct oauth_http_req *req)
{
	const char *refresh = json_str(cred, "refresh", NULL);
	if (!refresh)
		return AL_ESTATE;
	json_t *body = json_pack("{s:s, s:s, s:s}", "client_id", CODEX_CLIENT_ID, "grant_type",
				 "refresh_token", "refresh_token", refresh);
	oa_req_json(req, CODEX_TOKEN_URL, body);
	oa_req_header(req, "User-Agent: airlock-broker (codex_cli_rs compatible)");
	return 0;
}

static int codex_refresh_parse(const json_t *cred, const struct oauth_http_resp *resp,
			       int64_t now, json_t **next, struct oauth_result *res)
{
	json_t *body;
	int ret;

	*next = NULL;
	if ((ret = oa_classify(resp, &body, res)) < 0 || res->outcome != OAUTH_OK)
		return ret;
	ret = oa_standard_tokens(cred, body, now, CODEX_DEFAULT_LIFETIME, next, res);
	if (ret == 0 && *next) {
		const char *acct = json_str(cred, "account_id", NULL);
		const char *idt = json_str(body, "id_token", NULL);
		if (idt)
			take_claims(*next, idt);
		/* the account is the login's identity: a refresh never moves it */
		if (acct)
			json_object_set_new(*next, "account_id", json_string(acct));
	}
	oauth_json_free(body);
	return ret;
}

static int codex_headers(const json_t *cred, const char *host, json_t *headers, json_t *strip,
			 json_t *merge)
{
	const char *access = json_str(cred, "access", NULL);
	const char *acct = json_str(cred, "account_id", NULL);
	if (!access || !acct)
		return AL_ESTATE;
	oa_add_bearer(headers, access);
	json_array_append_new(strip, json_string("ChatGPT-Account-ID"));
	oa_add_header(headers, "ChatGPT-Account-ID", acct);
	return 0;
}

/* The claims Codex reads, with the real identity. */
static json_t *auth_claims(const json_t *cred)
{
	const char *acct = json_str(cred, "account_id", "");
	const char *user = json_str(cred, "user_id", NULL);
	json_t *a = json_pack("{s:s, s:s}", "chatgpt_account_id", acct, "chatgpt_plan_type",
			      json_str(cred, "plan", "plus"));
	if (user) {
		json_object_set_new(a, "chatgpt_user_id", json_string(user));
		json_object_set_new(a, "user_id", json_string(user));
	}
	return a;
}

static void make_tokens(const json_t *cred, int64_t now, char **idt, char **at, char **rt)
{
	json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid",
				"airlock-placeholder");
	const char *email = json_str(cred, "email", NULL);
	const char *sub = json_str(cred, "user_id", "airlock-placeholder");
	json_t *idc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "iss", "https://auth.openai.com",
				"aud", CODEX_CLIENT_ID, "sub", sub, "iat", (json_int_t)now, "exp",
				(json_int_t)OAUTH_STUB_EXPIRES_S, CODEX_AUTH_CLAIM,
				auth_claims(cred));
	json_t *atc = json_pack("{s:s, s:[s], s:s, s:s, s:I, s:I, s:o}", "iss",
				"https://auth.openai.com", "aud", "https://api.openai.com/v1",
				"client_id", CODEX_CLIENT_ID, "sub", sub, "iat", (json_int_t)now,
				"exp", (json_int_t)OAUTH_STUB_EXPIRES_S, CODEX_AUTH_CLAIM,
				auth_claims(cred));
	if (email) {
		json_object_set_new(idc, "email", json_string(email));
		json_object_set_new(idc, "email_verified", json_true());
		json_object_set_new(atc, CODEX_PROFILE_CLAIM,
				    json_pack("{s:s, s:b}", "email", email, "email_verified", 1));
	}
	*idt = oa_jwt_make(hdr, idc);
	*at = oa_jwt_make(hdr, atc);
	*rt = oa_placeholder("rt.airlock-placeholder.", 43);
	json_decref(hdr);
	json_decref(idc);
	json_decref(atc);
}

static int codex_stub(const json_t *cred, int64_t now, json_t **file)
{
	char *idt, *at, *rt;
	char ts[AL_TIME_STR_MAX];

	make_tokens(cred, now, &idt, &at, &rt);
	time_format(now, ts);
	*file = json_pack("{s:s, s:n, s:{s:s, s:s, s:s, s:s}, s:s}", "auth_mode", "chatgpt",
			  "OPENAI_API_KEY", "tokens", "id_token", idt, "access_token", at,
			  "refresh_token", rt, "account_id", json_str(cred, "account_id", ""),
			  "last_refresh", ts);
	free(idt);
	free(at);
	free(rt);
	return 0;
}

static int codex_shim(const json_t *cred, const struct oauth_endpoint *ep, int64_t now,
		      json_t **answer)
{
	char *idt, *at, *rt;
	make_tokens(cred, now, &idt, &at, &rt);
	*answer = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id_token", idt, "access_token", at,
			    "refresh_token", rt, "token_type", "Bearer", "expires_in",
			    (json_int_t)(OAUTH_STUB_EXPIRES_S - now));
	free(idt);
	free(at);
	free(rt);
	return 0;
}

static int codex_write_back(const json_t *cred, json_t *vendor, int64_t now)
{
	char ts[AL_TIME_STR_MAX];
	json_t *t = json_object_get(vendor, "tokens");
	if (!json_is_object(t)) {
		if (json_object_get(vendor, "access_token")) {
			t = vendor;
		} else {
			t = json_object();
			json_object_set_new(vendor, "tokens", t);
		}
	}
	json_object_set_new(t, "access_token", json_string(json_str(cred, "access", "")));
	json_object_set_new(t, "refresh_token", json_string(json_str(cred, "refresh", "")));
	if (json_str(cred, "id_token", NULL))
		json_object_set_new(t, "id_token", json_string(json_str(cred, "id_token", "")));
	json_object_set_new(t, "account_id", json_string(json_str(cred, "account_id", "")));
	if (t != vendor) {
		time_format(now, ts);
		json_object_set_new(vendor, "last_refresh", json_string(ts));
	}
	return 0;
}

const struct oauth_provider oauth_codex = {
	.type = "oauth-codex",
	.vendor_file = "~/.codex/auth.json",
	.default_host = "chatgpt.com",
	.lead_seconds = 30 * 60,
	.token_endpoints = codex_endpoints,
	.adopt = codex_adopt,
	.refresh_request = codex_refresh_request,
	.refresh_parse = codex_refresh_parse,
	.headers = codex_headers,
	.stub = codex_stub,
	.shim = codex_shim,
	.write_back = codex_write_back,
};
