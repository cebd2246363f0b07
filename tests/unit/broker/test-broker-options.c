/* broker/options.c: each row of the option table, the proxy flags passed to
 * the enforcer as given, and every refusal (exit 2 material). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/options.h"
#include "tests/unit/unit.h"

#define MAXARGS 16

struct opt_case {
	const char *argv[MAXARGS]; /* after argv[0], NULL-terminated */
	int want;                  /* 0 ok, 1 handled (--help), <0 refused */
	const char *enforcer;      /* expected enforcer argv joined with ' ' (ok rows) */
};

static const struct opt_case cases[] = {
	{ { NULL }, 0, "" },
	{ { "--state-dir", "/tmp/x", "--no-enforcer", NULL }, 0, "" },
	{ { "--bind", "::1", "--http-port", "8080", NULL }, 0, "--bind ::1 --http-port 8080" },
	{ { "--mode", "audit", "--deny-cidr", "10.0.0.0/8", "--deny-cidr", "fd00::/8", NULL }, 0,
	  "--mode audit --deny-cidr 10.0.0.0/8 --deny-cidr fd00::/8" },
	{ { "--resolve", "a.example:443:127.0.0.1", "--resolve", "b.example:80:[::1]", NULL }, 0,
	  "--resolve a.example:443:127.0.0.1 --resolve b.example:80:[::1]" },
	{ { "--san", "proxy.local", "--log-format", "json", "--banner", NULL }, 0,
	  "--san proxy.local --log-format json" },
	{ { "--max-conns", "100", "--head-timeout", "500ms", "--workers", "2", NULL }, 0,
	  "--max-conns 100 --head-timeout 500ms --workers 2" },
	{ { "--seal-key-file", "/k", "--enforcer", "/bin/true", NULL }, 0, "" },
	{ { "--help", NULL }, 1, NULL },
	/* refusals */
	{ { "--bind", "example.com", NULL }, -1, NULL },
	{ { "--bind", "1.2.3", NULL }, -1, NULL },
	{ { "--http-port", "0", NULL }, -1, NULL },
	{ { "--https-port", "70000", NULL }, -1, NULL },
	{ { "--http-port", "08", NULL }, -1, NULL },
	{ { "--mode", "loose", NULL }, -1, NULL },
	{ { "--deny-cidr", "10.0.0.1/8", NULL }, -1, NULL },
	{ { "--san", "bad host!", NULL }, -1, NULL },
	{ { "--resolve", "a.example:443", NULL }, -1, NULL },
	{ { "--resolve", "a.example:0:127.0.0.1", NULL }, -1, NULL },
	{ { "--resolve", "a.example:443:nope", NULL }, -1, NULL },
	{ { "--log-format", "xml", NULL }, -1, NULL },
	{ { "--upstream-ca", "/nonexistent/ca.pem", NULL }, -1, NULL },
	{ { "--max-conns", "lots", NULL }, -1, NULL },
	{ { "--keyring", "--seal-key-file", "/k", NULL }, -1, NULL },
	{ { "--bogus", NULL }, -1, NULL },
	{ { "--state-dir", NULL }, -1, NULL },
	{ { "stray", NULL }, -1, NULL },
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct opt_case *c = &cases[i];
		char *argv[MAXARGS + 1];
		int argc = 0;
		struct broker_config cfg;

		argv[argc++] = (char *)"airlock-broker";
		for (size_t j = 0; c->argv[j]; j++)
			argv[argc++] = (char *)c->argv[j];
		argv[argc] = NULL;
		FILE *saved = stdout;
		stdout = fopen("/dev/null", "w"); /* --help text */
		int ret = options_parse(argc, argv, &cfg);
		fclose(stdout);
		stdout = saved;
		CHECK(c->want < 0 ? ret < 0 : ret == c->want, "row %zu (%s): got %d", i,
		      c->argv[0] ? c->argv[0] : "none", ret);
		if (ret == 0 && c->enforcer) {
			char joined[512] = "";
			for (size_t k = 0; k < cfg.enforcer_argc; k++) {
				if (k)
					strcat(joined, " ");
				strcat(joined, cfg.enforcer_argv[k]);
			}
			CHECK_STR(joined, c->enforcer, c->argv[0] ? c->argv[0] : "none");
			CHECK(cfg.state_dir != NULL, "row %zu: a state dir by default", i);
		}
		options_free(&cfg);
	}

	/* the default state dir follows the environment */
	setenv("AIRLOCK_STATE_DIR", "/s", 1);
	char *d = options_default_state_dir();
	CHECK_STR(d, "/s", "AIRLOCK_STATE_DIR");
	free(d);
	unsetenv("AIRLOCK_STATE_DIR");
	setenv("XDG_STATE_HOME", "/x", 1);
	d = options_default_state_dir();
	CHECK_STR(d, "/x/airlock", "XDG_STATE_HOME");
	free(d);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/h", 1);
	d = options_default_state_dir();
	CHECK_STR(d, "/h/.local/state/airlock", "HOME");
	free(d);
	return unit_finish("test-broker-options");
}
