/* bench/procstat: CPU and memory of process trees, read from /proc, for the
 * load generator's report (what each proxy, its helpers and the origin
 * used during a measured window). */
#ifndef BENCH_PROCSTAT_H
#define BENCH_PROCSTAT_H

#define PROCSTAT_TREES_MAX 16

struct snap {
	double t;
	double self_cpu;                                   /* this process, seconds */
	unsigned long long tree_ticks[PROCSTAT_TREES_MAX]; /* utime+stime+cutime+cstime per tree */
	unsigned long long sys_busy, sys_total;            /* /proc/stat, all CPUs */
};

/* A snapshot at time now_s of the trees rooted at pids[0..npids) (<=
 * PROCSTAT_TREES_MAX; a root <= 0 counts nothing). */
void procstat_snap(struct snap *s, const int *pids, int npids, double now_s);
/* VmRSS (KiB) of the tree rooted at root, and of root alone. */
long procstat_tree_rss(int root, long *root_only);

#endif
