/* mono.h: the monotonic clock, for tests that time answers and wait for deadlines; and the
 * wall clock, to compare with times another process stamped. */
#ifndef MONO_H
#define MONO_H

double mono_sec(void);	/* CLOCK_MONOTONIC in seconds */
long mono_ms(void);	/* the same in milliseconds */
double mono_wall_sec(void);	/* CLOCK_REALTIME in seconds since the epoch */

#endif
