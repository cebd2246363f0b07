/* The agent's daemon (daemon.h): bind the DNS stub, the redirect
 * listeners and the tunnels, say so on the readiness pipe, write the pid
 * file, serve. SIGHUP re-reads the tunnels file: removed tunnels stop
 * listening (their open connections go on), new ones start. */
#include "config.h"

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/pool.h"
#include "agent/util.h"

static void ready(int fd, const char *msg)
{
	if (fd < 0)
		return;
	(void)!write(fd, msg, strlen(msg));
	close(fd);
}

static void on_redirected(uv_stream_t *server, int status)
{
	struct agent *a = server->data;
	if (status == 0 && !a->stopping)
		relay_redirected(a, server);
}

static void on_tunnel(uv_stream_t *server, int status)
{
	struct tlistener *t = server->data;
	if (status == 0 && !t->a->stopping)
		relay_tunnel(t->a, t);
}

static void on_tun_closed(uv_handle_t *h)
{
	free(h->data);
}

static int tunnel_open(struct agent *a, const struct tunnel_def *def)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (!addr_parse(def->listen, 0, &ss, &len))
		return UV_EINVAL;
	struct tlistener *t = xcalloc(1, sizeof *t);
	t->kind = AGENT_KIND_TUNNEL;
	t->def = *def;
	t->a = a;
	uv_tcp_init(a->loop, &t->tcp);
	t->tcp.data = t;
	int rc = uv_tcp_bind(&t->tcp, (struct sockaddr *)&ss, ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&t->tcp, 128, on_tunnel);
	if (rc < 0) {
		alog("error", "tunnel cannot listen", "name=%s listen=%s error=%s", def->name, def->listen,
		     uv_strerror(rc));
		uv_close((uv_handle_t *)&t->tcp, on_tun_closed);
		return rc;
	}
	a->tun[a->ntun++] = t;
	alog("info", "tunnel listening", "name=%s listen=%s target=%s:%u", def->name, def->listen, def->host,
	     def->port);
	return 0;
}

static void tunnels_reload(struct agent *a)
{
	struct tunnel_def defs[AGENT_TUNNELS_MAX];
	size_t n;
	if (tunnels_load(defs, &n) < 0) {
		alog("error", "cannot read the tunnels file", "error=%s", strerror(errno));
		return;
	}
	/* keep what is unchanged, close what went or changed */
	for (size_t i = 0; i < a->ntun;) {
		bool keep = false;
		for (size_t j = 0; j < n; j++)
			keep |= memcmp(&a->tun[i]->def, &defs[j], sizeof defs[j]) == 0;
		if (keep) {
			i++;
			continue;
		}
		alog("info", "tunnel closed", "name=%s", a->tun[i]->def.name);
		uv_close((uv_handle_t *)&a->tun[i]->tcp, on_tun_closed);
		a->tun[i] = a->tun[--a->ntun];
	}
	for (size_t j = 0; j < n; j++) {
		bool have = false;
		for (size_t i = 0; i < a->ntun; i++)
			have |= memcmp(&a->tun[i]->def, &defs[j], sizeof defs[j]) == 0;
		if (!have)
			(void)tunnel_open(a, &defs[j]);
	}
}

static void on_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (uv_is_closing(h))
		return;
	int kind = h->data ? *(int *)h->data : 0;
	if (kind == AGENT_KIND_RELAY)
		relay_abort(h->data);
	else if (kind == AGENT_KIND_DNS)
		dnsstub_abort(h->data);
	else if (kind == AGENT_KIND_TUNNEL)
		uv_close(h, on_tun_closed);
	else
		uv_close(h, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct agent *a = s->data;
	if (signum == SIGHUP) {
		tunnels_reload(a);
		return;
	}
	alog("info", "stopping", "signal=%d", signum);
	a->stopping = true;
	uv_walk(a->loop, on_walk, NULL);
}

static int listen_redirect(struct agent *a, int i, char *err, size_t cap)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (i == 0)
		uv_ip4_addr("127.0.0.1", a->cfg.redirect_port, (struct sockaddr_in *)&ss);
	else
		uv_ip6_addr("::1", a->cfg.redirect_port, (struct sockaddr_in6 *)&ss);
	uv_tcp_init(a->loop, &a->redir[i]);
	a->redir[i].data = a;
	int rc = uv_tcp_bind(&a->redir[i], (struct sockaddr *)&ss, i ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&a->redir[i], 1024, on_redirected);
	if (rc < 0) {
		snprintf(err, cap, "listen on %s:%u: %s", i ? "[::1]" : "127.0.0.1", a->cfg.redirect_port,
			 uv_strerror(rc));
		uv_close((uv_handle_t *)&a->redir[i], NULL);
		return -1;
	}
	return 0;
}

int daemon_run(int ready_fd)
{
	struct agent *a = xcalloc(1, sizeof *a);
	char err[4400], pidpath[4200], basic[AGENT_TOKEN_MAX + 32];
	int rc = 1;
	a->kind = AGENT_KIND_AGENT;
	a->loop = uv_default_loop();
	/* a write to a connection its program closed is an error to handle,
	 * not a signal that ends every other connection with the daemon */
	signal(SIGPIPE, SIG_IGN);
	if (config_load(&a->cfg) < 0) {
		snprintf(err, sizeof err, "error: cannot read the configuration in %s: %s (run airlock-agent install)\n",
			 state_dir(), strerror(errno));
		ready(ready_fd, err);
		fputs(err, stderr);
		free(a);
		return 1;
	}
	int bl = snprintf(basic, sizeof basic, "airlock-agent:%s", a->cfg.token);
	memcpy(a->auth, "Basic ", 6);
	b64_encode((const uint8_t *)basic, (size_t)bl, a->auth + 6);
	wipe(basic, sizeof basic);
	wipe(a->cfg.token, sizeof a->cfg.token);
	a->pool = pool_new(POOL_BASE, POOL_SIZE);

	/* IPv4 must work; IPv6 loopback only where the sandbox has it */
	for (int i = 0; i < 2; i++) {
		char e[256];
		if (dnsstub_start(a, i, e, sizeof e) == 0 && listen_redirect(a, i, e, sizeof e) == 0) {
			a->have[i] = true;
			continue;
		}
		if (i == 1) {
			alog("info", "no IPv6 loopback: IPv4 only", "detail=\"%s\"", e);
			continue;
		}
		snprintf(err, sizeof err, "error: %s\n", e);
		ready(ready_fd, err);
		fputs(err, stderr);
		a->stopping = true;
		uv_walk(a->loop, on_walk, NULL);
		uv_run(a->loop, UV_RUN_DEFAULT);
		goto out;
	}
	tunnels_reload(a);
	int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < 3; i++) {
		uv_signal_init(a->loop, &a->sig[i]);
		a->sig[i].data = a;
		uv_signal_start(&a->sig[i], on_signal, sigs[i]);
	}
	char pid[32];
	int pl = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (file_write_atomic(state_path("agent.pid", pidpath, sizeof pidpath), pid, (size_t)pl, 0600) < 0) {
		snprintf(err, sizeof err, "error: cannot write %s: %s\n", pidpath, strerror(errno));
		ready(ready_fd, err);
		a->stopping = true;
		uv_walk(a->loop, on_walk, NULL);
		uv_run(a->loop, UV_RUN_DEFAULT);
		goto out;
	}
	alog("info", "airlock-agent running", "proxy=%s redirect_port=%u dns=127.0.0.1:53 ipv6=%s pid=%d", a->cfg.proxy,
	     a->cfg.redirect_port, a->have[1] ? "yes" : "no", (int)getpid());
	ready(ready_fd, "ok\n");
	uv_run(a->loop, UV_RUN_DEFAULT);
	unlink(pidpath);
	rc = 0;
out:
	uv_loop_close(a->loop);
	pool_free(a->pool);
	wipe(a, sizeof *a);
	free(a);
	return rc;
}
