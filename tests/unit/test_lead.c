/* test_lead.c: src/lead.c: FirstName/LastName from every display-name shape the engine issue
 * lists (and hostile ones), the fallback to the address's local part, Salesforce lengths at
 * character boundaries, and Company from the domain with the free-mail placeholder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lead.h"
#include "normalize.h"
#include "xmalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*name;
	const char	*address;
	const char	*first;		/* NULL: no FirstName */
	const char	*last;
} name_cases[] = {
	/* First Last, and more words. */
	{ "Jane Doe", "jane@acme.com", "Jane", "Doe" },
	{ "Jane Q Doe", "jane@acme.com", "Jane Q", "Doe" },
	{ "Jane Quincy Public Doe", "jane@acme.com", "Jane Quincy Public", "Doe" },
	{ "JANE DOE", "jane@acme.com", "JANE", "DOE" },
	{ "jane doe", "jane@acme.com", "jane", "doe" },
	/* Last, First. */
	{ "Doe, Jane", "jane@acme.com", "Jane", "Doe" },
	{ "Doe,Jane", "jane@acme.com", "Jane", "Doe" },
	{ "Doe, Jane Q", "jane@acme.com", "Jane Q", "Doe" },
	{ "van Beethoven, Ludwig", "lvb@music.de", "Ludwig", "van Beethoven" },
	{ "Doe, Jane, Acme Corp", "jane@acme.com", "Jane", "Doe" },
	{ "Doe, Dr. Jane", "jane@acme.com", "Jane", "Doe" },
	{ "Doe,", "jane@acme.com", NULL, "Doe" },
	{ ", Jane", "jane@acme.com", NULL, "Jane" },
	{ "Jane Doe,", "jane@acme.com", "Jane", "Doe" },
	/* Quoted, as a header writes it. */
	{ "\"Doe, Jane\"", "jane@acme.com", "Jane", "Doe" },
	{ "\"Jane Doe\"", "jane@acme.com", "Jane", "Doe" },
	{ "'Jane Doe'", "jane@acme.com", "Jane", "Doe" },
	{ "\" 'Jane Doe' \"", "jane@acme.com", "Jane", "Doe" },
	{ "Robert \"Bob\" Smith", "bob@acme.com", "Robert \"Bob\"", "Smith" },
	/* One word. */
	{ "Jane", "jane@acme.com", NULL, "Jane" },
	{ "Madonna", "m@acme.com", NULL, "Madonna" },
	/* Accents and other scripts are kept. */
	{ "Jos\xC3\xA9 Garc\xC3\xAD" "a", "jose@acme.es", "Jos\xC3\xA9", "Garc\xC3\xAD" "a" },
	{ "M\xC3\xBCller, J\xC3\xBCrgen", "jm@acme.de", "J\xC3\xBCrgen", "M\xC3\xBCller" },
	{ "\xE7\x8E\x8B \xE5\xB0\x8F\xE6\x98\x8E", "wang@acme.cn", "\xE7\x8E\x8B",
	  "\xE5\xB0\x8F\xE6\x98\x8E" },
	{ "\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD \xD0\x9F\xD0\xB5\xD1\x82\xD1\x80\xD0\xBE\xD0\xB2",
	  "ivan@acme.ru", "\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD",
	  "\xD0\x9F\xD0\xB5\xD1\x82\xD1\x80\xD0\xBE\xD0\xB2" },
	/* Extra, odd and invisible spacing. */
	{ "  Jane    Doe  ", "jane@acme.com", "Jane", "Doe" },
	{ "Jane\tDoe", "jane@acme.com", "Jane", "Doe" },
	{ "Jane\r\nDoe", "jane@acme.com", "Jane", "Doe" },
	{ "Jane\xC2\xA0" "Doe", "jane@acme.com", "Jane", "Doe" },
	{ "Ja\xE2\x80\x8Bne Doe\xEF\xBB\xBF", "jane@acme.com", "Jane", "Doe" },
	/* Titles are dropped when a name follows. */
	{ "Dr. Jane Doe", "jane@acme.com", "Jane", "Doe" },
	{ "Dr Jane Doe", "jane@acme.com", "Jane", "Doe" },
	{ "Mr. John Smith", "js@acme.com", "John", "Smith" },
	{ "Mrs Jane Doe", "jane@acme.com", "Jane", "Doe" },
	{ "Prof. Dr. Hans Meier", "hm@uni.de", "Hans", "Meier" },
	{ "Dr. Doe", "doe@acme.com", NULL, "Doe" },
	{ "Dr.", "doe@acme.com", NULL, "Dr." },
	{ "Drew Barrymore", "drew@acme.com", "Drew", "Barrymore" },
	/* Suffixes stay with the surname. */
	{ "John Doe, Jr.", "jd@acme.com", "John", "Doe, Jr." },
	{ "Martin Luther King, Jr", "mlk@acme.com", "Martin Luther", "King, Jr" },
	{ "John Doe, PhD", "jd@acme.com", "John", "Doe, PhD" },
	{ "John Doe, III, Esq.", "jd@acme.com", "John", "Doe, III, Esq." },
	/* Particles join the surname, only in lower case and never as the first name. */
	{ "Ludwig van Beethoven", "lvb@music.de", "Ludwig", "van Beethoven" },
	{ "Maria de la Cruz", "maria@acme.mx", "Maria", "de la Cruz" },
	{ "Van Morrison", "van@music.ie", "Van", "Morrison" },
	{ "Jean De La Fontaine", "jdlf@acme.fr", "Jean De La", "Fontaine" },
	{ "de Gaulle", "cdg@acme.fr", "de", "Gaulle" },
	/* Asides in brackets are dropped. */
	{ "Jane Doe (Acme)", "jane@acme.com", "Jane", "Doe" },
	{ "[EXT] Jane Doe", "jane@acme.com", "Jane", "Doe" },
	{ "Doe, Jane (Contractor)", "jane@acme.com", "Jane", "Doe" },
	{ "Jane (x) Doe", "jane@acme.com", "Jane", "Doe" },
	{ "Jane Doe (unterminated", "jane@acme.com", "Jane", "Doe" },
	{ "Jane) Doe", "jane@acme.com", "Jane", "Doe" },
	/* Name empty or the address: from the local part. */
	{ "", "john.doe@acme.com", "John", "Doe" },
	{ NULL, "john.doe@acme.com", "John", "Doe" },
	{ "   ", "john.doe@acme.com", "John", "Doe" },
	{ "\"\"", "john.doe@acme.com", "John", "Doe" },
	{ "john.doe@acme.com", "john.doe@acme.com", "John", "Doe" },
	{ "John.Doe@ACME.com", "john.doe@acme.com", "John", "Doe" },
	{ "'john.doe@acme.com'", "john.doe@acme.com", "John", "Doe" },
	{ "john.doe", "john.doe@acme.com", "John", "Doe" },
	{ "someone@else.com", "john.doe@acme.com", "John", "Doe" },
	{ "", "j_doe@acme.com", "J", "Doe" },
	{ "", "jdoe123@acme.com", NULL, "Jdoe123" },
	{ "", "jane-marie.doe-smith@acme.com", "Jane Marie Doe", "Smith" },
	{ "", "john.m.doe@acme.com", "John M", "Doe" },
	{ "", "john.doe+newsletter@acme.com", "John", "Doe" },
	{ "", "info@acme.com", NULL, "Info" },
	{ "", "123@acme.com", NULL, "123" },
	{ "", "_.-@acme.com", NULL, "_.-" },
	{ "", "..x..@acme.com", NULL, "X" },
	{ "", NULL, NULL, "Unknown" },
	{ NULL, NULL, NULL, "Unknown" },
	{ "", "", NULL, "Unknown" },
	/* Punctuation alone is no name. */
	{ "-", "john.doe@acme.com", "John", "Doe" },
	{ "'", "john.doe@acme.com", "John", "Doe" },
	{ "(Acme)", "john.doe@acme.com", "John", "Doe" },
	/* Hostile: control characters, invalid UTF-8, injection-looking text. */
	{ "Jane\x01\x02 Doe\x7f", "jane@acme.com", "Jane", "Doe" },
	{ "Jane \xFF\xFE" "Doe", "jane@acme.com", "Jane", "Doe" },
	{ "J\xC3" "ane Doe", "jane@acme.com", "Jane", "Doe" },
	{ "\xED\xA0\x80", "jane@acme.com", NULL, "Jane" },
	{ "x'or Name!='", "jane@acme.com", "x'or", "Name!='" },
	{ "Robert'); DROP TABLE Lead;--", "bobby@acme.com", "Robert'; DROP TABLE", "Lead;--" },
	{ "<script>alert(1)</script>", "x@acme.com", "<script>alert", "</script>" },
	{ "Jane(Acme)Doe", "jane@acme.com", "Jane", "Doe" },
};

static void
check_name(size_t i, const char *name, const char *address, const char *want_first,
    const char *want_last)
{
	char *first = (char *)"stale", *last = (char *)"stale";

	lead_name_parse(name, address, &first, &last);
	if (last == NULL || *last == '\0')
		fail_msg("name case %zu: empty LastName", i);
	if ((want_first == NULL) != (first == NULL) ||
	    (first != NULL && strcmp(first, want_first) != 0) || strcmp(last, want_last) != 0)
		fail_msg("name case %zu (\"%s\" <%s>): \"%s\" / \"%s\", want \"%s\" / \"%s\"", i,
		    name ? name : "(null)", address ? address : "(null)", first ? first : "(null)",
		    last, want_first ? want_first : "(null)", want_last);
	free(first);
	free(last);
}

static void
test_name_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(name_cases); i++)
		check_name(i, name_cases[i].name, name_cases[i].address, name_cases[i].first,
		    name_cases[i].last);
}

/* Characters as Salesforce counts them (UTF-16 units), failing on invalid UTF-8. */
static size_t
sf_chars(const char *s)
{
	size_t n = 0;
	uint32_t cp;
	int len;

	for (; (len = normalize_utf8_next(s, &cp)) != 0; s += len) {
		if (len < 0)
			fail_msg("invalid UTF-8 in \"%s\"", s);
		n += cp > 0xFFFF ? 2 : 1;
	}
	return n;
}

/* Names longer than the fields: cut at character boundaries, never emptied, never split. */
static void
test_name_lengths(void **state)
{
	char *first, *last, *name, *big;
	const char *words[] = { "Jane", "J\xC3\xA9r\xC3\xB4me", "\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
	    "\xE7\x8E\x8B" };

	(void)state;
	for (size_t w = 0; w < NELEM(words); w++) {
		/* 30 first names and one long surname. */
		big = xstrdup("");
		for (int k = 0; k < 30; k++) {
			name = xasprintf("%s%s ", big, words[w]);
			free(big);
			big = name;
		}
		name = xasprintf("%s%s", big, "X");
		for (int k = 0; k < 100; k++) {
			char *t = xasprintf("%s%s", name, words[w]);

			free(name);
			name = t;
		}
		lead_name_parse(name, "x@acme.com", &first, &last);
		assert_non_null(first);
		assert_true(sf_chars(first) <= LEAD_FIRSTNAME_MAX);
		assert_true(sf_chars(first) >= LEAD_FIRSTNAME_MAX - 4);
		assert_true(first[strlen(first) - 1] != ' ');
		assert_true(sf_chars(last) <= LEAD_LASTNAME_MAX);
		assert_true(sf_chars(last) >= LEAD_LASTNAME_MAX - 1);
		assert_true(strncmp(last, "X", 1) == 0);
		free(first);
		free(last);
		free(name);
		free(big);
	}
	/* A megabyte with no space: one word, LastName, 80 characters. */
	big = xmalloc((1 << 20) + 1);
	memset(big, 'a', 1 << 20);
	big[1 << 20] = '\0';
	lead_name_parse(big, "x@acme.com", &first, &last);
	assert_null(first);
	assert_int_equal(strlen(last), LEAD_LASTNAME_MAX);
	free(last);
	/* A megabyte of words: bounded, and still a name. */
	for (size_t i = 1; i < (1 << 20); i += 2)
		big[i] = ' ';
	lead_name_parse(big, "x@acme.com", &first, &last);
	assert_non_null(first);
	assert_true(strlen(first) <= LEAD_FIRSTNAME_MAX);
	assert_string_equal(last, "a");
	free(first);
	free(last);
	/* A megabyte of invalid bytes: nothing usable, so the address. */
	memset(big, 0xFF, 1 << 20);
	lead_name_parse(big, "john.doe@acme.com", &first, &last);
	assert_string_equal(first, "John");
	assert_string_equal(last, "Doe");
	free(first);
	free(last);
	free(big);
}

static const struct {
	const char *address;
	const char *company;
} company_cases[] = {
	{ "jane@acme.com", "Acme" },
	{ "jane@acme-corp.com", "Acme Corp" },
	{ "jane@acme-corp.co.uk", "Acme Corp" },
	{ "jane@sales.eu.acme-corp.co.uk", "Acme Corp" },
	{ "jane@mail.acme.com", "Acme" },
	{ "jane@acme.com.au", "Acme" },
	{ "jane@acme.co.jp", "Acme" },
	{ "jane@acme.com.br", "Acme" },
	{ "jane@acme.de", "Acme" },
	{ "jane@acme.io", "Acme" },
	{ "jane@bbc.co.uk", "Bbc" },
	{ "jane@big--blue.com", "Big Blue" },
	{ "jane@3m.com", "3m" },
	{ "jane@a.b.c.example.org", "Example" },
	/* A two-letter label that is not a second level: the label before the suffix. */
	{ "jane@acme.ab.ca", "Ab" },
	{ "jane@xn--mller-kva.de", "xn--mller-kva" },
	{ "jane@m\xC3\xBCller.de", "M\xC3\xBCller" },
	/* Only an ASCII first letter is upper-cased: no case tables. */
	{ "jane@\xC3\xBC" "ber.de", "\xC3\xBC" "ber" },
	/* Free mail. */
	{ "jane@gmail.com", "[not provided]" },
	{ "jane@GMAIL.COM", "[not provided]" },
	{ "jane@googlemail.com", "[not provided]" },
	{ "jane@outlook.com", "[not provided]" },
	{ "jane@hotmail.com", "[not provided]" },
	{ "jane@hotmail.co.uk", "[not provided]" },
	{ "jane@live.fr", "[not provided]" },
	{ "jane@yahoo.com", "[not provided]" },
	{ "jane@yahoo.co.jp", "[not provided]" },
	{ "jane@yahoo.de", "[not provided]" },
	{ "jane@icloud.com", "[not provided]" },
	{ "jane@me.com", "[not provided]" },
	{ "jane@aol.com", "[not provided]" },
	{ "jane@gmx.de", "[not provided]" },
	{ "jane@gmx.net", "[not provided]" },
	{ "jane@web.de", "[not provided]" },
	{ "jane@proton.me", "[not provided]" },
	{ "jane@protonmail.com", "[not provided]" },
	{ "jane@yandex.ru", "[not provided]" },
	{ "jane@mail.ru", "[not provided]" },
	{ "jane@qq.com", "[not provided]" },
	{ "jane@163.com", "[not provided]" },
	{ "jane@uol.com.br", "[not provided]" },
	/* Look-alikes are companies. */
	{ "jane@gmailer.com", "Gmailer" },
	{ "jane@notgmail.com", "Notgmail" },
	{ "jane@web.com", "Web" },
	{ "jane@mail.acme.ru", "Acme" },
	/* No usable domain. */
	{ "jane", "[not provided]" },
	{ "jane@", "[not provided]" },
	{ "", "[not provided]" },
	{ NULL, "[not provided]" },
	{ "jane@[10.0.0.1]", "[not provided]" },
	{ "jane@10.0.0.1", "[not provided]" },
	{ "jane@acme..com", "[not provided]" },
	{ "jane@acme.com.", "[not provided]" },
	{ "jane@.acme.com", "[not provided]" },
	{ "jane@-.com", "[not provided]" },
};

static void
test_company(void **state)
{
	char *c, *big;

	(void)state;
	for (size_t i = 0; i < NELEM(company_cases); i++) {
		c = lead_company(company_cases[i].address, NULL);
		if (strcmp(c, company_cases[i].company) != 0)
			fail_msg("company of %s: \"%s\", want \"%s\"", company_cases[i].address ?
			    company_cases[i].address : "(null)", c, company_cases[i].company);
		free(c);
	}
	/* The placeholder is configurable, and cut like any Company. */
	c = lead_company("jane@gmail.com", "Individual");
	assert_string_equal(c, "Individual");
	free(c);
	c = lead_company("jane@acme.com", "Individual");
	assert_string_equal(c, "Acme");
	free(c);
	big = xmalloc(1001);
	memset(big, 'p', 1000);
	big[1000] = '\0';
	c = lead_company("jane@gmail.com", big);
	assert_int_equal(strlen(c), LEAD_COMPANY_MAX);
	free(c);
	/* A domain of 200 labels: refused whole, not overrun. */
	for (size_t i = 0; i < 1000; i += 2) {
		big[i] = 'a';
		big[i + 1] = '.';
	}
	big[999] = 'z';
	c = lead_company(big, NULL);
	assert_string_equal(c, "[not provided]");
	free(c);
	memcpy(big, "x@", 2);
	c = lead_company(big, NULL);
	assert_string_equal(c, "[not provided]");
	free(c);
	free(big);
}

static const struct {
	const char	*domain;
	int		 freemail;
} freemail_cases[] = {
	{ "gmail.com", 1 },
	{ "jane@gmail.com", 1 },
	{ "yahoo.fr", 1 },
	{ "ymail.com", 1 },
	{ "hotmail.it", 1 },
	{ "gmx.at", 1 },
	{ "yandex.com", 1 },
	{ "fastmail.com", 1 },
	{ "acme.com", 0 },
	{ "gmail.acme.com", 0 },
	{ "web.com", 0 },
	{ "", 0 },
	{ NULL, 0 },
};

static void
test_is_freemail(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(freemail_cases); i++)
		if (lead_is_freemail(freemail_cases[i].domain) != freemail_cases[i].freemail)
			fail_msg("freemail %s: want %d", freemail_cases[i].domain ?
			    freemail_cases[i].domain : "(null)", freemail_cases[i].freemail);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_name_lengths),
		cmocka_unit_test(test_company),
		cmocka_unit_test(test_is_freemail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
