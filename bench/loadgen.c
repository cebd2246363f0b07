/* loadgen: the benchmark's load generator. One thread, one libuv loop, uv_poll_t
 * on raw non-blocking sockets, GnuTLS doing its I/O on the fd itself. Speaks
 * HTTP/1.1 directly, through an HTTP proxy (absolute-form) or through CONNECT +
 * TLS; keep-alive, handshake per request, many host names, uploads, SSE time to
 * first event and idle connection holding. Prints one JSON object on stdout.
 * Not part of the product build: see bench/README.md. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <uv.h>

#include "loadgen.h"
#include "procstat.h"

/* TLS 1.3/1.2; one key share (X25519) so the client does not pay for two */
#define PRIO "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1"

struct opts O = { .mode = M_KA, .port = 443, .path = "/small", .method = "GET", .expect = -1,
			 .conns = 1, .warmup = 0.5, .duration = 2, .pending = 32, .setup_timeout = 60, .hold = 1 };
static uv_loop_t *loop;
static gnutls_certificate_credentials_t xcred;
static gnutls_priority_t prio;
static struct conn *conns;
static char bodychunk[65536];
static char proxy_auth_hdr[512];

static bool measuring, stopping;
static unsigned long host_seq;
/* counters in the window */
static unsigned long n_ok, n_err, n_reconn, n_started;
static uint64_t bytes_down, bytes_up;
static uint32_t *lat, *ttfe;
static size_t nlat, caplat, nttfe, capttfe;
static unsigned long tot_ok, tot_err;
static char first_err[256];
/* idle */
static unsigned held, inflight;
static unsigned long next_idle;

uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void push(uint32_t **a, size_t *n, size_t *cap, uint64_t v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 65536;
		*a = realloc(*a, *cap * sizeof(**a));
		if (!*a)
			die("out of memory");
	}
	(*a)[(*n)++] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void take_snap(struct snap *s)
{
	procstat_snap(s, O.pids, O.npids, now_us() / 1e6);
}

/* ---- connections ---- */
static void conn_start(struct conn *c);
static void conn_io(struct conn *c);

static void on_poll(uv_poll_t *p, int status, int events);

static void want(struct conn *c, int ev)
{
	if (c->events == ev)
		return;
	c->events = ev;
	uv_poll_start(&c->poll, ev, on_poll);
}

static void want_tls(struct conn *c)
{
	want(c, gnutls_record_get_direction(c->tls) ? UV_WRITABLE : UV_READABLE);
}

static void on_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	close(c->fd);
	c->fd = -1;
	if (c->tls) {
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
	c->closing = false;
	if (stopping || c->st == S_DEAD)
		return;
	conn_start(c);
}

static void conn_close(struct conn *c, bool restart)
{
	if (c->closing || c->fd < 0)
		return;
	c->closing = true;
	if (!restart)
		c->st = S_DEAD;
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, on_closed);
}

static void idle_next(void);

static void conn_fail(struct conn *c, const char *what, const char *detail)
{
	if (!first_err[0])
		snprintf(first_err, sizeof first_err, "%s: %s", what, detail ? detail : "");
	tot_err++;
	if (measuring)
		n_err++;
	if (O.max_err && tot_err >= O.max_err) {
		stopping = true;
		uv_stop(loop);
	}
	if (O.mode == M_IDLE) {
		inflight--;
		c->st = S_DEAD;
		conn_close(c, false);
		idle_next();
		return;
	}
	n_reconn++;
	conn_close(c, true);
}

static void build_request(struct conn *c)
{
	char hostport[300];
	bool dflt = (O.tls && O.port == 443) || (!O.tls && O.port == 80);
	if (dflt)
		snprintf(hostport, sizeof hostport, "%s", c->host);
	else
		snprintf(hostport, sizeof hostport, "%s:%u", c->host, O.port);
	char clen[128] = "";
	if (O.body)
		snprintf(clen, sizeof clen, "Content-Length: %zu\r\nContent-Type: application/octet-stream\r\n", O.body);
	int n;
	if (O.via_proxy && !O.tls)
		n = snprintf(c->wbuf, sizeof c->wbuf, "%s http://%s%s HTTP/1.1\r\nHost: %s\r\n%s%sUser-Agent: airlock-bench\r\n\r\n",
			     O.method, hostport, O.path, hostport, proxy_auth_hdr, clen);
	else
		n = snprintf(c->wbuf, sizeof c->wbuf, "%s %s HTTP/1.1\r\nHost: %s\r\n%sUser-Agent: airlock-bench\r\n%s\r\n",
			     O.method, O.path, hostport, clen, O.sse ? "Accept: text/event-stream\r\n" : "");
	c->wlen = (size_t)n;
	c->woff = 0;
	c->body_left = O.body;
	c->hlen = 0;
	c->in_body = false;
	c->status = 0;
	c->clen = -1;
	c->chunked = c->close_after = c->eof_body = false;
	c->cst = 0;
	c->csize = 0;
	c->lastnl = 0;
	c->ttfe_done = false;
	c->got = 0;
	c->t_req = now_us();
	c->st = S_REQ;
}

static const char *pick_host(char *buf, size_t len)
{
	if (O.host_fmt) {
		unsigned long k = host_seq++;
		if (O.nhosts)
			k %= O.nhosts;
		snprintf(buf, len, O.host_fmt, (unsigned)k);
		return buf;
	}
	snprintf(buf, len, "%s", O.host);
	return buf;
}

static void conn_start(struct conn *c)
{
	if (stopping)
		return;
	pick_host(c->host, sizeof c->host);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->t_conn = now_us();
	n_started++;
	c->st = S_TCP;
	c->events = 0;
	c->nreq = 0;
	if (connect(c->fd, (struct sockaddr *)&O.dial, sizeof O.dial) < 0 && errno != EINPROGRESS) {
		int e = errno;
		uv_poll_init(loop, &c->poll, c->fd);
		c->poll.data = c;
		conn_fail(c, "connect", strerror(e));
		return;
	}
	uv_poll_init(loop, &c->poll, c->fd);
	c->poll.data = c;
	want(c, UV_WRITABLE);
}

static bool tls_begin(struct conn *c)
{
	if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
		return false;
	gnutls_priority_set(c->tls, prio);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, xcred);
	gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, c->host, strlen(c->host));
	gnutls_session_set_verify_cert(c->tls, c->host, 0);
	gnutls_datum_t alpn = { (unsigned char *)"http/1.1", 8 };
	gnutls_alpn_set_protocols(c->tls, &alpn, 1, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	c->st = S_HS;
	return true;
}

static ssize_t c_send(struct conn *c, const void *b, size_t n)
{
	if (c->tls) {
		ssize_t r = gnutls_record_send(c->tls, b, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			return -EAGAIN;
		if (r < 0)
			return -EIO;
		return r;
	}
	ssize_t r = send(c->fd, b, n, MSG_NOSIGNAL);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -EIO;
	return r;
}

static ssize_t c_recv(struct conn *c, void *b, size_t n)
{
	if (c->tls) {
		ssize_t r = gnutls_record_recv(c->tls, b, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			return -EAGAIN;
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (r < 0)
			return -EIO;
		return r;
	}
	ssize_t r = recv(c->fd, b, n, 0);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -EIO;
	return r;
}

static void idle_next(void)
{
	while (!stopping && inflight < O.pending && next_idle < O.conns) {
		struct conn *c = &conns[next_idle];
		c->idx = (unsigned)next_idle++;
		inflight++;
		conn_start(c);
	}
}

static void response_done(struct conn *c)
{
	uint64_t t = now_us();
	bool ok = c->status == 200 && (O.expect < 0 || (long)c->got == O.expect) && (!O.sse || c->ttfe_done);
	if (!ok) {
		char d[200], r[160];
		lg_describe(c->hbuf, r, sizeof r);
		snprintf(d, sizeof d, "%s, %zu body bytes", r, c->got);
		conn_fail(c, "bad response", d);
		return;
	}
	tot_ok++;
	c->nreq++;
	if (measuring) {
		n_ok++;
		bytes_down += c->got;
		bytes_up += O.body;
		push(&lat, &nlat, &caplat, t - (O.mode == M_HS ? c->t_conn : c->t_req));
		if (O.sse)
			push(&ttfe, &nttfe, &capttfe, c->t_first - c->t_req);
	}
	if (O.max_req && tot_ok >= O.max_req) {
		stopping = true;
		uv_stop(loop);
		return;
	}
	if (O.mode == M_IDLE) {
		c->st = S_HELD;
		held++;
		inflight--;
		want(c, UV_READABLE); /* notice a close by the proxy */
		idle_next();
		return;
	}
	if (O.mode == M_HS || c->close_after || c->eof_body) {
		if (c->tls && !c->eof_body)
			gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		conn_close(c, true);
		return;
	}
	build_request(c); /* conn_io's loop goes on with S_REQ: no recursion */
}

static void conn_io(struct conn *c)
{
	static char buf[65536]; /* one thread */
	for (;;) {
		switch (c->st) {
		case S_TCP: {
			int err = 0;
			socklen_t l = sizeof err;
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				conn_fail(c, "connect", strerror(err));
				return;
			}
			if (O.via_proxy && O.tls) {
				c->wlen = (size_t)snprintf(c->wbuf, sizeof c->wbuf,
							   "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n%s\r\n",
							   c->host, O.port, c->host, O.port, proxy_auth_hdr);
				c->woff = 0;
				c->st = S_PXW;
			} else if (O.tls) {
				if (!tls_begin(c)) {
					conn_fail(c, "tls", "init");
					return;
				}
			} else {
				build_request(c);
			}
			break;
		}
		case S_PXW: {
			ssize_t r = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
			if (r < 0) {
				if (errno == EAGAIN) {
					want(c, UV_WRITABLE);
					return;
				}
				conn_fail(c, "connect-write", strerror(errno));
				return;
			}
			c->woff += (size_t)r;
			if (c->woff == c->wlen) {
				c->st = S_PXR;
				c->hlen = 0;
			}
			break;
		}
		case S_PXR: {
			/* read byte-exact up to the end of the head: nothing of TLS may be eaten */
			ssize_t r = recv(c->fd, c->hbuf + c->hlen, sizeof c->hbuf - 1 - c->hlen, MSG_PEEK);
			if (r < 0) {
				if (errno == EAGAIN) {
					want(c, UV_READABLE);
					return;
				}
				conn_fail(c, "connect-read", strerror(errno));
				return;
			}
			if (r == 0) {
				conn_fail(c, "connect-read", "proxy closed");
				return;
			}
			c->hbuf[c->hlen + (size_t)r] = 0;
			char *e = strstr(c->hbuf, "\r\n\r\n");
			size_t take = e ? (size_t)(e + 4 - c->hbuf) - c->hlen : (size_t)r;
			if (recv(c->fd, c->hbuf + c->hlen, take, 0) != (ssize_t)take) {
				conn_fail(c, "connect-read", "short");
				return;
			}
			c->hlen += take;
			c->hbuf[c->hlen] = 0;
			if (e) {
				if (strncmp(c->hbuf, "HTTP/1.", 7) || atoi(c->hbuf + 9) != 200) {
					char d[160];
					lg_describe(c->hbuf, d, sizeof d);
					conn_fail(c, "CONNECT refused", d);
					return;
				}
				if (!tls_begin(c)) {
					conn_fail(c, "tls", "init");
					return;
				}
			} else if (c->hlen >= sizeof c->hbuf - 1) {
				conn_fail(c, "connect-read", "head too long");
				return;
			}
			break;
		}
		case S_HS: {
			int r = gnutls_handshake(c->tls);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				want_tls(c);
				return;
			}
			if (r < 0) {
				char d[160];
				if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
					gnutls_datum_t out;
					unsigned st = gnutls_session_get_verify_cert_status(c->tls);
					gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &out, 0);
					snprintf(d, sizeof d, "%s", out.data);
					gnutls_free(out.data);
				} else
					snprintf(d, sizeof d, "%s", gnutls_strerror(r));
				conn_fail(c, "tls handshake", d);
				return;
			}
			build_request(c);
			break;
		}
		case S_REQ: {
			if (c->woff < c->wlen) {
				ssize_t r = c_send(c, c->wbuf + c->woff, c->wlen - c->woff);
				if (r == -EAGAIN) {
					if (c->tls)
						want_tls(c);
					else
						want(c, UV_WRITABLE);
					return;
				}
				if (r < 0) {
					conn_fail(c, "write", "error");
					return;
				}
				c->woff += (size_t)r;
				break;
			}
			if (c->body_left) {
				size_t n = c->body_left < sizeof bodychunk ? c->body_left : sizeof bodychunk;
				ssize_t r = c_send(c, bodychunk, n);
				if (r == -EAGAIN) {
					if (c->tls)
						want_tls(c);
					else
						want(c, UV_WRITABLE);
					return;
				}
				if (r < 0) {
					conn_fail(c, "write body", "error");
					return;
				}
				c->body_left -= (size_t)r;
				break;
			}
			c->st = S_RESP;
			break;
		}
		case S_RESP: {
			ssize_t r = c_recv(c, buf, sizeof buf);
			if (r == -EAGAIN) {
				want(c, UV_READABLE);
				return;
			}
			if (r < 0) {
				conn_fail(c, "read", "error");
				return;
			}
			if (r == 0) {
				if (c->in_body && !c->chunked && c->clen < 0) {
					c->eof_body = true;
					response_done(c);
					return;
				}
				conn_fail(c, "read", c->nreq ? "closed after keep-alive" : "closed");
				return;
			}
			size_t off = 0;
			int done = 0;
			if (!c->in_body) {
				size_t room = sizeof c->hbuf - 1 - c->hlen;
				size_t take = (size_t)r < room ? (size_t)r : room;
				memcpy(c->hbuf + c->hlen, buf, take);
				size_t old = c->hlen;
				c->hlen += take;
				c->hbuf[c->hlen] = 0;
				char *e = strstr(c->hbuf, "\r\n\r\n");
				if (!e) {
					if (c->hlen >= sizeof c->hbuf - 1) {
						conn_fail(c, "response", "head too long");
						return;
					}
					break;
				}
				size_t hend = (size_t)(e - c->hbuf) + 4;
				off = hend - old;
				if (lg_parse_head(c, hend - 2) < 0) {
					conn_fail(c, "response", "bad head");
					return;
				}
				c->in_body = true;
				if (!c->chunked && c->clen == 0)
					done = 1;
			}
			if (!done && off < (size_t)r)
				done = lg_body_feed(c, buf + off, (size_t)r - off);
			else if (!done && !c->chunked && c->clen == 0)
				done = 1;
			if (done < 0) {
				conn_fail(c, "response", "extra bytes");
				return;
			}
			if (done) {
				response_done(c);
				if (c->st != S_REQ || c->closing || stopping)
					return;
			}
			break;
		}
		case S_HELD: {
			ssize_t r = c_recv(c, buf, sizeof buf);
			if (r == -EAGAIN)
				return;
			held--;
			c->st = S_DEAD;
			tot_err++;
			if (!first_err[0])
				snprintf(first_err, sizeof first_err, "held connection closed by peer");
			conn_close(c, false);
			return;
		}
		default:
			return;
		}
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	(void)events;
	struct conn *c = p->data;
	if (c->closing)
		return;
	if (status < 0 && c->st == S_TCP) {
		conn_fail(c, "connect", uv_strerror(status));
		return;
	}
	conn_io(c);
}

/* ---- windows ---- */
static struct snap s0, s1;
static uv_timer_t t_warm, t_end, t_hold;
static int phase;

static void on_end(uv_timer_t *t)
{
	(void)t;
	take_snap(&s1);
	measuring = false;
	stopping = true;
	uv_stop(loop);
}

static void on_warm(uv_timer_t *t)
{
	(void)t;
	take_snap(&s0);
	measuring = true;
	n_ok = n_err = n_reconn = 0;
	bytes_down = bytes_up = 0;
	nlat = nttfe = 0;
	uv_timer_start(&t_end, on_end, (uint64_t)(O.duration * 1000), 0);
}

static int cmp32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(uint32_t *a, size_t n, double p)
{
	if (!n)
		return -1;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return a[i] / 1000.0;
}

static void print_results(double window, const char *extra)
{
	qsort(lat, nlat, sizeof *lat, cmp32);
	if (nttfe)
		qsort(ttfe, nttfe, sizeof *ttfe, cmp32);
	long hz = sysconf(_SC_CLK_TCK);
	printf("{\"ok\":%lu,\"errors\":%lu,\"reconnects\":%lu,\"window_s\":%.3f,\"rps\":%.1f,\"mbps\":%.2f,"
	       "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f",
	       n_ok, n_err, n_reconn, window, window > 0 ? n_ok / window : 0,
	       window > 0 ? (bytes_down + bytes_up) / window / 1e6 : 0, pct(lat, nlat, .5), pct(lat, nlat, .99),
	       nlat ? lat[nlat - 1] / 1000.0 : -1);
	if (O.sse)
		printf(",\"ttfe_p50_ms\":%.3f,\"ttfe_p99_ms\":%.3f", pct(ttfe, nttfe, .5), pct(ttfe, nttfe, .99));
	printf(",\"loadgen_cpu_s\":%.3f", s1.self_cpu - s0.self_cpu);
	printf(",\"tree_cpu_s\":[");
	for (int k = 0; k < O.npids; k++)
		printf("%s%.3f", k ? "," : "", (double)(s1.tree_ticks[k] - s0.tree_ticks[k]) / (double)hz);
	printf("],\"machine_busy_cores\":%.3f", s1.sys_total > s0.sys_total ?
	       (double)(s1.sys_busy - s0.sys_busy) / (double)hz / (s1.t - s0.t) : 0);
	printf(",\"first_error\":\"");
	for (char *q = first_err; *q; q++)
		putchar(*q == '"' || *q == '\\' ? '\'' : *q);
	printf("\"%s}\n", extra ? extra : "");
	fflush(stdout);
}

/* idle: open O.conns, at most O.pending at once; then hold and measure RSS */
static uint64_t idle_t0;
static long rss_before[16], rss_before_root[16];

static void on_hold_done(uv_timer_t *t)
{
	(void)t;
	stopping = true;
	uv_stop(loop);
}

static void on_idle_check(uv_timer_t *t)
{
	bool timeout = now_us() - idle_t0 > (uint64_t)(O.setup_timeout * 1e6);
	if ((next_idle >= O.conns && inflight == 0) || timeout) {
		uv_timer_stop(t);
		phase = 1;
		uv_timer_start(&t_hold, on_hold_done, (uint64_t)(O.hold * 1000), 0);
	}
}

int main(int argc, char **argv)
{
	lg_parse_args(argc, argv);
	if (O.auth)
		lg_proxy_auth(O.auth, proxy_auth_hdr, sizeof proxy_auth_hdr);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl = { 0, 0 };
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < O.conns + 64u) {
		rl.rlim_cur = rl.rlim_max < O.conns + 1024u ? rl.rlim_max : O.conns + 1024u;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(bodychunk, 'x', sizeof bodychunk);
	if (O.tls) {
		gnutls_global_init();
		gnutls_certificate_allocate_credentials(&xcred);
		if (!O.ca || gnutls_certificate_set_x509_trust_file(xcred, O.ca, GNUTLS_X509_FMT_PEM) <= 0)
			die("cannot load CA file %s", O.ca ? O.ca : "(none)");
		const char *err;
		if (gnutls_priority_init(&prio, O.prio ? O.prio : PRIO, &err) < 0)
			die("priority");
	}
	loop = uv_default_loop();
	conns = calloc(O.conns, sizeof *conns);
	for (unsigned i = 0; i < O.conns; i++) {
		conns[i].fd = -1;
		conns[i].idx = i;
	}
	uv_timer_init(loop, &t_warm);
	uv_timer_init(loop, &t_end);
	uv_timer_init(loop, &t_hold);

	if (O.mode == M_IDLE) {
		take_snap(&s0);
		for (int k = 0; k < O.npids; k++)
			rss_before[k] = procstat_tree_rss(O.pids[k], &rss_before_root[k]);
		idle_t0 = now_us();
		measuring = true;
		uv_timer_t chk;
		uv_timer_init(loop, &chk);
		uv_timer_start(&chk, on_idle_check, 100, 100);
		idle_next();
		uv_run(loop, UV_RUN_DEFAULT);
		take_snap(&s1);
		double setup = (now_us() - idle_t0) / 1e6 - O.hold;
		char extra[2048];
		size_t o = 0;
		o += (size_t)snprintf(extra + o, sizeof extra - o, ",\"held\":%u,\"setup_s\":%.3f,\"rss\":[", held, setup);
		for (int k = 0; k < O.npids; k++) {
			long root;
			long tr = procstat_tree_rss(O.pids[k], &root);
			o += (size_t)snprintf(extra + o, sizeof extra - o,
					      "%s{\"tree_before_kib\":%ld,\"tree_held_kib\":%ld,\"root_before_kib\":%ld,\"root_held_kib\":%ld}",
					      k ? "," : "", rss_before[k], tr, rss_before_root[k], root);
		}
		snprintf(extra + o, sizeof extra - o, "]");
		print_results(setup, extra);
		return 0;
	}

	measuring = O.max_req > 0 || O.warmup <= 0;
	if (measuring)
		take_snap(&s0);
	for (unsigned i = 0; i < O.conns; i++)
		conn_start(&conns[i]);
	if (O.max_req == 0) {
		if (O.warmup > 0)
			uv_timer_start(&t_warm, on_warm, (uint64_t)(O.warmup * 1000), 0);
		else
			uv_timer_start(&t_end, on_end, (uint64_t)(O.duration * 1000), 0);
	} else {
		/* bounded by count, with a time cap */
		uv_timer_start(&t_end, on_end, (uint64_t)(O.duration * 1000), 0);
	}
	uv_run(loop, UV_RUN_DEFAULT);
	if (O.max_req && measuring)
		take_snap(&s1);
	print_results(s1.t - s0.t, NULL);
	return 0;
}
