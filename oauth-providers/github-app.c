/* github-app: a GitHub App's installation access tokens, minted by the
 * broker. The value names the App (app_id: its numeric id or client id),
 * its private key (private_key_file: a PEM that stays on the host and is
 * read at each signature; or private_key: the PEM inline, sealed with the
 * rest) and optionally the installation. Each mint signs a JWT (RS256;
 * iat 60 s in the past for clock drift, exp 9 minutes ahead, under GitHub's
 * 10-minute cap; iss the app id) and POSTs
 * api.github.com/app/installations/{id}/access_tokens. Without an
 * installation id, the first refresh asks GET /app/installations and keeps
 * the one installation there is, or refuses (none, or several: the value
 * must then say which). Tokens live an hour; a new one is minted 5 minutes
 * before expires_at. Injected as Git's Basic auth on github.com and as
 * Bearer on api.github.com (mint.c, oa_github_headers). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

#define GH_API_URL "https://" OA_GITHUB_API_HOST
/* GitHub refuses a JWT whose exp is more than 10 minutes ahead; iat in the
 * past covers a GitHub clock a little behind ours. */
#define GH_JWT_BACKDATE_S 60
#define GH_JWT_AHEAD_S (9 * 60)
/* An installation token lives an hour (GitHub's docs). */
#define GH_TOKEN_LIFETIME_S 3600
#define GH_LEAD_S (5 * 60)
#define GH_PATH_MAX 4096

static const struct oauth_endpoint app_endpoints[] = {
	{ NULL, NULL, NULL },
};

static const char *const app_fields[] = {
	"type", "app_id", "installation_id", "private_key", "private_key_file", NULL,
};

static int app_adopt(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
		     size_t errlen)
{
	json_t *root = NULL, *c = NULL;
	const char *type, *pem, *file;
	char app[OA_ID_MAX + 1], inst[OA_ID_MAX + 1];
	bool has_app, has_inst;
	gnutls_privkey_t key;
	int ret;

	if ((ret = oa_parse_value(buf, len, &root, err, errlen)) < 0)
		return ret;
	ret = AL_EINVAL;
	if (oa_fields_known(root, app_fields, err, errlen) < 0 ||
	    oa_string(root, "", "type", 0, &type, err, errlen) < 0 ||
	    oa_id_string(root, "app_id", app, &has_app, err, errlen) < 0 ||
	    oa_id_string(root, "installation_id", inst, &has_inst, err, errlen) < 0 ||
	    oa_string(root, "", "private_key", 0, &pem, err, errlen) < 0 ||
	    oa_string(root, "", "private_key_file", 0, &file, err, errlen) < 0)
		goto out;
	if (type && strcmp(type, "github-app") != 0) {
		oa_err(err, errlen, ".type: must be \"github-app\"");
		goto out;
	}
	if (!has_app) {
		oa_err(err, errlen, ".app_id: missing");
		goto out;
	}
	if (has_inst && strspn(inst, "0123456789") != strlen(inst)) {
		oa_err(err, errlen, ".installation_id: must be a number");
		goto out;
	}
	if (!pem == !file) {
		oa_err(err, errlen, pem ? ".private_key_file: give it or .private_key, not both"
					: ".private_key_file: missing (or .private_key, the PEM itself)");
		goto out;
	}
	if (file) {
		/* the broker reads it at each signature, from its own directory:
		 * a relative path would name another file */
		if (file[0] != '/' || strlen(file) > GH_PATH_MAX || !oa_header_safe(file)) {
			oa_err(err, errlen, ".private_key_file: an absolute path of printable "
				"characters without spaces, at most %d bytes", GH_PATH_MAX);
			goto out;
		}
	} else {
		if (oa_rsa_key_load(pem, &key, err, errlen, ".private_key") < 0)
			goto out;
		gnutls_privkey_deinit(key);
	}
	c = oa_cred_new(&oauth_github_app);
	json_object_set_new(c, "app_id", json_string(app));
	if (has_inst)
		json_object_set_new(c, "installation_id", json_string(inst));
	json_object_set_new(c, pem ? "private_key" : "private_key_file", json_string(pem ? pem : file));
	json_object_set_new(c, "expires_at", json_integer(0));
	*cred = c;
	c = NULL;
	ret = 0;
out:
	oauth_json_free(c);
	oauth_json_free(root);
	return ret;
}

static int app_check(const json_t *cred, char *err, size_t errlen)
{
	gnutls_privkey_t key;
	const char *pem = json_str(cred, "private_key", NULL);
	if (!pem) {
		oa_err(err, errlen, ".private_key_file: not read");
		return AL_EINVAL;
	}
	if (oa_rsa_key_load(pem, &key, err, errlen, ".private_key_file") < 0)
		return AL_EINVAL;
	gnutls_privkey_deinit(key);
	return 0;
}

/* The App's JWT (RFC 7519), signed now. */
static char *app_jwt(const json_t *cred)
{
	gnutls_privkey_t key;
	char err[128];
	const char *app = json_str(cred, "app_id", "");
	int64_t now = (int64_t)time(NULL);
	char *jwt = NULL;

	if (oa_rsa_key_load(json_str(cred, "private_key", ""), &key, err, sizeof err, "key") < 0)
		return NULL;
	json_t *claims = json_pack("{s:I, s:I}", "iat", (json_int_t)(now - GH_JWT_BACKDATE_S),
				   "exp", (json_int_t)(now + GH_JWT_AHEAD_S));
	/* a numeric app id goes as a number (GitHub's examples), a client id
	 * (Iv1.…) as a string */
	if (strspn(app, "0123456789") == strlen(app) && strlen(app) < 16)
		json_object_set_new(claims, "iss", json_integer(strtoll(app, NULL, 10)));
	else
		json_object_set_new(claims, "iss", json_string(app));
	jwt = oa_jwt_rs256(key, claims);
	json_decref(claims);
	gnutls_privkey_deinit(key);
	return jwt;
}

static int app_refresh_request(const json_t *cred, struct oauth_http_req *req)
{
	const char *inst = json_str(cred, "installation_id", NULL);
	char url[256];
	char *jwt = app_jwt(cred);

	if (!jwt)
		return AL_ECRYPTO;
	if (inst) {
		snprintf(url, sizeof url, GH_API_URL "/app/installations/%s/access_tokens", inst);
		req->method = xstrdup("POST");
		req->content_type = xstrdup("application/json");
		req->body = xstrdup("{}");
		req->body_len = 2;
	} else {
		/* two per page: one answer tells "exactly one" from "several" */
		snprintf(url, sizeof url, GH_API_URL "/app/installations?per_page=2");
		req->method = xstrdup("GET");
	}
	req->url = xstrdup(url);
	oa_req_header(req, "Authorization: Bearer %s", jwt);
	oa_req_header(req, "Accept: application/vnd.github+json");
	oa_req_header(req, "X-GitHub-Api-Version: 2022-11-28");
	/* GitHub refuses API requests without a User-Agent */
	oa_req_header(req, "User-Agent: airlock");
	secure_free_str(jwt);
	return 0;
}

/* GitHub answers errors as {"message": ...}: the status says which. */
static void app_failure(const struct oauth_http_resp *resp, struct oauth_result *res)
{
	json_t *body = NULL;
	(void)!oa_classify(resp, &body, res);
	oauth_json_free(body);
	if (res->outcome == OAUTH_OK) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "http-%ld: unexpected", resp->status);
	}
	switch (resp->status) {
	case 401:   /* the JWT: wrong key for this app id, or the clock */
		snprintf(res->reason, sizeof res->reason, "http-401: the App's JWT was refused "
			 "(app_id and private key do not match, or the clock is off)");
		break;
	case 403:   /* a secondary rate limit comes with Retry-After */
		if (!resp->retry_after) {
			res->outcome = OAUTH_PERMANENT;
			snprintf(res->reason, sizeof res->reason, "http-403: forbidden (installation "
				 "suspended?)");
		}
		break;
	case 404:
		res->outcome = OAUTH_PERMANENT;
		snprintf(res->reason, sizeof res->reason, "http-404: no such installation of this App");
		break;
	case 422:
		res->outcome = OAUTH_PERMANENT;
		snprintf(res->reason, sizeof res->reason, "http-422: refused");
		break;
	}
}

/* GET /app/installations?per_page=2: keep the one installation. */
static int app_parse_installations(const json_t *cred, const struct oauth_http_resp *resp,
				   json_t **next, struct oauth_result *res)
{
	json_error_t jerr;
	json_t *list = NULL;

	if (resp->status != 200) {
		app_failure(resp, res);
		return 0;
	}
	if (resp->body_len <= AL_OAUTH_RESPONSE_MAX)
		list = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_array(list)) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: installations not a JSON array");
		goto out;
	}
	if (json_array_size(list) != 1) {
		res->outcome = OAUTH_PERMANENT;
		snprintf(res->reason, sizeof res->reason, "%s",
			 json_array_size(list) ? "several-installations: the App is installed in "
						 "more than one account; give installation_id"
					       : "no-installation: the App is not installed anywhere");
		goto out;
	}
	json_t *id = json_object_get(json_array_get(list, 0), "id");
	if (!json_is_integer(id) || json_integer_value(id) <= 0) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: installation without an id");
		goto out;
	}
	char inst[32];
	snprintf(inst, sizeof inst, "%lld", (long long)json_integer_value(id));
	*next = json_deep_copy(cred);
	json_object_set_new(*next, "installation_id", json_string(inst));
	res->outcome = OAUTH_OK;
out:
	json_decref(list);
	return 0;
}

static int app_refresh_parse(const json_t *cred, const struct oauth_http_resp *resp, int64_t now,
			     json_t **next, struct oauth_result *res)
{
	json_t *body = NULL;
	const char *tok, *exps;
	char err[160];
	int64_t exp = 0;

	*next = NULL;
	memset(res, 0, sizeof *res);
	if (!json_str(cred, "installation_id", NULL))
		return app_parse_installations(cred, resp, next, res);
	if (resp->status < 200 || resp->status >= 300) {
		app_failure(resp, res);
		return 0;
	}
	(void)!oa_classify(resp, &body, res);
	if (res->outcome != OAUTH_OK)
		return 0;
	if (oa_string(body, "answer", "token", OA_REQUIRED | OA_HEADER, &tok, err, sizeof err) < 0 ||
	    oa_string(body, "answer", "expires_at", 0, &exps, err, sizeof err) < 0) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: %.120s", err);
		goto out;
	}
	if (exps && time_parse(exps, &exp) < 0) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: answer.expires_at: not an "
			 "ISO 8601 UTC time");
		goto out;
	}
	if (exp <= now)
		exp = now + GH_TOKEN_LIFETIME_S;
	json_t *n = json_deep_copy(cred);
	json_object_set_new(n, "access", json_string(tok));
	oa_mint_times(n, now, exp, GH_LEAD_S);
	*next = n;
	res->outcome = OAUTH_OK;
out:
	oauth_json_free(body);
	return 0;
}

static int app_headers(const json_t *cred, const char *host, json_t *headers, json_t *strip,
		       json_t *merge)
{
	const char *access = json_str(cred, "access", NULL);
	if (!access)
		return AL_ESTATE;
	oa_github_headers(access, host, headers);
	return 0;
}

const struct oauth_provider oauth_github_app = {
	.type = "github-app",
	.vendor_file = "the GitHub App value (app_id, private_key_file)",
	/* covers api.github.com too: broker/secret_types.c */
	.default_host = OA_GITHUB_GIT_HOST,
	.lead_seconds = GH_LEAD_S,
	.token_endpoints = app_endpoints,
	.mints = true,
	.host_file = "private_key_file",
	.host_file_into = "private_key",
	.adopt = app_adopt,
	.check = app_check,
	.refresh_request = app_refresh_request,
	.refresh_parse = app_refresh_parse,
	.headers = app_headers,
};
