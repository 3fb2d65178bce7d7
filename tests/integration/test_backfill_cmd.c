/* test_backfill_cmd.c: `olsync backfill` against graph-sim and sf-sim: a date range of one
 * mailbox is logged exactly once (mail a pass logged already is not doubled, mail outside the
 * range is not touched), a finished range says so; interrupted by SIGINT after a page, then
 * killed at a commit point, and run again, it resumes without reading the finished pages
 * again and ends with every email of the range logged once; its output off a terminal is plain
 * lines; bad arguments are usage errors (2) and an unwatched mailbox an error (1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <pty.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define LIST_ROUTE	"mailFolders/{id}/messages"	/* list pages (and delta, not used here) */

static struct e2e_world world;

/* YYYY-MM-DD and a time on it, days ago. */
static void
day_of(int days, char *date, size_t dlen, char *at, size_t alen, int hour)
{
	time_t t = time(NULL) - (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, dlen, "%Y-%m-%d", &tm);
	snprintf(at, alen, "%sT%02d:00:00Z", date, hour);
}

/* POST /_sim/mail of body (freed). */
static void
post_mail(char *body)
{
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", body, 201));
	free(body);
}

/* n mails from who's address to alice, one a day from days ago on (at 09:00, 10:00, ...), with
 * subjects "<tag> <i>". */
static void
mails_to_alice(const char *from, const char *tag, int n, int days)
{
	char date[16], at[40];

	for (int i = 0; i < n; i++) {
		day_of(days - i / 3, date, sizeof(date), at, sizeof(at), 9 + i % 3);
		post_mail(xasprintf("{\"from\":\"%s\",\"to\":[\"alice@contoso.com\"],"
		    "\"subject\":\"%s %d\",\"body\":\"Note %d.\",\"date\":\"%s\"}", from, tag, i, i,
		    at));
	}
}

static int
setup(void **state)
{
	(void)state;
	return e2e_world_start(&world, "test_backfill_cmd", E2E_SF_REPS,
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"}],"
	    "\"Contact\":[{\"_key\":\"carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"dave\",\"LastName\":\"Diaz\",\"Email\":\"dave@fabrikam.com\","
	    "\"AccountId\":\"@fab\"}]",
	    E2E_GRAPH_REPS, "alice@contoso.com, bob@contoso.com",
	    "backfill_days 3\n"
	    "meetings no\n"
	    "log_level info\n"
	    "http_timeout 10s\n");
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_stop(&world);
}

/* Tasks whose Subject starts with prefix; fails the test when one email has two. */
static size_t
tasks_like(const char *prefix)
{
	json_t *tasks = e2e_records(world.sf.p.base_url, "Task"), *t, *seen = json_object();
	size_t i, n = 0;

	json_array_foreach(tasks, i, t) {
		const char *s = e2e_field(t, "Subject"), *id = e2e_field(t, "OutlookMessageId__c");

		if (strncmp(s, prefix, strlen(prefix)) != 0)
			continue;
		if (json_object_get(seen, id) != NULL)
			fail_msg("two Tasks for one email: %s", s);
		json_object_set_new(seen, id, json_true());
		n++;
	}
	json_decref(seen);
	json_decref(tasks);
	return n;
}

/* The number after key= in the last line of out that starts with start, or -1. */
static long
field_of(const char *out, const char *start, const char *key)
{
	const char *line = NULL, *p = out, *k;
	char *pat = xasprintf(" %s=", key);
	long v = -1;

	while ((p = strstr(p, start)) != NULL) {
		if (p == out || p[-1] == '\n')
			line = p;
		p++;
	}
	if (line != NULL && (k = strstr(line, pat)) != NULL && (strchr(line, '\n') == NULL || k < strchr(line, '\n')))
		v = strtol(k + strlen(pat), NULL, 10);
	free(pat);
	return v;
}

static void
test_range_once(void **state)
{
	char since[16], until[16], at[40], *out = NULL, *err = NULL;
	long lists;

	(void)state;
	/* 13 mails from Carol over 20..16 days ago, two replies in Sent Items, one too old for
	 * the range, one of yesterday (the pass's backfill_days window, inside an open range). */
	mails_to_alice("Carol Chen <carol@fabrikam.com>", "Range", 13, 20);
	day_of(15, since, sizeof(since), at, sizeof(at), 14);
	post_mail(xasprintf("{\"from\":\"alice@contoso.com\",\"to\":[\"carol@fabrikam.com\"],"
	    "\"subject\":\"Range reply 1\",\"body\":\"Yes.\",\"date\":\"%s\"}", at));
	post_mail(xasprintf("{\"from\":\"alice@contoso.com\",\"to\":[\"carol@fabrikam.com\"],"
	    "\"subject\":\"Range reply 2\",\"body\":\"No.\",\"date\":\"%s\"}", at));
	day_of(40, since, sizeof(since), at, sizeof(at), 9);
	post_mail(xasprintf("{\"from\":\"carol@fabrikam.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Before\",\"body\":\"Old.\",\"date\":\"%s\"}", at));
	day_of(1, since, sizeof(since), at, sizeof(at), 9);
	post_mail(xasprintf("{\"from\":\"carol@fabrikam.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Range late\",\"body\":\"New.\",\"date\":\"%s\"}", at));

	/* A pass logs yesterday's mail only (backfill_days 3). */
	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "sync", "--once", NULL),
	    0);
	assert_int_equal(tasks_like("Email: Range"), 1);

	/* [25 days ago, 10 days ago): the 13 and the 2 replies; pages of 5: 3 + 1. */
	day_of(25, since, sizeof(since), at, sizeof(at), 0);
	day_of(10, until, sizeof(until), at, sizeof(at), 0);
	lists = e2e_route_calls(world.graph.base_url, LIST_ROUTE);
	assert_int_equal(e2e_run(world.dir, &out, &err, "-c", world.conf, "backfill", "--mailbox",
	    "alice@contoso.com", "--since", since, "--until", until, "--page-size", "5", NULL), 0);
	assert_int_equal(e2e_route_calls(world.graph.base_url, LIST_ROUTE) - lists, 4);
	assert_int_equal(tasks_like("Email: Range"), 16);
	assert_int_equal(tasks_like("Email: Before"), 0);
	/* Off a terminal: plain lines, the first page's, then the summary. */
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\033'));
	assert_non_null(strstr(out, "backfill progress mailbox=alice@contoso.com folder=inbox "
	    "pages=1 seen=5 new=5 logged=5 "));
	assert_int_equal(field_of(out, "backfill done ", "pages"), 4);
	assert_int_equal(field_of(out, "backfill done ", "seen"), 15);
	assert_int_equal(field_of(out, "backfill done ", "logged"), 15);
	free(out);
	free(err);

	/* The same command again: finished, nothing read, nothing written. */
	lists = e2e_route_calls(world.graph.base_url, LIST_ROUTE);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "backfill", "--mailbox",
	    "alice@contoso.com", "--since", since, "--until", until, "--page-size", "5", NULL), 0);
	assert_non_null(strstr(out, "backfill finished mailbox=alice@contoso.com pages=4:"));
	assert_int_equal(e2e_route_calls(world.graph.base_url, LIST_ROUTE), lists);
	free(out);

	/* An open range over all of it: every email read, none written twice, the old one now
	 * logged too. */
	day_of(45, since, sizeof(since), at, sizeof(at), 0);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "backfill", "--mailbox",
	    "alice@contoso.com", "--since", since, NULL), 0);
	assert_int_equal(field_of(out, "backfill done ", "seen"), 17);
	assert_int_equal(field_of(out, "backfill done ", "new"), 1);
	assert_int_equal(field_of(out, "backfill done ", "logged"), 1);
	assert_int_equal(tasks_like("Email: Range"), 16);
	assert_int_equal(tasks_like("Email: Before"), 1);
	free(out);
}

/* SIGINT after the first page (pages slowed by graph-sim so it lands mid-range), then a kill
 * at the commit point after the next page, then the same command to the end. */
static void
test_interrupt_resume(void **state)
{
	const char *args[6];
	char since[32], until[32], at[40], *log = NULL, *out = NULL, *err = NULL;
	struct e2e_daemon dm;
	long lists, pages_int, pages_total = 5 + 1;	/* 20 mails in 4s, and an empty Sent Items */
	int status;

	(void)state;
	mails_to_alice("Dave Diaz <dave@fabrikam.com>", "Resume", 20, 70);
	/* --opt=value: e2e_daemon_spawn passes eight arguments at most. */
	memcpy(since, "--since=", 8);
	memcpy(until, "--until=", 8);
	day_of(71, since + 8, sizeof(since) - 8, at, sizeof(at), 0);
	day_of(60, until + 8, sizeof(until) - 8, at, sizeof(at), 0);
	args[0] = "backfill";
	args[1] = "--mailbox=alice@contoso.com";
	args[2] = since;
	args[3] = until;
	args[4] = "--page-size=4";
	args[5] = NULL;

	/* Each page answers after 400 ms: SIGINT once the first page's line is out. */
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/faults",
	    "{\"method\":\"GET\",\"path\":\"/v1.0/users/alice@contoso.com/mailFolders\","
	    "\"count\":1000,\"delay_ms\":400}", 200));
	e2e_daemon_spawn(&dm, world.dir, world.conf, args);
	if (!e2e_daemon_wait_log(&dm, "backfill progress ", 15000)) {
		log = e2e_daemon_log(&dm);
		fail_msg("no progress line in 15 s: %s", log);
	}
	assert_int_equal(kill(dm.pid, SIGINT), 0);
	assert_int_equal(waitpid(dm.pid, &status, 0), dm.pid);
	json_decref(sim_http_ctl(world.graph.base_url, "DELETE", "/_sim/faults", NULL, 200));
	log = e2e_daemon_log(&dm);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(log, "interrupted: resume with the same command\n"));
	pages_int = field_of(log, "backfill interrupted ", "pages");
	free(log);
	/* The page in flight was finished and logged; the rest was not read. */
	assert_true(pages_int >= 1 && pages_int < pages_total - 1);
	assert_int_equal(tasks_like("Email: Resume"), (size_t)pages_int * 4);

	/* Killed outright after recording the next page, before logging it. */
	setenv("OLSYNC_CRASH_AT", "backfill_page:1", 1);
	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, args[0], args[1],
	    args[2], args[3], args[4], NULL), 128 + SIGKILL);
	unsetenv("OLSYNC_CRASH_AT");
	assert_int_equal(tasks_like("Email: Resume"), (size_t)pages_int * 4);

	/* Again: from the first page not recorded; the killed run's page is logged too. */
	lists = e2e_route_calls(world.graph.base_url, LIST_ROUTE);
	assert_int_equal(e2e_run(world.dir, &out, &err, "-c", world.conf, args[0], args[1],
	    args[2], args[3], args[4], NULL), 0);
	assert_int_equal(field_of(out, "backfill done ", "pages_before"), pages_int + 1);
	assert_int_equal(field_of(out, "backfill done ", "pages"), pages_total - pages_int - 1);
	assert_int_equal(e2e_route_calls(world.graph.base_url, LIST_ROUTE) - lists,
	    pages_total - pages_int - 1);
	assert_int_equal(tasks_like("Email: Resume"), 20);
	free(out);
	free(err);
}

/* Graph refusing (403) ends the run with exit 1 and the reason; throttled (429) and failing
 * for a moment (503), a page is asked again and the range ends logged. */
static void
test_graph_failures(void **state)
{
	char since[16], until[16], at[40], *err = NULL;

	(void)state;
	mails_to_alice("Carol Chen <carol@fabrikam.com>", "Throttle", 5, 80);
	day_of(85, since, sizeof(since), at, sizeof(at), 0);
	day_of(75, until, sizeof(until), at, sizeof(at), 0);
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/faults",
	    "{\"method\":\"GET\",\"path\":\"/v1.0/users/alice@contoso.com/mailFolders\","
	    "\"status\":403}", 200));
	assert_int_equal(e2e_run(world.dir, NULL, &err, "-c", world.conf, "backfill", "--mailbox",
	    "alice@contoso.com", "--since", since, "--until", until, NULL), 1);
	assert_non_null(strstr(err, "olsync: backfill: graph: "));
	assert_non_null(strstr(err, "Mail.Read"));
	assert_non_null(strstr(err, "run the same command again to resume"));
	free(err);
	assert_int_equal(tasks_like("Email: Throttle"), 0);

	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/faults",
	    "{\"method\":\"GET\",\"path\":\"/v1.0/users/alice@contoso.com/mailFolders\","
	    "\"status\":429,\"retry_after\":1}", 200));
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/faults",
	    "{\"method\":\"GET\",\"path\":\"/v1.0/users/alice@contoso.com/mailFolders\","
	    "\"status\":503}", 200));
	assert_int_equal(e2e_run(world.dir, NULL, &err, "-c", world.conf, "backfill", "--mailbox",
	    "alice@contoso.com", "--since", since, "--until", until, NULL), 0);
	assert_non_null(strstr(err, "backfill retry mailbox=alice@contoso.com folder=inbox "
	    "class=wait status=429 attempt=1 wait=1.0"));
	assert_non_null(strstr(err, "class=temp status=503 attempt=2 "));
	free(err);
	assert_int_equal(tasks_like("Email: Throttle"), 5);
}

/* On a terminal: one line rewritten in place (carriage return, erase), then the summary on a
 * line of its own. */
static void
test_tty(void **state)
{
	char since[16], until[16], at[40], buf[4096], *out = xstrdup(""), *s;
	char *argv[] = { (char *)sim_proc_binary("olsync"), "-c", world.conf, "backfill",
	    "--mailbox", "alice@contoso.com", "--since", since, "--until", until, "--page-size",
	    "3", NULL };
	ssize_t n;
	pid_t pid;
	int fd, status;

	(void)state;
	day_of(75, since, sizeof(since), at, sizeof(at), 0);
	day_of(59, until, sizeof(until), at, sizeof(at), 0);
	if ((pid = forkpty(&fd, NULL, NULL, NULL)) == -1)
		fail_msg("forkpty");
	if (pid == 0) {
		sim_proc_exec(argv);
		_exit(127);
	}
	/* Until the child closes the terminal (EIO on Linux). */
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		s = xasprintf("%s%s", out, buf);
		free(out);
		out = s;
	}
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* 20 mails in pages of 3: 7 pages of Inbox and one of Sent Items, each a rewrite. */
	assert_non_null(strstr(out,
	    "\r\033[Kbackfill alice@contoso.com [  ] inbox page 1  seen 3"));
	assert_non_null(strstr(out, "\r\033[Kbackfill alice@contoso.com [# ] sentitems page 8 "));
	assert_null(strstr(out, "backfill progress "));
	assert_non_null(strstr(out, "\r\nbackfill done mailbox=alice@contoso.com pages=8 "));
	free(out);
}

/* Usage errors of backfill and dry-run (one option parser) are exit 2 and say what is wrong; a
 * mailbox olsync does not watch is 1. */
static void
test_arguments(void **state)
{
	static const struct {
		const char *a[7];
		int rc;
		const char *says;
	} cases[] = {
		{ { "backfill", "--mailbox", "alice@contoso.com", "--since", "2026-02-30", NULL }, 2,
		  "--since 2026-02-30: not a date" },
		{ { "backfill", "--mailbox", "alice@contoso.com", "--since", "2026-01-10T10:00:00",
		    NULL }, 2, "not a date" },
		{ { "backfill", "--mailbox", "alice@contoso.com", "--since", "2026-01-10", "--until",
		    "2026-01-09" }, 2, "--until must be after --since" },
		{ { "backfill", "--mailbox", "alice@contoso.com", NULL }, 2, "--since are required" },
		{ { "backfill", "--since", "2026-01-10", NULL }, 2,
		  "--mailbox and --since are required" },
		{ { "backfill", "--mailbox", "alice@contoso.com", "--mailbox", "bob@contoso.com",
		    "--since", "2026-01-10" }, 2, "one --mailbox" },
		{ { "backfill", "--mailbox", "alice@contoso.com", "--since", "2026-01-10",
		    "--page-size", "0" }, 2, "--page-size 0" },
		{ { "backfill", "--mailbox", "alice@contoso.com", "--since", "2026-01-10", "--json",
		    NULL }, 2, "unknown option" },
		{ { "backfill", "--mailbox", "mallory@contoso.com", "--since", "2026-01-10", NULL },
		  1, "mallory@contoso.com is not a mailbox olsync watches" },
		{ { "dry-run", "--since", "yesterday", NULL }, 2, "--since yesterday: not a date" },
		{ { "dry-run", "--since", "2026-01-10", "--until", "2026-01-01", NULL }, 2,
		  "--until must be after" },
		{ { "dry-run", "--since", "2026-01-10", "--days", "3", NULL }, 2, "give one" },
		{ { "dry-run", "--days", "0", NULL }, 2, "--days 0" },
		{ { "dry-run", "--days", "3", "--until", "2020-01-01", NULL }, 2,
		  "--until must be after the start --days 3 gives" },
		{ { "dry-run", "--page-size", "3", NULL }, 2, "unknown option" },
		{ { "dry-run", "extra", NULL }, 2, "unexpected argument: extra" },
		{ { "dry-run", "--mailbox", "eve@contoso.com", NULL }, 1,
		  "eve@contoso.com is not a mailbox" },
	};
	char *err = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(e2e_run(world.dir, NULL, &err, "-c", world.conf, cases[i].a[0],
		    cases[i].a[1], cases[i].a[2], cases[i].a[3], cases[i].a[4], cases[i].a[5],
		    cases[i].a[6], NULL), cases[i].rc);
		if (strstr(err, cases[i].says) == NULL)
			fail_msg("case %zu: \"%s\" not in: %s", i, cases[i].says, err);
		free(err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_once),
		cmocka_unit_test(test_interrupt_resume),
		cmocka_unit_test(test_tty),
		cmocka_unit_test(test_graph_failures),
		cmocka_unit_test(test_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
