/* test_dashboard.c: the dashboard of `olsync run` in headless Chromium, driven through the
 * DevTools protocol over --remote-debugging-pipe (JSON messages ending in NUL on the child's
 * fds 3 and 4): olsync with admin_token against graph-sim and sf-sim logs three emails and one
 * goes dead (an sf-sim fault); the page, opened as /#token=..., must show the ledger's counts,
 * the emails with their Task links, the mailboxes with their subscriptions and the dead letter;
 * a click on Retry must revive it (the ledger then has it logged). A screenshot is saved in the
 * build directory. Exits 77 (skipped) when chromium is not installed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "b64.h"
#include "e2e.h"
#include "ledger.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define ALICE		"alice@contoso.com"
#define BOB		"bob@contoso.com"
#define SF_DATA		"/services/data/v62.0/"
#define WAIT_MS		30000
#define CDP_MAX		(64 * 1024 * 1024)	/* a screenshot is the largest answer */
#define SKIP		77

static struct e2e_world world;
static struct e2e_daemon daemon_proc;
static int port, admin_port_no;
static char admin[64];
static char token[64];
static char day_time[40];
static char chromium[PATH_MAX];
static int mail_seq;

/* --- the DevTools protocol over a pipe ------------------------------------------------ */

struct cdp {
	pid_t	 pid;
	int	 to, from;	/* our ends of the child's fds 3 and 4 */
	int	 next_id;
	char	*buf;		/* what was read and not yet taken */
	size_t	 len, cap;
	char	 session[128];
};

static struct cdp browser;

/* chromium on PATH (or $OL_CHROMIUM) into chromium[]; 0, or -1 when there is none. */
static int
find_chromium(void)
{
	const char *env = getenv("OL_CHROMIUM"), *path = getenv("PATH");
	char *dirs, *dir, *save = NULL;

	if (env != NULL && access(env, X_OK) == 0) {
		snprintf(chromium, sizeof(chromium), "%s", env);
		return 0;
	}
	dirs = xstrdup(path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		const char *names[] = { "chromium", "chromium-browser" };

		for (size_t i = 0; i < 2; i++) {
			snprintf(chromium, sizeof(chromium), "%s/%s", dir, names[i]);
			if (access(chromium, X_OK) == 0) {
				free(dirs);
				return 0;
			}
		}
	}
	free(dirs);
	chromium[0] = '\0';
	return -1;
}

static void
cdp_start(struct cdp *c)
{
	int in[2], out[2];
	char *profile = xasprintf("--user-data-dir=%s/chromium-profile", world.dir);
	char *logpath = xasprintf("%s/chromium.log", world.dir);

	memset(c, 0, sizeof(c[0]));
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		/* Above 10 first, so that dup2 onto 3 and 4 cannot close an end still needed. */
		int r = fcntl(in[0], F_DUPFD, 10), w = fcntl(out[1], F_DUPFD, 10);
		int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		char *argv[] = { chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		    "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
		    "--disable-extensions", "--disable-background-networking",
		    "--disable-component-update", "--no-proxy-server", "--remote-debugging-pipe",
		    profile, "about:blank", NULL };

		if (r < 0 || w < 0 || dup2(r, 3) < 0 || dup2(w, 4) < 0)
			_exit(126);
		if (logfd >= 0) {
			dup2(logfd, STDOUT_FILENO);
			dup2(logfd, STDERR_FILENO);
		}
		for (int fd = 5; fd < 1024; fd++)
			close(fd);
		execv(chromium, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = out[0];
	c->next_id = 1;
	free(profile);
	free(logpath);
}

/* The next whole message (NUL-terminated) as JSON, waiting until deadline (mono ms). */
static json_t *
cdp_read(struct cdp *c, long deadline)
{
	for (;;) {
		char *nul = c->len > 0 ? memchr(c->buf, '\0', c->len) : NULL;
		struct pollfd pfd;
		ssize_t n;
		long left;

		if (nul != NULL) {
			size_t k = (size_t)(nul - c->buf);
			json_t *j = json_loadb(c->buf, k, 0, NULL);

			memmove(c->buf, nul + 1, c->len - k - 1);
			c->len -= k + 1;
			if (j == NULL)
				fail_msg("cdp: a message that is not JSON");
			return j;
		}
		if ((left = deadline - mono_ms()) <= 0)
			fail_msg("cdp: no answer from chromium in time");
		pfd.fd = c->from;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 1 << 20;
			assert_true(c->cap <= CDP_MAX);
			c->buf = xrealloc(c->buf, c->cap);
		}
		n = read(c->from, c->buf + c->len, c->cap - c->len);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			fail_msg("cdp: chromium closed the pipe (see %s/chromium.log)", world.dir);
		if (n > 0)
			c->len += (size_t)n;
	}
}

/* Sends method with params (stolen; NULL: {}) on the attached page (or the browser before
 * one is) and returns its result (caller decrefs); an error answer fails the test. Events that
 * come meanwhile are dropped. */
static json_t *
cdp_call(struct cdp *c, const char *method, json_t *params)
{
	json_t *msg = json_pack("{s:i,s:s,s:o}", "id", c->next_id, "method", method, "params",
	    params != NULL ? params : json_object());
	long deadline = mono_ms() + mono_scaled(WAIT_MS);
	int id = c->next_id++;
	char *text;
	size_t len;

	if (c->session[0] != '\0')
		json_object_set_new(msg, "sessionId", json_string(c->session));
	text = json_dumps(msg, JSON_COMPACT);
	len = strlen(text) + 1;	/* with its NUL */
	assert_int_equal(write(c->to, text, len), (ssize_t)len);
	free(text);
	json_decref(msg);
	for (;;) {
		json_t *ans = cdp_read(c, deadline), *res;

		if (json_integer_value(json_object_get(ans, "id")) != id) {
			json_decref(ans);
			continue;
		}
		if (json_object_get(ans, "error") != NULL) {
			char *e = json_dumps(json_object_get(ans, "error"), JSON_COMPACT);

			fail_msg("cdp: %s: %s", method, e);
		}
		res = json_incref(json_object_get(ans, "result"));
		json_decref(ans);
		return res;
	}
}

/* The value of a page expression (awaited when a promise); an exception fails the test. */
static json_t *
cdp_eval(struct cdp *c, const char *expr)
{
	json_t *r = cdp_call(c, "Runtime.evaluate", json_pack("{s:s,s:b,s:b}", "expression",
	    expr, "returnByValue", 1, "awaitPromise", 1)), *v;

	if (json_object_get(r, "exceptionDetails") != NULL) {
		char *e = json_dumps(json_object_get(r, "exceptionDetails"), JSON_COMPACT);

		fail_msg("page: %s: %s", expr, e);
	}
	v = json_incref(json_object_get(json_object_get(r, "result"), "value"));
	json_decref(r);
	return v;
}

static void
cdp_open(struct cdp *c, const char *url)
{
	json_t *r = cdp_call(c, "Target.createTarget", json_pack("{s:s}", "url", "about:blank"));
	json_t *a = cdp_call(c, "Target.attachToTarget", json_pack("{s:s,s:b}", "targetId",
	    json_string_value(json_object_get(r, "targetId")), "flatten", 1));

	snprintf(c->session, sizeof(c->session), "%s",
	    json_string_value(json_object_get(a, "sessionId")));
	json_decref(r);
	json_decref(a);
	json_decref(cdp_call(c, "Page.enable", NULL));
	/* Whatever the Content-Security-Policy refuses is noted for the test to see. */
	json_decref(cdp_call(c, "Page.addScriptToEvaluateOnNewDocument", json_pack("{s:s}",
	    "source", "window.__csp = []; document.addEventListener('securitypolicyviolation', "
	    "(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")));
	json_decref(cdp_call(c, "Emulation.setDeviceMetricsOverride", json_pack(
	    "{s:i,s:i,s:i,s:b}", "width", 1280, "height", 1100, "deviceScaleFactor", 1, "mobile",
	    0)));
	json_decref(cdp_call(c, "Page.navigate", json_pack("{s:s}", "url", url)));
}

static void
cdp_stop(struct cdp *c)
{
	int st;

	if (c->pid <= 0)
		return;
	c->session[0] = '\0';
	json_decref(cdp_call(c, "Browser.close", NULL));
	close(c->to);
	close(c->from);
	for (long t0 = mono_ms(); waitpid(c->pid, &st, WNOHANG) == 0; mono_sleep(100)) {
		if (mono_ms() - t0 > mono_scaled(10000)) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &st, 0);
			break;
		}
	}
	c->pid = 0;
	free(c->buf);
	c->buf = NULL;
}

/* A real mouse click at the middle of the element selector names. */
static void
cdp_click(struct cdp *c, const char *selector)
{
	char *expr = xasprintf("(() => { const r = document.querySelector(%s)"
	    ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()",
	    selector);
	json_t *xy = cdp_eval(c, expr);
	double x = json_number_value(json_array_get(xy, 0));
	double y = json_number_value(json_array_get(xy, 1));
	const char *types[] = { "mouseMoved", "mousePressed", "mouseReleased" };

	for (size_t i = 0; i < 3; i++)
		json_decref(cdp_call(c, "Input.dispatchMouseEvent", json_pack(
		    "{s:s,s:f,s:f,s:s,s:i}", "type", types[i], "x", x, "y", y, "button",
		    i == 0 ? "none" : "left", "clickCount", i == 0 ? 0 : 1)));
	json_decref(xy);
	free(expr);
}

/* --- the world ---------------------------------------------------------------------- */

static int
setup(void **state)
{
	time_t t = time(NULL) - 3600;
	struct tm tm;
	unsigned char raw[16];
	char *tfile, *lines;
	FILE *fp;
	int fd;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(day_time, sizeof(day_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (e2e_world_start(&world, "test_dashboard", E2E_SF_REPS, E2E_SF_CAROL, E2E_GRAPH_REPS,
	    ALICE ", " BOB, NULL) == -1)
		return -1;
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false,\"retry_scale\":0.001}", 200));
	if ((fp = fopen("/dev/urandom", "rb")) == NULL || fread(raw, 1, sizeof(raw), fp) !=
	    sizeof(raw))
		return -1;
	fclose(fp);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	tfile = xasprintf("%s/admin-token", world.dir);
	if ((fd = open(tfile, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    write(fd, token, strlen(token)) != (ssize_t)strlen(token))
		return -1;
	close(fd);
	port = e2e_free_port();
	admin_port_no = e2e_free_port();
	snprintf(admin, sizeof(admin), "http://127.0.0.1:%d", admin_port_no);
	lines = xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "reconcile_interval 1h\nretry_base 1s\nhttp_timeout 10s\nlog_level info\n"
	    "admin_listen %d\nadmin_token_file %s\n", port, port, admin_port_no, tfile);
	free(world.conf);
	world.conf = e2e_config_write(world.dir, world.graph.base_url, world.sf.p.base_url,
	    ALICE ", " BOB, lines);
	free(lines);
	free(tfile);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (browser.pid > 0)
		kill(browser.pid, SIGKILL);
	return e2e_world_teardown(&world, &daemon_proc);
}

/* What the page shows, as the test compares it. */
#define PAGE_STATE "(() => { \
	if (!document.getElementById('ready')) return { loaded: 0 }; \
	const t = (id) => document.getElementById(id).textContent; \
	const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')]; \
	return { loaded: Number(document.body.dataset.loaded || 0), \
	  error: document.getElementById('error').hidden ? '' : t('error'), \
	  ready: t('ready'), hash: location.hash, csp: window.__csp || ['no collector'], \
	  counts: Object.fromEntries(['pending', 'skipped', 'logged', 'failed', 'dead'] \
	    .map((k) => [k, t('count-' + k)])), \
	  budget: t('budget-used'), \
	  messages: rows('messages').map((r) => ({ ext: r.dataset.extId, \
	    state: r.dataset.state, links: [...r.querySelectorAll('a')].map((a) => a.href) })), \
	  dead: rows('dead').map((r) => r.dataset.extId), \
	  retry: [...document.querySelectorAll('#dead button')].map((b) => b.dataset.retry), \
	  mailboxes: rows('mailboxes').map((r) => [r.dataset.mailbox, \
	    Number(r.children[1].dataset.subscriptions)]) }; })()"

/* The mismatch between page and ledger, or NULL when the page shows what the ledger holds
 * (counts from `olsync status`, rows and links from the ledger, the dead letter from
 * `olsync dead`). Caller frees. */
static char *
mismatch(json_t *page, struct ledger *l, const char *dead_ext, size_t subs_per_mailbox)
{
	static const char *const states[] = { "pending", "skipped", "logged", "failed", "dead" };
	char *out = e2e_status(&world), *why = NULL;
	json_t *row, *counts = json_object_get(page, "counts");
	size_t i, ndead = dead_ext[0] != '\0';

	if (json_integer_value(json_object_get(page, "loaded")) < 1) {
		why = xstrdup("not loaded yet");
		goto out;
	}
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		const char *shown = json_string_value(json_object_get(counts, states[i]));

		if (shown == NULL || atoll(shown) != e2e_status_count(out, states[i])) {
			why = xasprintf("%s shown %s, ledger %lld", states[i], shown ? shown : "-",
			    e2e_status_count(out, states[i]));
			goto out;
		}
	}
	if (json_array_size(json_object_get(page, "messages")) !=
	    (size_t)(e2e_status_count(out, "logged") + e2e_status_count(out, "dead"))) {
		why = xstrdup("not every email decided is in the list");
		goto out;
	}
	json_array_foreach(json_object_get(page, "messages"), i, row) {
		struct ledger_entry e;
		const char *ext = json_string_value(json_object_get(row, "ext"));
		char *want;

		memset(&e, 0, sizeof(e));
		assert_int_equal(ledger_get_by_ext_id(l, ext, &e), 0);
		if (strcmp(ledger_state_name(e.state), e2e_field(row, "state")) != 0)
			why = xasprintf("%s shown %s, ledger %s", ext, e2e_field(row, "state"),
			    ledger_state_name(e.state));
		if (why == NULL && e.state == LEDGER_LOGGED) {
			want = xasprintf("%s/lightning/r/Task/%s/view", world.sf.p.base_url,
			    e.sf.task_id);
			if (strcmp(json_string_value(json_array_get(json_object_get(row, "links"),
			    0)) ? json_string_value(json_array_get(json_object_get(row, "links"),
			    0)) : "", want) != 0)
				why = xasprintf("%s: no link %s", ext, want);
			free(want);
		}
		ledger_entry_clear(&e);
		if (why != NULL)
			goto out;
	}
	if (json_array_size(json_object_get(page, "dead")) != ndead || (ndead == 1 &&
	    (strcmp(json_string_value(json_array_get(json_object_get(page, "dead"), 0)),
	    dead_ext) != 0 || strcmp(json_string_value(json_array_get(json_object_get(page,
	    "retry"), 0)), dead_ext) != 0))) {
		why = xasprintf("dead letters shown are not [%s]", dead_ext);
		goto out;
	}
	if (json_array_size(json_object_get(page, "mailboxes")) != 2) {
		why = xstrdup("not two mailboxes");
		goto out;
	}
	json_array_foreach(json_object_get(page, "mailboxes"), i, row)
		if ((size_t)json_integer_value(json_array_get(row, 1)) != subs_per_mailbox)
			why = xasprintf("%s: %lld subscriptions shown",
			    json_string_value(json_array_get(row, 0)),
			    (long long)json_integer_value(json_array_get(row, 1)));
out:
	free(out);
	return why;
}

/* Polls the page until it shows the ledger (it refreshes every few seconds); the last
 * snapshot (caller decrefs). */
static json_t *
page_matches(struct ledger *l, const char *dead_ext, size_t subs_per_mailbox)
{
	long t0 = mono_ms();

	for (;;) {
		json_t *page = cdp_eval(&browser, PAGE_STATE);
		char *why = mismatch(page, l, dead_ext, subs_per_mailbox);

		if (why == NULL)
			return page;
		if (mono_ms() - t0 > mono_scaled(WAIT_MS)) {
			char *dump = json_dumps(page, JSON_COMPACT);

			fail_msg("the page does not show the ledger: %s; page: %s", why, dump);
		}
		free(why);
		json_decref(page);
		mono_sleep(250);
	}
}

static void
screenshot(const char *name)
{
	json_t *r = cdp_call(&browser, "Page.captureScreenshot", json_pack("{s:s,s:b}", "format",
	    "png", "captureBeyondViewport", 1));
	const char *data = json_string_value(json_object_get(r, "data"));
	const char *bin = getenv("OL_BINARY_DIR");
	char *path = xasprintf("%s/%s", bin != NULL ? bin : ".", name);
	unsigned char *png = NULL;
	size_t n = 0;
	FILE *fp;

	assert_non_null(data);
	assert_int_equal(b64_decode(data, strlen(data), &png, &n), 0);
	assert_true(n > 8 && memcmp(png, "\x89PNG", 4) == 0);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(png, 1, n, fp), n);
	fclose(fp);
	printf("dashboard screenshot: %s\n", path);
	free(png);
	free(path);
	json_decref(r);
}

static void
test_dashboard_shows_ledger(void **state)
{
	struct sim_http h;
	struct ledger *l;
	char ext[128], *url, *db = xstrdup(world.database), err[256], *sel;
	json_t *page;
	long t0;

	(void)state;
	e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
	for (t0 = mono_ms();; mono_sleep(200)) {
		sim_http_do(&h, admin, "GET", "/readyz", NULL, token, NULL);
		if (h.status == 200)
			break;
		sim_http_free(&h);
		if (mono_ms() - t0 > mono_scaled(WAIT_MS))
			fail_msg("olsync never ready");
	}
	sim_http_free(&h);
	for (int i = 0; i < 3; i++) {
		char subject[32];

		snprintf(subject, sizeof(subject), "Dashboard %d", mail_seq++);
		free(e2e_mail_from_carol(world.graph.base_url, ALICE, subject, day_time));
	}
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", 3, mono_scaled(WAIT_MS)),
	    3);
	e2e_wait_status(&world, "logged", 3, WAIT_MS);
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/faults",
	    "{\"path\":\"" SF_DATA "composite/sobjects\",\"status\":400,"
	    "\"errorCode\":\"INVALID_FIELD\",\"message\":\"No such column on Task\"}", 200));
	free(e2e_mail_from_carol(world.graph.base_url, ALICE, "Dashboard dead", day_time));
	e2e_wait_status(&world, "dead", 1, WAIT_MS);
	assert_int_equal(e2e_dead_newest(&world, ext, sizeof(ext)), 1);

	if (ledger_open(db, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	cdp_start(&browser);
	url = xasprintf("%s/#token=%s", admin, token);
	cdp_open(&browser, url);
	page = page_matches(l, ext, 3);
	/* The token left the address bar; nothing was refused by the policy; no error shown. */
	assert_string_equal(e2e_field(page, "hash"), "");
	assert_int_equal(json_array_size(json_object_get(page, "csp")), 0);
	assert_string_equal(e2e_field(page, "error"), "");
	assert_string_equal(e2e_field(page, "ready"), "ready");
	json_decref(page);
	screenshot("dashboard.png");

	/* Retry, with a real click: revived, written, gone from the page. */
	sel = xasprintf("'#dead button[data-retry=\"%s\"]'", ext);
	cdp_click(&browser, sel);
	e2e_wait_status(&world, "dead", 0, WAIT_MS);
	e2e_wait_status(&world, "logged", 4, WAIT_MS);
	page = page_matches(l, "", 3);
	json_decref(page);
	screenshot("dashboard-after-retry.png");
	cdp_stop(&browser);
	ledger_close(l);
	/* A clean exit: under ASan a leak or an error in olsync makes it non-zero. */
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	free(sel);
	free(url);
	free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dashboard_shows_ledger),
	};

	if (find_chromium() == -1) {
		printf("SKIP: chromium is not installed (apt-get install chromium, or "
		    "scripts/deps.sh dashboard); the dashboard test needs it\n");
		return SKIP;
	}
	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
