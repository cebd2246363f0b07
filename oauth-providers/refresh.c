/* libcurl to token endpoints: one easy handle per request, configured the
 * same way for the loop-driven multi (broker) and the blocking perform
 * (CLI): https only, no redirects, --resolve pins, --upstream-ca added to
 * the system trust, timeouts, a capped answer. The multi handle is driven
 * by libuv as in curl's multi-uv example; callbacks run on the loop. */
#include "config.h"

#include "oauth-providers/refresh.h"

#include <curl/curl.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* Debian's system trust as one bundle. curl's GnuTLS backend parses its
 * trust anew for every connection, and loading the /etc/ssl/certs directory
 * as well as a bundle costs 0.1-0.5 s a handshake: so the trust is one file,
 * the system bundle with --upstream-ca appended, held in a memfd and named
 * /proc/self/fd/N (nothing left on disk, gone with the process). */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct oauth_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct curl_slist *resolve;
	int trust_fd;
	char trust[64];       /* "/proc/self/fd/N", or "" for the system bundle */
	long connect_timeout_ms, timeout_ms;
	struct oauth_http_xfer *xfers;
	struct sock_ctx *socks;
	bool closing;
};

struct oauth_http_xfer {
	struct oauth_http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;           /* our copy of the request body (wiped) */
	size_t body_len;
	struct oauth_http_resp resp;
	size_t cap;
	bool too_big;
	oauth_http_cb cb;
	void *arg;
	struct oauth_http_xfer *next, **pprev;
};

struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct oauth_http *h;
	struct sock_ctx *next, **pprev;
};

/* The system bundle plus ca_file in a memfd; path gets /proc/self/fd/N.
 * Returns the fd, or -1 (then the caller uses ca_file alone). */
static int trust_open(const char *ca_file, char path[64])
{
	char *sys = NULL, *extra = NULL;
	size_t slen = 0, elen = 0;
	int fd = -1;

	if (file_read_all(ca_file, AL_PEM_MAX * 64, &extra, &elen) < 0)
		goto out;
	if (file_read_all(SYSTEM_CA_BUNDLE, AL_PEM_MAX * 64, &sys, &slen) < 0)
		slen = 0;
	fd = memfd_create("airlock-trust", MFD_CLOEXEC);
	if (fd < 0)
		goto out;
	if ((slen && write(fd, sys, slen) != (ssize_t)slen) || write(fd, "\n", 1) != 1 ||
	    write(fd, extra, elen) != (ssize_t)elen) {
		close(fd);
		fd = -1;
		goto out;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
out:
	free(sys);
	free(extra);
	return fd;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* libcurl's buffers hold the refresh request (a refresh token) and the
 * answer (new tokens) and are freed without a wipe: every block it frees
 * or moves is wiped first (common/xmalloc.h). */
static char *curl_strdup_(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static void curl_init_once(void)
{
	curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wiping_free, wiping_realloc, curl_strdup_,
			     calloc);
}

/* ---- one easy handle ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct oauth_http_xfer *x = ud;
	size_t n = size * nmemb;
	if (x->resp.body_len + n > AL_OAUTH_RESPONSE_MAX) {
		x->too_big = true;
		return 0;   /* aborts the transfer */
	}
	if (x->resp.body_len + n + 1 > x->cap) {
		size_t nc = (x->resp.body_len + n + 1) * 2;
		char *nb = xmalloc(nc);
		if (x->resp.body) {
			memcpy(nb, x->resp.body, x->resp.body_len);
			secure_free(x->resp.body, x->cap);
		}
		x->resp.body = nb;
		x->cap = nc;
	}
	memcpy(x->resp.body + x->resp.body_len, ptr, n);
	x->resp.body_len += n;
	x->resp.body[x->resp.body_len] = '\0';
	return n;
}

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	const char *v = line + nl + 1, *e = line + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - v > AL_OAUTH_HEADER_VALUE_MAX)
		return NULL;
	return xstrndup(v, (size_t)(e - v));
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct oauth_http_xfer *x = ud;
	size_t n = size * nmemb;
	char *v;
	/* a new status line (redirects are off, but 100-continue exists) */
	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		free(x->resp.retry_after);
		free(x->resp.retry_after_ms);
		x->resp.retry_after = x->resp.retry_after_ms = NULL;
	}
	if ((v = header_value(ptr, n, "Retry-After"))) {
		free(x->resp.retry_after);
		x->resp.retry_after = v;
	} else if ((v = header_value(ptr, n, "Retry-After-Ms"))) {
		free(x->resp.retry_after_ms);
		x->resp.retry_after_ms = v;
	} else if ((v = header_value(ptr, n, "Content-Type"))) {
		snprintf(x->resp.content_type, sizeof x->resp.content_type, "%s", v);
		free(v);
	}
	return n;
}

/* trust: the combined bundle's path, or NULL to use o->ca_file (or the
 * system bundle when there is none). */
static struct oauth_http_xfer *xfer_new(const struct oauth_http_opts *o, struct curl_slist *resolve,
					const char *trust, const struct oauth_http_req *req)
{
	struct oauth_http_xfer *x = xcalloc(1, sizeof *x);
	long cto = o->connect_timeout_ms ? o->connect_timeout_ms : OAUTH_CONNECT_TIMEOUT_MS;
	long to = o->timeout_ms ? o->timeout_ms : OAUTH_TOTAL_TIMEOUT_MS;

	pthread_once(&curl_once, curl_init_once);
	x->easy = curl_easy_init();
	if (!x->easy)
		abort();
	CURL *e = x->easy;
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cto);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	/* a token endpoint is never reached through the host's proxy
	 * variables by surprise: the broker's environment is its own */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	if (trust && *trust)
		curl_easy_setopt(e, CURLOPT_CAINFO, trust);
	else if (o->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	else
		curl_easy_setopt(e, CURLOPT_CAINFO, SYSTEM_CA_BUNDLE);
	if (resolve)
		curl_easy_setopt(e, CURLOPT_RESOLVE, resolve);
	for (size_t i = 0; i < OAUTH_REQ_HEADERS_MAX && req->headers[i]; i++)
		x->hdrs = curl_slist_append(x->hdrs, req->headers[i]);
	if (req->content_type) {
		char ct[160];
		snprintf(ct, sizeof ct, "Content-Type: %s", req->content_type);
		x->hdrs = curl_slist_append(x->hdrs, ct);
	}
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	if (req->method && strcmp(req->method, "POST") == 0) {
		x->body_len = req->body_len;
		x->body = xmalloc(x->body_len + 1);
		if (req->body_len)
			memcpy(x->body, req->body, req->body_len);
		x->body[x->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)x->body_len);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	return x;
}

/* Failures before a byte of the request can have been sent: the name,
 * the connection, the TLS handshake and its checks. A timeout is not one
 * of them (it may come after the request went out). */
static bool failed_before_sending(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return true;
	default:
		return false;
	}
}

static void xfer_result(struct oauth_http_xfer *x, CURLcode rc)
{
	if (rc == CURLE_OK) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->resp.status);
	} else {
		x->resp.status = 0;
		x->resp.unsent = failed_before_sending(rc);
		snprintf(x->resp.error, sizeof x->resp.error, "%s",
			 x->too_big ? "answer over the size cap" : curl_easy_strerror(rc));
	}
	if (!x->resp.body) {
		x->resp.body = xcalloc(1, 1);
		x->cap = 1;
	}
}

static void xfer_free(struct oauth_http_xfer *x)
{
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);   /* may hold an Authorization line */
	if (x->body)
		secure_free(x->body, x->body_len + 1);
	if (x->resp.body)
		secure_free(x->resp.body, x->cap);
	x->resp.body = NULL;
	free(x->resp.retry_after);
	free(x->resp.retry_after_ms);
	free(x);
}

static struct curl_slist *resolve_list(const struct oauth_http_opts *o)
{
	struct curl_slist *l = NULL;
	for (size_t i = 0; o->resolve && (o->nresolve ? i < o->nresolve : o->resolve[i] != NULL);
	     i++)
		l = curl_slist_append(l, o->resolve[i]);
	return l;
}

/* ---- blocking ---- */

int oauth_http_perform(const struct oauth_http_opts *o, const struct oauth_http_req *req,
		       struct oauth_http_resp *resp)
{
	struct curl_slist *rl = resolve_list(o);
	char trust[64] = "";
	int tfd = o->ca_file ? trust_open(o->ca_file, trust) : -1;
	struct oauth_http_xfer *x = xfer_new(o, rl, trust, req);
	xfer_result(x, curl_easy_perform(x->easy));
	/* hand the answer over: oauth_http_resp_free wipes body_len + 1 bytes,
	 * all that was ever written to the buffer */
	*resp = x->resp;
	memset(&x->resp, 0, sizeof x->resp);
	xfer_free(x);
	curl_slist_free_all(rl);
	if (tfd >= 0)
		close(tfd);
	return resp->status ? 0 : AL_EUNAVAIL;
}

/* ---- loop-driven multi ---- */

static void check_done(struct oauth_http *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct oauth_http_xfer *x = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(h->multi, x->easy);
		*x->pprev = x->next;
		if (x->next)
			x->next->pprev = x->pprev;
		xfer_result(x, rc);
		x->cb(x->arg, &x->resp);
		xfer_free(x);
	}
}

static void on_sock_closed(uv_handle_t *hd)
{
	free(hd->data);
}

static void sock_close(struct sock_ctx *s)
{
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock_ctx *s = p->data;
	struct oauth_http *h = s->h;
	int flags = 0, running;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_done(h);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct oauth_http *h = userp;
	struct sock_ctx *s = socketp;
	int ev = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		s->h = h;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->next = h->socks;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &h->socks;
		h->socks = s;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&s->poll, ev, on_poll);
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	struct oauth_http *h = t->data;
	int running;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int on_timer_set(CURLM *m, long timeout_ms, void *userp)
{
	struct oauth_http *h = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

int oauth_http_new(uv_loop_t *loop, const struct oauth_http_opts *o, struct oauth_http **out)
{
	struct oauth_http *h = xcalloc(1, sizeof *h);

	pthread_once(&curl_once, curl_init_once);
	h->loop = loop;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return AL_EUNAVAIL;
	}
	h->resolve = resolve_list(o);
	h->trust_fd = o->ca_file ? trust_open(o->ca_file, h->trust) : -1;
	if (o->ca_file && h->trust_fd < 0) {
		curl_slist_free_all(h->resolve);
		curl_multi_cleanup(h->multi);
		free(h);
		return AL_EIO;
	}
	h->connect_timeout_ms = o->connect_timeout_ms;
	h->timeout_ms = o->timeout_ms;
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*out = h;
	return 0;
}

int oauth_http_start(struct oauth_http *h, const struct oauth_http_req *req, oauth_http_cb cb,
		     void *arg, struct oauth_http_xfer **xfer)
{
	if (h->closing)
		return AL_ESTATE;
	struct oauth_http_opts o = { .connect_timeout_ms = h->connect_timeout_ms,
				     .timeout_ms = h->timeout_ms };
	struct oauth_http_xfer *x = xfer_new(&o, h->resolve, h->trust, req);
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		xfer_free(x);
		return AL_EUNAVAIL;
	}
	x->next = h->xfers;
	if (x->next)
		x->next->pprev = &x->next;
	x->pprev = &h->xfers;
	h->xfers = x;
	if (xfer)
		*xfer = x;
	return 0;
}

void oauth_http_cancel(struct oauth_http_xfer *x)
{
	struct oauth_http *h = x->h;
	curl_multi_remove_handle(h->multi, x->easy);
	*x->pprev = x->next;
	if (x->next)
		x->next->pprev = x->pprev;
	xfer_free(x);
}

static void on_timer_closed(uv_handle_t *hd)
{
	struct oauth_http *h = hd->data;
	if (h->trust_fd >= 0)
		close(h->trust_fd);
	free(h);
}

void oauth_http_close(struct oauth_http *h)
{
	if (!h || h->closing)
		return;
	h->closing = true;
	while (h->xfers)
		oauth_http_cancel(h->xfers);
	curl_multi_cleanup(h->multi);
	/* cached connections may close without a CURL_POLL_REMOVE */
	while (h->socks)
		sock_close(h->socks);
	curl_slist_free_all(h->resolve);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}
