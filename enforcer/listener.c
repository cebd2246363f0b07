/* Listening sockets: bound once in the main thread (a busy port fails at
 * start, before any worker runs), then each worker accepts on its own libuv
 * handle over a dup of the socket, so accepts spread over the loops without
 * an acceptor thread. Past the total connection cap a new connection is
 * closed at once. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	if (listen(s, 1024) < 0)
		goto out;
	*fd = s;
	s = -1;
	rc = 0;
out:
	if (s >= 0)
		close(s);
	return rc;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct worker *w = server->data;
	struct proxy *px = w->px;
	bool tls = false;
	struct io *io;

	if (status < 0 || w->stopping)
		return;
	for (unsigned i = 0; i < w->nlis; i++)
		if ((uv_stream_t *)&w->lis[i] == server)
			tls = w->lis_tls[i];
	if (io_tcp_accept(&w->loop, server, &io) < 0)
		return;
	if (atomic_fetch_add(&px->nconns, 1) >= px->cfg->max_conns) {
		atomic_fetch_sub(&px->nconns, 1);
		log_warn("connection refused: total connection cap", KV_I("max_conns", px->cfg->max_conns));
		io_close(io);
		return;
	}
	if (tls) {
		struct io *t;
		if (tlsio_server(io, px->tls_cred, &t) < 0) {
			atomic_fetch_sub(&px->nconns, 1);
			io_close(io);
			return;
		}
		io = t;
	}
	conn_new(w, io, tls);
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
	if (uv_tcp_open(t, d) < 0 || uv_listen((uv_stream_t *)t, 1024, on_connection) < 0) {
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
