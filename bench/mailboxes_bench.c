/* mailboxes_bench.c: `olsync run` in real time over many idle mailboxes (graph-sim users, all
 * watched with `mailboxes all`): how long until every subscription exists and the start-up pass
 * is done, the pace of subscription creates Graph saw, olsync's peak RSS (VmHWM), and how the
 * planned renewals spread (from the ledger).
 * Usage: mailboxes-bench [--mailboxes N] [--meetings yes|no] [--wait SEC] (bench/mailboxes.sh);
 * after SEC seconds (default 1800) it reports what there is. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "ledger.h"
#include "mono.h"
#include "sim_http.h"
#include "subscriptions.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define SAMPLE_MS	100

struct opts {
	int mailboxes;
	int meetings;
	long wait_sec;		/* then report what there is */
};

static long
route_count(const char *base, const char *route)
{
	json_t *s = sim_http_ctl(base, "GET", "/_sim/stats", NULL, 200);
	long n = (long)json_integer_value(json_object_get(json_object_get(s, "routes"), route));

	json_decref(s);
	return n;
}

/* The planned renewal times of the stored subscriptions, by subs_renew_due. */
static void
renewal_spread(const char *db, const struct config *cfg)
{
	struct ledger *l = NULL;
	struct ledger_sub *ls = NULL;
	size_t n = 0, i, max1, max60;
	int64_t *due;
	char err[256];

	if (ledger_open(db, &l, err, sizeof(err)) == -1 || ledger_sub_list(l, &ls, &n) == -1)
		fail_msg("ledger: %s", err);
	due = xcalloc(n + 1, sizeof(*due));
	for (i = 0; i < n; i++)
		due[i] = subs_renew_due(cfg, &ls[i]);
	max1 = e2e_densest(due, n, 1);
	max60 = e2e_densest(due, n, 60);
	if (n == 0)
		printf("renewals: none stored in %s\n", db);
	else
		printf("renewals: %zu planned over %.2f h (first in %.2f h); at most %zu in any "
		    "second, %zu in any minute\n", n, (double)(due[n - 1] - due[0]) / 3600.0,
		    (double)(due[0] - (int64_t)time(NULL)) / 3600.0, max1, max60);
	free(due);
	ledger_subs_free(ls, n);
	ledger_close(l);
}

static void
bench(void **state)
{
	const struct opts *o = *state;
	struct e2e_world w;
	struct e2e_daemon dm = { 0 };
	struct config cfg;
	struct config_errors errs = { 0 };
	char *users, *extra, *log;
	long want = (long)o->mailboxes * (o->meetings ? 3 : 2), t0, created = 0;
	struct e2e_pace pace = { 0 };
	long t_subs = -1, t_pass = -1;
	int port = e2e_free_port();

	users = e2e_graph_rep_users(o->mailboxes);
	extra = xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "reconcile_interval 1h\nlog_level info\nmeetings %s\n", port, port,
	    o->meetings ? "yes" : "no");
	if (e2e_world_start(&w, "mailboxes_bench", "{\"_key\":\"rep0\",\"Username\":"
	    "\"rep0@contoso.com\",\"Email\":\"rep0@contoso.com\",\"LastName\":\"Rep 0\","
	    "\"Alias\":\"rep0\"}", E2E_SF_CAROL, users, "all", extra) == -1)
		fail_msg("cannot start the emulators");
	free(users);
	free(extra);
	/* Plain http on loopback; everything else as graph-sim models Graph by default. */
	json_decref(sim_http_ctl(w.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false}", 200));
	t0 = mono_ms();
	e2e_daemon_start(&dm, w.dir, w.conf, port);
	for (;;) {
		created = route_count(w.graph.base_url, "POST /v1.0/subscriptions");
		e2e_pace_sample(&pace, created);
		if (t_subs < 0 && created >= want)
			t_subs = mono_ms() - t0;
		if (t_pass < 0) {
			log = e2e_daemon_log(&dm);
			if (strstr(log, "ingest done ") != NULL)
				t_pass = mono_ms() - t0;
			free(log);
		}
		if (t_subs >= 0 && t_pass >= 0)
			break;
		if (mono_ms() - t0 > o->wait_sec * 1000) {
			printf("not ready after %ld s: %ld of %ld subscriptions created, start-up "
			    "pass %s\n", o->wait_sec, created, want, t_pass < 0 ? "running" :
			    "done");
			break;
		}
		usleep(SAMPLE_MS * 1000);
	}
	sleep(3);	/* the folder reads the creates marked */
	printf("mailboxes: %d, subscriptions: %ld (meetings %s)\n", o->mailboxes, want,
	    o->meetings ? "yes" : "no");
	printf("start: all subscriptions created in %.1f s, start-up pass done in %.1f s\n",
	    (double)t_subs / 1000.0, (double)t_pass / 1000.0);
	printf("creates: at most %ld within a second (sampled every %d ms)\n", pace.max,
	    SAMPLE_MS);
	printf("rss: VmHWM %ld KiB, VmRSS %ld KiB\n", e2e_proc_status_kib(dm.pid, "VmHWM:"),
	    e2e_proc_status_kib(dm.pid, "VmRSS:"));
	if (config_load(w.conf, &cfg, &errs) == -1)
		fail_msg("config: %s", errs.n > 0 ? errs.v[0] : "?");
	renewal_spread(cfg.database, &cfg);
	config_free(&cfg);
	config_errors_free(&errs);
	fflush(stdout);
	e2e_daemon_stop(&dm);
	e2e_world_stop(&w);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mailboxes", required_argument, NULL, 'm' },
		{ "meetings", required_argument, NULL, 'e' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .mailboxes = 1000, .meetings = 1, .wait_sec = 1800 };
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'm' && atoi(optarg) > 0)
			o.mailboxes = atoi(optarg);
		else if (c == 'w' && atol(optarg) > 0)
			o.wait_sec = atol(optarg);
		else if (c == 'e')
			o.meetings = strcmp(optarg, "no") != 0;
		else {
			fprintf(stderr, "usage: mailboxes-bench [--mailboxes N] "
			    "[--meetings yes|no] [--wait SEC]\n");
			return 2;
		}
	}
	{
		const struct CMUnitTest tests[] = {
			cmocka_unit_test_prestate(bench, &o),
		};

		return cmocka_run_group_tests(tests, NULL, NULL);
	}
}
