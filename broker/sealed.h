/* Sealed secret values in the state: each is bound to its secret's name,
 * type and host (common/seal.h), so an edit of state.json that moves a value
 * to another host or type leaves it unopenable, and the broker refuses to
 * inject it. Opening, sealing, and the start-up pass: the key check, the
 * migration of a format 1 state, and a warning for each value that does
 * not open under its record. */
#ifndef AIRLOCK_BROKER_SEALED_H
#define AIRLOCK_BROKER_SEALED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/seal.h"

struct broker;

/* Why an ask for a value that does not open is refused (a log reason). */
#define SEALED_MISMATCH_CODE "secret-seal-mismatch"
#define SEALED_MISMATCH_TEXT "the sealed value does not open under this secret's name, type and host"

/* The binding of a state record (its strings, valid while sec is). */
struct seal_binding sealed_binding(const json_t *sec);
/* Open sec's value (secure_free(*pt, *len) when done). AL_ECRYPTO, with one
 * log line naming the secret, its type and host (never a value), when it
 * does not open under them. */
int sealed_open(const struct broker *b, const json_t *sec, uint8_t **pt, size_t *len) AL_MUST_CHECK;
/* Seal a value for a record of this name, type and host. */
int sealed_seal(const struct broker *b, const char *name, const char *type, const char *host,
		const uint8_t *pt, size_t len, char **out) AL_MUST_CHECK;
/* At start, on the loaded state: a format 1 state is migrated (each value
 * opened with the name alone, sealed again with name, type and host, and
 * written at once, atomically); a format 2 state's key check must open
 * (otherwise: the wrong seal key, refused), and a value that does not open
 * under its record is logged (the broker starts; that secret is refused at
 * each ask). err gets a one-line reason. */
int sealed_load(struct broker *b, char *err, size_t errlen) AL_MUST_CHECK;

#endif
