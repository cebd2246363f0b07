/* Secret types, one row each: how the value given to the API becomes the
 * bytes that are sealed, and how those bytes become the headers injected
 * for a host. bearer and basic live here; the oauth-* rows are known but
 * not supported until oauth-providers/ (issue 6) plugs its adopt and
 * headers in (oauth_provider->adopt / ->headers map onto prepare / headers). */
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
};

/* NULL when the name is not a type at all. */
const struct secret_type *secret_type_find(const char *name);
bool secret_type_supported(const struct secret_type *t);
/* "bearer, basic, oauth-claude, ..." for messages. */
const char *secret_type_names(void);

#endif
