/* test_secrets.c: olsync given distinctive secrets (the Graph client secret, the Salesforce
 * private key) runs every command it has (check-config -v, sync --once, run in real time with
 * subscriptions, status, show, dead, a SIGABRT and a SIGKILL), then everything it wrote is
 * searched: its output and logs, the ledger and any other file of the work directory. The
 * credentials, access tokens (Graph and Salesforce) and the JWT olsync signs appear nowhere;
 * the clientState secrets are in the ledger by design, never in a log. Also: a secret file
 * readable by others is refused, and the ledger is created mode 0600. */
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

#include <jansson.h>

#include "e2e.h"
#include "ledger.h"
#include "sim_http.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define ALICE	"alice@contoso.com"
#define FILE_MAX	(64 * 1024 * 1024)

static struct e2e_world world;
static struct e2e_daemon daemon_proc;
static int port;
static char day_time[40];
static int mail_seq;

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
	/* debug: the most olsync ever says; a secret must not be in any of it. */
	extra = xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "reconcile_interval 1h\nretry_base 1s\nlog_level debug\n", port, port);
	if (e2e_world_start(&world, "test_secrets",
	    E2E_SF_ALICE, E2E_SF_CAROL, "[" E2E_GRAPH_ALICE "]",
	    ALICE, extra) == -1) {
		free(extra);
		return -1;
	}
	free(extra);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false,\"retry_scale\":0.001}", 200);
	json_decref(r);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_teardown(&world, &daemon_proc);
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

/* Every file under dir except the inputs (the configuration and the key file) is searched for
 * the needles; returns how many files were searched. */
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
		    strcmp(de->d_name, "olsync.conf") == 0 || strcmp(de->d_name, "sf-key.pem") == 0)
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

/* Every command, then a search of everything written. */
static void
test_nothing_leaks(void **state)
{
	char *all = xstrdup(""), *o, *e, *mid, *key_piece, *path, *wal;
	struct ledger *l;
	struct ledger_sub *subs = NULL;
	size_t nsubs = 0, before;
	char err[256];
	int status;

	(void)state;
	key_piece = pem_piece("sf-key.pem");
	mid = mail();

	assert_int_equal(e2e_run(world.dir, &o, &e, "-c", world.conf, "check-config", "-v",
	    NULL), 0);
	collect(&all, o);
	collect(&all, e);
	assert_int_equal(e2e_run(world.dir, &o, &e, "-c", world.conf, "sync", "--once", NULL), 0);
	collect(&all, o);
	collect(&all, e);
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", 1, 5000), 1);
	assert_int_equal(e2e_run(world.dir, &o, &e, "-c", world.conf, "status", NULL), 0);
	collect(&all, o);
	collect(&all, e);
	assert_int_equal(e2e_run(world.dir, &o, &e, "-c", world.conf, "show", mid, NULL), 0);
	collect(&all, o);
	collect(&all, e);
	assert_int_equal(e2e_run(world.dir, &o, &e, "-c", world.conf, "dead", NULL), 0);
	collect(&all, o);
	collect(&all, e);
	free(mid);

	/* Real time: subscriptions made (so clientState secrets exist), a mail notified. */
	e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
	for (int waited = 0; waited < 10000 && nsubs < 3; waited += 100) {
		path = xasprintf("%s/ledger.db", world.dir);
		if (ledger_open(path, &l, err, sizeof(err)) == -1)
			fail_msg("ledger_open: %s", err);
		ledger_subs_free(subs, nsubs);
		subs = NULL;
		if (ledger_sub_list(l, &subs, &nsubs) == -1)
			fail_msg("ledger_sub_list: %s", ledger_error(l));
		ledger_close(l);
		free(path);
		if (nsubs < 3)
			usleep(100 * 1000);
	}
	assert_int_equal(nsubs, 3);	/* inbox, sent items, calendar */
	free(mail());
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", 2, 5000), 2);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	collect(&all, e2e_daemon_log(&daemon_proc));

	/* A crash: SIGABRT in the middle of work, then SIGKILL. */
	for (int sig = SIGABRT; sig != 0; sig = sig == SIGABRT ? SIGKILL : 0) {
		e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
		free(mail());
		usleep(300 * 1000);
		kill(daemon_proc.pid, sig);
		status = e2e_daemon_stop(&daemon_proc);
		assert_int_equal(status, 128 + sig);
		collect(&all, e2e_daemon_log(&daemon_proc));
	}
	/* What the crashes left is caught up by the next pass. */
	before = 2;
	assert_int_equal(e2e_run(world.dir, &o, &e, "-c", world.conf, "sync", "--once", NULL), 0);
	collect(&all, o);
	collect(&all, e);
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", before + 2, 5000),
	    before + 2);

	{
		/* Graph access tokens and the Salesforce JWT bearer assertion are JWTs: "eyJ" is
		 * the base64url of their '{"' header. Salesforce session ids are "<org id>!AQ...". */
		const struct needle nd[] = {
			{ E2E_GRAPH_SECRET, "the Graph client secret" },
			{ key_piece, "a piece of the Salesforce private key" },
			{ "PRIVATE KEY", "a PEM private key" },
			{ "eyJ", "a JWT (Graph access token or Salesforce assertion)" },
			{ "!AQ", "a Salesforce access token" },
		};
		size_t nn = sizeof(nd) / sizeof(nd[0]);

		for (size_t i = 0; i < nn; i++)
			refuse_in("olsync's output", all, strlen(all), nd[i].text, nd[i].what);
		/* The ledger, its -wal and -shm, the output files: at least the ledger and logs. */
		assert_true(search_dir(world.dir, nd, nn) >= 3);
	}
	/* The clientStates are in the ledger (which shows the search above can find a stored
	 * string), and nowhere in what olsync printed or logged. */
	path = xasprintf("%s/ledger.db", world.dir);
	wal = xasprintf("%s/ledger.db-wal", world.dir);
	for (size_t i = 0; i < nsubs; i++) {
		assert_true(strlen(subs[i].client_state) >= 32);
		assert_true(file_has(path, subs[i].client_state) ||
		    file_has(wal, subs[i].client_state));
		refuse_in("olsync's output", all, strlen(all), subs[i].client_state,
		    "a clientState");
	}
	free(path);
	free(wal);
	ledger_subs_free(subs, nsubs);
	check_mode("ledger.db", 0600);
	check_mode("ledger.db-wal", 0600);
	check_mode("ledger.db-shm", 0600);
	free(key_piece);
	free(all);
}

/* A secret file others can read is refused by every command that loads the configuration. */
static void
test_open_secret_file_refused(void **state)
{
	char *path = xasprintf("%s/sf-key.pem", world.dir), *e;

	(void)state;
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_not_equal(e2e_run(world.dir, NULL, &e, "-c", world.conf, "check-config",
	    NULL), 0);
	assert_non_null(strstr(e, "sf-key.pem"));
	assert_non_null(strstr(e, "group or others"));
	free(e);
	assert_int_not_equal(e2e_run(world.dir, NULL, &e, "-c", world.conf, "sync", "--once",
	    NULL), 0);
	assert_non_null(strstr(e, "group or others"));
	free(e);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "check-config", NULL),
	    0);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_leaks),
		cmocka_unit_test(test_open_secret_file_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
