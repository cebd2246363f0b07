/* HTTPS to token endpoints with libcurl (GnuTLS flavour). The broker is one
 * libuv loop in one thread, so requests never block it: a curl multi handle
 * is driven by the loop itself (uv_poll_t per socket from
 * CURLMOPT_SOCKETFUNCTION, one uv_timer_t from CURLMOPT_TIMERFUNCTION) and
 * each request ends in a completion callback on the loop. No threads.
 * The same --resolve pins and --upstream-ca as the enforcer apply (the CA
 * file is added to the system trust, not a replacement for it). The CLI
 * (xAI login) uses the blocking oauth_http_perform(). */
#ifndef AIRLOCK_OAUTH_REFRESH_H
#define AIRLOCK_OAUTH_REFRESH_H

#include <uv.h>

#include "common/error.h"
#include "oauth-providers/provider.h"

#define OAUTH_CONNECT_TIMEOUT_MS 10000
#define OAUTH_TOTAL_TIMEOUT_MS 30000

struct oauth_http_opts {
	const char *const *resolve;   /* "HOST:PORT:ADDR" (curl's --resolve), NULL-terminated; may be NULL */
	size_t nresolve;              /* or a count when resolve is not NULL-terminated (0: terminated) */
	const char *ca_file;          /* --upstream-ca, or NULL */
	long connect_timeout_ms;      /* 0: OAUTH_CONNECT_TIMEOUT_MS */
	long timeout_ms;              /* 0: OAUTH_TOTAL_TIMEOUT_MS */
};

struct oauth_http;
struct oauth_http_xfer;

/* The answer (or resp->status 0 with resp->error set). resp belongs to the
 * callee for the duration of the call only: copy what you keep. */
typedef void (*oauth_http_cb)(void *arg, const struct oauth_http_resp *resp);

int oauth_http_new(uv_loop_t *loop, const struct oauth_http_opts *o, struct oauth_http **out) AL_MUST_CHECK;
/* Cancel every transfer (no callbacks), close the loop handles; the memory
 * goes once the loop has run the close callbacks. */
void oauth_http_close(struct oauth_http *h);
/* Start req (copied: the caller frees its own). *xfer (may be NULL) lets
 * the caller cancel before the callback. */
int oauth_http_start(struct oauth_http *h, const struct oauth_http_req *req, oauth_http_cb cb,
		     void *arg, struct oauth_http_xfer **xfer) AL_MUST_CHECK;
void oauth_http_cancel(struct oauth_http_xfer *x);

/* Blocking variant. resp filled in every case (status 0 on network error);
 * free it with oauth_http_resp_free. Returns 0, or AL_EUNAVAIL when no
 * answer came. */
int oauth_http_perform(const struct oauth_http_opts *o, const struct oauth_http_req *req,
		       struct oauth_http_resp *resp) AL_MUST_CHECK;

#endif
