/* test_tz.c: lib/tz, the one TZif reader of the daemon and graph-sim: names refused before any file
 * is opened, Windows zone names and UTC aliases resolved to IANA names, UTC offsets across the DST changes of New York, Berlin and Sydney, wall time to UTC
 * in gaps and overlaps, all-day spans on DST days, the POSIX footer rule (slim files made with
 * zic, and hand-made files), malformed files refused, the cache, and the calendar arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isotime.h"
#include "tz.h"

/* Seconds since the epoch of an ISO string: the instant when it has a zone, else the wall
 * clock. Fails the test when it does not parse. */
static long long
at(const char *iso)
{
	struct isotime t;

	if (isotime_parse(iso, strlen(iso), &t) < 0)
		fail_msg("test data: bad time %s", iso);
	return t.utc;
}

/* Loads name (cached) or fails the test. */
static struct tz *
must_load(const char *name)
{
	char err[256] = "";
	struct tz *z = tz_load(name, err, sizeof(err));

	if (z == NULL)
		fail_msg("%s does not load: %s", name, err);
	return z;
}

/* Points TZDIR at dir (NULL: unset); returns the old value (caller frees) for restore_tzdir. */
static char *
set_tzdir(const char *dir)
{
	const char *old = getenv("TZDIR");
	char *saved = old ? strdup(old) : NULL;

	if (dir != NULL)
		setenv("TZDIR", dir, 1);
	else
		unsetenv("TZDIR");
	return saved;
}

static void
restore_tzdir(char *saved)
{
	if (saved) {
		setenv("TZDIR", saved, 1);
		free(saved);
	} else {
		unsetenv("TZDIR");
	}
}

static void
rm_rf(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static const struct {
	const char *name;
	int valid;
} name_cases[] = {
	{ "Europe/Berlin", 1 },
	{ "America/Argentina/Buenos_Aires", 1 },
	{ "Etc/GMT+12", 1 },
	{ "Etc/GMT-14", 1 },
	{ "UTC", 1 },
	{ "America/Port-au-Prince", 1 },
	/* Out of the zone directory, leap-second zones, characters no zone name has. */
	{ "../../etc/passwd", 0 },
	{ "/etc/passwd", 0 },
	{ "Europe//Berlin", 0 },
	{ "Europe/", 0 },
	{ "right/UTC", 0 },
	{ "Europe/Berlin\n", 0 },
	{ "Europe/Ber lin", 0 },
	{ "Pacific Standard Time", 0 },	/* a Windows name: tz_resolve maps those */
	{ "", 0 },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0 },	/* 65 */
	{ NULL, 0 },
};

static void
test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const char *n = name_cases[i].name;
		char err[256] = "";
		struct tz *z;

		if (tz_name_valid(n) != name_cases[i].valid)
			fail_msg("\"%s\": valid %d, want %d", n ? n : "NULL", !name_cases[i].valid,
			    name_cases[i].valid);
		z = tz_load(n, err, sizeof(err));
		if (!name_cases[i].valid) {
			if (z != NULL)
				fail_msg("\"%s\" loaded, want refused", n ? n : "NULL");
			if (strcmp(err, "not a time zone name") != 0)
				fail_msg("\"%s\": error \"%s\"", n ? n : "NULL", err);
			assert_null(tz_open(n, NULL, 0));
			continue;
		}
		if (z == NULL)
			fail_msg("\"%s\" does not load: %s", n, err);
		assert_string_equal(tz_name(z), n);
		tz_free(z);
	}
	/* Well formed, but there is no such file: the error says where we looked. */
	{
		char err[256] = "";

		assert_null(tz_load("Nowhere/City", err, sizeof(err)));
		assert_non_null(strstr(err, "Nowhere/City"));
		assert_null(tz_load("Nowhere/City", NULL, 0));
	}
}

/* Zone names as Graph writes them -> IANA (tz_resolve). NULL: refused. */
static const struct {
	const char *in;
	const char *iana;
} resolve_cases[] = {
	/* Windows names, case-insensitive. */
	{ "Pacific Standard Time", "America/Los_Angeles" },
	{ "pacific standard time", "America/Los_Angeles" },
	{ "PACIFIC STANDARD TIME", "America/Los_Angeles" },
	{ "Pacific Standard Time (Mexico)", "America/Tijuana" },
	{ "Eastern Standard Time", "America/New_York" },
	{ "W. Europe Standard Time", "Europe/Berlin" },
	{ "GMT Standard Time", "Europe/London" },
	{ "India Standard Time", "Asia/Kolkata" },
	{ "AUS Eastern Standard Time", "Australia/Sydney" },
	/* The POSIX sign of Etc/GMT zones is the opposite of the Windows name's. */
	{ "UTC-11", "Etc/GMT+11" },
	{ "UTC+12", "Etc/GMT-12" },
	{ "Dateline Standard Time", "Etc/GMT+12" },
	/* UTC aliases, case-insensitive. */
	{ "UTC", "Etc/UTC" },
	{ "utc", "Etc/UTC" },
	{ "Etc/UTC", "Etc/UTC" },
	{ "GMT", "Etc/UTC" },
	{ "Zulu", "Etc/UTC" },
	{ "Coordinated Universal Time", "Etc/UTC" },
	{ "tzone://Microsoft/Utc", "Etc/UTC" },
	{ "TZONE://MICROSOFT/UTC", "Etc/UTC" },
	/* IANA names pass through as given (zone files are case-sensitive: not folded). */
	{ "Europe/Berlin", "Europe/Berlin" },
	{ "America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires" },
	{ "Etc/GMT+12", "Etc/GMT+12" },
	{ "europe/berlin", "europe/berlin" },
	{ "Nowhere/City", "Nowhere/City" },	/* well formed: tz_load is the one to refuse */
	/* Refused: no such Windows name, Outlook's legacy custom zone, paths out of the zone
	 * directory, leap-second zones. */
	{ "Nowhere Standard Time", NULL },
	{ "Pacific Standard Time ", NULL },
	{ "tzone://Microsoft/Custom", NULL },
	{ "../../etc/passwd", NULL },
	{ "/etc/passwd", NULL },
	{ "Europe//Berlin", NULL },
	{ "right/UTC", NULL },
	{ "Europe/Berlin\n", NULL },
	{ "", NULL },
	{ NULL, NULL },
};

static void
test_resolve(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(resolve_cases) / sizeof(resolve_cases[0]); i++) {
		const char *in = resolve_cases[i].in, *want = resolve_cases[i].iana;
		const char *got = tz_resolve(in);

		if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
			fail_msg("\"%s\": got %s, want %s", in ? in : "NULL", got ? got : "NULL",
			    want ? want : "NULL");
	}
	/* A Windows name resolves to a zone that loads. */
	tz_free(must_load(tz_resolve("Tokyo Standard Time")));
}

static const struct {
	const char *zone;
	const char *utc;
	long offset;
} offset_cases[] = {
	/* New York: EST -> EDT at 2026-03-08 07:00Z, back at 2026-11-01 06:00Z. */
	{ "America/New_York", "2026-03-08T06:59:59Z", -5 * 3600 },
	{ "America/New_York", "2026-03-08T07:00:00Z", -4 * 3600 },
	{ "America/New_York", "2026-07-01T12:00:00Z", -4 * 3600 },
	{ "America/New_York", "2026-11-01T05:59:59Z", -4 * 3600 },
	{ "America/New_York", "2026-11-01T06:00:00Z", -5 * 3600 },
	/* Berlin: at 01:00Z on the last Sundays of March and October. */
	{ "Europe/Berlin", "2026-03-29T00:59:59Z", 3600 },
	{ "Europe/Berlin", "2026-03-29T01:00:00Z", 7200 },
	{ "Europe/Berlin", "2026-10-25T00:59:59Z", 7200 },
	{ "Europe/Berlin", "2026-10-25T01:00:00Z", 3600 },
	/* Sydney: daylight time spans the new year. */
	{ "Australia/Sydney", "2026-01-15T00:00:00Z", 11 * 3600 },
	{ "Australia/Sydney", "2026-04-04T15:59:59Z", 11 * 3600 },
	{ "Australia/Sydney", "2026-04-04T16:00:00Z", 10 * 3600 },
	{ "Australia/Sydney", "2026-10-03T15:59:59Z", 10 * 3600 },
	{ "Australia/Sydney", "2026-10-03T16:00:00Z", 11 * 3600 },
	/* Past the last transition of a fat file (2037): the footer rule. */
	{ "America/New_York", "2100-07-01T12:00:00Z", -4 * 3600 },
	{ "America/New_York", "2100-01-01T12:00:00Z", -5 * 3600 },
	{ "Europe/Paris", "2040-07-01T22:30:00Z", 7200 },
	{ "Australia/Sydney", "2040-10-07T13:30:00Z", 11 * 3600 },
	{ "Australia/Sydney", "2040-07-04T13:30:00Z", 10 * 3600 },
	/* No DST; half-hour and quarter-hour offsets. */
	{ "Asia/Kolkata", "2026-06-01T00:00:00Z", 5 * 3600 + 1800 },
	{ "Asia/Kathmandu", "2026-06-01T00:00:00Z", 5 * 3600 + 2700 },
	{ "UTC", "2026-06-01T00:00:00Z", 0 },
	{ "Etc/UTC", "2126-06-01T00:00:00Z", 0 },
	{ "Etc/GMT+12", "2026-06-01T00:00:00Z", -12 * 3600 },
	/* Before the first transition: local mean time (New York: -4:56:02). */
	{ "America/New_York", "1850-01-01T00:00:00Z", -(4 * 3600 + 56 * 60 + 2) },
};

static void
test_offsets(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(offset_cases) / sizeof(offset_cases[0]); i++) {
		struct tz *z = must_load(offset_cases[i].zone);
		long off = tz_offset_at(z, at(offset_cases[i].utc));

		if (off != offset_cases[i].offset)
			fail_msg("%s at %s: offset %ld, want %ld", offset_cases[i].zone,
			    offset_cases[i].utc, off, offset_cases[i].offset);
		tz_free(z);
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
	{ "America/Los_Angeles", "2026-01-05T09:00:00", "2026-01-05T17:00:00Z" },
	{ "Australia/Sydney", "2026-04-05T02:30:00", "2026-04-04T15:30:00Z" },
	/* Past 2037, from the footer rule: gap and overlap alike. */
	{ "America/New_York", "2040-03-11T02:30:00", "2040-03-11T07:30:00Z" },
	{ "America/New_York", "2040-11-04T01:30:00", "2040-11-04T05:30:00Z" },
	{ "UTC", "2026-01-05T09:00:00", "2026-01-05T09:00:00Z" },
};

static void
test_to_utc(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(to_utc_cases) / sizeof(to_utc_cases[0]); i++) {
		struct tz *z = must_load(to_utc_cases[i].zone);
		long long utc = tz_local_to_utc(z, at(to_utc_cases[i].local));
		char buf[40];

		isotime_format(utc, 0, 0, "Z", buf, sizeof(buf));
		if (strcmp(buf, to_utc_cases[i].utc) != 0)
			fail_msg("%s %s: got %s, want %s", to_utc_cases[i].zone,
			    to_utc_cases[i].local, buf, to_utc_cases[i].utc);
		/* And back, except in the gap, whose wall time never shows on a clock. */
		if (utc + tz_offset_at(z, utc) != at(to_utc_cases[i].local) &&
		    strcmp(to_utc_cases[i].local + 10, "T02:30:00") != 0)
			fail_msg("%s %s: round trip gave %lld", to_utc_cases[i].zone,
			    to_utc_cases[i].local, utc + tz_offset_at(z, utc));
		tz_free(z);
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
		struct tz *z = must_load(all_day_cases[i].zone);
		long long s = tz_local_to_utc(z, at(all_day_cases[i].day));
		long long e = tz_local_to_utc(z, at(all_day_cases[i].next));
		char buf[40];

		isotime_format(s, 0, 0, "Z", buf, sizeof(buf));
		if (strcmp(buf, all_day_cases[i].start_utc) != 0)
			fail_msg("%s %s starts %s, want %s", all_day_cases[i].zone,
			    all_day_cases[i].day, buf, all_day_cases[i].start_utc);
		if (e - s != all_day_cases[i].hours * 3600)
			fail_msg("%s %s lasts %lld s, want %lld h", all_day_cases[i].zone,
			    all_day_cases[i].day, e - s, all_day_cases[i].hours);
		tz_free(z);
	}
}

/* Slim TZif files (zic -b slim) have no transitions for rules that run forever: everything
 * comes from the POSIX TZ footer. Their offsets must equal the fat system files'. */
static void
test_footer_rule_slim(void **state)
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
	static const struct {
		const char *slim, *fat;
	} pairs[] = {
		{ "Slim/NY", "America/New_York" },
		{ "Slim/Syd", "Australia/Sydney" },
		{ "Slim/Berlin", "Europe/Berlin" },
	};
	char dir[] = "/tmp/tz-test-XXXXXX", path[256], cmd[600], *saved;
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

	snprintf(path, sizeof(path), "%s/zones", dir);
	for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
		struct tz *fat = must_load(pairs[p].fat), *slim;

		saved = set_tzdir(path);
		slim = tz_open(pairs[p].slim, NULL, 0);
		restore_tzdir(saved);
		assert_non_null(slim);
		/* Every 6 hours for five years: every transition is passed. */
		for (long long t = at("2025-01-01T00:00:00Z"); t < at("2030-01-01T00:00:00Z");
		    t += 6 * 3600 + 17) {
			long a = tz_offset_at(slim, t), b = tz_offset_at(fat, t);

			if (a != b)
				fail_msg("%s at %lld: footer offset %ld, file %ld", pairs[p].slim, t,
				    a, b);
		}
		tz_free(slim);
		tz_free(fat);
	}
	rm_rf(dir);
}

/* A hand-made TZif file: version 0 (v1 only) or '2' (an empty v1 block, the v2 block with 64-bit
 * times, then the footer). Returns its length in buf. */
static size_t
tzif_make(unsigned char *buf, int version, int ntrans, const long long *trans,
    const unsigned char *idx, int ntypes, const long *offs, const char *footer)
{
	unsigned char *p = buf;
	int tsize = version ? 8 : 4;

#define PUT32(v)	do { uint32_t v_ = (uint32_t)(v); *p++ = v_ >> 24; *p++ = v_ >> 16; \
			*p++ = v_ >> 8; *p++ = v_; } while (0)
	if (version) {
		/* The v1 block: no transitions, no types, nothing to skip. */
		memcpy(p, "TZif2", 5);
		memset(p + 5, 0, 39);
		p += 44;
	}
	memcpy(p, "TZif", 4);
	p[4] = (unsigned char)version;
	memset(p + 5, 0, 15);
	p += 20;
	PUT32(0);		/* isutcnt */
	PUT32(0);		/* isstdcnt */
	PUT32(0);		/* leapcnt */
	PUT32(ntrans);
	PUT32(ntypes);
	PUT32(4);		/* charcnt */
	for (int i = 0; i < ntrans; i++) {
		if (tsize == 8)
			PUT32((uint64_t)trans[i] >> 32);
		PUT32(trans[i]);
	}
	for (int i = 0; i < ntrans; i++)
		*p++ = idx[i];
	for (int i = 0; i < ntypes; i++) {
		PUT32(offs[i]);
		*p++ = 0;	/* isdst */
		*p++ = 0;	/* desigidx */
	}
	memcpy(p, "XYZ", 4);
	p += 4;
	if (footer != NULL)
		p += snprintf((char *)p, 256, "\n%s\n", footer);	/* buf has room */
#undef PUT32
	return (size_t)(p - buf);
}

static const long long trans_up[] = { 0, 1000 }, trans_down[] = { 1000, 0 };
static const unsigned char idx01[] = { 0, 1 }, idx05[] = { 0, 5 };
static const long off_0_7200[] = { 0, 7200 }, off_3600[] = { 3600 }, off_huge[] = { 100000 };

static const struct {
	const char *what;
	int version, ntrans;
	const long long *trans;
	const unsigned char *idx;
	int ntypes;
	const long *offs;
	const char *footer;
	int cut;		/* bytes cut off the end; -1: the magic spoilt */
	int ok;
	/* offsets expected at three instants */
	const char *when[3];
	long want[3];
} file_cases[] = {
	{ "v1, no transitions", 0, 0, NULL, NULL, 1, off_3600, NULL, 0, 1,
	    { "1900-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2200-01-01T00:00:00Z" },
	    { 3600, 3600, 3600 } },
	{ "v1, two transitions", 0, 2, trans_up, idx01, 2, off_0_7200, NULL, 0, 1,
	    { "1969-12-31T23:59:59Z", "1970-01-01T00:16:39Z", "1970-01-01T00:16:40Z" },
	    { 0, 0, 7200 } },
	{ "v2, footer with a rule", '2', 0, NULL, NULL, 1, off_3600,
	    "CET-1CEST,M3.5.0,M10.5.0/3", 0, 1,
	    { "2026-01-15T00:00:00Z", "2026-07-01T00:00:00Z", "2026-10-25T01:00:00Z" },
	    { 3600, 7200, 3600 } },
	{ "v2, footer without DST", '2', 2, trans_up, idx01, 2, off_0_7200, "<+0330>-3:30", 0, 1,
	    { "1970-01-01T00:00:01Z", "1970-01-01T00:16:40Z", "2026-01-01T00:00:00Z" },
	    { 0, 12600, 12600 } },
	{ "v2, Julian-day rule", '2', 0, NULL, NULL, 1, off_3600, "XST-2XDT,J60/0,J300/0", 0, 1,
	    { "2024-02-29T12:00:00Z", "2024-03-01T12:00:00Z", "2026-12-01T00:00:00Z" },
	    { 7200, 10800, 7200 } },
	{ "v2, default DST rule (US)", '2', 0, NULL, NULL, 1, off_3600, "EST5EDT", 0, 1,
	    { "2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z" },
	    { -5 * 3600, -4 * 3600, -5 * 3600 } },
	/* A footer we cannot read is ignored: the last transition's type goes on. */
	{ "v2, garbage footer", '2', 2, trans_up, idx01, 2, off_0_7200, "###", 0, 1,
	    { "1970-01-01T00:00:01Z", "2026-01-01T00:00:00Z", "2200-01-01T00:00:00Z" },
	    { 0, 7200, 7200 } },
	{ "transitions out of order", 0, 2, trans_down, idx01, 2, off_0_7200, NULL, 0, 0,
	    { NULL }, { 0 } },
	{ "type index out of range", '2', 2, trans_up, idx05, 2, off_0_7200, NULL, 0, 0,
	    { NULL }, { 0 } },
	{ "no types", 0, 0, NULL, NULL, 0, off_3600, NULL, 0, 0, { NULL }, { 0 } },
	{ "offset beyond a day", 0, 0, NULL, NULL, 1, off_huge, NULL, 0, 0, { NULL }, { 0 } },
	{ "truncated", 0, 2, trans_up, idx01, 2, off_0_7200, NULL, 3, 0, { NULL }, { 0 } },
	{ "header only", 0, 0, NULL, NULL, 1, off_3600, NULL, 14, 0, { NULL }, { 0 } },
	{ "bad magic", 0, 0, NULL, NULL, 1, off_3600, NULL, -1, 0, { NULL }, { 0 } },
};

static void
test_files(void **state)
{
	char dir[] = "/tmp/tz-test-XXXXXX", path[256], *saved;
	unsigned char buf[4096];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/Test", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		size_t len = tzif_make(buf, file_cases[i].version, file_cases[i].ntrans,
		    file_cases[i].trans, file_cases[i].idx, file_cases[i].ntypes, file_cases[i].offs,
		    file_cases[i].footer);
		char name[32], err[256] = "";
		struct tz *z;
		FILE *f;

		if (file_cases[i].cut > 0)
			len -= (size_t)file_cases[i].cut;
		if (file_cases[i].cut < 0)
			buf[3] = 'X';
		snprintf(name, sizeof(name), "Test/Zone%zu", i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		assert_non_null(f = fopen(path, "wb"));
		assert_int_equal(fwrite(buf, 1, len, f), len);
		fclose(f);
		saved = set_tzdir(dir);
		z = tz_open(name, err, sizeof(err));
		restore_tzdir(saved);
		if (!file_cases[i].ok) {
			if (z != NULL)
				fail_msg("%s: loaded, want refused", file_cases[i].what);
			assert_non_null(strstr(err, "not a valid TZif file"));
			continue;
		}
		if (z == NULL)
			fail_msg("%s: refused: %s", file_cases[i].what, err);
		for (int k = 0; k < 3; k++) {
			long off = tz_offset_at(z, at(file_cases[i].when[k]));

			if (off != file_cases[i].want[k])
				fail_msg("%s at %s: %ld, want %ld", file_cases[i].what,
				    file_cases[i].when[k], off, file_cases[i].want[k]);
		}
		tz_free(z);
	}
	rm_rf(dir);
}

/* tz_load keeps one copy per name, whatever TZDIR says later; tz_open reads afresh; UTC needs
 * no file at all. */
static void
test_cache(void **state)
{
	char dir[] = "/tmp/tz-test-XXXXXX", *saved;
	struct tz *a, *b, *c, *u;

	(void)state;
	assert_non_null(mkdtemp(dir));
	a = must_load("Europe/Paris");
	b = must_load("Europe/Paris");
	assert_ptr_equal(a, b);
	c = tz_open("Europe/Paris", NULL, 0);
	assert_non_null(c);
	assert_ptr_not_equal(a, c);
	assert_int_equal(tz_offset_at(a, at("2026-07-01T00:00:00Z")),
	    tz_offset_at(c, at("2026-07-01T00:00:00Z")));
	tz_free(c);

	saved = set_tzdir(dir);		/* an empty zone directory */
	assert_ptr_equal(tz_load("Europe/Paris", NULL, 0), a);
	assert_null(tz_open("Europe/Paris", NULL, 0));
	assert_null(tz_load("Europe/Rome", NULL, 0));	/* never loaded: not in the cache */
	assert_non_null(u = tz_open("UTC", NULL, 0));
	assert_int_equal(tz_offset_at(u, at("2026-07-01T00:00:00Z")), 0);
	tz_free(u);
	assert_non_null(u = tz_load("Etc/UTC", NULL, 0));
	assert_string_equal(tz_name(u), "Etc/UTC");
	restore_tzdir(saved);
	tz_free(b);
	tz_free(a);
	rm_rf(dir);
}

/* Past TZ_CACHE_MAX zones, tz_load still answers, with a zone the caller alone holds (tz_free
 * frees it; a leak checker would see it otherwise). */
static void
test_cache_full(void **state)
{
	char dir[] = "/tmp/tz-test-XXXXXX", path[256], name[32], *saved;
	unsigned char buf[512];
	size_t len;
	FILE *f;

	(void)state;
	tz_cache_clear();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/Test", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	saved = set_tzdir(dir);
	for (int i = 0; i < TZ_CACHE_MAX + 4; i++) {
		long off = (long)i * 60;
		struct tz *a, *b;

		len = tzif_make(buf, 0, 0, NULL, NULL, 1, &off, NULL);
		snprintf(name, sizeof(name), "Test/Z%d", i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		assert_non_null(f = fopen(path, "wb"));
		assert_int_equal(fwrite(buf, 1, len, f), len);
		fclose(f);
		assert_non_null(a = tz_load(name, NULL, 0));
		assert_non_null(b = tz_load(name, NULL, 0));
		assert_int_equal(tz_offset_at(a, 0), off);
		assert_int_equal(tz_offset_at(b, 0), off);
		if (i < TZ_CACHE_MAX)
			assert_ptr_equal(a, b);
		else
			assert_ptr_not_equal(a, b);
		tz_free(a);
		tz_free(b);
	}
	restore_tzdir(saved);
	tz_cache_clear();
	/* Cleared: loaded afresh, from the system again. */
	assert_int_equal(tz_offset_at(must_load("Asia/Tokyo"), 0), 9 * 3600);
	rm_rf(dir);
}

/* Threads loading and reading the same zones at once agree with one thread alone. */
#define NTHREADS	8

static void *
reader(void *arg)
{
	static const char *const zones[] = { "Asia/Tokyo", "America/Chicago", "Europe/London" };
	long *sum = arg;

	for (int i = 0; i < 300; i++) {
		struct tz *z = tz_load(zones[i % 3], NULL, 0);

		if (z == NULL)
			return NULL;
		*sum += tz_offset_at(z, 1700000000LL + i * 86400LL);
		tz_free(z);
	}
	return arg;
}

static void
test_threads(void **state)
{
	pthread_t t[NTHREADS];
	long sums[NTHREADS] = { 0 }, alone = 0;

	(void)state;
	assert_non_null(reader(&alone));
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, &sums[i]), 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *ret;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_non_null(ret);
		assert_int_equal(sums[i], alone);
	}
	assert_true(alone != 0);
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

static int
teardown(void **state)
{
	(void)state;
	tz_cache_clear();	/* so a leak checker sees every zone freed */
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_to_utc),
		cmocka_unit_test(test_all_day),
		cmocka_unit_test(test_footer_rule_slim),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_full),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_format_and_days),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
