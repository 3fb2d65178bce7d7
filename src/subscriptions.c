/* subscriptions.c: the Graph subscriptions olsync keeps (see subscriptions.h): reconcile with
 * Graph at start, create with a random clientState, renew on schedule, act on lifecycle events,
 * and mark folders for a delta read whenever a subscription may have missed mail. */
#include "subscriptions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "crashpoint.h"
#include "crypto.h"
#include "err.h"
#include "ingest.h"
#include "log.h"
#include "receiver.h"
#include "spread.h"
#include "xmalloc.h"

/* What olsync subscribes to in each mailbox: the mail folders, then (meetings) the calendar. */
static const char *const kinds[] = { "inbox", "sentitems", "events" };
#define NKINDS(s)	((s)->cfg->meetings ? 3 : 2)

struct subs {
	const struct config	*cfg;
	struct ledger		*ledger;
	struct graph_client	*graph;
	void			(*wake)(void *);
	void			*wake_arg;
	char			*notify_url;
	char			*lifecycle_url;
	int64_t			 lifetime;	/* s */
	int64_t			 renew_every;	/* s */
	json_t			*mailboxes;	/* of the last reconcile, or NULL */
	/* "mailbox\nkind" -> {"at": next try, "delay": s}: creates and renewals that failed */
	json_t			*retry;
	int64_t			 pace_sec;	/* the clock second calls are counted in */
	int			 pace_left;	/* calls still allowed in it */
	struct subs_stats	 st;
};

struct subs *
subs_new(const struct config *cfg, struct ledger *l, struct graph_client *g,
    void (*wake)(void *), void *arg)
{
	struct subs *s = xcalloc(1, sizeof(*s));

	s->cfg = cfg;
	s->ledger = l;
	s->graph = g;
	s->wake = wake;
	s->wake_arg = arg;
	s->notify_url = xasprintf("%s%s", cfg->public_url ? cfg->public_url : "",
	    RECEIVER_PATH_NOTIFY);
	s->lifecycle_url = xasprintf("%s%s", cfg->public_url ? cfg->public_url : "",
	    RECEIVER_PATH_LIFECYCLE);
	s->lifetime = cfg->subscription_lifetime_ms / 1000;
	s->renew_every = cfg->subscription_renew_every_ms / 1000;
	if (s->renew_every < 1)
		s->renew_every = 1;
	if ((s->retry = json_object()) == NULL)
		fatalx("subscriptions: out of memory");
	return s;
}

void
subs_free(struct subs *s)
{
	if (s == NULL)
		return;
	free(s->notify_url);
	free(s->lifecycle_url);
	json_decref(s->mailboxes);
	json_decref(s->retry);
	free(s);
}

const char *
subs_notification_url(const struct subs *s)
{
	return s->notify_url;
}

const char *
subs_lifecycle_url(const struct subs *s)
{
	return s->lifecycle_url;
}

void
subs_stats(const struct subs *s, struct subs_stats *out)
{
	*out = s->st;
}

const char *
subs_kind_folder(const char *kind)
{
	/* The mail kinds are named after the folders ingest reads. */
	return strcmp(kind, "events") == 0 ? CALENDAR_FOLDER : kind;
}

static int
known_kind(const struct subs *s, const char *kind)
{
	for (size_t k = 0; k < NKINDS(s); k++)
		if (strcmp(kinds[k], kind) == 0)
			return 1;
	return 0;
}

static char *
retry_key(const char *mailbox, const char *kind)
{
	return xasprintf("%s\n%s", mailbox, kind);
}

/* A call for (mailbox, kind) failed: try again later, the delay doubling per failure. */
static void
retry_later(struct subs *s, const char *mailbox, const char *kind, int64_t now,
    const struct remote_failure *f)
{
	char *key = retry_key(mailbox, kind);
	json_t *r = json_object_get(s->retry, key);
	int64_t delay = SUBS_RETRY_MIN;

	if (r != NULL)
		delay = json_integer_value(json_object_get(r, "delay")) * 2;
	if (delay > SUBS_RETRY_MAX)
		delay = SUBS_RETRY_MAX;
	if (f->cls == REMOTE_WAIT && f->wait_sec > (double)delay)
		delay = (int64_t)f->wait_sec + 1;
	json_object_set_new(s->retry, key, json_pack("{s:I, s:I}", "at", (json_int_t)now + delay,
	    "delay", (json_int_t)delay));
	s->st.failures++;
	log_warnx("subscriptions retry mailbox=%s kind=%s in_sec=%lld class=%s status=%d code=%s "
	    "error=\"%s\"", mailbox, kind, (long long)delay, remote_class_name(f->cls), f->status,
	    f->code, f->message);
	free(key);
}

static void
retry_clear(struct subs *s, const char *mailbox, const char *kind)
{
	char *key = retry_key(mailbox, kind);

	json_object_del(s->retry, key);
	free(key);
}

/* 0 when (mailbox, kind) may be tried at now; else the time it may. */
static int64_t
retry_at(const struct subs *s, const char *mailbox, const char *kind, int64_t now)
{
	char *key = retry_key(mailbox, kind);
	json_t *r = json_object_get(s->retry, key);
	int64_t at = r != NULL ? (int64_t)json_integer_value(json_object_get(r, "at")) : 0;

	free(key);
	return at > now ? at : 0;
}

/* 1 when one more create or renewal may go to Graph in this clock second (and counts it), 0
 * when SUBS_RATE went already: the rest waits for the next second (subs_maintain). */
static int
pace(struct subs *s)
{
	int64_t sec = (int64_t)time(NULL);

	if (sec != s->pace_sec) {
		s->pace_sec = sec;
		s->pace_left = SUBS_RATE;
	}
	if (s->pace_left == 0)
		return 0;
	s->pace_left--;
	return 1;
}

/* This second's calls are spent and work is left: it is due at the next second. */
static void
paced_out(const struct subs *s, int64_t *next)
{
	*next = s->pace_sec + 1;
}

/* The folder may have changed while no subscription watched it: read it. */
static int
mark(struct subs *s, const char *mailbox, const char *kind, int64_t now, char *err,
    size_t errlen)
{
	if (ledger_dirty_mark(s->ledger, mailbox, subs_kind_folder(kind), now) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
	if (s->wake != NULL)
		s->wake(s->wake_arg);
	return 0;
}

static int
store(struct subs *s, const struct graph_sub *g, const char *mailbox, const char *kind,
    const char *state, int64_t created, int64_t now, char *err, size_t errlen)
{
	struct ledger_sub ls;

	memset(&ls, 0, sizeof(ls));
	ls.id = g->id;
	ls.mailbox = (char *)mailbox;
	ls.kind = (char *)kind;
	ls.client_state = (char *)state;
	ls.notification_url = s->notify_url;
	ls.expires_at = (int64_t)g->expires;
	ls.created_at = created;
	ls.renewed_at = now;
	if (ledger_sub_put(s->ledger, &ls) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
	return 0;
}

/* Deletes on Graph the subscriptions of ours (our notification URL) for resource: after a 409,
 * they are in the way and their clientState is unknown. */
static void
clear_conflict(struct subs *s, const char *resource)
{
	struct graph_sub *gs = NULL;
	struct remote_failure f;
	size_t n = 0;

	if (graph_client_sub_list(s->graph, &gs, &n, &f) == -1)
		return;
	for (size_t i = 0; i < n; i++) {
		if (gs[i].resource == NULL || gs[i].notification_url == NULL ||
		    strcasecmp(gs[i].resource, resource) != 0 ||
		    strcmp(gs[i].notification_url, s->notify_url) != 0)
			continue;
		if (graph_client_sub_delete(s->graph, gs[i].id, &f) == 0) {
			s->st.orphans++;
			log_info("subscriptions orphan_deleted id=%s reason=conflict", gs[i].id);
		}
	}
	graph_subs_free(gs, n);
}

/* Creates the subscription for (mailbox, kind), stores it and marks its folder: mail may have
 * come between the last read and now. 0 (also when the create failed and was scheduled for a
 * retry), or -1 when the ledger failed. */
static int
create(struct subs *s, const char *mailbox, const char *kind, int64_t now, char *err,
    size_t errlen)
{
	struct graph_sub g;
	struct remote_failure f;
	char *state = crypto_random_token(SUBS_STATE_LEN), *resource;
	int rc = -1, r;

	/* The clock now, not the caller's: a paced run of creates spans seconds, and each
	 * subscription's renewal is planned from when it was made. */
	if ((int64_t)time(NULL) > now)
		now = (int64_t)time(NULL);
	memset(&g, 0, sizeof(g));
	r = graph_client_sub_create(s->graph, mailbox, kind, s->notify_url, s->lifecycle_url,
	    state, (time_t)(now + s->lifetime), &g, &f);
	if (r == -1 && f.cls == REMOTE_FINAL && f.status == 409) {
		/* Ours from a run whose ledger did not keep it (a crash between create and store,
		 * or a ledger restored from backup): delete it and try once more. */
		resource = graph_client_sub_resource(mailbox, kind);
		if (resource != NULL)
			clear_conflict(s, resource);
		free(resource);
		r = graph_client_sub_create(s->graph, mailbox, kind, s->notify_url,
		    s->lifecycle_url, state, (time_t)(now + s->lifetime), &g, &f);
	}
	if (r == -1) {
		retry_later(s, mailbox, kind, now, &f);
		rc = 0;
		goto out;
	}
	retry_clear(s, mailbox, kind);
	crashpoint("after_sub_create");
	if (store(s, &g, mailbox, kind, state, now, now, err, errlen) == -1)
		goto out;
	s->st.created++;
	log_info("subscriptions created id=%s mailbox=%s kind=%s expires_in_sec=%lld", g.id,
	    mailbox, kind, (long long)((int64_t)g.expires - now));
	rc = mark(s, mailbox, kind, now, err, errlen);
out:
	explicit_bzero(state, strlen(state));
	free(state);
	graph_sub_clear(&g);
	return rc;
}

/* Deletes a stored subscription on Graph and in the ledger. A failed delete on Graph is left to
 * expire (it is logged; Graph stops by itself at its expiry). */
static int
drop(struct subs *s, const struct ledger_sub *ls, const char *why, char *err, size_t errlen)
{
	struct remote_failure f;

	if (graph_client_sub_delete(s->graph, ls->id, &f) == -1)
		log_warnx("subscriptions delete_failed id=%s class=%s status=%d error=\"%s\" "
		    "(it lapses at its expiry)", ls->id, remote_class_name(f.cls), f.status,
		    f.message);
	if (ledger_sub_delete(s->ledger, ls->id) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
	s->st.deleted++;
	log_info("subscriptions deleted id=%s mailbox=%s kind=%s reason=%s", ls->id, ls->mailbox,
	    ls->kind, why);
	return 0;
}

/* Graph no longer has it (404, subscriptionRemoved, absent from the list): forget it, create a
 * new one, and read the folder for what the gap let through. */
static int
recreate(struct subs *s, const struct ledger_sub *ls, int64_t now, const char *why, char *err,
    size_t errlen)
{
	char *mailbox = xstrdup(ls->mailbox), *kind = xstrdup(ls->kind);
	int rc = -1;

	log_warnx("subscriptions lost id=%s mailbox=%s kind=%s reason=%s", ls->id, mailbox, kind,
	    why);
	if (ledger_sub_delete(s->ledger, ls->id) == -1) {
		err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
		goto out;
	}
	s->st.recreated++;
	if (mark(s, mailbox, kind, now, err, errlen) == -1)
		goto out;
	rc = create(s, mailbox, kind, now, err, errlen);
out:
	free(mailbox);
	free(kind);
	return rc;
}

int64_t
subs_renew_due(const struct config *cfg, const struct ledger_sub *ls)
{
	int64_t lifetime = cfg->subscription_lifetime_ms / 1000;
	int64_t every = cfg->subscription_renew_every_ms / 1000;
	int64_t a, b;

	if (every < 1)
		every = 1;
	a = ls->renewed_at + every;
	b = ls->expires_at - (lifetime - every);
	/* Earlier by the subscription's own share of a quarter of renew_every, so subscriptions
	 * made together (at start) do not all come due together. */
	return (a < b ? a : b) - spread_offset(ls->id, every / SUBS_SPREAD_DIV);
}

static int64_t
renew_due(const struct subs *s, const struct ledger_sub *ls)
{
	return subs_renew_due(s->cfg, ls);
}

static int
renew(struct subs *s, const struct ledger_sub *ls, int64_t now, char *err, size_t errlen)
{
	struct graph_sub g;
	struct remote_failure f;
	struct ledger_sub up;

	memset(&g, 0, sizeof(g));
	if (graph_client_sub_renew(s->graph, ls->id, (time_t)(now + s->lifetime), &g, &f) == -1) {
		if (f.cls == REMOTE_FINAL && f.status == 404)
			return recreate(s, ls, now, "renewal_not_found", err, errlen);
		retry_later(s, ls->mailbox, ls->kind, now, &f);
		if (ls->expires_at <= now) {
			/* Lapsed while Graph failed: whatever it missed is read once it is back. */
			return mark(s, ls->mailbox, ls->kind, now, err, errlen);
		}
		return 0;
	}
	retry_clear(s, ls->mailbox, ls->kind);
	crashpoint("after_sub_renew");
	up = *ls;
	up.expires_at = (int64_t)g.expires;
	up.renewed_at = now;
	up.action = NULL;
	graph_sub_clear(&g);
	if (ledger_sub_put(s->ledger, &up) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
	s->st.renewed++;
	log_info("subscriptions renewed id=%s mailbox=%s kind=%s expires_in_sec=%lld", ls->id,
	    ls->mailbox, ls->kind, (long long)(up.expires_at - now));
	return 0;
}

static const struct graph_sub *
graph_find(const struct graph_sub *gs, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (gs[i].id != NULL && strcmp(gs[i].id, id) == 0)
			return &gs[i];
	return NULL;
}

static int
stored_has(const struct ledger_sub *ls, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ls[i].id, id) == 0)
			return 1;
	return 0;
}

/* Orders ledger_sub_list's rows (ORDER BY mailbox, kind: byte order, as strcmp). */
static int
cmp_mailbox_kind(const void *key, const void *elem)
{
	const struct ledger_sub *a = key, *b = elem;
	int c = strcmp(a->mailbox, b->mailbox);

	return c != 0 ? c : strcmp(a->kind, b->kind);
}

/* Creates what is missing for the watched mailboxes, unless a retry is not yet due, at most
 * SUBS_RATE a second (the rest at the next call). *next gets the earliest retry still waiting. */
static int
create_missing(struct subs *s, int64_t now, int64_t *next, char *err, size_t errlen)
{
	struct ledger_sub *ls = NULL, want;
	size_t n = 0, i, k;
	json_t *v;
	int rc = -1;

	if (ledger_sub_list(s->ledger, &ls, &n) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
	memset(&want, 0, sizeof(want));
	json_array_foreach(s->mailboxes, i, v) {
		const char *mailbox = json_string_value(v);

		if (mailbox == NULL)
			continue;
		for (k = 0; k < NKINDS(s); k++) {
			int64_t at;

			want.mailbox = (char *)mailbox;
			want.kind = (char *)kinds[k];
			/* n == 0: ls is NULL, which bsearch must not be given. */
			if (n > 0 && bsearch(&want, ls, n, sizeof(*ls), cmp_mailbox_kind) != NULL)
				continue;
			if ((at = retry_at(s, mailbox, kinds[k], now)) != 0) {
				if (*next == 0 || at < *next)
					*next = at;
				continue;
			}
			if (!pace(s)) {
				paced_out(s, next);
				goto done;
			}
			if (create(s, mailbox, kinds[k], now, err, errlen) == -1)
				goto out;
			if ((at = retry_at(s, mailbox, kinds[k], now)) != 0 &&
			    (*next == 0 || at < *next))
				*next = at;
		}
	}
done:
	rc = 0;
out:
	ledger_subs_free(ls, n);
	return rc;
}

int
subs_reconcile(struct subs *s, const json_t *mailboxes, char *err, size_t errlen)
{
	struct graph_sub *gs = NULL;
	struct ledger_sub *ls = NULL;
	struct remote_failure f;
	size_t ng = 0, nl = 0, i;
	int64_t now = (int64_t)time(NULL), next = 0;
	long others = 0;
	int rc = -1;

	json_decref(s->mailboxes);
	s->mailboxes = json_deep_copy(mailboxes);
	if (graph_client_sub_list(s->graph, &gs, &ng, &f) == -1)
		return err_set(err, errlen, "graph: cannot list the subscriptions: %s (%s)",
		    f.message, remote_class_name(f.cls));
	if (ledger_sub_list(s->ledger, &ls, &nl) == -1) {
		err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
		goto out;
	}
	/* On Graph: ours (in the ledger) adopted, ours not in the ledger deleted, others kept. */
	for (i = 0; i < ng; i++) {
		if (gs[i].id == NULL)
			continue;
		if (stored_has(ls, nl, gs[i].id))
			continue;
		if (gs[i].notification_url == NULL ||
		    strcmp(gs[i].notification_url, s->notify_url) != 0) {
			others++;
			continue;
		}
		if (graph_client_sub_delete(s->graph, gs[i].id, &f) == 0) {
			s->st.orphans++;
			log_info("subscriptions orphan_deleted id=%s resource=%s", gs[i].id,
			    gs[i].resource ? gs[i].resource : "");
		} else {
			log_warnx("subscriptions orphan_delete_failed id=%s class=%s error=\"%s\"",
			    gs[i].id, remote_class_name(f.cls), f.message);
		}
	}
	/* In the ledger: gone from Graph, no longer wanted, or ours to keep. */
	for (i = 0; i < nl; i++) {
		const struct graph_sub *g = graph_find(gs, ng, ls[i].id);

		if (!ingest_watches(s->mailboxes, ls[i].mailbox) || !known_kind(s, ls[i].kind) ||
		    strcmp(ls[i].notification_url, s->notify_url) != 0) {
			if (g == NULL) {
				if (ledger_sub_delete(s->ledger, ls[i].id) == -1) {
					err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
					goto out;
				}
				continue;
			}
			if (drop(s, &ls[i], !ingest_watches(s->mailboxes, ls[i].mailbox) ? "mailbox_not_watched" :
			    "notification_url_changed", err, errlen) == -1)
				goto out;
			continue;
		}
		if (g == NULL) {
			/* Expired or removed while we were not looking: the recreate below is
			 * done by create_missing, the folder is read. */
			log_warnx("subscriptions lost id=%s mailbox=%s kind=%s reason=not_on_graph",
			    ls[i].id, ls[i].mailbox, ls[i].kind);
			if (ledger_sub_delete(s->ledger, ls[i].id) == -1) {
				err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
				goto out;
			}
			s->st.recreated++;
			if (mark(s, ls[i].mailbox, ls[i].kind, now, err, errlen) == -1)
				goto out;
			continue;
		}
		ls[i].expires_at = (int64_t)g->expires;
		if (ledger_sub_put(s->ledger, &ls[i]) == -1) {
			err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
			goto out;
		}
		s->st.adopted++;
	}
	if (create_missing(s, now, &next, err, errlen) == -1)
		goto out;
	log_info("subscriptions reconciled mailboxes=%zu on_graph=%zu stored=%zu others=%ld "
	    "created=%ld adopted=%ld orphans=%ld", json_array_size(s->mailboxes), ng, nl, others,
	    s->st.created, s->st.adopted, s->st.orphans);
	rc = 0;
out:
	graph_subs_free(gs, ng);
	ledger_subs_free(ls, nl);
	return rc;
}

/* The earliest time a stored subscription needs us again, folded into *next. */
static int
next_due(struct subs *s, int64_t now, int64_t *next, char *err, size_t errlen)
{
	struct ledger_sub *ls = NULL;
	size_t n = 0;

	if (ledger_sub_list(s->ledger, &ls, &n) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
	for (size_t i = 0; i < n; i++) {
		int64_t due = ls[i].action != NULL ? now : renew_due(s, &ls[i]);
		int64_t at = retry_at(s, ls[i].mailbox, ls[i].kind, now);

		if (at != 0)
			due = at;
		if (*next == 0 || due < *next)
			*next = due;
	}
	ledger_subs_free(ls, n);
	return 0;
}

int
subs_maintain(struct subs *s, int64_t now, int64_t *next, char *err, size_t errlen)
{
	struct ledger_sub *ls = NULL;
	size_t n = 0, i;
	int rc = -1;

	*next = 0;
	if (ledger_sub_list(s->ledger, &ls, &n) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(s->ledger));
	/* Each stored action is left until its renewal or re-creation succeeds (counted). */
	s->st.actions_left = 0;
	for (i = 0; i < n; i++)
		s->st.actions_left += ls[i].action != NULL;
	for (i = 0; i < n; i++) {
		long done = s->st.renewed + s->st.recreated;

		if (ls[i].action != NULL && strcmp(ls[i].action, "recreate") == 0) {
			/* subscriptionRemoved: Graph deleted it; make a new one, read the gap. */
			if (!pace(s)) {
				paced_out(s, next);
				break;
			}
			if (recreate(s, &ls[i], now, "subscription_removed", err, errlen) == -1)
				goto out;
		} else if (retry_at(s, ls[i].mailbox, ls[i].kind, now) == 0 &&
		    (ls[i].action != NULL || renew_due(s, &ls[i]) <= now)) {
			/* reauthorizationRequired, or the schedule: a renewal does both. */
			if (!pace(s)) {
				paced_out(s, next);
				break;
			}
			if (renew(s, &ls[i], now, err, errlen) == -1)
				goto out;
		}
		if (ls[i].action != NULL && s->st.renewed + s->st.recreated > done)
			s->st.actions_left--;
	}
	/* One list of every subscription at a time: with 30,000 it is megabytes. */
	ledger_subs_free(ls, n);
	ls = NULL;
	n = 0;
	if (create_missing(s, now, next, err, errlen) == -1)
		goto out;
	rc = next_due(s, now, next, err, errlen);
	if (rc == 0 && s->pace_left == 0 && *next != 0 && *next <= s->pace_sec)
		paced_out(s, next);	/* due now, but not before the next second */
out:
	ledger_subs_free(ls, n);
	return rc;
}
