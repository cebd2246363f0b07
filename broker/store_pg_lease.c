/* The fleet store's CA (sealed with the fleet's seal key), the per-secret
 * refresh lease, and what `airlock store check` shows. */
#include "config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/store_pg.h"
#include "broker/store_pg_int.h"
#include "common/ca.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* The CA's seal binding: a name no secret can have (names have no ':'). */
#define STORE_CA_NAME "airlock:ca"

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
		PGresult *r = spg_ex(s, "SELECT cert_pem, key_sealed FROM airlock_ca");
		if (!spg_res_ok(r)) {
			PQclear(r);
			snprintf(err, errlen, "cannot read the CA from the store");
			return spg_fail_code(s);
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
			ret = spg_run(s, "INSERT INTO airlock_ca VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
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
			int64_t *gen, char **sealed, char **status, char *abandoned, size_t abandoned_len)
{
	char secs[24];
	snprintf(secs, sizeof secs, "%lld", (long long)seconds);
	const char *v[] = { name, s->node, secs, takeover ? "true" : "false" };
	if (!store_pg_up(s))
		return AL_EUNAVAIL;
	/* the row as it was (locked), so that a lease taken over from a node
	 * that never gave it back is told apart from a free one */
	PGresult *r = spg_q(s, "WITH old AS (SELECT name, lease_owner, lease_until < now() AS expired "
			   "FROM airlock_secrets WHERE name = $1 FOR UPDATE) "
			   "UPDATE airlock_secrets t SET lease_owner = $2, lease_until = now() + "
			   "make_interval(secs => $3::double precision), lease_gen = t.lease_gen + 1 "
			   "FROM old WHERE t.name = old.name AND (old.lease_owner IS NULL OR "
			   "old.lease_owner = $2 OR (old.expired AND $4::boolean)) "
			   "RETURNING t.lease_gen, t.rec->>'sealed', CASE WHEN old.lease_owner <> $2 "
			   "THEN old.lease_owner ELSE '' END, coalesce(t.rec->>'status', 'ok')",
			4, v);
	if (!spg_res_ok(r)) {
		PQclear(r);
		return spg_fail_code(s);
	}
	int ret = 0;
	if (PQntuples(r) == 1) {
		*gen = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*sealed = xstrdup(PQgetvalue(r, 0, 1));
		snprintf(abandoned, abandoned_len, "%s", PQgetvalue(r, 0, 2));
		*status = xstrdup(PQgetvalue(r, 0, 3));
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
		(void)spg_run(s, "UPDATE airlock_secrets SET lease_owner = NULL, lease_until = NULL "
			     "WHERE name = $1 AND lease_owner = $2", 2, v, NULL);
}

/* ---- check ---- */

json_t *store_pg_describe(struct store_pg *s)
{
	json_t *o = json_pack("{s:s, s:b, s:i}", "target", s->target, "connected", store_pg_up(s),
			      "schema_supported", STORE_SCHEMA_VERSION);
	if (!store_pg_up(s))
		return o;
	PGresult *r = spg_ex(s,
			     "SELECT (SELECT max(version) FROM airlock_schema), m.store_version, "
			     "(SELECT count(*) FROM airlock_clients), (SELECT count(*) FROM airlock_rules), "
			     "(SELECT count(*) FROM airlock_secrets), (SELECT count(*) FROM airlock_ca), "
			     "(SELECT count(*) FROM airlock_secrets WHERE lease_until > now()) "
			     "FROM airlock_meta m");
	if (spg_res_ok(r) && PQntuples(r) == 1) {
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
