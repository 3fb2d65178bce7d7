/* test_faults.c: the fault matrix, end to end: the real `olsync sync --once`, repeated until the
 * ledger has nothing pending or failed, against graph-sim and sf-sim scripted (/_sim/faults,
 * /_sim/config, /_sim/delta/expire) to fail the way Graph and Salesforce fail. After each fault
 * clears: every email that should be logged has exactly one Task (by OutlookMessageId__c), every
 * unknown sender one Lead, and only the deliberately final error is dead, with its reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "mono.h"
#include "normalize.h"
#include "sim_http.h"
#include "store.h"
#include "testdb.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define SETTLE_PASSES	15	/* sync --once runs before a round must have settled */
#define MAIL_MAX	64

static struct e2e_world world;
static char when[40];		/* the mails' time */

/* Every mail delivered: its name, internetMessageId, and whether it must end logged. */
static struct {
	char name[48];
	char mid[256];
	int logged;
} mails[MAIL_MAX];
static size_t nmails;

static const char *leads[MAIL_MAX];	/* unknown senders: one Lead each */
static size_t nleads;
static long injected;			/* faults scripted and taken, both services */
static long dead_want;
static size_t other_leads;		/* Leads seeded by a round */			/* the deliberately final errors */
static long passes;

static int
setup(void **state)
{
	time_t t = time(NULL) - 86400;
	struct tm tm;
	char *extra = xasprintf("backfill_days 30\ncreate_leads yes\nactivity_timezone UTC\n"
	    "log_level info\nretry_base 1s\nhttp_timeout %lds\n", mono_scaled(4000) / 1000);
	int rc;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT10:00:00Z", &tm);
	/* Two reps, five Contacts (Carol with an open Opportunity); unknown senders make Leads.
	 * http_timeout 4s (scaled, like the waits): the slow answers below (1.5 s) stay under
	 * it. */
	rc = e2e_world_start(&world, "test_faults",
	    E2E_SF_REPS,
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"},"
	    "{\"_key\":\"nw\",\"Name\":\"Northwind\"}],"
	    "\"Contact\":["
	    "{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"dave\",\"FirstName\":\"Dave\",\"LastName\":\"Diaz\","
	    "\"Email\":\"dave@northwind.com\",\"AccountId\":\"@nw\"},"
	    "{\"_key\":\"erin\",\"FirstName\":\"Erin\",\"LastName\":\"Eng\","
	    "\"Email\":\"erin@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"finn\",\"FirstName\":\"Finn\",\"LastName\":\"Fox\","
	    "\"Email\":\"finn@northwind.com\",\"AccountId\":\"@nw\"},"
	    "{\"_key\":\"gina\",\"FirstName\":\"Gina\",\"LastName\":\"Gold\","
	    "\"Email\":\"gina@northwind.com\",\"AccountId\":\"@nw\"}],"
	    "\"Opportunity\":[{\"_key\":\"opp\",\"Name\":\"Fabrikam renewal\","
	    "\"StageName\":\"Prospecting\",\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@fab\"}],"
	    "\"OpportunityContactRole\":[{\"OpportunityId\":\"@opp\",\"ContactId\":\"@carol\"}]",
	    E2E_GRAPH_REPS,
	    "alice@contoso.com, bob@contoso.com", extra);
	free(extra);
	return rc;
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_stop(&world);
}

/* One mail from from to to (a JSON array text); logged says whether it must end as a Task. */
static void
mail(const char *name, const char *from, const char *to, int logged)
{
	char *b;
	json_t *r;

	assert_true(nmails < MAIL_MAX);
	b = xasprintf("{\"from\":\"%s\",\"to\":%s,\"subject\":\"%s\",\"body\":\"About %s.\","
	    "\"date\":\"%s\"}", from, to, name, name, when);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", b, 201);
	free(b);
	snprintf(mails[nmails].name, sizeof(mails[nmails].name), "%s", name);
	snprintf(mails[nmails].mid, sizeof(mails[nmails].mid), "%s",
	    json_string_value(json_object_get(r, "internetMessageId")));
	mails[nmails].logged = logged;
	nmails++;
	json_decref(r);
}

/* An unknown sender's mail: it makes (or joins) the sender's Lead. */
static void
mail_unknown(const char *name, const char *addr, const char *to)
{
	char *from = xasprintf("%s", addr);
	size_t i;

	for (i = 0; i < nleads; i++)
		if (strcmp(leads[i], addr) == 0)
			break;
	if (i == nleads)
		leads[nleads++] = addr;
	mail(name, from, to, 1);
	free(from);
}

/* Scripts a fault; count is what the fault takes (the spec's "count", 1 without). */
static void
fault(const char *base, const char *spec, long count)
{
	json_decref(sim_http_ctl(base, "POST", "/_sim/faults", spec, 200));
	injected += count;
}

/* Every scripted fault was taken: a fault never reached tests nothing. A drop is scripted
 * twice because libcurl resends once by itself on a reused connection; on a fresh one the
 * second is left, and is not counted as injected. */
static void
faults_taken(const char *base)
{
	json_t *r = sim_http_ctl(base, "GET", "/_sim/faults", NULL, 200), *f;
	json_int_t left;
	size_t i;

	json_array_foreach(json_object_get(r, "faults"), i, f) {
		left = json_integer_value(json_object_get(f, "remaining"));
		injected -= (long)left;
		if (left > (json_is_true(json_object_get(f, "drop")) ? 1 : 0))
			fail_msg("fault not taken: %s %s remaining %lld",
			    json_string_value(json_object_get(f, "path")),
			    json_string_value(json_object_get(f, "code")) ?
			    json_string_value(json_object_get(f, "code")) :
			    json_string_value(json_object_get(f, "errorCode")),
			    (long long)left);
	}
	json_decref(r);
	json_decref(sim_http_ctl(base, "DELETE", "/_sim/faults", NULL, 200));
}

/* The largest "class=wait wait=N" Graph announced in log (0 when none). */
static double
graph_wait(const char *log)
{
	const char *p = log;
	double w = 0;

	while ((p = strstr(p, "class=wait wait=")) != NULL) {
		double d = strtod(p + strlen("class=wait wait="), NULL);

		if (d > w)
			w = d;
		p++;
	}
	return w;
}

/* Runs `olsync sync --once` until a pass read every folder and the ledger has nothing pending or
 * failed; sleeps between passes: Retry-After when Graph gave one (sync --once keeps no state
 * between runs, so honouring it is the caller's part), else a second (retry_base 1s). Returns
 * every pass's log (caller frees) and the passes it took in *n. */
static char *
settle(int *n)
{
	char *all = xstrdup(""), *err = NULL, *out = NULL, *t;
	long long pending = 0, failed = 0;
	int i, read_ok = 0;

	for (i = 0; i < SETTLE_PASSES; i++) {
		assert_int_equal(e2e_run(world.dir, NULL, &err, "-c", world.conf, "sync", "--once",
		    NULL), 0);
		passes++;
		read_ok = strstr(err, "delta failed") == NULL;
		t = xasprintf("%s%s", all, err);
		free(all);
		all = t;
		assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL),
		    0);
		pending = e2e_status_count(out, "pending ");
		failed = e2e_status_count(out, "failed ");
		free(out);
		if (read_ok && pending == 0 && failed == 0) {
			free(err);
			break;
		}
		{
			double w = graph_wait(err);
			useconds_t us = w > 1.0 ? (useconds_t)(w * 1e6) + 100000 : 1100000;

			free(err);
			usleep(us);
		}
	}
	if (i == SETTLE_PASSES)
		fail_msg("not settled after %d passes: pending %lld failed %lld read_ok %d",
		    SETTLE_PASSES, pending, failed, read_ok);
	*n = i + 1;
	return all;
}

/* The end state: one Task per logged mail and no other, one Lead per unknown sender, dead_want
 * dead and nothing else open. */
static void
check_world(void)
{
	json_t *tasks = e2e_records(world.sf.p.base_url, "Task");
	json_t *lrecs = e2e_records(world.sf.p.base_url, "Lead");
	char digest[NORMALIZE_DIGEST_LEN + 1], *out = NULL;
	size_t i, want = 0;

	for (i = 0; i < nmails; i++) {
		e2e_digest(mails[i].mid, digest);
		if (e2e_count(tasks, "OutlookMessageId__c", digest) != (size_t)mails[i].logged)
			fail_msg("mail %s: %zu Tasks, want %d", mails[i].name,
			    e2e_count(tasks, "OutlookMessageId__c", digest), mails[i].logged);
		want += (size_t)mails[i].logged;
	}
	assert_int_equal(json_array_size(tasks), want);
	for (i = 0; i < nleads; i++)
		if (e2e_count(lrecs, "Email", leads[i]) != 1)
			fail_msg("sender %s: %zu Leads, want 1", leads[i],
			    e2e_count(lrecs, "Email", leads[i]));
	assert_int_equal(json_array_size(lrecs), nleads + other_leads);
	json_decref(tasks);
	json_decref(lrecs);

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "logged "), (long long)want);
	assert_int_equal(e2e_status_count(out, "pending "), 0);
	assert_int_equal(e2e_status_count(out, "failed "), 0);
	assert_int_equal(e2e_status_count(out, "dead "), dead_want);
	free(out);
}

/* Settles, checks every fault was taken and the end state; returns the log (caller frees). */
static char *
round_end(const char *what)
{
	char *log;
	int n;

	log = settle(&n);
	faults_taken(world.graph.base_url);
	faults_taken(world.sf.p.base_url);
	check_world();
	print_message("fault %-28s passes=%d\n", what, n);
	return log;
}

#define GRAPH_ALICE	"/v1.0/users/alice@contoso.com/mailFolders"
#define GRAPH_BOB	"/v1.0/users/bob@contoso.com/mailFolders"
#define SF_DATA		"/services/data/v62.0/"
#define ALICE		"[\"alice@contoso.com\"]"
#define BOB		"[\"bob@contoso.com\"]"

/* The world before any fault: a dozen mails from Contacts, unknown senders, a mail to both. */
static void
test_baseline(void **state)
{
	(void)state;
	mail("renewal", "Carol Chen <carol@fabrikam.com>", "[\"alice@contoso.com\"]", 1);
	mail("quote", "Dave Diaz <dave@northwind.com>", "[\"bob@contoso.com\"]", 1);
	mail("both reps", "Carol Chen <carol@fabrikam.com>",
	    "[\"alice@contoso.com\",\"bob@contoso.com\"]", 1);
	mail("intro", "Alice Adams <alice@contoso.com>", "[\"erin@fabrikam.com\"]", 1);
	mail("invoice", "Finn Fox <finn@northwind.com>", "[\"alice@contoso.com\"]", 1);
	mail("agenda", "Gina Gold <gina@northwind.com>", "[\"bob@contoso.com\"]", 1);
	mail("lunch", "alice@contoso.com", "[\"bob@contoso.com\"]", 0);
	mail_unknown("pricing", "pat@globex-corp.com", "[\"bob@contoso.com\"]");
	mail_unknown("hello", "sam.stone@gmail.com", "[\"alice@contoso.com\"]");
	mail_unknown("hello again", "sam.stone@gmail.com", "[\"alice@contoso.com\"]");
	mail("follow-up", "Bob Brown <bob@contoso.com>", "[\"dave@northwind.com\"]", 1);
	mail("contract", "Erin Eng <erin@fabrikam.com>", "[\"alice@contoso.com\"]", 1);
	free(round_end("none"));
}

/* Graph: 429 with Retry-After. The pass does not ask again (one failed delta, the wait
 * announced in its log), the next pass comes after the wait, and graph-sim, which counts every
 * request for the mailbox sooner than its Retry-After (retry_after.early), saw none. */
static void
test_graph_429(void **state)
{
	char *log;

	(void)state;
	fault(world.graph.base_url, "{\"method\":\"GET\",\"path\":\"" GRAPH_ALICE "\","
	    "\"status\":429,\"retry_after\":2}", 1);
	mail("g429", "Carol Chen <carol@fabrikam.com>", "[\"alice@contoso.com\"]", 1);
	log = round_end("graph 429 Retry-After 2");
	assert_non_null(strstr(log, "status=429 code=TooManyRequests class=wait wait=2"));
	/* Asked once, not again in the same pass: one 429 in the whole round. */
	assert_null(strstr(strstr(log, "status=429 code=TooManyRequests class=wait") + 1,
	    "status=429 code=TooManyRequests class=wait"));
	{
		json_t *st = sim_http_ctl(world.graph.base_url, "GET", "/_sim/stats", NULL, 200);

		assert_int_equal(json_integer_value(json_object_get(st, "retry_after.early")), 0);
		json_decref(st);
	}
	free(log);
}

/* The faults one round each of which needs nothing but the end state checked: a fault, a mail
 * written under it (from a Contact, or from an unknown sender when lead is set). Drops are
 * scripted twice: libcurl resends once by itself on a reused connection. */
static const struct {
	const char *what;
	int sf;			/* sf-sim, else graph-sim */
	const char *spec;
	long count;
	const char *mail, *from, *lead, *to;
	int clean;		/* nothing may fail: one pass, no delta failed */
} simple[] = {
	{ "graph 503 x2", 0, "{\"method\":\"GET\",\"path\":\"" GRAPH_BOB "\",\"count\":2,"
	  "\"status\":503}", 2, "g503", "Dave Diaz <dave@northwind.com>", NULL, BOB, 0 },
	{ "graph 504", 0, "{\"method\":\"GET\",\"path\":\"" GRAPH_ALICE "\",\"status\":504}",
	  1, "g504", "Finn Fox <finn@northwind.com>", NULL, ALICE, 0 },
	{ "graph dropped connection x2", 0, "{\"method\":\"GET\",\"path\":\"/v1.0/users/\","
	  "\"count\":2,\"drop\":true}", 2, "gdrop lead", NULL, "quinn@initech.example", BOB, 0 },
	{ "graph slow 1.5s x2", 0, "{\"method\":\"GET\",\"path\":\"/v1.0/users/\","
	  "\"count\":2,\"delay_ms\":1500}", 2, "gslow", "Erin Eng <erin@fabrikam.com>", NULL,
	  ALICE, 1 },
	{ "sf 401 INVALID_SESSION_ID", 1, "{\"path\":\"" SF_DATA "composite/sobjects\","
	  "\"errorCode\":\"INVALID_SESSION_ID\"}", 1, "s401", "Finn Fox <finn@northwind.com>",
	  NULL, BOB, 0 },
	{ "sf 403 REQUEST_LIMIT_EXCEEDED", 1, "{\"path\":\"" SF_DATA "\","
	  "\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}", 1, "s403", "Gina Gold <gina@northwind.com>",
	  NULL, ALICE, 0 },
	{ "sf 503 HTML x2", 1, "{\"path\":\"" SF_DATA "\",\"count\":2,\"status\":503,"
	  "\"html\":true}", 2, "s503", NULL, "rae@contoso-partners.example", ALICE, 0 },
	{ "sf UNABLE_TO_LOCK_ROW", 1, "{\"path\":\"" SF_DATA "composite/sobjects\","
	  "\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}", 1, "slock", "Carol Chen <carol@fabrikam.com>",
	  NULL, ALICE, 0 },
};

static void
test_simple(void **state)
{
	char *log;

	(void)state;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		fault(simple[i].sf ? world.sf.p.base_url : world.graph.base_url, simple[i].spec,
		    simple[i].count);
		if (simple[i].lead != NULL)
			mail_unknown(simple[i].mail, simple[i].lead, simple[i].to);
		else
			mail(simple[i].mail, simple[i].from, simple[i].to, 1);
		log = round_end(simple[i].what);
		if (simple[i].clean)
			assert_null(strstr(log, "delta failed"));
		free(log);
	}
}

/* Tokens of one second and a slow first answer: the token expires in the middle of the pass;
 * olsync renews it before Graph refuses it (at half its life), or on Graph's 401, and goes
 * on. Either way the run holds more tokens than it made passes. */
static void
test_graph_token_expiry(void **state)
{
	char *log, *ttl, *slow;
	const char *p;
	long before, tokens = 0;

	(void)state;
	/* Both wall-clock, both scaled: under valgrind a one-second token is stale before olsync
	 * can use even a fresh one, and the pass then fails instead of renewing. */
	ttl = xasprintf("{\"token_ttl_sec\":%ld}", mono_scaled(1000) / 1000);
	slow = xasprintf("{\"method\":\"GET\",\"path\":\"" GRAPH_ALICE "\",\"delay_ms\":%ld}",
	    mono_scaled(1500));
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/config", ttl, 200));
	fault(world.graph.base_url, slow, 1);
	free(ttl);
	free(slow);
	mail("gtoken", "Carol Chen <carol@fabrikam.com>", "[\"bob@contoso.com\"]", 1);
	before = passes;
	log = round_end("graph token expired mid-run");
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"token_ttl_sec\":3599}", 200));
	for (p = log; (p = strstr(p, "graph: token acquired")) != NULL; p++)
		tokens++;
	assert_true(tokens > passes - before);
	free(log);
}

static void
test_graph_410(void **state)
{
	char *log;

	(void)state;
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/delta/expire", NULL, 200));
	injected++;
	mail("g410", "Dave Diaz <dave@northwind.com>", "[\"alice@contoso.com\"]", 1);
	log = round_end("graph 410 on delta");
	assert_non_null(strstr(log, "reason=sync_state_not_found"));
	free(log);
}

/* One record of a collection refused for good: two unknown senders' Leads in one collection,
 * one of them the address of a converted Lead (olsync matches unconverted Leads only) under a
 * blocking duplicate rule: DUPLICATES_DETECTED for that record alone. Its email alone is dead,
 * with the reason; the other Lead and its Task are written. */
static void
test_sf_partial(void **state)
{
	char digest[NORMALIZE_DIGEST_LEN + 1], *out = NULL;
	(void)state;
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/seed",
	    "{\"Lead\":[{\"FirstName\":\"Zed\",\"LastName\":\"Zane\",\"Company\":\"Zeta\","
	    "\"Email\":\"zed@zeta.example\",\"IsConverted\":true}]}", 200));
	other_leads++;
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config",
	    "{\"lead_duplicate_rule\":true,\"duplicate_rule_blocks\":true}", 200));
	mail("partial ok", "Dave Diaz <dave@northwind.com>", "[\"bob@contoso.com\"]", 1);
	mail_unknown("partial lead", "wes@wayne.example", "[\"bob@contoso.com\"]");
	mail("partial refused", "Zed Zane <zed@zeta.example>", "[\"bob@contoso.com\"]", 0);
	injected++;
	dead_want++;
	free(round_end("sf one record FINAL"));
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config",
	    "{\"lead_duplicate_rule\":false,\"duplicate_rule_blocks\":false}", 200));
	e2e_digest(mails[nmails - 1].mid, digest);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "dead", NULL), 0);
	assert_non_null(strstr(out, digest));
	assert_non_null(strstr(out, "DUPLICATES_DETECTED"));
	assert_non_null(strstr(out, "1 dead\n"));
	free(out);
}

/* Salesforce commits, the answer is lost: the retry must not make a second Task or Lead.
 * count 2: libcurl resends once by itself on a reused connection. */
static void
test_sf_after_commit(void **state)
{
	(void)state;
	fault(world.sf.p.base_url, "{\"method\":\"PATCH\",\"path\":\"" SF_DATA
	    "composite/sobjects/Task\",\"count\":2,\"drop\":true,\"after_commit\":true}", 2);
	fault(world.sf.p.base_url, "{\"method\":\"POST\",\"path\":\"" SF_DATA
	    "composite/sobjects\",\"count\":2,\"drop\":true,\"after_commit\":true}", 2);
	mail("commit", "Gina Gold <gina@northwind.com>", "[\"bob@contoso.com\"]", 1);
	mail_unknown("commit lead", "uma@umbrella.example", "[\"alice@contoso.com\"]");
	free(round_end("sf timeout after commit"));
}

/* Several at once on both services. The emulators script counts, not rates: the faults below
 * are counted against the requests the round made, and the rate printed. */
static const struct {
	int sf;
	const char *spec;
	long count;
} combined[] = {
	{ 0, "{\"method\":\"GET\",\"path\":\"" GRAPH_ALICE "\",\"status\":429,"
	  "\"retry_after\":1}", 1 },
	{ 0, "{\"method\":\"GET\",\"path\":\"" GRAPH_BOB "\",\"count\":2,\"status\":503}", 2 },
	{ 0, "{\"method\":\"GET\",\"path\":\"/v1.0/users/\",\"count\":2,\"drop\":true}", 2 },
	{ 1, "{\"method\":\"POST\",\"path\":\"" SF_DATA "composite\",\"count\":2,"
	  "\"status\":503,\"html\":true}", 2 },
	{ 1, "{\"path\":\"" SF_DATA "composite/sobjects\",\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}",
	  1 },
	{ 1, "{\"method\":\"PATCH\",\"path\":\"" SF_DATA "composite/sobjects/Task\","
	  "\"count\":2,\"drop\":true,\"after_commit\":true}", 2 },
	{ 1, "{\"path\":\"" SF_DATA "composite/sobjects\",\"errorCode\":\"INVALID_SESSION_ID\"}",
	  1 },
};

static void
test_combined(void **state)
{
	json_t *gs, *ss;
	long before = injected, reqs;
	char *log;
	size_t i;

	(void)state;
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/stats/reset", NULL, 200));
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/stats/reset", NULL, 200));
	for (i = 0; i < sizeof(combined) / sizeof(combined[0]); i++)
		fault(combined[i].sf ? world.sf.p.base_url : world.graph.base_url,
		    combined[i].spec, combined[i].count);
	mail("combo 1", "Carol Chen <carol@fabrikam.com>",
	    "[\"alice@contoso.com\",\"bob@contoso.com\"]", 1);
	mail("combo 2", "Dave Diaz <dave@northwind.com>", "[\"alice@contoso.com\"]", 1);
	mail("combo 3", "Bob Brown <bob@contoso.com>", "[\"finn@northwind.com\"]", 1);
	mail_unknown("combo 4", "vic@vandelay.example", "[\"bob@contoso.com\"]");
	mail_unknown("combo 5", "pat@globex-corp.com", "[\"alice@contoso.com\"]");
	log = round_end("combined (both services)");
	free(log);
	gs = sim_http_ctl(world.graph.base_url, "GET", "/_sim/stats", NULL, 200);
	ss = sim_http_ctl(world.sf.p.base_url, "GET", "/_sim/stats", NULL, 200);
	reqs = (long)(json_integer_value(json_object_get(gs, "requests")) +
	    json_integer_value(json_object_get(ss, "requests")));
	print_message("combined: %ld faults in %ld requests (1 in %.1f)\n", injected - before,
	    reqs, (double)reqs / (double)(injected - before));
	json_decref(gs);
	json_decref(ss);
}

/* One `olsync -c conf sync --once` while Alice's two folders answer after 1.5 s each; at
 * 700 ms, with the pass waiting on Graph, act runs. Fails unless the pass exits 0 with every
 * folder read and its log holds want; then settles (nothing is left for the next pass). */
static void
pass_with_database_trouble(const char *what, const char *conf, int (*act)(void), const char *want)
{
	const char *const args[] = { "sync", "--once", NULL };
	struct e2e_daemon dm;
	char *log, *name = xasprintf("%s 1", what), *name2 = xasprintf("%s 2", what);
	int status;

	mail(name, "Carol Chen <carol@fabrikam.com>", ALICE, 1);
	mail(name2, "Dave Diaz <dave@northwind.com>", ALICE, 1);
	fault(world.graph.base_url, "{\"method\":\"GET\",\"path\":\"" GRAPH_ALICE "\","
	    "\"count\":2,\"delay_ms\":1500}", 2);
	e2e_daemon_spawn(&dm, world.dir, conf, args);
	mono_sleep(700);
	assert_int_equal(act(), 0);
	assert_int_equal(waitpid(dm.pid, &status, 0), dm.pid);
	dm.pid = 0;
	passes++;
	log = e2e_daemon_log(&dm);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("sync --once (%s): status %d: %s", what, status, log);
	if (strstr(log, want) == NULL || strstr(log, "delta failed") != NULL ||
	    strstr(log, "folders_failed=0") == NULL)
		fail_msg("sync --once (%s): no \"%s\", or a folder failed: %s", what, want, log);
	free(log);
	free(name);
	free(name2);
	free(round_end(what));
}

static int
cut_connections(void)
{
	return test_database_cut(e2e_database(world.dir)) >= 1 ? 0 : -1;
}

/* The database: every connection to it cut while a pass waits on Graph (a failover, or an
 * operator's pg_terminate_backend; PostgreSQL only, SQLite has no connection). The pass finds
 * its idle connection ended before its next statement and connects again: the one pass logs
 * the mail. */
static void
test_db_connections_cut(void **state)
{
	(void)state;
	if (!test_database_is_pg())
		skip();
	pass_with_database_trouble("database connections cut", world.conf, cut_connections,
	    "postgresql_reconnected");
}

/* Holds the messages table against writers for 1.2 s. */
static int
lock_messages(void)
{
	char err[256];
	struct store *s = NULL;
	int rc = -1;

	if (store_open(e2e_database(world.dir), NULL, &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "lock_messages: %s\n", err);
		return -1;
	}
	if (store_begin(s) == 0 && store_exec(s, "LOCK TABLE messages IN EXCLUSIVE MODE") == 0) {
		mono_sleep(1200);
		rc = store_rollback(s);
	}
	store_close(s);
	return rc;
}

/* A page's transaction the database refuses for now (here a lock_timeout of 300 ms while
 * another session holds the table for 1.2 s; between instances, a deadlock) is tried again at
 * once, and the pass ends with every folder read. */
static void
test_db_page_again(void **state)
{
	const char *db;
	char *text, *with, *conf;

	(void)state;
	if (!test_database_is_pg())
		skip();
	db = e2e_database(world.dir);
	with = xasprintf("%s?options=-c%%20lock_timeout%%3D300", db);
	text = e2e_replace(tmpdir_read(world.conf, 1 << 16), db, with);
	tmpdir_write(world.dir, "lock-timeout.conf", text, 0600);
	conf = xasprintf("%s/lock-timeout.conf", world.dir);
	pass_with_database_trouble("page transaction refused", conf, lock_messages,
	    "ingest page_again");
	free(conf);
	free(text);
	free(with);
}

static void
test_summary(void **state)
{
	(void)state;
	print_message("faults injected=%ld mails=%zu leads=%zu dead=%ld passes=%ld\n", injected,
	    nmails, nleads, dead_want, passes);
	/* A pass after everything: nothing left to do. */
	check_world();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_graph_429),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_graph_token_expiry),
		cmocka_unit_test(test_graph_410),
		cmocka_unit_test(test_sf_partial),
		cmocka_unit_test(test_sf_after_commit),
		cmocka_unit_test(test_combined),
		cmocka_unit_test(test_db_connections_cut),
		cmocka_unit_test(test_db_page_again),
		cmocka_unit_test(test_summary),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
