/* `airlock connect HOST:PORT`: a stdin/stdout tunnel through the proxy, for
 * ssh's ProxyCommand (`ssh -o ProxyCommand='airlock connect %h:%p' ...`) and
 * psql-style helpers. The proxy comes from HTTPS_PROXY / https_proxy
 * (http:// or https://, the client token as the URL's password); for an
 * https:// proxy the CA is --proxy-cacert, else $AIRLOCK_CA, else
 * $SSL_CERT_FILE, else the system trust store. Sends CONNECT with
 * Proxy-Authorization, then copies bytes both ways with poll(2). */
#include "config.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/limits.h"
#include "common/token.h"
#include "common/xmalloc.h"

int cmd_connect(int argc, char **argv);

#define CONNECT_HEAD_MAX (16 * 1024)

static const char usage[] =
	"Usage: airlock connect [--proxy-cacert FILE] HOST:PORT\n"
	"Open a tunnel to HOST:PORT through the airlock proxy named by $HTTPS_PROXY\n"
	"and copy stdin/stdout through it (a passthrough rule must allow it).\n"
	"  ssh -o ProxyCommand='airlock connect %h:%p' user@host\n"
	"Options:\n"
	"  --proxy-cacert FILE  CA of an https:// proxy (default $AIRLOCK_CA, else\n"
	"                       $SSL_CERT_FILE, else the system trust store)\n"
	"  -h, --help           show this help\n";

struct proxy_url {
	bool tls;
	char host[AL_HOST_MAX + 1];
	char port[8];
	char user[256];
	char pass[AL_TOKEN_MAX + 1];
};

struct chan {
	int fd;
	gnutls_session_t s;   /* NULL: plain */
	gnutls_certificate_credentials_t cred;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "airlock: connect: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

/* Copy n bytes of URL userinfo, decoding %XX. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = bytes_hexval(s[i + 1]), l = bytes_hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int proxy_parse(const char *url, struct proxy_url *p)
{
	memset(p, 0, sizeof *p);
	if (strncasecmp(url, "http://", 7) == 0) {
		url += 7;
		strcpy(p->port, "3128");
	} else if (strncasecmp(url, "https://", 8) == 0) {
		url += 8;
		p->tls = true;
		strcpy(p->port, "3129");
	} else {
		return -1;
	}
	size_t alen = strcspn(url, "/?#");
	const char *at = memchr(url, '@', alen);
	const char *hp = url;
	if (at) {
		const char *colon = memchr(url, ':', (size_t)(at - url));
		if (!colon)
			return -1;
		if (pct_decode(url, (size_t)(colon - url), p->user, sizeof p->user) < 0 ||
		    pct_decode(colon + 1, (size_t)(at - colon - 1), p->pass, sizeof p->pass) < 0)
			return -1;
		hp = at + 1;
		alen -= (size_t)(hp - url);
	}
	const char *hend;
	if (hp[0] == '[') {
		const char *rb = memchr(hp, ']', alen);
		if (!rb)
			return -1;
		if ((size_t)(rb - hp - 1) > AL_HOST_MAX)
			return -1;
		memcpy(p->host, hp + 1, (size_t)(rb - hp - 1));
		hend = rb + 1;
	} else {
		const char *colon = memchr(hp, ':', alen);
		hend = colon ? colon : hp + alen;
		if ((size_t)(hend - hp) > AL_HOST_MAX || hend == hp)
			return -1;
		memcpy(p->host, hp, (size_t)(hend - hp));
	}
	if (hend < hp + alen) {
		if (*hend != ':')
			return -1;
		size_t pl = (size_t)(hp + alen - hend - 1);
		if (pl == 0 || pl >= sizeof p->port)
			return -1;
		memcpy(p->port, hend + 1, pl);
		p->port[pl] = '\0';
	}
	return 0;
}

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static ssize_t chan_write_all(struct chan *c, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = c->s ? gnutls_record_send(c->s, p, n) : write(c->fd, p, n);
		if (c->s && (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED))
			continue;
		if (!c->s && w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t chan_read(struct chan *c, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = c->s ? gnutls_record_recv(c->s, buf, n) : read(c->fd, buf, n);
		if (c->s && (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED))
			continue;
		if (c->s && r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (!c->s && r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

static int write_fd_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int tls_start(struct chan *c, const struct proxy_url *p, const char *cafile)
{
	gnutls_certificate_credentials_t cred;
	int r;
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0)
		return fail("%s", "TLS setup failed");
	cred = c->cred;
	if (cafile && *cafile) {
		if (gnutls_certificate_set_x509_trust_file(cred, cafile, GNUTLS_X509_FMT_PEM) <= 0)
			return fail("cannot read the proxy CA file %s", cafile);
	} else if (gnutls_certificate_set_x509_system_trust(cred) < 0) {
		return fail("%s", "no system trust store");
	}
	if (gnutls_init(&c->s, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(c->s) < 0 ||
	    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		return fail("%s", "TLS setup failed");
	gnutls_session_set_verify_cert(c->s, p->host, 0);
	/* SNI only for names, never for IP literals */
	if (!strchr(p->host, ':') && strspn(p->host, "0123456789.") != strlen(p->host))
		gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, p->host, strlen(p->host));
	gnutls_transport_set_int(c->s, c->fd);
	do {
		r = gnutls_handshake(c->s);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		return fail("TLS handshake with the proxy failed: %s", gnutls_strerror(r));
	return 0;
}

/* CONNECT and read the proxy's answer; bytes past the head go to stdout. */
static int do_connect(struct chan *c, const struct proxy_url *p, const char *target)
{
	char head[1024 + 2 * AL_TOKEN_MAX + 512];
	char userpass[sizeof p->user + sizeof p->pass + 2];
	char b64[((sizeof userpass + 2) / 3) * 4 + 4];
	int n, rc = 1;

	if (p->pass[0]) {
		int ul = snprintf(userpass, sizeof userpass, "%s:%s", p->user[0] ? p->user : "airlock", p->pass);
		if (b64_encode((const uint8_t *)userpass, (size_t)ul, false, b64, sizeof b64) < 0)
			goto out;
		n = snprintf(head, sizeof head,
			     "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", target,
			     target, b64);
	} else {
		n = snprintf(head, sizeof head, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	}
	if (n < 0 || (size_t)n >= sizeof head || chan_write_all(c, head, (size_t)n) < 0) {
		fail("%s", "cannot write to the proxy");
		goto out;
	}
	char *buf = xmalloc(CONNECT_HEAD_MAX + 1);
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		if (len >= CONNECT_HEAD_MAX) {
			free(buf);
			fail("%s", "the proxy's answer is too long");
			goto out;
		}
		ssize_t r = chan_read(c, buf + len, CONNECT_HEAD_MAX - len);
		if (r <= 0) {
			free(buf);
			fail("%s", "the proxy closed the connection");
			goto out;
		}
		len += (size_t)r;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
		char reason[128] = "";
		char *x = strcasestr(buf, "\r\nX-Airlock-Reason:");
		if (x && x < end)
			sscanf(x + 19, " %127[^\r\n]", reason);
		fprintf(stderr, "airlock: connect: the proxy refused %s: %d%s%s%s\n", target, status,
			reason[0] ? " (" : "", reason, reason[0] ? ")" : "");
		free(buf);
		goto out;
	}
	size_t rest = len - (size_t)(end + 4 - buf);
	if (rest && write_fd_all(1, end + 4, rest) < 0) {
		free(buf);
		goto out;
	}
	free(buf);
	rc = 0;
out:
	secure_wipe(head, sizeof head);
	secure_wipe(userpass, sizeof userpass);
	secure_wipe(b64, sizeof b64);
	return rc;
}

static int pump(struct chan *c)
{
	char buf[64 * 1024];
	bool in_open = true;
	for (;;) {
		if (!(c->s && gnutls_record_check_pending(c->s) > 0)) {
			struct pollfd pf[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
			int np = in_open ? 2 : 1;
			if (poll(pf, (nfds_t)np, -1) < 0) {
				if (errno == EINTR)
					continue;
				return 1;
			}
			if (in_open && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
				ssize_t r = read(0, buf, sizeof buf);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					in_open = false;
					if (c->s)
						gnutls_bye(c->s, GNUTLS_SHUT_WR);
					shutdown(c->fd, SHUT_WR);
				} else if (chan_write_all(c, buf, (size_t)r) < 0) {
					return 1;
				}
			}
			if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
		}
		ssize_t r = chan_read(c, buf, sizeof buf);
		if (r <= 0)
			return r < 0 ? 1 : 0;
		if (write_fd_all(1, buf, (size_t)r) < 0)
			return 1;
	}
}

int cmd_connect(int argc, char **argv)
{
	const char *cafile = NULL, *target = NULL;
	struct proxy_url p;
	struct chan c = { .fd = -1, .s = NULL, .cred = NULL };
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--proxy-cacert") == 0 && i + 1 < argc) {
			cafile = argv[++i];
		} else if (strncmp(argv[i], "--proxy-cacert=", 15) == 0) {
			cafile = argv[i] + 15;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "airlock: connect: unknown option %s (see airlock connect --help)\n", argv[i]);
			return 2;
		} else if (!target) {
			target = argv[i];
		} else {
			fprintf(stderr, "airlock: connect: one HOST:PORT only (see airlock connect --help)\n");
			return 2;
		}
	}
	if (!target || !strchr(target, ':') || strpbrk(target, " \r\n\t@/")) {
		fprintf(stderr, "airlock: connect: needs HOST:PORT (see airlock connect --help)\n");
		return 2;
	}
	const char *url = getenv("HTTPS_PROXY");
	if (!url || !*url)
		url = getenv("https_proxy");
	if (!url || !*url)
		return fail("%s", "HTTPS_PROXY is not set (see `airlock sandbox env`)");
	if (proxy_parse(url, &p) < 0)
		return fail("%s", "HTTPS_PROXY is not an http:// or https:// URL");
	if (!cafile)
		cafile = getenv("AIRLOCK_CA");
	if (!cafile || !*cafile)
		cafile = getenv("SSL_CERT_FILE");

	c.fd = tcp_connect(p.host, p.port);
	if (c.fd < 0) {
		rc = fail("cannot reach the proxy at %s", p.host);
		goto out;
	}
	if (p.tls && tls_start(&c, &p, cafile) != 0)
		goto out;
	if (do_connect(&c, &p, target) != 0)
		goto out;
	secure_wipe(&p, sizeof p);
	rc = pump(&c);
out:
	secure_wipe(&p, sizeof p);
	if (c.s)
		gnutls_deinit(c.s);
	if (c.cred)
		gnutls_certificate_free_credentials(c.cred);
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}
