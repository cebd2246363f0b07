/* github-app-user: a GitHub App's user-to-server token (ghu_…), as GitHub's
 * token endpoint answered it (access_token, refresh_token, expires_in,
 * refresh_token_expires_in), with the App's client_id and client_secret
 * that a refresh needs. Refresh is a form POST to
 * github.com/login/oauth/access_token (grant_type=refresh_token); the
 * refresh token (ghr_…) is single-use and rotates, so it is adopted like
 * the coding-plan logins: one login, one secret, the rotation committed
 * before use. A token without a refresh token (the App opted out of
 * expiring tokens) is injected as it is. GitHub answers a refused refresh
 * with 200 and {"error": "bad_refresh_token"}: that is permanent too.
 * Injected like github-app (mint.c, oa_github_headers). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

#define GHU_TOKEN_URL "https://" OA_GITHUB_GIT_HOST "/login/oauth/access_token"
/* GitHub's user tokens live 8 hours, their refresh tokens 6 months. */
#define GHU_DEFAULT_LIFETIME (8 * 3600)
#define GHU_REFRESH_LIFETIME (184 * 86400)

static const struct oauth_endpoint ghu_endpoints[] = {
	{ OA_GITHUB_GIT_HOST, "/login/oauth/access_token", "POST" },
	{ NULL, NULL, NULL },
};

static const char *const ghu_fields[] = {
	"type", "access_token", "refresh_token", "expires_at", "expires_in",
	"refresh_token_expires_at", "refresh_token_expires_in", "client_id", "client_secret",
	"token_type", "scope", NULL,
};

/* key as an RFC 3339 time or unix seconds (or ms); else now + key_in seconds. */
static int ghu_expiry(const json_t *root, const char *key, const char *key_in, int64_t now,
		      int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);
	int64_t in;
	bool has;

	*out = 0;
	if (json_is_string(v)) {
		if (time_parse(json_string_value(v), out) < 0) {
			oa_err(err, errlen, ".%s: not an RFC 3339 time", key);
			return AL_EINVAL;
		}
		return 0;
	}
	if (oa_int(root, "", key, out, &has, err, errlen) < 0)
		return AL_EINVAL;
	if (has && *out > 100000000000LL)   /* milliseconds */
		*out /= 1000;
	if (has)
		return 0;
	if (oa_int(root, "", key_in, &in, &has, err, errlen) < 0)
		return AL_EINVAL;
	if (has && in > 0)
		*out = now + in;
	return 0;
}

static int ghu_adopt(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
		     size_t errlen)
{
	json_t *root = NULL, *c = NULL;
	const char *type, *access, *refresh, *id, *secret, *tt, *scope;
	int64_t exp, rexp;
	int ret;

	if ((ret = oa_parse_value(buf, len, &root, err, errlen)) < 0)
		return ret;
	ret = AL_EINVAL;
	if (oa_fields_known(root, ghu_fields, err, errlen) < 0 ||
	    oa_string(root, "", "type", 0, &type, err, errlen) < 0 ||
	    oa_string(root, "", "access_token", OA_REQUIRED | OA_HEADER, &access, err, errlen) < 0 ||
	    oa_string(root, "", "refresh_token", OA_HEADER, &refresh, err, errlen) < 0 ||
	    oa_string(root, "", "client_id", OA_HEADER, &id, err, errlen) < 0 ||
	    oa_string(root, "", "client_secret", OA_HEADER, &secret, err, errlen) < 0 ||
	    oa_string(root, "", "token_type", 0, &tt, err, errlen) < 0 ||
	    oa_string(root, "", "scope", 0, &scope, err, errlen) < 0 ||
	    ghu_expiry(root, "expires_at", "expires_in", now, &exp, err, errlen) < 0 ||
	    ghu_expiry(root, "refresh_token_expires_at", "refresh_token_expires_in", now, &rexp, err,
		       errlen) < 0)
		goto out;
	if (type && strcmp(type, "github-app-user") != 0) {
		oa_err(err, errlen, ".type: must be \"github-app-user\"");
		goto out;
	}
	if (tt && strcasecmp(tt, "bearer") != 0) {
		oa_err(err, errlen, ".token_type: must be \"bearer\"");
		goto out;
	}
	if (refresh && (!id || !secret)) {
		oa_err(err, errlen, ".%s: missing (a refresh needs the App's client_id and "
			"client_secret)", id ? "client_secret" : "client_id");
		goto out;
	}
	c = oa_cred_new(&oauth_github_app_user);
	json_object_set_new(c, "access", json_string(access));
	if (refresh)
		json_object_set_new(c, "refresh", json_string(refresh));
	if (id)
		json_object_set_new(c, "client_id", json_string(id));
	if (secret)
		json_object_set_new(c, "client_secret", json_string(secret));
	if (scope)
		json_object_set_new(c, "scopes", oa_scopes_from_string(scope));
	/* 0 with a refresh token: refresh at once to learn the expiry */
	json_object_set_new(c, "expires_at", json_integer(exp));
	if (rexp)
		json_object_set_new(c, "refresh_expires_at", json_integer(rexp));
	*cred = c;
	c = NULL;
	ret = 0;
out:
	oauth_json_free(c);
	oauth_json_free(root);
	return ret;
}

static int ghu_refresh_request(const json_t *cred, struct oauth_http_req *req)
{
	const char *refresh = json_str(cred, "refresh", NULL);
	if (!refresh)
		return AL_ESTATE;
	const char *kv[] = {
		"client_id", json_str(cred, "client_id", ""),
		"client_secret", json_str(cred, "client_secret", ""),
		"grant_type", "refresh_token",
		"refresh_token", refresh,
		NULL, NULL,
	};
	oa_req_form(req, GHU_TOKEN_URL, oa_form(kv));
	oa_req_header(req, "User-Agent: airlock");
	return 0;
}

static int ghu_refresh_parse(const json_t *cred, const struct oauth_http_resp *resp, int64_t now,
			     json_t **next, struct oauth_result *res)
{
	json_t *body = NULL;
	int64_t rin;
	bool has;
	char err[160];

	*next = NULL;
	(void)!oa_classify(resp, &body, res);
	if (res->outcome != OAUTH_OK)
		return 0;
	/* GitHub's OAuth endpoint answers its errors with 200 */
	const char *code = json_str(body, "error", NULL);
	if (code) {
		bool known = strcmp(code, "bad_refresh_token") == 0 ||
			     strcmp(code, "incorrect_client_credentials") == 0 ||
			     strcmp(code, "unverified_user_email") == 0;
		res->outcome = known ? OAUTH_PERMANENT : OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "%s",
			 known ? code : "http-200: an error this provider does not know");
		goto out;
	}
	if (oa_standard_tokens(cred, body, now, GHU_DEFAULT_LIFETIME, next, res) < 0 ||
	    res->outcome != OAUTH_OK)
		goto out;
	if (oa_int(body, "answer", "refresh_token_expires_in", &rin, &has, err, sizeof err) == 0 &&
	    has && rin > 0)
		json_object_set_new(*next, "refresh_expires_at", json_integer(now + rin));
out:
	oauth_json_free(body);
	return 0;
}

static int ghu_headers(const json_t *cred, const char *host, json_t *headers, json_t *strip,
		       json_t *merge)
{
	const char *access = json_str(cred, "access", NULL);
	if (!access)
		return AL_ESTATE;
	oa_github_headers(access, host, headers);
	return 0;
}

/* The sandbox holds no refresh token; a tool there that posts one anyway
 * gets placeholders, never a request upstream. */
static int ghu_shim(const json_t *cred, const struct oauth_endpoint *ep, int64_t now,
		    json_t **answer)
{
	char *at = oa_placeholder("ghu_", 36), *rt = oa_placeholder("ghr_", 76);
	*answer = json_pack("{s:s, s:i, s:s, s:i, s:s, s:s}", "access_token", at, "expires_in",
			    GHU_DEFAULT_LIFETIME, "refresh_token", rt, "refresh_token_expires_in",
			    GHU_REFRESH_LIFETIME, "scope", "", "token_type", "bearer");
	free(at);
	free(rt);
	return 0;
}

const struct oauth_provider oauth_github_app_user = {
	.type = "github-app-user",
	.vendor_file = "the GitHub App user token (access_token, refresh_token)",
	.default_host = OA_GITHUB_GIT_HOST,
	.lead_seconds = 10 * 60,
	.token_endpoints = ghu_endpoints,
	.adopt = ghu_adopt,
	.refresh_request = ghu_refresh_request,
	.refresh_parse = ghu_refresh_parse,
	.headers = ghu_headers,
	.shim = ghu_shim,
};
