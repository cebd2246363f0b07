/* The REST client of the CLI: one HTTP/1.1 request per call to the broker's
 * API over its unix socket (libcurl, CURLOPT_UNIX_SOCKET_PATH, URL
 * http://airlock/proxy/v1/...), JSON bodies via jansson. Request bodies may
 * carry a secret value: they are wiped once sent. */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"

/* An answer can never be bigger than the state it describes. */
#define API_REPLY_MAX AL_STATE_FILE_MAX
#define API_CONNECT_TIMEOUT_S 5L
#define API_TIMEOUT_S 120L

/* X-Airlock-* answer headers kept (a 204 carries its details there). */
#define API_HEADERS_KEPT_MAX 8
#define API_HEADER_LINE_MAX 1024
/* A streamed line longer than this is skipped whole. */
#define API_FOLLOW_LINE_MAX (64 * 1024)

static bool curl_ready;

/* Keep "X-Airlock-Name: value" lines as headers["x-airlock-name"] = value;
 * every other header (and anything past the caps) is ignored. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	json_t *headers = userdata;
	size_t n = size * nmemb;
	static const char prefix[] = "x-airlock-";
	char line[API_HEADER_LINE_MAX];

	if (n >= sizeof line || n < sizeof prefix || strncasecmp(data, prefix, sizeof prefix - 1) != 0 ||
	    json_object_size(headers) >= API_HEADERS_KEPT_MAX)
		return n;
	memcpy(line, data, n);
	line[n] = '\0';
	char *colon = strchr(line, ':');
	if (colon == NULL)
		return n;
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	for (char *c = line; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	json_t *jv = json_string(v);
	if (jv)
		json_object_set_new(headers, line, jv);
	return n;
}

struct sink {
	char *buf;
	size_t len, cap;
	bool over;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	if (s->len + n > API_REPLY_MAX) {
		s->over = true;
		return 0; /* aborts the transfer */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *nb = xmalloc(cap);
		if (s->buf) {
			memcpy(nb, s->buf, s->len);
			secure_free(s->buf, s->cap);
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

char *api_escape(const char *segment)
{
	char *e = curl_easy_escape(NULL, segment, 0);
	if (e == NULL)
		abort(); /* only fails on OOM: the process-wide decision (xmalloc.h) */
	char *out = xstrdup(e);
	curl_free(e);
	return out;
}

void api_global_cleanup(void)
{
	if (curl_ready)
		curl_global_cleanup();
	curl_ready = false;
}

void api_reply_free(struct api_reply *r)
{
	if (r->body)
		secure_free(r->body, r->len);
	if (r->json)
		json_decref(r->json);
	json_decref(r->headers);
	memset(r, 0, sizeof *r);
}

/* A handle for http://airlock<path> over the API socket (*url is the
 * string it points at: free it after the transfer). */
static CURL *api_easy(struct cli *cli, const char *path, char **url)
{
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			abort();
		curl_ready = true;
	}
	CURL *c = curl_easy_init();
	if (c == NULL)
		abort();
	*url = xmalloc(strlen(path) + sizeof "http://airlock");
	sprintf(*url, "http://airlock%s", path);
	curl_easy_setopt(c, CURLOPT_URL, *url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cli_socket(cli));
	/* Never through an HTTP(S)_PROXY from the environment: the API is local. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, API_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "airlock-cli/" PACKAGE_VERSION);
	return c;
}

int api_request(struct cli *cli, const char *method, const char *path, const json_t *body,
		struct api_reply *r)
{
	int ret = AL_EIO;
	const char *sock = cli_socket(cli);
	struct curl_slist *hdrs = NULL;
	struct sink sink = { 0 };
	char *payload = NULL;
	size_t payload_len = 0;
	char *url = NULL;
	CURL *c = NULL;

	memset(r, 0, sizeof *r);
	c = api_easy(cli, path, &url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, API_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	r->headers = json_object();
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r->headers);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body) {
		payload = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (payload == NULL)
			abort();
		payload_len = strlen(payload);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload_len);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_COULDNT_CONNECT) {
		ret = AL_EUNAVAIL;
		goto out;
	}
	if (sink.over) {
		cli_fail("the broker's answer is over %d bytes", API_REPLY_MAX);
		ret = AL_ETOOBIG;
		goto out;
	}
	if (cc != CURLE_OK) {
		cli_fail("the broker at %s did not answer: %s", sock, curl_easy_strerror(cc));
		ret = AL_EIO;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = sink.buf ? sink.buf : xstrdup("");
	r->len = sink.buf ? sink.len : 0;
	sink.buf = NULL;
	r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
	ret = 0;
out:
	if (ret < 0) {
		json_decref(r->headers);
		r->headers = NULL;
	}
	if (payload)
		secure_free(payload, payload_len);
	if (sink.buf)
		secure_free(sink.buf, sink.cap);
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	free(url);
	return ret;
}

int api_call(struct cli *cli, const char *method, const char *path, const json_t *body, json_t **out)
{
	return api_call_headers(cli, method, path, body, out, NULL);
}

/* The API names a refused field by its JSON path (".paths[0]: ..."); the
 * user typed a flag. Only fields a flag fills are here: a value shown back
 * is one the user just typed, never a secret's (no "value", no "token"). */
static const struct {
	const char *key;
	const char *flag;
} field_flags[] = {
	{ "host", "--host" },     { "paths", "--path" },   { "methods", "--method" },
	{ "ports", "--port" },    { "ttl_seconds", "--ttl" }, { "secret", "--secret" },
	{ "type", "--type" },     { "passthrough", "--passthrough" },
};

/* A 400 about a field a flag filled: a usage error (exit 2) that names
 * the flag and the value as typed. False when msg is not of that shape. */
static bool field_error(struct cli *cli, const json_t *body, const char *msg, int *rc)
{
	size_t klen;
	const char *flag = NULL, *rest;
	const json_t *v;
	char *end;

	/* ".paths[0]: ..." names a body's field; "host: ..." a query's */
	const char *k = msg[0] == '.' ? msg + 1 : msg;
	klen = strcspn(k, "[:");
	for (size_t i = 0; i < ARRAY_SIZE(field_flags) && !flag; i++)
		if (strlen(field_flags[i].key) == klen && memcmp(field_flags[i].key, k, klen) == 0)
			flag = field_flags[i].flag;
	if (!flag)
		return false;
	rest = k + klen;
	char key[32];
	snprintf(key, sizeof key, "%.*s", (int)(klen < sizeof key ? klen : sizeof key - 1), k);
	v = json_is_object(body) ? json_object_get(body, key) : NULL;
	if (*rest == '[') {
		unsigned long idx = strtoul(rest + 1, &end, 10);
		if (*end != ']')
			return false;
		v = json_array_get(v, idx);
		rest = end + 1;
	}
	if (strncmp(rest, ": ", 2) != 0)
		return false;
	rest += 2;
	if (json_is_string(v))
		*rc = cli_usage(cli, "bad %s '%s': %s", flag, json_string_value(v), rest);
	else if (json_is_integer(v))
		*rc = cli_usage(cli, "bad %s '%lld': %s", flag, (long long)json_integer_value(v), rest);
	else
		*rc = cli_usage(cli, "bad %s: %s", flag, rest);
	return true;
}

int api_call_headers(struct cli *cli, const char *method, const char *path, const json_t *body,
		     json_t **out, json_t **headers)
{
	struct api_reply r;
	if (out)
		*out = NULL;
	if (headers)
		*headers = NULL;
	int err = api_request(cli, method, path, body, &r);
	if (err == AL_EUNAVAIL)
		return cli_fail("cannot reach the broker at %s: is `airlock up` running?", cli_socket(cli));
	if (err < 0)
		return CLI_EXIT_FAIL; /* already reported */
	if (r.status < 200 || r.status > 299) {
		const char *msg = json_is_object(r.json) ? json_string_value(json_object_get(r.json, "error")) : NULL;
		int rc = CLI_EXIT_FAIL;
		if (msg && r.status == 400 && field_error(cli, body, msg, &rc))
			;
		else if (msg)
			cli_fail("%s", msg);
		else
			cli_fail("the broker answered HTTP %ld to %s %s", r.status, method, path);
		api_reply_free(&r);
		return rc;
	}
	if (out) {
		*out = r.json;
		r.json = NULL;
	}
	if (headers) {
		*headers = r.headers;
		r.headers = NULL;
	}
	api_reply_free(&r);
	return CLI_EXIT_OK;
}

/* ---- JSON-lines streams (?follow=1) ---- */

struct follow_sink {
	void (*on_line)(void *arg, const char *line, size_t n);
	void *arg;
	char *buf;
	size_t len, cap;
	bool over;
};

static size_t on_lines(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct follow_sink *f = userdata;
	size_t n = size * nmemb;
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			if (!f->over)
				f->on_line(f->arg, f->buf, f->len);
			f->len = 0;
			f->over = false;
			continue;
		}
		if (f->len >= API_FOLLOW_LINE_MAX) {
			f->over = true;   /* skipped whole, never cut */
			continue;
		}
		xgrow(&f->buf, &f->cap, f->len + 1, 4096);
		f->buf[f->len++] = data[i];
	}
	return n;
}

int api_follow(struct cli *cli, const char *path, const char *what,
	       void (*on_line)(void *arg, const char *line, size_t n), void *arg)
{
	struct follow_sink f = { .on_line = on_line, .arg = arg };
	long status = 0;
	int rc;

	char *url;
	CURL *h = api_easy(cli, path, &url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_lines);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_COULDNT_CONNECT)
		rc = cli_fail("the broker is not running (no API at %s)", cli_socket(cli));
	else if (cc != CURLE_OK)
		rc = cli_fail("the stream of %s broke: %s", what, curl_easy_strerror(cc));
	else if (status != 200)
		rc = cli_fail("the broker refused: status %ld", status);
	else
		rc = CLI_EXIT_OK;
	curl_easy_cleanup(h);
	free(url);
	free(f.buf);
	return rc;
}
