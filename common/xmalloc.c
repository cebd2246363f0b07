/* Allocation that aborts on failure (the decision is written in xmalloc.h),
 * and wiping of memory that held a secret before it is freed. */
#include "config.h"

#include "common/xmalloc.h"

#include <stdio.h>
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>


static void oom(size_t n)
{
	/* No allocation, no logging machinery: just say why and stop. */
	char msg[96];
	int len = snprintf(msg, sizeof msg, "airlock: out of memory (%zu bytes)\n", n);
	if (len > 0)
		fwrite(msg, 1, (size_t)len, stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void secure_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void secure_free(void *p, size_t n)
{
	if (!p)
		return;
	secure_wipe(p, n);
	free(p);
}

void wiping_free(void *p)
{
	if (!p)
		return;
	secure_wipe(p, malloc_usable_size(p));
	free(p);
}

void *wiping_realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (n == 0) {
		wiping_free(p);
		return NULL;
	}
	size_t old = malloc_usable_size(p);
	void *q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	wiping_free(p);
	return q;
}

void json_wipe_on_free(void)
{
	json_set_alloc_funcs(malloc, wiping_free);
}

void secure_free_str(char *s)
{
	if (!s)
		return;
	secure_free(s, strlen(s));
}

static size_t grown(size_t cap, size_t need, size_t first)
{
	size_t c = cap ? cap : first ? first : 1;
	while (c < need)
		c *= 2;
	return c;
}

void xgrow(char **p, size_t *cap, size_t need, size_t first)
{
	if (need <= *cap)
		return;
	size_t c = grown(*cap, need, first);
	*p = xrealloc(*p, c);
	*cap = c;
}

void xgrow_secure(char **p, size_t *cap, size_t len, size_t need, size_t first)
{
	if (need <= *cap)
		return;
	size_t c = grown(*cap, need, first);
	char *n = xmalloc(c);
	if (len)
		memcpy(n, *p, len);
	if (*p)
		secure_free(*p, *cap);
	*p = n;
	*cap = c;
}
