/* Helpers for the credentials that mint or fetch their own tokens
 * (github-app.c, github-app-user.c, client-creds.c): base64 and base64url
 * from nettle, the RS256 JWT a GitHub App signs with GnuTLS, the check of a
 * token endpoint URL given by the user, the schedule of a minted token, the
 * GitHub header shapes, and the reader of the flat value objects these
 * types take (unknown fields refused, named by their path). Messages never
 * quote a value. No I/O. */
#include "config.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/netmatch.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"

char *oa_b64(const void *data, size_t len, bool url)
{
	struct base64_encode_ctx ctx;
	size_t cap = BASE64_ENCODE_RAW_LENGTH(len) + 1, n;
	char *out = xmalloc(cap);

	if (url)
		base64url_encode_init(&ctx);
	else
		base64_encode_init(&ctx);
	n = base64_encode_update(&ctx, out, len, data);
	n += base64_encode_final(&ctx, out + n);
	/* JWTs (RFC 7515 §2) use base64url without its padding */
	while (url && n && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	return out;
}

/* ---- RS256 ---- */

int oa_rsa_key_load(const char *pem, gnutls_privkey_t *key, char *err, size_t errlen,
		    const char *path)
{
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned)strlen(pem) };
	unsigned bits = 0;

	*key = NULL;
	if (gnutls_privkey_init(key) < 0)
		abort();
	/* gnutls error texts do not quote the input, but a message here says
	 * only what is wrong with it */
	if (gnutls_privkey_import_x509_raw(*key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
		oa_err(err, errlen, "%s: not a PEM private key without a passphrase", path);
		goto bad;
	}
	if (gnutls_privkey_get_pk_algorithm(*key, &bits) != GNUTLS_PK_RSA) {
		oa_err(err, errlen, "%s: not an RSA key (GitHub Apps sign with RS256)", path);
		goto bad;
	}
	if (bits < 2048) {
		oa_err(err, errlen, "%s: an RSA key of %u bits (at least 2048)", path, bits);
		goto bad;
	}
	return 0;
bad:
	gnutls_privkey_deinit(*key);
	*key = NULL;
	return AL_EINVAL;
}

char *oa_jwt_rs256(gnutls_privkey_t key, const json_t *claims)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	char *c = json_dumps(claims, JSON_COMPACT);
	if (!c)
		abort();
	char *hb = oa_b64(header, sizeof header - 1, true), *cb = oa_b64(c, strlen(c), true);
	free(c);
	size_t silen = strlen(hb) + 1 + strlen(cb);
	char *signing = xmalloc(silen + 1);
	snprintf(signing, silen + 1, "%s.%s", hb, cb);
	free(hb);
	free(cb);
	gnutls_datum_t data = { (unsigned char *)signing, (unsigned)silen }, sig = { NULL, 0 };
	/* an RSA key with SHA-256 signs PKCS#1 v1.5: RS256 (RFC 7518 §3.3) */
	if (gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0, &data, &sig) < 0) {
		free(signing);
		return NULL;
	}
	char *sb = oa_b64(sig.data, sig.size, true);
	gnutls_free(sig.data);
	size_t n = silen + 1 + strlen(sb) + 1;
	char *jwt = xmalloc(n);
	snprintf(jwt, n, "%s.%s", signing, sb);
	free(signing);
	free(sb);
	return jwt;
}

/* ---- a user's token endpoint ---- */

int oa_https_url_check(const char *url, char host[AL_HOST_BUF])
{
	enum host_kind kind;

	if (!url || strncmp(url, "https://", 8) != 0)
		return AL_EINVAL;
	for (const unsigned char *q = (const unsigned char *)url; *q; q++)
		if (*q <= 0x20 || *q >= 0x7f || *q == '#' || *q == '\\')
			return AL_EINVAL;
	const char *p = url + 8;
	size_t n = strcspn(p, "/?");
	if (memchr(p, '@', n))   /* userinfo would be sent as credentials of its own */
		return AL_EINVAL;
	const char *colon = memchr(p, ':', n);
	size_t hn = colon ? (size_t)(colon - p) : n;
	if (colon) {
		char port[8];
		uint16_t v;
		size_t pn = n - hn - 1;
		if (pn == 0 || pn >= sizeof port)
			return AL_EINVAL;
		memcpy(port, colon + 1, pn);
		port[pn] = '\0';
		if (port_parse(port, &v) < 0)
			return AL_EINVAL;
	}
	/* a name, never an address: the host is what --resolve pins and what
	 * the certificate must name */
	if (host_canon(p, hn, host, &kind) < 0 || kind != HOST_DNS)
		return AL_EINVAL;
	if (p[n] != '/')
		return AL_EINVAL;
	return 0;
}

/* ---- minted tokens ---- */

/* A token asked for again sooner than this is a loop, not a schedule. */
#define MINT_MIN_INTERVAL_S 5

void oa_mint_times(json_t *next, int64_t now, int64_t exp, int64_t lead)
{
	int64_t life = exp - now;
	/* lead before expiry, but never more than a quarter of the lifetime:
	 * a 60 s token is asked for again after 45 s, not at once */
	int64_t ahead = life / 4 < lead ? life / 4 : lead;
	int64_t at = exp - ahead;
	if (at < now + MINT_MIN_INTERVAL_S)
		at = now + MINT_MIN_INTERVAL_S;
	json_object_set_new(next, "expires_at", json_integer(exp));
	json_object_set_new(next, "refresh_at", json_integer(at));
}

/* ---- GitHub ---- */

void oa_github_headers(const char *tok, const char *host, json_t *headers)
{
	if (strcmp(host, OA_GITHUB_GIT_HOST) != 0) {
		oa_add_bearer(headers, tok);
		return;
	}
	/* Git over HTTPS takes the token as the password of Basic auth; GitHub
	 * documents x-access-token as the user name */
	static const char user[] = "x-access-token:";
	size_t n = sizeof user - 1 + strlen(tok);
	char *up = xmalloc(n + 1);
	snprintf(up, n + 1, "%s%s", user, tok);
	char *b = oa_b64(up, n, false);
	size_t hn = strlen(b) + 7;
	char *h = xmalloc(hn);
	snprintf(h, hn, "Basic %s", b);
	oa_add_header(headers, "Authorization", h);
	secure_free(up, n + 1);
	secure_free_str(b);
	secure_free(h, hn);
}

/* ---- flat value objects ---- */

int oa_fields_known(const json_t *obj, const char *const *known, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		size_t i = 0;
		while (known[i] && strcmp(known[i], k) != 0)
			i++;
		if (known[i])
			continue;
		/* a field name is named when it looks like one: a pasted value
		 * in its place is never echoed */
		bool plain = strlen(k) <= 40;
		for (const char *p = k; plain && *p; p++)
			plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				(*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
		if (plain && *k)
			oa_err(err, errlen, ".%s: unknown field", k);
		else
			oa_err(err, errlen, "a field name that is not one of this type's");
		return AL_EINVAL;
	}
	return 0;
}

int oa_id_string(const json_t *obj, const char *key, char out[OA_ID_MAX + 1], bool *present,
		 char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*present = false;
	out[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) <= 0) {
			oa_err(err, errlen, ".%s: must be a positive number", key);
			return AL_EINVAL;
		}
		snprintf(out, OA_ID_MAX + 1, "%lld", (long long)json_integer_value(v));
		*present = true;
		return 0;
	}
	if (!json_is_string(v)) {
		oa_err(err, errlen, ".%s: must be a number or a string", key);
		return AL_EINVAL;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0 || n > OA_ID_MAX || strlen(s) != n) {
		oa_err(err, errlen, ".%s: 1 to %d characters", key, OA_ID_MAX);
		return AL_EINVAL;
	}
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-')) {
			oa_err(err, errlen, ".%s: only A-Z a-z 0-9 . _ -", key);
			return AL_EINVAL;
		}
	memcpy(out, s, n + 1);
	*present = true;
	return 0;
}

int oa_parse_value(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	/* a JSON object starts with a brace; YAML's flow mappings do too, and
	 * JSON is the stricter reading of those */
	if ((i < len && buf[i] == '{') || len > AL_CRED_FILE_MAX)
		return oa_parse_object(buf, len, AL_CRED_FILE_MAX, out, err, errlen);
	return oa_yaml_object(buf, len, out, err, errlen);
}
