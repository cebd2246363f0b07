/* The records of a "decisions" frame (ipc.h): VERDICT TAB CLIENT TAB LINE
 * NEWLINE, walked without parsing LINE; and LINE's own check, as JSON
 * against its table, for when someone reads it. */
#include "config.h"

#include "common/ipc.h"

#include <string.h>

#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/netmatch.h"

static bool verdict_ok(const char *v, size_t n)
{
	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || v[i] == '-'))
			return false;
	return true;
}

static bool client_ok(const char *c, size_t n)
{
	char name[AL_NAME_MAX + 1];
	if (n == 0)
		return true;
	if (n > AL_NAME_MAX || memchr(c, '\0', n))
		return false;
	memcpy(name, c, n);
	name[n] = '\0';
	return name_validate(name) == 0;
}

static bool line_ok(const char *l, size_t n)
{
	if (n < 2 || n > AL_DECISION_LINE_MAX || l[0] != '{' || l[n - 1] != '}')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)l[i] < 0x20 || l[i] == 0x7f)
			return false;
	return true;
}

int ipc_decision_next(const char *lines, size_t len, size_t *pos, struct ipc_decision *d)
{
	if (*pos >= len)
		return 0;
	const char *p = lines + *pos, *end = lines + len;
	const char *t1 = memchr(p, '\t', (size_t)(end - p));
	const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
	const char *nl = t2 ? memchr(t2 + 1, '\n', (size_t)(end - t2 - 1)) : NULL;
	if (!nl)
		return AL_EPROTO;
	d->verdict = p;
	d->vlen = (size_t)(t1 - p);
	d->client = t1 + 1;
	d->clen = (size_t)(t2 - t1 - 1);
	d->line = t2 + 1;
	d->llen = (size_t)(nl - t2 - 1);
	if (!verdict_ok(d->verdict, d->vlen) || !client_ok(d->client, d->clen) || !line_ok(d->line, d->llen))
		return AL_EPROTO;
	*pos = (size_t)(nl + 1 - lines);
	return 1;
}

int ipc_decision_line_check(const char *line, size_t len, char *err, size_t errlen)
{
	json_t *item = NULL;
	if (json_parse_object(line, len, AL_DECISION_LINE_MAX, &item, err, errlen) < 0)
		return AL_EPROTO;
	int rc = ipc_decision_item_check(item, err, errlen);
	json_decref(item);
	return rc < 0 ? AL_EPROTO : 0;
}
