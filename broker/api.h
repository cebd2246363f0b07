/* The REST API (docs/api.md): the server (api_server.c: libmicrohttpd on
 * the uv loop, body caps, routing) and the handlers, one file per noun
 * (api_clients.c, api_secrets.c, api_allows.c, api_info.c). A handler gets
 * a parsed request and fills one answer; it commits any change to the state
 * before it answers. */
#ifndef AIRLOCK_BROKER_API_H
#define AIRLOCK_BROKER_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "common/error.h"
#include "common/jsonutil.h"

#define API_PREFIX "/proxy/v1/"
#define API_SEG_MAX 3

struct api_request {
	const char *method;
	const char *seg[API_SEG_MAX];   /* path segments after /proxy/v1/ */
	size_t nseg;
	json_t *body;                   /* POST: a parsed JSON object */
};

#define API_HEADERS_MAX 4   /* a handler's two, the policy version, "not applied" */

struct api_answer {
	unsigned status;
	json_t *json;                   /* owned; or text below; neither: no body (204) */
	char *text;
	size_t text_len;
	const char *content_type;
	/* extra response headers: a 204 has no body, its details go here */
	struct {
		const char *name;       /* static */
		char *value;            /* owned */
	} headers[API_HEADERS_MAX];
	size_t nheaders;
	uint64_t policy_version;        /* a change pushed this version: answer once it runs */
};

typedef void (*api_handler)(struct broker *b, const struct api_request *req,
			    struct api_answer *ans);

/* Answer helpers: json_ok steals obj. */
void api_json(struct api_answer *ans, unsigned status, json_t *obj);
void api_error(struct api_answer *ans, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* 204 No Content: what the seed SDKs expect of DELETEs and revokes. */
void api_no_content(struct api_answer *ans);
/* Add a response header whose value is the ids of a JSON array of
 * integers, comma-separated ("" when empty). */
void api_header_ids(struct api_answer *ans, const char *name, const json_t *ids);
void api_header_int(struct api_answer *ans, const char *name, long long v);
/* A header whose value is a copy of v. */
void api_header_str(struct api_answer *ans, const char *name, const char *v);
/* Validate a body against a field table: 400 with the path on failure. */
bool api_validate(struct api_answer *ans, const json_t *body, const struct json_field *fields,
		  size_t nfields);
/* RFC 3339 UTC string of unix seconds, as a new JSON string. */
json_t *api_time(int64_t t);
/* The committed change: with policy_changed, build the draft's policy and
 * refuse the change (413) when it would not fit one IPC frame; then write
 * the state (500 on failure) and push that policy. Takes the draft; false
 * (ans filled) when nothing changed. */
bool api_commit(struct broker *b, struct api_answer *ans, json_t *draft, bool policy_changed);

/* Handlers. */
void api_clients_create(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_clients_list(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_clients_get(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_clients_delete(struct broker *b, const struct api_request *req, struct api_answer *ans);
/* PATCH clients/{name}: {on_deny?, max_rpm?, ...}: what the body names changes */
void api_clients_update(struct broker *b, const struct api_request *req, struct api_answer *ans);
/* Add to o the budget fields (max_rpm...) that from has. */
void api_budget_view(json_t *o, const json_t *from);
void api_secrets_create(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_secrets_list(struct broker *b, const struct api_request *req, struct api_answer *ans);
/* broker/oauth.c: GET secrets/{name}/stub */
void api_secrets_stub(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_secrets_delete(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_allows_create(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_allows_delete_host(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_allows_revoke(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_info_status(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_info_ca(struct broker *b, const struct api_request *req, struct api_answer *ans);
/* api_explain.c: POST explain */
void api_explain(struct broker *b, const struct api_request *req, struct api_answer *ans);
/* GET openapi.json: docs/openapi.yaml, converted to JSON at build time */
void api_info_openapi(struct broker *b, const struct api_request *req, struct api_answer *ans);

/* api_observe.c: GET /metrics, /healthz, /readyz (off the /proxy/v1/
 * prefix, also on --metrics-listen) */
void api_metrics(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_healthz(struct broker *b, const struct api_request *req, struct api_answer *ans);
void api_readyz(struct broker *b, const struct api_request *req, struct api_answer *ans);
/* GET /proxy/v1/decisions is a stream (api_observe.c): new decisions wake
 * its followers; at stop they end. */
void api_decisions_wake(struct broker *b);
void api_decisions_end(struct broker *b);
struct MHD_Connection;
/* Queue the stream's response (true), or fill ans with the refusal (false;
 * ans->status 0: the connection is to be dropped); ui: on the page's
 * listener (its security headers). */
bool api_decisions_stream(struct broker *b, struct MHD_Connection *conn, struct api_answer *ans, bool ui);
/* api_approvals.c: POST approvals/{id}; GET approvals (a list, or with
 * follow=1 a stream like decisions': true when the stream is queued). */
void api_approvals_decide(struct broker *b, const struct api_request *req, struct api_answer *ans);
bool api_approvals_get(struct broker *b, struct MHD_Connection *conn, struct api_answer *ans, bool ui);
void api_approvals_wake(struct broker *b);
void api_approvals_end(struct broker *b);
/* api_allows.c: a live rule of the same identity as this POST allows body
 * exists (*id set). */
bool api_allows_existing(const json_t *doc, const json_t *body, int64_t *id);
/* Run the API server's MHD soon (a suspended connection was resumed). */
void api_server_kick(struct broker *b);

/* A rule as the API shows it (RULE in docs/api.md). */
json_t *api_rule_view(const json_t *doc, const json_t *rule);

/* The server: listen on path (0600), serve on the broker's loop. */
int api_server_start(struct broker *b, const char *path, struct api_server **out, char *err,
		     size_t errlen) AL_MUST_CHECK;
enum api_mode { API_MODE_FULL, API_MODE_METRICS, API_MODE_UI };
/* --metrics-listen: GET /metrics, /healthz, /readyz alone, over TCP. */
int api_metrics_start(struct broker *b, const char *addrport, struct api_server **out, char *err,
		      size_t errlen) AL_MUST_CHECK;
/* --ui-listen: the web page (broker/ui_server.c) and the calls it makes,
 * behind the login token token, over TCP. */
int api_ui_start(struct broker *b, const char *addrport, const char *token, struct api_server **out,
		 char *err, size_t errlen) AL_MUST_CHECK;
void api_server_stop(struct api_server *s);
/* An enforcer acknowledged a policy or went away: answer the changes that
 * were waiting for it (ipc_server.c). */
void api_policy_progress(struct broker *b);

/* The field table of each JSON body, one NULL-terminated list per handler
 * file, for tests/fuzz/fuzz-api-body.c (it drives json_validate with the
 * tables the handlers use, wherever those live). */
struct api_body_table {
	const char *route;
	const struct json_field *fields;
	size_t nfields;
};
extern const struct api_body_table api_clients_bodies[];
extern const struct api_body_table api_secrets_bodies[];
extern const struct api_body_table api_allows_bodies[];
extern const struct api_body_table api_explain_bodies[];
extern const struct api_body_table api_approvals_bodies[];
extern const struct api_body_table api_ui_bodies[];   /* ui_server.c: the page's login */

#endif
