/* mono.c: see mono.h. */
#include "mono.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
sec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
mono_sec(void)
{
	return sec(CLOCK_MONOTONIC);
}

double
mono_wall_sec(void)
{
	return sec(CLOCK_REALTIME);
}

long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

double
mono_scale(void)
{
	const char *v = getenv("OL_TEST_TIME_SCALE");
	char *end;
	double f;

	if (v == NULL || *v == '\0')
		return 1;
	f = strtod(v, &end);
	/* A scale below 1 would shorten the normal run's waits: refused, not applied. */
	if (*end != '\0' || !(f >= 1 && f <= 1000)) {
		fprintf(stderr, "OL_TEST_TIME_SCALE=%s is not a factor from 1 to 1000\n", v);
		exit(2);
	}
	return f;
}

long
mono_scaled(long ms)
{
	return (long)((double)ms * mono_scale());
}

void
mono_sleep(long ms)
{
	long t = mono_scaled(ms);
	struct timespec ts = { t / 1000, (t % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

int
mono_timing(const char *what)
{
	double f = mono_scale();

	if (f == 1)
		return 1;
	fprintf(stderr, "timing check skipped at OL_TEST_TIME_SCALE=%g (valgrind): %s\n", f, what);
	return 0;
}
