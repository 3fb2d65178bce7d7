/* leases.c: this instance's leases among several on one ledger (see leases.h). The ledger's
 * single-statement take makes every lease exclusive; this file only chooses: how many mailboxes
 * are a fair share, which to give up, which to take. */
#include "leases.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "remote.h"
#include "xmalloc.h"

struct leases {
	const struct config	*cfg;
	struct ledger		*ledger;
	struct graph_client	*graph;
	leases_taken_fn		*taken;
	void			*arg;
	char			 owner[LEDGER_OWNER_MAX + 1];
	json_t			*boxes;		/* the mailboxes, listed again each reconcile */
	int64_t			 relist_at;	/* Unix ms */

	pthread_mutex_t		 lock;		/* guards what follows */
	json_t			*held;		/* mailbox -> true */
	int			 subs;		/* holds LEASES_SUBSCRIPTIONS */
	int			 meetings;	/* holds LEASES_MEETINGS */
	long			 instances;	/* live at the last round */
	int64_t			 next_look;	/* Unix ms: another's lease runs out (0: none) */
};

struct leases *
leases_new(const struct config *cfg, const char *owner, struct ledger *l,
    struct graph_client *g, leases_taken_fn *taken, void *arg)
{
	struct leases *ls = xcalloc(1, sizeof(*ls));

	ls->cfg = cfg;
	ls->ledger = l;
	ls->graph = g;
	ls->taken = taken;
	ls->arg = arg;
	snprintf(ls->owner, sizeof(ls->owner), "%s", owner);
	ls->held = json_object();
	pthread_mutex_init(&ls->lock, NULL);
	return ls;
}

void
leases_free(struct leases *ls)
{
	if (ls == NULL)
		return;
	json_decref(ls->boxes);
	json_decref(ls->held);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}

static char *
lease_name(const char *prefix, const char *what)
{
	size_t n = strlen(prefix) + strlen(what) + 1;
	char *s = xmalloc(n);

	snprintf(s, n, "%s%s", prefix, what);
	return s;
}

void
leases_default_name(char *buf, size_t len)
{
	char host[256];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "olsync");
	host[sizeof(host) - 1] = '\0';
	/* The pid last, so a long host name is cut rather than the pid. */
	snprintf(buf, len, "%.*s:%ld", LEDGER_OWNER_MAX - 22, host, (long)getpid());
}

/* 1 when owner is a default name ("host:pid") of this host whose process is gone: an olsync of
 * this machine killed and started again. Its leases need not be waited for. */
int
leases_dead_here(const char *owner)
{
	char mine[LEDGER_OWNER_MAX + 1], *colon, *end;
	const char *pc = strrchr(owner, ':');
	long pid;

	leases_default_name(mine, sizeof(mine));
	if (pc == NULL || (colon = strrchr(mine, ':')) == NULL ||
	    (size_t)(pc - owner) != (size_t)(colon - mine) ||
	    strncmp(owner, mine, (size_t)(colon - mine)) != 0)
		return 0;
	errno = 0;
	pid = strtol(pc + 1, &end, 10);
	if (*end != '\0' || pid <= 1 || errno != 0 || pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* Expires the leases and gives back the batch claims of instances of this host that died
 * (leases_dead_here); 1 when any was, so the caller lists the leases again. */
static int
reap(struct leases *ls, const struct ledger_lease *v, size_t n, int64_t now_ms)
{
	size_t pre = strlen(LEASES_INSTANCE);
	long long count;
	int any = 0;

	for (size_t i = 0; i < n; i++) {
		const char *owner = v[i].owner;

		if (strncmp(v[i].name, LEASES_INSTANCE, pre) != 0 || v[i].expires_at <= now_ms ||
		    strcmp(owner, ls->owner) == 0 || !leases_dead_here(owner))
			continue;
		if (ledger_lease_expire_owner(ls->ledger, owner, &count) == -1 ||
		    ledger_claims_release(ls->ledger, owner, NULL) == -1) {
			log_warnx("lease ledger_failed name=%s error=\"%s\"", v[i].name,
			    ledger_error(ls->ledger));
			continue;
		}
		log_info("lease reaped owner=%s leases=%lld (its process on this host is gone)",
		    owner, count);
		any = 1;
	}
	return any;
}

/* Takes or renews name; 1 held, 0 not, -1 the ledger failed (logged). */
static int
take(struct leases *ls, const char *name, int64_t now_ms)
{
	int held;

	if (ledger_lease_take(ls->ledger, name, ls->owner, now_ms, ls->cfg->lease_time_ms,
	    &held) == -1) {
		log_warnx("lease ledger_failed name=%s error=\"%s\"", name,
		    ledger_error(ls->ledger));
		return -1;
	}
	return held;
}

static void
relist(struct leases *ls, int64_t now_ms)
{
	struct remote_failure f;
	json_t *boxes;

	if (ls->boxes != NULL && now_ms < ls->relist_at)
		return;
	if (graph_client_mailboxes(ls->graph, &boxes, &f) == -1) {
		log_warnx("lease list_failed error=\"cannot list the mailboxes: %s (%s)\"",
		    f.message, remote_class_name(f.cls));
		ls->relist_at = now_ms + ls->cfg->lease_time_ms;
		return;
	}
	json_decref(ls->boxes);
	ls->boxes = boxes;
	ls->relist_at = now_ms + ls->cfg->reconcile_interval_ms;
}

/* The singleton name: held now? */
static int
singleton(struct leases *ls, const char *name, int64_t now_ms)
{
	return take(ls, name, now_ms) == 1;
}

int
leases_heartbeat_live(const struct ledger_lease *e, int64_t now_ms)
{
	return strncmp(e->name, LEASES_INSTANCE, strlen(LEASES_INSTANCE)) == 0 &&
	    e->expires_at > now_ms && !leases_dead_here(e->owner);
}

int64_t
leases_next_look(struct leases *ls)
{
	int64_t t;

	pthread_mutex_lock(&ls->lock);
	t = ls->next_look;
	pthread_mutex_unlock(&ls->lock);
	return t;
}

int
leases_round(struct leases *ls, int64_t now_ms)
{
	struct ledger_lease *v = NULL;
	json_t *others = json_object(), *held = json_object(), *mine = json_object(), *before;
	json_t *box;
	size_t n = 0, i, m, live = 0, share, count = 0, nrenewed = 0;
	char *name, **renewed = NULL;
	int64_t next_look;
	int rc = -1, r, subs, meetings, tx;

	name = lease_name(LEASES_INSTANCE, ls->owner);
	r = take(ls, name, now_ms);
	free(name);
	if (r != 1) {
		if (r == 0)	/* another process runs under our name */
			log_warnx("lease instance_name_in_use name=%s (give each instance its own "
			    "instance_name)", ls->owner);
		goto out;
	}
	relist(ls, now_ms);
	if (ledger_lease_list(ls->ledger, &v, &n) == -1) {
		log_warnx("lease ledger_failed error=\"%s\"", ledger_error(ls->ledger));
		goto out;
	}
	if (reap(ls, v, n, now_ms)) {
		ledger_leases_free(v, n);
		v = NULL;
		n = 0;
		if (ledger_lease_list(ls->ledger, &v, &n) == -1) {
			log_warnx("lease ledger_failed error=\"%s\"", ledger_error(ls->ledger));
			goto out;
		}
	}
	next_look = 0;
	for (i = 0; i < n; i++) {
		if (v[i].expires_at <= now_ms)
			continue;
		/* When another's lease runs out unrenewed (its instance died), look at once
		 * rather than at the next round: takeover within lease_time of the death. */
		if (leases_heartbeat_live(&v[i], now_ms))
			live++;
		if (strcmp(v[i].owner, ls->owner) == 0)
			continue;	/* ours are renewed below: with one instance, all of them */
		if (next_look == 0 || v[i].expires_at < next_look)
			next_look = v[i].expires_at;
		json_object_set_new(others, v[i].name, json_true());
	}
	/* Each list of every mailbox is given back as soon as it is read: with 10,000 mailboxes
	 * each is a megabyte or two, and a round's peak is what stays in the thread's arena. */
	ledger_leases_free(v, n);
	v = NULL;
	n = 0;
	m = json_array_size(ls->boxes);
	if (live == 0)
		live = 1;
	share = (m + live - 1) / live;

	/* Ours first, all renewed in one statement (thousands of mailboxes are one write a
	 * round), then those past the share given up for the newcomers. */
	if (ledger_lease_renew_owned(ls->ledger, ls->owner, LEASES_MAILBOX, now_ms,
	    ls->cfg->lease_time_ms, &renewed, &nrenewed) == -1) {
		log_warnx("lease ledger_failed error=\"%s\"", ledger_error(ls->ledger));
		goto out;
	}
	for (i = 0; i < nrenewed; i++)
		json_object_set_new(mine, renewed[i], json_true());
	ledger_keys_free(renewed, nrenewed);
	renewed = NULL;
	nrenewed = 0;
	/* And the batch the worker is writing, claimed again until a lease_time from now (the
	 * claims count whole seconds), so a batch slower than lease_time is not taken and
	 * written a second time by another instance while this one lives. */
	if (ledger_claims_renew(ls->ledger, ls->owner,
	    now_ms / 1000 + (ls->cfg->lease_time_ms + 999) / 1000, NULL) == -1)
		log_warnx("lease claims_renew_failed error=\"%s\"", ledger_error(ls->ledger));
	json_array_foreach(ls->boxes, i, box) {
		const char *mb = json_string_value(box);

		if (mb == NULL)
			continue;
		name = lease_name(LEASES_MAILBOX, mb);
		if (json_object_get(mine, name) != NULL) {
			if (count >= share) {
				if (ledger_lease_drop(ls->ledger, name, ls->owner) == -1)
					log_warnx("lease ledger_failed name=%s error=\"%s\"", name,
					    ledger_error(ls->ledger));
				else
					log_info("lease dropped name=%s share=%zu instances=%zu",
					    name, share, live);
			} else {
				json_object_set_new(held, mb, json_true());
				count++;
			}
		}
		free(name);
	}
	/* Then the free and the expired (a dead instance's), up to the share, in one
	 * transaction: one commit for a first start's thousands, not one each. */
	if (count < share && ledger_begin(ls->ledger) == -1) {
		log_warnx("lease ledger_failed error=\"%s\"", ledger_error(ls->ledger));
		goto out;
	}
	tx = count < share;
	json_array_foreach(ls->boxes, i, box) {
		const char *mb = json_string_value(box);

		if (count >= share)
			break;
		if (mb == NULL || json_object_get(held, mb) != NULL)
			continue;
		name = lease_name(LEASES_MAILBOX, mb);
		if (json_object_get(others, name) == NULL &&
		    json_object_get(mine, name) == NULL && take(ls, name, now_ms) == 1) {
			json_object_set_new(held, mb, json_true());
			count++;
		}
		free(name);
	}
	if (tx && ledger_commit(ls->ledger) == -1) {
		log_warnx("lease ledger_failed error=\"%s\"", ledger_error(ls->ledger));
		ledger_rollback(ls->ledger);
		goto out;
	}
	subs = singleton(ls, LEASES_SUBSCRIPTIONS, now_ms);
	meetings = singleton(ls, LEASES_MEETINGS, now_ms);
	pthread_mutex_lock(&ls->lock);
	before = ls->held;
	ls->held = json_incref(held);
	ls->subs = subs;
	ls->meetings = meetings;
	ls->instances = (long)live;
	ls->next_look = next_look;
	pthread_mutex_unlock(&ls->lock);
	{
		const char *mb;
		json_t *t;

		json_object_foreach(held, mb, t) {
			if (json_object_get(before, mb) != NULL)
				continue;
			log_info("lease taken name=%s%s share=%zu instances=%zu", LEASES_MAILBOX, mb,
			    share, live);
			if (ls->taken != NULL)
				ls->taken(ls->arg, mb);
		}
		json_object_foreach(before, mb, t)
			if (json_object_get(held, mb) == NULL)
				log_info("lease gone name=%s%s", LEASES_MAILBOX, mb);
	}
	json_decref(before);
	rc = 0;
out:
	ledger_leases_free(v, n);
	ledger_keys_free(renewed, nrenewed);
	json_decref(others);
	json_decref(held);
	json_decref(mine);
	return rc;
}

void
leases_drop_all(struct leases *ls)
{
	const char *mb;
	json_t *t;
	char *name;

	pthread_mutex_lock(&ls->lock);
	json_object_foreach(ls->held, mb, t) {
		name = lease_name(LEASES_MAILBOX, mb);
		(void)ledger_lease_drop(ls->ledger, name, ls->owner);
		free(name);
	}
	json_object_clear(ls->held);
	ls->subs = ls->meetings = 0;
	pthread_mutex_unlock(&ls->lock);
	(void)ledger_lease_drop(ls->ledger, LEASES_SUBSCRIPTIONS, ls->owner);
	(void)ledger_lease_drop(ls->ledger, LEASES_MEETINGS, ls->owner);
	name = lease_name(LEASES_INSTANCE, ls->owner);
	(void)ledger_lease_drop(ls->ledger, name, ls->owner);
	free(name);
}

int
leases_holds(struct leases *ls, const char *mailbox)
{
	int r;

	pthread_mutex_lock(&ls->lock);
	r = json_object_get(ls->held, mailbox) != NULL;
	pthread_mutex_unlock(&ls->lock);
	return r;
}

int
leases_singleton(struct leases *ls, const char *name)
{
	int r;

	pthread_mutex_lock(&ls->lock);
	r = strcmp(name, LEASES_SUBSCRIPTIONS) == 0 ? ls->subs :
	    strcmp(name, LEASES_MEETINGS) == 0 ? ls->meetings : 0;
	pthread_mutex_unlock(&ls->lock);
	return r;
}

void
leases_counts(struct leases *ls, long *mailboxes, long *instances)
{
	pthread_mutex_lock(&ls->lock);
	*mailboxes = (long)json_object_size(ls->held);
	*instances = ls->instances;
	pthread_mutex_unlock(&ls->lock);
}
