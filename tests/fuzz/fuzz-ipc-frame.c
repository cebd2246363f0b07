/* libFuzzer target: IPC frames as the enforcer reads them from the broker
 * (common/ipc.c's incremental reader, fed in pieces), and every frame that
 * comes out handed to policy_parse as the IPC client would. */
#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipc.h"
#include "enforcer/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_reader r;
	ipc_reader_init(&r);
	size_t step = size ? (size_t)data[0] % 7 + 1 : 1;
	for (size_t off = 0; off < size; off += step) {
		size_t n = off + step <= size ? step : size - off;
		if (ipc_reader_feed(&r, data + off, n) < 0)
			break;
		json_t *msg;
		int k;
		while ((k = ipc_reader_next(&r, &msg)) == 1) {
			struct policy *p;
			if (policy_parse(msg, &p) == 0)
				policy_unref(p);
			json_decref(msg);
		}
		if (k < 0)
			break;
	}
	ipc_reader_free(&r);
	return 0;
}
