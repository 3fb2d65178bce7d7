/* test_budget_arith.c: src/budget.c's arithmetic: our limit from the share and the org's max, the
 * 24-hour sum of the per-minute buckets (a bucket is never forgotten early), what a batch may do
 * (ok, short, exhausted, by our share and by the org's allowance), the batch window's factor,
 * and when the budget frees again. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "budget.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define DAY		BUDGET_DAY
#define NOW		((int64_t)1800000000)	/* a multiple of BUDGET_BUCKET */

static void
test_limit(void **state)
{
	static const struct {
		int share;
		long max;
		long long want;
	} cases[] = {
		{ 20, 100, 20 }, { 50, 100000, 50000 }, { 100, 15000, 15000 },
		{ 1, 15000, 150 }, { 33, 100, 33 }, { 33, 10, 3 },	/* rounded down */
		{ 1, 99, 0 },		/* a share under one call: nothing */
		{ 50, 0, -1 }, { 50, -5, -1 },	/* the max is not known */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		if (budget_limit(cases[i].share, cases[i].max) != cases[i].want)
			fail_msg("case %zu: %lld, want %lld", i,
			    budget_limit(cases[i].share, cases[i].max), cases[i].want);
}

static void
test_bucket_and_sum(void **state)
{
	static const struct ledger_api_bucket v[] = {
		{ NOW - DAY - 120, 1000 },	/* ended before the window: gone */
		{ NOW - DAY - 60, 100 },	/* its last second left the window at NOW */
		{ NOW - DAY, 10 },
		{ NOW - 60, 5 },
		{ NOW, 1 },
		{ NOW + 60, -7 },		/* never below nothing */
	};
	static const struct {
		int64_t now;
		long long want;
	} cases[] = {
		{ NOW - 1, 116 },	/* one second of it is still inside */
		{ NOW, 16 },
		{ NOW + 59, 16 },
		{ NOW + 60, 6 },
		{ NOW + DAY - 1, 6 },
		{ NOW + DAY, 1 },
		{ NOW + DAY + 59, 1 },
		{ NOW + DAY + 60, 0 },
	};

	(void)state;
	assert_int_equal(budget_bucket(NOW), NOW);
	assert_int_equal(budget_bucket(NOW + 59), NOW);
	assert_int_equal(budget_bucket(NOW + 60), NOW + 60);
	assert_int_equal(budget_bucket(NOW - 1), NOW - 60);
	for (size_t i = 0; i < NELEM(cases); i++)
		if (budget_sum(v, NELEM(v), cases[i].now) != cases[i].want)
			fail_msg("case %zu: %lld, want %lld", i,
			    budget_sum(v, NELEM(v), cases[i].now), cases[i].want);
	assert_int_equal(budget_sum(NULL, 0, NOW), 0);
}

static void
test_state(void **state)
{
	static const struct {
		long long limit, ours, need;
		long org_used, org_max;
		enum budget_state want;
	} cases[] = {
		/* Not known yet: the first call's Sforce-Limit-Info says. */
		{ -1, 0, 6, 0, 0, BUDGET_GO },
		{ -1, 1000000, 6, 0, 0, BUDGET_GO },
		/* Our share. */
		{ 20, 0, 6, 0, 100, BUDGET_GO },
		{ 20, 14, 6, 14, 100, BUDGET_GO },	/* 6 left of 20: 30% */
		{ 20, 15, 6, 15, 100, BUDGET_EXHAUSTED },	/* a batch would pass it */
		{ 20, 20, 6, 20, 100, BUDGET_EXHAUSTED },
		{ 20, 25, 0, 25, 100, BUDGET_EXHAUSTED },	/* over already */
		{ 1000, 900, 6, 900, 100000, BUDGET_GO },	/* 10% left: not under */
		{ 1000, 901, 6, 901, 100000, BUDGET_SHORT },	/* 9.9% left */
		{ 1000, 994, 6, 994, 100000, BUDGET_SHORT },	/* the last batch fits */
		{ 1000, 995, 6, 995, 100000, BUDGET_EXHAUSTED },
		{ 5, 0, 6, 0, 10, BUDGET_EXHAUSTED },	/* a share smaller than one batch */
		{ 0, 0, 1, 0, 10, BUDGET_EXHAUSTED },
		/* The org's allowance, spent by others. */
		{ 5000, 0, 6, 9499, 10000, BUDGET_GO },	/* 5.01% left */
		{ 5000, 0, 6, 9501, 10000, BUDGET_SHORT },	/* 4.99% left */
		{ 5000, 0, 6, 10000, 10000, BUDGET_SHORT },	/* Salesforce refuses: it says so */
		{ 5000, 4990, 6, 9600, 10000, BUDGET_SHORT },	/* both short */
		{ 5000, 4995, 6, 9600, 10000, BUDGET_EXHAUSTED },	/* ours first */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		enum budget_state got = budget_state_of(cases[i].limit, cases[i].ours,
		    cases[i].need, cases[i].org_used, cases[i].org_max);

		if (got != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, budget_state_name(got),
			    budget_state_name(cases[i].want));
	}
}

static void
test_widen(void **state)
{
	static const struct {
		long long limit, ours;
		long org_used, org_max;
		double want;
	} cases[] = {
		{ -1, 0, 0, 0, 1 },			/* nothing known */
		{ 1000, 0, 0, 100000, 1 },
		{ 1000, 500, 500, 100000, 1 },		/* half left: as configured */
		{ 1000, 750, 750, 100000, 2 },		/* 25% left */
		{ 1000, 900, 900, 100000, 5 },		/* 10% */
		{ 1000, 950, 950, 100000, 10 },		/* 5% */
		{ 1000, 980, 980, 100000, 25 },		/* 2% */
		{ 1000, 990, 990, 100000, 30 },		/* 1%: the ceiling */
		{ 1000, 1000, 1000, 100000, 30 },
		{ 1000, 1200, 1200, 100000, 30 },	/* over: still the ceiling */
		{ 0, 0, 0, 10, 30 },			/* a share of nothing */
		{ 50000, 0, 75000, 100000, 2 },		/* the org at 25% left */
		{ 50000, 45000, 60000, 100000, 5 },	/* ours the scarcer: 10% */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		double got = budget_widen(cases[i].limit, cases[i].ours, cases[i].org_used,
		    cases[i].org_max);

		if (fabs(got - cases[i].want) > 1e-9)
			fail_msg("case %zu: %g, want %g", i, got, cases[i].want);
	}
}

static void
test_free_at(void **state)
{
	static const struct ledger_api_bucket v[] = {
		{ NOW - DAY - 600, 50 },	/* outside the window already */
		{ NOW - 3600, 8 },
		{ NOW - 1800, 4 },
		{ NOW - 60, 6 },
	};
	static const struct {
		long long ours, limit, need;
		int64_t want;
	} cases[] = {
		{ 18, 20, 2, NOW },				/* fits now */
		{ 18, 20, 6, NOW - 3600 + 60 + DAY },		/* the oldest bucket leaves */
		{ 18, 20, 10, NOW - 3600 + 60 + DAY },
		{ 18, 20, 11, NOW - 1800 + 60 + DAY },		/* the next one too */
		{ 18, 20, 20, NOW - 60 + 60 + DAY },		/* all of them */
		{ 18, 20, 21, 0 },				/* never: bigger than the limit */
		{ 18, -1, 6, NOW },				/* no limit known */
		{ 40, 20, 6, 0 },				/* calls the buckets do not show */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t got = budget_free_at(v, NELEM(v), NOW, cases[i].ours, cases[i].limit,
		    cases[i].need);

		if (got != cases[i].want)
			fail_msg("case %zu: %lld, want %lld", i, (long long)got,
			    (long long)cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_bucket_and_sum),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_widen),
		cmocka_unit_test(test_free_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
