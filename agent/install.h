/* airlock-agent install / uninstall and the daemon's start and stop
 * (install.c). Return exit statuses: 0 done, 1 failed, 2 usage. */
#ifndef AIRLOCK_AGENT_INSTALL_H
#define AIRLOCK_AGENT_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct install_opts {
	const char *proxy;          /* ADDR[:PORT] */
	const char *token;
	const char *ca;             /* PEM file or NULL */
	const char *log;            /* the daemon's log file, or NULL: agent.log in the state dir */
	uint16_t redirect_port;     /* 0: the default */
	bool no_daemon;             /* a supervisor runs `airlock-agent run` */
};

int agent_install(const struct install_opts *o);
int agent_uninstall(void);

/* The running daemon's pid (from the pid file, checked in /proc), or 0. */
pid_t daemon_pid(void);
/* Start it detached (double fork, log in the state dir) and wait until it
 * says it is serving; -1 with the reason in err. */
int daemon_start(const char *log, char *err, size_t cap);
/* SIGTERM, wait up to 5 s, then SIGKILL. */
int daemon_stop(void);

#endif
