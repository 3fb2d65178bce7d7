/* test_graph_throttle.c: graph-sim's Outlook throttling and JSON batching over HTTP, against the
 * real binary: the request-rate limit per app + mailbox (429 TooManyRequests, Retry-After, other
 * pairs unaffected, usage accruing while throttled), the concurrency limit (ApplicationThrottled),
 * and /$batch (limits, ids, dependsOn and 424, per-item 429, items counted in /_sim/stats). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph_fixture.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define DOMAIN		"contoso.onmicrosoft.com"
#define APP_A		"11111111-1111-4111-8111-111111111111"
#define APP_B		"22222222-2222-4222-8222-222222222222"
#define NPARALLEL	5

static struct sim_proc sim;
static char token_a[4096], token_b[4096];
static char alice_rest_id[256], alice_immutable_id[256];	/* of the one message alice has */

static const char *
jstr(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

/* OL_TEST_TIME_SCALE as a whole number: the throttle windows and waits below are that many times
 * longer under memcheck, where five requests can take longer than a 2 s window. */
static long
scale(void)
{
	return (long)(mono_scale() + 0.5);
}

static void
sleep_sec(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* A control call that must answer want; returns its parsed answer (caller decrefs). */
static json_t *
control(const char *method, const char *path, const char *body, long want)
{
	return sim_http_ctl(sim.base_url, method, path, body, want);
}

/* Sets the throttle settings (the rest stay as they are). */
static void
throttle_config(long requests, long window_sec, int concurrency)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"throttle_requests\":%ld,\"throttle_window_sec\":%ld,"
	    "\"throttle_concurrency\":%d}", requests, window_sec, concurrency);
	graph_fixture_config(&sim, body);
}

/* GET of user's Inbox messages as the app of token; the status, h kept for the caller. */
static long
get_messages(struct sim_http *h, const char *token, const char *user)
{
	char path[256];

	snprintf(path, sizeof(path), "/v1.0/users/%s@" DOMAIN "/messages?$top=1", user);
	sim_http_do(h, sim.base_url, "GET", path, NULL, token, NULL);
	return h->status;
}

static long
get_status(const char *token, const char *user)
{
	struct sim_http h;
	long status = get_messages(&h, token, user);

	sim_http_free(&h);
	return status;
}

static long
stat_counter(const char *key)
{
	json_t *stats = control("GET", "/_sim/stats", NULL, 200), *v;
	long n;

	/* Counters at the top level or under "counters". */
	v = json_object_get(stats, key);
	if (v == NULL)
		v = json_object_get(json_object_get(stats, "counters"), key);
	n = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	json_decref(stats);
	return n;
}

/* Requests counted for user's mailbox in /_sim/stats (shown by userPrincipalName). */
static long
mailbox_counter(const char *upn)
{
	json_t *stats = control("GET", "/_sim/stats", NULL, 200);
	json_t *v = json_object_get(json_object_get(stats, "mailboxes"), upn);
	long n = json_is_integer(v) ? (long)json_integer_value(v) : 0;

	json_decref(stats);
	return n;
}

static int
setup_all(void **state)
{
	const char *users[] = { "alice", "bob", "carol", "dave", "erin", "frank" };
	json_t *seed, *arr, *mail, *copy;
	char *text;
	size_t i;
	int rc;

	(void)state;
	seed = json_pack("{s:{s:s},s:[{s:s,s:s,s:s,s:[s,s]},{s:s,s:s,s:s,s:[s,s]}]}",
	    "tenant", "domain", DOMAIN,
	    "apps",
	    "clientId", APP_A, "secret", "secret-a", "displayName", "app A",
	    "roles", "Mail.Read", "User.Read.All",
	    "clientId", APP_B, "secret", "secret-b", "displayName", "app B",
	    "roles", "Mail.Read", "User.Read.All");
	arr = json_array();
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		char upn[128];

		snprintf(upn, sizeof(upn), "%s@" DOMAIN, users[i]);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "userPrincipalName", upn,
		    "mail", upn, "displayName", users[i]));
	}
	json_object_set_new(seed, "users", arr);
	text = json_dumps(seed, JSON_COMPACT);
	json_decref(seed);
	rc = graph_fixture_start(&sim, NULL, text, NULL);
	free(text);
	if (rc < 0)
		return -1;
	mail = control("POST", "/_sim/mail", "{\"from\":\"someone@example.com\","
	    "\"to\":[\"alice@" DOMAIN "\",\"erin@" DOMAIN "\"],\"subject\":\"hello\","
	    "\"body\":\"hi\"}", 201);
	json_array_foreach(json_object_get(mail, "copies"), i, copy) {
		if (strcmp(jstr(json_object_get(copy, "user")), "alice@" DOMAIN) != 0)
			continue;
		snprintf(alice_rest_id, sizeof(alice_rest_id), "%s",
		    jstr(json_object_get(copy, "id")));
		snprintf(alice_immutable_id, sizeof(alice_immutable_id), "%s",
		    jstr(json_object_get(copy, "immutableId")));
	}
	json_decref(mail);
	graph_fixture_token(&sim, APP_A, token_a, sizeof(token_a));
	graph_fixture_token(&sim, APP_B, token_b, sizeof(token_b));
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	/* A clean exit: under the sanitizers a leak or an error makes it non-zero. */
	return graph_fixture_stop(&sim);
}

/*
 * The request-rate limit.
 */

static void
test_rate_limit(void **state)
{
	struct sim_http h;
	const char *ra;
	double t0, wait;
	json_t *inner;

	(void)state;
	throttle_config(5, 2 * scale(), 4);
	t0 = mono_sec();
	for (int i = 0; i < 5; i++)
		assert_int_equal(get_status(token_a, "alice"), 200);

	/* The sixth within the window: Graph's documented 429 body and a Retry-After. */
	assert_int_equal(get_messages(&h, token_a, "alice"), 429);
	assert_string_equal(graph_fixture_error_code(h.json), "TooManyRequests");
	assert_string_equal(jstr(json_object_get(json_object_get(h.json, "error"), "message")),
	    "Please retry again later.");
	inner = json_object_get(json_object_get(h.json, "error"), "innerError");
	assert_string_equal(jstr(json_object_get(inner, "code")), "429");
	assert_string_equal(jstr(json_object_get(inner, "status")), "429");
	assert_string_equal(jstr(json_object_get(inner, "message")), "Please retry after");
	assert_true(strlen(jstr(json_object_get(inner, "request-id"))) == 36);
	assert_true(json_is_string(json_object_get(inner, "date")));
	ra = sim_http_header(&h, "Retry-After");
	assert_non_null(ra);
	wait = atof(ra);
	assert_true(wait >= 1 && wait <= 2 * scale());
	sim_http_free(&h);

	/* The limit is per app + mailbox: other pairs are not affected. */
	{
		static const struct {
			const char *token_name;
			const char *user;
			long status;
		} pairs[] = {
			{ "A", "alice", 429 },		/* the throttled pair itself */
			{ "A", "bob", 200 },		/* same app, another mailbox */
			{ "B", "alice", 200 },		/* another app, same mailbox */
		};

		for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
			const char *tok = pairs[i].token_name[0] == 'A' ? token_a : token_b;

			if (get_status(tok, pairs[i].user) != pairs[i].status)
				fail_msg("app %s on %s: expected %ld", pairs[i].token_name,
				    pairs[i].user, pairs[i].status);
		}
	}

	/* Once the five admitted requests have left the window, the pair is served again (the
	 * two refusals still count, but two is under the limit). */
	sleep_sec(t0 + 2.3 * scale() - mono_sec());
	assert_int_equal(get_status(token_a, "alice"), 200);
}

/* Requests refused while throttled still count: a client that keeps sending stays throttled
 * after the window of its admitted requests has passed. */
static void
test_usage_accrues_while_throttled(void **state)
{
	double t0;

	(void)state;
	throttle_config(5, 2 * scale(), 4);
	t0 = mono_sec();
	for (int i = 0; i < 5; i++)
		assert_int_equal(get_status(token_a, "carol"), 200);
	sleep_sec(t0 + 1.0 * scale() - mono_sec());
	for (int i = 0; i < 5; i++)
		assert_int_equal(get_status(token_a, "carol"), 429);
	/* The admitted five have left the window; the five refusals have not. */
	sleep_sec(t0 + 2.3 * scale() - mono_sec());
	assert_true(mono_sec() - t0 < 2.9 * scale());
	assert_int_equal(get_status(token_a, "carol"), 429);
	/* A pair that was never throttled in the same period is fine. */
	assert_int_equal(get_status(token_b, "carol"), 200);
}

/* graph-sim's Retry-After instrument: after a 429 that said "wait 2 s", a request for that
 * mailbox sooner is counted (retry_after.early), one for another mailbox or after the wait is
 * not. */
static void
test_early_retry_counted(void **state)
{
	char body[256];
	json_t *r, *st;
	long before;
	double t0;

	(void)state;
	throttle_config(10000, 600, 4);
	st = control("GET", "/_sim/stats", NULL, 200);
	before = (long)json_integer_value(json_object_get(st, "retry_after.early"));
	json_decref(st);
	snprintf(body, sizeof(body), "{\"method\":\"GET\",\"path\":\"/v1.0/users/dave\","
	    "\"status\":429,\"retry_after\":%ld}", 2 * scale());
	r = control("POST", "/_sim/faults", body, 200);
	json_decref(r);
	t0 = mono_sec();
	assert_int_equal(get_status(token_a, "dave"), 429);
	assert_int_equal(get_status(token_a, "bob"), 200);	/* another mailbox: fine */
	st = control("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(st, "retry_after.early")), before);
	json_decref(st);
	assert_int_equal(get_status(token_a, "dave"), 200);	/* too soon: counted */
	st = control("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(st, "retry_after.early")), before + 1);
	json_decref(st);
	sleep_sec(t0 + 2.2 * scale() - mono_sec());
	assert_int_equal(get_status(token_a, "dave"), 200);	/* after the wait: not */
	st = control("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(st, "retry_after.early")), before + 1);
	json_decref(st);
}

/* Which requests belong to a mailbox: Outlook resources under /users/{id | upn}/, matched
 * case-insensitively; directory and subscription paths are not a mailbox's. */
static void
test_mailbox_of_path(void **state)
{
	static const struct {
		const char *path;	/* {id}: frank's user id */
		int counted;
	} cases[] = {
		{ "/v1.0/users/frank@" DOMAIN "/messages", 1 },
		{ "/v1.0/users/FRANK@" DOMAIN "/MailFolders/inbox", 1 },
		{ "/v1.0/users/{id}/messages?$top=1", 1 },
		{ "/v1.0/users/{id}/events", 1 },
		{ "/v1.0/users/frank@" DOMAIN "/calendarView?startDateTime=2024-01-01T00:00:00Z"
		  "&endDateTime=2024-01-02T00:00:00Z", 1 },
		{ "/v1.0/users/frank@" DOMAIN, 0 },
		{ "/v1.0/users/{id}", 0 },
		{ "/v1.0/users?$top=1", 0 },
		{ "/v1.0/subscriptions", 0 },
		{ "/v1.0/users/frank@" DOMAIN "/unknownSegment", 0 },
	};
	const char *upn = "frank@" DOMAIN;
	char id[64], path[512];
	struct sim_http h;

	(void)state;
	throttle_config(10000, 600, 4);
	sim_http_do(&h, sim.base_url, "GET", "/v1.0/users/frank@" DOMAIN, NULL, token_a, NULL);
	assert_int_equal(h.status, 200);
	snprintf(id, sizeof(id), "%s", jstr(json_object_get(h.json, "id")));
	sim_http_free(&h);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *at = strstr(cases[i].path, "{id}");
		long before = mailbox_counter(upn), after;

		if (at != NULL)
			snprintf(path, sizeof(path), "%.*s%s%s", (int)(at - cases[i].path),
			    cases[i].path, id, at + 4);
		else
			snprintf(path, sizeof(path), "%s", cases[i].path);
		sim_http_do(&h, sim.base_url, "GET", path, NULL, token_a, NULL);
		if (h.status == 0 || h.status == 429)
			fail_msg("%s: status %ld", path, h.status);
		sim_http_free(&h);
		after = mailbox_counter(upn);
		if (after - before != cases[i].counted)
			fail_msg("%s: counted %ld for the mailbox, expected %d", path,
			    after - before, cases[i].counted);
	}
}

/*
 * The concurrency limit: five slow requests at once on one mailbox, four may be in flight.
 */

struct parallel {
	pthread_t thread;
	long status;
	char code[64];
	char retry_after[16];
};

static void *
parallel_get(void *arg)
{
	struct parallel *p = arg;
	struct sim_http h;

	p->status = get_messages(&h, token_a, "dave");
	snprintf(p->code, sizeof(p->code), "%s", graph_fixture_error_code(h.json));
	snprintf(p->retry_after, sizeof(p->retry_after), "%s",
	    sim_http_header(&h, "Retry-After") ? sim_http_header(&h, "Retry-After") : "");
	sim_http_free(&h);
	return NULL;
}

static void
test_concurrency_limit(void **state)
{
	struct parallel p[NPARALLEL];
	char body[256];
	int ok = 0, throttled = 0;

	(void)state;
	throttle_config(10000, 600, 4);
	/* Each of the five is slow while it is in flight. */
	snprintf(body, sizeof(body), "{\"path\":\"/v1.0/users/dave@" DOMAIN
	    "/messages\",\"delay_ms\":%ld,\"count\":5}", mono_scaled(1500));
	json_decref(control("POST", "/_sim/faults", body, 200));
	for (int i = 0; i < NPARALLEL; i++)
		assert_int_equal(pthread_create(&p[i].thread, NULL, parallel_get, &p[i]), 0);
	for (int i = 0; i < NPARALLEL; i++)
		pthread_join(p[i].thread, NULL);
	for (int i = 0; i < NPARALLEL; i++) {
		if (p[i].status == 200) {
			ok++;
		} else if (p[i].status == 429) {
			assert_string_equal(p[i].code, "ApplicationThrottled");
			assert_true(atof(p[i].retry_after) >= 1);
			throttled++;
		} else {
			fail_msg("parallel request %d: status %ld", i, p[i].status);
		}
	}
	/* They all arrive within the delay: four in flight, the fifth refused. */
	assert_int_equal(throttled, 1);
	assert_int_equal(ok, 4);
	json_decref(control("DELETE", "/_sim/faults", NULL, 200));
	/* Once they are done, the mailbox takes requests again. */
	assert_int_equal(get_status(token_a, "dave"), 200);
}

/*
 * JSON batching.
 */

/* POSTs a batch (text) as app A; returns the status, *out the parsed body (caller frees). */
static long
batch(const char *payload, json_t **out)
{
	struct sim_http h;
	long status;

	sim_http_do(&h, sim.base_url, "POST", "/v1.0/$batch", payload, token_a, NULL);
	status = h.status;
	*out = h.json;
	h.json = NULL;
	sim_http_free(&h);
	return status;
}

/* The response of id in a batch answer, or NULL. */
static json_t *
response_of(json_t *res, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(res, "responses"), i, r) {
		if (strcmp(jstr(json_object_get(r, "id")), id) == 0)
			return r;
	}
	return NULL;
}

static long
status_of(json_t *res, const char *id)
{
	json_t *r = response_of(res, id);

	if (r == NULL)
		fail_msg("no response with id %s", id);
	return (long)json_integer_value(json_object_get(r, "status"));
}

static void
test_batch_runs_requests(void **state)
{
	json_t *res, *r;
	long before = stat_counter("batch_items");

	(void)state;
	throttle_config(10000, 600, 4);
	assert_int_equal(batch("{\"requests\":["
	    "{\"id\":\"1\",\"method\":\"GET\",\"url\":\"/users/alice@" DOMAIN "/messages?$top=5\"},"
	    "{\"id\":\"2\",\"method\":\"get\",\"url\":\"users/bob@" DOMAIN "\"},"
	    "{\"id\":\"3\",\"method\":\"GET\",\"url\":\"/v1.0/users/alice@" DOMAIN "/messages\","
	    "\"headers\":{\"Prefer\":\"IdType=\\\"ImmutableId\\\"\"}}]}", &res), 200);
	assert_int_equal(json_array_size(json_object_get(res, "responses")), 3);
	for (int i = 1; i <= 3; i++) {
		char id[4];

		snprintf(id, sizeof(id), "%d", i);
		if (status_of(res, id) != 200)
			fail_msg("request %s: %s", id, json_dumps(response_of(res, id), 0));
	}
	r = response_of(res, "1");
	assert_true(json_is_array(json_object_get(json_object_get(r, "body"), "value")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "body"), "value")), 1);
	assert_non_null(strstr(jstr(json_object_get(json_object_get(r, "headers"),
	    "Content-Type")), "application/json"));
	assert_string_equal(jstr(json_object_get(json_object_get(response_of(res, "2"), "body"),
	    "userPrincipalName")), "bob@" DOMAIN);
	/* Each request's own headers apply to it alone: Prefer IdType on the third. */
	assert_true(alice_rest_id[0] != '\0' && strcmp(alice_rest_id, alice_immutable_id) != 0);
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(json_object_get(r,
	    "body"), "value"), 0), "id")), alice_rest_id);
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(json_object_get(
	    response_of(res, "3"), "body"), "value"), 0), "id")), alice_immutable_id);
	json_decref(res);
	/* Each request of the batch counts on its own. */
	assert_int_equal(stat_counter("batch_items") - before, 3);
}

static void
test_batch_depends_on(void **state)
{
	json_t *res, *r;

	(void)state;
	throttle_config(10000, 600, 4);
	/* 1 fails (unknown user), 2 depends on 1, 3 on 2: both 424; 4 is independent. A nested
	 * $batch is refused as an item of its own. */
	assert_int_equal(batch("{\"requests\":["
	    "{\"id\":\"1\",\"method\":\"GET\",\"url\":\"/users/nobody@" DOMAIN "/messages\"},"
	    "{\"id\":\"2\",\"method\":\"GET\",\"url\":\"/users/alice@" DOMAIN "/messages\","
	    "\"dependsOn\":[\"1\"]},"
	    "{\"id\":\"3\",\"method\":\"GET\",\"url\":\"/users/alice@" DOMAIN "/messages\","
	    "\"dependsOn\":[\"2\"]},"
	    "{\"id\":\"4\",\"method\":\"GET\",\"url\":\"/users/alice@" DOMAIN "/messages\"},"
	    "{\"id\":\"5\",\"method\":\"GET\",\"url\":\"/users/alice@" DOMAIN "/messages\","
	    "\"dependsOn\":[\"4\"]},"
	    "{\"id\":\"6\",\"method\":\"POST\",\"url\":\"/$batch\",\"body\":{\"requests\":[]},"
	    "\"headers\":{\"Content-Type\":\"application/json\"}}]}", &res), 200);
	assert_int_equal(status_of(res, "1"), 404);
	assert_int_equal(status_of(res, "2"), 424);
	assert_int_equal(status_of(res, "3"), 424);
	assert_int_equal(status_of(res, "4"), 200);
	assert_int_equal(status_of(res, "5"), 200);
	assert_int_equal(status_of(res, "6"), 400);
	r = response_of(res, "2");
	assert_true(json_is_object(json_object_get(json_object_get(r, "body"), "error")));
	json_decref(res);
}

static void
test_batch_rejected(void **state)
{
	static const struct {
		const char *name;
		const char *payload;	/* NULL: 21 requests */
		const char *message;	/* a part of the error message */
	} cases[] = {
		{ "21 requests", NULL, "exceed the limit" },
		{ "duplicate ids", "{\"requests\":[{\"id\":\"a\",\"method\":\"GET\","
		  "\"url\":\"/users\"},{\"id\":\"a\",\"method\":\"GET\",\"url\":\"/users\"}]}",
		  "has to be unique" },
		{ "ids differing in case", "{\"requests\":[{\"id\":\"a\",\"method\":\"GET\","
		  "\"url\":\"/users\"},{\"id\":\"A\",\"method\":\"GET\",\"url\":\"/users\"}]}",
		  "has to be unique" },
		{ "body without Content-Type", "{\"requests\":[{\"id\":\"1\",\"method\":\"POST\","
		  "\"url\":\"/subscriptions\",\"body\":{}}]}", "Content-Type" },
		{ "dependsOn an unknown id", "{\"requests\":[{\"id\":\"1\",\"method\":\"GET\","
		  "\"url\":\"/users\",\"dependsOn\":[\"9\"]}]}", "Invalid dependency" },
		{ "dependsOn a later id", "{\"requests\":[{\"id\":\"1\",\"method\":\"GET\","
		  "\"url\":\"/users\",\"dependsOn\":[\"2\"]},{\"id\":\"2\",\"method\":\"GET\","
		  "\"url\":\"/users\"}]}", "Invalid dependency" },
		{ "missing url", "{\"requests\":[{\"id\":\"1\",\"method\":\"GET\"}]}", "" },
		{ "missing id", "{\"requests\":[{\"method\":\"GET\",\"url\":\"/users\"}]}", "" },
		{ "requests not an array", "{\"requests\":{}}", "" },
		{ "no requests", "{}", "" },
		{ "absolute url", "{\"requests\":[{\"id\":\"1\",\"method\":\"GET\","
		  "\"url\":\"https://graph.microsoft.com/v1.0/users\"}]}", "relative" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *payload;
		json_t *res;
		long status;

		if (cases[i].payload == NULL) {
			size_t len = 0, cap = 4096;

			payload = xmalloc(cap);
			len += (size_t)snprintf(payload + len, cap - len, "{\"requests\":[");
			for (int k = 0; k < 21; k++)
				len += (size_t)snprintf(payload + len, cap - len,
				    "%s{\"id\":\"%d\",\"method\":\"GET\",\"url\":\"/users\"}",
				    k ? "," : "", k);
			snprintf(payload + len, cap - len, "]}");
		} else {
			payload = xstrdup(cases[i].payload);
		}
		status = batch(payload, &res);
		free(payload);
		if (status != 400 || strcmp(graph_fixture_error_code(res), "BadRequest") != 0 ||
		    strstr(jstr(json_object_get(json_object_get(res, "error"), "message")),
		    cases[i].message) == NULL)
			fail_msg("%s: status %ld %s", cases[i].name, status,
			    res ? json_dumps(res, JSON_COMPACT) : "(no body)");
		json_decref(res);
	}
	/* Exactly 20 is fine. */
	{
		char payload[4096];
		size_t len = 0;
		json_t *res;

		len += (size_t)snprintf(payload + len, sizeof(payload) - len, "{\"requests\":[");
		for (int k = 0; k < 20; k++)
			len += (size_t)snprintf(payload + len, sizeof(payload) - len,
			    "%s{\"id\":\"%d\",\"method\":\"GET\",\"url\":\"/users/frank@" DOMAIN
			    "\"}", k ? "," : "", k);
		snprintf(payload + len, sizeof(payload) - len, "]}");
		assert_int_equal(batch(payload, &res), 200);
		assert_int_equal(json_array_size(json_object_get(res, "responses")), 20);
		assert_int_equal(status_of(res, "19"), 200);
		json_decref(res);
	}
}

/* Each request of a batch meets the limits on its own: the mailbox's sixth is a 429 item. */
static void
test_batch_item_throttled(void **state)
{
	char payload[4096];
	size_t len = 0;
	long throttled_before = stat_counter("throttled");
	json_t *res, *r;

	(void)state;
	throttle_config(5, 60, 4);
	len += (size_t)snprintf(payload + len, sizeof(payload) - len, "{\"requests\":[");
	for (int k = 1; k <= 7; k++)
		len += (size_t)snprintf(payload + len, sizeof(payload) - len, "%s{\"id\":\"%d\","
		    "\"method\":\"GET\",\"url\":\"/users/erin@" DOMAIN "/messages\"}",
		    k > 1 ? "," : "", k);
	snprintf(payload + len, sizeof(payload) - len, "]}");
	assert_int_equal(batch(payload, &res), 200);
	for (int k = 1; k <= 7; k++) {
		char id[4];

		snprintf(id, sizeof(id), "%d", k);
		assert_int_equal(status_of(res, id), k <= 5 ? 200 : 429);
	}
	r = response_of(res, "6");
	assert_true(atof(jstr(json_object_get(json_object_get(r, "headers"), "Retry-After"))) >=
	    1);
	assert_string_equal(graph_fixture_error_code(json_object_get(r, "body")), "TooManyRequests");
	json_decref(res);
	assert_int_equal(stat_counter("throttled") - throttled_before, 2);
	/* The same mailbox outside a batch is throttled too: it is one pair. */
	assert_int_equal(get_status(token_a, "erin"), 429);
	throttle_config(10000, 600, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_usage_accrues_while_throttled),
		cmocka_unit_test(test_mailbox_of_path),
		cmocka_unit_test(test_early_retry_counted),
		cmocka_unit_test(test_concurrency_limit),
		cmocka_unit_test(test_batch_runs_requests),
		cmocka_unit_test(test_batch_depends_on),
		cmocka_unit_test(test_batch_rejected),
		cmocka_unit_test(test_batch_item_throttled),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup_all, teardown_all));
}
