/* spread.h: periodic work for many mailboxes spread over time instead of done all at once.
 * Each key (a mailbox address, a subscription id) gets a fixed offset inside a period from a
 * hash of it, so the same key always lands at the same place, different keys land evenly, and
 * nothing needs to be stored. Used for the subscription renewals (subscriptions.c) and for the
 * real-time sweep, which reads each mailbox at its own phase of reconcile_interval (daemon.c). */
#ifndef OL_SPREAD_H
#define OL_SPREAD_H

#include <stdint.h>

#include <jansson.h>

/* The offset of key in [0, range): FNV-1a of key with ASCII letters folded to lower case (a
 * mailbox written Ana@ or ana@ is one mailbox). 0 when range < 2 or key is NULL. */
int64_t spread_offset(const char *key, int64_t range);

/* A sweep over mailboxes every interval: mailbox m is due at start + phase(m) + k * interval
 * for k = 0, 1, ..., phase(m) = spread_offset(m, interval), so between two of its sweeps there
 * is exactly one interval however the mailboxes are many, and in any stretch of the interval
 * about the same share of them is due. Times in any unit, the same for all fields. */
struct spread_sweep {
	int64_t	interval;
	int64_t	start;
	int64_t	last;		/* due times up to here are done */
};

void spread_sweep_init(struct spread_sweep *sw, int64_t interval, int64_t start);

/* Calls due(arg, mailbox) once for every mailbox of mailboxes (a JSON array of strings; NULL is
 * empty) with a due time in (sw->last, now], then moves sw->last to now; when a call fails
 * (returns -1) the rest are not called and sw->last stays, so they are all offered again next
 * time (due must be idempotent). Returns the next due time after now of any mailbox (now +
 * interval when there are none), or -1 when a call failed. */
int64_t spread_sweep_run(struct spread_sweep *sw, const json_t *mailboxes, int64_t now,
    int (*due)(void *arg, const char *mailbox), void *arg);

#endif
