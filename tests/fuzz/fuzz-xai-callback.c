/* libFuzzer target for the loopback callback of `airlock oauth xai`
 * (oauth-providers/xai_login.c): the input is one raw HTTP request, handed
 * to a real libmicrohttpd over a socketpair (as the browser's redirect to
 * http://127.0.0.1:56121/callback?code=..&state=.. would be), whose access
 * handler asks xai_callback_decide, as the listener does, with the
 * arguments libmicrohttpd decoded. Invariants:
 *  - the login ends (a code or an error) only for GET /callback with the
 *    login's state, byte for byte; any other state is refused and the login
 *    waits on; once it has ended, every callback is 410 and changes nothing;
 *  - the code taken is the decoded code argument, whole, and 200 is
 *    answered exactly when a code was taken;
 *  - the error kept for the terminal is one printable line that holds no
 *    piece of the code nor of the login's state (a CSRF secret). */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oauth-providers/xai.h"
#include "tests/fuzz/secretcheck.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* what rand_b64url(16 bytes) makes: 22 base64url characters */
static const char want_state[] = "q3V8-xk_2mZ0aLr9TfWc4A";

static struct MHD_Daemon *daemon_;

/* what the terminal may show: our words, or xAI's error argument cut to
 * 64 bytes with anything unprintable as '?', never the code or the state */
static void expected_error(const char *error, char *out, size_t cap)
{
	if (!error) {
		snprintf(out, cap, "the callback carried no code");
		return;
	}
	size_t o = (size_t)snprintf(out, cap, "xAI refused the login: ");
	for (size_t i = 0; error[i] && i < 64 && o + 1 < cap; i++)
		out[o++] = (unsigned char)error[i] < 0x20 || (unsigned char)error[i] >= 0x7f ?
				   '?' : error[i];
	out[o] = '\0';
}

static void check(const char *method, const char *url, const char *state, const char *code,
		  const char *error, bool over, const struct xai_callback *cb)
{
	bool right = strcmp(method, "GET") == 0 && strcmp(url, "/callback") == 0 && state &&
		     strcmp(state, want_state) == 0 && strlen(state) == strlen(want_state);
	if (cb->ends != (right && !over))
		__builtin_trap();   /* ended by the wrong request, or not by the right one */
	if (right && over && cb->status != MHD_HTTP_GONE)
		__builtin_trap();
	if (!cb->ends) {
		if (cb->code || cb->error[0] || cb->status == MHD_HTTP_OK)
			__builtin_trap();
		return;
	}
	if ((cb->code != NULL) == (cb->error[0] != 0))
		__builtin_trap();   /* a code or an error, never both, never neither */
	if (cb->code && (!code || strcmp(cb->code, code) != 0))
		__builtin_trap();   /* not the code that came */
	if ((cb->status == MHD_HTTP_OK) != (cb->code != NULL))
		__builtin_trap();   /* the browser told "complete" while the login failed */
	secretcheck_printable(cb->error, sizeof cb->error);
	if (cb->error[0]) {
		char want[sizeof cb->error];
		expected_error(error, want, sizeof want);
		if (strcmp(cb->error, want) != 0)
			__builtin_trap();   /* the terminal would show something else */
	}
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
	const char *error = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "error");
	struct xai_callback cb, again;

	if (*con_cls == NULL) {   /* first call: the head is in; a body may follow */
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	xai_callback_decide(method, url, state, code, error, want_state, false, &cb);
	check(method, url, state, code, error, false, &cb);
	xai_callback_decide(method, url, state, code, error, want_state, true, &again);
	check(method, url, state, code, error, true, &again);
	free(again.code);
	free(cb.code);
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(cb.text), (void *)cb.text, MHD_RESPMEM_PERSISTENT);
	MHD_RESULT ret = MHD_queue_response(c, cb.status, r);
	MHD_destroy_response(r);
	return ret;
}

static void setup(void)
{
	if (daemon_)
		return;
	daemon_ = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, NULL,
				   MHD_OPTION_CONNECTION_TIMEOUT, 2u, MHD_OPTION_END);
	if (!daemon_)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(40000) };
	char buf[4096];

	setup();
	if (size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* the whole request, then EOF: the unix socket buffer holds 64 KiB */
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (MHD_add_connection(daemon_, sv[1], (struct sockaddr *)&sin, sizeof sin) != MHD_YES) {
		close(sv[0]);
		return 0;
	}
	/* MHD closes its end once the answer is out or the request is refused */
	bool closed = false;
	for (int i = 0; i < 1000 && !closed; i++) {
		if (MHD_run(daemon_) != MHD_YES)
			abort();
		closed = read(sv[0], buf, sizeof buf) == 0;
	}
	close(sv[0]);
	if (!closed) {   /* a connection MHD still waits on goes with its daemon */
		MHD_stop_daemon(daemon_);
		daemon_ = NULL;
	}
	return 0;
}
