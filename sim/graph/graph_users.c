/* graph_users.c: the directory as Graph shows it to an app: GET /v1.0/users (paging with
 * $skiptoken, $select, $filter on mail and userPrincipalName) and /users/{id | upn}; the user
 * lookup every mailbox path starts with; and user creation for the seed. */
#include "graph_users.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "db.h"
#include "graph_mail.h"
#include "graph_odata.h"
#include "log.h"
#include "xmalloc.h"

#define USERS_PAGE_DEFAULT	100	/* directory default page size */
#define USERS_PAGE_MAX		999
#define SKIPTOKEN_MAGIC		"DSpt:"	/* inside the base64url of our $skiptoken values */

static const char *const directory_roles[] = {
	"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
	"User.ReadBasic.All", NULL
};

/* What $select may name: Graph's default user properties, then a few more it returns only
 * when selected. */
const char *const graph_user_props[] = {
	"id", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName",
	"accountEnabled", "createdDateTime", NULL
};
#define USER_DEFAULT_PROPS 11	/* the first eleven of graph_user_props */

static const struct graph_filter_prop user_filter[] = {
	{ "id", GRAPH_FILTER_STRING, GRAPH_OP_EQ },
	{ "mail", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_STARTSWITH },
	{ "userPrincipalName", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_STARTSWITH },
	{ "displayName", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_STARTSWITH },
	{ "givenName", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_STARTSWITH },
	{ "surname", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_STARTSWITH },
	{ NULL, 0, 0 },
};

/* Columns for the filterable properties above, in the same order. */
static const char *const user_filter_cols[] = {
	"id", "mail", "upn", "display_name", "given_name", "surname",
};

static void
set_text(json_t *obj, const char *key, sqlite3_stmt *st, int col)
{
	const char *v = (const char *)sqlite3_column_text(st, col);

	json_object_set_new(obj, key, v != NULL ? json_string(v) : json_null());
}

json_t *
graph_users_json(sqlite3_stmt *st, const char *select)
{
	json_t *u = json_object();
	int want_extra = select != NULL && *select != '\0';

	json_object_set_new(u, "businessPhones", json_array());
	set_text(u, "displayName", st, 3);
	set_text(u, "givenName", st, 4);
	set_text(u, "jobTitle", st, 6);
	set_text(u, "mail", st, 2);
	json_object_set_new(u, "mobilePhone", json_null());
	json_object_set_new(u, "officeLocation", json_null());
	json_object_set_new(u, "preferredLanguage", json_null());
	set_text(u, "surname", st, 5);
	set_text(u, "userPrincipalName", st, 1);
	set_text(u, "id", st, 0);
	if (want_extra) {
		json_object_set_new(u, "accountEnabled", json_boolean(sqlite3_column_int(st, 7)));
		set_text(u, "createdDateTime", st, 8);
		graph_odata_select_apply(select, u);
	}
	return u;
}

int
graph_user_find(struct graph_sim *sim, const char *id_or_upn, struct graph_user *out)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (id_or_upn == NULL || *id_or_upn == '\0')
		return -1;
	st = db_prepare(sim->db, "SELECT id, upn, mail, display_name, has_mailbox FROM g_user "
	    "WHERE id = ?1 COLLATE NOCASE OR upn = ?1");
	sqlite3_bind_text(st, 1, id_or_upn, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *mail = (const char *)sqlite3_column_text(st, 2);
		const char *name = (const char *)sqlite3_column_text(st, 3);

		memset(out, 0, sizeof(*out));
		snprintf(out->id, sizeof(out->id), "%s", sqlite3_column_text(st, 0));
		snprintf(out->upn, sizeof(out->upn), "%s", sqlite3_column_text(st, 1));
		snprintf(out->mail, sizeof(out->mail), "%s", mail ? mail : "");
		snprintf(out->display_name, sizeof(out->display_name), "%s", name ? name : "");
		out->has_mailbox = sqlite3_column_int(st, 4);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- $skiptoken: opaque to clients, an offset to us ---- */

char *
graph_users_skiptoken(long offset)
{
	char raw[64];

	snprintf(raw, sizeof(raw), SKIPTOKEN_MAGIC "%ld", offset);
	return b64url_encode(raw, strlen(raw));
}

int
graph_users_skiptoken_parse(const char *token, long *offset)
{
	unsigned char *raw;
	size_t len;
	int rc = -1;

	if (b64url_decode(token, strlen(token), &raw, &len) < 0)
		return -1;
	if (len > strlen(SKIPTOKEN_MAGIC) && memcmp(raw, SKIPTOKEN_MAGIC,
	    strlen(SKIPTOKEN_MAGIC)) == 0 &&
	    graph_odata_parse_count((char *)raw + strlen(SKIPTOKEN_MAGIC), offset) == 0)
		rc = 0;
	free(raw);
	return rc;
}

int
graph_users_page_args(struct graph_req *req, struct graph_reply *reply, long dflt, long max,
    long *top, long *offset)
{
	const char *skiptoken = graph_req_param(req, "$skiptoken");

	*offset = 0;
	*top = graph_odata_top_as(req, dflt, max, "Request_UnsupportedQuery",
	    "Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", reply);
	if (*top < 0)
		return -1;
	if (skiptoken != NULL && graph_users_skiptoken_parse(skiptoken, offset) < 0) {
		graph_reply_error(reply, req, 400, "Directory_ExpiredPageToken",
		    "The specified page token value has expired and can no longer be included in "
		    "your request.");
		return -1;
	}
	return 0;
}

void
graph_users_reply_page(struct graph_sim *sim, struct graph_req *req,
    struct graph_reply *reply, const char *set, const char *select, json_t *value, int more,
    long next, const char *const *drop)
{
	char *canon = graph_odata_select_canonical(select, graph_user_props);
	char *ctx_path = xasprintf("/v1.0/$metadata#%s%s%s%s", set, canon ? "(" : "",
	    canon ? canon : "", canon ? ")" : "");
	char *ctx = graph_url(sim, ctx_path);
	json_t *body = json_object();

	json_object_set_new(body, "@odata.context", json_string(ctx));
	if (more) {
		char *tok = graph_users_skiptoken(next);
		char *link = graph_odata_link(sim, req, drop, "$skiptoken", tok);

		json_object_set_new(body, "@odata.nextLink", json_string(link));
		free(link);
		free(tok);
	}
	json_object_set_new(body, "value", value);
	graph_reply_json(reply, 200, body);
	free(ctx);
	free(ctx_path);
	free(canon);
}

/* Appends the WHERE clause of a parsed $filter to sql; binds come later in term order. */
static char *
filter_sql(const struct graph_filter *f)
{
	char *sql = xstrdup(" WHERE ");

	for (int i = 0; i < f->nterms; i++) {
		const struct graph_filter_term *t = &f->terms[i];
		const char *col = user_filter_cols[t->prop - user_filter];
		char *next;

		if (t->op == GRAPH_OP_STARTSWITH)
			next = xasprintf("%s%s(substr(%s, 1, length(?%d)) = ?%d COLLATE NOCASE)", sql,
			    i ? (f->any ? " OR " : " AND ") : "", col, i + 1, i + 1);
		else
			next = xasprintf("%s%s(%s %s ?%d COLLATE NOCASE)", sql,
			    i ? (f->any ? " OR " : " AND ") : "", col, graph_odata_sql_op(t->op),
			    i + 1);
		free(sql);
		sql = next;
	}
	return sql;
}

static void
list_users(struct graph_sim *sim, struct graph_req *req, struct graph_reply *reply)
{
	const char *select = graph_req_param(req, "$select");
	const char *filter_text = graph_req_param(req, "$filter");
	static const char *const drop[] = { "$skiptoken", NULL };
	struct graph_filter filter;
	char bad[256], *where = NULL, *sql = NULL;
	sqlite3_stmt *st = NULL;
	long top, offset, n = 0;
	json_t *value;
	int more = 0;

	if (graph_odata_select_check(select, graph_user_props, bad, sizeof(bad)) < 0) {
		graph_reply_error(reply, req, 400, "Request_BadRequest",
		    "Could not find a property named '%s' on type 'microsoft.graph.user'.", bad);
		return;
	}
	if (graph_users_page_args(req, reply, USERS_PAGE_DEFAULT, USERS_PAGE_MAX, &top,
	    &offset) < 0)
		return;
	if (filter_text != NULL) {
		enum graph_filter_result r = graph_odata_filter_parse(filter_text, user_filter,
		    &filter, bad, sizeof(bad));

		if (r == GRAPH_FILTER_UNSUPPORTED) {
			graph_reply_error(reply, req, 400, "Request_UnsupportedQuery",
			    "Unsupported or invalid query filter clause specified for property '%s' "
			    "of resource 'User'.", bad);
			return;
		}
		if (r != GRAPH_FILTER_OK) {
			graph_reply_error(reply, req, 400, "BadRequest", "Invalid filter clause: %s",
			    bad);
			return;
		}
		where = filter_sql(&filter);
	}
	sql = xasprintf("SELECT " GRAPH_USER_COLS " FROM g_user%s ORDER BY rowid LIMIT %ld "
	    "OFFSET %ld", where ? where : "", top + 1, offset);
	st = db_prepare(sim->db, sql);
	for (int i = 0; filter_text != NULL && i < filter.nterms; i++)
		sqlite3_bind_text(st, i + 1, filter.terms[i].value, -1, SQLITE_STATIC);
	value = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == top) {
			more = 1;
			break;
		}
		json_array_append_new(value, graph_users_json(st, select));
		n++;
	}
	graph_users_reply_page(sim, req, reply, "users", select, value, more, offset + n, drop);
	sqlite3_finalize(st);
	free(sql);
	free(where);
}

static void
get_user(struct graph_sim *sim, struct graph_req *req, const char *key,
    struct graph_reply *reply)
{
	const char *select = graph_req_param(req, "$select");
	char bad[256], *canon, *ctx_path, *ctx;
	sqlite3_stmt *st;
	json_t *u;

	if (graph_odata_select_check(select, graph_user_props, bad, sizeof(bad)) < 0) {
		graph_reply_error(reply, req, 400, "Request_BadRequest",
		    "Could not find a property named '%s' on type 'microsoft.graph.user'.", bad);
		return;
	}
	st = db_prepare(sim->db, "SELECT " GRAPH_USER_COLS " FROM g_user WHERE id = ?1 "
	    "COLLATE NOCASE OR upn = ?1");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		graph_reply_error(reply, req, 404, "Request_ResourceNotFound",
		    "Resource '%s' does not exist or one of its queried reference-property objects "
		    "are not present.", key);
		return;
	}
	u = graph_users_json(st, select);
	sqlite3_finalize(st);
	canon = graph_odata_select_canonical(select, graph_user_props);
	ctx_path = canon ? xasprintf("/v1.0/$metadata#users(%s)/$entity", canon) :
	    xstrdup("/v1.0/$metadata#users/$entity");
	ctx = graph_url(sim, ctx_path);
	json_object_set_new(u, "@odata.context", json_string(ctx));
	graph_reply_json(reply, 200, u);
	free(ctx);
	free(ctx_path);
	free(canon);
}

void
graph_users_call(struct graph_sim *sim, struct graph_req *req, const char *rest,
    struct graph_reply *reply)
{
	if (!graph_require_role(req, reply, directory_roles, "Authorization_RequestDenied",
	    "Insufficient privileges to complete the operation."))
		return;
	if (strcmp(req->method, "GET") != 0) {
		/* creating and changing users is an admin's job, not olsync's */
		graph_reply_error(reply, req, 405, "Request_BadRequest",
		    "The HTTP method '%s' is not supported on this resource.", req->method);
		return;
	}
	if (rest == NULL || *rest == '\0' || strcmp(rest, "/") == 0) {
		list_users(sim, req, reply);
		return;
	}
	if (rest[0] == '/' && strchr(rest + 1, '/') == NULL) {
		get_user(sim, req, rest + 1, reply);
		return;
	}
	graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the segment "
	    "'%s'.", rest + 1);
}

/* ---- creation (seed) ---- */

static const char *
opt_string(json_t *spec, const char *key)
{
	return json_string_value(json_object_get(spec, key));
}

int
graph_users_create(struct graph_sim *sim, json_t *spec, char id_out[40], char *err,
    size_t errlen)
{
	const char *upn = opt_string(spec, "userPrincipalName");
	const char *id = opt_string(spec, "id");
	const char *mail = opt_string(spec, "mail");
	const char *display = opt_string(spec, "displayName");
	json_t *enabled = json_object_get(spec, "accountEnabled");
	json_t *mailbox = json_object_get(spec, "hasMailbox");
	char guid[37], now[32], *local = NULL, *at;
	int has_mailbox, rc;
	sqlite3_stmt *st;

	if (!json_is_object(spec)) {
		snprintf(err, errlen, "a user must be an object");
		return -1;
	}
	if (upn == NULL || (at = strchr(upn, '@')) == NULL || at == upn || at[1] == '\0' ||
	    strlen(upn) >= sizeof(((struct graph_user *)0)->upn)) {
		snprintf(err, errlen, "userPrincipalName must be name@domain");
		return -1;
	}
	if (id != NULL && !graph_is_guid(id)) {
		snprintf(err, errlen, "user %s: id must be a GUID", upn);
		return -1;
	}
	if ((enabled != NULL && !json_is_boolean(enabled)) ||
	    (mailbox != NULL && !json_is_boolean(mailbox))) {
		snprintf(err, errlen, "user %s: accountEnabled and hasMailbox are booleans", upn);
		return -1;
	}
	has_mailbox = mailbox == NULL || json_is_true(mailbox);
	/* Graph shows mail null for a user without an Exchange mailbox */
	if (mail == NULL && has_mailbox)
		mail = upn;
	if (display == NULL)
		display = local = xstrndup(upn, (size_t)(at - upn));
	if (id == NULL) {
		graph_guid(guid);
		id = guid;
	}
	graph_now_iso(now);
	st = db_prepare(sim->db, "INSERT INTO g_user (id, upn, mail, display_name, given_name, "
	    "surname, job_title, account_enabled, has_mailbox, created) VALUES "
	    "(lower(?), ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, upn, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, mail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, display, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, opt_string(spec, "givenName"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, opt_string(spec, "surname"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, opt_string(spec, "jobTitle"), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, enabled == NULL || json_is_true(enabled));
	sqlite3_bind_int(st, 9, has_mailbox);
	sqlite3_bind_text(st, 10, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(local);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "user %s: %s", upn, rc == SQLITE_CONSTRAINT ?
		    "id or userPrincipalName already exists" : sqlite3_errmsg(sim->db));
		return -1;
	}
	snprintf(id_out, 40, "%s", id);
	for (char *p = id_out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (has_mailbox && graph_mail_ensure_folders(sim, id_out) < 0) {
		snprintf(err, errlen, "user %s: cannot create mail folders", upn);
		return -1;
	}
	log_info("graph-users: created user=%s mailbox=%d", id_out, has_mailbox);
	return 0;
}
