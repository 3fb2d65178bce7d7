/* ingest.h: Graph delta -> ledger. Every watched mailbox's Inbox and Sent Items is read with
 * per-folder delta; each page's messages are recorded as sightings together with the link that
 * follows them in one ledger transaction, so a saved link never outruns its messages. The
 * messages read are kept in memory for the decide step of the same pass. */
#ifndef OL_INGEST_H
#define OL_INGEST_H

#include <signal.h>

#include <jansson.h>

#include "config.h"
#include "graph_client.h"
#include "ledger.h"
#include "remote.h"

/* Messages kept in memory between ingest and decide; beyond it decide fetches them again
 * (graph_client_message), so a huge backfill costs requests, not unbounded memory. */
#define INGEST_CACHE_MAX	20000

#define INGEST_FOLDER_INBOX	"inbox"
#define INGEST_FOLDER_SENT	"sentitems"

struct ingest;

/* What one ingest_run did, for logs and tests. */
struct ingest_stats {
	long	 mailboxes;
	long	 pages;
	long	 messages;	/* message items read (removed items not counted) */
	long	 new_messages;	/* LEDGER_SEEN_NEW */
	long	 copies;	/* LEDGER_SEEN_COPY */
	long	 again;		/* LEDGER_SEEN_AGAIN: replays, 410 restarts */
	long	 removed;	/* "@removed" items, ignored: a logged email stays logged */
	long	 no_id;		/* skipped: no usable internetMessageId (drafts, mostly) */
	long	 restarts;	/* folders restarted from the window after 410 */
	long	 folders_failed;	/* folders left for the next pass after a remote failure */
	double	 wait_sec;	/* the longest Retry-After among those failures, 0 without */
};

/* cfg, l and g are borrowed for the life of the ingest. */
struct ingest *ingest_new(const struct config *cfg, struct ledger *l, struct graph_client *g);
/* Frees the ingest and the messages it still holds; NULL is fine. */
void ingest_free(struct ingest *in);

/* Reads every folder of every mailbox up to its current delta link. A folder whose read fails
 * (TEMP, WAIT, FINAL other than 410) is counted and left for the next pass: what it had recorded
 * stays. Returns 0; -1 with the reason in err when the pass cannot go on: the ledger failed, the
 * mailboxes could not be listed, or Graph refused our credentials (REMOTE_AUTH; *f then holds
 * the failure). stop (may be NULL) is checked between pages: when set the run returns 0 early,
 * everything committed so far being consistent. st (may be NULL) is filled. */
int ingest_run(struct ingest *in, const volatile sig_atomic_t *stop, struct ingest_stats *st,
    struct remote_failure *f, char *err, size_t errlen);

/* One folder to read, for ingest_folders. done is set to 1 when the folder was read up to its
 * delta link (0: a remote failure or the stop flag left it for later). */
struct ingest_folder {
	const char	*mailbox;
	const char	*folder;	/* INGEST_FOLDER_INBOX or INGEST_FOLDER_SENT */
	int		 done;
};

/* Like ingest_run for the listed folders only (the folders notifications marked), without
 * listing the mailboxes. st->mailboxes counts the distinct mailboxes read. */
int ingest_folders(struct ingest *in, struct ingest_folder *fs, size_t n,
    const volatile sig_atomic_t *stop, struct ingest_stats *st, struct remote_failure *f,
    char *err, size_t errlen);

/* Outlook throttles per app and mailbox: after a 429 on one folder, every read of that
 * mailbox waits until its Retry-After has passed (this process's memory; one olsync per
 * ledger). ingest_hold records it; ingest_held gives the seconds mailbox must still be left
 * alone (0: it may be read). A read skipped for it counts as a failed folder whose wait_sec is
 * what is left, so the caller's schedule follows the Retry-After. */
void ingest_hold(struct ingest *in, const char *mailbox, double wait_sec);
double ingest_held(struct ingest *in, const char *mailbox);

/* The mailboxes the last ingest_run listed (a JSON array of strings, borrowed until the next
 * ingest_run or ingest_free), or NULL before the first one succeeded. */
const json_t *ingest_mailboxes(const struct ingest *in);
/* 1 when mailbox is one of mailboxes (such a list; NULL is empty), else 0. */
int ingest_watches(const json_t *mailboxes, const char *mailbox);

/* The Graph message for a ledger entry and the mailbox it was read from: from memory when this
 * pass read it, else fetched from Graph by its sightings in order (the first that answers wins:
 * a copy may have been deleted since). On 0 *message is a new reference (caller decrefs) and
 * *mailbox is borrowed from *message's owner until ingest_forget or ingest_free (caller must not
 * free). -1 with f when no copy could be fetched or the ledger failed (f->cls REMOTE_TEMP then). */
int ingest_message(struct ingest *in, const struct ledger_entry *e, json_t **message,
    const char **mailbox, struct remote_failure *f);

/* Drops the message kept for key (done with it); unknown keys are fine. */
void ingest_forget(struct ingest *in, const char *key);
/* Drops every kept message (end of a pass). */
void ingest_forget_all(struct ingest *in);

/* Unix seconds of a Graph date-time ("2024-05-21T09:30:00Z"), or 0 when s is NULL or not one. */
int64_t ingest_parse_time(const char *s);

#endif
