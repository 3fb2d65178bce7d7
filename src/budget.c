/* budget.c: olsync's share of the daily Salesforce API allowance (see budget.h): the calls of the
 * last 24 hours in the ledger's api_calls buckets, counted before they are made, and the org's
 * usage from Sforce-Limit-Info (kept in the ledger's kv, so a restart knows the limit). */
#include "budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

#define KV_ORG		"sf_api_usage"	/* "<used> <max> <seen at>" */
#define LOG_EVERY	60		/* s: an unchanged state is logged again after this */

struct budget {
	const struct config	*cfg;
	struct ledger		*ledger;
	struct sf_client	*sf;
	long			 org_used, org_max;
	int64_t			 org_at;
	int			 org_dirty;	/* seen, not yet saved */
	long			 calls_seen;	/* sf_client_calls when the usage was read */
	long long		 ours;		/* in the window, reservations included */
	long long		 limit;
	/* The reservation of the batch in flight: counted at res_at, spent of it so far. */
	int64_t			 res_at;
	long long		 reserved, spent;
	/* Looks at /limits: not before look_at; the wait doubles while held. */
	int64_t			 look_at;
	long			 look_delay;
	int64_t			 next_look;	/* EXHAUSTED: when to try again, else 0 */
	enum budget_state	 logged;	/* the state last logged, and when */
	int64_t			 logged_at;
};

long long
budget_limit(int share_pct, long org_max)
{
	if (org_max <= 0)
		return -1;
	return (long long)org_max * share_pct / 100;
}

int64_t
budget_bucket(int64_t t)
{
	return t - t % BUDGET_BUCKET;
}

/* A bucket counts while its last second is inside the window. */
static int
in_window(int64_t at, int64_t now)
{
	return at + BUDGET_BUCKET > now - BUDGET_DAY;
}

long long
budget_sum(const struct ledger_api_bucket *v, size_t n, int64_t now)
{
	long long sum = 0;

	for (size_t i = 0; i < n; i++)
		if (in_window(v[i].at, now) && v[i].calls > 0)
			sum += v[i].calls;
	return sum;
}

enum budget_state
budget_state_of(long long limit, long long ours, long long need, long org_used, long org_max)
{
	if (limit < 0)
		return BUDGET_GO;	/* the first call's answer says */
	if (ours + need > limit)
		return BUDGET_EXHAUSTED;
	if ((limit - ours) * 100 < limit * BUDGET_SHORT_PCT)
		return BUDGET_SHORT;
	if (org_max > 0 && ((long long)org_max - org_used) * 100 <
	    (long long)org_max * BUDGET_ORG_SHORT_PCT)
		return BUDGET_SHORT;
	return BUDGET_GO;
}

double
budget_widen(long long limit, long long ours, long org_used, long org_max)
{
	double left = 100.0;

	if (limit > 0)
		left = 100.0 * (double)(limit - ours) / (double)limit;
	else if (limit == 0)
		left = 0;
	if (org_max > 0 && 100.0 * (double)(org_max - org_used) / (double)org_max < left)
		left = 100.0 * (double)(org_max - org_used) / (double)org_max;
	if (left >= BUDGET_WIDEN_FULL)
		return 1.0;
	if (left * BUDGET_WIDEN_MAX <= BUDGET_WIDEN_FULL)
		return BUDGET_WIDEN_MAX;
	return BUDGET_WIDEN_FULL / left;
}

int64_t
budget_free_at(const struct ledger_api_bucket *v, size_t n, int64_t now, long long ours,
    long long limit, long long need)
{
	if (limit < 0 || ours + need <= limit)
		return now;
	if (need > limit)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!in_window(v[i].at, now) || v[i].calls <= 0)
			continue;
		ours -= v[i].calls;
		if (ours + need <= limit)
			return v[i].at + BUDGET_BUCKET + BUDGET_DAY;
	}
	return 0;	/* the buckets do not add up to ours: nothing to wait for */
}

const char *
budget_state_name(enum budget_state s)
{
	switch (s) {
	case BUDGET_GO:
		return "ok";
	case BUDGET_SHORT:
		return "short";
	case BUDGET_EXHAUSTED:
		return "exhausted";
	}
	return "?";
}

static long long
batch_need(const struct config *cfg)
{
	return cfg->mode == CONFIG_MODE_TASK ? BUDGET_BATCH_TASK : BUDGET_BATCH_EMAIL;
}

/* The org's usage as last saved: 0 (with zeros) or 1 when there is none, -1 on error. */
static int
load_org(struct ledger *l, long *used, long *max, int64_t *at)
{
	char *v = NULL;
	long long u, m, t;
	int r;

	*used = *max = 0;
	*at = 0;
	if ((r = ledger_kv_get(l, KV_ORG, &v)) != 0)
		return r;
	if (sscanf(v, "%lld %lld %lld", &u, &m, &t) == 3 && u >= 0 && m > 0) {
		*used = (long)u;
		*max = (long)m;
		*at = (int64_t)t;
	}
	free(v);
	return 0;
}

/* Our calls in the window, and the buckets (caller frees *v; v may be NULL). */
static int
load_ours(struct ledger *l, int64_t now, long long *ours, struct ledger_api_bucket **v,
    size_t *n)
{
	struct ledger_api_bucket *b;
	size_t nb;

	if (ledger_api_buckets(l, now - BUDGET_DAY - BUDGET_BUCKET, &b, &nb) == -1)
		return -1;
	*ours = budget_sum(b, nb, now);
	if (v != NULL) {
		*v = b;
		*n = nb;
	} else {
		free(b);
	}
	return 0;
}

int
budget_report(struct ledger *l, const struct config *cfg, int64_t now,
    struct budget_report *r)
{
	struct ledger_api_bucket *v = NULL;
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	if (load_org(l, &r->org_used, &r->org_max, &r->org_at) == -1 ||
	    load_ours(l, now, &r->ours, &v, &n) == -1)
		return -1;
	r->limit = budget_limit(cfg->sf_budget_share, r->org_max);
	r->need = batch_need(cfg);
	r->state = budget_state_of(r->limit, r->ours, r->need, r->org_used, r->org_max);
	if (r->state == BUDGET_EXHAUSTED)
		r->free_at = budget_free_at(v, n, now, r->ours, r->limit, r->need);
	free(v);
	return 0;
}

static void
note_org(struct budget *b, long used, long max, int64_t now)
{
	if (max <= 0)
		return;
	if (used != b->org_used || max != b->org_max || now - b->org_at >= BUDGET_BUCKET)
		b->org_dirty = 1;
	b->org_used = used;
	b->org_max = max;
	b->org_at = now;
	b->limit = budget_limit(b->cfg->sf_budget_share, max);
}

/* The client's api-usage is news only if a call was made since it was last read. */
static void
refresh_org(struct budget *b, int64_t now)
{
	long used, max, calls = sf_client_calls(b->sf);

	if (calls == b->calls_seen)
		return;
	b->calls_seen = calls;
	sf_client_api_usage(b->sf, &used, &max);
	note_org(b, used, max, now);
}

static void
save_org(struct budget *b)
{
	char v[96];

	if (!b->org_dirty)
		return;
	snprintf(v, sizeof(v), "%ld %ld %lld", b->org_used, b->org_max, (long long)b->org_at);
	if (ledger_kv_set(b->ledger, KV_ORG, v) == -1)
		log_warnx("budget ledger_failed error=\"%s\"", ledger_error(b->ledger));
	else
		b->org_dirty = 0;
}

/* When a held budget looks at /limits next: look_delay after the org's usage was last seen
 * (a batch that just ran has told us), and not before look_at (a look that failed). */
static int64_t
look_due(const struct budget *b)
{
	return b->org_at + b->look_delay > b->look_at ? b->org_at + b->look_delay : b->look_at;
}

/* The first wait between looks while held: retry_base, as for Salesforce's own "wait". */
static long
first_delay(const struct config *cfg)
{
	return cfg->retry_base_ms >= 1000 ? (long)(cfg->retry_base_ms / 1000) : 1;
}

/* The sf_client's gate: a call within the batch's reservation goes; any other is counted in the
 * ledger first, and refused when it would pass the limit or cannot be counted. */
static int
gate(void *arg, double *wait_sec)
{
	struct budget *b = arg;
	int64_t now = (int64_t)time(NULL);

	refresh_org(b, now);
	/* Within the reservation, unless a limit learnt since (from the first answer, when none
	 * was known at the admit) says even the calls made so far plus this one are too many. */
	if (b->spent < b->reserved && (b->limit < 0 ||
	    b->ours - (b->reserved - b->spent) + 1 <= b->limit)) {
		b->spent++;
		return 0;
	}
	if (b->spent < b->reserved || (b->limit >= 0 && b->ours + 1 > b->limit)) {
		/* Not the time the budget frees (hours away, maybe): the time of the next look,
		 * so a raised allowance is seen. */
		*wait_sec = (double)(look_due(b) > now ? look_due(b) - now : b->look_delay);
		log_warnx("budget refused_call used=%lld limit=%lld share=%d%% org_max=%ld",
		    b->ours, b->limit, b->cfg->sf_budget_share, b->org_max);
		return -1;
	}
	if (ledger_api_add(b->ledger, budget_bucket(now), 1, now - BUDGET_DAY - BUDGET_BUCKET) ==
	    -1) {
		*wait_sec = (double)b->look_delay;
		log_warnx("budget ledger_failed error=\"%s\" (the call is not made)",
		    ledger_error(b->ledger));
		return -1;
	}
	b->ours++;
	return 0;
}

struct budget *
budget_new(const struct config *cfg, struct ledger *l, struct sf_client *sf)
{
	struct budget *b = xcalloc(1, sizeof(*b));

	b->cfg = cfg;
	b->ledger = l;
	b->sf = sf;
	b->look_delay = first_delay(cfg);
	if (load_org(l, &b->org_used, &b->org_max, &b->org_at) == -1)
		log_warnx("budget ledger_failed error=\"%s\"", ledger_error(l));
	b->limit = budget_limit(cfg->sf_budget_share, b->org_max);
	if (load_ours(l, (int64_t)time(NULL), &b->ours, NULL, NULL) == -1)
		log_warnx("budget ledger_failed error=\"%s\"", ledger_error(l));
	b->logged = BUDGET_GO;
	sf_client_set_gate(sf, gate, b);
	return b;
}

void
budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	budget_settle(b);
	save_org(b);
	sf_client_set_gate(b->sf, NULL, NULL);
	free(b);
}

void
budget_settle(struct budget *b)
{
	int64_t now = (int64_t)time(NULL), at = budget_bucket(now);
	int64_t prune = now - BUDGET_DAY - BUDGET_BUCKET;
	int rc;

	if (b->reserved == 0)
		return;
	/* The calls spent are moved to the bucket of now (later: counted longer, never less);
	 * added there before the reservation is taken back, so a crash between overcounts. */
	if (at == b->res_at)
		rc = ledger_api_add(b->ledger, at, b->spent - b->reserved, prune);
	else
		rc = ledger_api_add(b->ledger, at, b->spent, prune) == -1 ? -1 :
		    ledger_api_add(b->ledger, b->res_at, -b->reserved, prune);
	if (rc == -1)	/* the reservation stays counted: too many, never too few */
		log_warnx("budget ledger_failed error=\"%s\"", ledger_error(b->ledger));
	else
		b->ours -= b->reserved - b->spent;
	b->reserved = b->spent = 0;
	save_org(b);
}

/* GET /limits, when the org's numbers are unknown or may have changed in our favour. */
static void
look(struct budget *b, int64_t now)
{
	struct remote_failure f;

	b->look_at = now + b->look_delay;
	if (b->look_delay < BUDGET_LOOK_MAX)
		b->look_delay = b->look_delay * 2 > BUDGET_LOOK_MAX ? BUDGET_LOOK_MAX :
		    b->look_delay * 2;
	memset(&f, 0, sizeof(f));
	if (sf_client_limits(b->sf, &f) == -1)
		log_warnx("budget look_failed class=%s code=%s", remote_class_name(f.cls), f.code);
	/* A refusal (REQUEST_LIMIT_EXCEEDED) carries Sforce-Limit-Info too. */
	refresh_org(b, now);
	save_org(b);
	log_info("budget looked org_used=%ld org_max=%ld limit=%lld", b->org_used, b->org_max,
	    b->limit);
}

static int
want_look(const struct budget *b, enum budget_state st, int64_t now)
{
	if (b->limit >= 0 && b->ours + 1 > b->limit)
		return 0;	/* not even a look fits */
	if (b->org_max <= 0)
		return now >= b->look_at;
	if (st == BUDGET_EXHAUSTED)
		return now >= look_due(b);	/* was the allowance raised? */
	/* Short because of the org (other integrations): is it still? */
	return st == BUDGET_SHORT && now >= b->look_at && now - b->org_at >= BUDGET_ORG_FRESH;
}

static void
log_state(struct budget *b, enum budget_state st, int64_t now, int64_t free_at)
{
	if (st == b->logged && (st == BUDGET_GO || now - b->logged_at < LOG_EVERY))
		return;
	b->logged = st;
	b->logged_at = now;
	if (st == BUDGET_EXHAUSTED)
		log_warnx("budget hold reason=share_spent used=%lld limit=%lld share=%d%% "
		    "org_used=%ld org_max=%ld frees_in=%llds next_look_in=%llds (mail is read "
		    "into the ledger and written when the budget allows)", b->ours, b->limit,
		    b->cfg->sf_budget_share, b->org_used, b->org_max,
		    free_at > 0 ? (long long)(free_at - now) : -1LL,
		    (long long)(b->next_look - now));
	else if (st == BUDGET_SHORT)
		log_warnx("budget short used=%lld limit=%lld share=%d%% org_used=%ld org_max=%ld "
		    "action=live_mail_only live_seconds=%d (backfill stays pending)", b->ours,
		    b->limit, b->cfg->sf_budget_share, b->org_used, b->org_max, BUDGET_LIVE);
	else
		log_info("budget ok used=%lld limit=%lld share=%d%% org_used=%ld org_max=%ld",
		    b->ours, b->limit, b->cfg->sf_budget_share, b->org_used, b->org_max);
}

enum budget_state
budget_admit(struct budget *b, int64_t now, int64_t *live_since)
{
	struct ledger_api_bucket *v = NULL;
	long long need = batch_need(b->cfg);
	enum budget_state st;
	int64_t free_at = 0;
	size_t n = 0;
	int granted;

	*live_since = INT64_MIN;
	budget_settle(b);
	refresh_org(b, now);
	if (load_ours(b->ledger, now, &b->ours, NULL, NULL) == -1) {
		log_warnx("budget ledger_failed error=\"%s\" (no call without a count)",
		    ledger_error(b->ledger));
		b->next_look = now + b->look_delay;
		return BUDGET_EXHAUSTED;
	}
	st = budget_state_of(b->limit, b->ours, need, b->org_used, b->org_max);
	if (want_look(b, st, now)) {
		look(b, now);
		st = budget_state_of(b->limit, b->ours, need, b->org_used, b->org_max);
	}
	b->next_look = 0;
	if (st == BUDGET_EXHAUSTED) {
		if (load_ours(b->ledger, now, &b->ours, &v, &n) == 0)
			free_at = budget_free_at(v, n, now, b->ours, b->limit, need);
		free(v);
		/* Look again (a raised allowance), or wait for calls to leave the window. */
		b->next_look = b->ours + 1 <= b->limit ? look_due(b) : 0;
		if (b->next_look != 0 && b->next_look <= now)
			b->next_look = now + 1;
		if (free_at > 0 && (b->next_look == 0 || free_at < b->next_look))
			b->next_look = free_at;
		if (b->next_look == 0)
			b->next_look = now + BUDGET_LOOK_MAX;
		log_state(b, st, now, free_at);
		return st;
	}
	/* Reserved only if the calls counted now, by every instance sharing the ledger, still
	 * leave room: the sum read above may be stale by another instance's batch. */
	if (ledger_api_reserve(b->ledger, budget_bucket(now), need,
	    now - BUDGET_DAY - BUDGET_BUCKET + 1, b->limit, now - BUDGET_DAY - BUDGET_BUCKET,
	    &granted) == -1) {
		log_warnx("budget ledger_failed error=\"%s\" (no call without a count)",
		    ledger_error(b->ledger));
		b->next_look = now + b->look_delay;
		return BUDGET_EXHAUSTED;
	}
	if (!granted) {
		/* Another instance spent the room first: wait as for a spent budget. */
		b->next_look = now + 1;
		log_state(b, BUDGET_EXHAUSTED, now, 0);
		return BUDGET_EXHAUSTED;
	}
	b->res_at = budget_bucket(now);
	b->reserved = need;
	b->spent = 0;
	b->ours += need;
	if (st == BUDGET_SHORT) {
		*live_since = now - BUDGET_LIVE;
	} else {
		b->look_delay = first_delay(b->cfg);
	}
	log_state(b, st, now, 0);
	return st;
}

double
budget_window_factor(const struct budget *b)
{
	return budget_widen(b->limit, b->ours, b->org_used, b->org_max);
}

int64_t
budget_next_look(const struct budget *b)
{
	return b->next_look;
}
