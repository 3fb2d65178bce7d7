/* perf_intake.c: the webhook receiver alone under wrk: notification collections with valid
 * subscriptionId and clientState (from olsync's ledger) POSTed as fast as wrk can, for a while;
 * what was acknowledged per second, the latency, and that olsync accepted every one. */
#include "perf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_util.h"
#include "sim_http.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define BODIES_PER_SUB	20	/* notifications of different messages per subscription */

/* One notification per line for every mail subscription of the ledger; how many lines. */
static long
write_bodies(struct perf_world *pw, const char *path)
{
	json_t *h = sim_http_ctl(pw->w.graph.base_url, "GET", "/_sim/health", NULL, 200);
	const char *tenant = e2e_field(h, "tenantId");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	FILE *fp = fopen(path, "w");
	long n = 0;

	if (fp == NULL || sqlite3_open_v2(pw->ledger, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "SELECT id, client_state, expires_at FROM "
	    "subscriptions WHERE kind != 'events'", -1, &st, NULL) != SQLITE_OK)
		fail_msg("cannot read the subscriptions of %s", pw->ledger);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *cs = (const char *)sqlite3_column_text(st, 1);

		/* Graph's shape (reference §3.1); the receiver reads subscriptionId and
		 * clientState, the rest is what it would carry. */
		for (int k = 0; k < BODIES_PER_SUB; k++, n++)
			fprintf(fp, "{\"value\":[{\"subscriptionId\":\"%s\","
			    "\"subscriptionExpirationDateTime\":\"2030-01-01T00:00:00.0000000Z\","
			    "\"changeType\":\"created\",\"resource\":\"Users/u/Messages/AAMkBench%ld\","
			    "\"resourceData\":{\"@odata.type\":\"#Microsoft.Graph.Message\","
			    "\"@odata.id\":\"Users/u/Messages/AAMkBench%ld\",\"@odata.etag\":"
			    "\"W/\\\"CQAAABYAAAD\\\"\",\"id\":\"AAMkBench%ld\"},"
			    "\"clientState\":\"%s\",\"tenantId\":\"%s\"}]}\n", id, n, n, n, cs,
			    tenant);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(fp);
	json_decref(h);
	if (n == 0)
		fail_msg("no mail subscriptions in the ledger");
	return n;
}

/* Runs wrk; its PERF line, parsed (caller decrefs). */
static json_t *
run_wrk(struct perf_world *pw, const char *bodies)
{
	char conns[16], threads[16], secs[16], *url, *lua, *outp, *text, *line;
	char *argv[] = { "wrk", threads, conns, secs, "--latency", "-s", NULL, NULL, "--",
	    (char *)bodies, NULL };
	pid_t pid;
	int status;
	json_t *j = NULL;

	snprintf(conns, sizeof(conns), "-c%d", perf_o->intake_conns);
	snprintf(threads, sizeof(threads), "-t%d", perf_o->intake_conns < 2 ? 1 : 2);
	snprintf(secs, sizeof(secs), "-d%.0fs", perf_o->intake_seconds);
	url = xasprintf("http://127.0.0.1:%d/graph/notify", pw->port);
	lua = xasprintf("%s/bench/intake.lua", perf_o->source_dir);
	outp = xasprintf("%s/wrk.out", pw->w.dir);
	argv[6] = lua;
	argv[7] = url;
	pid = perf_spawn(argv, outp);
	if (waitpid(pid, &status, 0) != pid)
		fail_msg("waitpid");
	text = tmpdir_read(outp, 65536);
	fprintf(stderr, "--- wrk:\n%s", text);
	if ((line = strstr(text, "PERF {")) != NULL)
		j = json_loadb(line + 5, strcspn(line + 5, "\n"), 0, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || j == NULL)
		fail_msg("wrk failed (status %d): %s", status, text);
	free(text);
	free(outp);
	free(lua);
	free(url);
	return j;
}

void
perf_intake(void **state)
{
	struct perf_mix m = { .emails = 0, .mailboxes = perf_o->intake_mailboxes, .contacts = 5,
	    .leads = 5, .unknown = 5 };
	struct perf_row *r = perf_row_add("intake");
	static struct perf_world pw;	/* static: perf_teardown reads it after a failure */
	struct perf_sampler s;
	char bodies[PATH_MAX + 16], *log, *p;
	json_t *w;
	long long t0, t1, ok, accepted = -1;
	double secs;

	(void)state;
	if (system("command -v wrk >/dev/null 2>&1") != 0) {
		snprintf(r->status, sizeof(r->status), "skipped: wrk not found (scripts/deps.sh "
		    "bench installs it)");
		fprintf(stderr, "perf: intake %s\n", r->status);
		return;
	}
	if (perf_world_start(&pw, "perf_intake", &m, 0, 1) == -1)
		fail_msg("cannot start the world");
	perf_daemon_ready(&pw, m.mailboxes, 120);
	snprintf(bodies, sizeof(bodies), "%s/bodies.txt", pw.w.dir);
	perf_row_set(r, "distinct_bodies", json_integer(write_bodies(&pw, bodies)));
	t0 = bench_cpu_ticks(pw.dm.pid);
	perf_sampler_start(&s, &pw);
	w = run_wrk(&pw, bodies);
	perf_sampler_stop(&s, r);
	t1 = bench_cpu_ticks(pw.dm.pid);
	r->rss_kib = bench_vm_hwm_kib(pw.dm.pid);
	if (e2e_daemon_stop(&pw.dm) != 0)
		snprintf(r->status, sizeof(r->status), "FAILED: olsync run did not exit cleanly");
	/* The receiver's totals, logged at stop. */
	log = e2e_daemon_log(&pw.dm);
	if ((p = strstr(log, "receiver stop ")) != NULL && (p = strstr(p, " accepted=")) != NULL)
		accepted = strtoll(p + 10, NULL, 10);
	free(log);
	secs = (double)json_integer_value(json_object_get(w, "duration_us")) / 1e6;
	ok = json_integer_value(json_object_get(w, "requests")) -
	    json_integer_value(json_object_get(w, "non2xx"));
	r->emails = (long)ok;
	r->wall_s = secs;
	r->per_sec = (double)ok / secs;
	r->p50_ms = (double)json_integer_value(json_object_get(w, "p50_us")) / 1000;
	r->p99_ms = (double)json_integer_value(json_object_get(w, "p99_us")) / 1000;
	r->cpu_per_k = bench_ticks_sec(t1 - t0) * 1000.0 / (double)(ok > 0 ? ok : 1);
	perf_row_set(r, "wrk", w);
	perf_row_set(r, "connections", json_integer(perf_o->intake_conns));
	perf_row_set(r, "accepted_by_olsync", json_integer(accepted));
	/* wrk stops mid-request at its deadline: a POST olsync counted may have no answer. */
	if (accepted < ok || accepted > ok + perf_o->intake_conns)
		snprintf(r->status, sizeof(r->status), "FAILED: %lld acknowledged, olsync accepted "
		    "%lld", ok, accepted);
	if (strcmp(r->status, "ok") != 0)
		fail_msg("intake: %s", r->status);
	if (perf_world_stop(&pw) == -1)
		fail_msg("an emulator did not exit cleanly");
}
