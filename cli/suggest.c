/* `audit suggest`, the deciding half (suggest.h): from the distinct
 * requests seen to the rules to run. A rule gets --secret exactly when its
 * call needs the credential: the presets' knowledge for an adopted login
 * (Messages, Responses, accounts/check...), or a plain secret bound to the
 * host. Optional calls (telemetry, feature flags, plugins) are left out
 * unless asked for; token endpoints are never suggested (the token shim
 * answers them); methods of one path are merged; the port seen is kept.
 * A CLI stops at its first denied essential call, so the calls a preset
 * marks as needed on a host the sandbox used with that login are added
 * even when the log never saw them, and say so. */
#include "config.h"

#include "cli/suggest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/preset.h"
#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"
#include "oauth-providers/provider.h"

#define OUT_METHODS_MAX AL_RULE_LIST_MAX

/* One rule to print. */
struct out {
	const char *client, *host, *path, *secret; /* borrowed; path NULL: any */
	uint16_t port;
	const char *methods[OUT_METHODS_MAX];
	size_t nmethods;                   /* 0: any (a host-only observation) */
	const char *kind;                  /* optional call: its kind, else NULL */
	char why[520];
	bool generalised;
};

struct emit {
	const struct suggest_opts *o;
	struct suggest_counts *c;
	struct out *out;
	size_t n, cap;
	struct out *left; /* optional calls left out */
	size_t nleft, capleft;
	/* (client, secret) pairs whose login was used: their needed calls */
	struct {
		const char *client, *secret, *type;
	} used[64];
	size_t nused;
};

static bool is_token_endpoint(const char *host, const char *path)
{
	for (size_t i = 0; oauth_providers[i]; i++)
		for (const struct oauth_endpoint *e = oauth_providers[i]->token_endpoints; e && e->host; e++)
			if (strcmp(e->host, host) == 0 && (path == NULL || strcmp(e->path, path) == 0))
				return true;
	return false;
}

/* A host airlock only ever answers itself (platform.claude.com,
 * auth.openai.com...): a token endpoint's host that no preset uses for
 * anything else. github.com has token endpoints too, and git. */
static bool is_token_host(const char *host)
{
	return is_token_endpoint(host, NULL) && !preset_names_host(host);
}

/* The secret bound to host: {name, host, type} from the API's list. */
static const json_t *secret_for(const struct suggest_opts *o, const char *host)
{
	size_t i;
	json_t *s;
	json_array_foreach(o->secrets, i, s) {
		char pat[AL_HOST_BUF + 2];
		if (host_pattern_parse(json_str(s, "host", ""), pat) == 0 && host_pattern_match(pat, host))
			return s;
	}
	return NULL;
}

static void seen_text(const struct suggestion *s, char *buf, size_t cap)
{
	char when[AL_TIME_STR_MAX];
	time_format(s->last, when);
	/* reason is from the fixed list: safe in a comment */
	if (strcmp(s->reason, "allowed") == 0)
		snprintf(buf, cap, "%lu seen while learning, last %s%s", s->count, when,
			 s->generalised ? "; path widened to a glob a rule can hold" : "");
	else
		snprintf(buf, cap, "%lu denied (%s), last %s%s", s->count, s->reason, when,
			 s->generalised ? "; path widened to a glob a rule can hold" : "");
}

/* Add rule (client, host, port, path, secret, kind) with `method`, or merge
 * the method into the one already there. */
static struct out *out_add(struct out **arr, size_t *n, size_t *cap, const char *client, const char *host,
			   uint16_t port, const char *path, const char *secret, const char *kind, const char *method)
{
	struct out *r = NULL;
	for (size_t i = 0; i < *n && !r; i++) {
		struct out *t = &(*arr)[i];
		if (t->port == port && strcmp(t->client, client) == 0 && strcmp(t->host, host) == 0 &&
		    (t->path == NULL) == (path == NULL) && (!path || strcmp(t->path, path) == 0) &&
		    (t->secret == NULL) == (secret == NULL) && (!secret || strcmp(t->secret, secret) == 0) &&
		    (t->kind == NULL) == (kind == NULL))
			r = t;
	}
	if (r == NULL) {
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 32;
			*arr = xrealloc(*arr, *cap * sizeof **arr);
		}
		r = &(*arr)[(*n)++];
		*r = (struct out){ .client = client, .host = host, .port = port, .path = path, .secret = secret,
				   .kind = kind };
	}
	if (method) {
		bool have = false;
		for (size_t i = 0; i < r->nmethods; i++)
			have |= strcmp(r->methods[i], method) == 0;
		if (!have && r->nmethods < OUT_METHODS_MAX)
			r->methods[r->nmethods++] = method;
	}
	return r;
}

static void why_set(struct out *r, const char *head, const char *seen)
{
	if (r->why[0])
		return; /* the first observation of a merged rule says it */
	snprintf(r->why, sizeof r->why, "%.300s%s%.200s", head, head[0] && seen ? "; " : "", seen ? seen : "");
}

static void used_add(struct emit *e, const char *client, const char *secret, const char *type)
{
	for (size_t i = 0; i < e->nused; i++)
		if (strcmp(e->used[i].client, client) == 0 && strcmp(e->used[i].secret, secret) == 0)
			return;
	if (e->nused < ARRAY_SIZE(e->used)) {
		e->used[e->nused].client = client;
		e->used[e->nused].secret = secret;
		e->used[e->nused].type = type;
		e->nused++;
	}
}

/* A host no secret is bound to, that a preset of a login the broker holds
 * knows (Codex's OTLP on ab.chatgpt.com): an optional call is left out like
 * the others, and so is a host-only observation (a strict-mode CONNECT)
 * of a host where the presets know only optional calls. true when it was. */
static bool known_elsewhere(struct emit *e, const struct suggestion *s)
{
	size_t i;
	json_t *sec;
	json_array_foreach(e->o->secrets, i, sec) {
		bool optional = false;
		const char *preset = NULL;
		const json_t *k = preset_knowledge(json_str(sec, "type", ""), s->host, s->port, s->method, s->path,
						   &optional, &preset);
		if (!k || !optional)
			continue;
		const char *kind = json_str(k, "kind", "optional");
		char head[300];
		struct out *r;
		snprintf(head, sizeof head, "%s: %.250s", kind, json_str(k, "why", ""));
		if (e->o->include_optional) {
			r = out_add(&e->out, &e->n, &e->cap, s->client, s->host, s->port, s->path, NULL, kind, s->method);
			snprintf(head, sizeof head, "optional (%s), known to %s: %.200s", kind, preset,
				 json_str(k, "why", ""));
		} else {
			e->c->optional++;
			r = out_add(&e->left, &e->nleft, &e->capleft, s->client, s->host, s->port, s->path, NULL, kind,
				    s->method);
		}
		why_set(r, head, NULL);
		return true;
	}
	return false;
}

static void take(struct emit *e, const struct suggestion *s)
{
	char seen[200];
	const json_t *sec;
	seen_text(s, seen, sizeof seen);

	if (s->path && is_token_endpoint(s->host, s->path)) {
		e->c->shim++;
		return;
	}
	if (is_token_host(s->host)) {
		e->c->token_host++;
		return;
	}
	sec = e->o->secrets ? secret_for(e->o, s->host) : NULL;
	if (sec == NULL && known_elsewhere(e, s))
		return;
	if (sec == NULL) {
		struct out *r = out_add(&e->out, &e->n, &e->cap, s->client, s->host, s->port, s->path, NULL, NULL,
					s->method);
		why_set(r, "", seen);
		return;
	}
	const char *sname = json_str(sec, "name", ""), *type = json_str(sec, "type", "");
	bool optional = false;
	const char *preset = NULL;
	const json_t *k = preset_knowledge(type, s->host, s->port, s->method, s->path, &optional, &preset);
	bool known_type = false;
	size_t i;
	json_t *p;
	json_array_foreach(preset_all(), i, p)
		known_type |= strcmp(json_str(p, "secret", ""), "required") == 0 && preset_takes_type(p, type);
	if (!known_type) {
		/* a plain secret bound to this host: whatever goes there needs it */
		struct out *r = out_add(&e->out, &e->n, &e->cap, s->client, s->host, s->port, s->path, sname, NULL,
					s->method);
		char head[160];
		snprintf(head, sizeof head, "secret %s (%.32s) is bound to this host", sname, type);
		why_set(r, head, seen);
		return;
	}
	used_add(e, s->client, sname, type);
	if (s->method == NULL)
		return; /* only the host: the login's needed calls are added below */
	if (k && optional) {
		const char *ksec = json_is_true(json_object_get(k, "secret")) ? sname : NULL;
		const char *kind = json_str(k, "kind", "optional");
		if (!e->o->include_optional) {
			e->c->optional++;
			struct out *r = out_add(&e->left, &e->nleft, &e->capleft, s->client, s->host, s->port, s->path,
						ksec, kind, s->method);
			char head[300];
			snprintf(head, sizeof head, "%s: %.250s", kind, json_str(k, "why", ""));
			why_set(r, head, NULL);
			return;
		}
		struct out *r = out_add(&e->out, &e->n, &e->cap, s->client, s->host, s->port, s->path, ksec, kind,
					s->method);
		char head[300];
		snprintf(head, sizeof head, "optional (%s), known to %s: %s", kind, preset, json_str(k, "why", ""));
		why_set(r, head, seen);
		return;
	}
	if (k) {
		const char *ksec = json_is_true(json_object_get(k, "secret")) ? sname : NULL;
		struct out *r = out_add(&e->out, &e->n, &e->cap, s->client, s->host, s->port, s->path, ksec, NULL,
					s->method);
		char head[300];
		snprintf(head, sizeof head, "needed by %s: %s%s", preset, json_str(k, "why", ""),
			 ksec ? " (the login goes here)" : "");
		why_set(r, head, seen);
		return;
	}
	struct out *r = out_add(&e->out, &e->n, &e->cap, s->client, s->host, s->port, s->path, NULL, NULL, s->method);
	char head[300];
	snprintf(head, sizeof head, "not in the presets for %s logins: without the secret (add --secret %s if it needs it)",
		 type, sname);
	why_set(r, head, seen);
}

/* The calls the presets of a used login mark as needed, on the hosts the
 * secret is bound to: added when the log did not show them. */
static void complete(struct emit *e)
{
	for (size_t u = 0; u < e->nused; u++) {
		size_t pi0;
		json_t *p;
		json_array_foreach(preset_all(), pi0, p) {
			json_t *k;
			size_t i;
			if (!preset_takes_type(p, e->used[u].type))
				continue;
			json_array_foreach(json_object_get(p, "rules"), i, k) {
				const char *host = json_str(k, "host", "");
				const json_t *sec = secret_for(e->o, host);
				if (strchr(host, '*') || !sec || strcmp(json_str(sec, "name", ""), e->used[u].secret) != 0)
					continue; /* another secret's host, or a pattern to spell as seen */
				const char *ksec = json_is_true(json_object_get(k, "secret")) ? e->used[u].secret : NULL;
				json_t *paths = json_object_get(k, "paths"), *pv, *mv;
				size_t pi, mi;
				for (pi = 0; pi < (json_array_size(paths) ? json_array_size(paths) : 1); pi++) {
					pv = json_array_get(paths, pi);
					const char *path = pv ? json_string_value(pv) : NULL;
					size_t before = e->n;
					struct out *r = NULL;
					json_array_foreach(json_object_get(k, "methods"), mi, mv)
						r = out_add(&e->out, &e->n, &e->cap, e->used[u].client, host, 443, path, ksec,
							    NULL, json_string_value(mv));
					if (r && e->n > before) {
						e->c->completed++;
						char head[300];
						snprintf(head, sizeof head, "needed by %s: %s%s", json_str(p, "name", ""),
							 json_str(k, "why", ""),
							 ksec ? " (the login goes here)" : "");
						why_set(r, head, "not in the log: a CLI stops at the first essential call denied");
					}
				}
			}
		}
	}
}

static int out_cmp(const void *a, const void *b)
{
	const struct out *x = a, *y = b;
	int d;
	if ((d = strcmp(x->client, y->client)) || (d = strcmp(x->host, y->host)))
		return d;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (!x->path || !y->path)
		return (x->path != NULL) - (y->path != NULL); /* the host-only rule first */
	return strcmp(x->path, y->path);
}

/* A shell word: bare when it cannot mean anything else to sh, else in
 * single quotes (a ' inside becomes '\''). Methods and paths come from the
 * sandbox: they must never become shell syntax. */
static void put_word(const char *w)
{
	bool bare = w[0] != '\0';
	for (const char *p = w; *p && bare; p++)
		bare = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@%,+=-", *p) != NULL;
	putchar(' ');
	if (bare) {
		fputs(w, stdout);
		return;
	}
	putchar('\'');
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	putchar('\'');
}

static void out_print(const struct out *r, const char *prefix)
{
	fputs(prefix, stdout);
	fputs("airlock allow", stdout);
	put_word(r->client);
	fputs(" --host", stdout);
	put_word(r->host);
	printf(" --port %u", (unsigned)r->port);
	for (size_t i = 0; i < r->nmethods; i++) {
		fputs(" --method", stdout);
		put_word(r->methods[i]);
	}
	if (r->path) {
		fputs(" --path", stdout);
		put_word(r->path);
	}
	if (r->secret) {
		fputs(" --secret", stdout);
		put_word(r->secret);
	}
}

void suggest_emit(struct suggestion *s, size_t n, const struct suggest_opts *o, struct suggest_counts *c)
{
	struct emit e = { .o = o, .c = c };
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < n; i++)
		take(&e, &s[i]);
	complete(&e);
	if (e.n)
		qsort(e.out, e.n, sizeof *e.out, out_cmp);
	for (size_t i = 0; i < e.n; i++) {
		out_print(&e.out[i], "");
		/* every value in why is from a preset, a checked name or a fixed list */
		printf("  # %s%s\n", e.out[i].kind ? "optional, " : "", e.out[i].why);
	}
	c->rules = e.n;
	if (e.nleft) {
		qsort(e.left, e.nleft, sizeof *e.left, out_cmp);
		printf("# left out, optional (--include-optional keeps them):\n");
		for (size_t i = 0; i < e.nleft; i++) {
			out_print(&e.left[i], "#   ");
			printf("  # %s\n", e.left[i].why);
		}
	}
	free(e.out);
	free(e.left);
	preset_cache_free();
}
