/* graph_client.h: olsync's Microsoft Graph client: client-credentials tokens (secret or
 * certificate assertion) cached until shortly before expiry, failures classified once (remote.h;
 * 429 honours Retry-After), and the reads ingest needs: the mailboxes to watch, per-folder
 * message delta with $select, immutable ids and large pages, and calendarView delta. */
#ifndef OL_GRAPH_CLIENT_H
#define OL_GRAPH_CLIENT_H

#include <jansson.h>
#include <time.h>

#include "config.h"
#include "remote.h"

struct graph_client;

#define GRAPH_CLIENT_PAGE_SIZE	100	/* Prefer: odata.maxpagesize of delta calls by default */
#define GRAPH_CLIENT_PAGE_MAX	1000	/* Graph's largest page */

/* Creates a client for cfg (borrowed until graph_client_free). NULL with err on a bad
 * configuration (an unreadable certificate or key). One client per thread: it keeps one
 * kept-alive connection and one cached token. Every call below that fails fills *f: a 401
 * gets one fresh token and a retry, then REMOTE_AUTH; a 403 is REMOTE_AUTH naming the
 * application permission that is missing; 429 is REMOTE_WAIT with Retry-After in wait_sec;
 * 5xx, 408, timeouts and resets are REMOTE_TEMP; other 4xx are REMOTE_FINAL. */
struct graph_client *graph_client_new(const struct config *cfg, char *err, size_t errlen);
void graph_client_free(struct graph_client *c);

/* Sets the odata.maxpagesize of later delta and message calls: n in 1..GRAPH_CLIENT_PAGE_MAX
 * (larger is capped), n <= 0 restores GRAPH_CLIENT_PAGE_SIZE. For tests and bench; a delta
 * round keeps the size it started with only if the server says so, so set it between rounds. */
void graph_client_set_page_size(struct graph_client *c, int n);

/* Gets a token now (for start-up checks and `olsync doctor`); *claims gets the decoded token
 * claims when not NULL (caller owns). */
int graph_client_login(struct graph_client *c, json_t **claims, struct remote_failure *f);

/* The mailboxes to watch, as configured: the list, every user with a mailbox, or a group's
 * members (lowercased userPrincipalNames of the users that have a mail); *upns is an array
 * of strings (caller owns). */
int graph_client_mailboxes(struct graph_client *c, json_t **upns, struct remote_failure *f);

/* One delta page of folder ("inbox", "sentitems") of mailbox. link NULL starts a round from
 * scratch bounded by receivedDateTime >= since; else link is a saved @odata.nextLink or
 * @odata.deltaLink. *messages: the page's messages (with the fields olsync selects; removed
 * items have "@removed"); exactly one of *next_link / *delta_link is set (caller frees). 410
 * SyncStateNotFound is f->cls REMOTE_FINAL with f->code "SyncStateNotFound": restart from the
 * window. */
int graph_client_delta_page(struct graph_client *c, const char *mailbox, const char *folder,
    const char *link, time_t since, json_t **messages, char **next_link, char **delta_link,
    struct remote_failure *f);

/* One page of the messages of folder of mailbox received in [since, until), oldest first (a
 * list, not delta: `olsync backfill` and `olsync dry-run`); until 0: no upper bound. link NULL
 * asks for the first page; else link is the @odata.nextLink of the page before, followed
 * verbatim. *messages as graph_client_delta_page's; *next_link is the next page's link, NULL
 * after the last (caller frees). */
int graph_client_list_page(struct graph_client *c, const char *mailbox, const char *folder,
    const char *link, time_t since, time_t until, json_t **messages, char **next_link,
    struct remote_failure *f);

/* One calendarView delta page of mailbox's default calendar. link NULL starts a round over
 * [start, end) (Graph fixes the window for the round's links); else link is a saved nextLink or
 * deltaLink. Recurring series come as their occurrences. *events: the page's events with the
 * fields meeting.c needs (start/end as Graph gives them: UTC unless the event is all-day,
 * whose dates float); removed ones carry "@removed". Exactly one of *next_link / *delta_link is
 * set (caller frees). 410 SyncStateNotFound as for messages. A 403 names Calendars.Read. */
int graph_client_calendar_delta_page(struct graph_client *c, const char *mailbox,
    const char *link, time_t start, time_t end, json_t **events, char **next_link,
    char **delta_link, struct remote_failure *f);

/* One message by immutable id with the same fields: for a ledger row without its stored copy
 * (ingest_message). */
int graph_client_message(struct graph_client *c, const char *mailbox, const char *id,
    json_t **message, struct remote_failure *f);

/* Change-notification subscriptions. A subscription as Graph returned it, strings owned
 * (graph_sub_clear frees them). A 403 of create names Mail.Read or Calendars.Read by kind,
 * except a 403 ExtensionError (the mailbox's subscription quota, an application access
 * policy): that one mailbox is refused, REMOTE_FINAL with Graph's message. */
struct graph_sub {
	char	*id;
	char	*resource;
	char	*change_type;
	char	*notification_url;
	char	*lifecycle_url;	/* or NULL */
	time_t	 expires;	/* expirationDateTime; 0 when missing or unreadable */
};

/* The resource olsync subscribes to for kind ("inbox", "sentitems": the folder's messages;
 * "events": the calendar's events) of mailbox. Caller frees. NULL for an unknown kind. */
char *graph_client_sub_resource(const char *mailbox, const char *kind);

/* POST /subscriptions for kind of mailbox (changeType "created,updated" for folders,
 * "created,updated,deleted" for events), asking for immutable ids. Graph validates both URLs
 * before it answers, so the receiver must already be serving them. Sent on a fresh connection
 * (a create must never be re-sent by the transport). A create that timed out may still
 * have happened: asked again, it is a duplicate, REMOTE_FINAL with f->status 409 (list to
 * find it); an unknown kind is REMOTE_FINAL "bad_kind" without a request. Here and in
 * renew, expires goes out as UTC ("...T11:00:00.0000000Z") and out is filled on success
 * only (graph_sub_clear frees it). */
int graph_client_sub_create(struct graph_client *c, const char *mailbox, const char *kind,
    const char *notification_url, const char *lifecycle_url, const char *client_state,
    time_t expires, struct graph_sub *out, struct remote_failure *f);
/* PATCH /subscriptions/{id} with a new expirationDateTime (which also reauthorizes it). A
 * subscription Graph no longer has is REMOTE_FINAL with f->status 404. */
int graph_client_sub_renew(struct graph_client *c, const char *id, time_t expires,
    struct graph_sub *out, struct remote_failure *f);
/* DELETE /subscriptions/{id}; one that is already gone (404) counts as deleted. */
int graph_client_sub_delete(struct graph_client *c, const char *id, struct remote_failure *f);
/* GET /subscriptions, every page: this app's subscriptions (clientState is never listed).
 * *out gets an array the caller frees with graph_subs_free. */
int graph_client_sub_list(struct graph_client *c, struct graph_sub **out, size_t *n,
    struct remote_failure *f);
void graph_sub_clear(struct graph_sub *s);
void graph_subs_free(struct graph_sub *s, size_t n);

/* A 403 that Exchange gives a mailbox an application access policy or an RBAC for Applications
 * scope keeps from the app (reference §8.1): classified REMOTE_AUTH with this code, not as a
 * missing permission. */
#define GRAPH_CLIENT_POLICY_MESSAGE	"Access to OData is disabled."
#define GRAPH_CLIENT_POLICY_CODE	"ApplicationAccessPolicy"

/* One cheap read of mailbox (its Inbox's newest message id, or with calendar its first event
 * id): whether the app may read it. 0, or -1 with f: GRAPH_CLIENT_POLICY_CODE for a mailbox a
 * policy refuses, REMOTE_AUTH naming the permission when it is missing, 404 ErrorInvalidUser or
 * MailboxNotEnabledForRESTAPI for an address without a mailbox. For `olsync doctor`. */
int graph_client_mailbox_probe(struct graph_client *c, const char *mailbox, int calendar,
    struct remote_failure *f);

/* An application permission olsync needs: its name, what olsync does with it, and the roles
 * (NULL-terminated, static) that grant it. */
#define GRAPH_PERMISSION_MAX	4
struct graph_permission {
	const char		*name;
	const char		*why;
	const char *const	*grants;
};
/* The permissions cfg needs, read from the calls olsync makes: Mail.Read always,
 * Calendars.Read with meetings, User.Read.All with `mailboxes all`, GroupMember.Read.All and
 * User.Read.All with `mailboxes group:`. Fills out (static strings) and returns the count. */
size_t graph_client_permissions(const struct config *cfg,
    struct graph_permission out[GRAPH_PERMISSION_MAX]);

/* Requests this client made, token requests included (for tests and bench). */
long graph_client_calls(const struct graph_client *c);

#endif
