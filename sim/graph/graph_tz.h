/* graph_tz.h: time zones for graph-sim's calendars: local wall time <-> UTC in zones named as
 * Graph names them (Windows names such as "Pacific Standard Time", UTC aliases, IANA names; all
 * resolved by tz_resolve and computed by lib/tz: TZif files, thread-safe, zones cached for the
 * life of the process), and the ISO 8601 forms Graph reads and writes.
 *
 * Times are seconds since the epoch; a "local" time is the wall clock counted as if it were UTC.
 * A zone argument is a name as Graph writes it; an unknown one fails rather than meaning UTC. */
#ifndef GRAPH_TZ_H
#define GRAPH_TZ_H

#include <stddef.h>

#define GRAPH_TZ_NAME_MAX	64	/* longer zone names are refused (as TZ_NAME_MAX) */

/* 1 when zone resolves to a zone whose data loads, else 0. */
int graph_tz_known(const char *zone);

/* Offset east of UTC, in seconds, in zone at the instant utc. -1 when zone is unknown. */
int graph_tz_offset(const char *zone, long long utc, long *offset);

/* UTC -> wall clock in zone. -1 when zone is unknown. */
int graph_tz_from_utc(const char *zone, long long utc, long long *local);

/* Wall clock in zone -> UTC. A wall time that does not exist (spring forward gap) is read with
 * the offset in force before the gap, so it lands after the gap (as mktime does with
 * tm_isdst = -1); a wall time that occurs twice (fall back) is the earlier instant (see
 * tz_local_to_utc). -1 when zone is unknown. */
int graph_tz_to_utc(const char *zone, long long local, long long *utc);

/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fraction]]" with an optional "Z" or "+HH:MM" /
 * "+HHMM" / "+HH" offset. Fractions are dropped. *secs is the instant when an offset was given
 * (*has_offset = 1), else the wall clock (*has_offset = 0). -1 when malformed or out of range
 * (years 1..9999). */
int graph_tz_parse_iso(const char *s, long long *secs, int *has_offset);

#endif
