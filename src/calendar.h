/* calendar.h: Graph calendarView delta -> ledger. Each watched mailbox's calendar is read with
 * calendarView delta over [now - meeting_window_past, now + meeting_window_future]; every
 * occurrence on a page is recorded as that rep's copy of a meeting (ledger_meeting_copy_put),
 * removed ones are forgotten, and the page's link is saved in the same transaction, as ingest.c
 * does for mail. A round's window is fixed by Graph; when it is a day old the next read starts a
 * fresh round over the current window (a replay, which changes nothing). */
#ifndef OL_CALENDAR_H
#define OL_CALENDAR_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "graph_client.h"
#include "ledger.h"
#include "normalize.h"
#include "remote.h"

#define CALENDAR_FOLDER		"calendar"	/* the delta state's and marks' folder name */
#define CALENDAR_REBASE		86400		/* s: a round's window is moved after a day */

struct calendar_stats {
	long	pages;
	long	events;		/* occurrences read */
	long	changed;	/* copies that changed (their meetings are pending) */
	long	removed;
	long	skipped;	/* series masters, events without iCalUId */
	long	restarts;	/* fresh rounds after 410 or a rebase */
};

/* The meeting key (OutlookEventId__c) of a Graph event: the digest of its iCalUId and, for an
 * occurrence or exception of a series, its originalStart (stable when the occurrence moves).
 * -1 when the event has no iCalUId. */
int calendar_key(const json_t *event, char out[NORMALIZE_DIGEST_LEN + 1]);

/* The UTC instant of a Graph dateTimeTimeZone ({"dateTime","timeZone"}), any zone Graph names
 * (UTC, IANA or Windows); an all-day event's floating midnight is read in zone all_day_tz (the
 * activity_timezone). -1 when it cannot be read. */
int calendar_time(const json_t *dtz, int all_day, const char *all_day_tz, int64_t *utc);

/* Whether a copy's response counts as attending under cfg: accepted; tentativelyAccepted with
 * meeting_tentative; organizer (the rep organized it) with meeting_match any-external. */
int calendar_attending(const struct config *cfg, const json_t *event);

/* Reads mailbox's calendar up to its delta link. 0 done (or stopped), 1 a remote failure left
 * it for later (f filled, logged), -1 fatal (ledger, or REMOTE_AUTH; err filled). st is added
 * to. */
int calendar_read(const struct config *cfg, struct ledger *l, struct graph_client *g,
    const char *mailbox, const volatile sig_atomic_t *stop, struct calendar_stats *st,
    struct remote_failure *f, char *err, size_t errlen);

#endif
