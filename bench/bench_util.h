/* bench_util.h: what the benchmarks measure with, beside tests/support: a process's CPU time
 * and peak memory from /proc, percentiles, counters of the emulators' /_sim/stats and lines in
 * a log. Failures fail the running cmocka test. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* utime + stime of pid in clock ticks (/proc/PID/stat fields 14 and 15). */
long long bench_cpu_ticks(pid_t pid);
/* Ticks in seconds (sysconf(_SC_CLK_TCK), 100 on Linux). */
double bench_ticks_sec(long long ticks);
/* VmHWM (peak resident set) of pid in KiB from /proc/PID/status, or -1 when unreadable. */
long bench_vm_hwm_kib(pid_t pid);
/* The load average of the last minute (/proc/loadavg), or NAN. */
double bench_loadavg1(void);
/* A qsort comparison of doubles. */
int bench_cmp_double(const void *a, const void *b);
/* The nearest-rank p-th percentile of the n (>= 1) sorted values. */
double bench_pct(const double *sorted, long n, int p);
/* How often what occurs in text. */
long long bench_occurrences(const char *text, const char *what);
/* How many lines of the file path contain what (the file may be larger than memory allows). */
long long bench_file_lines(const char *path, const char *what);
/* The growth of a counter of two /_sim/stats answers: key, or key2 inside key when not NULL. */
long long bench_grew(json_t *before, json_t *after, const char *key, const char *key2);

/* PostgreSQL's CPU while a benchmark runs: the postmaster of the server in OL_PG_DIR (its pid
 * in OL_PG_DIR/data/postmaster.pid) and its children (backends, the checkpointer, the WAL
 * writer), utime + stime. A process is counted from its first sighting to its last, so sample
 * while the clients are connected: a backend that ends between two samples loses what it used
 * after the earlier one. skip (0: none) is a backend left out, the benchmark's own monitor. */
#define BENCH_PG_PROCS_MAX	1024
struct bench_pgcpu {
	int		n;
	pid_t		pid[BENCH_PG_PROCS_MAX];
	long long	first[BENCH_PG_PROCS_MAX], last[BENCH_PG_PROCS_MAX];
};
/* The first sample; -1 (and nothing counted later) without OL_PG_DIR's server. */
int bench_pg_cpu_start(struct bench_pgcpu *s, pid_t skip);
/* Another sample: processes seen before keep their first ticks, new ones count from 0. */
void bench_pg_cpu_sample(struct bench_pgcpu *s, pid_t skip);
/* CPU seconds between the first and the last samples, or -1 without a server. */
double bench_pg_cpu_s(const struct bench_pgcpu *s);

#endif
