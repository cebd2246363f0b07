/* enforcer/broker_ask.c and askcache.c: a headers answer that was on its
 * way when the worker's cache was wiped (a policy change, which every
 * secret change brings, or an upstream 401) serves the request that asked,
 * but is not kept: the change may have deleted or replaced the secret, and
 * a kept answer would be injected for up to a second more. An answer with
 * no wipe in between is kept (so the checks below can fail).
 *
 * And a stall: libuv runs due timers before it reads, so a worker loop
 * that was busy past an ask's deadline while the answer came must read
 * that answer first rather than refuse the request (broker-unavailable).
 *
 * Real parts only: the worker's own broker link (brokerlink.c) and the
 * policy link (ipc_client.c) connect over a unix socket in a temp dir to a
 * scripted broker on the same loop, which holds each ask until the test
 * says to answer it; everything runs on one uv loop, bounded by a timer. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/ipc.h"
#include "common/limits.h"
#include "enforcer/askcache.h"
#include "enforcer/ipc_client.h"
#include "enforcer/mitm.h"
#include "enforcer/reqhead.h"
#include "enforcer/settings.h"
#include "enforcer/worker.h"
#include "tests/unit/unit.h"

#define WAIT_MS 5000   /* any one step; the whole test takes milliseconds */
#define CONNS_MAX 4

/* the scripted broker: a listening pipe and the connections it accepted */
struct peer {
	uv_pipe_t pipe;
	struct ipc_reader rd;
};
static uv_pipe_t server;
static struct peer peers[CONNS_MAX];
static size_t npeers;
static uint32_t asked_id;              /* the last headers ask: its id, 0 none */
static struct peer *asked_on;          /* ... and the connection it came on */

/* what the worker's callback saw */
static int answers;
static bool answer_had_headers;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(suggested);
	buf->len = suggested;
}

static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct peer *p = s->data;
	if (n > 0 && ipc_reader_feed(&p->rd, (const uint8_t *)buf->base, (size_t)n) == 0) {
		json_t *msg;
		while (ipc_reader_next(&p->rd, &msg) > 0) {
			const char *type = json_string_value(json_object_get(msg, "type"));
			if (type && strcmp(type, IPC_MSG_HEADERS) == 0) {
				asked_id = ipc_msg_id(msg);
				asked_on = p;
			}
			json_decref(msg);
		}
	}
	free(buf->base);
}

static void on_peer(uv_stream_t *srv, int status)
{
	if (status < 0 || npeers == CONNS_MAX)
		return;
	struct peer *p = &peers[npeers];
	uv_pipe_init(srv->loop, &p->pipe, 0);
	if (uv_accept(srv, (uv_stream_t *)&p->pipe) < 0) {
		uv_close((uv_handle_t *)&p->pipe, NULL);
		return;
	}
	npeers++;
	p->pipe.data = p;
	ipc_reader_init(&p->rd);
	uv_read_start((uv_stream_t *)&p->pipe, on_alloc, on_peer_read);
}

struct wreq {
	uv_write_t req;
	uint8_t *buf;
};

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	(void)status;
	free(w->buf);
	free(w);
}

/* The broker's answer to the pending ask: a bearer header, as answer_headers() shapes it. */
static void answer_pending(void)
{
	json_t *msg = json_pack("{s:s, s:I, s:[[s,s]]}", "type", IPC_MSG_HEADERS, "id", (json_int_t)asked_id,
				"headers", "Authorization", "Bearer test-credential-0123456789");
	struct wreq *w = calloc(1, sizeof *w);
	size_t len;
	if (!msg || !w || ipc_frame_encode(msg, &w->buf, &len) != 0)
		abort();
	json_decref(msg);
	uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&asked_on->pipe, &b, 1, on_written) < 0)
		abort();
	asked_id = 0;
}

static void on_headers(void *arg, const struct inject *inj, enum reason reason)
{
	(void)arg;
	answers++;
	answer_had_headers = inj && reason == REASON_NONE && inj->nadd == 1 &&
			     strcmp(inj->add[0].name, "Authorization") == 0;
}

static bool timed_out;
static void on_deadline(uv_timer_t *t)
{
	(void)t;
	timed_out = true;
}

/* Run the loop until done() or WAIT_MS; false on the timeout. */
static bool run_until(uv_loop_t *loop, bool (*done)(void))
{
	uv_timer_t t;
	timed_out = false;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, on_deadline, WAIT_MS, 0);
	while (!done() && !timed_out)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return !timed_out;
}

static struct proxy px;
static int answers_want;
static bool links_up(void)
{
	/* the policy link, and the worker's two: asks, and decisions and stats */
	return ipc_client_up(px.ipc) && npeers == 3;
}
static bool ask_arrived(void)
{
	return asked_id != 0;
}
static bool answered(void)
{
	return answers >= answers_want;
}

/* One ask answered after `wipe` ran (NULL: no wipe in between); is the
 * answer kept afterwards? */
static bool ask_and_keep(struct worker *w, void (*wipe)(struct worker *), const char *what)
{
	struct broker_ask *a;
	struct askcache_view view;
	struct inject kept;
	CHECK(broker_ask_headers(w, "tok", "api.example", on_headers, NULL, &a) == 0, "%s: asked", what);
	CHECK(run_until(&w->loop, ask_arrived), "%s: the broker got the ask", what);
	if (wipe)
		wipe(w);   /* while the answer is still to come */
	answers_want = answers + 1;
	answer_pending();
	CHECK(run_until(&w->loop, answered), "%s: answered", what);
	CHECK(answer_had_headers, "%s: the request that asked got the headers", what);
	bool hit = broker_headers_kept(w, "tok", "api.example", &view, &kept);
	inject_free(&kept);
	return hit;
}

static void wipe_policy(struct worker *w)
{
	broker_box_policy_changed(w);
}

static void wipe_401(struct worker *w)
{
	broker_note_upstream_401(w, "tok", "api.example");
}

static void on_closed_peer(uv_handle_t *h)
{
	(void)h;
}

int main(void)
{
	struct askcache *probe = askcache_new();
	if (!probe) {
		printf("# no locked memory for the cache: skipped\n");
		return 77;
	}
	askcache_free(probe);

	char dir[] = "/tmp/airlock-askwipe-XXXXXX", path[64];
	if (!mkdtemp(dir))
		return 99;
	snprintf(path, sizeof path, "%s/ipc.sock", dir);

	static struct config cfg;
	static struct worker w;
	px.cfg = &cfg;
	w.px = &px;
	uv_loop_init(&w.loop);
	uv_pipe_init(&w.loop, &server, 0);
	if (uv_pipe_bind(&server, path) < 0 || uv_listen((uv_stream_t *)&server, 8, on_peer) < 0)
		return 99;

	CHECK(ipc_client_start(&w.loop, &px, path, &px.ipc) == 0, "policy link");
	broker_box_init(&w);
	CHECK(run_until(&w.loop, links_up), "both links connected");

	/* the control: with no wipe in between the answer is kept */
	CHECK(ask_and_keep(&w, NULL, "no wipe"), "an answer with no wipe in between is kept");
	broker_box_policy_changed(&w);
	struct askcache_view view;
	struct inject kept;
	CHECK(!broker_headers_kept(&w, "tok", "api.example", &view, &kept), "a policy change wipes what is kept");
	inject_free(&kept);

	CHECK(!ask_and_keep(&w, wipe_policy, "policy change"),
	      "an answer asked before a policy change is not kept");
	CHECK(!ask_and_keep(&w, wipe_401, "upstream 401"), "an answer asked before an upstream 401 is not kept");

	/* and the next ask after the wipe is kept again */
	CHECK(ask_and_keep(&w, NULL, "after the wipes"), "an answer asked after the wipe is kept");

	/* a stall past the deadline with the answer already sent: the loop
	 * is not run for longer than the ask's deadline (as a worker busy
	 * elsewhere), then runs its due timers first */
	broker_box_policy_changed(&w);   /* not served from the cache */
	struct broker_ask *a;
	answer_had_headers = false;
	CHECK(broker_ask_headers(&w, "tok", "api.example", on_headers, NULL, &a) == 0, "stall: asked");
	CHECK(run_until(&w.loop, ask_arrived), "stall: the broker got the ask");
	answers_want = answers + 1;
	answer_pending();   /* written at once: it waits in the worker's socket */
	usleep((AL_BROKER_ASK_TIMEOUT_MS + 300) * 1000);
	CHECK(run_until(&w.loop, answered), "stall: the ask ended");
	CHECK(answer_had_headers, "an answer that came during a stall past the deadline is taken, not refused");

	broker_box_stop(&w);
	ipc_client_stop(px.ipc);
	for (size_t i = 0; i < npeers; i++) {
		uv_close((uv_handle_t *)&peers[i].pipe, on_closed_peer);
		ipc_reader_free(&peers[i].rd);
	}
	uv_close((uv_handle_t *)&server, NULL);
	uv_run(&w.loop, UV_RUN_DEFAULT);
	broker_box_free(&w);
	ipc_client_free(px.ipc);
	CHECK(uv_loop_close(&w.loop) == 0, "every handle closed");
	unlink(path);
	rmdir(dir);
	return unit_finish("test-askwipe");
}
