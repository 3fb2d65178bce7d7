/* test_spread.c: src/spread.c and the renewal rule built on it (subs_renew_due): offsets in
 * range, the same for the same key whatever its case, even over many keys; the sweep calls each
 * mailbox once per interval at its own phase, retries after a failure; renewals planned for
 * subscriptions made in the same second spread over a quarter of renew_every, never later than
 * the rule without spread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ledger.h"
#include "spread.h"
#include "subscriptions.h"

#define KEYS	1000

static void
test_offset_table(void **state)
{
	static const struct {
		const char *key;
		int64_t range;
		int64_t lo, hi;		/* expected in [lo, hi] */
	} t[] = {
		{ "ana@contoso.com", 3600, 0, 3599 },
		{ "ana@contoso.com", 1, 0, 0 },		/* rejected ranges: 0 */
		{ "ana@contoso.com", 0, 0, 0 },
		{ "ana@contoso.com", -5, 0, 0 },
		{ NULL, 3600, 0, 0 },
		{ "", 3600, 0, 3599 },
		{ "x", 2, 0, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t o = spread_offset(t[i].key, t[i].range);

		assert_in_range(o, t[i].lo, t[i].hi);
		/* Deterministic. */
		assert_int_equal(spread_offset(t[i].key, t[i].range), o);
	}
	assert_int_equal(spread_offset("Ana@Contoso.COM", 86400),
	    spread_offset("ana@contoso.com", 86400));
	assert_int_not_equal(spread_offset("rep1@contoso.com", 86400),
	    spread_offset("rep2@contoso.com", 86400));
}

/* KEYS addresses that differ only in a number, as a tenant's often do, in 10 buckets of the
 * range: each holds between 5% and 15% of them, and no second of an hour holds more than 5. */
static void
test_offset_even(void **state)
{
	int buckets[10] = { 0 }, *secs = calloc(3600, sizeof(int)), max = 0;
	char key[64];

	(void)state;
	assert_non_null(secs);
	for (int i = 0; i < KEYS; i++) {
		int64_t o;

		snprintf(key, sizeof(key), "rep%d@contoso.com", i);
		o = spread_offset(key, 3600);
		buckets[o / 360]++;
		if (++secs[o] > max)
			max = secs[o];
	}
	for (int b = 0; b < 10; b++)
		assert_in_range(buckets[b], KEYS / 20, KEYS * 15 / 100);
	assert_true(max <= 5);
	free(secs);
}

struct calls {
	int n;
	int per[KEYS];
	int fail_at;		/* the call number that fails, or -1 */
};

static int
count_call(void *arg, const char *mailbox)
{
	struct calls *c = arg;
	int i = atoi(mailbox + 3);

	if (c->n++ == c->fail_at)
		return -1;
	c->per[i]++;
	return 0;
}

static json_t *
mailboxes(int n)
{
	json_t *a = json_array();
	char key[64];

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "rep%d@contoso.com", i);
		json_array_append_new(a, json_string(key));
	}
	return a;
}

/* Over two intervals in steps of 1/100 of one, each mailbox is called exactly twice, at most 3%
 * of them in any one step, and the next time returned is when the next call comes. */
static void
test_sweep_once_per_interval(void **state)
{
	struct spread_sweep sw;
	struct calls c;
	json_t *m = mailboxes(KEYS);
	int64_t next, t;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fail_at = -1;
	spread_sweep_init(&sw, 100000, 5000);
	assert_int_equal(spread_sweep_run(&sw, m, 5000, count_call, &c) > 5000, 1);
	assert_int_equal(c.n, 0);	/* nothing at the start: the full pass read everything */
	for (t = 5000 + 1000; t <= 5000 + 200000; t += 1000) {
		int before = c.n;

		next = spread_sweep_run(&sw, m, t, count_call, &c);
		assert_true(c.n - before <= KEYS * 3 / 100);
		assert_true(next > t && next <= t + 1000);
	}
	for (int i = 0; i < KEYS; i++)
		assert_int_equal(c.per[i], 2);
	/* A time going backwards calls nothing again. */
	next = spread_sweep_run(&sw, m, 0, count_call, &c);
	assert_int_equal(c.n, 2 * KEYS);
	json_decref(m);
}

/* A failing call stops the run and keeps the window: the next run offers them again. */
static void
test_sweep_failure_retries(void **state)
{
	struct spread_sweep sw;
	struct calls c;
	json_t *m = mailboxes(10);

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fail_at = 3;
	spread_sweep_init(&sw, 1000, 0);
	assert_int_equal(spread_sweep_run(&sw, m, 1000, count_call, &c), -1);
	assert_int_equal(sw.last, 0);
	assert_true(spread_sweep_run(&sw, m, 1000, count_call, &c) > 1000);
	/* The three before the failure were called twice (due must be idempotent). */
	for (int i = 0; i < 10; i++)
		assert_in_range(c.per[i], 1, 2);
	assert_int_equal(sw.last, 1000);
	json_decref(m);
}

/* subs_renew_due: {renewed_at, expires_at} under lifetime 4230m, renew every 2d: never later
 * than the rule without spread, at most renew_every/4 earlier. */
static void
test_renew_due_table(void **state)
{
	static const struct {
		const char *id;
		int64_t renewed_at, expires_at;
		int64_t unspread;	/* min(renewed + every, expires - (lifetime - every)) */
	} t[] = {
		/* Graph granted what was asked: renew_every after the renewal. */
		{ "3d1a7c0e-0000-4000-8000-000000000001", 1000000, 1000000 + 253800,
		    1000000 + 172800 },
		/* Graph granted 24 h only: lifetime - every before the expiry, earlier. */
		{ "3d1a7c0e-0000-4000-8000-000000000002", 1000000, 1000000 + 86400,
		    1000000 + 86400 - 81000 },
		/* Already past: due at once (in the past). */
		{ "3d1a7c0e-0000-4000-8000-000000000003", 0, 10, 10 - 81000 },
	};
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.subscription_lifetime_ms = 4230LL * 60 * 1000;
	cfg.subscription_renew_every_ms = 2LL * 86400 * 1000;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ledger_sub ls;
		int64_t due;

		memset(&ls, 0, sizeof(ls));
		ls.id = (char *)t[i].id;
		ls.renewed_at = t[i].renewed_at;
		ls.expires_at = t[i].expires_at;
		due = subs_renew_due(&cfg, &ls);
		assert_true(due <= t[i].unspread);
		assert_true(due > t[i].unspread - 172800 / SUBS_SPREAD_DIV);
	}
}

/* KEYS subscriptions made in the same second renew over most of 12 hours, no minute holding
 * more than 1%; with renew_every 1s (tests) there is nothing to spread. */
static void
test_renew_due_spread(void **state)
{
	struct config cfg;
	struct ledger_sub ls;
	int64_t lo = INT64_MAX, hi = 0, window = 172800 / SUBS_SPREAD_DIV;
	int *mins = calloc((size_t)(window / 60 + 1), sizeof(int)), max = 0;
	char id[64];

	(void)state;
	assert_non_null(mins);
	memset(&cfg, 0, sizeof(cfg));
	cfg.subscription_lifetime_ms = 4230LL * 60 * 1000;
	cfg.subscription_renew_every_ms = 2LL * 86400 * 1000;
	memset(&ls, 0, sizeof(ls));
	ls.renewed_at = 1000000;
	ls.expires_at = 1000000 + 253800;
	ls.id = id;
	for (int i = 0; i < KEYS; i++) {
		int64_t due, m;

		snprintf(id, sizeof(id), "6f1c2b8e-%04x-4c1d-9e7a-%012x", i * 7, i);
		due = subs_renew_due(&cfg, &ls);
		lo = due < lo ? due : lo;
		hi = due > hi ? due : hi;
		m = (1000000 + 172800 - due) / 60;
		if (++mins[m] > max)
			max = mins[m];
	}
	assert_true(hi - lo > window * 9 / 10);
	assert_true(max <= KEYS / 100);
	cfg.subscription_renew_every_ms = 1000;
	cfg.subscription_lifetime_ms = 4000;
	assert_int_equal(subs_renew_due(&cfg, &ls), 1000000 + 1);
	free(mins);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_table),
		cmocka_unit_test(test_offset_even),
		cmocka_unit_test(test_sweep_once_per_interval),
		cmocka_unit_test(test_sweep_failure_retries),
		cmocka_unit_test(test_renew_due_table),
		cmocka_unit_test(test_renew_due_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
