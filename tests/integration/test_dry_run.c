/* test_dry_run.c: `olsync dry-run` against graph-sim and sf-sim seeded with a mixed world (known
 * Contacts, a Lead, two Contacts with one address, unknown senders under a lead_owner entry, a
 * rep's User and a round-robin pool, internal and automated mail): the report writes nothing to
 * Salesforce and leaves the ledger as it was (absent, or byte for byte), and the real
 * `olsync sync --once` that follows writes exactly what it announced, record by record: every
 * Task with its Who, What and owner, every Lead with its owner, every skip with its reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "sim_http.h"
#include "tmpdir.h"
#include "testdb.h"
#include "xmalloc.h"

static struct e2e_world world;
static char when[40];		/* the mails' time, two days ago */
static char later[40];		/* an hour after */
static char old[40];		/* forty days ago: outside the window */
static char ledger[PATH_MAX + 16];	/* the world's ledger file */

/* POST /_sim/mail of body (freed). */
static void
post_mail(char *body)
{
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", body, 201));
	free(body);
}
#define send_mail(fmt, at)	post_mail(xasprintf(fmt, at))

static int
setup(void **state)
{
	time_t t = time(NULL) - 2 * 86400, o = time(NULL) - 40 * 86400;
	struct tm tm;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT10:00:00Z", &tm);
	strftime(later, sizeof(later), "%Y-%m-%dT11:00:00Z", &tm);
	gmtime_r(&o, &tm);
	strftime(old, sizeof(old), "%Y-%m-%dT10:00:00Z", &tm);
	/* Reps alice and bob; dana owns bob's Leads (lead_owner); erin and frank are the pool
	 * the shared mailbox sales@, which has no User, hands its Leads round. Two Contacts
	 * carry dup@initech.com: the older (created first by date, seeded second) wins. */
	if (e2e_world_start(&world, "test_dry_run",
	    E2E_SF_REPS ","
	    "{\"_key\":\"dana\",\"Username\":\"dana@contoso.com\",\"Email\":\"dana@contoso.com\","
	    "\"LastName\":\"Dane\",\"Alias\":\"ddane\"},"
	    "{\"_key\":\"erin\",\"Username\":\"erin@contoso.com\",\"Email\":\"erin@contoso.com\","
	    "\"LastName\":\"Erl\",\"Alias\":\"eerl\"},"
	    "{\"_key\":\"frank\",\"Username\":\"frank@contoso.com\","
	    "\"Email\":\"frank@contoso.com\",\"LastName\":\"Fox\",\"Alias\":\"ffox\"}",
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"},"
	    "{\"_key\":\"nw\",\"Name\":\"Northwind\"},{\"_key\":\"ini\",\"Name\":\"Initech\"}],"
	    "\"Contact\":["
	    "{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"dave\",\"FirstName\":\"Dave\",\"LastName\":\"Diaz\","
	    "\"Email\":\"dave@northwind.com\",\"AccountId\":\"@nw\"},"
	    "{\"_key\":\"dup_new\",\"LastName\":\"Newer\",\"Email\":\"dup@initech.com\","
	    "\"AccountId\":\"@ini\",\"CreatedDate\":\"2024-06-01T00:00:00Z\"},"
	    "{\"_key\":\"dup_old\",\"LastName\":\"Older\",\"Email\":\"dup@initech.com\","
	    "\"AccountId\":\"@ini\",\"CreatedDate\":\"2021-06-01T00:00:00Z\"}],"
	    "\"Opportunity\":[{\"_key\":\"opp\",\"Name\":\"Fabrikam renewal\","
	    "\"StageName\":\"Prospecting\",\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@fab\"}],"
	    "\"OpportunityContactRole\":[{\"OpportunityId\":\"@opp\",\"ContactId\":\"@carol\"}],"
	    "\"Lead\":[{\"_key\":\"lena\",\"FirstName\":\"Lena\",\"LastName\":\"Lund\","
	    "\"Company\":\"Tailspin\",\"Email\":\"lena@tailspin.com\"}]",
	    "[" E2E_GRAPH_ALICE ","
	    "{\"userPrincipalName\":\"bob@contoso.com\",\"displayName\":\"Bob Brown\"},"
	    "{\"userPrincipalName\":\"sales@contoso.com\",\"displayName\":\"Sales\"}]",
	    "alice@contoso.com, bob@contoso.com, sales@contoso.com",
	    "backfill_days 30\n"
	    "create_leads yes\n"
	    "meetings no\n"
	    "tie_break oldest\n"
	    "lead_owner bob@contoso.com dana@contoso.com\n"
	    "lead_owner_pool erin@contoso.com, frank@contoso.com\n"
	    "log_level info\n"
	    "http_timeout 10s\n") == -1)
		return -1;
	snprintf(ledger, sizeof(ledger), "%s", world.database);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_stop(&world);
}

/* The first day of mail: every kind of decision once. */
static void
deliver_first(void)
{
	send_mail("{\"from\":\"Carol Chen <carol@fabrikam.com>\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Renewal quote\",\"body\":\"Could you send it?\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Alice Adams <alice@contoso.com>\","
	    "\"to\":[\"Dave Diaz <dave@northwind.com>\"],\"cc\":[\"lena@tailspin.com\"],"
	    "\"subject\":\"Intro\",\"body\":\"Nice to meet you both.\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Lena Lund <lena@tailspin.com>\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Trial\",\"body\":\"Can we try it?\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Ina <dup@initech.com>\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Which of us\",\"body\":\"Two records.\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"alice@contoso.com\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Lunch?\",\"body\":\"Noon?\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Weekly News <news@newsletters.example>\","
	    "\"to\":[\"bob@contoso.com\"],\"subject\":\"This week\",\"body\":\"Top stories\","
	    "\"headers\":{\"List-Unsubscribe\":\"<mailto:u@newsletters.example>\"},"
	    "\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Pat Quinn <pat@globex-corp.com>\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Pricing\",\"body\":\"Pro plan?\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Sam Stone <sam.stone@gmail.com>\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Hello again\",\"body\":\"Second.\",\"date\":\"%s\"}", later);
	send_mail("{\"from\":\"Sam Stone <sam.stone@gmail.com>\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Hello\",\"body\":\"First.\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Uma Wayne <uma@wayne.example>\",\"to\":[\"sales@contoso.com\"],"
	    "\"subject\":\"Demo\",\"body\":\"A demo please.\",\"date\":\"%s\"}", when);
	send_mail("{\"from\":\"Vic Stark <vic@stark.example>\",\"to\":[\"sales@contoso.com\"],"
	    "\"subject\":\"Quote\",\"body\":\"A quote please.\",\"date\":\"%s\"}", later);
	/* Outside the 30-day window: neither run touches it. */
	send_mail("{\"from\":\"Carol Chen <carol@fabrikam.com>\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Old\",\"body\":\"Long ago.\",\"date\":\"%s\"}", old);
}

/* The file's bytes, or NULL when it does not exist; *len gets their number. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	*len = 0;
	if (fp == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* `olsync dry-run --json` with up to six more arguments (NULL ends them): the report, parsed. */
static json_t *
dry_run_args(const char *const a[6])
{
	json_error_t jerr;
	json_t *rep;
	char *out = NULL;

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "dry-run", "--json",
	    a[0], a[1], a[2], a[3], a[4], a[5], NULL), 0);
	rep = json_loads(out, 0, &jerr);
	if (rep == NULL)
		fail_msg("dry-run --json is not JSON (%s): %s", jerr.text, out);
	free(out);
	return rep;
}

static json_t *
dry_run_json(void)
{
	const char *const none[6] = { NULL };

	return dry_run_args(none);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(null)";
}

/* The report's lines of kind. */
static size_t
count_kind(const json_t *rep, const char *kind)
{
	const json_t *o;
	size_t i, n = 0;

	json_array_foreach(json_object_get(rep, "lines"), i, o)
		n += strcmp(str(o, "kind"), kind) == 0;
	return n;
}

/* Records sf-sim holds that olsync writes. */
static size_t
written(json_t *seeded_leads)
{
	return e2e_record_count(world.sf.p.base_url, "Task") +
	    e2e_record_count(world.sf.p.base_url, "EmailMessage") +
	    e2e_record_count(world.sf.p.base_url, "Lead") - json_array_size(seeded_leads);
}

/* The Lead a report line's Who means: a planned Lead's placeholder is the Lead sf-sim now
 * holds for the address that line planned. */
static const char *
real_who(const json_t *rep, json_t *leads, const json_t *line)
{
	const json_t *o;
	size_t i;

	if (!json_is_true(json_object_get(line, "who_new_lead")))
		return str(line, "who");
	json_array_foreach(json_object_get(rep, "lines"), i, o)
		if (strcmp(str(o, "kind"), "lead") == 0 &&
		    strcmp(str(o, "lead"), str(line, "who")) == 0)
			return e2e_field(e2e_find(leads, "Email", str(o, "address")), "Id");
	fail_msg("who %s: no such planned Lead", str(line, "who"));
	return NULL;
}

/* What the real pass wrote is what the report announced, record by record, and nothing else:
 * Leads (owner), Tasks (Who, What, owner), skips (state and reason in the ledger). leads_before
 * is the Leads sf-sim held before the pass. */
static void
compare(const json_t *rep, size_t tasks_before, size_t leads_before)
{
	json_t *tasks = e2e_records(world.sf.p.base_url, "Task");
	json_t *leads = e2e_records(world.sf.p.base_url, "Lead"), *rec;
	const char *integ = e2e_key_id(world.sf.keys, "integ");
	const json_t *o;
	size_t i;
	char *show, *want;

	assert_int_equal(json_array_size(tasks) - tasks_before, count_kind(rep, "activity"));
	assert_int_equal(json_array_size(leads) - leads_before, count_kind(rep, "lead"));
	assert_int_equal(e2e_record_count(world.sf.p.base_url, "EmailMessage"), 0);
	json_array_foreach(json_object_get(rep, "lines"), i, o) {
		const char *kind = str(o, "kind");

		if (strcmp(kind, "lead") == 0) {
			rec = e2e_find(leads, "Email", str(o, "address"));
			assert_string_equal(e2e_field(rec, "OwnerId"),
			    json_is_null(json_object_get(o, "owner")) ? integ : str(o, "owner"));
		} else if (strcmp(kind, "activity") == 0) {
			assert_string_equal(str(o, "record"), "task");
			rec = e2e_find(tasks, "OutlookMessageId__c", str(o, "digest"));
			assert_string_equal(e2e_field(rec, "WhoId"), real_who(rep, leads, o));
			assert_string_equal(e2e_field(rec, "WhatId"), str(o, "what"));
			assert_string_equal(e2e_field(rec, "OwnerId"),
			    json_is_null(json_object_get(o, "owner")) ? integ : str(o, "owner"));
		} else {
			/* Skipped: no Task, and the ledger says why, in the same words. */
			assert_string_equal(kind, "skip");
			assert_int_equal(e2e_count(tasks, "OutlookMessageId__c", str(o, "digest")), 0);
			assert_int_equal(e2e_run(world.dir, &show, NULL, "-c", world.conf, "show",
			    str(o, "digest"), NULL), 0);
			assert_non_null(strstr(show, "state            skipped\n"));
			want = xasprintf("reason           %s\n", str(o, "reason"));
			assert_non_null(strstr(show, want));
			free(want);
			free(show);
		}
	}
	json_decref(tasks);
	json_decref(leads);
}

/* The line of the report for the mail with subject (fails unless exactly one). */
static const json_t *
line_of(const json_t *rep, const char *subject)
{
	const json_t *o, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(rep, "lines"), i, o)
		if (strcmp(str(o, "kind"), "lead") != 0 && strcmp(str(o, "subject"), subject) == 0) {
			assert_null(found);
			found = o;
		}
	if (found == NULL)
		fail_msg("no line for \"%s\"", subject);
	return found;
}

static const json_t *
lead_of(const json_t *rep, const char *address)
{
	const json_t *o;
	size_t i;

	json_array_foreach(json_object_get(rep, "lines"), i, o)
		if (strcmp(str(o, "kind"), "lead") == 0 && strcmp(str(o, "address"), address) == 0)
			return o;
	fail_msg("no Lead planned for %s", address);
	return NULL;
}

static void
test_first_run(void **state)
{
	json_t *rep, *seeded = e2e_records(world.sf.p.base_url, "Lead");
	const json_t *o, *amb;
	const char *pool[2];
	char *out = NULL, *txt = NULL;
	size_t len;
	long calls_before;

	(void)state;
	deliver_first();
	calls_before = e2e_sf_api_calls(world.sf.p.base_url);
	rep = dry_run_json();
	/* Nothing written, no ledger made; the lookups were made (batched: a few calls). */
	assert_int_equal(written(seeded), 0);
	assert_null(slurp(ledger, &len));
	assert_true(e2e_sf_api_calls(world.sf.p.base_url) > calls_before);
	assert_true(e2e_sf_api_calls(world.sf.p.base_url) - calls_before <= 4);

	/* The decisions this world was built for, as the report states them. */
	o = line_of(rep, "Renewal quote");
	assert_string_equal(str(o, "who"), e2e_key_id(world.sf.keys, "carol"));
	assert_string_equal(str(o, "what"), e2e_key_id(world.sf.keys, "opp"));
	assert_string_equal(str(o, "owner"), e2e_key_id(world.sf.keys, "alice"));
	o = line_of(rep, "Trial");
	assert_string_equal(str(o, "who_type"), "Lead");
	assert_string_equal(str(o, "who"), e2e_key_id(world.sf.keys, "lena"));
	o = line_of(rep, "Which of us");
	amb = json_object_get(o, "ambiguous");
	assert_non_null(amb);
	assert_int_equal(json_integer_value(json_object_get(amb, "candidates")), 2);
	assert_string_equal(str(amb, "tie_break"), "oldest");
	assert_string_equal(str(amb, "picked"), e2e_key_id(world.sf.keys, "dup_old"));
	assert_string_equal(str(o, "who"), e2e_key_id(world.sf.keys, "dup_old"));
	assert_null(json_object_get(line_of(rep, "Renewal quote"), "ambiguous"));
	assert_string_equal(str(lead_of(rep, "pat@globex-corp.com"), "owner_rule"), "lead_owner");
	assert_string_equal(str(lead_of(rep, "pat@globex-corp.com"), "owner"),
	    e2e_key_id(world.sf.keys, "dana"));
	assert_string_equal(str(lead_of(rep, "sam.stone@gmail.com"), "owner_rule"),
	    "mailbox_user");
	/* The pool hands sales@'s two new senders one each, in the order the pass meets them. */
	assert_string_equal(str(lead_of(rep, "uma@wayne.example"), "owner_rule"), "round_robin");
	assert_string_equal(str(lead_of(rep, "vic@stark.example"), "owner_rule"), "round_robin");
	pool[0] = str(lead_of(rep, "uma@wayne.example"), "owner");
	pool[1] = str(lead_of(rep, "vic@stark.example"), "owner");
	assert_string_not_equal(pool[0], pool[1]);
	for (int k = 0; k < 2; k++)
		if (strcmp(pool[k], e2e_key_id(world.sf.keys, "erin")) != 0)
			assert_string_equal(pool[k], e2e_key_id(world.sf.keys, "frank"));
	assert_string_equal(str(line_of(rep, "Lunch?"), "kind"), "skip");
	assert_non_null(strstr(str(line_of(rep, "Lunch?"), "reason"), "internal_only"));
	assert_string_equal(str(line_of(rep, "This week"), "kind"), "skip");
	assert_string_equal(str(line_of(rep, "Hello"), "who"),
	    str(line_of(rep, "Hello again"), "who"));
	assert_int_equal(count_kind(rep, "lead"), 4);
	assert_int_equal(count_kind(rep, "activity"), 9);
	assert_int_equal(count_kind(rep, "skip"), 2);
	assert_int_equal(count_kind(rep, "failed"), 0);

	/* A second dry run decides the same (the round robin did not move), and the text form
	 * says it one line per email and Lead. */
	assert_int_equal(e2e_run(world.dir, &txt, NULL, "-c", world.conf, "dry-run", NULL), 0);
	assert_non_null(strstr(txt, "summary  seen=12 processed=11 task=9 leads=4 skipped=2 "
	    "failed=0 ambiguous=1 held=no meetings=off events=0 removed=0 next_dates=0\n"));
	assert_non_null(strstr(txt, "lead     uma@wayne.example "));
	assert_non_null(strstr(txt, "rule=round_robin"));
	assert_non_null(strstr(txt, "ambiguous=\"2 records have dup@initech.com; tie_break "
	    "oldest picks "));
	free(txt);
	assert_null(slurp(ledger, &len));
	assert_int_equal(written(seeded), 0);

	/* The real pass writes exactly that. */
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "sync", "--once",
	    NULL), 0);
	free(out);
	compare(rep, 0, json_array_size(seeded));
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "logged "), 9);
	assert_int_equal(e2e_status_count(out, "skipped "), 2);
	free(out);
	json_decref(rep);
	json_decref(seeded);
}

/* With a ledger: the dry run reads a copy and leaves the file byte for byte; it announces only
 * the new mail (the logged is not again), the round robin going on from the real cursor. */
static void
test_with_ledger(void **state)
{
	json_t *rep;
	char *before, *after, *wal_before, *wal_after, wal[PATH_MAX + 32], shm[PATH_MAX + 32];
	int shm_before;
	size_t len_before, len_after, lw_before, lw_after;
	size_t tasks = e2e_record_count(world.sf.p.base_url, "Task");
	size_t leads = e2e_record_count(world.sf.p.base_url, "Lead");

	(void)state;
	send_mail("{\"from\":\"Wes Kent <wes@kent.example>\",\"to\":[\"sales@contoso.com\"],"
	    "\"subject\":\"Third\",\"body\":\"Info please.\",\"date\":\"%s\"}", later);
	send_mail("{\"from\":\"Carol Chen <carol@fabrikam.com>\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"For Bob\",\"body\":\"Hi Bob.\",\"date\":\"%s\"}", later);
	if (test_database_is_pg()) {
		/* PostgreSQL: every table's rows, counted and digested, before and after */
		before = test_database_fingerprint(ledger);
		assert_non_null(before);
		rep = dry_run_json();
		after = test_database_fingerprint(ledger);
		assert_non_null(after);
		assert_string_equal(after, before);
		wal_before = wal_after = NULL;
	} else {
		snprintf(wal, sizeof(wal), "%s-wal", ledger);
		snprintf(shm, sizeof(shm), "%s-shm", ledger);
		before = slurp(ledger, &len_before);
		wal_before = slurp(wal, &lw_before);
		shm_before = access(shm, F_OK);
		assert_non_null(before);
		rep = dry_run_json();
		after = slurp(ledger, &len_after);
		wal_after = slurp(wal, &lw_after);
		/* Not even an empty WAL or a shared-memory file where there was none. */
		assert_int_equal(wal_after == NULL, wal_before == NULL);
		assert_int_equal(access(shm, F_OK), shm_before);
		assert_non_null(after);
		assert_int_equal(len_after, len_before);
		assert_memory_equal(after, before, len_before);
		assert_int_equal(lw_after, lw_before);
		if (lw_before > 0)
			assert_memory_equal(wal_after, wal_before, lw_before);
	}
	assert_int_equal(e2e_record_count(world.sf.p.base_url, "Task"), tasks);
	assert_int_equal(e2e_record_count(world.sf.p.base_url, "Lead"), leads);

	assert_int_equal(count_kind(rep, "activity"), 2);
	assert_int_equal(count_kind(rep, "lead"), 1);
	assert_int_equal(count_kind(rep, "skip"), 0);
	/* erin, frank, then erin again: the cursor the real run left. */
	assert_string_equal(str(lead_of(rep, "wes@kent.example"), "owner"),
	    e2e_key_id(world.sf.keys, "erin"));
	assert_string_equal(str(line_of(rep, "For Bob"), "owner"),
	    e2e_key_id(world.sf.keys, "bob"));

	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "sync", "--once", NULL),
	    0);
	compare(rep, tasks, leads);
	json_decref(rep);
	free(before);
	free(after);
	free(wal_before);
	free(wal_after);
}

/* A chosen window of chosen mailboxes (message lists, not delta): mail the ledger already has is
 * not announced again, mail outside the window or of other mailboxes is not announced, and what
 * is announced is what the real pass then writes for it. */
static void
test_window(void **state)
{
	const char *const args[6] = { "--mailbox", "bob@contoso.com", "--mailbox",
	    "Alice@Contoso.com", "--days", "3" };
	json_t *rep;
	char since[40], *out = NULL;
	size_t tasks = e2e_record_count(world.sf.p.base_url, "Task");
	size_t leads = e2e_record_count(world.sf.p.base_url, "Lead");
	time_t t = time(NULL) - 3600;
	struct tm tm;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	send_mail("{\"from\":\"Dave Diaz <dave@northwind.com>\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Order\",\"body\":\"Ship it.\",\"date\":\"%s\"}", since);
	send_mail("{\"from\":\"Xia Moss <xia@moss.example>\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Question\",\"body\":\"Hi.\",\"date\":\"%s\"}", since);
	send_mail("{\"from\":\"Carol Chen <carol@fabrikam.com>\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Thanks\",\"body\":\"Got it.\",\"date\":\"%s\"}", since);
	rep = dry_run_args(args);
	assert_int_equal(count_kind(rep, "activity"), 3);
	assert_int_equal(count_kind(rep, "lead"), 1);
	assert_string_equal(str(lead_of(rep, "xia@moss.example"), "owner"),
	    e2e_key_id(world.sf.keys, "dana"));
	assert_string_equal(str(line_of(rep, "Thanks"), "what"), e2e_key_id(world.sf.keys, "opp"));
	/* Everything else of the last three days is in the ledger: read, not announced. */
	assert_true(json_integer_value(json_object_get(json_object_get(rep, "summary"), "seen")) >
	    3);
	assert_int_equal(e2e_record_count(world.sf.p.base_url, "Task"), tasks);
	/* A window of long ago: only the mail older than backfill_days, which no pass read. */
	json_decref(rep);
	{
		const char *const early[6] = { "--mailbox", "alice@contoso.com", "--since", old,
		    "--until", when };

		rep = dry_run_args(early);
		assert_int_equal(json_array_size(json_object_get(rep, "lines")), 1);
		assert_string_equal(str(line_of(rep, "Old"), "who"),
		    e2e_key_id(world.sf.keys, "carol"));
		json_decref(rep);
	}
	rep = dry_run_args(args);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "sync", "--once", NULL),
	    0);
	free(out);
	compare(rep, tasks, leads);
	json_decref(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_run),
		cmocka_unit_test(test_with_ledger),
		cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
