/* Secret types, one row each: how the value given to the API becomes the
 * bytes that are sealed, how those bytes become the headers injected for a
 * host, and which hosts a binding covers. bearer and basic live here; the
 * rows of the oauth-providers/ types (oauth-*, github-app, github-app-user)
 * plug in their adopt and headers (oauth_provider->adopt / ->headers map
 * onto prepare / headers) through broker/oauth_cred.c. */
#ifndef AIRLOCK_BROKER_SECRET_TYPES_H
#define AIRLOCK_BROKER_SECRET_TYPES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct secret_type {
	const char *name;
	/* Host a secret of this type is bound to when the API call names none
	 * (NULL: the host is required). */
	const char *default_host;
	/* The API's value -> the bytes to seal (*out malloc'd; the caller wipes
	 * it). May set "adopted_at", "refreshed_at", "expires_at" (unix
	 * seconds) in meta for the listing. err never quotes the value.
	 * NULL: the type is known but not supported yet. */
	int (*prepare)(const uint8_t *value, size_t len, int64_t now, uint8_t **out, size_t *outlen,
		       json_t *meta, char *err, size_t errlen);
	/* From the opened bytes: [NAME, VALUE] pairs to add, NAMEs to strip,
	 * [NAME, TOKEN] pairs to merge (common/ipc.h). host is canonical and
	 * already checked against the secret's binding. The caller wipes the
	 * JSON strings after encoding the answer. */
	int (*headers)(const uint8_t *pt, size_t len, const char *host, json_t *headers,
		       json_t *strip, json_t *merge);
	/* A second host served by a secret bound exactly to the first: the
	 * GitHub types bound to github.com (Git) also serve api.github.com
	 * (the REST API of the same account), each in its own shape. NULL: the
	 * binding alone decides. */
	const char *also_host[2];
};

/* NULL when the name is not a type at all. */
const struct secret_type *secret_type_find(const char *name);
bool secret_type_supported(const struct secret_type *t);
/* May secret record sec be injected into a request to host (canonical)?
 * Its binding matches host (exact or *.domain), or its type serves host
 * beside the host it is bound to (also_host). */
bool secret_host_allowed(const json_t *sec, const char *host);
/* "bearer, basic, oauth-claude, ..." for messages. */
const char *secret_type_names(void);

#endif
