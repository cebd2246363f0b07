/* The REST API server: libmicrohttpd driven by the broker's libuv loop (no
 * MHD thread). MHD runs in external epoll mode; its epoll fd is watched with
 * a uv_poll_t and MHD_get_timeout() arms a uv timer. Bodies are accumulated
 * up to AL_API_BODY_MAX (413 past it, checked on Content-Length up front and
 * while reading), parsed as JSON objects, then routed through one table. */
#include "config.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/api.h"
#include "broker/ipc_server.h"
#include "broker/unixsock.h"
#include "common/flags.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define API_CONN_TIMEOUT_S 30
#define API_CONN_LIMIT 64
#define API_FALLBACK_TICK_MS 1000

struct api_body;

struct api_server {
	struct broker *b;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_timer_t wait_timer;          /* the oldest change waiting for its policy-ack */
	bool poll_open, timer_open, wait_open;
	bool in_run;                    /* inside MHD_run: never run it again from here */
	bool metrics_only;              /* --metrics-listen: /metrics, /healthz, /readyz alone */
	struct api_body *waiting;       /* suspended requests, oldest first */
	char *path;
};

/* Per request: the body so far; a change's answer while it waits until
 * every enforcer runs the policy it pushed (policy-ack). */
struct api_body {
	char *buf;
	size_t len, cap;
	bool too_big;
	bool answered;
	struct MHD_Connection *conn;
	struct api_answer held;
	bool holding, ready;
	int64_t deadline_ms;
	struct api_body *next;
};

struct api_route {
	const char *method;
	const char *pattern[API_SEG_MAX]; /* literal segments; "*" = any one segment */
	size_t nseg;
	api_handler handler;
	bool has_body;
};

static const struct api_route routes[] = {
	{ "POST", { "clients" }, 1, api_clients_create, true },
	{ "GET", { "clients" }, 1, api_clients_list, false },
	{ "GET", { "clients", "*" }, 2, api_clients_get, false },
	{ "DELETE", { "clients", "*" }, 2, api_clients_delete, false },
	{ "PATCH", { "clients", "*" }, 2, api_clients_set, true },
	{ "POST", { "secrets" }, 1, api_secrets_create, true },
	{ "GET", { "secrets" }, 1, api_secrets_list, false },
	{ "DELETE", { "secrets", "*" }, 2, api_secrets_delete, false },
	{ "GET", { "secrets", "*", "stub" }, 3, api_secrets_stub, false },
	{ "POST", { "allows" }, 1, api_allows_create, true },
	{ "POST", { "allows", "revoke" }, 2, api_allows_revoke, true },
	{ "DELETE", { "allows", "*", "*" }, 3, api_allows_delete_host, false },
	{ "GET", { "ca" }, 1, api_info_ca, false },
	{ "GET", { "status" }, 1, api_info_status, false },
	{ "GET", { "openapi.json" }, 1, api_info_openapi, false },
	{ "GET", { "decisions" }, 1, NULL, false },   /* a stream: api_decisions_stream() */
	{ "POST", { "explain" }, 1, api_explain, true },
};

/* Off the /proxy/v1/ prefix: what monitoring systems ask for by name. */
static const struct {
	const char *path;
	api_handler handler;
} root_routes[] = {
	{ "/metrics", api_metrics },
	{ "/healthz", api_healthz },
	{ "/readyz", api_readyz },
};


void api_json(struct api_answer *ans, unsigned status, json_t *obj)
{
	json_decref(ans->json);
	ans->status = status;
	ans->json = obj;
}

void api_no_content(struct api_answer *ans)
{
	json_decref(ans->json);
	ans->json = NULL;
	ans->status = 204;
}

static void api_header(struct api_answer *ans, const char *name, char *value)
{
	if (ans->nheaders == API_HEADERS_MAX)
		abort(); /* a handler's bug: API_HEADERS_MAX is sized for the handlers */
	ans->headers[ans->nheaders].name = name;
	ans->headers[ans->nheaders].value = value;
	ans->nheaders++;
}

void api_header_ids(struct api_answer *ans, const char *name, const json_t *ids)
{
	size_t cap = json_array_size(ids) * 21 + 1, len = 0, i;
	char *v = xmalloc(cap);
	json_t *id;

	v[0] = '\0';
	json_array_foreach(ids, i, id)
		len += (size_t)snprintf(v + len, cap - len, "%s%lld", i ? "," : "",
					(long long)json_integer_value(id));
	api_header(ans, name, v);
}

void api_header_int(struct api_answer *ans, const char *name, long long n)
{
	char *v = xmalloc(24);
	snprintf(v, 24, "%lld", n);
	api_header(ans, name, v);
}

static void api_answer_free(struct api_answer *ans)
{
	json_decref(ans->json);
	free(ans->text);
	for (size_t i = 0; i < ans->nheaders; i++)
		free(ans->headers[i].value);
	memset(ans, 0, sizeof *ans);
}

void api_error(struct api_answer *ans, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	api_json(ans, status, json_pack("{s:s}", "error", msg));
}

bool api_validate(struct api_answer *ans, const json_t *body, const struct json_field *fields,
		  size_t nfields)
{
	char err[256];
	if (json_validate(body, fields, nfields, "", err, sizeof err) < 0) {
		api_error(ans, 400, "%s", err);
		return false;
	}
	return true;
}

json_t *api_time(int64_t t)
{
	char buf[AL_TIME_STR_MAX];
	time_format(t, buf);
	return json_string(buf);
}

bool api_commit(struct broker *b, struct api_answer *ans, json_t *draft, bool policy_changed)
{
	struct policy_frame pf = { 0 };
	char err[160];
	int ret;

	/* checked before anything is written: a change the enforcer could not
	 * receive is refused, never answered as done */
	if (policy_changed && (ret = broker_policy_prepare(b, draft, &pf, err, sizeof err)) < 0) {
		json_decref(draft);
		if (ret == AL_ETOOBIG) {
			log_warn("change refused: its policy would not fit one IPC frame",
				 KV_S("detail", err));
			api_error(ans, 413, "%s: remove rules or clients first", err);
		} else {
			api_error(ans, 500, "%s", err);
		}
		return false;
	}
	ret = state_commit(&b->state, draft);
	if (ret < 0) {
		policy_frame_free(&pf);
		api_error(ans, 500, "cannot write the state: %s", airlock_strerror(ret));
		return false;
	}
	if (policy_changed) {
		broker_policy_publish(b, &pf);   /* the frame checked above, not a second encoding */
		ans->policy_version = b->policy_version;
	}
	return true;
}

/* ---- MHD glue ---- */

static void api_rearm(struct api_server *s);

static void api_run(struct api_server *s)
{
	s->in_run = true;
	MHD_run(s->mhd);
	s->in_run = false;
	api_rearm(s);
}

static void on_mhd_readable(uv_poll_t *h, int status, int events)
{
	api_run(h->data);
}

static void on_mhd_timer(uv_timer_t *t)
{
	api_run(t->data);
}

static void api_rearm(struct api_server *s)
{
	MHD_UNSIGNED_LONG_LONG to = 0;
	uint64_t ms = API_FALLBACK_TICK_MS;
	if (MHD_get_timeout(s->mhd, &to) == MHD_YES && to < ms)
		ms = to;
	uv_timer_start(&s->timer, on_mhd_timer, ms, 0);
}

static enum MHD_Result send_answer(struct MHD_Connection *conn, struct api_answer *ans)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	char *text = NULL;
	size_t len = 0;
	const char *ctype = NULL;

	if (ans->json) {
		ctype = "application/json";
		char *j = json_dumps(ans->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!j)
			abort();
		len = strlen(j);
		text = xmalloc(len + 2);
		memcpy(text, j, len);
		text[len++] = '\n';
		text[len] = '\0';
		free(j);
	} else if (ans->text) {
		text = ans->text;
		len = ans->text_len;
		ans->text = NULL;
		ctype = ans->content_type ? ans->content_type : "text/plain";
	}
	resp = MHD_create_response_from_buffer(len, text ? text : (char *)"", MHD_RESPMEM_MUST_COPY);
	free(text);
	if (!resp)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (size_t i = 0; i < ans->nheaders; i++)
		MHD_add_response_header(resp, ans->headers[i].name, ans->headers[i].value);
	r = MHD_queue_response(conn, ans->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	struct api_answer ans = { 0 };
	api_error(&ans, status, "%s", msg);
	enum MHD_Result r = send_answer(conn, &ans);
	api_answer_free(&ans);
	return r;
}

/* Split "/proxy/v1/a/b" into segments; false when the path is not ours. */
static bool split_path(const char *url, char *copy, size_t cap, struct api_request *req)
{
	size_t plen = strlen(API_PREFIX);
	if (strncmp(url, API_PREFIX, plen) != 0)
		return false;
	if (strlen(url + plen) >= cap)
		return false;
	strcpy(copy, url + plen);
	req->nseg = 0;
	char *p = copy;
	while (*p) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (*p == '\0' || req->nseg == API_SEG_MAX)
			return false;
		req->seg[req->nseg++] = p;
		if (!slash)
			break;
		p = slash + 1;
		if (*p == '\0')
			return false; /* trailing slash */
	}
	return req->nseg > 0;
}

static bool route_path_matches(const struct api_route *rt, const struct api_request *req)
{
	if (rt->nseg != req->nseg)
		return false;
	for (size_t i = 0; i < rt->nseg; i++)
		if (strcmp(rt->pattern[i], "*") != 0 && strcmp(rt->pattern[i], req->seg[i]) != 0)
			return false;
	return true;
}

static bool is_json_type(const char *ct)
{
	size_t n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* A secret's value and a client's token pass through the parsed body:
 * scrub jansson's copies before they are freed. */
static void wipe_body(json_t *body)
{
	static const char *const keys[] = { "value", "token" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(body, keys[i]);
		if (json_is_string(v))
			secure_wipe((char *)json_string_value(v), json_string_length(v));
	}
}

/* ---- a change answers once the enforcers run it ---- */

static void on_wait_timer(uv_timer_t *t);

static void wait_rearm(struct api_server *s)
{
	if (!s->waiting) {
		uv_timer_stop(&s->wait_timer);
		return;
	}
	int64_t ms = s->waiting->deadline_ms - time_mono_ms();
	uv_timer_start(&s->wait_timer, on_wait_timer, ms > 0 ? (uint64_t)ms : 0, 0);
}

static void unhold(struct api_server *s, struct api_body *body)
{
	struct api_body **pp = &s->waiting;
	while (*pp && *pp != body)
		pp = &(*pp)->next;
	if (*pp)
		*pp = body->next;
	body->next = NULL;
}

/* Release the waiting answers whose policy every enforcer runs, and those
 * past their deadline (marked so); MHD sends them on its next run. */
static void release(struct api_server *s, bool all)
{
	int64_t now = time_mono_ms();
	bool any = false;
	for (struct api_body *b = s->waiting, *n; b; b = n) {
		n = b->next;
		bool done = ipc_server_applied(s->b->ipc, b->held.policy_version);
		if (!done && !all && now < b->deadline_ms)
			continue;
		if (!done) {
			log_warn("an enforcer has not confirmed a policy change; answering anyway",
				 KV_I("version", (long long)b->held.policy_version),
				 KV_I("waited_ms", AL_POLICY_ACK_TIMEOUT_MS));
			api_header(&b->held, "X-Airlock-Policy-Applied", xstrdup("false"));
		}
		unhold(s, b);
		b->ready = true;
		MHD_resume_connection(b->conn);
		any = true;
	}
	wait_rearm(s);
	if (any && s->mhd && !all) {
		if (s->in_run)
			uv_timer_start(&s->timer, on_mhd_timer, 0, 0);   /* a change pushed from inside a request */
		else
			api_run(s);
	}
}

static void on_wait_timer(uv_timer_t *t)
{
	release(t->data, false);
}

static enum MHD_Result hold(struct api_server *s, struct MHD_Connection *conn, struct api_body *body,
			    struct api_answer *ans)
{
	body->held = *ans;
	body->holding = true;
	body->conn = conn;
	body->deadline_ms = time_mono_ms() + AL_POLICY_ACK_TIMEOUT_MS;
	struct api_body **pp = &s->waiting;
	while (*pp)
		pp = &(*pp)->next;
	*pp = body;
	MHD_suspend_connection(conn);
	wait_rearm(s);
	return MHD_YES;
}

void api_server_kick(struct broker *b)
{
	struct api_server *s = b->api;
	if (!s || !s->mhd)
		return;
	if (s->in_run)
		uv_timer_start(&s->timer, on_mhd_timer, 0, 0);
	else
		api_run(s);
}

void api_policy_progress(struct broker *b)
{
	if (b->api)
		release(b->api, false);
}

static enum MHD_Result dispatch(struct api_server *s, struct MHD_Connection *conn,
				const char *url, const char *method, struct api_body *body)
{
	char copy[AL_PATH_MAX + 1];
	struct api_request req = { .method = method };
	struct api_answer ans = { 0 };
	const struct api_route *rt = NULL;
	bool path_known = false;
	char allow[64] = "";
	enum MHD_Result r;

	for (size_t i = 0; i < ARRAY_SIZE(root_routes); i++) {
		if (strcmp(url, root_routes[i].path) != 0)
			continue;
		if (strcmp(method, "GET") != 0)
			return send_error(conn, 405, "only GET here");
		if (body->len > 0)
			return send_error(conn, 400, "this endpoint takes no body");
		root_routes[i].handler(s->b, &req, &ans);
		r = send_answer(conn, &ans);
		api_answer_free(&ans);
		return r;
	}
	if (s->metrics_only)
		return send_error(conn, 404, "no such endpoint");
	if (!split_path(url, copy, sizeof copy, &req))
		return send_error(conn, 404, "no such endpoint");
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!route_path_matches(&routes[i], &req))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) == 0) {
			rt = &routes[i];
			break;
		}
		if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow) {
			if (allow[0])
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
	}
	if (!rt) {
		if (!path_known)
			return send_error(conn, 404, "no such endpoint");
		api_error(&ans, 405, "method %s not allowed here (allowed: %s)", method, allow);
		struct MHD_Response *resp;
		char *j = json_dumps(ans.json, JSON_COMPACT);
		json_decref(ans.json);
		if (!j)
			abort();
		size_t jl = strlen(j);
		j = xrealloc(j, jl + 2);
		j[jl++] = '\n';
		resp = MHD_create_response_from_buffer(jl, j, MHD_RESPMEM_MUST_COPY);
		free(j);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
		r = MHD_queue_response(conn, 405, resp);
		MHD_destroy_response(resp);
		return r;
	}
	if (rt->has_body) {
		char err[256];
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		if (ct && !is_json_type(ct))
			return send_error(conn, 415, "the body must be application/json");
		int ret = json_parse_object(body->buf ? body->buf : "", body->len, AL_API_BODY_MAX,
					    &req.body, err, sizeof err);
		if (ret == AL_ETOOBIG)
			return send_error(conn, 413, "body over its cap");
		if (ret < 0)
			return send_error(conn, 400, err);
	} else if (body->len > 0) {
		return send_error(conn, 400, "this endpoint takes no body");
	}
	if (!rt->handler) {
		if (api_decisions_stream(s->b, conn, &ans))
			return MHD_YES;
		if (!ans.status)
			return MHD_NO;
		r = send_answer(conn, &ans);
		api_answer_free(&ans);
		return r;
	}

	rt->handler(s->b, &req, &ans);
	if (!ans.status)
		api_error(&ans, 500, "internal error: no answer");
	if (strcmp(method, "GET") == 0)
		log_debug("api", KV_S("method", method), KV_S("path", url), KV_I("status", ans.status));
	else
		log_info("api", KV_S("method", method), KV_S("path", url), KV_I("status", ans.status));
	wipe_body(req.body);
	json_decref(req.body);
	if (ans.policy_version) {
		api_header_int(&ans, "X-Airlock-Policy-Version", (long long)ans.policy_version);
		if (!ipc_server_applied(s->b->ipc, ans.policy_version))
			return hold(s, conn, body, &ans);
	}
	r = send_answer(conn, &ans);
	api_answer_free(&ans);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_body *body = *con_cls;

	if (!body) {
		body = xcalloc(1, sizeof *body);
		*con_cls = body;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || *end || n > AL_API_BODY_MAX) {
				body->answered = true;
				return send_error(conn, 413, "body over its cap");
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (body->answered || body->too_big)
			return MHD_YES;
		if (body->len + n > AL_API_BODY_MAX) {
			/* keep reading (and dropping) so the client gets its 413 */
			body->too_big = true;
			secure_free(body->buf, body->cap);
			body->buf = NULL;
			body->len = body->cap = 0;
			secure_wipe((void *)upload_data, n);
			return MHD_YES;
		}
		/* a body may carry a secret value: grown by copying, the old
		 * block wiped, never left behind by realloc */
		xgrow_secure(&body->buf, &body->cap, body->len, body->len + n + 1, 1024);
		memcpy(body->buf + body->len, upload_data, n);
		body->len += n;
		body->buf[body->len] = '\0';
		/* upload_data is libmicrohttpd's read buffer (its connection
		 * pool, freed without a wipe): consumed here, wiped here */
		secure_wipe((void *)upload_data, n);
		return MHD_YES;
	}
	if (body->holding) {
		if (!body->ready)
			return MHD_YES;
		body->holding = false;
		enum MHD_Result r = send_answer(conn, &body->held);
		api_answer_free(&body->held);
		return r;
	}
	if (body->answered)
		return MHD_YES;
	body->answered = true;
	if (body->too_big)
		return send_error(conn, 413, "body over its cap");
	return dispatch(s, conn, url, method, body);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *s = cls;
	struct api_body *body = *con_cls;
	if (!body)
		return;
	unhold(s, body);
	if (body->holding)
		api_answer_free(&body->held);
	/* bodies carry secret values: wipe them */
	secure_free(body->buf, body->cap);
	free(body);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("api server", KV_S("detail", msg));
}

/* Serve on fd (listening): the API socket at path, or (metrics_only, path
 * NULL) the --metrics-listen TCP socket. */
static int server_start(struct broker *b, int fd, const char *path, bool metrics_only, struct api_server **out,
			char *err, size_t errlen)
{
	struct api_server *s = xcalloc(1, sizeof *s);
	const union MHD_DaemonInfo *info;

	s->b = b;
	s->path = path ? xstrdup(path) : NULL;
	s->metrics_only = metrics_only;
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
				  MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, errlen, "libmicrohttpd did not start on %s", path ? path : "the metrics address");
		close(fd);
		goto fail;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errlen, "libmicrohttpd gave no epoll fd");
		goto fail;
	}
	uv_poll_init(b->loop, &s->poll, info->epoll_fd);
	s->poll.data = s;
	s->poll_open = true;
	uv_poll_start(&s->poll, UV_READABLE, on_mhd_readable);
	uv_timer_init(b->loop, &s->timer);
	s->timer.data = s;
	s->timer_open = true;
	uv_timer_init(b->loop, &s->wait_timer);
	s->wait_timer.data = s;
	s->wait_open = true;
	api_rearm(s);
	*out = s;
	return 0;
fail:
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	if (path)
		unlink(path);
	free(s->path);
	free(s);
	return AL_EIO;
}

int api_server_start(struct broker *b, const char *path, struct api_server **out, char *err,
		     size_t errlen)
{
	int fd = unixsock_listen(path, 64, err, errlen);
	if (fd < 0)
		return fd;
	return server_start(b, fd, path, false, out, err, errlen);
}

int api_metrics_start(struct broker *b, const char *addrport, struct api_server **out, char *err,
		      size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char ip[64];
	uint16_t port;
	int one = 1, fd;

	memset(&ss, 0, sizeof ss);
	if (flag_listen_split(addrport, ip, &port) < 0) {
		snprintf(err, errlen, "bad --metrics-listen '%s'", addrport);
		return AL_EINVAL;
	}
	if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss) == 0)
		len = sizeof(struct sockaddr_in);
	else if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) == 0)
		len = sizeof(struct sockaddr_in6);
	else {
		snprintf(err, errlen, "bad --metrics-listen '%s'", addrport);
		return AL_EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open a socket for --metrics-listen: %s", strerror(errno));
		return AL_EIO;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on --metrics-listen %s: %s", addrport, strerror(errno));
		close(fd);
		return AL_EIO;
	}
	return server_start(b, fd, NULL, true, out, err, errlen);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct api_server *s = h->data;
	if (h == (uv_handle_t *)&s->poll)
		s->poll_open = false;
	else if (h == (uv_handle_t *)&s->timer)
		s->timer_open = false;
	else
		s->wait_open = false;
	if (!s->poll_open && !s->timer_open && !s->wait_open) {
		free(s->path);
		free(s);
	}
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	uv_poll_stop(&s->poll);
	uv_timer_stop(&s->timer);
	/* MHD refuses to stop over suspended connections: let them go */
	release(s, true);
	if (!s->metrics_only)
		api_decisions_end(s->b);
	/* MHD closes its epoll fd and the listen socket */
	MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	if (s->path)
		unlink(s->path);
	uv_close((uv_handle_t *)&s->poll, on_handle_closed);
	uv_close((uv_handle_t *)&s->timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->wait_timer, on_handle_closed);
}
