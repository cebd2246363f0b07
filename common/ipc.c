/* The broker <-> enforcer door (ipc.h lists the messages): a field table
 * per message and the check both receivers run on every frame. The
 * builders are ipc_build.c's, the framing ipc_frame.c's. */
#include "config.h"

#include "common/ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/token.h"
#include "common/xmalloc.h"

/* ---- the field tables ---- */

enum ipc_ftype {
	IF_STR,     /* a string of at most `len` bytes, no NUL */
	IF_NSTR,    /* the same, or null */
	IF_INT,     /* an integer in min..max */
	IF_BOOL,
	IF_STRS,    /* at most `items` strings of at most `len` bytes */
	IF_INTS,    /* at most `items` integers in min..max */
	IF_PAIRS,   /* at most `items` [NAME, VALUE]: NAME up to key_len bytes, VALUE up to len */
	IF_OBJS,    /* at most `items` objects, each checked against `of` */
};

struct ipc_shape;

struct ipc_field {
	const char *name;
	enum ipc_ftype type;
	bool required;
	long long min, max;
	size_t len, items, key_len;
	const struct ipc_shape *of;
};

struct ipc_shape {
	const struct ipc_field *fields;
	size_t n;
};

#define REQ true
#define OPT false
#define STR(n, r, cap) { (n), IF_STR, (r), 0, 0, (cap), 0, 0, NULL }
#define NSTR(n, r, cap) { (n), IF_NSTR, (r), 0, 0, (cap), 0, 0, NULL }
#define INT(n, r, lo, hi) { (n), IF_INT, (r), (lo), (hi), 0, 0, 0, NULL }
#define BOOL(n, r) { (n), IF_BOOL, (r), 0, 0, 0, 0, 0, NULL }
#define STRS(n, r, cap, nmax) { (n), IF_STRS, (r), 0, 0, (cap), (nmax), 0, NULL }
#define INTS(n, r, lo, hi, nmax) { (n), IF_INTS, (r), (lo), (hi), 0, (nmax), 0, NULL }
#define PAIRS(n, r, kcap, vcap, nmax) { (n), IF_PAIRS, (r), 0, 0, (vcap), (nmax), (kcap), NULL }
#define OBJS(n, r, shape, nmax) { (n), IF_OBJS, (r), 0, 0, 0, (nmax), 0, &(shape) }
#define SHAPE(f) { (f), sizeof(f) / sizeof((f)[0]) }

#define TYPE STR("type", REQ, 32)
#define ID INT("id", REQ, 1, UINT32_MAX)

/* enforcer -> broker */
static const struct ipc_field hello_fields[] = {
	TYPE,
	INT("proto", REQ, 0, INT32_MAX),   /* any number: the broker names a wrong one */
	INT("pid", REQ, 1, INT32_MAX),
	BOOL("asks_only", OPT),
};
static const struct ipc_field headers_ask_fields[] = {
	TYPE, ID,
	STR("secret", REQ, AL_NAME_MAX),
	STR("host", REQ, AL_HOST_BUF),
};
static const struct ipc_field shim_ask_fields[] = {
	TYPE, ID,
	STR("client", REQ, AL_NAME_MAX),
	STR("host", REQ, AL_HOST_BUF),
	STR("path", REQ, AL_PATH_MAX),
	STR("method", REQ, AL_METHOD_MAX),
};
static const struct ipc_field hold_ask_fields[] = {
	TYPE, ID,
	STR("client", REQ, AL_NAME_MAX),
	STR("method", REQ, AL_METHOD_MAX),    /* "" for a CONNECT */
	STR("scheme", REQ, 16),
	STR("host", REQ, AL_HOST_BUF),
	INT("port", REQ, 1, 65535),
	STR("path", REQ, AL_PATH_MAX),        /* "" for a CONNECT */
	STR("reason", REQ, 64),
	INT("timeout_ms", REQ, 1, INT32_MAX),
};
static const struct ipc_field hold_end_fields[] = {
	TYPE, ID,
};
static const struct ipc_field upstream_401_fields[] = {
	TYPE,
	STR("secret", REQ, AL_NAME_MAX),
	STR("host", REQ, AL_HOST_BUF),
};

static const struct ipc_field policy_ack_fields[] = {
	TYPE,
	INT("version", REQ, 0, INT64_MAX),
};
static const struct ipc_field listening_fields[] = {
	TYPE,
	INT("http_port", REQ, 0, 65535),
	INT("https_port", REQ, 0, 65535),
};

/* One decision line as JSON (enforcer/decision.c renders it with the log's
 * JSON renderer): every field of the decision line (docs/airlock-enforcer.8, LOG). Text caps are four times the
 * enforcer's own buffers: a byte that is not UTF-8 is written as U+FFFD
 * (three bytes), so a hostile path still fits and never costs the link. */
static const struct ipc_field decision_item_fields[] = {
	STR("ts", REQ, 32),
	STR("verdict", REQ, 16),
	STR("client", OPT, AL_NAME_MAX),
	STR("method", OPT, 4 * AL_METHOD_MAX),
	STR("scheme", OPT, 16),
	STR("host", OPT, 4 * AL_HOST_BUF),
	INT("port", OPT, 0, 65535),
	STR("path", OPT, 4 * AL_PATH_MAX),
	STR("mode", OPT, 16),
	INT("rule", OPT, 0, INT64_MAX),
	STR("inject", OPT, AL_NAME_MAX),
	STR("reason", OPT, 64),
	INT("status", OPT, 0, 999),
	INT("bytes_up", OPT, 0, INT64_MAX),
	INT("bytes_down", OPT, 0, INT64_MAX),
	INT("ms", OPT, 0, INT64_MAX),
	INT("scrubbed", OPT, 0, INT64_MAX),
	INT("tokens_in", OPT, 0, INT64_MAX),
	INT("tokens_out", OPT, 0, INT64_MAX),
	STR("hint", OPT, 32),
	STR("upgrade", OPT, 32),
	STR("via", OPT, 16),
	STR("src", OPT, 64),
	STR("req", REQ, 32),
};
static const struct ipc_shape decision_item_shape = SHAPE(decision_item_fields);
/* "lines" is the frame's payload (frame_parse), each record walked by
 * ipc_decision_next() in ipc_msg_check(). */
static const struct ipc_field decisions_fields[] = {
	TYPE,
	STR("lines", REQ, AL_DECISIONS_BATCH_BYTES),
	INT("dropped", REQ, 0, INT64_MAX),
};

/* The enforcer's counters (for the broker's /metrics): deltas since its last
 * stats frame on that link, and gauges as they are now. */
static const struct ipc_field stats_decision_fields[] = {
	STR("client", REQ, AL_NAME_MAX),   /* "" before a client is known */
	STR("verdict", REQ, 16),
	STR("reason", REQ, 64),            /* "" for an allow */
	INT("n", REQ, 1, INT64_MAX),
};
static const struct ipc_shape stats_decision_shape = SHAPE(stats_decision_fields);
static const struct ipc_field stats_bytes_fields[] = {
	STR("client", REQ, AL_NAME_MAX),
	INT("up", REQ, 0, INT64_MAX),
	INT("down", REQ, 0, INT64_MAX),
};
static const struct ipc_shape stats_bytes_shape = SHAPE(stats_bytes_fields);
/* LLM tokens read from the usage of responses to injected requests */
static const struct ipc_field stats_usage_fields[] = {
	STR("client", REQ, AL_NAME_MAX),
	STR("secret", REQ, AL_NAME_MAX),
	INT("input", REQ, 0, INT64_MAX),
	INT("output", REQ, 0, INT64_MAX),
	INT("responses", REQ, 0, INT64_MAX),
};
static const struct ipc_shape stats_usage_shape = SHAPE(stats_usage_fields);
/* a client's LLM tokens counted against its budget for a UTC day (a gauge) */
static const struct ipc_field stats_tokens_today_fields[] = {
	STR("client", REQ, AL_NAME_MAX),
	INT("day", REQ, 0, INT64_MAX / 86400),
	INT("tokens", REQ, 0, INT64_MAX),
};
static const struct ipc_shape stats_tokens_today_shape = SHAPE(stats_tokens_today_fields);
static const struct ipc_field stats_fields[] = {
	TYPE,
	OBJS("decisions", REQ, stats_decision_shape, AL_STATS_SERIES_MAX),
	OBJS("bytes", REQ, stats_bytes_shape, AL_STATS_SERIES_MAX),
	INTS("ask_buckets", REQ, 0, INT64_MAX, IPC_ASK_BUCKETS + 1),
	INT("ask_sum_us", REQ, 0, INT64_MAX),
	INT("leaf_hits", REQ, 0, INT64_MAX),
	INT("leaf_misses", REQ, 0, INT64_MAX),
	INT("feed_dropped", REQ, 0, INT64_MAX),
	INT("conns", REQ, 0, INT64_MAX),
	INT("preauth_conns", REQ, 0, INT64_MAX),
	INT("leaves", REQ, 0, INT64_MAX),
	OBJS("usage", OPT, stats_usage_shape, AL_STATS_SERIES_MAX),
	OBJS("tokens_today", OPT, stats_tokens_today_shape, AL_BUDGET_ENTRIES_MAX),
};

/* broker -> enforcer */
/* a client's or rule's budget: absent, no limit */
#define BUDGET_INTS \
	INT("max_rpm", OPT, 1, AL_BUDGET_RPM_MAX), \
	INT("max_bytes_per_hour", OPT, 1, AL_BUDGET_BYTES_MAX), \
	INT("max_concurrent", OPT, 1, AL_BUDGET_CONCURRENT_MAX)
static const struct ipc_field rule_fields[] = {
	INT("id", REQ, 0, INT64_MAX),
	STR("host", REQ, AL_HOST_BUF + 1),   /* "*." + a whole name */
	INTS("ports", REQ, 1, 65535, AL_RULE_LIST_MAX),
	STRS("methods", REQ, AL_METHOD_MAX, AL_RULE_LIST_MAX),
	STRS("paths", REQ, AL_PATH_MAX, AL_RULE_LIST_MAX),
	NSTR("secret", OPT, AL_NAME_MAX),    /* absent or null: none */
	BOOL("passthrough", REQ),
	INT("expires_at", OPT, 0, INT64_MAX), /* absent: never */
	BUDGET_INTS,
};
static const struct ipc_shape rule_shape = SHAPE(rule_fields);
static const struct ipc_field client_fields[] = {
	STR("name", REQ, AL_NAME_MAX),
	STR("token_sha256", REQ, TOKEN_HASH_HEX_LEN),
	OBJS("rules", REQ, rule_shape, AL_RULES_PER_CLIENT),
	BOOL("hold", OPT),                    /* absent: false (on-deny deny) */
	BUDGET_INTS,
	INT("max_tokens_per_day", OPT, 1, AL_BUDGET_TOKENS_MAX),
};
static const struct ipc_shape client_shape = SHAPE(client_fields);
static const struct ipc_field policy_fields[] = {
	TYPE,
	INT("version", REQ, 0, INT64_MAX),
	OBJS("clients", REQ, client_shape, AL_CLIENTS_MAX),
	STRS("secret_hosts", OPT, AL_HOST_BUF + 1, AL_SECRETS_MAX),
};
static const struct ipc_field tokens_today_client_fields[] = {
	STR("name", REQ, AL_NAME_MAX),
	INT("tokens", REQ, 0, INT64_MAX),
};
static const struct ipc_shape tokens_today_client_shape = SHAPE(tokens_today_client_fields);
static const struct ipc_field tokens_today_fields[] = {
	TYPE,
	INT("day", REQ, 0, INT64_MAX / 86400),
	OBJS("clients", REQ, tokens_today_client_shape, AL_BUDGET_ENTRIES_MAX),
};
static const struct ipc_field headers_answer_fields[] = {
	TYPE, ID,
	PAIRS("headers", REQ, AL_INJECT_NAME_MAX, AL_INJECT_VALUE_MAX, AL_INJECT_HEADERS_MAX),
	STRS("strip", OPT, AL_INJECT_NAME_MAX, AL_INJECT_HEADERS_MAX),
	PAIRS("merge", OPT, AL_INJECT_NAME_MAX, AL_INJECT_VALUE_MAX, AL_INJECT_HEADERS_MAX),
	BOOL("oauth", OPT),
};
static const struct ipc_field headers_refusal_fields[] = {
	TYPE, ID,
	STR("error", REQ, AL_IPC_TEXT_MAX),
	STR("message", REQ, AL_IPC_TEXT_MAX),
	INT("retry_after", OPT, 1, 3600),
};
static const struct ipc_field shim_answer_fields[] = {
	TYPE, ID,
	INT("status", REQ, 200, 599),
	STR("content_type", REQ, AL_IPC_TEXT_MAX),
	STR("body", REQ, AL_SHIM_BODY_MAX),
	STR("secret", REQ, AL_NAME_MAX),
};
static const struct ipc_field shim_refusal_fields[] = {
	TYPE, ID,
	STR("error", REQ, AL_IPC_TEXT_MAX),
};

static const struct ipc_field hold_answer_fields[] = {
	TYPE, ID,
	STR("verdict", REQ, 16),              /* "approved" or "denied" */
	INT("rule", OPT, 0, INT64_MAX),
};
static const struct ipc_field hold_refusal_fields[] = {
	TYPE, ID,
	STR("error", REQ, AL_IPC_TEXT_MAX),
};

static const struct ipc_spec {
	const char *type;
	enum ipc_from from;
	bool refusal;   /* an answer's error shape: told apart by its "error" field */
	struct ipc_shape shape;
} specs[IPC_KIND_COUNT] = {
	[IPC_HELLO] = { IPC_MSG_HELLO, IPC_FROM_ENFORCER, false, SHAPE(hello_fields) },
	[IPC_HEADERS_ASK] = { IPC_MSG_HEADERS, IPC_FROM_ENFORCER, false, SHAPE(headers_ask_fields) },
	[IPC_SHIM_ASK] = { IPC_MSG_SHIM, IPC_FROM_ENFORCER, false, SHAPE(shim_ask_fields) },
	[IPC_UPSTREAM_401] = { IPC_MSG_UPSTREAM_401, IPC_FROM_ENFORCER, false, SHAPE(upstream_401_fields) },
	[IPC_POLICY_ACK] = { IPC_MSG_POLICY_ACK, IPC_FROM_ENFORCER, false, SHAPE(policy_ack_fields) },
	[IPC_LISTENING] = { IPC_MSG_LISTENING, IPC_FROM_ENFORCER, false, SHAPE(listening_fields) },
	[IPC_DECISIONS] = { IPC_MSG_DECISIONS, IPC_FROM_ENFORCER, false, SHAPE(decisions_fields) },
	[IPC_STATS] = { IPC_MSG_STATS, IPC_FROM_ENFORCER, false, SHAPE(stats_fields) },
	[IPC_HOLD_ASK] = { IPC_MSG_HOLD, IPC_FROM_ENFORCER, false, SHAPE(hold_ask_fields) },
	[IPC_HOLD_END] = { IPC_MSG_HOLD_END, IPC_FROM_ENFORCER, false, SHAPE(hold_end_fields) },
	[IPC_POLICY] = { IPC_MSG_POLICY, IPC_FROM_BROKER, false, SHAPE(policy_fields) },
	[IPC_TOKENS_TODAY] = { IPC_MSG_TOKENS_TODAY, IPC_FROM_BROKER, false, SHAPE(tokens_today_fields) },
	[IPC_HEADERS_ANSWER] = { IPC_MSG_HEADERS, IPC_FROM_BROKER, false, SHAPE(headers_answer_fields) },
	[IPC_HEADERS_REFUSAL] = { IPC_MSG_HEADERS, IPC_FROM_BROKER, true, SHAPE(headers_refusal_fields) },
	[IPC_SHIM_ANSWER] = { IPC_MSG_SHIM, IPC_FROM_BROKER, false, SHAPE(shim_answer_fields) },
	[IPC_SHIM_REFUSAL] = { IPC_MSG_SHIM, IPC_FROM_BROKER, true, SHAPE(shim_refusal_fields) },
	[IPC_HOLD_ANSWER] = { IPC_MSG_HOLD, IPC_FROM_BROKER, false, SHAPE(hold_answer_fields) },
	[IPC_HOLD_REFUSAL] = { IPC_MSG_HOLD, IPC_FROM_BROKER, true, SHAPE(hold_refusal_fields) },
};

/* ---- checking a message against its table ---- */

/* Where a value sits, for the error only: built on the stack as the check
 * descends, printed only when something is refused. */
struct vpath {
	const struct vpath *up;
	const char *key;   /* NULL: an array index */
	size_t idx;
};

static size_t path_fmt(const struct vpath *p, char *buf, size_t cap)
{
	size_t n = 0;
	int w;

	if (!p)
		return 0;
	n = path_fmt(p->up, buf, cap);
	if (n >= cap)
		return n;
	w = p->key ? snprintf(buf + n, cap - n, ".%.64s", p->key) : snprintf(buf + n, cap - n, "[%zu]", p->idx);
	return w < 0 ? n : n + (size_t)w;
}

static int refuse(int rc, char *err, size_t errlen, const struct vpath *p, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int refuse(int rc, char *err, size_t errlen, const struct vpath *p, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || !errlen)
		return rc;
	err[0] = '\0';
	n = path_fmt(p, err, errlen);
	if (n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* A key as it may appear in an error: printable, short. */
static void key_clean(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (const unsigned char *k = (const unsigned char *)in; *k && o + 1 < cap; k++)
		out[o++] = *k >= 0x20 && *k < 0x7f ? (char)*k : '?';
	out[o] = '\0';
}

static int check_str(const json_t *v, size_t cap, char *err, size_t errlen, const struct vpath *p)
{
	size_t n;

	if (!json_is_string(v))
		return refuse(AL_EINVAL, err, errlen, p, " must be a string");
	n = json_string_length(v);
	if (n > cap)
		return refuse(AL_ETOOBIG, err, errlen, p, " must be at most %zu bytes", cap);
	if (memchr(json_string_value(v), '\0', n))
		return refuse(AL_EINVAL, err, errlen, p, " must not hold a NUL byte");
	return 0;
}

static int check_int(const json_t *v, const struct ipc_field *f, char *err, size_t errlen, const struct vpath *p)
{
	if (!json_is_integer(v))
		return refuse(AL_EINVAL, err, errlen, p, " must be an integer");
	if (json_integer_value(v) < f->min || json_integer_value(v) > f->max)
		return refuse(AL_ERANGE, err, errlen, p, " must be between %lld and %lld", f->min, f->max);
	return 0;
}

static int check_obj(const json_t *obj, const struct ipc_shape *s, char *err, size_t errlen, const struct vpath *p);

static int check_list(const json_t *v, const struct ipc_field *f, char *err, size_t errlen, const struct vpath *p)
{
	size_t i;
	const json_t *e;
	int rc = 0;

	if (!json_is_array(v))
		return refuse(AL_EINVAL, err, errlen, p, " must be an array");
	if (json_array_size(v) > f->items)
		return refuse(AL_ETOOBIG, err, errlen, p, " must have at most %zu items", f->items);
	json_array_foreach(v, i, e) {
		struct vpath ep = { p, NULL, i };
		switch (f->type) {
		case IF_STRS:
			rc = check_str(e, f->len, err, errlen, &ep);
			break;
		case IF_INTS:
			rc = check_int(e, f, err, errlen, &ep);
			break;
		case IF_PAIRS: {
			struct vpath np = { &ep, NULL, 0 }, vp = { &ep, NULL, 1 };
			if (!json_is_array(e) || json_array_size(e) != 2)
				return refuse(AL_EINVAL, err, errlen, &ep, " must be a [name, value] pair");
			if ((rc = check_str(json_array_get(e, 0), f->key_len, err, errlen, &np)) == 0)
				rc = check_str(json_array_get(e, 1), f->len, err, errlen, &vp);
			break;
		}
		case IF_OBJS:
			rc = check_obj(e, f->of, err, errlen, &ep);
			break;
		default:
			rc = refuse(AL_EINVAL, err, errlen, p, " has no list type in its table");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_field(const json_t *v, const struct ipc_field *f, char *err, size_t errlen, const struct vpath *p)
{
	switch (f->type) {
	case IF_NSTR:
		if (json_is_null(v))
			return 0;
		/* fall through */
	case IF_STR:
		return check_str(v, f->len, err, errlen, p);
	case IF_INT:
		return check_int(v, f, err, errlen, p);
	case IF_BOOL:
		return json_is_boolean(v) ? 0 : refuse(AL_EINVAL, err, errlen, p, " must be true or false");
	case IF_STRS:
	case IF_INTS:
	case IF_PAIRS:
	case IF_OBJS:
		return check_list(v, f, err, errlen, p);
	}
	return refuse(AL_EINVAL, err, errlen, p, " has an unknown type in its table");
}

static int check_obj(const json_t *obj, const struct ipc_shape *s, char *err, size_t errlen, const struct vpath *p)
{
	const char *key;
	json_t *v;
	size_t i, required = 0, seen = 0;
	int rc;

	if (!json_is_object(obj))
		return refuse(AL_EINVAL, err, errlen, p, "%s must be an object", p ? "" : "message");
	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; i < s->n && strcmp(s->fields[i].name, key) != 0; i++)
			;
		if (i == s->n) {
			char k[64];
			key_clean(key, k, sizeof k);
			return refuse(AL_EINVAL, err, errlen, p, ".%s: unknown field", k);
		}
		struct vpath fp = { p, s->fields[i].name, 0 };
		if ((rc = check_field(v, &s->fields[i], err, errlen, &fp)) < 0)
			return rc;
		seen += s->fields[i].required;
	}
	/* a jansson object has each key once: all are there when all are counted */
	for (i = 0; i < s->n; i++)
		required += s->fields[i].required;
	if (seen == required)
		return 0;
	for (i = 0; i < s->n; i++)
		if (s->fields[i].required && !json_object_get(obj, s->fields[i].name))
			return refuse(AL_EINVAL, err, errlen, p, ".%s: missing field", s->fields[i].name);
	return 0;
}

int ipc_msg_validate(const json_t *msg, enum ipc_kind k, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(msg, "type"));

	if (err && errlen)
		err[0] = '\0';
	if ((unsigned)k >= IPC_KIND_COUNT)
		return AL_EINVAL;
	if (!type || strcmp(type, specs[k].type) != 0)
		return refuse(AL_EINVAL, err, errlen, NULL, ".type must be \"%s\"", specs[k].type);
	return check_obj(msg, &specs[k].shape, err, errlen, NULL);
}

int ipc_msg_check(const json_t *msg, enum ipc_from from, enum ipc_kind *kind, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	bool refusal = json_object_get(msg, "error") != NULL;
	int found = -1;

	if (err && errlen)
		err[0] = '\0';
	for (size_t k = 0; type && k < IPC_KIND_COUNT; k++) {
		if (specs[k].from != from || strcmp(specs[k].type, type) != 0)
			continue;
		/* an ask has one shape: "error" in it is an unknown field */
		if (found < 0 || specs[k].refusal == refusal)
			found = (int)k;
	}
	if (found < 0) {
		char t[40];
		key_clean(type ? type : "", t, sizeof t);
		return refuse(AL_EPROTO, err, errlen, NULL, "type \"%s\" is not one the %s sends", t,
			      from == IPC_FROM_BROKER ? "broker" : "enforcer");
	}
	*kind = (enum ipc_kind)found;
	int rc = check_obj(msg, &specs[found].shape, err, errlen, NULL);
	if (rc == 0 && found == IPC_DECISIONS) {
		const json_t *l = json_object_get(msg, "lines");
		struct ipc_decision d;
		size_t pos = 0, n = 0;
		while ((rc = ipc_decision_next(json_string_value(l), json_string_length(l), &pos, &d)) == 1)
			if (++n > AL_DECISIONS_BATCH_MAX)
				return refuse(AL_ETOOBIG, err, errlen, NULL, ".lines must have at most %d records",
					      AL_DECISIONS_BATCH_MAX);
		if (rc < 0)
			return refuse(rc, err, errlen, NULL, ".lines: record %zu is not VERDICT TAB CLIENT TAB LINE",
				      n + 1);
	}
	return rc;
}

int ipc_decision_item_check(const json_t *item, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	return check_obj(item, &decision_item_shape, err, errlen, NULL);
}

uint32_t ipc_msg_id(const json_t *msg)
{
	const json_t *id = json_object_get(msg, "id");

	if (!json_is_integer(id) || json_integer_value(id) < 1 || json_integer_value(id) > UINT32_MAX)
		return 0;
	return (uint32_t)json_integer_value(id);
}

static void wipe_strings(json_t *v)
{
	size_t i;
	const char *k;
	json_t *e;

	if (json_is_string(v)) {
		secure_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			wipe_strings(e);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			wipe_strings(e);
	}
}

void ipc_msg_wipe(json_t *msg)
{
	if (msg)
		wipe_strings(msg);
}
