/* Replay runner for plain `make check`: feeds every file of
 * $AIRLOCK_SRCDIR/tests/fuzz/corpus/<target>/ to LLVMFuzzerTestOneInput,
 * where <target> is this program's name without "replay-". With file
 * arguments, replays those instead (to reproduce a crash). Exit 0 when all
 * ran (a crash aborts under the sanitizers), 77 when the corpus is missing. */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return 1;
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	fclose(f);
	if (!buf)
		abort();
	/* an exact-size copy so ASan sees reads past the end */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int rc = 0;
		for (int i = 1; i < argc; i++)
			rc |= replay_file(argv[i]);
		return rc;
	}
	const char *src = getenv("AIRLOCK_SRCDIR");
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (strncmp(name, "replay-", 7) == 0)
		name += 7;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src ? src : ".", name);
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: no corpus at %s\n", dir);
		return 77;
	}
	struct dirent *e;
	int n = 0, rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		rc |= replay_file(path);
		n++;
	}
	closedir(d);
	printf("replay %s: %d inputs\n", name, n);
	return rc;
}
