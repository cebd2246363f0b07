/* The fleet store on libpq: schema and its migrations, reading the whole
 * state, committing the rows a draft changed (serialised on the meta row,
 * then NOTIFY), the sealed CA, and the per-secret refresh lease. */
#include "config.h"

#include "broker/store_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/state.h"
#include "broker/store_pg_int.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* Bounds on how long one call may block the broker's loop. */
#define STORE_CONNECT_TIMEOUT_S "3"
#define STORE_STATEMENT_TIMEOUT "-c statement_timeout=5000"
/* Serialises schema migrations of brokers that start together. */
#define STORE_MIGRATE_LOCK "7264091"


static void drain(struct store_pg *s)
{
	PGnotify *n;
	bool any = false;
	while ((n = PQnotifies(s->conn)) != NULL) {
		long long v = strtoll(n->extra ? n->extra : "0", NULL, 10);
		if (v > s->notified)
			s->notified = v;
		any = true;
		PQfreemem(n);
	}
	if (any && s->on_notify)
		s->on_notify(s->notify_arg);
}

/* Every query goes through here, so that no NOTIFY stays unseen. */
PGresult *spg_ex(struct store_pg *s, const char *sql)
{
	PGresult *r = PQexec(s->conn, sql);
	drain(s);
	return r;
}

/* Each step takes the schema from version i to i + 1. */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE airlock_meta ("
	" id integer PRIMARY KEY CHECK (id = 1),"
	" store_version bigint NOT NULL,"
	" next_id bigint NOT NULL,"
	" format integer NOT NULL,"
	" seal_check text);"
	"INSERT INTO airlock_meta VALUES (1, 0, 1, 2, NULL);"
	"CREATE TABLE airlock_clients ("
	" name text PRIMARY KEY,"
	" token_sha256 text NOT NULL UNIQUE,"
	" ord bigserial,"
	" rec json NOT NULL);"
	"CREATE TABLE airlock_rules ("
	" id bigint PRIMARY KEY,"
	" client text NOT NULL REFERENCES airlock_clients(name) ON DELETE CASCADE,"
	" host text NOT NULL,"
	" expires_at bigint,"
	" rec json NOT NULL);"
	"CREATE INDEX airlock_rules_expiry ON airlock_rules (expires_at) WHERE expires_at IS NOT NULL;"
	"CREATE TABLE airlock_secrets ("
	" name text PRIMARY KEY,"
	" type text NOT NULL,"
	" host text NOT NULL,"
	" ord bigserial,"
	" rec json NOT NULL,"
	" lease_owner text,"
	" lease_until timestamptz,"
	" lease_gen bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE airlock_ca ("
	" id integer PRIMARY KEY CHECK (id = 1),"
	" cert_pem text NOT NULL,"
	" key_sealed text NOT NULL);",
	/* 2: every row carries the store version that wrote it, every delete
	 * leaves its key in airlock_deleted: a broker reads only what changed
	 * since the version it holds (store_pg_load_since). Triggers stamp
	 * them, so a statement that cascades (a client's rules) or a broker of
	 * an older build still connected during an upgrade leaves no change
	 * unstamped. Rows written before this migration carry the version it
	 * ran at, and deletions before it are unknown: deletions_from says so. */
	"ALTER TABLE airlock_meta ADD COLUMN deletions_from bigint NOT NULL DEFAULT 0;"
	"UPDATE airlock_meta SET deletions_from = store_version;"
	"ALTER TABLE airlock_clients ADD COLUMN version bigint NOT NULL DEFAULT 0;"
	"ALTER TABLE airlock_rules ADD COLUMN version bigint NOT NULL DEFAULT 0;"
	"ALTER TABLE airlock_secrets ADD COLUMN version bigint NOT NULL DEFAULT 0;"
	"UPDATE airlock_clients SET version = (SELECT store_version FROM airlock_meta);"
	"UPDATE airlock_rules SET version = (SELECT store_version FROM airlock_meta);"
	"UPDATE airlock_secrets SET version = (SELECT store_version FROM airlock_meta);"
	"CREATE INDEX airlock_clients_version ON airlock_clients (version);"
	"CREATE INDEX airlock_rules_version ON airlock_rules (version);"
	"CREATE INDEX airlock_secrets_version ON airlock_secrets (version);"
	"CREATE TABLE airlock_deleted ("
	" kind text NOT NULL,"
	" key text NOT NULL,"
	" version bigint NOT NULL,"
	" at timestamptz NOT NULL DEFAULT now());"
	"CREATE INDEX airlock_deleted_version ON airlock_deleted (version);"
	"CREATE INDEX airlock_deleted_at ON airlock_deleted (at);"
	/* a write holds the meta row and bumps it after its rows: the version
	 * it commits is the one read here plus one. A lease taken or given
	 * back changes no record and keeps the row's version. */
	"CREATE FUNCTION airlock_row_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" IF TG_OP = 'INSERT' OR NEW.rec::text IS DISTINCT FROM OLD.rec::text THEN"
	"  NEW.version := (SELECT store_version + 1 FROM airlock_meta);"
	" END IF;"
	" RETURN NEW; END $$;"
	"CREATE FUNCTION airlock_row_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO airlock_deleted (kind, key, version) VALUES (TG_ARGV[0],"
	"  to_jsonb(OLD) ->> TG_ARGV[1], (SELECT store_version + 1 FROM airlock_meta));"
	" RETURN OLD; END $$;"
	"CREATE TRIGGER airlock_clients_version BEFORE INSERT OR UPDATE ON airlock_clients"
	" FOR EACH ROW EXECUTE PROCEDURE airlock_row_version();"
	"CREATE TRIGGER airlock_rules_version BEFORE INSERT OR UPDATE ON airlock_rules"
	" FOR EACH ROW EXECUTE PROCEDURE airlock_row_version();"
	"CREATE TRIGGER airlock_secrets_version BEFORE INSERT OR UPDATE ON airlock_secrets"
	" FOR EACH ROW EXECUTE PROCEDURE airlock_row_version();"
	"CREATE TRIGGER airlock_clients_deleted AFTER DELETE ON airlock_clients"
	" FOR EACH ROW EXECUTE PROCEDURE airlock_row_deleted('clients', 'name');"
	"CREATE TRIGGER airlock_rules_deleted AFTER DELETE ON airlock_rules"
	" FOR EACH ROW EXECUTE PROCEDURE airlock_row_deleted('rules', 'id');"
	"CREATE TRIGGER airlock_secrets_deleted AFTER DELETE ON airlock_secrets"
	" FOR EACH ROW EXECUTE PROCEDURE airlock_row_deleted('secrets', 'name');",
};

int spg_exec_ok(struct store_pg *s, const char *sql, char *err, size_t errlen)
{
	PGresult *r = spg_ex(s, sql);
	int st = PQresultStatus(r);
	int ret = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : AL_EIO;
	if (ret < 0 && err)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ret;
}

PGresult *spg_q(struct store_pg *s, const char *sql, int n, const char *const *vals)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
	drain(s);
	return r;
}

bool spg_res_ok(PGresult *r)
{
	int st = PQresultStatus(r);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* A failed call on a connection that is gone is "unavailable"; anything
 * else the store refused. */
int spg_fail_code(struct store_pg *s)
{
	return PQstatus(s->conn) == CONNECTION_OK ? AL_EIO : AL_EUNAVAIL;
}

void spg_trim_nl(char *m)
{
	size_t n = strlen(m);
	while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
		m[--n] = '\0';
}

int store_pg_uri_check(const char *uri, char *err, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *o = PQconninfoParse(uri, &perr);
	if (!o) {
		/* libpq's message may quote the text: keep only its first words */
		snprintf(err, errlen, "the store is not a PostgreSQL URI or conninfo libpq can read");
		PQfreemem(perr);
		return AL_EINVAL;
	}
	int ret = 0;
	for (PQconninfoOption *p = o; p->keyword; p++)
		if (strcmp(p->keyword, "password") == 0 && p->val && p->val[0]) {
			snprintf(err, errlen, "the store's URI holds a password: give it in the config "
				 "file or in PGPASSFILE, never on the command line");
			ret = AL_EPERM;
		}
	PQconninfoFree(o);
	return ret;
}

static int schema_version(struct store_pg *s, int *v, char *err, size_t errlen)
{
	PGresult *r = spg_ex(s, "SELECT coalesce(max(version), 0) FROM airlock_schema");
	if (!spg_res_ok(r)) {
		snprintf(err, errlen, "cannot read the schema version: %s", PQresultErrorMessage(r));
		PQclear(r);
		return spg_fail_code(s);
	}
	*v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* Under an advisory lock: two brokers starting on an empty store migrate
 * it once. A newer schema than this build knows is refused. */
static int migrate(struct store_pg *s, char *err, size_t errlen)
{
	int v = 0, ret;
	if ((ret = spg_exec_ok(s, "SELECT pg_advisory_lock(" STORE_MIGRATE_LOCK ")", err, errlen)) < 0)
		return spg_fail_code(s);
	if ((ret = spg_exec_ok(s, "CREATE TABLE IF NOT EXISTS airlock_schema (version integer NOT NULL, "
			      "applied_at timestamptz NOT NULL DEFAULT now())", err, errlen)) < 0 ||
	    (ret = schema_version(s, &v, err, errlen)) < 0)
		goto out;
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "the store's schema is version %d, newer than this airlock's %d: "
			 "upgrade airlock on this host (refusing to serve)", v, STORE_SCHEMA_VERSION);
		ret = AL_ESTATE;
		goto out;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		char ins[96];
		snprintf(ins, sizeof ins, "INSERT INTO airlock_schema (version) VALUES (%d)", v + 1);
		if ((ret = spg_exec_ok(s, "BEGIN", err, errlen)) < 0 ||
		    (ret = spg_exec_ok(s, migrations[v], err, errlen)) < 0 ||
		    (ret = spg_exec_ok(s, ins, err, errlen)) < 0 ||
		    (ret = spg_exec_ok(s, "COMMIT", err, errlen)) < 0) {
			char m[200];
			snprintf(m, sizeof m, "%s", err);
			spg_trim_nl(m);
			snprintf(err, errlen, "schema migration to version %d failed: %s", v + 1, m);
			(void)spg_exec_ok(s, "ROLLBACK", NULL, 0);
			goto out;
		}
		log_info("store schema migrated", KV_I("to", v + 1));
	}
out:
	(void)spg_exec_ok(s, "SELECT pg_advisory_unlock(" STORE_MIGRATE_LOCK ")", NULL, 0);
	return ret;
}

/* The server's NOTICEs (CREATE ... IF NOT EXISTS) are not for the log. */
static void on_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* verify-ca or verify-full: libpq checked the server's certificate. */
static bool ssl_verified(PGconn *c)
{
	bool ok = false;
	PQconninfoOption *opts = PQconninfo(c);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "sslmode") == 0 && o->val)
			ok = strcmp(o->val, "verify-ca") == 0 || strcmp(o->val, "verify-full") == 0;
	PQconninfoFree(opts);
	return ok;
}

static const char *opt_or_env(const PQconninfoOption *o, const char *key, const char *env)
{
	for (; o->keyword; o++)
		if (strcmp(o->keyword, key) == 0 && o->val && o->val[0])
			return o->val;
	const char *e = getenv(env);
	return e && e[0] ? e : NULL;
}

/* Before any byte is sent (a password among them): a store over TCP must
 * be reached with sslmode=verify-ca or verify-full. A host list entry that
 * is not a path, or a hostaddr, is TCP. */
static int transport_check(const char *uri, char *err, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *o = PQconninfoParse(uri, &perr);
	if (!o) {
		PQfreemem(perr);
		snprintf(err, errlen, "the store is not a PostgreSQL URI or conninfo libpq can read");
		return AL_EINVAL;
	}
	const char *host = opt_or_env(o, "host", "PGHOST");
	const char *addr = opt_or_env(o, "hostaddr", "PGHOSTADDR");
	const char *mode = opt_or_env(o, "sslmode", "PGSSLMODE");
	bool tcp = addr != NULL;
	for (const char *h = host; h && *h && !tcp; h = strchr(h, ',') ? strchr(h, ',') + 1 : "")
		tcp = *h != '/' && *h != ',';
	bool verified = mode && (strcmp(mode, "verify-ca") == 0 || strcmp(mode, "verify-full") == 0);
	int ret = 0;
	if (tcp && !verified) {
		snprintf(err, errlen, "the store is reached over TCP without a verified TLS server "
			 "(sslmode=%.16s): use a unix socket or sslmode=verify-full (with sslrootcert)",
			 mode ? mode : "prefer");
		ret = AL_EPERM;
	}
	PQconninfoFree(o);
	return ret;
}

/* Over TCP, a store that vanished without closing the connection is
 * noticed within seconds, not at the kernel's retransmission limit. */
static const char *const conn_keys[] = { "connect_timeout", "options", "application_name",
					  "keepalives_idle", "keepalives_interval",
					  "keepalives_count", "tcp_user_timeout", "dbname", NULL };

static void conn_vals(const struct store_pg *s, const char *vals[9])
{
	const char *v[] = { STORE_CONNECT_TIMEOUT_S, STORE_STATEMENT_TIMEOUT, "airlock-broker", "5",
			    "2", "2", "8000", s->uri, NULL };
	memcpy(vals, v, sizeof v);
}

static void connect_error(struct store_pg *s, PGconn *c, char *err, size_t errlen)
{
	char m[256];
	snprintf(m, sizeof m, "%s", c ? PQerrorMessage(c) : "out of memory");
	spg_trim_nl(m);
	snprintf(err, errlen, "cannot connect to the store %s: %s", s->target, m);
}

/* A connection just made: its transport checked, the schema checked (or
 * created), LISTEN on. */
static int after_connect(struct store_pg *s, char *err, size_t errlen)
{
	int ret;
	PQsetNoticeProcessor(s->conn, on_notice, NULL);
	const char *host = PQhost(s->conn);
	snprintf(s->target, sizeof s->target, "%s%s%s/%s", host ? host : "?",
		 host && host[0] == '/' ? " port " : ":", PQport(s->conn), PQdb(s->conn));
	/* the store holds token hashes and sealed values: never over plain
	 * TCP, nor over TLS whose server nobody checked (sslmode=require
	 * encrypts to whoever answers) */
	if (!(host && host[0] == '/') && (!PQsslInUse(s->conn) || !ssl_verified(s->conn))) {
		snprintf(err, errlen, "the store %s is reached over TCP %s: use a unix socket or "
			 "sslmode=verify-full (with sslrootcert)", s->target,
			 PQsslInUse(s->conn) ? "with TLS that does not verify the server" : "without TLS");
		return AL_EPERM;
	}
	if ((ret = migrate(s, err, errlen)) < 0)
		return ret;
	if ((ret = spg_exec_ok(s, "LISTEN " STORE_CHANNEL, err, errlen)) < 0)
		return spg_fail_code(s);
	return 0;
}

static int connect_once(struct store_pg *s, char *err, size_t errlen)
{
	const char *vals[9];
	int ret;

	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	if ((ret = transport_check(s->uri, err, errlen)) < 0)
		return ret;
	conn_vals(s, vals);
	s->conn = PQconnectdbParams(conn_keys, vals, 1);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		connect_error(s, s->conn, err, errlen);
		return AL_EUNAVAIL;
	}
	return after_connect(s, err, errlen);
}

int store_pg_open(const char *uri, const char *node, struct store_pg **out, char *err,
		  size_t errlen)
{
	struct store_pg *s = xcalloc(1, sizeof *s);
	s->uri = xstrdup(uri);
	s->node = xstrdup(node);
	s->leases = json_object();
	snprintf(s->target, sizeof s->target, "(not connected)");
	*out = s;
	return connect_once(s, err, errlen);
}

/* Connecting again goes through PQconnectPoll so that a store that
 * does not answer never blocks the broker's loop (libpq's connect_timeout
 * is not applied in this mode: the caller's deadline is). The leases held
 * stay known across the lost session: a lease another node took meanwhile
 * has another generation, which fences this node's write; one nobody took
 * still lets this node commit the credential it refreshed before the store
 * went away. */
int store_pg_reconnect_start(struct store_pg *s, bool *want_write, char *err, size_t errlen)
{
	const char *vals[9];
	int ret;
	store_pg_reconnect_abort(s);
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	if ((ret = transport_check(s->uri, err, errlen)) < 0)
		return ret;
	conn_vals(s, vals);
	s->pending = PQconnectStartParams(conn_keys, vals, 1);
	if (!s->pending || PQstatus(s->pending) == CONNECTION_BAD) {
		connect_error(s, s->pending, err, errlen);
		store_pg_reconnect_abort(s);
		return AL_EUNAVAIL;
	}
	*want_write = true;   /* libpq: as if PQconnectPoll had said WRITING */
	return 0;
}

int store_pg_reconnect_step(struct store_pg *s, bool *want_write, char *err, size_t errlen)
{
	if (!s->pending) {
		snprintf(err, errlen, "no connection to the store in progress");
		return AL_EUNAVAIL;
	}
	switch (PQconnectPoll(s->pending)) {
	case PGRES_POLLING_READING:
		*want_write = false;
		return 0;
	case PGRES_POLLING_WRITING:
		*want_write = true;
		return 0;
	case PGRES_POLLING_OK:
		s->conn = s->pending;
		s->pending = NULL;
		if (after_connect(s, err, errlen) < 0) {
			PQfinish(s->conn);
			s->conn = NULL;
			return AL_EUNAVAIL;
		}
		return 1;
	default:
		connect_error(s, s->pending, err, errlen);
		store_pg_reconnect_abort(s);
		return AL_EUNAVAIL;
	}
}

int store_pg_pending_socket(const struct store_pg *s)
{
	return s->pending ? PQsocket(s->pending) : -1;
}

void store_pg_reconnect_abort(struct store_pg *s)
{
	if (s->pending)
		PQfinish(s->pending);
	s->pending = NULL;
}

void store_pg_close(struct store_pg *s)
{
	if (!s)
		return;
	store_pg_reconnect_abort(s);
	if (s->conn)
		PQfinish(s->conn);
	free(s->uri);
	free(s->node);
	json_decref(s->leases);
	free(s);
}

void store_pg_on_notify(struct store_pg *s, void (*cb)(void *arg), void *arg)
{
	s->on_notify = cb;
	s->notify_arg = arg;
}

bool store_pg_up(const struct store_pg *s)
{
	return s && s->conn && PQstatus(s->conn) == CONNECTION_OK;
}

int store_pg_socket(const struct store_pg *s)
{
	return store_pg_up(s) ? PQsocket(s->conn) : -1;
}

const char *store_pg_target(const struct store_pg *s)
{
	return s->target;
}

int store_pg_poll(struct store_pg *s, int64_t seen)
{
	int ret = 0;
	if (!store_pg_up(s))
		return AL_EUNAVAIL;
	if (!PQconsumeInput(s->conn) || PQstatus(s->conn) != CONNECTION_OK)
		return AL_EUNAVAIL;
	drain(s);
	if (s->notified > seen)
		ret = 1;
	return ret;
}

/* ---- reading ---- */

static int load_rows(struct store_pg *s, const char *sql, json_t *arr, char *err, size_t errlen)
{
	PGresult *r = spg_ex(s, sql);
	if (!spg_res_ok(r)) {
		snprintf(err, errlen, "cannot read the store: %s", PQresultErrorMessage(r));
		spg_trim_nl(err);
		PQclear(r);
		return spg_fail_code(s);
	}
	for (int i = 0; i < PQntuples(r); i++) {
		json_error_t je;
		json_t *v = json_loads(PQgetvalue(r, i, 0), JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(v)) {
			snprintf(err, errlen, "the store holds a record that is not a JSON object");
			json_decref(v);
			PQclear(r);
			return AL_EINVAL;
		}
		json_array_append_new(arr, v);
	}
	PQclear(r);
	return 0;
}

int store_pg_load(struct store_pg *s, json_t **doc, int64_t *version, char *err, size_t errlen)
{
	json_t *d = NULL;
	int ret;

	if (!store_pg_up(s)) {
		snprintf(err, errlen, "the store %s is not reachable", s->target);
		return AL_EUNAVAIL;
	}
	/* one snapshot of every table */
	if ((ret = spg_exec_ok(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)) < 0)
		return spg_fail_code(s);
	PGresult *r = spg_ex(s, "SELECT store_version, next_id, format, seal_check FROM airlock_meta");
	if (!spg_res_ok(r) || PQntuples(r) != 1) {
		snprintf(err, errlen, "cannot read the store's meta row: %s", PQresultErrorMessage(r));
		spg_trim_nl(err);
		ret = spg_res_ok(r) ? AL_EINVAL : spg_fail_code(s);
		PQclear(r);
		goto out;
	}
	*version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	d = json_pack("{s:i, s:I, s:[], s:[], s:[]}", "format", atoi(PQgetvalue(r, 0, 2)), "next_id",
		      (json_int_t)strtoll(PQgetvalue(r, 0, 1), NULL, 10), "clients", "rules", "secrets");
	if (!PQgetisnull(r, 0, 3))
		json_object_set_new(d, "seal_check", json_string(PQgetvalue(r, 0, 3)));
	PQclear(r);
	if ((ret = load_rows(s, "SELECT rec FROM airlock_clients ORDER BY ord", state_clients(d), err, errlen)) < 0 ||
	    (ret = load_rows(s, "SELECT rec FROM airlock_rules ORDER BY id", state_rules(d), err, errlen)) < 0 ||
	    (ret = load_rows(s, "SELECT rec FROM airlock_secrets ORDER BY ord", state_secrets(d), err, errlen)) < 0)
		goto out;
	ret = 0;
out:
	(void)spg_exec_ok(s, ret < 0 ? "ROLLBACK" : "COMMIT", NULL, 0);
	if (ret < 0) {
		json_decref(d);
		return ret;
	}
	*doc = d;
	return 0;
}

/* ---- committing ---- */

static json_t *by_key(const json_t *arr, const char *key)
{
	json_t *m = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char k[32];
		json_t *kv = json_object_get(v, key);
		if (json_is_integer(kv)) {
			snprintf(k, sizeof k, "%lld", (long long)json_integer_value(kv));
			json_object_set(m, k, v);
		} else {
			json_object_set(m, json_string_value(kv), v);
		}
	}
	return m;
}

static char *dump(const json_t *v)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!t)
		abort();
	return t;
}

/* One statement of a commit; the error is classified: a unique or foreign
 * key violation is a conflict with another broker's write. */
int spg_run(struct store_pg *s, const char *sql, int n, const char *const *vals, int *rows)
{
	PGresult *r = spg_q(s, sql, n, vals);
	int ret = 0;
	if (!spg_res_ok(r)) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		ret = state && strncmp(state, "23", 2) == 0 ? AL_ECONFLICT : spg_fail_code(s);
		log_warn("store write refused", KV_S("sqlstate", state ? state : "?"));
	} else if (rows) {
		*rows = atoi(PQcmdTuples(r));
	}
	PQclear(r);
	return ret;
}

static int write_client(struct store_pg *s, const json_t *c, bool added)
{
	char *rec = dump(c);
	const char *v[] = { json_str(c, "name", ""), json_str(c, "token_sha256", ""), rec };
	int rows = 0;
	int ret = spg_run(s, added ? "INSERT INTO airlock_clients (name, token_sha256, rec) VALUES ($1, $2, $3)"
			       : "UPDATE airlock_clients SET token_sha256 = $2, rec = $3 WHERE name = $1",
		      3, v, &rows);
	free(rec);
	return ret < 0 ? ret : rows == 1 ? 0 : AL_ECONFLICT;
}

static int write_rule(struct store_pg *s, const json_t *r, bool added)
{
	char *rec = dump(r), id[24], exp[24];
	snprintf(id, sizeof id, "%lld", (long long)json_int(r, "id", 0));
	json_t *e = json_object_get(r, "expires_at");
	snprintf(exp, sizeof exp, "%lld", (long long)json_integer_value(e));
	const char *v[] = { id, json_str(r, "client", ""), json_str(r, "host", ""), e ? exp : NULL, rec };
	int rows = 0;
	int ret = spg_run(s, added ? "INSERT INTO airlock_rules (id, client, host, expires_at, rec) "
				 "VALUES ($1, $2, $3, $4, $5)"
			       : "UPDATE airlock_rules SET client = $2, host = $3, expires_at = $4, rec = $5 "
				 "WHERE id = $1",
		      5, v, &rows);
	free(rec);
	return ret < 0 ? ret : rows == 1 ? 0 : AL_ECONFLICT;
}

/* A changed secret is written only when no other broker holds its lease:
 * the fencing that keeps a broker whose lease ran out from overwriting the
 * credential the next holder rotated. Writing it ends this node's lease. */
static int write_secret(struct store_pg *s, const json_t *sec, bool added)
{
	char *rec = dump(sec), gen[24];
	const char *name = json_str(sec, "name", "");
	json_t *held = json_object_get(s->leases, name);
	snprintf(gen, sizeof gen, "%lld", held ? (long long)json_integer_value(held) : -1LL);
	const char *v[] = { name, json_str(sec, "type", ""), json_str(sec, "host", ""), rec, s->node, gen };
	int rows = 0, ret;
	if (added)
		ret = spg_run(s, "INSERT INTO airlock_secrets (name, type, host, rec) VALUES ($1, $2, $3, $4)",
			  4, v, &rows);
	else
		ret = spg_run(s, "UPDATE airlock_secrets SET type = $2, host = $3, rec = $4, "
			     "lease_owner = NULL, lease_until = NULL WHERE name = $1 AND "
			     "(lease_owner IS NULL OR lease_until < now() OR "
			     "(lease_owner = $5 AND lease_gen = $6::bigint))",
			  6, v, &rows);
	free(rec);
	if (ret == 0 && rows != 1) {
		log_warn("store write refused: another broker holds this secret's refresh lease",
			 KV_S("secret", name));
		ret = AL_ECONFLICT;
	}
	if (ret == 0)
		json_object_del(s->leases, name);
	return ret;
}

static int delete_key(struct store_pg *s, const char *sql, const char *key)
{
	const char *v[] = { key };
	return spg_run(s, sql, 1, v, NULL);
}

/* Rules this draft added took ids from the next_id it saw; when another
 * broker took those first, they move past the store's next_id. */
static void renumber_added(const json_t *old_rules, json_t *draft, int64_t store_next)
{
	json_t *olds = by_key(old_rules, "id");
	size_t i;
	json_t *r;
	int64_t next = store_next;
	int64_t dnext = json_int(draft, "next_id", 1);
	bool moved = false;
	json_array_foreach(state_rules(draft), i, r) {
		char k[24];
		snprintf(k, sizeof k, "%lld", (long long)json_int(r, "id", 0));
		if (json_object_get(olds, k) || json_int(r, "id", 0) >= store_next)
			continue;
		moved = true;
		break;
	}
	if (moved) {
		json_array_foreach(state_rules(draft), i, r) {
			char k[24];
			snprintf(k, sizeof k, "%lld", (long long)json_int(r, "id", 0));
			if (json_object_get(olds, k))
				continue;
			json_object_set_new(r, "id", json_integer(next++));
		}
		json_object_set_new(draft, "next_id", json_integer(next));
	} else if (dnext < store_next) {
		json_object_set_new(draft, "next_id", json_integer(store_next));
	}
	json_decref(olds);
}

static int diff_apply(struct store_pg *s, const json_t *old, const json_t *draft)
{
	static const struct {
		const char *arr, *key, *del;
	} kinds[] = {
		{ "rules", "id", "DELETE FROM airlock_rules WHERE id = $1::bigint" },
		{ "secrets", "name", "DELETE FROM airlock_secrets WHERE name = $1" },
		{ "clients", "name", "DELETE FROM airlock_clients WHERE name = $1" },
	};
	int ret = 0;
	/* deletions first (rules before the clients they name), then writes
	 * (clients before the rules that name them) */
	for (size_t k = 0; k < ARRAY_SIZE(kinds) && ret == 0; k++) {
		json_t *o = by_key(json_object_get(old, kinds[k].arr), kinds[k].key);
		json_t *d = by_key(json_object_get(draft, kinds[k].arr), kinds[k].key);
		const char *key;
		json_t *v;
		json_object_foreach(o, key, v)
			if (ret == 0 && !json_object_get(d, key))
				ret = delete_key(s, kinds[k].del, key);
		json_decref(o);
		json_decref(d);
	}
	for (size_t k = ARRAY_SIZE(kinds); k-- > 0 && ret == 0;) {
		json_t *o = by_key(json_object_get(old, kinds[k].arr), kinds[k].key);
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(draft, kinds[k].arr), i, v) {
			char kb[24];
			json_t *kv = json_object_get(v, kinds[k].key);
			const char *key = json_string_value(kv);
			if (json_is_integer(kv)) {
				snprintf(kb, sizeof kb, "%lld", (long long)json_integer_value(kv));
				key = kb;
			}
			json_t *was = json_object_get(o, key);
			if (was && json_equal(was, v))
				continue;
			ret = k == 0 ? write_rule(s, v, !was) : k == 1 ? write_secret(s, v, !was)
								 : write_client(s, v, !was);
			if (ret < 0)
				break;
		}
		json_decref(o);
	}
	return ret;
}

int store_pg_commit(struct store_pg *s, const json_t *old, json_t *draft, int64_t *version,
		    bool *stale)
{
	char err[256];
	int ret;

	*stale = false;
	if (!store_pg_up(s))
		return AL_EUNAVAIL;
	if ((ret = spg_exec_ok(s, "BEGIN", err, sizeof err)) < 0)
		return spg_fail_code(s);
	PGresult *r = spg_ex(s, "SELECT store_version, next_id FROM airlock_meta FOR UPDATE");
	if (!spg_res_ok(r) || PQntuples(r) != 1) {
		ret = spg_res_ok(r) ? AL_EINVAL : spg_fail_code(s);
		PQclear(r);
		goto fail;
	}
	int64_t at = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	int64_t store_next = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	*stale = at != *version;
	renumber_added(state_rules(old), draft, store_next);
	if ((ret = diff_apply(s, old, draft)) < 0 || (ret = spg_prune_deletions(s)) < 0)
		goto fail;
	char nv[24], nid[24], fmt[24];
	snprintf(nv, sizeof nv, "%lld", (long long)(at + 1));
	snprintf(nid, sizeof nid, "%lld", (long long)json_int(draft, "next_id", 1));
	snprintf(fmt, sizeof fmt, "%lld", (long long)json_int(draft, "format", STATE_FORMAT));
	const char *v[] = { nv, nid, fmt, json_str(draft, "seal_check", NULL) };
	if ((ret = spg_run(s, "UPDATE airlock_meta SET store_version = $1::bigint, next_id = "
			  "greatest(next_id, $2::bigint), format = $3::integer, seal_check = coalesce(seal_check, $4)",
		       4, v, NULL)) < 0 ||
	    (ret = spg_run(s, "SELECT pg_notify('" STORE_CHANNEL "', $1)", 1, v, NULL)) < 0)
		goto fail;
	if ((ret = spg_exec_ok(s, "COMMIT", err, sizeof err)) < 0) {
		ret = spg_fail_code(s);
		goto fail;
	}
	*version = at + 1;
	return 0;
fail:
	if (store_pg_up(s))
		(void)spg_exec_ok(s, "ROLLBACK", NULL, 0);
	return ret;
}
