/* /proxy/v1/secrets: store (value checked by its type, sealed with the
 * secret's name as associated data; the plaintext is wiped), list (never a
 * value; a bare JSON array), delete (204; rules that use it are reported in
 * a header and stop matching until a secret of that name exists again). */
#include "config.h"

#include <string.h>

#include "broker/api.h"
#include "broker/oauth.h"
#include "broker/sealed.h"
#include "broker/secret_types.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/seal.h"
#include "common/xmalloc.h"

#define SECRET_TYPE_MAX 32
#define SOURCE_FILE_MAX 4096

static const struct json_field secret_create_fields[] = {
	{ "name", JF_STRING, true, 0, 0, AL_NAME_MAX, 0 },
	{ "host", JF_STRING, false, 0, 0, 0, 0 },   /* required unless the type has a default */
	{ "type", JF_STRING, false, 0, 0, SECRET_TYPE_MAX, 0 },
	{ "value", JF_STRING, true, 0, 0, AL_SECRET_VALUE_MAX, 0 },
	{ "source_file", JF_STRING, false, 0, 0, SOURCE_FILE_MAX, 0 },
	{ "force", JF_BOOL, false, 0, 0, 0, 0 },
	{ "write_back", JF_BOOL, false, 0, 0, 0, 0 },   /* oauth-*: keep source_file in sync */
};

const struct api_body_table api_secrets_bodies[] = {
	{ "POST secrets", secret_create_fields, ARRAY_SIZE(secret_create_fields) },
	{ NULL, NULL, 0 },
};

static json_t *secret_view(const json_t *s)
{
	json_t *o = json_pack("{s:O, s:O, s:O, s:o}", "name", json_object_get(s, "name"), "host",
			      json_object_get(s, "host"), "type", json_object_get(s, "type"),
			      "created_at",
			      api_time(json_integer_value(json_object_get(s, "created_at"))));
	static const char *const times[] = { "adopted_at", "refreshed_at", "expires_at" };
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		json_t *v = json_object_get(s, times[i]);
		if (v)
			json_object_set_new(o, times[i], api_time(json_integer_value(v)));
	}
	json_object_set_new(o, "status", json_string(json_str(s, "status", "ok")));
	/* why a credential is refused for good (github-app: several installations) */
	if (json_str(s, "status_reason", NULL))
		json_object_set_new(o, "status_reason", json_string(json_str(s, "status_reason", "")));
	return o;
}

void api_secrets_create(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const json_t *doc = b->state.doc;
	char host[AL_HOST_BUF + 2];
	char err[256];
	char *sealed = NULL;
	int64_t now = time_now();
	size_t idx;

	if (!api_validate(ans, req->body, secret_create_fields, ARRAY_SIZE(secret_create_fields)))
		return;
	const char *name = json_str(req->body, "name", NULL);
	const char *tname = json_str(req->body, "type", "bearer");
	const char *hostin = json_str(req->body, "host", NULL);
	const char *source = json_str(req->body, "source_file", NULL);
	bool force = json_bool(req->body, "force", false);
	bool write_back = json_bool(req->body, "write_back", false);
	json_t *jv = json_object_get(req->body, "value");
	const uint8_t *value = (const uint8_t *)json_string_value(jv);
	size_t vlen = json_string_length(jv);

	if (name_validate(name) < 0) {
		api_error(ans, 400, ".name: 1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -",
			  AL_NAME_MAX);
		return;
	}
	const struct secret_type *type = secret_type_find(tname);
	if (!type) {
		api_error(ans, 400, ".type: unknown secret type \"%s\" (%s)", tname, secret_type_names());
		return;
	}
	if (!secret_type_supported(type)) {
		api_error(ans, 400, "type %s is not supported yet", tname);
		return;
	}
	if (write_back && (!broker_oauth_writes_back(tname) || !source || source[0] != '/')) {
		api_error(ans, 400, ".write_back: needs a vendor file's oauth-* type and an absolute "
			  ".source_file");
		return;
	}
	/* the seed SDKs always send "host", empty when the caller left it
	 * out: read that as not given */
	if (!hostin || !hostin[0])
		hostin = type->default_host;
	if (!hostin) {
		api_error(ans, 400, "missing field .host");
		return;
	}
	if (host_pattern_parse(hostin, host) < 0) {
		api_error(ans, 400, ".host: not a host name, *.domain pattern or IP address");
		return;
	}
	if (strcmp(host, "*") == 0) {
		api_error(ans, 400, ".host: a secret is bound to one host or one *.domain, never *");
		return;
	}
	json_t *old = state_secret(doc, name, NULL);
	if (old && !force) {
		api_error(ans, 409, "secret %s already exists (force replaces it)", name);
		return;
	}
	if (!old && json_array_size(state_secrets(doc)) >= AL_SECRETS_MAX) {
		api_error(ans, 409, "too many secrets (at most %d)", AL_SECRETS_MAX);
		return;
	}
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	json_t *meta = json_object();
	if (type->prepare(value, vlen, now, &pt, &ptlen, meta, err, sizeof err) < 0) {
		api_error(ans, 400, ".value: %s", err);
		json_decref(meta);
		return;
	}
	/* the same login adopted twice: each refresh would log the other out */
	const char *dup = broker_oauth_type(tname) ? oauth_adopted_elsewhere(b, name, pt, ptlen) : NULL;
	if (dup) {
		api_error(ans, 409, "this login is already adopted as secret %s (its refresh tokens are "
			  "single-use: one login, one secret)", dup);
		secure_free(pt, ptlen);
		json_decref(meta);
		return;
	}
	int sret = sealed_seal(b, name, tname, host, pt, ptlen, &sealed);
	secure_free(pt, ptlen);
	if (sret < 0) {
		api_error(ans, 500, "cannot seal the value");
		json_decref(meta);
		return;
	}

	json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "name", name, "host", host, "type",
				tname, "sealed", sealed, "created_at", (json_int_t)now, "status", "ok");
	free(sealed);
	static const char *const times[] = { "adopted_at", "refreshed_at", "expires_at" };
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		json_t *t = json_object_get(meta, times[i]);
		if (json_is_integer(t))
			json_object_set(rec, times[i], t);
	}
	json_decref(meta);
	if (source)
		json_object_set_new(rec, "source_file", json_string(source));
	if (write_back)
		json_object_set_new(rec, "meta", json_pack("{s:b}", "write_back", 1));
	json_t *draft = state_begin(&b->state);
	if (state_secret(draft, name, &idx))
		json_array_set(state_secrets(draft), idx, rec);
	else
		json_array_append(state_secrets(draft), rec);
	/* a new secret brings back the rules that name it (left out of the
	 * policy while it was missing, snapshot.c); a replaced one changes no
	 * rule, but a new policy version makes every enforcer worker wipe the
	 * headers answers it keeps (enforcer/askcache.h) */
	if (api_commit(b, ans, draft, true)) {
		api_json(ans, 201, secret_view(rec));
		/* an adopted login is scheduled for refresh (a re-adopted one
		 * drops the refresh in flight for the old token family) */
		broker_oauth_secret_changed(b, name);
	}
	json_decref(rec);
}

void api_secrets_list(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	json_t *out = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(state_secrets(b->state.doc), i, s)
		json_array_append_new(out, secret_view(s));
	api_json(ans, 200, out);
}

void api_secrets_delete(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const char *name = req->seg[1];
	int64_t now = time_now();
	size_t idx, i;
	json_t *r;

	if (!state_secret(b->state.doc, name, NULL)) {
		api_error(ans, 404, "unknown secret %s", name);
		return;
	}
	json_t *affected = json_array();
	json_array_foreach(state_rules(b->state.doc), i, r) {
		const char *s = json_str(r, "secret", NULL);
		if (s && strcmp(s, name) == 0 && state_rule_live(r, now))
			json_array_append(affected, json_object_get(r, "id"));
	}
	json_t *draft = state_begin(&b->state);
	state_secret(draft, name, &idx);
	json_array_remove(state_secrets(draft), idx);
	/* the rules stay (listed with secret_missing) but leave the policy
	 * (snapshot.c): evaluation falls through to later rules until a secret
	 * of this name exists again */
	if (api_commit(b, ans, draft, true)) {
		api_no_content(ans);
		api_header_ids(ans, "X-Airlock-Rules-Affected", affected);
		broker_oauth_secret_changed(b, name);
	}
	json_decref(affected);
}
