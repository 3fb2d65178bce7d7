/* graph_tz.c: Windows and IANA time zones for graph-sim (see graph_tz.h): the CLDR mapping of
 * the common Windows zone names, a TZif (RFC 8536) reader with its POSIX TZ footer rule, and
 * ISO 8601 parsing and formatting in the shapes Graph uses. */
#include "graph_tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "isotime.h"
#include "log.h"
#include "xmalloc.h"

#define TZ_DEFAULT_DIR	"/usr/share/zoneinfo"
#define TZ_MAX_FILE	(256 * 1024)	/* real TZif files are a few KB */
#define TZ_MAX_CACHED	256		/* zones kept parsed; more are loaded per call */
#define TZ_MAX_TYPES	256		/* RFC 8536: typecnt <= 256 */

/* Windows zone -> IANA zone, from CLDR windowsZones.xml (territory "001"). Graph accepts these
 * names in Prefer: outlook.timezone and in dateTimeTimeZone.timeZone. */
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

struct zone {
	char name[GRAPH_TZ_NAME_MAX];	/* the IANA name it was loaded as */
	long long *trans;		/* transition instants, ascending */
	unsigned char *idx;		/* the type index in force from each transition */
	int ntrans;
	long off[TZ_MAX_TYPES];
	int ntypes;
	int has_rule;
	struct posix_rule rule;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *cache[TZ_MAX_CACHED];
static int ncache;

/* Zone names --------------------------------------------------------------------------------*/

static int
is_utc_name(const char *zone)
{
	for (int i = 0; utc_names[i] != NULL; i++)
		if (strcasecmp(zone, utc_names[i]) == 0)
			return 1;
	return 0;
}

/* An IANA name we are willing to open under the zone directory: no way out of it, no
 * "right/" zones (they count leap seconds, which Graph never does). */
static int
safe_iana(const char *name)
{
	const char *p;

	if (name[0] == '\0' || name[0] == '/' || strlen(name) >= GRAPH_TZ_NAME_MAX)
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

const char *
graph_tz_iana(const char *zone)
{
	size_t i;

	if (zone == NULL)
		return NULL;
	if (is_utc_name(zone))
		return "Etc/UTC";
	for (i = 0; i < sizeof(windows_zones) / sizeof(windows_zones[0]); i++)
		if (strcasecmp(zone, windows_zones[i].windows) == 0)
			return windows_zones[i].iana;
	return safe_iana(zone) ? zone : NULL;
}

/* TZif --------------------------------------------------------------------------------------*/

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

static void
zone_free(struct zone *z)
{
	if (z == NULL)
		return;
	free(z->trans);
	free(z->idx);
	free(z);
}

static int
parse_tzif(const unsigned char *buf, size_t len, struct zone *z)
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
	if (cnt[4] < 1 || cnt[4] > TZ_MAX_TYPES)
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

static struct zone *
zone_load(const char *iana)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *buf = NULL;
	struct zone *z = NULL;
	size_t len = 0;
	FILE *f;

	if (dir == NULL || *dir == '\0')
		dir = TZ_DEFAULT_DIR;
	snprintf(path, sizeof(path), "%s/%s", dir, iana);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf = xmalloc(TZ_MAX_FILE);
	len = fread(buf, 1, TZ_MAX_FILE, f);
	if (ferror(f) || len == TZ_MAX_FILE)
		goto out;
	z = xcalloc(1, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", iana);
	if (parse_tzif(buf, len, z) < 0) {
		log_warnx("graph-tz: unreadable zone file zone=%s", iana);
		zone_free(z);
		z = NULL;
	}
out:
	fclose(f);
	free(buf);
	return z;
}

/* The parsed zone (cached; never freed while cached), or NULL. *owned is set when the caller
 * must free it because the cache is full. */
static struct zone *
zone_get(const char *name, int *owned)
{
	const char *iana = graph_tz_iana(name);
	struct zone *z = NULL;

	*owned = 0;
	if (iana == NULL)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < ncache; i++) {
		if (strcmp(cache[i]->name, iana) == 0) {
			z = cache[i];
			goto out;
		}
	}
	if ((z = zone_load(iana)) == NULL)
		goto out;
	if (ncache < TZ_MAX_CACHED)
		cache[ncache++] = z;
	else
		*owned = 1;
out:
	pthread_mutex_unlock(&cache_lock);
	return z;
}

static long
zone_offset(const struct zone *z, long long utc)
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

int
graph_tz_known(const char *zone)
{
	long off;

	return graph_tz_offset(zone, 0, &off) == 0;
}

int
graph_tz_offset(const char *zone, long long utc, long *offset)
{
	struct zone *z;
	int owned;

	if (zone != NULL && is_utc_name(zone)) {
		*offset = 0;
		return 0;
	}
	if ((z = zone_get(zone, &owned)) == NULL)
		return -1;
	*offset = zone_offset(z, utc);
	if (owned)
		zone_free(z);
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
	long before, after, check;

	/* Transitions are never closer than a day apart in real zones, so the offsets a day
	 * either side are the two candidates. */
	if (graph_tz_offset(zone, local - 86400, &before) < 0 ||
	    graph_tz_offset(zone, local + 86400, &after) < 0)
		return -1;
	if (before == after) {
		*utc = local - before;
		return 0;
	}
	/* Earlier reading first: in an overlap both fit and the earlier wins. */
	graph_tz_offset(zone, local - before, &check);
	if (check == before) {
		*utc = local - before;
		return 0;
	}
	graph_tz_offset(zone, local - after, &check);
	if (check == after) {
		*utc = local - after;
		return 0;
	}
	/* In a gap: the pre-transition offset carries the time past the gap. */
	*utc = local - before;
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
