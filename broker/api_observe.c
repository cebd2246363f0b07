/* The API's views of the traffic: GET /proxy/v1/decisions (the decision
 * ring as JSON lines; with follow=1 the response stays open and each new
 * decision is written as it arrives: the connection is suspended while
 * there is nothing to send and resumed by api_decisions_wake()), and, off
 * the /proxy/v1/ prefix, GET /metrics (Prometheus text), /healthz (the
 * broker answers) and /readyz (an enforcer runs the current policy). */
#include "config.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "broker/follow.h"
#include "broker/ipc_server.h"
#include "broker/observe.h"
#include "broker/supervise.h"
#include "broker/ui.h"
#include "common/duration.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

#define STREAM_BLOCK (64 * 1024)

struct follower {
	struct follow fl;              /* b and conn are set for every reader */
	uint64_t seq;                  /* next entry to look at */
	char client[AL_NAME_MAX + 1];  /* "" = any */
	char verdict[16];              /* "" = any */
	int64_t since_ms;              /* 0 = all kept */
	bool follow;
};

static struct follow_list followers = { .cap = AL_DECISIONS_FOLLOWERS };

static bool wanted(const struct follower *f, const struct observe_entry *e)
{
	return (!f->client[0] || strcmp(f->client, e->client) == 0) &&
	       (!f->verdict[0] || strcmp(f->verdict, e->verdict) == 0) && e->at_ms >= f->since_ms;
}

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct follower *f = cls;
	size_t n = 0;
	(void)pos;

	if (f->fl.ended)
		return FOLLOW_END(&f->fl);
	if (f->seq < observe_oldest(f->fl.b))
		f->seq = observe_oldest(f->fl.b);   /* the ring moved on: what is gone is gone */
	for (struct observe_entry *e; (e = observe_at(f->fl.b, f->seq)); f->seq++) {
		size_t len;
		if (!wanted(f, e))
			continue;
		const char *line = observe_line(e, &len);
		if (!line)
			continue;   /* not a decision line: logged once, never served */
		if (len > max)
			continue;   /* never: lines are capped well under a block */
		if (n + len > max)
			break;
		memcpy(buf + n, line, len);
		n += len;
	}
	if (n)
		return (ssize_t)n;
	if (!f->follow)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* nothing now: wait for the next decision without a busy loop */
	follow_wait(&f->fl);
	return 0;
}

static void on_free(void *cls)
{
	struct follower *f = cls;
	follow_remove(&followers, &f->fl);
	free(f);
}

void api_decisions_wake(struct broker *b)
{
	follow_wake(&followers, b);
}

void api_decisions_end(struct broker *b)
{
	follow_end(&followers, b);
}

struct args {
	struct follower *f;
	char err[128];
};

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct args *a = cls;
	struct follower *f = a->f;
	int64_t secs;
	(void)kind;

	if (a->err[0])
		return MHD_NO;
	if (!value)
		value = "";
	if (strcmp(key, "client") == 0) {
		if (name_validate(value) < 0)
			snprintf(a->err, sizeof a->err, "client: not a client name");
		else
			snprintf(f->client, sizeof f->client, "%s", value);
	} else if (strcmp(key, "verdict") == 0) {
		if (strcmp(value, "allow") != 0 && strcmp(value, "deny") != 0 && strcmp(value, "hold") != 0)
			snprintf(a->err, sizeof a->err, "verdict: allow, deny or hold");
		else
			snprintf(f->verdict, sizeof f->verdict, "%s", value);
	} else if (strcmp(key, "since") == 0) {
		if (duration_parse(value, 0, AL_TTL_MAX_SECONDS, &secs) < 0)
			snprintf(a->err, sizeof a->err, "since: a duration such as 90s, 15m or 2h");
		else
			f->since_ms = time_now_ms() - secs * 1000;
	} else if (strcmp(key, "follow") == 0) {
		if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0 && strcmp(value, "true") != 0 &&
		    strcmp(value, "false") != 0)
			snprintf(a->err, sizeof a->err, "follow: 1 or 0");
		else
			f->follow = value[0] == '1' || value[0] == 't';
	} else {
		snprintf(a->err, sizeof a->err, "unknown query parameter '%.40s'", key);
	}
	return a->err[0] ? MHD_NO : MHD_YES;
}

bool api_decisions_stream(struct broker *b, struct MHD_Connection *conn, struct api_answer *ans, bool ui)
{
	struct follower *f = xcalloc(1, sizeof *f);
	struct args a = { .f = f };

	f->fl.b = b;
	f->fl.conn = conn;
	f->seq = observe_oldest(b);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, &a);
	if (a.err[0]) {
		free(f);
		api_error(ans, 400, "%s", a.err);
		return false;
	}
	if (f->follow && !follow_add(&followers, &f->fl, b, conn)) {
		free(f);
		api_error(ans, 503, "too many followers (%d at once)", AL_DECISIONS_FOLLOWERS);
		return false;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, on_read, f,
								       on_free);
	if (!resp) {
		on_free(f);
		return false;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (ui)
		ui_security_headers(resp);
	enum MHD_Result r = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return r == MHD_YES;
}

/* ---- outside /proxy/v1/ ---- */

void api_metrics(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	(void)req;
	ans->status = 200;
	ans->text = observe_metrics(b, &ans->text_len);
	ans->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void api_healthz(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	(void)b;
	(void)req;
	ans->status = 200;
	ans->text = xstrdup("ok\n");
	ans->text_len = 3;
	ans->content_type = "text/plain";
}

void api_readyz(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	struct supervisor_status st = { 0 };
	(void)req;
	supervisor_status(b->sup, &st);
	bool ready = (!st.enabled || st.running) && ipc_server_applied(b->ipc, b->policy_version) &&
		     ipc_server_enforcers(b->ipc) > 0;
	ans->status = ready ? 200 : 503;
	ans->text = xstrdup(ready ? "ready\n" : "not ready: no enforcer runs the current policy\n");
	ans->text_len = strlen(ans->text);
	ans->content_type = "text/plain";
}
