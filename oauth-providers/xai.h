/* xAI specifics shared by xai.c (the provider) and xai_login.c (the
 * loopback login behind `airlock oauth xai`): the Grok CLI's public client,
 * endpoint validation, and the login. */
#ifndef AIRLOCK_OAUTH_XAI_H
#define AIRLOCK_OAUTH_XAI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"
#include "oauth-providers/refresh.h"

#define XAI_ISSUER "https://auth.x.ai"
#define XAI_TOKEN_URL "https://auth.x.ai/oauth2/token"
#define XAI_CLIENT_ID "b1a00492-073a-47ea-816f-4c329264a828"
#define XAI_SCOPES "openid profile email offline_access grok-cli:access api:access"
/* xAI's allow-list of loopback redirects names this port (opencode). */
#define XAI_LOOPBACK_PORT 56121
#define XAI_LOGIN_TIMEOUT_S 300

/* 0 when url is https on x.ai or a subdomain, default port, no userinfo. */
int xai_endpoint_check(const char *url) AL_MUST_CHECK;

struct xai_login_opts {
	const char *issuer;           /* NULL: XAI_ISSUER. Another https issuer (tests) is
				       * accepted; its endpoints must then be on its own host */
	unsigned port;                /* 0: XAI_LOOPBACK_PORT */
	int timeout_s;                /* 0: XAI_LOGIN_TIMEOUT_S */
	bool device;                  /* skip the loopback listener: device flow */
	struct oauth_http_opts http;  /* --resolve, --upstream-ca for tests */
	FILE *msg;                    /* where the URL and progress go (stderr) */
	/* called once the listener is up, with the authorize URL (tests, or a
	 * browser opener); may be NULL */
	void (*on_url)(void *arg, const char *url);
	void *arg;
};

/* The loopback listener's decision on one request (xai_login.c's
 * on_request, apart so that tests/fuzz/fuzz-xai-callback.c can drive it):
 * method, url and the query arguments state, code and error as
 * libmicrohttpd decoded them (NULL when absent), the login's own state,
 * and whether a callback already ended the login. */
struct xai_callback {
	unsigned status;        /* the HTTP answer */
	const char *text;       /* its body (static) */
	bool wrong_state;       /* someone else's redirect: refused, the login waits on */
	bool ends;              /* this callback ends the login: code or error is set */
	char *code;             /* the authorization code (malloc'd), or NULL */
	char error[160];        /* why the login failed (printable), "" with a code */
};
void xai_callback_decide(const char *method, const char *url, const char *state,
			 const char *code, const char *error, const char *want_state, bool over,
			 struct xai_callback *out);

/* Run the login; on success *out is the credential JSON that `airlock
 * oauth xai` prints (type, access_token, refresh_token, id_token?,
 * token_type, token_endpoint, obtained_at, expires_at). err is one line. */
int xai_login(const struct xai_login_opts *o, json_t **out, char *err, size_t errlen) AL_MUST_CHECK;

#endif
