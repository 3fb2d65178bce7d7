/* main.c: the olsync command: check the configuration, run one pass or keep passing on a
 * schedule until told to stop, and answer "what happened to this email?" from the ledger
 * (status, show, dead, retry). It wires the modules together and holds no logic of its own. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"
#include "budget.h"
#include "config.h"
#include "daemon.h"
#include "doctor.h"
#include "dryrun.h"
#include "engine.h"
#include "graph_client.h"
#include "leases.h"
#include "ledger.h"
#include "ledger_copy.h"
#include "log.h"
#include "normalize.h"
#include "sf_client.h"
#include "store.h"
#include "xmalloc.h"

#define DEFAULT_CONFIG	"/etc/olsync/olsync.conf"
#define DEAD_LIST_MAX	1000	/* `olsync dead` prints at most this many */

#define EXIT_USAGE	2

static volatile sig_atomic_t stop_flag;	/* SIGTERM, SIGINT: finish the batch and exit */
static volatile sig_atomic_t reload_flag;	/* SIGHUP (run): read the configuration again */
static volatile sig_atomic_t halt_flag;		/* either: leave the loop */

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
	halt_flag = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: olsync [-c file] check-config [-v]\n"
	    "       olsync [-c file] -n [-v]\n"
	    "       olsync [-c file] sync --once\n"
	    "       olsync [-c file] run\n"
	    "       olsync [-c file] doctor\n"
	    "       olsync [-c file] status\n"
	    "       olsync [-c file] show <internetMessageId | digest>\n"
	    "       olsync [-c file] dead\n"
	    "       olsync [-c file] retry [internetMessageId | digest]\n"
	    "       olsync [-c file] dry-run [--mailbox addr]... [--since date | --days n]\n"
	    "                                [--until date] [--json]\n"
	    "       olsync [-c file] backfill --mailbox addr --since date [--until date]\n"
	    "                                 [--page-size n]\n"
	    "       olsync [-c file] migrate-database <sqlite-file> <postgresql-uri>\n"
	    "default configuration file: %s\n", DEFAULT_CONFIG);
}

/* Loads the configuration, printing every error. 0, or -1. */
static int
load_config(const char *path, struct config *cfg)
{
	struct config_errors errs;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = config_load(path, cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.v[i]);
	config_errors_free(&errs);
	return rc;
}

static int
cmd_check_config(const char *path, int verbose)
{
	struct config cfg;

	if (load_config(path, &cfg) == -1)
		return 1;
	if (verbose)
		config_dump(&cfg, stdout);
	printf("configuration OK\n");
	config_free(&cfg);
	return 0;
}

static int
open_ledger(const struct config *cfg, struct ledger **l)
{
	char err[512];

	if (ledger_connect(cfg->database, cfg->database_password, l, err, sizeof(err)) == -1) {
		fprintf(stderr, "olsync: cannot open the ledger %s: %s\n", cfg->database, err);
		return -1;
	}
	ledger_set_max_attempts(*l, cfg->max_attempts);
	if (ledger_set_bulk(*l) == -1) {
		fprintf(stderr, "olsync: %s\n", ledger_error(*l));
		ledger_close(*l);
		*l = NULL;
		return -1;
	}
	return 0;
}

/* Unix ms, as leases count time. */
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Commands that write the ledger outside `olsync run` (sync --once, backfill) take no leases:
 * beside running instances they would read and write the same mail as its holders. Refused
 * while any instance's heartbeat lease is live; -1 (said on stderr) then. */
static int
refuse_beside_instances(struct ledger *l, const char *what)
{
	struct ledger_lease *v;
	int64_t now_ms = wall_ms(), until = 0;
	size_t n, live = 0;

	if (ledger_lease_list(l, &v, &n) == -1) {
		fprintf(stderr, "olsync: %s: %s\n", what, ledger_error(l));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!leases_heartbeat_live(&v[i], now_ms))
			continue;
		if (live++ == 0)
			fprintf(stderr, "olsync: %s: refused: olsync run is working on this database "
			    "(", what);
		fprintf(stderr, "%s%s", live > 1 ? ", " : "", v[i].name + strlen(LEASES_INSTANCE));
		if (v[i].expires_at > until)
			until = v[i].expires_at;
	}
	ledger_leases_free(v, n);
	if (live == 0)
		return 0;
	fprintf(stderr, "); it does this work itself. Stop every instance first (a dead one's "
	    "lease ends within %lld s)\n", (long long)((until - now_ms + 999) / 1000));
	return -1;
}

/* Brings the ledger at target to the current schema (creating it), as a start would. */
static int
migrate_schema(const char *target, const char *password)
{
	struct ledger *l;
	char err[512];
	int rc;

	rc = ledger_connect(target, password, &l, err, sizeof(err));
	if (rc == -1) {
		fprintf(stderr, "olsync: cannot open the ledger %s: %s\n", target, err);
		return -1;
	}
	ledger_close(l);
	return 0;
}

/* `olsync migrate-database FROM TO`: the SQLite ledger FROM copied into the empty PostgreSQL
 * database TO (made and migrated first), then the rows per table printed. The configuration
 * gives TO's password (database_password). */
static int
cmd_migrate_database(const struct config *cfg, const char *from, const char *to)
{
	struct store *src = NULL, *dst = NULL;
	struct stat sb;
	char err[1024];
	int rc = 1;

	if (store_target_is_postgresql(from) || !store_target_is_postgresql(to)) {
		fprintf(stderr, "olsync: migrate-database: FROM must be a SQLite file and TO a "
		    "postgresql:// URI\n");
		return EXIT_USAGE;
	}
	if (stat(from, &sb) == -1) {
		fprintf(stderr, "olsync: migrate-database: %s: %s\n", from, strerror(errno));
		return 1;
	}
	if (migrate_schema(from, NULL) == -1 || migrate_schema(to, cfg->database_password) == -1)
		return 1;
	if (store_open(from, NULL, &src, err, sizeof(err)) == -1 ||
	    store_open(to, cfg->database_password, &dst, err, sizeof(err)) == -1) {
		fprintf(stderr, "olsync: migrate-database: %s\n", err);
		goto out;
	}
	if (ledger_copy(src, dst, err, sizeof(err)) == -1) {
		fprintf(stderr, "olsync: migrate-database: %s\n", err);
		goto out;
	}
	/* what the destination holds now, table by table */
	for (size_t i = 0; ledger_copy_table(i) != NULL; i++) {
		char *sql = xasprintf("SELECT count(*) FROM %s", ledger_copy_table(i));
		struct store_stmt *st = store_prepare(dst, sql);

		if (store_step(st) == STORE_ROW)
			printf("%-16s %lld\n", ledger_copy_table(i),
			    (long long)store_column_int64(st, 0));
		store_finalize(st);
		free(sql);
	}
	printf("migrated %s into the PostgreSQL database; point `database` at it\n", from);
	rc = 0;
out:
	store_close(src);
	store_close(dst);
	return rc;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the sleep between passes must end at once. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* sync --once: one pass, then exit. */
static int
cmd_sync_once(const struct config *cfg)
{
	struct ledger *l = NULL;
	struct graph_client *g = NULL;
	struct sf_client *sf = NULL;
	struct engine *e = NULL;
	struct engine_stats st;
	char err[1024];
	int rc = 1;

	install_signals();
	if (open_ledger(cfg, &l) == -1 || refuse_beside_instances(l, "sync --once") == -1)
		goto out;
	if ((g = graph_client_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "olsync: graph: %s\n", err);
		goto out;
	}
	if ((sf = sf_client_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "olsync: salesforce: %s\n", err);
		goto out;
	}
	e = engine_new(cfg, l, g, sf);
	log_info("olsync start mode=once mailboxes_kind=%d", (int)cfg->mailboxes_kind);
	if (engine_pass(e, &stop_flag, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "olsync: sync failed: %s\n", err);
		goto out;
	}
	log_info("olsync stop reason=%s", stop_flag ? "signal" : "done");
	rc = 0;
out:
	engine_free(e);
	sf_client_free(sf);
	graph_client_free(g);
	ledger_close(l);
	return rc;
}

/* dry-run: what a pass would write, written nowhere (dryrun.c). */
static int
cmd_dry_run(const struct config *cfg, const struct backfill_opts *o)
{
	char err[1024];

	if (dryrun_run(cfg, o, stdout, err, sizeof(err)) == -1) {
		fprintf(stderr, "olsync: dry-run: %s\n", err);
		return 1;
	}
	return 0;
}

/* backfill: one mailbox's mail of a date range, logged as it is read, resumable (backfill.c). */
static int
cmd_backfill(const struct config *cfg, const struct backfill_opts *o)
{
	struct ledger *l = NULL;
	struct graph_client *g = NULL;
	struct sf_client *sf = NULL;
	struct engine *e = NULL;
	struct backfill_range range;
	struct backfill_printer pp;
	struct backfill_progress pr;
	json_t *box = NULL;
	char err[1024];
	int rc = 1, r;

	install_signals();
	if (open_ledger(cfg, &l) == -1 || refuse_beside_instances(l, "backfill") == -1)
		goto out;
	if ((g = graph_client_new(cfg, err, sizeof(err))) == NULL ||
	    (sf = sf_client_new(cfg, err, sizeof(err))) == NULL ||
	    (box = backfill_mailboxes(g, o->mailboxes, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "olsync: backfill: %s\n", err);
		goto out;
	}
	graph_client_set_page_size(g, o->page_size);
	e = engine_new(cfg, l, g, sf);
	range.mailbox = json_string_value(json_array_get(box, 0));
	range.since = o->since;
	range.until = o->until;
	memset(&pp, 0, sizeof(pp));
	pp.out = stdout;
	pp.tty = isatty(STDOUT_FILENO);
	pp.mailbox = range.mailbox;
	r = backfill_run(cfg, l, g, e, &range, 1, &stop_flag, backfill_print, &pp, &pr, err,
	    sizeof(err));
	backfill_print_end(&pp, &pr, r);
	if (r == -1)
		fprintf(stderr, "olsync: backfill: %s (what was read is kept: run the same "
		    "command again to resume)\n", err);
	else if (r == 1)
		fprintf(stderr, "interrupted: resume with the same command\n");
	else
		rc = 0;
out:
	json_decref(box);
	engine_free(e);
	sf_client_free(sf);
	graph_client_free(g);
	ledger_close(l);
	return rc;
}

/* The configuration's log_level and log_format, for every command (run: at each reload too). */
static void
apply_logging(const struct config *cfg)
{
	log_set_level(cfg->log_level);
	log_set_format(cfg->log_format == CONFIG_LOG_JSON ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
}

/* run: the daemon (daemon.c) until SIGTERM or SIGINT. SIGHUP reloads the configuration, which
 * also adds or removes mailboxes' subscriptions; a file with errors is reported and the running
 * configuration kept, and so is one that cannot start (its port taken, say). */
static int
cmd_run(const char *path, struct config *cfg)
{
	struct config old;
	int have_old = 0, rc = 0;
	char err[1024];

	memset(&old, 0, sizeof(old));
	install_signals();
	for (;;) {
		if (daemon_run(cfg, &halt_flag, NULL, err, sizeof(err)) == -1) {
			if (!have_old) {
				fprintf(stderr, "olsync: cannot run: %s\n", err);
				rc = 1;
				break;
			}
			log_warnx("olsync reload_failed error=\"%s\" (back to the running "
			    "configuration)", err);
			config_free(cfg);
			*cfg = old;
			have_old = 0;
			apply_logging(cfg);
			continue;
		}
		if (have_old) {
			config_free(&old);
			have_old = 0;
		}
		if (stop_flag || !reload_flag)
			break;
		reload_flag = 0;
		halt_flag = 0;
		if (load_config(path, &old) == -1) {
			log_warnx("olsync reload_refused file=%s (the errors are above; the running "
			    "configuration is kept)", path);
			continue;
		}
		/* old holds the new file for a moment: swap, keeping the running one as old. */
		{
			struct config next = old;

			old = *cfg;
			*cfg = next;
			have_old = 1;
		}
		apply_logging(cfg);
		log_info("olsync reloaded file=%s", path);
	}
	if (have_old)
		config_free(&old);
	if (rc == 0)
		log_info("olsync stop reason=signal");
	return rc;
}

static void
print_time(const char *label, int64_t t)
{
	char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return;
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-16s %s\n", label, buf);
}

/* The meetings part of `olsync status`: how many in each state. */
static int
print_meetings(struct ledger *l)
{
	static const char *const names[LEDGER_MEETING_STATES] = { "meetings_pending",
	    "meetings_done", "meetings_failed", "meetings_dead" };
	long long counts[LEDGER_MEETING_STATES];

	if (ledger_meeting_counts(l, counts) == -1)
		return -1;
	for (int i = 0; i < LEDGER_MEETING_STATES; i++)
		printf("%-9s %lld\n", names[i], counts[i]);
	return 0;
}

/* The real-time part of `olsync status`: the subscriptions olsync holds (one line each: mailbox,
 * kind, expiry, a lifecycle action waiting) and the folders marked for a read. */
static int
print_realtime(struct ledger *l)
{
	struct ledger_sub *subs = NULL;
	struct ledger_dirty *dl = NULL;
	size_t ns = 0, nd = 0;
	char when[32];
	struct tm tm;

	if (ledger_sub_list(l, &subs, &ns) == -1 || ledger_dirty_list(l, &dl, &nd) == -1) {
		ledger_subs_free(subs, ns);
		return -1;
	}
	printf("%-9s %zu\n", "subscriptions", ns);
	for (size_t i = 0; i < ns; i++) {
		time_t t = (time_t)subs[i].expires_at;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("  %s %s expires %s%s%s\n", subs[i].mailbox, subs[i].kind, when,
		    subs[i].action ? " action " : "", subs[i].action ? subs[i].action : "");
	}
	printf("%-9s %zu\n", "marked_folders", nd);
	for (size_t i = 0; i < nd; i++)
		printf("  %s %s\n", dl[i].mailbox, dl[i].folder);
	ledger_subs_free(subs, ns);
	ledger_dirty_free(dl, nd);
	return 0;
}

/* The instances sharing this ledger: every lease (what, owner, how long until it runs out; a
 * negative time is expired: its owner stopped renewing it). */
static int
print_leases(struct ledger *l)
{
	struct ledger_lease *v;
	int64_t now = wall_ms();
	size_t n;

	if (ledger_lease_list(l, &v, &n) == -1)
		return -1;
	printf("%-9s %zu\n", "leases", n);
	for (size_t i = 0; i < n; i++)
		printf("  %s owner %s expires_in %.1fs\n", v[i].name, v[i].owner,
		    (double)(v[i].expires_at - now) / 1000.0);
	ledger_leases_free(v, n);
	return 0;
}

/* The API budget part of `olsync status`: our calls of the last 24 hours against our share of
 * the org's allowance, and what that allows now. */
static int
print_budget(struct ledger *l, const struct config *cfg)
{
	struct budget_report r;
	int64_t now = (int64_t)time(NULL);

	if (budget_report(l, cfg, now, &r) == -1)
		return -1;
	if (r.limit < 0)
		printf("%-9s %lld of ? (sf_budget_share %d%%; the org's allowance is not known "
		    "yet)\n", "api_calls", r.ours, cfg->sf_budget_share);
	else
		printf("%-9s %lld of %lld (sf_budget_share %d%% of the org's %ld; the org has "
		    "used %ld)\n", "api_calls", r.ours, r.limit, cfg->sf_budget_share, r.org_max,
		    r.org_used);
	if (r.state == BUDGET_EXHAUSTED)
		printf("%-9s exhausted: no Salesforce call until the last 24 hours leave room "
		    "for a batch (%lld calls) or the allowance is raised\n", "api_budget", r.need);
	else if (r.state == BUDGET_SHORT)
		printf("%-9s short: live mail only, backfill waits\n", "api_budget");
	else
		printf("%-9s ok\n", "api_budget");
	if (r.state == BUDGET_EXHAUSTED && r.free_at > 0)
		print_time("api_frees", r.free_at);
	return 0;
}

/* " (unmatched 2, internal_only 1)": why the skipped ones were, after their count. */
static int
print_skip_reasons(struct ledger *l)
{
	struct ledger_reason_count *v;
	size_t n;

	if (ledger_skip_reasons(l, &v, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		printf("%s%s %lld%s", i == 0 ? "  (" : ", ", v[i].reason[0] ? v[i].reason : "none",
		    v[i].n, i + 1 == n ? ")" : "");
	ledger_reason_counts_free(v, n);
	return 0;
}

static int
cmd_status(const struct config *cfg)
{
	struct ledger *l;
	struct ledger_stats s;
	int rc = 1;

	if (open_ledger(cfg, &l) == -1)
		return 1;
	if (ledger_stats(l, &s) == -1) {
		fprintf(stderr, "olsync: status: %s\n", ledger_error(l));
		goto out;
	}
	for (int i = 0; i < LEDGER_STATE_COUNT; i++) {
		printf("%-9s %lld", ledger_state_name((enum ledger_state)i), s.messages[i]);
		if (i == LEDGER_SKIPPED && s.messages[i] > 0 && print_skip_reasons(l) == -1) {
			fprintf(stderr, "olsync: status: %s\n", ledger_error(l));
			goto out;
		}
		putchar('\n');
	}
	printf("%-9s %lld\n", "sightings", s.sightings);
	print_time("oldest_open", s.oldest_open);
	if (print_meetings(l) == -1 || print_realtime(l) == -1 || print_leases(l) == -1 ||
	    print_budget(l, cfg) == -1) {
		fprintf(stderr, "olsync: status: %s\n", ledger_error(l));
		goto out;
	}
	rc = 0;
out:
	ledger_close(l);
	return rc;
}

/* The entry for what the operator typed: an internetMessageId (with or without its brackets)
 * or the digest that is the Task's OutlookMessageId__c. 0, 1 not found, -1 error. */
static int
find_entry(struct ledger *l, const char *arg, struct ledger_entry *e)
{
	char err[256], *key;
	int r = LEDGER_NOT_FOUND;

	if ((key = normalize_message_id(arg, err, sizeof(err))) != NULL) {
		r = ledger_get(l, key, e);
		free(key);
	}
	if (r == LEDGER_NOT_FOUND)
		r = ledger_get_by_ext_id(l, arg, e);
	return r;
}

static void
print_entry(const struct ledger_entry *e)
{
	printf("%-16s %s\n", "message_id", e->key);
	printf("%-16s %s\n", "digest", e->ext_id);
	printf("%-16s %s\n", "state", ledger_state_name(e->state));
	printf("%-16s %s\n", "direction", ledger_dir_name(e->dir));
	if (e->reason)
		printf("%-16s %s\n", "reason", e->reason);
	if (e->last_error)
		printf("%-16s %s\n", "last_error", e->last_error);
	printf("%-16s %d\n", "attempts", e->attempts);
	if (e->state == LEDGER_FAILED)
		print_time("next_attempt", e->next_attempt_at);
	print_time("received", e->received_at);
	print_time("first_seen", e->first_seen);
	print_time("updated", e->updated_at);
	if (e->sf.task_id)
		printf("%-16s %s\n", "task", e->sf.task_id);
	if (e->sf.email_message_id)
		printf("%-16s %s\n", "email_message", e->sf.email_message_id);
	if (e->sf.lead_id)
		printf("%-16s %s\n", "lead_created", e->sf.lead_id);
	if (e->sf.who_id)
		printf("%-16s %s\n", "who", e->sf.who_id);
	if (e->sf.what_id)
		printf("%-16s %s\n", "what", e->sf.what_id);
}

static int
cmd_show(const struct config *cfg, const char *arg)
{
	struct ledger *l;
	struct ledger_entry e;
	struct ledger_sighting *s = NULL;
	size_t n = 0;
	int rc = 1, r;

	memset(&e, 0, sizeof(e));
	if (open_ledger(cfg, &l) == -1)
		return 1;
	if ((r = find_entry(l, arg, &e)) == -1) {
		fprintf(stderr, "olsync: show: %s\n", ledger_error(l));
		goto out;
	}
	if (r == LEDGER_NOT_FOUND) {
		fprintf(stderr, "olsync: show: no message %s in the ledger\n", arg);
		goto out;
	}
	print_entry(&e);
	if (ledger_sightings(l, e.key, &s, &n) == -1) {
		fprintf(stderr, "olsync: show: %s\n", ledger_error(l));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char buf[64];
		time_t tt = (time_t)s[i].seen_at;
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("sighting         mailbox=%s folder=%s dir=%s seen=%s graph_id=%s\n",
		    s[i].mailbox, s[i].folder, ledger_dir_name(s[i].dir), buf, s[i].graph_id);
	}
	rc = 0;
out:
	ledger_sightings_free(s, n);
	ledger_entry_clear(&e);
	ledger_close(l);
	return rc;
}

static int
cmd_dead(const struct config *cfg)
{
	struct ledger *l;
	struct ledger_entry *v;
	size_t n = 0;
	int rc = 1;

	if (open_ledger(cfg, &l) == -1)
		return 1;
	v = calloc(DEAD_LIST_MAX, sizeof(*v));
	if (v == NULL) {
		fprintf(stderr, "olsync: dead: out of memory\n");
		goto out;
	}
	if (ledger_list_dead(l, v, DEAD_LIST_MAX, &n) == -1) {
		fprintf(stderr, "olsync: dead: %s\n", ledger_error(l));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%s %s attempts=%d reason=%s\n", v[i].ext_id, v[i].key, v[i].attempts,
		    v[i].reason ? v[i].reason : "-");
		ledger_entry_clear(&v[i]);
	}
	printf("%zu dead\n", n);
	rc = 0;
out:
	free(v);
	ledger_close(l);
	return rc;
}

static int
cmd_retry(const struct config *cfg, const char *arg)
{
	struct ledger *l;
	struct ledger_entry e;
	long long count = 0;
	int rc = 1, r;

	memset(&e, 0, sizeof(e));
	if (open_ledger(cfg, &l) == -1)
		return 1;
	if (arg != NULL) {
		if ((r = find_entry(l, arg, &e)) == -1) {
			fprintf(stderr, "olsync: retry: %s\n", ledger_error(l));
			goto out;
		}
		if (r == LEDGER_NOT_FOUND) {
			fprintf(stderr, "olsync: retry: no message %s in the ledger\n", arg);
			goto out;
		}
	}
	if (ledger_retry_dead(l, arg != NULL ? e.key : NULL, &count) == -1) {
		fprintf(stderr, "olsync: retry: %s\n", ledger_error(l));
		goto out;
	}
	printf("%lld revived\n", count);
	if (arg == NULL) {
		/* Without an email named, the dead meetings come back too. */
		if (ledger_meeting_retry_dead(l, &count) == -1) {
			fprintf(stderr, "olsync: retry: %s\n", ledger_error(l));
			goto out;
		}
		printf("%lld meetings revived\n", count);
	}
	rc = 0;
out:
	ledger_entry_clear(&e);
	ledger_close(l);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	struct backfill_opts dry;
	struct backfill_opts bf;
	const char *path = DEFAULT_CONFIG, *cmd;
	char why[512];
	int ch, check = 0, verbose = 0, rc;

	log_init("olsync", LOG_LEVEL_INFO);
	/* '+': options end at the command, whose own options follow it. */
	while ((ch = getopt(argc, argv, "+c:nvh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (check)
		return argc == 0 ? cmd_check_config(path, verbose) : (usage(), EXIT_USAGE);
	if (argc < 1) {
		usage();
		return EXIT_USAGE;
	}
	cmd = argv[0];
	if (strcmp(cmd, "check-config") == 0) {
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-v") != 0) {
				usage();
				return EXIT_USAGE;
			}
			verbose = 1;
		}
		return cmd_check_config(path, verbose);
	}
	/* doctor reports a configuration that does not load as its first check. */
	if (strcmp(cmd, "doctor") == 0)
		return argc == 1 ? doctor_main(path, stdout) : (usage(), EXIT_USAGE);
	if ((strcmp(cmd, "dry-run") == 0 && dryrun_args(argc, argv, &dry, why,
	    sizeof(why)) == -1) || (strcmp(cmd, "backfill") == 0 && backfill_args(argc, argv, &bf,
	    why, sizeof(why)) == -1)) {
		fprintf(stderr, "olsync: %s: %s\n", cmd, why);
		usage();
		return EXIT_USAGE;
	}
	if (!((strcmp(cmd, "sync") == 0 && argc == 2 && strcmp(argv[1], "--once") == 0) ||
	    strcmp(cmd, "dry-run") == 0 || strcmp(cmd, "backfill") == 0 ||
	    (strcmp(cmd, "run") == 0 && argc == 1) ||
	    (strcmp(cmd, "status") == 0 && argc == 1) ||
	    (strcmp(cmd, "show") == 0 && argc == 2) ||
	    (strcmp(cmd, "dead") == 0 && argc == 1) ||
	    (strcmp(cmd, "retry") == 0 && argc <= 2) ||
	    (strcmp(cmd, "migrate-database") == 0 && argc == 3))) {
		usage();
		return EXIT_USAGE;
	}
	if (load_config(path, &cfg) == -1)
		return 1;
	apply_logging(&cfg);
	if (strcmp(cmd, "sync") == 0)
		rc = cmd_sync_once(&cfg);
	else if (strcmp(cmd, "run") == 0)
		rc = cmd_run(path, &cfg);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&cfg);
	else if (strcmp(cmd, "show") == 0)
		rc = cmd_show(&cfg, argv[1]);
	else if (strcmp(cmd, "dead") == 0)
		rc = cmd_dead(&cfg);
	else if (strcmp(cmd, "dry-run") == 0)
		rc = cmd_dry_run(&cfg, &dry);
	else if (strcmp(cmd, "backfill") == 0)
		rc = cmd_backfill(&cfg, &bf);
	else if (strcmp(cmd, "migrate-database") == 0)
		rc = cmd_migrate_database(&cfg, argv[1], argv[2]);
	else
		rc = cmd_retry(&cfg, argc == 2 ? argv[1] : NULL);
	config_free(&cfg);
	return rc;
}
