/* budget.h: olsync's share of the org's daily Salesforce API allowance (sf_budget_share of the
 * max in Sforce-Limit-Info), never exceeded. Every call is counted in the ledger before it is
 * sent, over a rolling 24 hours as Salesforce counts: a batch reserves its worst case first and
 * gives back what it did not use; a call beyond that is counted on its own or not made. Before
 * each batch the budget says whether every message may be written, live mail only, or nothing,
 * and it says how far the real-time batch window widens as the allowance runs low.
 *
 * One budget per engine, used by the engine's thread only (the sf_client's gate included). */
#ifndef OL_BUDGET_H
#define OL_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ledger.h"
#include "sf_client.h"

#define BUDGET_DAY		86400	/* s: Salesforce's rolling window */
#define BUDGET_BUCKET		60	/* s: calls are counted per minute */
#define BUDGET_SHORT_PCT	10	/* under this share of our limit left: live mail only */
#define BUDGET_ORG_SHORT_PCT	5	/* under this share of the org's allowance left: the same */
#define BUDGET_LIVE		LEDGER_RECENT	/* s: mail received this recently is live */
#define BUDGET_ORG_FRESH	300	/* s: an org usage seen longer ago is looked at again
					 * (GET /limits) before it holds backfill back */
#define BUDGET_WIDEN_FULL	50	/* % of the budget left above which the window is as set */
#define BUDGET_WIDEN_MAX	30	/* the window grows up to this factor */
#define BUDGET_WINDOW_MAX_MS	(10 * 60 * 1000)	/* and never past this */
#define BUDGET_LOOK_MAX		3600	/* s: longest wait between looks at /limits while held */
/* The worst case of one batch's calls, reserved before it: the lookups (Users, Contacts,
 * Leads, Opportunities), the Leads made, and the writes (a Task upsert; with EmailMessages, the
 * message and relation lookups, creates and the Task stamps). A batch that needs more (a great
 * many addresses) takes the rest call by call, each counted first. */
#define BUDGET_BATCH_TASK	6
#define BUDGET_BATCH_EMAIL	10

enum budget_state {
	BUDGET_GO,		/* write every message due */
	BUDGET_SHORT,		/* write live mail only; backfill stays pending */
	BUDGET_EXHAUSTED	/* no Salesforce call; mail is still read into the ledger */
};

/* The arithmetic, pure (tests/unit/test_budget.c). */

/* Our limit: share_pct % of org_max, rounded down; -1 while the org's max is unknown (0). */
long long budget_limit(int share_pct, long org_max);
/* The bucket (start, Unix seconds) a call at t is counted in. */
int64_t budget_bucket(int64_t t);
/* Calls of v (oldest first) still inside the 24 hours before now. A bucket counts while any
 * second of it does: a call is never forgotten early. */
long long budget_sum(const struct ledger_api_bucket *v, size_t n, int64_t now);
/* What a batch of need calls may do with ours spent of limit (-1: unknown) and the org at
 * org_used of org_max (0: unknown). */
enum budget_state budget_state_of(long long limit, long long ours, long long need,
    long org_used, long org_max);
/* The factor the batch window is multiplied by: 1 while more than BUDGET_WIDEN_FULL % of both
 * our limit and the org's allowance is left, then BUDGET_WIDEN_FULL / (% left), up to
 * BUDGET_WIDEN_MAX. */
double budget_widen(long long limit, long long ours, long org_used, long org_max);
/* When, as the buckets of v (oldest first, ours calls in all at now) leave the window, ours + need
 * fits in limit again; now when it fits already, 0 when it never will (need > limit). */
int64_t budget_free_at(const struct ledger_api_bucket *v, size_t n, int64_t now,
    long long ours, long long limit, long long need);
const char *budget_state_name(enum budget_state s);	/* "ok", "short", "exhausted" */

/* What `olsync status` and the logs say about the budget, from a ledger alone. */
struct budget_report {
	long long		 ours;		/* calls in the last 24 hours */
	long long		 limit;		/* -1: the org's max is not known yet */
	long			 org_used, org_max;	/* last Sforce-Limit-Info; 0: none */
	int64_t			 org_at;	/* when it was seen */
	long long		 need;		/* what a batch reserves */
	enum budget_state	 state;
	int64_t			 free_at;	/* EXHAUSTED: when a batch fits again (0: never) */
};
int budget_report(struct ledger *l, const struct config *cfg, int64_t now,
    struct budget_report *r);

struct budget;

/* cfg, l and sf are borrowed for the budget's life; installs its gate on sf. */
struct budget *budget_new(const struct config *cfg, struct ledger *l, struct sf_client *sf);
void budget_free(struct budget *b);	/* NULL is fine */

/* Before a batch's Salesforce calls: may look at /limits (one call, counted) when the org's
 * usage is unknown, or stale and short, or we are held; then reserves the batch's worst case.
 * GO: *live_since is INT64_MIN; SHORT: only mail received at or after *live_since; EXHAUSTED:
 * nothing is reserved, no call may be made (logged, with when it frees). */
enum budget_state budget_admit(struct budget *b, int64_t now, int64_t *live_since);
/* After the batch: the calls it did not use go back. Nothing to settle is fine. */
void budget_settle(struct budget *b);
/* The batch window's factor now (budget_widen with the numbers of the last admit). */
double budget_window_factor(const struct budget *b);
/* While exhausted: when the budget looks again (a /limits call, or calls leaving the window);
 * 0 otherwise. */
int64_t budget_next_look(const struct budget *b);

#endif
