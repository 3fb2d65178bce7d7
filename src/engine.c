/* engine.c: one olsync pass (see engine.h): ingest, then the pending messages in batches through
 * filter, match, Lead creation and activity writes, each outcome recorded in the ledger. Every
 * Salesforce write is idempotent (upsert by the digest, Lead claims in the ledger), so a batch cut
 * short by a crash is simply done again. */
#include "crashpoint.h"
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "err.h"
#include "filter.h"
#include "log.h"
#include "match.h"
#include "metrics.h"
#include "normalize.h"
#include "write.h"
#include "xmalloc.h"

#define RR_POOL_NAME	"lead_owner_pool"
#define ENGINE_LEAD_BUSY_WAIT	5	/* s before mail whose Lead another instance makes is tried again */

struct engine {
	const struct config	*cfg;
	struct ledger		*ledger;
	struct graph_client	*graph;
	struct sf_client	*sf;
	struct ingest		*ingest;
	struct budget		*budget;	/* olsync's share of the daily API allowance */
	struct filter_policy	 policy;
	long			 retry_base;	/* seconds */
	/* address (mailbox or configured owner) -> {"id": Salesforce User id or "" for none,
	 * "at": when looked up}; asked again after ENGINE_USER_TTL, so a User created or
	 * deactivated meanwhile is seen within the hour, not at the cost of a call each pass */
	json_t			*users;
	/* Salesforce asked us to wait (429, REQUEST_LIMIT_EXCEEDED): no writes before this, even
	 * when a notification brings new mail sooner */
	int64_t			 sf_hold_until;
	int64_t			 started;		/* when this engine was made */
	int			 orphans_released;	/* earlier runs' Lead claims freed */
	engine_plan_fn		*plan;		/* dry run: decisions go here, not to Salesforce */
	void			*plan_arg;
	int			 plan_seq;	/* placeholders handed out */
	meeting_plan_fn		*mplan;		/* dry run: meeting writes go here */
	void			*mplan_arg;
	/* One of several instances (engine_set_instance): batches are claimed under owner for
	 * lease seconds; "" when alone (sync --once, dry-run) */
	char			 owner[LEDGER_OWNER_MAX + 1];
	int64_t			 lease;
	int			 no_meetings;	/* another instance holds the meetings lease */
};

/* One message of a batch and what was decided for it. */
struct item {
	struct ledger_entry	 le;
	json_t			*msg;
	char			*mailbox;	/* the rep's mailbox that owns the message */
	char			*from;		/* normalized, or NULL */
	char			**to, **cc;	/* normalized, NULL-terminated */
	size_t			 nto, ncc;
	struct filter_header	*headers;
	size_t			 nheaders;
	const char		**cps;		/* counterparts, borrowed from from/to/cc */
	size_t			 ncps;
	int			 automated;
	int			 live;		/* still to be decided this batch */
	int			 want_lead;	/* inbound from an unknown sender: a Lead is needed */
	char			 who_id[MATCH_ID_LEN + 1];
	char			 what_id[MATCH_ID_LEN + 1];
	char			 lead_id[MATCH_ID_LEN + 1];	/* a Lead this email created */
	const char		**rel;		/* EmailMessageRelation ids */
	size_t			 nrel;
	char			*to_text, *cc_text;
	char			*skip_reason;	/* decided skipped, not yet recorded (flush_skips) */
};

struct batch {
	struct engine		*e;
	struct engine_stats	*st;
	struct item		*it;
	size_t			 n;
	int64_t			 now;
	int			 fatal;		/* -1: the pass must end (err filled) */
	int			 sf_wait;	/* Salesforce asked to stop writing for now */
	struct match_person	*people;	/* the batch's lookup; items' rel point into it */
	size_t			 npeople;
	char			*err;
	size_t			 errlen;
};

long
engine_backoff(long base, int attempts)
{
	long d = base < 1 ? 1 : base;
	double jitter;

	for (int i = 1; i < attempts && d < ENGINE_BACKOFF_MAX; i++)
		d *= 2;
	if (d > ENGINE_BACKOFF_MAX)
		d = ENGINE_BACKOFF_MAX;
	jitter = 0.5 + 0.5 * ((double)random() / (double)RAND_MAX);
	d = (long)((double)d * jitter);
	return d < 1 ? 1 : d;
}

void
engine_filter_policy(const struct config *cfg, struct filter_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->internal_domains = (const char *const *)cfg->internal_domains.v;
	p->ninternal = cfg->internal_domains.n;
	p->blocked_addresses = (const char *const *)cfg->blocked_addresses.v;
	p->nblocked_addresses = cfg->blocked_addresses.n;
	p->blocked_domains = (const char *const *)cfg->blocked_domains.v;
	p->nblocked_domains = cfg->blocked_domains.n;
	for (size_t i = 0; i < cfg->skip_sensitivity.n; i++)
		p->skip_sensitivity |=
		    FILTER_SENS_BIT(filter_sensitivity_parse(cfg->skip_sensitivity.v[i]));
}

struct engine *
engine_new(const struct config *cfg, struct ledger *l, struct graph_client *g,
    struct sf_client *sf)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->cfg = cfg;
	e->ledger = l;
	e->graph = g;
	e->sf = sf;
	e->ingest = ingest_new(cfg, l, g);
	e->budget = budget_new(cfg, l, sf);
	e->retry_base = (long)(cfg->retry_base_ms / 1000);
	engine_filter_policy(cfg, &e->policy);
	e->started = (int64_t)time(NULL);
	if ((e->users = json_object()) == NULL)
		fatalx("engine: out of memory");
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	ingest_free(e->ingest);
	budget_free(e->budget);
	json_decref(e->users);
	free(e);
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *
recipient_address(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "emailAddress"), "address"));
}

static void
item_clear(struct item *it)
{
	ledger_entry_clear(&it->le);
	json_decref(it->msg);
	free(it->mailbox);
	free(it->from);
	normalize_strv_free(it->to);
	normalize_strv_free(it->cc);
	free(it->headers);
	free(it->cps);
	free(it->rel);
	free(it->to_text);
	free(it->skip_reason);
	free(it->cc_text);
	memset(it, 0, sizeof(*it));
}

/* The normalized addresses of a Graph recipient array (invalid ones dropped: they cannot match
 * anybody) and the raw ones as "a@x; b@y" for the activity. */
static char **
recipients(const json_t *arr, size_t *n, char **text)
{
	char **v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
	size_t i, len = 0, cap = 64, k;
	json_t *r;
	char why[128];

	*n = 0;
	*text = xmalloc(cap);
	**text = '\0';
	json_array_foreach(arr, i, r) {
		const char *raw = recipient_address(r);

		if (raw == NULL)
			continue;
		/* Appended in place, doubling: 10,000 recipients (a hostile message) would copy the
		 * list once per address otherwise. */
		k = strlen(raw);
		while (len + k + 3 > cap)
			cap *= 2;
		*text = xrealloc(*text, cap);
		if (len > 0) {
			memcpy(*text + len, "; ", 2);
			len += 2;
		}
		memcpy(*text + len, raw, k + 1);
		len += k;
		if ((v[*n] = normalize_address(raw, why, sizeof(why))) != NULL)
			(*n)++;
	}
	return v;
}

/* Records one outcome; a refused mark is a ledger failure and ends the pass. */
static void
ledger_failed(struct batch *b, const char *what)
{
	if (b->fatal == 0)
		err_set(b->err, b->errlen, "ledger: %s: %s", what, ledger_error(b->e->ledger));
	b->fatal = -1;
}

/* A planner's view of an item: what every kind of plan carries. */
static void
plan_init(struct engine_plan *p, enum engine_plan_kind kind, const struct item *it)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->key = it->le.key;
	p->ext_id = it->le.ext_id;
	p->mailbox = it->mailbox ? it->mailbox : it->le.mailbox;
	p->direction = ledger_dir_name(it->le.dir);
	p->subject = jstr(it->msg, "subject");
}

static void
plan_outcome(struct engine *e, enum engine_plan_kind kind, const struct item *it,
    const char *reason)
{
	struct engine_plan p;

	if (e->plan == NULL)
		return;
	plan_init(&p, kind, it);
	p.reason = reason;
	e->plan(e->plan_arg, &p);
}

/* Decided skipped: recorded with the batch's other skips by flush_skips. */
static void
skip(struct batch *b, struct item *it, const char *reason)
{
	plan_outcome(b->e, ENGINE_PLAN_SKIP, it, reason);
	it->live = 0;
	free(it->skip_reason);
	it->skip_reason = xstrdup(reason);
}

/* An item's index and its key, for key_order. */
struct keyed_index {
	const char	*key;
	size_t		 i;
};

static int
keyed_index_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed_index *)a)->key,
	    ((const struct keyed_index *)b)->key);
}

/* 0..n-1 in the order of the keys of the items they stand for (items[map[i]], or items[i]
 * without map): a batch's ledger rows are marked in key order, as ingest.c records a page, so
 * two instances' transactions never wait on each other in a cycle. Caller frees. */
static size_t *
key_order(const struct item *items, const size_t *map, size_t n)
{
	struct keyed_index *k = xcalloc(n + 1, sizeof(*k));
	size_t *order = xcalloc(n + 1, sizeof(*order));

	for (size_t i = 0; i < n; i++) {
		k[i].key = items[map != NULL ? map[i] : i].le.key;
		k[i].i = i;
	}
	qsort(k, n, sizeof(*k), keyed_index_cmp);
	for (size_t i = 0; i < n; i++)
		order[i] = k[i].i;
	free(k);
	return order;
}

/* Records the skips decided so far in one transaction (one fsync, not one per email: a tenth
 * of a backfill is internal mail). A crash before the commit leaves them pending, to be
 * decided again. */
static void
flush_skips(struct batch *b)
{
	struct ledger *l = b->e->ledger;
	size_t i, k, n = 0, *order;

	for (i = 0; i < b->n; i++)
		n += b->it[i].skip_reason != NULL;
	if (n == 0 || b->fatal != 0)
		return;
	if (ledger_begin(l) == -1) {
		ledger_failed(b, "begin");
		return;
	}
	order = key_order(b->it, NULL, b->n);
	for (k = 0; k < b->n; k++) {
		i = order[k];
		if (b->it[i].skip_reason != NULL &&
		    ledger_mark_skipped(l, b->it[i].le.key, b->it[i].skip_reason) == -1) {
			ledger_failed(b, "mark_skipped");
			(void)ledger_rollback(l);
			free(order);
			return;
		}
	}
	free(order);
	if (ledger_commit(l) == -1) {
		ledger_failed(b, "commit");
		return;
	}
	for (i = 0; i < b->n; i++) {
		struct item *it = &b->it[i];

		if (it->skip_reason == NULL)
			continue;
		b->st->skipped++;
		metrics_email(&it->le, it->mailbox, LEDGER_SKIPPED, it->skip_reason, NULL);
		log_info("engine skipped msg=%s mailbox=%s reason=\"%s\"", it->le.ext_id,
		    it->mailbox ? it->mailbox : it->le.mailbox, it->skip_reason);
		free(it->skip_reason);
		it->skip_reason = NULL;
	}
}

/* A failed attempt, by class. REMOTE_AUTH ends the pass without touching the message: it is
 * our configuration that is wrong, not the email, so no attempt is spent. */
static void
fail(struct batch *b, struct item *it, const struct remote_failure *f)
{
	enum ledger_fail lf;
	enum ledger_state state;
	int64_t next = b->now;
	char *error;

	it->live = 0;
	switch (f->cls) {
	case REMOTE_AUTH:
		if (b->fatal == 0)
			err_set(b->err, b->errlen, "credentials refused (status %d %s): %s",
			    f->status, f->code, f->message);
		b->fatal = -1;
		return;
	case REMOTE_WAIT:
		lf = LEDGER_FAIL_WAIT;
		/* No server-given time (Salesforce's daily limit has none): look again after
		 * retry_base, each look costing one call. */
		next += f->wait_sec > 0 ? (int64_t)f->wait_sec + 1 :
		    engine_backoff(b->e->retry_base, 1);
		break;
	case REMOTE_FINAL:
		lf = LEDGER_FAIL_FINAL;
		break;
	default:
		lf = LEDGER_FAIL_TEMP;
		next += engine_backoff(b->e->retry_base, it->le.attempts + 1);
		break;
	}
	error = xasprintf("%s %s%s%s", remote_class_name(f->cls), f->code, f->code[0] ? ": " : "",
	    f->message);
	plan_outcome(b->e, ENGINE_PLAN_FAIL, it, error);
	if (ledger_mark_failed(b->e->ledger, it->le.key, error, lf, next, &state) == -1) {
		free(error);
		ledger_failed(b, "mark_failed");
		return;
	}
	metrics_email(&it->le, it->mailbox, state, error, NULL);
	free(error);
	if (state == LEDGER_DEAD)
		b->st->dead++;
	else
		b->st->failed++;
	log_warnx("engine failed msg=%s class=%s status=%d code=%s state=%s attempts=%d",
	    it->le.ext_id, remote_class_name(f->cls), f->status, f->code, ledger_state_name(state),
	    it->le.attempts + (lf == LEDGER_FAIL_TEMP));
}

/* Salesforce asked us to wait: end this pass's writes and hold the next ones until it is time. */
static void
sf_hold(struct batch *b, const struct remote_failure *f)
{
	int64_t until = b->now + (f->wait_sec > 0 ? (int64_t)f->wait_sec + 1 :
	    engine_backoff(b->e->retry_base, 1));

	b->sf_wait = 1;
	if (until > b->e->sf_hold_until)
		b->e->sf_hold_until = until;
}

/* Fails every live item for which want (may be NULL: all) says so. */
static void
fail_live(struct batch *b, const struct remote_failure *f, int (*want)(const struct item *))
{
	for (size_t i = 0; i < b->n && b->fatal == 0; i++)
		if (b->it[i].live && (want == NULL || want(&b->it[i])))
			fail(b, &b->it[i], f);
	if (f->cls == REMOTE_WAIT)
		sf_hold(b, f);
}

/* The mailbox that owns a message, whose rep owns the activity: for outbound mail the sender's
 * (the copy in Sent Items); for inbound mail the first To, then Cc, recipient whose mailbox holds
 * a copy, so that which copy was read first (Graph throttling one folder, say) does not decide;
 * else the first mailbox it was seen in. */
static char *
owner_mailbox(struct batch *b, const struct item *it)
{
	const struct ledger_entry *le = &it->le;
	struct ledger_sighting *s = NULL;
	size_t n = 0, i, k;
	char *mb = NULL;

	/* One copy (most mail): the rules below can only pick its mailbox. */
	if (le->copies == 1)
		return xstrdup(le->mailbox);
	if (ledger_sightings(b->e->ledger, le->key, &s, &n) == -1) {
		ledger_failed(b, "sightings");
		return NULL;
	}
	for (i = 0; i < n && mb == NULL && le->dir == LEDGER_OUTBOUND; i++)
		if (s[i].dir == LEDGER_OUTBOUND)
			mb = xstrdup(s[i].mailbox);
	for (k = 0; k < it->nto + it->ncc && mb == NULL && le->dir == LEDGER_INBOUND; k++) {
		const char *rcpt = k < it->nto ? it->to[k] : it->cc[k - it->nto];

		for (i = 0; i < n && mb == NULL; i++)
			if (s[i].dir == LEDGER_INBOUND && strcasecmp(s[i].mailbox, rcpt) == 0)
				mb = xstrdup(s[i].mailbox);
	}
	ledger_sightings_free(s, n);
	return mb != NULL ? mb : xstrdup(le->mailbox);
}

/* Reads the message and applies the filters. The item stays live when it is to be matched. */
static void
prepare(struct batch *b, struct item *it)
{
	struct remote_failure f;
	struct filter_message fm;
	struct filter_decision d;
	const char *why = NULL, *addr;
	json_t *hdrs, *h;
	char errbuf[128], *reason;
	size_t i;

	if (ingest_message(b->e->ingest, &it->le, &it->msg, &f) == -1) {
		fail(b, it, &f);
		return;
	}
	if ((addr = recipient_address(json_object_get(it->msg, "from"))) != NULL)
		it->from = normalize_address(addr, errbuf, sizeof(errbuf));
	it->to = recipients(json_object_get(it->msg, "toRecipients"), &it->nto, &it->to_text);
	it->cc = recipients(json_object_get(it->msg, "ccRecipients"), &it->ncc, &it->cc_text);
	if ((it->mailbox = owner_mailbox(b, it)) == NULL)
		return;
	hdrs = json_object_get(it->msg, "internetMessageHeaders");
	it->headers = xcalloc(json_array_size(hdrs) + 1, sizeof(*it->headers));
	json_array_foreach(hdrs, i, h) {
		if (jstr(h, "name") == NULL || jstr(h, "value") == NULL)
			continue;
		it->headers[it->nheaders].name = jstr(h, "name");
		it->headers[it->nheaders].value = jstr(h, "value");
		it->nheaders++;
	}

	memset(&fm, 0, sizeof(fm));
	fm.direction = it->le.dir == LEDGER_OUTBOUND ? FILTER_OUTBOUND : FILTER_INBOUND;
	fm.from = it->from;
	fm.to = (const char *const *)it->to;
	fm.nto = it->nto;
	fm.cc = (const char *const *)it->cc;
	fm.ncc = it->ncc;
	fm.is_draft = json_is_true(json_object_get(it->msg, "isDraft"));
	fm.sensitivity = FILTER_SENS_NORMAL;
	fm.headers = it->headers;
	fm.nheaders = it->nheaders;

	it->live = 1;
	if (filter_decide(&fm, &b->e->policy, &d) != FILTER_LOG) {
		reason = d.detail[0] ? xasprintf("%s: %s", filter_reason_name(d.reason), d.detail) :
		    xstrdup(filter_reason_name(d.reason));
		skip(b, it, reason);
		free(reason);
		return;
	}
	it->cps = xcalloc(1 + it->nto + it->ncc, sizeof(*it->cps));
	it->ncps = filter_counterparts(&fm, &b->e->policy, it->cps, 1 + it->nto + it->ncc);
	it->automated = filter_is_automated(&fm, &why);
	if (it->automated)
		log_debug("engine automated msg=%s rule=\"%s\"", it->le.ext_id, why);
}

static const struct match_person *
person(const struct match_person *p, const char *const *addrs, size_t n, const char *address)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(addrs[i], address) == 0)
			return p[i].id[0] ? &p[i] : NULL;
	return NULL;
}

/* A configured owner that already is a Salesforce id (User 005, Queue 00G), not an address. */
static int
is_sf_id(const char *s)
{
	size_t n = strlen(s);

	if (n != 15 && n != 18)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

/* Adds address to need unless the cache holds a User lookup for it younger than
 * ENGINE_USER_TTL. */
static void
want_user(json_t *need, json_t *users, const char *address, int64_t now)
{
	json_t *u;

	if (address == NULL || is_sf_id(address))
		return;
	u = json_object_get(users, address);
	if (u != NULL && json_integer_value(json_object_get(u, "at")) + ENGINE_USER_TTL > now)
		return;
	json_object_set_new(need, address, json_true());
}

/* Before matching: an inbound email from an address no Contact or Lead may have. */
static int
maybe_lead(const struct engine *e, const struct item *it)
{
	return it->le.dir == LEDGER_INBOUND && it->from != NULL && e->cfg->create_leads &&
	    !it->automated;
}

/* The Users the live items need and the cache lacks: each owner mailbox, and, for an item that
 * wants a Lead (before matching: that may, maybe_lead), the Lead owner configured for its
 * mailbox and the round-robin pool. */
static json_t *
users_needed(struct batch *b, int before_match)
{
	struct engine *e = b->e;
	const struct config *cfg = e->cfg;
	json_t *need = json_object();
	int leads = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (!b->it[i].live)
			continue;
		want_user(need, e->users, b->it[i].mailbox, b->now);
		if (before_match ? maybe_lead(e, &b->it[i]) : b->it[i].want_lead) {
			want_user(need, e->users, config_lead_owner(cfg, b->it[i].mailbox), b->now);
			leads = 1;
		}
	}
	for (size_t i = 0; i < cfg->lead_owner_pool.n && leads; i++)
		want_user(need, e->users, cfg->lead_owner_pool.v[i], b->now);
	return need;
}

/* need's addresses as an array borrowed from need (caller frees the array). */
static const char **
need_list(json_t *need, size_t *n)
{
	const char **addrs = xcalloc(json_object_size(need) + 1, sizeof(*addrs)), *k;
	json_t *v;

	*n = 0;
	json_object_foreach(need, k, v)
		addrs[(*n)++] = k;
	return addrs;
}

/* Caches what a User lookup found for addrs: ids[i] ("" for no such User), as of now. */
static void
users_cache(struct engine *e, const char *const *addrs, char (*ids)[MATCH_ID_LEN + 1],
    size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++)
		json_object_set_new(e->users, addrs[i], json_pack("{s:s,s:I}", "id", ids[i], "at",
		    (json_int_t)now));
}

/* Looks up the Users the batch still needs after matching (Lead owners of senders nobody had
 * been expected to be new, say): usually none, the lookup having come with the match. */
static int
resolve_users(struct batch *b)
{
	struct engine *e = b->e;
	json_t *need = users_needed(b, 0);
	const char **addrs = NULL;
	char (*ids)[MATCH_ID_LEN + 1] = NULL;
	struct remote_failure f;
	size_t n = 0;
	int rc = 0;

	if (json_object_size(need) == 0)
		goto out;
	addrs = need_list(need, &n);
	ids = xcalloc(n, sizeof(*ids));
	memset(&f, 0, sizeof(f));
	if (match_users(e->sf, addrs, n, ids, &f) == -1) {
		fail_live(b, &f, NULL);
		rc = -1;
		goto out;
	}
	users_cache(e, addrs, ids, n, b->now);
out:
	free(addrs);
	free(ids);
	json_decref(need);
	return rc;
}

/* The id for a configured owner or mailbox address, or NULL when there is no such User. */
static const char *
user_id(struct engine *e, const char *spec)
{
	const char *id;

	if (spec == NULL)
		return NULL;
	if (is_sf_id(spec))
		return spec;
	id = json_string_value(json_object_get(json_object_get(e->users, spec), "id"));
	return id != NULL && id[0] ? id : NULL;
}

/* A new Lead's owner: the mailbox's lookup-table entry, else the rep's User, else the next of
 * the round-robin pool (cursor in the ledger), else nobody (the integration user). *rule says
 * which (engine_plan's lead_owner_rule). */
static const char *
lead_owner(struct batch *b, const char *mailbox, const char **rule)
{
	struct engine *e = b->e;
	const char *id;
	size_t idx;

	*rule = "lead_owner";
	if ((id = user_id(e, config_lead_owner(e->cfg, mailbox))) != NULL)
		return id;
	*rule = "mailbox_user";
	if ((id = user_id(e, mailbox)) != NULL)
		return id;
	*rule = "none";
	if (e->cfg->lead_owner_pool.n == 0)
		return NULL;
	*rule = "round_robin";
	if (ledger_rr_next(e->ledger, RR_POOL_NAME, e->cfg->lead_owner_pool.n, &idx) == -1) {
		ledger_failed(b, "rr_next");
		return NULL;
	}
	if ((id = user_id(e, e->cfg->lead_owner_pool.v[idx])) == NULL)
		log_warnx("engine lead_owner_unknown pool_entry=%s", e->cfg->lead_owner_pool.v[idx]);
	return id;
}

static int
wants_lead(const struct item *it)
{
	return it->want_lead;
}

/* Fails the messages still waiting for sender's Lead. */
static void
fail_sender(struct batch *b, const char *sender, const struct remote_failure *f)
{
	for (size_t i = 0; i < b->n && b->fatal == 0; i++)
		if (b->it[i].live && b->it[i].want_lead && strcmp(b->it[i].from, sender) == 0)
			fail(b, &b->it[i], f);
}

/* Dry run: the Leads are taken as created, each under a new placeholder id. */
static void
plan_leads(struct batch *b, struct write_lead *wl, struct item *const *src,
    const char *const *rules, size_t nl)
{
	struct engine *e = b->e;
	struct engine_plan p;

	for (size_t k = 0; k < nl; k++) {
		snprintf(wl[k].lead_id, sizeof(wl[k].lead_id), ENGINE_PLAN_LEAD_PREFIX "%d",
		    ++e->plan_seq);
		memset(&wl[k].failure, 0, sizeof(wl[k].failure));
		plan_init(&p, ENGINE_PLAN_LEAD, src[k]);
		p.lead_id = wl[k].lead_id;
		p.address = wl[k].address;
		p.name = wl[k].display_name;
		p.lead_owner_id = wl[k].owner_id;
		p.lead_owner_rule = rules[k];
		e->plan(e->plan_arg, &p);
	}
}

/* One Lead per unknown sender of the batch (and across batches and processes, through the
 * ledger's claims), then every message of that sender is logged on it. */
static void
make_leads(struct batch *b)
{
	struct engine *e = b->e;
	struct write_lead *wl;
	struct remote_failure f;
	enum ledger_lead res;
	const char **addr;
	struct item **src;
	const char **rules;
	char *known = NULL;
	size_t nl = 0, i, j, k;

	wl = xcalloc(b->n, sizeof(*wl));
	rules = xcalloc(b->n, sizeof(*rules));
	addr = xcalloc(b->n, sizeof(*addr));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	src = xcalloc(b->n, sizeof(*src));
	for (i = 0; i < b->n && b->fatal == 0; i++) {
		struct item *it = &b->it[i];

		if (!it->live || !it->want_lead)
			continue;
		for (k = 0; k < nl; k++)
			if (strcmp(addr[k], it->from) == 0)
				break;
		if (k < nl)
			continue;	/* claimed already: one Lead per sender and batch */
		if (ledger_lead_claim(e->ledger, it->from, b->now, ENGINE_LEAD_STALE, &res,
		    &known) == -1) {
			ledger_failed(b, "lead_claim");
			break;
		}
		if (res == LEDGER_LEAD_KNOWN) {
			for (j = i; j < b->n; j++)
				if (b->it[j].live && b->it[j].want_lead &&
				    strcmp(b->it[j].from, it->from) == 0) {
					snprintf(b->it[j].who_id, sizeof(b->it[j].who_id), "%s",
					    known);
					b->it[j].want_lead = 0;
				}
			free(known);
			known = NULL;
			continue;
		}
		if (res == LEDGER_LEAD_BUSY) {
			/* Another process is making this Lead: log the mail on it later, soon (a
			 * create takes a second or two; retry_base is for Salesforce's waits). */
			memset(&f, 0, sizeof(f));
			f.cls = REMOTE_WAIT;
			f.wait_sec = ENGINE_LEAD_BUSY_WAIT;
			snprintf(f.code, sizeof(f.code), "LEAD_BUSY");
			snprintf(f.message, sizeof(f.message), "another run is creating the Lead");
			fail_sender(b, it->from, &f);
			continue;
		}
		/* CLAIMED, or RECLAIMED: match_people has just looked the address up among the
		 * Leads and found none, so creating it is right in both cases. The sender's
		 * earliest email of the batch describes the Lead and is the one that created it. */
		for (j = i + 1; j < b->n; j++)
			if (b->it[j].live && b->it[j].want_lead &&
			    strcmp(b->it[j].from, it->from) == 0 &&
			    b->it[j].le.received_at < it->le.received_at)
				it = &b->it[j];
		src[nl] = it;
		addr[nl] = it->from;
		wl[nl].address = it->from;
		wl[nl].display_name = json_string_value(json_object_get(json_object_get(
		    json_object_get(it->msg, "from"), "emailAddress"), "name"));
		wl[nl].subject = jstr(it->msg, "subject");
		wl[nl].body_preview = jstr(it->msg, "bodyPreview");
		wl[nl].owner_id = lead_owner(b, it->mailbox, &rules[nl]);
		nl++;
	}
	if (nl == 0 || b->fatal)
		goto out;
	memset(&f, 0, sizeof(f));
	crashpoint("before_lead_create");
	if (e->plan != NULL)
		plan_leads(b, wl, src, rules, nl);
	else if (write_leads(e->sf, e->cfg, wl, nl, &f) == -1) {
		for (k = 0; k < nl; k++)
			if (ledger_lead_release(e->ledger, addr[k]) == -1)
				ledger_failed(b, "lead_release");
		fail_live(b, &f, wants_lead);
		goto out;
	}
	crashpoint("after_lead_create");
	for (k = 0; k < nl && b->fatal == 0; k++) {
		struct ledger_sf_ids ids;

		if (wl[k].failure.cls != REMOTE_OK) {
			if (ledger_lead_release(e->ledger, addr[k]) == -1) {
				ledger_failed(b, "lead_release");
				break;
			}
			fail_sender(b, addr[k], &wl[k].failure);
			continue;
		}
		if (ledger_lead_set(e->ledger, addr[k], wl[k].lead_id) == -1) {
			ledger_failed(b, "lead_set");
			break;
		}
		b->st->leads++;
		log_info("engine lead_%s id=%s owner=%s", e->plan != NULL ? "planned" : "created",
		    wl[k].lead_id, wl[k].owner_id ? wl[k].owner_id : "-");
		for (j = 0; j < b->n; j++) {
			struct item *it = &b->it[j];

			if (!it->live || !it->want_lead || strcmp(it->from, addr[k]) != 0)
				continue;
			snprintf(it->who_id, sizeof(it->who_id), "%s", wl[k].lead_id);
			it->want_lead = 0;
		}
		/* Noted now so that a crash before the activity is written does not lose which
		 * email created the Lead. */
		snprintf(src[k]->lead_id, sizeof(src[k]->lead_id), "%s", wl[k].lead_id);
		memset(&ids, 0, sizeof(ids));
		ids.lead_id = src[k]->lead_id;
		if (ledger_note_sf_ids(e->ledger, src[k]->le.key, &ids) == -1)
			ledger_failed(b, "note_sf_ids");
	}
out:
	free(wl);
	free(addr);
	free(src);
	free(rules);
}

/* Matches the counterparts of every live message in one lookup and decides who each activity
 * is on. */
static void
decide(struct batch *b)
{
	struct engine *e = b->e;
	const struct config *cfg = e->cfg;
	struct match_person *people;
	struct remote_failure f;
	json_t *set = json_object(), *need = NULL;
	const char **addrs = NULL, **boxes = NULL;
	char (*ids)[MATCH_ID_LEN + 1] = NULL;
	size_t n = 0, nboxes = 0, i, j;

	for (i = 0; i < b->n; i++)
		for (j = 0; b->it[i].live && j < b->it[i].ncps; j++)
			json_object_set_new(set, b->it[i].cps[j], json_true());
	if (json_object_size(set) == 0)
		goto out;
	addrs = need_list(set, &n);
	people = b->people = xcalloc(n, sizeof(*people));
	b->npeople = n;
	/* The Users the batch will want come along in the same call as the people. */
	need = users_needed(b, 1);
	boxes = need_list(need, &nboxes);
	ids = xcalloc(nboxes + 1, sizeof(*ids));
	memset(&f, 0, sizeof(f));
	if (match_batch(e->sf, cfg, addrs, n, people, boxes, nboxes, ids, &f) == -1) {
		fail_live(b, &f, NULL);
		goto out;
	}
	users_cache(e, boxes, ids, nboxes, b->now);
	for (i = 0; i < b->n && b->fatal == 0; i++) {
		struct item *it = &b->it[i];
		const struct match_person *p, *who = NULL;

		if (!it->live)
			continue;
		it->rel = xcalloc(it->ncps + 1, sizeof(*it->rel));
		for (j = 0; j < it->ncps; j++) {
			if ((p = person(people, addrs, n, it->cps[j])) == NULL)
				continue;
			it->rel[it->nrel++] = p->id;
			/* A Contact wins over a Lead; among equals the first address. */
			if (who == NULL || (who->is_lead && !p->is_lead))
				who = p;
		}
		if (who != NULL) {
			snprintf(it->who_id, sizeof(it->who_id), "%s", who->id);
			if (!who->is_lead)
				snprintf(it->what_id, sizeof(it->what_id), "%s", who->opportunity_id);
			continue;
		}
		if (it->le.dir == LEDGER_INBOUND && it->from != NULL && cfg->create_leads &&
		    !it->automated) {
			it->want_lead = 1;
			continue;
		}
		skip(b, it, it->automated ? "unmatched: automated mail from an unknown sender" :
		    "unmatched: no Contact or Lead has a counterpart's address");
	}
out:
	if (b->fatal == 0 && !b->sf_wait)
		resolve_users(b);
	if (b->fatal == 0 && !b->sf_wait)
		make_leads(b);
	free(addrs);
	free(boxes);
	free(ids);
	json_decref(need);
	json_decref(set);
}

/* Dry run: the activities are taken as written; the planner learns who each is on and, when
 * several records carried that address, that the tie-break chose. */
static void
plan_activities(struct batch *b, struct write_activity *wa, const size_t *map, size_t nw)
{
	struct engine *e = b->e;
	struct engine_plan p;

	for (size_t i = 0; i < nw; i++) {
		const struct item *it = &b->it[map[i]];

		plan_init(&p, ENGINE_PLAN_ACTIVITY, it);
		p.owner_id = wa[i].owner_id;
		p.who_id = wa[i].who_id;
		p.what_id = wa[i].what_id;
		if (strncmp(p.who_id, ENGINE_PLAN_LEAD_PREFIX,
		    strlen(ENGINE_PLAN_LEAD_PREFIX)) == 0) {
			p.who_is_lead = 1;
			p.who_address = it->from;
			p.candidates = 1;
		}
		for (size_t k = 0; k < b->npeople && p.who_address == NULL; k++)
			if (strcmp(b->people[k].id, p.who_id) == 0) {
				p.who_is_lead = b->people[k].is_lead;
				p.who_address = b->people[k].address;
				p.candidates = b->people[k].candidates;
			}
		memset(&wa[i].failure, 0, sizeof(wa[i].failure));
		e->plan(e->plan_arg, &p);
	}
}

static void
write_all(struct batch *b)
{
	struct engine *e = b->e;
	struct write_activity *wa;
	struct remote_failure f;
	size_t *map, *order = NULL, nw = 0, i, j, k;

	wa = xcalloc(b->n, sizeof(*wa));
	map = xcalloc(b->n, sizeof(*map));
	for (i = 0; i < b->n; i++) {
		struct item *it = &b->it[i];
		struct write_activity *w = &wa[nw];
		const char *sent = jstr(it->msg, "sentDateTime");
		const char *recv = jstr(it->msg, "receivedDateTime");
		int64_t when;

		if (!it->live || it->who_id[0] == '\0')
			continue;
		/* A new Lead is a participant too (rel has room for it). */
		for (j = 0; j < it->nrel; j++)
			if (strcmp(it->rel[j], it->who_id) == 0)
				break;
		if (j == it->nrel)
			it->rel[it->nrel++] = it->who_id;
		w->ext_id = it->le.ext_id;
		w->internet_message_id = jstr(it->msg, "internetMessageId");
		w->conversation_id = jstr(it->msg, "conversationId");
		w->inbound = it->le.dir == LEDGER_INBOUND;
		w->subject = jstr(it->msg, "subject");
		w->body_preview = jstr(it->msg, "bodyPreview");
		w->from_address = recipient_address(json_object_get(it->msg, "from"));
		w->from_name = json_string_value(json_object_get(json_object_get(
		    json_object_get(it->msg, "from"), "emailAddress"), "name"));
		w->to_addresses = it->to_text;
		w->cc_addresses = it->cc_text;
		when = ingest_parse_time(w->inbound ? recv : sent);
		if (when == 0)
			when = ingest_parse_time(w->inbound ? sent : recv);
		if (when == 0)
			when = it->le.received_at;
		w->when = (time_t)when;
		w->owner_id = user_id(e, it->mailbox);
		w->who_id = it->who_id;
		w->what_id = it->what_id[0] ? it->what_id : NULL;
		w->relation_ids = it->rel;
		w->nrelations = it->nrel;
		map[nw++] = i;
	}
	if (nw == 0)
		goto out;
	memset(&f, 0, sizeof(f));
	crashpoint("before_sf_write");
	if (e->plan != NULL)
		plan_activities(b, wa, map, nw);
	else if (write_activities(e->sf, e->cfg, wa, nw, &f) == -1) {
		for (i = 0; i < nw && b->fatal == 0; i++)
			fail(b, &b->it[map[i]], &f);
		if (f.cls == REMOTE_WAIT)
			sf_hold(b, &f);
		goto out;
	}
	crashpoint("after_sf_write");
	/* Every outcome of the batch in one transaction: one fsync for the batch rather than one
	 * per email (a crash before the commit leaves them pending; the Tasks are upserted on
	 * their digest, so the next pass writes them again without doubling). */
	if (ledger_begin(e->ledger) == -1) {
		ledger_failed(b, "begin");
		goto out;
	}
	order = key_order(b->it, map, nw);
	for (k = 0; k < nw && b->fatal == 0; k++) {
		struct item *it = &b->it[map[order[k]]];
		struct ledger_sf_ids ids;

		i = order[k];
		if (wa[i].failure.cls != REMOTE_OK) {
			fail(b, it, &wa[i].failure);
			continue;
		}
		memset(&ids, 0, sizeof(ids));
		ids.task_id = wa[i].task_id[0] ? wa[i].task_id : NULL;
		ids.email_message_id = wa[i].email_message_id[0] ? wa[i].email_message_id : NULL;
		ids.lead_id = it->lead_id[0] ? it->lead_id : NULL;
		ids.who_id = it->who_id;
		ids.what_id = it->what_id[0] ? it->what_id : NULL;
		it->live = 0;
		if (ledger_mark_logged(e->ledger, it->le.key, &ids) == -1) {
			ledger_failed(b, "mark_logged");
			break;
		}
		crashpoint("after_ledger_mark");
	}
	if (b->fatal != 0) {
		(void)ledger_rollback(e->ledger);
		goto out;
	}
	if (ledger_commit(e->ledger) == -1) {
		ledger_failed(b, "commit");
		goto out;
	}
	/* Committed without a fatal error: every write that succeeded was marked logged. */
	for (i = 0; i < nw; i++) {
		const struct item *it = &b->it[map[i]];

		if (wa[i].failure.cls != REMOTE_OK)
			continue;
		b->st->logged++;
		metrics_email(&it->le, it->mailbox, LEDGER_LOGGED, NULL, &(struct metrics_ids){
		    wa[i].task_id, wa[i].email_message_id, it->lead_id, it->who_id, it->what_id });
		log_info("engine %s msg=%s mailbox=%s who=%s what=%s task=%s email_message=%s",
		    e->plan != NULL ? "planned" : "logged", it->le.ext_id, it->mailbox, it->who_id,
		    it->what_id[0] ? it->what_id : "-", wa[i].task_id[0] ? wa[i].task_id : "-",
		    wa[i].email_message_id[0] ? wa[i].email_message_id : "-");
	}
out:
	free(order);
	free(wa);
	free(map);
}

/* One batch of up to batch_size messages. 0, or -1 (b->err) to end the pass. */
static int
run_batch(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n && b->fatal == 0; i++)
		prepare(b, &b->it[i]);
	flush_skips(b);
	if (b->fatal == 0)
		decide(b);
	flush_skips(b);
	if (b->fatal == 0 && !b->sf_wait)
		write_all(b);
	free(b->people);
	b->people = NULL;
	return b->fatal;
}

/* Reads the calendar of mailbox into the pass's stats; 0, 1 (left for later) or -1. */
static int
read_calendar(struct engine *e, const char *mailbox, const volatile sig_atomic_t *stop,
    struct engine_stats *st, struct remote_failure *f, char *err, size_t errlen)
{
	double left;
	int r;

	if ((left = ingest_held(e->ingest, mailbox)) > 0) {
		/* A 429 on one of its folders: Graph throttles the whole mailbox. */
		st->ingest.folders_failed++;
		if (left > st->ingest.wait_sec)
			st->ingest.wait_sec = left;
		return 1;
	}
	r = calendar_read(e->cfg, e->ledger, e->graph, mailbox, stop, &st->calendar, f, err,
	    errlen);

	if (r == -1 && f->cls == REMOTE_AUTH && f->status == 403) {
		/* Calendars.Read missing: meetings wait for it, mail goes on. */
		log_warnx("calendar refused mailbox=%s error=\"%s\" (grant Calendars.Read, or set "
		    "meetings no)", mailbox, f->message);
		r = 1;
	}
	if (r == 1) {
		st->ingest.folders_failed++;
		if (f->wait_sec > st->ingest.wait_sec)
			st->ingest.wait_sec = f->wait_sec;
		if (f->cls == REMOTE_WAIT)
			ingest_hold(e->ingest, mailbox, f->wait_sec);
	}
	return r;
}

/* The reading half of a pass: every folder (fs NULL) or the listed ones, mail and calendars. */
static int
read_all(struct engine *e, struct ingest_folder *fs, size_t nfs,
    const volatile sig_atomic_t *stop, struct engine_stats *st, struct remote_failure *f,
    char *err, size_t errlen)
{
	struct ingest_folder *mail;
	const json_t *boxes;
	json_t *v;
	size_t i, nmail = 0;
	int r, rc = -1;

	if (fs == NULL) {
		if (ingest_run(e->ingest, stop, &st->ingest, f, err, errlen) == -1)
			return -1;
		boxes = ingest_mailboxes(e->ingest);
		json_array_foreach(boxes, i, v) {
			/* A planning pass reads calendars only when it plans meetings too. */
			if (!e->cfg->meetings || (e->plan != NULL && e->mplan == NULL) ||
			    (stop != NULL && *stop))
				break;
			if (read_calendar(e, json_string_value(v), stop, st, f, err, errlen) == -1)
				return -1;
		}
		return 0;
	}
	mail = xcalloc(nfs + 1, sizeof(*mail));
	for (i = 0; i < nfs; i++)
		if (strcmp(fs[i].folder, CALENDAR_FOLDER) != 0)
			mail[nmail++] = fs[i];
	if (ingest_folders(e->ingest, mail, nmail, stop, &st->ingest, f, err, errlen) == -1)
		goto out;
	for (i = 0, nmail = 0; i < nfs; i++) {
		if (strcmp(fs[i].folder, CALENDAR_FOLDER) != 0) {
			fs[i].done = mail[nmail++].done;
			continue;
		}
		fs[i].done = 0;
		if (!e->cfg->meetings || (stop != NULL && *stop))
			continue;
		if ((r = read_calendar(e, fs[i].mailbox, stop, st, f, err, errlen)) == -1)
			goto out;
		fs[i].done = r == 0 && (stop == NULL || !*stop);
	}
	rc = 0;
out:
	free(mail);
	return rc;
}

/* What a batch claimed and did not decide (a hold, a stop) is free again for any instance. */
static void
release_claims(struct engine *e)
{
	if (e->owner[0] != '\0' && ledger_claims_release(e->ledger, e->owner, NULL) == -1)
		log_warnx("engine ledger_failed error=\"%s\" (claims left to expire)",
		    ledger_error(e->ledger));
}

/* Lead claims left by a run that died between the claim and the create are made stale, so
 * that sender's mail waits for nothing and the Lead is looked up before it is created. Alone:
 * the claims older than this process, once. One of several instances: the claims of instances
 * whose heartbeat lease ran out, at every pass, a live one's never. */
static int
release_orphans(struct engine *e, char *err, size_t errlen)
{
	long long orphans = 0;
	int rc;

	if (e->owner[0] == '\0' && e->orphans_released)
		return 0;
	rc = e->owner[0] != '\0' ? ledger_lead_orphans_of_dead(e->ledger,
	    (int64_t)time(NULL) * 1000, &orphans) :
	    ledger_lead_orphan_claims(e->ledger, e->started, &orphans);
	if (rc == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(e->ledger));
	if (orphans > 0)
		log_warnx("engine orphan_lead_claims count=%lld (left by a run that "
		    "stopped mid-create; looked up before any new Lead)", orphans);
	e->orphans_released = 1;
	return 0;
}

/* engine_pass (fs NULL: every folder) and engine_pass_folders. */
static int
pass(struct engine *e, struct ingest_folder *fs, size_t nfs, const volatile sig_atomic_t *stop,
    struct engine_stats *st, char *err, size_t errlen)
{
	struct engine_stats local;
	struct remote_failure f;
	struct batch b;
	struct item *items;
	struct ledger_entry *les;
	json_t *last = json_object();	/* the keys of the previous batch */
	int64_t due;
	size_t n, i;
	int64_t since;
	int rc = -1, again;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	items = xcalloc((size_t)e->cfg->batch_size, sizeof(*items));
	les = xcalloc((size_t)e->cfg->batch_size, sizeof(*les));
	if (release_orphans(e, err, errlen) == -1)
		goto out;

	/* Everything is read before anything is written: a message's copies in every mailbox are
	 * in the ledger when it is decided, so its direction and owner (a rep's Sent Items copy
	 * makes it outbound, owner_mailbox) do not depend on which mailbox was read first, as
	 * they would if each page were written before the next mailbox's were read. Memory does
	 * not grow with it: the messages wait in the ledger with the copy the writes need
	 * (ingest_trim), and are taken from it a batch at a time. */
	if (read_all(e, fs, nfs, stop, st, &f, err, errlen) == -1)
		goto out;
	if ((int64_t)time(NULL) < e->sf_hold_until) {
		/* What was read is in the ledger, pending: it is written once the hold ends. */
		st->held = 1;
		log_info("engine hold reason=salesforce_asked_to_wait seconds_left=%lld",
		    (long long)(e->sf_hold_until - (int64_t)time(NULL)));
	}
	due = (int64_t)time(NULL);
	for (;;) {
		if (stop != NULL && *stop) {
			st->stopped = 1;
			break;
		}
		if (st->held)
			break;
		memset(&b, 0, sizeof(b));
		b.e = e;
		b.st = st;
		b.it = items;
		b.now = (int64_t)time(NULL);
		b.err = err;
		b.errlen = errlen;
		/* The API budget: every message, live mail first and only, or no call at all. */
		if (budget_admit(e->budget, b.now, &since) == BUDGET_EXHAUSTED) {
			st->held = 1;
			break;
		}
		/* What was due when the writing began: a message failed in this pass is due
		 * at least a second after its batch, so it waits for the next pass instead of
		 * coming round again in this one. */
		if ((e->owner[0] != '\0' ? ledger_claim_pending(e->ledger, e->owner, due, since,
		    b.now + e->lease, les, (size_t)e->cfg->batch_size, &n) :
		    ledger_next_pending_since(e->ledger, due, since, les,
		    (size_t)e->cfg->batch_size, &n)) == -1) {
			err_set(err, errlen, "ledger: %s", ledger_error(e->ledger));
			goto out;
		}
		if (n == 0)
			break;
		/* Every message taken leaves the due set (a final state, or failed and due
		 * later), so one a batch left behind would head the next batch again: seen in
		 * the previous batch means a loop, stop rather than spin. The keys of one batch
		 * are all the pass keeps: nothing here grows with the mailboxes' history. */
		again = 0;
		for (i = 0; i < n; i++) {
			memset(&items[i], 0, sizeof(items[i]));
			items[i].le = les[i];
			memset(&les[i], 0, sizeof(les[i]));
			if (json_object_get(last, items[i].le.key) != NULL)
				again = 1;
		}
		json_object_clear(last);
		for (i = 0; i < n; i++)
			json_object_set_new(last, items[i].le.key, json_true());
		b.n = n;
		if (again) {
			log_warnx("engine loop_guard: messages came back in the same pass");
			for (i = 0; i < n; i++)
				item_clear(&items[i]);
			break;
		}
		st->processed += (long)n;
		rc = run_batch(&b);
		budget_settle(e->budget);
		release_claims(e);
		for (i = 0; i < n; i++)
			item_clear(&items[i]);
		if (rc == -1)
			goto out;
		if (b.sf_wait) {
			log_warnx("engine pause reason=salesforce_asked_to_wait");
			break;
		}
	}
	if (e->cfg->meetings && e->plan != NULL && e->mplan != NULL &&
	    meeting_plan_run(e->cfg, e->ledger, e->sf, (int64_t)time(NULL), e->mplan,
	    e->mplan_arg, &st->meetings, err, errlen) == -1)
		goto out;
	if (e->cfg->meetings && e->plan == NULL && !e->no_meetings &&
	    (int64_t)time(NULL) >= e->sf_hold_until &&
	    !(stop != NULL && *stop) &&
	    meeting_run(e->cfg, e->ledger, e->sf, (int64_t)time(NULL), e->retry_base, stop,
	    &st->meetings, &e->sf_hold_until, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	budget_settle(e->budget);
	release_claims(e);
	log_info("engine pass rc=%d processed=%ld logged=%ld skipped=%ld failed=%ld dead=%ld "
	    "leads=%ld stopped=%d held=%d", rc, st->processed, st->logged, st->skipped, st->failed,
	    st->dead, st->leads, st->stopped, st->held);
	json_decref(last);
	free(items);
	free(les);
	return rc;
}

int
engine_pass(struct engine *e, const volatile sig_atomic_t *stop, struct engine_stats *st,
    char *err, size_t errlen)
{
	return pass(e, NULL, 0, stop, st, err, errlen);
}

int
engine_pass_folders(struct engine *e, struct ingest_folder *fs, size_t n,
    const volatile sig_atomic_t *stop, struct engine_stats *st, char *err, size_t errlen)
{
	return pass(e, fs, n, stop, st, err, errlen);
}

void
engine_set_instance(struct engine *e, const char *owner, long long lease_ms)
{
	snprintf(e->owner, sizeof(e->owner), "%s", owner != NULL ? owner : "");
	e->lease = (int64_t)((lease_ms + 999) / 1000);
	ledger_set_owner(e->ledger, owner);
}

void
engine_set_meetings(struct engine *e, int on)
{
	e->no_meetings = !on;
}

void
engine_set_planner(struct engine *e, engine_plan_fn *fn, void *arg)
{
	e->plan = fn;
	e->plan_arg = arg;
}

void
engine_set_meeting_planner(struct engine *e, meeting_plan_fn *fn, void *arg)
{
	e->mplan = fn;
	e->mplan_arg = arg;
}

const json_t *
engine_mailboxes(const struct engine *e)
{
	return ingest_mailboxes(e->ingest);
}

int
engine_list_mailboxes(struct engine *e, char *err, size_t errlen)
{
	struct remote_failure f;

	return ingest_list(e->ingest, &f, err, errlen);
}

int64_t
engine_hold_until(const struct engine *e)
{
	int64_t look = budget_next_look(e->budget);

	return look > e->sf_hold_until ? look : e->sf_hold_until;
}

double
engine_window_factor(const struct engine *e)
{
	return budget_window_factor(e->budget);
}
