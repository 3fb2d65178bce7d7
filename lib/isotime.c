/* isotime.c: ISO 8601 parsing and printing, and Gregorian day numbers (see isotime.h). */
#include "isotime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* n decimal digits at s[*i] (within len): 0 with *out set and *i moved past them, or -1. */
static int
digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int v = 0;

	for (int k = 0; k < n; k++) {
		if (*i + (size_t)k >= len || !isdigit((unsigned char)s[*i + (size_t)k]))
			return -1;
		v = v * 10 + (s[*i + (size_t)k] - '0');
	}
	*i += (size_t)n;
	*out = v;
	return 0;
}

/* 1 and *i moved past it if s[*i] is c. */
static int
take(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return 0;
	(*i)++;
	return 1;
}

int
isotime_parse(const char *s, size_t len, struct isotime *t)
{
	size_t i = 0;
	int sign;

	memset(t, 0, sizeof(*t));
	if (s == NULL)
		return -1;
	if (digits(s, len, &i, 4, &t->year) < 0 || !take(s, len, &i, '-') ||
	    digits(s, len, &i, 2, &t->month) < 0 || !take(s, len, &i, '-') ||
	    digits(s, len, &i, 2, &t->day) < 0)
		return -1;
	if (i < len) {
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return -1;
		t->sep = s[i++];
		if (digits(s, len, &i, 2, &t->hour) < 0 || !take(s, len, &i, ':') ||
		    digits(s, len, &i, 2, &t->min) < 0)
			return -1;
		if (take(s, len, &i, ':')) {
			if (digits(s, len, &i, 2, &t->sec) < 0)
				return -1;
			t->has_sec = 1;
		}
		if (i < len && (s[i] == '.' || s[i] == ',')) {
			t->frac_sep = s[i++];
			for (; i < len && isdigit((unsigned char)s[i]); i++, t->nfrac++)
				if (t->nfrac < 7)
					t->frac = t->frac * 10 + (s[i] - '0');
			if (t->nfrac == 0)
				return -1;
			for (int n = t->nfrac; n < 7; n++)
				t->frac *= 10;
		}
		if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
			t->zone = 'Z';
			i++;
		} else if (i < len && (s[i] == '+' || s[i] == '-')) {
			t->zone = s[i++];
			if (digits(s, len, &i, 2, &t->off_h) < 0)
				return -1;
			t->zone_colon = take(s, len, &i, ':');
			if (i < len && isdigit((unsigned char)s[i])) {
				if (digits(s, len, &i, 2, &t->off_m) < 0)
					return -1;
				t->zone_min = 1;
			}
		}
	}
	if (i != len)
		return -1;
	if (t->month < 1 || t->month > 12 || t->day < 1 ||
	    t->day > isotime_month_days(t->year, t->month) || t->hour > 23 || t->min > 59 ||
	    t->sec > 60 || t->off_h > 23 || t->off_m > 59)
		return -1;
	sign = t->zone == '-' ? -1 : 1;
	t->offset = sign * (t->off_h * 3600 + t->off_m * 60);
	t->local = isotime_days(t->year, t->month, t->day) * 86400 + t->hour * 3600 +
	    t->min * 60 + t->sec;
	t->utc = t->local - t->offset;
	return 0;
}

void
isotime_format(long long secs, int ndigits, long frac7, const char *zone, char *out,
    size_t len)
{
	long long days = isotime_floor_div(secs, 86400), rem = secs - days * 86400;
	char frac[16] = "";
	int y, m, d;

	if (ndigits > 0) {
		long div = 1;

		for (int k = ndigits; k < 7; k++)
			div *= 10;
		snprintf(frac, sizeof(frac), ".%0*ld", ndigits, frac7 / div);
	}
	isotime_civil(days, &y, &m, &d);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", y, m, d, (int)(rem / 3600),
	    (int)(rem % 3600 / 60), (int)(rem % 60), frac, zone);
}

long long
isotime_days(int y, int m, int d)
{
	/* H. Hinnant's days_from_civil. */
	long long yy = y - (m <= 2);
	long long era = (yy >= 0 ? yy : yy - 399) / 400;
	long long yoe = yy - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
isotime_civil(long long z, int *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

int
isotime_weekday(long long days)
{
	/* 1970-01-01 was a Thursday. */
	long long w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

int
isotime_month_days(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12)
		return 0;
	return mdays[m - 1] + (m == 2 && leap);
}

long long
isotime_floor_div(long long a, long long b)
{
	long long q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}
