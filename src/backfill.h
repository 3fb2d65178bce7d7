/* backfill.h: a mailbox's mail over a date range, read with Graph message lists (not delta: a
 * range has an end) page by page into the ledger, like ingest's delta pages, and logged through
 * the engine as it comes. Each page is recorded in one transaction with the position after it,
 * so `olsync backfill` stopped anywhere resumes at the first page it had not recorded, and mail
 * already in the ledger (from delta, or from an earlier backfill) is not logged twice.
 * `olsync dry-run` reads its window with it too, into a throwaway ledger. */
#ifndef OL_BACKFILL_H
#define OL_BACKFILL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "engine.h"
#include "graph_client.h"
#include "ledger.h"

#define BACKFILL_TRIES		5	/* requests for one page before the run fails */
#define BACKFILL_RETRY_BASE	2	/* seconds: the first backoff after a TEMP failure */

/* One range of one mailbox: receivedDateTime in [since, until); until 0 is open (up to now,
 * and whatever arrives while it is read). */
struct backfill_range {
	const char	*mailbox;
	int64_t		 since;
	int64_t		 until;
};

/* Where a backfill is, for progress reports and its summary. */
struct backfill_progress {
	const char	*folder;	/* the folder being read (borrowed) */
	long		 pages;		/* pages read in this run */
	long		 pages_before;	/* pages an earlier run had read (resumed) */
	long		 seen;		/* messages on the pages of this run */
	long		 new_messages;	/* of them, not in the ledger before */
	long		 logged;	/* the engine's outcomes in this run */
	long		 skipped;
	long		 failed;	/* failed or dead: `olsync status`, `olsync dead` */
	long		 leads;
	int		 folders_done;	/* folders finished, in this run or before */
	int		 finished_before;	/* every folder was finished before this run */
	int		 held;		/* Salesforce or the API budget held the writes */
};

typedef void backfill_progress_fn(void *arg, const struct backfill_progress *p);

/* Reads r's Inbox and Sent Items page by page into l. With e (its ledger must be l), each page is
 * logged through engine_pass_folders before the next is read. With keep, the position of each
 * folder is saved in l with each page and an earlier run's is resumed (a finished folder is not
 * read again); without, every page is read. progress (may be NULL) is called after each page and
 * each folder. stop (may be NULL) is checked between pages: the page in flight is recorded and
 * logged first. A page Graph throttles or fails temporarily is asked again (BACKFILL_TRIES).
 * Returns 0 finished, 1 stopped, -1 with err (a Graph failure: the position of what was
 * recorded is kept). *pr (may be NULL) gets the totals. */
int backfill_run(const struct config *cfg, struct ledger *l, struct graph_client *g,
    struct engine *e, const struct backfill_range *r, int keep,
    const volatile sig_atomic_t *stop, backfill_progress_fn *progress, void *arg,
    struct backfill_progress *pr, char *err, size_t errlen);

/* The mailboxes names lists (n of them), each of which olsync must watch, or with n 0 every one
 * it watches (graph_client_mailboxes). A new array of strings (caller decrefs), or NULL with
 * err. */
json_t *backfill_mailboxes(struct graph_client *g, const char *const *names, size_t n, char *err,
    size_t errlen);

/* A command-line date: "YYYY-MM-DD" (00:00 UTC) or an ISO 8601 date-time with a zone
 * ("2026-11-02T09:30:00Z", "...+01:00"). 0 with *t, or -1. */
int backfill_parse_date(const char *s, int64_t *t);

/* The options of `olsync backfill` and `olsync dry-run`. */
#define BACKFILL_MAILBOXES_MAX	256	/* --mailbox given at most this often */
struct backfill_opts {
	const char	*mailboxes[BACKFILL_MAILBOXES_MAX];	/* borrowed from argv */
	size_t		 nmailboxes;
	int64_t		 since;		/* 0: not given */
	int		 days;		/* --days; 0: not given */
	int64_t		 until;		/* 0: up to now */
	int		 page_size;	/* messages per Graph page; 0: graph_client's */
	int		 json;
};
/* Parses the options after the command (argv[0] is the command): --mailbox ADDR (repeatable),
 * --since DATE, --until DATE, and those of extra (BACKFILL_OPT_*); refuses --since with --days
 * and --until not after --since. 0, or -1 with the reason in err (a usage error). */
#define BACKFILL_OPT_DAYS	0x1	/* --days N */
#define BACKFILL_OPT_JSON	0x2	/* --json */
#define BACKFILL_OPT_PAGE_SIZE	0x4	/* --page-size N */
int backfill_options(int argc, char *argv[], int extra, struct backfill_opts *o, char *err,
    size_t errlen);
/* `olsync backfill`'s: --mailbox ADDR --since DATE [--until DATE] [--page-size N]. */
int backfill_args(int argc, char *argv[], struct backfill_opts *o, char *err, size_t errlen);

/* Progress for a person: on a terminal (tty) one line rewritten in place, otherwise a plain
 * line every BACKFILL_LINE_PAGES pages or BACKFILL_LINE_SECONDS seconds, and the first. */
#define BACKFILL_LINE_PAGES	10
#define BACKFILL_LINE_SECONDS	10
struct backfill_printer {
	FILE		*out;
	int		 tty;
	const char	*mailbox;
	long		 printed_pages;	/* pages at the last line */
	long		 printed_ms;	/* and when (monotonic) */
	int		 open_line;	/* tty: a progress line waits for its newline */
};
/* A backfill_progress_fn; arg is a struct backfill_printer. */
void backfill_print(void *arg, const struct backfill_progress *p);
/* The summary after backfill_run returned rc. */
void backfill_print_end(struct backfill_printer *pp, const struct backfill_progress *p, int rc);

#endif
