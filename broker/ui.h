/* The web page of --ui-listen: its files (compiled in by tools/ui-embed as
 * broker/ui_data.c) and the gate every request on that listener passes
 * before the API's routing (ui_server.c): the login token, CSRF and Host
 * checks, and the short list of API calls the page may make. */
#ifndef AIRLOCK_BROKER_UI_H
#define AIRLOCK_BROKER_UI_H

#include <stdbool.h>
#include <stddef.h>

struct api_answer;
struct MHD_Connection;
struct MHD_Response;

struct ui_asset {
	const char *path;               /* "/" for index.html, else "/NAME" */
	const char *type;               /* Content-Type */
	const char *data;
	size_t len;
};
extern const struct ui_asset ui_assets[];   /* ends with a NULL path */

#define UI_COOKIE "airlock_ui"
#define UI_CSRF_HEADER "X-Airlock-UI"

struct ui_gate;

/* Keeps a hash of token, not the token. */
struct ui_gate *ui_gate_new(const char *token);
void ui_gate_free(struct ui_gate *g);
/* Before routing: true with ans filled (a file of the page, the login or
 * logout, or a refusal); false lets an allowed, authenticated API call
 * through to the routes. */
bool ui_gate(struct ui_gate *g, struct MHD_Connection *conn, const char *url, const char *method,
	     const char *body, size_t len, struct api_answer *ans);
/* Content-Security-Policy and its companions, on every answer of the
 * listener. */
void ui_security_headers(struct MHD_Response *resp);

#endif
