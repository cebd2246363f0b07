/* The broker as one object: its options, state, seal key, and the loop
 * pieces (REST API, IPC server, enforcer supervisor, TTL timer, signals)
 * that main.c wires together. Everything runs on one libuv loop in one
 * thread, so nothing here needs a lock. */
#ifndef AIRLOCK_BROKER_BROKER_H
#define AIRLOCK_BROKER_BROKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "broker/options.h"
#include "broker/state.h"
#include "common/error.h"
#include "common/seal.h"

struct api_server;
struct ipc_server;
struct supervisor;
struct oauth_mgr;
struct observe;
struct fleet;
struct approvals;
struct tokens_today;

#define API_SOCKET_NAME "api.sock"
#define SEAL_KEY_FILE_NAME "seal.key"

/* A policy snapshot encoded as one IPC frame (common/ipc.h "policy"),
 * ready to send as is. */
struct policy_frame {
	uint8_t *buf;       /* NULL: none */
	size_t len;         /* header included */
	uint64_t version;
};

struct broker {
	uv_loop_t *loop;
	struct broker_config cfg;
	struct state state;
	struct seal_key key;
	char *api_sock_path;
	char *ipc_sock_path;
	char *ca_path;
	uint64_t policy_version;
	/* The policy as last published, sent as is to every enforcer that says
	 * hello: an enforcer only ever receives a frame that was checked to fit. */
	struct policy_frame policy;
	struct api_server *api;
	struct api_server *metrics;   /* --metrics-listen; NULL without */
	struct api_server *ui;        /* --ui-listen; NULL without */
	struct ipc_server *ipc;
	struct supervisor *sup;
	struct oauth_mgr *oauth;   /* broker/oauth.c: refresh scheduling */
	struct observe *observe;   /* broker/observe.c: the enforcer's decisions and counters */
	struct fleet *fleet;       /* broker/fleet.c: --store; NULL with state.json */
	struct approvals *approvals;   /* broker/approvals.c: requests held for a person */
	struct tokens_today *tokens_today;   /* broker/tokens_today.c: the day's LLM token counts */
	uint64_t oauth_refreshes, oauth_refresh_failures;   /* for /metrics */
	int64_t started_ms;        /* wall clock, for status and /metrics */
	uv_timer_t ttl_timer;
	int64_t ttl_armed_for;   /* the expires_at the timer waits for (0: none) */
	uv_signal_t sig_term, sig_int, sig_hup;
	int argc;            /* the command line, read again with the config file on SIGHUP */
	char **argv;
	bool handles_open;   /* ttl timer and signal handles need closing */
	/* Ready: the API serves and (unless --no-enforcer) an enforcer said it
	 * listens and holds the policy. Only then the banner and READY=1; an
	 * enforcer that exits before, or is not listening within
	 * SUPERVISE_START_TIMEOUT_MS, fails the start (exit 1). */
	bool ready;
	int tty_fd;          /* with --log-file: the stderr we were given (start failures), else -1 */
	bool stopping;
	int exit_code;
};

/* Bring everything up (state dir, seal key, CA, state, sockets, enforcer).
 * err gets a one-line reason on failure. */
int broker_start(struct broker *b, uv_loop_t *loop, char *err, size_t errlen) AL_MUST_CHECK;
/* Close everything, unlink the sockets (the loop then ends once the
 * enforcer is gone). Safe to call more than once, and after a failed start. */
void broker_stop(struct broker *b);
/* An enforcer is listening and holds a policy (ipc_server.c): report ready
 * once. */
void broker_enforcer_ready(struct broker *b, unsigned http_port, unsigned https_port);
/* The enforcer cannot run (it exited at start, timed out, or crashed too
 * often): log why, stop, exit 1. */
void broker_fail(struct broker *b, const char *why);
/* SIGHUP (broker/reload.c): reopen the log, read the config file again,
 * apply what may change live, restart the enforcer for proxy settings. */
void broker_reload(struct broker *b);
/* After the loop has ended: free what start allocated, wipe the key. */
void broker_free(struct broker *b);
/* A change is checked before it is committed: the snapshot of doc (a draft)
 * at the next version, encoded once into *pf. AL_ETOOBIG when it would not
 * fit one IPC frame, with err saying how big it would be against the cap;
 * nothing is changed then. */
int broker_policy_prepare(const struct broker *b, const json_t *doc, struct policy_frame *pf,
			  char *err, size_t errlen) AL_MUST_CHECK;
/* Once the draft is committed: pf becomes the current policy (taken), is
 * sent to every enforcer, and the TTL timer is re-armed. */
void broker_policy_publish(struct broker *b, struct policy_frame *pf);
/* The committed state's policy at the next version, published: after a
 * rule TTL, and after a refreshed OAuth credential (enforcer workers wipe
 * the headers answers they keep on every new version). */
void broker_policy_push(struct broker *b);
/* A prepared frame that is not published (its change was not committed). */
void policy_frame_free(struct policy_frame *pf);
/* "http://127.0.0.1:3128" from --bind and a port (brackets for IPv6). */
void broker_proxy_url(const struct broker *b, const char *scheme, unsigned port, char *buf,
		      size_t cap);

#endif
