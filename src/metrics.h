/* metrics.h: the counters of one olsync process that the ledger cannot answer (calls sent,
 * failures by class, notification-to-record latency, the last emails decided, the last pass),
 * bumped by the engine, the clients and the daemon, and read by admin.c for /metrics and the
 * dashboard. What the ledger knows (emails by state, queue, subscriptions, budget) is read from
 * the ledger by admin.c at each request, not counted here.
 *
 * Unlike the other modules this state is process-wide, not a struct passed around: it counts
 * what the process does, across the engines and clients a reload makes anew, and a hook must
 * stay one line in the modules it observes. Counters are atomics; the rest is under one mutex
 * held for a few copies at most, never across I/O. Every call is thread-safe. */
#ifndef OL_METRICS_H
#define OL_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ledger.h"
#include "remote.h"

#define METRICS_RECENT		200	/* emails kept for /api/messages, newest first */
#define METRICS_BUCKETS		12	/* latency histogram bounds, +Inf apart */

enum metrics_service {
	METRICS_GRAPH,
	METRICS_SALESFORCE,
	METRICS_SERVICES
};

/* A call sent to service (the Salesforce data API: what sf-sim and Salesforce count against
 * the daily allowance; Graph: every request, token requests apart). */
void metrics_call(enum metrics_service service);
/* A call or a record that failed, classified (remote.h) where its answer was parsed. */
void metrics_error(enum metrics_service service, enum remote_class cls);
/* The Salesforce instance URL of the latest login (the dashboard links records there). */
void metrics_sf_instance(const char *url);
/* Notifications the receiver verified and accepted. */
void metrics_notified(long long n);

/* The receiver marked (mailbox, folder) for a read: the first mark since the folder was last
 * read is the start of the notification latency of the emails that read finds. */
void metrics_mark(const char *mailbox, const char *folder);
/* The folder was read up to date: its marks are spent. */
void metrics_mark_done(const char *mailbox, const char *folder);

/* The Salesforce records of an email; any may be NULL or "" (none). */
struct metrics_ids {
	const char	*task, *email_message, *lead, *who, *what;
};

/* The engine recorded an outcome for e (its first copy's mailbox and folder, first_seen):
 * kept among the METRICS_RECENT last; a logged email first seen after a pending mark of its
 * folder adds the time since that mark to the latency histogram. mailbox is the owner's (may be
 * NULL: e's), reason the skip reason or the failure (may be NULL), ids the records (NULL, or
 * empty strings for none). All borrowed for the call. */
void metrics_email(const struct ledger_entry *e, const char *mailbox, enum ledger_state state,
    const char *reason, const struct metrics_ids *ids);

/* The daemon finished a pass: ok 0 means it could not go on (error says why; borrowed). */
void metrics_pass(int ok, const char *error);
/* The watched mailboxes (a JSON array of strings, copied), for the dashboard. */
void metrics_mailboxes(const json_t *list);

/* The last pass as metrics_pass saw it: *at 0 before the first one. error is copied to buf. */
void metrics_last_pass(int64_t *at, int *ok, char *error, size_t errlen);
/* The instance URL (copied into buf; "" when unknown). */
void metrics_instance(char *buf, size_t len);
/* A copy of the watched mailboxes (an array, maybe empty); caller decrefs. */
json_t *metrics_mailbox_list(void);
/* The last limit (at most METRICS_RECENT) emails decided, newest first, each once with its
 * latest outcome, as objects
 * {ext_id, mailbox, state, reason, at, task_id, email_message_id, lead_id, who_id, what_id}
 * (absent members: none). Caller decrefs. */
json_t *metrics_recent(size_t limit);
/* Writes the process counters in the Prometheus text format (HELP, TYPE, samples) to fp. */
void metrics_write(FILE *fp);
/* Writes v as the value of a Prometheus label: backslash, double quote and newline escaped. */
void metrics_label(FILE *fp, const char *v);
/* Calls sent to service since start. */
long long metrics_calls(enum metrics_service service);

#endif
