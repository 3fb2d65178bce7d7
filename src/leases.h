/* leases.h: what one olsync instance holds among several sharing a ledger: its heartbeat
 * ("instance:<name>"), its fair share of the mailboxes ("mailbox:<address>": only the holder
 * reads a mailbox), and the singletons ("subscriptions", "meetings"). The leases are rows of
 * the ledger (ledger_lease_take); this module decides which to take, renew and give up, once a
 * round, every lease_time / 3 (daemon.c's lease thread). Alone, an instance holds everything.
 *
 * Thread safety: leases_round runs on one thread; leases_holds and leases_singleton may be
 * called from any thread at any time (a mutex inside). */
#ifndef OL_LEASES_H
#define OL_LEASES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "graph_client.h"
#include "ledger.h"

#define LEASES_INSTANCE		"instance:"
#define LEASES_MAILBOX		"mailbox:"
#define LEASES_SUBSCRIPTIONS	"subscriptions"
#define LEASES_MEETINGS		"meetings"

struct leases;

/* Called from leases_round for each mailbox this instance has just taken (free, or expired:
 * its holder died), so that its folders are read at once; mailbox borrowed for the call. */
typedef void leases_taken_fn(void *arg, const char *mailbox);

/* cfg, l and g (the mailbox list) are borrowed for the life of the struct; owner is copied.
 * taken (may be NULL) gets arg. */
struct leases *leases_new(const struct config *cfg, const char *owner, struct ledger *l,
    struct graph_client *g, leases_taken_fn *taken, void *arg);
void leases_free(struct leases *ls);	/* NULL is fine */

/* One round at now_ms (wall clock, Unix ms): renew the heartbeat; count the live instances
 * (distinct unexpired heartbeats); keep at most ceil(mailboxes / live) mailbox leases, giving up
 * the extra ones so a newcomer gets its share, and take free or expired ones up to it; hold the
 * singletons when free. 0, or -1 (logged) when the ledger failed: what was held is kept until
 * it expires. */
int leases_round(struct leases *ls, int64_t now_ms);
/* When, at the last round, the first lease held by another instance runs out (Unix ms; 0:
 * none): the lease thread looks again then, so a dead instance's work is taken when its lease
 * ends, not up to a round later. */
int64_t leases_next_look(struct leases *ls);
/* 1 when owner is a default name ("host:pid") of this host whose process is gone: its leases
 * need not be waited for. */
int leases_dead_here(const char *owner);
/* 1 when e is an instance's heartbeat ("instance:<name>") that is running: unexpired at now_ms
 * and not of a dead process of this machine (leases_dead_here). The lease rounds count the
 * live instances with it; `sync --once` and `backfill` refuse to start beside one. */
int leases_heartbeat_live(const struct ledger_lease *e, int64_t now_ms);
/* Gives every lease this instance holds back (a clean stop), so the others take them at once. */
void leases_drop_all(struct leases *ls);

/* This instance's name when instance_name is not set: "host:pid" in at most LEDGER_OWNER_MAX
 * bytes. An instance sees the leases of a "host:pid" of its own host whose process is gone (an
 * olsync killed and restarted) as expired at once, instead of after lease_time. */
void leases_default_name(char *buf, size_t len);

/* 1 when this instance holds mailbox's lease (as of the last round), else 0. */
int leases_holds(struct leases *ls, const char *mailbox);
/* 1 when it holds the singleton name (LEASES_SUBSCRIPTIONS, LEASES_MEETINGS). */
int leases_singleton(struct leases *ls, const char *name);
/* How many mailboxes it holds, and how many instances were live, at the last round. */
void leases_counts(struct leases *ls, long *mailboxes, long *instances);

#endif
