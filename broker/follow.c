/* The followers of a feed: see follow.h. */
#include "config.h"

#include "broker/follow.h"

#include <stdlib.h>

#include "broker/api.h"
#include "broker/broker.h"
#include "common/xmalloc.h"

bool follow_add(struct follow_list *l, struct follow *f, struct broker *b,
		struct MHD_Connection *conn)
{
	if (l->n >= l->cap)
		return false;
	f->b = b;
	f->conn = conn;
	f->prev = NULL;
	f->next = l->head;
	if (l->head)
		l->head->prev = f;
	l->head = f;
	l->n++;
	f->linked = true;
	return true;
}

static void on_watch_closed(uv_handle_t *h)
{
	free(h);
}

/* Closed while the socket is still open (the connection is suspended, so
 * libmicrohttpd has not closed it): closing later could drop the epoll
 * registration of whatever reused the descriptor's number. */
static void unwatch(struct follow *f)
{
	if (!f->watch)
		return;
	uv_close((uv_handle_t *)f->watch, on_watch_closed);
	f->watch = NULL;
}

static void resume(struct follow *f)
{
	unwatch(f);
	if (f->suspended) {
		f->suspended = false;
		MHD_resume_connection(f->conn);
	}
}

void follow_remove(struct follow_list *l, struct follow *f)
{
	unwatch(f);
	if (!f->linked)
		return;
	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	l->n--;
	f->linked = false;
}

static void on_gone(uv_poll_t *h, int status, int events)
{
	struct follow *f = h->data;
	(void)status;
	(void)events;
	/* libmicrohttpd, resumed, would not read the socket while it sends a
	 * body: the reader ends the stream with an error, which closes it */
	f->ended = f->gone = true;
	resume(f);
	api_server_kick(f->b);
}

void follow_wait(struct follow *f)
{
	f->suspended = true;
	MHD_suspend_connection(f->conn);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(f->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || f->watch)
		return;
	f->watch = xcalloc(1, sizeof *f->watch);
	f->watch->data = f;
	if (uv_poll_init_socket(f->b->loop, f->watch, ci->connect_fd) != 0) {
		free(f->watch);
		f->watch = NULL;
		return;   /* the feed's next line still finds it gone */
	}
	uv_poll_start(f->watch, UV_DISCONNECT, on_gone);
}

void follow_wake(struct follow_list *l, struct broker *b)
{
	bool any = false;
	for (struct follow *f = l->head; f; f = f->next)
		if (f->b == b && f->suspended) {
			resume(f);
			any = true;
		}
	if (any)
		api_server_kick(b);
}

void follow_end(struct follow_list *l, struct broker *b)
{
	for (struct follow *f = l->head; f; f = f->next)
		if (f->b == b) {
			f->ended = true;
			resume(f);
		}
}
