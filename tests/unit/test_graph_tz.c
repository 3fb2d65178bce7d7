/* test_graph_tz.c: graph-sim's time zones (sim/graph/graph_tz.c): Windows names to IANA (and the
 * names refused), UTC offsets across the DST changes of New York, Berlin and Sydney, wall time to
 * UTC in gaps and overlaps, all-day spans on DST days, the POSIX footer rule of "slim" TZif files
 * (made with zic), and the ISO 8601 forms Graph reads and writes, rejected ones included. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static const struct {
	const char *in;
	const char *iana;	/* NULL: refused */
} name_cases[] = {
	{ "Pacific Standard Time", "America/Los_Angeles" },
	{ "pacific standard time", "America/Los_Angeles" },
	{ "Eastern Standard Time", "America/New_York" },
	{ "W. Europe Standard Time", "Europe/Berlin" },
	{ "GMT Standard Time", "Europe/London" },
	{ "India Standard Time", "Asia/Kolkata" },
	{ "AUS Eastern Standard Time", "Australia/Sydney" },
	{ "UTC", "Etc/UTC" },
	{ "utc", "Etc/UTC" },
	{ "Etc/UTC", "Etc/UTC" },
	{ "GMT", "Etc/UTC" },
	{ "Europe/Berlin", "Europe/Berlin" },
	{ "America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires" },
	{ "Etc/GMT+12", "Etc/GMT+12" },
	/* Refused before any file is opened: paths out of the zone directory, leap-second zones,
	 * names no zone has. */
	{ "../../etc/passwd", NULL },
	{ "/etc/passwd", NULL },
	{ "Europe//Berlin", NULL },
	{ "Europe/", NULL },
	{ "right/UTC", NULL },
	{ "Nowhere Standard Time", NULL },
	{ "", NULL },
	{ "Europe/Berlin\n", NULL },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL },
};

static void
test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const char *got = graph_tz_iana(name_cases[i].in);

		if (name_cases[i].iana == NULL) {
			if (got != NULL)
				fail_msg("\"%s\" resolved to %s, want refused", name_cases[i].in, got);
			if (graph_tz_known(name_cases[i].in))
				fail_msg("\"%s\" is known, want unknown", name_cases[i].in);
			continue;
		}
		if (got == NULL || strcmp(got, name_cases[i].iana) != 0)
			fail_msg("\"%s\": got %s, want %s", name_cases[i].in, got ? got : "NULL",
			    name_cases[i].iana);
		if (!graph_tz_known(name_cases[i].in))
			fail_msg("\"%s\" does not load", name_cases[i].in);
	}
	/* Well formed, but there is no such file. */
	assert_false(graph_tz_known("Nowhere/City"));
	assert_false(graph_tz_known(NULL));
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
}

static const struct {
	const char *zone;
	const char *utc;
	long offset;
} offset_cases[] = {
	/* New York: EST -> EDT at 2026-03-08 07:00Z, back at 2026-11-01 06:00Z. */
	{ "America/New_York", "2026-03-08T06:59:59Z", -5 * 3600 },
	{ "America/New_York", "2026-03-08T07:00:00Z", -4 * 3600 },
	{ "Eastern Standard Time", "2026-07-01T12:00:00Z", -4 * 3600 },
	{ "America/New_York", "2026-11-01T05:59:59Z", -4 * 3600 },
	{ "America/New_York", "2026-11-01T06:00:00Z", -5 * 3600 },
	/* Berlin: at 01:00Z on the last Sundays of March and October. */
	{ "Europe/Berlin", "2026-03-29T00:59:59Z", 3600 },
	{ "Europe/Berlin", "2026-03-29T01:00:00Z", 7200 },
	{ "W. Europe Standard Time", "2026-10-25T00:59:59Z", 7200 },
	{ "Europe/Berlin", "2026-10-25T01:00:00Z", 3600 },
	/* Sydney: daylight time spans the new year. */
	{ "Australia/Sydney", "2026-01-15T00:00:00Z", 11 * 3600 },
	{ "Australia/Sydney", "2026-04-04T15:59:59Z", 11 * 3600 },
	{ "Australia/Sydney", "2026-04-04T16:00:00Z", 10 * 3600 },
	{ "AUS Eastern Standard Time", "2026-10-03T15:59:59Z", 10 * 3600 },
	{ "Australia/Sydney", "2026-10-03T16:00:00Z", 11 * 3600 },
	/* Past the last transition of a fat file (2037): the footer rule. */
	{ "America/New_York", "2100-07-01T12:00:00Z", -4 * 3600 },
	{ "America/New_York", "2100-01-01T12:00:00Z", -5 * 3600 },
	/* No DST; half-hour and quarter-hour offsets. */
	{ "India Standard Time", "2026-06-01T00:00:00Z", 5 * 3600 + 1800 },
	{ "Asia/Kathmandu", "2026-06-01T00:00:00Z", 5 * 3600 + 2700 },
	{ "UTC", "2026-06-01T00:00:00Z", 0 },
	{ "Etc/GMT+12", "2026-06-01T00:00:00Z", -12 * 3600 },
	/* Before the first transition: local mean time (New York: -4:56:02). */
	{ "America/New_York", "1850-01-01T00:00:00Z", -(4 * 3600 + 56 * 60 + 2) },
};

static void
test_offsets(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(offset_cases) / sizeof(offset_cases[0]); i++) {
		long off = 12345;

		if (graph_tz_offset(offset_cases[i].zone, at(offset_cases[i].utc), &off) < 0)
			fail_msg("%s: unknown", offset_cases[i].zone);
		if (off != offset_cases[i].offset)
			fail_msg("%s at %s: offset %ld, want %ld", offset_cases[i].zone,
			    offset_cases[i].utc, off, offset_cases[i].offset);
	}
	{
		long off;

		assert_int_equal(graph_tz_offset("Nowhere/City", 0, &off), -1);
	}
}

static const struct {
	const char *zone;
	const char *local;
	const char *utc;
} to_utc_cases[] = {
	{ "America/New_York", "2026-07-01T09:00:00", "2026-07-01T13:00:00Z" },
	{ "America/New_York", "2026-01-05T09:00:00", "2026-01-05T14:00:00Z" },
	/* 02:30 does not exist on 2026-03-08: read as EST, it is 03:30 EDT. */
	{ "America/New_York", "2026-03-08T02:30:00", "2026-03-08T07:30:00Z" },
	{ "America/New_York", "2026-03-08T03:00:00", "2026-03-08T07:00:00Z" },
	/* 01:30 happens twice on 2026-11-01: the first (EDT) one. */
	{ "America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z" },
	{ "America/New_York", "2026-11-01T02:00:00", "2026-11-01T07:00:00Z" },
	{ "Europe/Berlin", "2026-03-29T02:30:00", "2026-03-29T01:30:00Z" },
	{ "Europe/Berlin", "2026-10-25T02:30:00", "2026-10-25T00:30:00Z" },
	{ "Europe/Berlin", "2026-10-25T03:00:00", "2026-10-25T02:00:00Z" },
	{ "Pacific Standard Time", "2026-01-05T09:00:00", "2026-01-05T17:00:00Z" },
	{ "Australia/Sydney", "2026-04-05T02:30:00", "2026-04-04T15:30:00Z" },
	{ "UTC", "2026-01-05T09:00:00", "2026-01-05T09:00:00Z" },
};

static void
test_to_utc(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(to_utc_cases) / sizeof(to_utc_cases[0]); i++) {
		long long utc = 0, back = 0;
		char buf[40];

		if (graph_tz_to_utc(to_utc_cases[i].zone, at(to_utc_cases[i].local), &utc) < 0)
			fail_msg("%s: unknown", to_utc_cases[i].zone);
		isotime_format(utc, 0, 0, "Z", buf, sizeof(buf));
		if (strcmp(buf, to_utc_cases[i].utc) != 0)
			fail_msg("%s %s: got %s, want %s", to_utc_cases[i].zone,
			    to_utc_cases[i].local, buf, to_utc_cases[i].utc);
		/* And back, except in the gap, whose wall time never shows on a clock. */
		assert_int_equal(graph_tz_from_utc(to_utc_cases[i].zone, utc, &back), 0);
		if (back != at(to_utc_cases[i].local) &&
		    strcmp(to_utc_cases[i].local + 10, "T02:30:00") != 0)
			fail_msg("%s %s: round trip gave %lld", to_utc_cases[i].zone,
			    to_utc_cases[i].local, back);
	}
}

/* All-day events: midnight to midnight in the event's zone; on a DST day the span is 23 or
 * 25 hours of real time, and the end is the next day's midnight (exclusive). */
static const struct {
	const char *zone;
	const char *day, *next;
	long long hours;
	const char *start_utc;
} all_day_cases[] = {
	{ "Europe/Berlin", "2026-03-29T00:00:00", "2026-03-30T00:00:00", 23,
	    "2026-03-28T23:00:00Z" },
	{ "Europe/Berlin", "2026-10-25T00:00:00", "2026-10-26T00:00:00", 25,
	    "2026-10-24T22:00:00Z" },
	{ "America/New_York", "2026-03-08T00:00:00", "2026-03-09T00:00:00", 23,
	    "2026-03-08T05:00:00Z" },
	{ "America/New_York", "2026-11-01T00:00:00", "2026-11-02T00:00:00", 25,
	    "2026-11-01T04:00:00Z" },
	{ "America/New_York", "2026-06-10T00:00:00", "2026-06-11T00:00:00", 24,
	    "2026-06-10T04:00:00Z" },
};

static void
test_all_day(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_day_cases) / sizeof(all_day_cases[0]); i++) {
		long long s, e;
		char buf[40];

		assert_int_equal(graph_tz_to_utc(all_day_cases[i].zone, at(all_day_cases[i].day),
		    &s), 0);
		assert_int_equal(graph_tz_to_utc(all_day_cases[i].zone, at(all_day_cases[i].next),
		    &e), 0);
		isotime_format(s, 0, 0, "Z", buf, sizeof(buf));
		if (strcmp(buf, all_day_cases[i].start_utc) != 0)
			fail_msg("%s %s starts %s, want %s", all_day_cases[i].zone,
			    all_day_cases[i].day, buf, all_day_cases[i].start_utc);
		if (e - s != all_day_cases[i].hours * 3600)
			fail_msg("%s %s lasts %lld s, want %lld h", all_day_cases[i].zone,
			    all_day_cases[i].day, e - s, all_day_cases[i].hours);
	}
}

/* Slim TZif files (zic -b slim) have no transitions for rules that run forever: everything
 * comes from the POSIX TZ footer. Their offsets must equal the fat system files'. */
static void
test_footer_rule(void **state)
{
	static const char src[] =
	    "Rule US 2007 max - Mar Sun>=8 2:00 1:00 D\n"
	    "Rule US 2007 max - Nov Sun>=1 2:00 0 S\n"
	    "Zone Slim/NY -5:00 US E%sT\n"
	    "Rule AN 2008 max - Apr Sun>=1 2:00s 0 S\n"
	    "Rule AN 2008 max - Oct Sun>=1 2:00s 1:00 D\n"
	    "Zone Slim/Syd 10:00 AN AE%sT\n"
	    "Rule EU 1981 max - Mar lastSun 1:00u 1:00 S\n"
	    "Rule EU 1996 max - Oct lastSun 1:00u 0 -\n"
	    "Zone Slim/Berlin 1:00 EU CE%sT\n";
	char dir[] = "/tmp/graph-tz-XXXXXX", path[256], cmd[600];
	const char *old = getenv("TZDIR");
	char *saved = old ? strdup(old) : NULL;
	static const struct {
		const char *slim, *fat;
	} pairs[] = {
		{ "Slim/NY", "America/New_York" },
		{ "Slim/Syd", "Australia/Sydney" },
		{ "Slim/Berlin", "Europe/Berlin" },
	};
	FILE *f;
	int rc;

	(void)state;
	if (access("/usr/sbin/zic", X_OK) != 0 && system("command -v zic >/dev/null") != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/src", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "PATH=$PATH:/usr/sbin zic -b slim -d %s/zones %s", dir, path);
	rc = system(cmd);
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);

	/* Fat zones are loaded (and cached) from the system first, then TZDIR points at ours. */
	for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++)
		assert_true(graph_tz_known(pairs[p].fat));
	snprintf(path, sizeof(path), "%s/zones", dir);
	setenv("TZDIR", path, 1);
	for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
		/* Every 6 hours for five years: every transition is passed. */
		for (long long t = at("2025-01-01T00:00:00Z"); t < at("2030-01-01T00:00:00Z");
		    t += 6 * 3600 + 17) {
			long a, b;

			assert_int_equal(graph_tz_offset(pairs[p].slim, t, &a), 0);
			assert_int_equal(graph_tz_offset(pairs[p].fat, t, &b), 0);
			if (a != b)
				fail_msg("%s at %lld: footer offset %ld, file %ld", pairs[p].slim, t,
				    a, b);
		}
	}
	if (saved) {
		setenv("TZDIR", saved, 1);
		free(saved);
	} else {
		unsetenv("TZDIR");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
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

static void
test_format_and_days(void **state)
{
	char buf[40];
	int y, m, d;

	(void)state;
	isotime_format(at("2016-12-09T20:30:00Z"), 7, 0, "", buf, sizeof(buf));
	assert_string_equal(buf, "2016-12-09T20:30:00.0000000");
	isotime_format(-1, 0, 0, "Z", buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	/* Round trip of day numbers over four centuries, and the weekday of known dates. */
	for (long long day = -146097; day < 146097 * 2; day += 97) {
		isotime_civil(day, &y, &m, &d);
		assert_int_equal(isotime_days(y, m, d), day);
	}
	assert_int_equal(isotime_weekday(isotime_days(2026, 1, 5)), 1);	/* Monday */
	assert_int_equal(isotime_weekday(isotime_days(1970, 1, 1)), 4);	/* Thursday */
	assert_int_equal(isotime_weekday(isotime_days(2000, 2, 29)), 2);	/* Tuesday */
	assert_int_equal(isotime_month_days(2024, 2), 29);
	assert_int_equal(isotime_month_days(2100, 2), 28);
	assert_int_equal(isotime_month_days(2000, 2), 29);
	assert_int_equal(isotime_month_days(2026, 13), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_windows_common),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_to_utc),
		cmocka_unit_test(test_all_day),
		cmocka_unit_test(test_footer_rule),
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_format_and_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
