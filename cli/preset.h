/* Presets: the minimal rule sets that known programs need (the agent CLIs,
 * apt, npm, pip, git), and what each of their calls is for. One JSON file
 * each in presets/, compiled into `airlock` by tools/presets-embed (so the
 * build tree and an installed binary know the same presets) and installed
 * under $(pkgdatadir)/presets for people to read. `allow --preset` turns the
 * "rules" into ordinary rules; `audit suggest` uses "rules" and "optional"
 * as the providers' knowledge (which paths need the credential, which are
 * telemetry and other optional calls).
 *
 * A PRESET FILE (unknown fields refused, naming their JSON path):
 *   name          string, the file's name without .json
 *   summary       string, one line
 *   secret        "required" | "optional" | "none": whether --secret is needed
 *   secret_types  [string]: the secret types it takes (absent with "none")
 *   rules         [ENTRY]: added by `allow --preset`, in this order
 *   optional      [ENTRY]: calls the program makes and does without (kind set)
 * ENTRY:
 *   host          rule host pattern, canonical (api.anthropic.com, *.x.com)
 *   methods       [string] (absent: any)     paths [string] (absent: any)
 *   ports         [int] (absent: 443)
 *   secret        bool: the credential goes here (default false)
 *   kind          string (optional entries only): telemetry, plugins, ...
 *   why           string, one line: what the call is for */
#ifndef AIRLOCK_CLI_PRESET_H
#define AIRLOCK_CLI_PRESET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct preset_blob {
	const char *name;
	const char *json;  /* NUL-terminated */
	size_t len;
};
/* tools/presets-embed's output (cli/presets_data.c): ends with name NULL. */
extern const struct preset_blob preset_blobs[];

/* The preset `name`, parsed and checked: a new reference, or NULL with err
 * filled (no such preset, or a file that breaks the schema above). */
json_t *preset_load(const char *name, char *err, size_t errlen);

/* Does the preset take secrets of `type`? */
bool preset_takes_type(const json_t *preset, const char *type);

/* Does ENTRY cover a request to host:port (method and path NULL: a CONNECT,
 * where only the host and port are known)? */
bool preset_entry_match(const json_t *entry, const char *host, uint16_t port, const char *method,
			const char *path);

/* What the presets that take secrets of `type` know of a request: the first
 * entry that covers it, every preset's "rules" before any "optional". *optional
 * tells which list; *preset names the preset. NULL when none does. */
const json_t *preset_knowledge(const char *type, const char *host, uint16_t port, const char *method,
			       const char *path, bool *optional, const char **preset);

/* Does any preset name host in an entry (so it is more than a token host)? */
bool preset_names_host(const char *host);

/* Every preset that loads, in name order (a JSON array, loaded once and
 * kept until preset_cache_free: strings inside may be borrowed till then). */
const json_t *preset_all(void);
/* preset_all, preset_knowledge and preset_names_host load every preset
 * once; this drops them. */
void preset_cache_free(void);

#endif
