/* graph_tz.c: time zones the way Graph names them (see graph_tz.h): Windows names and Graph's UTC
 * aliases resolved by lib/tz (tz_resolve, shared with the daemon), conversions on those names, and
 * ISO 8601 parsing in the shapes Graph accepts. */
#include "graph_tz.h"

#include <string.h>

#include "isotime.h"
#include "tz.h"

/* Zones and offsets --------------------------------------------------------------------------*/

/* The zone behind a Graph zone name (see tz_load: released with tz_free), or NULL. */
static struct tz *
zone_get(const char *zone)
{
	const char *iana = tz_resolve(zone);

	return iana != NULL ? tz_load(iana, NULL, 0) : NULL;
}

int
graph_tz_known(const char *zone)
{
	long off;

	return graph_tz_offset(zone, 0, &off) == 0;
}

int
graph_tz_offset(const char *zone, long long utc, long *offset)
{
	struct tz *z;

	if ((z = zone_get(zone)) == NULL)
		return -1;
	*offset = tz_offset_at(z, utc);
	tz_free(z);
	return 0;
}

int
graph_tz_from_utc(const char *zone, long long utc, long long *local)
{
	long off;

	if (graph_tz_offset(zone, utc, &off) < 0)
		return -1;
	*local = utc + off;
	return 0;
}

int
graph_tz_to_utc(const char *zone, long long local, long long *utc)
{
	struct tz *z;

	if ((z = zone_get(zone)) == NULL)
		return -1;
	*utc = tz_local_to_utc(z, local);
	tz_free(z);
	return 0;
}

/* ISO 8601 -----------------------------------------------------------------------------------*/

int
graph_tz_parse_iso(const char *s, long long *secs, int *has_offset)
{
	struct isotime t;

	if (s == NULL)
		return -1;
	while (*s == ' ')
		s++;
	/* A fraction only after seconds (and dropped); the offset's minutes may be left off. */
	if (isotime_parse(s, strlen(s), &t) < 0 || t.year < 1 || t.sec > 59 ||
	    (t.nfrac > 0 && !t.has_sec))
		return -1;
	*has_offset = t.zone != 0;
	*secs = t.utc;
	return 0;
}
