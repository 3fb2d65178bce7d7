/* meeting.h: meetings -> Salesforce Events (use case 3). For each meeting the ledger marks
 * pending, decide from every rep's copy whether it is a meeting olsync logs (a rep attends, it is
 * not cancelled, the organizer - or any external attendee, by configuration - is a Contact),
 * choose the Opportunity (meeting_opportunity), and upsert its Event on OutlookEventId__c, or
 * delete (or mark) the Event it no longer deserves; then recompute Next_Meeting_Date__c on every
 * Opportunity whose meetings changed. Writes are skipped when nothing changed since the last
 * write, so a replay of the calendar costs no Salesforce call. */
#ifndef OL_MEETING_H
#define OL_MEETING_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ledger.h"
#include "sf_client.h"

#define MEETING_BATCH	50	/* meetings decided and written together */

struct meeting_stats {
	long	processed;
	long	written;	/* Events created or changed */
	long	unchanged;	/* already as Salesforce has them */
	long	deleted;	/* Events deleted (or marked cancelled) */
	long	not_logged;	/* no Event wanted (no Contact, declined, ...) */
	long	failed;
	long	dead;
	long	opportunities;	/* Next meeting dates written */
};

/* A dry run's view of the meeting writes (meeting_run with a planner): each is reported here
 * instead of being sent to Salesforce; reads still go to Salesforce and the ledger is updated as
 * after the writes (dry-run works on a copy of it). */
enum meeting_plan_kind {
	MEETING_PLAN_EVENT,	/* an Event upserted on OutlookEventId__c */
	MEETING_PLAN_REMOVE,	/* an Event deleted, or marked cancelled */
	MEETING_PLAN_NEXT	/* an Opportunity's next meeting field set (value NULL: cleared) */
};

#define MEETING_PLAN_EVENT_PREFIX	"newevent"	/* placeholder id of a new Event */

struct meeting_plan {
	enum meeting_plan_kind	 kind;
	const char		*key;		/* EVENT, REMOVE: the meeting (OutlookEventId__c) */
	const char		*event_id;	/* its Event, or a placeholder for a new one */
	const char		*subject;	/* EVENT: the record's fields */
	const char		*who_id;
	const char		*what_id;	/* or NULL */
	const char		*owner_id;
	const char		*start;		/* StartDateTime, or ActivityDate all day */
	size_t			 relations;	/* EventRelations of the other Contacts */
	const char		*how;		/* REMOVE: "deleted" or "marked" */
	const char		*opportunity_id;	/* NEXT */
	const char		*value;
};

typedef void meeting_plan_fn(void *arg, const struct meeting_plan *p);

/* One run over the due meetings, then the marked Opportunities. now is the time "future" is
 * measured from. hold_until (may be NULL) gets a time when Salesforce asked us to wait. Returns 0;
 * -1 with err when the run cannot go on (ledger, or Salesforce refused our credentials). */
int meeting_run(const struct config *cfg, struct ledger *l, struct sf_client *sf, int64_t now,
    long retry_base, const volatile sig_atomic_t *stop, struct meeting_stats *st,
    int64_t *hold_until, char *err, size_t errlen);
/* The same, writes reported to plan (arg borrowed for the call) instead of made. */
int meeting_plan_run(const struct config *cfg, struct ledger *l, struct sf_client *sf,
    int64_t now, meeting_plan_fn *plan, void *arg, struct meeting_stats *st, char *err,
    size_t errlen);

#endif
