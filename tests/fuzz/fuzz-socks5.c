/* libFuzzer target: the SOCKS5 messages (enforcer/socks5.c), as socks5io.c
 * feeds them: a greeting, then the RFC 1929 sub-negotiation, then a
 * request, each parsed from where the previous one ended, plus the CONNECT
 * head a request becomes and the parse of an answer head. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size heap copy: reads past the message are caught */
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		abort();
	memcpy(b, data, size);
	size_t off = 0, used = 0;
	struct socks5_cred cred;
	struct socks5_req req;
	uint8_t rep;
	char head[1024];
	size_t hlen;
	int st;
	char reason[64];

	if (socks5_answer_parse((const char *)b, size, &st, reason, sizeof reason) == 0 && (st < 100 || st > 999 || strlen(reason) >= sizeof reason))
		abort();
	if (socks5_parse_greeting(b, size, &used) != SOCKS5_DONE)
		goto out;
	if (used > size)
		abort();
	off = used;
	if (socks5_parse_auth(b + off, size - off, &used, &cred) != SOCKS5_DONE)
		goto out;
	if (used > size - off || strlen(cred.pass) != cred.plen || cred.plen == 0)
		abort();
	off += used;
	if (socks5_parse_request(b + off, size - off, &used, &req, &rep) != SOCKS5_DONE)
		goto out;
	if (used > size - off || rep != SOCKS5_REP_OK || req.port == 0)
		abort();
	if (socks5_connect_head(&req, cred.pass, cred.plen, head, sizeof head, &hlen) == 0) {
		/* one head, no line break but the framing's */
		if (hlen != strlen(head) || memcmp(head + hlen - 4, "\r\n\r\n", 4) != 0)
			abort();
		size_t crlf = 0;
		for (size_t i = 0; i + 1 < hlen; i++)
			crlf += head[i] == '\r' && head[i + 1] == '\n';
		if (crlf != 4)
			abort();
	}
out:
	free(b);
	return 0;
}
