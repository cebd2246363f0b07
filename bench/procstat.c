/* bench/procstat.c: see procstat.h. */
#include "procstat.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int read_stat(int pid, int *ppid, unsigned long long *ticks)
{
	char p[64], buf[1024];
	snprintf(p, sizeof p, "/proc/%d/stat", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *s = strrchr(buf, ')');
	if (!s)
		return -1;
	/* fields after comm: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17) */
	char st;
	int pp;
	unsigned long long u, sy, cu, cs;
	if (sscanf(s + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &st, &pp, &u, &sy, &cu, &cs) != 6)
		return -1;
	*ppid = pp;
	*ticks = u + sy + cu + cs;
	return 0;
}

struct pent { int pid, ppid; unsigned long long ticks; };

static size_t scan_procs(struct pent **out)
{
	size_t n = 0, cap = 1024;
	struct pent *a = malloc(cap * sizeof *a);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		struct pent p = { .pid = atoi(e->d_name) };
		if (read_stat(p.pid, &p.ppid, &p.ticks))
			continue;
		if (n == cap)
			a = realloc(a, (cap *= 2) * sizeof *a);
		a[n++] = p;
	}
	if (d)
		closedir(d);
	*out = a;
	return n;
}

static bool in_tree(const struct pent *a, size_t n, int pid, int root)
{
	for (int depth = 0; depth < 32 && pid > 1; depth++) {
		if (pid == root)
			return true;
		int pp = -1;
		for (size_t i = 0; i < n; i++)
			if (a[i].pid == pid) {
				pp = a[i].ppid;
				break;
			}
		pid = pp;
	}
	return pid == root;
}

void procstat_snap(struct snap *s, const int *pids, int npids, double now_s)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	s->t = now_s;
	s->self_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	struct pent *a;
	size_t n = scan_procs(&a);
	for (int k = 0; k < npids && k < PROCSTAT_TREES_MAX; k++) {
		s->tree_ticks[k] = 0;
		for (size_t i = 0; i < n && pids[k] > 0; i++)
			if (in_tree(a, n, a[i].pid, pids[k]))
				s->tree_ticks[k] += a[i].ticks;
	}
	free(a);
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[10] = { 0 };
	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
			memset(v, 0, sizeof v);
		fclose(f);
	}
	s->sys_busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	s->sys_total = s->sys_busy + v[3] + v[4];
}

long procstat_tree_rss(int root, long *root_only)
{
	struct pent *a;
	size_t n = scan_procs(&a);
	long sum = 0;
	*root_only = 0;
	if (root <= 0) {
		free(a);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!in_tree(a, n, a[i].pid, root))
			continue;
		char p[64], line[256];
		snprintf(p, sizeof p, "/proc/%d/status", a[i].pid);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "VmRSS:", 6)) {
				long kb = atol(line + 6);
				sum += kb;
				if (a[i].pid == root)
					*root_only = kb;
			}
		fclose(f);
	}
	free(a);
	return sum;
}
