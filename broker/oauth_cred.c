/* An OAuth secret's credential as the broker holds it: adoption of a
 * vendor file (the secret type table's prepare rows), opening and closing
 * the sealed credential, headers shaping, the token shim's answers and the
 * stub endpoint, all built from the provider interface in oauth-providers/.
 * Refresh scheduling lives in oauth.c. */
#include "config.h"

#include "broker/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/api.h"
#include "broker/sealed.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/netmatch.h"
#include "common/seal.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "oauth-providers/provider.h"

/* ---- credentials in the state ---- */

void oauth_cred_close(json_t *c)
{
	oauth_json_free(c);
}

/* Keep the vendor file a secret was adopted from in step with a rotation,
 * when the secret says so (meta.write_back). Failures are logged: the state
 * is what counts. */
void oauth_cred_write_back(const json_t *sec, const json_t *cred)
{
	const char *path = json_str(sec, "source_file", NULL);
	const struct oauth_provider *p = oauth_provider_find(json_str(sec, "type", ""));
	char *in = NULL, *out = NULL;
	size_t inlen = 0, outlen = 0;
	int ret;

	if (!path || !p || !json_bool(json_object_get(sec, "meta"), "write_back", false))
		return;
	if ((ret = file_read_all(path, AL_CRED_FILE_MAX, &in, &inlen)) < 0 ||
	    (ret = oauth_write_back(p, cred, in, inlen, time_now(), &out, &outlen)) < 0 ||
	    (ret = file_write_atomic(path, out, outlen, 0600)) < 0)
		log_warn("cannot write the rotated tokens back to the vendor file",
			 KV_S("secret", json_str(sec, "name", "")), KV_S("file", path),
			 KV_S("error", airlock_strerror(ret)));
	else
		log_info("rotated tokens written back", KV_S("secret", json_str(sec, "name", "")),
			 KV_S("file", path));
	if (in)
		secure_free(in, inlen);
	if (out)
		secure_free(out, outlen);
}

bool broker_oauth_type(const char *type)
{
	return oauth_provider_find(type) != NULL;
}

bool broker_oauth_writes_back(const char *type)
{
	const struct oauth_provider *p = oauth_provider_find(type);
	return p && p->write_back;
}

int oauth_cred_read_file(json_t *c, char *err, size_t errlen)
{
	const struct oauth_provider *p = oauth_provider_find(json_str(c, "type", ""));
	const char *path = p && p->host_file ? json_str(c, p->host_file, NULL) : NULL;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (!path)
		return 0;
	/* a FIFO or a device would stall the broker's loop: a plain file only */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, ".%s: not a regular file", p->host_file);
		return AL_EINVAL;
	}
	if ((ret = file_read_all(path, AL_PEM_MAX, &buf, &len)) < 0) {
		snprintf(err, errlen, ".%s: cannot read it: %s", p->host_file,
			 ret == AL_ETOOBIG ? "over 64 KiB" : airlock_strerror(ret));
		return ret;
	}
	if (strlen(buf) != len) {
		secure_free(buf, len);
		snprintf(err, errlen, ".%s: holds a NUL byte", p->host_file);
		return AL_EINVAL;
	}
	json_t *s = json_stringn(buf, len);
	secure_free(buf, len);
	if (!s) {
		snprintf(err, errlen, ".%s: not UTF-8 text", p->host_file);
		return AL_EINVAL;
	}
	json_object_set_new(c, p->host_file_into, s);
	return 0;
}

static int prepare(const struct oauth_provider *p, const uint8_t *value, size_t len, int64_t now,
		   uint8_t **out, size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	json_t *c = NULL;
	int ret = oauth_adopt(p, (const char *)value, len, now, &c, err, errlen);
	if (ret < 0)
		return ret;
	/* a key file is read now, so that a wrong path or a key that is not
	 * one is refused at once rather than at the first refresh; what was
	 * read is dropped again: the file stays the key's only home */
	if (p->host_file && json_str(c, p->host_file, NULL)) {
		if ((ret = oauth_cred_read_file(c, err, errlen)) < 0 ||
		    (ret = p->check(c, err, errlen)) < 0) {
			oauth_cred_close(c);
			return ret;
		}
		oauth_json_wipe(json_object_get(c, p->host_file_into));
		json_object_del(c, p->host_file_into);
	}
	char *dump = oauth_cred_dump(c);
	*out = (uint8_t *)dump;
	*outlen = strlen(dump);
	json_object_set_new(meta, "adopted_at", json_integer(now));
	if (json_int(c, "expires_at", 0) > 0)
		json_object_set_new(meta, "expires_at", json_integer(json_int(c, "expires_at", 0)));
	oauth_cred_close(c);
	return 0;
}

int oauth_prepare_claude(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			 size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	return prepare(&oauth_claude, value, len, now, out, outlen, meta, err, errlen);
}

int oauth_prepare_codex(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	return prepare(&oauth_codex, value, len, now, out, outlen, meta, err, errlen);
}

int oauth_prepare_github_copilot(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
				 size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	return prepare(&oauth_github_copilot, value, len, now, out, outlen, meta, err, errlen);
}

int oauth_prepare_xai(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
		      size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	return prepare(&oauth_xai, value, len, now, out, outlen, meta, err, errlen);
}

int oauth_prepare_github_app(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			     size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	return prepare(&oauth_github_app, value, len, now, out, outlen, meta, err, errlen);
}

int oauth_prepare_github_app_user(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
				  size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	return prepare(&oauth_github_app_user, value, len, now, out, outlen, meta, err, errlen);
}

int oauth_prepare_client_creds(const uint8_t *value, size_t len, int64_t now, uint8_t **out,
			       size_t *outlen, json_t *meta, char *err, size_t errlen)
{
	return prepare(&oauth_client_creds, value, len, now, out, outlen, meta, err, errlen);
}

int oauth_type_headers(const uint8_t *pt, size_t len, const char *host, json_t *headers,
		       json_t *strip, json_t *merge)
{
	json_t *c = NULL;
	const struct oauth_provider *p;
	int ret = oauth_cred_load((const char *)pt, len, &c);
	if (ret < 0)
		return ret;
	p = oauth_provider_find(json_str(c, "type", ""));
	ret = p && oauth_access_usable(c, time_now()) ? p->headers(c, host, headers, strip, merge)
						      : AL_ESTATE;
	oauth_cred_close(c);
	return ret;
}

/* The committed record's credential (wipe + decref when done), or NULL. */
json_t *oauth_cred_open(struct broker *b, const json_t *sec)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *c = NULL;
	const char *name = json_str(sec, "name", "");
	if (sealed_open(b, sec, &pt, &len) < 0)
		return NULL;   /* logged */
	if (oauth_cred_load((const char *)pt, len, &c) < 0)
		log_error("a sealed OAuth credential is not one", KV_S("secret", name));
	secure_free(pt, len);
	return c;
}

/* What identifies a login: its refresh token, or Copilot's GitHub token. */
static const char *login_key(const json_t *c)
{
	const char *k = json_str(c, "refresh", NULL);
	return k ? k : json_str(c, "github_token", NULL);
}

const char *oauth_adopted_elsewhere(struct broker *b, const char *name, const uint8_t *pt,
				    size_t len)
{
	json_t *mine = NULL;
	const char *found = NULL;
	size_t i;
	json_t *sec;

	if (oauth_cred_load((const char *)pt, len, &mine) < 0)
		return NULL;
	const char *key = login_key(mine);
	json_array_foreach(state_secrets(b->state.doc), i, sec) {
		if (!key || strcmp(json_str(sec, "name", ""), name) == 0 ||
		    !broker_oauth_type(json_str(sec, "type", "")))
			continue;
		json_t *c = oauth_cred_open(b, sec);
		const char *other = c ? login_key(c) : NULL;
		bool same = other && strlen(other) == strlen(key) && ct_memeq(other, key, strlen(key));
		oauth_cred_close(c);
		if (same) {
			found = json_str(sec, "name", NULL);
			break;
		}
	}
	oauth_cred_close(mine);
	return found;
}

/* ---- token shim ---- */

json_t *answer_shim(struct broker *b, const json_t *ask)
{
	char host[AL_HOST_BUF];
	enum host_kind kind;
	int64_t now = time_now();
	size_t i;
	json_t *r;

	if (ipc_msg_validate(ask, IPC_SHIM_ASK, NULL, 0) < 0)
		return NULL;
	uint32_t id = ipc_msg_id(ask);
	const char *client = json_str(ask, "client", ""), *asked = json_str(ask, "host", "");
	const char *path = json_str(ask, "path", ""), *method = json_str(ask, "method", "");
	json_t *no = ipc_msg_shim_refusal(id, "no-shim");
	if (host_canon(asked, strlen(asked), host, &kind) < 0)
		return no;
	/* the first live rule of this client that injects an OAuth secret
	 * whose provider owns this endpoint */
	json_array_foreach(state_rules(b->state.doc), i, r) {
		const char *sname = json_str(r, "secret", NULL);
		if (!sname || strcmp(json_str(r, "client", ""), client) != 0 || !state_rule_live(r, now))
			continue;
		const json_t *sec = state_secret(b->state.doc, sname, NULL);
		const struct oauth_provider *p = sec ? oauth_provider_find(json_str(sec, "type", "")) : NULL;
		const struct oauth_endpoint *ep = p ? oauth_token_endpoint_find(p, host, path) : NULL;
		if (!ep || strcmp(ep->method, method) != 0)
			continue;
		json_t *c = oauth_cred_open(b, sec), *body = NULL;
		if (!c || p->shim(c, ep, now, &body) < 0 || !body) {
			oauth_cred_close(c);
			break;
		}
		oauth_cred_close(c);
		char *text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!text)
			abort();
		json_t *a = json_pack("{s:s, s:I, s:i, s:s, s:s, s:s}", "type", IPC_MSG_SHIM, "id", (json_int_t)id,
				      "status", 200, "content_type", "application/json", "body", text,
				      "secret", sname);
		free(text);
		json_decref(no);
		log_info("token-shim: answered the sandbox's token request with placeholders",
			 KV_S("client", client), KV_S("host", host), KV_S("path", path),
			 KV_S("secret", sname));
		return a;
	}
	return no;
}

/* ---- GET /proxy/v1/secrets/{name}/stub ---- */

void api_secrets_stub(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const char *name = req->seg[1];
	const json_t *sec = state_secret(b->state.doc, name, NULL);
	json_t *c, *file = NULL;

	if (!sec) {
		api_error(ans, 404, "unknown secret %s", name);
		return;
	}
	const struct oauth_provider *p = oauth_provider_find(json_str(sec, "type", ""));
	if (!p) {
		api_error(ans, 400, "secret %s is of type %s: only oauth-* secrets have a stub", name,
			  json_str(sec, "type", ""));
		return;
	}
	if (!p->stub) {
		/* no vendor file holds these: git, gh and plain HTTP clients get
		 * the credential from airlock on each request a rule injects */
		api_error(ans, 400, "secret %s is of type %s: the sandbox needs no placeholder (airlock "
			  "adds the credential to every request a rule injects it into; keep no "
			  "credential helper, and give a tool that insists on a token any dummy, "
			  "e.g. GH_TOKEN=placeholder)", name, p->type);
		return;
	}
	if (!(c = oauth_cred_open(b, sec))) {
		api_error(ans, 500, "the secret did not open");
		return;
	}
	if (p->stub(c, time_now(), &file) < 0 || !file)
		api_error(ans, 500, "cannot build the stub");
	else
		api_json(ans, 200, file);
	oauth_cred_close(c);
}
