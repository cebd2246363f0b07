/* The config file of airlock up and airlock-broker: one "KEY = VALUE" a
 * line, KEY a row of common/flags.c's table (its flag's name), checked
 * exactly as the command line is; then the command line laid over it; and
 * --print-config, which shows every setting and where it came from. A file
 * that holds anything the table does not know is refused with FILE:LINE:
 * a typo in a config file must not start a proxy with a default in its
 * place. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/fileutil.h"
#include "common/flags.h"
#include "common/xmalloc.h"

/* A config file is a few hundred bytes; this only bounds a wrong path. */
#define CONF_FILE_MAX (1024 * 1024)

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int load_line(struct flagset *fs, char *line, const char *path, unsigned lineno, char *err,
		     size_t cap)
{
	char why[384];
	char *eq = strchr(line, '=');
	char *key = line, *val = NULL;

	if (eq) {
		*eq = '\0';
		val = trim(eq + 1);
	}
	key = trim(key);
	int id = key[0] ? flag_lookup(key, strlen(key), fs->proc) : -1;
	if (id < 0 || (flag_table[id].attrs & FLAG_A_NOFILE)) {
		snprintf(err, cap, "%s:%u: unknown key '%.64s'", path, lineno, key);
		return AL_EINVAL;
	}
	if (flag_table[id].type == FLAG_T_BOOL) {
		/* "keyring" or "keyring = true"; "= false" is the default, said */
		if (val && strcmp(val, "false") == 0)
			return 0;
		if (val && strcmp(val, "true") != 0) {
			snprintf(err, cap, "%s:%u: bad %s '%.64s': expected true or false", path, lineno,
				 key, val);
			return AL_EINVAL;
		}
		val = NULL;
	} else if (!val || !val[0]) {
		snprintf(err, cap, "%s:%u: %s needs a value (%s = VALUE)", path, lineno, key, key);
		return AL_EINVAL;
	}
	if (flagset_set(fs, id, val, FLAG_SRC_FILE, why, sizeof why) < 0) {
		snprintf(err, cap, "%s:%u: %s", path, lineno, why);
		return AL_EINVAL;
	}
	fs->v[id].line = lineno;
	fs->uses[fs->nuses - 1].line = lineno;
	return 0;
}

int flagset_load_file(struct flagset *fs, const char *path, char *err, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	unsigned lineno = 0;
	int ret = file_read_all(path, CONF_FILE_MAX, &text, &len);

	if (ret < 0) {
		snprintf(err, cap, "cannot read the config file %s: %s", path, airlock_strerror(ret));
		return ret;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, cap, "%s: holds a NUL byte: not a config file", path);
		free(text);
		return AL_EINVAL;
	}
	for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		char *line = trim(p);
		if (!line[0] || line[0] == '#')
			continue;
		if ((ret = load_line(fs, line, path, lineno, err, cap)) < 0)
			break;
	}
	free(text);
	return ret;
}

/* Forget the file's values of id: the command line names it. */
static void drop_file_values(struct flagset *fs, enum flag_id id)
{
	size_t o = 0;
	for (size_t i = 0; i < fs->nuses; i++) {
		if (fs->uses[i].id == id)
			free(fs->uses[i].value);
		else
			fs->uses[o++] = fs->uses[i];
	}
	fs->nuses = o;
	free(fs->v[id].list);
	fs->v[id].list = NULL;
	fs->v[id].n = 0;
	fs->v[id].line = 0;
	fs->v[id].str = flag_table[id].def_str;
	fs->v[id].num = flag_table[id].def;
	fs->v[id].src = FLAG_SRC_DEFAULT;
}

int flagset_overlay(struct flagset *fs, const struct flagset *argv, char *err, size_t cap)
{
	int ret;

	for (int id = 0; id < FLAG_COUNT; id++)
		if (argv->v[id].n && fs->v[id].src == FLAG_SRC_FILE)
			drop_file_values(fs, id);
	for (size_t i = 0; i < argv->nuses; i++)
		if ((ret = flagset_set(fs, argv->uses[i].id, argv->uses[i].value, FLAG_SRC_ARGV, err,
				       cap)) < 0)
			return ret;
	return 0;
}

const char *flagset_config_path(const struct flagset *argv)
{
	if (argv->v[FLAG_CONFIG].n)
		return argv->v[FLAG_CONFIG].str;
	return access(CONF_DEFAULT_PATH, F_OK) == 0 ? CONF_DEFAULT_PATH : NULL;
}

static void print_source(FILE *out, const struct flagset *fs, enum flag_id id, const char *conf)
{
	const struct flag_value *v = &fs->v[id];
	if (v->src == FLAG_SRC_ARGV)
		fprintf(out, "  # command line\n");
	else if (v->src == FLAG_SRC_FILE)
		fprintf(out, "  # %s:%u\n", conf, v->line);
	else
		fprintf(out, "  # default\n");
}

void flagset_print(FILE *out, const struct flagset *fs, const char *conf_path)
{
	char buf[160];

	fprintf(out, "# config file: %s\n", conf_path ? conf_path : "none");
	for (int id = 0; id < FLAG_COUNT; id++) {
		const struct flag_row *r = &flag_table[id];
		const struct flag_value *v = &fs->v[id];
		if (!(r->procs & fs->proc) || (r->attrs & FLAG_A_NOFILE))
			continue;
		if (r->attrs & FLAG_A_REPEAT) {
			if (v->n == 0) {
				fprintf(out, "# %s (none)", r->name);
				print_source(out, fs, id, conf_path);
			}
			for (size_t i = 0; i < fs->nuses; i++) {
				if (fs->uses[i].id != (enum flag_id)id)
					continue;
				fprintf(out, "%s = %s", r->name, fs->uses[i].value);
				if (v->src == FLAG_SRC_FILE)
					fprintf(out, "  # %s:%u\n", conf_path, fs->uses[i].line);
				else
					print_source(out, fs, id, conf_path);
			}
			continue;
		}
		if (r->type == FLAG_T_BOOL) {
			fprintf(out, "%s = %s", r->name, v->n ? "true" : "false");
		} else if (v->n && r->type == FLAG_T_STORE) {
			/* it may hold a password: only that it is set */
			fprintf(out, "%s = (set, not shown)", r->name);
		} else if (v->n) {
			fprintf(out, "%s = %s", r->name, v->str);
		} else if (flag_default_text(id, buf, sizeof buf)) {
			fprintf(out, "%s = %s", r->name, buf);
		} else {
			/* worked out at start: say how, commented out */
			fprintf(out, "# %s = (%s)", r->name, r->def_note ? r->def_note : "none");
		}
		print_source(out, fs, id, conf_path);
	}
}
