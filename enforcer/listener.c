/* Listening sockets: bound once in the main thread (a busy port fails at
 * start, before any worker runs), then each worker accepts on its own libuv
 * handle over a dup of the socket, so accepts spread over the loops without
 * an acceptor thread.
 *
 * A new connection has no token yet (on the TLS listener not even a
 * handshake): it is pre-auth, counted in its own budget, a total and a
 * per-source cap, never in --max-conns, so that peers without a token
 * cannot hold the slots of authenticated clients. Past a pre-auth cap a new
 * connection is closed at once. conn.c moves a connection to --max-conns
 * on its first valid token. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/limits.h"
#include "common/log.h"
#include "enforcer/conn.h"
#include "enforcer/tlsio.h"
#include "enforcer/worker.h"

int listener_bind(const char *ip, uint16_t port, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, s = -1, rc = AL_EIO;

	memset(&ss, 0, sizeof ss);
	if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss) == 0) {
		len = sizeof(struct sockaddr_in);
	} else if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) == 0) {
		len = sizeof(struct sockaddr_in6);
	} else {
		rc = AL_EINVAL;
		goto out;
	}
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto out;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&ss, len) < 0) {
		log_error("cannot bind", KV_S("address", ip), KV_I("port", port), KV_S("error", strerror(errno)));
		goto out;
	}
	if (listen(s, AL_PROXY_BACKLOG) < 0)
		goto out;
	*fd = s;
	s = -1;
	rc = 0;
out:
	if (s >= 0)
		close(s);
	return rc;
}

/* The per-source key: the IPv4 address, or the /64 of an IPv6 one (one
 * host usually holds a whole /64). */
static void source_key(struct io *io, char key[AL_SOURCE_KEY_MAX])
{
	char a[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	if (!io_tcp_peer(io, a, sizeof a)) {
		snprintf(key, AL_SOURCE_KEY_MAX, "?");
		return;
	}
	if (strchr(a, ':') && inet_pton(AF_INET6, a, &in6) == 1) {
		memset(in6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &in6, a, sizeof a)) {
			snprintf(key, AL_SOURCE_KEY_MAX, "%s/64", a);
			return;
		}
	}
	snprintf(key, AL_SOURCE_KEY_MAX, "%s", a);
}

/* A flood of refused connections must not flood the log: at most one line
 * a second (all workers together), saying how many it stands for. */
static void refused_warn(const char *cap, unsigned max, const char *src)
{
	static _Atomic int64_t last_sec;
	static atomic_uint quiet;
	int64_t now = time_mono_ms() / 1000, prev = atomic_load(&last_sec);
	if (prev == now || !atomic_compare_exchange_strong(&last_sec, &prev, now)) {
		atomic_fetch_add(&quiet, 1);
		return;
	}
	log_warn("connection refused: pre-auth cap", KV_S("cap", cap), KV_I("max", max), KV_S("src", src),
		 KV_I("also_refused", atomic_exchange(&quiet, 0)));
}

/* A place in the pre-auth budget: 0, or AL_ERANGE with the flag of the cap
 * that is full and its value. */
static int preauth_acquire(struct proxy *px, const char *src, const char **cap, unsigned *max)
{
	const struct config *cfg = px->cfg;
	if (atomic_fetch_add(&px->npreauth, 1) >= cfg->max_preauth_conns) {
		atomic_fetch_sub(&px->npreauth, 1);
		*cap = "max-preauth-conns";
		*max = cfg->max_preauth_conns;
		return AL_ERANGE;
	}
	if (connlimit_acquire(px->per_source, src, cfg->max_preauth_per_source) < 0) {
		atomic_fetch_sub(&px->npreauth, 1);
		*cap = "max-preauth-per-source";
		*max = cfg->max_preauth_per_source;
		return AL_ERANGE;
	}
	return 0;
}

void preauth_release(struct proxy *px, const char *src)
{
	connlimit_release(px->per_source, src);
	atomic_fetch_sub(&px->npreauth, 1);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct worker *w = server->data;
	struct proxy *px = w->px;
	bool tls = false;
	struct io *io;
	char src[AL_SOURCE_KEY_MAX], peer[AL_SOURCE_KEY_MAX];
	const char *cap;
	unsigned max;

	if (status < 0 || w->stopping)
		return;
	for (unsigned i = 0; i < w->nlis; i++)
		if ((uv_stream_t *)&w->lis[i] == server)
			tls = w->lis_tls[i];
	if (io_tcp_accept(&w->loop, server, &io) < 0)
		return;
	source_key(io, src);
	if (!io_tcp_peer_port(io, peer, sizeof peer))
		peer[0] = '\0';
	if (preauth_acquire(px, src, &cap, &max) < 0) {
		refused_warn(cap, max, src);
		io_close(io);
		return;
	}
	if (tls) {
		struct io *t;
		if (tlsio_server(io, px->tls_cred, false, &t) < 0) {
			preauth_release(px, src);
			io_close(io);
			return;
		}
		io = t;
	}
	conn_new(w, io, tls, src, peer);
}

int listener_start(struct worker *w, int fd, bool tls)
{
	if (w->nlis >= 2)
		return AL_ERANGE;
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d < 0)
		return AL_EIO;
	uv_tcp_t *t = &w->lis[w->nlis];
	uv_tcp_init(&w->loop, t);
	t->data = w;
	if (uv_tcp_open(t, d) < 0 || uv_listen((uv_stream_t *)t, AL_PROXY_BACKLOG, on_connection) < 0) {
		uv_close((uv_handle_t *)t, NULL);
		return AL_EIO;
	}
	w->lis_tls[w->nlis] = tls;
	w->nlis++;
	return 0;
}

void listener_stop(struct worker *w)
{
	for (unsigned i = 0; i < w->nlis; i++)
		if (!uv_is_closing((uv_handle_t *)&w->lis[i]))
			uv_close((uv_handle_t *)&w->lis[i], NULL);
}
