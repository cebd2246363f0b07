/* libFuzzer target for the inner requests of an intercepted tunnel
 * (enforcer/mitm.c): input "URL\nHOST-HEADER" (no newline: no Host header)
 * -> mitm_target (origin or absolute form pinned to the CONNECT target,
 * Host pinned too, path normalised), then the first-match decision on the
 * normalised path against a fixed policy. */
#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/mitm.h"
#include "enforcer/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_json[] =
	"{\"type\":\"policy\",\"version\":1,\"clients\":[{\"name\":\"web-1\",\"token_sha256\":"
	"\"0000000000000000000000000000000000000000000000000000000000000000\",\"rules\":["
	"{\"id\":1,\"host\":\"api.example.com\",\"ports\":[443],\"methods\":[\"GET\"],\"paths\":[\"/v1/*\"],"
	"\"secret\":\"k\",\"passthrough\":false},"
	"{\"id\":2,\"host\":\"*.example.com\",\"ports\":[443],\"methods\":[],\"paths\":[\"/exact\"],\"passthrough\":false}"
	"]}]}";

static const char *const methods[] = { "GET", "POST", "DELETE" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *pol;
	char path[AL_PATH_MAX + 1];
	const char *query = NULL;
	enum reason reason = REASON_NONE;

	if (!pol) {
		json_t *j = json_loads(policy_json, 0, NULL);
		if (!j || policy_parse(j, &pol) < 0)
			abort();
		json_decref(j);
	}
	/* exact-size heap copies: reads past either part are caught */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ulen = nl ? (size_t)(nl - data) : size;
	size_t hlen = nl ? size - ulen - 1 : 0;
	char *url = malloc(ulen ? ulen : 1), *host = malloc(hlen ? hlen : 1);
	if (!url || !host)
		abort();
	memcpy(url, data, ulen);
	if (nl)
		memcpy(host, nl + 1, hlen);

	int rc = mitm_target(url, ulen, host, hlen, nl != NULL, "api.example.com", 443, path, &query, &reason);
	if (rc == 0) {
		size_t pl = strlen(path);
		if (pl == 0 || path[0] != '/' || pl > AL_PATH_MAX || strstr(path, "/../") || strstr(path, "/./"))
			__builtin_trap();
		if (pl >= 3 && strcmp(path + pl - 3, "/..") == 0)
			__builtin_trap();
		if (query && (query < url || query >= url + ulen || *query != '?'))
			__builtin_trap();
		const struct policy_client *c = policy_client_by_name(pol, "web-1");
		for (size_t i = 0; i < 3; i++) {
			struct policy_req req = { .host = "api.example.com", .port = 443, .method = methods[i],
						  .path = path, .now = 1 };
			const struct policy_rule *rule = NULL;
			enum reason why = REASON_NONE;
			enum policy_action a = policy_decide(c, &req, &rule, &why);
			if ((a == POLICY_DENY) != (rule == NULL))
				__builtin_trap();
			/* rule 1 only ever lets GET through under /v1/ */
			if (rule && rule->id == 1 && (i != 0 || strncmp(path, "/v1/", 4) != 0))
				__builtin_trap();
		}
	} else if (!reason || (rc != AL_EDENIED && rc != AL_EINVAL)) {
		__builtin_trap();
	}
	free(url);
	free(host);
	return 0;
}
