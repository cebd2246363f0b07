/* The web page's login token (--ui-listen): one random token in
 * <state dir>/ui-token (0600), made by whichever of the broker and
 * `airlock ui token` needs it first. Not a client token: it opens the
 * page, never the proxy. */
#ifndef AIRLOCK_UITOKEN_H
#define AIRLOCK_UITOKEN_H

#include <stdbool.h>

#include "common/error.h"

#define UI_TOKEN_FILE "ui-token"
#define UI_TOKEN_PREFIX "alui_"
#define UI_TOKEN_LEN (5 + 43)          /* prefix + base64url(32 bytes) */

/* Read the token of state dir dir, or make it (created says which).
 * AL_EINVAL: the file is not a token; AL_EPERM: group or others may read
 * it, or it is not ours. */
int ui_token_load(const char *dir, char out[UI_TOKEN_LEN + 1], bool *created) AL_MUST_CHECK;
/* Replace it with a new one (the old one stops working when the broker
 * restarts). */
int ui_token_rotate(const char *dir, char out[UI_TOKEN_LEN + 1]) AL_MUST_CHECK;

#endif
