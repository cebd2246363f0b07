/* The enforcer's end of the broker door (common/ipc.h). ipc_client.c: the
 * policy feed, a broker link on the main loop that takes policy snapshots
 * and hands each to every worker; if the broker goes away, the workers keep
 * the last policy and the link reconnects with backoff. broker_ask.c: the
 * asks, each worker on its own link from its own thread, and the worker's
 * decision feed and stats on a second link of its own. All the links are
 * enforcer/brokerlink.c. */
#ifndef AIRLOCK_ENFORCER_IPC_CLIENT_H
#define AIRLOCK_ENFORCER_IPC_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "common/reasons.h"

struct proxy;
struct ipc_client;
struct worker;
struct broker_ask;
struct ipc_hold;

int ipc_client_start(uv_loop_t *loop, struct proxy *px, const char *path, struct ipc_client **out) AL_MUST_CHECK;
/* Close the connection and the handles (main thread); ipc_client_free once
 * the workers are stopped (they may still ask until then). */
void ipc_client_stop(struct ipc_client *ic);
void ipc_client_free(struct ipc_client *ic);
/* The policy link is up: the broker is there (any thread). */
bool ipc_client_up(const struct ipc_client *ic);
/* A worker runs a newer policy now (any thread; NULL ic is a no-op): the
 * main loop sends policy-ack for the version every worker has. */
void ipc_client_applied(struct ipc_client *ic);
/* The broker's socket (for the workers' links). */
const char *ipc_client_path(const struct ipc_client *ic);

struct inject;
typedef void (*broker_ask_cb)(void *arg, const json_t *answer, enum reason reason);
typedef void (*broker_headers_cb)(void *arg, const struct inject *inj, enum reason reason);
/* broker_ask_headers(), paired with answer_headers() in the broker: ask for
 * the headers of `secret` for canonical `host`, from worker w's thread (or
 * wait for w's ask for the same key already on its way, if it was written
 * since the last wipe of w's kept answers). The
 * answer comes on w's loop: cb(arg, inj, REASON_NONE) with the "headers" answer
 * made into headers (inject_from_answer; valid only during cb, wiped after
 * it), or cb(arg, NULL, reason) with a log reason: the broker's error code,
  * REASON_BROKER_ERROR for an answer inject_from_answer refuses, or
  * REASON_BROKER_UNAVAILABLE when it is not connected or has not answered within
 * AL_BROKER_ASK_TIMEOUT_MS. AL_EUNAVAIL at once when the broker is not
 * connected (cb is then never called). broker_ask_cancel before cb: cb is
 * never called. */
int broker_ask_headers(struct worker *w, const char *secret, const char *host, broker_headers_cb cb, void *arg,
		       struct broker_ask **out) AL_MUST_CHECK;
/* The headers of `secret` for `host` as the broker last answered them, if
 * this worker keeps them (askcache.c, at most a second) and the broker is
 * there: true and *inj, in *view and the cache's locked slot, which the
 * caller uses at once, before it returns to the loop (askcache_get);
 * false: ask (broker_ask_headers). */
struct askcache_view;
bool broker_headers_kept(struct worker *w, const char *secret, const char *host, struct askcache_view *view,
			 struct inject *inj);
/* broker_ask_shim(), paired with answer_shim() in the broker (token shim):
 * may airlock answer this request of `client` to an OAuth token endpoint
 * itself? cb(arg, answer, NULL) with {status, content_type, body, secret?},
 * or cb(arg, NULL, reason): "no-shim" (go on as usual), or as above. */
int broker_ask_shim(struct worker *w, const char *client, const char *host, const char *path, const char *method,
		    broker_ask_cb cb, void *arg, struct broker_ask **out) AL_MUST_CHECK;
/* broker_ask_hold(), paired with on_msg_hold() in the broker: hold a
 * request for a person's approval (enforcer/hold.c). cb gets the answer
 * ({verdict, rule?}), or reason "hold-cap", "no-hold", "broker-error",
 * "broker-unavailable", or "hold-timeout" past h->timeout_ms. A hold
 * cancelled or timed out is withdrawn from the broker (hold-end). */
int broker_ask_hold(struct worker *w, const struct ipc_hold *h, broker_ask_cb cb, void *arg,
		    struct broker_ask **out) AL_MUST_CHECK;
void broker_ask_cancel(struct broker_ask *a);
/* Tell the broker an upstream answered 401 to an injected request (it may
 * refresh an OAuth credential), on w's link. No answer; dropped when the
 * broker is not there. */
void broker_note_upstream_401(struct worker *w, const char *secret, const char *host);
/* broker_note_decisions(), paired with on_msg_decisions() in the broker,
 * and broker_note_stats() with on_msg_stats(): one encoded frame (taken)
 * on w's notes link (not the asks' link: an ask never waits behind them),
 * from w's thread. AL_EUNAVAIL (frame dropped) when that link is not up or
 * has more than AL_DECISIONS_FEED_QUEUE bytes unwritten. */
int broker_note_decisions(struct worker *w, uint8_t *frame, size_t len) AL_MUST_CHECK;
int broker_note_stats(struct worker *w, uint8_t *frame, size_t len) AL_MUST_CHECK;
/* A worker's link and asks: init before its thread runs, stop on its
 * thread when it shuts down, free after the thread is joined. */
void broker_box_init(struct worker *w);
void broker_box_stop(struct worker *w);
void broker_box_free(struct worker *w);
/* A new policy: wipe the worker's kept headers answers (askcache.h). */
void broker_box_policy_changed(struct worker *w);

#endif
