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

#endif
