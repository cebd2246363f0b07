/* Unit test of enforcer/policy.c: the "policy" frame parser refuses every
 * malformed field, decisions are first-match over host, port, method, path
 * and expiry with the right deny reason, CONNECT is classified, clients
 * are found by token and by name, and a client instance (name + token hash)
 * is found again only while that very instance exists. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/token.h"
#include "enforcer/policy.h"
#include "tests/unit/unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char TOK1[] = "alk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char TOK2[] = "alk_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
static char hash1[TOKEN_HASH_HEX_LEN + 1], hash2[TOKEN_HASH_HEX_LEN + 1];

/* JSON written with ' for " (readable tables); $1 and $2 stand for the two
 * token hashes. */
static json_t *load(const char *text)
{
	size_t cap = strlen(text) * 2 + 256, o = 0;
	char *buf = malloc(cap);
	json_error_t err;
	json_t *j;

	for (const char *p = text; *p; p++) {
		if (p[0] == '$' && (p[1] == '1' || p[1] == '2')) {
			memcpy(buf + o, p[1] == '1' ? hash1 : hash2, TOKEN_HASH_HEX_LEN);
			o += TOKEN_HASH_HEX_LEN;
			p++;
		} else {
			buf[o++] = *p == '\'' ? '"' : *p;
		}
	}
	buf[o] = '\0';
	j = json_loads(buf, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!j)
		fprintf(stderr, "test JSON does not load: %s: %s\n", err.text, buf);
	free(buf);
	return j;
}

static int parse_text(const char *text, struct policy **out)
{
	json_t *j = load(text);
	int rc;

	*out = NULL;
	if (!j)
		return 1;   /* neither 0 nor an error code: the test fails */
	rc = policy_parse(j, out);
	json_decref(j);
	return rc;
}

/* ---- parse: accept and refuse ----------------------------------------- */

#define TOP(clients) "{'type':'policy','version':7,'clients':[" clients "]}"
#define CLIENT(rules) "{'name':'c1','token_sha256':'$1','rules':[" rules "]}"
#define RULE(extra) "{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':false" extra "}"

static const struct {
	const char *json;
	int ok;    /* 1 accept, 0 refuse */
} parse_cases[] = {
	/* well-formed */
	{ TOP(""), 1 },
	{ "{'type':'policy','version':0,'clients':[]}", 1 },
	{ TOP(CLIENT("")), 1 },
	{ TOP(CLIENT(RULE(""))), 1 },
	{ TOP(CLIENT(RULE(",'secret':'gh-token'"))), 1 },
	{ TOP(CLIENT(RULE(",'secret':null"))), 1 },
	{ TOP(CLIENT(RULE(",'expires_at':0"))), 1 },
	{ TOP(CLIENT(RULE(",'expires_at':1893456000"))), 1 },
	{ TOP(CLIENT("{'id':2,'host':'*','ports':[1,65535],'methods':['GET','post'],'paths':['/','/a/*'],'passthrough':false}")), 1 },
	{ TOP(CLIENT("{'id':2,'host':'*.example.com','ports':[22],'methods':[],'paths':[],'passthrough':true}")), 1 },
	{ TOP(CLIENT("{'id':2,'host':'::1','ports':[22],'methods':[],'paths':[],'passthrough':true}")), 1 },
	{ TOP(CLIENT(RULE("") "," "{'id':2,'host':'a.example.com','ports':[80],'methods':[],'paths':[],'passthrough':false}")), 1 },
	{ TOP(CLIENT("") ",{'name':'c2','token_sha256':'$2','rules':[]}"), 1 },
	{ "{'type':'policy','version':1,'clients':[{'name':'c1','token_sha256':'$1','rules':[]}]}", 1 },
	{ TOP("{'name':'c1','token_sha256':'0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef','rules':[]}"), 1 },

	/* the frame */
	{ "[]", 0 },
	{ "'policy'", 0 },
	{ "{'version':7,'clients':[]}", 0 },
	{ "{'type':'hello','version':7,'clients':[]}", 0 },
	{ "{'type':1,'version':7,'clients':[]}", 0 },
	{ "{'type':'policy','clients':[]}", 0 },
	{ "{'type':'policy','version':-1,'clients':[]}", 0 },
	{ "{'type':'policy','version':'7','clients':[]}", 0 },
	{ "{'type':'policy','version':7.0,'clients':[]}", 0 },
	{ "{'type':'policy','version':null,'clients':[]}", 0 },
	{ "{'type':'policy','version':7}", 0 },
	{ "{'type':'policy','version':7,'clients':{}}", 0 },
	{ "{'type':'policy','version':7,'clients':null}", 0 },
	{ "{'type':'policy','version':7,'clients':[],'extra':1}", 0 },

	/* a client */
	{ TOP("1"), 0 },
	{ TOP("[]"), 0 },
	{ TOP("{'name':'c1','token_sha256':'$1','rules':[],'colour':'red'}"), 0 },
	{ TOP("{'token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':'','token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':'.c1','token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':'-c1','token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':'c 1','token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':'c1\\u0000x','token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':1,'token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','token_sha256':'$1','rules':[]}"), 0 },
	{ TOP("{'name':'c1','rules':[]}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'','rules':[]}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'$1a','rules':[]}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde','rules':[]}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg','rules':[]}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd e','rules':[]}"), 0 },
	{ TOP("{'name':'c1','token_sha256':42,'rules':[]}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'$1'}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'$1','rules':{}}"), 0 },
	{ TOP("{'name':'c1','token_sha256':'$1','rules':null}"), 0 },
	/* two clients with one name, or one token: identity would be ambiguous */
	{ TOP(CLIENT("") ",{'name':'c1','token_sha256':'$2','rules':[]}"), 0 },
	{ TOP(CLIENT("") ",{'name':'c2','token_sha256':'$1','rules':[]}"), 0 },

	/* a rule */
	{ TOP(CLIENT("1")), 0 },
	{ TOP(CLIENT("[]")), 0 },
	{ TOP(CLIENT(RULE(",'colour':'red'"))), 0 },
	{ TOP(CLIENT("{'host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':-1,'host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':'1','host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1.0,'host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT(RULE("") "," RULE(""))), 0 },   /* duplicate id */
	/* host */
	{ TOP(CLIENT("{'id':1,'ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':5,'ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':null,'ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'a..b','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'exa mple.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'user@example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'ex%61mple.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'a*.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'*.','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com\\u0000.evil','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'0x7f.1','ports':[443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	/* ports */
	{ TOP(CLIENT("{'id':1,'host':'example.com','methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[0],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[65536],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[-443],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':['443'],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443.0],'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':443,'methods':[],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[null],'methods':[],'paths':[],'passthrough':false}")), 0 },
	/* methods */
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':'GET','paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[1],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[''],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':['G T'],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':['GET\\r\\n'],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':['GET(x)'],'paths':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],'paths':[],'passthrough':false}")), 0 },
	/* paths */
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':'/','passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':[1],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['x'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':[''],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a/../b'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a/./b'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a%2fb'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a*'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/*/b'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a?b'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a#b'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a b'],'passthrough':false}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':['/a\\u0000/b'],'passthrough':false}")), 0 },
	/* secret */
	{ TOP(CLIENT(RULE(",'secret':5"))), 0 },
	{ TOP(CLIENT(RULE(",'secret':''"))), 0 },
	{ TOP(CLIENT(RULE(",'secret':'bad name'"))), 0 },
	{ TOP(CLIENT(RULE(",'secret':['x']"))), 0 },
	/* passthrough */
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':[]}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':'true'}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':1}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[443],'methods':[],'paths':[],'passthrough':null}")), 0 },
	/* passthrough is exclusive with secret, methods and paths */
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[22],'methods':[],'paths':[],'passthrough':true,'secret':'s'}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[22],'methods':['GET'],'paths':[],'passthrough':true}")), 0 },
	{ TOP(CLIENT("{'id':1,'host':'example.com','ports':[22],'methods':[],'paths':['/'],'passthrough':true}")), 0 },
	/* expires_at */
	{ TOP(CLIENT(RULE(",'expires_at':-1"))), 0 },
	{ TOP(CLIENT(RULE(",'expires_at':'1'"))), 0 },
	{ TOP(CLIENT(RULE(",'expires_at':1.5"))), 0 },
	{ TOP(CLIENT(RULE(",'expires_at':null"))), 0 },
};

static void test_parse_table(void)
{
	for (size_t i = 0; i < N(parse_cases); i++) {
		struct policy *p = NULL;
		int rc = parse_text(parse_cases[i].json, &p);

		if (parse_cases[i].ok)
			CHECK(rc == 0 && p, "case %zu should parse (rc %d): %s", i, rc, parse_cases[i].json);
		else
			CHECK(rc < 0 && !p, "case %zu should be refused (rc %d): %s", i, rc, parse_cases[i].json);
		policy_unref(p);
	}
}

/* What parsing stores: canonical hosts, upper-case methods, defaults. */
static void test_parse_values(void)
{
	struct policy *p;
	const struct policy_client *c;
	int rc = parse_text(TOP("{'name':'c1','token_sha256':'$1','rules':["
				"{'id':42,'host':'Example.COM.','ports':[443,8443],'methods':['get','Post'],"
				"'paths':['/v1/*'],'passthrough':false,'secret':'s1','expires_at':99},"
				"{'id':43,'host':'*.Example.org','ports':[22],'methods':[],'paths':[],'passthrough':true}]}"),
			    &p);

	CHECK(rc == 0);
	if (rc < 0)
		return;
	CHECK(policy_version(p) == 7);
	c = policy_client_by_name(p, "c1");
	CHECK(c && c->nrules == 2);
	if (c && c->nrules == 2) {
		const struct policy_rule *r = &c->rules[0];

		CHECK(r->id == 42);
		CHECK(strcmp(r->host, "example.com") == 0);
		CHECK(r->nports == 2 && r->ports[0] == 443 && r->ports[1] == 8443);
		CHECK(r->nmethods == 2 && strcmp(r->methods[0], "GET") == 0 && strcmp(r->methods[1], "POST") == 0);
		CHECK(r->npaths == 1 && strcmp(r->paths[0], "/v1/*") == 0);
		CHECK(r->secret && strcmp(r->secret, "s1") == 0);
		CHECK(!r->passthrough && r->expires_at == 99);
		r = &c->rules[1];
		CHECK(strcmp(r->host, "*.example.org") == 0);
		CHECK(r->passthrough && !r->secret && r->expires_at == 0 && r->nmethods == 0 && r->npaths == 0);
	}
	policy_unref(p);
}

/* Each list holds AL_RULE_LIST_MAX entries, not one more; a client holds
 * AL_RULES_PER_CLIENT rules; a policy AL_CLIENTS_MAX clients. */
static json_t *rule_json(json_int_t id, size_t nports, size_t nmethods, size_t npaths)
{
	json_t *ports = json_array(), *methods = json_array(), *paths = json_array();
	char buf[32];

	for (size_t i = 0; i < nports; i++)
		json_array_append_new(ports, json_integer((json_int_t)(1000 + i)));
	for (size_t i = 0; i < nmethods; i++) {
		snprintf(buf, sizeof buf, "M%zu", i);
		json_array_append_new(methods, json_string(buf));
	}
	for (size_t i = 0; i < npaths; i++) {
		snprintf(buf, sizeof buf, "/p%zu", i);
		json_array_append_new(paths, json_string(buf));
	}
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:b}", "id", id, "host", "example.com", "ports", ports,
			 "methods", methods, "paths", paths, "passthrough", 0);
}

static json_t *policy_json(size_t nclients, size_t nrules, json_t *one_rule)
{
	json_t *clients = json_array();

	for (size_t i = 0; i < nclients; i++) {
		json_t *rules = json_array();
		char name[32], tok[64], hex[TOKEN_HASH_HEX_LEN + 1];

		snprintf(name, sizeof name, "client-%zu", i);
		snprintf(tok, sizeof tok, "alk_token-number-%zu-xxxxxxxxxxxxxxxxxxxxxxxx", i);
		token_hash_hex(tok, strlen(tok), hex);
		if (i == 0 && one_rule)
			json_array_append_new(rules, one_rule);
		for (size_t k = 0; i == 0 && !one_rule && k < nrules; k++)
			json_array_append_new(rules, rule_json((json_int_t)k, 1, 0, 0));
		json_array_append_new(clients, json_pack("{s:s, s:s, s:o}", "name", name, "token_sha256", hex,
							 "rules", rules));
	}
	return json_pack("{s:s, s:i, s:o}", "type", "policy", "version", 1, "clients", clients);
}

static int parse_json(json_t *j)
{
	struct policy *p = NULL;
	int rc = policy_parse(j, &p);

	json_decref(j);
	policy_unref(p);
	return rc;
}

static void test_caps(void)
{
	CHECK(parse_json(policy_json(1, 0, rule_json(1, AL_RULE_LIST_MAX, AL_RULE_LIST_MAX, AL_RULE_LIST_MAX))) == 0);
	CHECK(parse_json(policy_json(1, 0, rule_json(1, AL_RULE_LIST_MAX + 1, 0, 0))) == AL_ETOOBIG);
	CHECK(parse_json(policy_json(1, 0, rule_json(1, 1, AL_RULE_LIST_MAX + 1, 0))) == AL_ETOOBIG);
	CHECK(parse_json(policy_json(1, 0, rule_json(1, 1, 0, AL_RULE_LIST_MAX + 1))) == AL_ETOOBIG);
	CHECK(parse_json(policy_json(1, AL_RULES_PER_CLIENT, NULL)) == 0);
	CHECK(parse_json(policy_json(1, AL_RULES_PER_CLIENT + 1, NULL)) == AL_ETOOBIG);
	CHECK(parse_json(policy_json(AL_CLIENTS_MAX, 0, NULL)) == 0);
	CHECK(parse_json(policy_json(AL_CLIENTS_MAX + 1, 0, NULL)) == AL_ETOOBIG);
}

/* The instance id of a client of p; a name p does not have gets a zero hash. */
static struct client_id id_of(const struct policy *p, const char *name)
{
	struct client_id id;
	const struct policy_client *c = policy_client_by_name(p, name);

	memset(&id, 0, sizeof id);
	if (c)
		client_id_set(&id, c);
	else
		snprintf(id.name, sizeof id.name, "%s", name);
	return id;
}

/* ---- decisions --------------------------------------------------------- */

static const char decide_policy[] = TOP(
	"{'name':'c1','token_sha256':'$1','rules':["
	"{'id':1,'host':'api.example.com','ports':[443],'methods':['GET'],'paths':['/v1/*'],'passthrough':false},"
	"{'id':2,'host':'api.example.com','ports':[443],'methods':['POST'],'paths':['/v1/chat'],'passthrough':false},"
	"{'id':3,'host':'*.github.com','ports':[443],'methods':[],'paths':[],'passthrough':false},"
	"{'id':4,'host':'ssh.example.net','ports':[22],'methods':[],'paths':[],'passthrough':true},"
	"{'id':5,'host':'secret.example.org','ports':[443],'methods':[],'paths':[],'passthrough':false,'secret':'tok'},"
	"{'id':6,'host':'plain.example.com','ports':[80,8080],'methods':[],'paths':[],'passthrough':false},"
	"{'id':7,'host':'expired.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false,'expires_at':1000},"
	"{'id':8,'host':'ttl.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false,'expires_at':5000},"
	"{'id':9,'host':'order.example.com','ports':[443],'methods':['GET'],'paths':[],'passthrough':false},"
	"{'id':10,'host':'order.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false},"
	"{'id':11,'host':'paths.example.com','ports':[80],'methods':[],'paths':['/x/*','/exact'],'passthrough':false},"
	"{'id':13,'host':'2001:db8::1','ports':[443],'methods':[],'paths':[],'passthrough':false}"
	"]},"
	"{'name':'c2','token_sha256':'$2','rules':["
	"{'id':100,'host':'api.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false},"
	"{'id':101,'host':'*','ports':[8443],'methods':['PUT'],'paths':[],'passthrough':false}]}");

static const struct {
	const char *client;
	const char *host;
	uint16_t port;
	const char *method, *path;
	int64_t now;
	enum policy_action want;
	uint64_t rule;          /* on allow */
	const char *reason;     /* on deny */
} decide_cases[] = {
	/* requests: each field and its negative twin */
	{ "c1", "api.example.com", 443, "GET", "/v1/models", 0, POLICY_FORWARD, 1, NULL },
	{ "c1", "api.example.com", 443, "GET", "/v1/", 0, POLICY_FORWARD, 1, NULL },
	{ "c1", "api.example.com", 443, "GET", "/v1/a/b/c", 0, POLICY_FORWARD, 1, NULL },
	{ "c1", "api.example.com", 443, "GET", "/v1", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "api.example.com", 443, "GET", "/v10", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "api.example.com", 443, "GET", "/v10/models", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "api.example.com", 443, "GET", "/", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "api.example.com", 443, "POST", "/v1/chat", 0, POLICY_FORWARD, 2, NULL },
	{ "c1", "api.example.com", 443, "POST", "/v1/chat/", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "api.example.com", 443, "POST", "/v1/other", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "api.example.com", 443, "DELETE", "/v1/chat", 0, POLICY_DENY, 0, "method-not-allowed" },
	/* neither the method nor the path of any rule: the path is missing */
	{ "c1", "api.example.com", 443, "DELETE", "/v2/x", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "api.example.com", 443, "get", "/v1/models", 0, POLICY_DENY, 0, "method-not-allowed" },
	{ "c1", "api.example.com", 80, "GET", "/v1/models", 0, POLICY_DENY, 0, "port-not-allowed" },
	{ "c1", "api.example.com", 8443, "GET", "/v1/models", 0, POLICY_DENY, 0, "port-not-allowed" },
	{ "c2", "api.example.com", 8443, "GET", "/v1/models", 0, POLICY_DENY, 0, "method-not-allowed" },
	{ "c2", "api.example.com", 8443, "PUT", "/v1/models", 0, POLICY_FORWARD, 101, NULL },
	{ "c2", "api.example.com", 443, "DELETE", "/", 0, POLICY_FORWARD, 100, NULL },
	{ "c2", "x.github.com", 443, NULL, NULL, 0, POLICY_DENY, 0, "port-not-allowed" },
	{ "c2", "x.github.com", 8443, NULL, NULL, 0, POLICY_INSPECT, 101, NULL },
	{ "c1", "other.example.com", 443, "GET", "/v1/models", 0, POLICY_DENY, 0, "no-rule" },
	{ "c1", "example.com", 443, "GET", "/", 0, POLICY_DENY, 0, "no-rule" },
	{ "c1", "api.example.com.evil.net", 443, "GET", "/v1/x", 0, POLICY_DENY, 0, "no-rule" },
	{ "c1", "plain.example.com", 80, "GET", "/anything", 0, POLICY_FORWARD, 6, NULL },
	{ "c1", "plain.example.com", 8080, "DELETE", "/", 0, POLICY_FORWARD, 6, NULL },
	{ "c1", "plain.example.com", 81, "GET", "/", 0, POLICY_DENY, 0, "port-not-allowed" },
	{ "c1", "paths.example.com", 80, "GET", "/x/", 0, POLICY_FORWARD, 11, NULL },
	{ "c1", "paths.example.com", 80, "GET", "/x/y", 0, POLICY_FORWARD, 11, NULL },
	{ "c1", "paths.example.com", 80, "GET", "/x", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "paths.example.com", 80, "GET", "/x10", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "paths.example.com", 80, "GET", "/exact", 0, POLICY_FORWARD, 11, NULL },
	{ "c1", "paths.example.com", 80, "GET", "/exact/", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "paths.example.com", 80, "GET", "/exactly", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "paths.example.com", 80, "GET", "/EXACT", 0, POLICY_DENY, 0, "path-not-allowed" },
	{ "c1", "paths.example.com", 80, "GET", NULL, 0, POLICY_DENY, 0, "path-not-allowed" },
	/* first match in declaration order */
	{ "c1", "order.example.com", 443, "GET", "/", 0, POLICY_FORWARD, 9, NULL },
	{ "c1", "order.example.com", 443, "POST", "/", 0, POLICY_FORWARD, 10, NULL },
	{ "c1", "order.example.com", 443, NULL, NULL, 0, POLICY_INSPECT, 9, NULL },
	/* wildcards */
	{ "c1", "x.github.com", 443, NULL, NULL, 0, POLICY_TUNNEL, 3, NULL },
	{ "c1", "a.b.github.com", 443, NULL, NULL, 0, POLICY_TUNNEL, 3, NULL },
	{ "c1", "github.com", 443, NULL, NULL, 0, POLICY_DENY, 0, "no-rule" },
	{ "c1", "evilgithub.com", 443, NULL, NULL, 0, POLICY_DENY, 0, "no-rule" },
	{ "c1", "x.github.com", 22, NULL, NULL, 0, POLICY_DENY, 0, "port-not-allowed" },
	{ "c2", "anything.test", 8443, "PUT", "/", 0, POLICY_FORWARD, 101, NULL },
	{ "c2", "anything.test", 8443, "GET", "/", 0, POLICY_DENY, 0, "method-not-allowed" },
	{ "c2", "anything.test", 443, "GET", "/", 0, POLICY_DENY, 0, "port-not-allowed" },
	{ "c1", "anything.test", 8443, "PUT", "/", 0, POLICY_DENY, 0, "no-rule" },
	/* CONNECT classification */
	{ "c1", "api.example.com", 443, NULL, NULL, 0, POLICY_INSPECT, 1, NULL },
	{ "c1", "ssh.example.net", 22, NULL, NULL, 0, POLICY_PASSTHROUGH, 4, NULL },
	{ "c1", "ssh.example.net", 443, NULL, NULL, 0, POLICY_DENY, 0, "port-not-allowed" },
	{ "c1", "secret.example.org", 443, NULL, NULL, 0, POLICY_INSPECT, 5, NULL },
	{ "c1", "plain.example.com", 8080, NULL, NULL, 0, POLICY_TUNNEL, 6, NULL },
	{ "c1", "2001:db8::1", 443, NULL, NULL, 0, POLICY_TUNNEL, 13, NULL },
	{ "c1", "2001:db8::2", 443, NULL, NULL, 0, POLICY_DENY, 0, "no-rule" },
	/* expiry: expires_at <= now never matches */
	{ "c1", "expired.example.com", 443, NULL, NULL, 999, POLICY_TUNNEL, 7, NULL },
	{ "c1", "expired.example.com", 443, NULL, NULL, 1000, POLICY_DENY, 0, "no-rule" },
	{ "c1", "expired.example.com", 443, "GET", "/", 1001, POLICY_DENY, 0, "no-rule" },
	{ "c1", "ttl.example.com", 443, NULL, NULL, 4999, POLICY_TUNNEL, 8, NULL },
	{ "c1", "ttl.example.com", 443, NULL, NULL, 5000, POLICY_DENY, 0, "no-rule" },
};

static void test_decide(void)
{
	struct policy *p;
	const struct policy_client *c;
	int rc = parse_text(decide_policy, &p);

	CHECK(rc == 0);
	if (rc < 0)
		return;
	for (size_t i = 0; i < N(decide_cases); i++) {
		struct policy_req req = {
			.host = decide_cases[i].host, .port = decide_cases[i].port,
			.method = decide_cases[i].method, .path = decide_cases[i].path, .now = decide_cases[i].now,
		};
		const struct policy_rule *rule = (const void *)1;
		enum reason got = REASON_COUNT; /* unset */
		enum policy_action a;

		c = policy_client_by_name(p, decide_cases[i].client);
		CHECK(c != NULL, "case %zu: client %s", i, decide_cases[i].client);
		a = policy_decide(c, &req, &rule, &got);
		const char *reason = got == REASON_COUNT ? "unset" : reason_name(got);

		CHECK(a == decide_cases[i].want, "case %zu %s:%u %s %s: got %s want %s", i, req.host, req.port,
		       req.method ? req.method : "CONNECT", req.path ? req.path : "", policy_action_name(a),
		       policy_action_name(decide_cases[i].want));
		if (decide_cases[i].want == POLICY_DENY) {
			CHECK(rule == NULL && reason && strcmp(reason, decide_cases[i].reason) == 0,
			       "case %zu: reason %s want %s", i, reason ? reason : "(null)", decide_cases[i].reason);
		} else {
			CHECK(rule && rule != (const void *)1 && rule->id == decide_cases[i].rule && reason == NULL,
			       "case %zu: rule %llu want %llu", i,
			       rule && rule != (const void *)1 ? (unsigned long long)rule->id : 0ULL,
			       (unsigned long long)decide_cases[i].rule);
		}
	}

	{
		struct policy_req req = { .host = "x.github.com", .port = 443, .method = "DELETE", .path = "/" };
		const struct policy_rule *rule;
		enum reason reason;

		/* NULL outputs are allowed; a NULL client is a deny */
		c = policy_client_by_name(p, "c2");
		CHECK(c && policy_decide(c, &req, NULL, NULL) == POLICY_DENY);
		CHECK(policy_decide(NULL, &req, &rule, &reason) == POLICY_DENY && reason == REASON_NO_RULE);
	}

	/* rule liveness and the next expiry */
	struct client_id id_c1 = id_of(p, "c1"), id_c2 = id_of(p, "c2"), id_c3 = id_of(p, "c3");

	CHECK(policy_rule_live(p, &id_c1, 7, 999));
	CHECK(!policy_rule_live(p, &id_c1, 7, 1000));
	CHECK(policy_rule_live(p, &id_c1, 1, 1LL << 40));
	CHECK(!policy_rule_live(p, &id_c1, 100, 0));
	CHECK(policy_rule_live(p, &id_c2, 100, 0));
	CHECK(!policy_rule_live(p, &id_c3, 1, 0));
	CHECK(!policy_rule_live(p, &id_c1, 99, 0));
	CHECK(policy_next_expiry(p, 0) == 1000);
	CHECK(policy_next_expiry(p, 999) == 1000);
	CHECK(policy_next_expiry(p, 1000) == 5000);
	CHECK(policy_next_expiry(p, 5000) == 0);

	/* a reference outlives the one it was taken from */
	{
		struct policy *q = policy_ref(p);

		policy_unref(p);
		CHECK(policy_version(q) == 7);
		CHECK(policy_client_by_name(q, "c1") != NULL);
		policy_unref(q);
	}
}

static void test_empty(void)
{
	struct policy *p = policy_empty();
	struct policy_req req = { .host = "example.com", .port = 443 };
	enum reason reason = REASON_NONE;
	struct client_id id_c1 = id_of(p, "c1");

	CHECK(policy_version(p) == 0);
	CHECK(policy_client_by_token(p, TOK1, strlen(TOK1)) == NULL);
	CHECK(policy_client_by_name(p, "c1") == NULL);
	CHECK(policy_decide(policy_client_by_name(p, "c1"), &req, NULL, &reason) == POLICY_DENY);
	CHECK(reason == REASON_NO_RULE);
	CHECK(policy_next_expiry(p, 0) == 0);
	CHECK(!policy_rule_live(p, &id_c1, 1, 0));
	policy_unref(p);
	policy_unref(NULL);
}

/* ---- token lookup ------------------------------------------------------ */

static void test_tokens(void)
{
	struct policy *p;
	const struct policy_client *c;
	int rc = parse_text(decide_policy, &p);

	CHECK(rc == 0);
	if (rc < 0)
		return;
	c = policy_client_by_token(p, TOK1, strlen(TOK1));
	CHECK(c && strcmp(c->name, "c1") == 0);
	c = policy_client_by_token(p, TOK2, strlen(TOK2));
	CHECK(c && strcmp(c->name, "c2") == 0);
	/* the length is what counts, not a NUL */
	CHECK(policy_client_by_token(p, TOK1, strlen(TOK1) - 1) == NULL);
	{
		char near[sizeof TOK1];

		memcpy(near, TOK1, sizeof TOK1);
		near[sizeof TOK1 - 2] = 'B';
		CHECK(policy_client_by_token(p, near, strlen(near)) == NULL);
	}
	CHECK(policy_client_by_token(p, "", 0) == NULL);
	CHECK(policy_client_by_token(p, hash1, strlen(hash1)) == NULL);   /* the hash is not the token */
	CHECK(policy_client_by_name(p, "c3") == NULL);
	CHECK(policy_client_by_name(p, "C1") == NULL);
	policy_unref(p);

	/* many clients: every one found by its token and name, in a table
	 * that has to probe past collisions */
	{
		json_t *j = policy_json(700, 0, NULL);

		rc = policy_parse(j, &p);
		json_decref(j);
		CHECK(rc == 0);
		for (size_t i = 0; rc == 0 && i < 700; i++) {
			char name[32], tok[64];

			snprintf(name, sizeof name, "client-%zu", i);
			snprintf(tok, sizeof tok, "alk_token-number-%zu-xxxxxxxxxxxxxxxxxxxxxxxx", i);
			c = policy_client_by_token(p, tok, strlen(tok));
			CHECK(c && strcmp(c->name, name) == 0, "client %zu by token", i);
			CHECK(policy_client_by_name(p, name) == c, "client %zu by name", i);
			tok[4] ^= 1;
			CHECK(policy_client_by_token(p, tok, strlen(tok)) == NULL, "client %zu wrong token", i);
		}
		if (rc == 0)
			policy_unref(p);
	}
}

/* ---- client instances --------------------------------------------------- */

/* A client deleted and created again under its name has a new token: an id
 * taken from the old instance finds nothing (nor its rules), even when the
 * old token now belongs to a client of another name. */
static void test_instances(void)
{
	static const char before[] = TOP(
		"{'name':'c1','token_sha256':'$1','rules':["
		"{'id':1,'host':'api.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}]}");
	static const char recreated[] = TOP(
		"{'name':'c1','token_sha256':'$2','rules':["
		"{'id':1,'host':'api.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}]}");
	static const char swapped[] = TOP(
		"{'name':'c2','token_sha256':'$1','rules':["
		"{'id':1,'host':'api.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}]},"
		"{'name':'c1','token_sha256':'$2','rules':[]}");
	static const char unrelated[] = TOP(
		"{'name':'c2','token_sha256':'$2','rules':[]},"
		"{'name':'c1','token_sha256':'$1','rules':["
		"{'id':1,'host':'api.example.com','ports':[443],'methods':[],'paths':[],'passthrough':false}]}");
	struct policy *p = NULL, *q = NULL;
	struct client_id old, cur, none;

	memset(&none, 0, sizeof none);
	CHECK(!client_id_is_set(&none));
	CHECK(policy_client_by_id(NULL, &none) == NULL);
	CHECK(parse_text(before, &p) == 0);
	if (!p)
		return;
	old = id_of(p, "c1");
	CHECK(client_id_is_set(&old));
	CHECK(policy_client_by_id(p, &old) == policy_client_by_name(p, "c1"));
	CHECK(policy_client_by_id(p, &none) == NULL);
	CHECK(policy_rule_live(p, &old, 1, 0));

	/* a new instance under the same name: the old id is gone */
	CHECK(parse_text(recreated, &q) == 0);
	cur = id_of(q, "c1");
	CHECK(q && policy_client_by_id(q, &old) == NULL);
	CHECK(q && !policy_rule_live(q, &old, 1, 0));
	CHECK(q && policy_client_by_id(q, &cur) == policy_client_by_name(q, "c1"));
	CHECK(!client_id_eq(&old, &cur));
	CHECK(client_id_eq(&cur, &cur));
	CHECK(!client_id_eq(&none, &none));   /* unset ids are nobody's */
	policy_unref(q);

	/* the old token under another name: the name must match too */
	CHECK(parse_text(swapped, &q) == 0);
	CHECK(q && policy_client_by_id(q, &old) == NULL);
	CHECK(q && !policy_rule_live(q, &old, 1, 0));
	policy_unref(q);

	/* a change elsewhere (another client added, order changed) keeps it */
	CHECK(parse_text(unrelated, &q) == 0);
	CHECK(q && policy_client_by_id(q, &old) == policy_client_by_name(q, "c1"));
	CHECK(q && policy_rule_live(q, &old, 1, 0));
	policy_unref(q);

	client_id_wipe(&old);
	CHECK(!client_id_is_set(&old) && old.token_hash[0] == 0 && old.token_hash[31] == 0);
	policy_unref(p);
}

/* ---- the reference count under threads --------------------------------- */

/* Workers take and drop references on a shared snapshot the way connections
 * do while the main thread swaps it; a lost update would show as a
 * use-after-free or a leak under ASan. */
static void *ref_worker(void *arg)
{
	struct policy *p = arg;

	for (int i = 0; i < 100000; i++) {
		struct policy *q = policy_ref(p);

		if (policy_version(q) != 7)
			return (void *)1;
		policy_unref(q);
	}
	policy_unref(p);   /* the reference the main thread gave this worker */
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	struct policy *p;
	int rc = parse_text(decide_policy, &p);

	CHECK(rc == 0);
	if (rc < 0)
		return;
	for (size_t i = 0; i < N(t); i++)
		CHECK(pthread_create(&t[i], NULL, ref_worker, policy_ref(p)) == 0);
	policy_unref(p);   /* the last worker to finish frees it */
	for (size_t i = 0; i < N(t); i++) {
		void *ret;

		CHECK(pthread_join(t[i], &ret) == 0 && ret == NULL);
	}
}

int main(void)
{
	token_hash_hex(TOK1, strlen(TOK1), hash1);
	token_hash_hex(TOK2, strlen(TOK2), hash2);
	test_parse_table();
	test_parse_values();
	test_caps();
	test_decide();
	test_empty();
	test_tokens();
	test_instances();
	test_threads();
	return unit_finish("test-policy");
}
