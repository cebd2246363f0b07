/* libFuzzer target for the broker's start: the input is written as
 * state.json into a private directory and opened with state_open, the way
 * the broker does (parse, check_doc, dropping rules that can no longer
 * match, writing the state back when it did). Invariants:
 *  - a refusal is one printable line, the same when the bytes of every
 *    "sealed" value and token hash change (hex digits stay hex digits): the
 *    message never quotes them (secretcheck.h for the text that does not
 *    parse);
 *  - an accepted state, committed (state_commit writes it) and opened
 *    again, is the same state but for rules that expired in between;
 *  - an accepted state builds a policy snapshot the enforcer accepts
 *    (policy_parse): a state the broker starts on but the enforcer refuses
 *    would leave every sandbox denied, with nothing an API call can fix. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/snapshot.h"
#include "broker/state.h"
#include "common/duration.h"
#include "common/log.h"
#include "enforcer/policy.h"
#include "tests/fuzz/secretcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char path[128];

/* the directory goes with the process (make check runs this often) */
static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

static void setup(void)
{
	if (dir[0])
		return;
	/* tmpfs when there is one: every run writes a file */
	snprintf(dir, sizeof dir, "%s/fuzz-state.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/state.json", dir);
	atexit(cleanup);
	log_init("fuzz-state", LOG_FMT_KV, LOG_LVL_ERROR, stderr);
}

static void put(const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len) || close(fd) != 0)
		abort();
}

static int open_state(const void *buf, size_t len, struct state *st, char *err, size_t cap)
{
	put(buf, len);
	memset(err, 0, cap);
	return state_open(dir, st, err, cap);
}

/* hex digits stay hex digits, other letters other letters (token_sha256
 * is checked as hex) */
static char rotate_in(char c, char lo, char hi)
{
	return c == hi ? lo : (char)(c + 1);
}

static char rotate_hex(char c)
{
	if (c >= 'a' && c <= 'f')
		return rotate_in(c, 'a', 'f');
	if (c >= 'g' && c <= 'z')
		return rotate_in(c, 'g', 'z');
	if (c >= 'A' && c <= 'F')
		return rotate_in(c, 'A', 'F');
	if (c >= 'G' && c <= 'Z')
		return rotate_in(c, 'G', 'Z');
	return secretcheck_rotate(c);
}

/* doc with the bytes of every sealed value and token hash changed */
static void scramble_secrets(json_t *doc)
{
	static const struct {
		const char *arr, *key;
	} where[] = { { "clients", "token_sha256" }, { "secrets", "sealed" } };
	for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(doc, where[w].arr), i, o) {
			json_t *v = json_object_get(o, where[w].key);
			if (!json_is_string(v))
				continue;
			size_t n = json_string_length(v);
			char *s = malloc(n + 1);
			if (!s)
				abort();
			memcpy(s, json_string_value(v), n + 1);
			for (size_t k = 0; k < n; k++)
				s[k] = rotate_hex(s[k]);
			json_object_set_new(o, where[w].key, json_stringn_nocheck(s, n));
			free(s);
		}
	}
}

static void check_refusal(const uint8_t *data, size_t size, const char *err, size_t cap)
{
	char err2[512];
	struct state st2;
	json_error_t jerr;

	secretcheck_printable(err, cap);
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	char *text;
	size_t len;
	if (doc) {
		scramble_secrets(doc);
		text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		len = text ? strlen(text) : 0;
		json_decref(doc);
		if (!text)
			return;
		/* a refusal that names a line and column depends on the layout,
		 * which the dump changes: only the checks after parsing here */
		if (strstr(err, "not valid JSON")) {
			free(text);
			return;
		}
	} else {
		text = secretcheck_scramble_text(data, size);
		len = size;
	}
	if (open_state(text, len, &st2, err2, sizeof err2) == 0 || strcmp(err, err2) != 0)
		__builtin_trap();   /* the message depends on a secret's bytes */
	free(text);
}

/* reopened: doc but for rules that expired by now */
static void check_same(const json_t *doc, const json_t *again, int64_t now)
{
	static const char *const keys[] = { "format", "next_id", "clients", "secrets" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!json_equal(json_object_get(doc, keys[i]), json_object_get(again, keys[i])))
			__builtin_trap();
	const json_t *r1 = state_rules(doc), *r2 = state_rules(again);
	size_t j = 0;
	for (size_t i = 0; i < json_array_size(r1); i++) {
		const json_t *r = json_array_get(r1, i);
		if (j < json_array_size(r2) && json_equal(r, json_array_get(r2, j)))
			j++;
		else if (state_rule_live(r, now))
			__builtin_trap();   /* a live rule was lost or changed */
	}
	if (j != json_array_size(r2))
		__builtin_trap();   /* a rule came from nowhere */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct state st, st2;

	setup();
	if (open_state(data, size, &st, err, sizeof err) < 0) {
		check_refusal(data, size, err, sizeof err);
		return 0;
	}
	struct policy *p = NULL;
	json_t *snap = snapshot_build(st.doc, 1, time_now());
	if (policy_parse(snap, &p) < 0)
		__builtin_trap();   /* the broker starts on a state whose policy the enforcer refuses */
	policy_unref(p);
	json_decref(snap);

	json_t *doc = json_deep_copy(st.doc);
	if (state_commit(&st, state_begin(&st)) < 0)
		__builtin_trap();
	state_close(&st);
	if (state_open(dir, &st2, err, sizeof err) < 0)
		__builtin_trap();   /* what the broker wrote, it cannot read */
	check_same(doc, st2.doc, time_now());
	json_decref(doc);
	state_close(&st2);
	return 0;
}
