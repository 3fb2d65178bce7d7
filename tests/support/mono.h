/* mono.h: the monotonic clock, for tests that time answers and wait for deadlines. */
#ifndef MONO_H
#define MONO_H

double mono_sec(void);	/* CLOCK_MONOTONIC in seconds */
long mono_ms(void);	/* the same in milliseconds */

#endif
