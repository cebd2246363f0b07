/* oauth-client-creds: the OAuth 2.0 client-credentials grant (RFC 6749
 * §4.4). The value names the token endpoint (https, a host name), the
 * client id and secret, and optionally the scope and audience (Auth0,
 * Okta and others ask for one). The client authenticates with HTTP Basic,
 * RFC 6749's default (§2.3.1: id and secret form-encoded, then base64), or
 * with client_id and client_secret in the body ("token_endpoint_auth_method":
 * "client_secret_post", RFC 7591's names). The bearer token obtained is
 * kept until shortly before it expires (expires_in; an hour when the answer
 * has none), then asked for again; a refresh token in the answer is not
 * used (§4.4.3: there should be none). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jsonutil.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

#define CC_DEFAULT_LIFETIME 3600
#define CC_LEAD_S (5 * 60)
#define CC_URL_MAX 2048
#define CC_PARAM_MAX 1024

#define CC_BASIC "client_secret_basic"
#define CC_POST "client_secret_post"

static const struct oauth_endpoint cc_endpoints[] = {
	{ NULL, NULL, NULL },
};

static const char *const cc_fields[] = {
	"type", "token_endpoint", "client_id", "client_secret", "scope", "audience",
	"token_endpoint_auth_method", NULL,
};

/* Form values: RFC 6749 Appendix A allows client ids and secrets of any
 * VSCHAR (%x20-7E, spaces too): they are form-encoded before Basic or the
 * body, so none reaches a header as it is. Scope and audience likewise. */
static int cc_param(const json_t *root, const char *key, unsigned flags, const char **out,
		    char *err, size_t errlen)
{
	if (oa_string(root, "", key, flags, out, err, errlen) < 0)
		return AL_EINVAL;
	if (!*out)
		return 0;
	if (strlen(*out) > CC_PARAM_MAX) {
		oa_err(err, errlen, ".%s: over %d bytes", key, CC_PARAM_MAX);
		return AL_EINVAL;
	}
	for (const unsigned char *p = (const unsigned char *)*out; *p; p++)
		if (*p < 0x20 || *p >= 0x7f) {
			oa_err(err, errlen, ".%s: holds control characters or non-ASCII", key);
			return AL_EINVAL;
		}
	return 0;
}

static int cc_adopt(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
		    size_t errlen)
{
	json_t *root = NULL, *c = NULL;
	const char *type, *ep, *id, *secret, *scope, *aud, *method;
	char host[AL_HOST_BUF];
	int ret;

	if ((ret = oa_parse_value(buf, len, &root, err, errlen)) < 0)
		return ret;
	ret = AL_EINVAL;
	if (oa_fields_known(root, cc_fields, err, errlen) < 0 ||
	    oa_string(root, "", "type", 0, &type, err, errlen) < 0 ||
	    oa_string(root, "", "token_endpoint", OA_REQUIRED, &ep, err, errlen) < 0 ||
	    cc_param(root, "client_id", OA_REQUIRED, &id, err, errlen) < 0 ||
	    cc_param(root, "client_secret", OA_REQUIRED, &secret, err, errlen) < 0 ||
	    cc_param(root, "scope", 0, &scope, err, errlen) < 0 ||
	    cc_param(root, "audience", 0, &aud, err, errlen) < 0 ||
	    oa_string(root, "", "token_endpoint_auth_method", 0, &method, err, errlen) < 0)
		goto out;
	if (type && strcmp(type, "oauth-client-creds") != 0) {
		oa_err(err, errlen, ".type: must be \"oauth-client-creds\"");
		goto out;
	}
	/* the client secret goes wherever this URL says: only https to a name */
	if (strlen(ep) > CC_URL_MAX || oa_https_url_check(ep, host) < 0) {
		oa_err(err, errlen, ".token_endpoint: must be an https URL with a host name "
			"(not an address), an optional port and a path, without user info or "
			"fragment, at most %d bytes", CC_URL_MAX);
		goto out;
	}
	if (!method)
		method = CC_BASIC;
	if (strcmp(method, CC_BASIC) != 0 && strcmp(method, CC_POST) != 0) {
		oa_err(err, errlen, ".token_endpoint_auth_method: \"" CC_BASIC "\" (the default) or "
			"\"" CC_POST "\"");
		goto out;
	}
	c = oa_cred_new(&oauth_client_creds);
	json_object_set_new(c, "token_endpoint", json_string(ep));
	json_object_set_new(c, "client_id", json_string(id));
	json_object_set_new(c, "client_secret", json_string(secret));
	if (scope)
		json_object_set_new(c, "scope", json_string(scope));
	if (aud)
		json_object_set_new(c, "audience", json_string(aud));
	json_object_set_new(c, "auth_method", json_string(method));
	json_object_set_new(c, "expires_at", json_integer(0));
	*cred = c;
	c = NULL;
	ret = 0;
out:
	oauth_json_free(c);
	oauth_json_free(root);
	return ret;
}

static int cc_refresh_request(const json_t *cred, struct oauth_http_req *req)
{
	const char *id = json_str(cred, "client_id", ""), *secret = json_str(cred, "client_secret", "");
	bool post = strcmp(json_str(cred, "auth_method", CC_BASIC), CC_POST) == 0;
	const char *kv[12];
	size_t n = 0;

	kv[n++] = "grant_type";
	kv[n++] = "client_credentials";
	if (json_str(cred, "scope", NULL)) {
		kv[n++] = "scope";
		kv[n++] = json_str(cred, "scope", NULL);
	}
	if (json_str(cred, "audience", NULL)) {
		kv[n++] = "audience";
		kv[n++] = json_str(cred, "audience", NULL);
	}
	if (post) {
		kv[n++] = "client_id";
		kv[n++] = id;
		kv[n++] = "client_secret";
		kv[n++] = secret;
	}
	kv[n++] = NULL;
	kv[n] = NULL;
	oa_req_form(req, json_str(cred, "token_endpoint", ""), oa_form(kv));
	if (!post) {
		char *ei = oa_form_escape(id), *es = oa_form_escape(secret);
		size_t ul = strlen(ei) + 1 + strlen(es);
		char *up = xmalloc(ul + 1);
		snprintf(up, ul + 1, "%s:%s", ei, es);
		char *b = oa_b64(up, ul, false);
		oa_req_header(req, "Authorization: Basic %s", b);
		secure_free_str(ei);
		secure_free_str(es);
		secure_free(up, ul + 1);
		secure_free_str(b);
	}
	return 0;
}

static int cc_refresh_parse(const json_t *cred, const struct oauth_http_resp *resp, int64_t now,
			    json_t **next, struct oauth_result *res)
{
	json_t *body = NULL;
	const char *access, *tt;
	int64_t in;
	bool has;
	char err[160];

	*next = NULL;
	(void)!oa_classify(resp, &body, res);
	if (res->outcome != OAUTH_OK)
		return 0;
	/* Azure AD's v1 endpoint sends expires_in as a string of digits */
	json_t *ein = json_object_get(body, "expires_in");
	if (json_is_string(ein) && json_string_length(ein) > 0 && json_string_length(ein) < 11 &&
	    strspn(json_string_value(ein), "0123456789") == json_string_length(ein))
		json_object_set_new(body, "expires_in",
				    json_integer(strtoll(json_string_value(ein), NULL, 10)));
	if (oa_string(body, "answer", "access_token", OA_REQUIRED | OA_HEADER, &access, err,
		      sizeof err) < 0 ||
	    oa_string(body, "answer", "token_type", 0, &tt, err, sizeof err) < 0 ||
	    oa_int(body, "answer", "expires_in", &in, &has, err, sizeof err) < 0) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: %.120s", err);
		goto out;
	}
	/* a DPoP or MAC token would need more than a Bearer header: asking
	 * again gets the same kind, so that is for good */
	if (tt && strcasecmp(tt, "bearer") != 0) {
		res->outcome = OAUTH_PERMANENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: answer.token_type is not Bearer");
		goto out;
	}
	if (!has || in <= 0 || in > 10LL * 366 * 24 * 3600)
		in = CC_DEFAULT_LIFETIME;
	json_t *n = json_deep_copy(cred);
	json_object_set_new(n, "access", json_string(access));
	oa_mint_times(n, now, now + in, CC_LEAD_S);
	*next = n;
	res->outcome = OAUTH_OK;
out:
	oauth_json_free(body);
	return 0;
}

static int cc_headers(const json_t *cred, const char *host, json_t *headers, json_t *strip,
		      json_t *merge)
{
	const char *access = json_str(cred, "access", NULL);
	if (!access)
		return AL_ESTATE;
	oa_add_bearer(headers, access);
	return 0;
}

const struct oauth_provider oauth_client_creds = {
	.type = "oauth-client-creds",
	.vendor_file = "the client-credentials value (token_endpoint, client_id, client_secret)",
	.default_host = NULL,
	.lead_seconds = CC_LEAD_S,
	.token_endpoints = cc_endpoints,
	.mints = true,
	.adopt = cc_adopt,
	.refresh_request = cc_refresh_request,
	.refresh_parse = cc_refresh_parse,
	.headers = cc_headers,
};
