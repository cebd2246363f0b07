/* The stand-in address pool (pool.h): entry i is address base + 1 + i;
 * names are found through a chained hash table of entry indices. */
#include "config.h"

#include "pool.h"

#include <stdlib.h>
#include <string.h>

#include "agent/util.h"

#include "common/bytes.h"

#define NIL UINT32_MAX

struct entry {
	char *name;
	uint32_t next;        /* hash chain */
};

struct pool {
	uint32_t base, size, nbuckets, cursor;
	struct entry *e;
	uint32_t *buckets;
};

static uint32_t hash(const char *s)
{
	return fnv1a_str(FNV1A_INIT, s);
}

struct pool *pool_new(uint32_t base, uint32_t size)
{
	struct pool *p = xcalloc(1, sizeof *p);
	p->base = base;
	p->size = size;
	p->nbuckets = 1;
	while (p->nbuckets < size)
		p->nbuckets <<= 1;
	p->e = xcalloc(size, sizeof *p->e);
	p->buckets = xmalloc(p->nbuckets * sizeof *p->buckets);
	for (uint32_t i = 0; i < p->nbuckets; i++)
		p->buckets[i] = NIL;
	return p;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->size; i++)
		free(p->e[i].name);
	free(p->e);
	free(p->buckets);
	free(p);
}

static void unlink_entry(struct pool *p, uint32_t i)
{
	uint32_t *link = &p->buckets[hash(p->e[i].name) & (p->nbuckets - 1)];
	while (*link != NIL && *link != i)
		link = &p->e[*link].next;
	if (*link == i)
		*link = p->e[i].next;
	free(p->e[i].name);
	p->e[i].name = NULL;
}

uint32_t pool_addr(struct pool *p, const char *name)
{
	uint32_t b = hash(name) & (p->nbuckets - 1);
	for (uint32_t i = p->buckets[b]; i != NIL; i = p->e[i].next)
		if (strcmp(p->e[i].name, name) == 0)
			return p->base + 1 + i;
	uint32_t i = p->cursor;
	p->cursor = (p->cursor + 1) % p->size;
	if (p->e[i].name)
		unlink_entry(p, i);   /* the oldest name gives its address up */
	p->e[i].name = xstrdup(name);
	p->e[i].next = p->buckets[b];
	p->buckets[b] = i;
	return p->base + 1 + i;
}

const char *pool_name(const struct pool *p, uint32_t addr)
{
	if (addr <= p->base || addr - p->base - 1 >= p->size)
		return NULL;
	return p->e[addr - p->base - 1].name;
}
