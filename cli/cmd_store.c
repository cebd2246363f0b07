/* `airlock store migrate --to URI` and `airlock store check`. migrate works
 * offline on a state dir (state.json, seal key, CA) and writes into an empty
 * fleet store with the broker's own store code (broker/store_pg.c), so the
 * rows are exactly those a broker would write; check asks the running
 * broker what it sees (GET /proxy/v1/status, its "store"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/state.h"
#include "broker/store_pg.h"
#include "cli/cli.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/seal.h"
#include "common/xmalloc.h"

static const char migrate_usage[] =
	"Usage: airlock store migrate --to URI [--state-dir DIR] [--seal-key-file F]\n"
	"\n"
	"Copy a single host's state (state.json: clients with their token hashes,\n"
	"rules, sealed secrets) and its CA (sealed) into an empty PostgreSQL fleet\n"
	"store, creating its schema. Run it with that host's airlock stopped; then\n"
	"start every host's broker with --store URI and the same seal key. Values\n"
	"stay sealed: the database never sees a plaintext value or the key. URI may\n"
	"not hold a password: libpq reads it from PGPASSFILE (~/.pgpass).\n"
	"  --to URI           postgres://... (a unix socket: postgres:///DB?host=/DIR)\n"
	"  --seal-key-file F  the seal key (default <state dir>/seal.key)\n"
	"Example:  airlock store migrate --to 'postgres:///airlock?host=/run/postgresql'\n";

static const char check_usage[] =
	"Usage: airlock store check [--json]\n"
	"\n"
	"What the running broker sees of its store: state.json (one host), or the\n"
	"fleet store's target, whether it is connected, its schema version, the\n"
	"store version the node holds and the store's, counts, the CA, leases\n"
	"held, and for how long it has been gone. Exits 1 when the store is gone.\n"
	"  --json             the API's answer as is\n";

static const char group_usage[] =
	"Usage: airlock store migrate --to URI | airlock store check [--json]\n"
	"\n"
	"The fleet store: several hosts' brokers sharing clients, rules, secrets and\n"
	"the CA through PostgreSQL (airlock-broker --store).\n";

enum { OPT_TO = OPT_FIRST_LOCAL, OPT_SEAL_KEY, OPT_JSON };

static int migrate_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "seal-key-file", required_argument, NULL, OPT_SEAL_KEY },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *to = NULL, *keyfile = NULL;
	int c, rc;
	char err[512];

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		if (c == OPT_TO)
			to = arg;
		else if (c == OPT_SEAL_KEY)
			keyfile = arg;
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;
	if (!to)
		return cli_usage(cli, "store migrate needs --to URI");
	if (strncmp(to, "postgres://", 11) != 0 && strncmp(to, "postgresql://", 13) != 0)
		return cli_usage(cli, "--to: a postgres:// or postgresql:// URI");
	if (store_pg_uri_check(to, err, sizeof err) < 0)
		return cli_usage(cli, "--to: %s", err);

	log_init("airlock", LOG_FMT_KV, LOG_LVL_WARN, stderr);
	const char *dir = cli_state_dir(cli);
	struct state st;
	struct seal_key key;
	struct store_pg *pg = NULL;
	json_t *cur = NULL;
	int64_t version = 0;
	bool stale = false;
	if ((rc = state_open(dir, &st, err, sizeof err)) < 0)
		return cli_fail("store migrate: %s", err);
	rc = CLI_EXIT_FAIL;
	if (json_int(st.doc, "format", 0) != STATE_FORMAT) {
		cli_fail("store migrate: %s is format %lld: start airlock once on it first (it "
			 "migrates the file), then stop it and migrate", st.path, json_int(st.doc, "format", 0));
		goto out_state;
	}
	char *kp = keyfile ? xstrdup(keyfile) : path_join(dir, SEAL_KEY_FILE_NAME);
	int ret = seal_key_load_file(kp, false, &key);
	if (ret < 0) {
		cli_fail("store migrate: seal key %s: %s", kp, airlock_strerror(ret));
		free(kp);
		goto out_state;
	}
	free(kp);
	const char *check = json_str(st.doc, "seal_check", NULL);
	if (check && seal_check_verify(&key, check) < 0) {
		cli_fail("store migrate: the seal key does not open %s's key check: wrong seal key?", st.path);
		goto out_key;
	}
	if (!check) {
		char *c2 = NULL;
		if (seal_check_make(&key, &c2) == 0) {
			json_object_set_new(st.doc, "seal_check", json_string(c2));
			free(c2);
		}
	}
	if (store_pg_open(to, "airlock-store-migrate", &pg, err, sizeof err) < 0) {
		cli_fail("store migrate: %s", err);
		goto out_pg;
	}
	json_t *desc = store_pg_describe(pg);
	bool empty = json_int(desc, "store_version", 0) == 0 && !json_is_true(json_object_get(desc, "ca_stored"));
	json_decref(desc);
	if (!empty) {
		cli_fail("store migrate: the store %s already holds a state or a CA: migrate into an "
			 "empty database only", store_pg_target(pg));
		goto out_pg;
	}
	if (store_pg_ca_sync(pg, &key, dir, err, sizeof err) < 0) {
		cli_fail("store migrate: %s", err);
		goto out_pg;
	}
	if (store_pg_load(pg, &cur, &version, err, sizeof err) < 0) {
		cli_fail("store migrate: %s", err);
		goto out_pg;
	}
	json_t *draft = json_deep_copy(st.doc);
	ret = store_pg_commit(pg, cur, draft, &version, &stale);
	if (ret < 0) {
		json_decref(draft);
		cli_fail("store migrate: writing into %s failed: %s (nothing was written)",
			 store_pg_target(pg), airlock_strerror(ret));
		goto out_pg;
	}
	printf("migrated %zu clients, %zu rules, %zu secrets and the CA from %s into %s (store "
	       "version %lld)\n", json_array_size(state_clients(draft)), json_array_size(state_rules(draft)),
	       json_array_size(state_secrets(draft)), st.path, store_pg_target(pg), (long long)version);
	json_decref(draft);
	rc = CLI_EXIT_OK;
out_pg:
	json_decref(cur);
	store_pg_close(pg);
out_key:
	seal_key_wipe(&key);
out_state:
	state_close(&st);
	return rc;
}

static int check_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	bool json = false;
	int c, rc;
	json_t *st = NULL;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_JSON)
			json = true;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;
	if ((rc = api_call(cli, "GET", "/proxy/v1/status", NULL, &st)) != 0)
		return rc;
	json_t *s = json_object_get(st, "store");
	bool up = !s || json_is_true(json_object_get(s, "connected"));
	if (json) {
		json_t *one = s ? json_incref(s) : json_pack("{s:s}", "kind", "state.json");
		cli_print_json(one);
		json_decref(one);
	} else if (!s) {
		printf("store: state.json (this host only)\n");
	} else {
		json_t *n = json_object_get(s, "counts");
		printf("store: postgresql %s\n", json_str(s, "target", "?"));
		printf("connected: %s\n", up ? "yes" : "no");
		if (!up)
			printf("down_for: %llds\nerror: %s\n", json_int(s, "down_seconds", 0),
			       json_str(s, "error", "?"));
		printf("schema_version: %lld (this airlock: %lld)\n", json_int(s, "schema_version", 0),
		       json_int(s, "schema_supported", 0));
		printf("store_version: %lld (held here: %lld)\n", json_int(s, "store_version", 0),
		       json_int(s, "store_version_held", 0));
		printf("policy_version: %lld\n", json_int(st, "policy_version", 0));
		if (n)
			printf("clients: %lld\nrules: %lld\nsecrets: %lld\n", json_int(n, "clients", 0),
			       json_int(n, "rules", 0), json_int(n, "secrets", 0));
		printf("ca_stored: %s\nleases_held: %lld\nreloads: %lld (full: %lld)\nreconnects: %lld\n",
		       json_is_true(json_object_get(s, "ca_stored")) ? "yes" : "no",
		       json_int(s, "leases_held", 0), json_int(s, "reloads", 0),
		       json_int(s, "full_reloads", 0), json_int(s, "reconnects", 0));
	}
	json_decref(st);
	return up ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static const struct cli_cmd store_cmds[] = {
	{ .name = "migrate", .run = migrate_run, .summary = "copy state.json and the CA into an empty fleet store",
	  .usage = migrate_usage },
	{ .name = "check", .run = check_run, .summary = "what the running broker sees of its store",
	  .usage = check_usage },
};

const struct cli_cmd cmd_store = {
	.name = "store",
	.summary = "the fleet store in PostgreSQL: migrate a host into it, check it",
	.usage = group_usage,
	.subs = store_cmds,
	.nsubs = ARRAY_SIZE(store_cmds),
};
