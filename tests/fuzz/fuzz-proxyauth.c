/* libFuzzer target: Proxy-Authorization values (enforcer/proxyauth.c),
 * Basic and Bearer, and the lookup of what they yield in an empty policy. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/policy.h"
#include "enforcer/proxyauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *p;
	char tok[AL_TOKEN_MAX + 1];
	size_t tl;
	/* an exact-size heap copy: reads past the value are caught */
	char *val = malloc(size ? size : 1);
	if (!val)
		abort();
	memcpy(val, data, size);
	if (!p)
		p = policy_empty();
	if (proxyauth_parse(val, size, tok, &tl) == 0 && (tl == 0 || tl > AL_TOKEN_MAX || strlen(tok) > tl))
		abort();
	(void)proxyauth_client(p, val, size);
	free(val);
	return 0;
}
