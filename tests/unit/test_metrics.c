/* test_metrics.c: src/metrics.c: Prometheus label values escaped (a table), the notification
 * latency counted only for an email first seen after a pending mark of its own folder, the last
 * emails listed newest first, each once with its latest outcome, within the ring's size, and
 * failures counted by service and class. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "xmalloc.h"

/* What metrics_write (or metrics_label with v) writes; caller frees. */
static char *
written(const char *label)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	if (label != NULL)
		metrics_label(fp, label);
	else
		metrics_write(fp);
	fclose(fp);
	return buf;
}

/* The value of sample series in metrics_write's text; fails without. */
static long long
sample(const char *series)
{
	char *text = written(NULL), *p = text;
	size_t n = strlen(series);
	long long v = -1;

	for (; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
	}
	free(text);
	if (v < 0)
		fail_msg("no %s", series);
	return v;
}

static void
test_label_escaping(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "alice@contoso.com", "alice@contoso.com" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "a\\b", "a\\\\b" },
		{ "a\nb", "a\\nb" },
		{ "\"\\\n", "\\\"\\\\\\n" },
		{ "caf\xc3\xa9 {x=\"1\"}", "caf\xc3\xa9 {x=\\\"1\\\"}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = written(cases[i].in);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got %s want %s", i, got, cases[i].want);
		free(got);
	}
}

static struct ledger_entry
entry(const char *ext, const char *mailbox, const char *folder, int64_t first_seen)
{
	struct ledger_entry e;

	memset(&e, 0, sizeof(e));
	e.ext_id = (char *)ext;
	e.mailbox = (char *)mailbox;
	e.folder = (char *)folder;
	e.first_seen = first_seen;
	return e;
}

static void
test_latency_after_mark_only(void **state)
{
	int64_t now = (int64_t)time(NULL);
	struct ledger_entry before = entry("l0", "m@x", "inbox", now - 100);
	struct ledger_entry after = entry("l1", "m@x", "inbox", now);
	struct ledger_entry other = entry("l2", "m@x", "sentitems", now);
	long long n0;

	(void)state;
	n0 = sample("olsync_notification_latency_seconds_count");
	/* No mark yet: nothing to measure from. */
	metrics_email(&after, NULL, LEDGER_LOGGED, NULL, NULL);
	assert_int_equal(sample("olsync_notification_latency_seconds_count"), n0);
	metrics_mark("m@x", "inbox");
	metrics_mark("m@x", "inbox");	/* the first mark counts */
	metrics_email(&before, NULL, LEDGER_LOGGED, NULL, NULL);	/* seen before the mark */
	metrics_email(&other, NULL, LEDGER_LOGGED, NULL, NULL);	/* another folder */
	metrics_email(&after, NULL, LEDGER_DEAD, "x", NULL);		/* not logged */
	assert_int_equal(sample("olsync_notification_latency_seconds_count"), n0);
	metrics_email(&after, NULL, LEDGER_LOGGED, NULL, NULL);
	assert_int_equal(sample("olsync_notification_latency_seconds_count"), n0 + 1);
	assert_int_equal(sample("olsync_notification_latency_seconds_bucket{le=\"+Inf\"}"),
	    n0 + 1);
	/* Measured at once: in the smallest bucket. */
	assert_int_equal(sample("olsync_notification_latency_seconds_bucket{le=\"0.1\"}"), n0 + 1);
	metrics_mark_done("m@x", "inbox");
	metrics_email(&after, NULL, LEDGER_LOGGED, NULL, NULL);
	assert_int_equal(sample("olsync_notification_latency_seconds_count"), n0 + 1);
}

static void
test_recent_latest_outcome(void **state)
{
	struct ledger_entry a = entry("a", "m@x", "inbox", 1), b = entry("b", "n@x", "inbox", 1);
	struct metrics_ids ids = { "00T000000000001", "", NULL, "003000000000001", NULL };
	json_t *r, *first;

	(void)state;
	metrics_email(&a, NULL, LEDGER_DEAD, "final INVALID_FIELD", NULL);
	metrics_email(&b, "owner@x", LEDGER_SKIPPED, "internal", NULL);
	metrics_email(&a, NULL, LEDGER_LOGGED, NULL, &ids);
	r = metrics_recent(2);
	assert_int_equal(json_array_size(r), 2);
	first = json_array_get(r, 0);
	assert_string_equal(json_string_value(json_object_get(first, "ext_id")), "a");
	assert_string_equal(json_string_value(json_object_get(first, "state")), "logged");
	assert_null(json_object_get(first, "reason"));
	assert_string_equal(json_string_value(json_object_get(first, "task_id")),
	    "00T000000000001");
	assert_null(json_object_get(first, "email_message_id"));	/* "" is none */
	assert_string_equal(json_string_value(json_object_get(first, "who_id")),
	    "003000000000001");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "mailbox")),
	    "owner@x");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "reason")),
	    "internal");
	json_decref(r);
	r = metrics_recent(1);
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
}

static void
test_recent_ring_wraps(void **state)
{
	json_t *r;
	char ext[32];

	(void)state;
	for (int i = 0; i < METRICS_RECENT + 50; i++) {
		struct ledger_entry e;

		snprintf(ext, sizeof(ext), "w%d", i);
		e = entry(ext, "m@x", "inbox", 1);
		metrics_email(&e, NULL, LEDGER_SKIPPED, "r", NULL);
	}
	r = metrics_recent(1000);
	assert_int_equal(json_array_size(r), METRICS_RECENT);
	snprintf(ext, sizeof(ext), "w%d", METRICS_RECENT + 49);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "ext_id")),
	    ext);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r,
	    METRICS_RECENT - 1), "ext_id")), "w50");
	json_decref(r);
}

static void
test_errors_and_calls(void **state)
{
	(void)state;
	metrics_error(METRICS_SALESFORCE, REMOTE_FINAL);
	metrics_error(METRICS_SALESFORCE, REMOTE_FINAL);
	metrics_error(METRICS_GRAPH, REMOTE_WAIT);
	metrics_error(METRICS_GRAPH, REMOTE_OK);	/* not a failure */
	metrics_call(METRICS_SALESFORCE);
	assert_int_equal(sample("olsync_errors_total{service=\"salesforce\",class=\"final\"}"), 2);
	assert_int_equal(sample("olsync_errors_total{service=\"graph\",class=\"wait\"}"), 1);
	assert_int_equal(sample("olsync_errors_total{service=\"graph\",class=\"temp\"}"), 0);
	assert_int_equal(sample("olsync_api_calls_total{service=\"salesforce\"}"), 1);
	assert_int_equal(metrics_calls(METRICS_SALESFORCE), 1);
	assert_int_equal(sample("olsync_api_calls_total{service=\"graph\"}"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_latency_after_mark_only),
		cmocka_unit_test(test_recent_latest_outcome),
		cmocka_unit_test(test_recent_ring_wraps),
		cmocka_unit_test(test_errors_and_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
