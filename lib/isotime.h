/* isotime.h: ISO 8601 dates and times as the emulators read and print them, and the proleptic
 * Gregorian calendar arithmetic under them (64-bit day numbers, so no time_t or timegm range
 * limits and no normalizing of Feb 30 into March).
 *
 * isotime_parse reads the widest form any caller accepts and reports what it saw; each caller
 * then refuses what its API refuses (a missing zone, a lowercase 't', a leap second...), so the
 * grammar and the calendar checks live here once and the API rules stay next to the API. */
#ifndef OL_ISOTIME_H
#define OL_ISOTIME_H

#include <stddef.h>

#define ISOTIME_FRAC_UNIT	10000000L	/* struct isotime's frac is in 100 ns units */

/* "YYYY-MM-DD[<sep>HH:MM[:SS][<.|,>digits][Z|z|±HH[[:]MM]]]" as it was written. */
struct isotime {
	int year, month, day, hour, min, sec;
	char sep;		/* between date and time: 'T', 't' or ' '; 0 for a bare date */
	int has_sec;		/* ":SS" was written */
	char frac_sep;		/* '.' or ','; 0 without a fraction */
	int nfrac;		/* digits in the fraction (any number) */
	long frac;		/* its first 7 digits, in 100 ns units */
	char zone;		/* 0 for none, 'Z' for "Z" or "z", '+' or '-' for an offset */
	int zone_colon;		/* the offset was written "±HH:" */
	int zone_min;		/* the offset's minutes were written */
	int off_h, off_m;
	int offset;		/* seconds east of UTC (0 without an offset) */
	long long local;	/* seconds since the epoch of the wall time as written */
	long long utc;		/* local - offset */
};

/* Parses exactly len bytes of s. 0 with t filled, or -1 when the text is not of the form above
 * or names no real time: month 1..12, a day that month has (leap years included), hour <= 23,
 * minute <= 59, second <= 60 (a leap second counts into the next minute), offset hours <= 23
 * and minutes <= 59. Any year 0000..9999 passes; callers bound it. */
int isotime_parse(const char *s, size_t len, struct isotime *t);

/* "YYYY-MM-DDTHH:MM:SS" of secs (UTC), then, when ndigits > 0, '.' and the first ndigits of
 * frac7 (a fraction in 100 ns units), then zone ("Z", "+0000", ""...). Years print with 4
 * digits. */
void isotime_format(long long secs, int ndigits, long frac7, const char *zone, char *out,
    size_t len);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
long long isotime_days(int year, int month, int day);
void isotime_civil(long long days, int *year, int *month, int *day);
/* Day of the week of a day number: 0 = Sunday. */
int isotime_weekday(long long days);
/* Days in month of year; 0 for a month outside 1..12. */
int isotime_month_days(int year, int month);
/* a / b rounded down (toward minus infinity), for splitting seconds into days. */
long long isotime_floor_div(long long a, long long b);

#endif
