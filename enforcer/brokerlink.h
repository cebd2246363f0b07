/* One link to the broker's ipc.sock on one libuv loop: connect, check the
 * peer (same uid), say hello, read frames and hand each to the owner, write
 * frames in order, and when the link breaks tell the owner and reconnect
 * with backoff. The policy feed (ipc_client.c, main loop) owns one; each
 * worker's ask channel (broker_ask.c, the worker's loop) owns another. A
 * link is used from its loop's thread only. */
#ifndef AIRLOCK_ENFORCER_BROKERLINK_H
#define AIRLOCK_ENFORCER_BROKERLINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "common/ipc.h"

struct broker_link;

struct brokerlink_ops {
	/* A whole frame (a JSON object with a string "type"). The link frees
	 * msg after the call; one that carries secrets is the owner's to wipe.
	 * < 0: the link is dropped. */
	int (*on_frame)(struct broker_link *l, json_t *msg);
	/* hello is written: frames written from now on reach the broker */
	void (*on_up)(struct broker_link *l);
	/* The link broke (why: for the log); what was queued is gone, and a
	 * retry is scheduled. The owner may write again (a new connect). */
	void (*on_down)(struct broker_link *l, const char *why);
};

enum brokerlink_state { BROKERLINK_DOWN, BROKERLINK_CONNECTING, BROKERLINK_UP };

struct link_frame;

/* Embedded in its owner; the fields are the link's own. */
struct broker_link {
	uv_loop_t *loop;
	char *path;
	bool asks_only;                 /* hello with asks_only: no policy frames */
	const struct brokerlink_ops *ops;
	void *data;                     /* the owner's */
	enum brokerlink_state state;
	bool stopped;
	uv_pipe_t *pipe;                /* NULL when down */
	uv_connect_t creq;
	uv_timer_t retry;
	unsigned backoff_ms;
	struct ipc_reader rd;
	struct link_frame *queued, **qtail;   /* written while connecting */
};

/* Set up l on loop (before the loop runs, or on its thread). */
void brokerlink_init(struct broker_link *l, uv_loop_t *loop, const char *path, bool asks_only,
		     const struct brokerlink_ops *ops, void *data);
/* Connect now unless connected or connecting (a pending retry is cut short). */
void brokerlink_connect(struct broker_link *l);
/* Write one encoded frame; the link takes buf. 0: written, or queued while
 * connecting (sent after hello, dropped with on_down if the connect fails).
 * AL_EUNAVAIL: the link is down, or broke writing (on_down was called). */
int brokerlink_write(struct broker_link *l, uint8_t *buf, size_t len) AL_MUST_CHECK;
/* The broker answered as it should: the next retry starts at the shortest
 * backoff again. */
void brokerlink_healthy(struct broker_link *l);
/* Read and hand out what the broker has already sent, now, without
 * waiting for the loop's I/O phase (libuv runs due timers first: after a
 * stall past an ask's deadline its answer may be waiting unread). Bounded;
 * the link may go down in it (on_down). */
void brokerlink_read_now(struct broker_link *l);
/* Close the connection and the timer; no callback after this. */
void brokerlink_stop(struct broker_link *l);
/* After the loop has run the closes (or never ran). */
void brokerlink_free(struct broker_link *l);

#endif
