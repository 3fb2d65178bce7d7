/* ingest.h: Graph delta -> ledger. Every watched mailbox's Inbox and Sent Items is read with
 * per-folder delta; each page's messages are recorded as sightings together with the link that
 * follows them in one ledger transaction, so a saved link never outruns its messages. With a
 * new message goes the part of it the engine writes (ingest_trim), so nothing of a message is
 * held in memory between reading and writing and no message is read twice from Graph. */
#ifndef OL_INGEST_H
#define OL_INGEST_H

#include <signal.h>

#include <jansson.h>

#include "config.h"
#include "graph_client.h"
#include "ledger.h"
#include "remote.h"

/* What ingest_trim keeps of the free text, in characters. A subject as long as the longest
 * any record takes (EmailMessage.Subject, write.c; a Task's is 255); Graph's bodyPreview is
 * 255 characters, so the preview's bound only stops a hostile one. */
#define INGEST_SUBJECT_MAX	3000
#define INGEST_PREVIEW_MAX	1024

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

/* Records msgs, a page of folder of mailbox (a delta page or a list page), as sightings, each
 * new message with its copy (ingest_trim), inside the caller's ledger transaction (the caller
 * saves its position in the same one). st is added to. 0, or -1 with err (roll back). */
int ingest_record(struct ingest *in, const char *mailbox, const char *folder, json_t *msgs,
    struct ingest_stats *st, char *err, size_t errlen);

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

/* Lists the watched mailboxes again (what ingest_mailboxes returns next) without reading them.
 * 0, or -1 with err and f (the list is kept) when Graph did not answer. */
int ingest_list(struct ingest *in, struct remote_failure *f, char *err, size_t errlen);

/* The mailboxes the last ingest_run or ingest_list listed (a JSON array of strings, borrowed until the next
 * ingest_run or ingest_free), or NULL before the first one succeeded. */
const json_t *ingest_mailboxes(const struct ingest *in);
/* 1 when mailbox is one of mailboxes (such a list; NULL is empty), else 0. */
int ingest_watches(const json_t *mailboxes, const char *mailbox);

/* The message of a ledger entry as ingest_trim gives it: the copy the ledger stored with it,
 * else (a row without one: written by an olsync from before copies were kept, revived by
 * `olsync retry`, or too large to keep) fetched from Graph by its sightings in order, the
 * first that answers winning (a copy may have been deleted since). On 0 *message is a new
 * reference (caller decrefs). -1 with f when no copy could be fetched or the ledger failed
 * (f->cls REMOTE_TEMP then). */
int ingest_message(struct ingest *in, const struct ledger_entry *e, json_t **message,
    struct remote_failure *f);

/* What the engine reads of a Graph message (engine.c, filter.c), in Graph's shape so it reads
 * the same as the whole message: internetMessageId, conversationId, sentDateTime,
 * receivedDateTime, isDraft when true, subject and bodyPreview cut to the bounds above, from's
 * address and name, the To and Cc addresses (recipients without one dropped), and the
 * internetMessageHeaders filter_header_used keeps. Members of the wrong type are left out. A
 * new reference; caller decrefs. */
json_t *ingest_trim(const json_t *msg);

/* Unix seconds of a Graph date-time ("2024-05-21T09:30:00Z"), or 0 when s is NULL or not one. */
int64_t ingest_parse_time(const char *s);

#endif
