/* crashpoint.h: named commit points where a test can kill olsync hard, to check that a run cut
 * short anywhere and run again ends exactly as an uninterrupted run (tests/integration/
 * test_crash.c, bench/crash.sh). For tests only: unset, it does nothing and costs a load and a
 * branch. */
#ifndef OL_CRASHPOINT_H
#define OL_CRASHPOINT_H

/* The variable that arms the points, read and parsed once, at the first point reached:
 *   NAME:N     raise(SIGKILL) the Nth time (N >= 1) the point NAME is reached
 *   any:N      the same, counting every point
 *   count:PATH kill nobody; at exit, write "NAME COUNT" lines (the points reached) to PATH
 * Anything else leaves the points inert (one warning). Armed, one line is logged. */
#define CRASHPOINT_ENV		"OLSYNC_CRASH_AT"
#define CRASHPOINT_NAME_MAX	64	/* longer names are not armed */
#define CRASHPOINT_NAMES_MAX	64	/* count mode: distinct names kept */

/* A commit point named name (a literal: borrowed for the life of the process). Thread-safe. */
void crashpoint(const char *name);

#endif
