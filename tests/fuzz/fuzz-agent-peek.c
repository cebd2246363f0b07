/* libFuzzer target: the agent's peek at a redirected connection's first
 * bytes (agent/peek.c): TLS server name and HTTP Host. What is found is
 * always a host name the agent may pass on. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[PEEK_NAME_MAX + 1], again[PEEK_NAME_MAX + 1];
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		abort();
	memcpy(b, data, size);
	enum peek r[2] = { peek_sni(b, size, name), PEEK_NONE };
	if (r[0] == PEEK_FOUND) {
		memcpy(again, name, sizeof name);
		if (!peek_host_ok(again) || strcmp(again, name) != 0)
			abort();
	}
	r[1] = peek_http_host(b, size, name);
	if (r[1] == PEEK_FOUND) {
		memcpy(again, name, sizeof name);
		if (!peek_host_ok(again) || strcmp(again, name) != 0)
			abort();
	}
	(void)peek_is_http(b, size);
	free(b);
	return 0;
}
