/* The one error enum of airlock. Every fallible function returns int: 0 on
 * success, a negative AL_E* code on failure. airlock_strerror() names it.
 * Out of memory: the daemons and the CLI abort (xmalloc.h); it is not an
 * error code callers must thread through. */
#ifndef AIRLOCK_ERROR_H
#define AIRLOCK_ERROR_H

#define AL_MUST_CHECK __attribute__((warn_unused_result))

enum airlock_err {
	AL_OK = 0,
	AL_EINVAL = -1,       /* malformed input */
	AL_ETOOBIG = -2,      /* input over its cap (limits.h) */
	AL_ENOTFOUND = -3,    /* no such client, secret, rule, file */
	AL_EEXIST = -4,       /* already exists */
	AL_EIO = -5,          /* read, write, fsync, rename failed */
	AL_ECRYPTO = -6,      /* a GnuTLS call failed, or a seal did not open */
	AL_EPERM = -7,        /* permissions, peer credentials */
	AL_ETIMEOUT = -8,     /* a deadline passed */
	AL_EPROTO = -9,       /* the peer broke the protocol */
	AL_EDENIED = -10,     /* policy said no */
	AL_EUNAVAIL = -11,    /* a needed service (broker, upstream) is not there */
	AL_ERANGE = -12,      /* a number out of its range */
	AL_ECONFLICT = -13,   /* combination of fields not allowed together */
	AL_ESTATE = -14,      /* operation not valid in the current state */
	AL_ENOSPC = -15,      /* the filesystem is full (or over quota) */
};

const char *airlock_strerror(int err);

#endif
