/* test_secrets.c: olsync given distinctive secrets (the Graph client secret, the Salesforce
 * private key) runs every command it has (check-config -v, sync --once, run in real time with
 * subscriptions, status, show, dead, a SIGABRT and a SIGKILL), then everything it wrote is
 * searched: its output and logs, the ledger and any other file of the work directory. The
 * credentials, access tokens (Graph and Salesforce) and the JWT olsync signs appear nowhere;
 * the clientState secrets are in the ledger by design, never in a log. The same again with
 * Salesforce's refresh-token flow (consumer secret and refresh token in files; a second sf-sim
 * on a database file, so every access token it issued can be searched for), and with the
 * webhook served over TLS (its private key in a file). Also: a secret file readable by others
 * is refused, each of the four kinds, and the ledger is created mode 0600. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "e2e.h"
#include "ledger.h"
#include "mono.h"
#include "sf_fixture.h"
#include "sim_http.h"
#include "testdb.h"
#include "testkeys.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define ALICE	"alice@contoso.com"
#define FILE_MAX	(64 * 1024 * 1024)
#define SF_CONSUMER_SECRET	"sf-consumer-s3cret-for-test-7f3a9c"

static struct e2e_world world;
static struct e2e_daemon daemon_proc;
static int port;
static int admin_port;		/* admin_listen: /metrics and the dashboard, with a token */
/* The admin endpoint's token, in admin.token (0600): a needle like the other secrets. */
#define ADMIN_TOKEN	"AdminNeedle-7c41e0b9d2a35f86"
/* The refresh-token variant: its own sf-sim on a database file (in sf2_dir, outside the
 * searched world.dir), seeded with the world's people and an app with a consumer secret. */
static struct sf_fixture sf2;
static char sf2_dir[PATH_MAX];
static char *sf2_db, *refresh_token;
static char *conf_rt;		/* refresh token, plain HTTP webhook (world.dir/olsync-rt.conf) */
static char *conf_tls;		/* the same with the webhook on TLS (olsync-tls.conf) */

/* What olsync reads and the searches skip: the configurations and the secret files. */
static const char *const inputs[] = {
	"olsync.conf", "olsync-rt.conf", "olsync-tls.conf", "sf-key.pem", "sf-consumer.secret",
	"sf-refresh.token", "testkey1.pem", "testcert1.pem", "admin.token",
};
static char day_time[40];
static int mail_seq;

/* world.conf without the lines starting with one of drop (NULL-terminated), then the lines of
 * extra, written to world.dir/name. Returns the path; caller frees. */
static char *
conf_variant(const char *name, const char *const *drop, const char *extra)
{
	char *text = tmpdir_read(world.conf, 65536), *out = xstrdup(""), *line, *next, *t;

	for (line = text; *line != '\0'; line = next) {
		int keep = 1;

		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		for (size_t i = 0; drop[i] != NULL; i++)
			keep = keep && strncmp(line, drop[i], strlen(drop[i])) != 0;
		if (keep) {
			t = xasprintf("%s%s\n", out, line);
			free(out);
			out = t;
		}
	}
	t = xasprintf("%s%s", out, extra);
	tmpdir_write(world.dir, name, t, 0644);
	free(t);
	free(out);
	free(text);
	return xasprintf("%s/%s", world.dir, name);
}

/* The second sf-sim (the world's people, the app E2E_SF_APP with a consumer secret), a
 * refresh token it issued for the integration user, the secret files and the two variant
 * configurations (their own ledger, ledger-rt.db). -1 on failure. */
static int
variant_setup(void)
{
	static const char *const drop[] = { "sf_login_url ", "sf_auth ", "sf_username ",
		"sf_private_key_file ", "database ", "public_url ", NULL };
	char *app, *integ, *seed, *extra, *common;
	json_t *r;

	if (tmpdir_make(sf2_dir, sizeof(sf2_dir), "test_secrets_sf") == -1)
		return -1;
	sf2_db = xasprintf("%s/sf.db", sf2_dir);
	e2e_sf_login_seed(sf2_dir, &app, &integ);
	seed = xasprintf("{\"User\":[%s,%s],\"ConnectedApp\":[{\"consumerKey\":\"" E2E_SF_APP
	    "\",\"consumerSecret\":\"" SF_CONSUMER_SECRET "\"}],%s}", integ, E2E_SF_ALICE,
	    E2E_SF_CAROL);
	free(app);
	free(integ);
	if (sf_fixture_start(&sf2, sf2_db, seed) == -1) {
		free(seed);
		free(sf2_db);
		sf2_db = NULL;
		return -1;
	}
	free(seed);
	r = sim_http_ctl(sf2.p.base_url, "POST", "/_sim/token", "{\"username\":\"" E2E_SF_USER
	    "\",\"refresh\":true,\"consumer_key\":\"" E2E_SF_APP "\"}", 200);
	refresh_token = xstrdup(json_string_value(json_object_get(r, "refresh_token")));
	json_decref(r);
	tmpdir_write(world.dir, "sf-consumer.secret", SF_CONSUMER_SECRET "\n", 0600);
	tmpdir_write(world.dir, "sf-refresh.token", refresh_token, 0600);
	testkeys_write(1, world.dir, NULL, NULL);	/* testkey1.pem (0600), testcert1.pem */

	common = xasprintf("sf_login_url %s\nsf_auth refresh_token\n"
	    "sf_client_secret_file sf-consumer.secret\nsf_refresh_token_file sf-refresh.token\n"
	    "database ledger-rt.db\n", sf2.p.base_url);
	extra = xasprintf("%spublic_url http://127.0.0.1:%d\n", common, port);
	conf_rt = conf_variant("olsync-rt.conf", drop, extra);
	free(extra);
	/* The same port: the two never run at once. */
	extra = xasprintf("%spublic_url https://127.0.0.1:%d\ntls_certificate_file testcert1.pem\n"
	    "tls_private_key_file testkey1.pem\n", common, port);
	conf_tls = conf_variant("olsync-tls.conf", drop, extra);
	free(extra);
	free(common);
	return 0;
}

static int
setup(void **state)
{
	time_t t = time(NULL) - 3600;
	struct tm tm;
	char *extra;
	json_t *r;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(day_time, sizeof(day_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	port = e2e_free_port();
	admin_port = e2e_free_port();
	/* debug: the most olsync ever says; a secret must not be in any of it. The admin endpoint
	 * on loopback with a token (optional there; given, every request needs it). */
	extra = xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "admin_listen 127.0.0.1:%d\nadmin_token_file admin.token\n"
	    "reconcile_interval 1h\nretry_base 1s\nlog_level debug\n", port, port, admin_port);
	if (e2e_world_start(&world, "test_secrets",
	    E2E_SF_ALICE, E2E_SF_CAROL, "[" E2E_GRAPH_ALICE "]",
	    ALICE, extra) == -1) {
		free(extra);
		return -1;
	}
	free(extra);
	/* Read when olsync loads the configuration, as the other secret files are. */
	tmpdir_write(world.dir, "admin.token", ADMIN_TOKEN "\n", 0600);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false,\"retry_scale\":0.001}", 200);
	json_decref(r);
	return variant_setup();
}

static int
teardown(void **state)
{
	int rc = 0;

	(void)state;
	if (sf2_db != NULL && (sf_fixture_stop(&sf2) == -1 || tmpdir_remove(sf2_dir) == -1))
		rc = -1;
	free(sf2_db);
	free(refresh_token);
	free(conf_rt);
	free(conf_tls);
	if (e2e_world_teardown(&world, &daemon_proc) == -1)
		rc = -1;
	return rc;
}

/* One mail from Carol to Alice; returns its internetMessageId (caller frees). */
static char *
mail(void)
{
	char subject[64];

	snprintf(subject, sizeof(subject), "Secret test %d", mail_seq++);
	return e2e_mail_from_carol(world.graph.base_url, ALICE, subject, day_time);
}

/* Appends the text of one olsync run to all. */
static void
collect(char **all, char *text)
{
	char *n = xasprintf("%s%s\n", *all, text != NULL ? text : "");

	free(*all);
	free(text);
	*all = n;
}

/* A long line from the middle of the PEM key in dir/name: a piece of the key itself. */
static char *
pem_piece(const char *name)
{
	char *path = xasprintf("%s/%s", world.dir, name);
	char *pem = tmpdir_read(path, 65536), *line, *end;

	line = strchr(pem, '\n');
	assert_non_null(line);
	for (int i = 0; i < 5; i++)	/* past the first lines: well inside the key */
		line = strchr(line + 1, '\n');
	assert_non_null(line);
	line++;
	end = strchr(line, '\n');
	assert_non_null(end);
	*end = '\0';
	assert_true(strlen(line) >= 40);
	line = xstrdup(line);
	free(pem);
	free(path);
	return line;
}

/* The whole file at path (NULs and all) and its length; empty when it cannot be read. Caller
 * frees. */
static char *
read_whole(const char *path, size_t *len)
{
	struct stat sb;
	char *data;
	FILE *f;

	*len = 0;
	if (stat(path, &sb) == -1 || (f = fopen(path, "rb")) == NULL)
		return xcalloc(1, 1);
	assert_true(sb.st_size < FILE_MAX);
	data = xmalloc((size_t)sb.st_size + 1);
	*len = fread(data, 1, (size_t)sb.st_size, f);
	fclose(f);
	return data;
}

/* Fails naming where if needle is anywhere in the len bytes of data. */
static void
refuse_in(const char *where, const char *data, size_t len, const char *needle, const char *what)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(data + i, needle, n) == 0)
			fail_msg("%s found in %s at offset %zu", what, where, i);
}

/* The needles no output or file may hold. */
struct needle {
	const char *text;
	const char *what;
};

/* 1 when name is one of inputs[]. */
static int
is_input(const char *name)
{
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		if (strcmp(name, inputs[i]) == 0)
			return 1;
	return 0;
}

/* Every file under dir except the inputs (the configurations and the secret files) is searched
 * for the needles; returns how many files were searched. */
static int
search_dir(const char *dir, const struct needle *nd, size_t nn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char *path, *data;
		struct stat sb;
		size_t len;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    is_input(de->d_name))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		assert_int_equal(lstat(path, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			files += search_dir(path, nd, nn);
			free(path);
			continue;
		}
		data = read_whole(path, &len);
		for (size_t i = 0; i < nn; i++)
			refuse_in(path, data, len, nd[i].text, nd[i].what);
		files++;
		free(data);
		free(path);
	}
	closedir(d);
	return files;
}

/* 1 when text is in the file at path (a missing file holds nothing). */
static int
file_has(const char *path, const char *text)
{
	size_t len, n = strlen(text);
	char *data = read_whole(path, &len);
	int found = 0;

	for (size_t i = 0; !found && i + n <= len; i++)
		found = memcmp(data + i, text, n) == 0;
	free(data);
	return found;
}

static void
check_mode(const char *name, mode_t want)
{
	char *path = xasprintf("%s/%s", world.dir, name);
	struct stat sb;

	if (stat(path, &sb) == 0 && (sb.st_mode & 0777) != want)
		fail_msg("%s has mode %o, want %o", name, sb.st_mode & 0777, want);
	free(path);
}

/* The subscriptions in the ledger at target (at least want: waits up to 10 s for them).
 * *subs: caller frees with ledger_subs_free. */
static void
wait_subs(const char *target, size_t want, struct ledger_sub **subs, size_t *nsubs)
{
	char *path = xstrdup(target), err[256];
	struct ledger *l;

	*subs = NULL;
	*nsubs = 0;
	for (long waited = 0; waited < mono_scaled(10000) && *nsubs < want; waited += 100) {
		if (ledger_open(path, &l, err, sizeof(err)) == -1)
			fail_msg("ledger_open: %s", err);
		ledger_subs_free(*subs, *nsubs);
		*subs = NULL;
		if (ledger_sub_list(l, subs, nsubs) == -1)
			fail_msg("ledger_sub_list: %s", ledger_error(l));
		ledger_close(l);
		if (*nsubs < want)
			usleep(100 * 1000);
	}
	free(path);
	assert_int_equal(*nsubs, want);
}

/* Runs olsync -c conf with the arguments after it (at most 3) and must get exit 0; its output
 * goes to *all. */
static void
run_ok(char **all, const char *conf, const char *a1, const char *a2, const char *a3)
{
	char *o, *e;

	assert_int_equal(e2e_run(world.dir, &o, &e, "-c", conf, a1, a2, a3, NULL), 0);
	collect(all, o);
	collect(all, e);
}

/* The Tasks in sf_url, after olsync caught up (within 5 s): one per mail this test posted,
 * whichever Salesforce and ledger (a variant's new ledger logs the earlier mails too). */
static void
expect_all_logged(const char *sf_url)
{
	assert_int_equal(e2e_wait_records(sf_url, "Task", (size_t)mail_seq, 5000),
	    (size_t)mail_seq);
}

/* The admin endpoint used as a dashboard would, so the token passes through olsync: /metrics
 * with it (200), without it and with a wrong one (401). */
static void
admin_requests(void)
{
	static const char *const good[] = { "Authorization: Bearer " ADMIN_TOKEN, NULL };
	static const char *const bad[] = { "Authorization: Bearer " ADMIN_TOKEN "x", NULL };
	char *base = xasprintf("http://127.0.0.1:%d", admin_port);
	struct sim_http h;

	sim_http_do(&h, base, "GET", "/metrics", NULL, NULL, good);
	assert_int_equal(h.status, 200);
	sim_http_free(&h);
	sim_http_do(&h, base, "GET", "/api/summary", NULL, NULL, NULL);
	assert_int_equal(h.status, 401);
	sim_http_free(&h);
	sim_http_do(&h, base, "GET", "/api/summary", NULL, NULL, bad);
	assert_int_equal(h.status, 401);
	sim_http_free(&h);
	free(base);
}

/* Every command with the configuration conf (its ledger's target, its Salesforce sf_url): one
 * pass, status, show, dead, real time with subscriptions and a notified mail, a SIGABRT and a
 * SIGKILL amid work and a pass that catches up. What olsync wrote goes to *all, the
 * subscriptions it made to *subs (inbox, sent items, calendar). */
static void
exercise(const char *conf, const char *target, const char *sf_url, char **all,
    struct ledger_sub **subs, size_t *nsubs)
{
	char *mid = mail();
	int status;

	run_ok(all, conf, "check-config", "-v", NULL);
	run_ok(all, conf, "sync", "--once", NULL);
	expect_all_logged(sf_url);
	run_ok(all, conf, "status", NULL, NULL);
	run_ok(all, conf, "show", mid, NULL);
	run_ok(all, conf, "dead", NULL, NULL);
	free(mid);

	/* Real time: subscriptions made (so clientState secrets exist), a mail notified. */
	e2e_daemon_start(&daemon_proc, world.dir, conf, port);
	wait_subs(target, 3, subs, nsubs);
	free(mail());
	expect_all_logged(sf_url);
	admin_requests();
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	collect(all, e2e_daemon_log(&daemon_proc));

	/* A crash: SIGABRT in the middle of work, then SIGKILL. */
	for (int sig = SIGABRT; sig != 0; sig = sig == SIGABRT ? SIGKILL : 0) {
		e2e_daemon_start(&daemon_proc, world.dir, conf, port);
		free(mail());
		usleep(300 * 1000);
		kill(daemon_proc.pid, sig);
		status = e2e_daemon_stop(&daemon_proc);
		assert_int_equal(status, 128 + sig);
		collect(all, e2e_daemon_log(&daemon_proc));
	}
	/* What the crashes left is caught up by the next pass. */
	run_ok(all, conf, "sync", "--once", NULL);
	expect_all_logged(sf_url);
}

/* No needle is in all (what olsync printed and logged) or in a file of world.dir. */
static void
refuse_everywhere(const char *all, const struct needle *nd, size_t nn)
{
	for (size_t i = 0; i < nn; i++)
		refuse_in("olsync's output", all, strlen(all), nd[i].text, nd[i].what);
	/* The ledger, its -wal and -shm, the output files: at least the ledger and logs. */
	assert_true(search_dir(world.dir, nd, nn) >= 3);
}

/* The clientStates are in the ledger file dbname of world.dir (which shows the search can find a
 * stored string; a SQLite ledger only), and nowhere in what olsync printed or logged. */
static void
client_states_kept(const char *all, const char *dbname, const struct ledger_sub *subs,
    size_t nsubs)
{
	char *path = xasprintf("%s/%s", world.dir, dbname), *wal = xasprintf("%s-wal", path);

	for (size_t i = 0; i < nsubs; i++) {
		assert_true(strlen(subs[i].client_state) >= 32);
		assert_true(test_database_is_pg() || file_has(path, subs[i].client_state) ||
		    file_has(wal, subs[i].client_state));
		refuse_in("olsync's output", all, strlen(all), subs[i].client_state,
		    "a clientState");
	}
	free(path);
	free(wal);
}

/* Graph access tokens and the Salesforce JWT bearer assertion are JWTs: "eyJ" is the base64url
 * of their '{"' header. Salesforce session ids are "<org id>!AQ...". */
#define GENERIC_NEEDLES \
	{ E2E_GRAPH_SECRET, "the Graph client secret" }, \
	{ ADMIN_TOKEN, "the admin endpoint's token" }, \
	{ "PRIVATE KEY", "a PEM private key" }, \
	{ "eyJ", "a JWT (Graph access token or Salesforce assertion)" }, \
	{ "!AQ", "a Salesforce access token" }

/* Every command, then a search of everything written. */
static void
test_nothing_leaks(void **state)
{
	char *all = xstrdup(""), *key_piece = pem_piece("sf-key.pem");
	struct ledger_sub *subs;
	size_t nsubs;

	(void)state;
	exercise(world.conf, world.database, world.sf.p.base_url, &all, &subs, &nsubs);
	{
		const struct needle nd[] = {
			GENERIC_NEEDLES,
			{ key_piece, "a piece of the Salesforce private key" },
		};

		refuse_everywhere(all, nd, sizeof(nd) / sizeof(nd[0]));
	}
	client_states_kept(all, "ledger.db", subs, nsubs);
	ledger_subs_free(subs, nsubs);
	if (!test_database_is_pg()) {	/* the files of a SQLite ledger */
		check_mode("ledger.db", 0600);
		check_mode("ledger.db-wal", 0600);
		check_mode("ledger.db-shm", 0600);
	}
	free(key_piece);
	free(all);
}

/* The access tokens sf2 issued to olsync's app (read from its database); at least one, and
 * one of the refresh-token flow (scope "refresh_token api"). *n gets the count; caller frees
 * each and the array. */
static char **
sf2_tokens(size_t *n)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	char **v = NULL;
	int refreshed = 0;

	*n = 0;
	assert_int_equal(sqlite3_open_v2(sf2_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT token, scope FROM sim_token WHERE "
	    "consumer_key = '" E2E_SF_APP "'", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *scope = (const char *)sqlite3_column_text(st, 1);

		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup((const char *)sqlite3_column_text(st, 0));
		refreshed |= scope != NULL && strstr(scope, "refresh_token") != NULL;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(*n >= 1);
	assert_true(refreshed);
	return v;
}

static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* GET url over TLS trusting only ca_pem (the test certificate names olsync-test-1, not
 * 127.0.0.1: the name is not checked, the chain is); the status, or 0 when no answer. */
static long
https_status(const char *url, const char *ca_pem)
{
	CURL *c = curl_easy_init();
	struct curl_blob ca = { (void *)ca_pem, strlen(ca_pem), CURL_BLOB_COPY };
	long status = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, mono_scaled(2000));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

/* The webhook on TLS: check-config -v, and `olsync run` serving HTTPS with the key (a client
 * trusting only its certificate gets /healthz), logging a mail in its first pass, then a
 * SIGABRT. (No subscription is waited for: graph-sim's validation request would not trust the
 * test certificate.) What olsync wrote goes to *all. */
static void
exercise_tls(char **all)
{
	char *path = xasprintf("%s/testcert1.pem", world.dir), *cert = tmpdir_read(path, 65536);
	long status = 0;
	char *url;

	free(path);
	run_ok(all, conf_tls, "check-config", "-v", NULL);
	free(mail());
	e2e_daemon_start(&daemon_proc, world.dir, conf_tls, 0);
	url = xasprintf("https://127.0.0.1:%d/healthz", port);
	for (long waited = 0; waited < mono_scaled(10000) && status != 200; waited += 100) {
		if ((status = https_status(url, cert)) != 200)
			usleep(100 * 1000);
	}
	assert_int_equal(status, 200);
	expect_all_logged(sf2.p.base_url);
	kill(daemon_proc.pid, SIGABRT);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 128 + SIGABRT);
	collect(all, e2e_daemon_log(&daemon_proc));
	free(url);
	free(cert);
}

/* Salesforce by the refresh-token flow, and the webhook on TLS: the consumer secret, the
 * refresh token, every access token sf2 issued and the TLS private key appear nowhere. */
static void
test_refresh_token_tls_leak_nothing(void **state)
{
	char *all = xstrdup(""), *key_piece = pem_piece("testkey1.pem");
	struct ledger_sub *subs;
	size_t nsubs, ntok;
	char **tok, *rt_db = xasprintf("%s/ledger-rt.db", world.dir);

	(void)state;
	exercise(conf_rt, rt_db, sf2.p.base_url, &all, &subs, &nsubs);
	free(rt_db);
	exercise_tls(&all);
	tok = sf2_tokens(&ntok);
	{
		const struct needle fixed[] = {
			GENERIC_NEEDLES,
			{ SF_CONSUMER_SECRET, "the Salesforce consumer secret" },
			{ refresh_token, "the Salesforce refresh token" },
			{ key_piece, "a piece of the TLS private key" },
		};
		size_t nn = sizeof(fixed) / sizeof(fixed[0]);
		struct needle *nd = xcalloc(nn + ntok, sizeof(*nd));

		memcpy(nd, fixed, sizeof(fixed));
		for (size_t i = 0; i < ntok; i++)
			nd[nn++] = (struct needle){ tok[i], "an access token sf-sim issued" };
		refuse_everywhere(all, nd, nn);
		free(nd);
	}
	client_states_kept(all, "ledger-rt.db", subs, nsubs);
	ledger_subs_free(subs, nsubs);
	check_mode("ledger-rt.db", 0600);
	for (size_t i = 0; i < ntok; i++)
		free(tok[i]);
	free(tok);
	free(key_piece);
	free(all);
}

/* A secret file others can read is refused by every command that loads the configuration:
 * each kind of secret file, under the configuration that names it. */
static void
test_open_secret_file_refused(void **state)
{
	const struct {
		const char *file, *conf;
	} cases[] = {
		{ "sf-key.pem", world.conf },
		{ "sf-consumer.secret", conf_rt },
		{ "sf-refresh.token", conf_rt },
		{ "testkey1.pem", conf_tls },
		{ "admin.token", world.conf },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = xasprintf("%s/%s", world.dir, cases[i].file), *e;

		assert_int_equal(chmod(path, 0644), 0);
		assert_int_not_equal(e2e_run(world.dir, NULL, &e, "-c", cases[i].conf,
		    "check-config", NULL), 0);
		if (strstr(e, cases[i].file) == NULL || strstr(e, "group or others") == NULL)
			fail_msg("%s readable by others, check-config said: %s", cases[i].file, e);
		free(e);
		assert_int_not_equal(e2e_run(world.dir, NULL, &e, "-c", cases[i].conf, "sync",
		    "--once", NULL), 0);
		assert_non_null(strstr(e, "group or others"));
		free(e);
		assert_int_equal(chmod(path, 0600), 0);
		assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", cases[i].conf,
		    "check-config", NULL), 0);
		free(path);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_leaks),
		cmocka_unit_test(test_refresh_token_tls_leak_nothing),
		cmocka_unit_test(test_open_secret_file_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
