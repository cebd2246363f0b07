/* broker/state.c: an empty start, commit then reload, the draft discipline
 * (a dropped draft changes nothing), expired rules purged at the next write,
 * next_expiry, and the refusals of a torn or invalid state.json. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/state.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "tests/unit/unit.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static const char *const hash = "578c3652f963722993878180e71398ab225164692d1a1dbd26df424da34f8a4e";

#define HASH_LC "578c3652f963722993878180e71398ab225164692d1a1dbd26df424da34f8a4e"
#define HASH_UC "578C3652F963722993878180E71398AB225164692D1A1DBD26DF424DA34F8A4E"
#define CLIENT(name, h) "{\"name\":\"" name "\",\"token_sha256\":\"" h "\",\"created_at\":1}"
#define STATE_WITH_RULE(fields) \
	"{\"format\":1,\"next_id\":2,\"clients\":[" CLIENT("web", HASH_LC) "],\"rules\":[{\"id\":1," \
	"\"client\":\"web\",\"host\":\"a.example\",\"created_at\":1," fields "}],\"secrets\":[]}"

/* A valid document with one client and one rule; `extra` is spliced in. */
static void valid_state(char *buf, size_t cap, const char *rule_client, long long next_id,
			const char *extra)
{
	snprintf(buf, cap,
		 "{\"format\":1,\"next_id\":%lld,%s\"clients\":[{\"name\":\"web\",\"token_sha256\":\"%s\","
		 "\"created_at\":1}],\"rules\":[{\"id\":1,\"client\":\"%s\",\"host\":\"a.example\","
		 "\"ports\":[443],\"methods\":[],\"paths\":[],\"passthrough\":false,\"created_at\":1}],"
		 "\"secrets\":[]}",
		 next_id, extra, hash, rule_client);
}

int main(void)
{
	char dir[] = "/tmp/test-broker-state-XXXXXX";
	char err[512];
	struct state st;
	int64_t now = time_now();

	CHECK(mkdtemp(dir) != NULL);
	char *path = path_join(dir, STATE_FILE_NAME);

	/* empty start: no file, nothing written until the first commit */
	CHECK(state_open(dir, &st, err, sizeof err) == 0, "%s", err);
	CHECK(json_array_size(state_clients(st.doc)) == 0);
	CHECK(access(path, F_OK) != 0, "open does not write");

	/* a dropped draft changes nothing */
	json_t *d = state_begin(&st);
	json_array_append_new(state_clients(d), json_pack("{s:s,s:s,s:i}", "name", "web",
							  "token_sha256", hash, "created_at", 1));
	json_decref(d);
	CHECK(json_array_size(state_clients(st.doc)) == 0, "draft leaked into the state");

	/* commit: written 0600, ids advance */
	d = state_begin(&st);
	json_array_append_new(state_clients(d), json_pack("{s:s,s:s,s:i}", "name", "web",
							  "token_sha256", hash, "created_at", 1));
	int64_t id1 = state_take_id(d), id2 = state_take_id(d);
	CHECK(id1 == 1 && id2 == 2, "ids %lld %lld", (long long)id1, (long long)id2);
	json_array_append_new(state_rules(d),
			      json_pack("{s:I,s:s,s:s,s:[i],s:[],s:[],s:b,s:I,s:I}", "id", id1,
					"client", "web", "host", "gone.example", "ports", 443, "methods",
					"paths", "passthrough", 0, "created_at", (json_int_t)now,
					"expires_at", (json_int_t)(now - 1)));
	json_array_append_new(state_rules(d),
			      json_pack("{s:I,s:s,s:s,s:[i],s:[],s:[],s:b,s:I,s:I}", "id", id2,
					"client", "web", "host", "live.example", "ports", 443, "methods",
					"paths", "passthrough", 0, "created_at", (json_int_t)now,
					"expires_at", (json_int_t)(now + 100)));
	CHECK(state_commit(&st, d) == 0);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "mode %o", sb.st_mode & 0777);
	CHECK(json_array_size(state_rules(st.doc)) == 1, "expired rule purged at the write");
	CHECK(state_next_expiry(st.doc, now) == now + 100);
	CHECK(state_next_expiry(st.doc, now + 100) == 0, "nothing after the last expiry");
	CHECK(state_rule_live(json_array_get(state_rules(st.doc), 0), now));
	CHECK(!state_rule_live(json_array_get(state_rules(st.doc), 0), now + 100),
	      "a rule is gone at its expires_at");
	CHECK(state_client(st.doc, "web", NULL) && !state_client(st.doc, "nope", NULL));
	state_close(&st);

	/* reload: same document; a stale temp file is removed */
	char *tmp = path_join(dir, STATE_FILE_NAME ".tmp.AbC123");
	write_file(tmp, "{half");
	CHECK(state_open(dir, &st, err, sizeof err) == 0, "%s", err);
	CHECK(access(tmp, F_OK) != 0, "stale temp file removed");
	CHECK(json_integer_value(json_object_get(st.doc, "next_id")) == 3, "next_id persisted");
	CHECK_STR(json_string_value(json_object_get(json_array_get(state_rules(st.doc), 0), "host")),
		  "live.example", "rule kept");
	state_close(&st);

	/* refusals: each leaves the file as it was */
	static const struct {
		const char *what, *rule_client, *extra;
		long long next_id;
		const char *text; /* used instead when not NULL */
	} bad[] = {
		{ "empty file", NULL, NULL, 0, "" },
		{ "torn", NULL, NULL, 0, "{\"format\":1,\"next_id\":3,\"clients\":[" },
		{ "array", NULL, NULL, 0, "[]" },
		{ "unknown top field", "web", "\"colour\":1,", 2, NULL },
		{ "rule of no client", "ghost", "", 2, NULL },
		{ "id not below next_id", "web", "", 1, NULL },
		{ "clients not an array", NULL, NULL, 0,
		  "{\"format\":1,\"next_id\":1,\"clients\":{},\"rules\":[],\"secrets\":[]}" },
		{ "future format", NULL, NULL, 0,
		  "{\"format\":3,\"next_id\":1,\"clients\":[],\"rules\":[],\"secrets\":[]}" },
		/* states whose policy the enforcer would refuse whole (fuzz-state) */
		{ "one token, two clients", NULL, NULL, 0,
		  "{\"format\":1,\"next_id\":1,\"clients\":[" CLIENT("a", HASH_LC) "," CLIENT("b", HASH_UC)
		  "],\"rules\":[],\"secrets\":[]}" },
		{ "a rule without ports", NULL, NULL, 0,
		  STATE_WITH_RULE("\"ports\":[],\"methods\":[],\"paths\":[],\"passthrough\":false") },
		{ "a rule naming a secret no name can be", NULL, NULL, 0,
		  STATE_WITH_RULE("\"ports\":[443],\"methods\":[],\"paths\":[],\"secret\":\"g?h\","
				  "\"passthrough\":false") },
		{ "passthrough with a secret", NULL, NULL, 0,
		  STATE_WITH_RULE("\"ports\":[22],\"methods\":[],\"paths\":[],\"secret\":\"gh\","
				  "\"passthrough\":true") },
		{ "passthrough with a method", NULL, NULL, 0,
		  STATE_WITH_RULE("\"ports\":[22],\"methods\":[\"GET\"],\"paths\":[],\"passthrough\":true") },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[2048];
		if (bad[i].text)
			snprintf(text, sizeof text, "%s", bad[i].text);
		else
			valid_state(text, sizeof text, bad[i].rule_client, bad[i].next_id, bad[i].extra);
		write_file(path, text);
		err[0] = '\0';
		CHECK(state_open(dir, &st, err, sizeof err) < 0, "%s accepted", bad[i].what);
		CHECK(strstr(err, "refusing") || strstr(err, "cannot"), "%s: err %s", bad[i].what, err);
		char *back = NULL;
		size_t len = 0;
		CHECK(file_read_all(path, 1 << 20, &back, &len) == 0 && strcmp(back, text) == 0,
		      "%s: file changed", bad[i].what);
		free(back);
	}
	/* the twin: the same document, valid, loads */
	char text[2048];
	valid_state(text, sizeof text, "web", 2, "");
	write_file(path, text);
	CHECK(state_open(dir, &st, err, sizeof err) == 0, "valid twin: %s", err);
	state_close(&st);

	unlink(path);
	rmdir(dir);
	free(tmp);
	free(path);
	return unit_finish("test-broker-state");
}
