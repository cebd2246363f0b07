/* The closed set of decision reasons: the `reason` of a decision log line
 * and the X-Airlock-Reason of an answer airlock makes itself. Each is
 * described once here: its name, the HTTP status airlock answers with it
 * (0: none, the connection is closed or never spoke HTTP; 200 for the token
 * shim's answers, made in the origin's place), and whether an
 * allow rule can cure it (`airlock audit suggest` suggests rules for those
 * only). The enforcer passes enum reason around and writes reason_name();
 * the list in docs/airlock.1 (DECISION REASONS) is checked against this
 * table both ways by tests/integration/test-docs-reasons.py. */
#ifndef AIRLOCK_REASONS_H
#define AIRLOCK_REASONS_H

#include <stdbool.h>
#include <stddef.h>

/* X(ID, "name", status, curable) */
#define AL_REASONS(X) \
	/* the policy: what an allow rule opens */ \
	X(NO_RULE, "no-rule", 403, true) \
	X(PORT_NOT_ALLOWED, "port-not-allowed", 403, true) \
	X(METHOD_NOT_ALLOWED, "method-not-allowed", 403, true) \
	X(PATH_NOT_ALLOWED, "path-not-allowed", 403, true) \
	X(RULE_EXPIRED, "rule-expired", 403, true) \
	X(RULE_REVOKED, "rule-revoked", 403, false) \
	X(CLIENT_REVOKED, "client-revoked", 403, false) \
	/* what no rule opens */ \
	X(DENIED_ADDRESS, "denied-address", 403, false) \
	X(HOST_MISMATCH, "host-mismatch", 403, false) \
	X(BAD_HOST, "bad-host", 403, false) \
	X(SECRET_NEEDS_HTTPS, "secret-needs-https", 403, false) \
	X(NO_CA, "no-ca", 403, false) \
	X(SNI_MISMATCH, "sni-mismatch", 0, false) \
	/* proxy authentication and connection caps */ \
	X(PROXY_AUTH_REQUIRED, "proxy-auth-required", 407, false) \
	X(PROXY_AUTH_FAILED, "proxy-auth-failed", 407, false) \
	X(DUPLICATE_PROXY_AUTHORIZATION, "duplicate-proxy-authorization", 400, false) \
	X(TOO_MANY_CONNECTIONS, "too-many-connections", 429, false) \
	X(TOTAL_CONNECTION_CAP, "total-connection-cap", 503, false) \
	X(TOO_MANY_STREAMS, "too-many-streams", 429, false) \
	/* budgets (enforcer/budget.c) */ \
	X(RATE_LIMIT, "rate-limit", 429, false) \
	X(BYTE_BUDGET, "byte-budget", 429, false) \
	X(CONCURRENCY_LIMIT, "concurrency-limit", 429, false) \
	X(TOKEN_BUDGET, "token-budget", 429, false) \
	X(BUDGET_TABLE_FULL, "budget-table-full", 429, false) \
	/* requests airlock does not pass on */ \
	X(TRACE_REFUSED, "trace-refused", 405, false) \
	X(HTTPS_NEEDS_CONNECT, "https-needs-connect", 400, false) \
	X(NOT_A_PROXY_REQUEST, "not-a-proxy-request", 400, false) \
	X(CONNECT_IN_TUNNEL, "connect-in-tunnel", 400, false) \
	X(BAD_URL, "bad-url", 400, false) \
	X(BAD_PATH, "bad-path", 400, false) \
	X(MISSING_HOST, "missing-host", 400, false) \
	X(HEAD_TIMEOUT, "head-timeout", 408, false) \
	X(HEAD_TOO_LARGE, "head-too-large", 431, false) \
	X(TOO_MANY_HEADERS, "too-many-headers", 431, false) \
	X(BAD_REQUEST, "bad-request", 400, false) \
	X(BAD_METHOD, "bad-method", 400, false) \
	X(BAD_VERSION, "bad-version", 505, false) \
	X(BAD_LINE_ENDING, "bad-line-ending", 400, false) \
	X(BAD_HEADER_NAME, "bad-header-name", 400, false) \
	X(BAD_HEADER_VALUE, "bad-header-value", 400, false) \
	X(BAD_CONNECTION_HEADER, "bad-connection-header", 400, false) \
	X(DUPLICATE_HOST, "duplicate-host", 400, false) \
	X(DUPLICATE_CONTENT_LENGTH, "duplicate-content-length", 400, false) \
	X(BAD_CONTENT_LENGTH, "bad-content-length", 400, false) \
	X(BAD_TRANSFER_ENCODING, "bad-transfer-encoding", 400, false) \
	X(CONTENT_LENGTH_WITH_TRANSFER_ENCODING, "content-length-with-transfer-encoding", 400, false) \
	X(BAD_CHUNK, "bad-chunk", 400, false) \
	X(BAD_TRAILER, "bad-trailer", 400, false) \
	/* the upstream */ \
	X(DNS_FAILURE, "dns-failure", 502, false) \
	X(UPSTREAM_CONNECT_FAILED, "upstream-connect-failed", 502, false) \
	X(UPSTREAM_TLS_FAILED, "upstream-tls-failed", 502, false) \
	X(UPSTREAM_TIMEOUT, "upstream-timeout", 504, false) \
	X(UPSTREAM_CLOSED, "upstream-closed", 502, false) \
	X(UPSTREAM_ERROR, "upstream-error", 502, false) \
	X(BAD_UPSTREAM_RESPONSE, "bad-upstream-response", 502, false) \
	X(BAD_STATUS, "bad-status", 502, false) \
	X(UNSCANNABLE_RESPONSE, "unscannable-response", 502, false) \
	/* interception and tunnels */ \
	X(TLS_HANDSHAKE_FAILED, "tls-handshake-failed", 0, false) \
	X(LEAF_FAILED, "leaf-failed", 502, false) \
	X(TUNNEL_IDLE_TIMEOUT, "tunnel-idle-timeout", 0, false) \
	/* the broker's answers to an ask */ \
	X(BROKER_UNAVAILABLE, "broker-unavailable", 503, false) \
	X(BROKER_ERROR, "broker-error", 502, false) \
	X(SECRET_NOT_FOUND, "secret-not-found", 403, false) \
	X(SECRET_HOST_MISMATCH, "secret-host-mismatch", 403, false) \
	X(SECRET_SEAL_MISMATCH, "secret-seal-mismatch", 403, false) \
	X(RELOGIN_REQUIRED, "relogin-required", 503, false) \
	X(CREDENTIAL_REFRESHING, "credential-refreshing", 503, false) \
	X(STORE_UNAVAILABLE, "store-unavailable", 503, false) \
	X(NO_SHIM, "no-shim", 0, false) \
	X(TOKEN_SHIM, "token-shim", 200, false) \
	/* held requests: a person decides */ \
	X(HOLD_DENIED, "hold-denied", 403, false) \
	X(HOLD_TIMEOUT, "hold-timeout", 403, false) \
	X(TOO_MANY_HOLDS, "too-many-holds", 429, false) \
	X(HOLD_CAP, "hold-cap", 0, false) \
	X(NO_HOLD, "no-hold", 0, false) \
	X(CLIENT_GONE, "client-gone", 0, false) \
	/* the SOCKS5 front (no HTTP answer: a SOCKS reply code) */ \
	X(SOCKS4_REFUSED, "socks4-refused", 0, false) \
	X(SOCKS_NO_ACCEPTABLE_METHOD, "socks-no-acceptable-method", 0, false) \
	X(SOCKS_BAD_AUTH, "socks-bad-auth", 0, false) \
	X(SOCKS_BAD_REQUEST, "socks-bad-request", 0, false) \
	X(SOCKS_COMMAND_REFUSED, "socks-command-refused", 0, false) \
	X(SOCKS_EARLY_DATA_TOO_LARGE, "socks-early-data-too-large", 0, false)

/* REASON_NONE (0): no reason, an allowed request the upstream answered. */
enum reason {
	REASON_NONE = 0,
#define AL_REASON_ENUM(id, name, status, curable) REASON_##id,
	AL_REASONS(AL_REASON_ENUM)
#undef AL_REASON_ENUM
	REASON_COUNT
};

/* The name as logged ("no-rule"); NULL for REASON_NONE or out of range. */
const char *reason_name(enum reason r);
/* The HTTP status airlock answers with (0: none). */
int reason_status(enum reason r);
/* True when an allow rule can cure a denial of this reason. */
bool reason_curable(enum reason r);
/* The reason named by the len bytes at name; REASON_NONE when none is. */
enum reason reason_lookup(const char *name, size_t len);

#endif
