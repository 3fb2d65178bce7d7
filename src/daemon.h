/* daemon.h: `olsync run`. Without `listen` it polls: a full engine pass every sync_interval.
 * With `listen` it is real time:
 *
 *	receiver (server threads)   Graph's POST -> check clientState -> mark folder -> 202
 *	subscription thread         reconcile at start and every reconcile_interval, renewals,
 *	                            lifecycle actions (subscriptions.c)
 *	worker (the caller)         a full pass at start; then, woken by marks, a pass over the
 *	                            marked folders only once the batch window closes (the first
 *	                            mark waited batch_window, widened as the API budget runs low,
 *	                            or batch_size notifications came); a full pass every
 *	                            reconcile_interval; the failed messages when their retry is due
 *
 * The three share the ledger file through their own handles; the receiver never waits on a
 * remote call. A fourth thread keeps this instance's leases (leases.h; alone, it holds them
 * all), so that several instances can share one database: the worker reads only the mailboxes it holds, the subscription thread
 * and the meetings run only on the holder of their lease, and the worker looks at the ledger
 * every DAEMON_SHARED_POLL_MS for work another instance's receiver or death left. */
#ifndef OL_DAEMON_H
#define OL_DAEMON_H

#include <signal.h>
#include <stddef.h>

#include "config.h"

#define DAEMON_TICK_MS		200	/* the stop and reload flags are seen this often */
#define DAEMON_FOLDER_RETRY	5	/* s: first wait after a marked folder failed to read;
					 * doubles up to DAEMON_FOLDER_RETRY_MAX */
#define DAEMON_FOLDER_RETRY_MAX	300
#define DAEMON_PASS_RETRY	30	/* s: wait after a pass that could not go on */
#define DAEMON_SHARED_POLL_MS	1000	/* the shared ledger is looked at this often for work
					 * another instance left (marks, batches) */

/* Counters of one daemon_run, for tests and logs. */
struct daemon_stats {
	long	full_passes;
	long	folder_passes;	/* passes over marked folders */
	long	folders_read;	/* marked folders read up to date */
};

/* Runs until *halt is set (by a signal handler: SIGTERM to stop, SIGHUP to reload; the caller
 * knows which), finishing the batch in flight, and returns 0. Returns -1 with err when it cannot
 * start (ledger, TLS files, address in use). Passes that fail later are logged and retried: a
 * daemon outlives an outage. st (may be NULL) is filled at the end. */
int daemon_run(const struct config *cfg, const volatile sig_atomic_t *halt,
    struct daemon_stats *st, char *err, size_t errlen);

#endif
