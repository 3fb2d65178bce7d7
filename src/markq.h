/* markq.h: group commit for the receiver's folder marks.
 *
 * A notification is acknowledged only once its folder mark is durable, and a durable SQLite
 * commit costs an fsync. Instead of one commit per notification, every receiver thread that has
 * a mark to make joins a queue; whichever finds no commit in progress becomes the leader, writes
 * every queued mark in one transaction and wakes the others with the outcome. While one group
 * is being committed the next one gathers, so under load each fsync carries every mark that
 * arrived during the one before, and a lone notification still commits at once. */
#ifndef OL_MARKQ_H
#define OL_MARKQ_H

#include <pthread.h>
#include <stdint.h>

struct ledger;

struct markq_stats {
	long long	marks;		/* marks made durable */
	long long	commits;	/* groups committed (a failed group's retries not counted) */
	long long	failed;		/* marks whose transaction failed (answered 503) */
};

/* The queue writes through l, holding store_lock around each transaction (l is shared with
 * other users of that lock). */
struct markq *markq_new(struct ledger *l, pthread_mutex_t *store_lock);
void markq_free(struct markq *q);

/* Marks mailbox's folder (ledger_dirty_mark, at time now) and returns once the mark is
 * committed: 0, or -1 when its transaction failed (the mark is not made; the caller answers so
 * the sender retries). Safe from any number of threads. */
int markq_mark(struct markq *q, const char *mailbox, const char *folder, int64_t now);

void markq_stats(struct markq *q, struct markq_stats *out);

#endif
