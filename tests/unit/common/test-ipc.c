/* Unit tests of common/ipc.c: the message tables (each message, its
 * negative twins: unknown, missing and mistyped fields, NUL bytes, integers
 * out of range, each string and list cap at cap and cap + 1, a type the
 * sender may not send), frame encoding at the cap and cap + 1, the
 * incremental reader (split, batched, zero-length, oversized and malformed
 * frames), peer credentials, and the blocking helpers' deadlines and EOFs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"
#include "tests/unit/unit.h"

/* Who sends a kind: the asks, hello and notes come from the enforcer. */
static enum ipc_from specs_from(enum ipc_kind k)
{
	return k <= IPC_UPSTREAM_401 ? IPC_FROM_ENFORCER : IPC_FROM_BROKER;
}

static json_t *hello(void)
{
	return json_pack("{s:s, s:i, s:i}", "type", IPC_MSG_HELLO, "proto", IPC_PROTO_VERSION, "pid", 42);
}

/* An object whose compact encoding is exactly n bytes: {"type":"x","p":"aaa..."} */
static json_t *msg_of_size(size_t n)
{
	const size_t overhead = strlen("{\"type\":\"x\",\"p\":\"\"}");
	char *pad = xmalloc(n - overhead + 1);
	json_t *m;

	memset(pad, 'a', n - overhead);
	pad[n - overhead] = '\0';
	m = json_pack("{s:s, s:s}", "type", "x", "p", pad);
	free(pad);
	return m;
}

/* ---- the tables ---- */

#define OK 0
static const struct {
	enum ipc_from from;
	const char *json;   /* ' for " */
	int rc;
	enum ipc_kind kind; /* when rc is 0 or a table's refusal */
} msg_cases[] = {
	/* hello */
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':1,'pid':42}", OK, IPC_HELLO },
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':1,'pid':42,'asks_only':true}", OK, IPC_HELLO },
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':7,'pid':42}", OK, IPC_HELLO },   /* the broker names it */
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':1,'pid':42,'asks_only':1}", AL_EINVAL, IPC_HELLO },
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':1}", AL_EINVAL, IPC_HELLO },
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':'1','pid':42}", AL_EINVAL, IPC_HELLO },
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':1,'pid':0}", AL_ERANGE, IPC_HELLO },
	{ IPC_FROM_ENFORCER, "{'type':'hello','proto':1,'pid':42,'policy':true}", AL_EINVAL, IPC_HELLO },
	{ IPC_FROM_BROKER, "{'type':'hello','proto':1,'pid':42}", AL_EPROTO, IPC_KIND_COUNT },
	/* headers ask */
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s','host':'a.example','id':1}", OK, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s','host':'a.example','id':4294967295}", OK, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s','host':'a.example','id':4294967296}", AL_ERANGE, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s','host':'a.example','id':0}", AL_ERANGE, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s','host':'a.example','id':1.5}", AL_EINVAL, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s','host':'a.example'}", AL_EINVAL, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s\\u0000x','host':'a.example','id':1}", AL_EINVAL, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':['s'],'host':'a.example','id':1}", AL_EINVAL, IPC_HEADERS_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'headers','secret':'s','host':'a.example','id':1,'error':'x'}", AL_EINVAL, IPC_HEADERS_ASK },
	/* shim ask */
	{ IPC_FROM_ENFORCER, "{'type':'shim','client':'c','host':'h','path':'/t','method':'POST','id':2}", OK, IPC_SHIM_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'shim','client':'c','host':'h','path':'/t','id':2}", AL_EINVAL, IPC_SHIM_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'shim','client':'c','host':'h','path':'/t','method':null,'id':2}", AL_EINVAL, IPC_SHIM_ASK },
	/* upstream-401 */
	{ IPC_FROM_ENFORCER, "{'type':'upstream-401','secret':'s','host':'h'}", OK, IPC_UPSTREAM_401 },
	{ IPC_FROM_ENFORCER, "{'type':'upstream-401','secret':'s'}", AL_EINVAL, IPC_UPSTREAM_401 },
	{ IPC_FROM_ENFORCER, "{'type':'upstream-401','secret':'s','host':'h','id':1}", AL_EINVAL, IPC_UPSTREAM_401 },
	{ IPC_FROM_ENFORCER, "{'type':'upstream-401','secret':5,'host':'h'}", AL_EINVAL, IPC_UPSTREAM_401 },
	{ IPC_FROM_BROKER, "{'type':'upstream-401','secret':'s','host':'h'}", AL_EPROTO, IPC_KIND_COUNT },
	/* listening */
	{ IPC_FROM_ENFORCER, "{'type':'listening','http_port':3128,'https_port':0}", OK, IPC_LISTENING },
	{ IPC_FROM_ENFORCER, "{'type':'listening','http_port':3128}", AL_EINVAL, IPC_LISTENING },
	{ IPC_FROM_ENFORCER, "{'type':'listening','http_port':65536,'https_port':1}", AL_ERANGE, IPC_LISTENING },
	{ IPC_FROM_BROKER, "{'type':'listening','http_port':1,'https_port':1}", AL_EPROTO, IPC_KIND_COUNT },
	/* hold: ask, end, answers */
	{ IPC_FROM_ENFORCER, "{'type':'hold','id':3,'client':'c','method':'GET','scheme':'http','host':'h','port':80,"
			     "'path':'/x','reason':'no-rule','timeout_ms':60000}", OK, IPC_HOLD_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'hold','id':3,'client':'c','method':'','scheme':'tcp','host':'h','port':443,"
			     "'path':'','reason':'no-rule','timeout_ms':1}", OK, IPC_HOLD_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'hold','id':3,'client':'c','method':'GET','scheme':'http','host':'h','port':0,"
			     "'path':'/x','reason':'no-rule','timeout_ms':1}", AL_ERANGE, IPC_HOLD_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'hold','id':3,'client':'c','method':'GET','scheme':'http','host':'h','port':80,"
			     "'path':'/x','reason':'no-rule'}", AL_EINVAL, IPC_HOLD_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'hold','id':3,'client':'c','method':'GET','scheme':'http','host':'h','port':80,"
			     "'path':'/x','reason':'no-rule','timeout_ms':0}", AL_ERANGE, IPC_HOLD_ASK },
	{ IPC_FROM_ENFORCER, "{'type':'hold-end','id':3}", OK, IPC_HOLD_END },
	{ IPC_FROM_ENFORCER, "{'type':'hold-end'}", AL_EINVAL, IPC_HOLD_END },
	{ IPC_FROM_BROKER, "{'type':'hold-end','id':3}", AL_EPROTO, IPC_KIND_COUNT },
	{ IPC_FROM_BROKER, "{'type':'hold','id':3,'verdict':'approved','rule':7}", OK, IPC_HOLD_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'hold','id':3,'verdict':'denied'}", OK, IPC_HOLD_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'hold','id':3,'verdict':'approved','rule':'7'}", AL_EINVAL, IPC_HOLD_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'hold','id':3,'error':'hold-cap'}", OK, IPC_HOLD_REFUSAL },
	{ IPC_FROM_BROKER, "{'type':'hold','id':3,'error':'hold-cap','verdict':'denied'}", AL_EINVAL, IPC_HOLD_REFUSAL },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[{'name':'c','token_sha256':'ab','rules':[],"
			   "'hold':true}]}", OK, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[{'name':'c','token_sha256':'ab','rules':[],"
			   "'hold':'yes'}]}", AL_EINVAL, IPC_POLICY },
	/* tokens-today (broker -> enforcer) and stats' tokens_today */
	{ IPC_FROM_BROKER, "{'type':'tokens-today','day':20428,'clients':[{'name':'c','tokens':36}]}", OK,
	  IPC_TOKENS_TODAY },
	{ IPC_FROM_BROKER, "{'type':'tokens-today','day':20428,'clients':[]}", OK, IPC_TOKENS_TODAY },
	{ IPC_FROM_BROKER, "{'type':'tokens-today','day':20428,'clients':[{'name':'c','tokens':-1}]}", AL_ERANGE,
	  IPC_TOKENS_TODAY },
	{ IPC_FROM_BROKER, "{'type':'tokens-today','day':-1,'clients':[]}", AL_ERANGE, IPC_TOKENS_TODAY },
	{ IPC_FROM_BROKER, "{'type':'tokens-today','clients':[]}", AL_EINVAL, IPC_TOKENS_TODAY },
	{ IPC_FROM_BROKER, "{'type':'tokens-today','day':1,'clients':[{'name':'c'}]}", AL_EINVAL, IPC_TOKENS_TODAY },
	{ IPC_FROM_ENFORCER, "{'type':'tokens-today','day':1,'clients':[]}", AL_EPROTO, IPC_KIND_COUNT },
	{ IPC_FROM_ENFORCER, "{'type':'stats','decisions':[],'bytes':[],'ask_buckets':[],'ask_sum_us':0,"
			     "'leaf_hits':0,'leaf_misses':0,'feed_dropped':0,'conns':0,'preauth_conns':0,'leaves':0,"
			     "'tokens_today':[{'client':'c','day':20428,'tokens':36}]}", OK, IPC_STATS },
	{ IPC_FROM_ENFORCER, "{'type':'stats','decisions':[],'bytes':[],'ask_buckets':[],'ask_sum_us':0,"
			     "'leaf_hits':0,'leaf_misses':0,'feed_dropped':0,'conns':0,'preauth_conns':0,'leaves':0,"
			     "'tokens_today':[{'client':'c','tokens':36}]}", AL_EINVAL, IPC_STATS },
	/* unknown types, both ways */
	{ IPC_FROM_ENFORCER, "{'type':'give-me-secrets'}", AL_EPROTO, IPC_KIND_COUNT },
	{ IPC_FROM_ENFORCER, "{'type':'policy','version':1,'clients':[]}", AL_EPROTO, IPC_KIND_COUNT },
	{ IPC_FROM_BROKER, "{'type':'nope','id':1}", AL_EPROTO, IPC_KIND_COUNT },
	{ IPC_FROM_BROKER, "{'id':1}", AL_EPROTO, IPC_KIND_COUNT },
	/* policy */
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[]}", OK, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[{'name':'c','token_sha256':'ab','rules':["
			   "{'id':1,'host':'h','ports':[443],'methods':[],'paths':[],'passthrough':false,'secret':null,"
			   "'expires_at':5}]}]}", OK, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':-1,'clients':[]}", AL_ERANGE, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3}", AL_EINVAL, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':{}}", AL_EINVAL, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[5]}", AL_EINVAL, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[{'name':'c','token_sha256':'ab','rules':[],'x':1}]}",
	  AL_EINVAL, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[{'name':'c','token_sha256':'ab','rules':["
			   "{'id':1,'host':'h','ports':[0],'methods':[],'paths':[],'passthrough':false}]}]}",
	  AL_ERANGE, IPC_POLICY },
	{ IPC_FROM_BROKER, "{'type':'policy','version':3,'clients':[{'name':'c','token_sha256':'ab','rules':["
			   "{'id':1,'host':'h','ports':[443],'methods':[1],'paths':[],'passthrough':false}]}]}",
	  AL_EINVAL, IPC_POLICY },
	/* headers answer and refusal */
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':[['Authorization','Bearer v']],'strip':['x-api-key']}",
	  OK, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':[],'strip':[],'merge':[['anthropic-beta','o-1']],"
			   "'oauth':true}", OK, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':[['a']]}", AL_EINVAL, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':[['a','b','c']]}", AL_EINVAL, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':[['a',1]]}", AL_EINVAL, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':['a: b']}", AL_EINVAL, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':[['a','b\\u0000c']]}", AL_EINVAL, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'strip':[]}", AL_EINVAL, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'headers':[],'oauth':'yes'}", AL_EINVAL, IPC_HEADERS_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'error':'secret-not-found','message':'no such secret'}",
	  OK, IPC_HEADERS_REFUSAL },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'error':'credential-refreshing','message':'m','retry_after':2}",
	  OK, IPC_HEADERS_REFUSAL },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'error':'x','message':'m','retry_after':0}", AL_ERANGE,
	  IPC_HEADERS_REFUSAL },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'error':'x','message':'m','headers':[]}", AL_EINVAL,
	  IPC_HEADERS_REFUSAL },
	{ IPC_FROM_BROKER, "{'type':'headers','id':1,'error':'x'}", AL_EINVAL, IPC_HEADERS_REFUSAL },
	/* shim answer and refusal */
	{ IPC_FROM_BROKER, "{'type':'shim','id':2,'status':200,'content_type':'application/json','body':'{}','secret':'c'}",
	  OK, IPC_SHIM_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'shim','id':2,'status':99,'content_type':'a','body':'{}','secret':'c'}",
	  AL_ERANGE, IPC_SHIM_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'shim','id':2,'status':200,'content_type':'a','body':'{}'}", AL_EINVAL,
	  IPC_SHIM_ANSWER },
	{ IPC_FROM_BROKER, "{'type':'shim','id':2,'error':'no-shim'}", OK, IPC_SHIM_REFUSAL },
	{ IPC_FROM_BROKER, "{'type':'shim','id':2,'error':'no-shim','body':''}", AL_EINVAL, IPC_SHIM_REFUSAL },
	{ IPC_FROM_ENFORCER, "{'type':'shim','id':2,'error':'no-shim'}", AL_EINVAL, IPC_SHIM_ASK },
};

static json_t *load_quoted(const char *q)
{
	char *t = xstrdup(q);
	json_t *j;
	for (char *c = t; *c; c++)
		if (*c == '\'')
			*c = '"';
	j = json_loads(t, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	free(t);
	return j;
}

static void test_tables(void)
{
	for (size_t i = 0; i < sizeof msg_cases / sizeof msg_cases[0]; i++) {
		json_t *m = load_quoted(msg_cases[i].json);
		enum ipc_kind kind = IPC_KIND_COUNT;
		char err[160] = "";
		int rc;

		CHECK(m != NULL, "row %zu is not JSON", i);
		if (!m)
			continue;
		rc = ipc_msg_check(m, msg_cases[i].from, &kind, err, sizeof err);
		CHECK(rc == msg_cases[i].rc, "row %zu: rc %d, want %d (%s): %s", i, rc, msg_cases[i].rc, err,
		      msg_cases[i].json);
		CHECK(kind == msg_cases[i].kind, "row %zu: kind %d, want %d", i, (int)kind, (int)msg_cases[i].kind);
		CHECK((rc == 0) == (err[0] == '\0'), "row %zu: an error is named exactly when refused: '%s'", i, err);
		if (rc == 0 || rc == AL_EINVAL || rc == AL_ERANGE || rc == AL_ETOOBIG)
			CHECK(ipc_msg_validate(m, msg_cases[i].kind, NULL, 0) == rc, "row %zu: validate agrees", i);
		json_decref(m);
	}
	/* validate checks the type too */
	json_t *m = load_quoted("{'type':'upstream-401','secret':'s','host':'h'}");
	CHECK(ipc_msg_validate(m, IPC_HEADERS_ASK, NULL, 0) == AL_EINVAL);
	json_decref(m);
}

/* A string of n bytes of c (freed by the caller). */
static char *str_of(size_t n, char c)
{
	char *s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Every string and list cap at cap and at cap + 1; the refusal names the
 * field and never quotes the value. */
static void test_caps(void)
{
	static const struct {
		enum ipc_kind kind;
		const char *base;    /* a valid message without the field */
		const char *field;
		size_t cap;
		bool pair_value;     /* the field is [[name, value]]: size the value */
		bool pair_name;      /* ... size the name */
		bool list;           /* a list of cap (+1) short strings */
	} caps[] = {
		{ IPC_HEADERS_ASK, "{'type':'headers','host':'h','id':1}", "secret", AL_NAME_MAX, false, false, false },
		{ IPC_HEADERS_ASK, "{'type':'headers','secret':'s','id':1}", "host", AL_HOST_BUF, false, false, false },
		{ IPC_SHIM_ASK, "{'type':'shim','client':'c','host':'h','method':'POST','id':1}", "path", AL_PATH_MAX,
		  false, false, false },
		{ IPC_SHIM_ASK, "{'type':'shim','client':'c','host':'h','path':'/','id':1}", "method", AL_METHOD_MAX,
		  false, false, false },
		{ IPC_SHIM_ASK, "{'type':'shim','method':'POST','host':'h','path':'/','id':1}", "client", AL_NAME_MAX,
		  false, false, false },
		{ IPC_UPSTREAM_401, "{'type':'upstream-401','secret':'s'}", "host", AL_HOST_BUF, false, false, false },
		{ IPC_HEADERS_ANSWER, "{'type':'headers','id':1}", "headers", AL_INJECT_VALUE_MAX, true, false, false },
		{ IPC_HEADERS_ANSWER, "{'type':'headers','id':1}", "headers", AL_INJECT_NAME_MAX, false, true, false },
		{ IPC_HEADERS_ANSWER, "{'type':'headers','id':1,'headers':[]}", "merge", AL_INJECT_VALUE_MAX, true, false,
		  false },
		{ IPC_HEADERS_ANSWER, "{'type':'headers','id':1}", "headers", AL_INJECT_HEADERS_MAX, false, false, true },
		{ IPC_HEADERS_ANSWER, "{'type':'headers','id':1,'headers':[]}", "strip", AL_INJECT_HEADERS_MAX, false,
		  false, true },
		{ IPC_HEADERS_ANSWER, "{'type':'headers','id':1,'headers':[]}", "strip", AL_INJECT_NAME_MAX, false, false,
		  false },
		{ IPC_HEADERS_REFUSAL, "{'type':'headers','id':1,'error':'x'}", "message", AL_IPC_TEXT_MAX, false, false,
		  false },
		{ IPC_SHIM_ANSWER, "{'type':'shim','id':1,'status':200,'content_type':'a','secret':'c'}", "body",
		  AL_SHIM_BODY_MAX, false, false, false },
	};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		for (size_t over = 0; over < 2; over++) {
			size_t n = caps[i].cap + over;
			json_t *m = load_quoted(caps[i].base), *v;
			char err[160] = "";
			enum ipc_kind kind = IPC_KIND_COUNT;

			if (caps[i].list) {
				v = json_array();
				for (size_t k = 0; k < n; k++)
					json_array_append_new(v, strcmp(caps[i].field, "headers") == 0
									 ? json_pack("[s,s]", "a", "b")
									 : json_string("x-a"));
			} else {
				char *s = str_of(n, 'Q');
				if (caps[i].pair_value)
					v = json_pack("[[s,s]]", "X-Key", s);
				else if (caps[i].pair_name)
					v = json_pack("[[s,s]]", s, "v");
				else if (strcmp(caps[i].field, "strip") == 0)
					v = json_pack("[s]", s);
				else
					v = json_string(s);
				free(s);
			}
			json_object_set_new(m, caps[i].field, v);
			int rc = ipc_msg_check(m, specs_from(caps[i].kind), &kind, err, sizeof err);
			CHECK(rc == (over ? AL_ETOOBIG : 0), "cap row %zu at cap%s: rc %d (%s)", i, over ? " + 1" : "", rc,
			      err);
			CHECK(kind == caps[i].kind, "cap row %zu: kind %d", i, (int)kind);
			if (over) {
				CHECK(strstr(err, caps[i].field) != NULL, "cap row %zu: '%s' names the field", i, err);
				CHECK(strstr(err, "QQ") == NULL, "cap row %zu: '%s' quotes the value", i, err);
			}
			json_decref(m);
		}
	}
}

/* The builders write what the tables accept, keys in the order both
 * daemons always wrote them. */
static void test_builders(void)
{
	static const char *const want[] = {
		"{\"type\":\"headers\",\"secret\":\"s\",\"host\":\"h\",\"id\":7}",
		"{\"type\":\"shim\",\"client\":\"c\",\"host\":\"h\",\"path\":\"/p\",\"method\":\"POST\",\"id\":8}",
		"{\"type\":\"upstream-401\",\"secret\":\"s\",\"host\":\"h\"}",
		"{\"type\":\"headers\",\"id\":9,\"error\":\"credential-refreshing\",\"message\":\"m\",\"retry_after\":3}",
		"{\"type\":\"headers\",\"id\":9,\"error\":\"secret-not-found\",\"message\":\"m\"}",
		"{\"type\":\"shim\",\"id\":10,\"error\":\"no-shim\"}",
	};
	json_t *got[] = {
		ipc_msg_headers_ask(7, "s", "h"),
		ipc_msg_shim_ask(8, "c", "h", "/p", "POST"),
		ipc_msg_upstream_401("s", "h"),
		ipc_msg_headers_refusal(9, "credential-refreshing", "m", 3),
		ipc_msg_headers_refusal(9, "secret-not-found", "m", 0),
		ipc_msg_shim_refusal(10, "no-shim"),
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char *text = json_dumps(got[i], JSON_COMPACT);
		CHECK(text && strcmp(text, want[i]) == 0, "builder %zu wrote %s", i, text);
		free(text);
		json_decref(got[i]);
	}
	json_t *h = ipc_msg_hello(false), *ha = ipc_msg_hello(true);
	enum ipc_kind kind;
	CHECK(ipc_msg_check(h, IPC_FROM_ENFORCER, &kind, NULL, 0) == 0 && kind == IPC_HELLO);
	CHECK(json_object_get(h, "asks_only") == NULL, "the policy link's hello has no asks_only");
	CHECK(json_is_true(json_object_get(ha, "asks_only")));
	CHECK(json_integer_value(json_object_get(ha, "pid")) == getpid());
	json_decref(h);
	json_decref(ha);
	CHECK(ipc_msg_headers_ask(1, "\xff", "h") == NULL, "not UTF-8");

	/* ids: 1..2^32-1 or none */
	json_t *m = json_pack("{s:I}", "id", (json_int_t)UINT32_MAX);
	CHECK(ipc_msg_id(m) == UINT32_MAX);
	json_object_set_new(m, "id", json_integer(0));
	CHECK(ipc_msg_id(m) == 0);
	json_object_set_new(m, "id", json_string("1"));
	CHECK(ipc_msg_id(m) == 0);
	/* wipe: every string value overwritten in place */
	json_t *w = json_pack("{s:s, s:[[s,s]]}", "type", "headers", "headers", "Authorization", "Bearer sekrit");
	const char *val = json_string_value(json_array_get(json_array_get(json_object_get(w, "headers"), 0), 1));
	ipc_msg_wipe(w);
	CHECK(memcmp(val, "Bearer sekrit", 13) != 0, "value wiped");
	ipc_msg_wipe(NULL);
	json_decref(w);
	json_decref(m);
}

static void test_encode(void)
{
	json_t *m = hello(), *arr = json_array(), *got = NULL;
	uint8_t *f = NULL;
	size_t len;
	struct ipc_reader r;

	CHECK(ipc_frame_encode(m, &f, &len) == 0);
	CHECK(len > 4 && f[0] == 0 && f[1] == 0 && (size_t)(f[2] << 8 | f[3]) == len - 4);
	CHECK(memcmp(f + 4, "{\"type\":\"hello\"", 15) == 0, "%.*s", (int)len - 4, f + 4);
	free(f);
	CHECK(ipc_frame_encode(arr, &f, &len) == AL_EINVAL && f == NULL, "not an object");
	json_decref(arr);
	json_decref(m);

	/* Cap: a frame body of exactly AL_IPC_FRAME_MAX encodes and reads back; one more is refused. */
	m = msg_of_size(AL_IPC_FRAME_MAX);
	CHECK(ipc_frame_encode(m, &f, &len) == 0 && len == IPC_HEADER_LEN + AL_IPC_FRAME_MAX, "len %zu", len);
	ipc_reader_init(&r);
	CHECK(ipc_reader_feed(&r, f, len) == 0);
	CHECK(ipc_reader_next(&r, &got) == 1 && got, "frame of cap read back");
	json_decref(got);
	ipc_reader_free(&r);
	free(f);
	json_decref(m);
	m = msg_of_size(AL_IPC_FRAME_MAX + 1);
	CHECK(ipc_frame_encode(m, &f, &len) == AL_ETOOBIG && f == NULL, "frame of cap + 1");
	CHECK(len == IPC_HEADER_LEN + AL_IPC_FRAME_MAX + 1, "refused frame's size %zu", len);
	json_decref(m);
}

static void test_reader(void)
{
	struct ipc_reader r;
	json_t *m = hello(), *got = NULL;
	uint8_t *f = NULL, *two;
	size_t len;

	CHECK(ipc_frame_encode(m, &f, &len) == 0);

	/* Byte by byte: nothing until the last byte. */
	ipc_reader_init(&r);
	for (size_t i = 0; i < len; i++) {
		CHECK(ipc_reader_feed(&r, f + i, 1) == 0);
		if (i + 1 < len)
			CHECK(ipc_reader_next(&r, &got) == 0 && got == NULL, "byte %zu", i);
	}
	CHECK(ipc_reader_next(&r, &got) == 1);
	CHECK(got && json_equal(got, m));
	json_decref(got);
	CHECK(ipc_reader_next(&r, &got) == 0, "buffer drained");
	ipc_reader_free(&r);

	/* Two frames and a half in one feed. */
	two = xmalloc(3 * len);
	memcpy(two, f, len);
	memcpy(two + len, f, len);
	memcpy(two + 2 * len, f, len);
	ipc_reader_init(&r);
	CHECK(ipc_reader_feed(&r, two, 2 * len + 3) == 0);
	CHECK(ipc_reader_next(&r, &got) == 1);
	json_decref(got);
	CHECK(ipc_reader_next(&r, &got) == 1);
	json_decref(got);
	CHECK(ipc_reader_next(&r, &got) == 0);
	CHECK(ipc_reader_feed(&r, two + 2 * len + 3, len - 3) == 0);
	CHECK(ipc_reader_next(&r, &got) == 1);
	json_decref(got);
	ipc_reader_free(&r);
	free(two);

	/* Bad headers close the connection at once, before any body arrives. */
	{
		static const struct {
			uint8_t hdr[4];
			int rc;
		} hdrs[] = {
			{ { 0, 0, 0, 0 }, AL_EPROTO },
			{ { 0x01, 0x00, 0x00, 0x01 }, AL_ETOOBIG },   /* AL_IPC_FRAME_MAX + 1 */
			{ { 0xff, 0xff, 0xff, 0xff }, AL_ETOOBIG },
			{ { 0x01, 0x00, 0x00, 0x00 }, 0 },            /* exactly the cap: wait for it */
		};
		for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
			ipc_reader_init(&r);
			CHECK(ipc_reader_feed(&r, hdrs[i].hdr, 4) == hdrs[i].rc, "header %zu", i);
			CHECK(ipc_reader_next(&r, &got) == (hdrs[i].rc ? hdrs[i].rc : 0), "next %zu", i);
			ipc_reader_free(&r);
		}
	}

	/* Bodies that are not a JSON object with a string "type". */
	{
		static const char *const bodies[] = {
			"not json", "[1,2]", "\"hello\"", "{}", "{\"type\":1}", "{\"type\":null}",
			"{\"type\":\"a\",\"type\":\"b\"}", "{\"type\":\"hello\"} trailing",
		};
		for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
			size_t bl = strlen(bodies[i]);
			uint8_t hdr[4] = { 0, 0, (uint8_t)(bl >> 8), (uint8_t)bl };
			ipc_reader_init(&r);
			CHECK(ipc_reader_feed(&r, hdr, 4) == 0);
			CHECK(ipc_reader_feed(&r, (const uint8_t *)bodies[i], bl) == 0);
			CHECK(ipc_reader_next(&r, &got) == AL_EPROTO && got == NULL, "body %s", bodies[i]);
			ipc_reader_free(&r);
		}
	}
	free(f);
	json_decref(m);
}

/* A frame of body `body` (bl bytes) through a reader: what came out. */
static int read_body(const char *body, size_t bl, json_t **got)
{
	struct ipc_reader r;
	uint8_t hdr[4] = { (uint8_t)(bl >> 24), (uint8_t)(bl >> 16), (uint8_t)(bl >> 8), (uint8_t)bl };
	ipc_reader_init(&r);
	int rc = ipc_reader_feed(&r, hdr, 4);
	if (rc == 0)
		rc = ipc_reader_feed(&r, (const uint8_t *)body, bl);
	if (rc == 0)
		rc = ipc_reader_next(&r, got);
	ipc_reader_free(&r);
	return rc;
}

/* The decisions frame: a JSON head, '\n', then records the reader hands
 * over unparsed and ipc_msg_check walks; each line is checked as JSON only
 * when asked (ipc_decision_line_check). */
static void test_decisions(void)
{
	static const char line[] = "{\"ts\":\"2026-12-05T20:00:00.000Z\",\"verdict\":\"allow\",\"client\":\"bench\","
				   "\"host\":\"api.example\",\"port\":443,\"path\":\"/v1\",\"req\":\"0123456789abcdef0123\"}";
	char body[2048];
	json_t *got = NULL;
	enum ipc_kind kind;
	char err[200];

	int n = snprintf(body, sizeof body, "{\"type\":\"decisions\",\"dropped\":3}\nallow\tbench\t%s\ndeny\t\t%s\n",
			 line, line);
	CHECK(read_body(body, (size_t)n, &got) == 1 && got, "a frame with a payload");
	CHECK(ipc_msg_check(got, IPC_FROM_ENFORCER, &kind, err, sizeof err) == 0 && kind == IPC_DECISIONS, "%s", err);
	const json_t *l = json_object_get(got, "lines");
	struct ipc_decision d;
	size_t pos = 0;
	CHECK(ipc_decision_next(json_string_value(l), json_string_length(l), &pos, &d) == 1);
	CHECK(d.vlen == 5 && memcmp(d.verdict, "allow", 5) == 0 && d.clen == 5 && memcmp(d.client, "bench", 5) == 0 &&
	      d.llen == strlen(line) && memcmp(d.line, line, d.llen) == 0, "the first record");
	CHECK(ipc_decision_line_check(d.line, d.llen, err, sizeof err) == 0, "a decision line: %s", err);
	CHECK(ipc_decision_next(json_string_value(l), json_string_length(l), &pos, &d) == 1 && d.clen == 0 &&
	      d.vlen == 4, "the second, without a client");
	CHECK(ipc_decision_next(json_string_value(l), json_string_length(l), &pos, &d) == 0, "the end");
	json_decref(got);

	/* an empty batch (only a count of dropped lines) */
	n = snprintf(body, sizeof body, "{\"type\":\"decisions\",\"dropped\":7}\n");
	CHECK(read_body(body, (size_t)n, &got) == 1 && got);
	CHECK(ipc_msg_check(got, IPC_FROM_ENFORCER, &kind, err, sizeof err) == 0 && kind == IPC_DECISIONS, "%s", err);
	json_decref(got);

	/* a payload anywhere else, or beside a "lines" of the head: refused */
	static const char *const frames[] = {
		"{\"type\":\"hello\",\"proto\":2,\"pid\":1}\nallow\tbench\t{}\n",
		"{\"type\":\"decisions\",\"dropped\":0,\"lines\":\"\"}\nallow\tbench\t{}\n",
	};
	for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
		CHECK(read_body(frames[i], strlen(frames[i]), &got) == AL_EPROTO && !got, "frame %zu", i);

	/* records that are not VERDICT TAB CLIENT TAB LINE NEWLINE */
	static const char *const bad[] = {
		"allow\tbench\t{\"a\":1}",          /* no newline */
		"allow bench {\"a\":1}\n",           /* no tabs */
		"Allow\tbench\t{\"a\":1}\n",         /* verdict */
		"\tbench\t{\"a\":1}\n",
		"allow\tbad name\t{\"a\":1}\n",      /* client */
		"allow\t.x\t{\"a\":1}\n",
		"allow\tbench\t[1]\n",               /* not an object's text */
		"allow\tbench\t{\"a\":\"\x01\"}\n",    /* a control byte */
		"allow\tbench\t{\"a\":1}\x7f\n",
		"allow\tbench\t\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = snprintf(body, sizeof body, "{\"type\":\"decisions\",\"dropped\":0}\n%s", bad[i]);
		got = NULL;
		CHECK(read_body(body, (size_t)n, &got) == 1 && got, "read %zu", i);
		CHECK(got && ipc_msg_check(got, IPC_FROM_ENFORCER, &kind, err, sizeof err) == AL_EPROTO, "record %zu", i);
		json_decref(got);
	}

	/* at most AL_DECISIONS_BATCH_MAX records */
	size_t rl = strlen("allow\tbench\t{\"a\":1}\n"), head = strlen("{\"type\":\"decisions\",\"dropped\":0}\n");
	char *big = xmalloc(head + rl * (AL_DECISIONS_BATCH_MAX + 1));
	memcpy(big, "{\"type\":\"decisions\",\"dropped\":0}\n", head);
	for (size_t i = 0; i <= AL_DECISIONS_BATCH_MAX; i++)
		memcpy(big + head + i * rl, "allow\tbench\t{\"a\":1}\n", rl);
	CHECK(read_body(big, head + rl * AL_DECISIONS_BATCH_MAX, &got) == 1 && got);
	CHECK(ipc_msg_check(got, IPC_FROM_ENFORCER, &kind, err, sizeof err) == 0, "the cap: %s", err);
	json_decref(got);
	CHECK(read_body(big, head + rl * (AL_DECISIONS_BATCH_MAX + 1), &got) == 1 && got);
	CHECK(ipc_msg_check(got, IPC_FROM_ENFORCER, &kind, err, sizeof err) == AL_ETOOBIG, "one more");
	json_decref(got);
	free(big);

	/* a line is checked against its table when read */
	static const char *const lines[] = {
		"{\"verdict\":\"allow\",\"req\":\"1\"}",                  /* no ts */
		"{\"ts\":1,\"verdict\":\"allow\",\"req\":\"1\"}",         /* ts not a string */
		"{\"ts\":\"t\",\"verdict\":\"allow\",\"req\":\"1\",\"x\":1}", /* unknown field */
		"{\"ts\":\"t\",\"verdict\":\"allow\",\"req\":\"1\"",      /* not whole */
		"{\"ts\":\"t\",\"verdict\":\"allow\",\"req\":\"\xff\"}",   /* not UTF-8 */
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		CHECK(ipc_decision_line_check(lines[i], strlen(lines[i]), err, sizeof err) == AL_EPROTO, "line %zu", i);
	CHECK(ipc_decision_line_check("{\"ts\":\"t\",\"verdict\":\"deny\",\"req\":\"1\"}", 37, err, sizeof err) == 0,
	      "%s", err);
}

static void test_sockets(void)
{
	int sv[2];
	json_t *m = hello(), *got = NULL;
	int pid = 0;
	pid_t child;
	int status;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(ipc_peer_check(sv[0], &pid) == 0 && pid == getpid(), "pid %d", pid);
	CHECK(ipc_peer_check(sv[0], NULL) == 0);
	{
		int pp[2];
		CHECK(pipe(pp) == 0);
		CHECK(ipc_peer_check(pp[0], &pid) == AL_EPERM, "a pipe has no peer credentials");
		close(pp[0]);
		close(pp[1]);
	}

	CHECK(ipc_send_blocking(sv[0], m) == 0);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == 0 && got && json_equal(got, m));
	json_decref(got);

	/* Nothing to read: the deadline passes. */
	CHECK(ipc_recv_blocking(sv[1], 50, &got) == AL_ETIMEOUT && got == NULL);

	/* Two frames back to back: each read takes exactly one. */
	CHECK(ipc_send_blocking(sv[0], m) == 0);
	CHECK(ipc_send_blocking(sv[0], m) == 0);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == 0);
	json_decref(got);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == 0);
	json_decref(got);

	/* A header announcing cap + 1 is refused without reading the body. */
	CHECK(write(sv[0], "\x01\x00\x00\x01", 4) == 4);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_ETOOBIG);
	CHECK(write(sv[0], "\x00\x00\x00\x00", 4) == 4);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_EPROTO);

	/* A frame cut short by the peer closing is a protocol error; a clean
	 * close between frames is "unavailable". */
	CHECK(write(sv[0], "\x00\x00\x00\x10{\"ty", 8) == 8);
	close(sv[0]);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_EPROTO);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_EUNAVAIL);
	/* Writing to a closed peer fails, without SIGPIPE. */
	CHECK(ipc_send_blocking(sv[1], m) < 0);
	close(sv[1]);

	/* A big frame through a socket needs a concurrent reader: fork one. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	child = fork();
	if (child == 0) {
		json_t *big = msg_of_size(4 * 1024 * 1024);
		int rc;
		close(sv[1]);
		rc = ipc_send_blocking(sv[0], big);
		json_decref(big);
		close(sv[0]);
		_exit(rc == 0 ? 0 : 1);
	}
	close(sv[0]);
	CHECK(ipc_recv_blocking(sv[1], 10000, &got) == 0 && got &&
	      strlen(json_string_value(json_object_get(got, "p"))) > 4000000);
	json_decref(got);
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[1]);
	json_decref(m);
}

int main(void)
{
	test_tables();
	test_caps();
	test_builders();
	test_encode();
	test_reader();
	test_decisions();
	test_sockets();
	return unit_finish("test-ipc");
}
