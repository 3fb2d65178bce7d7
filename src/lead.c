/* lead.c: a Lead's FirstName, LastName and Company from an unknown sender's display name and
 * address (see lead.h for the rules). Names come from strangers: every byte is checked, nothing
 * is assumed about its encoding or length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lead.h"
#include "normalize.h"
#include "xmalloc.h"

#define MAX_WORDS	64	/* words kept from a display name; the rest could not fit anyway */

static const char *const titles[] = { "mr", "mrs", "ms", "miss", "mx", "dr", "prof" };
static const char *const suffixes[] = { "jr", "sr", "ii", "iii", "iv", "phd", "md", "esq" };
static const char *const particles[] = {
	"van", "von", "de", "da", "di", "del", "della", "der", "den", "du", "la", "le", "dos",
	"das", "ter", "ten", "bin", "ibn", "al",
};
/* Country-code second levels under which companies register (acme.co.uk, acme.com.au). */
static const char *const second_levels[] = {
	"co", "com", "net", "org", "gov", "edu", "ac", "ltd", "plc", "or", "ne", "go", "gob",
	"nom",
};
/* Free-mail brands under any suffix (yahoo.co.jp, gmx.at, hotmail.fr). */
static const char *const freemail_labels[] = {
	"gmail", "googlemail", "yahoo", "ymail", "rocketmail", "hotmail", "outlook", "live",
	"msn", "aol", "gmx", "yandex",
};
static const char *const freemail_domains[] = {
	"icloud.com", "me.com", "mac.com", "web.de", "t-online.de", "freenet.de", "proton.me",
	"pm.me", "protonmail.com", "protonmail.ch", "tutanota.com", "tuta.io", "zoho.com",
	"fastmail.com", "hey.com", "mail.com", "email.com", "gmail.co", "mail.ru", "inbox.ru",
	"list.ru", "bk.ru", "rambler.ru", "ya.ru", "qq.com", "163.com", "126.com", "yeah.net",
	"sina.com", "sohu.com", "naver.com", "daum.net", "hanmail.net", "orange.fr",
	"wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it",
	"seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "rediffmail.com", "comcast.net",
	"verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "btinternet.com",
	"sky.com", "shaw.ca", "rogers.com", "bigpond.com", "uol.com.br", "bol.com.br",
	"terra.com.br",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* 1 if [s, s + n) is one of the words in list, ignoring ASCII case. */
static int
in_list(const char *s, size_t n, const char *const *list, size_t nlist)
{
	size_t i;

	for (i = 0; i < nlist; i++)
		if (strlen(list[i]) == n && strncasecmp(s, list[i], n) == 0)
			return 1;
	return 0;
}

/* Same, exact case: particles only join a surname when written in lower case. */
static int
in_list_exact(const char *s, const char *const *list, size_t nlist)
{
	size_t i;

	for (i = 0; i < nlist; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* [s, s + n) with a trailing dot ignored is in list (titles and suffixes: "Dr." and "Dr"). */
static int
is_word_of(const char *s, size_t n, const char *const *list, size_t nlist)
{
	if (n > 1 && s[n - 1] == '.')
		n--;
	return in_list(s, n, list, nlist);
}

static int
is_space_cp(uint32_t c)
{
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0xA0) || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	    c == 0x205F || c == 0x3000 || c == ' ';
}

static int
is_invisible_cp(uint32_t c)
{
	return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) || c == 0xFEFF ||
	    (c >= 0x2060 && c <= 0x2064);
}

/* The display name with invalid UTF-8 and invisible characters dropped, every kind of space as
 * one ' ', (...) and [...] asides dropped, no space at either end. Caller frees. */
static char *
clean(const char *s)
{
	size_t n = strlen(s), len = 0;
	char *out = xmalloc(n + 1);
	int depth = 0, len_cp;
	uint32_t cp;

	while ((len_cp = normalize_utf8_next(s, &cp)) != 0) {
		s += len_cp > 0 ? len_cp : 1;
		if (len_cp < 0)
			continue;
		if (cp == '(' || cp == '[')
			depth++;
		else if ((cp == ')' || cp == ']') && depth > 0) {
			/* An aside stands for a space: "Jane (x) Doe", "Jane(x)Doe". */
			if (--depth == 0)
				cp = ' ';
		}
		if (depth > 0 || cp == '(' || cp == '[' || cp == ')' || cp == ']' ||
		    is_invisible_cp(cp))
			continue;
		if (is_space_cp(cp)) {
			if (len > 0 && out[len - 1] != ' ')
				out[len++] = ' ';
		} else {
			memcpy(out + len, s - len_cp, (size_t)len_cp);
			len += (size_t)len_cp;
		}
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
	return out;
}

/* Removes quotes around the whole of s, repeatedly, in place: "\"Doe, Jane\"", "'Jane'". */
static void
unquote(char *s)
{
	size_t n = strlen(s), lead;

	while (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
		n -= 2;
		memmove(s, s + 1, n);
		s[n] = '\0';
		for (lead = 0; s[lead] == ' '; lead++)
			;
		memmove(s, s + lead, n - lead + 1);
		n -= lead;
		while (n > 0 && s[n - 1] == ' ')
			s[--n] = '\0';
	}
}

/* Joins words[from, to) with single spaces; NULL when the range is empty. Caller frees. */
static char *
join(char *const *words, size_t from, size_t to, const char *sep)
{
	size_t i, n = 0;
	char *s;

	if (from >= to)
		return NULL;
	for (i = from; i < to; i++)
		n += strlen(words[i]) + strlen(sep);
	s = xmalloc(n + 1);
	s[0] = '\0';
	for (i = from, n = 0; i < to; i++) {
		size_t w = strlen(words[i]);

		if (i > from) {
			memcpy(s + n, sep, strlen(sep));
			n += strlen(sep);
		}
		memcpy(s + n, words[i], w);
		n += w;
	}
	s[n] = '\0';
	return s;
}

/* Splits s in place at the characters in seps, empty pieces skipped; returns the count. */
static size_t
split(char *s, const char *seps, char **words, size_t max)
{
	size_t n = 0;
	char *p, *save = NULL;

	for (p = strtok_r(s, seps, &save); p != NULL && n < max; p = strtok_r(NULL, seps, &save))
		words[n++] = p;
	return n;
}

/* How many leading words of words[0, n) are titles, leaving at least one word. */
static size_t
skip_titles(char *const *words, size_t n)
{
	size_t from = 0;

	while (n - from > 1 && is_word_of(words[from], strlen(words[from]), titles, NELEM(titles)))
		from++;
	return from;
}

/* "First [Middle] Last" without a comma, titles and particles as in lead.h. */
static void
parse_words(char *s, char **first, char **last)
{
	char *words[MAX_WORDS];
	size_t n = split(s, " ", words, MAX_WORDS), from = skip_titles(words, n), l;

	if (n == 0) {
		*first = *last = NULL;
		return;
	}
	l = n - 1;
	while (l > from + 1 && in_list_exact(words[l - 1], particles, NELEM(particles)))
		l--;
	*first = join(words, from, l, " ");
	*last = join(words, l, n, " ");
}

/* Upper-cases the first byte if it is an ASCII letter: local parts are lower case. */
static void
title_case(char *s)
{
	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');
}

/* The names from the address's local part. */
static void
from_address(const char *address, char **first, char **last)
{
	char *words[MAX_WORDS], *local;
	const char *at;
	size_t n, i, len;

	*first = *last = NULL;
	if (address == NULL || *address == '\0') {
		*last = xstrdup("Unknown");
		return;
	}
	at = strrchr(address, '@');
	len = at != NULL ? (size_t)(at - address) : strlen(address);
	local = xstrndup(address, len);
	local[strcspn(local, "+")] = '\0';
	n = split(local, "._-", words, MAX_WORDS);
	for (i = 0; i < n; i++)
		title_case(words[i]);
	if (n > 0) {
		*first = join(words, 0, n - 1, " ");
		*last = xstrdup(words[n - 1]);
	} else
		*last = len > 0 ? xstrndup(address, len) : xstrdup("Unknown");
	free(local);
}

/* 1 if the name is really the address or its local part, as some clients fill it, or holds no
 * letter or digit at all ("-", "''"). */
static int
is_address_like(const char *name, const char *address)
{
	const char *at, *p;
	int alnum = 0;

	for (p = name; *p; p++)
		if ((unsigned char)*p >= 0x80 || (*p >= '0' && *p <= '9') ||
		    ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
			alnum = 1;
	if (!alnum || strchr(name, '@') != NULL)
		return 1;
	if (address == NULL)
		return 0;
	at = strrchr(address, '@');
	return at != NULL && strlen(name) == (size_t)(at - address) &&
	    strncasecmp(name, address, (size_t)(at - address)) == 0;
}

/* Cuts *s to max characters, drops a space left at the end, and frees an empty result. */
static void
fit(char **s, size_t max)
{
	char *t;
	size_t n;

	if (*s == NULL)
		return;
	t = normalize_truncate_utf8(*s, max);
	free(*s);
	n = strlen(t);
	while (n > 0 && t[n - 1] == ' ')
		t[--n] = '\0';
	if (n == 0) {
		free(t);
		t = NULL;
	}
	*s = t;
}

void
lead_name_parse(const char *display_name, const char *address, char **first, char **last)
{
	char *name = clean(display_name != NULL ? display_name : ""), *comma, *rest, *end;
	char *words[MAX_WORDS];
	size_t n;

	*first = *last = NULL;
	unquote(name);
	if (*name == '\0' || is_address_like(name, address)) {
		from_address(address, first, last);
		goto out;
	}
	comma = strchr(name, ',');
	if (comma == NULL) {
		parse_words(name, first, last);
		goto out;
	}
	*comma = '\0';
	rest = comma + 1;
	while (*rest == ' ')
		rest++;
	n = strlen(name);
	while (n > 0 && name[n - 1] == ' ')
		name[--n] = '\0';
	if (*rest == '\0' || *name == '\0') {
		/* "Doe," or ", Jane": what there is, as if there were no comma. */
		parse_words(*name != '\0' ? name : rest, first, last);
		goto out;
	}
	n = strcspn(rest, ",");
	while (n > 0 && rest[n - 1] == ' ')
		n--;
	if (is_word_of(rest, n, suffixes, NELEM(suffixes)) && strchr(name, ' ') != NULL) {
		/* "John Doe, Jr.": the suffix stays with the surname. split() in parse_words
		 * stops at the NUL where the comma was, so rest is intact. */
		parse_words(name, first, last);
		end = xasprintf("%s, %s", *last, rest);
		free(*last);
		*last = end;
		goto out;
	}
	/* "Last, First [Middle]": anything after a second comma is dropped. */
	if ((end = strchr(rest, ',')) != NULL)
		*end = '\0';
	n = strlen(rest);
	while (n > 0 && rest[n - 1] == ' ')
		rest[--n] = '\0';
	*last = xstrdup(name);
	n = split(rest, " ", words, MAX_WORDS);
	*first = join(words, skip_titles(words, n), n, " ");
out:
	free(name);
	fit(first, LEAD_FIRSTNAME_MAX);
	fit(last, LEAD_LASTNAME_MAX);
	if (*last == NULL) {
		/* Only possible if the first name took every word: keep the person findable. */
		*last = *first != NULL ? *first : xstrdup("Unknown");
		*first = NULL;
	}
}

/* The registrable part of a lower-case domain: where it starts and its first label's length.
 * NULL if the domain is not usable for a company name. */
static const char *
registrable(const char *domain, size_t *label_len)
{
	const char *labels[128], *p;
	size_t n = 0, reg, len;

	if (domain == NULL || *domain == '\0' || *domain == '[')
		return NULL;
	for (p = domain; n < NELEM(labels);) {
		labels[n++] = p;
		len = strcspn(p, ".");
		if (len == 0)
			return NULL;	/* empty label: "a..b", ".a", "a." */
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (n == NELEM(labels))
		return NULL;
	if (strspn(labels[n - 1], "0123456789") == strlen(labels[n - 1]))
		return NULL;	/* an address literal, not a name */
	reg = n >= 2 ? n - 2 : 0;
	if (n >= 3 && strlen(labels[n - 1]) == 2 &&
	    in_list(labels[n - 2], strcspn(labels[n - 2], "."), second_levels,
	    NELEM(second_levels)))
		reg = n - 3;
	*label_len = strcspn(labels[reg], ".");
	return labels[reg];
}

static const char *
domain_part(const char *s)
{
	const char *at;

	if (s == NULL)
		return NULL;
	at = strrchr(s, '@');
	return at != NULL ? at + 1 : s;
}

int
lead_is_freemail(const char *domain)
{
	const char *reg;
	size_t i, label;

	reg = registrable(domain_part(domain), &label);
	if (reg == NULL)
		return 0;
	if (in_list(reg, label, freemail_labels, NELEM(freemail_labels)))
		return 1;
	for (i = 0; i < NELEM(freemail_domains); i++)
		if (strcasecmp(reg, freemail_domains[i]) == 0)
			return 1;
	return 0;
}

char *
lead_company(const char *address, const char *placeholder)
{
	char *words[MAX_WORDS], *label, *company, *cut;
	const char *reg;
	size_t len, n, i;

	if (placeholder == NULL)
		placeholder = LEAD_COMPANY_PLACEHOLDER;
	if (address == NULL || strchr(address, '@') == NULL ||
	    (reg = registrable(domain_part(address), &len)) == NULL ||
	    lead_is_freemail(address))
		return normalize_truncate_utf8(placeholder, LEAD_COMPANY_MAX);
	label = xstrndup(reg, len);
	if (strncasecmp(label, "xn--", 4) == 0)
		company = xstrdup(label);
	else {
		n = split(label, "-", words, MAX_WORDS);
		for (i = 0; i < n; i++)
			title_case(words[i]);
		company = n > 0 ? join(words, 0, n, " ") : NULL;
	}
	free(label);
	if (company == NULL)
		return normalize_truncate_utf8(placeholder, LEAD_COMPANY_MAX);
	cut = normalize_truncate_utf8(company, LEAD_COMPANY_MAX);
	free(company);
	return cut;
}
