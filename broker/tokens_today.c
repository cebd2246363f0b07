/* The day's LLM token counts (tokens_today.h): a JSON object
 * {"day": N, "clients": {NAME: TOKENS...}} in memory, a copy of the
 * enforcer's budget table as its last report gave it, and, at most once a
 * second while it changes, in tokens-today.json. */
#include "config.h"

#include "broker/tokens_today.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broker/state.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

#define TOKENS_TODAY_FILE "tokens-today.json"
#define TOKENS_TODAY_FILE_MAX (2u << 20)   /* AL_BUDGET_ENTRIES_MAX names and counts, with room */
#define TOKENS_TODAY_WRITE_MS 1000

struct tokens_today {
	int64_t day;          /* UTC day number of `clients` */
	json_t *clients;      /* name -> tokens */
	bool dirty;           /* changed since the last write */
	int64_t written_ms;   /* wall clock of the last write */
};

static int64_t today(void)
{
	return time_now() / 86400;
}

static struct tokens_today *tt(struct broker *b)
{
	if (!b->tokens_today) {
		b->tokens_today = xcalloc(1, sizeof *b->tokens_today);
		b->tokens_today->clients = json_object();
		b->tokens_today->day = today();
	}
	return b->tokens_today;
}

static char *file_path(const struct broker *b)
{
	return path_join(b->cfg.state_dir, TOKENS_TODAY_FILE);
}

/* The file's clients when it is well formed, else NULL with *why set. */
static json_t *parse_file(const char *text, size_t len, int64_t *day, const char **why)
{
	json_error_t e;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e), *clients;
	const char *name;
	json_t *v;

	*why = "not a JSON object";
	if (!json_is_object(doc))
		goto bad;
	*why = "no day";
	if (!json_is_integer(json_object_get(doc, "day")))
		goto bad;
	*day = json_integer_value(json_object_get(doc, "day"));
	clients = json_object_get(doc, "clients");
	*why = "no clients object";
	if (!json_is_object(clients) || json_object_size(doc) != 2)
		goto bad;
	*why = "too many clients";
	if (json_object_size(clients) > AL_BUDGET_ENTRIES_MAX)
		goto bad;
	json_object_foreach(clients, name, v) {
		*why = "a client name that is not one";
		if (name_validate(name) < 0)
			goto bad;
		*why = "a count that is not a non-negative integer";
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			goto bad;
	}
	json_incref(clients);
	json_decref(doc);
	return clients;
bad:
	json_decref(doc);
	return NULL;
}

void tokens_today_load(struct broker *b)
{
	struct tokens_today *t = tt(b);
	char *path = file_path(b), *text = NULL;
	size_t len = 0;
	int ret = file_read_all(path, TOKENS_TODAY_FILE_MAX, &text, &len);
	if (ret == AL_ENOTFOUND) {
		free(path);
		return;
	}
	const char *why = airlock_strerror(ret);
	int64_t day = 0;
	json_t *clients = ret == 0 ? parse_file(text, len, &day, &why) : NULL;
	free(text);
	if (!clients) {
		log_warn("the day's LLM token counts are not read; token budgets start from zero",
			 KV_S("file", path), KV_S("why", why));
	} else if (day == t->day) {
		json_decref(t->clients);
		t->clients = clients;
		log_info("LLM token counts of the day read", KV_S("file", path),
			 KV_I("clients", (long long)json_object_size(clients)));
	} else {
		json_decref(clients);   /* another day's: a new day starts from zero */
	}
	free(path);
}

static void write_now(struct broker *b, struct tokens_today *t)
{
	json_t *doc = json_pack("{s:I, s:O}", "day", (json_int_t)t->day, "clients", t->clients);
	char *text = doc ? json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	char *path = file_path(b);
	int ret = text ? file_write_atomic(path, text, strlen(text), 0600) : AL_EINVAL;
	if (ret < 0)
		log_warn("cannot write the day's LLM token counts; will retry", KV_S("file", path),
			 KV_S("error", airlock_strerror(ret)));
	else
		t->dirty = false;
	t->written_ms = time_now_ms();
	free(text);
	free(path);
	json_decref(doc);
}

void tokens_today_note(struct broker *b, const json_t *msg)
{
	const json_t *arr = json_object_get(msg, "tokens_today");
	struct tokens_today *t = tt(b);
	size_t i;
	json_t *v;

	if (!arr)
		return;   /* a frame of a worker that does not report them */
	/* the enforcer's whole table: what it no longer counts is gone */
	json_t *now = json_object();
	t->day = today();
	json_array_foreach(arr, i, v)
		if (json_int(v, "day", 0) == t->day)
			json_object_set_new(now, json_str(v, "client", ""), json_integer(json_int(v, "tokens", 0)));
	if (!json_equal(now, t->clients)) {
		json_decref(t->clients);
		t->clients = now;
		t->dirty = true;
	} else {
		json_decref(now);
	}
	if (t->dirty && time_now_ms() - t->written_ms >= TOKENS_TODAY_WRITE_MS)
		write_now(b, t);
}

json_t *tokens_today_msg(struct broker *b)
{
	struct tokens_today *t = tt(b);
	const char *name;
	json_t *v;
	if (t->day != today() || json_object_size(t->clients) == 0)
		return NULL;
	json_t *clients = json_array();
	json_object_foreach(t->clients, name, v)
		json_array_append_new(clients, json_pack("{s:s, s:O}", "name", name, "tokens", v));
	return json_pack("{s:s, s:I, s:o}", "type", IPC_MSG_TOKENS_TODAY, "day", (json_int_t)t->day,
			 "clients", clients);
}

json_t *tokens_today_status(struct broker *b)
{
	struct tokens_today *t = tt(b);
	json_t *out = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(state_clients(b->state.doc), i, c) {
		json_int_t max = json_int(c, "max_tokens_per_day", 0);
		const char *name = json_str(c, "name", "");
		if (max <= 0)
			continue;
		json_t *n = t->day == today() ? json_object_get(t->clients, name) : NULL;
		json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "client", name, "tokens",
						     n ? json_integer_value(n) : (json_int_t)0,
						     "max_tokens_per_day", max));
	}
	return out;
}

void tokens_today_free(struct broker *b)
{
	struct tokens_today *t = b->tokens_today;
	if (!t)
		return;
	if (t->dirty)
		write_now(b, t);
	json_decref(t->clients);
	free(t);
	b->tokens_today = NULL;
}
