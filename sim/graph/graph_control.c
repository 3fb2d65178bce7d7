/* graph_control.c: graph-sim's control API under /_sim/ (see graph_control.h; every call is
 * documented in docs/graph-sim.md): reset and seed the tenant, deliver, move and delete mail,
 * drive meetings and lifecycle events, expire delta tokens, count requests, list notification
 * deliveries, change settings and script faults. None of it exists in Microsoft Graph. */
#include "graph_control.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/x509.h>

#include "crypto.h"
#include "db.h"
#include "err.h"
#include "graph_auth.h"
#include "graph_calendar.h"
#include "graph_mail.h"
#include "graph_store.h"
#include "graph_subs.h"
#include "graph_throttle.h"
#include "graph_groups.h"
#include "graph_policy.h"
#include "graph_users.h"
#include "isotime.h"
#include "log.h"
#include "sim_control.h"
#include "sim_fault.h"
#include "xmalloc.h"

#define MAX_ROUTES	1000	/* distinct routes counted; later new ones share "route:other" */
#define MAX_SEGMENTS	8	/* a control path has at most this many segments */
#define MAX_ROUTE_SEGMENTS 24	/* a counted route keeps this many */
#define MAX_DELAY_MS	600000	/* longer than any client timeout: a bigger value is a typo */
#define MAX_RETRY_AFTER	86400
#define MAX_NAME	128	/* permission names, client ids and the like */
#define SEED_SAVEPOINT	"graph_seed"

/* "2024-05-24T12:52:15.123Z" for an epoch time with fractions. */
static json_t *
iso_time(double t)
{
	time_t secs = (time_t)t;
	int ms = (int)((t - (double)secs) * 1000.0);
	char buf[40];

	if (ms < 0 || ms > 999)
		ms = 0;
	isotime_format(secs, 3, ms * (ISOTIME_FRAC_UNIT / 1000), "Z", buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
column_time(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return iso_time(sqlite3_column_double(st, col));
}

/* A DNS name with at least two labels ("contoso.onmicrosoft.com"). */
static int
is_domain(const char *s, size_t max)
{
	size_t len = strlen(s), label = 0;
	int dots = 0;

	if (len == 0 || len >= max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			dots++;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return dots > 0 && label > 0 && s[len - 1] != '-';
}

/* Client ids, permission and scope names: printable, no spaces or quotes. Entra client ids are
 * GUIDs, but tests name apps freely; the token endpoint compares them as strings. */
static int
is_name(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len >= max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* ---- seeding ---- */

static int
seed_tenant(struct graph_sim *sim, json_t *t, char *err, size_t errlen)
{
	const char *key, *id = NULL, *domain = NULL;
	json_t *v;

	if (!json_is_object(t))
		return err_set(err, errlen, "tenant must be an object {\"id\",\"domain\"}");
	json_object_foreach(t, key, v) {
		if (strcmp(key, "id") == 0) {
			if ((id = json_string_value(v)) == NULL || !graph_is_guid(id))
				return err_set(err, errlen, "tenant.id must be a GUID");
		} else if (strcmp(key, "domain") == 0) {
			if ((domain = json_string_value(v)) == NULL ||
			    !is_domain(domain, sizeof(sim->tenant_domain)))
				return err_set(err, errlen,
				    "tenant.domain must be a domain name such as "
				    "\"contoso.onmicrosoft.com\"");
		} else {
			return err_set(err, errlen,
			    "unknown tenant setting \"%s\" (id, domain)", key);
		}
	}
	if (id != NULL && graph_sim_save_setting(sim, "tenant_id", id) < 0)
		return err_set(err, errlen, "cannot save tenant.id");
	if (domain != NULL && graph_sim_save_setting(sim, "tenant_domain", domain) < 0)
		return err_set(err, errlen, "cannot save tenant.domain");
	/* graph_sim_save_setting reloads, but a caller may rely on the copy in sim at once. */
	if (id != NULL)
		snprintf(sim->tenant_id, sizeof(sim->tenant_id), "%s", id);
	if (domain != NULL)
		snprintf(sim->tenant_domain, sizeof(sim->tenant_domain), "%s", domain);
	return 0;
}

/* An array of permission or scope names as the JSON text g_app keeps. NULL with err. */
static char *
names_json(json_t *v, const char *what, char *err, size_t errlen)
{
	json_t *item;
	size_t i;

	if (v == NULL || json_is_null(v))
		return xstrdup("[]");
	if (!json_is_array(v)) {
		err_set(err, errlen, "%s must be an array of permission names", what);
		return NULL;
	}
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);

		if (s == NULL || !is_name(s, MAX_NAME)) {
			err_set(err, errlen,
			    "%s[%zu] must be a permission name such as \"Mail.Read\"",
			    what, i);
			return NULL;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(s, json_string_value(json_array_get(v, j))) == 0) {
				err_set(err, errlen, "%s lists \"%s\" twice", what, s);
				return NULL;
			}
		}
	}
	return json_dumps(v, JSON_COMPACT);
}

/* A string member, NULL when absent or null; -1 when present but not a string. */
static int
get_string(json_t *o, const char *key, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if ((*out = json_string_value(v)) == NULL)
		return err_set(err, errlen, "%s must be a string", key);
	return 0;
}

/* One app registration with its consented permissions (what the admin set up in Entra). */
static int
seed_app(struct graph_sim *sim, json_t *app, json_t *apps_out, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"clientId", "displayName", "secret", "secretExpired", "certificate", "roles",
		"scopes", "disabled",
	};
	const char *key, *client_id, *display, *secret, *cert;
	char *roles = NULL, *scopes = NULL, sp_id[37];
	int secret_expired, disabled, rc = -1;
	sqlite3_stmt *st;

	if (!json_is_object(app))
		return err_set(err, errlen, "an app must be a JSON object");
	if ((key = sim_control_unknown_key(app, keys, sizeof(keys) / sizeof(keys[0]))) != NULL)
		return err_set(err, errlen, "unknown app setting \"%s\"", key);
	if (get_string(app, "clientId", &client_id, err, errlen) < 0 ||
	    get_string(app, "displayName", &display, err, errlen) < 0 ||
	    get_string(app, "secret", &secret, err, errlen) < 0 ||
	    get_string(app, "certificate", &cert, err, errlen) < 0 ||
	    sim_control_bool(app, "secretExpired", &secret_expired, err, errlen) < 0 ||
	    sim_control_bool(app, "disabled", &disabled, err, errlen) < 0)
		return -1;
	/* graph_req keeps the caller's app id in 40 bytes. */
	if (client_id == NULL || !is_name(client_id, 40))
		return err_set(err, errlen,
		    "clientId is required: up to 39 letters, digits, '-', '_' "
		    "or '.' (Entra uses a GUID)");
	if (secret != NULL && *secret == '\0')
		return err_set(err, errlen, "secret must not be empty (leave it out for none)");
	if (cert != NULL) {
		/* A certificate that does not parse would only show up as AADSTS700027 later. */
		char cerr[256];
		X509 *x = crypto_cert_load_pem(cert, cerr, sizeof(cerr));

		if (x == NULL)
			return err_set(err, errlen, "certificate: %s", cerr);
		X509_free(x);
	}
	if ((roles = names_json(json_object_get(app, "roles"), "roles", err, errlen)) == NULL ||
	    (scopes = names_json(json_object_get(app, "scopes"), "scopes", err, errlen)) == NULL)
		goto out;
	graph_guid(sp_id);
	st = db_prepare(sim->db, "INSERT INTO g_app (client_id, display_name, secret, "
	    "secret_expired, certificate, roles, scopes, disabled, sp_id) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, display ? display : client_id, -1, SQLITE_STATIC);
	if (secret != NULL)
		sqlite3_bind_text(st, 3, secret, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, secret_expired);
	if (cert != NULL)
		sqlite3_bind_text(st, 5, cert, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, roles, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, scopes, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, disabled);
	sqlite3_bind_text(st, 9, sp_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE) {
		json_array_append_new(apps_out, json_string(client_id));
		rc = 0;
	} else if (sqlite3_extended_errcode(sim->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
		err_set(err, errlen, "clientId \"%s\" already exists", client_id);
	} else {
		err_set(err, errlen, "%s", sqlite3_errmsg(sim->db));
	}
	sqlite3_finalize(st);
out:
	free(roles);
	free(scopes);
	return rc;
}

static int
seed_user(struct graph_sim *sim, json_t *spec, json_t *users_out, char *err, size_t errlen)
{
	const char *upn;
	char id[40];

	if (!json_is_object(spec))
		return err_set(err, errlen, "a user must be a JSON object");
	if (graph_users_create(sim, spec, id, err, errlen) < 0)
		return -1;
	upn = json_string_value(json_object_get(spec, "userPrincipalName"));
	json_object_set_new(users_out, upn ? upn : id, json_string(id));
	return 0;
}

static int
seed_group(struct graph_sim *sim, json_t *spec, json_t *out, char *err, size_t errlen)
{
	char id[40];

	if (graph_groups_create(sim, spec, id, err, errlen) < 0)
		return -1;
	json_array_append_new(out, json_string(id));
	return 0;
}

static int
seed_mail(struct graph_sim *sim, json_t *spec, json_t *out, char *err, size_t errlen)
{
	json_t *result = NULL;

	if (!json_is_object(spec))
		return err_set(err, errlen, "a mail must be a JSON object");
	if (graph_mail_deliver(sim, spec, &result, err, errlen) < 0)
		return -1;
	json_array_append_new(out, result ? result : json_null());
	return 0;
}

static int
seed_event(struct graph_sim *sim, json_t *spec, json_t *out, char *err, size_t errlen)
{
	json_t *result = NULL;

	if (!json_is_object(spec))
		return err_set(err, errlen, "an event must be a JSON object");
	if (graph_calendar_create(sim, spec, &result, err, errlen) < 0)
		return -1;
	json_array_append_new(out, result ? result : json_null());
	return 0;
}

/* The parts of a seed, in the order they are applied whatever the order of the body: apps and
 * users before the groups, mail and meetings that name them. */
static const struct {
	const char *key;
	int (*one)(struct graph_sim *, json_t *, json_t *, char *, size_t);
} seed_parts[] = {
	{ "apps", seed_app },
	{ "users", seed_user },
	{ "groups", seed_group },
	{ "mail", seed_mail },
	{ "events", seed_event },
};

/* Runs a whole seed inside one savepoint. *result: the response body (caller owns). */
static int
seed_run(struct graph_sim *sim, json_t *seed, json_t **result, char *err, size_t errlen)
{
	char old_tid[sizeof(sim->tenant_id)], old_domain[sizeof(sim->tenant_domain)], msg[1024];
	json_t *out, *v;
	const char *key;

	*result = NULL;
	if (!json_is_object(seed))
		return err_set(err, errlen,
		    "a seed is a JSON object: {\"tenant\":{..},\"apps\":[..],"
		    "\"users\":[..],\"groups\":[..],\"mail\":[..],\"events\":[..]}");
	json_object_foreach(seed, key, v) {
		size_t i;

		if (strcmp(key, "tenant") == 0)
			continue;
		for (i = 0; i < sizeof(seed_parts) / sizeof(seed_parts[0]); i++)
			if (strcmp(key, seed_parts[i].key) == 0)
				break;
		if (i == sizeof(seed_parts) / sizeof(seed_parts[0]))
			return err_set(err, errlen,
			    "unknown seed key \"%s\" (tenant, apps, users, groups, "
			    "mail, events)", key);
		if (!json_is_array(v))
			return err_set(err, errlen, "%s must be an array", key);
	}
	memcpy(old_tid, sim->tenant_id, sizeof(old_tid));
	memcpy(old_domain, sim->tenant_domain, sizeof(old_domain));
	if (db_savepoint(sim->db, SEED_SAVEPOINT) < 0)
		return err_set(err, errlen, "cannot open a savepoint");
	out = json_pack("{s:o,s:o,s:o,s:o,s:o}", "users", json_object(), "apps", json_array(),
	    "groups", json_array(), "mail", json_array(), "events", json_array());
	if ((v = json_object_get(seed, "tenant")) != NULL &&
	    seed_tenant(sim, v, msg, sizeof(msg)) < 0) {
		err_set(err, errlen, "tenant: %s", msg);
		goto fail;
	}
	for (size_t p = 0; p < sizeof(seed_parts) / sizeof(seed_parts[0]); p++) {
		json_t *list = json_object_get(seed, seed_parts[p].key), *item;
		json_t *dest = json_object_get(out, seed_parts[p].key);
		size_t i;

		json_array_foreach(list, i, item) {
			msg[0] = '\0';
			if (seed_parts[p].one(sim, item, dest, msg, sizeof(msg)) < 0) {
				err_set(err, errlen, "%s[%zu]: %s", seed_parts[p].key, i,
				    msg[0] ? msg : "refused");
				goto fail;
			}
		}
	}
	if (db_release(sim->db, SEED_SAVEPOINT) < 0) {
		err_set(err, errlen, "cannot commit the seed: %s", sqlite3_errmsg(sim->db));
		goto fail;
	}
	json_object_set_new(out, "tenant", json_pack("{s:s,s:s}", "id", sim->tenant_id,
	    "domain", sim->tenant_domain));
	*result = out;
	return 0;
fail:
	db_rollback_to(sim->db, SEED_SAVEPOINT);
	/* The settings rows went back with the rollback; the copies in sim must follow. */
	memcpy(sim->tenant_id, old_tid, sizeof(old_tid));
	memcpy(sim->tenant_domain, old_domain, sizeof(old_domain));
	graph_sim_load_settings(sim);
	json_decref(out);
	return -1;
}

int
graph_control_seed(struct graph_sim *sim, json_t *seed, char *err, size_t errlen)
{
	json_t *result;

	if (seed_run(sim, seed, &result, err, errlen) < 0) {
		log_warnx("control: seed failed reason=\"%s\"", err);
		return -1;
	}
	log_info("control: seeded users=%zu apps=%zu groups=%zu mail=%zu events=%zu",
	    json_object_size(json_object_get(result, "users")),
	    json_array_size(json_object_get(result, "apps")),
	    json_array_size(json_object_get(result, "groups")),
	    json_array_size(json_object_get(result, "mail")),
	    json_array_size(json_object_get(result, "events")));
	json_decref(result);
	return 0;
}

/* ---- statistics ---- */

void
graph_control_count(struct graph_sim *sim, const char *key, long n)
{
	char other[] = "route:other";
	sqlite3_stmt *st;

	st = db_prepare(sim->db, "UPDATE g_stat SET n = n + ? WHERE key = ?");
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (sqlite3_changes(sim->db) > 0)
		return;
	/* A client probing random paths must not grow the table without end. */
	if (strncmp(key, "route:", 6) == 0) {
		st = db_prepare(sim->db, "SELECT count(*) FROM g_stat WHERE key LIKE 'route:%'");
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) >= MAX_ROUTES)
			key = other;
		sqlite3_finalize(st);
	}
	st = db_prepare(sim->db, "INSERT INTO g_stat (key, n) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET n = n + excluded.n");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("control: cannot count key=%s reason=\"%s\"", key,
		    sqlite3_errmsg(sim->db));
	sqlite3_finalize(st);
}

/* Collections whose next segment is a key (reference §2, §4, §5). */
static int
is_collection(const char *seg, size_t len)
{
	static const char *const names[] = {
		"users", "mailFolders", "childFolders", "messages", "events", "calendars",
		"calendarGroups", "subscriptions", "attachments", "instances", "contacts",
		"contactFolders", "extensions", "groups", "members",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(seg, names[i], len) == 0)
			return 1;
	return 0;
}

/* Segments that follow a collection without being a key. */
static int
is_operation(const char *seg, size_t len)
{
	static const char *const names[] = {
		"delta", "$count", "microsoft.graph.delta()", "microsoft.graph.delta",
		"microsoft.graph.user",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(seg, names[i], len) == 0)
			return 1;
	return 0;
}

static int
is_identity(const char *seg, size_t len)
{
	static const char *const names[] = { "oauth2", "v2.0", "discovery", ".well-known" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(seg, names[i], len) == 0)
			return 1;
	return 0;
}

void
graph_control_route_key(const char *method, const char *path, char *out, size_t outlen)
{
	const char *p = path;
	size_t n;
	int after_collection = 0, nseg = 0;

	n = (size_t)snprintf(out, outlen, "route:%s ", method);
	if (*p != '/' || p[1] == '\0') {
		snprintf(out + n, n < outlen ? outlen - n : 0, "/");
		goto out;
	}
	while (*p == '/' && n < outlen) {
		const char *seg = p + 1, *end = seg + strcspn(seg, "/"), *paren;
		size_t len = (size_t)(end - seg);

		if (++nseg > MAX_ROUTE_SEGMENTS) {
			snprintf(out + n, outlen - n, "/...");
			break;
		}
		paren = memchr(seg, '(', len);
		if (nseg == 1 && *end == '/' && is_identity(end + 1, strcspn(end + 1, "/")) &&
		    !(len == 6 && strncasecmp(seg, "common", 6) == 0) &&
		    !(len == 13 && strncasecmp(seg, "organizations", 13) == 0) &&
		    !(len == 9 && strncasecmp(seg, "consumers", 9) == 0)) {
			/* "/{tenant}/oauth2/v2.0/token": a GUID or a domain name. */
			n += (size_t)snprintf(out + n, outlen - n, "/{tenant}");
			after_collection = 0;
		} else if (paren != NULL && paren > seg && seg[len - 1] == ')' &&
		    (size_t)(paren - seg) + 2 < len) {
			/* OData key syntax: mailFolders('inbox') is mailFolders/inbox. */
			n += (size_t)snprintf(out + n, outlen - n, "/%.*s/{id}", (int)(paren - seg),
			    seg);
			after_collection = 0;
		} else if (after_collection && len > 0 && !is_operation(seg, len)) {
			n += (size_t)snprintf(out + n, outlen - n, "/{id}");
			after_collection = 0;
		} else {
			n += (size_t)snprintf(out + n, outlen - n, "/%.*s", (int)len, seg);
			after_collection = is_collection(seg, len);
		}
		p = end;
	}
out:
	sim_control_utf8(out);
}

static json_t *
stats_json(struct graph_sim *sim)
{
	static const char *const notif[] = {
		"queued", "sent", "delivered", "retried", "failed", "slow", "dropped",
	};
	json_t *out, *routes = json_object(), *mailboxes = json_object(), *notes = json_object();
	sqlite3_stmt *st;

	for (size_t i = 0; i < sizeof(notif) / sizeof(notif[0]); i++)
		json_object_set_new(notes, notif[i], json_integer(0));
	out = json_pack("{s:I,s:o,s:o,s:I,s:o,s:I}", "requests", (json_int_t)0, "routes", routes,
	    "mailboxes", mailboxes, "throttled", (json_int_t)0, "notifications", notes,
	    "batch_items", (json_int_t)0);
	/* Mailboxes are counted by user id and shown by userPrincipalName, the name tests use.
	 * The join is on u.id, its primary key: matching s.key against 'mailbox:' || u.id
	 * compared every counter with every user, which took over 30 s at 10,000 mailboxes. */
	st = db_prepare(sim->db, "SELECT s.key, s.n, u.upn FROM g_stat s LEFT JOIN g_user u "
	    "ON u.id = substr(s.key, 9) AND s.key LIKE 'mailbox:%' ORDER BY s.key");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *upn = (const char *)sqlite3_column_text(st, 2);
		json_int_t n = (json_int_t)sqlite3_column_int64(st, 1);

		if (strncmp(key, "route:", 6) == 0)
			json_object_set_new(routes, key + 6, json_integer(n));
		else if (strncmp(key, "mailbox:", 8) == 0)
			json_object_set_new(mailboxes, upn ? upn : key + 8, json_integer(n));
		else if (strncmp(key, "notifications.", 14) == 0)
			json_object_set_new(notes, key + 14, json_integer(n));
		else
			json_object_set_new(out, key, json_integer(n));
	}
	sqlite3_finalize(st);
	return out;
}

/* ---- faults ---- */

/* What Graph answers with these codes (reference §6.2, §7.1, §7.2; 504 observed, see below). */
static const struct {
	const char *code;
	int status;
	const char *message;
	double retry_after;	/* Retry-After unless the fault sets its own */
} presets[] = {
	/* §6.2, the throttling page's sample; its Retry-After is 2.128, other versions 10. */
	{ "TooManyRequests", 429, "Please retry again later.", 2 },
	{ "ApplicationThrottled", 429, "Application is over its MailboxConcurrency limit.", 2 },
	/* §7.1 generic code; its description on the errors page. */
	{ "serviceNotAvailable", 503, "The service is not available. Try the request again after "
	    "a delay. There may be a Retry-After header.", 0 },
	/* Observed 504 bodies carry UnknownError with an empty message
	 * (microsoftgraph/microsoft-graph-docs#2505, #5288, #6538). */
	{ "UnknownError", 504, "", 0 },
	{ "generalException", 500, "An unspecified error has occurred.", 0 },
	{ "InvalidAuthenticationToken", 401, "Lifetime validation failed, the token is expired.",
	    0 },
	{ "ErrorAccessDenied", 403, "Access is denied. Check credentials and try again.", 0 },
	{ "ErrorItemNotFound", 404, "The specified object was not found in the store.", 0 },
	{ "SyncStateNotFound", 410, "The sync state generation is not found; generation=1;"
	    "[highest=2][2].", 0 },
	{ "BadRequest", 400, "Invalid request.", 0 },
};

static int
preset_by_code(const char *code)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].code, code) == 0)
			return (int)i;
	return -1;
}

static int
preset_by_status(int status)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (presets[i].status == status)
			return (int)i;
	return -1;
}

/* Checks a POST /_sim/faults body and fills in what the presets imply. */
static int
fault_parse(json_t *body, char method[16], const char **path, long *count,
    struct graph_fault *f, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"method", "path", "count", "status", "code", "message", "retry_after", "delay_ms",
		"drop",
	};
	const char *key, *code, *msg, *m;
	json_t *ra;
	long status;
	int p = -1;

	memset(f, 0, sizeof(*f));
	if ((key = sim_control_unknown_key(body, keys, sizeof(keys) / sizeof(keys[0]))) != NULL)
		return err_set(err, errlen, "unknown fault setting \"%s\" (method, path, count, "
		    "status, code, message, retry_after, delay_ms, drop)", key);
	if (get_string(body, "method", &m, err, errlen) < 0 ||
	    sim_fault_method(m, method, 16, err, errlen) < 0)
		return -1;
	*path = json_string_value(json_object_get(body, "path"));
	if (*path == NULL || (*path)[0] != '/' || strlen(*path) > 1024)
		return err_set(err, errlen, "path must be a path prefix starting with \"/\" "
		    "(\"/v1.0/users\")");
	if (strncmp(*path, "/_sim", 5) == 0)
		return err_set(err, errlen,
		    "faults apply to Graph and identity paths, not to /_sim");
	if (sim_control_long(body, "count", 1, 1000000, 1, count, err, errlen) < 0 ||
	    sim_control_long(body, "status", 100, 599, 0, &status, err, errlen) < 0 ||
	    sim_control_long(body, "delay_ms", 0, MAX_DELAY_MS, 0, &f->delay_ms, err, errlen) < 0 ||
	    sim_control_bool(body, "drop", &f->drop, err, errlen) < 0 ||
	    get_string(body, "code", &code, err, errlen) < 0 ||
	    get_string(body, "message", &msg, err, errlen) < 0)
		return -1;
	if (code != NULL) {
		size_t i;

		if (*code == '\0' || strlen(code) >= sizeof(f->code))
			return err_set(err, errlen, "code must be a Graph error code such as "
			    "\"TooManyRequests\" (at most %zu characters)", sizeof(f->code) - 1);
		for (i = 0; code[i]; i++)
			if (!((code[i] >= 'a' && code[i] <= 'z') || (code[i] >= 'A' && code[i] <= 'Z') ||
			    (code[i] >= '0' && code[i] <= '9') || code[i] == '_' || code[i] == '.'))
				return err_set(err, errlen,
				    "code must be letters, digits, '_' or '.'");
		p = preset_by_code(code);
		if (status == 0 && p < 0)
			return err_set(err, errlen, "code %s has no preset: give its status", code);
		if (status == 0)
			status = presets[p].status;
	}
	if (msg != NULL && strlen(msg) >= sizeof(f->message))
		return err_set(err, errlen, "message must be at most %zu bytes",
		    sizeof(f->message) - 1);
	ra = json_object_get(body, "retry_after");
	if (ra != NULL && !json_is_null(ra) && (!json_is_number(ra) ||
	    json_number_value(ra) < 0 || json_number_value(ra) > MAX_RETRY_AFTER))
		return err_set(err, errlen, "retry_after must be a number of seconds from 0 to %d",
		    MAX_RETRY_AFTER);
	if (f->drop && status != 0)
		return err_set(err, errlen, "drop and status exclude each other");
	if (status == 0 && (msg != NULL || (ra != NULL && !json_is_null(ra))))
		return err_set(err, errlen, "message and retry_after need a status");
	if (status == 0 && !f->drop && f->delay_ms == 0)
		return err_set(err, errlen, "a fault needs a status, drop or delay_ms");
	if (status != 0 && code == NULL) {
		if ((p = preset_by_status((int)status)) < 0)
			return err_set(err, errlen,
			    "status %ld has no preset: give its code", status);
		code = presets[p].code;
	}
	f->status = (int)status;
	if (code != NULL)
		snprintf(f->code, sizeof(f->code), "%s", code);
	if (msg != NULL)
		snprintf(f->message, sizeof(f->message), "%s", msg);
	else if (p >= 0)
		snprintf(f->message, sizeof(f->message), "%s", presets[p].message);
	if (ra != NULL && !json_is_null(ra))
		f->retry_after = json_number_value(ra);
	else if (p >= 0)
		f->retry_after = presets[p].retry_after;
	return 0;
}

static json_t *
fault_json(const struct graph_fault *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", f->status ? json_integer(f->status) : json_null());
	json_object_set_new(o, "code", f->code[0] ? json_string(f->code) : json_null());
	json_object_set_new(o, "message", f->status ? json_string(f->message) : json_null());
	json_object_set_new(o, "retry_after", f->retry_after > 0 ? json_real(f->retry_after) :
	    json_null());
	json_object_set_new(o, "delay_ms", json_integer(f->delay_ms));
	json_object_set_new(o, "drop", json_boolean(f->drop));
	return o;
}

/* The stored spec is our own JSON, but it lives in a file a user could edit: read it leniently. */
static void
fault_from_json(const char *spec, struct graph_fault *f)
{
	json_t *o = json_loads(spec ? spec : "", 0, NULL);
	const char *s;

	memset(f, 0, sizeof(*f));
	if (o == NULL)
		return;
	f->status = (int)json_integer_value(json_object_get(o, "status"));
	if ((s = json_string_value(json_object_get(o, "code"))) != NULL)
		snprintf(f->code, sizeof(f->code), "%s", s);
	if ((s = json_string_value(json_object_get(o, "message"))) != NULL)
		snprintf(f->message, sizeof(f->message), "%s", s);
	f->retry_after = json_number_value(json_object_get(o, "retry_after"));
	f->delay_ms = (long)json_integer_value(json_object_get(o, "delay_ms"));
	f->drop = json_is_true(json_object_get(o, "drop"));
	json_decref(o);
}

/* A stored spec as GET /_sim/faults shows it (through struct graph_fault, as it will act). */
static json_t *
spec_json(const char *spec)
{
	struct graph_fault f;

	fault_from_json(spec, &f);
	return fault_json(&f);
}

int
graph_control_fault_take(struct graph_sim *sim, const char *method, const char *path,
    struct graph_fault *out)
{
	long long id;
	char *spec;

	memset(out, 0, sizeof(*out));
	if ((spec = sim_fault_take(sim->db, "g_fault", method, path, &id)) == NULL)
		return 0;
	fault_from_json(spec, out);
	free(spec);
	log_info("control: fault taken id=%lld method=%s path=%s status=%d drop=%d delay_ms=%ld",
	    id, method, path, out->status, out->drop, out->delay_ms);
	return 1;
}

/* ---- settings ---- */

enum setting_type { SET_LONG, SET_INT, SET_BOOL, SET_DOUBLE };

/* Every field of struct graph_settings, with the range POST /_sim/config accepts. */
static const struct {
	const char *key;
	enum setting_type type;
	double min, max;
	size_t offset;
} config_keys[] = {
	/* Entra lets token lifetimes go from 10 minutes to a day; tests want seconds. */
	{ "token_ttl_sec", SET_LONG, 1, 86400, offsetof(struct graph_settings, token_ttl_sec) },
	{ "sub_max_minutes", SET_LONG, 1, 525600,
	    offsetof(struct graph_settings, sub_max_minutes) },
	{ "sub_max_minutes_rich", SET_LONG, 1, 525600,
	    offsetof(struct graph_settings, sub_max_minutes_rich) },
	{ "require_https", SET_BOOL, 0, 1, offsetof(struct graph_settings, require_https) },
	{ "retry_scale", SET_DOUBLE, 0, 1000, offsetof(struct graph_settings, retry_scale) },
	{ "ack_timeout_ms", SET_LONG, 1, 600000,
	    offsetof(struct graph_settings, ack_timeout_ms) },
	{ "retry_timeout_ms", SET_LONG, 1, 600000,
	    offsetof(struct graph_settings, retry_timeout_ms) },
	{ "validation_timeout_ms", SET_LONG, 1, 600000,
	    offsetof(struct graph_settings, validation_timeout_ms) },
	{ "retry_window_sec", SET_LONG, 0, 604800,
	    offsetof(struct graph_settings, retry_window_sec) },
	{ "throttle_requests", SET_LONG, 1, 1000000000,
	    offsetof(struct graph_settings, throttle_requests) },
	{ "throttle_window_sec", SET_LONG, 1, 86400,
	    offsetof(struct graph_settings, throttle_window_sec) },
	{ "throttle_concurrency", SET_INT, 1, 1000,
	    offsetof(struct graph_settings, throttle_concurrency) },
	{ "delta_token_ttl_sec", SET_LONG, 0, 31536000,
	    offsetof(struct graph_settings, delta_token_ttl_sec) },
	{ "subs_per_mailbox", SET_LONG, 0, 1000000,
	    offsetof(struct graph_settings, subs_per_mailbox) },
};

#define NCONFIG	(sizeof(config_keys) / sizeof(config_keys[0]))

static json_t *
config_json(const struct graph_sim *sim)
{
	const char *base = (const char *)&sim->settings;
	json_t *o = json_object();

	for (size_t i = 0; i < NCONFIG; i++) {
		const void *p = base + config_keys[i].offset;
		json_t *v = NULL;

		switch (config_keys[i].type) {
		case SET_LONG:
			v = json_integer(*(const long *)p);
			break;
		case SET_INT:
			v = json_integer(*(const int *)p);
			break;
		case SET_BOOL:
			v = json_boolean(*(const int *)p);
			break;
		case SET_DOUBLE:
			v = json_real(*(const double *)p);
			break;
		}
		json_object_set_new(o, config_keys[i].key, v);
	}
	return o;
}

/* Checks one setting; its stored text in text. */
static int
config_check(const char *key, json_t *v, char *text, size_t textlen, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < NCONFIG; i++)
		if (strcmp(key, config_keys[i].key) == 0)
			break;
	if (i == NCONFIG)
		return err_set(err, errlen, "unknown setting \"%s\"", key);
	switch (config_keys[i].type) {
	case SET_BOOL:
		if (!json_is_boolean(v))
			return err_set(err, errlen, "%s must be true or false", key);
		snprintf(text, textlen, "%d", json_is_true(v));
		return 0;
	case SET_DOUBLE:
		if (!json_is_number(v) || json_number_value(v) < config_keys[i].min ||
		    json_number_value(v) > config_keys[i].max)
			return err_set(err, errlen, "%s must be a number from %g to %g", key,
			    config_keys[i].min, config_keys[i].max);
		snprintf(text, textlen, "%.17g", json_number_value(v));
		return 0;
	case SET_LONG:
	case SET_INT:
		if (!json_is_integer(v) || (double)json_integer_value(v) < config_keys[i].min ||
		    (double)json_integer_value(v) > config_keys[i].max)
			return err_set(err, errlen, "%s must be an integer from %.0f to %.0f", key,
			    config_keys[i].min, config_keys[i].max);
		snprintf(text, textlen, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	return err_set(err, errlen, "%s: unknown type", key);
}

/* ---- handlers ---- */

struct ctl {
	struct graph_sim *sim;
	struct httpd_request *req;
	struct httpd_response *resp;
	json_t *body;		/* parsed JSON object, or NULL when the request had none */
	const char *arg[3];	/* the '*' segments of the route, decoded */
};

static void
h_health(struct ctl *c)
{
	httpd_respond_json(c->resp, 200, json_pack("{s:b,s:s,s:s}", "ok", 1, "tenantId",
	    c->sim->tenant_id, "tenantDomain", c->sim->tenant_domain));
}

static void
h_reset(struct ctl *c)
{
	struct graph_sim *sim = c->sim;

	/* g_key stays: tokens a client holds fail on their audience or app, not on a key swap. */
	if (graph_store_reset(sim->db) < 0) {
		sim_control_error(c->resp, 500, "reset failed (see the log)");
		return;
	}
	graph_sim_load_settings(sim);
	graph_throttle_reset(sim->throttle);
	log_info("control: reset");
	httpd_respond_json(c->resp, 200, json_pack("{s:b}", "ok", 1));
}

static void
h_seed(struct ctl *c)
{
	json_t *result;
	char err[1024];

	if (c->body == NULL) {
		sim_control_error(c->resp, 400, "seed needs a JSON body: {\"users\":[{...}]}");
		return;
	}
	if (seed_run(c->sim, c->body, &result, err, sizeof(err)) < 0) {
		log_warnx("control: seed failed reason=\"%s\"", err);
		sim_control_error(c->resp, 400, "seed failed, nothing was kept: %s", err);
		return;
	}
	log_info("control: seeded users=%zu apps=%zu groups=%zu mail=%zu events=%zu",
	    json_object_size(json_object_get(result, "users")),
	    json_array_size(json_object_get(result, "apps")),
	    json_array_size(json_object_get(result, "groups")),
	    json_array_size(json_object_get(result, "mail")),
	    json_array_size(json_object_get(result, "events")));
	httpd_respond_json(c->resp, 200, result);
}

/* Whether sql, with ?1 bound to a and ?2 to b (when not NULL), finds a row. */
static int
row_exists(struct graph_sim *sim, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = db_prepare(sim->db, sql);
	int found;

	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static int
app_exists(struct graph_sim *sim, const char *client_id)
{
	return row_exists(sim, "SELECT 1 FROM g_app WHERE client_id = ?", client_id, NULL);
}

/* Answers what a graph_* change left: its err (or refused when empty) as a 400 when rc < 0,
 * else *result (or {}) with status. result is a pointer since the change, an argument of the
 * same call, fills it. */
static void
respond_change(struct ctl *c, int rc, json_t **result, const char *err, const char *refused,
    int status)
{
	if (rc < 0) {
		sim_control_error(c->resp, 400, "%s", err[0] ? err : refused);
		return;
	}
	httpd_respond_json(c->resp, status, *result ? *result : json_object());
}

static void
h_token(struct ctl *c)
{
	const char *client_id = json_string_value(json_object_get(c->body, "clientId"));
	char *token;

	if (client_id == NULL || c->body == NULL || json_object_size(c->body) != 1) {
		sim_control_error(c->resp, 400,
		    "token needs {\"clientId\":\"...\"} and nothing else");
		return;
	}
	if (!app_exists(c->sim, client_id)) {
		sim_control_error(c->resp, 400,
		    "no app with clientId \"%s\" (seed it under \"apps\")",
		    client_id);
		return;
	}
	if ((token = graph_auth_mint(c->sim, client_id)) == NULL) {
		sim_control_error(c->resp, 400,
		    "app \"%s\" cannot get tokens (disabled?)", client_id);
		return;
	}
	httpd_respond_json(c->resp, 200, json_pack("{s:s,s:s,s:I}", "access_token", token,
	    "token_type", "Bearer", "expires_in", (json_int_t)c->sim->settings.token_ttl_sec));
	free(token);
}

static void
h_mail(struct ctl *c)
{
	json_t *result = NULL;
	char err[1024] = "";

	if (c->body == NULL) {
		sim_control_error(c->resp, 400, "mail needs a JSON body: {\"from\":..,\"to\":[..],"
		    "\"subject\":..}");
		return;
	}
	respond_change(c, graph_mail_deliver(c->sim, c->body, &result, err, sizeof(err)), &result,
	    err, "delivery refused", 201);
}

/* The user named by the path (id or userPrincipalName), or a 404 answered. */
static int
path_user(struct ctl *c, const char *who, struct graph_user *u)
{
	if (graph_user_find(c->sim, who, u) < 0) {
		sim_control_error(c->resp, 404, "no user \"%s\"", who);
		return -1;
	}
	return 0;
}

/* A live message of the user by rest or immutable id, or a 404 answered. */
static int
path_message(struct ctl *c, const struct graph_user *u, const char *id)
{
	int found = row_exists(c->sim, "SELECT 1 FROM g_message WHERE user_id = ?1 "
	    "AND deleted = 0 AND (rest_id = ?2 OR immutable_id = ?2)", u->id, id);

	if (!found)
		sim_control_error(c->resp, 404,
		    "no message \"%s\" in the mailbox of %s", id, u->upn);
	return found ? 0 : -1;
}

static void
h_mail_move(struct ctl *c)
{
	const char *folder = json_string_value(json_object_get(c->body, "folder"));
	struct graph_user u;
	json_t *result = NULL;
	char err[1024] = "";

	if (folder == NULL || *folder == '\0' || json_object_size(c->body) != 1) {
		sim_control_error(c->resp, 400,
		    "move needs {\"folder\":\"deleteditems\"} (a well-known "
		    "name or a folder id) and nothing else");
		return;
	}
	if (path_user(c, c->arg[0], &u) < 0 || path_message(c, &u, c->arg[1]) < 0)
		return;
	respond_change(c, graph_mail_move(c->sim, c->arg[0], c->arg[1], folder, &result, err,
	    sizeof(err)), &result, err, "move refused", 200);
}

static void
h_mail_delete(struct ctl *c)
{
	struct graph_user u;
	char err[1024] = "";

	if (path_user(c, c->arg[0], &u) < 0 || path_message(c, &u, c->arg[1]) < 0)
		return;
	if (graph_mail_delete(c->sim, c->arg[0], c->arg[1], err, sizeof(err)) < 0) {
		sim_control_error(c->resp, 400, "%s", err[0] ? err : "delete refused");
		return;
	}
	httpd_respond_json(c->resp, 200, json_pack("{s:b}", "ok", 1));
}

/* A delta token given bare or as the whole @odata.deltaLink / nextLink. Caller frees. */
static char *
delta_token(const char *s)
{
	static const char *const params[] = { "$deltatoken=", "$skiptoken=", "%24deltatoken=",
	    "%24skiptoken=" };

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const char *p = strstr(s, params[i]), *end;

		if (p == NULL)
			continue;
		p += strlen(params[i]);
		end = strchr(p, '&');
		return httpd_decode(p, end ? (size_t)(end - p) : strlen(p), 1);
	}
	return xstrdup(s);
}

static void
h_delta_expire(struct ctl *c)
{
	json_t *v = json_object_get(c->body, "token");
	char *token = NULL;
	sqlite3_stmt *st;
	long long live = 0, known = 0;

	if (c->body != NULL && (json_object_size(c->body) > 1 || (json_object_size(c->body) == 1 &&
	    v == NULL))) {
		sim_control_error(c->resp, 400, "delta/expire takes {\"token\":\"...\"} or "
		    "{\"token\":null} (every token)");
		return;
	}
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) == 0) {
			sim_control_error(c->resp, 400,
			    "token must be a delta or skip token, a delta "
			    "link, or null");
			return;
		}
		token = delta_token(json_string_value(v));
	}
	st = db_prepare(c->sim->db, "SELECT count(*), coalesce(sum(expired = 0), 0) FROM g_delta "
	    "WHERE ?1 IS NULL OR token = ?1");
	if (token != NULL)
		sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		known = sqlite3_column_int64(st, 0);
		live = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (token != NULL && known == 0) {
		sim_control_error(c->resp, 404, "no such delta token");
		goto out;
	}
	if (graph_mail_expire_delta(c->sim, token) < 0) {
		sim_control_error(c->resp, 500, "cannot expire delta tokens (see the log)");
		goto out;
	}
	log_info("control: delta tokens expired n=%lld", live);
	httpd_respond_json(c->resp, 200, json_pack("{s:I}", "expired", (json_int_t)live));
out:
	free(token);
}

static void
h_events(struct ctl *c)
{
	json_t *result = NULL;
	char err[1024] = "";

	if (c->body == NULL) {
		sim_control_error(c->resp, 400, "events needs a JSON body: {\"organizer\":..,"
		    "\"attendees\":[..],\"start\":{..},\"end\":{..}}");
		return;
	}
	respond_change(c, graph_calendar_create(c->sim, c->body, &result, err, sizeof(err)),
	    &result, err, "event refused", 201);
}

/* A meeting by its uid or by the iCalUId of one of its occurrences, or a 404 answered. */
static int
path_event(struct ctl *c, const char *uid)
{
	int found = row_exists(c->sim, "SELECT 1 FROM g_event WHERE (uid = ?1 OR "
	    "ical_uid = ?1) AND deleted = 0 LIMIT 1", uid, NULL);

	if (!found)
		sim_control_error(c->resp, 404, "no event with uid or iCalUId \"%s\"", uid);
	return found ? 0 : -1;
}

static void
h_event_respond(struct ctl *c)
{
	static const char *const answers[] = { "accepted", "tentativelyAccepted", "declined" };
	const char *r = json_string_value(json_object_get(c->body, "response"));
	json_t *result = NULL;
	char err[1024] = "";
	size_t i;

	for (i = 0; r != NULL && i < sizeof(answers) / sizeof(answers[0]); i++)
		if (strcmp(r, answers[i]) == 0)
			break;
	if (r == NULL || i == sizeof(answers) / sizeof(answers[0]) ||
	    !json_is_string(json_object_get(c->body, "user"))) {
		sim_control_error(c->resp, 400,
		    "respond needs {\"user\":..,\"response\":\"accepted|"
		    "tentativelyAccepted|declined\"}");
		return;
	}
	if (path_event(c, c->arg[0]) < 0)
		return;
	respond_change(c, graph_calendar_respond(c->sim, c->arg[0], c->body, &result, err,
	    sizeof(err)), &result, err, "response refused", 200);
}

static void
h_event_update(struct ctl *c)
{
	json_t *result = NULL;
	char err[1024] = "";

	if (c->body == NULL || json_object_size(c->body) == 0) {
		sim_control_error(c->resp, 400, "an event update needs a JSON body: {\"start\":..,"
		    "\"end\":..} or {\"isCancelled\":true}");
		return;
	}
	if (path_event(c, c->arg[0]) < 0)
		return;
	respond_change(c, graph_calendar_update(c->sim, c->arg[0], c->body, &result, err,
	    sizeof(err)), &result, err, "update refused", 200);
}

/* DELETE /_sim/events/{uid}?user=..[&occurrence=..]: a user deletes the meeting in Outlook. */
static void
h_event_delete(struct ctl *c)
{
	const char *user = httpd_query(c->req, "user");
	json_t *result = NULL;
	char err[1024] = "";
	enum graph_cal_rc rc;

	if (user == NULL || *user == '\0') {
		sim_control_error(c->resp, 400, "deleting an event needs ?user= (whose calendar) and "
		    "takes ?occurrence= for one instance");
		return;
	}
	if (path_event(c, c->arg[0]) < 0)
		return;
	rc = graph_calendar_delete(c->sim, c->arg[0], user, httpd_query(c->req, "occurrence"),
	    &result, err, sizeof(err));
	if (rc == GRAPH_CAL_NOT_FOUND)
		sim_control_error(c->resp, 404, "%s", err);
	else
		respond_change(c, rc, &result, err, "delete refused", 200);
}

static void
h_lifecycle(struct ctl *c)
{
	static const char *const events[] = { "missed", "subscriptionRemoved",
	    "reauthorizationRequired" };
	const char *ev = json_string_value(json_object_get(c->body, "event"));
	char err[1024] = "";
	size_t i;

	for (i = 0; ev != NULL && i < sizeof(events) / sizeof(events[0]); i++)
		if (strcmp(ev, events[i]) == 0)
			break;
	if (ev == NULL || i == sizeof(events) / sizeof(events[0]) ||
	    json_object_size(c->body) != 1) {
		sim_control_error(c->resp, 400,
		    "lifecycle needs {\"event\":\"missed|subscriptionRemoved|"
		    "reauthorizationRequired\"}");
		return;
	}
	if (!row_exists(c->sim, "SELECT 1 FROM g_subscription WHERE id = lower(?)", c->arg[0],
	    NULL)) {
		sim_control_error(c->resp, 404, "no subscription \"%s\"", c->arg[0]);
		return;
	}
	if (graph_subs_lifecycle(c->sim, c->arg[0], ev, err, sizeof(err)) < 0) {
		sim_control_error(c->resp, 400, "%s", err[0] ? err : "lifecycle event refused");
		return;
	}
	log_info("control: lifecycle subscription=%s event=%s", c->arg[0], ev);
	httpd_respond_json(c->resp, 200, json_pack("{s:s,s:s}", "subscriptionId", c->arg[0],
	    "lifecycleEvent", ev));
}

static void
h_stats(struct ctl *c)
{
	httpd_respond_json(c->resp, 200, stats_json(c->sim));
}

static void
h_stats_reset(struct ctl *c)
{
	char err[256];

	if (db_exec(c->sim->db, "DELETE FROM g_stat", err, sizeof(err)) < 0) {
		sim_control_error(c->resp, 500, "cannot reset statistics: %s", err);
		return;
	}
	httpd_respond_json(c->resp, 200, json_pack("{s:b}", "ok", 1));
}

static void
h_deliveries(struct ctl *c)
{
	const char *sub = httpd_query(c->req, "subscription");
	const char *kind = httpd_query(c->req, "kind");
	sqlite3_stmt *st, *at;
	json_t *list = json_array();

	st = db_prepare(c->sim->db, "SELECT id, subscription_id, url, kind, status, payload, "
	    "created, delivered_at FROM g_delivery WHERE (?1 IS NULL OR subscription_id = ?1) "
	    "AND (?2 IS NULL OR kind = ?2) ORDER BY id");
	at = db_prepare(c->sim->db, "SELECT at, status, latency_ms, error FROM g_attempt "
	    "WHERE delivery_id = ? ORDER BY id");
	if (sub != NULL)
		sqlite3_bind_text(st, 1, sub, -1, SQLITE_STATIC);
	if (kind != NULL)
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *payload = (const char *)sqlite3_column_text(st, 5);
		json_t *d, *attempts = json_array(), *pj;

		sqlite3_reset(at);
		sqlite3_bind_int64(at, 1, sqlite3_column_int64(st, 0));
		while (sqlite3_step(at) == SQLITE_ROW) {
			json_t *a = json_object();

			json_object_set_new(a, "at", column_time(at, 0));
			json_object_set_new(a, "status", json_integer(sqlite3_column_int(at, 1)));
			json_object_set_new(a, "latency_ms", json_integer(sqlite3_column_int64(at,
			    2)));
			json_object_set_new(a, "error", sqlite3_column_type(at, 3) == SQLITE_NULL ?
			    json_null() : json_string((const char *)sqlite3_column_text(at, 3)));
			json_array_append_new(attempts, a);
		}
		/* The payload is ours; a row that is not JSON is shown as text, not dropped. */
		pj = payload ? json_loads(payload, JSON_DECODE_ANY, NULL) : NULL;
		if (pj == NULL)
			pj = payload ? json_string(payload) : json_null();
		if (pj == NULL)
			pj = json_null();
		d = json_object();
		json_object_set_new(d, "id", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(d, "subscriptionId", sqlite3_column_type(st, 1) == SQLITE_NULL ?
		    json_null() : json_string((const char *)sqlite3_column_text(st, 1)));
		json_object_set_new(d, "url", json_string((const char *)sqlite3_column_text(st, 2)));
		json_object_set_new(d, "kind", json_string((const char *)sqlite3_column_text(st,
		    3)));
		json_object_set_new(d, "status", json_string((const char *)sqlite3_column_text(st,
		    4)));
		json_object_set_new(d, "attempts", attempts);
		json_object_set_new(d, "payload", pj);
		json_object_set_new(d, "created", column_time(st, 6));
		json_object_set_new(d, "delivered_at", column_time(st, 7));
		json_array_append_new(list, d);
	}
	sqlite3_finalize(at);
	sqlite3_finalize(st);
	httpd_respond_json(c->resp, 200, json_pack("{s:o}", "deliveries", list));
}

static void
h_faults_add(struct ctl *c)
{
	struct graph_fault f;
	char method[16], err[512];
	const char *path = NULL;
	long count = 0;
	long long id;
	json_t *spec;

	if (c->body == NULL) {
		sim_control_error(c->resp, 400,
		    "a fault needs a JSON body: {\"path\":..,\"status\":..}");
		return;
	}
	if (fault_parse(c->body, method, &path, &count, &f, err, sizeof(err)) < 0) {
		sim_control_error(c->resp, 400, "%s", err);
		return;
	}
	spec = fault_json(&f);
	id = sim_fault_add(c->sim->db, "g_fault", method, path, count, spec, err, sizeof(err));
	if (id < 0) {
		sim_control_error(c->resp, 500, "cannot store the fault: %s", err);
		json_decref(spec);
		return;
	}
	log_info("control: fault added method=%s path=%s count=%ld status=%d drop=%d "
	    "delay_ms=%ld", method[0] ? method : "any", path, count, f.status, f.drop,
	    f.delay_ms);
	httpd_respond_json(c->resp, 200, sim_fault_entry(id, method[0] ? method : NULL, path,
	    count, spec));
}

static void
h_faults_list(struct ctl *c)
{
	httpd_respond_json(c->resp, 200, json_pack("{s:o}", "faults",
	    sim_fault_list(c->sim->db, "g_fault", spec_json)));
}

static void
h_faults_clear(struct ctl *c)
{
	sim_fault_clear(c->sim->db, "g_fault", c->resp);
}

static void
h_policies_add(struct ctl *c)
{
	json_t *out;
	char err[256];

	if (graph_policy_add(c->sim, c->body, &out, err, sizeof(err)) < 0) {
		sim_control_error(c->resp, 400, "%s", err);
		return;
	}
	httpd_respond_json(c->resp, 200, out);
}

static void
h_policies_list(struct ctl *c)
{
	httpd_respond_json(c->resp, 200, json_pack("{s:o}", "policies",
	    graph_policy_list(c->sim)));
}

static void
h_policies_clear(struct ctl *c)
{
	long n = graph_policy_clear(c->sim);

	if (n < 0) {
		sim_control_error(c->resp, 500, "cannot clear the policies (see the log)");
		return;
	}
	httpd_respond_json(c->resp, 200, json_pack("{s:I}", "cleared", (json_int_t)n));
}

static void
h_config_get(struct ctl *c)
{
	httpd_respond_json(c->resp, 200, config_json(c->sim));
}

static void
h_config_set(struct ctl *c)
{
	struct graph_sim *sim = c->sim;
	char text[64], err[256];
	const char *key;
	json_t *v;
	int rc = 0;

	if (c->body == NULL) {
		h_config_get(c);
		return;
	}
	/* Everything is checked before anything is saved: a bad key changes nothing. */
	json_object_foreach(c->body, key, v) {
		if (config_check(key, v, text, sizeof(text), err, sizeof(err)) < 0) {
			sim_control_error(c->resp, 400, "%s", err);
			return;
		}
	}
	db_savepoint(sim->db, "graph_config");
	json_object_foreach(c->body, key, v) {
		config_check(key, v, text, sizeof(text), err, sizeof(err));
		if (graph_sim_save_setting(sim, key, text) < 0) {
			rc = -1;
			break;
		}
		log_info("control: setting %s=%s", key, text);
	}
	if (rc < 0) {
		sim_control_error(c->resp, 500,
		    "cannot save settings: %s", sqlite3_errmsg(sim->db));
		db_rollback_to(sim->db, "graph_config");
		graph_sim_load_settings(sim);
		return;
	}
	db_release(sim->db, "graph_config");
	graph_sim_load_settings(sim);
	h_config_get(c);
}

/* Patterns are matched segment by segment after "/_sim/"; '*' takes one non-empty segment. */
static const struct {
	const char *method, *pattern;
	void (*fn)(struct ctl *);
} routes[] = {
	{ "GET", "health", h_health },
	{ "POST", "reset", h_reset },
	{ "POST", "seed", h_seed },
	{ "POST", "token", h_token },
	{ "POST", "mail", h_mail },
	{ "POST", "mail/*/*/move", h_mail_move },
	{ "DELETE", "mail/*/*", h_mail_delete },
	{ "POST", "delta/expire", h_delta_expire },
	{ "POST", "events", h_events },
	{ "POST", "events/*/respond", h_event_respond },
	{ "PATCH", "events/*", h_event_update },
	{ "DELETE", "events/*", h_event_delete },
	{ "POST", "subscriptions/*/lifecycle", h_lifecycle },
	{ "GET", "stats", h_stats },
	{ "POST", "stats/reset", h_stats_reset },
	{ "GET", "deliveries", h_deliveries },
	{ "POST", "faults", h_faults_add },
	{ "GET", "faults", h_faults_list },
	{ "DELETE", "faults", h_faults_clear },
	{ "POST", "policies", h_policies_add },
	{ "GET", "policies", h_policies_list },
	{ "DELETE", "policies", h_policies_clear },
	{ "GET", "config", h_config_get },
	{ "POST", "config", h_config_set },
};

/* Splits the raw path after "/_sim/" into decoded segments: message ids may hold an encoded
 * '/', which the decoded path would split. A trailing slash names the same resource. Returns the
 * count, or -1 when there are too many. */
static int
split_path(const char *raw_uri, char *seg[MAX_SEGMENTS])
{
	const char *p = raw_uri + 5, *end = p + strcspn(p, "?#");	/* after "/_sim" */
	int n = 0;

	if (end > p && end[-1] == '/')
		end--;
	while (p < end) {
		const char *s = p + 1, *e;

		for (e = s; e < end && *e != '/'; e++)
			;
		if (*p != '/' || n == MAX_SEGMENTS) {
			while (n > 0)
				free(seg[--n]);
			return -1;
		}
		seg[n++] = httpd_decode(s, (size_t)(e - s), 0);
		p = e;
	}
	return n;
}

static int
match(const char *pattern, char *const *seg, int n, const char **arg)
{
	char *copy = xstrdup(pattern), *part, *save = NULL;
	int i = 0, a = 0, ok = 1;

	for (part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		if (i >= n || (strcmp(part, "*") == 0 ? seg[i][0] == '\0' :
		    strcmp(part, seg[i]) != 0)) {
			ok = 0;
			break;
		}
		if (strcmp(part, "*") == 0 && a < 3)
			arg[a++] = seg[i];
		i++;
	}
	free(copy);
	return ok && i == n;
}

void
graph_control_handle(struct graph_sim *sim, struct httpd_request *req,
    struct httpd_response *resp)
{
	struct ctl c = { sim, req, resp, NULL, { NULL, NULL, NULL } };
	char *seg[MAX_SEGMENTS];
	int n, path_known = 0;

	if (strncmp(req->raw_uri, "/_sim", 5) != 0 || (n = split_path(req->raw_uri, seg)) < 0) {
		sim_control_error(resp, 404, "no such control call: %s %s (see docs/graph-sim.md)",
		    req->method, req->path);
		return;
	}
	if (sim_control_body(req, resp, &c.body) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(routes[i].pattern, seg, n, c.arg))
			continue;
		path_known = 1;
		if (strcmp(req->method, routes[i].method) == 0) {
			routes[i].fn(&c);
			goto out;
		}
	}
	if (path_known)
		sim_control_error(resp, 405, "method %s not allowed on %s", req->method, req->path);
	else
		sim_control_error(resp, 404, "no such control call: %s %s (see docs/graph-sim.md)",
		    req->method, req->path);
out:
	json_decref(c.body);
	for (int i = 0; i < n; i++)
		free(seg[i]);
}
