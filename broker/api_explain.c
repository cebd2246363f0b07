/* POST /proxy/v1/explain {client, method, url}: which rule would let this
 * request through, or why each of the client's rules does not. The broker
 * decides with the enforcer's own matcher (enforcer/policy.c, compiled into
 * the broker too) over the policy it last published, so the answer is what
 * the proxy would do now, not a second reading of the rules. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "common/duration.h"
#include "common/ipc.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "enforcer/policy.h"

static const struct json_field explain_fields[] = {
	{ "client", JF_STRING, true, 0, 0, AL_NAME_MAX, 0 },
	{ "method", JF_STRING, true, 0, 0, AL_METHOD_MAX, 0 },
	{ "url", JF_STRING, true, 0, 0, AL_PATH_MAX + AL_HOST_BUF + 16, 0 },
};

const struct api_body_table api_explain_bodies[] = {
	{ "POST explain", explain_fields, ARRAY_SIZE(explain_fields) },
	{ NULL, NULL, 0 },
};

/* "http://host[:port]/path?q" or https: scheme, canonical host, port, and
 * the normalised path (no query). */
static int url_split(const char *url, const char **scheme, char host[AL_HOST_BUF], uint16_t *port,
		     char path[AL_PATH_MAX + 1])
{
	const char *p, *end, *hend;
	enum host_kind kind;
	const char *query;
	char portbuf[8];

	if (strncmp(url, "http://", 7) == 0) {
		*scheme = "http";
		*port = 80;
		p = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*scheme = "https";
		*port = 443;
		p = url + 8;
	} else {
		return AL_EINVAL;
	}
	end = p + strcspn(p, "/?#");
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (!hend)
			return AL_EINVAL;
		if (host_canon(p + 1, (size_t)(hend - p - 1), host, &kind) < 0)
			return AL_EINVAL;
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (!hend)
			hend = end;
		if (host_canon(p, (size_t)(hend - p), host, &kind) < 0)
			return AL_EINVAL;
	}
	if (hend < end) {
		if (*hend != ':' || (size_t)(end - hend - 1) >= sizeof portbuf || end - hend < 2)
			return AL_EINVAL;
		memcpy(portbuf, hend + 1, (size_t)(end - hend - 1));
		portbuf[end - hend - 1] = '\0';
		if (port_parse(portbuf, port) < 0)
			return AL_EINVAL;
	}
	if (*end == '#')
		return AL_EINVAL;
	if (*end != '/') {
		snprintf(path, AL_PATH_MAX + 1, "/");
		return 0;
	}
	size_t plen = strcspn(end, "#");
	return path_normalise(end, plen, path, &query) < 0 ? AL_EINVAL : 0;
}

/* The published policy, parsed as the enforcer parses it. */
static struct policy *published(const struct broker *b)
{
	struct policy *p = NULL;
	json_error_t e;
	if (!b->policy.buf || b->policy.len <= IPC_HEADER_LEN)
		return NULL;
	json_t *msg = json_loadb((const char *)b->policy.buf + IPC_HEADER_LEN, b->policy.len - IPC_HEADER_LEN, 0, &e);
	if (!msg || policy_parse(msg, &p) < 0)
		p = NULL;
	json_decref(msg);
	return p;
}

static json_t *rule_line(const struct policy_rule *r, const struct policy_req *pr, bool https)
{
	struct policy_client one = { .name = (char *)"", .rules = (struct policy_rule *)r, .nrules = 1 };
	enum reason reason = REASON_NONE;
	const char *why;
	bool matches = false;

	if (r->expires_at && r->expires_at <= pr->now) {
		why = "expired";
	} else if (!host_pattern_match(r->host, pr->host)) {
		why = "host-does-not-match";
	} else {
		struct policy_req connect = *pr;
		connect.method = NULL;
		connect.path = NULL;
		enum policy_action ca = policy_decide(&one, &connect, NULL, NULL);
		if (https && (ca == POLICY_TUNNEL || ca == POLICY_PASSTHROUGH)) {
			matches = true;   /* a blind tunnel: method and path are never seen */
			why = NULL;
		} else {
			matches = policy_decide(&one, pr, NULL, &reason) == POLICY_FORWARD;
			why = matches ? NULL : reason_name(reason);
		}
	}
	json_t *o = json_pack("{s:I, s:s, s:b}", "id", (json_int_t)r->id, "host", r->host, "matches", matches);
	if (why)
		json_object_set_new(o, "reason", json_string(why));
	if (r->secret)
		json_object_set_new(o, "secret", json_string(r->secret));
	return o;
}

void api_explain(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	char host[AL_HOST_BUF], path[AL_PATH_MAX + 1], method[AL_METHOD_MAX + 1];
	const char *scheme, *client = json_str(req->body, "client", "");
	uint16_t port;
	struct policy *pol = NULL;

	if (!api_validate(ans, req->body, explain_fields, ARRAY_SIZE(explain_fields)))
		return;
	if (method_parse(json_str(req->body, "method", ""), method) < 0) {
		api_error(ans, 400, ".method: not an HTTP method");
		return;
	}
	if (url_split(json_str(req->body, "url", ""), &scheme, host, &port, path) < 0) {
		api_error(ans, 400, ".url: expected http:// or https://, a host name or address, an optional port "
			  "and a path airlock would accept");
		return;
	}
	if (!state_client(b->state.doc, client, NULL)) {
		api_error(ans, 404, "unknown client %s", client);
		return;
	}
	if (!(pol = published(b))) {
		api_error(ans, 500, "the published policy does not parse");
		return;
	}
	const struct policy_client *pc = policy_client_by_name(pol, client);
	bool https = strcmp(scheme, "https") == 0;
	struct policy_req pr = { .host = host, .port = port, .method = method, .path = path, .now = time_now() };
	struct policy_req connect = { .host = host, .port = port, .now = pr.now };
	const struct policy_rule *rule = NULL;
	enum reason reason = REASON_NONE;
	const char *how;

	/* as the proxy decides: an https request is a CONNECT first */
	enum policy_action a = https ? policy_decide(pc, &connect, &rule, &reason) : POLICY_INSPECT;
	if (https && (a == POLICY_TUNNEL || a == POLICY_PASSTHROUGH)) {
		how = a == POLICY_TUNNEL ? "tunnel" : "passthrough";
	} else if (https && a == POLICY_DENY) {
		how = NULL;
	} else {
		rule = NULL;
		a = policy_decide(pc, &pr, &rule, &reason);
		how = a == POLICY_FORWARD ? (https ? "inspect" : "forward") : NULL;
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "client", client, "method", method, "scheme",
			      scheme, "host", host, "port", (json_int_t)port, "path", path, "verdict",
			      how ? "allow" : "deny");
	json_object_set_new(o, "rule", rule && how ? json_integer((json_int_t)rule->id) : json_null());
	json_object_set_new(o, "how", how ? json_string(how) : json_null());
	json_object_set_new(o, "reason", how ? json_null() : json_string(reason_name(reason ? reason : REASON_NO_RULE)));
	if (how && rule && rule->secret && !https)
		json_object_set_new(o, "note", json_string("the rule's secret is never sent over plain http: not injected"));
	json_t *rules = json_array();
	for (size_t i = 0; pc && i < pc->nrules; i++)
		json_array_append_new(rules, rule_line(&pc->rules[i], &pr, https));
	/* rules the state holds but the policy dropped (their secret is gone) */
	json_t *r;
	size_t i;
	json_array_foreach(state_rules(b->state.doc), i, r) {
		if (strcmp(json_str(r, "client", ""), client) != 0)
			continue;
		bool found = false;
		for (size_t k = 0; pc && k < pc->nrules && !found; k++)
			found = pc->rules[k].id == (uint64_t)json_int(r, "id", 0);
		if (!found)
			json_array_append_new(rules, json_pack("{s:I, s:s, s:b, s:s}", "id", (json_int_t)json_int(r, "id", 0),
							       "host", json_str(r, "host", ""), "matches", 0, "reason",
							       "not-in-policy"));
	}
	json_object_set_new(o, "rules", rules);
	policy_unref(pol);
	api_json(ans, 200, o);
}
