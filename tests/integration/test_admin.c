/* test_admin.c: the admin endpoint of `olsync run` (admin_listen) against graph-sim and sf-sim:
 * /healthz, /readyz before and after the subscriptions exist and with the ledger unusable,
 * /metrics parsed as Prometheus text with its numbers checked against `olsync status`, the
 * ledger and sf-sim's count of API calls, the dashboard's JSON (messages, dead letters) against
 * the ledger and sf-sim, the retry of a dead letter (refused without the same-origin header),
 * and, after a reload onto 0.0.0.0 with admin_token and log_format json, the token checked and
 * never logged, and the log in JSON lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "admin.h"
#include "e2e.h"
#include "ledger.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define ALICE		"alice@contoso.com"
#define BOB		"bob@contoso.com"
#define SF_DATA		"/services/data/v62.0/"
#define WAIT_MS		20000

static struct e2e_world world;
static struct e2e_daemon daemon_proc;
static int port, admin_port_no;
static char admin[64];		/* http://127.0.0.1:admin_port_no */
static char token[64];		/* admin_token after the reload */
static const char *use_token;	/* what admin_get sends: NULL, then token */
static char day_time[40];
static int mail_seq;
static int logged_before_dead;

static void
write_config(const char *admin_lines)
{
	char *lines = xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "reconcile_interval 1h\nretry_base 1s\nhttp_timeout 60s\nlog_level info\n%s", port,
	    port, admin_lines);

	free(world.conf);
	world.conf = e2e_config_write(world.dir, world.graph.base_url, world.sf.p.base_url,
	    ALICE ", " BOB, lines);
	free(lines);
}

/* The first configuration: the admin endpoint on loopback, no token. */
static void
write_loopback_config(void)
{
	char *lines = xasprintf("admin_listen %d\n", admin_port_no);

	write_config(lines);
	free(lines);
}

static int
setup(void **state)
{
	time_t t = time(NULL) - 3600;
	struct tm tm;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(day_time, sizeof(day_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (e2e_world_start(&world, "test_admin", E2E_SF_REPS, E2E_SF_CAROL, E2E_GRAPH_REPS,
	    ALICE ", " BOB, NULL) == -1)
		return -1;
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false,\"retry_scale\":0.001}", 200));
	port = e2e_free_port();
	admin_port_no = e2e_free_port();
	snprintf(admin, sizeof(admin), "http://127.0.0.1:%d", admin_port_no);
	write_loopback_config();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_teardown(&world, &daemon_proc);
}

static void
admin_get(struct sim_http *h, const char *path)
{
	sim_http_do(h, admin, "GET", path, NULL, use_token, NULL);
}

static const char *
body_of(const struct sim_http *h)
{
	return h->resp.body != NULL ? h->resp.body : "";
}

/* One mail from Carol (a Contact) to Alice; its internetMessageId (caller frees). */
static char *
mail(void)
{
	char subject[64];

	snprintf(subject, sizeof(subject), "Admin test %d", mail_seq++);
	return e2e_mail_from_carol(world.graph.base_url, ALICE, subject, day_time);
}

/* --- Prometheus text ---------------------------------------------------------------- */

/* The end of a label set starting at p ('{'), or NULL when it is not name="value",... */
static const char *
labels_end(const char *p)
{
	p++;
	while (*p != '}') {
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return NULL;
		while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			p++;
		if (p[0] != '=' || p[1] != '"')
			return NULL;
		for (p += 2; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return NULL;
			if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
				p++;
			else if (*p == '\\')
				return NULL;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

/* Fails the test unless text is the Prometheus text format: each sample NAME[{LABELS}] VALUE
 * of a family whose TYPE came before (a histogram's _bucket, _sum and _count included), the
 * value a number. Returns the number of samples. */
static size_t
prom_check(const char *text)
{
	json_t *types = json_object();
	const char *line = text;
	size_t samples = 0;

	while (*line != '\0') {
		const char *nl = strchr(line, '\n'), *p = line, *end;
		char name[128], fam[128], *num_end;
		size_t n;

		if (nl == NULL)
			fail_msg("metrics: last line without a newline");
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char t[32];

			if (sscanf(line + 7, "%127s %31s", name, t) != 2)
				fail_msg("metrics: bad TYPE line %.*s", (int)(nl - line), line);
			if (strcmp(t, "counter") != 0 && strcmp(t, "gauge") != 0 &&
			    strcmp(t, "histogram") != 0)
				fail_msg("metrics: type %s", t);
			json_object_set_new(types, name, json_string(t));
		} else if (line[0] != '#') {
			while (*p == '_' || *p == ':' || (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
				p++;
			n = (size_t)(p - line);
			if (n == 0 || n >= sizeof(name))
				fail_msg("metrics: bad sample %.*s", (int)(nl - line), line);
			memcpy(name, line, n);
			name[n] = '\0';
			snprintf(fam, sizeof(fam), "%s", name);
			if (json_object_get(types, fam) == NULL) {
				char *us = strrchr(fam, '_');

				if (us != NULL && (strcmp(us, "_bucket") == 0 ||
				    strcmp(us, "_sum") == 0 || strcmp(us, "_count") == 0))
					*us = '\0';
				if (strcmp(json_string_value(json_object_get(types, fam)) ?
				    json_string_value(json_object_get(types, fam)) : "",
				    "histogram") != 0)
					fail_msg("metrics: %s has no TYPE before it", name);
			}
			if (*p == '{' && (p = labels_end(p)) == NULL)
				fail_msg("metrics: bad labels in %.*s", (int)(nl - line), line);
			if (*p != ' ')
				fail_msg("metrics: no value in %.*s", (int)(nl - line), line);
			end = p + 1;
			(void)strtod(end, &num_end);
			if (num_end == end || num_end != nl)
				fail_msg("metrics: bad value in %.*s", (int)(nl - line), line);
			samples++;
		}
		line = nl + 1;
	}
	json_decref(types);
	return samples;
}

/* The value of the sample series (name with its labels, exactly as written), or NULL. */
static const char *
prom_find(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return p + n + 1;
	return NULL;
}

static double
prom_value(const char *text, const char *series)
{
	const char *v = prom_find(text, series);

	if (v == NULL)
		fail_msg("metrics: no %s", series);
	return strtod(v, NULL);
}

static int
prom_has(const char *text, const char *series)
{
	return prom_find(text, series) != NULL;
}

/* GET /metrics, checked as Prometheus text; caller frees. */
static char *
metrics(void)
{
	struct sim_http h;
	char *text;

	admin_get(&h, "/metrics");
	sim_http_expect(&h, 200, "GET /metrics");
	assert_non_null(strstr(sim_http_header(&h, "Content-Type"), "text/plain; version=0.0.4"));
	text = xstrdup(body_of(&h));
	sim_http_free(&h);
	assert_true(prom_check(text) > 20);
	return text;
}

/* olsync's Salesforce calls as /metrics says, read twice around sf-sim's count so that a
 * call in flight cannot make them differ; fails unless they settle within the wait. */
static void
check_api_calls(long faults_taken)
{
	long t0 = mono_ms();

	for (;;) {
		char *a = metrics(), *b;
		double before = prom_value(a, "olsync_api_calls_total{service=\"salesforce\"}");
		long sim = e2e_sf_api_calls(world.sf.p.base_url);
		double after;

		b = metrics();
		after = prom_value(b, "olsync_api_calls_total{service=\"salesforce\"}");
		free(a);
		free(b);
		if (before == after) {
			/* A faulted request is answered before sf-sim counts it. */
			assert_int_equal((long)after, sim + faults_taken);
			return;
		}
		if (mono_ms() - t0 > mono_scaled(WAIT_MS))
			fail_msg("the API call count never settled");
		mono_sleep(200);
	}
}

/* --- tests -------------------------------------------------------------------------- */

static void
test_open_admin_refused(void **state)
{
	char *err = NULL, *conf = xasprintf("%s/open.conf", world.dir);
	char *lines = xasprintf("admin_listen 0.0.0.0:%d\n", admin_port_no);
	char *path = e2e_config_write(world.dir, world.graph.base_url, world.sf.p.base_url, ALICE,
	    lines);

	(void)state;
	assert_int_equal(rename(path, conf), 0);
	assert_int_not_equal(e2e_run(world.dir, NULL, &err, "-c", conf, "check-config", NULL), 0);
	assert_non_null(strstr(err, "not a loopback address"));
	free(err);
	free(path);
	free(lines);
	free(conf);
	write_loopback_config();	/* e2e_config_write wrote over it */
}

/* Loopback without a token: healthz at once, readyz 503 until the subscriptions exist. */
static void
test_ready_after_subscriptions(void **state)
{
	struct sim_http h;
	char *fault;
	long t0;
	int was_unready = 0;

	(void)state;
	/* The first subscription takes 3 s to make: readyz must say why it is not ready. */
	fault = xasprintf("{\"method\":\"POST\",\"path\":\"/v1.0/subscriptions\","
	    "\"delay_ms\":%ld}", mono_scaled(3000));
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/faults", fault, 200));
	free(fault);
	e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
	admin_get(&h, "/healthz");
	sim_http_expect(&h, 200, "healthz");
	assert_string_equal(body_of(&h), "ok\n");
	sim_http_free(&h);
	t0 = mono_ms();
	for (;;) {
		admin_get(&h, "/readyz");
		if (h.status == 200) {
			sim_http_free(&h);
			break;
		}
		assert_int_equal(h.status, 503);
		assert_non_null(strstr(body_of(&h), "not ready: no Graph subscription yet"));
		was_unready = 1;
		sim_http_free(&h);
		if (mono_ms() - t0 > mono_scaled(WAIT_MS))
			fail_msg("readyz never became ready");
		mono_sleep(100);
	}
	assert_true(was_unready);
	/* Ready at the first subscription; the mail of the next tests must find all six (two
	 * mailboxes: inbox, sentitems, events), so that it is notified. */
	for (t0 = mono_ms();; mono_sleep(200)) {
		char *m = metrics();
		double n = prom_value(m, "olsync_subscriptions");

		free(m);
		if (n == 6)
			break;
		if (mono_ms() - t0 > mono_scaled(WAIT_MS))
			fail_msg("%g subscriptions, not 6", n);
	}
}

static void
test_metrics_match_ledger(void **state)
{
	struct ledger *l;
	struct ledger_sub *subs = NULL;
	size_t nsubs = 0;
	char err[256], *db = xstrdup(world.database), *m, *out;
	static const char *const states[] = { "pending", "skipped", "logged", "failed", "dead" };
	double lat_count, logged;

	(void)state;
	for (int i = 0; i < 3; i++)
		free(mail());
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", 3, mono_scaled(WAIT_MS)),
	    3);
	e2e_wait_status(&world, "logged", 3, WAIT_MS);
	check_api_calls(0);

	m = metrics();
	out = e2e_status(&world);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		char series[64];

		snprintf(series, sizeof(series), "olsync_emails{state=\"%s\"}", states[i]);
		assert_int_equal((long long)prom_value(m, series), e2e_status_count(out, states[i]));
	}
	assert_int_equal((long long)prom_value(m, "olsync_queue_depth"),
	    e2e_status_count(out, "pending") + e2e_status_count(out, "failed"));
	free(out);
	logged = prom_value(m, "olsync_emails{state=\"logged\"}");
	assert_true(logged == 3);
	/* Each of the three was notified and read after its notification. */
	lat_count = prom_value(m, "olsync_notification_latency_seconds_count");
	assert_true(lat_count >= 1 && lat_count <= logged);
	assert_true(prom_value(m, "olsync_notification_latency_seconds_bucket{le=\"+Inf\"}") ==
	    lat_count);
	assert_true(prom_value(m, "olsync_notification_latency_seconds_sum") > 0);
	assert_true(prom_value(m, "olsync_notifications_total") >= 1);
	assert_true(prom_value(m, "olsync_last_pass_ok") == 1);

	/* The subscriptions, as the ledger holds them. */
	if (ledger_open(db, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	assert_int_equal(ledger_sub_list(l, &subs, &nsubs), 0);
	assert_true(nsubs == 6);	/* two mailboxes: inbox, sentitems, events */
	assert_true(prom_value(m, "olsync_subscriptions") == (double)nsubs);
	for (size_t i = 0; i < nsubs; i++) {
		char *series = xasprintf("olsync_subscription_expiry_seconds{mailbox=\"%s\","
		    "kind=\"%s\"}", subs[i].mailbox, subs[i].kind);
		double left = prom_value(m, series);

		assert_true(fabs(left - (double)(subs[i].expires_at - time(NULL))) <= 5);
		free(series);
	}
	assert_true(prom_value(m, "olsync_subscription_next_expiry_seconds") > 0);
	ledger_subs_free(subs, nsubs);
	ledger_close(l);
	assert_true(prom_has(m, "olsync_errors_total{service=\"salesforce\",class=\"final\"}"));
	assert_true(prom_has(m, "olsync_sf_budget_used"));
	logged_before_dead = 3;
	free(m);
	free(db);
}

static void
test_dead_letter_and_retry(void **state)
{
	struct sim_http h;
	const char *csrf[] = { ADMIN_CSRF_HEADER ": 1", NULL };
	char ext[128], *body, *m;
	json_t *dead, *msgs, *tasks, *row;
	int count;
	size_t i, seen_logged = 0;
	long t0;

	(void)state;
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/faults",
	    "{\"path\":\"" SF_DATA "composite/sobjects\",\"status\":400,"
	    "\"errorCode\":\"INVALID_FIELD\",\"message\":\"No such column on Task\"}", 200));
	free(mail());
	t0 = mono_ms();
	do {
		mono_sleep(200);
		count = e2e_dead_newest(&world, ext, sizeof(ext));
		if (mono_ms() - t0 > mono_scaled(WAIT_MS))
			fail_msg("no dead letter");
	} while (count == 0);
	assert_int_equal(count, 1);

	/* /api/dead shows the ledger's one dead letter. */
	admin_get(&h, "/api/dead");
	sim_http_expect(&h, 200, "GET /api/dead");
	dead = json_object_get(h.json, "dead");
	assert_int_equal(json_array_size(dead), 1);
	assert_string_equal(e2e_field(json_array_get(dead, 0), "ext_id"), ext);
	assert_non_null(strstr(e2e_field(json_array_get(dead, 0), "reason"), "INVALID_FIELD"));
	sim_http_free(&h);

	m = metrics();
	assert_true(prom_value(m, "olsync_emails{state=\"dead\"}") == 1);
	assert_true(prom_value(m,
	    "olsync_errors_total{service=\"salesforce\",class=\"final\"}") >= 1);
	free(m);
	check_api_calls(1);

	/* /api/messages: the dead one newest, each logged one with the Task sf-sim holds. */
	admin_get(&h, "/api/messages?limit=10");
	sim_http_expect(&h, 200, "GET /api/messages");
	msgs = json_object_get(h.json, "messages");
	assert_int_equal(json_array_size(msgs), logged_before_dead + 1);
	assert_string_equal(e2e_field(json_array_get(msgs, 0), "ext_id"), ext);
	assert_string_equal(e2e_field(json_array_get(msgs, 0), "state"), "dead");
	tasks = e2e_records(world.sf.p.base_url, "Task");
	json_array_foreach(msgs, i, row) {
		json_t *task;

		if (strcmp(e2e_field(row, "state"), "logged") != 0)
			continue;
		task = e2e_find(tasks, "OutlookMessageId__c", e2e_field(row, "ext_id"));
		assert_string_equal(e2e_field(row, "task_id"), e2e_field(task, "Id"));
		assert_string_equal(e2e_field(row, "who_id"), e2e_field(task, "WhoId"));
		seen_logged++;
	}
	assert_int_equal(seen_logged, logged_before_dead);
	json_decref(tasks);
	sim_http_free(&h);
	admin_get(&h, "/api/messages?limit=0");
	assert_int_equal(h.status, 400);
	sim_http_free(&h);

	/* A retry without the same-origin header is refused and changes nothing. */
	body = xasprintf("{\"key\":\"%s\"}", ext);
	sim_http_do(&h, admin, "POST", "/api/dead/retry", body, use_token, NULL);
	assert_int_equal(h.status, 403);
	sim_http_free(&h);
	sim_http_do(&h, admin, "GET", "/api/dead/retry", NULL, use_token, csrf);
	assert_int_equal(h.status, 405);
	sim_http_free(&h);
	count = e2e_dead_newest(&world, ext, sizeof(ext));
	assert_int_equal(count, 1);

	/* With it, the dead letter is revived and written (the fault is spent). */
	sim_http_do(&h, admin, "POST", "/api/dead/retry", body, use_token, csrf);
	sim_http_expect(&h, 200, "POST /api/dead/retry");
	assert_int_equal(json_integer_value(json_object_get(h.json, "revived")), 1);
	sim_http_free(&h);
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", 4, mono_scaled(WAIT_MS)),
	    4);
	e2e_wait_status(&world, "logged", 4, WAIT_MS);
	e2e_wait_status(&world, "dead", 0, WAIT_MS);
	sim_http_do(&h, admin, "POST", "/api/dead/retry", body, use_token, csrf);
	assert_int_equal(h.status, 409);
	sim_http_free(&h);
	sim_http_do(&h, admin, "POST", "/api/dead/retry", "{\"key\":\"<nobody@nowhere>\"}",
	    use_token, csrf);
	assert_int_equal(h.status, 404);
	sim_http_free(&h);
	free(body);
}

/* The reload's lines are JSON: the admin's start among them, saying a token is required. */
static void
check_json_log(const char *log)
{
	const char *p = strstr(log, "olsync reloaded");
	size_t objects = 0;
	int admin_seen = 0;

	assert_non_null(p);
	p = strchr(p, '\n') + 1;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		json_t *j;

		assert_non_null(nl);
		if ((j = json_loadb(p, (size_t)(nl - p), 0, NULL)) == NULL)
			fail_msg("not a JSON line after the reload: %.*s", (int)(nl - p), p);
		assert_string_equal(json_string_value(json_object_get(j, "prog")), "olsync");
		if (strcmp(json_string_value(json_object_get(j, "msg")), "admin listening") == 0) {
			assert_string_equal(json_string_value(json_object_get(j, "token")),
			    "required");
			admin_seen = 1;
		}
		json_decref(j);
		objects++;
		p = nl + 1;
	}
	assert_true(objects >= 3);
	assert_true(admin_seen);
}

/* Reloaded onto every address with a token: without it or with a wrong one 401, with it 200,
 * and the token is in no log line. */
static void
test_token_after_reload(void **state)
{
	struct sim_http h;
	char *lines, *tfile = xasprintf("%s/admin-token", world.dir), *log;
	unsigned char raw[16];
	FILE *fp;
	long t0;
	int fd;

	(void)state;
	fp = fopen("/dev/urandom", "rb");
	assert_non_null(fp);
	assert_int_equal(fread(raw, 1, sizeof(raw), fp), sizeof(raw));
	fclose(fp);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	fd = open(tfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, token, strlen(token)), (ssize_t)strlen(token));
	close(fd);
	lines = xasprintf("admin_listen 0.0.0.0:%d\nadmin_token_file %s\nlog_format json\n",
	    admin_port_no, tfile);
	write_config(lines);
	free(lines);
	e2e_daemon_signal(&daemon_proc, SIGHUP);
	t0 = mono_ms();
	for (;;) {
		admin_get(&h, "/healthz");
		if (h.status == 401)
			break;
		sim_http_free(&h);
		if (mono_ms() - t0 > mono_scaled(WAIT_MS))
			fail_msg("the reload never asked for the token");
		mono_sleep(100);
	}
	assert_null(strstr(body_of(&h), token));
	sim_http_free(&h);

	sim_http_do(&h, admin, "GET", "/metrics", NULL, "not-the-token-at-all", NULL);
	assert_int_equal(h.status, 401);
	sim_http_free(&h);
	sim_http_do(&h, admin, "GET", "/api/summary", NULL, NULL, NULL);
	assert_int_equal(h.status, 401);
	sim_http_free(&h);
	/* The token with one character more or less is wrong too. */
	token[strlen(token) - 1] = '\0';
	sim_http_do(&h, admin, "GET", "/metrics", NULL, token, NULL);
	assert_int_equal(h.status, 401);
	sim_http_free(&h);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);

	use_token = token;
	free(metrics());
	admin_get(&h, "/readyz");
	sim_http_expect(&h, 200, "readyz with the token");
	sim_http_free(&h);
	admin_get(&h, "/api/summary");
	sim_http_expect(&h, 200, "summary with the token");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(h.json, "emails"),
	    "logged")), 4);
	sim_http_free(&h);
	/* The page itself holds no data: it loads without the token, which it reads from the
	 * URL fragment. */
	sim_http_do(&h, admin, "GET", "/", NULL, NULL, NULL);
	sim_http_expect(&h, 200, "the dashboard page");
	assert_non_null(strstr(sim_http_header(&h, "Content-Type"), "text/html"));
	assert_non_null(strstr(sim_http_header(&h, "Content-Security-Policy"), "script-src 'self'"));
	assert_string_equal(sim_http_header(&h, "X-Content-Type-Options"), "nosniff");
	sim_http_free(&h);
	sim_http_do(&h, admin, "POST", "/api/dead/retry", "{\"key\":\"x\"}", token, NULL);
	assert_int_equal(h.status, 403);
	sim_http_free(&h);

	/* The admin answers before the rest of the reloaded daemon has started: its last start
	 * line is waited for before the log is read. */
	assert_true(e2e_daemon_wait_log(&daemon_proc, "\"msg\":\"olsync start\"", WAIT_MS));
	log = e2e_daemon_log(&daemon_proc);
	assert_null(strstr(log, token));
	check_json_log(log);
	free(log);
	free(tfile);
}

/* readyz opens the ledger: a file that is not one makes it 503 with the reason. The running
 * olsync keeps its handles on the real file, moved aside meanwhile. */
static void
test_ready_with_unusable_ledger(void **state)
{
	struct sim_http h;
	char *db = xstrdup(world.database), *aside = xasprintf("%s.aside", db);
	FILE *fp;

	(void)state;
	assert_int_equal(rename(db, aside), 0);
	fp = fopen(db, "w");
	assert_non_null(fp);
	for (int i = 0; i < 64; i++)
		fputs("this is not a database ", fp);
	fclose(fp);
	admin_get(&h, "/readyz");
	assert_int_equal(h.status, 503);
	assert_non_null(strstr(body_of(&h), "not ready: ledger"));
	sim_http_free(&h);
	assert_int_equal(rename(aside, db), 0);
	admin_get(&h, "/readyz");
	sim_http_expect(&h, 200, "readyz with the ledger back");
	sim_http_free(&h);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	free(db);
	free(aside);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_admin_refused),
		cmocka_unit_test(test_ready_after_subscriptions),
		cmocka_unit_test(test_metrics_match_ledger),
		cmocka_unit_test(test_dead_letter_and_retry),
		cmocka_unit_test(test_token_after_reload),
		cmocka_unit_test(test_ready_with_unusable_ledger),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
