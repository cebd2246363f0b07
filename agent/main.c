/* airlock-agent: inside a sandbox, send the programs' traffic through
 * airlock when they do not honour HTTP(S)_PROXY. Commands: install,
 * uninstall, run, status, tunnel add|list|remove (docs/airlock-agent.8).
 * This file only reads the command line and wires the commands. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/daemon.h"
#include "agent/install.h"
#include "agent/state.h"
#include "agent/util.h"

static const char usage_text[] =
	"Usage: airlock-agent [--state-dir DIR] COMMAND ...\n"
	"\n"
	"Inside a sandbox, as root: send every program's TCP through airlock, with\n"
	"no proxy variables. Outgoing TCP is redirected (nftables) to the agent,\n"
	"which opens a CONNECT to airlock with the client's token for each\n"
	"connection; DNS is answered locally with stand-in addresses (198.18.0.0/15)\n"
	"and never forwarded; other UDP is dropped.\n"
	"\n"
	"  install PROXY --token T [--ca FILE] [--redirect-port N] [--log FILE]\n"
	"          [--no-daemon]\n"
	"        PROXY is airlock's plain listener, ADDR[:PORT] (3128 by default);\n"
	"        --token - reads the token from standard input; --ca adds airlock's\n"
	"        CA to the system store (update-ca-certificates). Starts the daemon\n"
	"        (pid file in the state dir; log there too unless --log FILE) unless\n"
	"        --no-daemon. Run again, it replaces the earlier install.\n"
	"  uninstall        undo all of it: rules, route, resolv.conf, CA, daemon\n"
	"  run              the daemon in the foreground (for a supervisor)\n"
	"  status           installed? running? (exit 1 when not running)\n"
	"  tunnel add NAME --listen ADDR:PORT HOST:PORT\n"
	"                   a local port forwarded to HOST:PORT through airlock\n"
	"                   (a passthrough rule), e.g. --listen 127.0.0.1:5432\n"
	"  tunnel list | tunnel remove NAME\n"
	"\n"
	"  --state-dir DIR  default /run/airlock-agent, or $AIRLOCK_AGENT_STATE_DIR\n"
	"Exit status: 0 done, 1 failed, 2 usage error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "airlock-agent: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (airlock-agent --help)\n");
	return 2;
}

static bool token_ok(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > AGENT_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;
	return true;
}

static int need_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "airlock-agent: needs root (nftables, port 53, the system's resolv.conf)\n");
		return 1;
	}
	return 0;
}

enum { O_TOKEN = 1000, O_CA, O_REDIRECT_PORT, O_NO_DAEMON, O_LISTEN, O_HELP, O_LOG, O_VERSION };

static int cmd_install(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, O_TOKEN },
		{ "ca", required_argument, NULL, O_CA },
		{ "redirect-port", required_argument, NULL, O_REDIRECT_PORT },
		{ "no-daemon", no_argument, NULL, O_NO_DAEMON },
		{ "log", required_argument, NULL, O_LOG },
		{ NULL, 0, NULL, 0 },
	};
	struct install_opts o = { 0 };
	char tok[AGENT_TOKEN_MAX + 3];
	int c, rc;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_TOKEN:
			o.token = optarg;
			break;
		case O_CA:
			o.ca = optarg;
			break;
		case O_REDIRECT_PORT: {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*end || p < 1 || p > 65535 || p == 53)
				return usage_error("bad --redirect-port '%s'", optarg);
			o.redirect_port = (uint16_t)p;
			break;
		}
		case O_NO_DAEMON:
			o.no_daemon = true;
			break;
		case O_LOG:
			o.log = optarg;
			break;
		default:
			return usage_error("install: unknown option");
		}
	}
	if (optind + 1 != argc)
		return usage_error("install needs one PROXY address%s", optind < argc ? " and nothing else" : "");
	o.proxy = argv[optind];
	if (!o.token)
		return usage_error("install: --token is required");
	if (strcmp(o.token, "-") == 0) {
		if (!fgets(tok, sizeof tok, stdin))
			return usage_error("--token -: nothing on standard input");
		tok[strcspn(tok, "\r\n")] = '\0';
		o.token = tok;
	}
	/* never echo the token: it is a credential */
	if (!token_ok(o.token))
		return usage_error("--token: 1 to 128 printable characters, no spaces");
	if ((rc = need_root()) != 0)
		return rc;
	rc = agent_install(&o);
	wipe(tok, sizeof tok);
	return rc;
}

/* Poll a listen address until it accepts (want) or refuses (!want). */
static bool wait_listen(const char *listen, bool want)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (!addr_parse(listen, 0, &ss, &len))
		return false;
	for (int i = 0; i < 250; i++) {
		int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool up = s >= 0 && connect(s, (struct sockaddr *)&ss, len) == 0;
		if (s >= 0)
			close(s);
		if (up == want)
			return true;
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

static int tunnel_add(int argc, char **argv)
{
	static const struct option opts[] = { { "listen", required_argument, NULL, O_LISTEN }, { NULL, 0, NULL, 0 } };
	const char *listen = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != O_LISTEN)
			return usage_error("tunnel add: unknown option");
		listen = optarg;
	}
	if (argc - optind != 2 || !listen)
		return usage_error("usage: tunnel add NAME --listen ADDR:PORT HOST:PORT");
	struct tunnel_def d, t[AGENT_TUNNELS_MAX];
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t n;
	memset(&d, 0, sizeof d);
	if (!tunnel_name_ok(argv[optind]))
		return usage_error("bad tunnel name '%s': 1 to 64 of A-Z a-z 0-9 . _ -", argv[optind]);
	if (!addr_parse(listen, 0, &ss, &sl))
		return usage_error("bad --listen '%s': ADDR:PORT, an IPv6 address in brackets", listen);
	if (!target_parse(argv[optind + 1], d.host, &d.port))
		return usage_error("bad target '%s': HOST:PORT", argv[optind + 1]);
	snprintf(d.name, sizeof d.name, "%s", argv[optind]);
	addr_str((struct sockaddr *)&ss, true, d.listen, sizeof d.listen);
	struct agent_config cfg;
	if (config_load(&cfg) < 0) {
		fprintf(stderr, "airlock-agent: not installed (%s): run airlock-agent install first\n", strerror(errno));
		return 1;
	}
	wipe(&cfg, sizeof cfg);
	if (tunnels_load(t, &n) < 0) {
		fprintf(stderr, "airlock-agent: %s/tunnels is damaged: %s\n", state_dir(), strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, d.name) == 0) {
			if (memcmp(&t[i], &d, sizeof d) == 0)
				return 0;   /* already there, the same */
			fprintf(stderr, "airlock-agent: a tunnel named %s exists (tunnel remove it first)\n", d.name);
			return 1;
		}
		if (strcmp(t[i].listen, d.listen) == 0) {
			fprintf(stderr, "airlock-agent: tunnel %s already listens on %s\n", t[i].name, d.listen);
			return 1;
		}
	}
	if (n == AGENT_TUNNELS_MAX) {
		fprintf(stderr, "airlock-agent: at most %d tunnels\n", AGENT_TUNNELS_MAX);
		return 1;
	}
	/* the port must be free before it is promised */
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s < 0 || bind(s, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "airlock-agent: cannot listen on %s: %s\n", d.listen, strerror(errno));
		if (s >= 0)
			close(s);
		return 1;
	}
	close(s);
	t[n++] = d;
	if (tunnels_save(t, n) < 0) {
		fprintf(stderr, "airlock-agent: cannot write %s/tunnels: %s\n", state_dir(), strerror(errno));
		return 1;
	}
	pid_t pid = daemon_pid();
	if (pid == 0) {
		printf("airlock-agent: tunnel %s saved; the daemon is not running: it opens when it starts\n", d.name);
		return 0;
	}
	kill(pid, SIGHUP);
	if (!wait_listen(d.listen, true)) {
		fprintf(stderr, "airlock-agent: the daemon did not open %s (see %s/agent.log)\n", d.listen, state_dir());
		return 1;
	}
	printf("airlock-agent: tunnel %s: %s -> %s:%u\n", d.name, d.listen, d.host, d.port);
	return 0;
}

static int tunnel_list(void)
{
	struct tunnel_def t[AGENT_TUNNELS_MAX];
	size_t n;
	if (tunnels_load(t, &n) < 0) {
		fprintf(stderr, "airlock-agent: %s/tunnels: %s\n", state_dir(), strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf(strchr(t[i].host, ':') ? "%s %s [%s]:%u\n" : "%s %s %s:%u\n", t[i].name, t[i].listen, t[i].host,
		       t[i].port);
	return 0;
}

static int tunnel_remove(const char *name)
{
	struct tunnel_def t[AGENT_TUNNELS_MAX];
	size_t n;
	if (tunnels_load(t, &n) < 0) {
		fprintf(stderr, "airlock-agent: %s/tunnels: %s\n", state_dir(), strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name) != 0)
			continue;
		char listen[64];
		snprintf(listen, sizeof listen, "%s", t[i].listen);
		t[i] = t[--n];
		if (tunnels_save(t, n) < 0) {
			fprintf(stderr, "airlock-agent: cannot write %s/tunnels: %s\n", state_dir(), strerror(errno));
			return 1;
		}
		pid_t pid = daemon_pid();
		if (pid) {
			kill(pid, SIGHUP);
			if (!wait_listen(listen, false)) {
				fprintf(stderr, "airlock-agent: %s still accepts connections\n", listen);
				return 1;
			}
		}
		return 0;
	}
	fprintf(stderr, "airlock-agent: no tunnel named %s\n", name);
	return 1;
}

static int cmd_status(void)
{
	struct agent_config c;
	struct tunnel_def t[AGENT_TUNNELS_MAX];
	size_t n = 0;
	if (config_load(&c) < 0) {
		printf("installed: no\n");
		return 1;
	}
	pid_t pid = daemon_pid();
	(void)tunnels_load(t, &n);
	printf("installed: yes\nproxy: %s\nredirect_port: %u\ndaemon: %s", c.proxy, c.redirect_port,
	       pid ? "running, pid " : "not running");
	if (pid)
		printf("%d", (int)pid);
	printf("\ntunnels: %zu\n", n);
	wipe(&c, sizeof c);
	return pid ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option gopts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	const char *env = getenv("AIRLOCK_AGENT_STATE_DIR");
	if (env && *env)
		state_dir_set(env);
	while ((c = getopt_long(argc, argv, "+h", gopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (optarg[0] != '/')
				return usage_error("--state-dir must be absolute: '%s'", optarg);
			state_dir_set(optarg);
			break;
		case 'h':
		case O_HELP:
			fputs(usage_text, stdout);
			return 0;
		case O_VERSION:
			printf("airlock-agent %s\n", PACKAGE_VERSION);
			return 0;
		default:
			return usage_error("unknown option");
		}
	}
	if (optind >= argc)
		return usage_error("a command is needed");
	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0;   /* glibc: start over on the command's own arguments */
	if (strcmp(cmd, "install") == 0)
		return cmd_install(sub_argc, sub_argv);
	if (sub_argc > 1 && (strcmp(sub_argv[1], "--help") == 0 || strcmp(sub_argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "uninstall") == 0) {
		if (sub_argc != 1)
			return usage_error("uninstall takes no arguments");
		return need_root() ? 1 : agent_uninstall();
	}
	if (strcmp(cmd, "run") == 0) {
		if (sub_argc != 1)
			return usage_error("run takes no arguments");
		return daemon_run(-1);
	}
	if (strcmp(cmd, "status") == 0)
		return sub_argc == 1 ? cmd_status() : usage_error("status takes no arguments");
	if (strcmp(cmd, "tunnel") == 0) {
		if (sub_argc < 2)
			return usage_error("tunnel add|list|remove");
		const char *sub = sub_argv[1];
		if (strcmp(sub, "add") == 0)
			return tunnel_add(sub_argc - 1, sub_argv + 1);
		if (strcmp(sub, "list") == 0)
			return sub_argc == 2 ? tunnel_list() : usage_error("tunnel list takes no arguments");
		if (strcmp(sub, "remove") == 0)
			return sub_argc == 3 ? tunnel_remove(sub_argv[2]) : usage_error("usage: tunnel remove NAME");
		return usage_error("unknown tunnel command '%s'", sub);
	}
	return usage_error("unknown command '%s'", cmd);
}
