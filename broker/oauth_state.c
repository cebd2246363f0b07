/* What a refresh changes in the state (single host: state.json; a fleet:
 * the store), for broker/oauth.c: the refreshed credential sealed and
 * committed, a lost login marked, and the mark of a refresh in flight. */
#include "config.h"

#include "broker/oauth.h"

#include <string.h>

#include "broker/sealed.h"
#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "oauth-providers/provider.h"

/* Seal and commit a refreshed credential. 0 when it is durable. */
int oauth_state_save(struct broker *b, const char *name, const json_t *next)
{
	char *dump = oauth_cred_dump(next), *sealed = NULL;
	size_t idx;
	json_t *draft = state_begin(&b->state);
	json_t *rec = state_secret(draft, name, &idx);
	if (!rec) {
		secure_free_str(dump);
		json_decref(draft);
		return AL_ENOTFOUND;
	}
	int ret = sealed_seal(b, name, json_str(rec, "type", ""), json_str(rec, "host", ""),
			      (const uint8_t *)dump, strlen(dump), &sealed);
	secure_free_str(dump);
	if (ret < 0) {
		json_decref(draft);
		return ret;
	}
	int64_t now = time_now(), exp = json_int(next, "expires_at", 0);
	json_object_set_new(rec, "sealed", json_string(sealed));
	json_object_set_new(rec, "refreshed_at", json_integer(now));
	if (exp > 0)
		json_object_set_new(rec, "expires_at", json_integer(exp));
	else
		json_object_del(rec, "expires_at");
	json_object_set_new(rec, "status", json_string("ok"));
	json_object_del(rec, "status_reason");
	json_object_del(rec, "refresh_sent_at");
	free(sealed);
	ret = state_commit(&b->state, draft);
	if (ret == 0)
		broker_policy_push(b);   /* enforcers drop the answers they keep for the old token */
	return ret;
}

void oauth_state_relogin(struct broker *b, const char *name, const char *reason)
{
	size_t idx;
	json_t *draft = state_begin(&b->state);
	json_t *rec = state_secret(draft, name, &idx);
	const char *type = rec ? json_str(rec, "type", "") : "";
	const struct oauth_provider *p = oauth_provider_find(type);
	if (p && p->mints)
		log_error("credential refused for good: no token can be obtained until the secret is "
			  "fixed (airlock secret create NAME --type TYPE --value-file FILE --force)",
			  KV_S("secret", name), KV_S("type", type), KV_S("reason", reason));
	else
		log_error("OAuth login lost: relogin required (log in on the host, then: airlock "
			  "secret create NAME --type TYPE --value-file FILE --force)",
			  KV_S("secret", name), KV_S("type", type), KV_S("reason", reason));
	if (!rec) {
		json_decref(draft);
		return;
	}
	json_object_set_new(rec, "status", json_string("relogin-required"));
	/* the listing says why (reason words and fixed text, never a value) */
	json_object_set_new(rec, "status_reason", json_string(reason));
	json_object_del(rec, "refresh_sent_at");
	if (state_commit(&b->state, draft) < 0)
		log_error("cannot record relogin-required", KV_S("secret", name));
}

/* A failed write is logged only: the mark is a diagnosis, and the
 * refresh itself does not depend on it. */
/* Set the mark to `at` (0: remove it); returns what it was. */
static int64_t mark_set(struct broker *b, const char *name, int64_t at)
{
	json_t *draft = state_begin(&b->state);
	json_t *rec = state_secret(draft, name, NULL);
	int64_t was = rec ? json_int(rec, "refresh_sent_at", 0) : 0;
	if (!rec || was == at) {
		json_decref(draft);
		return was;
	}
	if (at)
		json_object_set_new(rec, "refresh_sent_at", json_integer(at));
	else
		json_object_del(rec, "refresh_sent_at");
	if (state_commit(&b->state, draft) < 0)
		log_warn("cannot record a refresh in flight", KV_S("secret", name));
	return was;
}

int64_t oauth_state_sent(struct broker *b, const char *name)
{
	return mark_set(b, name, time_now());
}

void oauth_state_unsent(struct broker *b, const char *name, int64_t prior)
{
	(void)mark_set(b, name, prior);
}
