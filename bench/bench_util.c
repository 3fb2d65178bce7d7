/* bench_util.c: measuring helpers of the benchmarks (see bench_util.h). */
#include "bench_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpdir.h"

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
