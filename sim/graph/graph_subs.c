/* graph_subs.c: /v1.0/subscriptions (see graph_subs.h): create with the validation handshake,
 * get, list, renew, delete and reauthorize, Outlook's limits (lifetime ceiling, duplicates,
 * subscriptions per mailbox), and the lifecycle events the control API triggers. */
#include "graph_subs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "graph_control.h"
#include "graph_notify.h"
#include "graph_policy.h"
#include "isotime.h"
#include "log.h"
#include "xmalloc.h"

#define TICKS_PER_SEC		10000000LL
#define CLIENT_STATE_MAX	255	/* characters; current docs (older ones said 128) */
#define SUB_COLUMNS		"id, app_id, resource, change_types, notification_url, " \
				"lifecycle_url, expiration, client_state, include_resource_data, " \
				"tls_version, creator_id"
#define PAYLOAD_ERROR		"Could not process subscription creation payload. Are all " \
				"property names spelled and camelCased properly?"
#define ACCESS_DENIED		"Access is denied. Check credentials and try again."

enum {
	CHANGE_CREATED = 1,
	CHANGE_UPDATED = 2,
	CHANGE_DELETED = 4,
};

/* What a subscription's resource points at. */
struct target {
	char user_id[40];
	const char *kind;		/* "message" or "event" */
	char folder_id[256];		/* "" for every folder */
};

static const char *const mail_roles[] = {
	"Mail.ReadBasic", "Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite", NULL,
};
static const char *const calendar_roles[] = {
	"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", NULL,
};

long long
graph_subs_now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * TICKS_PER_SEC + ts.tv_nsec / 100;
}

int
graph_subs_parse_time(const char *s, long long *ticks)
{
	struct isotime t;

	/* Graph's DateTimeOffset: the seconds are required, the zone is not (then UTC). */
	if (isotime_parse(s, strlen(s), &t) < 0 || (t.sep != 'T' && t.sep != 't') ||
	    !t.has_sec || t.sec > 59 || t.frac_sep == ',' ||
	    ((t.zone == '+' || t.zone == '-') && !t.zone_min))
		return -1;
	*ticks = t.utc * TICKS_PER_SEC + t.frac;
	return 0;
}

void
graph_subs_format_time(long long ticks, char out[40])
{
	isotime_format(ticks / TICKS_PER_SEC, 7, (long)(ticks % TICKS_PER_SEC), "Z", out, 40);
}

/* Bit set of a comma list of change types; -1 on an unknown or empty one (bad set to it). */
static int
change_mask(const char *types, char *bad, size_t badlen)
{
	static const struct {
		const char *name;
		int bit;
	} known[] = {
		{ "created", CHANGE_CREATED }, { "updated", CHANGE_UPDATED },
		{ "deleted", CHANGE_DELETED },
	};
	const char *p = types;
	int mask = 0;

	for (;;) {
		const char *end = strchr(p, ','), *a = p, *b;
		int bit = 0;

		if (end == NULL)
			end = p + strlen(p);
		b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if ((size_t)(b - a) == strlen(known[i].name) &&
			    strncasecmp(a, known[i].name, (size_t)(b - a)) == 0)
				bit = known[i].bit;
		if (bit == 0) {
			if (bad != NULL)
				snprintf(bad, badlen, "%.*s", (int)(b - a), a);
			return -1;
		}
		mask |= bit;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return mask;
}

int
graph_subs_has_change_type(const char *types, const char *change)
{
	int have = change_mask(types, NULL, 0), want = change_mask(change, NULL, 0);

	return have > 0 && want > 0 && (have & want) == want;
}

/* "created, Updated" -> "created,updated": stored and shown in this form. */
static char *
normalize_types(const char *types)
{
	static const char *const order[] = { "created", "updated", "deleted" };
	int mask = change_mask(types, NULL, 0);
	char *out = xcalloc(1, 32);
	size_t n = 0;

	for (int i = 0; i < 3; i++)
		if (mask & (1 << i))
			n += (size_t)snprintf(out + n, 32 - n, "%s%s", n ? "," : "", order[i]);
	return out;
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int
prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* A notificationUrl or lifecycleNotificationUrl: absolute, https unless settings allow http. */
static int
check_url(struct graph_sim *sim, const struct graph_req *req, struct graph_reply *reply,
    const char *label, const char *url)
{
	const char *host = NULL;

	if (prefix_ci(url, "https://")) {
		host = url + 8;
	} else if (prefix_ci(url, "http://")) {
		if (sim->settings.require_https) {
			graph_reply_error(reply, req, 400, "InvalidRequest",
			    "%s scheme='http' is not supported.", label);
			return -1;
		}
		host = url + 7;
	}
	if (host == NULL || *host == '\0' || *host == '/' || strpbrk(url, " \t\r\n") != NULL) {
		graph_reply_error(reply, req, 400, "InvalidRequest",
		    "%s must be an absolute https URL.", label);
		return -1;
	}
	return 0;
}

/* Parses resource into t, checking the caller's permission, the user and the folder. */
static int
parse_resource(struct graph_sim *sim, const struct graph_req *req, struct graph_reply *reply,
    const char *resource, struct target *t)
{
	const char *r = resource, *slash, *rest, *f = NULL;
	struct graph_user user;
	char *who = NULL, *folder = NULL;
	sqlite3_stmt *st;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (*r == '/')
		r++;
	if (strcasecmp(r, "me") == 0 || prefix_ci(r, "me/")) {
		graph_reply_error(reply, req, 400, "BadRequest",
		    "/me request is only valid with delegated authentication flow.");
		return -1;
	}
	if (strchr(r, '?') != NULL) {
		/* Basic subscriptions may carry $filter in Graph; graph-sim does not filter. */
		graph_reply_error(reply, req, 400, "InvalidRequest", "Query options on the "
		    "subscription resource are not supported by graph-sim.");
		return -1;
	}
	if (!prefix_ci(r, "users/") || (slash = strchr(r + 6, '/')) == NULL || slash == r + 6)
		goto unsupported;
	who = xstrndup(r + 6, (size_t)(slash - (r + 6)));
	rest = slash;
	if (strcasecmp(rest, "/messages") == 0) {
		t->kind = "message";
	} else if (strcasecmp(rest, "/events") == 0) {
		t->kind = "event";
	} else if (prefix_ci(rest, "/mailFolders('")) {
		const char *end = strchr(rest + 14, '\'');

		if (end == NULL || end == rest + 14 || strcasecmp(end, "')/messages") != 0)
			goto unsupported;
		folder = xstrndup(rest + 14, (size_t)(end - (rest + 14)));
		t->kind = "message";
	} else if (prefix_ci(rest, "/mailFolders/")) {
		const char *end = strchr(rest + 13, '/');

		if (end == NULL || end == rest + 13 || strcasecmp(end, "/messages") != 0)
			goto unsupported;
		folder = xstrndup(rest + 13, (size_t)(end - (rest + 13)));
		t->kind = "message";
	} else {
		goto unsupported;
	}
	if (!graph_require_role(req, reply, strcmp(t->kind, "event") == 0 ? calendar_roles :
	    mail_roles, "ErrorAccessDenied", ACCESS_DENIED))
		goto out;
	if (graph_user_find(sim, who, &user) < 0) {
		graph_reply_error(reply, req, 404, "ErrorInvalidUser",
		    "The requested user '%s' is invalid.", who);
		goto out;
	}
	if (!user.has_mailbox) {
		graph_reply_error(reply, req, 404, "ResourceNotFound",
		    "Resource could not be discovered.");
		goto out;
	}
	snprintf(t->user_id, sizeof(t->user_id), "%s", user.id);
	if (folder != NULL) {
		st = db_prepare(sim->db, "SELECT id FROM g_folder WHERE user_id = ? AND "
		    "(id = ? OR lower(well_known) = lower(?))");
		sqlite3_bind_text(st, 1, user.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, folder, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			f = (const char *)sqlite3_column_text(st, 0);
		if (f != NULL)
			snprintf(t->folder_id, sizeof(t->folder_id), "%s", f);
		sqlite3_finalize(st);
		if (f == NULL) {
			graph_reply_error(reply, req, 404, "ErrorItemNotFound",
			    "The specified object was not found in the store.");
			goto out;
		}
	}
	rc = 0;
	goto out;
unsupported:
	graph_reply_error(reply, req, 400, "InvalidRequest", "The resource '%s' is not "
	    "supported: graph-sim serves users/{id}/messages, users/{id}/mailFolders/{id}/messages "
	    "and users/{id}/events.", resource);
out:
	free(who);
	free(folder);
	return rc;
}

/* The subscription as Graph shows it, from a row selected with SUB_COLUMNS. */
static json_t *
sub_json(sqlite3_stmt *st, int with_state)
{
	json_t *j = json_object();

#define COL(i)	((const char *)sqlite3_column_text(st, (i)))
#define TEXT_OR_NULL(i) (sqlite3_column_type(st, (i)) == SQLITE_NULL ? json_null() : \
	json_string(COL(i)))
	json_object_set_new(j, "id", json_string(COL(0)));
	json_object_set_new(j, "resource", json_string(COL(2)));
	json_object_set_new(j, "applicationId", json_string(COL(1)));
	json_object_set_new(j, "changeType", json_string(COL(3)));
	json_object_set_new(j, "clientState", with_state ? TEXT_OR_NULL(7) : json_null());
	json_object_set_new(j, "notificationUrl", json_string(COL(4)));
	json_object_set_new(j, "notificationQueryOptions", json_null());
	json_object_set_new(j, "notificationContentType", json_null());
	json_object_set_new(j, "lifecycleNotificationUrl", TEXT_OR_NULL(5));
	json_object_set_new(j, "expirationDateTime", json_string(COL(6)));
	json_object_set_new(j, "creatorId", TEXT_OR_NULL(10));
	json_object_set_new(j, "includeResourceData",
	    sqlite3_column_int(st, 8) ? json_true() : json_null());
	json_object_set_new(j, "latestSupportedTlsVersion",
	    sqlite3_column_type(st, 9) == SQLITE_NULL ? json_string("v1_2") : json_string(COL(9)));
	json_object_set_new(j, "encryptionCertificate", json_null());
	json_object_set_new(j, "encryptionCertificateId", json_null());
	json_object_set_new(j, "notificationUrlAppId", json_null());
#undef TEXT_OR_NULL
#undef COL
	return j;
}

static json_t *
with_context(struct graph_sim *sim, json_t *entity)
{
	char *ctx = graph_url(sim, "/v1.0/$metadata#subscriptions/$entity");
	json_t *j = json_pack("{s:s}", "@odata.context", ctx);

	json_object_update(j, entity);
	json_decref(entity);
	free(ctx);
	return j;
}

/* The caller's live subscription id as a prepared row, or NULL: other apps' subscriptions
 * and expired ones do not exist for it. Caller finalizes. */
static sqlite3_stmt *
find_own(struct graph_sim *sim, const struct graph_req *req, const char *id)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT " SUB_COLUMNS " FROM g_subscription "
	    "WHERE id = lower(?) AND app_id = ? AND expiration > ?");
	char now[40];

	graph_subs_format_time(graph_subs_now_ticks(), now);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, req->app_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void
not_found(const struct graph_req *req, struct graph_reply *reply)
{
	graph_reply_error(reply, req, 404, "ResourceNotFound", "The object was not found.");
}

/* An expirationDateTime for create or renew: in the future and under the ceiling. */
static int
check_expiry(struct graph_sim *sim, const struct graph_req *req, struct graph_reply *reply,
    const char *text, char out[40])
{
	long long ticks, now = graph_subs_now_ticks();
	long max = sim->settings.sub_max_minutes;

	if (graph_subs_parse_time(text, &ticks) < 0) {
		graph_reply_error(reply, req, 400, "InvalidRequest", "%s Also are the "
		    "dateTimeOffset properties in the following format: "
		    "yyyy-MM-ddThh:mm:ss.fffffffZ", PAYLOAD_ERROR);
		return -1;
	}
	if (ticks <= now) {
		graph_reply_error(reply, req, 400, "ExtensionError",
		    "Subscription expiration must be in the future.");
		return -1;
	}
	if (ticks > now + (long long)max * 60 * TICKS_PER_SEC) {
		graph_reply_error(reply, req, 400, "ExtensionError",
		    "Subscription expiration can only be %ld minutes in the future.", max);
		return -1;
	}
	graph_subs_format_time(ticks, out);
	return 0;
}

/* The id of this app's live subscription with the same resource and change types, or "". */
static void
find_duplicate(struct graph_sim *sim, const char *app_id, const struct target *t, int mask,
    char out[40])
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT id, change_types FROM g_subscription "
	    "WHERE app_id = ? AND user_id = ? AND kind = ? AND coalesce(folder_id, '') = ? "
	    "AND expiration > ?");
	char now[40];

	out[0] = '\0';
	graph_subs_format_time(graph_subs_now_ticks(), now);
	sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->folder_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (change_mask((const char *)sqlite3_column_text(st, 1), NULL, 0) == mask) {
			snprintf(out, 40, "%s", sqlite3_column_text(st, 0));
			break;
		}
	}
	sqlite3_finalize(st);
}

static long
mailbox_count(struct graph_sim *sim, const char *user_id)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT count(*) FROM g_subscription "
	    "WHERE user_id = ? AND expiration > ?");
	char now[40];
	long n = 0;

	graph_subs_format_time(graph_subs_now_ticks(), now);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Duplicate (409) and per-mailbox quota (403), checked before the handshake and again after
 * it: another request may have created one while the lock was released. */
static int
check_limits(struct graph_sim *sim, const struct graph_req *req, struct graph_reply *reply,
    const struct target *t, int mask)
{
	char dup[40];
	long max = sim->settings.subs_per_mailbox;

	find_duplicate(sim, req->app_id, t, mask, dup);
	if (dup[0] != '\0') {
		graph_reply_error(reply, req, 409, "ObjectIdentifierInUse",
		    "Subscription Id %s already exists for the requested combination", dup);
		return -1;
	}
	if (mailbox_count(sim, t->user_id) >= max) {
		graph_reply_error(reply, req, 403, "ExtensionError", "Operation: Create; "
		    "Exception: [Status Code: Forbidden; Reason: The number of subscriptions for "
		    "this mailbox has reached the limit of %ld.]", max);
		return -1;
	}
	return 0;
}

/* The validation handshakes, with sim->lock released while the receivers answer. */
static int
handshake(struct graph_sim *sim, const struct graph_req *req, struct graph_reply *reply,
    const char *url, const char *lifecycle_url)
{
	long timeout = sim->settings.validation_timeout_ms;
	char code[64], msg[256];
	int rc;

	pthread_mutex_unlock(&sim->lock);
	rc = graph_notify_validate(sim, url, timeout, code, msg, sizeof(msg));
	/* Both URLs are validated, even when they are the same URL (two requests). */
	if (rc == 0 && lifecycle_url != NULL)
		rc = graph_notify_validate(sim, lifecycle_url, timeout, code, msg, sizeof(msg));
	pthread_mutex_lock(&sim->lock);
	if (rc < 0)
		graph_reply_error(reply, req, 400, code, "%s", msg);
	return rc;
}

/* A string property of a body: 1 and *out when present, 0 when absent or null, -1 (with the
 * reply) when it is not a string. */
static int
string_prop(const struct graph_req *req, struct graph_reply *reply, const char *name,
    const char **out)
{
	json_t *v = json_object_get(req->body, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		graph_reply_error(reply, req, 400, "InvalidRequest", "%s", PAYLOAD_ERROR);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

static void
create(struct graph_sim *sim, struct graph_req *req, struct graph_reply *reply)
{
	static const char *const required[] = {
		"changeType", "notificationUrl", "resource", "expirationDateTime",
	};
	static const char *const tls_versions[] = { "v1_0", "v1_1", "v1_2", "v1_3" };
	const char *v[4], *state, *lifecycle_url, *tls;
	struct target t;
	sqlite3_stmt *st;
	json_t *rich = json_object_get(req->body, "includeResourceData");
	char expiry[40], id[37], now[32], bad[64], *types = NULL;
	int mask, ok_tls = 0;

	if (!json_is_object(req->body)) {
		graph_reply_error(reply, req, 400, "InvalidRequest", "%s", PAYLOAD_ERROR);
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		int rc = string_prop(req, reply, required[i], &v[i]);

		if (rc < 0)
			return;
		if (rc == 0 || *v[i] == '\0') {
			graph_reply_error(reply, req, 400, "InvalidRequest",
			    "%s is a required property for subscription creation.", required[i]);
			return;
		}
	}
	if (string_prop(req, reply, "clientState", &state) < 0 ||
	    string_prop(req, reply, "lifecycleNotificationUrl", &lifecycle_url) < 0 ||
	    string_prop(req, reply, "latestSupportedTlsVersion", &tls) < 0)
		return;
	if (json_is_true(rich)) {
		/* Rich notifications need encryption of the resource data to the app's
		 * certificate; graph-sim sends basic notifications only. */
		graph_reply_error(reply, req, 400, "InvalidRequest", "includeResourceData is not "
		    "supported by graph-sim.");
		return;
	}
	if ((mask = change_mask(v[0], bad, sizeof(bad))) < 0) {
		graph_reply_error(reply, req, 400, "InvalidRequest", "Invalid change type '%s'. "
		    "Valid change types are created, updated and deleted.", bad);
		return;
	}
	if (check_url(sim, req, reply, "NotificationUrl", v[1]) < 0 ||
	    (lifecycle_url != NULL &&
	    check_url(sim, req, reply, "LifecycleNotificationUrl", lifecycle_url) < 0))
		return;
	for (size_t i = 0; tls != NULL && i < 4; i++)
		ok_tls |= strcasecmp(tls, tls_versions[i]) == 0;
	if (tls != NULL && !ok_tls) {
		graph_reply_error(reply, req, 400, "InvalidRequest", "Invalid "
		    "latestSupportedTlsVersion '%s'. Valid values are v1_0, v1_1, v1_2 and v1_3.",
		    tls);
		return;
	}
	if (parse_resource(sim, req, reply, v[2], &t) < 0)
		return;
	if (!graph_policy_allows(sim, req->app_id, t.user_id)) {
		graph_reply_error(reply, req, 403, "ExtensionError", "Operation: Create; "
		    "Exception: [Status Code: Forbidden; Reason: %s]", GRAPH_POLICY_DENIED);
		return;
	}
	if (check_expiry(sim, req, reply, v[3], expiry) < 0)
		return;
	if (state != NULL && utf8_chars(state) > CLIENT_STATE_MAX) {
		graph_reply_error(reply, req, 400, "InvalidRequest", "clientState can be at most "
		    "%d characters long.", CLIENT_STATE_MAX);
		return;
	}
	if (check_limits(sim, req, reply, &t, mask) < 0)
		return;
	if (handshake(sim, req, reply, v[1], lifecycle_url) < 0)
		return;
	if (check_limits(sim, req, reply, &t, mask) < 0)
		return;

	graph_guid(id);
	graph_now_iso(now);
	types = normalize_types(v[0]);
	st = db_prepare(sim->db, "INSERT INTO g_subscription (id, app_id, resource, user_id, "
	    "kind, folder_id, change_types, notification_url, lifecycle_url, expiration, "
	    "client_state, immutable_ids, include_resource_data, tls_version, creator_id, "
	    "created) VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?, ?, ?, ?, ?, ?, 0, ?, "
	    "(SELECT sp_id FROM g_app WHERE client_id = ?), ?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, v[2], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t.user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t.kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, t.folder_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, types, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, v[1], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, lifecycle_url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, expiry, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 12, req->immutable_ids);
	sqlite3_bind_text(st, 13, tls ? tls : "v1_2", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, req->app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("graph-subs: insert failed reason=\"%s\"", sqlite3_errmsg(sim->db));
		graph_reply_error(reply, req, 500, "generalException", "Unexpected error.");
		sqlite3_finalize(st);
		goto out;
	}
	sqlite3_finalize(st);
	log_info("graph-subs: created id=%s app=%s user=%s kind=%s types=%s", id, req->app_id,
	    t.user_id, t.kind, types);
	if ((st = find_own(sim, req, id)) == NULL) {
		graph_reply_error(reply, req, 500, "generalException", "Unexpected error.");
		goto out;
	}
	graph_reply_json(reply, 201, with_context(sim, sub_json(st, 1)));
	sqlite3_finalize(st);
out:
	free(types);
}

static void
list(struct graph_sim *sim, struct graph_req *req, struct graph_reply *reply)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT " SUB_COLUMNS " FROM g_subscription "
	    "WHERE app_id = ? AND expiration > ? ORDER BY created, id");
	json_t *value = json_array();
	char now[40], *ctx = graph_url(sim, "/v1.0/$metadata#subscriptions");

	graph_subs_format_time(graph_subs_now_ticks(), now);
	sqlite3_bind_text(st, 1, req->app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	/* clientState is withheld from lists "for security purposes" (subscription-list). */
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(value, sub_json(st, 0));
	sqlite3_finalize(st);
	graph_reply_json(reply, 200, json_pack("{s:s,s:o}", "@odata.context", ctx,
	    "value", value));
	free(ctx);
}

static void
renew(struct graph_sim *sim, struct graph_req *req, const char *id, struct graph_reply *reply)
{
	const char *exp_text, *url, *lifecycle_url;
	sqlite3_stmt *st;
	char expiry[40] = "";
	int rc;

	if (!json_is_object(req->body)) {
		graph_reply_error(reply, req, 400, "InvalidRequest", "%s", PAYLOAD_ERROR);
		return;
	}
	if ((st = find_own(sim, req, id)) == NULL) {
		not_found(req, reply);
		return;
	}
	sqlite3_finalize(st);
	if (string_prop(req, reply, "expirationDateTime", &exp_text) < 0 ||
	    string_prop(req, reply, "notificationUrl", &url) < 0 ||
	    string_prop(req, reply, "lifecycleNotificationUrl", &lifecycle_url) < 0)
		return;
	if (lifecycle_url != NULL) {
		/* The lifecycle doc: cannot be added or changed by PATCH; delete and recreate. */
		graph_reply_error(reply, req, 400, "InvalidRequest", "lifecycleNotificationUrl "
		    "cannot be updated; delete the subscription and create it again.");
		return;
	}
	if (exp_text != NULL && check_expiry(sim, req, reply, exp_text, expiry) < 0)
		return;
	if (url != NULL) {
		if (check_url(sim, req, reply, "NotificationUrl", url) < 0 ||
		    handshake(sim, req, reply, url, NULL) < 0)
			return;
		/* It may have been deleted while we waited. */
		if ((st = find_own(sim, req, id)) == NULL) {
			not_found(req, reply);
			return;
		}
		sqlite3_finalize(st);
	}
	/* Renewing also reauthorizes: a paused subscription resumes. */
	st = db_prepare(sim->db, "UPDATE g_subscription SET expiration = coalesce(nullif(?, ''), "
	    "expiration), notification_url = coalesce(?, notification_url), "
	    "paused = CASE WHEN ? <> '' THEN 0 ELSE paused END WHERE id = lower(?)");
	sqlite3_bind_text(st, 1, expiry, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, expiry, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	if (rc < 0 || (st = find_own(sim, req, id)) == NULL) {
		not_found(req, reply);
		return;
	}
	log_info("graph-subs: renewed id=%s", id);
	graph_reply_json(reply, 200, with_context(sim, sub_json(st, 1)));
	sqlite3_finalize(st);
}

static void
delete(struct graph_sim *sim, struct graph_req *req, const char *id, struct graph_reply *reply)
{
	sqlite3_stmt *st = find_own(sim, req, id);

	if (st == NULL) {
		not_found(req, reply);
		return;
	}
	sqlite3_finalize(st);
	st = db_prepare(sim->db, "DELETE FROM g_subscription WHERE id = lower(?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	log_info("graph-subs: deleted id=%s", id);
	graph_reply_json(reply, 204, NULL);
}

static void
reauthorize(struct graph_sim *sim, struct graph_req *req, const char *id,
    struct graph_reply *reply)
{
	sqlite3_stmt *st = find_own(sim, req, id);

	if (st == NULL) {
		not_found(req, reply);
		return;
	}
	sqlite3_finalize(st);
	st = db_prepare(sim->db, "UPDATE g_subscription SET paused = 0 WHERE id = lower(?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	log_info("graph-subs: reauthorized id=%s", id);
	graph_reply_json(reply, 204, NULL);
}

static void
bad_method(const struct graph_req *req, struct graph_reply *reply)
{
	graph_reply_error(reply, req, 405, "BadRequest",
	    "Specified HTTP method is not allowed for the request uri.");
}

void
graph_subs_call(struct graph_sim *sim, struct graph_req *req, const char *rest,
    struct graph_reply *reply)
{
	const char *m = req->method, *slash;
	char *id = NULL;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(m, "GET") == 0)
			list(sim, req, reply);
		else if (strcmp(m, "POST") == 0)
			create(sim, req, reply);
		else
			bad_method(req, reply);
		return;
	}
	rest++;
	slash = strchr(rest, '/');
	id = xstrndup(rest, slash ? (size_t)(slash - rest) : strlen(rest));
	if (slash == NULL) {
		if (strcmp(m, "GET") == 0) {
			sqlite3_stmt *st = find_own(sim, req, id);

			if (st == NULL) {
				not_found(req, reply);
			} else {
				graph_reply_json(reply, 200, with_context(sim, sub_json(st, 1)));
				sqlite3_finalize(st);
			}
		} else if (strcmp(m, "PATCH") == 0) {
			renew(sim, req, id, reply);
		} else if (strcmp(m, "DELETE") == 0) {
			delete(sim, req, id, reply);
		} else {
			bad_method(req, reply);
		}
	} else if (strcasecmp(slash, "/reauthorize") == 0) {
		if (strcmp(m, "POST") == 0)
			reauthorize(sim, req, id, reply);
		else
			bad_method(req, reply);
	} else {
		graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the "
		    "segment '%s'.", slash + 1);
	}
	free(id);
}

int
graph_subs_lifecycle(struct graph_sim *sim, const char *id, const char *event, char *err,
    size_t errlen)
{
	static const char *const events[] = {
		"missed", "subscriptionRemoved", "reauthorizationRequired",
	};
	sqlite3_stmt *st;
	json_t *item;
	int known = 0, rc = -1;

	for (size_t i = 0; event != NULL && i < sizeof(events) / sizeof(events[0]); i++)
		known |= strcmp(event, events[i]) == 0;
	if (!known) {
		snprintf(err, errlen, "event must be missed, subscriptionRemoved or "
		    "reauthorizationRequired");
		return -1;
	}
	st = db_prepare(sim->db, "SELECT lifecycle_url, expiration, client_state FROM "
	    "g_subscription WHERE id = lower(?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "no subscription %s", id);
		goto out;
	}
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		snprintf(err, errlen, "subscription %s has no lifecycleNotificationUrl", id);
		goto out;
	}
	item = json_pack("{s:s,s:s,s:s}", "subscriptionId", id,
	    "subscriptionExpirationDateTime", (const char *)sqlite3_column_text(st, 1),
	    "tenantId", sim->tenant_id);
	json_object_set_new(item, "clientState", sqlite3_column_type(st, 2) == SQLITE_NULL ?
	    json_null() : json_string((const char *)sqlite3_column_text(st, 2)));
	json_object_set_new(item, "lifecycleEvent", json_string(event));
	graph_notify_queue(sim, id, (const char *)sqlite3_column_text(st, 0), "lifecycle",
	    json_pack("{s:[o]}", "value", item));
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	if (strcmp(event, "subscriptionRemoved") == 0)
		st = db_prepare(sim->db, "DELETE FROM g_subscription WHERE id = lower(?)");
	else if (strcmp(event, "reauthorizationRequired") == 0)
		st = db_prepare(sim->db, "UPDATE g_subscription SET paused = 1 "
		    "WHERE id = lower(?)");
	else
		st = NULL;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	log_info("graph-subs: lifecycle id=%s event=%s", id, event);
	return 0;
}
