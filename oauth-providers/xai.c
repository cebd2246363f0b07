/* oauth-xai: the JSON `airlock oauth xai` prints (Slicer's shape plus
 * expires_at), or the "xai" entry of opencode's auth.json
 * (docs/oauth.md). Refresh is a form POST to the token endpoint of
 * the login (https on x.ai only); refresh tokens rotate and the old one is
 * revoked. The sandbox gets opencode's auth.json shape with an opaque
 * access token, so its plugin never looks for a JWT exp. */
#include "config.h"

#include "oauth-providers/xai.h"

#include <string.h>

#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

/* 9999-12-31T23:59:59Z: the last time RFC 3339 writes with four digits */
#define XAI_TIME_MAX 253402300799LL
/* xAI often omits expires_in; LiteLLM's default. */
#define XAI_DEFAULT_LIFETIME 3600

static const struct oauth_endpoint xai_endpoints[] = {
	{ "auth.x.ai", "/oauth2/token", "POST" },
	{ NULL, NULL, NULL },
};

int xai_endpoint_check(const char *url)
{
	char host[AL_HOST_BUF];
	enum host_kind kind;
	if (!url || strncmp(url, "https://", 8) != 0)
		return AL_EINVAL;
	const char *p = url + 8;
	size_t n = strcspn(p, "/?#");
	if (memchr(p, '@', n) || memchr(p, ':', n))   /* no userinfo, default port */
		return AL_EINVAL;
	if (host_canon(p, n, host, &kind) < 0 || kind != HOST_DNS)
		return AL_EINVAL;
	size_t hl = strlen(host);
	if (strcmp(host, "x.ai") != 0 && !(hl > 5 && strcmp(host + hl - 5, ".x.ai") == 0))
		return AL_EINVAL;
	for (const char *q = p + n; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return AL_EINVAL;
	return 0;
}

/* expires_at as integer seconds (ms accepted) or an RFC 3339 string. */
static int read_expiry(const json_t *o, const char *path, const char *key, int64_t *out,
		       char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (time_parse(json_string_value(v), out) < 0) {
			oa_err(err, errlen, "%s.%s: not an RFC 3339 time", path, key);
			return AL_EINVAL;
		}
		return 0;
	}
	bool present;
	if (oa_int(o, path, key, out, &present, err, errlen) < 0)
		return AL_EINVAL;
	if (*out > 100000000000LL)
		*out /= 1000;
	return 0;
}

static int adopt_opencode(json_t *e, int64_t now, json_t *c, char *err, size_t errlen)
{
	const char *refresh, *access;
	int64_t exp;
	bool has;
	if (!json_is_object(e)) {
		oa_err(err, errlen, ".xai: must be an object");
		return AL_EINVAL;
	}
	if (oa_string(e, ".xai", "refresh", OA_REQUIRED | OA_HEADER, &refresh, err, errlen) < 0 ||
	    oa_string(e, ".xai", "access", OA_REQUIRED | OA_HEADER, &access, err, errlen) < 0 ||
	    oa_int(e, ".xai", "expires", &exp, &has, err, errlen) < 0)
		return AL_EINVAL;
	json_object_set_new(c, "access", json_string(access));
	json_object_set_new(c, "refresh", json_string(refresh));
	json_object_set_new(c, "expires_at", json_integer(has && exp > 0 ? exp / 1000 : 0));
	return 0;
}

static int xai_adopt(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
		     size_t errlen)
{
	json_t *root = NULL, *c = NULL;
	const char *type, *access, *refresh, *idt, *ep, *obtained;
	int64_t exp, expires_in, obt = 0;
	bool has_in;
	int ret;

	if ((ret = oa_parse_object(buf, len, AL_CRED_FILE_MAX, &root, err, errlen)) < 0)
		return ret;
	ret = AL_EINVAL;
	c = oa_cred_new(&oauth_xai);
	json_object_set_new(c, "token_endpoint", json_string(XAI_TOKEN_URL));
	if (json_object_get(root, "xai") && !json_object_get(root, "access_token")) {
		if (adopt_opencode(json_object_get(root, "xai"), now, c, err, errlen) < 0)
			goto out;
		goto done;
	}
	if (oa_string(root, "", "type", 0, &type, err, errlen) < 0)
		goto out;
	if (type && strcmp(type, "oauth-xai") != 0) {
		oa_err(err, errlen, ".type: must be \"oauth-xai\"");
		goto out;
	}
	if (oa_string(root, "", "access_token", OA_REQUIRED | OA_HEADER, &access, err, errlen) < 0 ||
	    oa_string(root, "", "refresh_token", OA_REQUIRED | OA_HEADER, &refresh, err, errlen) < 0 ||
	    oa_string(root, "", "id_token", 0, &idt, err, errlen) < 0 ||
	    oa_string(root, "", "token_endpoint", 0, &ep, err, errlen) < 0 ||
	    oa_string(root, "", "obtained_at", 0, &obtained, err, errlen) < 0 ||
	    read_expiry(root, "", "expires_at", &exp, err, errlen) < 0 ||
	    oa_int(root, "", "expires_in", &expires_in, &has_in, err, errlen) < 0)
		goto out;
	if (ep) {
		/* a crafted file must not send the refresh token elsewhere */
		if (xai_endpoint_check(ep) < 0) {
			oa_err(err, errlen, ".token_endpoint: must be an https URL on x.ai");
			goto out;
		}
		json_object_set_new(c, "token_endpoint", json_string(ep));
	}
	if (obtained && time_parse(obtained, &obt) < 0) {
		oa_err(err, errlen, ".obtained_at: not an RFC 3339 time");
		goto out;
	}
	if (!exp)
		exp = oa_jwt_exp(access);
	if (!exp && obt && has_in && expires_in > 0 && expires_in <= XAI_TIME_MAX)
		exp = obt + expires_in;
	/* write-back puts it in the file as RFC 3339: four-digit years only */
	if (exp < 0 || exp > XAI_TIME_MAX) {
		oa_err(err, errlen, "the expiry (.expires_at, .expires_in or the access token's exp) "
			"is before 1970 or after 9999");
		goto out;
	}
	json_object_set_new(c, "access", json_string(access));
	json_object_set_new(c, "refresh", json_string(refresh));
	json_object_set_new(c, "expires_at", json_integer(exp));
	if (idt) {
		json_object_set_new(c, "id_token", json_string(idt));
		json_t *cl = oa_jwt_claims(idt);
		const char *v;
		if ((v = json_str(cl, "email", NULL)))
			json_object_set_new(c, "email", json_string(v));
		if ((v = json_str(cl, "sub", NULL)))
			json_object_set_new(c, "user_id", json_string(v));
		oauth_json_free(cl);
	}
done:
	*cred = c;
	c = NULL;
	ret = 0;
out:
	oauth_json_free(c);
	oauth_json_free(root);
	return ret;
}

static int xai_refresh_request(const json_t *cred, struct oauth_http_req *req)
{
	const char *refresh = json_str(cred, "refresh", NULL);
	const char *ep = json_str(cred, "token_endpoint", XAI_TOKEN_URL);
	if (!refresh)
		return AL_ESTATE;
	if (xai_endpoint_check(ep) < 0)
		return AL_EINVAL;
	const char *kv[] = { "grant_type", "refresh_token", "refresh_token", refresh, "client_id",
			     XAI_CLIENT_ID, NULL };
	oa_req_form(req, ep, oa_form(kv));
	return 0;
}

static int xai_refresh_parse(const json_t *cred, const struct oauth_http_resp *resp, int64_t now,
			     json_t **next, struct oauth_result *res)
{
	json_t *body;
	int ret;

	*next = NULL;
	if ((ret = oa_classify(resp, &body, res)) < 0 || res->outcome != OAUTH_OK)
		return ret;
	ret = oa_standard_tokens(cred, body, now, XAI_DEFAULT_LIFETIME, next, res);
	/* xAI answers a scope string we do not need to carry */
	if (*next)
		json_object_del(*next, "scopes");
	oauth_json_free(body);
	return ret;
}

static int xai_headers(const json_t *cred, const char *host, json_t *headers, json_t *strip,
		       json_t *merge)
{
	const char *access = json_str(cred, "access", NULL);
	if (!access)
		return AL_ESTATE;
	oa_add_bearer(headers, access);
	json_array_append_new(strip, json_string("x-api-key"));
	return 0;
}

static int xai_stub(const json_t *cred, int64_t now, json_t **file)
{
	/* opaque: opencode's xAI plugin checks a JWT's exp, not an opaque token's */
	char *at = oa_placeholder("airlock-placeholder-xai-access-", 43);
	char *rt = oa_placeholder("airlock-placeholder-xai-refresh-", 43);
	*file = json_pack("{s:{s:s, s:s, s:s, s:I}}", "xai", "type", "oauth", "refresh", rt,
			  "access", at, "expires", (json_int_t)OAUTH_STUB_EXPIRES_MS);
	free(at);
	free(rt);
	return 0;
}

static int xai_shim(const json_t *cred, const struct oauth_endpoint *ep, int64_t now,
		    json_t **answer)
{
	char *at = oa_placeholder("airlock-placeholder-xai-access-", 43);
	char *rt = oa_placeholder("airlock-placeholder-xai-refresh-", 43);
	*answer = json_pack("{s:s, s:s, s:s, s:I}", "access_token", at, "refresh_token", rt,
			    "token_type", "Bearer", "expires_in",
			    (json_int_t)(OAUTH_STUB_EXPIRES_S - now));
	free(at);
	free(rt);
	return 0;
}

static int xai_write_back(const json_t *cred, json_t *vendor, int64_t now)
{
	char ts[AL_TIME_STR_MAX];
	json_t *e = json_object_get(vendor, "xai");
	if (json_is_object(e) && !json_object_get(vendor, "access_token")) {
		json_object_set_new(e, "access", json_string(json_str(cred, "access", "")));
		json_object_set_new(e, "refresh", json_string(json_str(cred, "refresh", "")));
		json_object_set_new(e, "expires",
				    json_integer(json_int(cred, "expires_at", 0) * 1000));
		return 0;
	}
	json_object_set_new(vendor, "access_token", json_string(json_str(cred, "access", "")));
	json_object_set_new(vendor, "refresh_token", json_string(json_str(cred, "refresh", "")));
	if (json_str(cred, "id_token", NULL))
		json_object_set_new(vendor, "id_token", json_string(json_str(cred, "id_token", "")));
	/* the times written are absolute: an expires_in left from the login
	 * would count from the new obtained_at, and an expiry we do not know
	 * (0) is no expiry at all, not 1970 */
	json_object_del(vendor, "expires_in");
	if (json_int(cred, "expires_at", 0) != 0) {
		time_format(json_int(cred, "expires_at", 0), ts);
		json_object_set_new(vendor, "expires_at", json_string(ts));
	} else {
		json_object_del(vendor, "expires_at");
	}
	time_format(now, ts);
	json_object_set_new(vendor, "obtained_at", json_string(ts));
	return 0;
}

const struct oauth_provider oauth_xai = {
	.type = "oauth-xai",
	.vendor_file = "the JSON of `airlock oauth xai`",
	.default_host = "api.x.ai",
	.lead_seconds = 10 * 60,
	.token_endpoints = xai_endpoints,
	.adopt = xai_adopt,
	.refresh_request = xai_refresh_request,
	.refresh_parse = xai_refresh_parse,
	.headers = xai_headers,
	.stub = xai_stub,
	.shim = xai_shim,
	.write_back = xai_write_back,
};
