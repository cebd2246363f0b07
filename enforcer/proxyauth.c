/* Proxy-Authorization parsing: Basic (any user name, the token as password)
 * and Bearer. Everything that held the token is wiped before returning. */
#include "config.h"

#include "proxyauth.h"

#include <string.h>
#include <strings.h>

#include "common/token.h"
#include "common/xmalloc.h"
#include "enforcer/policy.h"

/* base64 of "user:token" with a generous user name */
#define BASIC_MAX (AL_TOKEN_MAX + 256)

static size_t skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

int proxyauth_parse(const char *val, size_t len, char tok[AL_TOKEN_MAX + 1], size_t *toklen)
{
	uint8_t raw[BASIC_MAX + 1];
	int rc = AL_EINVAL;
	size_t i = skip_ws(val, 0, len);
	size_t s = i;

	while (len && (val[len - 1] == ' ' || val[len - 1] == '\t'))
		len--;
	while (i < len && val[i] != ' ' && val[i] != '\t')
		i++;
	size_t schemelen = i - s;
	i = skip_ws(val, i, len);
	if (i >= len)
		goto out;
	const char *cred = val + i;
	size_t clen = len - i;
	for (size_t k = 0; k < clen; k++)
		if (cred[k] == ' ' || cred[k] == '\t')
			goto out;

	if (schemelen == 6 && strncasecmp(val + s, "bearer", 6) == 0) {
		if (clen > AL_TOKEN_MAX) {
			rc = AL_ETOOBIG;
			goto out;
		}
		memcpy(tok, cred, clen);
		tok[clen] = '\0';
		*toklen = clen;
		rc = 0;
	} else if (schemelen == 5 && strncasecmp(val + s, "basic", 5) == 0) {
		if (clen > (BASIC_MAX / 3 + 1) * 4) {
			rc = AL_ETOOBIG;
			goto out;
		}
		int n = b64_decode(cred, clen, false, raw, sizeof raw);
		if (n < 0)
			goto out;
		uint8_t *colon = memchr(raw, ':', (size_t)n);
		if (!colon)
			goto out;
		size_t tl = (size_t)n - (size_t)(colon + 1 - raw);
		if (tl == 0)
			goto out;
		if (tl > AL_TOKEN_MAX) {
			rc = AL_ETOOBIG;
			goto out;
		}
		memcpy(tok, colon + 1, tl);
		tok[tl] = '\0';
		for (size_t k = 0; k < tl; k++)
			if ((unsigned char)tok[k] < 0x20 || tok[k] == 0x7f)
				goto out;
		*toklen = tl;
		rc = 0;
	}
out:
	secure_wipe(raw, sizeof raw);
	if (rc < 0)
		secure_wipe(tok, AL_TOKEN_MAX + 1);
	return rc;
}

const struct policy_client *proxyauth_client(const struct policy *p, const char *val, size_t len)
{
	char tok[AL_TOKEN_MAX + 1];
	size_t tl;
	const struct policy_client *c = NULL;
	if (proxyauth_parse(val, len, tok, &tl) == 0)
		c = policy_client_by_token(p, tok, tl);
	secure_wipe(tok, sizeof tok);
	return c;
}
