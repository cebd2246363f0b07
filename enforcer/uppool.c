/* Idle upstream connections per worker (see uppool.h). A short list in
 * most-recently-parked order; lookups walk it (at most AL_UPSTREAM_POOL_MAX
 * entries), expiry trims its tail. */
#include "config.h"

#include "uppool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

struct entry {
	struct entry *next, *prev;
	struct uppool *pool;
	struct io *io;            /* NULL once closing */
	uint64_t parked;          /* loop time */
	struct client_id client;  /* wiped before the entry is freed */
	char host[AL_HOST_BUF];
	uint16_t port;
	bool tls;
	bool unused;              /* never carried a request: its TLS ticket is not kept yet */
};

struct uppool {
	uv_loop_t *loop;
	uv_timer_t timer;
	uint64_t idle_ms;
	struct entry *head, *tail;   /* head: most recent */
	size_t n;
	bool freeing;
};

static void unlink_entry(struct uppool *p, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		p->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		p->tail = e->prev;
	e->next = e->prev = NULL;
	p->n--;
}

/* Unlink and close; the entry is freed when its io is gone. */
static void drop(struct entry *e)
{
	struct io *io = e->io;
	unlink_entry(e->pool, e);
	e->io = NULL;
	io_close(io);
}

static void e_on_read(void *arg, const char *buf, size_t n)
{
	(void)buf;
	(void)n;
	drop(arg);   /* an idle origin has nothing to say */
}

static void e_on_eof(void *arg)
{
	drop(arg);
}

static void e_on_error(void *arg, int err)
{
	(void)err;
	drop(arg);
}

static void entry_free(struct entry *e)
{
	client_id_wipe(&e->client);
	free(e);
}

static void e_on_closed(void *arg)
{
	entry_free(arg);
}

static const struct io_handler entry_h = {
	.on_read = e_on_read,
	.on_eof = e_on_eof,
	.on_error = e_on_error,
	.on_closed = e_on_closed,
};

static void on_timer(uv_timer_t *t)
{
	struct uppool *p = t->data;
	uint64_t now = uv_now(p->loop);
	while (p->tail && now - p->tail->parked >= p->idle_ms)
		drop(p->tail);
	if (p->tail)
		uv_timer_start(&p->timer, on_timer, p->idle_ms - (now - p->tail->parked), 0);
}

struct uppool *uppool_new(uv_loop_t *loop, uint64_t idle_ms)
{
	struct uppool *p = xcalloc(1, sizeof *p);
	p->loop = loop;
	p->idle_ms = idle_ms ? idle_ms : 1;
	uv_timer_init(loop, &p->timer);
	p->timer.data = p;
	return p;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void uppool_free(struct uppool *p)
{
	if (!p)
		return;
	uppool_clear(p);
	uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}

void uppool_clear(struct uppool *p)
{
	while (p->head)
		drop(p->head);
	uv_timer_stop(&p->timer);
}

static bool same(const struct entry *e, const struct client_id *client, const char *host, uint16_t port,
		 bool tls)
{
	return e->port == port && e->tls == tls && strcmp(e->host, host) == 0 && client_id_eq(&e->client, client);
}

void uppool_put(struct uppool *p, struct io *io, const struct client_id *client, const char *host,
		uint16_t port, bool tls, bool unused)
{
	struct entry *e = xcalloc(1, sizeof *e);
	e->unused = unused;
	e->pool = p;
	e->io = io;
	e->parked = uv_now(p->loop);
	e->client = *client;
	snprintf(e->host, sizeof e->host, "%s", host);
	e->port = port;
	e->tls = tls;
	io_set_handler(io, &entry_h, e);
	io_read_start(io);   /* to see the origin close it */

	/* caps: the same key's oldest first, then the pool's oldest */
	size_t same_key = 0;
	struct entry *oldest_same = NULL;
	for (struct entry *x = p->head; x; x = x->next)
		if (same(x, client, host, port, tls)) {
			same_key++;
			oldest_same = x;
		}
	if (same_key >= AL_UPSTREAM_POOL_PER_KEY && oldest_same)
		drop(oldest_same);
	else if (p->n >= AL_UPSTREAM_POOL_MAX && p->tail)
		drop(p->tail);

	e->next = p->head;
	if (p->head)
		p->head->prev = e;
	p->head = e;
	if (!p->tail)
		p->tail = e;
	p->n++;
	if (!uv_is_active((uv_handle_t *)&p->timer))
		uv_timer_start(&p->timer, on_timer, p->idle_ms, 0);
}

struct io *uppool_take(struct uppool *p, const struct client_id *client, const char *host, uint16_t port,
			bool tls, bool *unused)
{
	for (struct entry *e = p->head; e; e = e->next) {
		if (!same(e, client, host, port, tls))
			continue;
		struct io *io = e->io;
		*unused = e->unused;
		unlink_entry(p, e);
		io_set_handler(io, NULL, NULL);
		entry_free(e);
		return io;
	}
	return NULL;
}
