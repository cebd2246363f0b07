/* The provider registry, the generic operations over any provider
 * (adopt, refresh scheduling, write-back, token endpoint lookup) and the
 * helpers of internal.h that the provider files share. Messages built here
 * name JSON paths and HTTP statuses, never a value. */
#include "config.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

const struct oauth_provider *const oauth_providers[] = {
	&oauth_claude, &oauth_codex, &oauth_github_copilot, &oauth_xai,
	&oauth_github_app_user, &oauth_github_app, &oauth_client_creds, NULL,
};

const struct oauth_provider *oauth_provider_find(const char *type)
{
	for (size_t i = 0; type && oauth_providers[i]; i++)
		if (strcmp(oauth_providers[i]->type, type) == 0)
			return oauth_providers[i];
	return NULL;
}

void oauth_http_req_free(struct oauth_http_req *r)
{
	free(r->method);
	free(r->url);
	free(r->content_type);
	if (r->body)
		secure_free(r->body, r->body_len);
	for (size_t i = 0; i < OAUTH_REQ_HEADERS_MAX && r->headers[i]; i++)
		secure_free_str(r->headers[i]);
	memset(r, 0, sizeof *r);
}

void oauth_http_resp_free(struct oauth_http_resp *r)
{
	if (r->body)
		secure_free(r->body, r->body_len + 1);
	free(r->retry_after);
	free(r->retry_after_ms);
	memset(r, 0, sizeof *r);
}

void oauth_json_wipe(json_t *v)
{
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_string(v)) {
		secure_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, m)
			oauth_json_wipe(m);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			oauth_json_wipe(m);
	}
}

void oauth_json_free(json_t *v)
{
	if (!v)
		return;
	oauth_json_wipe(v);
	json_decref(v);
}

/* ---- messages and field readers ---- */

void oa_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int oa_parse_object(const char *buf, size_t len, size_t cap, json_t **out, char *err,
		    size_t errlen)
{
	json_error_t jerr;

	*out = NULL;
	if (len > cap) {
		oa_err(err, errlen, "file is over %zu bytes", cap);
		return AL_ETOOBIG;
	}
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jerr.text may quote the input ("near 'sk-ant-...'"): never shown */
	secure_wipe(jerr.text, sizeof jerr.text);
	if (!v) {
		oa_err(err, errlen, "not valid JSON (line %d, column %d)", jerr.line, jerr.column);
		return AL_EINVAL;
	}
	if (!json_is_object(v)) {
		oauth_json_free(v);
		oa_err(err, errlen, "not a JSON object");
		return AL_EINVAL;
	}
	*out = v;
	return 0;
}

bool oa_header_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

int oa_string(const json_t *obj, const char *path, const char *key, unsigned flags,
	      const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!(flags & OA_REQUIRED))
			return 0;
		oa_err(err, errlen, "%s.%s: missing", path, key);
		return AL_EINVAL;
	}
	if (!json_is_string(v)) {
		oa_err(err, errlen, "%s.%s: must be a string", path, key);
		return AL_EINVAL;
	}
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		oa_err(err, errlen, "%s.%s: holds a NUL byte", path, key);
		return AL_EINVAL;
	}
	if (!*s) {
		if (!(flags & OA_REQUIRED))
			return 0;
		oa_err(err, errlen, "%s.%s: is empty", path, key);
		return AL_EINVAL;
	}
	if ((flags & OA_HEADER) && !oa_header_safe(s)) {
		oa_err(err, errlen, "%s.%s: holds characters that cannot go in a header", path, key);
		return AL_EINVAL;
	}
	*out = s;
	return 0;
}

int oa_int(const json_t *obj, const char *path, const char *key, int64_t *out, bool *present,
	   char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*present = false;
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != d || d < -9e15 || d > 9e15 || d != (double)(int64_t)d) {
			oa_err(err, errlen, "%s.%s: must be a whole number", path, key);
			return AL_EINVAL;
		}
		*out = (int64_t)d;
	} else {
		oa_err(err, errlen, "%s.%s: must be a number", path, key);
		return AL_EINVAL;
	}
	*present = true;
	return 0;
}

/* ---- base64url and JWTs ---- */

static char *b64url(const void *data, size_t len)
{
	size_t cap = 4 * ((len + 2) / 3) + 1;
	char *s = xmalloc(cap);
	if (b64_encode(data, len, true, s, cap) < 0)
		abort();   /* cap is exact: cannot happen */
	return s;
}

json_t *oa_jwt_claims(const char *token)
{
	const char *d1, *d2;
	json_t *claims = NULL;

	if (!token || !(d1 = strchr(token, '.')) || !(d2 = strchr(d1 + 1, '.')) ||
	    strchr(d2 + 1, '.') || d1 == token || d2 == d1 + 1 || !d2[1])
		return NULL;
	size_t n = (size_t)(d2 - d1 - 1);
	while (n && d1[n] == '=')   /* tolerate padding some encoders add */
		n--;
	if (n > AL_CRED_FILE_MAX)
		return NULL;
	uint8_t *buf = xmalloc(n + 1);
	int len = b64_decode(d1 + 1, n, true, buf, n + 1);
	if (len > 0) {
		claims = json_loadb((const char *)buf, (size_t)len, 0, NULL);
		if (claims && !json_is_object(claims)) {
			json_decref(claims);
			claims = NULL;
		}
	}
	secure_free(buf, n + 1);
	return claims;
}

int64_t oa_jwt_exp(const char *token)
{
	json_t *c = oa_jwt_claims(token);
	int64_t exp = 0;
	if (c) {
		json_t *e = json_object_get(c, "exp");
		if (json_is_integer(e))
			exp = json_integer_value(e);
		else if (json_is_real(e))
			exp = (int64_t)json_real_value(e);
		oauth_json_free(c);
	}
	return exp > 0 ? exp : 0;
}

char *oa_jwt_make(const json_t *header, const json_t *claims)
{
	char *h = json_dumps(header, JSON_COMPACT), *c = json_dumps(claims, JSON_COMPACT);
	if (!h || !c)
		abort();
	char *hb = b64url(h, strlen(h)), *cb = b64url(c, strlen(c));
	static const char sig[] = "airlock-placeholder";
	char *sb = b64url(sig, sizeof sig - 1);
	size_t n = strlen(hb) + strlen(cb) + strlen(sb) + 3;
	char *out = xmalloc(n);
	snprintf(out, n, "%s.%s.%s", hb, cb, sb);
	free(h);
	free(c);
	free(hb);
	free(cb);
	free(sb);
	return out;
}

char *oa_placeholder(const char *prefix, size_t n)
{
	uint8_t raw[64];
	size_t plen = strlen(prefix);
	if (n > 80)
		n = 80;
	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof raw) < 0)
		abort();
	char *enc = b64url(raw, sizeof raw);
	char *out = xmalloc(plen + n + 1);
	memcpy(out, prefix, plen);
	memcpy(out + plen, enc, n);
	out[plen + n] = '\0';
	free(enc);
	return out;
}

/* ---- form encoding ---- */

static void form_put(char **buf, size_t *len, size_t *cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*len + 4 > *cap) {
			*cap = *cap * 2 + 16;
			char *nb = xmalloc(*cap);
			memcpy(nb, *buf, *len);
			secure_free(*buf, *len);
			*buf = nb;
		}
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			(*buf)[(*len)++] = (char)*p;
		} else {
			(*buf)[(*len)++] = '%';
			(*buf)[(*len)++] = hex[*p >> 4];
			(*buf)[(*len)++] = hex[*p & 15];
		}
	}
	(*buf)[*len] = '\0';
}

char *oa_form_escape(const char *s)
{
	size_t len = 0, cap = strlen(s) + 16;
	char *buf = xmalloc(cap);
	buf[0] = '\0';
	form_put(&buf, &len, &cap, s);
	return buf;
}

char *oa_form(const char *const *kv)
{
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap);
	buf[0] = '\0';
	for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
		if (i) {
			form_put(&buf, &len, &cap, "");
			buf[len++] = '&';
			buf[len] = '\0';
		}
		form_put(&buf, &len, &cap, kv[i]);
		form_put(&buf, &len, &cap, "");
		buf[len++] = '=';
		buf[len] = '\0';
		form_put(&buf, &len, &cap, kv[i + 1]);
	}
	return buf;
}

static char *form_decode(const char *s, size_t n)
{
	char *o = xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			o[j++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && bytes_hexval(s[i + 1]) >= 0 &&
			   bytes_hexval(s[i + 2]) >= 0) {
			o[j++] = (char)(bytes_hexval(s[i + 1]) * 16 + bytes_hexval(s[i + 2]));
			i += 2;
		} else {
			o[j++] = s[i];
		}
	}
	o[j] = '\0';
	return o;
}

json_t *oa_form_parse(const char *body, size_t len)
{
	json_t *o = json_object();
	size_t i = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && body[e] != '&')
			e++;
		const char *eq = memchr(body + i, '=', e - i);
		if (eq) {
			char *k = form_decode(body + i, (size_t)(eq - body - i));
			char *v = form_decode(eq + 1, (size_t)(body + e - eq - 1));
			json_object_set_new(o, k, json_string(v));
			free(k);
			secure_free_str(v);
		}
		i = e + 1;
	}
	return o;
}

/* ---- classification ---- */

int64_t oa_retry_after(const char *ra, const char *ra_ms, int64_t now)
{
	int64_t s = 0;
	char *end;

	if (ra_ms && *ra_ms) {
		long long ms = strtoll(ra_ms, &end, 10);
		if (*end == '\0' && ms > 0)
			s = (ms + 999) / 1000;
	}
	if (!s && ra && *ra) {
		long long v = strtoll(ra, &end, 10);
		if (end != ra && *end == '\0' && v > 0) {
			s = v;
		} else {
			struct tm tm;
			memset(&tm, 0, sizeof tm);
			const char *p = strptime(ra, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			if (p && *p == '\0') {
				int64_t t = (int64_t)timegm(&tm);
				if (t > now)
					s = t - now;
			}
		}
	}
	if (s > 24 * 3600)   /* a wild value never parks a login for days */
		s = 24 * 3600;
	return s;
}

/* The error code of an OAuth error answer: "error" (string, RFC 6749),
 * "error.code" (OpenAI), or "code". */
static const char *error_code(const json_t *body)
{
	json_t *e = json_object_get(body, "error");
	if (json_is_string(e))
		return json_string_value(e);
	if (json_is_object(e) && json_is_string(json_object_get(e, "code")))
		return json_string_value(json_object_get(e, "code"));
	if (json_is_object(e) && json_is_string(json_object_get(e, "type")))
		return json_string_value(json_object_get(e, "type"));
	if (json_is_string(json_object_get(body, "code")))
		return json_string_value(json_object_get(body, "code"));
	return NULL;
}

static bool code_permanent(const char *code)
{
	static const char *const perm[] = {
		"invalid_grant", "invalid_client", "unauthorized_client", "refresh_token_expired",
		"refresh_token_reused", "refresh_token_invalidated", "invalid_refresh_token",
	};
	for (size_t i = 0; code && i < ARRAY_SIZE(perm); i++)
		if (strcmp(code, perm[i]) == 0)
			return true;
	return false;
}

/* A reason word safe to log: [A-Za-z0-9_.:-] only, capped. */
static void set_reason(struct oauth_result *res, const char *prefix, const char *code)
{
	size_t o = 0;
	int n = snprintf(res->reason, sizeof res->reason, "%s", prefix);
	o = n > 0 ? (size_t)n : 0;
	for (const char *p = code; p && *p && o + 1 < sizeof res->reason && o < 64 + strlen(prefix); p++)
		res->reason[o++] = (isalnum((unsigned char)*p) || strchr("_.:-", *p)) ? *p : '_';
	res->reason[o] = '\0';
}

int oa_classify(const struct oauth_http_resp *resp, json_t **body, struct oauth_result *res)
{
	json_t *b = NULL;
	char err[64];
	char st[32];

	memset(res, 0, sizeof *res);
	*body = NULL;
	if (resp->status == 0) {
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "network");
		return 0;
	}
	if (resp->body && resp->body_len)
		(void)!oa_parse_object(resp->body, resp->body_len, AL_OAUTH_RESPONSE_MAX, &b, err,
				       sizeof err);
	if (resp->status >= 200 && resp->status < 300) {
		if (!b) {
			res->outcome = OAUTH_TRANSIENT;
			snprintf(res->reason, sizeof res->reason, "bad-answer: not a JSON object");
			return 0;
		}
		res->outcome = OAUTH_OK;
		*body = b;
		return 0;
	}
	const char *code = b ? error_code(b) : NULL;
	snprintf(st, sizeof st, "http-%ld", resp->status);
	if (code_permanent(code)) {
		res->outcome = OAUTH_PERMANENT;
		set_reason(res, "", code);
	} else if (resp->status == 429) {
		res->outcome = OAUTH_TRANSIENT;
		res->retry_after = oa_retry_after(resp->retry_after, resp->retry_after_ms,
						  (int64_t)time(NULL));
		set_reason(res, code ? "http-429:" : "http-429", code);
	} else if (resp->status == 400 || resp->status == 401) {
		res->outcome = OAUTH_PERMANENT;
		if (code) {
			char pre[40];
			snprintf(pre, sizeof pre, "%s:", st);
			set_reason(res, pre, code);
		} else {
			set_reason(res, st, NULL);
		}
	} else {
		res->outcome = OAUTH_TRANSIENT;
		res->retry_after = oa_retry_after(resp->retry_after, resp->retry_after_ms,
						  (int64_t)time(NULL));
		set_reason(res, st, NULL);
	}
	oauth_json_free(b);
	return 0;
}

json_t *oa_scopes_from_string(const char *s)
{
	json_t *a = json_array();
	const char *p = s;
	while (p && *p) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if (e > p) {
			char *w = xstrndup(p, (size_t)(e - p));
			json_array_append_new(a, json_string(w));
			free(w);
		}
		p = e;
	}
	return a;
}

char *oa_scopes_to_string(const json_t *arr)
{
	size_t n = 1, i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v))
			n += json_string_length(v) + 1;
	char *s = xmalloc(n);
	s[0] = '\0';
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		if (s[0])
			strcat(s, " ");
		strcat(s, json_string_value(v));
	}
	return s;
}

json_t *oa_cred_new(const struct oauth_provider *p)
{
	return json_pack("{s:i, s:s}", "v", 1, "type", p->type);
}

int oa_standard_tokens(const json_t *cred, const json_t *body, int64_t now, int64_t dflt_lifetime,
		       json_t **next, struct oauth_result *res)
{
	const char *access, *refresh, *idt, *scope;
	int64_t expires_in;
	bool has_exp;
	char err[160];

	*next = NULL;
	if (oa_string(body, "answer", "access_token", OA_REQUIRED | OA_HEADER, &access, err,
		      sizeof err) < 0 ||
	    oa_string(body, "answer", "refresh_token", OA_HEADER, &refresh, err, sizeof err) < 0 ||
	    oa_string(body, "answer", "id_token", 0, &idt, err, sizeof err) < 0 ||
	    oa_string(body, "answer", "scope", 0, &scope, err, sizeof err) < 0 ||
	    oa_int(body, "answer", "expires_in", &expires_in, &has_exp, err, sizeof err) < 0) {
		/* a 200 we cannot use: the refresh token may be spent, but
		 * retrying is the only hope; the next answer says invalid_grant */
		res->outcome = OAUTH_TRANSIENT;
		snprintf(res->reason, sizeof res->reason, "bad-answer: %.120s", err);
		return 0;
	}
	json_t *n = json_deep_copy(cred);
	json_object_set_new(n, "access", json_string(access));
	if (refresh)
		json_object_set_new(n, "refresh", json_string(refresh));
	if (idt)
		json_object_set_new(n, "id_token", json_string(idt));
	if (scope)
		json_object_set_new(n, "scopes", oa_scopes_from_string(scope));
	int64_t exp = 0;
	if (has_exp && expires_in > 0 && expires_in < 10LL * 366 * 24 * 3600)
		exp = now + expires_in;
	else if ((exp = oa_jwt_exp(access)) == 0)
		exp = now + dflt_lifetime;
	json_object_set_new(n, "expires_at", json_integer(exp));
	res->outcome = OAUTH_OK;
	*next = n;
	return 0;
}

void oa_add_header(json_t *headers, const char *name, const char *value)
{
	json_array_append_new(headers, json_pack("[s,s]", name, value));
}

void oa_add_bearer(json_t *headers, const char *tok)
{
	size_t n = strlen(tok) + 8;
	char *h = xmalloc(n);
	snprintf(h, n, "Bearer %s", tok);
	oa_add_header(headers, "Authorization", h);
	secure_free(h, n);
}

void oa_req_header(struct oauth_http_req *r, const char *fmt, ...)
{
	va_list ap;
	size_t i = 0;
	while (i < OAUTH_REQ_HEADERS_MAX - 1 && r->headers[i])
		i++;
	if (i >= OAUTH_REQ_HEADERS_MAX - 1)
		abort();   /* a provider bug, not input */
	va_start(ap, fmt);
	if (vasprintf(&r->headers[i], fmt, ap) < 0)
		abort();
	va_end(ap);
}

void oa_req_json(struct oauth_http_req *r, const char *url, json_t *body)
{
	r->method = xstrdup("POST");
	r->url = xstrdup(url);
	r->content_type = xstrdup("application/json");
	r->body = json_dumps(body, JSON_COMPACT);
	if (!r->body)
		abort();
	r->body_len = strlen(r->body);
	oauth_json_free(body);
	oa_req_header(r, "Accept: application/json");
}

void oa_req_form(struct oauth_http_req *r, const char *url, char *body)
{
	r->method = xstrdup("POST");
	r->url = xstrdup(url);
	r->content_type = xstrdup("application/x-www-form-urlencoded");
	r->body = body;
	r->body_len = strlen(body);
	oa_req_header(r, "Accept: application/json");
}

/* ---- generic operations ---- */

int oauth_adopt(const struct oauth_provider *p, const char *buf, size_t len, int64_t now,
		json_t **cred, char *err, size_t errlen)
{
	*cred = NULL;
	if (len > AL_CRED_FILE_MAX) {
		oa_err(err, errlen, "%s is over %d bytes", p->vendor_file, AL_CRED_FILE_MAX);
		return AL_ETOOBIG;
	}
	return p->adopt(buf, len, now, cred, err, errlen);
}

int64_t oauth_refresh_due(const struct oauth_provider *p, const json_t *cred)
{
	const char *refresh = json_str(cred, "refresh", NULL);
	const char *gh = json_str(cred, "github_token", NULL);
	int64_t exp = json_int(cred, "expires_at", 0);
	int64_t at = json_int(cred, "refresh_at", 0);

	/* a minted token is asked for again at refresh_at, which the provider
	 * set from its lifetime; none yet: now */
	if (p->mints) {
		if (!json_str(cred, "access", NULL))
			return 0;
		return at > 0 ? at : exp > 0 ? exp - p->lead_seconds : INT64_MAX;
	}
	/* Copilot ghu_: a GET exchange stands in for a refresh */
	bool exchange = gh && strncmp(gh, "ghu_", 4) == 0;
	if (!refresh && !exchange)
		return INT64_MAX;
	if (exchange && !json_str(cred, "access", NULL))
		return 0;
	if (exp == 0)
		return 0;   /* unknown expiry: refresh now to learn it */
	int64_t due = exp - p->lead_seconds;
	if (at > 0 && at < due)
		due = at;
	/* a refresh token that itself expires (Claude's refreshTokenExpiresAt)
	 * is used while it still can be: each refresh brings a new one */
	int64_t rexp = json_int(cred, "refresh_expires_at", 0);
	if (rexp > 0 && rexp - p->lead_seconds < due)
		due = rexp - p->lead_seconds;
	return due;
}

bool oauth_access_usable(const json_t *cred, int64_t now)
{
	const char *a = json_str(cred, "access", NULL);
	int64_t exp = json_int(cred, "expires_at", 0);
	if (!a || !*a)
		return false;
	return exp == 0 || exp > now;
}

char *oauth_cred_dump(const json_t *cred)
{
	char *s = json_dumps(cred, JSON_COMPACT);
	if (!s)
		abort();
	return s;
}

int oauth_cred_load(const char *buf, size_t len, json_t **cred)
{
	char err[64];
	int ret = oa_parse_object(buf, len, AL_SECRET_VALUE_MAX * 2, cred, err, sizeof err);
	if (ret < 0)
		return ret;
	if (json_int(*cred, "v", 0) != 1 || !oauth_provider_find(json_str(*cred, "type", NULL))) {
		oauth_json_wipe(*cred);
		json_decref(*cred);
		*cred = NULL;
		return AL_EINVAL;
	}
	return 0;
}

int oauth_write_back(const struct oauth_provider *p, const json_t *cred, const char *vendor,
		     size_t vlen, int64_t now, char **out, size_t *outlen)
{
	json_t *doc = NULL;
	char err[128];
	int ret;

	*out = NULL;
	*outlen = 0;
	if (!p->write_back)
		return AL_ESTATE;
	if ((ret = oa_parse_object(vendor, vlen, AL_CRED_FILE_MAX, &doc, err, sizeof err)) < 0)
		return ret;
	if ((ret = p->write_back(cred, doc, now)) < 0)
		goto out;
	/* two-space indent and a final newline, as the vendors write */
	*out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!*out)
		abort();
	*outlen = strlen(*out);
	char *nl = xmalloc(*outlen + 2);
	memcpy(nl, *out, *outlen);
	nl[(*outlen)++] = '\n';
	nl[*outlen] = '\0';
	secure_free(*out, *outlen - 1);
	*out = nl;
out:
	oauth_json_free(doc);
	return ret;
}

const struct oauth_endpoint *oauth_token_endpoint_find(const struct oauth_provider *p,
						       const char *host, const char *path)
{
	for (size_t i = 0; oauth_providers[i]; i++) {
		if (p && oauth_providers[i] != p)
			continue;
		for (const struct oauth_endpoint *e = oauth_providers[i]->token_endpoints; e->host;
		     e++)
			if (strcmp(e->host, host) == 0 && strcmp(e->path, path) == 0)
				return e;
	}
	return NULL;
}
