/* crash_bench.c: `olsync run` in real time SIGKILLed at random moments while mail keeps
 * arriving, restarted each time, then left to settle: every email must end as exactly one Task
 * (by OutlookMessageId__c) and every unknown sender as one Lead. Prints the kills survived and
 * the emails lost, duplicated or still held. Usage: crash-bench [--kills K] [--rate R]
 * [--min-ms A] [--max-ms B] [--mailboxes M] [--seed S] (run by bench/crash.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define SETTLE_MS	180000	/* after the last kill, for the last Task */
#define STABLE_MS	5000	/* no new Task for this long with all of them there: settled */
#define MAILBOXES_MAX	50
#define SENDERS		5	/* unknown senders, each becoming one Lead */

struct opts {
	long kills;
	double rate;		/* emails per second while olsync runs */
	long min_ms, max_ms;	/* olsync lives this long (uniform) before the kill */
	int mailboxes;
	unsigned seed;
};

struct bench {
	const struct opts *o;
	struct e2e_world world;
	struct e2e_daemon dm;
	int port;
	long mails;		/* posted so far */
	long leads_wanted;	/* unknown senders that mailed */
	int sender_used[SENDERS];
};

static int
setup(void **state)
{
	struct bench *b = xcalloc(1, sizeof(*b));
	int rc;

	b->o = *state;
	rc = e2e_world_start_reps(&b->world, "crash_bench", b->o->mailboxes,
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"}],"
	    "\"Contact\":[{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"dave\",\"FirstName\":\"Dave\",\"LastName\":\"Diaz\","
	    "\"Email\":\"dave@fabrikam.com\",\"AccountId\":\"@fab\"}]",
	    "create_leads yes\n", &b->port);
	if (rc == -1) {
		free(b);
		return -1;
	}
	*state = b;
	return 0;
}

static int
teardown(void **state)
{
	struct bench *b = *state;
	int rc;

	if (b->dm.pid > 0)
		e2e_daemon_stop(&b->dm);
	rc = e2e_world_stop(&b->world);
	free(b);
	return rc;
}

/* Mail i: mostly from a Contact to one rep, every fourth to two reps, every tenth from one of
 * SENDERS unknown senders (a Lead each). Its internetMessageId names it. */
static void
post_mail(struct bench *b, long i)
{
	int m = b->o->mailboxes, r = (int)(i % m);
	char *to, *from, *body;

	if (i % 4 == 3 && m > 1)
		to = xasprintf("\"rep%d@contoso.com\",\"rep%d@contoso.com\"", r, (r + 1) % m);
	else
		to = xasprintf("\"rep%d@contoso.com\"", r);
	if (i % 10 == 9) {
		int s = (int)(i / 10 % SENDERS);

		from = xasprintf("Newcomer %d <new%d@startup%d.example>", s, s, s);
		if (!b->sender_used[s]++)
			b->leads_wanted++;
	} else {
		from = xstrdup(i % 2 ? "Carol Chen <carol@fabrikam.com>" :
		    "Dave Diaz <dave@fabrikam.com>");
	}
	body = xasprintf("{\"from\":\"%s\",\"to\":[%s],\"subject\":\"crash-bench %ld\","
	    "\"body\":\"Mail %ld.\",\"internetMessageId\":\"<crash-bench-%ld@test.example>\"}",
	    from, to, i, i, i);
	json_decref(sim_http_ctl(b->world.graph.base_url, "POST", "/_sim/mail", body, 201));
	free(body);
	free(from);
	free(to);
}

/* Posts mail at the configured rate for ms milliseconds. */
static void
mail_for(struct bench *b, long ms)
{
	long t0 = mono_ms(), gap = (long)(1000.0 / b->o->rate);

	while (mono_ms() - t0 < ms) {
		post_mail(b, b->mails++);
		usleep((useconds_t)(gap * 1000));
	}
}

static void
kill_hard(struct bench *b)
{
	int status;

	kill(b->dm.pid, SIGKILL);
	if (waitpid(b->dm.pid, &status, 0) == -1)
		fail_msg("waitpid");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("olsync run ended by itself before the kill (log: %s)", b->dm.log);
	b->dm.pid = 0;
}

/* How many Tasks hold each email (counts[i], by OutlookMessageId__c), and the Tasks in all. */
static size_t
count_tasks(struct bench *b, long *counts)
{
	json_t *recs = e2e_records(b->world.sf.p.base_url, "Task"), *rec;
	json_t *by = json_object();
	char mid[64], d[NORMALIZE_DIGEST_LEN + 1];
	size_t k, n = json_array_size(recs);

	for (long i = 0; i < b->mails; i++) {
		snprintf(mid, sizeof(mid), "<crash-bench-%ld@test.example>", i);
		e2e_digest(mid, d);
		json_object_set_new(by, d, json_integer(i));
		counts[i] = 0;
	}
	json_array_foreach(recs, k, rec) {
		json_t *i = json_object_get(by, e2e_field(rec, "OutlookMessageId__c"));

		if (i == NULL)
			fail_msg("a Task not from the bench: %s", e2e_field(rec, "Subject"));
		counts[json_integer_value(i)]++;
	}
	json_decref(by);
	json_decref(recs);
	return n;
}

static void
bench_crash(void **state)
{
	struct bench *b = *state;
	const struct opts *o = b->o;
	long kills = 0, lost = 0, dup = 0, *counts, t0, last_change, leads_dup = 0;
	size_t tasks = 0, seen = 0;
	json_t *leads, *rec;
	char *out = NULL;
	size_t k;
	double start = mono_sec();

	srand(o->seed);
	json_decref(sim_http_ctl(b->world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false}", 200));
	for (kills = 0; kills < o->kills; kills++) {
		e2e_daemon_start(&b->dm, b->world.dir, b->world.conf, b->port);
		mail_for(b, o->min_ms + (o->max_ms > o->min_ms ?
		    rand() % (o->max_ms - o->min_ms + 1) : 0));
		kill_hard(b);
	}
	fprintf(stderr, "crash-bench: %ld kills done, %ld mails posted in %.1f s; settling\n",
	    kills, b->mails, mono_sec() - start);

	/* Settle: one last daemon, until every email has a Task and nothing moved for a while. */
	counts = xcalloc((size_t)b->mails, sizeof(*counts));
	e2e_daemon_start(&b->dm, b->world.dir, b->world.conf, b->port);
	t0 = last_change = mono_ms();
	for (;;) {
		size_t n = count_tasks(b, counts), have = 0;

		for (long i = 0; i < b->mails; i++)
			have += counts[i] > 0;
		if (n != tasks || have != seen) {
			tasks = n;
			seen = have;
			last_change = mono_ms();
		}
		if ((long)seen == b->mails && mono_ms() - last_change > STABLE_MS)
			break;
		if (mono_ms() - t0 > SETTLE_MS)
			break;
		usleep(500 * 1000);
	}
	e2e_daemon_stop(&b->dm);
	for (long i = 0; i < b->mails; i++) {
		if (counts[i] == 0) {
			lost++;
			fprintf(stderr, "crash-bench: email %ld has no Task\n", i);
		} else if (counts[i] > 1) {
			dup++;
			fprintf(stderr, "crash-bench: email %ld has %ld Tasks\n", i, counts[i]);
		}
	}
	leads = e2e_records(b->world.sf.p.base_url, "Lead");
	json_array_foreach(leads, k, rec)
		if (e2e_count(leads, "Email", e2e_field(rec, "Email")) > 1)
			leads_dup++;
	assert_int_equal(e2e_run(b->world.dir, &out, NULL, "-c", b->world.conf, "status", NULL),
	    0);
	printf("crash-bench: kills=%ld (random %ld..%ld ms apart) survived=%ld messages=%ld "
	    "tasks=%zu lost=%ld duplicated=%ld leads=%zu/%ld duplicate_leads=%ld "
	    "ledger_pending=%lld ledger_failed=%lld settle_s=%.1f total_s=%.1f\n", kills, o->min_ms,
	    o->max_ms, kills, b->mails, tasks, lost, dup, json_array_size(leads), b->leads_wanted,
	    leads_dup, e2e_status_count(out, "pending "), e2e_status_count(out, "failed "),
	    (double)(mono_ms() - t0) / 1000.0, mono_sec() - start);
	json_decref(leads);
	free(out);
	free(counts);
	assert_int_equal(lost, 0);
	assert_int_equal(dup, 0);
	assert_int_equal(leads_dup, 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kills", required_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'r' },
		{ "min-ms", required_argument, NULL, 'a' },
		{ "max-ms", required_argument, NULL, 'b' },
		{ "mailboxes", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	static struct opts o = { .kills = 200, .rate = 20, .min_ms = 50, .max_ms = 500,
	    .mailboxes = 3, .seed = 0 };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(bench_crash, setup, teardown, &o),
	};
	int opt;

	o.seed = (unsigned)time(NULL);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k': o.kills = atol(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'a': o.min_ms = atol(optarg); break;
		case 'b': o.max_ms = atol(optarg); break;
		case 'm': o.mailboxes = atoi(optarg); break;
		case 's': o.seed = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: crash-bench [--kills K] [--rate R] [--min-ms A] "
			    "[--max-ms B] [--mailboxes M] [--seed S]\n");
			return 2;
		}
	}
	if (o.kills < 0 || o.rate <= 0 || o.rate > 1000 || o.min_ms < 0 || o.max_ms < o.min_ms ||
	    o.mailboxes < 1 || o.mailboxes > MAILBOXES_MAX) {
		fprintf(stderr, "crash-bench: --kills >= 0, --rate 0..1000, 0 <= --min-ms <= "
		    "--max-ms, --mailboxes 1..%d\n", MAILBOXES_MAX);
		return 2;
	}
	fprintf(stderr, "crash-bench: seed %u\n", o.seed);
	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
