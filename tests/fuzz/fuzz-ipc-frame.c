/* libFuzzer target: IPC frames as the enforcer reads them from the broker
 * (common/ipc.c's incremental reader, fed in pieces), and every frame that
 * comes out handed to policy_parse as the IPC client would; and as the
 * broker reads them from the enforcer: checked against their tables, a
 * decisions frame's records walked and each line checked as JSON (every
 * record of a frame that passed lies inside its payload, and is whole). */
#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
			enum ipc_kind kind;
			char err[160];
			if (ipc_msg_check(msg, IPC_FROM_ENFORCER, &kind, err, sizeof err) == 0 && kind == IPC_DECISIONS) {
				const json_t *l = json_object_get(msg, "lines");
				const char *s = json_string_value(l);
				size_t len = json_string_length(l), pos = 0;
				struct ipc_decision d;
				int rc;
				while ((rc = ipc_decision_next(s, len, &pos, &d)) == 1) {
					if (d.line < s || d.line + d.llen > s + len || !d.vlen || d.line[0] != '{' ||
					    memchr(d.line, '\n', d.llen))
						__builtin_trap();
					if (ipc_decision_line_check(d.line, d.llen, err, sizeof err) < 0 && !err[0])
						__builtin_trap();   /* a refusal says why */
				}
				if (rc != 0)
					__builtin_trap();   /* the check walked them all */
			}
			json_decref(msg);
		}
		if (k < 0)
			break;
	}
	ipc_reader_free(&r);
	return 0;
}
