/* common/logread.c, the decision log reader, against common/log.c, the
 * writer: a decision line with every field, written by log_render() in
 * each format (with values that need quoting and escapes), reads back to
 * the same fields; operational lines and lines airlock did not write are
 * not decisions; malformed lines are refused. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/logread.h"
#include "tests/unit/unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every field, as the enforcer's decision_emit() writes it. */
static const struct {
	enum logread_field f;
	const char *key;
	const char *s; /* a string field, or NULL */
	long long i;
} every[] = {
	{ LF_CLIENT, "client", "web-1", 0 },
	{ LF_METHOD, "method", "POST", 0 },
	{ LF_SCHEME, "scheme", "https", 0 },
	{ LF_HOST, "host", "api.example.com", 0 },
	{ LF_PORT, "port", NULL, 8443 },
	{ LF_PATH, "path", "/v1/a b\"c\\d\te\x01\xc3\xa9=", 0 },
	{ LF_MODE, "mode", "audit", 0 },
	{ LF_RULE, "rule", NULL, 12 },
	{ LF_INJECT, "inject", "openai", 0 },
	{ LF_REASON, "reason", "path-not-allowed", 0 },
	{ LF_STATUS, "status", NULL, 403 },
	{ LF_BYTES_UP, "bytes_up", NULL, 1234567890123LL },
	{ LF_BYTES_DOWN, "bytes_down", NULL, 0 },
	{ LF_MS, "ms", NULL, 17 },
	{ LF_SCRUBBED, "scrubbed", NULL, 2 },
	{ LF_HINT, "hint", "secret-available", 0 },
	{ LF_UPGRADE, "upgrade", "websocket", 0 },
	{ LF_VIA, "via", "socks5", 0 },
	{ LF_SRC, "src", "[2001:db8::1]:40000", 0 },
	{ LF_REQ, "req", "0192f3a4b5c6000000a1", 0 },
};

static void test_roundtrip(enum log_format fmt)
{
	char line[4096], scratch[4096], num[32];
	struct log_kv kv[N(every)];
	struct logread_line l;

	CHECK(N(every) == LF_COUNT - 2, "every field but ts and verdict is in the table");
	for (size_t i = 0; i < N(every); i++)
		kv[i] = every[i].s ? KV_S(every[i].key, every[i].s) : KV_I(every[i].key, every[i].i);
	size_t len = log_render(line, sizeof line, fmt, "deny", NULL, kv, N(kv));
	CHECK(logread_parse(line, len, &l, scratch) == 0, "format %d: a decision: %s", fmt, line);
	CHECK(logread_has(&l, LF_TS) && strlen(l.ts) == 24 && l.ts[23] == 'Z', "ts %s", l.ts);
	CHECK_STR(logread_get(&l, LF_VERDICT), "deny", "verdict");
	for (size_t i = 0; i < N(every); i++) {
		CHECK_STR(logread_key(every[i].f), every[i].key, "key");
		if (every[i].s) {
			CHECK_STR(logread_get(&l, every[i].f), every[i].s, every[i].key);
		} else {
			snprintf(num, sizeof num, "%lld", every[i].i);
			CHECK_STR(logread_get(&l, every[i].f), num, every[i].key);
		}
	}
	CHECK(l.seen == (1u << LF_COUNT) - 1, "every field seen: %#x", l.seen);

	/* a field left out is absent, and a trailing CR is not part of the line */
	len = log_render(line, sizeof line, fmt, "allow", NULL, kv, 5); /* client..port */
	line[len++] = '\r';
	CHECK(logread_parse(line, len, &l, scratch) == 0, "with CR");
	CHECK(logread_get(&l, LF_REASON) == NULL && !logread_has(&l, LF_PATH) && logread_has(&l, LF_PORT),
	      "only the fields written");
	CHECK_STR(logread_get(&l, LF_PORT), "8443", "port with CR");

	/* an operational line is not a decision */
	len = log_render(line, sizeof line, fmt, "info", "enforcer started", kv, 2);
	CHECK(logread_parse(line, len, &l, scratch) == 1, "operational: %s", line);
}

static const struct {
	const char *line;
	int want;
} lines[] = {
	{ "ts=2026-01-01T00:00:00.000Z deny client=a host=h port=1 reason=no-rule", 0 },
	{ "ts=2026-01-01T00:00:00.000Z deny newfield=x host=h", 0 },      /* unknown keys skipped */
	{ "ts=2026-01-01T00:00:00.000Z level=info msg=x", 1 },
	{ "Nov 23 host airlock[1]: ts=2026-01-01T00:00:00.000Z deny host=h", 1 },
	{ "", 1 },
	{ "ts=2026-01-01T00:00:00.000Z deny host=a host=b", AL_EINVAL },  /* a field twice */
	{ "ts=2026-01-01T00:00:00.000Z deny allow host=a", AL_EINVAL },   /* two verdicts */
	{ "ts=2026-01-01T00:00:00.000Z host=a deny", AL_EINVAL },         /* verdict not second */
	{ "ts=2026-01-01T00:00:00.000Z deny path=\"/unterminated", AL_EINVAL },
	{ "ts=2026-01-01T00:00:00.000Z deny path=\"/bad\\q\"", AL_EINVAL },
	{ "ts=2026-01-01T00:00:00.000Z deny path=\"/x\\x0\"", AL_EINVAL },
	{ "ts=2026-01-01T00:00:00.000Z deny path=\"/nul\\x00\"", AL_EINVAL },
	{ "ts=2026-01-01T00:00:00.000Z deny path=\"/a\"b", AL_EINVAL },
	{ "ts=2026-01-01T00:00:00.000Z deny host=a\"b", AL_EINVAL },
	{ "ts=2026-01-01T00:00:00.000Z deny  host=a", AL_EINVAL },
	{ "ts=2026-01-01T00:00:00.000Z deny port=123456789", AL_EINVAL }, /* over its cap */
	{ "{\"ts\":\"t\",\"verdict\":\"deny\",\"port\":443,\"host\":\"h\"}", 0 },
	{ "{\"ts\":\"t\",\"level\":\"info\",\"msg\":\"x\"}", 1 },
	{ "{\"ts\":\"t\",\"verdict\":\"deny\",\"port\":443.5}", AL_EINVAL },
	{ "{\"ts\":\"t\",\"verdict\":\"deny\",\"verdict\":\"deny\"}", AL_EINVAL },
	{ "{\"ts\":\"t\",\"verdict\":\"deny\",\"host\":\"a\\u0000b\"}", AL_EINVAL },
	{ "{\"ts\":\"t\",\"verdict\":\"deny\"", AL_EINVAL },
	{ "[1]", 1 },
};

static void test_lines(void)
{
	char scratch[256];
	struct logread_line l;
	for (size_t i = 0; i < N(lines); i++) {
		int rc = logread_parse(lines[i].line, strlen(lines[i].line), &l, scratch);
		CHECK(rc == lines[i].want, "%s: %d, want %d", lines[i].line, rc, lines[i].want);
	}
}

int main(void)
{
	log_init("test-logread", LOG_FMT_KV, LOG_LVL_INFO, stderr);
	test_roundtrip(LOG_FMT_KV);
	test_roundtrip(LOG_FMT_JSON);
	test_lines();
	return unit_finish("test-logread");
}
