/* bench_util.c: measuring helpers of the benchmarks (see bench_util.h). */
#include "bench_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpdir.h"
#include "xmalloc.h"

long long
bench_cpu_ticks(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long ut = 0, st = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	text = tmpdir_read(path, 4096);
	/* Fields 14 and 15 (utime, stime), counted after the parenthesised command name. */
	if ((p = strrchr(text, ')')) == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u "
	    "%*u %*u %*u %lu %lu", &ut, &st) != 2)
		fail_msg("cannot read %s", path);
	free(text);
	return (long long)(ut + st);
}

double
bench_ticks_sec(long long ticks)
{
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

long
bench_vm_hwm_kib(pid_t pid)
{
	char path[64], *text, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	text = tmpdir_read(path, 16384);
	if ((p = strstr(text, "\nVmHWM:")) != NULL)
		kib = strtol(p + 7, NULL, 10);
	free(text);
	return kib;
}

double
bench_loadavg1(void)
{
	double l = NAN;
	FILE *fp = fopen("/proc/loadavg", "r");

	if (fp != NULL) {
		if (fscanf(fp, "%lf", &l) != 1)
			l = NAN;
		fclose(fp);
	}
	return l;
}

int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bench_pct(const double *sorted, long n, int p)
{
	long k = ((long)p * n + 99) / 100;

	return sorted[k < 1 ? 0 : k - 1];
}

long long
bench_occurrences(const char *text, const char *what)
{
	long long n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

long long
bench_file_lines(const char *path, const char *what)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long long n = 0;

	if (fp == NULL)
		return 0;
	while (getline(&line, &cap, fp) != -1)
		if (strstr(line, what) != NULL)
			n++;
	free(line);
	fclose(fp);
	return n;
}

long long
bench_grew(json_t *before, json_t *after, const char *key, const char *key2)
{
	json_t *x = json_object_get(before, key), *y = json_object_get(after, key);

	if (key2 != NULL) {
		x = json_object_get(x, key2);
		y = json_object_get(y, key2);
	}
	return json_integer_value(y) - json_integer_value(x);
}

static pid_t
postmaster(void)
{
	const char *d = getenv("OL_PG_DIR");
	char *path, *text;
	pid_t pid = 0;

	if (d == NULL || getenv("OL_TEST_PG_URL_FILE") == NULL)
		return 0;
	path = xasprintf("%s/data/postmaster.pid", d);
	text = tmpdir_read(path, 4096);
	if (text != NULL)
		pid = (pid_t)atol(text);
	free(text);
	free(path);
	return pid;
}

/* pid's parent and utime + stime ticks from /proc/PID/stat; -1 when it is gone (a backend may
 * end at any moment). */
static int
proc_stat(pid_t pid, pid_t *ppid, long long *ticks)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *fp;
	int pp = 0, ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(buf, sizeof(buf), fp) != NULL && (p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut,
	    &st) == 3;
	fclose(fp);
	if (!ok)
		return -1;
	*ppid = (pid_t)pp;
	*ticks = (long long)(ut + st);
	return 0;
}

/* Each of the server's processes now, its ticks into last (a new one: first 0, or its ticks
 * when first is set). */
static int
pg_scan(struct bench_pgcpu *s, pid_t skip, int first)
{
	pid_t pm = postmaster();
	DIR *d;
	struct dirent *e;

	if (pm <= 0 || (d = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		pid_t pid, pp;
		long long t;
		int k;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)atol(e->d_name);
		if (pid == skip || proc_stat(pid, &pp, &t) == -1 || (pid != pm && pp != pm))
			continue;
		for (k = 0; k < s->n && s->pid[k] != pid; k++)
			;
		if (k == s->n) {
			if (s->n == BENCH_PG_PROCS_MAX)
				continue;
			s->pid[s->n] = pid;
			s->first[s->n++] = first ? t : 0;
		}
		if (t > s->last[k])
			s->last[k] = t;
	}
	closedir(d);
	return 0;
}

int
bench_pg_cpu_start(struct bench_pgcpu *s, pid_t skip)
{
	memset(s, 0, sizeof(*s));
	if (pg_scan(s, skip, 1) == -1) {
		s->n = -1;
		return -1;
	}
	return 0;
}

void
bench_pg_cpu_sample(struct bench_pgcpu *s, pid_t skip)
{
	if (s->n >= 0)
		(void)pg_scan(s, skip, 0);
}

double
bench_pg_cpu_s(const struct bench_pgcpu *s)
{
	long long t = 0;

	if (s->n < 0)
		return -1;
	for (int k = 0; k < s->n; k++)
		t += s->last[k] - s->first[k];
	return bench_ticks_sec(t);
}
