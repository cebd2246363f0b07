/* Unit tests of common/log.c: the key=value and JSON line formats, quoting
 * and escaping of hostile values, truncation, and above all that no token,
 * credential header or sensitive key's value ever reaches a rendered line. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/unit/unit.h"

#define TS_LEN 24 /* 2026-11-23T04:13:50.123Z */

static bool ts_ok(const char *ts)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	for (int i = 0; i < TS_LEN; i++) {
		if (shape[i] == 'd' ? (ts[i] < '0' || ts[i] > '9') : ts[i] != shape[i])
			return false;
	}
	return true;
}

/* The line after "ts=<stamp>", checking the stamp's shape. */
static const char *kv_rest(const char *line)
{
	if (strncmp(line, "ts=", 3) != 0 || !ts_ok(line + 3))
		return "(bad ts)";
	return line + 3 + TS_LEN;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_kv_lines(void)
{
	char buf[1024];
	const struct log_kv kv[] = { KV_S("client", "web-1"), KV_I("n", 5), KV_S("skip", NULL),
				     KV_I("neg", -12) };
	const struct log_kv dec[] = { KV_S("client", "web-1"), KV_S("method", "GET"),
				      KV_S("scheme", "https"), KV_S("host", "api.example.com"),
				      KV_I("port", 443), KV_S("path", "/v1/models"),
				      KV_S("mode", "audit"), KV_S("reason", "no-rule") };

	log_render(buf, sizeof buf, LOG_FMT_KV, "info", "hello world", kv, N(kv));
	CHECK_STR(kv_rest(buf), " level=info msg=\"hello world\" client=web-1 n=5 neg=-12", buf);
	log_render(buf, sizeof buf, LOG_FMT_KV, "warn", "started", NULL, 0);
	CHECK_STR(kv_rest(buf), " level=warn msg=started", buf);
	log_render(buf, sizeof buf, LOG_FMT_KV, "deny", NULL, dec, N(dec));
	CHECK_STR(kv_rest(buf),
		  " deny client=web-1 method=GET scheme=https host=api.example.com port=443 "
		  "path=/v1/models mode=audit reason=no-rule",
		  buf);
	CHECK(strchr(buf, '\n') == NULL, "no newline in a rendered line");
}

static void test_kv_quoting(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain", "plain" },
		{ "/a/b?c&d", "/a/b?c&d" },
		{ "", "\"\"" },
		{ "a b", "\"a b\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "k=v", "\"k=v\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "line\nforged=1 level=error", "\"line\\nforged=1 level=error\"" },
		{ "cr\rlf", "\"cr\\rlf\"" },
		{ "tab\there", "\"tab\\there\"" },
		{ "\x1b[31mred", "\"\\x1b[31mred\"" },
		{ "del\x7f", "\"del\\x7f\"" },
		{ "caf\xc3\xa9", "\"caf\\xc3\\xa9\"" },
	};
	char buf[512], want[256];

	for (size_t i = 0; i < N(cases); i++) {
		struct log_kv kv[] = { KV_S("path", cases[i].in) };
		log_render(buf, sizeof buf, LOG_FMT_KV, "info", "m", kv, 1);
		snprintf(want, sizeof want, " level=info msg=m path=%s", cases[i].want);
		CHECK_STR(kv_rest(buf), want, cases[i].want);
	}
	/* A message is quoted the same way; an odd key cannot break the line. */
	{
		struct log_kv kv[] = { KV_S("bad key=x", "v") };
		log_render(buf, sizeof buf, LOG_FMT_KV, "error", "two\nlines", kv, 1);
		CHECK_STR(kv_rest(buf), " level=error msg=\"two\\nlines\" bad_key_x=v", buf);
	}
}

static void test_redaction(void)
{
	static const char *const secret_values[] = {
		"Bearer sk-live-abcdef0123456789",
		"bearer abc",
		"Basic dXNlcjpodW50ZXIy",
		"alk_Qm9vdHN0cmFwVG9rZW5Gb3JUZXN0aW5nT25seTEyMzQ",
		"sk-ant-api03-" "AAAAAAAAAAAAAAAAAAAA",
		"sk-proj-AAAAAAAAAAAAAAAA",
		"ghp_" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"gho_" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"ghu_" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"github_pat_11AAAAAAAAAAAAAAAAAAAAAAAA",
		"xai-" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"refresh failed for token alk_Qm9vdHN0cmFwVG9rZW5Gb3JUZXN0aW5nT25seTEyMzQ now",
		"header was Authorization: Bearer xyz123",
	};
	static const char *const plain_values[] = {
		"api.example.com", "Bearer", "bearer ", "basically", "/v1/models", "alk_short",
		"github", "sk-", "eyJ", "no-rule", "oauth-claude", "desk-ant-x",
	};
	static const char *const secret_keys[] = {
		"token", "Token", "value", "password", "authorization", "Proxy-Authorization",
		"cookie", "set-cookie", "secret_value", "refresh_token", "access_token", "id-token",
		"client_secret", "api_key", "x-api-key",
	};
	static const char *const plain_keys[] = {
		"client", "secret", "host", "path", "reason", "tokens_used", "token_sha256_prefix", "keys",
	};
	char buf[1024];

	for (size_t i = 0; i < N(secret_values); i++) {
		struct log_kv kv[] = { KV_S("note", secret_values[i]) };
		CHECK(log_value_is_sensitive(secret_values[i]), "\"%s\" is sensitive", secret_values[i]);
		for (int f = 0; f < 2; f++) {
			log_render(buf, sizeof buf, f ? LOG_FMT_JSON : LOG_FMT_KV, "info", "m", kv, 1);
			CHECK(strstr(buf, "[redacted]") != NULL, "%s", buf);
			CHECK(strstr(buf, secret_values[i] + 6) == NULL, "leaked: %s", buf);
			/* As a message too. */
			log_render(buf, sizeof buf, f ? LOG_FMT_JSON : LOG_FMT_KV, "info", secret_values[i], NULL, 0);
			CHECK(strstr(buf, secret_values[i] + 6) == NULL, "leaked as msg: %s", buf);
		}
	}
	for (size_t i = 0; i < N(plain_values); i++) {
		struct log_kv kv[] = { KV_S("note", plain_values[i]) };
		CHECK(!log_value_is_sensitive(plain_values[i]), "\"%s\" is not sensitive", plain_values[i]);
		log_render(buf, sizeof buf, LOG_FMT_KV, "info", "m", kv, 1);
		CHECK(strstr(buf, "[redacted]") == NULL, "%s", buf);
	}
	for (size_t i = 0; i < N(secret_keys); i++) {
		struct log_kv kv[] = { KV_S(secret_keys[i], "hunter2-plain-looking"), KV_I(secret_keys[i], 123456789) };
		CHECK(log_key_is_sensitive(secret_keys[i]), "key %s", secret_keys[i]);
		for (int f = 0; f < 2; f++) {
			log_render(buf, sizeof buf, f ? LOG_FMT_JSON : LOG_FMT_KV, "deny", NULL, kv, 2);
			CHECK(strstr(buf, "hunter2") == NULL && strstr(buf, "123456789") == NULL, "leaked: %s", buf);
			CHECK(strstr(buf, "[redacted]") != NULL, "%s", buf);
		}
	}
	for (size_t i = 0; i < N(plain_keys); i++) {
		struct log_kv kv[] = { KV_S(plain_keys[i], "github") };
		CHECK(!log_key_is_sensitive(plain_keys[i]), "key %s", plain_keys[i]);
		log_render(buf, sizeof buf, LOG_FMT_KV, "allow", NULL, kv, 1);
		CHECK(strstr(buf, "=github") != NULL, "%s", buf);
	}
	CHECK(!log_key_is_sensitive(NULL) && !log_value_is_sensitive(NULL));
}

/* log_kv_redact() once, then render twice (as the decision line is, for
 * the log and for the feed): the same bytes as rendering the fields as
 * given, in both formats, secrets and all. */
static void test_redact_once(void)
{
	const struct log_kv given[] = {
		KV_S("client", "web-1"),  KV_S("path", "/v1/Bearer sk-live-abcdef0123456789"),
		KV_S("host", "api.example.com"), KV_S("token", "plain-looking"), KV_I("port", 443),
		KV_I("password", 1234), KV_S("reason", NULL), KV_S("hint", "alk_Qm9vdHN0cmFwVG9rZW5Gb3JUZXN0aW5nT25seTEyMzQ"),
		KV_S("msg", "a \"quoted\" value\n"), KV_S(NULL, "ignored"),
	};
	size_t n = sizeof given / sizeof given[0];
	struct log_kv once[sizeof given / sizeof given[0]];
	memcpy(once, given, sizeof given);
	log_kv_redact(once, n);
	for (int f = 0; f < 2; f++) {
		enum log_format fmt = f ? LOG_FMT_JSON : LOG_FMT_KV;
		char a[1024], b[1024];
		log_render(a, sizeof a, fmt, "allow", NULL, given, n);
		log_render(b, sizeof b, fmt, "allow", NULL, once, n);
		/* the timestamps may differ by a millisecond: compare after them */
		const char *ta = strstr(a, f ? "\"verdict\"" : " allow"), *tb = strstr(b, f ? "\"verdict\"" : " allow");
		CHECK(ta && tb && strcmp(ta, tb) == 0, "format %d:\n%s\n%s", f, a, b);
		CHECK(!strstr(b, "sk-live-abcdef0123456789") && !strstr(b, "plain-looking") && !strstr(b, "1234") &&
		      !strstr(b, "alk_Qm9v"), "redacted: %s", b);
		CHECK(strstr(b, "web-1") && strstr(b, "api.example.com") && strstr(b, "443"), "the rest stays: %s", b);
	}
}

static void test_json_lines(void)
{
	char buf[1024];
	json_error_t jerr;
	json_t *v;
	const struct log_kv kv[] = { KV_S("client", "web-1"), KV_I("port", 443),
				     KV_S("path", "/a\"b\\c\n\x01\xff"), KV_S("token", "alk_x"),
				     KV_S("name", "caf\xc3\xa9") };

	log_render(buf, sizeof buf, LOG_FMT_JSON, "deny", NULL, kv, N(kv));
	CHECK(strncmp(buf, "{\"ts\":\"", 7) == 0 && ts_ok(buf + 7), "%s", buf);
	v = json_loads(buf, 0, &jerr);
	CHECK(v != NULL, "valid JSON: %s (%s)", buf, jerr.text);
	if (v) {
		CHECK_STR(json_string_value(json_object_get(v, "verdict")), "deny", buf);
		CHECK(json_object_get(v, "level") == NULL && json_object_get(v, "msg") == NULL);
		CHECK_STR(json_string_value(json_object_get(v, "client")), "web-1", buf);
		CHECK(json_integer_value(json_object_get(v, "port")) == 443, "%s", buf);
		CHECK_STR(json_string_value(json_object_get(v, "path")), "/a\"b\\c\n\x01\xef\xbf\xbd", buf);
		CHECK_STR(json_string_value(json_object_get(v, "token")), "[redacted]", buf);
		CHECK_STR(json_string_value(json_object_get(v, "name")), "caf\xc3\xa9", buf);
		json_decref(v);
	}
	log_render(buf, sizeof buf, LOG_FMT_JSON, "warn", "hello \"you\"", kv, 1);
	v = json_loads(buf, 0, &jerr);
	CHECK(v != NULL, "valid JSON: %s", buf);
	if (v) {
		CHECK_STR(json_string_value(json_object_get(v, "level")), "warn", buf);
		CHECK_STR(json_string_value(json_object_get(v, "msg")), "hello \"you\"", buf);
		CHECK(json_object_get(v, "verdict") == NULL);
		json_decref(v);
	}
}

static void test_truncation(void)
{
	char buf[64], big[300];
	struct log_kv kv[] = { KV_S("path", big) };
	size_t n;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	n = log_render(buf, sizeof buf, LOG_FMT_KV, "info", "m", kv, 1);
	CHECK(n == sizeof buf - 1 && strlen(buf) == n, "n=%zu", n);
	CHECK(strcmp(buf + n - 3, "...") == 0, "%s", buf);
	/* A redacted value never gets cut in a way that shows part of it. */
	{
		char tok[] = "alk_Qm9vdHN0cmFwVG9rZW5Gb3JUZXN0aW5nT25seTEyMzQ";
		struct log_kv t[] = { KV_S("note", tok) };
		for (size_t cap = 1; cap < 120; cap++) {
			char small[128];
			log_render(small, cap, LOG_FMT_KV, "info", "m", t, 1);
			CHECK(strstr(small, "Qm9v") == NULL && strlen(small) < cap, "cap %zu", cap);
		}
	}
	CHECK(log_render(buf, 0, LOG_FMT_KV, "info", "m", kv, 1) == 0);
}

static void test_writer(void)
{
	char path[] = "/tmp/airlock-test-log.XXXXXX";
	char content[4096];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w+");
	size_t n;
	enum log_format fmt;

	CHECK(log_format_parse("kv", &fmt) == 0 && fmt == LOG_FMT_KV);
	CHECK(log_format_parse("json", &fmt) == 0 && fmt == LOG_FMT_JSON);
	CHECK(log_format_parse("xml", &fmt) == AL_EINVAL);
	CHECK(log_format_parse("", &fmt) == AL_EINVAL);
	CHECK(log_format_parse(NULL, &fmt) == AL_EINVAL);

	log_init("test", LOG_FMT_KV, LOG_LVL_INFO, f);
	log_info("first", KV_S("a", "b"));
	log_debug("filtered out");
	log_error("second", KV_S("token", "alk_Qm9vdHN0cmFwVG9rZW5Gb3JUZXN0aW5nT25seTEyMzQ"), KV_I("n", 1));
	log_decision("allow", KV_S("client", "c1"), KV_S("host", "h"));
	log_init("test", LOG_FMT_JSON, LOG_LVL_DEBUG, f);
	log_debug("debug now", KV_S("k", "v"));
	log_init("test", LOG_FMT_KV, LOG_LVL_INFO, stderr);

	n = (size_t)pread(fd, content, sizeof content - 1, 0);
	content[n] = '\0';
	CHECK(strstr(content, "level=info msg=first a=b\n") != NULL, "%s", content);
	CHECK(strstr(content, "filtered") == NULL, "%s", content);
	CHECK(strstr(content, "level=error msg=second token=[redacted] n=1\n") != NULL, "%s", content);
	CHECK(strstr(content, "Qm9v") == NULL, "%s", content);
	CHECK(strstr(content, "Z allow client=c1 host=h\n") != NULL, "%s", content);
	CHECK(strstr(content, "\"level\":\"debug\",\"msg\":\"debug now\",\"k\":\"v\"}\n") != NULL, "%s", content);
	{
		int lines = 0;
		for (char *p = content; *p; p++)
			lines += *p == '\n';
		CHECK(lines == 4, "%d lines", lines);
	}
	fclose(f);
	unlink(path);
}

int main(void)
{
	test_kv_lines();
	test_kv_quoting();
	test_redaction();
	test_redact_once();
	test_json_lines();
	test_truncation();
	test_writer();
	return unit_finish("test-log");
}
