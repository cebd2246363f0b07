/* A long-lived GET that streams JSON lines as they come (the decisions
 * feed, the approvals feed): libmicrohttpd's connection is suspended while
 * there is nothing to send and resumed when something arrives, so that a
 * follower costs no CPU while it waits. One list per feed; each follower
 * embeds a struct follow as its first member. */
#ifndef AIRLOCK_BROKER_FOLLOW_H
#define AIRLOCK_BROKER_FOLLOW_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct broker;

struct follow {
	struct follow *next, *prev;
	struct broker *b;
	struct MHD_Connection *conn;
	/* while suspended, libmicrohttpd does not look at the socket: this
	 * watch sees the other end go away, so that a follower that left
	 * gives its place back at once, not at the feed's next line */
	uv_poll_t *watch;
	bool linked, suspended, ended, gone;
};

/* What a feed's reader answers once the stream is over (ended: the broker
 * stops; gone: the other end left). */
#define FOLLOW_END(f) ((f)->gone ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM)

struct follow_list {
	struct follow *head;
	size_t n, cap;   /* cap: at most this many at once */
};

/* Link a follower of conn: false when the list is at its cap. */
bool follow_add(struct follow_list *l, struct follow *f, struct broker *b,
		struct MHD_Connection *conn);
/* Unlink (from the response's free callback); a follower never linked is
 * left alone. */
void follow_remove(struct follow_list *l, struct follow *f);
/* Nothing to send now: suspend until follow_wake(), follow_end() or the
 * other end closing. */
void follow_wait(struct follow *f);
/* Something arrived for broker b: resume its suspended followers. */
void follow_wake(struct follow_list *l, struct broker *b);
/* The broker stops: each of its followers ends its stream at its next read. */
void follow_end(struct follow_list *l, struct broker *b);

#endif
