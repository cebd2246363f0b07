/* libFuzzer target: the values of the secret types airlock obtains tokens
 * from (oauth-providers/github-app.c, github-app-user.c, client-creds.c)
 * and the YAML reader they share (yamlvalue.c). The first byte picks the
 * type, the rest is the value as the API receives it. Whatever is adopted
 * must round-trip through the sealed form (oauth_cred_dump / load) with its
 * type, carry a header-safe token if any, and a client-credentials endpoint
 * that the URL check still accepts; whatever is refused says why. A YAML
 * value the reader accepts is a flat object of strings, integers and nulls. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "oauth-providers/internal.h"
#include "oauth-providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct oauth_provider *const types[] = {
	&oauth_github_app, &oauth_github_app_user, &oauth_client_creds,
};

static void check_yaml(const char *v, size_t n)
{
	json_t *o = NULL;
	char err[256] = "";
	if (oa_yaml_object(v, n, &o, err, sizeof err) < 0) {
		if (!err[0])
			abort();
		return;
	}
	const char *k;
	json_t *m;
	json_object_foreach(o, k, m)
		if (!json_is_string(m) && !json_is_integer(m) && !json_is_null(m))
			abort();
	if (json_object_size(o) == 0)
		abort();
	oauth_json_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 64 * 1024)
		return 0;
	const struct oauth_provider *p = types[data[0] % 3];
	const char *v = (const char *)data + 1;
	size_t n = size - 1;
	json_t *c = NULL, *back = NULL;
	char err[256] = "";

	if (data[0] >= 0x80)
		check_yaml(v, n);
	if (oauth_adopt(p, v, n, 1800000000, &c, err, sizeof err) < 0) {
		if (!err[0] || c)
			abort();
		return 0;
	}
	char *dump = oauth_cred_dump(c);
	if (oauth_cred_load(dump, strlen(dump), &back) < 0 ||
	    strcmp(json_str(back, "type", ""), p->type) != 0 || !json_equal(c, back))
		abort();
	const char *access = json_str(c, "access", NULL);
	if (access && !oa_header_safe(access))
		abort();
	const char *ep = json_str(c, "token_endpoint", NULL);
	char host[AL_HOST_BUF];
	if (p == &oauth_client_creds && (!ep || oa_https_url_check(ep, host) < 0))
		abort();
	free(dump);
	oauth_json_free(back);
	oauth_json_free(c);
	return 0;
}
