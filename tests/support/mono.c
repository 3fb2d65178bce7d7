/* mono.c: see mono.h. */
#include "mono.h"

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
