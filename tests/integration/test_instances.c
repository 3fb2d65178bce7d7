/* test_instances.c: several `olsync run` instances on one ledger (one SQLite file in WAL mode
 * here; the same leases on PostgreSQL), behind a round-robin load balancer (lbproxy) that
 * graph-sim's notifications go through: two and three instances split the mailboxes and log
 * every email once and every new sender's Lead once; one of three killed (SIGKILL) in the middle
 * of a load leaves nothing lost, doubled or pending, and the survivors take its mailboxes within
 * the lease time (measured and printed); three instances under a small API budget share spend
 * that share once, not three times. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crashpoint.h"
#include "e2e.h"
#include "lbproxy.h"
#include "ledger.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testdb.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define NREPS		6
#define NMAX		3		/* instances at most */
#define LEASE_MS	3000		/* lease_time of the instances */
#define SETTLE_MS	20000		/* leases split, subscriptions made */
#define BACKLOG		300		/* emails waiting when the instances start */
#define SWEEP_MS	1500		/* reconcile_interval of the share tests */
#define SLOW_WRITE_MS	7000		/* Salesforce's slow answer: > 2 lease times, < http_timeout */
#define STR_(x)		#x
#define STR(x)		STR_(x)

static struct e2e_world world;
static struct e2e_daemon dm[NMAX];
static int ports[NMAX];
static char *confs[NMAX];
static struct lbproxy *lb;
static char now_date[40], old_date[40];
static int seq;
static int unnamed;		/* instances without instance_name: host:pid */
static char unnamed_owner[128];	/* instance 0's "host:pid" when unnamed */

static void
iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Instance i's configuration, in its own directory dir/iN (so its log is its own): the world's,
 * on the world's ledger, listening on ports[i], with graph-sim notifying the load balancer. */
static void
write_instance(int i, const char *extra)
{
	char *base = xasprintf("%s/olsync.conf", world.dir), *text, *dir, *add;

	text = tmpdir_read(base, 1 << 20);
	if (text == NULL)
		fail_msg("cannot read %s", base);
	/* the world's database: a file one directory up, or the same PostgreSQL URI */
	if (!test_database_is_pg())
		text = e2e_replace(text, "database ledger.db", "database ../ledger.db");
	text = e2e_replace(text, "sf_private_key_file sf-key.pem", "sf_private_key_file ../sf-key.pem");
	add = xasprintf("%slisten 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "%s%d\nlease_time %dms\n%slog_level info\n%s",
	    text, ports[i], lbproxy_port(lb), unnamed ? "# default name, not " : "instance_name i",
	    i, LEASE_MS, extra != NULL &&
	    strstr(extra, "reconcile_interval") != NULL ? "" : "reconcile_interval 1h\n",
	    extra != NULL ? extra : "");
	dir = xasprintf("%s/i%d", world.dir, i);
	mkdir(dir, 0700);
	tmpdir_write(dir, "olsync.conf", add, 0644);
	free(confs[i]);
	confs[i] = xasprintf("%s/olsync.conf", dir);
	free(dir);
	free(add);
	free(text);
	free(base);
}

static int
setup(void **state)
{
	const char *extra = *state;
	json_t *r;

	iso(time(NULL) - 600, now_date, sizeof(now_date));
	iso(time(NULL) - 3 * 86400, old_date, sizeof(old_date));
	if (e2e_world_start_n(&world, "test_instances", NREPS, E2E_SF_CAROL,
	    "meetings no\nretry_base 1s\nhttp_timeout 10s\nbatch_window 500ms\n") == -1)
		return -1;
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false,\"retry_scale\":0.001}", 200);
	json_decref(r);
	for (int i = 0; i < NMAX; i++) {
		do
			ports[i] = e2e_free_port();
		while (i > 0 && (ports[i] == ports[i - 1] || ports[i] == ports[0]));
	}
	if ((lb = lbproxy_start(ports, NMAX)) == NULL)
		return -1;
	for (int i = 0; i < NMAX; i++)
		write_instance(i, extra);
	return 0;
}

static int
teardown(void **state)
{
	int rc = 0;

	(void)state;
	unnamed = 0;
	for (int i = 0; i < NMAX; i++) {
		if (dm[i].pid > 0 && e2e_daemon_stop(&dm[i]) != 0)
			rc = -1;
		free(confs[i]);
		confs[i] = NULL;
	}
	lbproxy_stop(lb);
	lb = NULL;
	if (e2e_world_stop(&world) == -1)
		rc = -1;
	return rc;
}

static char *
rep(int i)
{
	return xasprintf("rep%d@contoso.com", i % NREPS);
}

/* One mail from from (a "Name <address>") to the reps to[0..n-1]. */
static void
mail(const char *from, const int *to, int n, const char *date)
{
	json_t *m = json_pack("{s:s, s:[], s:s, s:s}", "from", from, "to", "body", "note",
	    "date", date), *r;
	char subject[64], *b;

	snprintf(subject, sizeof(subject), "Instances %d", seq++);
	json_object_set_new(m, "subject", json_string(subject));
	for (int i = 0; i < n; i++) {
		char *a = rep(to[i]);

		json_array_append_new(json_object_get(m, "to"), json_string(a));
		free(a);
	}
	b = json_dumps(m, JSON_COMPACT);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", b, 201);
	json_decref(r);
	json_decref(m);
	free(b);
}

/* The leases in the world's ledger, through a handle of our own. */
static struct ledger_lease *
leases(size_t *n)
{
	struct ledger *l;
	struct ledger_lease *v = NULL;
	char err[256], *path = xstrdup(world.database);

	if (ledger_open(path, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	if (ledger_lease_list(l, &v, n) == -1)
		fail_msg("ledger_lease_list: %s", ledger_error(l));
	ledger_close(l);
	free(path);
	return v;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How many live mailbox leases each instance holds (held[i] for "i<i>"); returns the total. */
static int
split(int held[NMAX])
{
	size_t n;
	struct ledger_lease *v = leases(&n);
	int64_t now = wall_ms();
	int total = 0;

	memset(held, 0, NMAX * sizeof(*held));
	for (size_t k = 0; k < n; k++) {
		if (strncmp(v[k].name, "mailbox:", 8) != 0 || v[k].expires_at <= now)
			continue;
		total++;
		if (v[k].owner[0] == 'i' && v[k].owner[1] >= '0' && v[k].owner[1] < '0' + NMAX)
			held[v[k].owner[1] - '0']++;
		else if (unnamed && strcmp(v[k].owner, unnamed_owner) == 0)
			held[0]++;	/* the current process of the unnamed instance 0 */
	}
	ledger_leases_free(v, n);
	return total;
}

/* Whether the live instances in alive[] (n of them) each hold a fair share of the mailboxes:
 * floor or ceil of NREPS / n, and all of them together every one. */
static int
balanced(const int *alive, int n)
{
	int held[NMAX], total = split(held), lo = NREPS / n, hi = (NREPS + n - 1) / n;

	if (total != NREPS)
		return 0;
	for (int i = 0; i < NMAX; i++) {
		if (!alive[i] && held[i] > 0)
			return 0;
		if (alive[i] && (held[i] < lo || held[i] > hi))
			return 0;
	}
	return 1;
}

static size_t
stored_subs(void)
{
	struct ledger *l;
	struct ledger_sub *s = NULL;
	size_t n = 0;
	char err[256], *path = xstrdup(world.database);

	if (ledger_open(path, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	if (ledger_sub_list(l, &s, &n) == -1)
		fail_msg("ledger_sub_list: %s", ledger_error(l));
	ledger_subs_free(s, n);
	ledger_close(l);
	free(path);
	return n;
}

/* Starts n instances one after the other and waits until the mailboxes are split among them and
 * every subscription (two per mailbox) is made. Returns the ms it took to balance. */
static long
start_instances(int n)
{
	int alive[NMAX] = { 0 };
	long t0;

	for (int i = 0; i < n; i++) {
		char *dir = xasprintf("%s/i%d", world.dir, i);

		e2e_daemon_start(&dm[i], dir, confs[i], ports[i]);
		free(dir);
		if (i == 0 && unnamed) {
			char host[100];

			gethostname(host, sizeof(host));
			host[sizeof(host) - 1] = '\0';
			snprintf(unnamed_owner, sizeof(unnamed_owner), "%s:%ld", host,
			    (long)dm[0].pid);
		}
		alive[i] = 1;
	}
	t0 = mono_ms();
	while (!(balanced(alive, n) && stored_subs() == 2 * NREPS)) {
		if (mono_ms() - t0 > mono_scaled(SETTLE_MS))
			fail_msg("the mailboxes were not split among %d instances (or the %d "
			    "subscriptions not made) within %d ms", n, 2 * NREPS, SETTLE_MS);
		usleep(100 * 1000);
	}
	return mono_ms() - t0;
}

/* Every Task's OutlookMessageId__c is distinct and every subject "Instances K" is there once:
 * how many Tasks. *rewritten (may be NULL) gets how many were written again after their
 * creation (LastModifiedDate later than CreatedDate: a batch done by two instances). */
static size_t
tasks_once(size_t *rewritten)
{
	json_t *recs = e2e_records(world.sf.p.base_url, "Task"), *ids = json_object(),
	    *subjects = json_object(), *v;
	size_t i, n;

	if (rewritten != NULL)
		*rewritten = 0;
	json_array_foreach(recs, i, v) {
		const char *id = e2e_field(v, "OutlookMessageId__c"), *s = e2e_field(v, "Subject");

		if (json_object_get(ids, id) != NULL)
			fail_msg("two Tasks for one email: %s", id);
		if (json_object_get(subjects, s) != NULL)
			fail_msg("two Tasks with the subject %s", s);
		json_object_set_new(ids, id, json_true());
		json_object_set_new(subjects, s, json_true());
		if (rewritten != NULL && strcmp(e2e_field(v, "CreatedDate"),
		    e2e_field(v, "LastModifiedDate")) != 0)
			(*rewritten)++;
	}
	n = json_array_size(recs);
	json_decref(ids);
	json_decref(subjects);
	json_decref(recs);
	return n;
}

/* One Lead per new sender's address, no more. */
static size_t
leads_once(void)
{
	json_t *recs = e2e_records(world.sf.p.base_url, "Lead"), *seen = json_object(), *v;
	size_t i, n;

	json_array_foreach(recs, i, v) {
		const char *e = e2e_field(v, "Email");

		if (json_object_get(seen, e) != NULL)
			fail_msg("two Leads for %s", e);
		json_object_set_new(seen, e, json_true());
	}
	n = json_array_size(recs);
	json_decref(seen);
	json_decref(recs);
	return n;
}

/* The mail of one round: 12 from Carol (a Contact), every third to two reps, and 2 from each
 * of senders new senders (Leads), numbered from first. Returns how many emails. */
static int
send_round(int round, int first, int senders)
{
	int k, sent = 0;

	for (k = 0; k < 12; k++) {
		int to[2] = { round * 12 + k, round * 12 + k + 3 };

		mail("Carol Chen <carol@fabrikam.com>", to, k % 3 == 0 ? 2 : 1, now_date);
		sent++;
	}
	for (k = first; k < first + senders; k++) {
		char *from = xasprintf("Pat Newman%d <pat%d@prospect%d.example>", k, k, k);

		for (int j = 0; j < 2; j++) {
			int to = k + 2 * j + round;

			mail(from, &to, 1, now_date);
			sent++;
		}
		free(from);
	}
	return sent;
}

/* Waits for want Tasks, then a little more so a late duplicate would show; checks exactly once
 * and that nothing is left open. Returns how many Tasks were written twice. */
static size_t
check_all_once(size_t want, size_t leads)
{
	size_t rewritten;
	char *out;

	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", want, 40000), want);
	mono_sleep(1500);
	assert_int_equal(tasks_once(&rewritten), want);
	assert_int_equal(leads_once(), leads);
	out = e2e_status(&world);
	assert_int_equal(e2e_status_count(out, "logged "), (long long)want);
	assert_int_equal(e2e_status_count(out, "pending "), 0);
	assert_int_equal(e2e_status_count(out, "failed "), 0);
	assert_int_equal(e2e_status_count(out, "dead "), 0);
	free(out);
	return rewritten;
}

/* sf-sim's scripted faults were all taken (a slow answer never given tests nothing). */
static void
check_no_fault_left(void)
{
	json_t *r = sim_http_ctl(world.sf.p.base_url, "GET", "/_sim/faults", NULL, 200), *f;
	size_t i;

	json_array_foreach(json_object_get(r, "faults"), i, f)
		if (json_integer_value(json_object_get(f, "remaining")) != 0)
			fail_msg("a fault on %s was not taken",
			    json_string_value(json_object_get(f, "path")));
	json_decref(r);
}

/* Each instance took mailbox leases, and no pass of it failed or found its batch taken (two
 * instances on one batch: "cannot mark logged a message that is logged"). */
static void
check_instance(int i)
{
	char *log = e2e_daemon_log(&dm[i]);

	if (strstr(log, "lease taken name=mailbox:") == NULL)
		fail_msg("instance i%d took no mailbox", i);
	if (strstr(log, "pass_failed") != NULL || strstr(log, "loop_guard") != NULL)
		fail_msg("instance i%d: a pass failed", i);
	free(log);
}

/* A backlog waiting before the instances start: read by each mailbox's holder, written by all
 * of them in batches (batch_size 20) from one pool. */
static int
backlog(int n)
{
	for (int i = 0; i < n; i++) {
		int to = i;

		mail("Carol Chen <carol@fabrikam.com>", &to, 1, old_date);
	}
	return n;
}

/* While instances run, the commands that would write the ledger without leases are refused,
 * naming the instances, and write nothing. */
static void
refused_beside(int n)
{
	static const char *const cmds[][8] = {
		{ "sync", "--once", NULL },
		{ "backfill", "--mailbox", "rep0@contoso.com", "--since", "2026-01-01", NULL },
	};

	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		char *out = NULL, *err = NULL;
		int rc = e2e_run(world.dir, &out, &err, "-c", confs[0], cmds[c][0], cmds[c][1],
		    cmds[c][2], cmds[c][3], cmds[c][4], NULL);

		assert_int_equal(rc, 1);
		if (strstr(err, "refused: olsync run is working on this database (") == NULL)
			fail_msg("%s not refused beside the instances:\n%s", cmds[c][0], err);
		for (int i = 0; i < n; i++) {
			char name[16];

			snprintf(name, sizeof(name), "i%d", i);
			if (!unnamed && strstr(err, name) == NULL)
				fail_msg("instance %s not named in: %s", name, err);
		}
		free(out);
		free(err);
	}
}

/* The sweep (every SWEEP_MS in the share tests) of each mailbox is made by the instance that
 * holds it: across all the instances' logs, at most one per interval and mailbox, give or take
 * the intervals at both ends, not one per instance. */
static void
check_sweeps(int n, long ran)
{
	long most = ran / SWEEP_MS + 2;

	for (int r = 0; r < NREPS; r++) {
		char *what = xasprintf("daemon sweep mailbox=rep%d@contoso.com\n", r);
		long count = 0;

		for (int i = 0; i < n; i++) {
			char *log = e2e_daemon_log(&dm[i]);

			for (const char *p = log; (p = strstr(p, what)) != NULL; p++)
				count++;
			free(log);
		}
		fprintf(stderr, "  rep%d swept %ld times in %ld ms (at most %ld)\n", r, count, ran,
		    most);
		assert_true(count >= 1);
		assert_true(count <= most);
		free(what);
	}
}

static void
share(int n)
{
	long settled, t0 = mono_ms();
	int sent = backlog(BACKLOG);

	settled = start_instances(n);
	fprintf(stderr, "%d instances: mailboxes split in %ld ms\n", n, settled);
	refused_beside(n);
	sent += send_round(0, 0, 3);
	sent += send_round(1, 0, 3);
	/* Each batch written by one instance: no Task written twice. */
	assert_int_equal(check_all_once((size_t)sent, 3), 0);
	for (int i = 0; i < n; i++) {
		check_instance(i);
		fprintf(stderr, "  i%d: notifications forwarded %ld\n", i, lbproxy_forwarded(lb,
		    (size_t)i));
	}
	mono_sleep(2 * SWEEP_MS);
	check_sweeps(n, mono_ms() - t0);
	for (int i = 0; i < n; i++)
		assert_int_equal(e2e_daemon_stop(&dm[i]), 0);
}

static void
test_two(void **state)
{
	(void)state;
	share(2);
}

static void
test_three(void **state)
{
	(void)state;
	share(3);
}

/* After one of three instances died (victim, at t_kill; sent emails posted in rounds rounds,
 * from leads new senders in all, senders 0 and 1 among them): the survivors take its mailboxes
 * within the lease time, a round more (from senders 0 and 1) is read by them too, every email is
 * logged once and each new sender's Lead made once, nothing is left open, and the dead one's
 * leases have run out. */
static void
after_death(int victim, long t_kill, int sent, int rounds, size_t leads)
{
	int alive[NMAX] = { 1, 1, 1 };
	long takeover = -1;
	size_t n, rewritten;
	struct ledger_lease *v;
	char dead[8];

	alive[victim] = 0;
	snprintf(dead, sizeof(dead), "i%d", victim);
	/* The survivors hold every mailbox, the dead one none, within the lease time. */
	while (takeover < 0) {
		if (balanced(alive, NMAX - 1))
			takeover = mono_ms() - t_kill;
		else if (mono_ms() - t_kill > mono_scaled(3 * LEASE_MS + 5000))
			fail_msg("the survivors did not take i%d's mailboxes", victim);
		else
			usleep(20 * 1000);
	}
	fprintf(stderr, "takeover: i%d's mailboxes held by the survivors %ld ms after the kill "
	    "(lease_time %d ms)\n", victim, takeover, LEASE_MS);
	/* The bound: within the lease time (the survivors look when the dead one's
	 * leases end, leases_next_look), plus the rounds' own time on a loaded machine. */
	assert_true(takeover <= mono_scaled(LEASE_MS + 500));
	sent += send_round(rounds, 0, 2);
	rewritten = check_all_once((size_t)sent, leads);
	fprintf(stderr, "Tasks written again after the kill (the dead one's batch in flight): %zu "
	    "of %d\n", rewritten, sent);
	/* The dead instance's leases ran out and none of its work is claimed any more. */
	v = leases(&n);
	for (size_t k = 0; k < n; k++)
		if (strcmp(v[k].owner, dead) == 0)
			assert_true(v[k].expires_at <= wall_ms());
	ledger_leases_free(v, n);
	for (int i = 0; i < NMAX; i++)
		if (alive[i])
			assert_int_equal(e2e_daemon_stop(&dm[i]), 0);
}

/* Three instances, mail arriving, one killed at a random moment: every email once, nothing
 * pending, and its mailboxes taken by the others within the lease time. */
static void
test_kill_one(void **state)
{
	int victim, sent = 0, rounds = 6, kill_round, held[NMAX];
	long t_kill = 0, settled;

	(void)state;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	victim = rand() % NMAX;
	kill_round = 1 + rand() % (rounds - 2);
	settled = start_instances(NMAX);
	fprintf(stderr, "3 instances: mailboxes split in %ld ms; i%d dies in round %d\n", settled,
	    victim, kill_round);
	for (int r = 0; r < rounds; r++) {
		sent += send_round(r, 0, 2);
		if (r == kill_round) {
			/* Somewhere inside the round's reading and writing. */
			mono_sleep(rand() % 700);
			split(held);
			fprintf(stderr, "killing i%d holding %d mailboxes\n", victim, held[victim]);
			assert_true(held[victim] > 0);
			kill(dm[victim].pid, SIGKILL);
			waitpid(dm[victim].pid, NULL, 0);
			dm[victim].pid = 0;
			t_kill = mono_ms();
		}
		mono_sleep(400);
	}
	after_death(victim, t_kill, sent, rounds, 2);
}

/* The commit points (src/crashpoint.h) an instance reaches while it reads and writes mail: the
 * reliability issue's crash test (test_crash) met in one of three instances. */
static const char *const mail_points[] = { "ingest_committed", "before_lead_create",
    "after_lead_create", "before_sf_write", "after_sf_write", "after_ledger_mark" };
#define NPOINTS		(sizeof(mail_points) / sizeof(mail_points[0]))
#define CRASH_ROUNDS	24	/* rounds of mail sent at most before the point must be met */

/* The world of test_crash_point, whose state is the point's name, not configuration. */
static int
setup_crash(void **state)
{
	void *none = NULL;

	(void)state;
	return setup(&none);
}

/* And the variable gone, whatever failed while it was set. */
static int
teardown_crash(void **state)
{
	unsetenv(CRASHPOINT_ENV);
	return teardown(state);
}

/* Three instances, mail arriving; one of them started again with its point armed
 * (OLSYNC_CRASH_AT=POINT:N, N of 1 to 3) kills itself there. Then as test_kill_one: the
 * survivors take over within the lease time, every email once, every Lead once. */
static void
test_crash_point(void **state)
{
	const char *point = *state;
	char crash_at[CRASHPOINT_NAME_MAX + 16], *log;
	int victim, nth, sent = 0, r, status = 0;
	long t_kill = -1;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	victim = rand() % NMAX;
	/* An instance commits a page or two per mailbox it takes, so ingest_committed's first
	 * hits come at its start; later ones come with the mail. A Lead is made by whichever
	 * instance writes its sender's first email, so its points come seldom to one instance. */
	if (strcmp(point, "ingest_committed") == 0)
		nth = 4 + rand() % 8;
	else
		nth = 1 + rand() % (strstr(point, "lead") != NULL ? 2 : 3);
	snprintf(crash_at, sizeof(crash_at), "%s:%d", point, nth);
	(void)start_instances(NMAX);
	/* Stopped cleanly (its leases given back) and started again armed: the child inherits
	 * the variable and reads it at the first point it reaches. Spawned, not started: it may
	 * die before it answers /healthz (in its first pass). */
	assert_int_equal(e2e_daemon_stop(&dm[victim]), 0);
	setenv(CRASHPOINT_ENV, crash_at, 1);
	{
		static const char *const run[] = { "run", NULL };
		char *dir = xasprintf("%s/i%d", world.dir, victim);

		e2e_daemon_spawn(&dm[victim], dir, confs[victim], run);
		free(dir);
	}
	unsetenv(CRASHPOINT_ENV);
	fprintf(stderr, "i%d armed with %s=%s\n", victim, CRASHPOINT_ENV, crash_at);
	for (r = 0; r < CRASH_ROUNDS && t_kill < 0; r++) {
		sent += send_round(r, 2 * r, 2);	/* new senders each round */
		for (int w = 0; w < 8 && t_kill < 0; w++) {
			if (waitpid(dm[victim].pid, &status, WNOHANG) == dm[victim].pid)
				t_kill = mono_ms();
			else
				mono_sleep(100);
		}
	}
	if (t_kill < 0)
		fail_msg("i%d never reached %s in %d rounds of mail", victim, crash_at, r);
	dm[victim].pid = 0;
	/* Killed by its crash point, not by anything else. */
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	log = e2e_daemon_log(&dm[victim]);
	if (strstr(log, "crashpoint armed mode=kill point=") == NULL)
		fail_msg("i%d died without its crash point armed:\n%s", victim, log);
	free(log);
	fprintf(stderr, "i%d died at %s in round %d of mail\n", victim, crash_at, r);
	after_death(victim, t_kill, sent, r, (size_t)(2 * r));
}

/* Three instances, an org allowance of 100 a day and sf_budget_share 20: together they make at
 * most 20 calls, counted by sf-sim, however much mail waits. */
static void
test_shared_budget(void **state)
{
	long calls, waited;
	size_t tasks;
	char *out;
	int to;

	(void)state;
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config",
	    "{\"daily_api_limit\":100}", 200));
	for (int i = 0; i < 600; i++) {
		to = i;
		mail("Carol Chen <carol@fabrikam.com>", &to, 1, old_date);
	}
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/stats/reset", NULL, 200));
	start_instances(NMAX);
	/* Until every instance says the share is spent. */
	for (waited = 0; waited < mono_scaled(30000); waited += 200) {
		int held = 0;

		for (int i = 0; i < NMAX; i++) {
			char *log = e2e_daemon_log(&dm[i]);

			held += strstr(log, "budget hold reason=share_spent") != NULL;
			free(log);
		}
		if (held == NMAX)
			break;
		mono_sleep(200);
	}
	mono_sleep(2000);
	calls = e2e_sf_api_calls(world.sf.p.base_url);
	tasks = e2e_record_count(world.sf.p.base_url, "Task");
	fprintf(stderr, "3 instances under one share: %ld calls, %zu Tasks\n", calls, tasks);
	assert_true(calls > 0);
	assert_true(calls <= 20);
	assert_true(tasks > 0 && tasks < 600);
	out = e2e_status(&world);
	assert_true(e2e_status_count(out, "api_calls ") <= 20);
	free(out);
	for (int i = 0; i < NMAX; i++)
		assert_int_equal(e2e_daemon_stop(&dm[i]), 0);
}

/* The stored subscriptions, through a handle of our own. */
static struct ledger_sub *
subscriptions(size_t *n)
{
	struct ledger *l;
	struct ledger_sub *v = NULL;
	char err[256];

	if (ledger_open(world.database, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	if (ledger_sub_list(l, &v, n) == -1)
		fail_msg("ledger_sub_list: %s", ledger_error(l));
	ledger_close(l);
	return v;
}

/* Which instance holds the subscriptions lease (-1: none yet). */
static int
subs_holder(void)
{
	size_t n;
	struct ledger_lease *v = leases(&n);
	int holder = -1;

	for (size_t k = 0; k < n; k++)
		if (strcmp(v[k].name, "subscriptions") == 0 && v[k].expires_at > wall_ms() &&
		    v[k].owner[0] == 'i')
			holder = atoi(v[k].owner + 1);
	ledger_leases_free(v, n);
	return holder;
}

/* Graph's subscriptionRemoved reaching the instance that does not keep the subscriptions (the
 * load balancer chose it): that instance only stores the action; the holder, which nothing
 * wakes in its own process, finds it in the ledger within a second or two and makes the
 * subscription again. */
static void
test_lifecycle_elsewhere(void **state)
{
	struct ledger_sub *v;
	struct sim_http h;
	char *old_id = NULL, *mailbox = NULL, *kind = NULL, *body, *base, *log;
	size_t n;
	long t0, took = -1;
	int holder, other;

	(void)state;
	start_instances(2);
	for (t0 = mono_ms(); (holder = subs_holder()) < 0; mono_sleep(100))
		if (mono_ms() - t0 > mono_scaled(SETTLE_MS))
			fail_msg("no instance holds the subscriptions");
	other = 1 - holder;
	v = subscriptions(&n);
	assert_true(n > 0);
	old_id = xstrdup(v[0].id);
	mailbox = xstrdup(v[0].mailbox);
	kind = xstrdup(v[0].kind);
	body = xasprintf("{\"value\":[{\"subscriptionId\":\"%s\",\"clientState\":\"%s\","
	    "\"lifecycleEvent\":\"subscriptionRemoved\"}]}", v[0].id, v[0].client_state);
	ledger_subs_free(v, n);
	base = xasprintf("http://127.0.0.1:%d", ports[other]);
	sim_http_do(&h, base, "POST", "/graph/lifecycle", body, NULL, NULL);
	assert_int_equal(h.status, 202);
	sim_http_free(&h);
	/* The holder makes it again: a new id for that mailbox and folder, the old one gone. */
	for (t0 = mono_ms(); took < 0; mono_sleep(100)) {
		int gone = 1, again = 0;

		v = subscriptions(&n);
		for (size_t k = 0; k < n; k++) {
			if (strcmp(v[k].id, old_id) == 0)
				gone = 0;
			else if (strcmp(v[k].mailbox, mailbox) == 0 && strcmp(v[k].kind, kind) == 0)
				again = 1;
		}
		ledger_subs_free(v, n);
		if (gone && again)
			took = mono_ms() - t0;
		else if (mono_ms() - t0 > mono_scaled(10000))
			fail_msg("i%d did not make %s's %s subscription again", holder, mailbox,
			    kind);
	}
	fprintf(stderr, "subscriptionRemoved taken by i%d, subscription made again by i%d in "
	    "%ld ms\n", other, holder, took);
	assert_true(took <= mono_scaled(3000));
	log = e2e_daemon_log(&dm[holder]);
	assert_non_null(strstr(log, "subscription_removed"));
	free(log);
	for (int i = 0; i < 2; i++)
		assert_int_equal(e2e_daemon_stop(&dm[i]), 0);
	free(base);
	free(body);
	free(old_id);
	free(mailbox);
	free(kind);
}

/* A batch slower than lease_time: Salesforce answers its Task write after more than two lease
 * times. The instance writing it keeps its claims (its lease rounds renew them), so the other
 * instance, polling the ledger each second, does not take the batch and write it again. */
static void
test_slow_batch(void **state)
{
	int to[2] = { 0, 1 };
	size_t rewritten;

	(void)state;
	start_instances(2);
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/faults",
	    "{\"method\":\"PATCH\",\"path\":\"/services/data/v62.0/composite/sobjects/Task\","
	    "\"count\":1,\"delay_ms\":" STR(SLOW_WRITE_MS) "}", 200));
	for (int i = 0; i < 4; i++)
		mail("Carol Chen <carol@fabrikam.com>", to, 2, now_date);
	/* Past the slow answer: sf-sim applies the delay before the write, so a second
	 * instance's write of the batch would come first and the slow one would rewrite it. */
	mono_sleep(SLOW_WRITE_MS + 2000);
	rewritten = check_all_once(4, 0);
	fprintf(stderr, "a batch written in %d ms with lease_time %d ms: %zu Tasks written "
	    "again\n", SLOW_WRITE_MS, LEASE_MS, rewritten);
	assert_int_equal(rewritten, 0);
	check_no_fault_left();
	for (int i = 0; i < 2; i++) {
		check_instance(i);
		assert_int_equal(e2e_daemon_stop(&dm[i]), 0);
	}
}

/* An instance without instance_name (host:pid) killed and started again on the same host:
 * the new process reaps the dead one's leases at once (its pid is gone) instead of waiting
 * lease_time, and logs as before. */
static void
test_restart_same_host(void **state)
{
	int alive[NMAX] = { 1, 0, 0 };
	long t0, took;
	char *log;

	(void)state;
	unnamed = 1;
	write_instance(0, NULL);
	start_instances(1);
	kill(dm[0].pid, SIGKILL);
	waitpid(dm[0].pid, NULL, 0);
	dm[0].pid = 0;
	t0 = mono_ms();
	start_instances(1);
	took = mono_ms() - t0;
	fprintf(stderr, "restarted on the same host: every mailbox held again in %ld ms "
	    "(lease_time %d ms)\n", took, LEASE_MS);
	assert_true(balanced(alive, 1));
	unnamed = 0;
	assert_true(took < LEASE_MS);
	log = e2e_daemon_log(&dm[0]);
	assert_non_null(strstr(log, "lease reaped owner="));
	free(log);
	mail("Carol Chen <carol@fabrikam.com>", (int[]){ 2 }, 1, now_date);
	check_all_once(1, 0);
	assert_int_equal(e2e_daemon_stop(&dm[0]), 0);
}

/* The short form (make test) meets one of the points, picked at random per run and printed
 * (OL_TEST_CRASH_POINT=NAME picks it; an unknown name is an error); OL_TEST_CRASH_ALL=1 meets
 * each in turn, a fresh world for each (10 to 20 s apiece). */
int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test_prestate_setup_teardown(test_two, setup, teardown,
		    "batch_size 20\nreconcile_interval 1500ms\n"),
		cmocka_unit_test_prestate_setup_teardown(test_three, setup, teardown,
		    "batch_size 20\nreconcile_interval 1500ms\n"),
		cmocka_unit_test_setup_teardown(test_kill_one, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_shared_budget, setup, teardown,
		    "sf_budget_share 20\nbatch_size 50\n"),
		cmocka_unit_test_setup_teardown(test_slow_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_same_host, setup, teardown),
	};
	struct CMUnitTest tests[sizeof(fixed) / sizeof(fixed[0]) + NPOINTS];
	static char names[NPOINTS][64];
	const char *all = getenv("OL_TEST_CRASH_ALL"), *want = getenv("OL_TEST_CRASH_POINT");
	int every = all != NULL && strcmp(all, "1") == 0;
	size_t n = sizeof(fixed) / sizeof(fixed[0]), pick;

	memcpy(tests, fixed, sizeof(fixed));
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	pick = (size_t)rand() % NPOINTS;
	if (want != NULL) {
		for (pick = 0; pick < NPOINTS && strcmp(want, mail_points[pick]) != 0; pick++)
			;
		if (pick == NPOINTS) {
			fprintf(stderr, "test_instances: OL_TEST_CRASH_POINT=%s is none of the "
			    "points:", want);
			for (size_t i = 0; i < NPOINTS; i++)
				fprintf(stderr, " %s", mail_points[i]);
			fprintf(stderr, "\n");
			return 2;
		}
	}
	for (size_t i = 0; i < NPOINTS; i++) {
		if (!every && i != pick)
			continue;
		snprintf(names[i], sizeof(names[i]), "test_crash_point(%s)", mail_points[i]);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(
		    test_crash_point, setup_crash, teardown_crash, (void *)mail_points[i]);
		tests[n].name = names[i];
		n++;
	}
	fprintf(stderr, "crash points met in an instance: %s\n",
	    every ? "all (OL_TEST_CRASH_ALL=1)" : mail_points[pick]);
	return sim_proc_exit_status(_cmocka_run_group_tests("test_instances", tests, n, NULL,
	    NULL));
}
