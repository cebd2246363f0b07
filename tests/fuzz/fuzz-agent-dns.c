/* libFuzzer target: the agent's DNS stub (agent/dnsmsg.c), the whole
 * decision: a query in, its answer out, against a small pool. The answer
 * must be a well-formed response to the query it claims to answer. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dnsmsg.h"
#include "agent/pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup(void *arg, const char *name, uint8_t addr[4])
{
	uint32_t v = pool_addr(arg, name);
	if (strlen(name) > DNS_NAME_MAX || !pool_name(arg, v) || strcmp(pool_name(arg, v), name) != 0)
		abort();
	memcpy(addr, &v, 4);
	return DNS_NOERROR;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool *p;
	uint8_t out[512];
	if (!p)
		p = pool_new(POOL_BASE, 64);
	uint8_t *q = malloc(size ? size : 1);   /* exact size: reads past it are caught */
	if (!q)
		abort();
	memcpy(q, data, size);
	size_t n = dnsmsg_respond(q, size, out, sizeof out, lookup, p);
	if (n) {
		/* a response, to this id, with at most one question and answer */
		if (n < 12 || n > sizeof out || !(out[2] & 0x80) || memcmp(out, q, 2) != 0 || out[4] != 0 || out[5] > 1 ||
		    out[6] != 0 || out[7] > 1)
			abort();
		struct dns_query back;
		/* the answer's question reads back as a query (flip QR off, drop the answer) */
		if (out[5] == 1 && out[7] == 0) {
			out[2] &= 0x7f;
			if (dnsmsg_parse(out, n, &back) != DNS_NOERROR)
				abort();
		}
	}
	free(q);
	return 0;
}
