/* airlock-broker's options, parsed with the one table of common/flags.c:
 * the broker checks the proxy flags too (a typo fails at start, not in the
 * enforcer's restart loop) and hands them to the enforcer as given, in the
 * order given. */
#include "config.h"

#include "broker/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileutil.h"
#include "common/flags.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"
#include "broker/store_pg.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: airlock-broker [options]\n");
	flag_help_print(out, FLAG_P_BROKER);
	fprintf(out, "  %-26s %s\n", "-h, --help", "this text");
	fprintf(out, "  %-26s %s\n", "--version", "print the version");
	fprintf(out, "\nThe default config file here is %s.\n", CONF_DEFAULT_PATH);
}

char *options_default_state_dir(void)
{
	return state_dir_default();
}

static void enforcer_arg(struct broker_config *cfg, const char *a)
{
	cfg->enforcer_argv = xrealloc(cfg->enforcer_argv, (cfg->enforcer_argc + 2) * sizeof(char *));
	cfg->enforcer_argv[cfg->enforcer_argc++] = xstrdup(a);
	cfg->enforcer_argv[cfg->enforcer_argc] = NULL;
}

static void config_from_flags(struct broker_config *cfg, const struct flagset *fs)
{
	const struct flag_value *v = fs->v;
	char canon[AL_HOST_BUF];
	enum host_kind kind;

	cfg->state_dir = v[FLAG_STATE_DIR].n ? xstrdup(v[FLAG_STATE_DIR].str) : state_dir_default();
	/* systemd's RuntimeDirectory= says where sockets go; else beside the state */
	const char *rt = getenv("RUNTIME_DIRECTORY");
	if (v[FLAG_RUN_DIR].n)
		cfg->run_dir = xstrdup(v[FLAG_RUN_DIR].str);
	else if (rt && rt[0] == '/' && !strchr(rt, ':'))
		cfg->run_dir = xstrdup(rt);
	else
		cfg->run_dir = xstrdup(cfg->state_dir);
	if (v[FLAG_LOG_FILE].n)
		cfg->log_file = xstrdup(v[FLAG_LOG_FILE].str);
	cfg->drain_timeout_ms = (uint64_t)v[FLAG_DRAIN_TIMEOUT].num;
	if (v[FLAG_SEAL_KEY_FILE].n)
		cfg->seal_key_file = xstrdup(v[FLAG_SEAL_KEY_FILE].str);
	cfg->keyring = v[FLAG_KEYRING].n > 0;
	/* the proxy URLs show the address in its canonical spelling */
	const char *bind = flagset_str(fs, FLAG_BIND);
	cfg->bind = xstrdup(host_canon(bind, strlen(bind), canon, &kind) == 0 ? canon : bind);
	cfg->http_port = (uint16_t)v[FLAG_HTTP_PORT].num;
	cfg->https_port = (uint16_t)v[FLAG_HTTPS_PORT].num;
	cfg->mode = xstrdup(flagset_str(fs, FLAG_MODE));
	cfg->log_format = strcmp(flagset_str(fs, FLAG_LOG_FORMAT), "json") == 0 ? LOG_FMT_JSON : LOG_FMT_KV;
	if (v[FLAG_ENFORCER].n)
		cfg->enforcer_path = xstrdup(v[FLAG_ENFORCER].str);
	cfg->no_enforcer = v[FLAG_NO_ENFORCER].n > 0;
	cfg->banner = v[FLAG_BANNER].n > 0;
	cfg->debug = v[FLAG_DEBUG].n > 0;
	if (v[FLAG_METRICS_LISTEN].n)
		cfg->metrics_listen = xstrdup(v[FLAG_METRICS_LISTEN].str);
	if (v[FLAG_STORE].n)
		cfg->store = xstrdup(v[FLAG_STORE].str);
	if (v[FLAG_UI_LISTEN].n)
		cfg->ui_listen = xstrdup(v[FLAG_UI_LISTEN].str);
	if (v[FLAG_APPROVAL_WEBHOOK].n)
		cfg->approval_webhook = xstrdup(v[FLAG_APPROVAL_WEBHOOK].str);
	if (v[FLAG_APPROVAL_WEBHOOK_KEY_FILE].n)
		cfg->approval_webhook_key_file = xstrdup(v[FLAG_APPROVAL_WEBHOOK_KEY_FILE].str);
	for (size_t i = 0; i < fs->nuses; i++) {
		const struct flag_use *u = &fs->uses[i];
		if (!(flag_table[u->id].attrs & FLAG_A_PASS))
			continue;
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", flag_table[u->id].name);
		enforcer_arg(cfg, flag);
		if (u->value)
			enforcer_arg(cfg, u->value);
	}
}

/* The command line, then the config file it names (or the default one)
 * under it: fs gets the file's values with the command line's laid over. */
static int read_settings(int argc, char **argv, struct flagset *fs, char **conf_path, char *err,
			 size_t cap)
{
	struct flagset av;
	int ret;

	flagset_init(&av, FLAG_P_BROKER);
	ret = flagset_parse_argv(&av, argc, argv, err, cap);
	/* a password on a command line is seen by every local user (ps,
	 * /proc/PID/cmdline): only the config file or PGPASSFILE may hold one */
	if (ret == 0 && av.v[FLAG_STORE].n && store_pg_uri_check(av.v[FLAG_STORE].str, err, cap) < 0)
		ret = AL_EPERM;
	if (ret == 0) {
		const char *path = flagset_config_path(&av);
		*conf_path = path ? xstrdup(path) : NULL;
		if (path)
			ret = flagset_load_file(fs, path, err, cap);
		if (ret == 0)
			ret = flagset_overlay(fs, &av, err, cap);
	}
	flagset_free(&av);
	return ret;
}

int options_parse(int argc, char **argv, struct broker_config *cfg)
{
	struct flagset fs;
	char err[512];
	char *conf = NULL;
	int ret;

	memset(cfg, 0, sizeof *cfg);
	flagset_init(&fs, FLAG_P_BROKER);
	ret = read_settings(argc, argv, &fs, &conf, err, sizeof err);
	if (ret == FLAGS_HELP) {
		usage(stdout);
		ret = 1;
	} else if (ret == FLAGS_VERSION) {
		printf("airlock-broker %s\n", PACKAGE_VERSION);
		ret = 1;
	} else if (ret < 0) {
		fprintf(stderr, "airlock-broker: %s%s\n", err, conf ? "" : " (see --help)");
	} else if (fs.v[FLAG_KEYRING].n && fs.v[FLAG_SEAL_KEY_FILE].n) {
		fprintf(stderr, "airlock-broker: --keyring and --seal-key-file exclude each other\n");
		ret = AL_EINVAL;
	} else if (fs.v[FLAG_STORE].n && store_pg_uri_check(fs.v[FLAG_STORE].str, err, sizeof err) == AL_EINVAL) {
		fprintf(stderr, "airlock-broker: --store: %s\n", err);
		ret = AL_EINVAL;
	} else if (fs.v[FLAG_PRINT_CONFIG].n) {
		flagset_print(stdout, &fs, conf);
		ret = 1;
	} else {
		config_from_flags(cfg, &fs);
		cfg->config_path = conf;
		conf = NULL;
	}
	free(conf);
	flagset_free(&fs);
	return ret;
}

void options_free(struct broker_config *cfg)
{
	free(cfg->state_dir);
	free(cfg->run_dir);
	free(cfg->log_file);
	free(cfg->config_path);
	free(cfg->seal_key_file);
	free(cfg->bind);
	free(cfg->mode);
	free(cfg->enforcer_path);
	free(cfg->metrics_listen);
	if (cfg->store)
		secure_free_str(cfg->store);
	free(cfg->ui_listen);
	free(cfg->approval_webhook);
	free(cfg->approval_webhook_key_file);
	for (size_t i = 0; i < cfg->enforcer_argc; i++)
		free(cfg->enforcer_argv[i]);
	free(cfg->enforcer_argv);
	memset(cfg, 0, sizeof *cfg);
}
