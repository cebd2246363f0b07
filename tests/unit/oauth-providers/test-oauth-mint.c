/* oauth-providers for the minting types (github-app, github-app-user,
 * oauth-client-creds) and their helpers in mint.c: base64 from nettle
 * against RFC 4648's vectors, the App JWT's shape and RS256 signature
 * (verified with the public half by GnuTLS), token endpoint URLs, the
 * schedule of minted tokens, GitHub's two header shapes, adoption rows
 * (messages name the field and never quote the value), the requests built,
 * and how each answer is read (GitHub's 200 errors, discovery of exactly
 * one installation, client-credentials token types). */
#include "config.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jsonutil.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"
#include "oauth-providers/provider.h"
#include "tests/unit/unit.h"

#define NOW 1800000000LL

static char *rsa_pem;   /* PKCS#1, as GitHub hands App keys out */
static char *rsa8_pem;  /* PKCS#8 */
static char *ec_pem;

static char *export_key(gnutls_x509_privkey_t k, bool pkcs8)
{
	gnutls_datum_t d = { NULL, 0 };
	int r = pkcs8 ? gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d)
		      : gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &d);
	CHECK(r == 0, "export");
	char *s = xstrndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static void keys_make(void)
{
	gnutls_x509_privkey_t k;
	CHECK(gnutls_x509_privkey_init(&k) == 0);
	CHECK(gnutls_x509_privkey_generate(k, GNUTLS_PK_RSA, 2048, 0) == 0, "rsa keygen");
	rsa_pem = export_key(k, false);
	rsa8_pem = export_key(k, true);
	gnutls_x509_privkey_deinit(k);
	CHECK(gnutls_x509_privkey_init(&k) == 0);
	CHECK(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
					   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) == 0);
	ec_pem = export_key(k, false);
	gnutls_x509_privkey_deinit(k);
	CHECK(strstr(rsa_pem, "BEGIN RSA PRIVATE KEY") != NULL, "PKCS#1 PEM");
}

static void test_b64(void)
{
	static const struct { const char *in, *std, *url; } rows[] = {
		{ "", "", "" },
		{ "f", "Zg==", "Zg" },
		{ "fo", "Zm8=", "Zm8" },
		{ "foo", "Zm9v", "Zm9v" },
		{ "foob", "Zm9vYg==", "Zm9vYg" },
		{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
		{ "\xfb\xff\xbf", "+/+/", "-_-_" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *s = oa_b64(rows[i].in, strlen(rows[i].in), false);
		char *u = oa_b64(rows[i].in, strlen(rows[i].in), true);
		CHECK_STR(s, rows[i].std, "base64");
		CHECK_STR(u, rows[i].url, "base64url, no padding");
		free(s);
		free(u);
	}
}

static json_t *b64url_json(const char *s, size_t n)
{
	uint8_t buf[4096];
	int len = b64_decode(s, n, true, buf, sizeof buf);
	return len > 0 ? json_loadb((const char *)buf, (size_t)len, 0, NULL) : NULL;
}

static void test_jwt(void)
{
	gnutls_privkey_t key;
	gnutls_pubkey_t pub;
	char err[128];

	CHECK(oa_rsa_key_load(rsa_pem, &key, err, sizeof err, ".private_key") == 0, "load: %s", err);
	json_t *claims = json_pack("{s:I, s:I, s:I}", "iat", (json_int_t)NOW - 60, "exp",
				   (json_int_t)NOW + 540, "iss", (json_int_t)12345);
	char *jwt = oa_jwt_rs256(key, claims);
	CHECK(jwt != NULL, "signed");
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	CHECK(d1 && d2 && !strchr(d2 + 1, '.') && !strchr(jwt, '='), "three unpadded parts");
	json_t *h = b64url_json(jwt, (size_t)(d1 - jwt)), *c = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1));
	CHECK_STR(json_str(h, "alg", NULL), "RS256", "alg");
	CHECK_STR(json_str(h, "typ", NULL), "JWT", "typ");
	CHECK(json_int(c, "iss", 0) == 12345 && json_int(c, "exp", 0) == NOW + 540, "claims");
	/* the signature verifies with the public half: RSA PKCS#1 v1.5, SHA-256 */
	uint8_t sig[512];
	int sl = b64_decode(d2 + 1, strlen(d2 + 1), true, sig, sizeof sig);
	CHECK(sl == 256, "a 2048-bit signature: %d", sl);
	CHECK(gnutls_pubkey_init(&pub) == 0 && gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0);
	gnutls_datum_t data = { (unsigned char *)jwt, (unsigned)(d2 - jwt) };
	gnutls_datum_t sd = { sig, (unsigned)sl };
	CHECK(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sd) >= 0, "verifies");
	sig[10] ^= 1;
	CHECK(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sd) < 0,
	      "a flipped bit does not");
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(key);
	json_decref(h);
	json_decref(c);
	json_decref(claims);
	free(jwt);

	CHECK(oa_rsa_key_load(rsa8_pem, &key, err, sizeof err, ".k") == 0, "PKCS#8 loads");
	gnutls_privkey_deinit(key);
	CHECK(oa_rsa_key_load(ec_pem, &key, err, sizeof err, ".k") < 0 && strstr(err, "not an RSA key"),
	      "EC refused: %s", err);
	CHECK(oa_rsa_key_load("-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----\n",
			      &key, err, sizeof err, ".k") < 0 && !strstr(err, "QUJD"),
	      "garbage refused, not quoted: %s", err);
}

static void test_urls(void)
{
	static const struct { const char *url; bool ok; const char *host; } rows[] = {
		{ "https://auth.example.com/oauth2/token", true, "auth.example.com" },
		{ "https://Auth.Example.COM:8443/realms/x/protocol/openid-connect/token", true,
		  "auth.example.com" },
		{ "https://login.microsoftonline.com/tenant/oauth2/v2.0/token?x=1", true,
		  "login.microsoftonline.com" },
		{ "http://auth.example.com/token", false, NULL },
		{ "https://127.0.0.1/token", false, NULL },
		{ "https://[::1]/token", false, NULL },
		{ "https://user:pw@auth.example.com/token", false, NULL },
		{ "https://auth.example.com/token#x", false, NULL },
		{ "https://auth.example.com", false, NULL },
		{ "https://auth.example.com?x", false, NULL },
		{ "https://auth.example.com:0/t", false, NULL },
		{ "https://auth.example.com:65536/t", false, NULL },
		{ "https://auth.example.com:/t", false, NULL },
		{ "https://auth.example.com/t t", false, NULL },
		{ "https://auth.example.com/t\\x", false, NULL },
		{ "https://auth_x.example.com/t", false, NULL },
		{ "https:///t", false, NULL },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char host[AL_HOST_BUF];
		int r = oa_https_url_check(rows[i].url, host);
		CHECK((r == 0) == rows[i].ok, "url row %zu", i);
		if (r == 0)
			CHECK_STR(host, rows[i].host, "host");
	}
}

static void test_mint_times(void)
{
	static const struct { int64_t life, lead, at; } rows[] = {
		{ 3600, 300, NOW + 3300 },   /* an hour: 5 minutes ahead */
		{ 60, 300, NOW + 45 },       /* a minute: a quarter ahead, not at once */
		{ 8, 300, NOW + 6 },
		{ 2, 300, NOW + 5 },         /* never sooner than 5 s */
		{ 0, 300, NOW + 5 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		json_t *n = json_object();
		oa_mint_times(n, NOW, NOW + rows[i].life, rows[i].lead);
		CHECK(json_int(n, "refresh_at", 0) == rows[i].at, "row %zu: %lld", i,
		      (long long)json_int(n, "refresh_at", 0));
		CHECK(json_int(n, "expires_at", 0) == NOW + rows[i].life, "expiry row %zu", i);
		json_decref(n);
	}
}

static const char *hdr(json_t *headers, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(headers, i, p)
		if (strcasecmp(json_string_value(json_array_get(p, 0)), name) == 0)
			return json_string_value(json_array_get(p, 1));
	return NULL;
}

static void test_github_headers(void)
{
	json_t *h = json_array();
	oa_github_headers("ghs_T", "github.com", h);
	/* base64("x-access-token:ghs_T") */
	CHECK_STR(hdr(h, "Authorization"), "Basic eC1hY2Nlc3MtdG9rZW46Z2hzX1Q=", "git");
	json_decref(h);
	h = json_array();
	oa_github_headers("ghs_T", "api.github.com", h);
	CHECK_STR(hdr(h, "Authorization"), "Bearer ghs_T", "api");
	json_decref(h);
}

static json_t *adopt(const struct oauth_provider *p, const char *v, char *err, size_t errlen)
{
	json_t *c = NULL;
	err[0] = '\0';
	if (oauth_adopt(p, v, strlen(v), NOW, &c, err, errlen) < 0)
		return NULL;
	return c;
}

static void test_adopt(void)
{
	static const struct {
		const struct oauth_provider *p;
		const char *value, *want;   /* want: NULL = accepted, else in the message */
	} rows[] = {
		{ &oauth_github_app, "{\"app_id\":1,\"private_key_file\":\"/k.pem\"}", NULL },
		{ &oauth_github_app, "{\"app_id\":\"Iv1.abc\",\"private_key_file\":\"/k.pem\",\"installation_id\":\"7\"}", NULL },
		{ &oauth_github_app, "{\"app_id\":1,\"private_key_file\":\"k.pem\"}", ".private_key_file: an absolute" },
		{ &oauth_github_app, "{\"app_id\":1,\"private_key_file\":\"/a b\"}", ".private_key_file: an absolute" },
		{ &oauth_github_app, "{\"app_id\":1}", ".private_key_file: missing" },
		{ &oauth_github_app, "{\"app_id\":true,\"private_key_file\":\"/k\"}", ".app_id: must be a number or a string" },
		{ &oauth_github_app, "{\"app_id\":\"\",\"private_key_file\":\"/k\"}", ".app_id: 1 to" },
		{ &oauth_github_app, "{\"app_id\":1,\"private_key_file\":\"/k\",\"installation_id\":0}", ".installation_id: must be a positive" },
		{ &oauth_github_app, "{\"app_id\":1,\"private_key_file\":\"/k\",\"private_key\":\"x\"}", "not both" },
		{ &oauth_github_app, "{\"app_id\":1,\"private_key\":\"SECRETPEM\"}", ".private_key: not a PEM" },
		{ &oauth_github_app, "{\"app_id\":1,\"private_key_file\":\"/k\",\"SECRET=ghs_x\":1}", "a field name" },
		{ &oauth_github_app, "[1]", "line 1: only key: value pairs" },
		/* YAML: key: value pairs only */
		{ &oauth_github_app, "app_id: 1\nprivate_key_file: /k.pem\n", NULL },
		{ &oauth_github_app, "# the App\n---\napp_id: \"Iv1.abc\"\ninstallation_id: 7\nprivate_key_file: '/k.pem'\n", NULL },
		{ &oauth_github_app, "{app_id: 1, private_key_file: /k.pem}", "not valid JSON" },
		{ &oauth_github_app, "- 1\n- 2\n", "line 1: only key: value pairs" },
		{ &oauth_github_app, "app_id: &a 1\nprivate_key_file: *a\n", "anchors and tags" },
		{ &oauth_github_app, "app_id:\n  nested: 1\n", "line 2: only key: value pairs" },
		{ &oauth_github_app, "app_id: 1\napp_id: 2\nprivate_key_file: /k\n", "line 2: a key given twice" },
		{ &oauth_github_app, "app_id: 1\nprivate_key_file: /k\n---\napp_id: 2\n", "one document only" },
		{ &oauth_github_app, "app_id: !!str 1\nprivate_key_file: /k\n", "anchors and tags" },
		{ &oauth_github_app, "%YAML 1.1\n---\napp_id: 1\n", "directives" },
		{ &oauth_github_app, "app_id: 1\nprivate_key_file: SECRET: x\n", "not valid YAML (line 2" },
		{ &oauth_github_app, "just SECRET text", "the value must be a mapping" },
		{ &oauth_github_app, "", "not a mapping" },
		{ &oauth_github_app, "app_id: 1\nprivate_key_file: ~\n", ".private_key_file: missing" },
		{ &oauth_client_creds, "token_endpoint: https://idp.example/t\nclient_id: c\nclient_secret: \"s p+/&%\"\nscope: read write\n", NULL },
		{ &oauth_github_app_user, "{\"access_token\":\"ghu_A\"}", NULL },
		{ &oauth_github_app_user, "{\"access_token\":\"ghu_A\",\"refresh_token\":\"ghr_R\",\"client_id\":\"Iv1.x\",\"client_secret\":\"S\",\"expires_in\":28800,\"refresh_token_expires_in\":15811200,\"scope\":\"\",\"token_type\":\"bearer\"}", NULL },
		{ &oauth_github_app_user, "{\"access_token\":\"ghu_A\",\"refresh_token\":\"ghr_R\"}", ".client_id: missing" },
		{ &oauth_github_app_user, "{\"access_token\":\"ghu_A\",\"refresh_token\":\"ghr_R\",\"client_id\":\"i\"}", ".client_secret: missing" },
		{ &oauth_github_app_user, "{\"access_token\":\"ghu_SECRET x\"}", ".access_token: holds characters" },
		{ &oauth_github_app_user, "{\"access_token\":\"a\",\"expires_at\":\"2027-13-01T00:00:00Z\"}", ".expires_at: not an RFC 3339" },
		{ &oauth_client_creds, "{\"token_endpoint\":\"https://idp.example/t\",\"client_id\":\"c\",\"client_secret\":\"s p+/&%\"}", NULL },
		{ &oauth_client_creds, "{\"token_endpoint\":\"https://idp.example/t\",\"client_id\":\"c\",\"client_secret\":\"s\",\"token_endpoint_auth_method\":\"client_secret_post\",\"scope\":\"a b\",\"audience\":\"https://api/\"}", NULL },
		{ &oauth_client_creds, "{\"token_endpoint\":\"https://10.0.0.1/t\",\"client_id\":\"c\",\"client_secret\":\"s\"}", ".token_endpoint: must be" },
		{ &oauth_client_creds, "{\"token_endpoint\":\"https://idp.example/t\",\"client_id\":\"c\",\"client_secret\":\"s\\u00e9\"}", ".client_secret: holds control characters or non-ASCII" },
		{ &oauth_client_creds, "{\"token_endpoint\":\"https://idp.example/t\",\"client_id\":\"c\"}", ".client_secret: missing" },
		{ &oauth_client_creds, "{\"token_endpoint\":\"https://idp.example/t\",\"client_id\":\"c\",\"client_secret\":\"s\",\"token_endpoint_auth_method\":\"none\"}", ".token_endpoint_auth_method" },
		{ &oauth_client_creds, "{\"type\":\"github-app\",\"token_endpoint\":\"https://idp.example/t\",\"client_id\":\"c\",\"client_secret\":\"s\"}", ".type: must be" },
	};
	char err[256];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		json_t *c = adopt(rows[i].p, rows[i].value, err, sizeof err);
		if (!rows[i].want) {
			CHECK(c != NULL, "row %zu accepted: %s", i, err);
		} else {
			CHECK(c == NULL && strstr(err, rows[i].want), "row %zu: %s", i, err);
			CHECK(!strstr(err, "SECRET") && !strstr(err, "ghr_") && !strstr(err, "s p+"),
			      "row %zu quotes no value: %s", i, err);
		}
		oauth_json_free(c);
	}
	/* a YAML block holds the PEM as GitHub hands it out */
	size_t yl = strlen(rsa_pem) * 2 + 64;
	char *y = xmalloc(yl), *o = y;
	o += sprintf(o, "app_id: 12345\nprivate_key: |\n");
	for (const char *l = rsa_pem; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		o += sprintf(o, "  %.*s\n", (int)n, l);
		l += n + (nl ? 1 : 0);
	}
	json_t *yc = adopt(&oauth_github_app, y, err, sizeof err);
	CHECK(yc && strcmp(json_str(yc, "private_key", ""), rsa_pem) == 0 &&
	      strcmp(json_str(yc, "app_id", ""), "12345") == 0, "YAML block PEM: %s", err);
	oauth_json_free(yc);
	free(y);
	/* an inline key is checked at adoption */
	json_t *v = json_pack("{s:i, s:s}", "app_id", 5, "private_key", rsa_pem);
	char *vs = json_dumps(v, 0);
	json_t *c = adopt(&oauth_github_app, vs, err, sizeof err);
	CHECK(c && json_str(c, "private_key", NULL) && json_int(c, "expires_at", -1) == 0, "inline: %s", err);
	CHECK(oauth_refresh_due(&oauth_github_app, c) == 0, "no token yet: due now");
	json_object_set_new(c, "access", json_string("ghs_A"));
	json_object_set_new(c, "expires_at", json_integer(NOW + 3600));
	json_object_set_new(c, "refresh_at", json_integer(NOW + 3300));
	CHECK(oauth_refresh_due(&oauth_github_app, c) == NOW + 3300, "due at refresh_at");
	CHECK(oauth_access_usable(c, NOW) && !oauth_access_usable(c, NOW + 3600), "usable until expiry");
	oauth_json_free(c);
	json_decref(v);
	free(vs);
}

static struct oauth_http_req request_of(const struct oauth_provider *p, const char *value)
{
	struct oauth_http_req r;
	char err[256];
	memset(&r, 0, sizeof r);
	json_t *c = adopt(p, value, err, sizeof err);
	CHECK(c && p->refresh_request(c, &r) == 0, "request for %s: %s", p->type, err);
	oauth_json_free(c);
	return r;
}

static const char *req_header(const struct oauth_http_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < OAUTH_REQ_HEADERS_MAX && r->headers[i]; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
			return r->headers[i] + n + 2;
	return NULL;
}

static void test_requests(void)
{
	json_t *v = json_pack("{s:i, s:s}", "app_id", 5, "private_key", rsa_pem);
	char *vs = json_dumps(v, 0);
	struct oauth_http_req r = request_of(&oauth_github_app, vs);
	CHECK_STR(r.method, "GET", "discovery is a GET");
	CHECK_STR(r.url, "https://api.github.com/app/installations?per_page=2", "discovery url");
	CHECK(req_header(&r, "Authorization") && strncmp(req_header(&r, "Authorization"), "Bearer ey", 9) == 0,
	      "Bearer JWT");
	CHECK_STR(req_header(&r, "Accept"), "application/vnd.github+json", "accept");
	CHECK(req_header(&r, "User-Agent") != NULL, "user agent");
	oauth_http_req_free(&r);
	json_object_set_new(v, "installation_id", json_integer(42));
	free(vs);
	vs = json_dumps(v, 0);
	r = request_of(&oauth_github_app, vs);
	CHECK_STR(r.method, "POST", "mint is a POST");
	CHECK_STR(r.url, "https://api.github.com/app/installations/42/access_tokens", "mint url");
	oauth_http_req_free(&r);
	json_decref(v);
	free(vs);

	r = request_of(&oauth_github_app_user, "{\"access_token\":\"a\",\"refresh_token\":\"ghr_R\","
					       "\"client_id\":\"Iv1.x\",\"client_secret\":\"S+\"}");
	CHECK_STR(r.url, "https://github.com/login/oauth/access_token", "ghu url");
	CHECK_STR(r.body, "client_id=Iv1.x&client_secret=S%2B&grant_type=refresh_token&refresh_token=ghr_R",
		  "ghu form");
	CHECK_STR(req_header(&r, "Accept"), "application/json", "ghu json");
	oauth_http_req_free(&r);

	/* Basic with the id and secret form-encoded first (RFC 6749 §2.3.1) */
	r = request_of(&oauth_client_creds, "{\"token_endpoint\":\"https://idp.example/t\","
					    "\"client_id\":\"a b\",\"client_secret\":\"p:w+\",\"scope\":\"r w\"}");
	CHECK_STR(r.url, "https://idp.example/t", "cc url");
	CHECK_STR(r.body, "grant_type=client_credentials&scope=r%20w", "cc body without the secret");
	const char *auth = req_header(&r, "Authorization");
	uint8_t dec[128];
	int n = auth ? b64_decode(auth + 6, strlen(auth + 6), false, dec, sizeof dec) : -1;
	CHECK(n > 0 && (size_t)n == strlen("a%20b:p%3Aw%2B") && memcmp(dec, "a%20b:p%3Aw%2B", (size_t)n) == 0,
	      "Basic of the encoded id and secret");
	oauth_http_req_free(&r);
	r = request_of(&oauth_client_creds, "{\"token_endpoint\":\"https://idp.example/t\","
					    "\"client_id\":\"c\",\"client_secret\":\"s\",\"audience\":\"https://api/\","
					    "\"token_endpoint_auth_method\":\"client_secret_post\"}");
	CHECK_STR(r.body, "grant_type=client_credentials&audience=https%3A%2F%2Fapi%2F&client_id=c&client_secret=s",
		  "cc post body");
	CHECK(req_header(&r, "Authorization") == NULL, "no Basic with client_secret_post");
	oauth_http_req_free(&r);
}

static void test_parse(void)
{
	static const struct {
		const struct oauth_provider *p;
		const char *cred;
		long status;
		const char *ra, *body;
		enum oauth_outcome want;
		const char *reason;          /* prefix of res.reason, or NULL */
		const char *field;           /* in next: a string field's value "key=value" */
	} rows[] = {
		/* github-app discovery */
		{ &oauth_github_app, "{}", 200, NULL, "[{\"id\":77,\"account\":{}}]", OAUTH_OK, NULL, "installation_id=77" },
		{ &oauth_github_app, "{}", 200, NULL, "[]", OAUTH_PERMANENT, "no-installation", NULL },
		{ &oauth_github_app, "{}", 200, NULL, "[{\"id\":1},{\"id\":2}]", OAUTH_PERMANENT, "several-installations", NULL },
		{ &oauth_github_app, "{}", 200, NULL, "{\"id\":1}", OAUTH_TRANSIENT, "bad-answer", NULL },
		{ &oauth_github_app, "{}", 401, NULL, "{\"message\":\"A JSON web token could not be decoded\"}", OAUTH_PERMANENT, "http-401", NULL },
		/* github-app mint */
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 201, NULL, "{\"token\":\"ghs_N\",\"expires_at\":\"2027-01-15T08:00:00Z\",\"permissions\":{}}", OAUTH_OK, NULL, "access=ghs_N" },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 201, NULL, "{\"token\":\"ghs_N\",\"expires_at\":\"soon\"}", OAUTH_TRANSIENT, "bad-answer", NULL },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 201, NULL, "{\"expires_at\":\"2027-01-15T08:00:00Z\"}", OAUTH_TRANSIENT, "bad-answer", NULL },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 404, NULL, "{\"message\":\"Not Found\"}", OAUTH_PERMANENT, "http-404", NULL },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 403, NULL, "{\"message\":\"suspended\"}", OAUTH_PERMANENT, "http-403", NULL },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 403, "60", "{\"message\":\"secondary rate limit\"}", OAUTH_TRANSIENT, NULL, NULL },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 422, NULL, "{\"message\":\"x\"}", OAUTH_PERMANENT, "http-422", NULL },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 502, NULL, "", OAUTH_TRANSIENT, "http-502", NULL },
		{ &oauth_github_app, "{\"installation_id\":\"9\"}", 0, NULL, NULL, OAUTH_TRANSIENT, "network", NULL },
		/* github-app-user: GitHub's errors come with 200 */
		{ &oauth_github_app_user, "{\"refresh\":\"ghr_R\"}", 200, NULL, "{\"error\":\"bad_refresh_token\",\"error_description\":\"x\"}", OAUTH_PERMANENT, "bad_refresh_token", NULL },
		{ &oauth_github_app_user, "{\"refresh\":\"ghr_R\"}", 200, NULL, "{\"error\":\"incorrect_client_credentials\"}", OAUTH_PERMANENT, "incorrect_client_credentials", NULL },
		{ &oauth_github_app_user, "{\"refresh\":\"ghr_R\"}", 200, NULL, "{\"error\":\"slow_down\"}", OAUTH_TRANSIENT, "http-200", NULL },
		{ &oauth_github_app_user, "{\"refresh\":\"ghr_R\"}", 200, NULL, "{\"access_token\":\"ghu_N\",\"expires_in\":28800,\"refresh_token\":\"ghr_N\",\"refresh_token_expires_in\":100,\"scope\":\"\",\"token_type\":\"bearer\"}", OAUTH_OK, NULL, "refresh=ghr_N" },
		/* client credentials */
		{ &oauth_client_creds, "{}", 200, NULL, "{\"access_token\":\"T\",\"token_type\":\"Bearer\",\"expires_in\":300}", OAUTH_OK, NULL, "access=T" },
		{ &oauth_client_creds, "{}", 200, NULL, "{\"access_token\":\"T\",\"token_type\":\"bearer\",\"expires_in\":\"3599\"}", OAUTH_OK, NULL, "access=T" },
		{ &oauth_client_creds, "{}", 200, NULL, "{\"access_token\":\"T\",\"token_type\":\"DPoP\"}", OAUTH_PERMANENT, "bad-answer", NULL },
		{ &oauth_client_creds, "{}", 200, NULL, "{\"token_type\":\"Bearer\"}", OAUTH_TRANSIENT, "bad-answer", NULL },
		{ &oauth_client_creds, "{}", 401, NULL, "{\"error\":\"invalid_client\"}", OAUTH_PERMANENT, "invalid_client", NULL },
		{ &oauth_client_creds, "{}", 400, NULL, "{\"error\":\"invalid_scope\"}", OAUTH_PERMANENT, "http-400", NULL },
		{ &oauth_client_creds, "{}", 503, "7", "{}", OAUTH_TRANSIENT, "http-503", NULL },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct oauth_http_resp resp = { 0 };
		struct oauth_result res;
		json_t *c = json_loads(rows[i].cred, 0, NULL), *next = NULL;
		resp.status = rows[i].status;
		if (rows[i].body) {
			resp.body = xstrdup(rows[i].body);
			resp.body_len = strlen(rows[i].body);
		}
		if (rows[i].ra)
			resp.retry_after = xstrdup(rows[i].ra);
		CHECK(rows[i].p->refresh_parse(c, &resp, NOW, &next, &res) == 0, "row %zu", i);
		CHECK(res.outcome == rows[i].want, "row %zu outcome %d (%s)", i, res.outcome, res.reason);
		if (rows[i].reason)
			CHECK(strncmp(res.reason, rows[i].reason, strlen(rows[i].reason)) == 0,
			      "row %zu reason %s", i, res.reason);
		CHECK((next != NULL) == (rows[i].want == OAUTH_OK), "row %zu next", i);
		if (rows[i].field) {
			char key[32];
			const char *eq = strchr(rows[i].field, '=');
			snprintf(key, sizeof key, "%.*s", (int)(eq - rows[i].field), rows[i].field);
			CHECK_STR(json_str(next, key, NULL), eq + 1, "next field");
		}
		if (next && rows[i].p->mints && json_str(next, "access", NULL))
			CHECK(json_int(next, "refresh_at", 0) > NOW &&
			      json_int(next, "refresh_at", 0) < json_int(next, "expires_at", 0),
			      "row %zu: minted again before expiry", i);
		oauth_http_resp_free(&resp);
		json_decref(next);
		json_decref(c);
	}
}

int main(void)
{
	keys_make();
	test_b64();
	test_jwt();
	test_urls();
	test_mint_times();
	test_github_headers();
	test_adopt();
	test_requests();
	test_parse();
	free(rsa_pem);
	free(rsa8_pem);
	free(ec_pem);
	return unit_finish("test-oauth-mint");
}
