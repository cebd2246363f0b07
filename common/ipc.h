/* The one door between airlock-broker and airlock-enforcer.
 *
 * Transport: a unix stream socket, "ipc.sock" in the state dir (0600). The
 * broker listens; the enforcer connects. Each side checks its peer with
 * SO_PEERCRED (same uid as itself) before reading a byte. Frames are a
 * 4-byte big-endian length followed by that many bytes of one JSON object;
 * a frame over AL_IPC_FRAME_MAX, a zero length, or a body that is not a JSON
 * object with a known "type" closes the connection.
 *
 * Messages. Every message has "type"; asks carry "id" (uint32) and the
 * answer repeats it. Anything not listed here is refused by the receiver.
 *
 *   enforcer -> broker
 *     hello    {type:"hello", proto:1, pid, asks_only?:BOOL}
 *              answer: a "policy" frame (full snapshot), then one after every
 *              change. asks_only:true (each enforcer worker thread opens one
 *              such connection for its own asks, so an ask and its answer
 *              never cross threads): no answer and no policy frames; only
 *              asks and their answers pass on it.
 *     headers  {type:"headers", id, secret:NAME, host:CANONICAL_HOST}
 *              broker_ask_headers() in the enforcer, answer_headers() in the broker.
 *              The broker checks that the secret exists, is bound to host
 *              (exact or "*." wildcard) and is usable, whatever the enforcer
 *              claims, then answers
 *              {type:"headers", id, headers:[[NAME,VALUE],...], strip:[NAME,...]}
 *              or {type:"headers", id, error:CODE, message:TEXT, retry_after?:SECONDS}
 *              CODE is a log reason: "secret-not-found", "secret-host-mismatch",
 *              "relogin-required", "credential-refreshing", "broker-error".
 *              `strip` names request headers to remove before adding `headers`
 *              (Authorization and Proxy-Authorization are always removed).
 *     shim     {type:"shim", id, client:NAME, host:CANONICAL_HOST, path, method}
 *              broker_ask_shim() in the enforcer, answer_shim() in the broker.
 *              A sandbox's own request to an OAuth provider's token endpoint;
 *              the broker answers it with placeholder tokens when the client
 *              has a live rule injecting that provider's secret:
 *              {type:"shim", id, status, content_type, body, secret:NAME}
 *              or {type:"shim", id, error:"no-shim"} (handle it as any request).
 *              The sandbox's refresh token never leaves the enforcer.
 *     upstream-401 {type:"upstream-401", secret:NAME, host}
 *              an upstream refused an injected credential; the broker may
 *              force a refresh. No answer.
 *
 *   broker -> enforcer
 *     policy   {type:"policy", version:N, clients:[CLIENT...]}
 *              a full snapshot, sent after hello and after every change.
 *              CLIENT = {name, token_sha256:HEX, rules:[RULE...]}
 *              RULE   = {id:N, host:PATTERN, ports:[N...], methods:[M...],
 *                        paths:[P...], secret?:NAME, passthrough:BOOL,
 *                        expires_at?:UNIX_SECONDS}
 *              rules in declaration order; methods/paths empty = any.
 *              Always whole: the broker refuses a change whose snapshot
 *              would not fit one frame before committing it (API 413), and
 *              refuses to start over a state whose snapshot would not.
 *
 * Both processes use this file only; neither knows the other's internals. */
#ifndef AIRLOCK_IPC_H
#define AIRLOCK_IPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define IPC_PROTO_VERSION 1
#define IPC_SOCKET_NAME "ipc.sock"
#define IPC_HEADER_LEN 4

#define IPC_MSG_HELLO "hello"
#define IPC_MSG_POLICY "policy"
#define IPC_MSG_HEADERS "headers"
#define IPC_MSG_UPSTREAM_401 "upstream-401"
#define IPC_MSG_SHIM "shim"

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

#endif
