/* engine.h: one olsync pass: ingest every folder (ingest.c), then take the pending messages in
 * batches through filter -> match -> Leads -> activity writes, and record each outcome in the
 * ledger, so that every email between reps and customers is logged exactly once. */
#ifndef OL_ENGINE_H
#define OL_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "config.h"
#include "graph_client.h"
#include "ingest.h"
#include "ledger.h"
#include "meeting.h"
#include "sf_client.h"

#define ENGINE_USER_TTL		3600	/* seconds a mailbox's User lookup is trusted */
#define ENGINE_BACKOFF_MAX	(6 * 3600)	/* the backoff stops doubling here */
#define ENGINE_LEAD_STALE	3600	/* a Lead claim older than this was left by a crash */

struct engine;

/* What one pass did. */
struct engine_stats {
	struct ingest_stats	ingest;		/* folders_failed counts calendars too */
	struct calendar_stats	calendar;
	struct meeting_stats	meetings;
	long			processed;	/* messages taken from the ledger */
	long			logged;
	long			skipped;
	long			failed;		/* failed, to be retried later */
	long			dead;
	long			leads;		/* Leads created */
	int			stopped;	/* the stop flag ended the pass early */
	int			held;		/* Salesforce asked us to wait, or the API budget
						 * is spent: nothing more was written */
};

/* cfg, l, g and sf are borrowed for the life of the engine. */
struct engine *engine_new(const struct config *cfg, struct ledger *l, struct graph_client *g,
    struct sf_client *sf);
void engine_free(struct engine *e);	/* NULL is fine */

/* One pass. stop (may be NULL) is checked between ingest pages and between batches: the batch
 * in flight is finished and recorded, the rest waits for the next pass. Per-message failures are
 * recorded in the ledger and are not an error of the pass. Returns 0, or -1 with a clear reason
 * in err when the pass could not go on: the ledger failed, the mailboxes could not be listed, or
 * Graph or Salesforce refused our credentials. st (may be NULL) is filled either way. */
int engine_pass(struct engine *e, const volatile sig_atomic_t *stop, struct engine_stats *st,
    char *err, size_t errlen);

/* The same pass for the listed folders only (those notifications marked; done says which were
 * read up to date; CALENDAR_FOLDER is the mailbox's calendar), then the pending and due
 * messages and meetings as engine_pass. n may be 0: only what is due. */
int engine_pass_folders(struct engine *e, struct ingest_folder *fs, size_t n,
    const volatile sig_atomic_t *stop, struct engine_stats *st, char *err, size_t errlen);

/* Until when (Unix seconds) Salesforce asked us not to write, or our API budget holds the
 * writes (budget_next_look); 0 or past: no hold. */
int64_t engine_hold_until(const struct engine *e);
/* What the real-time batch window is multiplied by as the API budget runs low (budget.h). */
double engine_window_factor(const struct engine *e);

/* The mailboxes the last full pass or engine_list_mailboxes watched (see ingest_mailboxes), or
 * NULL before one. */
const json_t *engine_mailboxes(const struct engine *e);
/* Lists the watched mailboxes again (ingest_list): 0, or -1 with err. */
int engine_list_mailboxes(struct engine *e, char *err, size_t errlen);

/* One of several instances on a shared ledger (daemon.c): the batches are claimed in the ledger
 * under owner (copied) for lease_ms, so no other instance writes them, and a dead instance's
 * unfinished Lead claims are freed at each pass. NULL or "": alone, as before. */
void engine_set_instance(struct engine *e, const char *owner, long long lease_ms);
/* Whether this instance runs the meetings (it holds the "meetings" lease); on by default. */
void engine_set_meetings(struct engine *e, int on);

/* Planning instead of writing, for `olsync dry-run` (dryrun.c). With a planner set, a pass
 * decides every message exactly as it would for real (the same filter, lookup, tie-break and
 * Lead owner choice) and records the outcome in its ledger, but sends no write to Salesforce:
 * each Lead and each activity goes to the planner and is taken as written, a new Lead under a
 * placeholder id (ENGINE_PLAN_LEAD_PREFIX and a number) that later mail of its sender is then
 * logged on, as on the real Lead; meetings are not run. Reads (the lookups) are made as usual.
 * The ledger must therefore be a throwaway copy: the engine moves its round-robin cursor and
 * marks its messages. */
#define ENGINE_PLAN_LEAD_PREFIX	"newlead"

enum engine_plan_kind {
	ENGINE_PLAN_ACTIVITY,	/* a Task and/or EmailMessage (cfg->mode) */
	ENGINE_PLAN_LEAD,	/* a Lead for an unknown sender */
	ENGINE_PLAN_SKIP,	/* skipped, with reason */
	ENGINE_PLAN_FAIL,	/* failed (a lookup failed), with reason: a real run would retry */
};

/* What a pass would do for one email. Everything is borrowed for the call. */
struct engine_plan {
	enum engine_plan_kind	 kind;
	const char		*key;		/* the ledger key (normalized internetMessageId) */
	const char		*ext_id;	/* its digest: the Task's OutlookMessageId__c */
	const char		*mailbox;	/* the rep whose mailbox owns it */
	const char		*direction;	/* "inbound", "outbound" */
	const char		*subject;
	const char		*reason;	/* SKIP and FAIL */
	/* ACTIVITY */
	const char		*owner_id;	/* the rep's User, NULL: the integration user */
	const char		*who_id;	/* Contact, Lead, or a planned Lead's placeholder */
	int			 who_is_lead;
	const char		*who_address;
	const char		*what_id;	/* Opportunity, or NULL */
	int			 candidates;	/* records with who_address (> 1: a tie was broken) */
	/* LEAD */
	const char		*lead_id;	/* the placeholder */
	const char		*address;
	const char		*name;
	const char		*lead_owner_id;	/* NULL: the integration user */
	const char		*lead_owner_rule;	/* "lead_owner", "mailbox_user",
						 * "round_robin", "none" */
};

typedef void engine_plan_fn(void *arg, const struct engine_plan *p);
/* Sets (fn NULL: clears) the planner; arg is borrowed for the engine's life. */
void engine_set_planner(struct engine *e, engine_plan_fn *fn, void *arg);
/* With a planner set, meetings are planned too when fn is set (meeting_plan_run): calendars are
 * read and each meeting write reported to fn; without it a planning pass leaves meetings. */
void engine_set_meeting_planner(struct engine *e, meeting_plan_fn *fn, void *arg);

/* The filter policy of cfg (borrows its lists): for email here, for meetings in meeting.c. */
struct filter_policy;
void engine_filter_policy(const struct config *cfg, struct filter_policy *p);

/* The retry delay in seconds after a TEMP failure that was attempt number attempts (1, 2, ...):
 * base (the retry_base option, in seconds) doubled per attempt up to ENGINE_BACKOFF_MAX, times a
 * random factor in [0.5, 1.0] (jitter, so messages that failed together do not come back
 * together). A WAIT failure without a server-given time waits engine_backoff(base, 1). */
long engine_backoff(long base, int attempts);

#endif
