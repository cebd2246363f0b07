/* libFuzzer target: the sandbox-facing HTTP/2 session (enforcer/h2.c with
 * airlock's nghttp2 options and caps) fed arbitrary frames after the
 * client preface, its answers drained, and every stream whose header
 * block completed turned into the HTTP/1.1 head a stream conn would read
 * (h2stream.c). Checked, besides no crash, leak or UB: a stream we refused
 * (bad pseudo-header, CONNECT, :scheme other than https) and a head past
 * the cap are refused by the stream conn's own parser; any other head
 * parses whole, carries the stream's :method, and holds no more header
 * fields than the block had plus host and framing (no CR/LF smuggled into
 * a second field). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/h2stream.h"
#include "enforcer/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEAD 4096

static int on_head(void *arg)
{
	(void)arg;
	return HPE_PAUSED;
}

static const struct http_msg_cb cb = { .on_head = on_head };

static void check_stream(struct h2s *st)
{
	struct http_msg m;
	size_t used = 0;
	if (!st->head_done)
		return;
	http_msg_init(&m, true, MAX_HEAD, 1000, &cb, NULL);
	enum http_feed r = http_msg_feed(&m, st->in, st->inlen, &used);
	if (st->bad || st->overflow) {
		if (r != HTTP_FEED_ERROR)
			__builtin_trap();   /* refused by us: the parser must refuse it too */
	} else if (r == HTTP_FEED_PAUSED && m.phase == MSG_BODY) {
		if (strcmp(http_method_str(&m), st->method) != 0)
			__builtin_trap();
	}
	http_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct h2sess s;
	memset(&s, 0, sizeof s);
	s.max_head = MAX_HEAD;
	if (h2_session_new(&s) < 0)
		return 0;
	if (nghttp2_session_mem_recv(s.ng, (const uint8_t *)preface, sizeof preface - 1) >= 0) {
		/* the input in two reads, cut where its first byte says */
		size_t cut = size ? data[0] % (size + 1) : 0;
		if (nghttp2_session_mem_recv(s.ng, data, cut) >= 0)
			(void)nghttp2_session_mem_recv(s.ng, data + cut, size - cut);
	}
	for (struct h2s *st = s.streams; st; st = st->next)
		check_stream(st);
	const uint8_t *out;
	for (int i = 0; i < 64 && nghttp2_session_mem_send(s.ng, &out) > 0; i++)
		;
	while (s.streams)
		h2stream_free(s.streams);
	nghttp2_session_del(s.ng);
	return 0;
}
