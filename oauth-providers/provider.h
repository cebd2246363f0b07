/* OAuth providers: the one interface between the broker (and the CLI) and
 * the per-provider files claude.c, codex.c, github-copilot.c and xai.c.
 * A provider turns a vendor's credential file into a normalised credential,
 * builds and reads refresh requests, shapes the headers for a host, writes
 * placeholder files for the sandbox, and names the token endpoints the
 * sandbox must never reach. Provider functions do no I/O: the network lives
 * in refresh.c (libcurl) and xai_login.c. The enforcer never links this.
 *
 * THE NORMALISED CREDENTIAL (a JSON object; the broker seals its compact
 * dump as the secret's value, so it is secret as a whole):
 *   v            1
 *   type         "oauth-claude" | "oauth-codex" | "oauth-github-copilot" | "oauth-xai" |
 *                "github-app-user" | "github-app" | "oauth-client-creds"
 *   access       the token injected upstream (absent: Copilot ghu_ before its first exchange)
 *   refresh      the refresh token (absent: nothing to refresh, e.g. Copilot)
 *   expires_at   unix seconds when `access` expires; 0 = unknown (refresh at once when
 *                a refresh is possible) or never (Copilot gho_)
 *   refresh_at   unix seconds: refresh no later than this (Copilot: exchange + refresh_in)
 *   refresh_expires_at  unix seconds the refresh token itself dies (Claude), if known
 *   account_id, user_id, email, plan, org_id, org_name   identity, not secret (stubs reuse it)
 *   scopes       [string]
 *   id_token     Codex/xAI id_token as received (write-back only; stubs never copy it)
 *   token_endpoint  xAI: the endpoint from the login (validated https on x.ai)
 *   github_token Copilot: the GitHub user token (gho_ sent as is; ghu_ exchanged)
 *   api_host     Copilot: host from the exchange's endpoints.api (or the enterprise host)
 *   enterprise   Copilot: the enterprise domain, when the login was for GHE
 *   extra        {provider fields kept for stubs: subscriptionType, rateLimitTier, ...}
 *   client_id, client_secret   github-app-user (to refresh), oauth-client-creds
 *   app_id       github-app: the App's id or client id (the JWT's iss)
 *   private_key  github-app: the PEM, when given inline (sealed with the rest)
 *   private_key_file  github-app: absolute path of the PEM on the host, read
 *                each time a JWT is signed (never copied into the state)
 *   installation_id  github-app: given, or found by the first refresh
 *   scope, audience, auth_method   oauth-client-creds: what the grant asks for,
 *                and "client_secret_basic" (RFC 6749's default) or "client_secret_post"
 *
 * ERRORS from adopt name the JSON path (".claudeAiOauth.refreshToken: missing")
 * and never quote a value, nor jansson's "near '...'" text.
 *
 * HEADER MERGE. The enforcer strips, then adds (common/ipc.h). Claude needs
 * "oauth-2025-04-20" inside the client's own anthropic-beta list, which
 * carries other betas the client relies on, so stripping and re-adding would
 * lose them. Providers therefore fill a third list, `merge`:
 *   merge: [[NAME, TOKEN], ...]   if the request carries NAME (one or several
 *   fields), the enforcer joins them into one comma-separated field and
 *   appends TOKEN unless an element already equals it (case-insensitive,
 *   spaces trimmed); without NAME it adds "NAME: TOKEN".
 * The broker passes it in the headers answer as "merge" (common/ipc.h).
 * An enforcer that ignores "merge" still works
 * with the real Claude Code, which sends oauth-2025-04-20 itself whenever it
 * holds an OAuth (stub) credential.
 */
#ifndef AIRLOCK_OAUTH_PROVIDER_H
#define AIRLOCK_OAUTH_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* A token endpoint answer larger than this is refused (they are < 8 KiB). */
#ifndef AL_OAUTH_RESPONSE_MAX
#define AL_OAUTH_RESPONSE_MAX (256 * 1024)
#endif

/* Far-future expiry written into placeholders: 2100-01-01T00:00:00Z. */
#define OAUTH_STUB_EXPIRES_S 4102444800LL
#define OAUTH_STUB_EXPIRES_MS (OAUTH_STUB_EXPIRES_S * 1000LL)

/* One HTTP request to a token endpoint. Every string is malloc'd; body and
 * headers may hold a credential: free with oauth_http_req_free (wipes). */
#define OAUTH_REQ_HEADERS_MAX 8
struct oauth_http_req {
	char *method;                 /* "POST" or "GET" */
	char *url;                    /* https://host/path */
	char *content_type;           /* NULL for GET */
	char *body;                   /* NULL for GET */
	size_t body_len;
	char *headers[OAUTH_REQ_HEADERS_MAX];   /* "Name: value", NULL-terminated */
};
void oauth_http_req_free(struct oauth_http_req *r);

/* What came back from a token endpoint (refresh.c fills it). */
struct oauth_http_resp {
	long status;                  /* HTTP status; 0 when no answer (network) */
	char *body;                   /* NUL-terminated; wipe with oauth_http_resp_free */
	size_t body_len;
	char *retry_after;            /* the Retry-After header, or NULL */
	char *retry_after_ms;         /* Anthropic's Retry-After-Ms, or NULL */
	char content_type[128];
	char error[256];              /* network / TLS error text (never a value) */
	bool unsent;                  /* no answer, and the request never left: the name did
				       * not resolve, the connection or the TLS handshake
				       * failed (the provider cannot have acted on it) */
};
void oauth_http_resp_free(struct oauth_http_resp *r);

enum oauth_outcome {
	OAUTH_OK = 0,
	OAUTH_PERMANENT,              /* stop: the login is gone (relogin-required) */
	OAUTH_TRANSIENT,              /* try again later (backoff with jitter, or retry_after) */
};

struct oauth_result {
	enum oauth_outcome outcome;
	int64_t retry_after;          /* seconds from Retry-After(-Ms); 0 when absent */
	char reason[160];             /* "invalid_grant", "http-503", "refresh_token_reused", ... */
};

/* A host+path the sandbox must never reach with its own request: airlock
 * answers it (token shim) or refuses it. */
struct oauth_endpoint {
	const char *host;
	const char *path;
	const char *method;
};

struct oauth_provider {
	const char *type;             /* "oauth-claude" ... */
	const char *vendor_file;      /* for messages: "~/.claude/.credentials.json" */
	const char *default_host;     /* secret --host default */
	int64_t lead_seconds;         /* refresh this long before expires_at */
	const struct oauth_endpoint *token_endpoints;   /* terminated by host == NULL */
	/* The credential obtains its own tokens (github-app, oauth-client-creds):
	 * no refresh token, a new access token can always be asked for, and the
	 * next one is due at refresh_at (set from the token's lifetime, so a
	 * token that lives shorter than lead_seconds is not asked for in a loop). */
	bool mints;
	/* Optional: a credential key naming a file on the host (github-app's
	 * private_key_file). The broker reads that file (at most AL_PEM_MAX
	 * bytes) and puts its text under host_file_into in the opened
	 * credential, never in the sealed one: at adoption, then passes it to
	 * check, and before each refresh_request. */
	const char *host_file;
	const char *host_file_into;

	/* Vendor file bytes -> normalised credential. err names the field. */
	int (*adopt)(const char *buf, size_t len, int64_t now, json_t **cred, char *err,
		     size_t errlen) AL_MUST_CHECK;
	/* Optional: is this credential usable (github-app: the private key
	 * imports and is RSA)? Called at adoption once host_file is read. err
	 * names the JSON path, never a value. */
	int (*check)(const json_t *cred, char *err, size_t errlen) AL_MUST_CHECK;
	/* The request that refreshes (or exchanges) cred. AL_ESTATE when cred
	 * cannot be refreshed (no refresh token). */
	int (*refresh_request)(const json_t *cred, struct oauth_http_req *req) AL_MUST_CHECK;
	/* Read the endpoint's answer. On OAUTH_OK *next is the new credential
	 * (the old refresh token kept when none came back). res is always set. */
	int (*refresh_parse)(const json_t *cred, const struct oauth_http_resp *resp, int64_t now,
			     json_t **next, struct oauth_result *res) AL_MUST_CHECK;
	/* Append [NAME, VALUE] pairs to headers, NAMEs to strip, [NAME, TOKEN]
	 * to merge (see HEADER MERGE). host is canonical and already checked
	 * against the secret's binding. AL_ESTATE: nothing to inject yet. */
	int (*headers)(const json_t *cred, const char *host, json_t *headers, json_t *strip,
		       json_t *merge) AL_MUST_CHECK;
	/* A placeholder vendor file for the sandbox: same identity, dummy
	 * tokens, far-future expiry. Returns a JSON object to print. NULL for
	 * the types whose sandbox needs no placeholder (github-app,
	 * github-app-user, oauth-client-creds: no vendor file). */
	int (*stub)(const json_t *cred, int64_t now, json_t **file) AL_MUST_CHECK;
	/* The answer airlock gives the sandbox's own token request (token shim):
	 * placeholders with the real identity. endpoint is one of token_endpoints. */
	int (*shim)(const json_t *cred, const struct oauth_endpoint *endpoint, int64_t now,
		    json_t **answer) AL_MUST_CHECK;
	/* Put cred's tokens into the vendor file `vendor` (parsed), keeping
	 * every key it does not own. NULL: no vendor file to write back to. */
	int (*write_back)(const json_t *cred, json_t *vendor, int64_t now) AL_MUST_CHECK;
};

extern const struct oauth_provider oauth_claude;
extern const struct oauth_provider oauth_codex;
extern const struct oauth_provider oauth_github_copilot;
extern const struct oauth_provider oauth_xai;
extern const struct oauth_provider oauth_github_app_user;
extern const struct oauth_provider oauth_github_app;
extern const struct oauth_provider oauth_client_creds;

/* By type name ("oauth-claude"); NULL when it is not an OAuth type. */
const struct oauth_provider *oauth_provider_find(const char *type);
/* All of them, NULL-terminated. */
extern const struct oauth_provider *const oauth_providers[];

/* Generic operations over any provider. */
int oauth_adopt(const struct oauth_provider *p, const char *buf, size_t len, int64_t now,
		json_t **cred, char *err, size_t errlen) AL_MUST_CHECK;
/* When the next refresh should start (unix seconds, may be <= now): the
 * provider's lead before expires_at, or before refresh_expires_at, or
 * refresh_at, whichever comes first; INT64_MAX when cred cannot or need not
 * be refreshed. */
int64_t oauth_refresh_due(const struct oauth_provider *p, const json_t *cred);
/* True when cred carries an access token that is not expired at `now`. */
bool oauth_access_usable(const json_t *cred, int64_t now);
/* Serialise cred for sealing (compact; secure_free_str when done). */
char *oauth_cred_dump(const json_t *cred);
/* Parse a sealed value back; checks type and v. */
int oauth_cred_load(const char *buf, size_t len, json_t **cred) AL_MUST_CHECK;
/* Rewrite the vendor file bytes with cred's tokens (write_back), keeping
 * unknown keys; *out is malloc'd (secure_free when done). */
int oauth_write_back(const struct oauth_provider *p, const json_t *cred, const char *vendor,
		     size_t vlen, int64_t now, char **out, size_t *outlen) AL_MUST_CHECK;
/* Is host+path a token endpoint of any provider? Returns it or NULL. */
const struct oauth_endpoint *oauth_token_endpoint_find(const struct oauth_provider *p,
						       const char *host, const char *path);

/* Wipe every string inside a JSON value (before json_decref of a credential). */
void oauth_json_wipe(json_t *v);
/* Wipe every string of v, then drop the reference (v may be NULL; the
 * caller holds the only one). */
void oauth_json_free(json_t *v);

#endif
