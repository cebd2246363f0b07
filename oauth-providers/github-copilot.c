/* oauth-github-copilot: the "github-copilot" entry of opencode's
 * ~/.local/share/opencode/auth.json.
 * gho_ tokens (current opencode) are long-lived and sent as they are;
 * legacy ghu_ tokens are exchanged (GET, no rotation) for a Copilot session
 * token that lives ~25 min, refreshed at refresh_in, whose API host comes
 * from endpoints.api. Times: opencode "expires" is ms, the exchange's
 * expires_at is seconds. */
#include "config.h"

#include <string.h>

#include "common/jsonutil.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

#define COPILOT_API_HOST "api.githubcopilot.com"
#define COPILOT_EXCHANGE_PATH "/copilot_internal/v2/token"

static const struct oauth_endpoint copilot_endpoints[] = {
	{ "github.com", "/login/oauth/access_token", "POST" },
	{ "api.github.com", COPILOT_EXCHANGE_PATH, "GET" },
	{ NULL, NULL, NULL },
};

static bool is_exchange(const json_t *cred)
{
	const char *gh = json_str(cred, "github_token", "");
	return strncmp(gh, "ghu_", 4) == 0;
}

/* "https://ghe.example.com/" or "ghe.example.com" -> canonical host */
static int enterprise_host(const char *url, char out[AL_HOST_BUF])
{
	enum host_kind kind;
	const char *p = url;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	size_t n = strcspn(p, "/");
	return host_canon(p, n, out, &kind);
}

/* Host of an https URL from endpoints.api, canonical, or AL_EINVAL. */
static int url_host(const char *url, char out[AL_HOST_BUF])
{
	enum host_kind kind;
	if (!url || strncmp(url, "https://", 8) != 0)
		return AL_EINVAL;
	const char *p = url + 8;
	return host_canon(p, strcspn(p, "/:"), out, &kind);
}

static int copilot_adopt(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
			 size_t errlen)
{
	json_t *root = NULL, *e, *c = NULL;
	const char *path = ".github-copilot", *type, *refresh, *access, *ent;
	char host[AL_HOST_BUF];
	int64_t expires;
	bool has_exp;
	int ret;

	if ((ret = oa_parse_object(buf, len, AL_CRED_FILE_MAX, &root, err, errlen)) < 0)
		return ret;
	ret = AL_EINVAL;
	e = json_object_get(root, "github-copilot");
	if (!e && (e = json_object_get(root, "github-copilot-enterprise")))
		path = ".github-copilot-enterprise";
	if (!e && json_object_get(root, "refresh")) {
		e = root;   /* the entry on its own */
		path = "";
	}
	if (!e) {
		oa_err(err, errlen, ".github-copilot: missing (opencode's auth.json holds no "
			"GitHub Copilot login)");
		goto out;
	}
	if (!json_is_object(e)) {
		oa_err(err, errlen, "%s: must be an object", path);
		goto out;
	}
	if (oa_string(e, path, "type", 0, &type, err, errlen) < 0)
		goto out;
	if (type && strcmp(type, "oauth") != 0) {
		oa_err(err, errlen, "%s.type: must be \"oauth\"", path);
		goto out;
	}
	if (oa_string(e, path, "refresh", OA_REQUIRED | OA_HEADER, &refresh, err, errlen) < 0 ||
	    oa_string(e, path, "access", OA_HEADER, &access, err, errlen) < 0 ||
	    oa_string(e, path, "enterpriseUrl", 0, &ent, err, errlen) < 0 ||
	    oa_int(e, path, "expires", &expires, &has_exp, err, errlen) < 0)
		goto out;
	c = oa_cred_new(&oauth_github_copilot);
	json_object_set_new(c, "github_token", json_string(refresh));
	json_object_set_new(c, "api_host", json_string(COPILOT_API_HOST));
	if (ent) {
		if (enterprise_host(ent, host) < 0) {
			oa_err(err, errlen, "%s.enterpriseUrl: not a host name or https URL", path);
			goto out;
		}
		json_object_set_new(c, "enterprise", json_string(host));
		char api[AL_HOST_BUF + 16];
		snprintf(api, sizeof api, "copilot-api.%s", host);
		json_object_set_new(c, "api_host", json_string(api));
	}
	if (strncmp(refresh, "ghu_", 4) == 0) {
		/* a session token still valid is kept; else the first
		 * exchange happens at once */
		int64_t exp_s = has_exp ? (expires > 100000000000LL ? expires / 1000 : expires) : 0;
		if (access && exp_s > now + 60) {
			json_object_set_new(c, "access", json_string(access));
			json_object_set_new(c, "expires_at", json_integer(exp_s));
		} else {
			json_object_set_new(c, "expires_at", json_integer(0));
		}
	} else {
		/* gho_ (and other long-lived GitHub tokens): sent as is */
		json_object_set_new(c, "access", json_string(refresh));
		json_object_set_new(c, "expires_at", json_integer(0));
	}
	*cred = c;
	c = NULL;
	ret = 0;
out:
	oauth_json_free(c);
	oauth_json_free(root);
	return ret;
}

static int copilot_refresh_request(const json_t *cred, struct oauth_http_req *req)
{
	char url[AL_HOST_BUF + 64];
	if (!is_exchange(cred))
		return AL_ESTATE;
	const char *ent = json_str(cred, "enterprise", NULL);
	snprintf(url, sizeof url, "https://api.%s" COPILOT_EXCHANGE_PATH, ent ? ent : "github.com");
	req->method = xstrdup("GET");
	req->url = xstrdup(url);
	oa_req_header(req, "Authorization: token %s", json_str(cred, "github_token", ""));
	oa_req_header(req, "Accept: application/json");
	/* the VS Code Copilot Chat identity this GitHub App's tokens belong to */
	oa_req_header(req, "Editor-Version: vscode/1.105.1");
	oa_req_header(req, "Editor-Plugin-Version: copilot-chat/0.32.4");
	oa_req_header(req, "User-Agent: GitHubCopilotChat/0.32.4");
	oa_req_header(req, "Copilot-Integration-Id: vscode-chat");
	return 0;
}

static int copilot_refresh_parse(const json_t *cred, const struct oauth_http_resp *resp,
				 int64_t now, json_t **next, struct oauth_result *res)
{
	json_t *body;
	const char *tok;
	char err[160], host[AL_HOST_BUF];
	int64_t exp, rin;
	bool has_exp, has_rin;
	int ret;

	*next = NULL;
	if ((ret = oa_classify(resp, &body, res)) < 0)
		return ret;
	if (res->outcome != OAUTH_OK) {
		/* 401: the GitHub token is revoked; 403/404: no Copilot seat.
		 * Neither comes back by retrying. */
		if (resp->status == 403 || resp->status == 404) {
			res->outcome = OAUTH_PERMANENT;
			snprintf(res->reason, sizeof res->reason, "http-%ld: no Copilot access",
				 resp->status);
		}
		return 0;
	}
	if (oa_string(body, "answer", "token", OA_REQUIRED | OA_HEADER, &tok, err, sizeof err) < 0 ||
	    oa_int(body, "answer", "expires_at", &exp, &has_exp, err, sizeof err) < 0 ||
	    oa_int(body, "answer", "refresh_in", &rin, &has_rin, err, sizeof err) < 0) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: %.120s", err);
		goto out;
	}
	json_t *n = json_deep_copy(cred);
	json_object_set_new(n, "access", json_string(tok));
	if (!has_exp || exp <= now)
		exp = now + 25 * 60;
	json_object_set_new(n, "expires_at", json_integer(exp));
	if (has_rin && rin > 0 && now + rin < exp)
		json_object_set_new(n, "refresh_at", json_integer(now + rin));
	else
		json_object_del(n, "refresh_at");
	json_t *ep = json_object_get(body, "endpoints");
	if (url_host(json_str(ep, "api", NULL), host) == 0)
		json_object_set_new(n, "api_host", json_string(host));
	*next = n;
	res->outcome = OAUTH_OK;
out:
	oauth_json_free(body);
	return 0;
}

static int copilot_headers(const json_t *cred, const char *host, json_t *headers, json_t *strip,
			   json_t *merge)
{
	const char *access = json_str(cred, "access", NULL);
	if (!access)
		return AL_ESTATE;
	oa_add_bearer(headers, access);
	json_array_append_new(strip, json_string("x-api-key"));
	return 0;
}

static char *session_placeholder(const json_t *cred)
{
	const char *api = json_str(cred, "api_host", COPILOT_API_HOST);
	char *mac = oa_placeholder("", 43);
	char *s;
	/* proxy-ep is the api host with "api." turned into "proxy." */
	if (asprintf(&s, "tid=airlock-placeholder;exp=%lld;sku=placeholder;proxy-ep=%s%s:%s",
		     (long long)OAUTH_STUB_EXPIRES_S, strncmp(api, "api.", 4) == 0 ? "proxy." : "",
		     strncmp(api, "api.", 4) == 0 ? api + 4 : api, mac) < 0)
		abort();
	free(mac);
	return s;
}

static int copilot_stub(const json_t *cred, int64_t now, json_t **file)
{
	json_t *e;
	if (is_exchange(cred)) {
		/* the legacy plugin exchanges only when access is empty or expired */
		char *gh = oa_placeholder("ghu_", 36), *s = session_placeholder(cred);
		e = json_pack("{s:s, s:s, s:s, s:I}", "type", "oauth", "refresh", gh, "access", s,
			      "expires", (json_int_t)OAUTH_STUB_EXPIRES_MS);
		free(gh);
		free(s);
	} else {
		/* current opencode sends `refresh` as the Bearer and never refreshes */
		char *gh = oa_placeholder("gho_", 36);
		e = json_pack("{s:s, s:s, s:s, s:i}", "type", "oauth", "refresh", gh, "access", gh,
			      "expires", 0);
		free(gh);
	}
	const char *ent = json_str(cred, "enterprise", NULL);
	if (ent)
		json_object_set_new(e, "enterpriseUrl", json_string(ent));
	*file = json_pack("{s:o}", "github-copilot", e);
	return 0;
}

static int copilot_shim(const json_t *cred, const struct oauth_endpoint *ep, int64_t now,
			json_t **answer)
{
	if (strcmp(ep->path, COPILOT_EXCHANGE_PATH) == 0) {
		char *s = session_placeholder(cred), api[AL_HOST_BUF + 16];
		snprintf(api, sizeof api, "https://%s", json_str(cred, "api_host", COPILOT_API_HOST));
		*answer = json_pack("{s:s, s:I, s:i, s:{s:s}}", "token", s, "expires_at",
				    (json_int_t)OAUTH_STUB_EXPIRES_S, "refresh_in", 86400,
				    "endpoints", "api", api);
		free(s);
	} else {
		char *gh = oa_placeholder(is_exchange(cred) ? "ghu_" : "gho_", 36);
		*answer = json_pack("{s:s, s:s, s:s}", "access_token", gh, "token_type", "bearer",
				    "scope", "read:user");
		free(gh);
	}
	return 0;
}

static int copilot_write_back(const json_t *cred, json_t *vendor, int64_t now)
{
	json_t *e = json_object_get(vendor, "github-copilot");
	if (!e)
		e = json_object_get(vendor, "github-copilot-enterprise");
	if (!json_is_object(e))
		return AL_ENOTFOUND;
	/* gho_ never changes; ghu_ gets the session token opencode's legacy
	 * plugin would have fetched itself */
	if (is_exchange(cred) && json_str(cred, "access", NULL)) {
		json_object_set_new(e, "access", json_string(json_str(cred, "access", "")));
		json_object_set_new(e, "expires",
				    json_integer(json_int(cred, "expires_at", 0) * 1000));
	}
	return 0;
}

const struct oauth_provider oauth_github_copilot = {
	.type = "oauth-github-copilot",
	.vendor_file = "~/.local/share/opencode/auth.json",
	/* covers api.githubcopilot.com and the account hosts from
	 * endpoints.api (api.individual., api.business., ...) */
	.default_host = "*.githubcopilot.com",
	.lead_seconds = 5 * 60,
	.token_endpoints = copilot_endpoints,
	.adopt = copilot_adopt,
	.refresh_request = copilot_refresh_request,
	.refresh_parse = copilot_refresh_parse,
	.headers = copilot_headers,
	.stub = copilot_stub,
	.shim = copilot_shim,
	.write_back = copilot_write_back,
};
