/* libFuzzer target for the broker's "headers" answer as the enforcer reads
 * it (enforcer/mitm.c inject_from_answer): bytes -> JSON -> headers, strip
 * and merge lists. Whatever is accepted must be safe to write into a request
 * head: names are tokens, values carry no CR, LF or NUL, counts are capped. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "enforcer/conn.h"
#include "enforcer/ipc_client.h"
#include "enforcer/mitm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *n)
{
	if (!n || !*n || strpbrk(n, " \t\r\n:\"(),/;<=>?@[\\]{}"))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inject inj;
	json_t *ans = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!ans)
		return 0;
	if (inject_from_answer(ans, &inj) == 0) {
		if (inj.nadd > AL_INJECT_HEADERS_MAX || inj.nmerge > AL_INJECT_HEADERS_MAX ||
		    inj.nstrip > AL_INJECT_HEADERS_MAX)
			__builtin_trap();
		for (size_t i = 0; i < inj.nadd; i++) {
			check_name(inj.add[i].name);
			if (memchr(inj.add[i].value, '\r', inj.add[i].vlen) || memchr(inj.add[i].value, '\n', inj.add[i].vlen) ||
			    memchr(inj.add[i].value, '\0', inj.add[i].vlen))
				__builtin_trap();
		}
		for (size_t i = 0; i < inj.nmerge; i++) {
			check_name(inj.merge[i].name);
			if (strlen(inj.merge[i].value) != inj.merge[i].vlen)
				__builtin_trap();
		}
		for (size_t i = 0; i < inj.nstrip; i++)
			check_name(inj.strip[i]);
		inject_free(&inj);
	}
	broker_answer_wipe(ans);
	json_decref(ans);
	return 0;
}
