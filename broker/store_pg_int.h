/* What the fleet store's files share (broker/store_pg.c: connection,
 * schema, full load, commit; store_pg_delta.c: the reload of what changed;
 * store_pg_lease.c: the CA, the refresh lease, the check): the handle and
 * the query helpers, every one of which reads the NOTIFYs a query brought. */
#ifndef AIRLOCK_BROKER_STORE_PG_INT_H
#define AIRLOCK_BROKER_STORE_PG_INT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* One statement, no parameters. */
PGresult *spg_ex(struct store_pg *s, const char *sql);
/* One statement with text parameters. */
PGresult *spg_q(struct store_pg *s, const char *sql, int n, const char *const *vals);
/* 0, or AL_EIO with the server's message in err (when err is not NULL). */
int spg_exec_ok(struct store_pg *s, const char *sql, char *err, size_t errlen);
bool spg_res_ok(PGresult *r);
/* AL_EUNAVAIL when the connection is gone, AL_EIO when the store refused. */
int spg_fail_code(struct store_pg *s);
void spg_trim_nl(char *m);
/* One statement of a commit: a unique or foreign key violation is
 * AL_ECONFLICT; *rows (when not NULL) gets the rows it touched. */
int spg_run(struct store_pg *s, const char *sql, int n, const char *const *vals, int *rows);
/* In a commit (broker/store_pg_delta.c): drop the deletions older than
 * AL_STORE_DELETIONS_KEEP_S and raise airlock_meta.deletions_from. */
int spg_prune_deletions(struct store_pg *s);

#endif
