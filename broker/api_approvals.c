/* /proxy/v1/approvals: the requests held for a person. GET lists the
 * pending ones (a JSON array); with follow=1 it is a stream of JSON lines:
 * the pending ones first, then each event as it happens (a new hold, an
 * approval, a refusal, an expiry, a withdrawal), the connection suspended
 * while there is nothing to send. POST approvals/{id} decides one: an
 * approval creates its rule through POST allows' own handler, so it is
 * checked, committed and pushed as any rule is. */
#include "config.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "broker/follow.h"
#include "broker/approvals.h"
#include "broker/ui.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#define STREAM_BLOCK (64 * 1024)

static const struct json_field decide_fields[] = {
	{ "decision", JF_STRING, true, 0, 0, 16, 0 },
	{ "path", JF_STRING, false, 0, 0, AL_PATH_MAX, 0 },
	{ "ttl_seconds", JF_INT, false, 0, AL_TTL_MAX_SECONDS, 0, 0 },
};

const struct api_body_table api_approvals_bodies[] = {
	{ "POST approvals/{id}", decide_fields, ARRAY_SIZE(decide_fields) },
	{ NULL, NULL, 0 },
};

static bool parse_id(const char *s, uint64_t *id)
{
	uint64_t v = 0;
	if (!s || !*s || strlen(s) > 18)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*id = v;
	return v > 0;
}

void api_approvals_decide(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	uint64_t id;
	char err[160];

	if (!api_validate(ans, req->body, decide_fields, ARRAY_SIZE(decide_fields)))
		return;
	const char *decision = json_str(req->body, "decision", "");
	bool approve = strcmp(decision, "approve") == 0;
	if (!approve && strcmp(decision, "deny") != 0) {
		api_error(ans, 400, ".decision: \"approve\" or \"deny\"");
		return;
	}
	if (!parse_id(req->seg[1], &id)) {
		api_error(ans, 404, "no such approval (ids are numbers)");
		return;
	}
	struct approval *a = approvals_find(b, id);
	if (!a) {
		api_error(ans, 404, "no pending approval %s (decided, expired or withdrawn)", req->seg[1]);
		return;
	}
	json_t *view = approvals_view(a);
	if (!approve) {
		if (json_object_get(req->body, "path") || json_object_get(req->body, "ttl_seconds")) {
			json_decref(view);
			api_error(ans, 400, "a refusal takes no .path or .ttl_seconds");
			return;
		}
		approvals_deny(b, a);
		json_object_set_new(view, "state", json_string("denied"));
		api_json(ans, 200, view);
		return;
	}
	json_t *ttl = json_object_get(req->body, "ttl_seconds");
	json_t *body = approvals_rule_body(a, json_str(req->body, "path", NULL),
					   ttl ? json_integer_value(ttl) : AL_APPROVAL_TTL_DEFAULT, err, sizeof err);
	if (!body) {
		json_decref(view);
		api_error(ans, 400, "%s", err);
		return;
	}
	struct api_request sub = { .method = "POST", .seg = { "allows" }, .nseg = 1, .body = body };
	int64_t existing = 0;
	api_allows_create(b, &sub, ans);
	if (ans->status == 409 && api_allows_existing(b->state.doc, body, &existing)) {
		/* the same rule exists already (approved with another hold): it runs */
		json_t *rules = json_array();
		api_json(ans, 200, rules);
		ans->policy_version = b->policy_version;
	} else if (ans->status != 201) {
		json_decref(body);
		json_decref(view);
		return;   /* the allows handler's refusal, as it is */
	}
	json_t *rule = ans->status == 201 ? json_incref(ans->json) : NULL;
	uint64_t rid = rule ? (uint64_t)json_integer_value(json_object_get(rule, "id")) : (uint64_t)existing;
	approvals_approve(b, a, ans->policy_version ? ans->policy_version : b->policy_version, rid, body);
	json_object_set_new(view, "state", json_string("approved"));
	json_object_set_new(view, "rule", rule ? rule : json_integer(existing));
	api_json(ans, 200, view);
	json_decref(body);
}

/* ---- the stream ---- */

struct afollower {
	struct follow fl;
	char *first;                   /* the pending ones at the start, then NULL */
	size_t first_len, first_off;
	uint64_t seq;                  /* next event to send */
};

static struct follow_list afollowers = { .cap = AL_APPROVAL_FOLLOWERS };

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct afollower *f = cls;
	size_t n = 0, len;
	(void)pos;

	if (f->fl.ended)
		return FOLLOW_END(&f->fl);
	if (f->first) {
		n = f->first_len - f->first_off < max ? f->first_len - f->first_off : max;
		memcpy(buf, f->first + f->first_off, n);
		f->first_off += n;
		if (f->first_off == f->first_len) {
			free(f->first);
			f->first = NULL;
		}
		if (n)
			return (ssize_t)n;
	}
	if (f->seq < approvals_events_oldest(f->fl.b))
		f->seq = approvals_events_oldest(f->fl.b);
	for (const char *line; (line = approvals_event(f->fl.b, f->seq, &len)); f->seq++) {
		if (n + len > max)
			break;
		memcpy(buf + n, line, len);
		n += len;
	}
	if (n)
		return (ssize_t)n;
	follow_wait(&f->fl);
	return 0;
}

static void on_free(void *cls)
{
	struct afollower *f = cls;
	follow_remove(&afollowers, &f->fl);
	free(f->first);
	free(f);
}

void api_approvals_wake(struct broker *b)
{
	follow_wake(&afollowers, b);
}

void api_approvals_end(struct broker *b)
{
	follow_end(&afollowers, b);
}

struct args {
	bool follow;
	char err[128];
};

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct args *a = cls;
	(void)kind;
	if (!value)
		value = "";
	if (strcmp(key, "follow") != 0) {
		snprintf(a->err, sizeof a->err, "unknown query parameter '%.40s'", key);
		return MHD_NO;
	}
	if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0 && strcmp(value, "true") != 0 &&
	    strcmp(value, "false") != 0) {
		snprintf(a->err, sizeof a->err, "follow: 1 or 0");
		return MHD_NO;
	}
	a->follow = value[0] == '1' || value[0] == 't';
	return MHD_YES;
}

bool api_approvals_get(struct broker *b, struct MHD_Connection *conn, struct api_answer *ans, bool ui)
{
	struct args a = { 0 };

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, &a);
	if (a.err[0]) {
		api_error(ans, 400, "%s", a.err);
		return false;
	}
	if (!a.follow) {
		api_json(ans, 200, approvals_list(b));
		return false;
	}
	struct afollower *f = xcalloc(1, sizeof *f);
	if (!follow_add(&afollowers, &f->fl, b, conn)) {
		free(f);
		api_error(ans, 503, "too many followers (%d at once)", AL_APPROVAL_FOLLOWERS);
		return false;
	}
	f->seq = approvals_events_next(b);
	f->first = approvals_pending_lines(b, &f->first_len);
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
