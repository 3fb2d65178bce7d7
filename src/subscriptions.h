/* subscriptions.h: the Graph change-notification subscriptions olsync keeps, one per watched
 * mailbox and kind (Inbox and Sent Items messages, and the calendar's events when meetings are
 * on), so that Graph tells the receiver about new
 * mail within seconds. Each is created with a fresh random clientState, stored in the ledger with
 * its expiry, renewed every subscription_renew_every (well before subscription_lifetime ends),
 * recreated when Graph lost it, and deleted when its mailbox is no longer watched.
 *
 * Whenever a subscription may have missed something (it was created, recreated, or found gone),
 * its folder is marked for a delta read: notifications are hints, delta is the truth.
 *
 * One struct subs is used by one thread (the daemon's subscription thread). */
#ifndef OL_SUBSCRIPTIONS_H
#define OL_SUBSCRIPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "graph_client.h"
#include "ledger.h"

#define SUBS_STATE_LEN		64	/* characters of a clientState ([0-9A-Za-z], ~380 bits) */
#define SUBS_RETRY_MIN		15	/* s: first retry of a failed create or renewal */
#define SUBS_RETRY_MAX		600	/* s: the retry delay stops doubling here */
/* Creates and renewals sent to Graph per clock second, at most. Graph allows an app 500
 * subscription writes per 20 s in one tenant (25/s, reference §2.6); 20 leaves room for the
 * deletes and lists of reconcile. 3,000 subscriptions (1,000 mailboxes) take 2.5 minutes. */
#define SUBS_RATE		20
/* A renewal comes up to renew_every / SUBS_SPREAD_DIV early, by a hash of the subscription's
 * id (subs_renew_due): subscriptions made together renew over a quarter of renew_every. */
#define SUBS_SPREAD_DIV		4

/* What the subscription calls did since subs_new. */
struct subs_stats {
	long	created;
	long	renewed;
	long	recreated;	/* after a 404 renewal, subscriptionRemoved, or found gone */
	long	deleted;	/* mailboxes no longer watched, URL changed */
	long	adopted;	/* found on Graph and in the ledger at reconcile */
	long	orphans;	/* ours on Graph but not in the ledger: deleted */
	long	failures;	/* calls that failed and will be retried */
	/* Lifecycle actions the last subs_maintain found stored and did not do (paced, or to be
	 * retried): the ledger holding more means a new one came meanwhile. */
	long	actions_left;
};

struct subs;

/* cfg, l and g are borrowed for the life of the struct. wake(arg) is called after folders were
 * marked for a delta read (may be NULL). */
struct subs *subs_new(const struct config *cfg, struct ledger *l, struct graph_client *g,
    void (*wake)(void *), void *arg);
void subs_free(struct subs *s);	/* NULL is fine */

/* The URLs subscriptions are created with: public_url + the receiver's paths. Borrowed. */
const char *subs_notification_url(const struct subs *s);
const char *subs_lifecycle_url(const struct subs *s);

/* Brings Graph and the ledger in line with mailboxes (a JSON array of strings): subscriptions
 * in both are adopted (expiry from Graph); ours on Graph only (our notification URL) are orphans
 * and deleted; others' are left alone; stored ones Graph no longer has are dropped and their
 * folders marked; those of mailboxes no longer watched, or made for another URL, are deleted;
 * then the missing ones are created. Per-subscription failures are logged and retried by
 * subs_maintain. Returns 0, or -1 with err when the listing failed or the ledger did. */
int subs_reconcile(struct subs *s, const json_t *mailboxes, char *err, size_t errlen);

/* Does what is due at now: lifecycle actions (renew, recreate), renewals, and creates that
 * failed before, for the mailboxes of the last subs_reconcile. *next gets the time something
 * is next due; subs_stats's actions_left what it left of the stored actions it found. Returns
 * 0, or -1 with err when the ledger failed. */
int subs_maintain(struct subs *s, int64_t now, int64_t *next, char *err, size_t errlen);

void subs_stats(const struct subs *s, struct subs_stats *out);

/* When a stored subscription is due for renewal (Unix seconds): renew_every after the last
 * renewal, and never later than lifetime - renew_every before its expiry (Graph may have granted
 * less than we asked); then earlier by spread_offset(id, renew_every / SUBS_SPREAD_DIV). */
int64_t subs_renew_due(const struct config *cfg, const struct ledger_sub *ls);

/* The folder a subscription kind's notifications mark ("inbox" -> "inbox", "events" ->
 * CALENDAR_FOLDER). */
const char *subs_kind_folder(const char *kind);

#endif
