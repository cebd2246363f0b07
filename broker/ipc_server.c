/* IPC server: one uv_pipe_t per enforcer connection, frames read with
 * ipc_reader, each checked against its table in common/ipc.c and handled by
 * its row in the dispatch table, which also says whether it may come before
 * hello and more than once; anything else closes the connection (the secret
 * holder is strict). answer_headers() opens bearer and basic values to
 * answer an ask; OAuth credentials are opened by oauth_cred_open()
 * (broker/oauth_cred.c); broker/sealed.c opens them under their record. */
#include "config.h"

#include "broker/ipc_server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/api.h"
#include "broker/approvals.h"
#include "broker/oauth.h"
#include "broker/observe.h"
#include "broker/sealed.h"
#include "broker/secret_types.h"
#include "broker/tokens_today.h"
#include "broker/unixsock.h"
#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/netmatch.h"
#include "common/seal.h"
#include "common/xmalloc.h"

#define IPC_READ_CHUNK (64 * 1024)
/* An enforcer that stops reading is cut off rather than buffered forever. */
#define IPC_WRITE_QUEUE_MAX (4 * (size_t)AL_IPC_FRAME_MAX)

struct ipc_conn {
	struct ipc_server *srv;
	uv_pipe_t pipe;
	struct ipc_reader rd;
	bool hello;
	bool asks_only;    /* a worker's own door: asks and answers, no policy */
	unsigned seen;     /* 1 << kind of each message received (ONCE rows) */
	bool closing;
	int pid;
	uint64_t serial;   /* names the connection for answers sent later (oauth holds) */
	uint64_t acked;    /* policy version this enforcer runs (policy-ack) */
	bool listening;    /* said "listening": its proxy ports accept */
	unsigned http_port, https_port;
	/* the answers to the asks of one read, written together (may carry secrets) */
	bool batching;
	char *batch;
	size_t blen, bcap;
	struct ipc_conn *next;
};

struct ipc_server {
	struct broker *b;
	uv_pipe_t listener;
	char *path;
	struct ipc_conn *conns;
	uint64_t next_serial;
	bool stopping;
	char rbuf[IPC_READ_CHUNK];
};

struct ipc_write {
	uv_write_t req;
	uint8_t *buf;
	size_t len;
	bool wipe;
};

static void conn_close(struct ipc_conn *c);

static void on_written(uv_write_t *req, int status)
{
	struct ipc_write *w = (struct ipc_write *)req;
	if (w->wipe)
		secure_free(w->buf, w->len);
	else
		free(w->buf);
	free(w);
}

/* Takes buf. */
static void conn_send_buf(struct ipc_conn *c, uint8_t *buf, size_t len, bool wipe)
{
	if (c->closing || c->pipe.write_queue_size > IPC_WRITE_QUEUE_MAX) {
		if (wipe)
			secure_free(buf, len);
		else
			free(buf);
		if (!c->closing) {
			log_warn("enforcer is not reading its IPC; disconnecting", KV_I("pid", c->pid));
			conn_close(c);
		}
		return;
	}
	if (c->batching) {
		xgrow_secure(&c->batch, &c->bcap, c->blen, c->blen + len, 4096);
		memcpy(c->batch + c->blen, buf, len);
		c->blen += len;
		if (wipe)
			secure_free(buf, len);
		else
			free(buf);
		return;
	}
	struct ipc_write *w = xcalloc(1, sizeof *w);
	w->buf = buf;
	w->len = len;
	w->wipe = wipe;
	uv_buf_t ub = uv_buf_init((char *)buf, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &ub, 1, on_written) != 0) {
		on_written(&w->req, -1);
		conn_close(c);
	}
}

static int conn_send(struct ipc_conn *c, const json_t *msg, bool wipe)
{
	uint8_t *buf;
	size_t len;
	int ret = ipc_frame_encode(msg, &buf, &len);
	if (ret < 0) {
		log_error("cannot encode an IPC frame", KV_S("error", airlock_strerror(ret)));
		return ret;
	}
	conn_send_buf(c, buf, len, wipe);
	return 0;
}

/* ---- answers ---- */

static json_t *headers_error(uint32_t id, const char *code, const char *message)
{
	return ipc_msg_headers_refusal(id, code, message, 0);
}

json_t *answer_headers(struct broker *b, const json_t *ask)
{
	if (ipc_msg_validate(ask, IPC_HEADERS_ASK, NULL, 0) < 0)
		return NULL;
	return answer_headers_conn(b, ask, 0, NULL);
}

json_t *answer_headers_conn(struct broker *b, const json_t *ask, uint64_t conn, bool *deferred)
{
	char host[AL_HOST_BUF];
	enum host_kind kind;
	uint8_t *pt = NULL;
	size_t ptlen = 0;

	uint32_t id = ipc_msg_id(ask);
	const char *name = json_str(ask, "secret", "");
	const char *asked = json_str(ask, "host", "");

	/* what the enforcer claims is checked, not trusted */
	if (host_canon(asked, strlen(asked), host, &kind) < 0)
		return headers_error(id, "secret-host-mismatch", "host is not a canonical host name");
	const json_t *sec = state_secret(b->state.doc, name, NULL);
	if (!sec)
		return headers_error(id, "secret-not-found", "no such secret");
	if (!secret_host_allowed(sec, host)) {
		log_warn("headers refused: secret not bound to host", KV_S("secret", name),
			 KV_S("host", host), KV_S("bound_to", json_str(sec, "host", "")));
		return headers_error(id, "secret-host-mismatch", "secret is not bound to this host");
	}
	const char *status = json_str(sec, "status", "ok");
	if (strcmp(status, "relogin-required") == 0)
		return headers_error(id, "relogin-required", "the secret needs a new login");
	/* OAuth: the credential may need a refresh first, and the ask may wait */
	if (broker_oauth_type(json_str(sec, "type", "")))
		return oauth_answer_headers(b, sec, host, id, conn, deferred);
	const struct secret_type *type = secret_type_find(json_str(sec, "type", ""));
	if (!secret_type_supported(type))
		return headers_error(id, "broker-error", "secret type not supported");
	/* the value is bound to this record's name, type and host: one moved
	 * here by an edit of state.json does not open (sealed_open logs it) */
	if (sealed_open(b, sec, &pt, &ptlen) < 0)
		return headers_error(id, SEALED_MISMATCH_CODE, SEALED_MISMATCH_TEXT);
	json_t *headers = json_array(), *strip = json_array(), *merge = json_array();
	int ret = type->headers(pt, ptlen, host, headers, strip, merge);
	secure_free(pt, ptlen);
	if (ret < 0) {
		/* header values are credentials: scrub jansson's copies */
		ipc_msg_wipe(headers);
		ipc_msg_wipe(merge);
		json_decref(headers);
		json_decref(strip);
		json_decref(merge);
		return headers_error(id, "broker-error", "cannot shape the headers");
	}
	log_debug("headers answered", KV_S("secret", name), KV_S("host", host));
	json_t *ans = json_pack("{s:s, s:I, s:o, s:o}", "type", IPC_MSG_HEADERS, "id", (json_int_t)id,
				"headers", headers, "strip", strip);
	/* "merge" only when a provider asks for it (common/ipc.h) */
	if (json_array_size(merge))
		json_object_set(ans, "merge", merge);
	json_decref(merge);
	return ans;
}


/* ---- the dispatch table: one row per message an enforcer may send ---- */

static int on_msg_hello(struct ipc_conn *c, const json_t *msg)
{
	struct broker *b = c->srv->b;
	if (json_int(msg, "proto", 0) != IPC_PROTO_VERSION) {
		log_warn("enforcer speaks another IPC protocol", KV_I("proto", json_int(msg, "proto", 0)));
		return AL_EPROTO;
	}
	c->hello = true;
	if (json_is_true(json_object_get(msg, "asks_only"))) {
		/* an enforcer worker's own connection for its asks: no policy */
		c->asks_only = true;
		log_debug("enforcer worker connected", KV_I("pid", c->pid));
		return 0;
	}
	log_info("enforcer connected", KV_I("pid", c->pid), KV_I("policy_version", b->policy_version));
	/* the frame last published, byte for byte: it was checked to fit before
	 * its change was committed, so a (re)connecting enforcer always gets a
	 * whole policy (rules expired since carry their expires_at) */
	if (!b->policy.buf)
		return AL_EINVAL;
	/* the day's token counts its budgets start from, first: no request
	 * is decided under the policy before they are in */
	json_t *tt = tokens_today_msg(b);
	uint8_t *buf;
	size_t len;
	if (tt && ipc_frame_encode(tt, &buf, &len) == 0)
		conn_send_buf(c, buf, len, false);
	json_decref(tt);
	uint8_t *copy = xmalloc(b->policy.len);
	memcpy(copy, b->policy.buf, b->policy.len);
	conn_send_buf(c, copy, b->policy.len, false);
	return 0;
}

/* msg was checked against its table by conn_handle */
static int on_msg_headers(struct ipc_conn *c, const json_t *msg)
{
	bool deferred = false;
	json_t *ans = answer_headers_conn(c->srv->b, msg, c->serial, &deferred);
	if (deferred)
		return 0;   /* answered by ipc_server_send_to once the refresh ends */
	if (!ans)
		return AL_EPROTO;
	int ret = conn_send(c, ans, true);
	ipc_msg_wipe(ans);
	json_decref(ans);
	return ret;
}

static int on_msg_upstream_401(struct ipc_conn *c, const json_t *msg)
{
	/* bearer and basic cannot refresh; oauth types force one refresh */
	log_info("upstream refused an injected credential", KV_S("secret", json_str(msg, "secret", "")),
		 KV_S("host", json_str(msg, "host", "")));
	oauth_on_upstream_401(c->srv->b, json_str(msg, "secret", ""), json_str(msg, "host", ""));
	return 0;
}

/* Ready is both: the ports accept and a policy decides what they let
 * through (before the first ack the workers deny everything). */
static void check_ready(struct ipc_conn *c)
{
	if (c->listening && c->acked > 0)
		broker_enforcer_ready(c->srv->b, c->http_port, c->https_port);
}

static int on_msg_listening(struct ipc_conn *c, const json_t *msg)
{
	if (c->asks_only)
		return AL_EPROTO;   /* a worker's door has no listeners to speak of */
	c->listening = true;
	c->http_port = (unsigned)json_int(msg, "http_port", 0);
	c->https_port = (unsigned)json_int(msg, "https_port", 0);
	check_ready(c);
	return 0;
}

static int on_msg_policy_ack(struct ipc_conn *c, const json_t *msg)
{
	if (c->asks_only)
		return AL_EPROTO;   /* only the connection that gets policies acks them */
	uint64_t v = (uint64_t)json_int(msg, "version", 0);
	if (v > c->srv->b->policy_version)
		return AL_EPROTO;   /* a version never sent */
	if (v > c->acked)
		c->acked = v;
	api_policy_progress(c->srv->b);
	check_ready(c);
	return 0;
}

static int on_msg_shim(struct ipc_conn *c, const json_t *msg)
{
	json_t *ans = answer_shim(c->srv->b, msg);
	if (!ans)
		return AL_EPROTO;
	int ret = conn_send(c, ans, false);
	json_decref(ans);
	return ret;
}

/* hold and hold-end: only on a worker's link (broker/approvals.c) */
static int on_msg_hold(struct ipc_conn *c, const json_t *msg)
{
	if (!c->asks_only)
		return AL_EPROTO;
	json_t *ans = approvals_on_hold(c->srv->b, c->serial, msg);
	if (!ans)
		return 0;   /* pending: answered when a person decides */
	int ret = conn_send(c, ans, false);
	json_decref(ans);
	return ret;
}

static int on_msg_hold_end(struct ipc_conn *c, const json_t *msg)
{
	if (!c->asks_only)
		return AL_EPROTO;
	approvals_on_hold_end(c->srv->b, c->serial, ipc_msg_id(msg));
	return 0;
}

/* decisions and stats: only on a worker's link, never answered */
static int on_msg_decisions(struct ipc_conn *c, const json_t *msg)
{
	if (!c->asks_only)
		return AL_EPROTO;
	observe_decisions(c->srv->b, msg);
	return 0;
}

static int on_msg_stats(struct ipc_conn *c, const json_t *msg)
{
	if (!c->asks_only)
		return AL_EPROTO;
	observe_stats(c->srv->b, msg);
	tokens_today_note(c->srv->b, msg);
	return 0;
}

/* OpenSSH's monitor keeps MON_PERMIT and MON_ONCE per request; so does
 * each row here: `after_hello` rows are refused before hello, `once` rows
 * the second time. A message without a row is refused. */
static const struct ipc_row {
	enum ipc_kind kind;
	bool after_hello;
	bool once;
	int (*handle)(struct ipc_conn *c, const json_t *msg);
} ipc_dispatch[] = {
	{ IPC_HELLO, false, true, on_msg_hello },
	{ IPC_HEADERS_ASK, true, false, on_msg_headers },
	{ IPC_SHIM_ASK, true, false, on_msg_shim },
	{ IPC_UPSTREAM_401, true, false, on_msg_upstream_401 },
	{ IPC_POLICY_ACK, true, false, on_msg_policy_ack },
	{ IPC_LISTENING, true, true, on_msg_listening },
	{ IPC_DECISIONS, true, false, on_msg_decisions },
	{ IPC_STATS, true, false, on_msg_stats },
	{ IPC_HOLD_ASK, true, false, on_msg_hold },
	{ IPC_HOLD_END, true, false, on_msg_hold_end },
};

static int conn_handle(struct ipc_conn *c, const json_t *msg)
{
	char err[160];
	enum ipc_kind kind;
	const struct ipc_row *row = NULL;
	const char *type = json_str(msg, "type", "");
	int ret = ipc_msg_check(msg, IPC_FROM_ENFORCER, &kind, err, sizeof err);

	if (ret < 0) {
		log_warn("enforcer sent a message the door refuses; closing", KV_S("type", type),
			 KV_S("error", err), KV_I("pid", c->pid));
		return AL_EPROTO;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ipc_dispatch) && !row; i++)
		if (ipc_dispatch[i].kind == kind)
			row = &ipc_dispatch[i];
	if (!row || (row->after_hello && !c->hello) || (row->once && (c->seen & 1u << kind))) {
		log_warn("enforcer sent a message it may not send now; closing", KV_S("type", type),
			 KV_S("error", !row ? "no row" : row->once && c->seen & 1u << kind ? "only once" : "before hello"),
			 KV_I("pid", c->pid));
		return AL_EPROTO;
	}
	c->seen |= 1u << kind;
	return row->handle(c, msg);
}

/* ---- connections ---- */

static void on_conn_closed(uv_handle_t *h)
{
	struct ipc_conn *c = h->data;
	ipc_reader_free(&c->rd);
	if (c->batch)
		secure_free(c->batch, c->bcap);
	free(c);
}

static void conn_close(struct ipc_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct ipc_conn **pp = &c->srv->conns;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
	if (c->asks_only && !c->srv->stopping)
		approvals_conn_gone(c->srv->b, c->serial);
	/* an API answer waiting for this enforcer waits no more: it gets the
	 * whole policy when it says hello again */
	if (c->hello && !c->asks_only && !c->srv->stopping)
		api_policy_progress(c->srv->b);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ipc_conn *c = h->data;
	*buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct ipc_conn *c = st->data;
	json_t *msg;
	int ret;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (c->hello && !c->asks_only)
			log_info("enforcer disconnected", KV_I("pid", c->pid));
		conn_close(c);
		return;
	}
	ret = ipc_reader_feed(&c->rd, (const uint8_t *)buf->base, (size_t)nread);
	/* the read buffer holds asks (names, hosts): nothing secret, but the
	 * wipe is cheap and keeps one rule for every IPC buffer */
	secure_wipe(buf->base, (size_t)nread);
	c->batching = true;
	while (ret >= 0 && !c->closing && (ret = ipc_reader_next(&c->rd, &msg)) == 1) {
		ret = conn_handle(c, msg);
		json_decref(msg);
	}
	/* one write for all the answers of this read */
	c->batching = false;
	if (c->blen) {
		uint8_t *out = (uint8_t *)c->batch;
		size_t n = c->blen;
		c->batch = NULL;
		c->blen = c->bcap = 0;
		conn_send_buf(c, out, n, true);   /* wiped after the write (and freed if closing) */
	}
	if (ret < 0 && !c->closing) {
		log_warn("IPC protocol error; closing", KV_I("pid", c->pid),
			 KV_S("error", airlock_strerror(ret)));
		conn_close(c);
	}
}

static void on_connection(uv_stream_t *ls, int status)
{
	struct ipc_server *s = ls->data;
	uv_os_fd_t fd;

	if (status < 0)
		return;
	struct ipc_conn *c = xcalloc(1, sizeof *c);
	c->srv = s;
	c->serial = ++s->next_serial;
	ipc_reader_init(&c->rd);
	uv_pipe_init(s->b->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->next = s->conns;
	s->conns = c;
	if (uv_accept(ls, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 || ipc_peer_check(fd, &c->pid) < 0) {
		log_warn("IPC peer refused (not our uid)");
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void on_listener_closed(uv_handle_t *h)
{
	struct ipc_server *s = h->data;
	free(s->path);
	free(s);
}

int ipc_server_start(struct broker *b, const char *path, struct ipc_server **out, char *err,
		     size_t errlen)
{
	struct ipc_server *s = xcalloc(1, sizeof *s);
	int fd, r;

	s->b = b;
	s->path = xstrdup(path);
	fd = unixsock_listen(path, AL_IPC_BACKLOG, err, errlen);
	if (fd < 0) {
		free(s->path);
		free(s);
		return fd;
	}
	uv_pipe_init(b->loop, &s->listener, 0);
	s->listener.data = s;
	if ((r = uv_pipe_open(&s->listener, fd)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&s->listener, AL_IPC_BACKLOG, on_connection)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(r));
		unlink(path);
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		return AL_EIO;
	}
	*out = s;
	return 0;
}

int ipc_server_send_to(struct ipc_server *s, uint64_t serial, const json_t *msg, bool wipe)
{
	for (struct ipc_conn *c = s ? s->conns : NULL; c; c = c->next)
		if (c->serial == serial && !c->closing)
			return conn_send(c, msg, wipe);
	return AL_ENOTFOUND;
}

unsigned ipc_server_enforcers(const struct ipc_server *s)
{
	unsigned n = 0;
	for (const struct ipc_conn *c = s ? s->conns : NULL; c; c = c->next)
		if (c->hello && !c->closing && !c->asks_only)
			n++;
	return n;
}

void ipc_server_broadcast(struct ipc_server *s, const uint8_t *frame, size_t len)
{
	if (!s)
		return;
	for (struct ipc_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (!c->hello || c->closing || c->asks_only)
			continue;
		uint8_t *copy = xmalloc(len);
		memcpy(copy, frame, len);
		conn_send_buf(c, copy, len, false);
	}
}

bool ipc_server_applied(const struct ipc_server *s, uint64_t version)
{
	for (const struct ipc_conn *c = s ? s->conns : NULL; c; c = c->next)
		if (c->hello && !c->asks_only && !c->closing && c->acked < version)
			return false;
	return true;
}

void ipc_server_stop(struct ipc_server *s)
{
	if (!s)
		return;
	s->stopping = true;
	while (s->conns)
		conn_close(s->conns);
	unlink(s->path);
	uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}
