/* perf_backfill.c: the backfill scenario (`olsync sync --once` over mail seeded into
 * graph-sim, every email checked to be logged exactly once) and the naive reference (the
 * guide's per-email flow, bench/naive_reference.mjs, over a subset of the same mail). */
#include "perf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "graph_fixture.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "tmpdir.h"
#include "xmalloc.h"

static struct perf_mix
backfill_mix(long emails)
{
	struct perf_mix m = { .emails = emails, .mailboxes = perf_o->backfill_mailboxes };

	/* 100,000 emails: 5,000 Contacts, 1,000 Leads, 2,000 unknown senders. */
	m.contacts = emails / 20 > 10 ? (int)(emails / 20) : 10;
	m.leads = emails / 100 > 5 ? (int)(emails / 100) : 5;
	m.unknown = emails / 50 > 5 ? (int)(emails / 50) : 5;
	return m;
}

void
perf_backfill(void **state)
{
	long n = perf_o->backfill_emails;
	struct perf_mix m = backfill_mix(n);
	struct perf_row *r = perf_row_add("backfill");
	static struct perf_world pw;	/* static: perf_teardown reads it after a failure */
	struct perf_stats a, b;
	struct perf_sampler s;
	static const char *const once[] = { "sync", "--once", NULL };
	struct rusage ru;
	double t0, t1;
	int status;

	(void)state;
	fprintf(stderr, "perf: backfill: seeding %ld emails over %d mailboxes\n", n,
	    m.mailboxes);
	if (perf_world_start(&pw, "perf_backfill", &m, n, 0) == -1)
		fail_msg("cannot start the world");
	perf_row_set(r, "seed_s", json_real(pw.seed_s));
	perf_row_set(r, "mailboxes", json_integer(m.mailboxes));
	perf_stats_read(&pw, &a);
	perf_sampler_start(&s, &pw);
	t0 = mono_sec();
	e2e_daemon_spawn(&pw.dm, pw.w.dir, pw.w.conf, once);
	if (wait4(pw.dm.pid, &status, 0, &ru) != pw.dm.pid)
		fail_msg("wait4");
	t1 = mono_sec();
	pw.dm.pid = 0;
	perf_sampler_stop(&s, r);
	perf_stats_read(&pw, &b);
	r->emails = n;
	r->wall_s = t1 - t0;
	r->per_sec = (double)n / r->wall_s;
	r->cpu_per_k = ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6) * 1000.0 / (double)n;
	r->rss_kib = ru.ru_maxrss;
	/* Where the CPU goes: olsync's own code and libraries, or the kernel (writes, syncs,
	 * sockets). */
	perf_row_set(r, "olsync_user_s", json_real((double)ru.ru_utime.tv_sec +
	    ru.ru_utime.tv_usec / 1e6));
	perf_row_set(r, "olsync_sys_s", json_real((double)ru.ru_stime.tv_sec +
	    ru.ru_stime.tv_usec / 1e6));
	perf_stats_rows(r, &a, &b, n);
	{
		json_t *pg = json_object_get(r->extra, "postgresql_cpu_s");

		/* the ledger's server works for olsync: its CPU beside olsync's */
		if (pg != NULL)
			perf_row_set(r, "postgresql_cpu_s_per_1k",
			    json_real(json_real_value(pg) * 1000.0 / (double)n));
	}
	perf_row_set(r, "leads_created", json_integer((json_int_t)e2e_record_count(
	    pw.w.sf.p.base_url, "Lead") - m.leads));
	perf_check_tasks(&pw, r, n);
	perf_stats_free(&a);
	perf_stats_free(&b);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(r->status, sizeof(r->status), "FAILED: sync --once exit status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (strcmp(r->status, "ok") != 0)
		fail_msg("backfill: %s", r->status);
	if (perf_world_stop(&pw) == -1)
		fail_msg("an emulator did not exit cleanly");
}

/* Seeds the n mails through the control API, whose answer names every copy, and writes one
 * "userId messageId folder" line per copy for the naive reference; the number of copies. */
static long
seed_naive_mail(struct perf_world *pw, const struct perf_mix *m, const char *list)
{
	size_t len;
	char *body, *mail;
	FILE *fp = open_memstream(&body, &len), *out;
	json_t *ans, *e, *c;
	size_t i, j;
	long copies = 0;

	if (fp == NULL || (out = fopen(list, "w")) == NULL)
		fail_msg("cannot write %s", list);
	fputs("{\"mail\":[", fp);
	for (long k = 0; k < m->emails; k++) {
		mail = perf_mail_json(m, k, NULL);
		fprintf(fp, "%s%s", k ? "," : "", mail);
		free(mail);
	}
	fputs("]}", fp);
	fclose(fp);
	ans = sim_http_ctl(pw->w.graph.base_url, "POST", "/_sim/seed", body, 200);
	json_array_foreach(json_object_get(ans, "mail"), i, e)
		json_array_foreach(json_object_get(e, "copies"), j, c) {
			fprintf(out, "%s %s %s\n", e2e_field(c, "userId"), e2e_field(c, "id"),
			    e2e_field(c, "folder"));
			copies++;
		}
	fclose(out);
	json_decref(ans);
	free(body);
	return copies;
}

/* Runs node on the reference; its one-line JSON report, parsed (caller decrefs). */
static json_t *
run_naive(struct perf_world *pw, const char *list, const char *gtoken, struct rusage *ru)
{
	char *script = xasprintf("%s/bench/naive_reference.mjs", perf_o->source_dir);
	char *outp = xasprintf("%s/naive.out", pw->w.dir), *text;
	char *argv[] = { "node", script, pw->w.graph.base_url, pw->w.sf.p.base_url,
	    (char *)gtoken, pw->w.sf.token, (char *)list, NULL };
	json_t *j;
	pid_t pid;
	int status;

	pid = perf_spawn(argv, outp);
	if (wait4(pid, &status, 0, ru) != pid)
		fail_msg("wait4");
	text = tmpdir_read(outp, 65536);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    (j = json_loads(text, 0, NULL)) == NULL)
		fail_msg("node %s failed (status %d): %s", script, status, text);
	free(text);
	free(outp);
	free(script);
	return j;
}

void
perf_naive(void **state)
{
	long n = perf_o->naive_emails;
	/* The backfill's mix at n emails: its pools scaled to n, so an unknown sender comes
	 * back as often as in the backfill (a new one costs the reference two more calls). */
	struct perf_mix m = backfill_mix(n);
	struct perf_row *r = perf_row_add("naive"), *bf = perf_row_find("backfill");
	static struct perf_world pw;	/* static: perf_teardown reads it after a failure */
	struct perf_stats a, b;
	struct perf_sampler s;
	struct rusage ru;
	char list[PATH_MAX + 16], gtoken[16384];
	json_t *rep;
	long expected = 0;
	double cpu_s;

	(void)state;
	if (perf_world_start(&pw, "perf_naive", &m, 0, 0) == -1)
		fail_msg("cannot start the world");
	snprintf(list, sizeof(list), "%s/naive-mail.txt", pw.w.dir);
	perf_row_set(r, "copies", json_integer(seed_naive_mail(&pw, &m, list)));
	graph_fixture_token(&pw.w.graph, E2E_GRAPH_APP, gtoken, sizeof(gtoken));
	perf_stats_read(&pw, &a);
	perf_sampler_start(&s, &pw);
	rep = run_naive(&pw, list, gtoken, &ru);
	perf_sampler_stop(&s, r);
	perf_stats_read(&pw, &b);
	r->emails = n;
	r->wall_s = json_number_value(json_object_get(rep, "wall_s"));
	r->per_sec = (double)n / r->wall_s;
	cpu_s = json_number_value(json_object_get(rep, "cpu_s"));
	r->cpu_per_k = cpu_s * 1000.0 / (double)n;
	r->rss_kib = ru.ru_maxrss;
	/* Where the CPU goes: olsync's own code and libraries, or the kernel (writes, syncs,
	 * sockets). */
	perf_row_set(r, "olsync_user_s", json_real((double)ru.ru_utime.tv_sec +
	    ru.ru_utime.tv_usec / 1e6));
	perf_row_set(r, "olsync_sys_s", json_real((double)ru.ru_stime.tv_sec +
	    ru.ru_stime.tv_usec / 1e6));
	perf_stats_rows(r, &a, &b, n);
	perf_row_set(r, "node_cpu_s_whole_process", json_real((double)ru.ru_utime.tv_sec +
	    ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6));
	perf_row_set(r, "report", json_incref(rep));
	for (long i = 0; i < n; i++)
		expected += perf_mail_kind(i) != PERF_INTERNAL;
	perf_row_set(r, "tasks", json_integer((json_int_t)e2e_record_count(pw.w.sf.p.base_url,
	    "Task")));
	if ((long)e2e_record_count(pw.w.sf.p.base_url, "Task") != expected)
		snprintf(r->status, sizeof(r->status), "FAILED: %zu Tasks for %ld emails with an "
		    "external party", e2e_record_count(pw.w.sf.p.base_url, "Task"), expected);
	if (bf != NULL && bf->sf_per_k > 0 && bf->cpu_per_k > 0) {
		perf_row_set(r, "sf_calls_ratio", json_real(r->sf_per_k / bf->sf_per_k));
		perf_row_set(r, "cpu_ratio", json_real(r->cpu_per_k / bf->cpu_per_k));
		if (bf->graph_per_k > 0)
			perf_row_set(r, "graph_requests_ratio", json_real(r->graph_per_k /
			    bf->graph_per_k));
	}
	json_decref(rep);
	perf_stats_free(&a);
	perf_stats_free(&b);
	if (strcmp(r->status, "ok") != 0)
		fail_msg("naive: %s", r->status);
	if (perf_world_stop(&pw) == -1)
		fail_msg("an emulator did not exit cleanly");
}
