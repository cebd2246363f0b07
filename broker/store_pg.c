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
#include "common/ca.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* Bounds on how long one call may block the broker's loop. */
#define STORE_CONNECT_TIMEOUT_S "3"
#define STORE_STATEMENT_TIMEOUT "-c statement_timeout=5000"
/* Serialises schema migrations of brokers that start together. */
#define STORE_MIGRATE_LOCK "7264091"
/* The CA's seal binding: a name no secret can have (names have no ':'). */
#define STORE_CA_NAME "airlock:ca"

struct store_pg {
	PGconn *conn;
	PGconn *pending;  /* a connection being made again (PQconnectPoll) */
	char *uri;
	char *node;
	char target[256];
	json_t *leases;   /* secret name -> the lease generation this node holds */
	/* the newest version a NOTIFY named: libpq queues NOTIFYs that arrive
	 * during any query, where the socket's readiness no longer shows them */
	int64_t notified;
	void (*on_notify)(void *arg);
	void *notify_arg;
};

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
static PGresult *ex(struct store_pg *s, const char *sql)
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
};

static int exec_ok(struct store_pg *s, const char *sql, char *err, size_t errlen)
{
	PGresult *r = ex(s, sql);
	int st = PQresultStatus(r);
	int ret = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : AL_EIO;
	if (ret < 0 && err)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ret;
}

static PGresult *q(struct store_pg *s, const char *sql, int n, const char *const *vals)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
	drain(s);
	return r;
}

static bool res_ok(PGresult *r)
{
	int st = PQresultStatus(r);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* A failed call on a connection that is gone is "unavailable"; anything
 * else the store refused. */
static int fail_code(struct store_pg *s)
{
	return PQstatus(s->conn) == CONNECTION_OK ? AL_EIO : AL_EUNAVAIL;
}

static void trim_nl(char *m)
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
	PGresult *r = ex(s, "SELECT coalesce(max(version), 0) FROM airlock_schema");
	if (!res_ok(r)) {
		snprintf(err, errlen, "cannot read the schema version: %s", PQresultErrorMessage(r));
		PQclear(r);
		return fail_code(s);
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
	if ((ret = exec_ok(s, "SELECT pg_advisory_lock(" STORE_MIGRATE_LOCK ")", err, errlen)) < 0)
		return fail_code(s);
	if ((ret = exec_ok(s, "CREATE TABLE IF NOT EXISTS airlock_schema (version integer NOT NULL, "
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
		if ((ret = exec_ok(s, "BEGIN", err, errlen)) < 0 ||
		    (ret = exec_ok(s, migrations[v], err, errlen)) < 0 ||
		    (ret = exec_ok(s, ins, err, errlen)) < 0 ||
		    (ret = exec_ok(s, "COMMIT", err, errlen)) < 0) {
			char m[200];
			snprintf(m, sizeof m, "%s", err);
			trim_nl(m);
			snprintf(err, errlen, "schema migration to version %d failed: %s", v + 1, m);
			(void)exec_ok(s, "ROLLBACK", NULL, 0);
			goto out;
		}
		log_info("store schema migrated", KV_I("to", v + 1));
	}
out:
	(void)exec_ok(s, "SELECT pg_advisory_unlock(" STORE_MIGRATE_LOCK ")", NULL, 0);
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
	trim_nl(m);
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
	if ((ret = exec_ok(s, "LISTEN " STORE_CHANNEL, err, errlen)) < 0)
		return fail_code(s);
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
	PGresult *r = ex(s, sql);
	if (!res_ok(r)) {
		snprintf(err, errlen, "cannot read the store: %s", PQresultErrorMessage(r));
		trim_nl(err);
		PQclear(r);
		return fail_code(s);
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
	if ((ret = exec_ok(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)) < 0)
		return fail_code(s);
	PGresult *r = ex(s, "SELECT store_version, next_id, format, seal_check FROM airlock_meta");
	if (!res_ok(r) || PQntuples(r) != 1) {
		snprintf(err, errlen, "cannot read the store's meta row: %s", PQresultErrorMessage(r));
		trim_nl(err);
		ret = res_ok(r) ? AL_EINVAL : fail_code(s);
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
	(void)exec_ok(s, ret < 0 ? "ROLLBACK" : "COMMIT", NULL, 0);
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
static int run(struct store_pg *s, const char *sql, int n, const char *const *vals, int *rows)
{
	PGresult *r = q(s, sql, n, vals);
	int ret = 0;
	if (!res_ok(r)) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		ret = state && strncmp(state, "23", 2) == 0 ? AL_ECONFLICT : fail_code(s);
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
	int ret = run(s, added ? "INSERT INTO airlock_clients (name, token_sha256, rec) VALUES ($1, $2, $3)"
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
	int ret = run(s, added ? "INSERT INTO airlock_rules (id, client, host, expires_at, rec) "
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
		ret = run(s, "INSERT INTO airlock_secrets (name, type, host, rec) VALUES ($1, $2, $3, $4)",
			  4, v, &rows);
	else
		ret = run(s, "UPDATE airlock_secrets SET type = $2, host = $3, rec = $4, "
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
	return run(s, sql, 1, v, NULL);
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
	if ((ret = exec_ok(s, "BEGIN", err, sizeof err)) < 0)
		return fail_code(s);
	PGresult *r = ex(s, "SELECT store_version, next_id FROM airlock_meta FOR UPDATE");
	if (!res_ok(r) || PQntuples(r) != 1) {
		ret = res_ok(r) ? AL_EINVAL : fail_code(s);
		PQclear(r);
		goto fail;
	}
	int64_t at = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	int64_t store_next = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	*stale = at != *version;
	renumber_added(state_rules(old), draft, store_next);
	if ((ret = diff_apply(s, old, draft)) < 0)
		goto fail;
	char nv[24], nid[24], fmt[24];
	snprintf(nv, sizeof nv, "%lld", (long long)(at + 1));
	snprintf(nid, sizeof nid, "%lld", (long long)json_int(draft, "next_id", 1));
	snprintf(fmt, sizeof fmt, "%lld", (long long)json_int(draft, "format", STATE_FORMAT));
	const char *v[] = { nv, nid, fmt, json_str(draft, "seal_check", NULL) };
	if ((ret = run(s, "UPDATE airlock_meta SET store_version = $1::bigint, next_id = "
			  "greatest(next_id, $2::bigint), format = $3::integer, seal_check = coalesce(seal_check, $4)",
		       4, v, NULL)) < 0 ||
	    (ret = run(s, "SELECT pg_notify('" STORE_CHANNEL "', $1)", 1, v, NULL)) < 0)
		goto fail;
	if ((ret = exec_ok(s, "COMMIT", err, sizeof err)) < 0) {
		ret = fail_code(s);
		goto fail;
	}
	*version = at + 1;
	return 0;
fail:
	if (store_pg_up(s))
		(void)exec_ok(s, "ROLLBACK", NULL, 0);
	return ret;
}

/* ---- the CA ---- */

static int write_ca_files(const char *dir, const char *pem, const uint8_t *key, size_t keylen)
{
	char *cp = path_join(dir, CA_CERT_FILE), *kp = path_join(dir, CA_KEY_FILE);
	int ret = file_write_atomic(kp, key, keylen, 0600);
	if (ret == 0)
		ret = file_write_atomic(cp, pem, strlen(pem), 0644);
	free(cp);
	free(kp);
	return ret;
}

static const struct seal_binding ca_binding = { .name = STORE_CA_NAME, .type = "ca", .host = "" };

int store_pg_ca_sync(struct store_pg *s, const struct seal_key *key, const char *dir, char *err,
		     size_t errlen)
{
	int ret;
	for (int round = 0; round < 2; round++) {
		PGresult *r = ex(s, "SELECT cert_pem, key_sealed FROM airlock_ca");
		if (!res_ok(r)) {
			PQclear(r);
			snprintf(err, errlen, "cannot read the CA from the store");
			return fail_code(s);
		}
		if (PQntuples(r) == 1) {
			uint8_t *pt = NULL;
			size_t len = 0;
			ret = seal_decrypt(key, &ca_binding, PQgetvalue(r, 0, 1), &pt, &len);
			if (ret == 0) {
				ret = write_ca_files(dir, PQgetvalue(r, 0, 0), pt, len);
				secure_free(pt, len);
				if (ret < 0)
					snprintf(err, errlen, "cannot write the fleet's CA to %s: %s", dir,
						 airlock_strerror(ret));
			} else {
				snprintf(err, errlen, "the store's CA key does not open with this seal key: "
					 "every host of a fleet needs the same seal key");
			}
			PQclear(r);
			return ret;
		}
		PQclear(r);
		if (round)
			break;
		/* none yet: this host's (made when missing) becomes the fleet's */
		char *pem = NULL, *kpem = NULL, *sealed = NULL;
		size_t plen = 0, klen = 0;
		char *cp = path_join(dir, CA_CERT_FILE), *kp = path_join(dir, CA_KEY_FILE);
		if ((ret = ca_ensure(dir)) == 0 && (ret = file_read_all(cp, AL_CRED_FILE_MAX, &pem, &plen)) == 0 &&
		    (ret = file_read_all(kp, AL_CRED_FILE_MAX, &kpem, &klen)) == 0)
			ret = seal_encrypt(key, &ca_binding, (const uint8_t *)kpem, klen, &sealed);
		free(cp);
		free(kp);
		if (kpem)
			secure_free(kpem, klen);
		if (ret == 0) {
			const char *v[] = { pem, sealed };
			ret = run(s, "INSERT INTO airlock_ca VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
				  2, v, NULL);
		}
		free(pem);
		free(sealed);
		if (ret < 0) {
			snprintf(err, errlen, "cannot store this host's CA: %s", airlock_strerror(ret));
			return ret;
		}
		/* read back: another broker may have stored its CA first */
	}
	snprintf(err, errlen, "the store holds no CA after storing one");
	return AL_EIO;
}

/* ---- the refresh lease ---- */

int store_pg_lease_take(struct store_pg *s, const char *name, int64_t seconds, bool takeover,
			int64_t *gen, char **sealed, char *abandoned, size_t abandoned_len)
{
	char secs[24];
	snprintf(secs, sizeof secs, "%lld", (long long)seconds);
	const char *v[] = { name, s->node, secs, takeover ? "true" : "false" };
	if (!store_pg_up(s))
		return AL_EUNAVAIL;
	/* the row as it was (locked), so that a lease taken over from a node
	 * that never gave it back is told apart from a free one */
	PGresult *r = q(s, "WITH old AS (SELECT name, lease_owner, lease_until < now() AS expired "
			   "FROM airlock_secrets WHERE name = $1 FOR UPDATE) "
			   "UPDATE airlock_secrets t SET lease_owner = $2, lease_until = now() + "
			   "make_interval(secs => $3::double precision), lease_gen = t.lease_gen + 1 "
			   "FROM old WHERE t.name = old.name AND (old.lease_owner IS NULL OR "
			   "old.lease_owner = $2 OR (old.expired AND $4::boolean)) "
			   "RETURNING t.lease_gen, t.rec->>'sealed', CASE WHEN old.lease_owner <> $2 "
			   "THEN old.lease_owner ELSE '' END",
			4, v);
	if (!res_ok(r)) {
		PQclear(r);
		return fail_code(s);
	}
	int ret = 0;
	if (PQntuples(r) == 1) {
		*gen = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*sealed = xstrdup(PQgetvalue(r, 0, 1));
		snprintf(abandoned, abandoned_len, "%s", PQgetvalue(r, 0, 2));
		json_object_set_new(s->leases, name, json_integer(*gen));
		ret = 1;
	}
	PQclear(r);
	return ret;
}

void store_pg_lease_drop(struct store_pg *s, const char *name)
{
	const char *v[] = { name, s->node };
	json_object_del(s->leases, name);
	if (store_pg_up(s))
		(void)run(s, "UPDATE airlock_secrets SET lease_owner = NULL, lease_until = NULL "
			     "WHERE name = $1 AND lease_owner = $2", 2, v, NULL);
}

/* ---- check ---- */

json_t *store_pg_describe(struct store_pg *s)
{
	json_t *o = json_pack("{s:s, s:b, s:i}", "target", s->target, "connected", store_pg_up(s),
			      "schema_supported", STORE_SCHEMA_VERSION);
	if (!store_pg_up(s))
		return o;
	PGresult *r = ex(s,
			     "SELECT (SELECT max(version) FROM airlock_schema), m.store_version, "
			     "(SELECT count(*) FROM airlock_clients), (SELECT count(*) FROM airlock_rules), "
			     "(SELECT count(*) FROM airlock_secrets), (SELECT count(*) FROM airlock_ca), "
			     "(SELECT count(*) FROM airlock_secrets WHERE lease_until > now()) "
			     "FROM airlock_meta m");
	if (res_ok(r) && PQntuples(r) == 1) {
		json_object_set_new(o, "schema_version", json_integer(atoll(PQgetvalue(r, 0, 0))));
		json_object_set_new(o, "store_version", json_integer(atoll(PQgetvalue(r, 0, 1))));
		json_object_set_new(o, "counts", json_pack("{s:I, s:I, s:I}", "clients",
							    (json_int_t)atoll(PQgetvalue(r, 0, 2)), "rules",
							    (json_int_t)atoll(PQgetvalue(r, 0, 3)), "secrets",
							    (json_int_t)atoll(PQgetvalue(r, 0, 4))));
		json_object_set_new(o, "ca_stored", json_boolean(atoll(PQgetvalue(r, 0, 5)) > 0));
		json_object_set_new(o, "leases_held", json_integer(atoll(PQgetvalue(r, 0, 6))));
	}
	PQclear(r);
	return o;
}
