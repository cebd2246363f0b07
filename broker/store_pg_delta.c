/* The reload of what changed: the rows and deletions whose version is
 * newer than the one a broker holds, patched into a copy of its document
 * so that the result is what a full load (store_pg_load) gives. */
#include "config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "broker/state.h"
#include "broker/store_pg.h"
#include "broker/store_pg_int.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"

/* The three kinds of rows: the document's array, its key, the SQL that
 * reads the changed ones in the full load's order (store_pg_load). The
 * range is closed on both sides: without statistics (a table ANALYZE has
 * not seen yet) the planner takes a one-sided "version > $1" to match a
 * third of the rows and reads them all, a two-sided one to match a few,
 * and goes through the version index. */
static const struct kind {
	const char *arr, *key, *sql;
} kinds[] = {
	{ "clients", "name", "SELECT version, rec FROM airlock_clients WHERE version > $1::bigint AND version <= $2::bigint ORDER BY ord" },
	{ "rules", "id", "SELECT version, rec FROM airlock_rules WHERE version > $1::bigint AND version <= $2::bigint ORDER BY id" },
	{ "secrets", "name", "SELECT version, rec FROM airlock_secrets WHERE version > $1::bigint AND version <= $2::bigint ORDER BY ord" },
};

static void key_of(const json_t *rec, const char *key, char *buf, size_t cap)
{
	json_t *kv = json_object_get(rec, key);
	if (json_is_integer(kv))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(kv));
	else
		snprintf(buf, cap, "%s", json_is_string(kv) ? json_string_value(kv) : "");
}

static ssize_t find(const json_t *arr, const char *key, const char *want)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char k[AL_NAME_MAX + 32];
		key_of(v, key, k, sizeof k);
		if (strcmp(k, want) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static int by_id(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
	return x < y ? -1 : x > y;
}

/* Rules are ordered by id in a full load. */
static void sort_rules(json_t *doc)
{
	json_t *rules = state_rules(doc);
	size_t n = json_array_size(rules);
	json_t **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(rules, i));
	qsort(v, n, sizeof *v, by_id);
	json_array_clear(rules);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rules, v[i]);
	free(v);
}

/* Upserts in the order the store gives them: a record the document holds
 * is replaced where it stands (its ord is kept by an UPDATE); a new one
 * goes last (ord grows with each INSERT, and INSERTs are serialised on
 * the meta row, so any row added after the version held sorts after every
 * row the document holds). A record deleted and added again was taken out
 * by its deletion first, so it goes last too, as its new ord says. */
static int apply_rows(struct store_pg *s, const struct kind *k, const char *held, int64_t to,
		      json_t *doc, char *err, size_t errlen)
{
	char tv[24];
	snprintf(tv, sizeof tv, "%lld", (long long)to);
	const char *v[] = { held, tv };
	PGresult *r = spg_q(s, k->sql, 2, v);
	if (!spg_res_ok(r)) {
		snprintf(err, errlen, "cannot read the store: %s", PQresultErrorMessage(r));
		spg_trim_nl(err);
		PQclear(r);
		return spg_fail_code(s);
	}
	json_t *arr = json_object_get(doc, k->arr);
	int ret = 0;
	for (int i = 0; i < PQntuples(r) && ret == 0; i++) {
		json_error_t je;
		char key[AL_NAME_MAX + 32];
		if (strtoll(PQgetvalue(r, i, 0), NULL, 10) > to) {
			ret = 1;   /* written after the meta row read: not a snapshot */
			break;
		}
		json_t *rec = json_loads(PQgetvalue(r, i, 1), JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(rec)) {
			snprintf(err, errlen, "the store holds a record that is not a JSON object");
			json_decref(rec);
			ret = AL_EINVAL;
			break;
		}
		key_of(rec, k->key, key, sizeof key);
		ssize_t at = find(arr, k->key, key);
		if (at >= 0)
			json_array_set_new(arr, (size_t)at, rec);
		else
			json_array_append_new(arr, rec);
	}
	PQclear(r);
	return ret;
}

static int apply_deletions(struct store_pg *s, const char *held, int64_t to, json_t *doc,
			   char *err, size_t errlen)
{
	char tv[24];
	snprintf(tv, sizeof tv, "%lld", (long long)to);
	const char *v[] = { held, tv };
	PGresult *r = spg_q(s, "SELECT kind, key, version FROM airlock_deleted WHERE version > $1::bigint AND "
			    "version <= $2::bigint", 2, v);
	if (!spg_res_ok(r)) {
		snprintf(err, errlen, "cannot read the store's deletions: %s", PQresultErrorMessage(r));
		spg_trim_nl(err);
		PQclear(r);
		return spg_fail_code(s);
	}
	int ret = 0;
	for (int i = 0; i < PQntuples(r) && ret == 0; i++) {
		const char *kind = PQgetvalue(r, i, 0), *key = PQgetvalue(r, i, 1);
		const struct kind *k = NULL;
		for (size_t j = 0; j < ARRAY_SIZE(kinds); j++)
			if (strcmp(kinds[j].arr, kind) == 0)
				k = &kinds[j];
		if (!k || strtoll(PQgetvalue(r, i, 2), NULL, 10) > to) {
			ret = 1;   /* a kind this build does not know, or not a snapshot */
			break;
		}
		json_t *arr = json_object_get(doc, k->arr);
		ssize_t at = find(arr, k->key, key);
		if (at >= 0)
			json_array_remove(arr, (size_t)at);
	}
	PQclear(r);
	return ret;
}

int store_pg_load_since(struct store_pg *s, const json_t *held_doc, int64_t held, json_t **doc,
			int64_t *version, char *err, size_t errlen)
{
	json_t *d = NULL;
	int ret;

	*doc = NULL;
	if (!store_pg_up(s)) {
		snprintf(err, errlen, "the store %s is not reachable", store_pg_target(s));
		return AL_EUNAVAIL;
	}
	if ((ret = spg_exec_ok(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)) < 0)
		return spg_fail_code(s);
	PGresult *r = spg_ex(s, "SELECT store_version, next_id, format, seal_check, deletions_from "
				"FROM airlock_meta");
	if (!spg_res_ok(r) || PQntuples(r) != 1) {
		snprintf(err, errlen, "cannot read the store's meta row: %s", PQresultErrorMessage(r));
		spg_trim_nl(err);
		ret = spg_res_ok(r) ? AL_EINVAL : spg_fail_code(s);
		PQclear(r);
		goto out;
	}
	int64_t to = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	int64_t from = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	*version = to;
	if (held < from || to < held) {
		/* deletions since held were pruned (or predate the schema that
		 * keeps them), or the store went back (restored): read it all */
		PQclear(r);
		ret = 1;
		goto out;
	}
	if (to == held) {
		PQclear(r);
		ret = 0;
		goto out;
	}
	d = json_deep_copy(held_doc);
	if (!d)
		abort(); /* jansson only fails here on OOM: xmalloc.h's decision */
	json_object_set_new(d, "format", json_integer(atoi(PQgetvalue(r, 0, 2))));
	json_object_set_new(d, "next_id", json_integer(strtoll(PQgetvalue(r, 0, 1), NULL, 10)));
	if (!PQgetisnull(r, 0, 3))
		json_object_set_new(d, "seal_check", json_string(PQgetvalue(r, 0, 3)));
	else
		json_object_del(d, "seal_check");
	PQclear(r);
	char hv[24];
	snprintf(hv, sizeof hv, "%lld", (long long)held);
	if ((ret = apply_deletions(s, hv, to, d, err, errlen)) != 0)
		goto out;
	for (size_t k = 0; k < ARRAY_SIZE(kinds) && ret == 0; k++)
		ret = apply_rows(s, &kinds[k], hv, to, d, err, errlen);
	if (ret != 0)
		goto out;
	sort_rules(d);
	ret = 0;
out:
	(void)spg_exec_ok(s, ret < 0 ? "ROLLBACK" : "COMMIT", NULL, 0);
	if (ret != 0) {
		json_decref(d);
		return ret;
	}
	*doc = d;
	return 0;
}

/* Deletions are kept AL_STORE_DELETIONS_KEEP_S: a broker that held a
 * version older than the newest one pruned reads the whole store. */
int spg_prune_deletions(struct store_pg *s)
{
	char keep[24];
	snprintf(keep, sizeof keep, "%d", AL_STORE_DELETIONS_KEEP_S);
	const char *v[] = { keep };
	return spg_run(s, "WITH p AS (DELETE FROM airlock_deleted WHERE at < now() - "
			  "make_interval(secs => $1::double precision) RETURNING version) "
			  "UPDATE airlock_meta SET deletions_from = (SELECT max(version) FROM p) "
			  "WHERE (SELECT max(version) FROM p) > deletions_from",
		       1, v, NULL);
}
