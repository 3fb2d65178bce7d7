/* delta.h: one Graph delta round, driven to its deltaLink: each page fetched and recorded (with
 * the link that follows it, all or nothing) in order, the round started over once when Graph
 * has lost the sync state (410 SyncStateNotFound), and failures sorted into "try later" and
 * "the pass cannot go on". ingest.c drives mail folders with it, calendar.c calendars. */
#ifndef OL_DELTA_H
#define OL_DELTA_H

#include <signal.h>
#include <stddef.h>

#include <jansson.h>

#include "remote.h"

struct delta_ops {
	/* The page at link (NULL: the first page of a new round), as graph_client's delta page
	 * calls give it. 0, or -1 with f. */
	int	(*fetch)(void *arg, const char *link, json_t **items, char **next,
		    char **delta, struct remote_failure *f);
	/* Records a page's items and the link after them in one transaction. 0, or -1 with
	 * err (the pass cannot go on). */
	int	(*record)(void *arg, json_t *items, const char *link, char *err, size_t errlen);
	/* Graph lost the sync state: forget the saved position before the round starts over.
	 * 0, or -1 with err. */
	int	(*restart)(void *arg, char *err, size_t errlen);
	void	*arg;
	const char *what;	/* "mailbox=... folder=...", for log lines and err */
};

/* Reads from link (owned by the call; NULL: a new round) to the deltaLink, or until *stop
 * (stop may be NULL). Returns 0 done or stopped; 1 when a remote failure leaves the rest for
 * later (f filled and logged); -1 with err when Graph refused our credentials (f->cls
 * REMOTE_AUTH) or recording failed. *pages and *restarts are added to. */
int delta_round(const struct delta_ops *ops, char *link, const volatile sig_atomic_t *stop,
    long *pages, long *restarts, struct remote_failure *f, char *err, size_t errlen);

#endif
