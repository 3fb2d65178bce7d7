/* test_sf_id.c: sf-sim's record ids (sim/sf/sf_id.c): the case-safe suffix against the published
 * vectors, 15/18-character normalization (rejected inputs included), and the ids sf_id_make hands
 * out: valid suffix, right prefix, distinct and increasing with the sequence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sf_id.h"

static const struct {
	const char *id15;
	const char *suffix;
} suffix_cases[] = {
	/* Reference section 6.8 (codegolf.stackexchange.com/questions/69127). */
	{ "a01M00000062mPg", "IAI" },
	{ "001M000000qfPyS", "IAU" },
	/* No capitals: every chunk is 0 -> 'A'. */
	{ "001000000000000", "AAA" },
	{ "abcdefghijklmno", "AAA" },
	/* All capitals: every chunk is 31 -> '5'. */
	{ "ABCDEFGHIJKLMNO", "555" },
	/* One capital per chunk at positions 0, 1 and 4: bits 1, 2 and 16. */
	{ "A0000b0000cdefZ", "BAQ" },
	{ "0A000000000000Z", "CAQ" },
};

static void
test_suffix(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(suffix_cases) / sizeof(suffix_cases[0]); i++) {
		char out[4] = "";

		sf_id_suffix(suffix_cases[i].id15, out);
		out[3] = '\0';
		if (strcmp(out, suffix_cases[i].suffix) != 0)
			fail_msg("suffix of %s: got %s, want %s", suffix_cases[i].id15, out,
			    suffix_cases[i].suffix);
	}
}

static const struct {
	const char *in;
	const char *out;	/* NULL: must be rejected */
} normalize_cases[] = {
	{ "a01M00000062mPg", "a01M00000062mPgIAI" },
	{ "001M000000qfPyS", "001M000000qfPySIAU" },
	{ "a01M00000062mPgIAI", "a01M00000062mPgIAI" },
	{ "001M000000qfPySIAU", "001M000000qfPySIAU" },
	/* The suffix is case-insensitive on input; the output is canonical. */
	{ "a01M00000062mPgiai", "a01M00000062mPgIAI" },
	/* Wrong suffix for the 15 characters before it. */
	{ "a01M00000062mPgIAA", NULL },
	{ "a01M00000062mPgAAA", NULL },
	{ "001M000000qfPySIAI", NULL },
	/* Case matters in the 15-character part: this is another record, another suffix. */
	{ "a01m00000062mPgIAI", NULL },
	/* Wrong lengths. */
	{ "", NULL },
	{ "a01M00000062mP", NULL },
	{ "a01M00000062mPgI", NULL },
	{ "a01M00000062mPgIA", NULL },
	{ "a01M00000062mPgIAIA", NULL },
	/* Characters that are not base 62. */
	{ "a01M00000062mP!", NULL },
	{ "a01M0000 062mPg", NULL },
	{ "a01M00000062mP-", NULL },
	{ "a01M00000062m\xc3\xa9", NULL },
	{ "a01M00000062mPg\"AI", NULL },
	{ "a01M00000062mPgI-I", NULL },
};

static void
test_normalize(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(normalize_cases) / sizeof(normalize_cases[0]); i++) {
		char out[SF_ID_LEN + 1] = "unchanged";
		int rc = sf_id_normalize(normalize_cases[i].in, out);

		if (normalize_cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" accepted as %s, want rejected", normalize_cases[i].in,
				    out);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\" rejected, want %s", normalize_cases[i].in,
			    normalize_cases[i].out);
		assert_string_equal(out, normalize_cases[i].out);
	}
}

static const unsigned long long seqs[] = {
	0, 1, 2, 9, 10, 61, 62, 63, 3843, 3844, 999999, 1000000, 1000001, 1000002,
	916132831ULL /* 62^5 - 1 */, 916132832ULL, 13537086546263551ULL /* 62^9 - 1 */,
};

static void
test_make(void **state)
{
	static const char *const prefixes[] = { "001", "003", "00Q", "00T", "02s", "0EM" };
	char prev[SF_ID_LEN + 1], id[SF_ID_LEN + 1], norm[SF_ID_LEN + 1], id15[16];

	(void)state;
	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		prev[0] = '\0';
		for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
			sf_id_make(prefixes[p], seqs[i], id);
			assert_int_equal(strlen(id), SF_ID_LEN);
			assert_memory_equal(id, prefixes[p], 3);
			/* The 18-character form normalizes to itself: its suffix is right. */
			assert_int_equal(sf_id_normalize(id, norm), 0);
			assert_string_equal(norm, id);
			/* Its 15-character form normalizes back to it. */
			memcpy(id15, id, 15);
			id15[15] = '\0';
			assert_int_equal(sf_id_normalize(id15, norm), 0);
			assert_string_equal(norm, id);
			/* Increasing: later records sort after earlier ones, so no two are equal. */
			if (prev[0] != '\0' && strcmp(prev, id) >= 0)
				fail_msg("seq %llu gave %s, not after %s", seqs[i], id, prev);
			snprintf(prev, sizeof(prev), "%s", id);
		}
	}
}

/* Neighbouring sequence numbers give distinct ids across a long run (no wrap, no collision). */
static void
test_make_distinct_run(void **state)
{
	char prev[SF_ID_LEN + 1] = "", id[SF_ID_LEN + 1];

	(void)state;
	for (unsigned long long n = 1000000; n < 1000000 + 20000; n++) {
		sf_id_make("00T", n, id);
		if (strcmp(prev, id) >= 0)
			fail_msg("seq %llu gave %s, not after %s", n, id, prev);
		memcpy(prev, id, sizeof(prev));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_make_distinct_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
