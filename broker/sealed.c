/* Sealed values in the state (sealed.h): open and seal under a record's
 * name, type and host, and the start-up pass that checks the key, migrates
 * a format 1 state and names every value that no longer opens. */
#include "config.h"

#include "broker/sealed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct seal_binding sealed_binding(const json_t *sec)
{
	struct seal_binding b = {
		.name = json_str(sec, "name", ""),
		.type = json_str(sec, "type", ""),
		.host = json_str(sec, "host", ""),
	};
	return b;
}

int sealed_open(const struct broker *b, const json_t *sec, uint8_t **pt, size_t *len)
{
	struct seal_binding bind = sealed_binding(sec);
	int ret = seal_decrypt(&b->key, &bind, json_str(sec, "sealed", ""), pt, len);
	if (ret < 0) {
		/* the key opened the check value at start: this record was
		 * changed (or its value damaged) since it was sealed */
		log_error("a sealed secret does not open under its name, type and host; it is not "
			  "injected (was state.json edited?)",
			  KV_S("secret", bind.name), KV_S("type", bind.type), KV_S("host", bind.host));
		return AL_ECRYPTO;
	}
	return 0;
}

int sealed_seal(const struct broker *b, const char *name, const char *type, const char *host,
		const uint8_t *pt, size_t len, char **out)
{
	struct seal_binding bind = { .name = name, .type = type, .host = host };
	return seal_encrypt(&b->key, &bind, pt, len, out);
}

/* Format 1 sealed the name alone. Open every value that way (one that does
 * not open means the wrong key: refused, as before), seal it again bound to
 * its type and host, and write the state before anything uses it. */
static int migrate_v1(struct broker *b, char *err, size_t errlen)
{
	json_t *draft = state_begin(&b->state);
	char *check = NULL;
	size_t i, n = 0;
	json_t *s;
	int ret;

	json_array_foreach(state_secrets(draft), i, s) {
		uint8_t *pt = NULL;
		size_t len = 0;
		char *sealed = NULL;
		struct seal_binding bind = sealed_binding(s);
		if (seal_decrypt_v1(&b->key, bind.name, json_str(s, "sealed", ""), &pt, &len) < 0) {
			snprintf(err, errlen, "the seal key does not open secret %s: wrong seal key?",
				 bind.name);
			json_decref(draft);
			return AL_ECRYPTO;
		}
		ret = seal_encrypt(&b->key, &bind, pt, len, &sealed);
		secure_free(pt, len);
		if (ret < 0) {
			snprintf(err, errlen, "cannot seal secret %s again: %s", bind.name,
				 airlock_strerror(ret));
			json_decref(draft);
			return ret;
		}
		json_object_set_new(s, "sealed", json_string(sealed));
		free(sealed);
		n++;
	}
	if ((ret = seal_check_make(&b->key, &check)) < 0) {
		snprintf(err, errlen, "cannot make the seal key check: %s", airlock_strerror(ret));
		json_decref(draft);
		return ret;
	}
	json_object_set_new(draft, "format", json_integer(STATE_FORMAT));
	json_object_set_new(draft, "seal_check", json_string(check));
	free(check);
	if ((ret = state_commit(&b->state, draft)) < 0) {
		snprintf(err, errlen, "%s: cannot write the migrated state: %s", b->state.path,
			 airlock_strerror(ret));
		return ret;
	}
	log_info("state migrated to format 2: sealed values now bound to their secret's name, "
		 "type and host", KV_S("path", b->state.path), KV_I("from", 1), KV_I("to", STATE_FORMAT),
		 KV_I("resealed", (long long)n));
	return 0;
}

int sealed_load(struct broker *b, char *err, size_t errlen)
{
	json_t *doc = b->state.doc;
	const char *check = json_str(doc, "seal_check", NULL);
	size_t i;
	json_t *s;
	int ret;

	if (json_int(doc, "format", 0) == 1)
		return migrate_v1(b, err, errlen);
	if (!check) {
		/* a new state (its first commit carries the check), or one whose
		 * check was removed: then one value at least must open, or this
		 * is the wrong key */
		size_t opened = 0, n = json_array_size(state_secrets(doc));
		json_array_foreach(state_secrets(doc), i, s) {
			uint8_t *pt = NULL;
			size_t len = 0;
			if (sealed_open(b, s, &pt, &len) == 0) {
				secure_free(pt, len);
				opened++;
			}
		}
		if (n && !opened) {
			snprintf(err, errlen, "the seal key opens no secret of %s: wrong seal key?",
				 b->state.path);
			return AL_ECRYPTO;
		}
		char *c = NULL;
		if ((ret = seal_check_make(&b->key, &c)) < 0) {
			snprintf(err, errlen, "cannot make the seal key check: %s", airlock_strerror(ret));
			return ret;
		}
		json_object_set_new(doc, "seal_check", json_string(c));
		free(c);
		return 0;
	}
	/* A wrong key (another --seal-key-file, a new keyring) must not look
	 * like a working broker whose injections all fail. */
	if (seal_check_verify(&b->key, check) < 0) {
		snprintf(err, errlen, "the seal key does not open %s's key check: wrong seal key?",
			 b->state.path);
		return AL_ECRYPTO;
	}
	json_array_foreach(state_secrets(doc), i, s) {
		uint8_t *pt = NULL;
		size_t len = 0;
		if (sealed_open(b, s, &pt, &len) == 0)
			secure_free(pt, len);
	}
	return 0;
}
