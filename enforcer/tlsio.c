/* TLS over any io: ciphertext from the lower stream is queued in an inbox
 * that GnuTLS pulls from; what GnuTLS pushes goes to the lower stream's
 * write. Plaintext is handed up as it is decrypted, only while the upper
 * layer reads (backpressure passes through to the lower stream). */
#include "config.h"

#include "tlsio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netmatch.h"
#include "common/xmalloc.h"
#include "enforcer/tlsconf.h"

#define TLS_INBOX_MAX (256 * 1024)

struct io_tls {
	struct io base;
	struct io *lower;
	gnutls_session_t s;
	uv_timer_t kick;          /* deferred delivery after read_start */
	char *in;
	size_t inlen, inoff, incap;
	char *out;                /* corked: records waiting for one write below */
	size_t outlen, outcap;
	bool corked;
	int closes;
	char host[AL_HOST_BUF];   /* client side: verified name (GnuTLS keeps the pointer) */
	bool hs_done, reading, closing, lower_eof, eof_sent, in_deliver;
};

static __thread char tl_plain[32 * 1024];

static void tls_cork(struct io *io);
static int tls_uncork(struct io *io);

static ssize_t tls_pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct io_tls *t = p;
	size_t avail = t->inlen - t->inoff;
	if (avail == 0) {
		if (t->lower_eof)
			return 0;
		gnutls_transport_set_errno(t->s, EAGAIN);
		return -1;
	}
	if (n > avail)
		n = avail;
	memcpy(buf, t->in + t->inoff, n);
	t->inoff += n;
	if (t->inoff == t->inlen)
		t->inoff = t->inlen = 0;
	return (ssize_t)n;
}

static ssize_t tls_push(gnutls_transport_ptr_t p, const void *buf, size_t n)
{
	struct io_tls *t = p;
	if (t->closing) {
		gnutls_transport_set_errno(t->s, EIO);
		return -1;
	}
	if (t->corked) {
		xgrow(&t->out, &t->outcap, t->outlen + n, 4096);
		memcpy(t->out + t->outlen, buf, n);
		t->outlen += n;
		return (ssize_t)n;
	}
	if (io_write(t->lower, buf, n) < 0) {
		gnutls_transport_set_errno(t->s, EIO);
		return -1;
	}
	return (ssize_t)n;
}

/* GnuTLS hands a whole flight (ServerHello ... Finished, or a ticket after
 * a response) over at once. Over TCP it leaves in one write; over a TLS
 * stream (an intercepted connection inside the TLS listener) each record
 * stays a write of its own, so that the outer records keep the inner ones
 * whole (tlsframe.h says why). */
static ssize_t tls_vec_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct io_tls *t = p;
	size_t total = 0;
	bool one_write = !t->corked && t->lower->ops->cork == NULL && iovcnt > 1;
	if (one_write)
		tls_cork(&t->base);
	for (int i = 0; i < iovcnt; i++) {
		if (tls_push(p, iov[i].iov_base, iov[i].iov_len) < 0) {
			if (one_write) {
				t->outlen = 0;
				(void)tls_uncork(&t->base);
			}
			return -1;
		}
		total += iov[i].iov_len;
	}
	if (one_write && tls_uncork(&t->base) < 0) {
		gnutls_transport_set_errno(t->s, EIO);
		return -1;
	}
	return (ssize_t)total;
}

static void fail(struct io_tls *t)
{
	if (!t->closing && t->base.h)
		t->base.h->on_error(t->base.arg, AL_ECRYPTO);
}

/* Drive the handshake, then hand plaintext up while the upper layer reads. */
static void deliver(struct io_tls *t)
{
	if (t->in_deliver || t->closing)
		return;
	t->in_deliver = true;
	if (!t->hs_done) {
		int r = gnutls_handshake(t->s);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (t->lower_eof)
				fail(t);
			goto out;
		}
		if (r < 0) {
			fail(t);
			goto out;
		}
		t->hs_done = true;
		if (t->base.h && t->base.h->on_connect)
			t->base.h->on_connect(t->base.arg, 0);
	}
	while (t->reading && !t->closing) {
		size_t before = t->inlen - t->inoff;
		ssize_t n = gnutls_record_recv(t->s, tl_plain, sizeof tl_plain);
		if (n > 0) {
			t->base.h->on_read(t->base.arg, tl_plain, (size_t)n);
			continue;
		}
		/* GnuTLS answers AGAIN after a post-handshake message (a TLS 1.3
		 * session ticket) even when more records wait in the inbox */
		if ((n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) && t->inlen > t->inoff &&
		    t->inlen - t->inoff != before)
			continue;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (t->lower_eof && !t->eof_sent) {
				t->eof_sent = true;
				t->base.h->on_eof(t->base.arg);
			}
			break;
		}
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
			if (!t->eof_sent) {
				t->eof_sent = true;
				t->base.h->on_eof(t->base.arg);
			}
			break;
		}
		fail(t);
		break;
	}
out:
	t->in_deliver = false;
}

static void on_lower_read(void *arg, const char *buf, size_t n)
{
	struct io_tls *t = arg;
	if (t->closing)
		return;
	if (t->inlen + n > TLS_INBOX_MAX) {
		fail(t);
		return;
	}
	xgrow(&t->in, &t->incap, t->inlen + n, 16 * 1024);
	memcpy(t->in + t->inlen, buf, n);
	t->inlen += n;
	deliver(t);
	if (t->inlen == 0) {   /* all taken: an idle session keeps no inbox */
		free(t->in);
		t->in = NULL;
		t->incap = 0;
	}
	/* the upper layer stopped reading: let ciphertext wait in the kernel */
	if (!t->closing && t->hs_done && !t->reading)
		io_read_stop(t->lower);
}

static void on_lower_eof(void *arg)
{
	struct io_tls *t = arg;
	t->lower_eof = true;
	if (!t->hs_done) {
		fail(t);
		return;
	}
	deliver(t);
}

static void on_lower_error(void *arg, int err)
{
	struct io_tls *t = arg;
	if (!t->closing && t->base.h)
		t->base.h->on_error(t->base.arg, err);
}

static void on_lower_drain(void *arg)
{
	struct io_tls *t = arg;
	if (!t->closing && t->base.h && t->base.h->on_drain)
		t->base.h->on_drain(t->base.arg);
}

static void tls_free_if_done(struct io_tls *t)
{
	if (--t->closes > 0)
		return;
	if (t->base.h && t->base.h->on_closed)
		t->base.h->on_closed(t->base.arg);
	gnutls_deinit(t->s);
	free(t->in);
	free(t->out);
	free(t);
}

static void on_lower_closed(void *arg)
{
	tls_free_if_done(arg);
}

static void on_kick_closed(uv_handle_t *h)
{
	tls_free_if_done(h->data);
}

static const struct io_handler lower_h = {
	.on_read = on_lower_read,
	.on_eof = on_lower_eof,
	.on_error = on_lower_error,
	.on_drain = on_lower_drain,
	.on_closed = on_lower_closed,
};

static int tls_write(struct io *io, const void *buf, size_t n)
{
	struct io_tls *t = (struct io_tls *)io;
	const char *p = buf;
	if (t->closing || !t->hs_done)
		return AL_EIO;
	while (n) {
		ssize_t w = gnutls_record_send(t->s, p, n);
		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			return AL_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void tls_cork(struct io *io)
{
	((struct io_tls *)io)->corked = true;
}

static int tls_uncork(struct io *io)
{
	struct io_tls *t = (struct io_tls *)io;
	size_t n = t->outlen;
	int rc = t->closing ? AL_EIO : n ? io_write(t->lower, t->out, n) : 0;
	/* an idle connection keeps no buffer (even a flight's few KiB, times
	 * two sessions per intercepted connection, show in its RSS) */
	t->corked = false;
	t->outlen = 0;
	free(t->out);
	t->out = NULL;
	t->outcap = 0;
	return rc;
}

static void on_kick(uv_timer_t *k)
{
	struct io_tls *t = k->data;
	if (t->reading)
		deliver(t);
}

static void tls_read_start(struct io *io)
{
	struct io_tls *t = (struct io_tls *)io;
	if (t->closing || t->reading)
		return;
	t->reading = true;
	io_read_start(t->lower);
	/* bytes may already wait in the inbox or in GnuTLS: deliver from the loop */
	if (t->inlen > t->inoff || (t->hs_done && gnutls_record_check_pending(t->s) > 0) || t->lower_eof)
		uv_timer_start(&t->kick, on_kick, 0, 0);
}

static void tls_read_stop(struct io *io)
{
	struct io_tls *t = (struct io_tls *)io;
	if (t->closing || !t->reading)
		return;
	t->reading = false;
	if (t->hs_done)
		io_read_stop(t->lower);
}

static size_t tls_queued(const struct io *io)
{
	const struct io_tls *t = (const struct io_tls *)io;
	return io_queued(t->lower);
}

static void tls_shutdown(struct io *io)
{
	struct io_tls *t = (struct io_tls *)io;
	if (t->closing)
		return;
	if (t->hs_done)
		gnutls_bye(t->s, GNUTLS_SHUT_WR);
	io_shutdown(t->lower);
}

static void tls_close(struct io *io)
{
	struct io_tls *t = (struct io_tls *)io;
	if (t->closing)
		return;
	t->closing = true;
	uv_timer_stop(&t->kick);
	uv_close((uv_handle_t *)&t->kick, on_kick_closed);
	io_close(t->lower);
}

static void tls_discard(struct io *io)
{
	struct io_tls *t = (struct io_tls *)io;
	if (!t->closing)
		io_discard(t->lower);
}

static const struct io_ops tls_ops = {
	.write = tls_write,
	.read_start = tls_read_start,
	.read_stop = tls_read_stop,
	.queued = tls_queued,
	.shutdown = tls_shutdown,
	.close = tls_close,
	.discard = tls_discard,
	.cork = tls_cork,
	.uncork = tls_uncork,
};

static struct io_tls *tls_wrap(struct io_tls *t, struct io *lower, gnutls_session_t s)
{
	t->base.ops = &tls_ops;
	t->base.loop = lower->loop;
	t->lower = lower;
	t->s = s;
	t->closes = 2;
	uv_timer_init(lower->loop, &t->kick);
	t->kick.data = t;
	gnutls_transport_set_ptr(s, t);
	gnutls_transport_set_push_function(s, tls_push);
	gnutls_transport_set_vec_push_function(s, tls_vec_push);
	gnutls_transport_set_pull_function(s, tls_pull);
	io_set_handler(lower, &lower_h, t);
	/* the handshake needs the lower stream read whatever the upper layer does */
	io_read_start(lower);
	return t;
}

int tlsio_server(struct io *lower, gnutls_certificate_credentials_t cred, bool h2, struct io **out)
{
	gnutls_session_t s;
	if (!cred || tlsconf_server_session(&s, cred, h2) < 0)
		return AL_ECRYPTO;
	*out = &tls_wrap(xcalloc(1, sizeof(struct io_tls)), lower, s)->base;
	return 0;
}

int tlsio_client(struct io *lower, gnutls_certificate_credentials_t cred, const char *host,
		 struct tlsconf_resume *resume, uint16_t port, bool h2, struct io **out)
{
	gnutls_session_t s;
	/* the session keeps a pointer to the name: give it the io's own copy */
	struct io_tls *t = xcalloc(1, sizeof *t);
	snprintf(t->host, sizeof t->host, "%s", host);
	if (!cred || tlsconf_client_session(&s, cred, t->host, h2) < 0) {
		free(t);
		return AL_ECRYPTO;
	}
	tls_wrap(t, lower, s);
	if (resume)
		tlsconf_resume_apply(resume, s, t->host, port);
	/* the ClientHello goes out now; the answer drives the rest */
	int r = gnutls_handshake(s);
	if (r < 0 && r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED) {
		io_set_handler(&t->base, NULL, NULL);
		tls_close(&t->base);
		return AL_ECRYPTO;
	}
	*out = &t->base;
	return 0;
}

void tlsio_feed(struct io *io, const char *buf, size_t n)
{
	if (io->ops == &tls_ops && n)
		on_lower_read(io, buf, n);
}

gnutls_session_t tlsio_session(struct io *io)
{
	return io->ops == &tls_ops ? ((struct io_tls *)io)->s : NULL;
}
