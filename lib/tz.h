/* tz.h: IANA time zones read from the system's TZif files (RFC 8536; /usr/share/zoneinfo or
 * $TZDIR): the UTC offset at an instant and wall clock -> UTC, and the Windows zone names Outlook
 * and Graph write resolved to IANA names, for the daemon (Task.ActivityDate, meetings'
 * dateTimeTimeZone) and graph-sim (calendars).
 *
 * The files are parsed here, not through TZ/tzset/localtime, so conversions are thread-safe and
 * never depend on the process's TZ. Times are seconds since the epoch as long long (no time_t
 * range limits, like isotime.h); a "local" time is the wall clock counted as if it were UTC. */
#ifndef OL_TZ_H
#define OL_TZ_H

#include <stddef.h>

#define TZ_NAME_MAX	64	/* longer zone names are refused */
#define TZ_CACHE_MAX	256	/* zones tz_load keeps parsed; more are the caller's per call */

struct tz;	/* a parsed zone; immutable, so any number of threads may read it */

/* 1 when name is an IANA name we are willing to open under the zone directory: not empty,
 * shorter than TZ_NAME_MAX, only [A-Za-z0-9/_+-], no leading '/', no empty component (so no
 * way out of the directory), and no "right/" zone (those count leap seconds, which neither Graph
 * nor Salesforce does). */
int tz_name_valid(const char *name);

/* The IANA name behind a zone name as Graph writes it in dateTimeTimeZone.timeZone or takes in
 * Prefer: outlook.timezone: a Windows zone name ("Pacific Standard Time", CLDR windowsZones.xml,
 * territory 001), a UTC alias ("UTC", "GMT", "Etc/UTC", "Coordinated Universal Time",
 * "tzone://Microsoft/Utc", ...) -> "Etc/UTC", or an IANA name as given (when tz_name_valid).
 * Windows names and aliases match case-insensitively; an IANA name is passed through as is.
 * NULL when zone is NULL or none of those; a name returned may still fail to load (tz_load says).
 * Borrowed: a static string, or zone itself. */
const char *tz_resolve(const char *zone);

/* The zone named name, loaded once per name for the life of the process: the name is looked
 * up in the cache before $TZDIR is read, so changing TZDIR later does not change a zone already
 * loaded. "UTC" and "Etc/UTC" are built in and need no file. NULL with err filled (err may be
 * NULL when errlen is 0) when the name is not valid or the file cannot be read or parsed.
 * Hand it back with tz_free when done: a no-op for a cached zone (borrowed until
 * tz_cache_clear), and frees the zone when the cache was full and it is the caller's alone.
 * Thread-safe. */
struct tz *tz_load(const char *name, char *err, size_t errlen);

/* The zone read afresh from $TZDIR now, bypassing the cache (for a long-running process that
 * wants tzdata updates, or a TZDIR change, to take effect). Caller frees with tz_free. NULL with
 * err as tz_load. */
struct tz *tz_open(const char *name, char *err, size_t errlen);

/* Releases a zone from tz_load or tz_open (see there); NULL is a no-op. */
void tz_free(struct tz *z);

/* Frees every cached zone. Only when no zone from tz_load is still in use (process exit,
 * tests under a leak checker). */
void tz_cache_clear(void);

/* The name the zone was loaded as. Borrowed from z. */
const char *tz_name(const struct tz *z);

/* Offset east of UTC, in seconds, in force at the instant utc: from the file's transitions,
 * before the first one the first type (local mean time), after the last one the POSIX TZ rule
 * of the file's footer when it has one. */
long tz_offset_at(const struct tz *z, long long utc);

/* Wall clock in z -> UTC. A wall time that does not exist (spring-forward gap) is read with the
 * offset in force before the gap, so it lands after the gap (as mktime does with tm_isdst = -1);
 * a wall time that occurs twice (fall back) is the earlier instant. */
long long tz_local_to_utc(const struct tz *z, long long local);

#endif
