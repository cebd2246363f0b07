/* One relayed connection: a program's TCP connection, redirected to the
 * agent by its nftables rule or made to a tunnel's listener, carried to
 * airlock as `CONNECT name:port` with the client's token, then spliced
 * both ways. The destination is, in order: the name a stand-in address
 * stands for (the DNS stub gave it out), the TLS server name or HTTP Host
 * in the first bytes, the original address itself. airlock decides; when
 * it refuses and the program spoke HTTP, the program reads airlock's 403
 * (with X-Airlock-Reason) as its own answer, otherwise the connection is
 * closed. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/daemon.h"
#include "agent/peek.h"
#include "agent/pool.h"
#include "agent/util.h"

#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define PEEK_WAIT_MS 1000         /* a client that says nothing: its address is the destination */
#define PROXY_WAIT_MS 15000       /* connect and answer from airlock */
#define DENY_WAIT_MS 1000         /* after a refusal, for the first bytes that show HTTP */
#define ANSWER_MAX 8192           /* airlock's answer head (and a refusal's short body) */
#define HIGH_WATER (1024 * 1024)
#define LOW_WATER (256 * 1024)
#define READ_SIZE (64 * 1024)

enum rstate { R_PEEK, R_DIAL, R_ANSWER, R_DENIED, R_OPEN };

struct relay {
	int kind;                     /* AGENT_KIND_RELAY: first, for daemon.c's walk at stop */
	struct agent *a;
	uv_tcp_t client, proxy;
	uv_timer_t timer;
	uv_connect_t creq;
	int handles;
	int shut;                     /* FINs sent (both: done) */
	enum rstate st;
	bool proxy_open, closing, client_eof, proxy_eof, client_paused, proxy_paused;
	char host[PEEK_NAME_MAX + 1];
	uint16_t port;
	const char *how;
	char src[64], dst[64];
	uint8_t *early;               /* client bytes before the tunnel opens */
	size_t earlylen;
	char ans[ANSWER_MAX];
	size_t anslen, anshead;
	int status;
	char reason[64];
	uint64_t up, down;
};

struct wreq {
	uv_write_t req;
	struct relay *r;
	uv_buf_t buf;
};

static void relay_close(struct relay *r);
static void dial(struct relay *r);
static void on_timer(uv_timer_t *t);

/* ---- life ---- */

static void on_closed(uv_handle_t *h)
{
	struct relay *r = h->data;
	if (--r->handles > 0)
		return;
	r->a->nconns--;
	free(r->early);
	wipe(r, sizeof *r);
	free(r);
}

static void relay_close(struct relay *r)
{
	if (r->closing)
		return;
	r->closing = true;
	if (r->st == R_OPEN)
		alog("info", "closed", "host=%s port=%u bytes_up=%llu bytes_down=%llu", r->host, r->port,
		     (unsigned long long)r->up, (unsigned long long)r->down);
	uv_close((uv_handle_t *)&r->timer, on_closed);
	uv_close((uv_handle_t *)&r->client, on_closed);
	if (r->proxy_open)
		uv_close((uv_handle_t *)&r->proxy, on_closed);
}

void relay_abort(void *relay)
{
	relay_close(relay);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = xmalloc(READ_SIZE);
	buf->len = READ_SIZE;
}

static void on_written(uv_write_t *req, int status);

/* Hand buf (malloc'd, owned from now on) to a stream. */
static int send_buf(struct relay *r, uv_stream_t *to, char *base, size_t n)
{
	struct wreq *w = xmalloc(sizeof *w);
	w->r = r;
	w->buf = uv_buf_init(base, (unsigned)n);
	if (uv_write(&w->req, to, &w->buf, 1, on_written) < 0) {
		free(base);
		free(w);
		return -1;
	}
	return 0;
}

static int send_copy(struct relay *r, uv_stream_t *to, const void *p, size_t n)
{
	char *b = xmalloc(n);
	memcpy(b, p, n);
	return send_buf(r, to, b, n);
}

/* ---- the splice ---- */

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_proxy_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* A FIN goes out after everything queued on that side; once both sides
 * have sent theirs, every byte has been handed to the kernel and the relay
 * may close (closing earlier would drop what is still queued). */
static void shut_done(struct relay *r)
{
	if (!r->closing && r->st == R_OPEN && ++r->shut == 2)
		relay_close(r);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct relay *r = req->data;
	(void)status;
	free(req);
	shut_done(r);
}

static void half_close(struct relay *r, uv_stream_t *s)
{
	uv_shutdown_t *req = xmalloc(sizeof *req);
	req->data = r;
	if (uv_shutdown(req, s, on_shutdown) < 0) {
		free(req);
		shut_done(r);
	}
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct relay *r = w->r;
	free(w->buf.base);
	free(w);
	if (r->closing)
		return;
	if (status < 0) {
		relay_close(r);
		return;
	}
	/* resume a side whose peer's queue drained */
	if (r->client_paused && uv_stream_get_write_queue_size((uv_stream_t *)&r->proxy) < LOW_WATER) {
		r->client_paused = false;
		if (!r->client_eof)
			uv_read_start((uv_stream_t *)&r->client, on_alloc, on_client_read);
	}
	if (r->proxy_paused && uv_stream_get_write_queue_size((uv_stream_t *)&r->client) < LOW_WATER) {
		r->proxy_paused = false;
		if (!r->proxy_eof)
			uv_read_start((uv_stream_t *)&r->proxy, on_alloc, on_proxy_read);
	}
}

/* Pass bytes from one side to the other during the splice. */
static void splice_data(struct relay *r, bool from_client, char *base, size_t n)
{
	uv_stream_t *to = from_client ? (uv_stream_t *)&r->proxy : (uv_stream_t *)&r->client;
	uv_stream_t *from = from_client ? (uv_stream_t *)&r->client : (uv_stream_t *)&r->proxy;
	*(from_client ? &r->up : &r->down) += n;
	if (send_buf(r, to, base, n) < 0) {
		relay_close(r);
		return;
	}
	if (uv_stream_get_write_queue_size(to) > HIGH_WATER) {
		uv_read_stop(from);
		*(from_client ? &r->client_paused : &r->proxy_paused) = true;
	}
}

static void splice_eof(struct relay *r, bool from_client)
{
	*(from_client ? &r->client_eof : &r->proxy_eof) = true;
	half_close(r, from_client ? (uv_stream_t *)&r->proxy : (uv_stream_t *)&r->client);
}

/* ---- refusals ---- */

/* airlock said no: an HTTP client gets its answer, anyone else a close. */
static void deny_finish(struct relay *r)
{
	if (r->early && peek_is_http(r->early, r->earlylen)) {
		/* the head and the short body airlock sent with it */
		if (send_copy(r, (uv_stream_t *)&r->client, r->ans, r->anslen) < 0) {
			relay_close(r);
			return;
		}
		half_close(r, (uv_stream_t *)&r->client);
		uv_timer_start(&r->timer, on_timer, DENY_WAIT_MS, 0);
		return;
	}
	relay_close(r);
}

static void on_timer(uv_timer_t *t)
{
	struct relay *r = t->data;
	if (r->closing)
		return;
	if (r->st == R_PEEK) {
		r->how = "address";   /* it says nothing first: its address it is */
		dial(r);
		return;
	}
	relay_close(r);
}

/* ---- the client's first bytes ---- */

static void peek_more(struct relay *r)
{
	char name[PEEK_NAME_MAX + 1];
	enum peek s = peek_sni(r->early, r->earlylen, name);
	if (s == PEEK_FOUND)
		r->how = "sni";
	if (s != PEEK_FOUND) {
		enum peek h = peek_http_host(r->early, r->earlylen, name);
		if (h == PEEK_FOUND) {
			r->how = "http-host";
			s = PEEK_FOUND;
		} else if (h == PEEK_MORE) {
			s = PEEK_MORE;
		}
	}
	if (s == PEEK_MORE && r->earlylen < PEEK_MAX)
		return;
	if (s == PEEK_FOUND)
		snprintf(r->host, sizeof r->host, "%s", name);
	else
		r->how = "address";
	dial(r);
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct relay *r = s->data;
	if (r->closing) {
		free(buf->base);
		return;
	}
	if (n < 0) {
		free(buf->base);
		if (n != UV_EOF) {
			relay_close(r);
			return;
		}
		if (r->st == R_OPEN) {
			splice_eof(r, true);
			return;
		}
		r->client_eof = true;
		uv_read_stop(s);
		if (r->st == R_DENIED)
			deny_finish(r);
		else if (r->st == R_PEEK)
			peek_more(r);   /* what it sent is all there is */
		return;
	}
	if (n == 0) {
		free(buf->base);
		return;
	}
	if (r->st == R_OPEN) {
		splice_data(r, true, buf->base, (size_t)n);
		return;
	}
	/* before the tunnel: kept, up to the peek cap; then we stop reading */
	size_t room = PEEK_MAX - r->earlylen, k = (size_t)n < room ? (size_t)n : room;
	r->early = xrealloc(r->early, r->earlylen + k + 1);
	memcpy(r->early + r->earlylen, buf->base, k);
	r->earlylen += k;
	free(buf->base);
	if (r->earlylen >= PEEK_MAX)
		uv_read_stop(s);
	if ((size_t)n > k) {
		relay_close(r);   /* more than the cap before any answer: not a client we serve */
		return;
	}
	if (r->st == R_PEEK)
		peek_more(r);
	else if (r->st == R_DENIED)
		deny_finish(r);
}

/* ---- airlock's answer ---- */

static void answer_done(struct relay *r)
{
	char *end = memmem(r->ans, r->anslen, "\r\n\r\n", 4);
	r->anshead = (size_t)(end + 4 - r->ans);
	r->status = 0;
	if (r->anslen >= 12 && memcmp(r->ans, "HTTP/1.", 7) == 0)
		r->status = atoi(r->ans + 9);
	const char *rs = memmem(r->ans, r->anshead, "\r\nX-Airlock-Reason: ", 20);
	if (rs) {
		rs += 20;
		const char *re = memchr(rs, '\r', r->anshead - (size_t)(rs - r->ans));
		snprintf(r->reason, sizeof r->reason, "%.*s", re ? (int)(re - rs) : 0, rs);
	}
	alog(r->status == 200 ? "info" : "warn", r->status == 200 ? "allow" : "deny",
	     "host=%s port=%u via=%s status=%d%s%s src=%s dst=%s", r->host, r->port, r->how, r->status,
	     r->reason[0] ? " reason=" : "", r->reason, r->src, r->dst);
	uv_timer_stop(&r->timer);
	if (r->status != 200) {
		r->st = R_DENIED;
		uv_read_stop((uv_stream_t *)&r->proxy);
		if (!r->early && !r->client_eof) {
			/* nothing from the program yet: wait a little for it */
			uv_read_start((uv_stream_t *)&r->client, on_alloc, on_client_read);
			uv_timer_start(&r->timer, on_timer, DENY_WAIT_MS, 0);
			return;
		}
		deny_finish(r);
		return;
	}
	r->st = R_OPEN;
	/* what the program sent so far, then anything behind the head */
	if (r->earlylen) {
		r->up += r->earlylen;
		char *e = (char *)r->early;
		r->early = NULL;
		if (send_buf(r, (uv_stream_t *)&r->proxy, e, r->earlylen) < 0) {
			relay_close(r);
			return;
		}
		r->earlylen = 0;
	}
	if (r->anslen > r->anshead) {
		r->down += r->anslen - r->anshead;
		if (send_copy(r, (uv_stream_t *)&r->client, r->ans + r->anshead, r->anslen - r->anshead) < 0) {
			relay_close(r);
			return;
		}
	}
	if (r->client_eof)
		half_close(r, (uv_stream_t *)&r->proxy);
	else
		uv_read_start((uv_stream_t *)&r->client, on_alloc, on_client_read);
}

static void on_proxy_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct relay *r = s->data;
	if (r->closing) {
		free(buf->base);
		return;
	}
	if (n < 0) {
		free(buf->base);
		if (n == UV_EOF && r->st == R_OPEN)
			splice_eof(r, false);
		else if (r->st == R_ANSWER) {
			alog("warn", "proxy closed before answering", "host=%s port=%u", r->host, r->port);
			relay_close(r);
		} else if (r->st != R_DENIED)
			relay_close(r);
		return;
	}
	if (r->st == R_OPEN) {
		if (n > 0)
			splice_data(r, false, buf->base, (size_t)n);
		else
			free(buf->base);
		return;
	}
	size_t room = sizeof r->ans - r->anslen, k = (size_t)n < room ? (size_t)n : room;
	memcpy(r->ans + r->anslen, buf->base, k);
	r->anslen += k;
	free(buf->base);
	if (r->st != R_ANSWER)
		return;
	char *end = memmem(r->ans, r->anslen, "\r\n\r\n", 4);
	if (!end) {
		if (r->anslen == sizeof r->ans) {
			alog("warn", "proxy answer too long", "host=%s port=%u", r->host, r->port);
			relay_close(r);
		}
		return;
	}
	/* a refusal's body comes with its head: wait for Content-Length bytes */
	size_t head = (size_t)(end + 4 - r->ans);
	const char *cl = memmem(r->ans, head, "\r\nContent-Length: ", 18);
	if (cl && strncmp(r->ans + 9, "200", 3) != 0) {
		size_t want = head + (size_t)strtoul(cl + 18, NULL, 10);
		if (want > sizeof r->ans)
			want = sizeof r->ans;
		if (r->anslen < want)
			return;
	}
	answer_done(r);
}

/* ---- to airlock ---- */

static void on_proxy_connect(uv_connect_t *req, int status)
{
	struct relay *r = req->data;
	if (r->closing)
		return;
	if (status < 0) {
		alog("error", "cannot reach the proxy", "proxy=%s error=%s host=%s port=%u", r->a->cfg.proxy,
		     uv_strerror(status), r->host, r->port);
		relay_close(r);
		return;
	}
	char auth[256 + sizeof r->a->auth];
	char hp[PEEK_NAME_MAX + 16];
	snprintf(hp, sizeof hp, strchr(r->host, ':') ? "[%s]:%u" : "%s:%u", r->host, r->port);
	int k = snprintf(auth, sizeof auth, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", hp, hp,
			 r->a->auth);
	int rc = send_copy(r, (uv_stream_t *)&r->proxy, auth, (size_t)k);
	wipe(auth, sizeof auth);
	if (rc < 0) {
		relay_close(r);
		return;
	}
	r->st = R_ANSWER;
	uv_read_start((uv_stream_t *)&r->proxy, on_alloc, on_proxy_read);
}

static void dial(struct relay *r)
{
	const struct agent_config *c = &r->a->cfg;
	uv_os_fd_t fd;
	r->st = R_DIAL;
	uv_timer_start(&r->timer, on_timer, PROXY_WAIT_MS, 0);
	if (uv_tcp_init_ex(r->a->loop, &r->proxy, c->proxy_addr.ss_family) < 0) {
		relay_close(r);
		return;
	}
	r->proxy.data = r;
	r->proxy_open = true;
	r->handles++;
	/* the mark exempts this socket from our own redirect */
	if (uv_fileno((uv_handle_t *)&r->proxy, &fd) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &c->mark, sizeof c->mark) < 0) {
		alog("error", "cannot mark the proxy socket (needs CAP_NET_ADMIN)", "error=%s", strerror(errno));
		relay_close(r);
		return;
	}
	r->creq.data = r;
	if (uv_tcp_connect(&r->creq, &r->proxy, (const struct sockaddr *)&c->proxy_addr, on_proxy_connect) < 0)
		relay_close(r);
}

/* ---- accepting ---- */

static struct relay *relay_accept(struct agent *a, uv_stream_t *server)
{
	struct relay *r = xcalloc(1, sizeof *r);
	r->kind = AGENT_KIND_RELAY;
	r->a = a;
	uv_tcp_init(a->loop, &r->client);
	uv_timer_init(a->loop, &r->timer);
	r->client.data = r->timer.data = r;
	r->handles = 2;
	a->nconns++;
	if (uv_accept(server, (uv_stream_t *)&r->client) < 0 || a->nconns > AGENT_CONNS_MAX) {
		relay_close(r);
		return NULL;
	}
	uv_tcp_nodelay(&r->client, 1);
	struct sockaddr_storage ss;
	int len = sizeof ss;
	if (uv_tcp_getpeername(&r->client, (struct sockaddr *)&ss, &len) == 0)
		addr_str((struct sockaddr *)&ss, true, r->src, sizeof r->src);
	return r;
}

void relay_redirected(struct agent *a, uv_stream_t *server)
{
	struct relay *r = relay_accept(a, server);
	if (!r)
		return;
	uv_os_fd_t fd;
	struct sockaddr_storage od;
	socklen_t ol = sizeof od;
	memset(&od, 0, sizeof od);
	int fam = server == (uv_stream_t *)&a->redir[1] ? AF_INET6 : AF_INET;
	if (uv_fileno((uv_handle_t *)&r->client, &fd) < 0 ||
	    getsockopt(fd, fam == AF_INET ? SOL_IP : SOL_IPV6, fam == AF_INET ? SO_ORIGINAL_DST : IP6T_SO_ORIGINAL_DST,
		       &od, &ol) < 0) {
		/* not redirected: someone dialled the listener itself */
		relay_close(r);
		return;
	}
	addr_str((struct sockaddr *)&od, true, r->dst, sizeof r->dst);
	addr_str((struct sockaddr *)&od, false, r->host, sizeof r->host);
	r->port = ntohs(((struct sockaddr_in *)&od)->sin_port);
	const char *name = od.ss_family == AF_INET
				   ? pool_name(a->pool, ntohl(((struct sockaddr_in *)&od)->sin_addr.s_addr))
				   : NULL;
	uv_read_start((uv_stream_t *)&r->client, on_alloc, on_client_read);
	if (name) {
		snprintf(r->host, sizeof r->host, "%s", name);
		r->how = "pool";
		dial(r);
		return;
	}
	r->st = R_PEEK;
	uv_timer_start(&r->timer, on_timer, PEEK_WAIT_MS, 0);
}

void relay_tunnel(struct agent *a, struct tlistener *t)
{
	struct relay *r = relay_accept(a, (uv_stream_t *)&t->tcp);
	if (!r)
		return;
	snprintf(r->host, sizeof r->host, "%s", t->def.host);
	r->port = t->def.port;
	r->how = "tunnel";
	snprintf(r->dst, sizeof r->dst, "%s", t->def.listen);
	uv_read_start((uv_stream_t *)&r->client, on_alloc, on_client_read);
	dial(r);
}
