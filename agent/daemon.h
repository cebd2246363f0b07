/* The agent's daemon: one libuv loop serving the DNS stub (dnsstub.c), the
 * listener that redirected connections arrive at and the tunnels'
 * listeners, each connection relayed to airlock as a CONNECT (relay.c).
 * SIGHUP reloads the tunnels; SIGTERM and SIGINT stop it. */
#ifndef AIRLOCK_AGENT_DAEMON_H
#define AIRLOCK_AGENT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "agent/state.h"

#define AGENT_CONNS_MAX 4096          /* relayed connections at once; past it, new ones are closed */
#define AGENT_DNS_TCP_MAX 64          /* DNS-over-TCP connections at once */

struct pool;

/* The first field of every struct a handle's data points at: at stop, each
 * handle is closed by its owner's own code (nothing leaks, nothing is
 * closed twice). */
enum { AGENT_KIND_AGENT = 1, AGENT_KIND_TUNNEL, AGENT_KIND_RELAY, AGENT_KIND_DNS };

struct tlistener {
	int kind;
	struct tunnel_def def;
	uv_tcp_t tcp;
	bool open;
	struct agent *a;
};

struct agent {
	int kind;
	uv_loop_t *loop;
	struct agent_config cfg;
	char auth[8 + ((AGENT_TOKEN_MAX + 16) / 3 + 1) * 4 + 1];   /* "Basic " + base64(agent:TOKEN) */
	struct pool *pool;
	uv_udp_t dns_udp[2];
	uv_tcp_t dns_tcp[2];
	uv_tcp_t redir[2];
	bool have[2];                 /* [0] IPv4 (127.0.0.1), [1] IPv6 (::1) */
	struct tlistener *tun[AGENT_TUNNELS_MAX];
	size_t ntun;
	uv_signal_t sig[3];
	size_t nconns, ndns_tcp;
	bool stopping;
};

/* Bind everything, report readiness on ready_fd ("ok\n", or "error: ...\n"
 * and exit status 1) when it is not -1, write the pid file, serve until
 * stopped. Returns the exit status. */
int daemon_run(int ready_fd);

/* relay.c */
void relay_redirected(struct agent *a, uv_stream_t *server);
void relay_tunnel(struct agent *a, struct tlistener *t);
void relay_abort(void *relay);
/* dnsstub.c */
int dnsstub_start(struct agent *a, int fam, char *err, size_t cap);
void dnsstub_abort(void *dconn);
int dnsstub_lookup(void *arg, const char *name, uint8_t addr[4]);

#endif
