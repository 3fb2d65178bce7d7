/* ledger.h: the durable record of what happened to every email olsync has seen, and the small
 * pieces of state that must survive a restart (delta links, Lead claims, round-robin cursors,
 * Graph subscriptions and the folders their notifications marked).
 * The interface is backend-neutral: ledger.c works through store.h, on a SQLite file or a
 * PostgreSQL database (a postgresql:// URI as the path of ledger_open).
 *
 * A message is keyed by its normalized internetMessageId (normalize.c makes the key; the ledger
 * compares it byte for byte). The same message seen in several mailboxes is one message with
 * several sightings. Its state moves only along these edges:
 *
 *	pending|failed --mark_logged--> logged	pending|failed --mark_skipped--> skipped
 *	pending|failed --mark_failed(TEMP|WAIT)--> failed --(attempts >= max)--> dead
 *	pending|failed --mark_failed(FINAL)|mark_dead--> dead --retry_dead--> pending
 *
 * logged, skipped and dead are final until an operator retries the dead; any other transition is
 * refused, so a bug upstream cannot turn a logged email into a skipped one.
 *
 * One handle is used by one thread at a time; several handles (threads or processes) may have
 * the same file open. Every call that returns -1 leaves a one-line reason in ledger_error(l).
 * No call stores a body or a token, or logs any of them or a secret; the one secret stored is
 * a subscription's clientState, which notifications are checked against. Of a message's
 * content, only the copy ingest gives (what the writes need) is kept, and only while the
 * message is open: logged, skipped and dead drop it. */
#ifndef OL_LEDGER_H
#define OL_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_KEY_MAX		8192	/* bytes in a key; normalize.c must digest longer ids */
#define LEDGER_NAME_MAX		1024	/* mailbox, folder, graph id, address, pool, kv key, ids */
#define LEDGER_LINK_MAX		65536	/* a delta link as Graph gave it, a notification URL */
#define LEDGER_VALUE_MAX	65536	/* a kv value */
#define LEDGER_TEXT_MAX		1024	/* reasons and errors are cut here, at a UTF-8 boundary */
#define LEDGER_DATA_MAX		(1024 * 1024)	/* bytes of a message's stored copy */
/* s: ledger_next_pending_since finds, through an index, mail received at most this long before
 * the call (mail received this recently when it was first recorded is indexed). */
#define LEDGER_RECENT		3600
#define LEDGER_KIND_MAX		31	/* a subscription's kind (receiver_sub.kind with its NUL) */
#define LEDGER_CLIENT_STATE_MAX	255	/* a subscription's clientState */
#define LEDGER_MAX_ATTEMPTS	10	/* default for ledger_set_max_attempts */
#define LEDGER_OWNER_MAX	64	/* an instance's name (config.c's instance_name) */

#define LEDGER_NOT_FOUND	1	/* the lookups return 0 found, 1 not found, -1 error */

struct ledger;

enum ledger_state {
	LEDGER_PENDING,		/* recorded, not yet decided or written */
	LEDGER_SKIPPED,		/* a filter said no; reason says which */
	LEDGER_LOGGED,		/* written to Salesforce; the ids say where */
	LEDGER_FAILED,		/* last attempt failed; due again at next_attempt_at */
	LEDGER_DEAD,		/* given up; reason says why; `olsync retry` revives it */
	LEDGER_STATE_COUNT
};

enum ledger_dir {
	LEDGER_INBOUND,		/* seen in an Inbox */
	LEDGER_OUTBOUND		/* seen in Sent Items */
};

/* How a failure was classified where the response was parsed. */
enum ledger_fail {
	LEDGER_FAIL_TEMP,	/* counts as an attempt; dead once attempts reach the maximum */
	LEDGER_FAIL_WAIT,	/* the service asked us to wait: rescheduled, not counted */
	LEDGER_FAIL_FINAL	/* will never succeed as is: dead now, the error is the reason */
};

/* What ledger_record_sighting found. */
enum ledger_seen {
	LEDGER_SEEN_NEW,	/* a message the ledger did not know: now pending */
	LEDGER_SEEN_COPY,	/* a known message, another copy (another mailbox, usually) */
	LEDGER_SEEN_AGAIN	/* this copy (mailbox, graph id) was recorded before: a delta
				 * replay, a 410 restart, or the copy moved to another folder */
};

enum ledger_lead {
	LEDGER_LEAD_CLAIMED,	/* yours to create; then ledger_lead_set, or ledger_lead_release */
	LEDGER_LEAD_RECLAIMED,	/* an older claim went stale (a crash?): the Lead may exist in
				 * Salesforce already, so look it up before creating it */
	LEDGER_LEAD_KNOWN,	/* the Lead exists: *lead_id is its id */
	LEDGER_LEAD_BUSY	/* another claim is in progress: come back after it is set */
};

/* One copy of a message as ingest saw it. Every pointer is borrowed for the call. */
struct ledger_msg {
	const char	*key;		/* normalized internetMessageId, 1..LEDGER_KEY_MAX bytes */
	const char	*ext_id;	/* the digest used as the Salesforce external id */
	enum ledger_dir	 dir;
	int64_t		 received_at;	/* receivedDateTime, Unix seconds; 0 if unknown */
	const char	*mailbox;	/* the mailbox's user id or UPN */
	const char	*folder;	/* "inbox", "sentitems" or a folder id */
	const char	*graph_id;	/* the immutable Graph id of this copy */
	/* What the engine needs of the message (JSON text, at most LEDGER_DATA_MAX bytes), or
	 * NULL: kept with a new message, and given to an open one that has none. */
	const char	*data;
};

/* The Salesforce records a message produced; any may be NULL. Borrowed when passed in; owned by
 * the enclosing struct ledger_entry when read out. */
struct ledger_sf_ids {
	char	*task_id;
	char	*email_message_id;
	char	*lead_id;	/* a Lead this email created */
	char	*who_id;	/* the Contact or Lead the activity is on */
	char	*what_id;	/* the Opportunity, if any */
};

/* A message as the ledger holds it. The struct owns its strings: ledger_entry_clear frees them. */
struct ledger_entry {
	char			*key;
	char			*ext_id;
	enum ledger_dir		 dir;		/* outbound if any copy was in Sent Items */
	enum ledger_state	 state;
	char			*reason;	/* why skipped or dead; NULL otherwise */
	char			*last_error;	/* latest failure, kept after a retry; or NULL */
	int			 attempts;	/* TEMP failures since the last retry */
	int64_t			 next_attempt_at; /* when a failed message is due again */
	int64_t			 received_at;
	int64_t			 first_seen;
	int64_t			 updated_at;
	struct ledger_sf_ids	 sf;
	/* The first copy recorded: enough to fetch the message from Graph again. */
	char			*mailbox;
	char			*folder;
	char			*graph_id;
	/* ledger_msg's data while the message is open; NULL once it ended, or when none was
	 * given (then read the message from Graph by its sightings). */
	char			*data;
	long			 copies;	/* sightings: 1 means mailbox is the only one */
};

/* One copy of a message; strings owned, freed by ledger_sightings_free. */
struct ledger_sighting {
	char		*mailbox;
	char		*folder;
	char		*graph_id;
	enum ledger_dir	 dir;
	int64_t		 seen_at;
};

struct ledger_stats {
	long long	 messages[LEDGER_STATE_COUNT];	/* indexed by enum ledger_state */
	long long	 sightings;
	int64_t		 oldest_open;	/* first_seen of the oldest pending or failed; 0: none */
};

/* A folder's delta position. link is owned (ledger_delta_clear frees it); NULL means start from
 * the backfill window. */
struct ledger_delta {
	char		*link;
	int64_t		 window_start;	/* Unix seconds: the backfill window's lower bound */
	int64_t		 updated_at;
};

/* Opens (creating if needed) the ledger at path and migrates its schema. On failure returns -1
 * with a reason in err. The caller closes *out with ledger_close. */
int ledger_open(const char *path, struct ledger **out, char *err, size_t errlen);
/* The same with the database's password (NULL: none; PostgreSQL only, given to libpq apart
 * from the URI): what every command that reads the configuration uses. */
int ledger_connect(const char *target, const char *password, struct ledger **out, char *err,
    size_t errlen);
/* The schema version this olsync migrates a ledger to. */
int ledger_schema_current(void);
/* What ledger_probe found. */
enum ledger_probe {
	LEDGER_PROBE_OK,	/* opens, schema current, the write lock can be taken */
	LEDGER_PROBE_MISSING,	/* no file yet; its directory exists and is writable */
	LEDGER_PROBE_OLDER,	/* writable, migrations pending (the next open applies them) */
	LEDGER_PROBE_NEWER,	/* made by a newer olsync: ledger_open refuses it */
	LEDGER_PROBE_READONLY,	/* opens, but cannot be written */
	LEDGER_PROBE_BUSY,	/* another connection kept the write lock LEDGER_PROBE_BUSY_MS */
	LEDGER_PROBE_ERROR,	/* cannot be opened or read, or its directory is unusable */
};
#define LEDGER_PROBE_BUSY_MS	2000
/* Looks at the ledger at path without creating, migrating or writing it (for `olsync doctor`):
 * *version is its schema version (-1 unknown), *current this olsync's; err says why for the
 * failures. */
enum ledger_probe ledger_probe(const char *path, int *version, int *current, char *err,
    size_t errlen);
/* Closes l, rolling back a transaction left open. NULL is allowed. */
void ledger_close(struct ledger *l);
/* The reason for the last -1 on l; borrowed until the next call on l. */
const char *ledger_error(const struct ledger *l);
/* 1 when the database's last failure since ledger_begin means "do the transaction again"
 * (PostgreSQL: a deadlock between instances, a serialization failure; SQLite: busy). */
int ledger_error_is_transient(const struct ledger *l);
/* TEMP failures a message may have before it is dead (at least 1; default LEDGER_MAX_ATTEMPTS). */
void ledger_set_max_attempts(struct ledger *l, int max);
/* An 8 MiB page cache on SQLite (its default is 2 MiB), for the handle that ingests and writes
 * (olsync run's worker) and the one-shot commands' single handle (main.c's open_ledger, dry-run's
 * copy): at 100,000 messages the indexes no longer fit in 2, and reading them back through pread
 * doubled a backfill's system CPU. olsync run's five other handles keep the default: with
 * 8 MiB on all six, 10,000 idle mailboxes peaked at 59.4 MiB, and 47.6 with this split
 * (bench/README.md). Nothing on PostgreSQL, whose cache is the server's. -1 on failure. */
int ledger_set_bulk(struct ledger *l);
/* The page cache l may fill, in KiB (SQLite's PRAGMA cache_size when given in KiB); -1 on
 * PostgreSQL, on failure, or for a size given in pages. */
long ledger_page_cache_kib(struct ledger *l);

/* An explicit transaction: ingest records a page of messages and the delta link that follows it,
 * so a crash keeps both or neither. They do not nest; every other call works inside or outside. */
int ledger_begin(struct ledger *l);
int ledger_commit(struct ledger *l);
int ledger_rollback(struct ledger *l);

/* Records one copy of a message; *seen (may be NULL) says whether the message or the copy is new.
 * A new copy in Sent Items makes a still-open message outbound. ext_id is kept from the first
 * sighting, data from the first that had one. Rejects missing or oversized fields. */
int ledger_record_sighting(struct ledger *l, const struct ledger_msg *m, enum ledger_seen *seen);

/* Fills out[0..max-1] with messages due at now: pending ones in the order they were first seen,
 * then failed ones whose next_attempt_at <= now, earliest first. *n gets the count. The caller
 * clears each entry. */
int ledger_next_pending(struct ledger *l, int64_t now, struct ledger_entry *out, size_t max,
    size_t *n);

/* The same for messages received at or after since only (live mail, while the API budget is
 * short: budget.c); since INT64_MIN is ledger_next_pending. A message whose received time is
 * unknown (0) is never live. since must be within LEDGER_RECENT of the present (an error
 * otherwise): only such mail is indexed. */
int ledger_next_pending_since(struct ledger *l, int64_t now, int64_t since,
    struct ledger_entry *out, size_t max, size_t *n);

/* Marks. key is borrowed. Each refuses an unknown key, or a message not pending or failed. */
/* Logged, with the Salesforce ids: non-NULL fields replace, NULL ones keep what was noted. */
int ledger_mark_logged(struct ledger *l, const char *key, const struct ledger_sf_ids *ids);
int ledger_mark_skipped(struct ledger *l, const char *key, const char *reason);
/* A failed attempt. *state (may be NULL) gets the result: failed, or dead when fail is FINAL or the
 * attempts reached the maximum. next_attempt_at is the caller's backoff (with jitter). */
int ledger_mark_failed(struct ledger *l, const char *key, const char *error, enum ledger_fail fail,
    int64_t next_attempt_at, enum ledger_state *state);
int ledger_mark_dead(struct ledger *l, const char *key, const char *reason);
/* Notes ids produced so far without changing the state, so that a retry after a crash or a
 * partial failure (a Lead made, its Task not) reuses them. Refused on a final message. */
int ledger_note_sf_ids(struct ledger *l, const char *key, const struct ledger_sf_ids *ids);
/* Dead -> pending with attempts reset, for `olsync retry`: one message (key) or all (key NULL).
 * *count (may be NULL) gets how many were revived. */
int ledger_retry_dead(struct ledger *l, const char *key, long long *count);

/* For `olsync show` and `olsync dead`. */
int ledger_get(struct ledger *l, const char *key, struct ledger_entry *out);	/* 0, 1, -1 */
int ledger_get_by_ext_id(struct ledger *l, const char *ext_id, struct ledger_entry *out);
/* *out gets an array the caller frees with ledger_sightings_free, oldest first. */
int ledger_sightings(struct ledger *l, const char *key, struct ledger_sighting **out, size_t *n);
/* The most recently dead first, up to max; the caller clears each entry. */
int ledger_list_dead(struct ledger *l, struct ledger_entry *out, size_t max, size_t *n);
int ledger_stats(struct ledger *l, struct ledger_stats *out);
/* Skipped messages counted by reason (its token, the part before any ':', e.g. "internal_only",
 * "automated"), most first then by name: *out gets an array the caller frees with
 * ledger_reason_counts_free. */
struct ledger_reason_count {
	char		*reason;
	long long	 n;
};
int ledger_skip_reasons(struct ledger *l, struct ledger_reason_count **out, size_t *n);
void ledger_reason_counts_free(struct ledger_reason_count *v, size_t n);

void ledger_entry_clear(struct ledger_entry *e);	/* frees the strings; e may be reused */
void ledger_sightings_free(struct ledger_sighting *s, size_t n);
const char *ledger_state_name(enum ledger_state state);	/* "pending", ...; static */
const char *ledger_dir_name(enum ledger_dir dir);	/* "inbound" or "outbound"; static */

/* Delta state per (mailbox, folder). Save only after the messages the link covers are recorded,
 * in the same transaction. A NULL link forgets the position (410): the next pass starts again from
 * window_start and its sightings come back as LEDGER_SEEN_AGAIN. */
int ledger_delta_get(struct ledger *l, const char *mailbox, const char *folder,
    struct ledger_delta *out);	/* 0, 1, -1 */
int ledger_delta_set(struct ledger *l, const char *mailbox, const char *folder, const char *link,
    int64_t window_start);
void ledger_delta_clear(struct ledger_delta *d);

/* How far `olsync backfill` read one folder of a mailbox over [since, until) (Unix seconds).
 * link (owned; ledger_backfill_clear frees it) is the next page to read, NULL before the first;
 * done is 1 once the last page was recorded. Set it in the transaction that records the page
 * it follows, as delta links are. get: 0, 1 (never started), -1. */
struct ledger_backfill {
	char		*link;
	int		 done;
	long long	 pages;		/* pages recorded so far */
	long long	 messages;	/* messages on them */
	int64_t		 updated_at;
};
int ledger_backfill_get(struct ledger *l, const char *mailbox, const char *folder, int64_t since,
    int64_t until, struct ledger_backfill *out);
int ledger_backfill_set(struct ledger *l, const char *mailbox, const char *folder, int64_t since,
    int64_t until, const struct ledger_backfill *b);
void ledger_backfill_clear(struct ledger_backfill *b);

/* Copies the ledger at path to a new file dest (made as ledger_open makes one), opening path
 * read-only so that it is left exactly as it was: `olsync dry-run` decides on the copy. 0, or
 * -1 with err. */
int ledger_snapshot(const char *path, const char *dest, char *err, size_t errlen);

/* Lead de-duplication per sender address (compared case-insensitively), so a burst of mail from
 * one new sender makes one Lead. A claim older than stale_after seconds at now may be taken over.
 * On LEDGER_LEAD_KNOWN *lead_id gets the id (caller frees); otherwise it is set to NULL. */
int ledger_lead_claim(struct ledger *l, const char *address, int64_t now, int64_t stale_after,
    enum ledger_lead *result, char **lead_id);
/* Unfinished claims made at or before before (the caller's start, called before it claims
 * anything: with second resolution a claim of a run that died a moment ago shares it) were
 * left by a run that died: they are made stale at once, so the next
 * claim is LEDGER_LEAD_RECLAIMED (look up, then create) instead of waiting stale_after. One
 * olsync per ledger is assumed (several instances: ledger_lead_orphans_of_dead). *count gets
 * how many. */
int ledger_lead_orphan_claims(struct ledger *l, int64_t before, long long *count);
/* Records the Lead made for address (claimed or not). */
int ledger_lead_set(struct ledger *l, const char *address, const char *lead_id);
/* Drops an unfinished claim after the Lead could not be created; a set Lead stays. */
int ledger_lead_release(struct ledger *l, const char *address);

/* Round robin over a pool of n owners: *index gets 0..n-1, and the pool's cursor advances durably,
 * so a restart continues where the last run stopped. */
int ledger_rr_next(struct ledger *l, const char *pool, size_t n, size_t *index);

/* Small named values (e.g. the tenant a ledger belongs to). *value: caller frees. set with a NULL
 * value deletes. */
int ledger_kv_get(struct ledger *l, const char *key, char **value);	/* 0, 1, -1 */
int ledger_kv_set(struct ledger *l, const char *key, const char *value);

/* Graph change-notification subscriptions olsync made (subscriptions.c keeps them, receiver.c
 * checks notifications against them). kind is what the subscription watches: "inbox",
 * "sentitems" (the folders ingest reads) or "events". The struct owns its strings;
 * ledger_sub_clear frees them. */
struct ledger_sub {
	char		*id;		/* Graph's subscription id */
	char		*mailbox;
	char		*kind;
	char		*client_state;	/* the secret Graph echoes in each notification */
	char		*notification_url;	/* the URL it was created with */
	int64_t		 expires_at;	/* Unix seconds */
	int64_t		 created_at;
	int64_t		 renewed_at;	/* last successful create or renewal */
	char		*action;	/* work a lifecycle event asked for: NULL, "renew" or
					 * "recreate" */
};

/* A (mailbox, folder) a notification marked for a delta read. gen grows with every mark, so a
 * mark that arrives while the folder is being read is not lost: ledger_dirty_done removes the
 * mark only if gen is still the one that was read. */
struct ledger_dirty {
	char		*mailbox;
	char		*folder;
	int64_t		 gen;
	int64_t		 marked_at;	/* the first mark not yet read, Unix seconds */
};

/* Inserts or replaces (by id) a subscription. Rejects missing or oversized fields. */
int ledger_sub_put(struct ledger *l, const struct ledger_sub *s);
int ledger_sub_get(struct ledger *l, const char *id, struct ledger_sub *out);	/* 0, 1, -1 */
/* Every stored subscription, by mailbox then kind; free with ledger_subs_free. */
int ledger_sub_list(struct ledger *l, struct ledger_sub **out, size_t *n);
/* Deletes one (an unknown id is not an error). */
int ledger_sub_delete(struct ledger *l, const char *id);
/* Sets (or with NULL clears) the action of a stored subscription; an unknown id is
 * LEDGER_NOT_FOUND. */
int ledger_sub_set_action(struct ledger *l, const char *id, const char *action);
/* *count gets how many subscriptions have an action stored (lifecycle notifications another
 * instance's receiver took for the subscriptions' holder). */
int ledger_sub_actions(struct ledger *l, long long *count);
void ledger_sub_clear(struct ledger_sub *s);
void ledger_subs_free(struct ledger_sub *s, size_t n);

/* Marks (mailbox, folder) for a delta read at now: gen + 1, marked_at kept from the first
 * unread mark. Cheap enough for every notification. */
int ledger_dirty_mark(struct ledger *l, const char *mailbox, const char *folder, int64_t now);
/* Every marked folder, oldest mark first; free with ledger_dirty_free. */
int ledger_dirty_list(struct ledger *l, struct ledger_dirty **out, size_t *n);
/* The folder was read up to date after gen was seen: drops the mark unless a newer one came. */
int ledger_dirty_done(struct ledger *l, const char *mailbox, const char *folder, int64_t gen);
void ledger_dirty_free(struct ledger_dirty *d, size_t n);

/* *at gets the earliest next_attempt_at of the failed messages, or 0 when none is failed, so the
 * daemon can sleep until the next retry is due. One due at 0 or before reads as 1: due now. */
int ledger_next_retry(struct ledger *l, int64_t *at);

/* Meetings (calendar.c records them, meeting.c turns them into Salesforce Events). A meeting is
 * one occurrence of a calendar item, keyed by the digest that is its Event's OutlookEventId__c;
 * each rep whose calendar holds it has a copy (mailbox, Graph event id) with that rep's
 * response. Any change to a copy makes the meeting pending; meeting.c decides from all its
 * copies and records the outcome. Its sync state moves like a message's, except that done is
 * not final: the next change makes it pending again. */
enum ledger_msync {
	LEDGER_MEETING_PENDING,		/* a copy changed: decide and write */
	LEDGER_MEETING_DONE,		/* Salesforce matches the copies (an Event, or none) */
	LEDGER_MEETING_FAILED,		/* due again at next_attempt_at */
	LEDGER_MEETING_DEAD,		/* given up; a new change or `olsync retry` revives it */
	LEDGER_MEETING_STATES
};

/* One rep's copy, as calendar.c read it. Borrowed for the call. */
struct ledger_meeting_copy {
	const char	*key;		/* the meeting's digest */
	const char	*mailbox;
	const char	*graph_id;	/* this copy's event id */
	const char	*response;	/* responseStatus.response: "accepted", "organizer", ... */
	int		 attending;	/* the response counts as attending (meeting.c's policy) */
	int		 cancelled;	/* isCancelled */
	int64_t		 start_at;	/* UTC seconds */
	const char	*data;		/* the event as JSON text (what meeting.c needs of it) */
};

/* A copy as stored; strings owned (ledger_meeting_clear frees the whole meeting). */
struct ledger_meeting_copy_row {
	char		*mailbox;
	char		*graph_id;
	char		*response;
	int		 attending;
	int		 ever_attending;	/* attending since the last decline (a reschedule
					 * resets the response to "none": the rep still goes) */
	int		 cancelled;
	int64_t		 start_at;
	char		*data;
	int64_t		 updated_at;
};

/* A meeting with its copies, owned; ledger_meeting_clear frees it. */
struct ledger_meeting {
	char				*key;
	enum ledger_msync		 sync;
	char				*sf_event_id;	/* the Event olsync keeps, or NULL */
	char				*opportunity_id;	/* its WhatId, or NULL */
	char				*owner_mailbox;	/* the rep who owns it, or NULL */
	int64_t				 start_at;	/* the Event's start as written */
	char				*written;	/* digest of the fields last written, or NULL */
	int				 attempts;
	int64_t				 next_attempt_at;
	char				*last_error;
	struct ledger_meeting_copy_row	*copies;
	size_t				 ncopies;
};

/* Records a copy (insert or replace by mailbox and graph_id; ever_attending sticks once set) and
 * makes its meeting pending when anything in the copy changed. *changed (may be NULL) gets 1
 * then, 0 for a replay of the same copy. */
int ledger_meeting_copy_put(struct ledger *l, const struct ledger_meeting_copy *c, int *changed);
/* Forgets the copy (mailbox, graph_id) (Graph said @removed) and makes its meeting pending;
 * *found (may be NULL) is 0 when no such copy was recorded (nothing changes then). */
int ledger_meeting_copy_remove(struct ledger *l, const char *mailbox, const char *graph_id,
    int *found);
/* Up to max keys of meetings due at now (pending, then failed whose time came), oldest change
 * first; *keys is an array of strings, free with ledger_keys_free. */
int ledger_meeting_due(struct ledger *l, int64_t now, size_t max, char ***keys, size_t *n);
void ledger_keys_free(char **keys, size_t n);
int ledger_meeting_get(struct ledger *l, const char *key, struct ledger_meeting *out); /* 0,1,-1 */
void ledger_meeting_clear(struct ledger_meeting *m);
/* Salesforce now matches: sf_event_id (NULL: no Event), with its Opportunity, owner, start and
 * the digest of what was written. Refused unless the meeting is pending or failed. Attempts
 * reset. */
int ledger_meeting_done(struct ledger *l, const char *key, const char *sf_event_id,
    const char *opportunity_id, const char *owner_mailbox, int64_t start_at,
    const char *written);
/* A failed attempt, as ledger_mark_failed (TEMP counts, WAIT does not, FINAL is dead at once). */
int ledger_meeting_failed(struct ledger *l, const char *key, const char *error,
    enum ledger_fail fail, int64_t next_attempt_at, enum ledger_msync *state);
/* The earliest start_at later than after among done meetings with an Event on opportunity_id;
 * *earliest is 0 when there is none. */
int ledger_meeting_next_on(struct ledger *l, const char *opportunity_id, int64_t after,
    int64_t *earliest);

/* The Opportunities (at most max) of done meetings with an Event that started in (since,
 * until]: their next meeting date moved on. Free with ledger_keys_free. */
int ledger_meeting_opps_started(struct ledger *l, int64_t since, int64_t until, size_t max,
    char ***ids, size_t *n);
/* Dead meetings -> pending with attempts reset (`olsync retry`); *count gets how many. */
int ledger_meeting_retry_dead(struct ledger *l, long long *count);
/* How many meetings are in each state (indexed by enum ledger_msync). */
int ledger_meeting_counts(struct ledger *l, long long counts[LEDGER_MEETING_STATES]);

/* Next_Meeting_Date__c bookkeeping per Opportunity: the value olsync last wrote (to tell a
 * value set by hand), and whether it must be recomputed (a meeting on it changed, or the write
 * failed). */
int ledger_opp_mark(struct ledger *l, const char *opportunity_id);	/* needs recompute */
/* Up to max Opportunity ids marked; free with ledger_keys_free. */
int ledger_opp_marked(struct ledger *l, size_t max, char ***ids, size_t *n);
/* Recomputed and written: value (NULL: cleared, or never written) is what the field now holds
 * by olsync's hand; the mark is dropped. */
int ledger_opp_written(struct ledger *l, const char *opportunity_id, const char *value);
/* What olsync last wrote (*value NULL when it never wrote or cleared it; caller frees). 0,1,-1 */
int ledger_opp_get(struct ledger *l, const char *opportunity_id, char **value);

/* olsync's own Salesforce API calls in buckets of time (budget.c keeps them; a restart must not
 * forget the calls of the last 24 hours). */
struct ledger_api_bucket {
	int64_t		at;		/* the bucket's start, Unix seconds */
	long long	calls;
};

/* Adds calls to the bucket starting at at (calls may be negative: a reservation given back; a
 * bucket never goes below 0), and forgets the buckets that start before prune_before. */
int ledger_api_add(struct ledger *l, int64_t at, long long calls, int64_t prune_before);
/* The buckets with calls that start at or after since, oldest first; caller frees *out. */
int ledger_api_buckets(struct ledger *l, int64_t since, struct ledger_api_bucket **out,
    size_t *n);

/* Several instances on one database (docs/architecture.md#several-instances).
 *
 * A lease is a named piece of work ("instance:<name>" the heartbeat of a live instance,
 * "mailbox:<address>", "subscriptions", "meetings") held by one owner until expires_at (Unix
 * milliseconds, compared with each instance's own clock: run NTP). */
struct ledger_lease {
	char		*name;
	char		*owner;
	int64_t		 expires_at;
};

/* This handle's instance name, recorded with the Lead claims it makes (NULL or "": none). owner
 * is copied; at most LEDGER_OWNER_MAX bytes are kept. */
void ledger_set_owner(struct ledger *l, const char *owner);

/* Takes name for owner until now_ms + ttl_ms if it is free, expired, or already owner's (a
 * renewal), in one statement; *held is 1 when owner holds it now, 0 when another live owner
 * does. */
int ledger_lease_take(struct ledger *l, const char *name, const char *owner, int64_t now_ms,
    int64_t ttl_ms, int *held);
/* Renews, in one statement, every unexpired lease of owner whose name starts with prefix until
 * now_ms + ttl_ms, and gives their names (free with ledger_keys_free): a round of an instance
 * holding thousands of mailboxes is one write, not one each. A lease that expired meanwhile is
 * not renewed (another owner may have it) and not listed. */
int ledger_lease_renew_owned(struct ledger *l, const char *owner, const char *prefix,
    int64_t now_ms, int64_t ttl_ms, char ***names, size_t *n);
/* Gives name up if owner holds it (another owner's lease is left alone). */
int ledger_lease_drop(struct ledger *l, const char *name, const char *owner);
/* Makes every lease of owner expired now (an instance known dead: its process is gone), so the
 * others take its work at their next round; *count (may be NULL) gets how many. */
int ledger_lease_expire_owner(struct ledger *l, const char *owner, long long *count);
/* Every lease, expired ones too, by name; free with ledger_leases_free. */
int ledger_lease_list(struct ledger *l, struct ledger_lease **out, size_t *n);
void ledger_leases_free(struct ledger_lease *v, size_t n);

/* ledger_next_pending_since for one instance among several: claims up to max open messages due
 * at now (and received at or after since; INT64_MIN: any) that no other instance holds, for
 * owner until lease_until (Unix seconds), atomically, and fills out with them as
 * ledger_next_pending does. A claim that ran out (its instance died) is taken over; the outcome
 * marks (logged, skipped, failed, dead) clear it. */
int ledger_claim_pending(struct ledger *l, const char *owner, int64_t now, int64_t since,
    int64_t lease_until, struct ledger_entry *out, size_t max, size_t *n);
/* Drops owner's claims on messages still open (a batch cut short); *count (may be NULL) gets
 * how many. */
int ledger_claims_release(struct ledger *l, const char *owner, long long *count);
/* Extends owner's claims to lease_until (Unix seconds), in one statement: the lease thread's
 * round keeps a batch that outlasts lease_time (Salesforce slow to answer) from being taken and
 * written again by another instance while this one lives. On PostgreSQL a row being marked this
 * moment is skipped, not waited for (its outcome ends the claim anyway). *count (may be NULL)
 * gets how many were extended. */
int ledger_claims_renew(struct ledger *l, const char *owner, int64_t lease_until,
    long long *count);
/* *any is 1 when some open message is due at now and not claimed by a live claim. */
int ledger_claimable(struct ledger *l, int64_t now, int *any);
/* Unfinished Lead claims whose owner has no live "instance:" lease at now_ms (or no owner) are
 * made stale at once, as ledger_lead_orphan_claims does for a single olsync, without touching a
 * live instance's claims in progress. *count gets how many. */
int ledger_lead_orphans_of_dead(struct ledger *l, int64_t now_ms, long long *count);

/* ledger_api_add of calls (> 0) to the bucket at, only if the calls of the buckets starting at
 * or after since plus calls stay within limit (limit < 0: no limit), as one step for every
 * instance: *granted 1 when added. Prunes as ledger_api_add. */
int ledger_api_reserve(struct ledger *l, int64_t at, long long calls, int64_t since,
    long long limit, int64_t prune_before, int *granted);

#endif
