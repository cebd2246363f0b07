/* state.json: load and validate (refusing a torn or foreign file), commit a
 * changed draft with one atomic write, and the small lookups every handler
 * uses. Times are unix seconds here; the API formats them. */
#include "config.h"

#include "broker/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/duration.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/netmatch.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "broker/store_pg.h"

#define INT_FIELD(n, req) { (n), JF_INT, (req), 0, INT64_MAX, 0, 0 }
/* a client's or rule's budget (absent: no limit) */
#define BUDGET_FIELDS \
	{ "max_rpm", JF_INT, false, 1, AL_BUDGET_RPM_MAX, 0, 0 }, \
	{ "max_bytes_per_hour", JF_INT, false, 1, AL_BUDGET_BYTES_MAX, 0, 0 }, \
	{ "max_concurrent", JF_INT, false, 1, AL_BUDGET_CONCURRENT_MAX, 0, 0 }

/* The top level: the three arrays are checked by check_array(), the
 * table has no "array of objects" type. */
static const struct json_field top_fields[] = {
	/* format 1 is read to be migrated (broker/sealed.c) */
	{ "format", JF_INT, true, 1, STATE_FORMAT, 0, 0 },
	{ "next_id", JF_INT, true, 1, INT64_MAX, 0, 0 },
	/* format 2: the seal key's check value (common/seal.h, broker/sealed.c) */
	{ "seal_check", JF_STRING, false, 0, 0, 256, 0 },
};
static const char *const top_arrays[] = { "clients", "rules", "secrets" };

static const struct json_field client_fields[] = {
	{ "name", JF_STRING, true, 0, 0, AL_NAME_MAX, 0 },
	{ "token_sha256", JF_STRING, true, 0, 0, TOKEN_HASH_HEX_LEN, 0 },
	INT_FIELD("created_at", true),
	/* "hold" or "deny" (the default, also when absent) */
	{ "on_deny", JF_STRING, false, 0, 0, 8, 0 },
	BUDGET_FIELDS,
	{ "max_tokens_per_day", JF_INT, false, 1, AL_BUDGET_TOKENS_MAX, 0, 0 },
};

static const struct json_field rule_fields[] = {
	{ "id", JF_INT, true, 1, INT64_MAX, 0, 0 },
	{ "client", JF_STRING, true, 0, 0, AL_NAME_MAX, 0 },
	{ "host", JF_STRING, true, 0, 0, AL_HOST_MAX + 2, 0 },
	{ "ports", JF_INT_ARRAY, true, 1, 65535, 0, AL_RULE_LIST_MAX },
	{ "methods", JF_STRING_ARRAY, true, 0, 0, AL_METHOD_MAX, AL_RULE_LIST_MAX },
	{ "paths", JF_STRING_ARRAY, true, 0, 0, AL_PATH_MAX, AL_RULE_LIST_MAX },
	{ "secret", JF_STRING, false, 0, 0, AL_NAME_MAX, 0 },
	{ "passthrough", JF_BOOL, true, 0, 0, 0, 0 },
	{ "ttl_seconds", JF_INT, false, AL_TTL_MIN_SECONDS, AL_TTL_MAX_SECONDS, 0, 0 },
	INT_FIELD("created_at", true),
	INT_FIELD("expires_at", false),
	BUDGET_FIELDS,
};

static const struct json_field secret_fields[] = {
	{ "name", JF_STRING, true, 0, 0, AL_NAME_MAX, 0 },
	{ "host", JF_STRING, true, 0, 0, AL_HOST_MAX + 2, 0 },
	{ "type", JF_STRING, true, 0, 0, 32, 0 },
	{ "sealed", JF_STRING, true, 0, 0, 0, 0 },
	{ "source_file", JF_STRING, false, 0, 0, 4096, 0 },
	{ "status", JF_STRING, false, 0, 0, 32, 0 },
	/* why status is not ok (broker/oauth.c: a reason, never a value) */
	{ "status_reason", JF_STRING, false, 0, 0, 160, 0 },
	{ "meta", JF_OBJECT, false, 0, 0, 0, 0 },   /* per-type data (oauth: docs/oauth.md) */
	INT_FIELD("created_at", true),
	INT_FIELD("adopted_at", false),
	INT_FIELD("refreshed_at", false),
	INT_FIELD("expires_at", false),
	/* a refresh request went out then, and no answer to it was saved yet
	 * (single host: broker/oauth.c tells a lost rotation by it) */
	INT_FIELD("refresh_sent_at", false),
};

json_t *state_clients(const json_t *doc) { return json_object_get(doc, "clients"); }
json_t *state_rules(const json_t *doc) { return json_object_get(doc, "rules"); }
json_t *state_secrets(const json_t *doc) { return json_object_get(doc, "secrets"); }

static json_t *find_named(json_t *arr, const char *name, size_t *idx)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));
		if (n && strcmp(n, name) == 0) {
			if (idx)
				*idx = i;
			return v;
		}
	}
	return NULL;
}

json_t *state_client(const json_t *doc, const char *name, size_t *idx)
{
	return find_named(state_clients(doc), name, idx);
}

json_t *state_secret(const json_t *doc, const char *name, size_t *idx)
{
	return find_named(state_secrets(doc), name, idx);
}

bool state_rule_live(const json_t *rule, int64_t now)
{
	json_t *e = json_object_get(rule, "expires_at");
	return !e || json_integer_value(e) > now;
}

int64_t state_next_expiry(const json_t *doc, int64_t now)
{
	int64_t best = 0;
	size_t i;
	json_t *r;
	json_array_foreach(state_rules(doc), i, r) {
		json_t *e = json_object_get(r, "expires_at");
		if (!e)
			continue;
		int64_t t = json_integer_value(e);
		if (t > now && (best == 0 || t < best))
			best = t;
	}
	return best;
}

int64_t state_take_id(json_t *draft)
{
	int64_t id = json_integer_value(json_object_get(draft, "next_id"));
	json_object_set_new(draft, "next_id", json_integer(id + 1));
	return id;
}

static json_t *state_empty(void)
{
	return json_pack("{s:i, s:I, s:[], s:[], s:[]}", "format", STATE_FORMAT, "next_id",
			 (json_int_t)1, "clients", "rules", "secrets");
}

/* Everything the API guarantees, checked again on load: a state edited by
 * hand or by a newer version is refused rather than half understood. */
static int check_array(const json_t *doc, const char *key, const struct json_field *fields,
		       size_t nfields, char *err, size_t errlen)
{
	json_t *arr = json_object_get(doc, key);
	size_t i;
	json_t *v;
	char path[64];

	if (!json_is_array(arr)) {
		snprintf(err, errlen, ".%s is not an array", key);
		return AL_EINVAL;
	}
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof path, ".%s[%zu]", key, i);
		if (!json_is_object(v)) {
			snprintf(err, errlen, "%s is not an object", path);
			return AL_EINVAL;
		}
		int ret = json_validate(v, fields, nfields, path, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Names, token hashes (one token, two clients: the API refuses it with
 * 409) and rules per client, with two indexes so that a big state is
 * checked in linear time. */
static int check_clients(const json_t *doc, char *err, size_t errlen)
{
	json_t *by_hash = json_object(), *rules_of = json_object();
	size_t i;
	json_t *v;
	int ret = AL_EINVAL;

	json_array_foreach(state_rules(doc), i, v) {
		const char *c = json_string_value(json_object_get(v, "client"));
		json_object_set_new(rules_of, c, json_integer(json_int(rules_of, c, 0) + 1));
	}
	json_array_foreach(state_clients(doc), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		uint8_t h[TOKEN_HASH_LEN];
		char hex[TOKEN_HASH_HEX_LEN + 1];
		size_t first;
		if (name_validate(name) < 0 || (state_client(doc, name, &first) && first != i)) {
			snprintf(err, errlen, ".clients[%zu].name is invalid or repeated", i);
			goto out;
		}
		const char *od = json_string_value(json_object_get(v, "on_deny"));
		if (od && strcmp(od, "hold") != 0 && strcmp(od, "deny") != 0) {
			snprintf(err, errlen, ".clients[%zu].on_deny must be \"hold\" or \"deny\"", i);
			goto out;
		}
		if (token_hash_from_hex(json_string_value(json_object_get(v, "token_sha256")), h) < 0) {
			snprintf(err, errlen, ".clients[%zu].token_sha256 is not a SHA-256 in hex", i);
			goto out;
		}
		for (size_t k = 0; k < sizeof h; k++)   /* one spelling per hash */
			snprintf(hex + 2 * k, 3, "%02x", h[k]);
		json_t *seen = json_object_get(by_hash, hex);
		if (seen) {
			snprintf(err, errlen, ".clients[%zu].token_sha256 repeats .clients[%lld]'s", i,
				 (long long)json_integer_value(seen));
			goto out;
		}
		json_object_set_new(by_hash, hex, json_integer((json_int_t)i));
		if (json_int(rules_of, name, 0) > AL_RULES_PER_CLIENT) {
			snprintf(err, errlen, ".clients[%zu] has more than %d rules", i,
				 AL_RULES_PER_CLIENT);
			ret = AL_ERANGE;
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(by_hash);
	json_decref(rules_of);
	return ret;
}

static int check_doc(const json_t *doc, char *err, size_t errlen)
{
	int ret;
	size_t i;
	json_t *v;
	char pat[AL_HOST_BUF + 2];

	json_t *top = json_deep_copy(doc);
	for (i = 0; i < ARRAY_SIZE(top_arrays); i++)
		json_object_del(top, top_arrays[i]);
	ret = json_validate(top, top_fields, ARRAY_SIZE(top_fields), "", err, errlen);
	json_decref(top);
	if (ret < 0)
		return ret;
	if ((ret = check_array(doc, "clients", client_fields, ARRAY_SIZE(client_fields), err, errlen)) < 0 ||
	    (ret = check_array(doc, "rules", rule_fields, ARRAY_SIZE(rule_fields), err, errlen)) < 0 ||
	    (ret = check_array(doc, "secrets", secret_fields, ARRAY_SIZE(secret_fields), err, errlen)) < 0)
		return ret;

	/* what the enforcer refuses a whole policy for (enforcer/policy.c) is
	 * refused here too: a broker started on such a state would leave every
	 * sandbox denied, and no API call could repair it */
	if (json_array_size(state_clients(doc)) > AL_CLIENTS_MAX) {
		snprintf(err, errlen, ".clients holds more than %d clients", AL_CLIENTS_MAX);
		return AL_ERANGE;
	}
	ret = check_clients(doc, err, errlen);
	if (ret < 0)
		return ret;
	json_array_foreach(state_secrets(doc), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		size_t first;
		if (name_validate(name) < 0 || (state_secret(doc, name, &first) && first != i)) {
			snprintf(err, errlen, ".secrets[%zu].name is invalid or repeated", i);
			return AL_EINVAL;
		}
		if (host_pattern_parse(json_string_value(json_object_get(v, "host")), pat) < 0) {
			snprintf(err, errlen, ".secrets[%zu].host is not a host pattern", i);
			return AL_EINVAL;
		}
	}
	int64_t next_id = json_integer_value(json_object_get(doc, "next_id"));
	int64_t last_id = 0;
	json_array_foreach(state_rules(doc), i, v) {
		int64_t id = json_integer_value(json_object_get(v, "id"));
		/* ids grow in declaration order: that also proves them unique */
		if (id <= last_id || id >= next_id) {
			snprintf(err, errlen, ".rules[%zu].id is out of order or not below next_id", i);
			return AL_EINVAL;
		}
		last_id = id;
		if (!state_client(doc, json_string_value(json_object_get(v, "client")), NULL)) {
			snprintf(err, errlen, ".rules[%zu].client names no client", i);
			return AL_EINVAL;
		}
		if (host_pattern_parse(json_string_value(json_object_get(v, "host")), pat) < 0) {
			snprintf(err, errlen, ".rules[%zu].host is not a host pattern", i);
			return AL_EINVAL;
		}
		/* the API fills the default ports, checks the secret's name and
		 * keeps passthrough apart from what needs a request to act on */
		if (json_array_size(json_object_get(v, "ports")) == 0) {
			snprintf(err, errlen, ".rules[%zu].ports is empty", i);
			return AL_EINVAL;
		}
		const char *sec = json_string_value(json_object_get(v, "secret"));
		if (sec && name_validate(sec) < 0) {
			snprintf(err, errlen, ".rules[%zu].secret is not a secret name", i);
			return AL_EINVAL;
		}
		if (json_is_true(json_object_get(v, "passthrough")) &&
		    (sec || json_array_size(json_object_get(v, "methods")) ||
		     json_array_size(json_object_get(v, "paths")))) {
			snprintf(err, errlen, ".rules[%zu] is passthrough with a secret, methods or paths",
				 i);
			return AL_EINVAL;
		}
	}
	return 0;
}

/* A rule whose path or method a newer airlock refuses (docs/security.md,
 * "Path spellings") could never match a request, and the enforcer refuses
 * a whole policy that holds one: drop it, say so, and write the state. */
static bool rule_still_valid(const json_t *r, const char **why)
{
	size_t i;
	json_t *v;
	char buf[AL_METHOD_MAX + 1];
	json_array_foreach(json_object_get(r, "paths"), i, v)
		if (path_pattern_parse(json_string_value(v)) < 0) {
			*why = "its path is refused now";
			return false;
		}
	json_array_foreach(json_object_get(r, "methods"), i, v)
		if (method_parse(json_string_value(v), buf) < 0) {
			*why = "its method is refused now";
			return false;
		}
	return true;
}

static int drop_dead_rules(struct state *st)
{
	json_t *draft = NULL;
	size_t i, dropped = 0;
	json_t *r;
	json_array_foreach(state_rules(st->doc), i, r) {
		const char *why;
		if (rule_still_valid(r, &why))
			continue;
		log_warn("dropping a rule that can no longer match any request",
			 KV_I("rule", json_integer_value(json_object_get(r, "id"))),
			 KV_S("client", json_string_value(json_object_get(r, "client"))),
			 KV_S("host", json_string_value(json_object_get(r, "host"))), KV_S("why", why));
		dropped++;
	}
	if (!dropped)
		return 0;
	draft = state_begin(st);
	json_t *rules = state_rules(draft);
	for (i = json_array_size(rules); i-- > 0;) {
		const char *why;
		if (!rule_still_valid(json_array_get(rules, i), &why))
			json_array_remove(rules, i);
	}
	return state_commit(st, draft);
}

/* A crash between mkstemp and rename leaves "state.json.tmp.XXXXXX":
 * never the state, always safe to remove (only this process writes here). */
static void remove_stale_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	const char *prefix = STATE_FILE_NAME ".tmp.";
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			log_info("removed a temp file left by a crash", KV_S("file", e->d_name));
	}
	closedir(d);
}

int state_open(const char *dir, struct state *st, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	char perr[256];
	int ret;

	memset(st, 0, sizeof *st);
	st->dir = xstrdup(dir);
	st->path = path_join(dir, STATE_FILE_NAME);

	remove_stale_temps(dir);
	struct stat sb;
	if (stat(st->path, &sb) != 0 && errno == ENOENT) {
		st->doc = state_empty();
		ret = 0;
		goto out;
	}
	ret = file_read_all(st->path, AL_STATE_FILE_MAX, &buf, &len);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", st->path, airlock_strerror(ret));
		goto out;
	}
	ret = json_parse_object(buf, len, AL_STATE_FILE_MAX, &doc, perr, sizeof perr);
	if (ret < 0) {
		snprintf(err, errlen, "%s is not valid JSON (%s); refusing to start over it", st->path,
			 perr);
		goto out;
	}
	ret = check_doc(doc, perr, sizeof perr);
	if (ret < 0) {
		snprintf(err, errlen, "%s is not a valid airlock state (%s); refusing to start over it",
			 st->path, perr);
		json_decref(doc);
		goto out;
	}
	st->doc = doc;
	ret = drop_dead_rules(st);
	if (ret < 0)
		snprintf(err, errlen, "%s: cannot drop rules that can no longer match: %s", st->path,
			 airlock_strerror(ret));
out:
	free(buf);
	if (ret < 0) {
		free(st->dir);
		free(st->path);
		memset(st, 0, sizeof *st);
	}
	return ret;
}

int state_check(const json_t *doc, char *err, size_t errlen)
{
	return check_doc(doc, err, errlen);
}

int state_open_store(const char *dir, struct store_pg *pg, struct state *st, char *err,
		     size_t errlen)
{
	json_t *doc = NULL;
	char perr[256];
	int ret;

	memset(st, 0, sizeof *st);
	ret = store_pg_load(pg, &doc, &st->store_version, perr, sizeof perr);
	if (ret < 0) {
		snprintf(err, errlen, "%s", perr);
		return ret;
	}
	if ((ret = check_doc(doc, perr, sizeof perr)) < 0) {
		snprintf(err, errlen, "the store %s holds no valid airlock state (%s); refusing to "
			 "serve it", store_pg_target(pg), perr);
		json_decref(doc);
		return ret;
	}
	st->dir = xstrdup(dir);
	st->path = xstrdup(store_pg_target(pg));
	st->pg = pg;
	st->doc = doc;
	ret = drop_dead_rules(st);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot drop rules that can no longer match: %s", st->path,
			 airlock_strerror(ret));
		state_close(st);
	}
	return ret;
}

void state_close(struct state *st)
{
	json_decref(st->doc);
	free(st->dir);
	free(st->path);
	memset(st, 0, sizeof *st);
}

json_t *state_begin(const struct state *st)
{
	json_t *d = json_deep_copy(st->doc);
	if (!d)
		abort(); /* jansson only fails here on OOM: xmalloc.h's decision */
	return d;
}

static void purge_expired(json_t *draft, int64_t now)
{
	json_t *rules = state_rules(draft);
	for (size_t i = json_array_size(rules); i-- > 0;)
		if (!state_rule_live(json_array_get(rules, i), now))
			json_array_remove(rules, i);
}

int state_commit(struct state *st, json_t *draft)
{
	char *text;
	int ret;

	purge_expired(draft, time_now());
	if (st->pg) {
		bool stale = false;
		ret = store_pg_commit(st->pg, st->doc, draft, &st->store_version, &stale);
		if (ret < 0) {
			log_error("cannot write to the store", KV_S("store", st->path),
				  KV_S("error", airlock_strerror(ret)));
			json_decref(draft);
			return ret;
		}
		json_decref(st->doc);
		st->doc = draft;
		if (st->after_commit)
			st->after_commit(st->after_arg, stale);
		return 0;
	}
	text = json_dumps(draft, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!text)
		abort();
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	ret = file_write_atomic(st->path, text, len, 0600);
	free(text);
	if (ret < 0) {
		log_error("cannot write the state", KV_S("path", st->path),
			  KV_S("error", airlock_strerror(ret)));
		json_decref(draft);
		return ret;
	}
	json_decref(st->doc);
	st->doc = draft;
	return 0;
}

bool state_client_holds(const json_t *client)
{
	const char *od = json_string_value(json_object_get(client, "on_deny"));
	return od && strcmp(od, "hold") == 0;
}
