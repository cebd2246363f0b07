/* The decision reasons' table (common/reasons.h), and the lookups from an
 * enum reason to its name, status and curability, and back from a name. */
#include "config.h"

#include "common/reasons.h"

#include <string.h>

static const struct {
	const char *name;
	int status;
	bool curable;
} reasons[REASON_COUNT] = {
#define AL_REASON_ROW(id, n, s, c) [REASON_##id] = { .name = n, .status = s, .curable = c },
	AL_REASONS(AL_REASON_ROW)
#undef AL_REASON_ROW
};

const char *reason_name(enum reason r)
{
	return (unsigned)r < REASON_COUNT ? reasons[r].name : NULL;
}

int reason_status(enum reason r)
{
	return (unsigned)r < REASON_COUNT ? reasons[r].status : 0;
}

bool reason_curable(enum reason r)
{
	return (unsigned)r < REASON_COUNT && reasons[r].curable;
}

enum reason reason_lookup(const char *name, size_t len)
{
	if (name == NULL)
		return REASON_NONE;
	for (unsigned r = REASON_NONE + 1; r < REASON_COUNT; r++)
		if (strlen(reasons[r].name) == len && memcmp(reasons[r].name, name, len) == 0)
			return (enum reason)r;
	return REASON_NONE;
}
