/* test_normalize.c: src/normalize.c: the UTF-8 decoder, message ids and their digest, addresses
 * and address lists, Salesforce-length truncation, SOQL literals and IN chunks under the URL
 * budget. Each table holds the rejected and hostile inputs next to the accepted ones. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "xmalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A string of n copies of c, for the oversized rows. Caller frees. */
static char *
repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static const struct {
	const char	*in;
	int		 len;	/* -1: invalid */
	uint32_t	 cp;
} utf8_cases[] = {
	{ "", 0, 0 },
	{ "A", 1, 'A' },
	{ "\x7f", 1, 0x7F },
	{ "\xC3\xA9", 2, 0xE9 },		/* é */
	{ "\xE2\x82\xAC", 3, 0x20AC },		/* € */
	{ "\xF0\x9F\x98\x80", 4, 0x1F600 },	/* 😀 */
	{ "\xF4\x8F\xBF\xBF", 4, 0x10FFFF },
	{ "\x80", -1, 0 },			/* stray continuation */
	{ "\xBF", -1, 0 },
	{ "\xC3", -1, 0 },			/* truncated by the NUL */
	{ "\xC3(", -1, 0 },
	{ "\xE2\x82", -1, 0 },
	{ "\xC0\xAF", -1, 0 },			/* overlong '/' */
	{ "\xC1\xBF", -1, 0 },
	{ "\xE0\x80\xAF", -1, 0 },		/* overlong */
	{ "\xF0\x80\x80\xAF", -1, 0 },		/* overlong */
	{ "\xED\xA0\x80", -1, 0 },		/* surrogate U+D800 */
	{ "\xF4\x90\x80\x80", -1, 0 },		/* above U+10FFFF */
	{ "\xF5\x80\x80\x80", -1, 0 },
	{ "\xFF", -1, 0 },
	{ "\xFE", -1, 0 },
};

static void
test_utf8_next(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(utf8_cases); i++) {
		uint32_t cp = 0xFFFFFFFF;
		int len = normalize_utf8_next(utf8_cases[i].in, &cp);

		if (len != utf8_cases[i].len)
			fail_msg("utf8 case %zu: length %d, want %d", i, len, utf8_cases[i].len);
		if (len > 0 && cp != utf8_cases[i].cp)
			fail_msg("utf8 case %zu: U+%04X, want U+%04X", i, cp, utf8_cases[i].cp);
	}
}

static const struct {
	const char *in;
	const char *out;	/* NULL: rejected */
} msgid_cases[] = {
	{ "<abc@example.com>", "abc@example.com" },
	{ "abc@example.com", "abc@example.com" },
	{ "  <abc@example.com>\r\n", "abc@example.com" },
	{ "\t<abc@EXAMPLE.COM> ", "abc@example.com" },
	/* id-left is case-sensitive: kept byte for byte. */
	{ "<ABC.Def@Example.Com>", "ABC.Def@example.com" },
	{ "<CAFx1+Yz=Q@mail.gmail.com>", "CAFx1+Yz=Q@mail.gmail.com" },
	{ "<DM6PR11MB1234ABCD@DM6PR11MB1234.namprd11.PROD.OUTLOOK.COM>",
	  "DM6PR11MB1234ABCD@dm6pr11mb1234.namprd11.prod.outlook.com" },
	/* The last '@' splits (obsolete quoted id-left). */
	{ "<\"a@B\"@Host.Example>", "\"a@B\"@host.example" },
	/* Domain literal on the right. */
	{ "<1234@[IPv6:ABCD::1]>", "1234@[ipv6:abcd::1]" },
	/* Without '@': kept as is. */
	{ "<12345.JavaMail.ABC>", "12345.JavaMail.ABC" },
	{ "x", "x" },
	/* UTF-8 is kept (RFC 6532). */
	{ "<caf\xC3\xA9@B\xC3\xA9.example>", "caf\xC3\xA9@b\xC3\xA9.example" },
	/* Rejected. */
	{ "", NULL },
	{ "   ", NULL },
	{ "<>", NULL },
	{ "< >", NULL },
	{ "<", NULL },
	{ ">", NULL },
	{ "<abc@example.com", NULL },
	{ "abc@example.com>", NULL },
	{ "<<abc@example.com>>", NULL },
	{ "<abc@example.com> <def@example.com>", NULL },
	{ "<abc def@example.com>", NULL },
	{ "<abc\t@example.com>", NULL },
	{ "<abc\r\n@example.com>", NULL },
	{ "<abc\x01@example.com>", NULL },
	{ "<abc\x7f@example.com>", NULL },
	{ "<abc\xC3@example.com>", NULL },
	{ "<abc\xFF@example.com>", NULL },
	{ "<a<b@example.com>", NULL },
};

static void
test_message_id(void **state)
{
	char err[128], *big, *out;

	(void)state;
	for (size_t i = 0; i < NELEM(msgid_cases); i++) {
		err[0] = '\0';
		out = normalize_message_id(msgid_cases[i].in, err, sizeof(err));
		if (msgid_cases[i].out == NULL) {
			if (out != NULL)
				fail_msg("message id \"%s\" accepted as \"%s\"",
				    msgid_cases[i].in, out);
			if (err[0] == '\0')
				fail_msg("message id \"%s\" rejected without a reason",
				    msgid_cases[i].in);
			continue;
		}
		if (out == NULL)
			fail_msg("message id \"%s\" rejected: %s", msgid_cases[i].in, err);
		if (strcmp(out, msgid_cases[i].out) != 0)
			fail_msg("message id \"%s\" -> \"%s\", want \"%s\"", msgid_cases[i].in, out,
			    msgid_cases[i].out);
		free(out);
	}
	/* The size limit, on the inside of the brackets. */
	big = repeat('a', NORMALIZE_MSGID_MAX + 2);
	big[0] = '<';
	big[NORMALIZE_MSGID_MAX + 1] = '>';
	out = normalize_message_id(big, err, sizeof(err));
	assert_non_null(out);
	assert_int_equal(strlen(out), NORMALIZE_MSGID_MAX);
	free(out);
	free(big);
	big = repeat('a', NORMALIZE_MSGID_MAX + 1);
	assert_null(normalize_message_id(big, err, sizeof(err)));
	free(big);
	big = repeat('a', 1 << 20);
	assert_null(normalize_message_id(big, err, sizeof(err)));
	free(big);
	assert_null(normalize_message_id(NULL, err, sizeof(err)));
	/* No error buffer at all is fine. */
	assert_null(normalize_message_id("", NULL, 0));
}

static const struct {
	const char *id;
	const char *digest;	/* sha256sum | cut -c1-32 */
} digest_cases[] = {
	{ "abc@example.com", "9eceb13483d7f187ec014fd6d4854d14" },
	{ "CAFx1+Yz@mail.gmail.com", "3ca53fed5253bf4b5a6dd4e183f68d23" },
	{ "DM6PR11MB1234ABCD@dm6pr11mb1234.namprd11.prod.outlook.com",
	  "5bd30e05d11116fb9efb81cd85d6e91d" },
	{ "", "e3b0c44298fc1c149afbf4c8996fb924" },
};

static void
test_digest(void **state)
{
	char d[NORMALIZE_DIGEST_LEN + 1], e[NORMALIZE_DIGEST_LEN + 1], err[64];
	char *a, *b;

	(void)state;
	for (size_t i = 0; i < NELEM(digest_cases); i++) {
		memset(d, 'X', sizeof(d));
		normalize_digest(digest_cases[i].id, d);
		assert_string_equal(d, digest_cases[i].digest);
		assert_int_equal(strspn(d, "0123456789abcdef"), NORMALIZE_DIGEST_LEN);
	}
	/* The same message seen with different brackets and domain case: one digest. */
	a = normalize_message_id(" <Ab.1@MAIL.Example.COM>", err, sizeof(err));
	b = normalize_message_id("Ab.1@mail.example.com", err, sizeof(err));
	normalize_digest(a, d);
	normalize_digest(b, e);
	assert_string_equal(d, e);
	free(b);
	/* A different id-left case is a different message. */
	b = normalize_message_id("<ab.1@mail.example.com>", err, sizeof(err));
	normalize_digest(b, e);
	assert_string_not_equal(d, e);
	free(a);
	free(b);
}

static const struct {
	const char *in;
	const char *out;	/* NULL: rejected */
} address_cases[] = {
	{ "a@b.co", "a@b.co" },
	{ "Jane.Doe@Example.COM", "jane.doe@example.com" },
	{ "  jane@example.com\t", "jane@example.com" },
	{ "<jane@example.com>", "jane@example.com" },
	{ "Jane Doe <Jane@Example.com>", "jane@example.com" },
	{ "\"Doe, Jane\" <jane@example.com>", "jane@example.com" },
	{ "\"a <b> c\" <jane@example.com>", "jane@example.com" },
	{ "Jane < jane@example.com >", "jane@example.com" },
	{ "jane+crm@example.com", "jane+crm@example.com" },
	{ "o'brien@example.ie", "o'brien@example.ie" },
	{ "x'or'1'='1@evil.com", "x'or'1'='1@evil.com" },
	{ "!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com" },
	{ "a.b.c@sub-1.mail.example.co.uk", "a.b.c@sub-1.mail.example.co.uk" },
	{ "user@xn--mller-kva.de", "user@xn--mller-kva.de" },
	{ "J\xC3\xBCrgen@M\xC3\xBCller.de", "j\xC3\xBCrgen@m\xC3\xBCller.de" },
	{ "a@1.example", "a@1.example" },
	/* Rejected. */
	{ "", NULL },
	{ "   ", NULL },
	{ "<>", NULL },
	{ "Jane Doe", NULL },
	{ "jane", NULL },
	{ "@example.com", NULL },
	{ "jane@", NULL },
	{ "jane@@example.com", NULL },
	{ "jane@doe@example.com", NULL },
	{ "jane@localhost", NULL },
	{ "jane@example.com.", NULL },
	{ "jane@.example.com", NULL },
	{ "jane@example..com", NULL },
	{ "jane@-example.com", NULL },
	{ "jane@example-.com", NULL },
	{ "jane@exa_mple.com", NULL },
	{ "jane@1.2.3.4", NULL },
	{ "jane@[1.2.3.4]", NULL },
	{ ".jane@example.com", NULL },
	{ "jane.@example.com", NULL },
	{ "ja..ne@example.com", NULL },
	{ "\"jane doe\"@example.com", NULL },
	{ "jane doe@example.com", NULL },
	{ "x'or Name!='@evil.com", NULL },
	{ "jane@exa mple.com", NULL },
	{ "jane(comment)@example.com", NULL },
	{ "jane,joe@example.com", NULL },
	{ "jane@example.com>", NULL },
	{ "Jane <jane@example.com", NULL },
	{ "Jane <jane@example.com> extra", NULL },
	{ "jane\n@example.com", NULL },
	{ "jane\x01@example.com", NULL },
	{ "jane\xC3@example.com", NULL },
	{ "jane@ex\xFF.com", NULL },
	{ "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=JDOE", NULL },
	{ "mailto:jane@example.com", NULL },
};

static void
test_address(void **state)
{
	char err[128], *out, *big, *local, *label;

	(void)state;
	for (size_t i = 0; i < NELEM(address_cases); i++) {
		err[0] = '\0';
		out = normalize_address(address_cases[i].in, err, sizeof(err));
		if (address_cases[i].out == NULL) {
			if (out != NULL)
				fail_msg("address \"%s\" accepted as \"%s\"",
				    address_cases[i].in, out);
			if (err[0] == '\0')
				fail_msg("address \"%s\" rejected without a reason",
				    address_cases[i].in);
			continue;
		}
		if (out == NULL)
			fail_msg("address \"%s\" rejected: %s", address_cases[i].in, err);
		if (strcmp(out, address_cases[i].out) != 0)
			fail_msg("address \"%s\" -> \"%s\", want \"%s\"", address_cases[i].in, out,
			    address_cases[i].out);
		free(out);
	}
	/* Length limits: local part 64, label 63, whole 254. */
	local = repeat('a', NORMALIZE_LOCAL_MAX + 1);
	big = xasprintf("%s@example.com", local);
	assert_null(normalize_address(big, err, sizeof(err)));
	free(big);
	big = xasprintf("%s@example.com", local + 1);
	out = normalize_address(big, err, sizeof(err));
	assert_non_null(out);
	free(out);
	free(big);
	label = repeat('b', NORMALIZE_LABEL_MAX + 1);
	big = xasprintf("a@%s.com", label);
	assert_null(normalize_address(big, err, sizeof(err)));
	free(big);
	big = xasprintf("a@%s.%s.%s.%s", label + 1, label + 1, label + 1, label + 4);
	assert_int_equal(strlen(big), NORMALIZE_ADDRESS_MAX);
	out = normalize_address(big, err, sizeof(err));
	assert_non_null(out);
	free(out);
	free(big);
	big = xasprintf("a@%s.%s.%s.%s", label + 1, label + 1, label + 1, label + 3);
	assert_null(normalize_address(big, err, sizeof(err)));
	free(big);
	free(label);
	free(local);
	big = repeat('a', 1 << 20);
	big[1000] = '@';
	assert_null(normalize_address(big, err, sizeof(err)));
	free(big);
	assert_null(normalize_address(NULL, err, sizeof(err)));
}

static const struct {
	const char *in;
	const char *out;	/* addresses joined by '|'; NULL: rejected */
} list_cases[] = {
	{ "", "" },
	{ " , ; ,", "" },
	{ "a@x.com", "a@x.com" },
	{ "a@x.com, B@Y.com", "a@x.com|b@y.com" },
	{ "a@x.com;b@y.com;", "a@x.com|b@y.com" },
	{ "\"Doe, Jane\" <jane@example.com>, Joe <joe@example.com>",
	  "jane@example.com|joe@example.com" },
	{ "\"a \\\" , b\" <q@x.com>", "q@x.com" },
	{ "<a,b@x.com>", NULL },
	{ "a@x.com, A@X.COM, a@x.com", "a@x.com" },
	{ "team: a@x.com, b@x.com;, c@y.com", "a@x.com|b@x.com|c@y.com" },
	{ "undisclosed-recipients:;", "" },
	{ "a@x.com, nonsense", NULL },
	{ "Doe, Jane <jane@example.com>", NULL },
	{ "\"unterminated <a@x.com>", NULL },
	{ "Jane <a@x.com", NULL },
};

static void
test_address_list(void **state)
{
	char err[128], joined[512], **v;
	size_t n;
	int rc;

	(void)state;
	for (size_t i = 0; i < NELEM(list_cases); i++) {
		err[0] = '\0';
		rc = normalize_address_list(list_cases[i].in, &v, &n, err, sizeof(err));
		if (list_cases[i].out == NULL) {
			if (rc != -1 || v != NULL)
				fail_msg("list \"%s\" accepted", list_cases[i].in);
			if (strncmp(err, "entry ", 6) != 0)
				fail_msg("list \"%s\": error \"%s\" names no entry",
				    list_cases[i].in, err);
			continue;
		}
		if (rc != 0)
			fail_msg("list \"%s\" rejected: %s", list_cases[i].in, err);
		joined[0] = '\0';
		for (size_t k = 0; k < n; k++) {
			if (k > 0)
				strcat(joined, "|");
			strcat(joined, v[k]);
		}
		assert_null(v[n]);
		if (strcmp(joined, list_cases[i].out) != 0)
			fail_msg("list \"%s\" -> \"%s\", want \"%s\"", list_cases[i].in, joined,
			    list_cases[i].out);
		normalize_strv_free(v);
	}
	assert_int_equal(normalize_address_list(NULL, &v, &n, err, sizeof(err)), -1);
	normalize_strv_free(NULL);
}

static const struct {
	const char	*in;
	size_t		 max;
	const char	*out;
} truncate_cases[] = {
	{ "", 5, "" },
	{ "hello", 0, "" },
	{ "hello", 5, "hello" },
	{ "hello", 3, "hel" },
	{ "hello", 100, "hello" },
	/* é is 2 bytes, 1 character. */
	{ "caf\xC3\xA9s", 4, "caf\xC3\xA9" },
	{ "caf\xC3\xA9s", 3, "caf" },
	{ "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC", 2, "\xE2\x82\xAC\xE2\x82\xAC" },
	/* Above U+FFFF is two UTF-16 units, as Salesforce counts. */
	{ "a\xF0\x9F\x98\x80" "b", 3, "a\xF0\x9F\x98\x80" },
	{ "a\xF0\x9F\x98\x80" "b", 2, "a" },
	{ "\xF0\x9F\x98\x80", 1, "" },
	/* Invalid bytes become U+FFFD, one character each. */
	{ "a\xFF" "b", 3, "a\xEF\xBF\xBD" "b" },
	{ "a\xC3", 5, "a\xEF\xBF\xBD" },
	{ "\xE2\x82" "x", 5, "\xEF\xBF\xBD\xEF\xBF\xBD" "x" },
	{ "\xED\xA0\x80", 1, "\xEF\xBF\xBD" },
	{ "a\xC0\xAF", 2, "a\xEF\xBF\xBD" },
	/* Line breaks are text, not cut points. */
	{ "a\nb\r\nc", 4, "a\nb\r" },
};

static void
test_truncate(void **state)
{
	char *out, *big;
	uint32_t cp;
	size_t chars = 0;
	int len;

	(void)state;
	for (size_t i = 0; i < NELEM(truncate_cases); i++) {
		out = normalize_truncate_utf8(truncate_cases[i].in, truncate_cases[i].max);
		if (strcmp(out, truncate_cases[i].out) != 0)
			fail_msg("truncate case %zu to %zu: \"%s\", want \"%s\"", i,
			    truncate_cases[i].max, out, truncate_cases[i].out);
		free(out);
	}
	/* A megabyte of "é" and junk bytes to 32,000 characters: valid UTF-8 of that length. */
	big = xmalloc((1 << 20) + 1);
	for (size_t i = 0; i < (1 << 20); i += 2) {
		big[i] = (char)(i % 6 == 0 ? 0xFF : 0xC3);
		big[i + 1] = (char)0xA9;
	}
	big[1 << 20] = '\0';
	out = normalize_truncate_utf8(big, 32000);
	for (const char *p = out; (len = normalize_utf8_next(p, &cp)) != 0; p += len) {
		if (len < 0)
			fail_msg("truncated text is not valid UTF-8 at byte %td", p - out);
		chars++;
	}
	assert_int_equal(chars, 32000);
	free(out);
	free(big);
}

static const struct {
	const char *in;
	const char *out;
} quote_cases[] = {
	{ "", "''" },
	{ "a@b.com", "'a@b.com'" },
	{ "x'or Name!='@evil.com", "'x\\'or Name!=\\'@evil.com'" },
	{ "x' OR Email != '", "'x\\' OR Email != \\''" },
	{ "o'brien@example.ie", "'o\\'brien@example.ie'" },
	{ "a\\b", "'a\\\\b'" },
	{ "\\'", "'\\\\\\''" },
	{ "say \"hi\"", "'say \\\"hi\\\"'" },
	{ "a\nb\rc\td\be\ff", "'a\\nb\\rc\\td\\be\\ff'" },
	{ "a\x01z\x1f\x7f", "'a\\u0001z\\u001F\\u007F'" },
	/* LIKE wildcards mean nothing to = and IN: left alone. */
	{ "100%_sure", "'100%_sure'" },
	{ "caf\xC3\xA9", "'caf\xC3\xA9'" },
	{ "a\xFF'", "'a\xEF\xBF\xBD\\''" },
};

static void
test_soql_quote(void **state)
{
	char *out, *big;

	(void)state;
	for (size_t i = 0; i < NELEM(quote_cases); i++) {
		out = normalize_soql_quote(quote_cases[i].in);
		if (strcmp(out, quote_cases[i].out) != 0)
			fail_msg("quote \"%s\" -> %s, want %s", quote_cases[i].in, out,
			    quote_cases[i].out);
		free(out);
	}
	/* A hostile run of quotes and backslashes stays one literal: every ' inside escaped. */
	big = repeat('\'', 100000);
	out = normalize_soql_quote(big);
	assert_int_equal(strlen(out), 2 * 100000 + 2);
	for (size_t i = 1; i + 1 < strlen(out); i += 2)
		if (out[i] != '\\' || out[i + 1] != '\'')
			fail_msg("unescaped quote at %zu", i);
	free(out);
	free(big);
}

static const struct {
	const char	*in;
	size_t		 len;
} urllen_cases[] = {
	{ "", 0 },
	{ "abcXYZ019-._~", 13 },
	{ " ", 3 },
	{ "'a@b.com'", 15 },
	{ "\xC3\xA9", 6 },
	{ "SELECT Id FROM Contact WHERE Email IN ('a@x.com')", 73 },
};

static void
test_url_encoded_len(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(urllen_cases); i++)
		if (normalize_url_encoded_len(urllen_cases[i].in) != urllen_cases[i].len)
			fail_msg("url length of \"%s\": %zu, want %zu", urllen_cases[i].in,
			    normalize_url_encoded_len(urllen_cases[i].in), urllen_cases[i].len);
}

/* An encoder independent of the one under test: what curl_easy_escape produces. */
static size_t
encoded(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
		    *s) != NULL ? 1 : 3;
	return n;
}

#define HEAD	"SELECT Id, Email FROM Contact WHERE Email IN "
#define TAIL	" ORDER BY CreatedDate"

static const struct {
	const char	*lits[4];
	size_t		 n;
	size_t		 budget;
	size_t		 max_items;
	const char	*out[4];	/* the queries; out[0] NULL with n > 0: rejected */
} chunk_cases[] = {
	{ { NULL }, 0, 1000, 0, { NULL } },
	{ { "'a@x.com'" }, 1, 1000, 0, { HEAD "('a@x.com')" TAIL } },
	{ { "'a@x.com'", "'b@x.com'", "'c@x.com'" }, 3, 1000, 0,
	  { HEAD "('a@x.com','b@x.com','c@x.com')" TAIL } },
	{ { "'a@x.com'", "'b@x.com'", "'c@x.com'" }, 3, 1000, 2,
	  { HEAD "('a@x.com','b@x.com')" TAIL, HEAD "('c@x.com')" TAIL } },
	/* HEAD and TAIL encode to 90 bytes, "(" and ")" to 6, each literal to 15, each comma to
	 * 3: one literal takes 111, two 129. */
	{ { "'a@x.com'", "'b@x.com'", "'c@x.com'" }, 3, 129, 0,
	  { HEAD "('a@x.com','b@x.com')" TAIL, HEAD "('c@x.com')" TAIL } },
	{ { "'a@x.com'", "'b@x.com'", "'c@x.com'" }, 3, 128, 0,
	  { HEAD "('a@x.com')" TAIL, HEAD "('b@x.com')" TAIL, HEAD "('c@x.com')" TAIL } },
	{ { "'a@x.com'", "'b@x.com'" }, 2, 111, 0,
	  { HEAD "('a@x.com')" TAIL, HEAD "('b@x.com')" TAIL } },
	{ { "'a@x.com'", "'b@x.com'" }, 2, 110, 0, { NULL } },
	{ { "'a@x.com'", "'a-much-longer-address@x.com'" }, 2, 111, 0, { NULL } },
};

static void
test_soql_in_chunks(void **state)
{
	char err[128], **out, *lits[2000];
	size_t nout, total, at, k;

	(void)state;
	assert_int_equal(encoded(HEAD) + encoded(TAIL), 90);
	for (size_t i = 0; i < NELEM(chunk_cases); i++) {
		int rc = normalize_soql_in_chunks(HEAD, TAIL, chunk_cases[i].lits, chunk_cases[i].n,
		    chunk_cases[i].budget, chunk_cases[i].max_items, &out, &nout, err,
		    sizeof(err));

		if (chunk_cases[i].n > 0 && chunk_cases[i].out[0] == NULL) {
			if (rc != -1 || out != NULL)
				fail_msg("chunk case %zu accepted", i);
			continue;
		}
		if (rc != 0)
			fail_msg("chunk case %zu rejected: %s", i, err);
		for (k = 0; k < nout; k++) {
			if (chunk_cases[i].out[k] == NULL ||
			    strcmp(out[k], chunk_cases[i].out[k]) != 0)
				fail_msg("chunk case %zu query %zu: %s", i, k, out[k]);
			if (encoded(out[k]) > chunk_cases[i].budget)
				fail_msg("chunk case %zu query %zu: %zu bytes over %zu", i, k,
				    encoded(out[k]), chunk_cases[i].budget);
		}
		if (k < 4 && chunk_cases[i].out[k] != NULL)
			fail_msg("chunk case %zu: %zu queries, want more", i, nout);
		assert_null(out[nout]);
		normalize_strv_free(out);
	}
	/* 2,000 hostile addresses under the real budget: every query fits, every literal lands
	 * exactly once and in order. */
	for (size_t i = 0; i < NELEM(lits); i++) {
		char *a = xasprintf("x'or Name!='%zu\"\\@evil-%zu.example.com", i, i % 7);

		lits[i] = normalize_soql_quote(a);
		free(a);
	}
	assert_int_equal(normalize_soql_in_chunks(HEAD, TAIL, (const char *const *)lits,
	    NELEM(lits), NORMALIZE_SOQL_QUERY_BUDGET, 200, &out, &nout, err, sizeof(err)), 0);
	assert_true(nout >= 10);
	for (k = 0, at = 0, total = 0; k < nout; k++) {
		const char *p = out[k] + strlen(HEAD) + 1;
		size_t in_chunk = 0;

		assert_true(encoded(out[k]) <= NORMALIZE_SOQL_QUERY_BUDGET);
		assert_true(encoded(out[k]) + 4096 <= NORMALIZE_SOQL_URI_LIMIT);
		while (at < NELEM(lits) && strncmp(p, lits[at], strlen(lits[at])) == 0) {
			p += strlen(lits[at]);
			at++, in_chunk++;
			if (*p == ',')
				p++;
		}
		assert_string_equal(p, ")" TAIL);
		assert_true(in_chunk > 0 && in_chunk <= 200);
		total += in_chunk;
	}
	assert_int_equal(total, NELEM(lits));
	normalize_strv_free(out);
	for (size_t i = 0; i < NELEM(lits); i++)
		free(lits[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_next),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_address_list),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_soql_quote),
		cmocka_unit_test(test_url_encoded_len),
		cmocka_unit_test(test_soql_in_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
