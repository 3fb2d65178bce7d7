/* test_engine.c: olsync end to end: graph-sim and sf-sim seeded with a small realistic world (two
 * reps, Contacts, an open Opportunity, a Lead, inbound, outbound, a thread to both reps, internal
 * mail, a newsletter, unknown senders), the real `olsync sync --once` run against them, and what
 * sf-sim holds afterwards checked field by field; a second pass changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "graph_fixture.h"
#include "isotime.h"
#include "normalize.h"
#include "sf_fixture.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "xmalloc.h"

#define GRAPH_APP	"6731de76-14a6-49ae-97bc-6eba6914391e"
#define GRAPH_SECRET	"graph-s3cret-for-test"
#define SF_APP		"olsync-test-ck"
#define OUT_MAX		(256 * 1024)

static char tmpdir[PATH_MAX];
static char conf_path[PATH_MAX + 32];
static struct sim_proc graph;
static struct sf_fixture sf;
static char day[16];		/* the mails' date, YYYY-MM-DD (UTC) */
static char when[40];		/* and time */
static char later[40];		/* an hour after when */

/* The mails of the world: internetMessageId as graph-sim answered, by name. */
static json_t *mids;

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *fp;

	unlink(path);
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
	if (chmod(path, mode) == -1)
		fail_msg("chmod %s", path);
	free(path);
}

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = xcalloc(1, OUT_MAX + 1);

	if (fp != NULL) {
		size_t n = fread(buf, 1, OUT_MAX, fp);

		buf[n] = '\0';
		fclose(fp);
	}
	return buf;
}

/* Runs the real olsync binary with args (NULL-terminated); its stdout and stderr in *out and
 * *errout (caller frees; either may be NULL). Returns the exit status. */
static int
run_olsync(char **out, char **errout, ...)
{
	char *argv[16], *opath, *epath;
	va_list ap;
	pid_t pid;
	int n = 0, status;

	argv[n++] = (char *)sim_proc_binary("olsync");
	va_start(ap, errout);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	opath = xasprintf("%s/stdout", tmpdir);
	epath = xasprintf("%s/stderr", tmpdir);
	if ((pid = fork()) == -1)
		fail_msg("fork");
	if (pid == 0) {
		int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fo == -1 || fe == -1)
			_exit(127);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		fail_msg("waitpid");
	{
		char *o = read_file(opath), *e = read_file(epath);

		/* The daemon's log, for whoever reads a failing test. */
		fprintf(stderr, "--- olsync %s: exit %d\n%s", argv[1],
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128, e);
		if (out != NULL)
			*out = o;
		else
			free(o);
		if (errout != NULL)
			*errout = e;
		else
			free(e);
	}
	free(opath);
	free(epath);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *
key_id(const char *key)
{
	const char *id = json_string_value(json_object_get(sf.keys, key));

	if (id == NULL)
		fail_msg("no seeded key %s", key);
	return id;
}

static void
send_mail(const char *name, const char *body)
{
	json_t *r = sim_http_ctl(graph.base_url, "POST", "/_sim/mail", body, 201);

	json_object_set(mids, name, json_object_get(r, "internetMessageId"));
	json_decref(r);
}

static int
setup(void **state)
{
	char *key, *cert, *certjson, *seed, *conf;
	json_t *cs, *seeded = NULL;
	time_t t = time(NULL) - 2 * 86400;
	struct tm tm;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_engine.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT10:00:00Z", &tm);
	strftime(later, sizeof(later), "%Y-%m-%dT11:00:00Z", &tm);

	/* Salesforce: the integration user with its connected app, two reps as Users with the
	 * reps' mail addresses, Contacts (Carol with an open Opportunity), a Lead. */
	testkeys_pem(0, &key, &cert);
	cs = json_string(cert);
	certjson = json_dumps(cs, JSON_ENCODE_ANY);
	json_decref(cs);
	seed = xasprintf("{\"User\":["
	    "{\"_key\":\"integ\",\"Username\":\"olsync@contoso.com\",\"Email\":\"olsync@contoso.com\","
	    "\"LastName\":\"Integration\",\"Alias\":\"olsync\"},"
	    "{\"_key\":\"alice\",\"Username\":\"alice@contoso.com\",\"Email\":\"alice@contoso.com\","
	    "\"FirstName\":\"Alice\",\"LastName\":\"Adams\",\"Alias\":\"aadams\"},"
	    "{\"_key\":\"bob\",\"Username\":\"bob@contoso.com\",\"Email\":\"bob@contoso.com\","
	    "\"FirstName\":\"Bob\",\"LastName\":\"Brown\",\"Alias\":\"bbrown\"}],"
	    "\"ConnectedApp\":[{\"consumerKey\":\"" SF_APP "\",\"certificate\":%s}],"
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"},"
	    "{\"_key\":\"nw\",\"Name\":\"Northwind\"}],"
	    "\"Contact\":["
	    "{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"dave\",\"FirstName\":\"Dave\",\"LastName\":\"Diaz\","
	    "\"Email\":\"dave@northwind.com\",\"AccountId\":\"@nw\"}],"
	    "\"Opportunity\":[{\"_key\":\"opp\",\"Name\":\"Fabrikam renewal\","
	    "\"StageName\":\"Prospecting\",\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@fab\"}],"
	    "\"OpportunityContactRole\":[{\"OpportunityId\":\"@opp\",\"ContactId\":\"@carol\"}],"
	    "\"Lead\":[{\"_key\":\"lena\",\"FirstName\":\"Lena\",\"LastName\":\"Lund\","
	    "\"Company\":\"Tailspin\",\"Email\":\"lena@tailspin.com\"}]}", certjson);
	free(certjson);
	free(cert);
	if (sf_fixture_start(&sf, NULL, seed) == -1) {
		free(seed);
		free(key);
		return -1;
	}
	free(seed);

	if (graph_fixture_start(&graph, NULL,
	    "{\"tenant\":{\"domain\":\"contoso.com\"},"
	    "\"apps\":[{\"clientId\":\"" GRAPH_APP "\",\"secret\":\"" GRAPH_SECRET "\","
	    "\"roles\":[\"Mail.Read\",\"User.Read.All\",\"Calendars.Read\"]}],"
	    "\"users\":[{\"userPrincipalName\":\"alice@contoso.com\",\"displayName\":\"Alice Adams\"},"
	    "{\"userPrincipalName\":\"bob@contoso.com\",\"displayName\":\"Bob Brown\"}]}",
	    &seeded) == -1) {
		sf_fixture_stop(&sf);
		free(key);
		return -1;
	}
	json_decref(seeded);

	write_file("sf-key.pem", key, 0600);
	free(key);
	setenv("OLSYNC_TEST_GRAPH_SECRET", GRAPH_SECRET, 1);
	conf = xasprintf(
	    "# olsync against the emulators\n"
	    "graph_tenant contoso.com\n"
	    "graph_client_id " GRAPH_APP "\n"
	    "graph_client_secret env:OLSYNC_TEST_GRAPH_SECRET\n"
	    "graph_base_url %s/v1.0\n"
	    "graph_login_url %s\n"
	    "sf_login_url %s\n"
	    "sf_auth jwt\n"
	    "sf_client_id " SF_APP "\n"
	    "sf_username olsync@contoso.com\n"
	    "sf_private_key_file sf-key.pem\n"
	    "mailboxes alice@contoso.com, bob@contoso.com\n"
	    "internal_domains contoso.com\n"
	    "backfill_days 30\n"
	    "create_leads yes\n"
	    "activity_timezone UTC\n"
	    "database ledger.db\n"
	    "log_level info\n"
	    "http_timeout 10s\n",
	    graph.base_url, graph.base_url, sf.p.base_url);
	write_file("olsync.conf", conf, 0644);
	free(conf);
	snprintf(conf_path, sizeof(conf_path), "%s/olsync.conf", tmpdir);

	mids = json_object();
	return 0;
}

static int
teardown(void **state)
{
	int rc = 0;
	char *cmd;

	(void)state;
	json_decref(mids);
	if (graph_fixture_stop(&graph) == -1)
		rc = -1;
	if (sf_fixture_stop(&sf) == -1)
		rc = -1;
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = -1;
	free(cmd);
	return rc;
}

/* The world's mail, one POST /_sim/mail each. */
static void
deliver(void)
{
	char *b;

#define MAIL(name, fmt) MAIL_AT(name, fmt, when)
#define MAIL_AT(name, fmt, at) do { \
	b = xasprintf(fmt, at); \
	send_mail(name, b); \
	free(b); \
} while (0)
	MAIL("inbound", "{\"from\":\"Carol Chen <carol@fabrikam.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Renewal quote\","
	    "\"body\":\"Could you send the renewal quote?\",\"date\":\"%s\"}");
	MAIL("outbound", "{\"from\":\"Alice Adams <alice@contoso.com>\","
	    "\"to\":[\"Dave Diaz <dave@northwind.com>\"],\"cc\":[\"lena@tailspin.com\"],"
	    "\"subject\":\"Intro\",\"body\":\"Nice to meet you both.\",\"date\":\"%s\"}");
	MAIL("thread", "{\"from\":\"Carol Chen <carol@fabrikam.com>\","
	    "\"to\":[\"alice@contoso.com\",\"bob@contoso.com\"],\"subject\":\"Next steps\","
	    "\"body\":\"Meeting both of you on Friday.\",\"date\":\"%s\"}");
	MAIL("internal", "{\"from\":\"alice@contoso.com\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Lunch?\",\"body\":\"Noon?\",\"date\":\"%s\"}");
	MAIL("newsletter", "{\"from\":\"Weekly News <news@newsletters.example>\","
	    "\"to\":[\"bob@contoso.com\"],\"subject\":\"This week\",\"body\":\"Top stories\","
	    "\"headers\":{\"List-Unsubscribe\":\"<mailto:unsub@newsletters.example>\"},"
	    "\"date\":\"%s\"}");
	MAIL("unknown", "{\"from\":\"Pat Quinn <pat@globex-corp.com>\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Pricing question\",\"body\":\"What does the pro plan cost?\","
	    "\"date\":\"%s\"}");
	/* Delivered first but written later: the earlier one makes the Lead. */
	MAIL_AT("burst2", "{\"from\":\"Sam Stone <sam.stone@gmail.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Hello again\","
	    "\"body\":\"Second note.\",\"date\":\"%s\"}", later);
	MAIL("burst1", "{\"from\":\"Sam Stone <sam.stone@gmail.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Hello\",\"body\":\"First note.\","
	    "\"date\":\"%s\"}");
#undef MAIL_AT
#undef MAIL
}

static json_t *
records(const char *sobject)
{
	char *path = xasprintf("/_sim/records/%s", sobject);
	json_t *r = sim_http_ctl(sf.p.base_url, "GET", path, NULL, 200);
	json_t *recs = json_incref(json_object_get(r, "records"));

	free(path);
	json_decref(r);
	return recs;
}

static json_t *
find_by(json_t *recs, const char *field, const char *value)
{
	json_t *r, *found = NULL;
	size_t i;
	int n = 0;

	json_array_foreach(recs, i, r) {
		const char *v = json_string_value(json_object_get(r, field));

		if (v != NULL && strcmp(v, value) == 0) {
			found = r;
			n++;
		}
	}
	if (n != 1)
		fail_msg("%d records with %s = %s, want 1", n, field, value);
	return found;
}

static const char *
field(json_t *rec, const char *name)
{
	const char *v = json_string_value(json_object_get(rec, name));

	return v != NULL ? v : "(null)";
}

static void
digest_of(const char *name, char out[NORMALIZE_DIGEST_LEN + 1])
{
	char err[128], *key;

	key = normalize_message_id(json_string_value(json_object_get(mids, name)), err,
	    sizeof(err));
	assert_non_null(key);
	normalize_digest(key, out);
	free(key);
}

struct want_task {
	const char *mail;	/* the mails' name in mids */
	const char *subject;
	const char *who;	/* seeded key, or "lead:<email>" for a Lead olsync made */
	const char *what;	/* seeded key or NULL */
	const char *owner;	/* seeded key */
	const char *description;
};

static const struct want_task want_tasks[] = {
	{ "inbound", "Email: Renewal quote", "carol", "opp", "alice",
	  "Could you send the renewal quote?" },
	{ "outbound", "Email: Intro", "dave", NULL, "alice", "Nice to meet you both." },
	/* One internetMessageId in two mailboxes: one Task, on the first mailbox's rep. */
	{ "thread", "Email: Next steps", "carol", "opp", "alice",
	  "Meeting both of you on Friday." },
	{ "unknown", "Email: Pricing question", "lead:pat@globex-corp.com", NULL, "bob",
	  "What does the pro plan cost?" },
	{ "burst1", "Email: Hello", "lead:sam.stone@gmail.com", NULL, "alice", "First note." },
	{ "burst2", "Email: Hello again", "lead:sam.stone@gmail.com", NULL, "alice",
	  "Second note." },
};

struct want_lead {
	const char *email;
	const char *first, *last, *company, *owner, *description;
};

static const struct want_lead want_leads[] = {
	{ "pat@globex-corp.com", "Pat", "Quinn", "Globex Corp", "bob",
	  "Pricing question: What does the pro plan cost?" },
	/* Two mails, one Lead; free mail gets the placeholder Company. */
	{ "sam.stone@gmail.com", "Sam", "Stone", "[not provided]", "alice",
	  "Hello: First note." },
};

/* Task and Lead ids and LastModifiedDate, to compare two passes. */
static char *
snapshot(void)
{
	json_t *tasks = records("Task"), *leads = records("Lead"), *r;
	char *s = xstrdup(""), *t;
	size_t i;

	json_array_foreach(tasks, i, r) {
		t = xasprintf("%sT %s %s\n", s, field(r, "Id"), field(r, "LastModifiedDate"));
		free(s);
		s = t;
	}
	json_array_foreach(leads, i, r) {
		t = xasprintf("%sL %s %s\n", s, field(r, "Id"), field(r, "LastModifiedDate"));
		free(s);
		s = t;
	}
	json_decref(tasks);
	json_decref(leads);
	return s;
}

static void
test_sync_once(void **state)
{
	json_t *tasks, *leads, *rec;
	char digest[NORMALIZE_DIGEST_LEN + 1], *out = NULL, *before, *after, *show;
	size_t i;

	(void)state;
	deliver();
	assert_int_equal(run_olsync(NULL, NULL, "-c", conf_path, "sync", "--once", NULL), 0);

	leads = records("Lead");
	/* The seeded Lena, and one Lead per unknown, non-automated sender. */
	assert_int_equal(json_array_size(leads), 1 + sizeof(want_leads) / sizeof(want_leads[0]));
	for (i = 0; i < sizeof(want_leads) / sizeof(want_leads[0]); i++) {
		const struct want_lead *w = &want_leads[i];

		rec = find_by(leads, "Email", w->email);
		assert_string_equal(field(rec, "FirstName"), w->first);
		assert_string_equal(field(rec, "LastName"), w->last);
		assert_string_equal(field(rec, "Company"), w->company);
		assert_string_equal(field(rec, "LeadSource"), "Email");
		assert_string_equal(field(rec, "OwnerId"), key_id(w->owner));
		assert_string_equal(field(rec, "Description"), w->description);
	}
	/* The newsletter's sender is automated: no Lead. */
	json_array_foreach(leads, i, rec)
		assert_string_not_equal(field(rec, "Email"), "news@newsletters.example");

	tasks = records("Task");
	assert_int_equal(json_array_size(tasks), sizeof(want_tasks) / sizeof(want_tasks[0]));
	for (i = 0; i < sizeof(want_tasks) / sizeof(want_tasks[0]); i++) {
		const struct want_task *w = &want_tasks[i];
		const char *who;

		digest_of(w->mail, digest);
		rec = find_by(tasks, "OutlookMessageId__c", digest);
		assert_string_equal(field(rec, "Subject"), w->subject);
		if (strncmp(w->who, "lead:", 5) == 0)
			who = field(find_by(leads, "Email", w->who + 5), "Id");
		else
			who = key_id(w->who);
		assert_string_equal(field(rec, "WhoId"), who);
		assert_string_equal(field(rec, "WhatId"), w->what ? key_id(w->what) : "(null)");
		assert_string_equal(field(rec, "OwnerId"), key_id(w->owner));
		assert_string_equal(field(rec, "Status"), "Completed");
		assert_string_equal(field(rec, "Priority"), "Normal");
		assert_string_equal(field(rec, "TaskSubtype"), "Email");
		assert_string_equal(field(rec, "Type"), "Email");
		assert_string_equal(field(rec, "ActivityDate"), day);
		assert_string_equal(field(rec, "Description"), w->description);
	}
	json_decref(tasks);
	json_decref(leads);

	/* A second pass: nothing new in Graph, nothing written. */
	before = snapshot();
	assert_int_equal(run_olsync(NULL, NULL, "-c", conf_path, "sync", "--once", NULL), 0);
	after = snapshot();
	assert_string_equal(after, before);
	free(before);
	free(after);

	/* The ledger: 6 logged, internal and newsletter skipped, nothing open. */
	assert_int_equal(run_olsync(&out, NULL, "-c", conf_path, "status", NULL), 0);
	assert_non_null(strstr(out, "logged    6\n"));
	assert_non_null(strstr(out, "skipped   2\n"));
	assert_non_null(strstr(out, "pending   0\n"));
	assert_non_null(strstr(out, "failed    0\n"));
	assert_non_null(strstr(out, "dead      0\n"));
	free(out);

	/* The thread: one entry, two sightings, and why the internal mail was not logged. */
	assert_int_equal(run_olsync(&show, NULL, "-c", conf_path, "show",
	    json_string_value(json_object_get(mids, "thread")), NULL), 0);
	assert_non_null(strstr(show, "state            logged\n"));
	assert_non_null(strstr(show, "mailbox=alice@contoso.com folder=inbox"));
	assert_non_null(strstr(show, "mailbox=bob@contoso.com folder=inbox"));
	free(show);
	assert_int_equal(run_olsync(&show, NULL, "-c", conf_path, "show",
	    json_string_value(json_object_get(mids, "internal")), NULL), 0);
	assert_non_null(strstr(show, "state            skipped\n"));
	assert_non_null(strstr(show, "reason           internal_only"));
	free(show);
	assert_int_equal(run_olsync(NULL, NULL, "-c", conf_path, "show", "<nope@nowhere.example>",
	    NULL), 1);
}

static long long
status_count(const char *out, const char *state)
{
	const char *p = strstr(out, state);

	if (p == NULL)
		fail_msg("no %s in status output", state);
	return strtoll(p + strlen(state), NULL, 10);
}

/* After the first pass: every delta token expires (410) while a new email arrives, and
 * Salesforce refuses the next write with a final error. Nothing is duplicated, the email is
 * dead with the reason, and `olsync retry` brings it back to be logged once. */
static void
test_recovery(void **state)
{
	char *out = NULL, *err = NULL, *b, digest[NORMALIZE_DIGEST_LEN + 1];
	json_t *tasks;

	(void)state;
	json_decref(sim_http_ctl(graph.base_url, "POST", "/_sim/delta/expire", NULL, 200));
	b = xasprintf("{\"from\":\"Carol Chen <carol@fabrikam.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Re: Renewal quote\","
	    "\"body\":\"Signed copy attached.\",\"date\":\"%s\"}", later);
	send_mail("followup", b);
	free(b);
	json_decref(sim_http_ctl(sf.p.base_url, "POST", "/_sim/faults",
	    "{\"path\":\"/services/data/v62.0/composite/sobjects\",\"status\":400,"
	    "\"errorCode\":\"INVALID_FIELD\",\"message\":\"No such column on Task\"}", 200));

	assert_int_equal(run_olsync(NULL, &err, "-c", conf_path, "sync", "--once", NULL), 0);
	/* Every folder read again from the window: 10 old copies again, 1 new message. */
	assert_non_null(strstr(err, "restarts=4 "));
	assert_non_null(strstr(err, "new=1 copies=0 again=10 "));
	free(err);
	tasks = records("Task");
	assert_int_equal(json_array_size(tasks), 6);
	json_decref(tasks);

	assert_int_equal(run_olsync(&out, NULL, "-c", conf_path, "status", NULL), 0);
	assert_int_equal(status_count(out, "logged "), 6);
	assert_int_equal(status_count(out, "dead "), 1);
	free(out);
	digest_of("followup", digest);
	assert_int_equal(run_olsync(&out, NULL, "-c", conf_path, "dead", NULL), 0);
	assert_non_null(strstr(out, digest));
	assert_non_null(strstr(out, "INVALID_FIELD"));
	assert_non_null(strstr(out, "1 dead\n"));
	free(out);

	assert_int_equal(run_olsync(&out, NULL, "-c", conf_path, "retry", digest, NULL), 0);
	assert_string_equal(out, "1 revived\n");
	free(out);
	assert_int_equal(run_olsync(NULL, NULL, "-c", conf_path, "sync", "--once", NULL), 0);
	tasks = records("Task");
	assert_int_equal(json_array_size(tasks), 7);
	assert_string_equal(field(find_by(tasks, "OutlookMessageId__c", digest), "Subject"),
	    "Email: Re: Renewal quote");
	json_decref(tasks);
	assert_int_equal(run_olsync(&out, NULL, "-c", conf_path, "status", NULL), 0);
	assert_int_equal(status_count(out, "logged "), 7);
	assert_int_equal(status_count(out, "dead "), 0);
	free(out);
}

/* `olsync run` passes until SIGTERM, then exits 0 having logged what arrived. */
static void
test_run_until_sigterm(void **state)
{
	char *argv[] = { (char *)sim_proc_binary("olsync"), "-c", conf_path, "run", NULL };
	char *b, *out = NULL;
	pid_t pid;
	int status, i;

	(void)state;
	b = xasprintf("{\"from\":\"Dave Diaz <dave@northwind.com>\","
	    "\"to\":[\"bob@contoso.com\"],\"subject\":\"Order\","
	    "\"body\":\"Please ship it.\",\"date\":\"%s\"}", later);
	send_mail("order", b);
	free(b);
	if ((pid = fork()) == -1)
		fail_msg("fork");
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	/* Wait for the pass to log it (the interval is 15 minutes: one pass only). */
	for (i = 0; i < 100; i++) {
		json_t *tasks = records("Task");
		size_t n = json_array_size(tasks);

		json_decref(tasks);
		if (n == 8)
			break;
		usleep(100 * 1000);
	}
	assert_int_not_equal(i, 100);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(run_olsync(&out, NULL, "-c", conf_path, "status", NULL), 0);
	assert_int_equal(status_count(out, "logged "), 8);
	free(out);
}

/* The retry delay: doubling from ENGINE_BACKOFF_BASE, capped, jittered into [d/2, d]. */
static void
test_backoff(void **state)
{
	static const struct {
		int attempts;
		long lo, hi;
	} cases[] = {
		{ 0, ENGINE_BACKOFF_BASE / 2, ENGINE_BACKOFF_BASE },
		{ 1, ENGINE_BACKOFF_BASE / 2, ENGINE_BACKOFF_BASE },
		{ 2, ENGINE_BACKOFF_BASE, 2 * ENGINE_BACKOFF_BASE },
		{ 5, 8 * ENGINE_BACKOFF_BASE, 16 * ENGINE_BACKOFF_BASE },
		{ 30, ENGINE_BACKOFF_MAX / 2, ENGINE_BACKOFF_MAX },
		{ 1000, ENGINE_BACKOFF_MAX / 2, ENGINE_BACKOFF_MAX },
	};
	long seen_lo = ENGINE_BACKOFF_MAX, seen_hi = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int k = 0; k < 200; k++) {
			long d = engine_backoff(cases[i].attempts);

			assert_in_range(d, cases[i].lo, cases[i].hi);
			if (cases[i].attempts == 30) {
				seen_lo = d < seen_lo ? d : seen_lo;
				seen_hi = d > seen_hi ? d : seen_hi;
			}
		}
	}
	/* Jitter: 200 draws are not all the same. */
	assert_true(seen_hi > seen_lo);
}

static void
test_check_config(void **state)
{
	char *out = NULL, *err = NULL, *bad;

	(void)state;
	assert_int_equal(run_olsync(&out, NULL, "-c", conf_path, "check-config", NULL), 0);
	assert_string_equal(out, "configuration OK\n");
	free(out);
	assert_int_equal(run_olsync(&out, NULL, "-n", "-c", conf_path, NULL), 0);
	assert_string_equal(out, "configuration OK\n");
	free(out);

	write_file("bad.conf", "graph_tenant contoso.com\n"
	    "backfill_days many\n"
	    "no_such_option 1\n", 0644);
	bad = xasprintf("%s/bad.conf", tmpdir);
	assert_int_not_equal(run_olsync(&out, &err, "-c", bad, "check-config", NULL), 0);
	assert_null(strstr(out, "configuration OK"));
	/* Every error at once, each as file:line. */
	assert_non_null(strstr(err, "bad.conf:2: "));
	assert_non_null(strstr(err, "bad.conf:3: "));
	free(out);
	free(err);
	assert_int_equal(run_olsync(NULL, NULL, "-c", bad, "frobnicate", NULL), 2);
	free(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_sync_once),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_run_until_sigterm),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
