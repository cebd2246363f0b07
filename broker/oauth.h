/* The broker's side of OAuth secrets (docs/oauth.md): adoption at POST
 * /proxy/v1/secrets, refresh scheduling on the loop (single flight per
 * secret, the rotated credential committed to state.json before its access
 * token is served, relogin-required on permanent failures, backoff with
 * jitter and Retry-After on transient ones), headers answers that may wait
 * for a refresh in flight, upstream-401 forced refreshes, and the stub
 * endpoint. Provider specifics live in oauth-providers/. */
#ifndef AIRLOCK_BROKER_OAUTH_H
#define AIRLOCK_BROKER_OAUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "common/error.h"

/* How long a headers ask may wait for a refresh in flight before it is
 * answered credential-refreshing (the enforcer gives up at
 * AL_BROKER_ASK_TIMEOUT_MS). */
#define OAUTH_HOLD_MS 1500
/* Asks held per secret at most; more are answered credential-refreshing. */
#define OAUTH_WAITERS_MAX 4096
/* An upstream 401 forces at most one refresh per secret in this window. */
#define OAUTH_FORCED_MIN_INTERVAL_S 30
/* Transient failures back off from the first to the last delay (seconds). */
#define OAUTH_BACKOFF_FIRST_S 5
#define OAUTH_BACKOFF_MAX_S 900

/* Start after the state is loaded (schedules every OAuth secret); stop
 * before the loop ends. */
int broker_oauth_start(struct broker *b) AL_MUST_CHECK;
void broker_oauth_stop(struct broker *b);

/* True when type names a secret type of oauth-providers/ (the oauth-*
 * logins, github-app, github-app-user): refreshed or minted by the broker. */
bool broker_oauth_type(const char *type);
/* True when the type keeps a vendor file in sync (write_back). */
bool broker_oauth_writes_back(const char *type);
/* Read the host file a credential names (github-app's private_key_file)
 * into the opened credential c (never into the sealed one). 0 when there
 * is none to read; err never quotes the file. */
int oauth_cred_read_file(json_t *c, char *err, size_t errlen) AL_MUST_CHECK;
/* Rows of the secret type table (broker/secret_types.c): prepare adopts the
 * vendor file into the credential to seal and sets adopted_at/expires_at in
 * meta; headers shapes a usable credential (AL_ESTATE when it needs a
 * refresh first; answer_headers routes OAuth asks to oauth_answer_headers). */
int oauth_prepare_claude(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			 size_t *outlen, json_t *meta, char *err, size_t errlen);
int oauth_prepare_codex(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			size_t *outlen, json_t *meta, char *err, size_t errlen);
int oauth_prepare_github_copilot(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
				 size_t *outlen, json_t *meta, char *err, size_t errlen);
int oauth_prepare_xai(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
		      size_t *outlen, json_t *meta, char *err, size_t errlen);
int oauth_prepare_github_app(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			     size_t *outlen, json_t *meta, char *err, size_t errlen);
int oauth_prepare_github_app_user(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
				  size_t *outlen, json_t *meta, char *err, size_t errlen);
int oauth_prepare_client_creds(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			       size_t *outlen, json_t *meta, char *err, size_t errlen);
int oauth_type_headers(const uint8_t *pt, size_t len, const char *host, json_t *headers,
		       json_t *strip, json_t *merge);

/* The name of another OAuth secret holding the same refresh token (or
 * GitHub token) as the prepared credential pt, or NULL. `name` itself
 * (a re-adoption with force) does not count. */
const char *oauth_adopted_elsewhere(struct broker *b, const char *name, const uint8_t *pt,
				    size_t len);

/* The sealed credential of OAuth secret sec, opened (NULL when it does not
 * open); close it with oauth_cred_close, which wipes it. */
json_t *oauth_cred_open(struct broker *b, const json_t *sec);
void oauth_cred_close(json_t *c);
/* Write a rotated credential back into the vendor file its secret was
 * adopted from, when the secret asks for it. */
void oauth_cred_write_back(const json_t *sec, const json_t *cred);

/* oauth_state.c: what a refresh writes. _save seals and commits a
 * refreshed credential (0 when durable; enforcers are told to drop the
 * answers they keep). _relogin marks the secret relogin-required with a
 * reason (words, never a value). _sent, on a single host, records that a
 * refresh request is about to go out: after a kill between sending and
 * saving, the refusal of the spent token is then told apart from a login
 * revoked by its owner (a fleet has its lease for that; mints spend
 * nothing). It returns when an earlier refresh went out whose answer was
 * never saved (unix seconds), else 0. _unsent: that request rotated
 * nothing (the provider answered without tokens, or it never left): the
 * mark goes back to `prior`, what _sent returned (0 removes it), so an
 * earlier lost answer stays known. */
int oauth_state_save(struct broker *b, const char *name, const json_t *next);
void oauth_state_relogin(struct broker *b, const char *name, const char *reason);
int64_t oauth_state_sent(struct broker *b, const char *name);
void oauth_state_unsent(struct broker *b, const char *name, int64_t prior);

/* A secret was created, replaced or deleted: (re)schedule or forget it. */
void broker_oauth_secret_changed(struct broker *b, const char *name);

/* answer_headers() for a secret of an OAuth type, after the ask, the host
 * binding and relogin-required were checked. conn is the asking IPC
 * connection's serial (0: answer now, never wait). Returns the answer, or
 * NULL with *deferred set when the ask waits for a refresh in flight (the
 * answer is sent later through ipc_server_send_to). */
json_t *oauth_answer_headers(struct broker *b, const json_t *sec, const char *host,
			     json_int_t id, uint64_t conn, bool *deferred);
/* Token shim: the answer airlock gives a sandbox's own request to its
 * provider's token endpoint, so the sandbox's refresh token never leaves.
 * Ask (enforcer -> broker, IPC_MSG_SHIM):
 *   {type:"shim", id, client:NAME, host:CANONICAL_HOST, path:NORMALISED_PATH, method}
 * Answer: {type:"shim", id, status:200, content_type:"application/json",
 *          body:TEXT, secret:NAME}  placeholders with the real identity, or
 *         {type:"shim", id, error:"no-shim"}  not a token endpoint of an
 *          OAuth secret that one of the client's live rules injects.
 * NULL when the ask is malformed (the connection closes). */
json_t *answer_shim(struct broker *b, const json_t *ask);

/* The fleet store is back: credentials refreshed while it was gone are
 * committed now, before another node may take over their leases. */
void oauth_store_back(struct broker *b);
/* An upstream answered 401 to an injected credential: force one refresh. */
void oauth_on_upstream_401(struct broker *b, const char *name, const char *host);

#endif
