/* /proxy/v1/status (where things are, is the enforcer up, which policy
 * version it has been sent), /proxy/v1/ca (the CA certificate PEM that
 * sandboxes must trust) and /proxy/v1/openapi.json (this API described:
 * docs/openapi.yaml, turned into JSON at build time by tools/openapi-embed). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "broker/fleet.h"
#include "broker/oauth.h"
#include "broker/observe.h"
#include "broker/supervise.h"
#include "broker/tokens_today.h"
#include "broker/openapi.h"
#include "common/ca.h"
#include "common/duration.h"
#include "common/xmalloc.h"


void api_info_status(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	char http[128], https[128];
	struct supervisor_status st = { 0 };

	broker_proxy_url(b, "http", b->cfg.http_port, http, sizeof http);
	broker_proxy_url(b, "https", b->cfg.https_port, https, sizeof https);
	supervisor_status(b->sup, &st);
	json_t *enf = json_pack("{s:b, s:I, s:I}", "running", st.running, "pid", (json_int_t)st.pid,
				"restarts", (json_int_t)st.restarts);
	if (!st.enabled)
		json_object_set_new(enf, "disabled", json_true());
	json_t *st_json = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I}", "version", PACKAGE_VERSION,
				    "state_dir", b->cfg.state_dir, "api_socket", b->api_sock_path, "ca_cert",
				    b->ca_path, "http_proxy", http, "https_proxy", https, "mode", b->cfg.mode,
				    "enforcer", enf, "policy_version", (json_int_t)b->policy_version);
	/* what an operator asks first: how long up, what listens, how much is
	 * configured, and whether each OAuth login still works */
	json_object_set_new(st_json, "uptime_seconds", json_integer((json_int_t)((time_now_ms() - b->started_ms) / 1000)));
	if (b->cfg.metrics_listen)
		json_object_set_new(st_json, "metrics_listen", json_string(b->cfg.metrics_listen));
	if (b->cfg.ui_listen)
		json_object_set_new(st_json, "ui_listen", json_string(b->cfg.ui_listen));
	json_object_set_new(st_json, "counts",
			    json_pack("{s:I, s:I, s:I}", "clients", (json_int_t)json_array_size(state_clients(b->state.doc)),
				      "rules", (json_int_t)json_array_size(state_rules(b->state.doc)), "secrets",
				      (json_int_t)json_array_size(state_secrets(b->state.doc))));
	json_t *oauth = json_array(), *sec;
	size_t i;
	json_array_foreach(state_secrets(b->state.doc), i, sec) {
		if (!broker_oauth_type(json_str(sec, "type", "")))
			continue;
		json_t *o = json_pack("{s:s, s:s, s:s}", "name", json_str(sec, "name", ""), "type",
				      json_str(sec, "type", ""), "status", json_str(sec, "status", "ok"));
		json_t *exp = json_object_get(sec, "expires_at");
		if (json_is_integer(exp))
			json_object_set_new(o, "expires_at", api_time(json_integer_value(exp)));
		json_array_append_new(oauth, o);
	}
	json_object_set_new(st_json, "oauth", oauth);
	if (fleet_enabled(b))
		json_object_set_new(st_json, "store", fleet_describe(b));
	/* LLM tokens read from answers to injected requests, since the broker started */
	json_object_set_new(st_json, "llm_usage", observe_usage(b));
	json_object_set_new(st_json, "tokens_today", tokens_today_status(b));
	api_json(ans, 200, st_json);
}

void api_info_ca(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	char *pem = NULL;
	size_t len = 0;
	int ret = ca_cert_pem(b->cfg.state_dir, &pem, &len);
	if (ret < 0) {
		api_error(ans, 500, "cannot read the CA certificate: %s", airlock_strerror(ret));
		return;
	}
	ans->status = 200;
	ans->text = pem;
	ans->text_len = len;
	ans->content_type = "text/plain";
}

void api_info_openapi(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	ans->status = 200;
	ans->text = xmalloc(broker_openapi_json_len + 1);
	memcpy(ans->text, broker_openapi_json, broker_openapi_json_len);
	ans->text[broker_openapi_json_len] = '\0';
	ans->text_len = broker_openapi_json_len;
	ans->content_type = "application/json";
}
