/* Secret types, one row each: how a value is checked when it is stored and
 * how it becomes the headers injected for a host. bearer and basic live
 * here; the oauth-* rows are listed but not supported until the providers
 * (oauth-providers/, issue 6) plug their functions in. */
#ifndef AIRLOCK_BROKER_SECRET_TYPES_H
#define AIRLOCK_BROKER_SECRET_TYPES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct secret_type {
	const char *name;
	/* NULL check: the type is known but not supported yet. */
	/* Check a value before it is sealed; err never quotes the value. */
	int (*check)(const uint8_t *value, size_t len, char *err, size_t errlen);
	/* Append [NAME, VALUE] pairs to headers and header names to strip.
	 * The caller wipes the JSON strings after encoding the answer. */
	int (*headers)(const uint8_t *value, size_t len, const char *host, json_t *headers,
		       json_t *strip);
};

/* NULL when the name is not a type at all. */
const struct secret_type *secret_type_find(const char *name);
bool secret_type_supported(const struct secret_type *t);

#endif
