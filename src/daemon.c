/* daemon.c: `olsync run` (see daemon.h): the worker loop, the subscription thread, and the
 * receiver's view of the ledger. */
#include "daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "budget.h"
#include "crypto.h"
#include "engine.h"
#include "err.h"
#include "graph_client.h"
#include "leases.h"
#include "ledger.h"
#include "log.h"
#include "markq.h"
#include "metrics.h"
#include "receiver.h"
#include "sf_client.h"
#include "spread.h"
#include "subscriptions.h"
#include "xmalloc.h"

struct daemon {
	const struct config		*cfg;
	const volatile sig_atomic_t	*halt;

	pthread_mutex_t			 lock;
	pthread_cond_t			 cond;		/* on CLOCK_MONOTONIC */
	int				 work;		/* folders were marked */
	int				 subs_work;	/* a lifecycle action was stored */
	int				 quit;		/* the subscription thread must end */
	long				 marks;		/* notifications since the last pass began */
	int64_t				 first_mark;	/* monotonic ms of the first of them */

	/* The receiver's handles on the ledger; its threads take turns on each. Lookups read
	 * through their own, so they never wait behind a group commit's fsync (WAL lets a reader
	 * go on while a writer commits). */
	pthread_mutex_t			 store_lock;
	struct ledger			*store;
	struct markq			*markq;		/* group commit of folder marks on store */
	pthread_mutex_t			 lookup_lock;
	struct ledger			*lookup_store;
	struct receiver			*receiver;
	struct admin			*admin;		/* admin_listen: metrics, dashboard */

	/* The subscription thread and what it owns. */
	pthread_t			 subs_thread;
	int				 subs_started;
	struct ledger			*subs_ledger;
	struct graph_client		*subs_graph;

	/* Several instances on one ledger: this one's name and leases, kept by the lease thread
	 * on its own handle and Graph client (the mailbox list). */
	char				 instance[LEDGER_OWNER_MAX + 1];
	struct leases			*leases;
	struct ledger			*lease_ledger;
	struct graph_client		*lease_graph;
	pthread_t			 lease_thread;
	int				 lease_started;

	struct daemon_stats		 st;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec
abs_ms(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	return ts;
}

/* Wakes the worker (work) and the subscription thread (subs). */
static void
poke(struct daemon *d, int work, int subs)
{
	pthread_mutex_lock(&d->lock);
	d->work |= work;
	d->subs_work |= subs;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void
wake_worker(void *arg)
{
	poke(arg, 1, 0);
}

/* The receiver's side (receiver_ops): lookups and marks on the receiver's own handle. */
static int
op_lookup(void *arg, const char *id, struct receiver_sub *out)
{
	struct daemon *d = arg;
	struct ledger_sub ls;
	int r;

	memset(&ls, 0, sizeof(ls));
	pthread_mutex_lock(&d->lookup_lock);
	r = ledger_sub_get(d->lookup_store, id, &ls);
	if (r == -1)
		log_warnx("receiver store_failed op=lookup error=\"%s\"",
		    ledger_error(d->lookup_store));
	pthread_mutex_unlock(&d->lookup_lock);
	if (r == 0 && (strlen(ls.mailbox) >= sizeof(out->mailbox) ||
	    strlen(ls.kind) >= sizeof(out->kind) ||
	    strlen(ls.client_state) >= sizeof(out->client_state))) {
		log_warnx("receiver stored_subscription_too_long id=%s", ls.id);
		r = -1;
	}
	if (r == 0) {
		snprintf(out->mailbox, sizeof(out->mailbox), "%s", ls.mailbox);
		snprintf(out->kind, sizeof(out->kind), "%s", ls.kind);
		snprintf(out->client_state, sizeof(out->client_state), "%s", ls.client_state);
	}
	if (ls.client_state != NULL)
		explicit_bzero(ls.client_state, strlen(ls.client_state));
	ledger_sub_clear(&ls);
	return r;
}

static int
op_mark(void *arg, const char *id, const struct receiver_sub *sub, enum receiver_event ev)
{
	struct daemon *d = arg;
	const char *folder = subs_kind_folder(sub->kind);
	int64_t now = (int64_t)time(NULL);
	int rc = 0, work = 0, subs = 0;

	if (ev != RECEIVER_REAUTHORIZE)	/* the others mark the folder: latency starts */
		metrics_mark(sub->mailbox, folder);
	if (ev == RECEIVER_CHANGE || ev == RECEIVER_MISSED) {
		/* The hot path, one notification per new email: committed in groups (markq.c
		 * logs a failure). */
		rc = markq_mark(d->markq, sub->mailbox, folder, now);
		work = 1;
	} else {
		pthread_mutex_lock(&d->store_lock);
		if (ev == RECEIVER_REMOVED) {
			/* Recreate it (subscription thread), and read what the gap let through. */
			if ((rc = ledger_sub_set_action(d->store, id, "recreate")) ==
			    LEDGER_NOT_FOUND)
				rc = 0;
			if (rc == 0)
				rc = ledger_dirty_mark(d->store, sub->mailbox, folder, now);
			work = subs = 1;
		} else {	/* RECEIVER_REAUTHORIZE */
			if ((rc = ledger_sub_set_action(d->store, id, "renew")) == LEDGER_NOT_FOUND)
				rc = 0;
			subs = 1;
		}
		if (rc == -1)
			log_warnx("receiver store_failed op=mark error=\"%s\"",
			    ledger_error(d->store));
		pthread_mutex_unlock(&d->store_lock);
	}
	if (rc == 0) {
		pthread_mutex_lock(&d->lock);
		d->work |= work;
		d->subs_work |= subs;
		if (work && d->marks++ == 0)
			d->first_mark = now_ms();
		pthread_mutex_unlock(&d->lock);
	}
	return rc == 0 ? 0 : -1;
}

static void
op_wake(void *arg)
{
	poke(arg, 0, 0);
}

/* Waits on the condition until deadline (monotonic ms) or until *flag is set or quit; returns
 * with the lock held. */
static void
wait_until(struct daemon *d, int64_t deadline, const int *flag)
{
	struct timespec ts;

	while (!*flag && !d->quit && !*d->halt) {
		int64_t now = now_ms(), until = deadline;

		if (now >= deadline)
			break;
		/* Signals do not interrupt the wait: look at the flags every tick. */
		if (until > now + DAEMON_TICK_MS)
			until = now + DAEMON_TICK_MS;
		ts = abs_ms(until);
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
}

/* The subscriptions holder's wait until deadline (monotonic ms), returning with the lock held.
 * A lifecycle notification taken by this instance's receiver wakes it (subs_work); with other
 * instances live, one taken by theirs is stored in the shared ledger only, so the ledger's count
 * of stored actions is looked at every DAEMON_SHARED_POLL_MS too, and one above the left actions
 * the last maintenance knew of ends the wait: a subscriptionRemoved is acted on within a second
 * or so, whichever instance Graph's notification reached. */
static void
subs_wait(struct daemon *d, int64_t deadline, long left)
{
	long mailboxes, instances;
	long long count;

	for (;;) {
		int64_t until = deadline;

		/* Every DAEMON_SHARED_POLL_MS at least: another instance may start meanwhile. */
		if (until > now_ms() + DAEMON_SHARED_POLL_MS)
			until = now_ms() + DAEMON_SHARED_POLL_MS;
		pthread_mutex_lock(&d->lock);
		wait_until(d, until, &d->subs_work);
		if (d->subs_work || d->quit || *d->halt || now_ms() >= deadline)
			return;
		pthread_mutex_unlock(&d->lock);
		/* after d->lock: the lease thread calls back into the daemon under its own */
		leases_counts(d->leases, &mailboxes, &instances);
		if (instances <= 1)
			continue;
		if (ledger_sub_actions(d->subs_ledger, &count) == -1)
			log_warnx("subscriptions ledger_failed error=\"%s\"",
			    ledger_error(d->subs_ledger));
		else if (count > left) {
			pthread_mutex_lock(&d->lock);
			return;
		}
	}
}

/* The subscription thread: reconcile at start and every reconcile_interval, maintain between. */
static void *
subs_main(void *arg)
{
	struct daemon *d = arg;
	struct subs *s = subs_new(d->cfg, d->subs_ledger, d->subs_graph, wake_worker, d);
	struct remote_failure f;
	struct subs_stats ss;
	json_t *mailboxes;
	int64_t next_reconcile = 0, next, now;
	char err[1024];

	pthread_mutex_lock(&d->lock);
	while (!d->quit && !*d->halt) {
		d->subs_work = 0;
		pthread_mutex_unlock(&d->lock);
		if (!leases_singleton(d->leases, LEASES_SUBSCRIPTIONS)) {
			/* Another instance keeps the subscriptions; when its lease runs out, the
			 * one that takes it reconciles at once. */
			next_reconcile = 0;
			pthread_mutex_lock(&d->lock);
			wait_until(d, now_ms() + DAEMON_SHARED_POLL_MS, &d->subs_work);
			continue;
		}
		now = (int64_t)time(NULL);
		if (now >= next_reconcile) {
			next_reconcile = now + DAEMON_PASS_RETRY;
			if (graph_client_mailboxes(d->subs_graph, &mailboxes, &f) == -1) {
				log_warnx("subscriptions reconcile_failed error=\"cannot list the "
				    "mailboxes: %s (%s)\"", f.message, remote_class_name(f.cls));
			} else {
				if (subs_reconcile(s, mailboxes, err, sizeof(err)) == -1)
					log_warnx("subscriptions reconcile_failed error=\"%s\"",
					    err);
				else
					next_reconcile = now + d->cfg->reconcile_interval_ms /
					    1000;
				json_decref(mailboxes);
			}
		}
		next = 0;
		if (subs_maintain(s, (int64_t)time(NULL), &next, err, sizeof(err)) == -1) {
			log_warnx("subscriptions maintain_failed error=\"%s\"", err);
			next = (int64_t)time(NULL) + DAEMON_PASS_RETRY;
		}
		if (next == 0 || next > next_reconcile)
			next = next_reconcile;
		/* Wall seconds to monotonic ms, to the start of second next: creates and renewals
		 * are paced per clock second (SUBS_RATE). */
		subs_stats(s, &ss);
		subs_wait(d, now_ms() + next * 1000 - wall_ms(), ss.actions_left);
	}
	pthread_mutex_unlock(&d->lock);
	subs_stats(s, &ss);
	log_info("subscriptions stop created=%ld renewed=%ld recreated=%ld deleted=%ld "
	    "adopted=%ld orphans=%ld failures=%ld", ss.created, ss.renewed, ss.recreated,
	    ss.deleted, ss.adopted, ss.orphans, ss.failures);
	subs_free(s);
	return NULL;
}

/* The worker's state between passes. */
struct worker {
	struct daemon	*d;
	struct ledger	*ledger;
	struct engine	*engine;
	int64_t		 last_full;	/* monotonic ms */
	int64_t		 folder_retry_at;	/* marked folders that failed: not before */
	int64_t		 folder_delay;	/* s */
	int64_t		 pass_retry_at;	/* a pass could not go on: none before */
	int64_t		 last_pass_end;
	int64_t		 last_pass_ms;	/* how long the last pass over marked folders took */
	/* Real time: the sweep reads each mailbox at its own phase of reconcile_interval. */
	struct spread_sweep	 sweep;
	int64_t		 sweep_next;	/* monotonic ms; 0: no sweep (polling) */
	int64_t		 relist_at;	/* the mailboxes are listed again then */
};

/* Graph gave a Retry-After for a folder that failed: the marked folders are tried again when
 * it ends. A notification may wake the worker sooner; ingest then skips the throttled mailbox
 * (ingest_held) and reads the others. */
static void
graph_hold(struct worker *w, double wait_sec)
{
	int64_t at;

	if (wait_sec <= 0)
		return;
	at = now_ms() + (int64_t)(wait_sec * 1000.0 + 0.999);
	if (at > w->folder_retry_at)
		w->folder_retry_at = at;
	log_info("daemon graph_hold seconds=%.3g", wait_sec);
}

/* A pass over the marked folders (n may be 0: only the messages due). */
static void
folder_pass(struct worker *w, struct ledger_dirty *dl, size_t n)
{
	const json_t *watched = engine_mailboxes(w->engine);
	struct ingest_folder *fs = xcalloc(n + 1, sizeof(*fs));
	size_t *map = xcalloc(n + 1, sizeof(*map));
	struct engine_stats st;
	size_t nf = 0, i;
	int failed = 0, rc;
	char err[1024];

	for (i = 0; i < n; i++) {
		int known = strcmp(dl[i].folder, INGEST_FOLDER_INBOX) == 0 ||
		    strcmp(dl[i].folder, INGEST_FOLDER_SENT) == 0 ||
		    (w->d->cfg->meetings && strcmp(dl[i].folder, CALENDAR_FOLDER) == 0);

		if (!known || (watched != NULL && !ingest_watches(watched, dl[i].mailbox))) {
			/* A late notification for a mailbox no longer watched. */
			log_info("daemon mark_dropped mailbox=%s folder=%s", dl[i].mailbox,
			    dl[i].folder);
			ledger_dirty_done(w->ledger, dl[i].mailbox, dl[i].folder, dl[i].gen);
			continue;
		}
		fs[nf].mailbox = dl[i].mailbox;
		fs[nf].folder = dl[i].folder;
		map[nf++] = i;
	}
	if (nf > 0)
		w->d->st.folder_passes++;
	engine_set_meetings(w->engine, leases_singleton(w->d->leases, LEASES_MEETINGS));
	rc = engine_pass_folders(w->engine, fs, nf, w->d->halt, &st, err, sizeof(err));
	metrics_pass(rc == 0, err);
	if (rc == -1) {
		log_warnx("olsync pass_failed error=\"%s\"", err);
		w->pass_retry_at = now_ms() + DAEMON_PASS_RETRY * 1000;
		goto out;
	}
	for (i = 0; i < nf; i++) {
		if (!fs[i].done) {
			failed = 1;
			continue;
		}
		w->d->st.folders_read++;
		metrics_mark_done(dl[map[i]].mailbox, dl[map[i]].folder);
		if (ledger_dirty_done(w->ledger, dl[map[i]].mailbox, dl[map[i]].folder,
		    dl[map[i]].gen) == -1)
			log_warnx("daemon ledger_failed error=\"%s\"", ledger_error(w->ledger));
	}
	if (failed && st.ingest.wait_sec > 0) {
		/* Graph said when: then, not a backoff of our own. */
		w->folder_retry_at = 0;
		graph_hold(w, st.ingest.wait_sec);
	} else if (failed) {
		w->folder_delay = w->folder_delay == 0 ? DAEMON_FOLDER_RETRY :
		    w->folder_delay * 2;
		if (w->folder_delay > DAEMON_FOLDER_RETRY_MAX)
			w->folder_delay = DAEMON_FOLDER_RETRY_MAX;
		w->folder_retry_at = now_ms() + w->folder_delay * 1000;
	} else {
		w->folder_delay = 0;
		w->folder_retry_at = 0;
	}
out:
	free(fs);
	free(map);
}

/* Marks every folder of mailbox (calendar too with meetings) for a read. */
static int
mark_mailbox(const struct config *cfg, struct ledger *l, const char *mailbox)
{
	const char *folders[] = { INGEST_FOLDER_INBOX, INGEST_FOLDER_SENT, CALENDAR_FOLDER };
	size_t n = cfg->meetings ? 3 : 2;

	for (size_t i = 0; i < n; i++)
		if (ledger_dirty_mark(l, mailbox, folders[i], (int64_t)time(NULL)) == -1)
			return -1;
	return 0;
}

/* spread_sweep_run's call: mark every folder of mailbox, the worker reads them as usual. Every
 * instance runs the same sweep (the phases are a hash of the mailbox): the holder marks. */
static int
sweep_mark(void *arg, const char *mailbox)
{
	struct worker *w = arg;

	if (!leases_holds(w->d->leases, mailbox))
		return 0;
	if (mark_mailbox(w->d->cfg, w->ledger, mailbox) == -1)
		return -1;
	log_info("daemon sweep mailbox=%s", mailbox);
	return 0;
}

/* The marked folders of the mailboxes this instance holds; the others' marks are left for
 * their holders. Free with ledger_dirty_free. 0, or -1 (logged; none). */
static int
held_marks(struct worker *w, struct ledger_dirty **dl, size_t *n)
{
	size_t i, k = 0;

	*dl = NULL;
	*n = 0;
	if (ledger_dirty_list(w->ledger, dl, n) == -1) {
		log_warnx("daemon ledger_failed error=\"%s\"", ledger_error(w->ledger));
		*n = 0;
		return -1;
	}
	for (i = 0; i < *n; i++) {
		if (leases_holds(w->d->leases, (*dl)[i].mailbox)) {
			struct ledger_dirty t = (*dl)[k];

			(*dl)[k++] = (*dl)[i];
			(*dl)[i] = t;
		}
	}
	for (i = k; i < *n; i++) {
		free((*dl)[i].mailbox);
		free((*dl)[i].folder);
	}
	*n = k;
	if (k == 0) {
		free(*dl);
		*dl = NULL;
	}
	return 0;
}

/* A full pass: every folder of every mailbox this instance holds, marked and read as
 * notified folders are (alone, it holds them all). */
static void
full_pass(struct worker *w)
{
	struct ledger_dirty *dl;
	const json_t *boxes;
	json_t *v;
	size_t n, i, held = 0;
	char err[1024];

	w->d->st.full_passes++;
	if (engine_list_mailboxes(w->engine, err, sizeof(err)) == -1) {
		log_warnx("olsync pass_failed error=\"%s\"", err);
		metrics_pass(0, err);
		w->pass_retry_at = now_ms() + DAEMON_PASS_RETRY * 1000;
		w->last_full = now_ms();
		return;
	}
	boxes = engine_mailboxes(w->engine);
	metrics_mailboxes(boxes);
	json_array_foreach(boxes, i, v) {
		if (json_string_value(v) == NULL || !leases_holds(w->d->leases,
		    json_string_value(v)))
			continue;
		held++;
		if (mark_mailbox(w->d->cfg, w->ledger, json_string_value(v)) == -1)
			log_warnx("daemon ledger_failed error=\"%s\"", ledger_error(w->ledger));
	}
	held_marks(w, &dl, &n);
	folder_pass(w, dl, n);
	ledger_dirty_free(dl, n);
	w->last_full = now_ms();
	log_info("daemon full_pass done mailboxes=%zu held=%zu", json_array_size(boxes), held);
}

/* In real time the safety net is not a full pass every reconcile_interval, which would read
 * every folder of every mailbox at once, but each mailbox's folders marked at the mailbox's
 * own phase of the interval (spread.h); the list of mailboxes is taken again once an
 * interval. Polling keeps its full pass. */
static void
sweep_step(struct worker *w)
{
	const struct config *cfg = w->d->cfg;
	int64_t now = now_ms(), next;
	char err[1024];

	if (cfg->listen == NULL)
		return;
	if (w->sweep_next == 0) {
		spread_sweep_init(&w->sweep, cfg->reconcile_interval_ms, w->last_full);
		w->relist_at = w->last_full + cfg->reconcile_interval_ms;
	}
	if (now >= w->relist_at) {
		w->relist_at = now + cfg->reconcile_interval_ms;
		if (engine_list_mailboxes(w->engine, err, sizeof(err)) == -1) {
			log_warnx("daemon sweep_list_failed error=\"%s\"", err);
			w->relist_at = now + DAEMON_PASS_RETRY * 1000;
		} else {
			metrics_mailboxes(engine_mailboxes(w->engine));
		}
	}
	if ((next = spread_sweep_run(&w->sweep, engine_mailboxes(w->engine), now, sweep_mark,
	    w)) == -1) {
		log_warnx("daemon ledger_failed error=\"%s\"", ledger_error(w->ledger));
		next = now + DAEMON_PASS_RETRY * 1000;
	}
	w->sweep_next = next < w->relist_at ? next : w->relist_at;
}

/* When the worker must run next (monotonic ms) without being woken. */
static int64_t
next_deadline(struct worker *w, int have_marks)
{
	const struct config *cfg = w->d->cfg;
	int64_t sweep = cfg->listen != NULL ? cfg->reconcile_interval_ms : cfg->sync_interval_ms;
	int64_t deadline = w->sweep_next != 0 ? w->sweep_next : w->last_full + sweep;
	int64_t now = now_ms(), wall = (int64_t)time(NULL);
	int64_t at = 0, hold = engine_hold_until(w->engine);

	if (ledger_next_retry(w->ledger, &at) == 0 && at > 0) {
		/* A due retry never runs more than once a second (a hold may keep it due). */
		int64_t t = now + (at - wall) * 1000;

		if (t < w->last_pass_end + 1000)
			t = w->last_pass_end + 1000;
		if (t < deadline)
			deadline = t;
	}
	if (hold > wall && now + (hold - wall) * 1000 < deadline)
		deadline = now + (hold - wall) * 1000;
	if (have_marks && w->folder_retry_at < deadline)
		deadline = w->folder_retry_at;
	if (w->pass_retry_at > deadline)
		deadline = w->pass_retry_at;
	return deadline;
}

/* The batch window: the marks of notifications are read together once the first of them has
 * waited batch_window (times the API budget's factor), or as soon as batch_size came; with a
 * window of 0, at once. Marks that arrive during the pass count for the next batch. The window
 * bounds the wait for the record, not for the read: the time the last pass took (the read and
 * the writes to come) is taken off it. */
static void
gather(struct worker *w)
{
	struct daemon *d = w->d;
	const struct config *cfg = d->cfg;
	double factor = engine_window_factor(w->engine);
	int64_t window = (int64_t)((double)cfg->batch_window_ms * factor), first;
	long marks;

	if (window > BUDGET_WINDOW_MAX_MS)
		window = BUDGET_WINDOW_MAX_MS;
	if (window > 0)
		window = window > w->last_pass_ms ? window - w->last_pass_ms : 1;
	pthread_mutex_lock(&d->lock);
	while (window > 0 && d->marks > 0 && d->marks < cfg->batch_size && !d->quit &&
	    !*d->halt && now_ms() < d->first_mark + window) {
		d->work = 0;
		wait_until(d, d->first_mark + window, &d->work);
	}
	marks = d->marks;
	first = d->first_mark;
	d->marks = 0;
	d->first_mark = 0;
	d->work = 0;
	pthread_mutex_unlock(&d->lock);
	if (marks > 0)
		log_info("daemon batch notifications=%ld waited_ms=%lld window_ms=%lld "
		    "widened=%.3g", marks, (long long)(now_ms() - first), (long long)window,
		    factor);
}

/* What another instance left for this one, seen by polling the shared ledger (its receiver
 * cannot wake this process): marks of a mailbox this instance holds beyond the nmarks it knew
 * of, or messages due that no live claim holds (an instance died mid-batch, or one recorded
 * more than it writes at once). */
static int
shared_work(struct worker *w, size_t nmarks)
{
	struct ledger_dirty *dl;
	size_t n;
	int any = 0;

	held_marks(w, &dl, &n);
	ledger_dirty_free(dl, n);
	if (n > nmarks)
		return 1;
	if (engine_hold_until(w->engine) > (int64_t)time(NULL))
		return 0;
	if (ledger_claimable(w->ledger, (int64_t)time(NULL), &any) == -1)
		log_warnx("daemon ledger_failed error=\"%s\"", ledger_error(w->ledger));
	return any;
}

static void
work_loop(struct worker *w)
{
	struct daemon *d = w->d;
	const struct config *cfg = d->cfg;
	int64_t sweep = cfg->listen != NULL ? cfg->reconcile_interval_ms : cfg->sync_interval_ms;
	struct ledger_dirty *dl;
	size_t n, take;
	int64_t deadline, poll;
	int woken;

	full_pass(w);
	w->last_pass_end = now_ms();
	sweep_step(w);
	while (!*d->halt) {
		held_marks(w, &dl, &n);
		ledger_dirty_free(dl, n);
		deadline = next_deadline(w, n > 0);
		poll = now_ms() + DAEMON_SHARED_POLL_MS;
		pthread_mutex_lock(&d->lock);
		wait_until(d, deadline < poll ? deadline : poll, &d->work);
		woken = d->work;
		d->work = 0;
		pthread_mutex_unlock(&d->lock);
		if (*d->halt)
			break;
		if (now_ms() < w->pass_retry_at)
			continue;
		if (!woken && now_ms() < deadline && !shared_work(w, n))
			continue;
		gather(w);
		sweep_step(w);
		if (w->sweep_next == 0 && now_ms() >= w->last_full + sweep) {
			full_pass(w);
		} else {
			held_marks(w, &dl, &n);
			/* Marked folders that failed wait for their retry unless new marks came. */
			take = n;
			if (n > 0 && !woken && now_ms() < w->folder_retry_at)
				take = 0;
			w->last_pass_ms = now_ms();
			folder_pass(w, dl, take);
			w->last_pass_ms = now_ms() - w->last_pass_ms;
			ledger_dirty_free(dl, n);
		}
		w->last_pass_end = now_ms();
	}
}

/* leases_round's call for a mailbox just taken: read all its folders now (marks left by the
 * receivers of every instance are in the ledger already). */
static void
lease_taken(void *arg, const char *mailbox)
{
	struct daemon *d = arg;

	if (mark_mailbox(d->cfg, d->lease_ledger, mailbox) == -1)
		log_warnx("daemon ledger_failed error=\"%s\"", ledger_error(d->lease_ledger));
	poke(d, 1, 0);
}

/* How long after another's lease's end the lease thread looks (its clock may be a little
 * behind the writer's) and the shortest wait between rounds. */
#define LEASE_LOOK_SLACK_MS	50

/* The lease thread: a round every lease_time / 3, so a lease is renewed twice before it can
 * run out, and one just after another instance's lease would run out (leases_next_look), so a
 * dead instance's work is taken within lease_time of its death. */
static void *
lease_main(void *arg)
{
	struct daemon *d = arg;
	int64_t every = d->cfg->lease_time_ms / 3, wait, look;
	int never = 0;

	pthread_mutex_lock(&d->lock);
	while (!d->quit && !*d->halt) {
		wait = every;
		look = leases_next_look(d->leases);
		if (look != 0 && look + LEASE_LOOK_SLACK_MS - wall_ms() < wait)
			wait = look + LEASE_LOOK_SLACK_MS - wall_ms();
		if (wait < LEASE_LOOK_SLACK_MS)
			wait = LEASE_LOOK_SLACK_MS;
		wait_until(d, now_ms() + wait, &never);
		if (d->quit || *d->halt)
			break;
		pthread_mutex_unlock(&d->lock);
		(void)leases_round(d->leases, wall_ms());
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* This instance's name and its first round of leases (before any pass, so that the first
 * reads only its share), then the thread that keeps them. */
static int
start_leases(struct daemon *d, struct engine *e, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;

	if (cfg->instance_name != NULL)
		snprintf(d->instance, sizeof(d->instance), "%s", cfg->instance_name);
	else
		leases_default_name(d->instance, sizeof(d->instance));
	if (ledger_connect(cfg->database, cfg->database_password, &d->lease_ledger, err,
	    errlen) == -1)
		return -1;
	if ((d->lease_graph = graph_client_new(cfg, err, errlen)) == NULL)
		return -1;
	engine_set_instance(e, d->instance, cfg->lease_time_ms);
	d->leases = leases_new(cfg, d->instance, d->lease_ledger, d->lease_graph, lease_taken, d);
	(void)leases_round(d->leases, wall_ms());
	if (pthread_create(&d->lease_thread, NULL, lease_main, d) != 0)
		return err_set(err, errlen, "cannot start the lease thread: %s", strerror(errno));
	d->lease_started = 1;
	log_info("lease start instance=%s lease_ms=%lld", d->instance, cfg->lease_time_ms);
	return 0;
}

/* After the worker and the subscription thread stopped: the leases are given back so the other
 * instances take this one's work at once rather than after lease_time. */
static void
stop_leases(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	d->quit = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	if (d->lease_started)
		pthread_join(d->lease_thread, NULL);
	if (d->leases != NULL)
		leases_drop_all(d->leases);
	leases_free(d->leases);
	graph_client_free(d->lease_graph);
	ledger_close(d->lease_ledger);
}

/* Starts the receiver and the subscription thread. */
static int
start_realtime(struct daemon *d, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;
	struct receiver_config rc;
	struct receiver_ops ops;
	char *cert = NULL;
	int ret = -1;

	if (ledger_connect(cfg->database, cfg->database_password, &d->store, err,
	    errlen) == -1 || ledger_connect(cfg->database, cfg->database_password,
	    &d->lookup_store, err, errlen) == -1)
		return -1;
	d->markq = markq_new(d->store, &d->store_lock);
	memset(&rc, 0, sizeof(rc));
	rc.listen = cfg->listen;
	rc.timeout_sec = (unsigned)((cfg->listen_timeout_ms + 999) / 1000);
	if (cfg->tls_certificate_file != NULL) {
		if ((cert = crypto_read_pem_file(cfg->tls_certificate_file, err, errlen)) == NULL)
			return -1;
		rc.tls_cert_pem = cert;
		rc.tls_key_pem = cfg->tls_private_key;
	}
	memset(&ops, 0, sizeof(ops));
	ops.lookup = op_lookup;
	ops.mark = op_mark;
	ops.wake = op_wake;
	ops.arg = d;
	if ((d->receiver = receiver_start(&rc, &ops, err, errlen)) == NULL)
		goto out;
	log_info("receiver listening address=%s port=%d tls=%d notification_url=%s%s",
	    cfg->listen, receiver_port(d->receiver), cert != NULL, cfg->public_url,
	    RECEIVER_PATH_NOTIFY);
	if (ledger_connect(cfg->database, cfg->database_password, &d->subs_ledger, err,
	    errlen) == -1)
		goto out;
	if ((d->subs_graph = graph_client_new(cfg, err, errlen)) == NULL)
		goto out;
	if (pthread_create(&d->subs_thread, NULL, subs_main, d) != 0) {
		err_set(err, errlen, "cannot start the subscription thread: %s", strerror(errno));
		goto out;
	}
	d->subs_started = 1;
	ret = 0;
out:
	free(cert);
	return ret;
}

/* The admin endpoint (admin.c), before the receiver so that /readyz answers while the
 * subscriptions are made. */
static int
start_admin(struct daemon *d, char *err, size_t errlen)
{
	struct admin_ops ops;

	memset(&ops, 0, sizeof(ops));
	ops.wake = wake_worker;
	ops.arg = d;
	if ((d->admin = admin_start(d->cfg, &ops, err, errlen)) == NULL)
		return -1;
	log_info("admin listening address=%s port=%d token=%s", d->cfg->admin_listen,
	    admin_port(d->admin), d->cfg->admin_token != NULL ? "required" : "none");
	return 0;
}

static void
stop_realtime(struct daemon *d)
{
	struct receiver_stats rs;

	pthread_mutex_lock(&d->lock);
	d->quit = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	if (d->subs_started)
		pthread_join(d->subs_thread, NULL);
	if (d->receiver != NULL) {
		receiver_stats(d->receiver, &rs);
		log_info("receiver stop validations=%lld bad_tokens=%lld posts=%lld "
		    "notifications=%lld accepted=%lld unknown=%lld forged=%lld malformed=%lld "
		    "bad_requests=%lld store_errors=%lld deadline_cuts=%lld", rs.validations,
		    rs.bad_tokens, rs.posts, rs.notifications, rs.accepted, rs.unknown, rs.forged,
		    rs.malformed, rs.bad_requests, rs.store_errors, rs.deadline_cuts);
	}
	receiver_stop(d->receiver);
	if (d->markq != NULL) {
		struct markq_stats ms;

		markq_stats(d->markq, &ms);
		log_info("receiver marks=%lld commits=%lld failed=%lld", ms.marks, ms.commits,
		    ms.failed);
	}
	markq_free(d->markq);
	graph_client_free(d->subs_graph);
	ledger_close(d->subs_ledger);
	ledger_close(d->lookup_store);
	ledger_close(d->store);
}

int
daemon_run(const struct config *cfg, const volatile sig_atomic_t *halt,
    struct daemon_stats *st, char *err, size_t errlen)
{
	struct daemon d;
	struct worker w;
	struct graph_client *g = NULL;
	struct sf_client *sf = NULL;
	pthread_condattr_t ca;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&w, 0, sizeof(w));
	d.cfg = cfg;
	d.halt = halt;
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.store_lock, NULL);
	pthread_mutex_init(&d.lookup_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d.cond, &ca);
	pthread_condattr_destroy(&ca);
	w.d = &d;
	/* Here rather than in main.c so that a reload (which runs this again) applies it too. */
	log_set_format(cfg->log_format == CONFIG_LOG_JSON ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);

	if (ledger_connect(cfg->database, cfg->database_password, &w.ledger, err,
	    errlen) == -1)
		goto out;
	ledger_set_max_attempts(w.ledger, cfg->max_attempts);
	if (ledger_set_bulk(w.ledger) == -1) {
		err_set(err, errlen, "%s", ledger_error(w.ledger));
		goto out;
	}
	if ((g = graph_client_new(cfg, err, errlen)) == NULL)
		goto out;
	if ((sf = sf_client_new(cfg, err, errlen)) == NULL)
		goto out;
	w.engine = engine_new(cfg, w.ledger, g, sf);
	if (cfg->admin_listen != NULL && start_admin(&d, err, errlen) == -1)
		goto out;
	if (start_leases(&d, w.engine, err, errlen) == -1)
		goto out;
	if (cfg->listen != NULL && start_realtime(&d, err, errlen) == -1)
		goto out;
	log_info("olsync start mode=run realtime=%d mailboxes_kind=%d sweep_ms=%lld",
	    cfg->listen != NULL, (int)cfg->mailboxes_kind, cfg->listen != NULL ?
	    cfg->reconcile_interval_ms : cfg->sync_interval_ms);
	work_loop(&w);
	log_info("olsync stop full_passes=%ld folder_passes=%ld folders_read=%ld",
	    d.st.full_passes, d.st.folder_passes, d.st.folders_read);
	rc = 0;
out:
	admin_stop(d.admin);
	stop_realtime(&d);
	stop_leases(&d);
	if (st != NULL)
		*st = d.st;
	engine_free(w.engine);
	sf_client_free(sf);
	graph_client_free(g);
	ledger_close(w.ledger);
	pthread_cond_destroy(&d.cond);
	pthread_mutex_destroy(&d.lock);
	pthread_mutex_destroy(&d.store_lock);
	pthread_mutex_destroy(&d.lookup_lock);
	return rc;
}
