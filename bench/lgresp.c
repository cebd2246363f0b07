/* bench/lgresp.c: the load generator's HTTP/1.1 response parser: head,
 * Content-Length and chunked bodies, SSE time to first event (loadgen.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loadgen.h"

static void sse_scan(struct conn *c, const char *p, size_t n)
{
	if (!O.sse || c->ttfe_done)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (c->lastnl) {
				c->ttfe_done = true;
				c->t_first = now_us();
				return;
			}
			c->lastnl = 1;
		} else if (p[i] != '\r')
			c->lastnl = 0;
	}
}

int lg_body_feed(struct conn *c, const char *p, size_t n)
{
	if (!c->chunked) {
		if (c->clen >= 0) {
			size_t take = n < (size_t)c->remain ? n : (size_t)c->remain;
			sse_scan(c, p, take);
			c->got += take;
			c->remain -= (long)take;
			if (take < n)
				return -1; /* pipelining never happens here */
			return c->remain == 0;
		}
		sse_scan(c, p, n);
		c->got += n;
		return 0; /* until EOF */
	}
	for (size_t i = 0; i < n;) {
		char ch = p[i];
		switch (c->cst) {
		case 0: /* size */
			if (isxdigit((unsigned char)ch)) {
				c->csize = c->csize * 16 + (unsigned)(isdigit((unsigned char)ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
				i++;
			} else {
				c->cst = 1;
			}
			break;
		case 1: /* rest of size line */
			i++;
			if (ch == '\n') {
				if (c->csize == 0) {
					c->cst = 4;
					c->lastnl = 1;
				} else {
					c->remain = (long)c->csize;
					c->cst = 2;
				}
			}
			break;
		case 2: { /* data */
			size_t take = n - i < (size_t)c->remain ? n - i : (size_t)c->remain;
			sse_scan(c, p + i, take);
			c->got += take;
			c->remain -= (long)take;
			i += take;
			if (c->remain == 0)
				c->cst = 3;
			break;
		}
		case 3: /* CRLF after data */
			i++;
			if (ch == '\n') {
				c->cst = 0;
				c->csize = 0;
			}
			break;
		case 4: /* trailers: until an empty line */
			i++;
			if (ch == '\n') {
				if (c->lastnl)
					return i == n ? 1 : -1;
				c->lastnl = 1;
			} else if (ch != '\r')
				c->lastnl = 0;
			break;
		}
	}
	return 0;
}

int lg_parse_head(struct conn *c, size_t hend)
{
	c->hbuf[hend] = 0;
	if (strncmp(c->hbuf, "HTTP/1.", 7) || hend < 12)
		return -1;
	c->status = atoi(c->hbuf + 9);
	char *line = strstr(c->hbuf, "\r\n");
	while (line && line[2]) {
		line += 2;
		char *eol = strstr(line, "\r\n");
		if (!eol)
			break;
		if (!strncasecmp(line, "content-length:", 15))
			c->clen = atol(line + 15);
		else if (!strncasecmp(line, "transfer-encoding:", 18) && strcasestr(line, "chunked") && strcasestr(line, "chunked") < eol)
			c->chunked = true;
		else if (!strncasecmp(line, "connection:", 11)) {
			char *cl = strcasestr(line, "close");
			if (cl && cl < eol)
				c->close_after = true;
		}
		line = eol;
	}
	if (c->status == 204 || c->status == 304 || (c->status >= 100 && c->status < 200))
		c->clen = 0;
	if (!c->chunked && c->clen >= 0)
		c->remain = c->clen;
	return 0;
}

/* "status 403 (X-Airlock-Reason: x)" from a response head */
void lg_describe(const char *head, char *out, size_t len)
{
	int st = strncmp(head, "HTTP/1.", 7) ? 0 : atoi(head + 9);
	const char *r = strcasestr(head, "\r\nx-airlock-reason:");
	if (r) {
		r += 20;
		while (*r == ' ')
			r++;
		int n = (int)strcspn(r, "\r\n");
		snprintf(out, len, "status %d, reason %.*s", st, n > 80 ? 80 : n, r);
	} else
		snprintf(out, len, "status %d", st);
}
