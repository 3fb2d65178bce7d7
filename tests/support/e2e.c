/* e2e.c: the real olsync against graph-sim and sf-sim (see e2e.h). */
#include "e2e.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graph_fixture.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testdb.h"
#include "testkeys.h"
#include "tmpdir.h"
#include "xmalloc.h"

char *
e2e_graph_seed(const char *users)
{
	return xasprintf("{\"tenant\":{\"domain\":\"contoso.com\"},"
	    "\"apps\":[{\"clientId\":\"" E2E_GRAPH_APP "\",\"secret\":\"" E2E_GRAPH_SECRET "\","
	    "\"roles\":[\"Mail.Read\",\"User.Read.All\",\"Calendars.Read\"]}],"
	    "\"users\":%s}", users);
}

void
e2e_sf_login_seed(const char *dir, char **app, char **user)
{
	char *key, *cert, *certjson;
	json_t *cs;

	testkeys_pem(0, &key, &cert);
	cs = json_string(cert);
	certjson = json_dumps(cs, JSON_ENCODE_ANY);
	json_decref(cs);
	*app = xasprintf("\"ConnectedApp\":[{\"consumerKey\":\"" E2E_SF_APP "\","
	    "\"certificate\":%s}]", certjson);
	*user = xstrdup("{\"_key\":\"integ\",\"Username\":\"" E2E_SF_USER "\","
	    "\"Email\":\"" E2E_SF_USER "\",\"LastName\":\"Integration\",\"Alias\":\"olsync\"}");
	tmpdir_write(dir, "sf-key.pem", key, 0600);
	free(certjson);
	free(cert);
	free(key);
}

/* The databases handed out, one per directory, for the life of the process. */
struct e2e_db {
	struct e2e_db	*next;
	char		*dir;
	char		*target;
};
static struct e2e_db *e2e_dbs;

/* Drops the database handed out for dir (PostgreSQL: the server keeps no world's data). */
static int
database_forget(const char *dir)
{
	struct e2e_db **p, *d;
	int rc = 0;

	for (p = &e2e_dbs; (d = *p) != NULL; p = &d->next)
		if (strcmp(d->dir, dir) == 0) {
			rc = test_database_drop(d->target);
			*p = d->next;
			free(d->dir);
			free(d->target);
			free(d);
			break;
		}
	return rc;
}

const char *
e2e_database(const char *dir)
{
	struct e2e_db *d;
	char *target;

	for (d = e2e_dbs; d != NULL; d = d->next)
		if (strcmp(d->dir, dir) == 0)
			return d->target;
	if ((target = test_database(dir, "ledger.db")) == NULL)
		fail_msg("no database for %s (OL_TEST_PG_URL_FILE)", dir);
	d = xcalloc(1, sizeof(*d));
	d->dir = xstrdup(dir);
	d->target = target;
	d->next = e2e_dbs;
	e2e_dbs = d;
	return d->target;
}

char *
e2e_config_write(const char *dir, const char *graph_url, const char *sf_url,
    const char *mailboxes, const char *extra)
{
	/* a SQLite file is named relative to the configuration, as before */
	const char *db = test_database_is_pg() ? e2e_database(dir) : "ledger.db";
	char *conf;

	setenv("OLSYNC_TEST_GRAPH_SECRET", E2E_GRAPH_SECRET, 1);
	conf = xasprintf(
	    "# olsync against the emulators\n"
	    "graph_tenant contoso.com\n"
	    "graph_client_id " E2E_GRAPH_APP "\n"
	    "graph_client_secret env:OLSYNC_TEST_GRAPH_SECRET\n"
	    "graph_base_url %s/v1.0\n"
	    "graph_login_url %s\n"
	    "sf_login_url %s\n"
	    "sf_auth jwt\n"
	    "sf_client_id " E2E_SF_APP "\n"
	    "sf_username " E2E_SF_USER "\n"
	    "sf_private_key_file sf-key.pem\n"
	    "mailboxes %s\n"
	    "internal_domains contoso.com\n"
	    "database %s\n"
	    "%s",
	    graph_url, graph_url, sf_url, mailboxes, db, extra != NULL ? extra : "");
	tmpdir_write(dir, "olsync.conf", conf, 0644);
	free(conf);
	return xasprintf("%s/olsync.conf", dir);
}

void
e2e_reps(int n, char **sf_users, char **graph_users, char **mailboxes)
{
	/* Streams, not string after string: a bench asks for 10,000 reps. */
	size_t ls, lg, lm;
	FILE *fs = open_memstream(sf_users, &ls), *fg = open_memstream(graph_users, &lg);
	FILE *fm = open_memstream(mailboxes, &lm);

	if (fs == NULL || fg == NULL || fm == NULL)
		fail_msg("open_memstream");
	fputc('[', fg);
	for (int i = 0; i < n; i++) {
		const char *sep = i ? "," : "";

		fprintf(fs, "%s{\"_key\":\"rep%d\",\"Username\":\"rep%d@contoso.com\","
		    "\"Email\":\"rep%d@contoso.com\",\"LastName\":\"Rep %d\",\"Alias\":\"rep%d\"}",
		    sep, i, i, i, i, i);
		fprintf(fg, "%s{\"userPrincipalName\":\"rep%d@contoso.com\","
		    "\"displayName\":\"Rep %d\"}", sep, i, i);
		fprintf(fm, "%srep%d@contoso.com", i ? ", " : "", i);
	}
	fputc(']', fg);
	fclose(fs);
	fclose(fg);
	fclose(fm);
}

/* e2e_run and e2e_run_usage: ru (may be NULL) gets the child's resource usage. */
static int
run_olsync(const char *dir, struct rusage *ru, char **out, char **errout, va_list ap)
{
	char *argv[16], *opath, *epath, *o, *e;
	pid_t pid;
	int n = 0, status;
	struct rusage local;

	argv[n++] = (char *)sim_proc_binary("olsync");
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	argv[n] = NULL;
	opath = xasprintf("%s/stdout", dir);
	epath = xasprintf("%s/stderr", dir);
	if ((pid = fork()) == -1)
		fail_msg("fork");
	if (pid == 0) {
		int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fo == -1 || fe == -1)
			_exit(127);
		dup2(fo, 1);
		dup2(fe, 2);
		sim_proc_exec(argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, ru != NULL ? ru : &local) == -1)
		fail_msg("wait4");
	o = tmpdir_read(opath, E2E_OUT_MAX);
	e = tmpdir_read(epath, E2E_OUT_MAX);
	fprintf(stderr, "--- olsync");
	for (int i = 1; i < n; i++)
		fprintf(stderr, " %s", argv[i]);
	fprintf(stderr, ": exit %d\n%s", WIFEXITED(status) ? WEXITSTATUS(status) : 128, e);
	if (out != NULL)
		*out = o;
	else
		free(o);
	if (errout != NULL)
		*errout = e;
	else
		free(e);
	free(opath);
	free(epath);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
e2e_run(const char *dir, char **out, char **errout, ...)
{
	va_list ap;
	int rc;

	va_start(ap, errout);
	rc = run_olsync(dir, NULL, out, errout, ap);
	va_end(ap);
	return rc;
}

int
e2e_run_usage(const char *dir, struct rusage *ru, char **out, char **errout, ...)
{
	va_list ap;
	int rc;

	va_start(ap, errout);
	rc = run_olsync(dir, ru, out, errout, ap);
	va_end(ap);
	return rc;
}

char *
e2e_replace(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from), *r;

	if (p == NULL)
		fail_msg("no '%s' in the text", from);
	r = xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	free(s);
	return r;
}

int
e2e_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd == -1)
		fail_msg("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		fail_msg("bind to a free port");
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

void
e2e_daemon_spawn(struct e2e_daemon *dm, const char *dir, const char *conf,
    const char *const *args)
{
	char *argv[12] = { (char *)sim_proc_binary("olsync"), "-c", (char *)conf };
	int n = 3;

	for (int i = 0; args[i] != NULL && n < 11; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	snprintf(dm->log, sizeof(dm->log), "%s/daemon.log", dir);
	if ((dm->pid = fork()) == -1)
		fail_msg("fork");
	if (dm->pid == 0) {
		int fd = open(dm->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd == -1)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		sim_proc_exec(argv);
		_exit(127);
	}
}

void
e2e_daemon_start(struct e2e_daemon *dm, const char *dir, const char *conf, int port)
{
	static const char *const run[] = { "run", NULL };
	char *base;
	int i, n;

	/* A test that failed with its daemon running left it in dm: stop it first, or it outlives
	 * the program (a group's teardown stops only the last one). */
	if (dm->pid > 0) {
		fprintf(stderr, "e2e: stopping the daemon a failed test left running\n");
		(void)e2e_daemon_stop(dm);
	}
	e2e_daemon_spawn(dm, dir, conf, run);
	if (port == 0)
		return;
	base = xasprintf("http://127.0.0.1:%d", port);
	for (i = 0, n = (int)mono_scaled(200); i < n; i++) {
		struct sim_http h;
		int up;

		sim_http_do(&h, base, "GET", "/healthz", NULL, NULL, NULL);
		up = h.status == 200;
		sim_http_free(&h);
		if (up)
			break;
		if (waitpid(dm->pid, NULL, WNOHANG) == dm->pid) {
			dm->pid = 0;
			fail_msg("olsync run exited at start (log: %s)", dm->log);
		}
		usleep(50 * 1000);
	}
	free(base);
	if (i == n)
		fail_msg("olsync run is not serving port %d after %d s", port, n / 20);
}

void
e2e_daemon_signal(struct e2e_daemon *dm, int sig)
{
	if (dm->pid > 0)
		kill(dm->pid, sig);
}

int
e2e_daemon_stop(struct e2e_daemon *dm)
{
	char *log;
	int status = 0, i, n = (int)mono_scaled(400);

	if (dm->pid <= 0)
		return -1;
	kill(dm->pid, SIGTERM);
	for (i = 0; i < n; i++) {
		if (waitpid(dm->pid, &status, WNOHANG) == dm->pid)
			break;
		usleep(50 * 1000);
	}
	if (i == n) {
		kill(dm->pid, SIGKILL);
		waitpid(dm->pid, &status, 0);
	}
	dm->pid = 0;
	log = e2e_daemon_log(dm);
	fprintf(stderr, "--- olsync run log (%s):\n%s", dm->log, log);
	free(log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *
e2e_daemon_log(const struct e2e_daemon *dm)
{
	return tmpdir_read(dm->log, E2E_OUT_MAX * 8);
}

int
e2e_daemon_wait_log(const struct e2e_daemon *dm, const char *what, long timeout_ms)
{
	timeout_ms = mono_scaled(timeout_ms);
	for (long waited = 0;; waited += 50) {
		char *log = e2e_daemon_log(dm);
		int found = strstr(log, what) != NULL;

		free(log);
		if (found || waited >= timeout_ms)
			return found;
		usleep(50 * 1000);
	}
}

size_t
e2e_wait_records(const char *sf_url, const char *sobject, size_t n, long timeout_ms)
{
	size_t got = 0;

	timeout_ms = mono_scaled(timeout_ms);
	for (long waited = 0;; waited += 20) {
		json_t *recs = e2e_records(sf_url, sobject);

		got = json_array_size(recs);
		json_decref(recs);
		if (got >= n || waited >= timeout_ms)
			return got;
		usleep(20 * 1000);
	}
}

char *
e2e_mail_from_carol(const char *graph_url, const char *to, const char *subject,
    const char *date)
{
	json_t *m = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "from",
	    "Carol Chen <carol@fabrikam.com>", "to", to, "subject", subject, "body", subject,
	    "date", date);
	char *b = json_dumps(m, JSON_COMPACT), *mid;
	json_t *r = sim_http_ctl(graph_url, "POST", "/_sim/mail", b, 201);

	mid = xstrdup(json_string_value(json_object_get(r, "internetMessageId")));
	json_decref(r);
	json_decref(m);
	free(b);
	return mid;
}

long
e2e_route_calls(const char *base, const char *part)
{
	json_t *s = sim_http_ctl(base, "GET", "/_sim/stats", NULL, 200), *v;
	const char *k;
	long n = 0;

	json_object_foreach(json_object_get(s, "routes"), k, v)
		if (strstr(k, part) != NULL)
			n += (long)json_integer_value(v);
	json_decref(s);
	return n;
}

long
e2e_sf_api_calls(const char *sf_url)
{
	json_t *s = sim_http_ctl(sf_url, "GET", "/_sim/stats", NULL, 200);
	long n = (long)json_integer_value(json_object_get(s, "api_calls"));

	json_decref(s);
	return n;
}

size_t
e2e_record_count(const char *sf_url, const char *sobject)
{
	json_t *recs = e2e_records(sf_url, sobject);
	size_t n = json_array_size(recs);

	json_decref(recs);
	return n;
}

int
e2e_world_teardown(struct e2e_world *w, struct e2e_daemon *dm)
{
	if (dm != NULL && dm->pid > 0)
		e2e_daemon_stop(dm);
	return e2e_world_stop(w);
}

json_t *
e2e_records(const char *sf_url, const char *sobject)
{
	char *path = xasprintf("/_sim/records/%s", sobject);
	json_t *r = sim_http_ctl(sf_url, "GET", path, NULL, 200);
	json_t *recs = json_incref(json_object_get(r, "records"));

	free(path);
	json_decref(r);
	return recs;
}

json_t *
e2e_records_unless(const char *sf_url, const char *sobject, const char *flag)
{
	json_t *all = e2e_records(sf_url, sobject), *out = json_array(), *r;
	size_t i;

	json_array_foreach(all, i, r)
		if (!json_is_true(json_object_get(r, flag)))
			json_array_append(out, r);
	json_decref(all);
	return out;
}

size_t
e2e_count(json_t *recs, const char *field, const char *value)
{
	json_t *r;
	size_t i, n = 0;

	json_array_foreach(recs, i, r) {
		const char *v = json_string_value(json_object_get(r, field));

		if (v != NULL && strcmp(v, value) == 0)
			n++;
	}
	return n;
}

json_t *
e2e_find(json_t *recs, const char *field, const char *value)
{
	json_t *r, *found = NULL;
	size_t i, n = 0;

	json_array_foreach(recs, i, r) {
		const char *v = json_string_value(json_object_get(r, field));

		if (v != NULL && strcmp(v, value) == 0) {
			found = r;
			n++;
		}
	}
	if (n != 1)
		fail_msg("%zu records with %s = %s, want 1", n, field, value);
	return found;
}

const char *
e2e_field(json_t *rec, const char *name)
{
	const char *v = json_string_value(json_object_get(rec, name));

	return v != NULL ? v : "(null)";
}

void
e2e_digest(const char *internet_message_id, char out[NORMALIZE_DIGEST_LEN + 1])
{
	char err[128], *key;

	if (internet_message_id == NULL)
		fail_msg("no internetMessageId");
	if ((key = normalize_message_id(internet_message_id, err, sizeof(err))) == NULL)
		fail_msg("bad internetMessageId %s: %s", internet_message_id, err);
	normalize_digest(key, out);
	free(key);
}

char *
e2e_status(const struct e2e_world *w)
{
	char *out = NULL;

	assert_int_equal(e2e_run(w->dir, &out, NULL, "-c", w->conf, "status", NULL), 0);
	return out;
}

void
e2e_wait_status(const struct e2e_world *w, const char *state, long long want, long timeout_ms)
{
	long t0 = mono_ms();

	for (;;) {
		char *out = e2e_status(w);
		long long got = e2e_status_count(out, state);

		free(out);
		if (got == want)
			return;
		if (mono_ms() - t0 > mono_scaled(timeout_ms))
			fail_msg("status %s stayed %lld, not %lld", state, got, want);
		mono_sleep(200);
	}
}

int
e2e_dead_newest(const struct e2e_world *w, char *ext, size_t len)
{
	char *out = NULL, *sp, *last;
	int n;

	/* Lines "DIGEST KEY attempts=.. reason=..", newest first, then "N dead". */
	assert_int_equal(e2e_run(w->dir, &out, NULL, "-c", w->conf, "dead", NULL), 0);
	last = strstr(out, " dead\n");
	assert_non_null(last);
	while (last > out && last[-1] != '\n')
		last--;
	n = atoi(last);
	ext[0] = '\0';
	if (n > 0 && (sp = strchr(out, ' ')) != NULL)
		snprintf(ext, len, "%.*s", (int)(sp - out), out);
	free(out);
	return n;
}

long long
e2e_status_count(const char *out, const char *state)
{
	const char *p = strstr(out, state);

	if (p == NULL)
		fail_msg("no '%s' in status output", state);
	return strtoll(p + strlen(state), NULL, 10);
}

/* e2e_world_start and e2e_world_start_file: graph-sim seeded with the text gseed, or from the
 * file gseed_file. */
static int
world_start(struct e2e_world *w, const char *name, const char *sf_users, const char *sf_rest,
    const char *gseed, const char *gseed_file, const char *mailboxes, const char *extra)
{
	char *seed, *app, *integ;
	json_t *seeded = NULL;
	int rc;

	if (w->dir[0] == '\0' && tmpdir_make(w->dir, sizeof(w->dir), name) == -1)
		return -1;
	e2e_sf_login_seed(w->dir, &app, &integ);
	seed = xasprintf("{\"User\":[%s,%s],%s,%s}", integ, sf_users, app, sf_rest);
	free(app);
	free(integ);
	if (sf_fixture_start(&w->sf, NULL, seed) == -1) {
		free(seed);
		return -1;
	}
	free(seed);
	if (gseed_file != NULL)
		rc = graph_fixture_start_file(&w->graph, gseed_file, E2E_SEED_FILE_MS);
	else
		rc = graph_fixture_start(&w->graph, NULL, gseed, &seeded);
	if (rc == -1) {
		sf_fixture_stop(&w->sf);
		return -1;
	}
	json_decref(seeded);
	w->database = e2e_database(w->dir);
	w->conf = e2e_config_write(w->dir, w->graph.base_url, w->sf.p.base_url, mailboxes, extra);
	return 0;
}

int
e2e_world_start(struct e2e_world *w, const char *name, const char *sf_users,
    const char *sf_rest, const char *graph_users, const char *mailboxes, const char *extra)
{
	char *gseed = e2e_graph_seed(graph_users);
	int rc;

	w->dir[0] = '\0';
	rc = world_start(w, name, sf_users, sf_rest, gseed, NULL, mailboxes, extra);
	free(gseed);
	return rc;
}

int
e2e_world_start_file(struct e2e_world *w, const char *sf_users, const char *sf_rest,
    const char *graph_seed_file, const char *mailboxes, const char *extra)
{
	return world_start(w, NULL, sf_users, sf_rest, NULL, graph_seed_file, mailboxes, extra);
}

char *
e2e_realtime_lines(int *port, const char *extra)
{
	*port = e2e_free_port();
	return xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "reconcile_interval 1h\nlog_level info\n%s", *port, *port, extra ? extra : "");
}

int
e2e_world_start_n(struct e2e_world *w, const char *name, int n, const char *sf_rest,
    const char *extra)
{
	char *sf_users, *g_users, *mailboxes;
	int rc;

	e2e_reps(n, &sf_users, &g_users, &mailboxes);
	rc = e2e_world_start(w, name, sf_users, sf_rest, g_users, mailboxes, extra);
	free(sf_users);
	free(g_users);
	free(mailboxes);
	return rc;
}

int
e2e_world_start_reps(struct e2e_world *w, const char *name, int n, const char *sf_rest,
    const char *extra, int *port)
{
	char *lines;
	int rc;

	lines = e2e_realtime_lines(port, extra);
	rc = e2e_world_start_n(w, name, n, sf_rest, lines);
	free(lines);
	return rc;
}

int
e2e_world_stop(struct e2e_world *w)
{
	int rc = 0;

	free(w->conf);
	w->conf = NULL;
	if (graph_fixture_stop(&w->graph) == -1)
		rc = -1;
	if (sf_fixture_stop(&w->sf) == -1)
		rc = -1;
	if (database_forget(w->dir) == -1)
		rc = -1;
	w->database = NULL;
	if (tmpdir_remove(w->dir) == -1)
		rc = -1;
	return rc;
}

char *
e2e_graph_rep_users(int n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		fail_msg("open_memstream failed");
	fputc('[', f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s{\"userPrincipalName\":\"rep%d@contoso.com\",\"displayName\":"
		    "\"Rep %d\"}", i ? "," : "", i, i);
	fputc(']', f);
	fclose(f);
	return text;
}

long
e2e_proc_status_kib(pid_t pid, const char *field)
{
	char path[64], *text, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	text = tmpdir_read(path, 1 << 16);
	if ((p = strstr(text, field)) != NULL)
		kb = strtol(p + strlen(field), NULL, 10);
	free(text);
	return kb;
}

void
e2e_pace_sample(struct e2e_pace *p, long count)
{
	long now = mono_ms(), k;

	p->at[p->n % 64] = now;
	p->count[p->n % 64] = count;
	for (k = 1; k < 64 && k <= p->n; k++) {
		long j = (p->n - k) % 64;

		if (now - p->at[j] > 1000)
			break;
		if (count - p->count[j] > p->max)
			p->max = count - p->count[j];
	}
	p->n++;
}

static int
cmp_time(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

size_t
e2e_densest(int64_t *t, size_t n, int64_t width)
{
	size_t max = 0;

	qsort(t, n, sizeof(*t), cmp_time);
	for (size_t i = 0, j = 0; i < n; i++) {
		while (t[i] - t[j] >= width)
			j++;
		if (i - j + 1 > max)
			max = i - j + 1;
	}
	return max;
}

const char *
e2e_key_id(json_t *keys, const char *key)
{
	const char *id = json_string_value(json_object_get(keys, key));

	if (id == NULL)
		fail_msg("no seeded key %s", key);
	return id;
}

const char *
e2e_who_id(json_t *keys, json_t *leads, const char *who)
{
	if (strncmp(who, "lead:", 5) == 0)
		return e2e_field(e2e_find(leads, "Email", who + 5), "Id");
	return e2e_key_id(keys, who);
}

void
e2e_check_task(json_t *tasks, json_t *leads, json_t *keys, json_t *mids, const char *day,
    const struct e2e_want_task *want)
{
	char digest[NORMALIZE_DIGEST_LEN + 1];
	json_t *rec;

	e2e_digest(json_string_value(json_object_get(mids, want->mail)), digest);
	rec = e2e_find(tasks, "OutlookMessageId__c", digest);
	assert_string_equal(e2e_field(rec, "Subject"), want->subject);
	assert_string_equal(e2e_field(rec, "WhoId"), e2e_who_id(keys, leads, want->who));
	assert_string_equal(e2e_field(rec, "WhatId"),
	    want->what ? e2e_key_id(keys, want->what) : "(null)");
	assert_string_equal(e2e_field(rec, "OwnerId"), e2e_key_id(keys, want->owner));
	assert_string_equal(e2e_field(rec, "Status"), "Completed");
	assert_string_equal(e2e_field(rec, "Priority"), "Normal");
	assert_string_equal(e2e_field(rec, "TaskSubtype"), "Email");
	assert_string_equal(e2e_field(rec, "Type"), "Email");
	assert_string_equal(e2e_field(rec, "ActivityDate"), day);
	assert_string_equal(e2e_field(rec, "Description"), want->description);
}

void
e2e_check_lead(json_t *leads, json_t *keys, const struct e2e_want_lead *want)
{
	json_t *rec = e2e_find(leads, "Email", want->email);

	assert_string_equal(e2e_field(rec, "FirstName"), want->first);
	assert_string_equal(e2e_field(rec, "LastName"), want->last);
	assert_string_equal(e2e_field(rec, "Company"), want->company);
	assert_string_equal(e2e_field(rec, "LeadSource"), "Email");
	assert_string_equal(e2e_field(rec, "OwnerId"), e2e_key_id(keys, want->owner));
	assert_string_equal(e2e_field(rec, "Description"), want->description);
}

char *
e2e_snapshot(const char *sf_url, const char *const *objs, size_t n)
{
	char *s = xstrdup(""), *t;
	json_t *recs, *r;
	size_t i;

	for (size_t k = 0; k < n; k++) {
		recs = e2e_records(sf_url, objs[k]);
		json_array_foreach(recs, i, r) {
			t = xasprintf("%s%s %s %s\n", s, objs[k], e2e_field(r, "Id"),
			    e2e_field(r, "LastModifiedDate"));
			free(s);
			s = t;
		}
		json_decref(recs);
	}
	return s;
}
