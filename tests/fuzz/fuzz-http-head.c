/* libFuzzer target: the proxy's request head parser (enforcer/http.c over
 * llhttp, strict) and the authority/host parsing that follows it, fed in two
 * pieces split where the first byte says, with small caps so the 431 paths
 * run too. After each paused head: the URL's authority (absolute-form or
 * CONNECT), path normalisation, header lookups and the hop-by-hop test. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/netmatch.h"
#include "enforcer/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_head(void *arg)
{
	(void)arg;
	return HPE_PAUSED;
}

static int on_body(void *arg, const char *at, size_t n)
{
	(void)arg;
	(void)at;
	(void)n;
	return 0;
}

static int on_complete(void *arg)
{
	(void)arg;
	return HPE_PAUSED;
}

static const struct http_msg_cb cb = { .on_head = on_head, .on_body = on_body, .on_complete = on_complete };

static void look(struct http_msg *m)
{
	char host[AL_HOST_BUF], path[AL_PATH_MAX + 1];
	enum host_kind kind;
	uint16_t port;
	const char *url = m->arena + m->url, *q;
	size_t n = m->url_len;

	int rc = authority_parse(url, n, 0, host, &kind, &port);
	if (rc == 0 && !host[0])
		__builtin_trap();   /* success means a canonical host */
	if (n > 7 && memcmp(url, "http://", 7) == 0) {
		size_t a = strcspn(url + 7, "/?");
		rc = authority_parse(url + 7, a, 80, host, &kind, &port);
		if (rc == 0 && port == 0)
			__builtin_trap();
		if (7 + a < n && path_normalise(url + 7 + a, n - 7 - a, path, &q) == 0 && path[0] != '/')
			__builtin_trap();
	}
	for (size_t i = 0; i < m->nhdrs; i++) {
		(void)http_is_hop(m, i);
		(void)http_list_has(http_value(m, i), m->hdrs[i].vlen, "close");
	}
	(void)http_find(m, "proxy-authorization", 0);
	(void)http_is_chunked(m);
	(void)http_keep_alive(m);
	(void)http_method_str(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_msg m;
	if (size < 1)
		return 0;
	size_t split = data[0] % (size);
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	http_msg_init(&m, !(data[0] & 0x80), 2048, 16, &cb, NULL);
	size_t off = 0;
	for (int rounds = 0; rounds < 64 && off < len; rounds++) {
		size_t end = off < split && split < len ? split : len;
		size_t used = 0;
		enum http_feed r = http_msg_feed(&m, in + off, end - off, &used);
		if (r == HTTP_FEED_ERROR)
			break;
		off += used;
		if (r == HTTP_FEED_PAUSED) {
			if (m.phase == MSG_BODY)
				look(&m);
			http_msg_resume(&m);
		}
	}
	http_msg_free(&m);
	return 0;
}
