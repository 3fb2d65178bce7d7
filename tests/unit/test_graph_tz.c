/* test_graph_tz.c: graph-sim's time zones (sim/graph/graph_tz.c): the common Windows zones known,
 * the graph_tz_* conversions on Windows names, UTC aliases and IANA names (the name resolution and
 * zone math themselves are lib/tz's, tested in test_tz.c), and the ISO 8601 forms Graph reads and
 * writes, rejected ones included. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_tz.h"
#include "isotime.h"

/* Seconds since the epoch of a UTC ISO string; fails the test when it does not parse. */
static long long
at(const char *iso)
{
	long long v;
	int off;

	if (graph_tz_parse_iso(iso, &v, &off) < 0)
		fail_msg("test data: bad time %s", iso);
	return v;
}

/* The common Windows zones each resolve and load (the reference wants at least 40). */
static const char *const windows_common[] = {
	"Dateline Standard Time", "Hawaiian Standard Time", "Alaskan Standard Time",
	"Pacific Standard Time", "US Mountain Standard Time", "Mountain Standard Time",
	"Central America Standard Time", "Central Standard Time",
	"Central Standard Time (Mexico)", "Canada Central Standard Time",
	"SA Pacific Standard Time", "Eastern Standard Time", "US Eastern Standard Time",
	"Atlantic Standard Time", "Venezuela Standard Time", "SA Western Standard Time",
	"Pacific SA Standard Time", "Newfoundland Standard Time",
	"E. South America Standard Time", "Argentina Standard Time", "SA Eastern Standard Time",
	"Greenland Standard Time", "Azores Standard Time", "Cape Verde Standard Time", "UTC",
	"GMT Standard Time", "Greenwich Standard Time", "Morocco Standard Time",
	"W. Europe Standard Time", "Central Europe Standard Time", "Romance Standard Time",
	"Central European Standard Time", "W. Central Africa Standard Time",
	"GTB Standard Time", "Egypt Standard Time", "South Africa Standard Time",
	"FLE Standard Time", "Israel Standard Time", "Turkey Standard Time",
	"Arab Standard Time", "Russian Standard Time", "E. Africa Standard Time",
	"Iran Standard Time", "Arabian Standard Time", "Pakistan Standard Time",
	"India Standard Time", "Nepal Standard Time", "Bangladesh Standard Time",
	"SE Asia Standard Time", "China Standard Time", "Singapore Standard Time",
	"W. Australia Standard Time", "Taipei Standard Time", "Tokyo Standard Time",
	"Korea Standard Time", "Cen. Australia Standard Time", "E. Australia Standard Time",
	"AUS Eastern Standard Time", "New Zealand Standard Time", "Tonga Standard Time",
};

static void
test_windows_common(void **state)
{
	(void)state;
	assert_true(sizeof(windows_common) / sizeof(windows_common[0]) >= 40);
	for (size_t i = 0; i < sizeof(windows_common) / sizeof(windows_common[0]); i++)
		if (!graph_tz_known(windows_common[i]))
			fail_msg("Windows zone \"%s\" does not resolve", windows_common[i]);
	/* Resolved (tz_resolve, tested in test_tz.c) but no such file; no name at all. */
	assert_false(graph_tz_known("Nowhere/City"));
	assert_false(graph_tz_known(NULL));
}

/* The conversions through Graph's names: a Windows name or UTC alias gives the same answers as
 * its IANA zone, and an unknown name fails rather than meaning UTC. */
static const struct {
	const char *zone;
	const char *local;		/* wall clock in zone */
	const char *utc;		/* NULL: zone unknown */
	long offset;			/* at utc */
} convert_cases[] = {
	{ "Eastern Standard Time", "2026-07-01T09:00:00", "2026-07-01T13:00:00Z", -4 * 3600 },
	{ "eastern standard time", "2026-01-05T09:00:00", "2026-01-05T14:00:00Z", -5 * 3600 },
	{ "Eastern Standard Time", "2026-03-08T02:30:00", "2026-03-08T07:30:00Z", -4 * 3600 },
	{ "Eastern Standard Time", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z", -4 * 3600 },
	{ "W. Europe Standard Time", "2026-10-25T02:30:00", "2026-10-25T00:30:00Z", 7200 },
	{ "Pacific Standard Time", "2026-01-05T09:00:00", "2026-01-05T17:00:00Z", -8 * 3600 },
	{ "AUS Eastern Standard Time", "2026-04-05T02:30:00", "2026-04-04T15:30:00Z", 11 * 3600 },
	{ "India Standard Time", "2026-06-01T05:30:00", "2026-06-01T00:00:00Z", 5 * 3600 + 1800 },
	{ "Dateline Standard Time", "2026-06-01T00:00:00", "2026-06-01T12:00:00Z", -12 * 3600 },
	{ "Europe/Berlin", "2026-03-29T02:30:00", "2026-03-29T01:30:00Z", 7200 },
	{ "UTC", "2026-01-05T09:00:00", "2026-01-05T09:00:00Z", 0 },
	{ "Coordinated Universal Time", "2026-01-05T09:00:00", "2026-01-05T09:00:00Z", 0 },
	{ "tzone://Microsoft/Utc", "2026-01-05T09:00:00", "2026-01-05T09:00:00Z", 0 },
	{ "Zulu", "2026-01-05T09:00:00", "2026-01-05T09:00:00Z", 0 },
	{ "Nowhere Standard Time", "2026-01-05T09:00:00", NULL, 0 },
	{ "Nowhere/City", "2026-01-05T09:00:00", NULL, 0 },
	{ "../../etc/passwd", "2026-01-05T09:00:00", NULL, 0 },
};

static void
test_convert(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(convert_cases) / sizeof(convert_cases[0]); i++) {
		const char *zone = convert_cases[i].zone;
		long long utc = 0, local = 0;
		long off = 12345;
		char buf[40];

		if (convert_cases[i].utc == NULL) {
			if (graph_tz_to_utc(zone, at(convert_cases[i].local), &utc) != -1 ||
			    graph_tz_from_utc(zone, 0, &local) != -1 ||
			    graph_tz_offset(zone, 0, &off) != -1)
				fail_msg("\"%s\" converts, want unknown", zone);
			continue;
		}
		if (graph_tz_to_utc(zone, at(convert_cases[i].local), &utc) < 0)
			fail_msg("%s: unknown", zone);
		isotime_format(utc, 0, 0, "Z", buf, sizeof(buf));
		if (strcmp(buf, convert_cases[i].utc) != 0)
			fail_msg("%s %s: got %s, want %s", zone, convert_cases[i].local, buf,
			    convert_cases[i].utc);
		assert_int_equal(graph_tz_offset(zone, utc, &off), 0);
		if (off != convert_cases[i].offset)
			fail_msg("%s at %s: offset %ld, want %ld", zone, buf, off,
			    convert_cases[i].offset);
		assert_int_equal(graph_tz_from_utc(zone, utc, &local), 0);
		assert_int_equal(local, utc + off);
	}
}

static const struct {
	const char *in;
	int ok;
	int has_offset;
	const char *utc;	/* formatted with zulu */
} iso_cases[] = {
	{ "2026-01-05T09:00:00", 1, 0, "2026-01-05T09:00:00Z" },
	{ "2026-01-05T09:00:00.0000000", 1, 0, "2026-01-05T09:00:00Z" },
	{ "2026-01-05T09:00:00.1234567Z", 1, 1, "2026-01-05T09:00:00Z" },
	{ "2026-01-05T09:00", 1, 0, "2026-01-05T09:00:00Z" },
	{ "2026-01-05T09:00:00Z", 1, 1, "2026-01-05T09:00:00Z" },
	{ "2026-01-05T09:00:00+02:00", 1, 1, "2026-01-05T07:00:00Z" },
	{ "2026-01-05T09:00:00-0530", 1, 1, "2026-01-05T14:30:00Z" },
	{ "2026-01-05T01:00:00+05", 1, 1, "2026-01-04T20:00:00Z" },
	{ "2026-01-05", 1, 0, "2026-01-05T00:00:00Z" },
	{ "2024-02-29T00:00:00", 1, 0, "2024-02-29T00:00:00Z" },
	{ "1969-12-31T23:59:59Z", 1, 1, "1969-12-31T23:59:59Z" },
	{ "2026-13-01T00:00:00", 0, 0, NULL },
	{ "2026-02-29T00:00:00", 0, 0, NULL },
	{ "2026-01-05T24:00:00", 0, 0, NULL },
	{ "2026-01-05T09:60:00", 0, 0, NULL },
	{ "2026-01-05T09:00:00+25:00", 0, 0, NULL },
	{ "2026-01-05T09:00:00Zjunk", 0, 0, NULL },
	{ "2026-01-05T09:00:00.", 0, 0, NULL },
	{ "2026-1-5", 0, 0, NULL },
	{ "0000-01-01", 0, 0, NULL },
	{ "garbage", 0, 0, NULL },
	{ "", 0, 0, NULL },
};

static void
test_iso(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(iso_cases) / sizeof(iso_cases[0]); i++) {
		long long v;
		int off = -1, rc = graph_tz_parse_iso(iso_cases[i].in, &v, &off);
		char buf[40];

		if (!iso_cases[i].ok) {
			if (rc == 0)
				fail_msg("\"%s\" parsed, want refused", iso_cases[i].in);
			continue;
		}
		if (rc < 0)
			fail_msg("\"%s\" refused", iso_cases[i].in);
		isotime_format(v, 0, 0, "Z", buf, sizeof(buf));
		if (strcmp(buf, iso_cases[i].utc) != 0 || off != iso_cases[i].has_offset)
			fail_msg("\"%s\": %s offset %d, want %s offset %d", iso_cases[i].in, buf, off,
			    iso_cases[i].utc, iso_cases[i].has_offset);
	}
	assert_int_equal(graph_tz_parse_iso(NULL, NULL, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_common),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_iso),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
