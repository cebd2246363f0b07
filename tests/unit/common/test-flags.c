/* common/flags.c: the table is consistent (every default is in its range
 * and reads back as itself, what the broker passes on the enforcer takes,
 * airlock up's flags are the broker's), every range holds at its bounds and
 * refuses bound + 1, and the argv loop takes and refuses what it should in
 * each process. With --json it prints the table instead, for
 * tests/integration/test-docs-flags.py to check the man pages and --help. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/flags.h"
#include "tests/unit/unit.h"

static const char *const type_names[] = {
	[FLAG_T_BOOL] = "bool", [FLAG_T_PATH] = "path", [FLAG_T_FILE] = "file",
	[FLAG_T_PROGRAM] = "program", [FLAG_T_IP] = "ip", [FLAG_T_PORT] = "port",
	[FLAG_T_UINT] = "uint", [FLAG_T_MS] = "ms", [FLAG_T_ENUM] = "enum",
	[FLAG_T_CIDR] = "cidr", [FLAG_T_HOST] = "host", [FLAG_T_PIN] = "pin", [FLAG_T_LISTEN] = "listen",
	[FLAG_T_STORE] = "store",
	[FLAG_T_URL] = "url",
};

static int print_json(void)
{
	json_t *all = json_array();
	for (int i = 0; i < FLAG_COUNT; i++) {
		const struct flag_row *r = &flag_table[i];
		char meta[64], def[64], range[64];
		json_t *procs = json_array(), *choices = json_null();
		if (r->procs & FLAG_P_UP)
			json_array_append_new(procs, json_string("up"));
		if (r->procs & FLAG_P_BROKER)
			json_array_append_new(procs, json_string("broker"));
		if (r->procs & FLAG_P_ENFORCER)
			json_array_append_new(procs, json_string("enforcer"));
		if (r->choices) {
			choices = json_array();
			for (size_t k = 0; r->choices[k]; k++)
				json_array_append_new(choices, json_string(r->choices[k]));
		}
		flag_metavar(i, meta, sizeof meta);
		bool has_def = flag_default_text(i, def, sizeof def);
		bool has_range = flag_range_text(i, range, sizeof range);
		json_array_append_new(all, json_pack(
			"{s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:b, s:s, s:o, s:o, s:o, s:o, s:s}",
			"name", r->name, "type", type_names[r->type], "procs", procs,
			"repeat", (r->attrs & FLAG_A_REPEAT) != 0, "pass", (r->attrs & FLAG_A_PASS) != 0,
			"live", (r->attrs & FLAG_A_LIVE) != 0, "zero_off", (r->attrs & FLAG_A_ZERO_OFF) != 0,
			"file_key", (r->attrs & FLAG_A_NOFILE) == 0, "metavar", meta, "default", has_def ? json_string(def) : json_null(),
			"default_note", r->def_note ? json_string(r->def_note) : json_null(),
			"range", has_range ? json_string(range) : json_null(), "choices", choices,
			"help", r->help));
	}
	char *s = json_dumps(all, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	puts(s);
	free(s);
	json_decref(all);
	return 0;
}

static bool is_list(enum flag_type t)
{
	return t == FLAG_T_CIDR || t == FLAG_T_HOST || t == FLAG_T_PIN;
}

static void test_table(void)
{
	for (int i = 0; i < FLAG_COUNT; i++) {
		const struct flag_row *r = &flag_table[i];
		char buf[64];
		long long n;
		CHECK(r->name && r->help && r->procs, "row %d complete", i);
		if (!r->name)
			continue;
		CHECK(strspn(r->name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(r->name),
		      "--%s: a lower-case name", r->name);
		for (int k = 0; k < i; k++)
			CHECK(strcmp(flag_table[k].name, r->name) != 0, "--%s: one row", r->name);
		CHECK(!strstr(r->help, "default") && !strstr(r->help, "repeatable"),
		      "--%s: help leaves the default and repeats to the row", r->name);
		CHECK((r->metavar == NULL) == (r->type == FLAG_T_BOOL || r->type == FLAG_T_ENUM),
		      "--%s: a metavar when it takes a free value", r->name);
		CHECK((r->choices != NULL) == (r->type == FLAG_T_ENUM), "--%s: choices", r->name);
		CHECK(((r->attrs & FLAG_A_REPEAT) != 0) == is_list(r->type), "--%s: lists repeat",
		      r->name);
		if (r->attrs & FLAG_A_PASS)
			CHECK((r->procs & FLAG_P_BROKER) && (r->procs & FLAG_P_ENFORCER),
			      "--%s: passed on by the broker to the enforcer, who both take it", r->name);
		if (r->procs & FLAG_P_UP)
			CHECK(r->procs & FLAG_P_BROKER, "--%s: airlock up hands it to the broker", r->name);
		if (r->attrs & FLAG_A_ZERO_OFF)
			CHECK(r->type == FLAG_T_PORT && (r->procs & FLAG_P_ENFORCER), "--%s: zero_off",
			      r->name);
		/* a default is written as a user would, and reads back as itself
		 * in every process that takes the flag */
		if (flag_default_text(i, buf, sizeof buf)) {
			CHECK(r->def_note == NULL, "--%s: one kind of default", r->name);
			for (unsigned p = FLAG_P_UP; p <= FLAG_P_ENFORCER; p <<= 1) {
				if (!(r->procs & p))
					continue;
				int rc = flag_value_parse(i, p, buf, &n);
				CHECK(rc == 0, "--%s: default '%s' refused (%d)", r->name, buf, rc);
				if (rc == 0 && r->type != FLAG_T_IP && r->type != FLAG_T_ENUM)
					CHECK(n == r->def, "--%s: default '%s' reads as %lld", r->name, buf, n);
			}
		} else {
			/* values have a default; names of files and programs may not */
			CHECK(r->type == FLAG_T_BOOL || is_list(r->type) || r->type == FLAG_T_PATH ||
			      r->type == FLAG_T_FILE || r->type == FLAG_T_PROGRAM || r->def_note,
			      "--%s: a default, or words for it", r->name);
		}
		if (r->type == FLAG_T_UINT || r->type == FLAG_T_MS) {
			CHECK(r->min <= r->max && r->min >= 0, "--%s: range", r->name);
			if (!r->def_note)
				CHECK(r->def >= r->min && r->def <= r->max, "--%s: default in range", r->name);
		}
	}
}

/* Every ranged flag takes its bounds and refuses each bound + 1, written in
 * milliseconds for the times. */
static void test_ranges(void)
{
	for (int i = 0; i < FLAG_COUNT; i++) {
		const struct flag_row *r = &flag_table[i];
		if (r->type != FLAG_T_UINT && r->type != FLAG_T_MS)
			continue;
		const char *unit = r->type == FLAG_T_MS ? "ms" : "";
		long long vals[4] = { r->min, r->max, r->min - 1, r->max + 1 };
		for (int k = 0; k < 4; k++) {
			char v[32];
			long long n = -1;
			if (vals[k] < 0)
				continue; /* "-1" is malformed, not out of range */
			snprintf(v, sizeof v, "%lld%s", vals[k], unit);
			int rc = flag_value_parse(i, FLAG_P_ENFORCER, v, &n);
			if (k < 2)
				CHECK(rc == 0 && n == vals[k], "--%s %s: rc %d, %lld", r->name, v, rc, n);
			else
				CHECK(rc == AL_ERANGE, "--%s %s: rc %d, want out of range", r->name, v, rc);
		}
	}
}

#define MAXARGS 12
struct parse_case {
	unsigned proc;
	const char *argv[MAXARGS]; /* after argv[0], NULL-terminated */
	int want;                  /* 0, FLAGS_HELP, FLAGS_VERSION, AL_EINVAL */
	const char *err;           /* a part of the message of a refusal */
};

static const struct parse_case cases[] = {
	{ FLAG_P_BROKER, { NULL }, 0, NULL },
	{ FLAG_P_ENFORCER, { "--http-port", "0", "--https-port=0", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--http-port", "0", NULL }, AL_EINVAL, "expected a port from 1 to 65535" },
	{ FLAG_P_UP, { "--http-port", "0", NULL }, AL_EINVAL, "bad --http-port '0'" },
	{ FLAG_P_ENFORCER, { "--http-port", "08", NULL }, AL_EINVAL, "from 0 (off)" },
	{ FLAG_P_BROKER, { "--enforcer", "/nonexistent/airlock-enforcer", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--metrics-listen", "127.0.0.1:9464", NULL }, 0, NULL },
	{ FLAG_P_UP, { "--metrics-listen", "[::1]:9464", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--metrics-listen", "::1:9464", NULL }, AL_EINVAL, "in brackets" },
	{ FLAG_P_BROKER, { "--metrics-listen", "localhost:9464", NULL }, AL_EINVAL, "IP:PORT" },
	{ FLAG_P_BROKER, { "--metrics-listen", "127.0.0.1:0", NULL }, AL_EINVAL, "IP:PORT" },
	{ FLAG_P_ENFORCER, { "--metrics-listen", "127.0.0.1:9464", NULL }, AL_EINVAL, NULL },
	{ FLAG_P_UP, { "--ui-listen", "127.0.0.1:8077", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--ui-listen", "localhost:8077", NULL }, AL_EINVAL, "IP:PORT" },
	{ FLAG_P_ENFORCER, { "--ui-listen", "127.0.0.1:8077", NULL }, AL_EINVAL, NULL },
	{ FLAG_P_UP, { "--enforcer", "/nonexistent/airlock-enforcer", NULL }, AL_EINVAL,
	  "expected an executable file" },
	{ FLAG_P_BROKER, { "--mode", "audit", "--mode", "audit", NULL }, AL_EINVAL, "--mode given twice" },
	{ FLAG_P_ENFORCER, { "--deny-cidr", "10.0.0.0/8", "--deny-cidr=fd00::/8", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--keyring", "--debug", "--banner", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--keyring=yes", NULL }, AL_EINVAL, "--keyring takes no value" },
	{ FLAG_P_ENFORCER, { "--keyring", NULL }, AL_EINVAL, "unknown option '--keyring'" },
	{ FLAG_P_BROKER, { "--ipc-socket", "/x", NULL }, AL_EINVAL, "unknown option '--ipc-socket'" },
	{ FLAG_P_BROKER, { "--max-con", "5", NULL }, AL_EINVAL, "unknown option '--max-con'" },
	{ FLAG_P_ENFORCER, { "--workers", NULL }, AL_EINVAL, "option '--workers' needs a value" },
	{ FLAG_P_ENFORCER, { "--workers", "2x", NULL }, AL_EINVAL, "expected a number from 1 to 256" },
	{ FLAG_P_ENFORCER, { "--head-timeout", "2h", NULL }, AL_EINVAL, "from 1ms to 1h" },
	{ FLAG_P_ENFORCER, { "--tunnel-idle-timeout", "7d", "--idle-timeout", "1d", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--bind", "[::1]", NULL }, AL_EINVAL, "IPv4 or IPv6" },
	{ FLAG_P_BROKER, { "--bind", "::1", "--bind", "::1", NULL }, AL_EINVAL, "twice" },
	{ FLAG_P_ENFORCER, { "--san", "bad name!", NULL }, AL_EINVAL, "DNS name" },
	{ FLAG_P_ENFORCER, { "--resolve", "1.2.3.4:443:127.0.0.1", NULL }, AL_EINVAL, "--resolve" },
	{ FLAG_P_ENFORCER, { "--resolve", "a.example:443:[1.2.3.4]", NULL }, AL_EINVAL, "--resolve" },
	{ FLAG_P_ENFORCER, { "--resolve", "a.example:443:[::1]", "--resolve", "b.example:80:::1",
			     "--resolve", "c.example:1:10.0.0.1", NULL }, 0, NULL },
	{ FLAG_P_ENFORCER, { "--resolve", "a.example:0:10.0.0.1", NULL }, AL_EINVAL, "--resolve" },
	{ FLAG_P_ENFORCER, { "--upstream-ca", "/nonexistent.pem", NULL }, AL_EINVAL, "readable" },
	{ FLAG_P_ENFORCER, { "--state-dir", "", NULL }, AL_EINVAL, "--state-dir" },
	{ FLAG_P_ENFORCER, { "--log-format", "yaml", NULL }, AL_EINVAL, "expected kv or json" },
	{ FLAG_P_BROKER, { "--mode", "x", NULL }, AL_EINVAL, "expected strict or audit" },
	{ FLAG_P_BROKER, { "stray", NULL }, AL_EINVAL, "unexpected argument 'stray'" },
	{ FLAG_P_BROKER, { "-x", NULL }, AL_EINVAL, "unknown option '-x'" },
	{ FLAG_P_BROKER, { "--", NULL }, 0, NULL },
	{ FLAG_P_BROKER, { "--", "x", NULL }, AL_EINVAL, "unexpected argument 'x'" },
	{ FLAG_P_BROKER, { "--workers", "2", "--help", "--bogus", NULL }, FLAGS_HELP, NULL },
	{ FLAG_P_ENFORCER, { "-h", NULL }, FLAGS_HELP, NULL },
	{ FLAG_P_ENFORCER, { "--version", NULL }, FLAGS_VERSION, NULL },
	{ FLAG_P_BROKER, { "--bogus", "--help", NULL }, AL_EINVAL, "unknown option" },
};

static int parse(const struct parse_case *c, struct flagset *fs, char *err, size_t cap)
{
	char *argv[MAXARGS + 1];
	int argc = 0;
	argv[argc++] = (char *)"prog";
	for (size_t j = 0; c->argv[j]; j++)
		argv[argc++] = (char *)c->argv[j];
	argv[argc] = NULL;
	flagset_init(fs, c->proc);
	err[0] = '\0';
	return flagset_parse_argv(fs, argc, argv, err, cap);
}

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct parse_case *c = &cases[i];
		struct flagset fs;
		char err[256];
		int rc = parse(c, &fs, err, sizeof err);
		CHECK(rc == c->want, "case %zu (%s): rc %d want %d (%s)", i,
		      c->argv[0] ? c->argv[0] : "none", rc, c->want, err);
		if (c->err)
			CHECK(strstr(err, c->err) != NULL, "case %zu: message \"%s\" lacks \"%s\"", i, err,
			      c->err);
		flagset_free(&fs);
	}

	/* values, sources and the order of uses */
	static const struct parse_case ok = {
		FLAG_P_BROKER,
		{ "--max-conns", "100", "--deny-cidr", "10.0.0.0/8", "--head-timeout", "500ms",
		  "--keyring", "--deny-cidr", "fd00::/8", "--mode=audit", NULL },
		0, NULL
	};
	struct flagset fs;
	char err[256];
	CHECK(parse(&ok, &fs, err, sizeof err) == 0, "ok: %s", err);
	CHECK(fs.v[FLAG_MAX_CONNS].num == 100 && fs.v[FLAG_MAX_CONNS].src == FLAG_SRC_ARGV, "max-conns");
	CHECK(fs.v[FLAG_HEAD_TIMEOUT].num == 500, "head-timeout in ms");
	CHECK(fs.v[FLAG_IDLE_TIMEOUT].num == 60000 && fs.v[FLAG_IDLE_TIMEOUT].src == FLAG_SRC_DEFAULT,
	      "idle-timeout by default");
	CHECK(fs.v[FLAG_MODE].num == 1, "mode is the choice's index");
	CHECK_STR(flagset_str(&fs, FLAG_MODE), "audit", "mode as given");
	CHECK_STR(flagset_str(&fs, FLAG_LOG_FORMAT), "kv", "log-format by default");
	CHECK_STR(flagset_str(&fs, FLAG_BIND), "127.0.0.1", "bind by default");
	CHECK(flagset_str(&fs, FLAG_STATE_DIR) == NULL, "state dir: worked out by the caller");
	CHECK(fs.v[FLAG_HTTP_PORT].num == 3128 && fs.v[FLAG_HTTPS_PORT].num == 3129, "ports");
	CHECK(fs.v[FLAG_KEYRING].n == 1 && fs.v[FLAG_DEBUG].n == 0, "bools");
	CHECK(fs.v[FLAG_DENY_CIDR].n == 2, "two deny-cidr");
	if (fs.v[FLAG_DENY_CIDR].n == 2) {
		CHECK_STR(fs.v[FLAG_DENY_CIDR].list[0], "10.0.0.0/8", "first");
		CHECK_STR(fs.v[FLAG_DENY_CIDR].list[1], "fd00::/8", "second");
	}
	static const enum flag_id order[] = { FLAG_MAX_CONNS, FLAG_DENY_CIDR, FLAG_HEAD_TIMEOUT,
					      FLAG_KEYRING, FLAG_DENY_CIDR, FLAG_MODE };
	CHECK(fs.nuses == 6, "six uses");
	for (size_t k = 0; k < 6 && k < fs.nuses; k++)
		CHECK(fs.uses[k].id == order[k], "use %zu", k);
	CHECK(fs.nuses == 6 && fs.uses[3].value == NULL && strcmp(fs.uses[5].value, "audit") == 0,
	      "values as given");
	flagset_free(&fs);
}

/* The help of process proc, lines unwrapped: runs of blanks as one space. */
static char *help_of(unsigned proc, bool unwrap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	flag_help_print(f, proc);
	fclose(f);
	if (unwrap) {
		size_t o = 0;
		for (size_t i = 0; text[i]; i++)
			if (!(text[i] == '\n' || text[i] == ' ') || (o && text[o - 1] != ' '))
				text[o++] = text[i] == '\n' ? ' ' : text[i];
		text[o] = '\0';
	}
	return text;
}

/* --help lists a process's flags with their defaults and ranges, and no other. */
static void test_help(void)
{
	char *text = help_of(FLAG_P_ENFORCER, true);
	CHECK(strstr(text, "--head-timeout T") && strstr(text, "(default 10s; 1ms to 1h)"),
	      "head-timeout: %s", text);
	CHECK(strstr(text, "--mode strict|audit"), "mode's choices");
	CHECK(strstr(text, "0 turns it off"), "the enforcer's ports may be off");
	CHECK(strstr(text, "--ipc-socket PATH") && !strstr(text, "--keyring") && !strstr(text, "--banner"),
	      "the enforcer's flags only");
	free(text);
	text = help_of(FLAG_P_UP, true);
	CHECK(!strstr(text, "--banner") && !strstr(text, "--ipc-socket") && !strstr(text, "turns it off"),
	      "airlock up's flags only");
	CHECK(strstr(text, "--deny-cidr CIDR never connect") && strstr(text, "(repeatable)"),
	      "repeatable");
	free(text);
	text = help_of(FLAG_P_UP, false);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		CHECK(nl && nl - p <= 79, "lines fit 79 columns: %.*s", (int)(nl ? nl - p : 80), p);
		p = nl ? nl + 1 : p + strlen(p);
	}
	free(text);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return print_json();
	test_table();
	test_ranges();
	test_parse();
	test_help();
	return unit_finish("test-flags");
}
