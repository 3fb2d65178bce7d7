/* mono.h: the monotonic clock, for tests that time answers and wait for deadlines, and the time
 * scale of those waits; and the wall clock, to compare with times another process stamped. */
#ifndef MONO_H
#define MONO_H

double mono_sec(void);	/* CLOCK_MONOTONIC in seconds */
long mono_ms(void);	/* the same in milliseconds */
double mono_wall_sec(void);	/* CLOCK_REALTIME in seconds since the epoch */

/* OL_TEST_TIME_SCALE: the factor (at least 1, default 1) of the tests' wall-clock waits. Under
 * valgrind memcheck olsync and the emulators run ten to fifty times slower, so a deadline met
 * in a normal run is missed there although nothing is wrong; scripts/valgrind.sh sets it. */
double mono_scale(void);
/* ms times the scale: a timeout, or a wait for something to happen (or to surely not). */
long mono_scaled(long ms);
/* Sleeps mono_scaled(ms). */
void mono_sleep(long ms);
/* Whether a test may assert how fast something happened (an answer within N ms): 1 at scale 1;
 * else 0, after a line on stderr that the check of what is skipped. Only such latency checks
 * are skipped: a bound that slowness cannot break (at least N ms) is kept. */
int mono_timing(const char *what);

#endif
