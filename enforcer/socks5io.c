/* The plain listener's SOCKS5 side as a stream filter: conn.c sees a first
 * byte 4 or 5 and puts this io between the socket and itself. It runs the
 * SOCKS negotiation (method, RFC 1929 password checked against the policy,
 * request), then hands the connection an HTTP CONNECT head carrying the
 * same token: from there the request is decided, logged, tunnelled,
 * intercepted or spliced by the very code that serves an HTTP CONNECT.
 * Our answer to that CONNECT comes back down through this filter as an
 * HTTP head and leaves as a SOCKS reply; after a success the filter only
 * passes bytes both ways. Refusals at the SOCKS layer (no password method,
 * a wrong password, BIND, UDP ASSOCIATE, SOCKS4) get the protocol's code,
 * one decision line, and the connection ends. */
#include "config.h"

#include "socks5io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/decision.h"
#include "enforcer/io.h"
#include "enforcer/policy.h"
#include "enforcer/settings.h"
#include "enforcer/socks5.h"
#include "enforcer/worker.h"

/* RFC 1928: "the SOCKS server MUST terminate the TCP connection shortly
 * after sending the reply. This must be no more than 10 seconds". We wait a
 * little for the client's FIN (closing with unread bytes would send a RST
 * that may destroy the reply), then close. */
#define SOCKS_FAIL_GRACE_MS 2000

enum sstate { S_GREET, S_AUTH, S_REQUEST, S_WAIT, S_OPEN, S_FAILED };

struct io_socks {
	struct io base;
	struct io *lower;
	struct worker *w;
	enum sstate st;
	uint8_t in[AL_SOCKS5_NEGOTIATION_MAX];
	size_t inlen;
	char tok[256];                 /* the password, from auth to the CONNECT head */
	size_t toklen;
	char client[AL_NAME_MAX + 1];  /* for our own log lines */
	char *early;                   /* bytes behind the request, before the answer */
	size_t earlylen;
	char answer[AL_SOCKS5_ANSWER_MAX];
	size_t answerlen;
	uv_timer_t timer;              /* deferred delivery; the failure grace */
	int closes;
	bool up_reading, lower_reading, lower_eof, eof_sent, closing;
};

static void deliver(struct io_socks *t);
static void on_timer(uv_timer_t *tm);

/* ---- our own decision lines (refusals before the CONNECT exists) ---- */

static void log_refusal(struct io_socks *t, const char *method, enum reason reason)
{
	struct decision d = { .verdict = "deny", .scheme = "tcp", .reason = reason };
	char peer[AL_SOURCE_KEY_MAX];
	snprintf(d.client, sizeof d.client, "%s", t->client);
	snprintf(d.method, sizeof d.method, "%s", method ? method : "");
	if (!io_tcp_peer_port(t->lower, peer, sizeof peer))
		peer[0] = '\0';
	decision_emit(t->w, &d, config_mode_name(t->w->px->cfg->mode), peer[0] ? peer : NULL, "socks5");
}

static void lower_reading(struct io_socks *t, bool want)
{
	if (t->closing || want == t->lower_reading)
		return;
	t->lower_reading = want;
	if (want)
		io_read_start(t->lower);
	else
		io_read_stop(t->lower);
}

static void wipe_token(struct io_socks *t)
{
	secure_wipe(t->tok, sizeof t->tok);
	t->toklen = 0;
}

/* The reply is the last thing we send: FIN behind it, drop what comes,
 * and end the connection above after a grace (or at the client's FIN). */
static void fail(struct io_socks *t, const void *reply, size_t n)
{
	wipe_token(t);
	t->st = S_FAILED;
	if (n)
		(void)io_write(t->lower, reply, n);
	io_shutdown(t->lower);
	lower_reading(t, true);
	uv_timer_start(&t->timer, on_timer, SOCKS_FAIL_GRACE_MS, 0);
}

/* Like a TCP stream, an open tunnel reports the client's EOF again on
 * every read_start after it (a connection closing gracefully waits for
 * it); a failed negotiation ends the connection above once. */
static void send_eof_up(struct io_socks *t)
{
	if (t->closing || !t->base.h || (t->st != S_OPEN && t->eof_sent))
		return;
	t->eof_sent = true;
	t->base.h->on_eof(t->base.arg);
}

static void on_timer(uv_timer_t *tm)
{
	struct io_socks *t = tm->data;
	if (t->closing)
		return;
	if (t->st == S_FAILED) {
		send_eof_up(t);
		return;
	}
	deliver(t);
}

/* ---- negotiation ---- */

static void negotiate(struct io_socks *t)
{
	uint8_t rep[SOCKS5_REPLY_LEN];
	size_t used = 0;
	enum socks5_parse r;

	while (t->st <= S_REQUEST && !t->closing) {
		if (t->st == S_GREET) {
			if (t->inlen && t->in[0] == SOCKS4_VERSION) {
				socks4_reject(rep);
				log_refusal(t, NULL, REASON_SOCKS4_REFUSED);
				fail(t, rep, SOCKS4_REPLY_LEN);
				return;
			}
			r = socks5_parse_greeting(t->in, t->inlen, &used);
			if (r == SOCKS5_NEED_MORE)
				break;
			if (r == SOCKS5_REFUSE) {
				socks5_method_reply(rep, SOCKS5_METHOD_NONE);
				log_refusal(t, NULL, REASON_SOCKS_NO_ACCEPTABLE_METHOD);
				fail(t, rep, SOCKS5_METHOD_REPLY_LEN);
				return;
			}
			socks5_method_reply(rep, SOCKS5_METHOD_USERPASS);
			(void)io_write(t->lower, rep, SOCKS5_METHOD_REPLY_LEN);
			t->st = S_AUTH;
		} else if (t->st == S_AUTH) {
			struct socks5_cred cred;
			r = socks5_parse_auth(t->in, t->inlen, &used, &cred);
			if (r == SOCKS5_NEED_MORE)
				break;
			const struct policy_client *cl =
				r == SOCKS5_DONE ? policy_client_by_token(t->w->policy, cred.pass, cred.plen) : NULL;
			if (!cl) {
				secure_wipe(&cred, sizeof cred);
				socks5_auth_reply(rep, false);
				log_refusal(t, NULL, r == SOCKS5_DONE ? REASON_PROXY_AUTH_FAILED : REASON_SOCKS_BAD_AUTH);
				fail(t, rep, SOCKS5_AUTH_REPLY_LEN);
				return;
			}
			snprintf(t->client, sizeof t->client, "%s", cl->name);
			memcpy(t->tok, cred.pass, cred.plen);
			t->toklen = cred.plen;
			secure_wipe(&cred, sizeof cred);
			socks5_auth_reply(rep, true);
			(void)io_write(t->lower, rep, SOCKS5_AUTH_REPLY_LEN);
			t->st = S_REQUEST;
		} else {
			struct socks5_req req;
			uint8_t code;
			char head[AL_HOST_BUF * 2 + 512];
			size_t hlen;
			r = socks5_parse_request(t->in, t->inlen, &used, &req, &code);
			if (r == SOCKS5_NEED_MORE)
				break;
			if (r == SOCKS5_REFUSE) {
				socks5_reply(rep, code);
				log_refusal(t, socks5_cmd_name(req.cmd),
					    code == SOCKS5_REP_CMD_UNSUPPORTED ? REASON_SOCKS_COMMAND_REFUSED : REASON_SOCKS_BAD_REQUEST);
				fail(t, rep, SOCKS5_REPLY_LEN);
				return;
			}
			int rc = socks5_connect_head(&req, t->tok, t->toklen, head, sizeof head, &hlen);
			wipe_token(t);
			if (rc < 0) {
				socks5_reply(rep, SOCKS5_REP_FAILURE);
				fail(t, rep, SOCKS5_REPLY_LEN);
				return;
			}
			t->st = S_WAIT;
			/* what follows the request waits for the answer */
			size_t rest = t->inlen - used;
			if (rest) {
				t->early = xmalloc(rest);
				memcpy(t->early, t->in + used, rest);
				t->earlylen = rest;
			}
			secure_wipe(t->in, sizeof t->in);
			t->inlen = 0;
			t->base.h->on_read(t->base.arg, head, hlen);
			secure_wipe(head, sizeof head);
			return;
		}
		memmove(t->in, t->in + used, t->inlen - used);
		t->inlen -= used;
		secure_wipe(t->in + t->inlen, used);
	}
	if (t->st <= S_REQUEST && t->inlen == sizeof t->in) {
		/* cannot happen with valid messages: the three fit */
		log_refusal(t, NULL, REASON_SOCKS_BAD_REQUEST);
		fail(t, NULL, 0);
	}
}

/* ---- bytes from the client ---- */

/* Bytes behind the request wait for the answer: a refused request must not
 * leave them to be read as the connection's next HTTP request. Past the
 * cap we stop reading and the kernel holds the rest. */
static void hold(struct io_socks *t, const char *buf, size_t n)
{
	if (t->earlylen + n >= AL_SOCKS5_EARLY_MAX) {
		lower_reading(t, false);
		/* stopped reading: nothing more arrives until the answer; what
		 * this read brought past the cap is dropped, so the connection
		 * cannot open (a client that floods before any answer) */
		if (t->earlylen + n > AL_SOCKS5_EARLY_MAX) {
			uint8_t rep[SOCKS5_REPLY_LEN];
			socks5_reply(rep, SOCKS5_REP_FAILURE);
			log_refusal(t, "CONNECT", REASON_SOCKS_EARLY_DATA_TOO_LARGE);
			fail(t, rep, sizeof rep);
			return;
		}
	}
	t->early = xrealloc(t->early, t->earlylen + n + 1);
	memcpy(t->early + t->earlylen, buf, n);
	t->earlylen += n;
}

static void on_lower_read(void *arg, const char *buf, size_t n)
{
	struct io_socks *t = arg;
	if (t->closing)
		return;
	switch (t->st) {
	case S_GREET:
	case S_AUTH:
	case S_REQUEST: {
		size_t room = sizeof t->in - t->inlen;
		size_t k = n < room ? n : room;
		memcpy(t->in + t->inlen, buf, k);
		t->inlen += k;
		negotiate(t);
		if (k < n && !t->closing && t->st == S_WAIT)
			hold(t, buf + k, n - k);   /* more behind a request that filled the buffer */
		break;
	}
	case S_WAIT:
		hold(t, buf, n);
		break;
	case S_OPEN:
		if (t->base.h)
			t->base.h->on_read(t->base.arg, buf, n);
		break;
	case S_FAILED:
		break;
	}
}

static void on_lower_eof(void *arg)
{
	struct io_socks *t = arg;
	t->lower_eof = true;
	t->lower_reading = false;
	if (t->closing)
		return;
	/* after held bytes, never before them */
	if (t->st == S_OPEN && t->earlylen)
		return;
	if (t->st == S_WAIT && t->earlylen)
		return;
	send_eof_up(t);
}

static void on_lower_error(void *arg, int err)
{
	struct io_socks *t = arg;
	if (!t->closing && t->base.h)
		t->base.h->on_error(t->base.arg, err);
}

static void on_lower_drain(void *arg)
{
	struct io_socks *t = arg;
	if (!t->closing && t->st != S_FAILED && t->base.h && t->base.h->on_drain)
		t->base.h->on_drain(t->base.arg);
}

static void socks_free_if_done(struct io_socks *t)
{
	if (--t->closes > 0)
		return;
	if (t->base.h && t->base.h->on_closed)
		t->base.h->on_closed(t->base.arg);
	free(t->early);
	secure_wipe(t, sizeof *t);
	free(t);
}

static void on_lower_closed(void *arg)
{
	socks_free_if_done(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
	socks_free_if_done(h->data);
}

static const struct io_handler lower_h = {
	.on_read = on_lower_read,
	.on_eof = on_lower_eof,
	.on_error = on_lower_error,
	.on_drain = on_lower_drain,
	.on_closed = on_lower_closed,
};

/* Held bytes go up once the tunnel is open and the layer above reads. */
static void deliver(struct io_socks *t)
{
	if (t->closing || t->st != S_OPEN || !t->up_reading)
		return;
	if (t->earlylen) {
		char *e = t->early;
		size_t n = t->earlylen;
		t->early = NULL;
		t->earlylen = 0;
		t->base.h->on_read(t->base.arg, e, n);
		free(e);
		if (t->closing)
			return;
	}
	if (t->lower_eof)
		send_eof_up(t);
}

/* ---- our answer to the CONNECT, from above ---- */

static int answer(struct io_socks *t, const char *buf, size_t n)
{
	uint8_t rep[SOCKS5_REPLY_LEN];
	size_t room = sizeof t->answer - t->answerlen;
	size_t k = n < room ? n : room;
	memcpy(t->answer + t->answerlen, buf, k);
	t->answerlen += k;
	char *end = memmem(t->answer, t->answerlen, "\r\n\r\n", 4);
	if (!end) {
		if (t->answerlen == sizeof t->answer) {
			socks5_reply(rep, SOCKS5_REP_FAILURE);
			fail(t, rep, sizeof rep);
		}
		return 0;
	}
	size_t hlen = (size_t)(end + 4 - t->answer);
	int status = 0;
	char reason[64];
	if (socks5_answer_parse(t->answer, hlen, &status, reason, sizeof reason) < 0)
		status = 500;
	uint8_t code = socks5_rep_for(status, reason_lookup(reason, strlen(reason)));
	socks5_reply(rep, code);
	if (code != SOCKS5_REP_OK) {
		fail(t, rep, sizeof rep);
		return 0;
	}
	t->st = S_OPEN;
	if (io_write(t->lower, rep, sizeof rep) < 0)
		return AL_EIO;
	/* anything written behind the head belongs to the tunnel */
	size_t after = t->answerlen - hlen;
	int rc = 0;
	if (after)
		rc = io_write(t->lower, t->answer + hlen, after);
	if (rc == 0 && k < n)
		rc = io_write(t->lower, buf + k, n - k);
	t->answerlen = 0;
	if (t->up_reading) {
		lower_reading(t, true);
		if (t->earlylen || t->lower_eof)
			uv_timer_start(&t->timer, on_timer, 0, 0);
	}
	return rc;
}

static int socks_write(struct io *io, const void *buf, size_t n)
{
	struct io_socks *t = (struct io_socks *)io;
	if (t->closing)
		return AL_EIO;
	switch (t->st) {
	case S_OPEN:
		return io_write(t->lower, buf, n);
	case S_WAIT:
		return answer(t, buf, n);
	case S_FAILED:
		return 0;
	default:
		/* an answer before the request was whole (a timeout): no SOCKS
		 * reply fits there; end the connection */
		fail(t, NULL, 0);
		return 0;
	}
}

static void socks_read_start(struct io *io)
{
	struct io_socks *t = (struct io_socks *)io;
	if (t->closing)
		return;
	t->up_reading = true;
	if (t->st == S_WAIT) {
		/* held until the answer, up to the cap */
		lower_reading(t, t->earlylen < AL_SOCKS5_EARLY_MAX && !t->lower_eof);
		return;
	}
	if (t->st == S_OPEN && (t->earlylen || t->lower_eof))
		uv_timer_start(&t->timer, on_timer, 0, 0);
	if (!t->lower_eof)
		lower_reading(t, true);
}

static void socks_read_stop(struct io *io)
{
	struct io_socks *t = (struct io_socks *)io;
	t->up_reading = false;
	/* negotiation and a failure's drain read on their own */
	if (t->st == S_OPEN || t->st == S_WAIT)
		lower_reading(t, false);
}

static size_t socks_queued(const struct io *io)
{
	return io_queued(((const struct io_socks *)io)->lower);
}

static void socks_shutdown(struct io *io)
{
	struct io_socks *t = (struct io_socks *)io;
	if (t->closing)
		return;
	if (t->st < S_OPEN && t->st != S_FAILED) {
		fail(t, NULL, 0);
		return;
	}
	io_shutdown(t->lower);
}

static void socks_close(struct io *io)
{
	struct io_socks *t = (struct io_socks *)io;
	if (t->closing)
		return;
	t->closing = true;
	wipe_token(t);
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, on_timer_closed);
	io_close(t->lower);
}

/* Once the tunnel is open every byte passes through untouched: the
 * socket below may read as much at once as the tunnel asks for. */
static void socks_set_read_size(struct io *io, size_t n)
{
	struct io_socks *t = (struct io_socks *)io;
	if (t->st == S_OPEN)
		io_set_read_size(t->lower, n);
}

static const struct io_ops socks_ops = {
	.write = socks_write,
	.read_start = socks_read_start,
	.read_stop = socks_read_stop,
	.queued = socks_queued,
	.shutdown = socks_shutdown,
	.close = socks_close,
	.set_read_size = socks_set_read_size,
};

bool socks5io_first_byte(uint8_t b)
{
	return b == SOCKS5_VERSION || b == SOCKS4_VERSION;
}

struct io *socks5io_wrap(struct io *lower, struct worker *w)
{
	struct io_socks *t = xcalloc(1, sizeof *t);
	t->base.ops = &socks_ops;
	t->base.loop = lower->loop;
	t->base.h = lower->h;
	t->base.arg = lower->arg;
	t->lower = lower;
	t->w = w;
	t->st = S_GREET;
	t->closes = 2;
	t->lower_reading = true;   /* the connection was reading: that is how we got here */
	t->up_reading = true;
	uv_timer_init(lower->loop, &t->timer);
	t->timer.data = t;
	io_set_handler(lower, &lower_h, t);
	return &t->base;
}

void socks5io_feed(struct io *io, const char *buf, size_t n)
{
	on_lower_read(io, buf, n);
}
