/* The DNS stub on 127.0.0.1:53 and [::1]:53, UDP and TCP (RFC 7766
 * framing: a two-byte length before each message). Every answer is made
 * here (dnsmsg.c) from the pool: no query ever goes anywhere, so DNS
 * cannot carry a byte out of the sandbox. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/daemon.h"
#include "agent/dnsmsg.h"
#include "agent/pool.h"
#include "agent/util.h"

#define DNS_TCP_IDLE_MS 10000

int dnsstub_lookup(void *arg, const char *name, uint8_t addr[4])
{
	struct agent *a = arg;
	uint32_t v = pool_addr(a->pool, name);
	addr[0] = (uint8_t)(v >> 24);
	addr[1] = (uint8_t)(v >> 16);
	addr[2] = (uint8_t)(v >> 8);
	addr[3] = (uint8_t)v;
	return DNS_NOERROR;
}

/* ---- UDP ---- */

struct usend {
	uv_udp_send_t req;
	uint8_t out[512];
};

static uint8_t udp_in[DNS_MSG_MAX + 1];

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = (char *)udp_in;
	buf->len = sizeof udp_in;
}

static void on_udp_sent(uv_udp_send_t *req, int status)
{
	(void)status;
	free(req);
}

static void on_udp(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	struct agent *a = u->data;
	if (n <= 0 || !from || (flags & UV_UDP_PARTIAL))
		return;
	struct usend *s = xmalloc(sizeof *s);
	size_t len = dnsmsg_respond((const uint8_t *)buf->base, (size_t)n, s->out, sizeof s->out, dnsstub_lookup, a);
	uv_buf_t b = uv_buf_init((char *)s->out, (unsigned)len);
	if (len == 0 || uv_udp_send(&s->req, u, &b, 1, from, on_udp_sent) < 0)
		free(s);
}

/* ---- TCP ---- */

struct dconn {
	int kind;                     /* AGENT_KIND_DNS: first, for daemon.c's walk at stop */
	struct agent *a;
	uv_tcp_t tcp;
	uv_timer_t idle;
	int handles;
	uint8_t in[DNS_MSG_MAX + 2];
	size_t inlen;
};

struct tsend {
	uv_write_t req;
	uint8_t out[2 + 512];
};

static void on_dconn_closed(uv_handle_t *h)
{
	struct dconn *d = h->data;
	if (--d->handles > 0)
		return;
	d->a->ndns_tcp--;
	free(d);
}

static void dconn_close(struct dconn *d)
{
	if (uv_is_closing((uv_handle_t *)&d->tcp))
		return;
	uv_close((uv_handle_t *)&d->tcp, on_dconn_closed);
	uv_close((uv_handle_t *)&d->idle, on_dconn_closed);
}

void dnsstub_abort(void *dconn)
{
	dconn_close(dconn);
}

static void on_idle(uv_timer_t *t)
{
	dconn_close(t->data);
}

static void on_tsent(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void on_tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dconn *d = h->data;
	(void)suggested;
	buf->base = (char *)d->in + d->inlen;
	buf->len = sizeof d->in - d->inlen;
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct dconn *d = s->data;
	(void)buf;
	if (n < 0) {
		dconn_close(d);
		return;
	}
	d->inlen += (size_t)n;
	uv_timer_again(&d->idle);
	for (;;) {
		if (d->inlen < 2)
			return;
		size_t mlen = (size_t)(d->in[0] << 8 | d->in[1]);
		if (mlen > DNS_MSG_MAX) {
			dconn_close(d);   /* larger than any query we take */
			return;
		}
		if (d->inlen < 2 + mlen)
			return;
		struct tsend *t = xmalloc(sizeof *t);
		size_t len = dnsmsg_respond(d->in + 2, mlen, t->out + 2, sizeof t->out - 2, dnsstub_lookup, d->a);
		if (len == 0) {
			free(t);
			dconn_close(d);
			return;
		}
		t->out[0] = (uint8_t)(len >> 8);
		t->out[1] = (uint8_t)len;
		uv_buf_t b = uv_buf_init((char *)t->out, (unsigned)len + 2);
		if (uv_write(&t->req, s, &b, 1, on_tsent) < 0) {
			free(t);
			dconn_close(d);
			return;
		}
		memmove(d->in, d->in + 2 + mlen, d->inlen - 2 - mlen);
		d->inlen -= 2 + mlen;
	}
}

static void on_tcp_conn(uv_stream_t *server, int status)
{
	struct agent *a = server->data;
	if (status < 0)
		return;
	struct dconn *d = xcalloc(1, sizeof *d);
	d->kind = AGENT_KIND_DNS;
	d->a = a;
	uv_tcp_init(a->loop, &d->tcp);
	uv_timer_init(a->loop, &d->idle);
	d->tcp.data = d->idle.data = d;
	d->handles = 2;
	a->ndns_tcp++;
	if (uv_accept(server, (uv_stream_t *)&d->tcp) < 0 || a->ndns_tcp > AGENT_DNS_TCP_MAX) {
		dconn_close(d);
		return;
	}
	uv_timer_start(&d->idle, on_idle, DNS_TCP_IDLE_MS, DNS_TCP_IDLE_MS);
	uv_read_start((uv_stream_t *)&d->tcp, on_tcp_alloc, on_tcp_read);
}

/* ---- start ---- */

int dnsstub_start(struct agent *a, int i, char *err, size_t cap)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (i == 0)
		uv_ip4_addr("127.0.0.1", 53, (struct sockaddr_in *)&ss);
	else
		uv_ip6_addr("::1", 53, (struct sockaddr_in6 *)&ss);
	uv_udp_init(a->loop, &a->dns_udp[i]);
	uv_tcp_init(a->loop, &a->dns_tcp[i]);
	a->dns_udp[i].data = a->dns_tcp[i].data = a;
	int rc = uv_udp_bind(&a->dns_udp[i], (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_udp_recv_start(&a->dns_udp[i], on_udp_alloc, on_udp);
	if (rc == 0)
		rc = uv_tcp_bind(&a->dns_tcp[i], (const struct sockaddr *)&ss, i ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&a->dns_tcp[i], 64, on_tcp_conn);
	if (rc < 0) {
		snprintf(err, cap, "DNS on %s:53: %s", i ? "[::1]" : "127.0.0.1", uv_strerror(rc));
		uv_close((uv_handle_t *)&a->dns_udp[i], NULL);
		uv_close((uv_handle_t *)&a->dns_tcp[i], NULL);
		return -1;
	}
	return 0;
}
