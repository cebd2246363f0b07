/* The response head airlock writes to the sandbox, built from the
 * upstream's head as llhttp parsed it: the status line, the end-to-end
 * headers, and framing of our own. The upstream's Content-Length and
 * Transfer-Encoding are never copied: a body is forwarded as llhttp
 * delimited it, so the head must describe exactly that — re-chunked for an
 * HTTP/1.1 sandbox when the upstream chunked, the parsed length when it
 * gave one, close-delimited otherwise. An interim (1xx) answer never has a
 * body and never reaches an HTTP/1.0 client. */
#include "config.h"

#include "enforcer/resphead.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put_length(struct sbuf *b, uint64_t n)
{
	char cl[48];
	snprintf(cl, sizeof cl, "Content-Length: %" PRIu64 "\r\n", n);
	sbuf_str(b, cl);
}

int resphead_build(struct sbuf *out, const struct http_msg *m, const struct resp_ctx *ctx,
		   struct resp_plan *plan)
{
	int status = m->p.status_code;
	bool has_length = http_has_length(m), chunked = http_is_chunked(m);
	char line[32];

	memset(plan, 0, sizeof *plan);
	if (status >= 100 && status < 200) {
		plan->interim = true;
		plan->no_body = true;
		if (has_length || chunked || http_find(m, "transfer-encoding", 0) >= 0)
			return AL_EPROTO;
		if (ctx->client10) {
			plan->drop = true;
			return 0;
		}
	} else {
		plan->no_body = ctx->head_req || status == 204 || status == 304;
	}

	snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
	sbuf_str(out, line);
	sbuf_add(out, m->arena + m->reason, m->reason_len);
	sbuf_add(out, "\r\n", 2);
	for (size_t i = 0; i < m->nhdrs; i++)
		if (!http_is_hop(m, i) && !http_is_framing(m, i))
			sbuf_header(out, m, i);
	if (plan->interim) {
		sbuf_add(out, "\r\n", 2);
		return 0;
	}

	if (plan->no_body) {
		/* the length of what a GET would have had: metadata (RFC 9110
		 * 8.6), except on a 204, which has none */
		if (has_length && status != 204)
			put_length(out, m->p.content_length);
	} else if (chunked && ctx->client10) {
		/* an HTTP/1.0 client cannot read chunked: it reads until we close */
		plan->close_after = true;
	} else if (chunked) {
		plan->chunked_out = true;
		sbuf_str(out, "Transfer-Encoding: chunked\r\n");
	} else if (has_length) {
		put_length(out, m->p.content_length);
	} else {
		plan->eof_delim = true;   /* body until the upstream closes */
		plan->close_after = true;
	}
	if (!ctx->client_keep)
		plan->close_after = true;
	if (plan->close_after)
		sbuf_str(out, "Connection: close\r\n");
	sbuf_add(out, "\r\n", 2);
	return 0;
}
