/* airlock-broker: the control plane. main() only hardens the process,
 * parses the options and runs the broker on one libuv loop; everything
 * else lives in libbroker.a (broker.c wires it). */
#include "config.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <uv.h>

#include "broker/broker.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* Libraries free buffers that held secrets without wiping them: GnuTLS's
 * record buffers under libcurl's OAuth refresh hold the provider's answer
 * (new tokens). Our own buffers are wiped where they are freed; for theirs,
 * every block freed in this process is overwritten: glibc's M_PERTURB, and
 * in a sanitizer build (whose allocator ignores mallopt) ASan's free fill.
 * The broker is off the request path, so the memset per free is cheap. */
#define FREE_FILL_BYTE 0xa5
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "max_free_fill_size=2147483647:free_fill_byte=165";
}
#endif

int main(int argc, char **argv)
{
	struct broker b;
	char err[512] = "";
	struct rlimit nocore = { 0, 0 };
	int ret;

	/* secrets live in this process: no core dumps, no ptrace by others */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	mallopt(M_PERTURB, FREE_FILL_BYTE);
	setrlimit(RLIMIT_CORE, &nocore);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	/* a reload asked before the loop handles it (broker.c) is not a stop */
	signal(SIGHUP, SIG_IGN);
	json_wipe_on_free();

	memset(&b, 0, sizeof b);
	b.argc = argc;
	b.argv = argv;
	ret = options_parse(argc, argv, &b.cfg);
	if (ret != 0) {
		options_free(&b.cfg);
		return ret > 0 ? 0 : 2;
	}
	log_init("airlock-broker", b.cfg.log_format, b.cfg.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO,
		 stderr);
	b.tty_fd = -1;
	if (b.cfg.log_file) {
		/* a start that fails is still said where the operator looks */
		b.tty_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if ((ret = log_file_open(b.cfg.log_file)) < 0) {
			fprintf(stderr, "airlock-broker: cannot open the log file %s: %s\n", b.cfg.log_file,
				airlock_strerror(ret));
			options_free(&b.cfg);
			return 1;
		}
	}

	uv_loop_t *loop = uv_default_loop();
	ret = broker_start(&b, loop, err, sizeof err);
	if (ret < 0) {
		log_error("cannot start", KV_S("reason", err));
		dprintf(b.tty_fd > 2 ? b.tty_fd : 2, "airlock-broker: %s\n", err);
		broker_stop(&b);
		uv_run(loop, UV_RUN_DEFAULT);
		broker_free(&b);
		uv_loop_close(loop);
		return 1;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	log_info("stopped");
	broker_free(&b);
	uv_loop_close(loop);
	return b.exit_code;
}
