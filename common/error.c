/* airlock_strerror(): the one table of error names, so every message that
 * reaches a user or a log says the same thing for the same failure. */
#include "config.h"

#include "common/error.h"

const char *airlock_strerror(int err)
{
	switch (err) {
	case AL_OK: return "success";
	case AL_EINVAL: return "invalid input";
	case AL_ETOOBIG: return "input too large";
	case AL_ENOTFOUND: return "not found";
	case AL_EEXIST: return "already exists";
	case AL_EIO: return "input/output error";
	case AL_ECRYPTO: return "cryptographic failure";
	case AL_EPERM: return "permission denied";
	case AL_ETIMEOUT: return "timed out";
	case AL_EPROTO: return "protocol error";
	case AL_EDENIED: return "denied by policy";
	case AL_EUNAVAIL: return "service unavailable";
	case AL_ERANGE: return "value out of range";
	case AL_ECONFLICT: return "conflicting fields";
	case AL_ESTATE: return "not valid in the current state";
	case AL_ENOSPC: return "no space left on device";
	}
	return "unknown error";
}
