/* Unit tests of common/fileutil.c: atomic replace (mode, content, no temp
 * left on success or failure), bounded reads at cap and cap + 1 (files,
 * pipes, stdin), private directories (refused, never silently chmod'ed). */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/xmalloc.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/airlock-test-fileutil.XXXXXX";

static int count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

static mode_t mode_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_write_atomic(void)
{
	char *p = path_join(dir, "state.json"), *buf = NULL;
	size_t len;

	CHECK(file_write_atomic(p, "one", 3, 0600) == 0);
	CHECK(mode_of(p) == 0600, "mode %o", mode_of(p));
	CHECK(file_read_all(p, 100, &buf, &len) == 0 && len == 3 && strcmp(buf, "one") == 0);
	free(buf);
	CHECK(file_write_atomic(p, "second", 6, 0644) == 0);
	CHECK(mode_of(p) == 0644, "mode follows the argument, not the umask");
	CHECK(file_read_all(p, 100, &buf, &len) == 0 && len == 6 && strcmp(buf, "second") == 0);
	free(buf);
	CHECK(file_write_atomic(p, "", 0, 0600) == 0);
	CHECK(file_read_all(p, 100, &buf, &len) == 0 && len == 0 && buf[0] == '\0');
	free(buf);
	CHECK(count_entries(dir) == 1, "no temp file left after success");
	unlink(p);
	free(p);

	/* Failure: no such directory, and a directory in the way of the rename. */
	p = path_join(dir, "missing/state.json");
	CHECK(file_write_atomic(p, "x", 1, 0600) == AL_ENOTFOUND);
	free(p);
	p = path_join(dir, "adir");
	CHECK(mkdir(p, 0700) == 0);
	CHECK(file_write_atomic(p, "x", 1, 0600) == AL_EIO);
	CHECK(count_entries(dir) == 1, "temp file unlinked after a failed rename");
	rmdir(p);
	free(p);
}

static void test_read_all(void)
{
	char *p = path_join(dir, "data"), *buf = NULL, *content;
	size_t len, cap = 10000;
	int fds[2], saved;

	content = xmalloc(cap + 2);
	memset(content, 'z', cap + 1);
	CHECK(file_write_atomic(p, content, cap, 0600) == 0);
	CHECK(file_read_all(p, cap, &buf, &len) == 0 && len == cap && buf[cap] == '\0', "file of cap");
	free(buf);
	CHECK(file_read_all(p, cap - 1, &buf, &len) == AL_ETOOBIG && buf == NULL, "file of cap + 1");
	CHECK(file_read_all(p, 0, &buf, &len) == AL_ETOOBIG);
	CHECK(file_read_all("/nonexistent/airlock", 10, &buf, &len) == AL_ENOTFOUND);
	CHECK(file_read_all(dir, 10, &buf, &len) < 0, "a directory");

	/* A pipe has no size to check up front: the cap holds while reading. */
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], content, 100) == 100);
	close(fds[1]);
	saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	CHECK(file_read_all("-", 99, &buf, &len) == AL_ETOOBIG, "stdin of cap + 1");
	dup2(saved, 0);

	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], content, 100) == 100);
	close(fds[1]);
	dup2(fds[0], 0);
	close(fds[0]);
	CHECK(file_read_all("-", 100, &buf, &len) == 0 && len == 100, "stdin of cap");
	free(buf);
	dup2(saved, 0);
	close(saved);
	CHECK(fcntl(0, F_GETFD) >= 0, "stdin still open");

	unlink(p);
	free(p);
	free(content);
}

static void test_dirs(void)
{
	char *base = path_join(dir, "a"), *deep = path_join(dir, "a/b/c/"), *deepn = path_join(dir, "a/b/c");
	char *file = path_join(dir, "f"), *under = path_join(dir, "f/x");
	mode_t old = umask(022);

	CHECK(dir_ensure_private(deep, 0700) == 0);
	CHECK(mode_of(deepn) == 0700, "mode %o", mode_of(deepn));
	CHECK(mode_of(base) == 0700, "missing parents made private too");
	CHECK(dir_ensure_private(deepn, 0700) == 0, "exists already: fine");
	CHECK(chmod(deepn, 0750) == 0);
	CHECK(dir_ensure_private(deepn, 0700) == AL_EPERM, "group bits: refused");
	CHECK(mode_of(deepn) == 0750, "and not silently chmod'ed");
	CHECK(chmod(deepn, 0701) == 0);
	CHECK(dir_ensure_private(deepn, 0700) == AL_EPERM, "other bits: refused");
	CHECK(chmod(deepn, 0700) == 0);
	/* A shared parent is fine; only the final directory must be private. */
	CHECK(chmod(base, 0755) == 0);
	CHECK(dir_ensure_private(deepn, 0700) == 0);
	if (geteuid() == 0) {
		CHECK(chown(deepn, 65534, 65534) == 0);
		CHECK(dir_ensure_private(deepn, 0700) == AL_EPERM, "not ours: refused");
		CHECK(chown(deepn, 0, 0) == 0);
	}
	CHECK(file_write_atomic(file, "x", 1, 0600) == 0);
	CHECK(dir_ensure_private(file, 0700) == AL_EINVAL, "a file in the way");
	CHECK(dir_ensure_private(under, 0700) < 0, "a file as a parent");
	CHECK(dir_ensure_private("", 0700) == AL_EINVAL);
	unlink(file);
	rmdir(deepn);
	{
		char *b = path_join(dir, "a/b");
		rmdir(b);
		free(b);
	}
	rmdir(base);
	umask(old);
	free(base);
	free(deep);
	free(deepn);
	free(file);
	free(under);
}

static void test_path_join(void)
{
	static const struct {
		const char *d, *n, *want;
	} cases[] = {
		{ "/a", "b", "/a/b" }, { "/a/", "b", "/a/b" }, { "/", "b", "/b" },
		{ "a", "b.json", "a/b.json" }, { "", "b", "b" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *p = path_join(cases[i].d, cases[i].n);
		CHECK_STR(p, cases[i].want, cases[i].want);
		free(p);
	}
}

/* The CLI and the daemons share one default: a relative XDG_STATE_HOME is
 * ignored (XDG spec), and without HOME the password database answers. */
static void test_state_dir_default(void)
{
	static const struct {
		const char *airlock, *xdg, *home, *want; /* NULL: unset; want NULL: pw_dir */
	} cases[] = {
		{ "/s", "/x", "/h", "/s" },
		{ "rel", NULL, "/h", "rel" },
		{ "", "/x", "/h", "/x/airlock" },
		{ NULL, "/x", "/h", "/x/airlock" },
		{ NULL, "x", "/h", "/h/.local/state/airlock" },
		{ NULL, "", "/h", "/h/.local/state/airlock" },
		{ NULL, NULL, "/h", "/h/.local/state/airlock" },
		{ NULL, NULL, NULL, NULL },
		{ NULL, NULL, "relative", NULL },
	};
	struct passwd *pw = getpwuid(getuid());
	char pwdir[512];
	snprintf(pwdir, sizeof pwdir, "%s/.local/state/airlock", pw && pw->pw_dir ? pw->pw_dir : "");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *vals[3] = { cases[i].airlock, cases[i].xdg, cases[i].home };
		static const char *const names[3] = { "AIRLOCK_STATE_DIR", "XDG_STATE_HOME", "HOME" };
		for (size_t k = 0; k < 3; k++) {
			if (vals[k])
				setenv(names[k], vals[k], 1);
			else
				unsetenv(names[k]);
		}
		char *d = state_dir_default();
		if (cases[i].want)
			CHECK_STR(d, cases[i].want, "state_dir_default");
		else if (pw && pw->pw_dir)
			CHECK_STR(d, pwdir, "state_dir_default from the password database");
		free(d);
	}
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_write_atomic();
	test_read_all();
	test_dirs();
	test_path_join();
	test_state_dir_default();
	CHECK(count_entries(dir) == 0, "everything cleaned up");
	rmdir(dir);
	return unit_finish("test-fileutil");
}
