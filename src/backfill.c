/* backfill.c: a mailbox's mail over a date range into the ledger, page by page, each page with
 * the position after it in one transaction, then through the engine (see backfill.h). */
#include "backfill.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crashpoint.h"
#include "err.h"
#include "ingest.h"
#include "isotime.h"
#include "log.h"

static const char *const folders[] = { INGEST_FOLDER_INBOX, INGEST_FOLDER_SENT };
#define NFOLDERS	(sizeof(folders) / sizeof(folders[0]))

struct run {
	struct ledger			*ledger;
	struct graph_client		*graph;
	struct ingest			*ingest;
	struct engine			*engine;
	const struct backfill_range	*r;
	int				 keep;
	const volatile sig_atomic_t	*stop;
	backfill_progress_fn		*progress;
	void				*arg;
	struct backfill_progress	*pr;
	char				*err;
	size_t				 errlen;
};

json_t *
backfill_mailboxes(struct graph_client *g, const char *const *names, size_t n, char *err,
    size_t errlen)
{
	struct remote_failure f;
	json_t *watched = NULL, *out;

	if (graph_client_mailboxes(g, &watched, &f) == -1) {
		err_set(err, errlen, "graph: cannot list the mailboxes: %s", f.message);
		return NULL;
	}
	if (n == 0)
		return watched;
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *name = NULL;
		json_t *v;
		size_t k;

		/* As olsync knows it (a user may type it in any case). */
		json_array_foreach(watched, k, v)
			if (name == NULL && strcasecmp(json_string_value(v), names[i]) == 0)
				name = json_string_value(v);
		if (name == NULL) {
			err_set(err, errlen, "%s is not a mailbox olsync watches (mailboxes in the "
			    "configuration)", names[i]);
			json_decref(out);
			json_decref(watched);
			return NULL;
		}
		if (json_array_append_new(out, json_string(name)) == -1)
			fatalx("backfill: out of memory");
	}
	json_decref(watched);
	return out;
}

int
backfill_parse_date(const char *s, int64_t *t)
{
	struct isotime it;

	if (s == NULL || isotime_parse(s, strlen(s), &it) == -1)
		return -1;
	/* A date-time must say which zone it is in; a bare date is a UTC day. */
	if (it.sep != 0 && it.zone == 0)
		return -1;
	if (it.year < 1970)
		return -1;
	*t = (int64_t)it.utc;
	return 0;
}

/* Records one page and the position after it (with keep), all or nothing. */
static int
record(struct run *ru, const char *folder, json_t *msgs, struct ledger_backfill *pos,
    struct ingest_stats *ist)
{
	struct ledger *l = ru->ledger;

	if (ledger_begin(l) == -1)
		return err_set(ru->err, ru->errlen, "ledger: %s", ledger_error(l));
	if (ingest_record(ru->ingest, ru->r->mailbox, folder, msgs, ist, ru->err,
	    ru->errlen) == -1)
		goto fail;
	if (ru->keep && ledger_backfill_set(l, ru->r->mailbox, folder, ru->r->since,
	    ru->r->until, pos) == -1) {
		err_set(ru->err, ru->errlen, "ledger: %s", ledger_error(l));
		goto fail;
	}
	if (ledger_commit(l) == -1) {
		err_set(ru->err, ru->errlen, "ledger: %s", ledger_error(l));
		goto fail;
	}
	crashpoint("backfill_page");
	return 0;
fail:
	ledger_rollback(l);
	return -1;
}

/* What the page just recorded comes to, through the engine: every pending message, so mail a
 * stopped run left pending is logged too. */
static int
log_page(struct run *ru)
{
	struct ingest_folder none;
	struct engine_stats st;

	/* Not stopped: the page in flight is logged before the stop is honoured. */
	memset(&none, 0, sizeof(none));
	if (engine_pass_folders(ru->engine, &none, 0, NULL, &st, ru->err, ru->errlen) == -1)
		return -1;
	ru->pr->logged += st.logged;
	ru->pr->skipped += st.skipped;
	ru->pr->failed += st.failed + st.dead;
	ru->pr->leads += st.leads;
	ru->pr->held = st.held;
	return 0;
}

/* Sleeps sec seconds, or less when stop is set. */
static void
nap(double sec, const volatile sig_atomic_t *stop)
{
	struct timespec step = { 0, 100 * 1000 * 1000 };

	for (double slept = 0; slept < sec && !(stop != NULL && *stop); slept += 0.1)
		nanosleep(&step, NULL);
}

/* One page, asked again after a throttle (429: its Retry-After) or a temporary failure
 * (backoff from BACKFILL_RETRY_BASE), up to BACKFILL_TRIES times: a long backfill rides out
 * what a pass would leave for the next one. 0, or -1 with f. */
static int
fetch(struct run *ru, const char *folder, const char *link, json_t **msgs, char **next,
    struct remote_failure *f)
{
	const struct backfill_range *r = ru->r;
	double wait;

	for (int attempt = 1;; attempt++) {
		if (graph_client_list_page(ru->graph, r->mailbox, folder, link, (time_t)r->since,
		    (time_t)r->until, msgs, next, f) == 0)
			return 0;
		if ((f->cls != REMOTE_TEMP && f->cls != REMOTE_WAIT) || attempt == BACKFILL_TRIES ||
		    (ru->stop != NULL && *ru->stop))
			return -1;
		wait = f->cls == REMOTE_WAIT && f->wait_sec > 0 ? f->wait_sec :
		    (double)engine_backoff(BACKFILL_RETRY_BASE, attempt);
		log_warnx("backfill retry mailbox=%s folder=%s class=%s status=%d attempt=%d "
		    "wait=%.1f", r->mailbox, folder, remote_class_name(f->cls), f->status, attempt,
		    wait);
		nap(wait, ru->stop);
	}
}

/* One folder to its last page. 0 finished, 1 stopped, -1 err. */
static int
folder_run(struct run *ru, const char *folder)
{
	const struct backfill_range *r = ru->r;
	struct ledger_backfill pos;
	struct remote_failure f;
	struct ingest_stats ist;
	json_t *msgs = NULL;
	char *next = NULL;
	int rc = -1, found = 1;

	memset(&pos, 0, sizeof(pos));
	ru->pr->folder = folder;
	if (ru->keep && (found = ledger_backfill_get(ru->ledger, r->mailbox, folder, r->since,
	    r->until, &pos)) == -1)
		return err_set(ru->err, ru->errlen, "ledger: %s", ledger_error(ru->ledger));
	if (found == 0) {
		ru->pr->pages_before += pos.pages;
		if (pos.done) {
			rc = 0;
			goto out;
		}
		log_info("backfill resume mailbox=%s folder=%s pages_before=%lld", r->mailbox,
		    folder, pos.pages);
	}
	for (;;) {
		if (ru->stop != NULL && *ru->stop) {
			rc = 1;
			goto out;
		}
		if (fetch(ru, folder, pos.link, &msgs, &next, &f) == -1) {
			err_set(ru->err, ru->errlen, "%s", f.message);
			goto out;
		}
		free(pos.link);
		pos.link = next;
		next = NULL;
		pos.done = pos.link == NULL;
		pos.pages++;
		pos.messages += (long long)json_array_size(msgs);
		memset(&ist, 0, sizeof(ist));
		if (record(ru, folder, msgs, &pos, &ist) == -1)
			goto out;
		ru->pr->pages++;
		ru->pr->seen += ist.messages;
		ru->pr->new_messages += ist.new_messages;
		json_decref(msgs);
		msgs = NULL;
		if (ru->engine != NULL && log_page(ru) == -1)
			goto out;
		if (ru->progress != NULL)
			ru->progress(ru->arg, ru->pr);
		if (pos.done)
			break;
	}
	rc = 0;
out:
	if (rc == 0)
		ru->pr->folders_done++;
	json_decref(msgs);
	free(next);
	ledger_backfill_clear(&pos);
	return rc;
}

int
backfill_run(const struct config *cfg, struct ledger *l, struct graph_client *g,
    struct engine *e, const struct backfill_range *r, int keep,
    const volatile sig_atomic_t *stop, backfill_progress_fn *progress, void *arg,
    struct backfill_progress *pr, char *err, size_t errlen)
{
	struct backfill_progress local;
	struct run ru;
	int rc = 0;

	if (pr == NULL)
		pr = &local;
	memset(pr, 0, sizeof(*pr));
	memset(&ru, 0, sizeof(ru));
	ru.ledger = l;
	ru.graph = g;
	ru.ingest = ingest_new(cfg, l, g);
	ru.engine = e;
	ru.r = r;
	ru.keep = keep;
	ru.stop = stop;
	ru.progress = progress;
	ru.arg = arg;
	ru.pr = pr;
	ru.err = err;
	ru.errlen = errlen;
	for (size_t i = 0; i < NFOLDERS && rc == 0; i++)
		rc = folder_run(&ru, folders[i]);
	pr->finished_before = rc == 0 && pr->pages == 0 && keep;
	log_info("backfill %s mailbox=%s pages=%ld pages_before=%ld seen=%ld new=%ld logged=%ld "
	    "skipped=%ld failed=%ld leads=%ld", rc == 0 ? "done" : rc == 1 ? "stopped" : "failed",
	    r->mailbox, pr->pages, pr->pages_before, pr->seen, pr->new_messages, pr->logged,
	    pr->skipped, pr->failed, pr->leads);
	ingest_free(ru.ingest);
	return rc;
}

static int
opt_date(const char *opt, const char *arg, int64_t *t, char *err, size_t errlen)
{
	if (backfill_parse_date(arg, t) == -1)
		return err_set(err, errlen, "--%s %s: not a date (YYYY-MM-DD, or "
		    "YYYY-MM-DDTHH:MM:SSZ)", opt, arg);
	return 0;
}

static int
opt_count(const char *opt, const char *arg, long min, long max, int *v, char *err,
    size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < min || n > max)
		return err_set(err, errlen, "--%s %s: a number from %ld to %ld", opt, arg, min,
		    max);
	*v = (int)n;
	return 0;
}

int
backfill_options(int argc, char *argv[], int extra, struct backfill_opts *o, char *err,
    size_t errlen)
{
	static const struct option longopts[] = {
		{ "mailbox", required_argument, NULL, 'm' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "days", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "page-size", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (ch == 'm' && o->nmailboxes == BACKFILL_MAILBOXES_MAX)
			rc = err_set(err, errlen, "more than %d --mailbox",
			    BACKFILL_MAILBOXES_MAX);
		else if (ch == 'm')
			o->mailboxes[o->nmailboxes++] = optarg;
		else if (ch == 's' || ch == 'u')
			rc = opt_date(ch == 's' ? "since" : "until", optarg,
			    ch == 's' ? &o->since : &o->until, err, errlen);
		else if (ch == 'd' && (extra & BACKFILL_OPT_DAYS))
			rc = opt_count("days", optarg, 1, 3650, &o->days, err, errlen);
		else if (ch == 'j' && (extra & BACKFILL_OPT_JSON))
			o->json = 1;
		else if (ch == 'p' && (extra & BACKFILL_OPT_PAGE_SIZE))
			rc = opt_count("page-size", optarg, 1, GRAPH_CLIENT_PAGE_MAX,
			    &o->page_size, err, errlen);
		else
			rc = err_set(err, errlen, "unknown option or missing value: %s",
			    argv[optind - 1]);
	}
	if (rc == 0 && optind != argc)
		rc = err_set(err, errlen, "unexpected argument: %s", argv[optind]);
	if (rc == 0 && o->since != 0 && o->days != 0)
		rc = err_set(err, errlen, "--since and --days both name the start: give one");
	if (rc == 0 && o->until != 0 && o->since != 0 && o->until <= o->since)
		rc = err_set(err, errlen, "--until must be after --since");
	if (rc == 0 && o->until != 0 && o->days != 0 &&
	    o->until <= (int64_t)time(NULL) - (int64_t)o->days * 86400)
		rc = err_set(err, errlen, "--until must be after the start --days %d gives",
		    o->days);
	return rc;
}

int
backfill_args(int argc, char *argv[], struct backfill_opts *o, char *err, size_t errlen)
{
	if (backfill_options(argc, argv, BACKFILL_OPT_PAGE_SIZE, o, err, errlen) == -1)
		return -1;
	if (o->nmailboxes != 1 || o->since == 0)
		return err_set(err, errlen, "one --mailbox and --since are required");
	return 0;
}

static long
mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
backfill_print(void *arg, const struct backfill_progress *p)
{
	struct backfill_printer *pp = arg;
	long now = mono_now_ms();

	if (pp->tty) {
		/* A bar of the two folders, then the counts, rewritten in place. */
		fprintf(pp->out, "\r\033[Kbackfill %s [%-2.*s] %s page %ld  seen %ld  logged %ld  "
		    "skipped %ld  failed %ld", pp->mailbox, p->folders_done, "##", p->folder,
		    p->pages_before + p->pages, p->seen, p->logged, p->skipped, p->failed);
		pp->open_line = 1;
		fflush(pp->out);
		return;
	}
	if (pp->printed_pages != 0 && p->pages - pp->printed_pages < BACKFILL_LINE_PAGES &&
	    now - pp->printed_ms < BACKFILL_LINE_SECONDS * 1000)
		return;
	fprintf(pp->out, "backfill progress mailbox=%s folder=%s pages=%ld seen=%ld new=%ld "
	    "logged=%ld skipped=%ld failed=%ld leads=%ld\n", pp->mailbox, p->folder,
	    p->pages_before + p->pages, p->seen, p->new_messages, p->logged, p->skipped,
	    p->failed, p->leads);
	fflush(pp->out);
	pp->printed_pages = p->pages;
	pp->printed_ms = now;
}

void
backfill_print_end(struct backfill_printer *pp, const struct backfill_progress *p, int rc)
{
	if (pp->open_line)
		fputc('\n', pp->out);
	pp->open_line = 0;
	if (rc == 0 && p->finished_before)
		fprintf(pp->out, "backfill finished mailbox=%s pages=%ld: this range was read "
		    "completely before, nothing to do\n", pp->mailbox, p->pages_before);
	else
		fprintf(pp->out, "backfill %s mailbox=%s pages=%ld pages_before=%ld seen=%ld "
		    "new=%ld logged=%ld skipped=%ld failed=%ld leads=%ld%s\n",
		    rc == 0 ? "done" : rc == 1 ? "interrupted" : "failed", pp->mailbox, p->pages,
		    p->pages_before, p->seen, p->new_messages, p->logged, p->skipped, p->failed,
		    p->leads, p->held ? " held=yes (Salesforce or the API budget: the rest is "
		    "logged by the next pass)" : "");
	fflush(pp->out);
}
