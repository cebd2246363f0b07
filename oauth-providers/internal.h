/* Helpers shared by the provider files (not part of the interface): field
 * readers whose messages name the JSON path and never a value, unsigned JWT
 * encode/decode, form encoding, placeholder tokens, and the failure
 * classification every token endpoint shares (provider.c), and what the
 * minting types share (mint.c). */
#ifndef AIRLOCK_OAUTH_INTERNAL_H
#define AIRLOCK_OAUTH_INTERNAL_H

#include <gnutls/abstract.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/netmatch.h"
#include "oauth-providers/provider.h"

void oa_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse a vendor file or an endpoint answer as a JSON object. The message
 * gives line and column only (jansson's text can quote the input). */
int oa_parse_object(const char *buf, size_t len, size_t cap, json_t **out, char *err,
		    size_t errlen) AL_MUST_CHECK;

/* Flags for oa_string. */
#define OA_REQUIRED 1u
#define OA_HEADER   2u   /* will become (part of) a header value: no controls, no spaces */
/* obj[key] as a string. *out NULL when absent and not required.
 * Messages: "PATH.key: missing", "... must be a string", "... is empty",
 * "... holds characters that cannot go in a header". */
int oa_string(const json_t *obj, const char *path, const char *key, unsigned flags,
	      const char **out, char *err, size_t errlen) AL_MUST_CHECK;
/* obj[key] as an integer (JSON integer, or a real with no fraction).
 * *present false when absent (not an error). */
int oa_int(const json_t *obj, const char *path, const char *key, int64_t *out, bool *present,
	   char *err, size_t errlen) AL_MUST_CHECK;

bool oa_header_safe(const char *s);

/* The JSON payload of a JWT (three non-empty base64url parts), or NULL. */
json_t *oa_jwt_claims(const char *token);
/* exp claim of a JWT, 0 when not a JWT or no exp. */
int64_t oa_jwt_exp(const char *token);
/* An unsigned JWT-shaped token: header.claims.signature (signature a fixed
 * placeholder, so that it has three non-empty parts as Codex requires). */
char *oa_jwt_make(const json_t *header, const json_t *claims);

/* prefix + n random base64url characters (placeholder tokens). */
char *oa_placeholder(const char *prefix, size_t n);

/* application/x-www-form-urlencoded from NULL-terminated key, value pairs. */
char *oa_form(const char *const *kv);
/* Parse "a=b&c=d" into an object of strings (percent and '+' decoded). */
json_t *oa_form_parse(const char *body, size_t len);

/* Standard token endpoint answer handling:
 *  - 2xx JSON with a usable access_token -> OAUTH_OK (caller goes on);
 *  - error "invalid_grant" (RFC 6749), Codex refresh_token_{expired,reused,
 *    invalidated} (in error, error.code or code), HTTP 400 or 401 -> PERMANENT;
 *  - 429 -> TRANSIENT with Retry-After / Retry-After-Ms;
 *  - status 0 (network), 5xx, other 4xx -> TRANSIENT.
 * On OAUTH_OK *body is the parsed answer (caller decrefs). */
int oa_classify(const struct oauth_http_resp *resp, json_t **body, struct oauth_result *res);
/* Retry-After as seconds (delta-seconds or an HTTP-date), 0 if absent or bad. */
int64_t oa_retry_after(const char *ra, const char *ra_ms, int64_t now);

/* The common OK path: take access_token (required), refresh_token (keep
 * old when absent), id_token, scope, and the expiry from expires_in, else
 * the access token's JWT exp, else now + dflt_lifetime. Returns a new
 * credential built from cred. */
int oa_standard_tokens(const json_t *cred, const json_t *body, int64_t now, int64_t dflt_lifetime,
		       json_t **next, struct oauth_result *res) AL_MUST_CHECK;

/* A fresh credential object with v and type set. */
json_t *oa_cred_new(const struct oauth_provider *p);
/* "Bearer <tok>" header into headers. */
void oa_add_bearer(json_t *headers, const char *tok);
void oa_add_header(json_t *headers, const char *name, const char *value);
/* Request helpers */
void oa_req_header(struct oauth_http_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oa_req_json(struct oauth_http_req *r, const char *url, json_t *body);   /* takes body */
void oa_req_form(struct oauth_http_req *r, const char *url, char *body);     /* takes body */

/* One value form-encoded (RFC 6749 §2.3.1 encodes the client id and
 * secret so before Basic). */
char *oa_form_escape(const char *s);

/* ---- mint.c: credentials that mint or fetch their own tokens ---- */

/* base64 (padded) or base64url (unpadded, for JWTs), by nettle. */
char *oa_b64(const void *data, size_t len, bool url);
/* Import an unencrypted PEM private key; RSA of 2048 bits or more.
 * Messages start with path (".private_key"). */
int oa_rsa_key_load(const char *pem, gnutls_privkey_t *key, char *err, size_t errlen,
		    const char *path) AL_MUST_CHECK;
/* header.claims.signature, RS256 over {"alg":"RS256","typ":"JWT"} and
 * claims; NULL when GnuTLS cannot sign. */
char *oa_jwt_rs256(gnutls_privkey_t key, const json_t *claims);
/* A token endpoint the user gives: https, a DNS name (never an address
 * literal), an optional port, no userinfo, a path, no fragment, printable
 * ASCII. host gets the canonical name. */
int oa_https_url_check(const char *url, char host[AL_HOST_BUF]) AL_MUST_CHECK;
/* expires_at and refresh_at of a minted token: lead before expiry, at most
 * a quarter of its lifetime, never sooner than 5 s from now. */
void oa_mint_times(json_t *next, int64_t now, int64_t exp, int64_t lead);
/* GitHub's shapes: Git over HTTPS on github.com takes Basic
 * base64("x-access-token:" TOKEN); every other host (api.github.com)
 * Authorization: Bearer TOKEN. */
#define OA_GITHUB_GIT_HOST "github.com"
#define OA_GITHUB_API_HOST "api.github.com"
void oa_github_headers(const char *tok, const char *host, json_t *headers);
/* The value of a github-app, github-app-user or oauth-client-creds secret:
 * a JSON object, or (not starting with '{') YAML key: value pairs. */
int oa_parse_value(const char *buf, size_t len, json_t **out, char *err,
		   size_t errlen) AL_MUST_CHECK;
/* yamlvalue.c: one YAML mapping of keys to scalars as a JSON object. */
int oa_yaml_object(const char *buf, size_t len, json_t **out, char *err,
		   size_t errlen) AL_MUST_CHECK;
/* Refuse a field of obj not in known (NULL-terminated): ".name: unknown
 * field", the name quoted only when it looks like one. */
int oa_fields_known(const json_t *obj, const char *const *known, char *err,
		    size_t errlen) AL_MUST_CHECK;
/* An id given as a positive JSON integer or a string of A-Z a-z 0-9 . _ -
 * (GitHub's app ids, installation ids, client ids). */
#define OA_ID_MAX 64
int oa_id_string(const json_t *obj, const char *key, char out[OA_ID_MAX + 1], bool *present,
		 char *err, size_t errlen) AL_MUST_CHECK;

/* Scopes string "a b c" <-> array */
json_t *oa_scopes_from_string(const char *s);
char *oa_scopes_to_string(const json_t *arr);

#endif
