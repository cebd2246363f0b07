/* libFuzzer target for the broker's "headers" answer as the enforcer reads
 * it (enforcer/mitm.c inject_from_answer): bytes -> JSON -> headers, strip
 * and merge lists. Whatever is accepted must be safe to write into a request
 * head: names are tokens, values carry no CR, LF or NUL, counts are capped;
 * and the head reqhead_build writes with it (over a fixed sandbox request)
 * is well formed: CRLF line ends only, one blank line at the end, no
 * Authorization but the injected ones, no Upgrade: h2c. */
#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/ipc.h"
#include "enforcer/conn.h"
#include "enforcer/mitm.h"
#include "enforcer/reqhead.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *n)
{
	if (!n || !*n || strpbrk(n, " \t\r\n:\"(),/;<=>?@[\\]{}"))
		__builtin_trap();
}

static const char sandbox_req[] =
	"POST /v1/messages?beta=true HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer placeholder-7f3a9c\r\n"
	"x-api-key: sk-placeholder\r\nanthropic-beta: a-1,b-2\r\nanthropic-beta: c-3\r\n"
	"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n"
	"Content-Length: 2\r\n\r\n{}";

static int on_head(void *arg)
{
	(void)arg;
	return HPE_PAUSED;
}

static const struct http_msg_cb cb = { .on_head = on_head };

static void check_head(const struct inject *inj, bool echoed)
{
	static struct http_msg m;
	static bool parsed;
	if (!parsed) {
		size_t used;
		http_msg_init(&m, true, 65536, 100, &cb, NULL);
		if (http_msg_feed(&m, sandbox_req, sizeof sandbox_req - 1, &used) != HTTP_FEED_PAUSED)
			__builtin_trap();
		parsed = true;
	}
	struct fwd_req r = { .host = "api.example.com", .kind = HOST_DNS, .port = 443, .tls = true,
			     .path = "/v1/messages", .query = "?beta=true", .qlen = 10, .inj = inj };
	struct sbuf b = { 0 };
	reqhead_build(&b, &m, "POST", &r);
	if (b.len < 4 || memcmp(b.p + b.len - 4, "\r\n\r\n", 4) != 0 || strstr(b.p, "\r\n\r\n") != b.p + b.len - 4)
		__builtin_trap();
	for (size_t i = 0; i < b.len; i++) {
		if (b.p[i] == '\n' && (i == 0 || b.p[i - 1] != '\r'))
			__builtin_trap();
		if (b.p[i] == '\r' && (i + 1 == b.len || b.p[i + 1] != '\n'))
			__builtin_trap();
		if (b.p[i] == '\0')
			__builtin_trap();
	}
	/* the sandbox's Authorization is gone (unless the answer itself carries its marker) */
	if (!echoed && strstr(b.p, "placeholder-7f3a9c"))
		__builtin_trap();
	/* no line may start a framing or upgrade field the sandbox sent */
	if (strstr(b.p, "\r\nUpgrade:") || strstr(b.p, "\r\nHTTP2-Settings:") || strstr(b.p, "\r\nContent-Length: 2\r\n") == NULL)
		__builtin_trap();
	secure_free(b.p, b.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inject inj;
	json_t *ans = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!ans)
		return 0;
	if (inject_from_answer(ans, &inj) == 0) {
		if (inj.nadd > AL_INJECT_HEADERS_MAX || inj.nmerge > AL_INJECT_HEADERS_MAX ||
		    inj.nstrip > AL_INJECT_HEADERS_MAX)
			__builtin_trap();
		for (size_t i = 0; i < inj.nadd; i++) {
			check_name(inj.add[i].name);
			if (memchr(inj.add[i].value, '\r', inj.add[i].vlen) || memchr(inj.add[i].value, '\n', inj.add[i].vlen) ||
			    memchr(inj.add[i].value, '\0', inj.add[i].vlen))
				__builtin_trap();
		}
		for (size_t i = 0; i < inj.nmerge; i++) {
			check_name(inj.merge[i].name);
			if (strlen(inj.merge[i].value) != inj.merge[i].vlen)
				__builtin_trap();
		}
		for (size_t i = 0; i < inj.nstrip; i++)
			check_name(inj.strip[i]);
		check_head(&inj, memmem(data, size, "placeholder", 11) != NULL);
		inject_free(&inj);
	}
	ipc_msg_wipe(ans);
	json_decref(ans);
	return 0;
}
