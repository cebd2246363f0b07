/* The flags of `airlock up` and of the two daemons it starts, described
 * once: name, value type and range, default, which processes take each,
 * whether the broker hands it on to the enforcer, whether it may change
 * while running, and its help. airlock up's --help and checks, the broker's
 * parser and the enforcer's parser all read flag_table; the man pages are
 * checked against it (tests/integration/test-docs-flags.py). A struct
 * flagset holds one process's values and where each came from. */
#ifndef AIRLOCK_FLAGS_H
#define AIRLOCK_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

/* In the order --help lists them. */
enum flag_id {
	FLAG_CONFIG, FLAG_PRINT_CONFIG,
	FLAG_BIND, FLAG_HTTP_PORT, FLAG_HTTPS_PORT, FLAG_STATE_DIR, FLAG_RUN_DIR, FLAG_MODE,
	FLAG_DENY_CIDR, FLAG_SAN, FLAG_SEAL_KEY_FILE, FLAG_KEYRING, FLAG_RESOLVE, FLAG_UPSTREAM_CA,
	FLAG_LOG_FORMAT, FLAG_LOG_FILE, FLAG_ENFORCER, FLAG_NO_ENFORCER, FLAG_DEBUG, FLAG_METRICS_LISTEN,
	FLAG_STORE, FLAG_UI_LISTEN, FLAG_APPROVAL_WEBHOOK, FLAG_APPROVAL_WEBHOOK_KEY_FILE,
	/* limits (docs/airlock-enforcer.8, Limits) */
	FLAG_WORKERS, FLAG_MAX_HEAD_BYTES, FLAG_MAX_HEADERS, FLAG_HEAD_TIMEOUT, FLAG_IDLE_TIMEOUT,
	FLAG_CONNECT_TIMEOUT, FLAG_UPSTREAM_IDLE_TIMEOUT, FLAG_TUNNEL_IDLE_TIMEOUT, FLAG_DRAIN_TIMEOUT,
	FLAG_HOLD_TIMEOUT,
	FLAG_MAX_CONNS_PER_CLIENT, FLAG_MAX_H2_STREAMS_PER_CLIENT, FLAG_MAX_CONNS, FLAG_MAX_PREAUTH_CONNS,
	FLAG_MAX_PREAUTH_PER_SOURCE,
	/* one daemon's own, given by the other process */
	FLAG_BANNER, FLAG_IPC_SOCKET,
	FLAG_COUNT
};

enum flag_type {
	FLAG_T_BOOL,     /* takes no value */
	FLAG_T_PATH,     /* a non-empty file or directory name */
	FLAG_T_FILE,     /* a readable file */
	FLAG_T_PROGRAM,  /* an executable file (see flag_value_parse) */
	FLAG_T_IP,       /* an IPv4 or IPv6 literal, without brackets */
	FLAG_T_PORT,     /* 1..65535 as port_parse() reads it */
	FLAG_T_UINT,     /* a decimal number in [min, max] */
	FLAG_T_MS,       /* a time in [min, max] milliseconds (duration_parse_ms) */
	FLAG_T_ENUM,     /* one of choices[] */
	FLAG_T_CIDR,     /* an address or network (cidr_parse) */
	FLAG_T_HOST,     /* a DNS name or an IP literal (host_canon) */
	FLAG_T_PIN,      /* HOST:PORT:ADDR as curl's --resolve, HOST a DNS name */
	FLAG_T_LISTEN,   /* IP:PORT, an IPv6 IP in brackets (flag_listen_split) */
	FLAG_T_STORE,    /* a postgres:// or postgresql:// URI (the broker checks the rest) */
	FLAG_T_URL,      /* an http:// or https:// URL: printable, no blanks, at most 2048 bytes */
};

/* Which processes take a flag. */
enum flag_proc {
	FLAG_P_UP = 1 << 0,        /* airlock up, which hands it to the broker */
	FLAG_P_BROKER = 1 << 1,    /* airlock-broker */
	FLAG_P_ENFORCER = 1 << 2,  /* airlock-enforcer */
};

enum flag_attr {
	FLAG_A_REPEAT = 1 << 0,    /* each use adds a value; others may be given once */
	FLAG_A_PASS = 1 << 1,      /* the broker hands it to the enforcer as given */
	FLAG_A_LIVE = 1 << 2,      /* may take a new value without a restart (on reload) */
	FLAG_A_ZERO_OFF = 1 << 3,  /* a port that the enforcer also takes as 0: no listener */
	FLAG_A_NOFILE = 1 << 4,    /* command line only: not a key of the config file */
};

struct flag_row {
	const char *name;            /* without "--"; also its key in a config file */
	enum flag_type type;
	unsigned procs;              /* enum flag_proc */
	unsigned attrs;              /* enum flag_attr */
	const char *metavar;         /* "N", "T", "DIR"; NULL for bool and enum */
	long long min, max;          /* FLAG_T_UINT; FLAG_T_MS in milliseconds */
	long long def;               /* default of a port, number or time ... */
	const char *def_str;         /* ... of an address or enum ... */
	const char *def_note;        /* ... or one worked out at start, in words */
	const char *const *choices;  /* FLAG_T_ENUM, NULL-terminated */
	const char *help;            /* a phrase; the default and range are added */
};

extern const struct flag_row flag_table[FLAG_COUNT];

/* Split a FLAG_T_LISTEN value into its address (brackets dropped) and
 * port: 0, or AL_EINVAL. */
int flag_listen_split(const char *v, char ip[64], uint16_t *port) AL_MUST_CHECK;

/* The row called name[0..len) that process proc takes, or -1. */
int flag_lookup(const char *name, size_t len, unsigned proc);
/* Check one value of flag id as process proc reads it: AL_EINVAL or
 * AL_ERANGE, else 0 with *num set for bool (1), port, number, time (ms)
 * and enum (the choice's index). Two checks depend on the process: a
 * --enforcer program must be executable for airlock up, while the broker
 * serves the API alone and keeps looking for it; a FLAG_A_ZERO_OFF port is
 * 0 for the enforcer alone. */
int flag_value_parse(enum flag_id id, unsigned proc, const char *v, long long *num) AL_MUST_CHECK;
/* What a good value looks like, for error messages ("a number from 1 to 256"). */
void flag_expect(enum flag_id id, unsigned proc, char *buf, size_t cap);
/* The value's placeholder in help ("N", "strict|audit"); "" for a bool. */
void flag_metavar(enum flag_id id, char *buf, size_t cap);
/* The default as a user would write it ("10s", "127.0.0.1", "strict"):
 * false when it has none or it is worked out at start (def_note). */
bool flag_default_text(enum flag_id id, char *buf, size_t cap);
/* "1 to 256", "1ms to 1h": false when the type has no per-flag range. */
bool flag_range_text(enum flag_id id, char *buf, size_t cap);
/* The options of process proc, one a line, help wrapped at 79 columns. */
void flag_help_print(FILE *out, unsigned proc);

/* Where a value came from: the config file overrides the defaults, the
 * command line overrides the file (a repeatable flag given on the command
 * line replaces the file's list). */
enum flag_source { FLAG_SRC_DEFAULT, FLAG_SRC_FILE, FLAG_SRC_ARGV };

struct flag_value {
	enum flag_source src;
	unsigned line;        /* FLAG_SRC_FILE: the (last) line it was read from */
	long long num;        /* bool, port, number, time, enum: the last value given, else the default */
	const char *str;      /* the last value as given, else def_str (may be NULL) */
	const char **list;    /* FLAG_A_REPEAT: every value as given, in order */
	size_t n;             /* times given */
};

/* One use of a flag, in the order given: what the broker hands on. */
struct flag_use {
	enum flag_id id;
	char *value;          /* NULL for a bool */
	unsigned line;        /* read from the config file's line (0: the command line) */
};

struct flagset {
	unsigned proc;        /* the process whose values these are: one FLAG_P_* */
	struct flag_value v[FLAG_COUNT];
	struct flag_use *uses;
	size_t nuses;
};

/* Every flag at its default. */
void flagset_init(struct flagset *fs, unsigned proc);
void flagset_free(struct flagset *fs);
/* Give flag id the value v (NULL for a bool). A refusal is AL_EINVAL with
 * one line in err: "bad --mode 'x': expected strict or audit", "--mode
 * given twice", "--keyring takes no value". */
int flagset_set(struct flagset *fs, enum flag_id id, const char *v, enum flag_source src,
		char *err, size_t cap) AL_MUST_CHECK;

#define FLAGS_HELP 1
#define FLAGS_VERSION 2
/* A daemon's argv: "--name VALUE" or "--name=VALUE", names exact, each
 * checked as above; "--" ends the flags and nothing may follow. Returns 0,
 * FLAGS_HELP for --help or -h, FLAGS_VERSION for --version (at once, as
 * they come), or AL_EINVAL with one line in err. */
int flagset_parse_argv(struct flagset *fs, int argc, char *const *argv, char *err,
		       size_t cap) AL_MUST_CHECK;
/* The value as given, else the default string (NULL when neither). */
const char *flagset_str(const struct flagset *fs, enum flag_id id);

/* ---- the config file (common/conffile.c) ----
 * One setting a line, "KEY = VALUE" (or "KEY" alone for a true bool, "KEY =
 * true|false"), KEY a flag's name without "--"; '#' starts a comment line;
 * a repeatable key takes one value a line. The same checks as the command
 * line, for the same process. */
#define CONF_DEFAULT_PATH SYSCONFDIR "/airlock/airlock.conf"
/* Read path into fs as FLAG_SRC_FILE. A refusal is AL_EINVAL (AL_ENOTFOUND,
 * AL_EIO: cannot read it) with one line in err: "FILE:LINE: unknown key
 * 'x'", "FILE:LINE: bad mode 'x': expected strict or audit". */
int flagset_load_file(struct flagset *fs, const char *path, char *err, size_t cap) AL_MUST_CHECK;
/* Lay the command line's values (argv, parsed into its own flagset) over
 * fs: each flag given there replaces the file's value. */
int flagset_overlay(struct flagset *fs, const struct flagset *argv, char *err, size_t cap) AL_MUST_CHECK;
/* The config file a process reads: --config, else CONF_DEFAULT_PATH when
 * it exists, else NULL. */
const char *flagset_config_path(const struct flagset *argv);
/* Every setting of process proc with its value and where it came from,
 * one a line, as a config file would hold it ("mode = audit  # file:3"). */
void flagset_print(FILE *out, const struct flagset *fs, const char *conf_path);

#endif
