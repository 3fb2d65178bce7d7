/* tz.c: IANA time zones from TZif files (see tz.h): an RFC 8536 reader with the POSIX TZ rule of
 * its footer for the times after the last transition, a per-name cache, wall clock -> UTC with
 * the gap and overlap rules of mktime, and the Windows zone names Outlook writes. */
#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "isotime.h"
#include "log.h"
#include "xmalloc.h"

#define TZ_DEFAULT_DIR	"/usr/share/zoneinfo"
#define TZ_FILE_MAX	(256 * 1024)	/* real TZif files are a few KB */
#define TZ_TYPES_MAX	256		/* RFC 8536: typecnt <= 256 */

/* The POSIX TZ rule of a TZif footer ("EST5EDT,M3.2.0,M11.1.0"): what applies after the last
 * transition in the file. Offsets here are east of UTC. */
struct rule_date {
	char kind;		/* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
	int n, month, week, wday;
	long time;		/* seconds after local midnight, may be negative or above a day */
};

struct posix_rule {
	long std_off;
	long dst_off;
	int has_dst;
	struct rule_date start, end;
};

struct tz {
	char name[TZ_NAME_MAX];		/* the IANA name it was loaded as */
	int cached;			/* owned by the cache (or static): tz_free leaves it */
	long long *trans;		/* transition instants, ascending */
	unsigned char *idx;		/* the type index in force from each transition */
	int ntrans;
	long off[TZ_TYPES_MAX];
	int ntypes;
	int has_rule;
	struct posix_rule rule;
};

/* UTC needs no file: it is the default of every caller, and must work without tzdata. */
static struct tz utc_zone = { .name = "UTC", .cached = 1, .ntypes = 1 };
static struct tz etc_utc_zone = { .name = "Etc/UTC", .cached = 1, .ntypes = 1 };

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz *cache[TZ_CACHE_MAX];
static int ncache;

int
tz_name_valid(const char *name)
{
	const char *p;

	if (name == NULL || name[0] == '\0' || name[0] == '/' || strlen(name) >= TZ_NAME_MAX)
		return 0;
	if (strncmp(name, "right/", 6) == 0)
		return 0;
	for (p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '/' && *p != '_' && *p != '-' && *p != '+')
			return 0;
		if (*p == '/' && (p[1] == '/' || p[1] == '\0'))
			return 0;
	}
	return 1;
}

/* Zone names as Outlook writes them ----------------------------------------------------------*/

/* Windows zone -> IANA zone, from CLDR windowsZones.xml (territory "001"). Graph writes and
 * accepts these names in dateTimeTimeZone.timeZone and Prefer: outlook.timezone, so graph-sim
 * and the daemon both read them. */
static const struct {
	const char *windows;
	const char *iana;
} windows_zones[] = {
	{ "Dateline Standard Time", "Etc/GMT+12" },
	{ "UTC-11", "Etc/GMT+11" },
	{ "Aleutian Standard Time", "America/Adak" },
	{ "Hawaiian Standard Time", "Pacific/Honolulu" },
	{ "Marquesas Standard Time", "Pacific/Marquesas" },
	{ "Alaskan Standard Time", "America/Anchorage" },
	{ "UTC-09", "Etc/GMT+9" },
	{ "Pacific Standard Time (Mexico)", "America/Tijuana" },
	{ "UTC-08", "Etc/GMT+8" },
	{ "Pacific Standard Time", "America/Los_Angeles" },
	{ "US Mountain Standard Time", "America/Phoenix" },
	{ "Mountain Standard Time (Mexico)", "America/Mazatlan" },
	{ "Mountain Standard Time", "America/Denver" },
	{ "Yukon Standard Time", "America/Whitehorse" },
	{ "Central America Standard Time", "America/Guatemala" },
	{ "Central Standard Time", "America/Chicago" },
	{ "Easter Island Standard Time", "Pacific/Easter" },
	{ "Central Standard Time (Mexico)", "America/Mexico_City" },
	{ "Canada Central Standard Time", "America/Regina" },
	{ "SA Pacific Standard Time", "America/Bogota" },
	{ "Eastern Standard Time (Mexico)", "America/Cancun" },
	{ "Eastern Standard Time", "America/New_York" },
	{ "Haiti Standard Time", "America/Port-au-Prince" },
	{ "Cuba Standard Time", "America/Havana" },
	{ "US Eastern Standard Time", "America/Indiana/Indianapolis" },
	{ "Turks And Caicos Standard Time", "America/Grand_Turk" },
	{ "Paraguay Standard Time", "America/Asuncion" },
	{ "Atlantic Standard Time", "America/Halifax" },
	{ "Venezuela Standard Time", "America/Caracas" },
	{ "Central Brazilian Standard Time", "America/Cuiaba" },
	{ "SA Western Standard Time", "America/La_Paz" },
	{ "Pacific SA Standard Time", "America/Santiago" },
	{ "Newfoundland Standard Time", "America/St_Johns" },
	{ "Tocantins Standard Time", "America/Araguaina" },
	{ "E. South America Standard Time", "America/Sao_Paulo" },
	{ "SA Eastern Standard Time", "America/Cayenne" },
	{ "Argentina Standard Time", "America/Argentina/Buenos_Aires" },
	{ "Greenland Standard Time", "America/Nuuk" },
	{ "Montevideo Standard Time", "America/Montevideo" },
	{ "Magallanes Standard Time", "America/Punta_Arenas" },
	{ "Saint Pierre Standard Time", "America/Miquelon" },
	{ "Bahia Standard Time", "America/Bahia" },
	{ "UTC-02", "Etc/GMT+2" },
	{ "Azores Standard Time", "Atlantic/Azores" },
	{ "Cape Verde Standard Time", "Atlantic/Cape_Verde" },
	{ "UTC", "Etc/UTC" },
	{ "GMT Standard Time", "Europe/London" },
	{ "Greenwich Standard Time", "Atlantic/Reykjavik" },
	{ "Sao Tome Standard Time", "Africa/Sao_Tome" },
	{ "Morocco Standard Time", "Africa/Casablanca" },
	{ "W. Europe Standard Time", "Europe/Berlin" },
	{ "Central Europe Standard Time", "Europe/Budapest" },
	{ "Romance Standard Time", "Europe/Paris" },
	{ "Central European Standard Time", "Europe/Warsaw" },
	{ "W. Central Africa Standard Time", "Africa/Lagos" },
	{ "Jordan Standard Time", "Asia/Amman" },
	{ "GTB Standard Time", "Europe/Bucharest" },
	{ "Middle East Standard Time", "Asia/Beirut" },
	{ "Egypt Standard Time", "Africa/Cairo" },
	{ "E. Europe Standard Time", "Europe/Chisinau" },
	{ "Syria Standard Time", "Asia/Damascus" },
	{ "West Bank Standard Time", "Asia/Hebron" },
	{ "South Africa Standard Time", "Africa/Johannesburg" },
	{ "FLE Standard Time", "Europe/Kyiv" },
	{ "Israel Standard Time", "Asia/Jerusalem" },
	{ "South Sudan Standard Time", "Africa/Juba" },
	{ "Kaliningrad Standard Time", "Europe/Kaliningrad" },
	{ "Sudan Standard Time", "Africa/Khartoum" },
	{ "Libya Standard Time", "Africa/Tripoli" },
	{ "Namibia Standard Time", "Africa/Windhoek" },
	{ "Arabic Standard Time", "Asia/Baghdad" },
	{ "Turkey Standard Time", "Europe/Istanbul" },
	{ "Arab Standard Time", "Asia/Riyadh" },
	{ "Belarus Standard Time", "Europe/Minsk" },
	{ "Russian Standard Time", "Europe/Moscow" },
	{ "E. Africa Standard Time", "Africa/Nairobi" },
	{ "Volgograd Standard Time", "Europe/Volgograd" },
	{ "Iran Standard Time", "Asia/Tehran" },
	{ "Arabian Standard Time", "Asia/Dubai" },
	{ "Astrakhan Standard Time", "Europe/Astrakhan" },
	{ "Azerbaijan Standard Time", "Asia/Baku" },
	{ "Russia Time Zone 3", "Europe/Samara" },
	{ "Mauritius Standard Time", "Indian/Mauritius" },
	{ "Saratov Standard Time", "Europe/Saratov" },
	{ "Georgian Standard Time", "Asia/Tbilisi" },
	{ "Caucasus Standard Time", "Asia/Yerevan" },
	{ "Afghanistan Standard Time", "Asia/Kabul" },
	{ "West Asia Standard Time", "Asia/Tashkent" },
	{ "Ekaterinburg Standard Time", "Asia/Yekaterinburg" },
	{ "Pakistan Standard Time", "Asia/Karachi" },
	{ "Qyzylorda Standard Time", "Asia/Qyzylorda" },
	{ "India Standard Time", "Asia/Kolkata" },
	{ "Sri Lanka Standard Time", "Asia/Colombo" },
	{ "Nepal Standard Time", "Asia/Kathmandu" },
	{ "Central Asia Standard Time", "Asia/Bishkek" },
	{ "Bangladesh Standard Time", "Asia/Dhaka" },
	{ "Omsk Standard Time", "Asia/Omsk" },
	{ "Myanmar Standard Time", "Asia/Yangon" },
	{ "SE Asia Standard Time", "Asia/Bangkok" },
	{ "Altai Standard Time", "Asia/Barnaul" },
	{ "W. Mongolia Standard Time", "Asia/Hovd" },
	{ "North Asia Standard Time", "Asia/Krasnoyarsk" },
	{ "N. Central Asia Standard Time", "Asia/Novosibirsk" },
	{ "Tomsk Standard Time", "Asia/Tomsk" },
	{ "China Standard Time", "Asia/Shanghai" },
	{ "North Asia East Standard Time", "Asia/Irkutsk" },
	{ "Singapore Standard Time", "Asia/Singapore" },
	{ "W. Australia Standard Time", "Australia/Perth" },
	{ "Taipei Standard Time", "Asia/Taipei" },
	{ "Ulaanbaatar Standard Time", "Asia/Ulaanbaatar" },
	{ "Aus Central W. Standard Time", "Australia/Eucla" },
	{ "Transbaikal Standard Time", "Asia/Chita" },
	{ "Tokyo Standard Time", "Asia/Tokyo" },
	{ "North Korea Standard Time", "Asia/Pyongyang" },
	{ "Korea Standard Time", "Asia/Seoul" },
	{ "Yakutsk Standard Time", "Asia/Yakutsk" },
	{ "Cen. Australia Standard Time", "Australia/Adelaide" },
	{ "AUS Central Standard Time", "Australia/Darwin" },
	{ "E. Australia Standard Time", "Australia/Brisbane" },
	{ "AUS Eastern Standard Time", "Australia/Sydney" },
	{ "West Pacific Standard Time", "Pacific/Port_Moresby" },
	{ "Tasmania Standard Time", "Australia/Hobart" },
	{ "Vladivostok Standard Time", "Asia/Vladivostok" },
	{ "Lord Howe Standard Time", "Australia/Lord_Howe" },
	{ "Bougainville Standard Time", "Pacific/Bougainville" },
	{ "Russia Time Zone 10", "Asia/Srednekolymsk" },
	{ "Magadan Standard Time", "Asia/Magadan" },
	{ "Norfolk Standard Time", "Pacific/Norfolk" },
	{ "Sakhalin Standard Time", "Asia/Sakhalin" },
	{ "Central Pacific Standard Time", "Pacific/Guadalcanal" },
	{ "Russia Time Zone 11", "Asia/Kamchatka" },
	{ "New Zealand Standard Time", "Pacific/Auckland" },
	{ "UTC+12", "Etc/GMT-12" },
	{ "Fiji Standard Time", "Pacific/Fiji" },
	{ "Chatham Islands Standard Time", "Pacific/Chatham" },
	{ "UTC+13", "Etc/GMT-13" },
	{ "Tonga Standard Time", "Pacific/Tongatapu" },
	{ "Samoa Standard Time", "Pacific/Apia" },
	{ "Line Islands Standard Time", "Pacific/Kiritimati" },
};

/* Names that mean UTC without needing any file. */
static const char *const utc_names[] = {
	"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal",
	"Coordinated Universal Time", "tzone://Microsoft/Utc", NULL
};

static int
is_utc_name(const char *zone)
{
	for (int i = 0; utc_names[i] != NULL; i++)
		if (strcasecmp(zone, utc_names[i]) == 0)
			return 1;
	return 0;
}

const char *
tz_resolve(const char *zone)
{
	size_t i;

	if (zone == NULL)
		return NULL;
	if (is_utc_name(zone))
		return "Etc/UTC";
	for (i = 0; i < sizeof(windows_zones) / sizeof(windows_zones[0]); i++)
		if (strcasecmp(zone, windows_zones[i].windows) == 0)
			return windows_zones[i].iana;
	return tz_name_valid(zone) ? zone : NULL;
}

/* TZif ---------------------------------------------------------------------------------------*/

struct cursor {
	const unsigned char *p, *end;
};

static int
take(struct cursor *c, size_t n, const unsigned char **out)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	*out = c->p;
	c->p += n;
	return 0;
}

static long long
be(const unsigned char *p, int n)
{
	unsigned long long v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	if (n == 4)
		return (long long)(int32_t)(uint32_t)v;
	return (long long)v;
}

/* "[+-]hh[:mm[:ss]]" of a POSIX TZ string, hours up to 167 (RFC 8536 extension). */
static const char *
parse_hms(const char *s, long *out)
{
	int sign = 1;
	long h = 0, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s) && h <= 167)
		h = h * 10 + (*s++ - '0');
	if (h > 167)
		return NULL;
	if (*s == ':') {
		s++;
		if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
			return NULL;
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
		if (*s == ':') {
			s++;
			if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
				return NULL;
			sec = (s[0] - '0') * 10 + (s[1] - '0');
			s += 2;
		}
	}
	if (m > 59 || sec > 59)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *
parse_abbr(const char *s)
{
	if (*s == '<') {
		while (*s && *s != '>')
			s++;
		return *s == '>' ? s + 1 : NULL;
	}
	if (!isalpha((unsigned char)*s))
		return NULL;
	while (isalpha((unsigned char)*s))
		s++;
	return s;
}

static long
parse_num(const char **sp, long max)
{
	const char *s = *sp;
	long v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		if (v > max)
			return -1;
	}
	*sp = s;
	return v;
}

static const char *
parse_rule_date(const char *s, struct rule_date *d)
{
	long v;

	memset(d, 0, sizeof(*d));
	d->time = 7200;
	if (*s == 'J') {
		s++;
		d->kind = 'J';
		if ((v = parse_num(&s, 365)) < 1)
			return NULL;
		d->n = (int)v;
	} else if (*s == 'M') {
		s++;
		d->kind = 'M';
		if ((v = parse_num(&s, 12)) < 1 || *s++ != '.')
			return NULL;
		d->month = (int)v;
		if ((v = parse_num(&s, 5)) < 1 || *s++ != '.')
			return NULL;
		d->week = (int)v;
		if ((v = parse_num(&s, 6)) < 0)
			return NULL;
		d->wday = (int)v;
	} else {
		d->kind = 'N';
		if ((v = parse_num(&s, 365)) < 0)
			return NULL;
		d->n = (int)v;
	}
	if (*s == '/') {
		if ((s = parse_hms(s + 1, &d->time)) == NULL)
			return NULL;
	}
	return s;
}

static int
parse_posix(const char *s, struct posix_rule *r)
{
	long off;

	memset(r, 0, sizeof(*r));
	if ((s = parse_abbr(s)) == NULL || (s = parse_hms(s, &off)) == NULL)
		return -1;
	r->std_off = -off;	/* POSIX counts west of UTC */
	if (*s == '\0')
		return 0;
	if ((s = parse_abbr(s)) == NULL)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = parse_hms(s, &off)) == NULL)
			return -1;
		r->dst_off = -off;
	}
	if (*s == '\0') {
		/* POSIX leaves the default rule to the implementation; glibc uses the US one. */
		s = "M3.2.0,M11.1.0";
	} else {
		s++;
	}
	if ((s = parse_rule_date(s, &r->start)) == NULL || *s++ != ',')
		return -1;
	if ((s = parse_rule_date(s, &r->end)) == NULL || *s != '\0')
		return -1;
	return 0;
}

/* Local midnight (as seconds, local clock) of a rule date in year. */
static long long
rule_day(const struct rule_date *d, int year)
{
	long long jan1 = isotime_days(year, 1, 1), first;
	int day;

	switch (d->kind) {
	case 'J':
		day = d->n - 1;
		if (isotime_month_days(year, 2) == 29 && d->n >= 60)
			day++;
		return (jan1 + day) * 86400;
	case 'N':
		return (jan1 + d->n) * 86400;
	default:
		first = isotime_days(year, d->month, 1);
		day = (d->wday - isotime_weekday(first) + 7) % 7 + 1 + (d->week - 1) * 7;
		while (day > isotime_month_days(year, d->month))
			day -= 7;
		return (first + day - 1) * 86400;
	}
}

static long
rule_offset(const struct posix_rule *r, long long utc)
{
	long long start, end;
	int y, m, d;

	if (!r->has_dst)
		return r->std_off;
	isotime_civil(isotime_floor_div(utc + r->std_off, 86400), &y, &m, &d);
	start = rule_day(&r->start, y) + r->start.time - r->std_off;
	end = rule_day(&r->end, y) + r->end.time - r->dst_off;
	if (start < end)
		return utc >= start && utc < end ? r->dst_off : r->std_off;
	/* Southern hemisphere: daylight time spans the new year. */
	return utc >= end && utc < start ? r->std_off : r->dst_off;
}

static int
parse_tzif(const unsigned char *buf, size_t len, struct tz *z)
{
	struct cursor c = { buf, buf + len };
	const unsigned char *h, *p, *trans, *idx, *types;
	long long cnt[6];
	int version, tsize = 4;

	if (take(&c, 44, &h) < 0 || memcmp(h, "TZif", 4) != 0)
		return -1;
	version = h[4];
	for (int i = 0; i < 6; i++)
		cnt[i] = be(h + 20 + 4 * i, 4);
	if (version >= '2') {
		/* Skip the 32-bit block; the 64-bit one follows with its own header. */
		size_t v1 = (size_t)(cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] +
		    cnt[0]);

		if (cnt[3] < 0 || cnt[4] < 0 || cnt[5] < 0 || cnt[2] < 0 || cnt[1] < 0 ||
		    cnt[0] < 0 || take(&c, v1, &p) < 0 || take(&c, 44, &h) < 0 ||
		    memcmp(h, "TZif", 4) != 0)
			return -1;
		for (int i = 0; i < 6; i++)
			cnt[i] = be(h + 20 + 4 * i, 4);
		tsize = 8;
	}
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
	for (int i = 0; i < 6; i++)
		if (cnt[i] < 0 || cnt[i] > (long long)len)
			return -1;
	if (cnt[4] < 1 || cnt[4] > TZ_TYPES_MAX)
		return -1;
	if (take(&c, (size_t)(cnt[3] * tsize), &trans) < 0 || take(&c, (size_t)cnt[3], &idx) < 0 ||
	    take(&c, (size_t)(cnt[4] * 6), &types) < 0 ||
	    take(&c, (size_t)(cnt[5] + cnt[2] * (tsize + 4) + cnt[1] + cnt[0]), &p) < 0)
		return -1;
	z->ntypes = (int)cnt[4];
	for (int i = 0; i < z->ntypes; i++) {
		z->off[i] = (long)be(types + 6 * i, 4);
		if (z->off[i] <= -89400 || z->off[i] >= 93600)	/* RFC 8536 bounds, roughly */
			return -1;
	}
	z->ntrans = (int)cnt[3];
	z->trans = xcalloc((size_t)z->ntrans + 1, sizeof(*z->trans));
	z->idx = xcalloc((size_t)z->ntrans + 1, 1);
	for (int i = 0; i < z->ntrans; i++) {
		z->trans[i] = be(trans + (size_t)i * (size_t)tsize, tsize);
		z->idx[i] = idx[i];
		if (idx[i] >= z->ntypes || (i > 0 && z->trans[i] <= z->trans[i - 1]))
			return -1;
	}
	if (tsize == 8 && c.p < c.end && *c.p == '\n') {
		const unsigned char *nl = memchr(c.p + 1, '\n', (size_t)(c.end - c.p - 1));

		if (nl != NULL && nl > c.p + 1) {
			char footer[128];
			size_t n = (size_t)(nl - c.p - 1);

			if (n < sizeof(footer)) {
				memcpy(footer, c.p + 1, n);
				footer[n] = '\0';
				if (parse_posix(footer, &z->rule) == 0)
					z->has_rule = 1;
			}
		}
	}
	return 0;
}

static void
zone_free(struct tz *z)
{
	free(z->trans);
	free(z->idx);
	free(z);
}

static struct tz *
zone_read(const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	unsigned char *buf = NULL;
	struct tz *z = NULL;
	size_t len;
	char *path;
	FILE *f;

	if (!tz_name_valid(name)) {
		err_set(err, errlen, "not a time zone name");
		return NULL;
	}
	if (strcmp(name, "UTC") == 0)
		return &utc_zone;
	if (strcmp(name, "Etc/UTC") == 0)
		return &etc_utc_zone;
	if (dir == NULL || *dir == '\0')
		dir = TZ_DEFAULT_DIR;
	path = xasprintf("%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL) {
		err_set(err, errlen, "cannot open %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	buf = xmalloc(TZ_FILE_MAX);
	len = fread(buf, 1, TZ_FILE_MAX, f);
	if (ferror(f) || len == TZ_FILE_MAX) {
		err_set(err, errlen, "cannot read %s", path);
		goto out;
	}
	z = xcalloc(1, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", name);
	if (parse_tzif(buf, len, z) < 0) {
		/* The file is there but broken: the tzdata install needs a look. */
		log_warnx("tz zone_file_invalid zone=%s", name);
		err_set(err, errlen, "%s is not a valid TZif file", path);
		zone_free(z);
		z = NULL;
	}
out:
	fclose(f);
	free(buf);
	free(path);
	return z;
}

struct tz *
tz_open(const char *name, char *err, size_t errlen)
{
	return zone_read(name, err, errlen);
}

struct tz *
tz_load(const char *name, char *err, size_t errlen)
{
	struct tz *z = NULL;

	if (!tz_name_valid(name)) {
		err_set(err, errlen, "not a time zone name");
		return NULL;
	}
	/* Loading under the lock keeps one copy per name; it happens once per zone. */
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < ncache; i++) {
		if (strcmp(cache[i]->name, name) == 0) {
			z = cache[i];
			goto out;
		}
	}
	if ((z = zone_read(name, err, errlen)) == NULL || z->cached)
		goto out;
	if (ncache < TZ_CACHE_MAX) {
		z->cached = 1;
		cache[ncache++] = z;
	}
out:
	pthread_mutex_unlock(&cache_lock);
	return z;
}

void
tz_free(struct tz *z)
{
	if (z == NULL || z->cached)
		return;
	zone_free(z);
}

void
tz_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < ncache; i++) {
		zone_free(cache[i]);
		cache[i] = NULL;
	}
	ncache = 0;
	pthread_mutex_unlock(&cache_lock);
}

const char *
tz_name(const struct tz *z)
{
	return z->name;
}

/* Offsets --------------------------------------------------------------------------------------*/

long
tz_offset_at(const struct tz *z, long long utc)
{
	int lo, hi;

	if (z->ntrans == 0)
		return z->has_rule ? rule_offset(&z->rule, utc) : z->off[0];
	if (utc < z->trans[0])
		return z->off[0];
	if (utc >= z->trans[z->ntrans - 1] && z->has_rule)
		return rule_offset(&z->rule, utc);
	/* The last transition at or before utc. */
	lo = 0;
	hi = z->ntrans - 1;
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;

		if (z->trans[mid] <= utc)
			lo = mid;
		else
			hi = mid - 1;
	}
	return z->off[z->idx[lo]];
}

long long
tz_local_to_utc(const struct tz *z, long long local)
{
	long before, after;

	/* Transitions are never closer than a day apart in real zones, so the offsets a day
	 * either side are the two candidates. */
	before = tz_offset_at(z, local - 86400);
	after = tz_offset_at(z, local + 86400);
	if (before == after)
		return local - before;
	/* Earlier reading first: in an overlap both fit and the earlier wins. */
	if (tz_offset_at(z, local - before) == before)
		return local - before;
	if (tz_offset_at(z, local - after) == after)
		return local - after;
	/* In a gap: the pre-transition offset carries the time past the gap. */
	return local - before;
}
