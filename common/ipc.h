/* The one door between airlock-broker and airlock-enforcer.
 *
 * Transport: a unix stream socket, "ipc.sock" in the state dir (0600). The
 * broker listens; the enforcer connects. Each side checks its peer with
 * SO_PEERCRED (same uid as itself) before reading a byte. Frames are a
 * 4-byte big-endian length followed by that many bytes of one JSON object;
 * a frame over AL_IPC_FRAME_MAX, a zero length, or a body that is not a JSON
 * object with a string "type" closes the connection.
 *
 * Messages. Every message has "type"; asks carry "id" (1..2^32-1) and the
 * answer repeats it. Each message below has a field table in ipc.c (name,
 * type, required, range or byte cap, item cap) and the receiver checks every
 * frame against it with ipc_msg_check(): a type the sender may not send, an
 * unknown or missing field, a wrong type, a string over its cap or holding a
 * NUL byte, a list with too many items or an integer out of range is
 * refused. The broker closes the connection on any refusal; the enforcer
 * closes its link too, except for an answer whose id it can read, which
 * fails that ask alone ("broker-error"). The builders below write the
 * messages both sides share; the receiver then checks what a message
 * means (policy.c: hosts, paths, methods, duplicate ids; the broker: is
 * this secret bound to this host?), whatever the sender claims.
 *
 *   enforcer -> broker          (broker/ipc_server.c: each row of its
 *                                dispatch table says "after hello" and "once")
 *     hello    {type:"hello", proto:1, pid, asks_only?:true}        once, first
 *              answer: a "policy" frame (full snapshot), then one after every
 *              change. asks_only:true (each enforcer worker thread opens two
 *              such connections, so an ask and its answer never cross
 *              threads: one for its asks and the notes about them, one for
 *              its decisions and stats, so an ask never waits behind the
 *              feed): no answer and no policy frames; only asks, their
 *              answers and notes pass on it.
 *     headers  {type:"headers", secret:NAME, host:CANONICAL_HOST, id}  after hello
 *              broker_ask_headers() in the enforcer, answer_headers() in the broker.
 *              The broker checks that the secret exists, is bound to host
 *              (exact or "*." wildcard) and is usable, whatever the enforcer
 *              claims, then answers
 *              {type:"headers", id, headers:[[NAME,VALUE],...], strip:[NAME,...],
 *               merge?:[[NAME,TOKEN],...], oauth?:true}
 *              or {type:"headers", id, error:CODE, message:TEXT, retry_after?:SECONDS}
 *              CODE is a log reason: "secret-not-found", "secret-host-mismatch",
 *              "secret-seal-mismatch" (the sealed value does not open under
 *              the record's name, type and host: state.json was edited),
 *              "relogin-required", "credential-refreshing", "broker-error",
 *              "store-unavailable" (a fleet node whose store is gone holds
 *              no usable access token: 503 until the store is back).
 *              The enforcer removes the request's fields named in `strip`
 *              (Authorization and Proxy-Authorization are always removed),
 *              then adds `headers`. `merge` (only when a provider needs it,
 *              oauth-providers/provider.h "HEADER MERGE"): for each [NAME,
 *              TOKEN], the request's NAME fields are joined into one
 *              comma-separated field and TOKEN appended unless an element
 *              already equals it (case-insensitive, spaces trimmed); without
 *              NAME, "NAME: TOKEN" is added. `oauth`: the credential is an
 *              OAuth one airlock refreshes: an upstream 401 to it is reported
 *              (upstream-401) and the sandbox answered 503, never 401.
 *              At most AL_INJECT_HEADERS_MAX entries in each list; names up
 *              to AL_INJECT_NAME_MAX bytes, values up to AL_INJECT_VALUE_MAX.
 *              Header values are credentials: both sides wipe them after use.
 *              An enforcer worker may keep an answer (never a refusal) for
 *              the same (secret, host) up to 1 s, in locked memory, and
 *              wipes it on every policy frame: the broker sends one after
 *              every secret change too (enforcer/askcache.h, docs/custody.md).
 *     shim     {type:"shim", client:NAME, host:CANONICAL_HOST, path, method, id}  after hello
 *              broker_ask_shim() in the enforcer, answer_shim() in the broker.
 *              A sandbox's own request to an OAuth provider's token endpoint;
 *              the broker answers it with placeholder tokens when the client
 *              has a live rule injecting that provider's secret:
 *              {type:"shim", id, status:200..599, content_type, body, secret:NAME}
 *              or {type:"shim", id, error:"no-shim"} (handle it as any request).
 *              The sandbox's refresh token never leaves the enforcer.
 *     upstream-401 {type:"upstream-401", secret:NAME, host}        after hello
 *              broker_note_upstream_401() in the enforcer: an upstream
 *              refused an injected credential; the broker may force a
 *              refresh. No answer; dropped when the broker is not there.
 *     listening {type:"listening", http_port:N, https_port:N}  after hello, policy link only, once
 *              ipc_client.c in the enforcer, on_msg_listening() in the broker.
 *              The enforcer's listeners are bound and accepting (0: that
 *              listener is off). It binds before it connects, so it says so
 *              on every connection, an adopted enforcer's too. The broker
 *              reports ready (banner, READY=1) only once an enforcer said
 *              this and acknowledged the policy: a port already taken makes
 *              the enforcer exit before it, and the broker's start fails.
 *     policy-ack {type:"policy-ack", version:N}           after hello, policy link only
 *              every worker thread now decides with policy N (and has
 *              closed the connections of clients it no longer holds). The
 *              broker answers an API change only once every enforcer has
 *              acknowledged its version, or after AL_POLICY_ACK_TIMEOUT_MS
 *              (broker/api_server.c), so "the very next request" holds.
 *     decisions {type:"decisions", dropped:N} '\n' LINES  after hello, worker links
 *              enforcer/decision.c, on_msg_decisions() in the broker: the
 *              decision lines of one worker's last 100 ms (or of a loop turn
 *              that gathered many). The only frame with a payload after its
 *              JSON text: LINES is a run of records "VERDICT\tCLIENT\tLINE\n",
 *              LINE being the decision's log line as JSON (the decision line's fields,
 *              "ts", "verdict", "req"; the log's redaction applied: no
 *              secret), VERDICT and CLIENT its verdict and client (CLIENT
 *              empty when none). The reader hands LINES over unparsed as
 *              the message's "lines" string and ipc_decision_next() walks it:
 *              parsing each line as JSON is what cost the broker most, so a
 *              line is parsed and checked (ipc_decision_line_check) only
 *              when someone reads it (GET /proxy/v1/decisions). No answer.
 *              Never waited for: when the link is down or its write queue
 *              is long, the batch is dropped and counted in the next
 *              batch's `dropped`; the broker keeps the last
 *              AL_DECISIONS_RING in a ring. At most AL_DECISIONS_BATCH_MAX
 *              records, AL_DECISIONS_BATCH_BYTES bytes.
 *     stats    {type:"stats", decisions:[{client,verdict,reason,n}...],
 *               bytes:[{client,up,down}...], ask_buckets:[N...], ask_sum_us,
 *               leaf_hits, leaf_misses, feed_dropped, conns, preauth_conns,
 *               leaves, usage?:[{client,secret,input,output,responses}...],
 *               tokens_today?:[{client,day,tokens}...]}
 *                                                         after hello, worker links
 *              enforcer/decision.c, on_msg_stats() in the broker, about once
 *              a second per worker: counters as deltas since that link's
 *              last stats frame (the broker adds them up, so they survive an
 *              enforcer restart), and gauges (conns, preauth_conns, leaves)
 *              as they are now, for the whole enforcer. ask_buckets counts
 *              broker asks by latency: bucket i holds those at most
 *              ipc_ask_bucket_us[i] (non-cumulative), the last one the rest.
 *              usage: LLM tokens read from the answers to injected
 *              requests (enforcer/usage.c), deltas like the others.
 *              tokens_today: gauges, the LLM tokens each client with a
 *              max_tokens_per_day has used on UTC day `day` (days since
 *              the epoch), as its budget counts them: the broker keeps the
 *              latest (broker/tokens_today.c) across restarts.
 *              No answer; lost when the link is down.
 *
 *     hold     {type:"hold", id, client:NAME, method, scheme, host:CANONICAL_HOST,
 *               port, path, reason, timeout_ms}               after hello, worker links
 *              broker_ask_hold() in the enforcer, on_msg_hold() in the broker
 *              (broker/approvals.c). A request of a client whose policy says
 *              hold:true would be denied for `reason` ("no-rule",
 *              "path-not-allowed", "method-not-allowed": what a rule can
 *              cure); method and path are "" for a CONNECT. The broker keeps
 *              it as a pending approval (GET /proxy/v1/approvals) and answers
 *              when a person decides:
 *              {type:"hold", id, verdict:"approved"|"denied", rule?:N}
 *              an approval only once every enforcer runs the policy with the
 *              new rule (policy-ack), so the request is decided again against
 *              it; or at once {type:"hold", id, error:CODE}, CODE "hold-cap"
 *              (the client holds AL_HOLDS_PER_CLIENT already, or the broker
 *              AL_APPROVALS_MAX), "no-hold" (the client no longer holds:
 *              denied as without holds), "client-gone" (deleted while held:
 *              403 client-revoked) or "broker-error". The enforcer waits at
 *              most timeout_ms (--hold-timeout), the broker drops the
 *              approval past it, and both drop every hold of a link that
 *              goes down.
 *     hold-end {type:"hold-end", id}                         after hello, worker links
 *              the enforcer stopped waiting for hold `id` (its timeout, or
 *              the sandbox went away): the approval is withdrawn. No answer.
 *
 *   broker -> enforcer
 *     policy   {type:"policy", version:N, clients:[CLIENT...]}
 *              a full snapshot, sent after hello and after every change.
 *              CLIENT = {name, token_sha256:HEX, rules:[RULE...], hold?:BOOL, BUDGET,
 *                        max_tokens_per_day?:N}
 *              hold:true: a request of this client that a rule could allow
 *              is held for a person's approval instead of denied (hold).
 *              RULE   = {id:N, host:PATTERN, ports:[N...], methods:[M...],
 *                        paths:[P...], secret?:NAME|null, passthrough:BOOL,
 *                        expires_at?:UNIX_SECONDS, BUDGET}
 *              BUDGET = max_rpm?:N, max_bytes_per_hour?:N, max_concurrent?:N
 *                       (absent: no limit; enforcer/budget.h)
 *              rules in declaration order; methods/paths empty = any.
 *              secret_hosts?:[PATTERN...]  the hosts secrets are bound to
 *              (no names, no values): an allowed request to one of them
 *              through a rule without a secret logs hint=secret-available.
 *              Always whole: the broker refuses a change whose snapshot
 *              would not fit one frame before committing it (API 413), and
 *              refuses to start over a state whose snapshot would not.
 *     tokens-today {type:"tokens-today", day:N, clients:[{name, tokens}...]}
 *              right before the policy that answers a hello, when the broker
 *              knows of tokens counted on UTC day `day` (from stats
 *              tokens_today, kept in the state dir): the enforcer's budget
 *              for each named client starts from at least that count, so a
 *              restarted enforcer (or airlock) does not give a client a
 *              fresh day's budget. No answer.
 *
 * Both processes use this file only; neither knows the other's internals. */
#ifndef AIRLOCK_IPC_H
#define AIRLOCK_IPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define IPC_PROTO_VERSION 2   /* 2: decisions carry their lines as a payload */
#define IPC_SOCKET_NAME "ipc.sock"
#define IPC_HEADER_LEN 4

#define IPC_MSG_HELLO "hello"
#define IPC_MSG_POLICY "policy"
#define IPC_MSG_TOKENS_TODAY "tokens-today"
#define IPC_MSG_HEADERS "headers"
#define IPC_MSG_UPSTREAM_401 "upstream-401"
#define IPC_MSG_SHIM "shim"
#define IPC_MSG_POLICY_ACK "policy-ack"
#define IPC_MSG_LISTENING "listening"
#define IPC_MSG_DECISIONS "decisions"
#define IPC_MSG_STATS "stats"
#define IPC_MSG_HOLD "hold"
#define IPC_MSG_HOLD_END "hold-end"

/* Upper bounds (microseconds) of the broker-ask latency buckets of "stats". */
#define IPC_ASK_BUCKETS 11
extern const int64_t ipc_ask_bucket_us[IPC_ASK_BUCKETS];

/* Every message of the door, by who sends it. An answer has two shapes,
 * told apart by its "error" field. */
enum ipc_kind {
	/* enforcer -> broker */
	IPC_HELLO,
	IPC_HEADERS_ASK,
	IPC_SHIM_ASK,
	IPC_UPSTREAM_401,
	IPC_POLICY_ACK,
	IPC_LISTENING,
	IPC_DECISIONS,
	IPC_STATS,
	IPC_HOLD_ASK,
	IPC_HOLD_END,
	/* broker -> enforcer */
	IPC_POLICY,
	IPC_TOKENS_TODAY,
	IPC_HEADERS_ANSWER,
	IPC_HEADERS_REFUSAL,
	IPC_SHIM_ANSWER,
	IPC_SHIM_REFUSAL,
	IPC_HOLD_ANSWER,
	IPC_HOLD_REFUSAL,
	IPC_KIND_COUNT
};

enum ipc_from { IPC_FROM_ENFORCER, IPC_FROM_BROKER };

/* What a frame from `from` is, checked against its table: 0 with *kind
 * set; AL_EPROTO when `from` may not send its type (*kind untouched);
 * AL_EINVAL (unknown, missing or mistyped field, NUL in a string),
 * AL_ERANGE (integer out of range) or AL_ETOOBIG (string or list over its
 * cap) with *kind set and err naming the field, never a value. */
int ipc_msg_check(const json_t *msg, enum ipc_from from, enum ipc_kind *kind, char *err,
		  size_t errlen) AL_MUST_CHECK;
/* The same for a message that must be of kind k (its "type" included). */
int ipc_msg_validate(const json_t *msg, enum ipc_kind k, char *err, size_t errlen) AL_MUST_CHECK;
/* The "id" of an ask or answer, or 0 when it has none in 1..2^32-1. */
uint32_t ipc_msg_id(const json_t *msg);
/* Overwrite every string value in msg (answers carry credentials) before
 * the last json_decref. NULL is fine. */
void ipc_msg_wipe(json_t *msg);

/* Builders for the messages both sides write the same way. NULL when a
 * string is not UTF-8 (jansson refuses it). */
json_t *ipc_msg_hello(bool asks_only);
json_t *ipc_msg_headers_ask(uint32_t id, const char *secret, const char *host);
json_t *ipc_msg_shim_ask(uint32_t id, const char *client, const char *host, const char *path,
			 const char *method);
json_t *ipc_msg_upstream_401(const char *secret, const char *host);
/* What a held request asked for ("hold"). */
struct ipc_hold {
	const char *client, *method, *scheme, *host, *path, *reason;
	unsigned port;
	int64_t timeout_ms;
};
json_t *ipc_msg_hold_ask(uint32_t id, const struct ipc_hold *h);
json_t *ipc_msg_hold_end(uint32_t id);
/* rule 0: none named */
json_t *ipc_msg_hold_answer(uint32_t id, bool approved, uint64_t rule);
json_t *ipc_msg_hold_refusal(uint32_t id, const char *code);
json_t *ipc_msg_policy_ack(uint64_t version);
json_t *ipc_msg_listening(unsigned http_port, unsigned https_port);
/* retry_after <= 0: none */
json_t *ipc_msg_headers_refusal(uint32_t id, const char *code, const char *message, int64_t retry_after);
json_t *ipc_msg_shim_refusal(uint32_t id, const char *code);

/* Encode msg as one frame: malloc'd, *len includes the 4-byte header.
 * AL_ETOOBIG when the body is over AL_IPC_FRAME_MAX bytes: nothing is
 * allocated and *len is still the frame size it would have had. */
int ipc_frame_encode(const json_t *msg, uint8_t **out, size_t *len) AL_MUST_CHECK;

/* An incremental frame reader: feed bytes as they arrive, take whole frames.
 * Holds at most one frame plus its header. */
struct ipc_reader {
	uint8_t *buf;
	size_t len, cap;
};
void ipc_reader_init(struct ipc_reader *r);
void ipc_reader_free(struct ipc_reader *r);
/* Append n bytes. AL_ETOOBIG / AL_EPROTO when the pending frame header
 * announces a length of 0 or over the cap (the connection must close). */
int ipc_reader_feed(struct ipc_reader *r, const uint8_t *data, size_t n) AL_MUST_CHECK;
/* Take the next whole frame as a JSON object with a string "type".
 * Returns 1 with *msg set, 0 when no whole frame is buffered, or an error
 * (AL_EPROTO: not JSON, not an object, no type). */
int ipc_reader_next(struct ipc_reader *r, json_t **msg) AL_MUST_CHECK;

/* SO_PEERCRED: the peer must run as our own uid. Fills *pid when not NULL. */
int ipc_peer_check(int fd, int *pid) AL_MUST_CHECK;

/* Blocking helpers for simple clients and tests: write one frame; read one
 * frame with a deadline (ms, <0 for none). */
int ipc_send_blocking(int fd, const json_t *msg) AL_MUST_CHECK;
int ipc_recv_blocking(int fd, int timeout_ms, json_t **msg) AL_MUST_CHECK;

/* One record of a decisions frame's "lines" (not NUL-terminated). */
struct ipc_decision {
	const char *verdict, *client, *line;
	size_t vlen, clen, llen;
};
/* The record of lines[0, len) at *pos into *d, *pos moved past it: 1; 0 at
 * the end; AL_EPROTO for one that is not VERDICT (1-15 of a-z and '-') TAB
 * CLIENT (empty or a client name) TAB LINE (2 to AL_DECISION_LINE_MAX bytes
 * from '{' to '}', no control byte) NEWLINE. ipc_msg_check() has walked
 * every record of a frame it passed. */
int ipc_decision_next(const char *lines, size_t len, size_t *pos, struct ipc_decision *d) AL_MUST_CHECK;
/* A decision LINE as JSON, checked against the table of its fields: 0, or
 * AL_EPROTO and err. */
int ipc_decision_line_check(const char *line, size_t len, char *err, size_t errlen) AL_MUST_CHECK;
/* The same for a line already parsed (the table is ipc.c's). */
int ipc_decision_item_check(const json_t *item, char *err, size_t errlen) AL_MUST_CHECK;

#endif
