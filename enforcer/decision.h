/* One decision of the proxy: the fields of its log line, its
 * request id (the `req` of the line, and X-Airlock-Request-Id on every
 * answer airlock makes itself), and where the line goes. decision.c owns
 * the ids and the writing of the line. */
#ifndef AIRLOCK_ENFORCER_DECISION_H
#define AIRLOCK_ENFORCER_DECISION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/reasons.h"
#include "common/netmatch.h"

/* The fields of one decision log line (docs/airlock-enforcer.8, LOG). */
struct decision {
	const char *verdict;          /* "allow" or "deny" */
	char client[AL_NAME_MAX + 1];
	char method[AL_METHOD_MAX + 1];
	const char *scheme;
	char host[AL_HOST_BUF];
	uint16_t port;
	char path[AL_PATH_MAX + 1];
	uint64_t rule;                /* 0: none */
	enum reason reason;           /* REASON_NONE: none */
	const char *inject;           /* secret name injected, or NULL */
	int status;
	uint64_t bytes_up, bytes_down;
	uint64_t start_ms;
	bool scanned;                 /* the response was scrubbed of the injected secret */
	uint64_t scrubbed;            /* ... and held it this many times */
	uint64_t req;                 /* its request number (0: none yet): decision_req() */
	const char *upgrade;          /* "websocket" once a 101 was passed on: logged then, and at close */
	bool metered;                 /* an LLM answer whose usage was read (usage.h) */
	uint64_t tokens_in, tokens_out;
	/* set for one line by its writer (conn_log): */
	const char *hint;             /* "secret-available": allowed, nothing injected, a secret exists for the host */
	const char *upgrade_line;     /* "websocket" as the 101 passes, "websocket-closed" at close */
};

/* A request id is 20 hex digits: the enforcer's start time in ms (40 bits,
 * so a restarted enforcer never repeats an id of the one before) then the
 * request's number in this run (40 bits). Unique per run, sortable. */
#define REQID_LEN 20

/* Once, before the workers run. */
void reqid_init(void);
/* d's request number, drawn on first use (any thread). */
uint64_t decision_req(struct decision *d);
void reqid_format(uint64_t req, char out[REQID_LEN + 1]);

struct worker;

/* Write d's line (verdict, fields, ms since start_ms), on worker w's thread:
 * also counted for the broker's /metrics and queued for its live view.
 * mode: the proxy's mode name; src: the sandbox's address:port or NULL;
 * via: "socks5" or NULL. */
void decision_emit(struct worker *w, struct decision *d, const char *mode, const char *src, const char *via);

/* The broker's copies, per worker thread: start before the loop runs (the
 * stats and batch timers, when there is a broker), flush a big batch before
 * the loop waits (uv_prepare; smaller ones leave on the timer), stop with
 * the worker's handles, free after its loop ended. */
void decision_feed_start(struct worker *w);
void decision_feed_flush(struct worker *w);
void decision_feed_stop(struct worker *w);
void decision_feed_free(void);
/* A broker ask took us microseconds (its answer, refusal or deadline). */
void decision_note_ask(struct worker *w, uint64_t us);

#endif
