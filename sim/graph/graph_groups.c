/* graph_groups.c: groups as Graph shows them to an app: GET /v1.0/groups/{id}, its direct
 * members (/members, directoryObjects with @odata.type) and the OData cast to users
 * (/members/microsoft.graph.user), with $select, $top and $skiptoken paging; and the seed's groups.
 * Members are users only: graph-sim has no devices, contacts or nested groups. */
#include "graph_groups.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "err.h"
#include "graph_odata.h"
#include "graph_users.h"
#include "log.h"
#include "xmalloc.h"

#define MEMBERS_PAGE_DEFAULT	100	/* directory default page size */
#define MEMBERS_PAGE_MAX	999
#define USER_CAST		"microsoft.graph.user"

/* Reading a group's members needs one of these (Graph's least privileged is the first). */
static const char *const group_roles[] = {
	"GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All",
	"Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", NULL
};

/* Without one of these the members still come, but as ids only: Graph's "limited information
 * returned for inaccessible member objects". An app with GroupMember.Read.All alone sees no
 * userPrincipalName or mail, a real misconfiguration worth reproducing. */
static const char *const user_read_roles[] = {
	"User.Read.All", "User.ReadWrite.All", "User.ReadBasic.All", "Directory.Read.All",
	"Directory.ReadWrite.All", NULL
};

static const char *const group_props[] = {
	"id", "createdDateTime", "description", "displayName", "groupTypes", "mail",
	"mailEnabled", "securityEnabled", NULL
};

static int
has_role(const struct graph_req *req, const char *const *roles)
{
	size_t i;
	json_t *r;

	json_array_foreach(req->roles, i, r) {
		for (size_t k = 0; roles[k] != NULL; k++)
			if (json_is_string(r) && strcmp(json_string_value(r), roles[k]) == 0)
				return 1;
	}
	return 0;
}

static void
not_found(struct graph_reply *reply, const struct graph_req *req, const char *id)
{
	graph_reply_error(reply, req, 404, "Request_ResourceNotFound",
	    "Resource '%s' does not exist or one of its queried reference-property objects are "
	    "not present.", id);
}

/* 1 when the group exists; else a 404 (or 400 for an id that is no GUID) is in reply. */
static int
group_exists(struct graph_sim *sim, struct graph_req *req, const char *id,
    struct graph_reply *reply)
{
	sqlite3_stmt *st;
	int found;

	if (!graph_is_guid(id)) {
		graph_reply_error(reply, req, 400, "Request_BadRequest",
		    "Invalid object identifier '%s'.", id);
		return 0;
	}
	st = db_prepare(sim->db, "SELECT 1 FROM g_group WHERE id = ? COLLATE NOCASE");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!found)
		not_found(reply, req, id);
	return found;
}

static void
get_group(struct graph_sim *sim, struct graph_req *req, const char *id,
    struct graph_reply *reply)
{
	const char *select = graph_req_param(req, "$select");
	char bad[256], *canon = NULL, *ctx_path, *ctx;
	sqlite3_stmt *st;
	const char *mail;
	json_t *g;

	if (!group_exists(sim, req, id, reply))
		return;
	if (graph_odata_select_check(select, group_props, bad, sizeof(bad)) < 0) {
		graph_reply_error(reply, req, 400, "Request_BadRequest",
		    "Could not find a property named '%s' on type 'microsoft.graph.group'.", bad);
		return;
	}
	st = db_prepare(sim->db, "SELECT id, display_name, mail, created FROM g_group "
	    "WHERE id = ? COLLATE NOCASE");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		not_found(reply, req, id);
		return;
	}
	mail = (const char *)sqlite3_column_text(st, 2);
	g = json_object();
	json_object_set_new(g, "id", json_string((const char *)sqlite3_column_text(st, 0)));
	json_object_set_new(g, "createdDateTime",
	    json_string((const char *)sqlite3_column_text(st, 3)));
	json_object_set_new(g, "description", json_null());
	json_object_set_new(g, "displayName",
	    json_string((const char *)sqlite3_column_text(st, 1)));
	json_object_set_new(g, "groupTypes", json_array());
	json_object_set_new(g, "mail", mail ? json_string(mail) : json_null());
	json_object_set_new(g, "mailEnabled", json_boolean(mail != NULL));
	/* A seeded group is a security group (mail-enabled when it has a mail): the kind an
	 * admin makes to say "these reps". */
	json_object_set_new(g, "securityEnabled", json_true());
	sqlite3_finalize(st);
	graph_odata_select_apply(select, g);
	canon = graph_odata_select_canonical(select, group_props);
	ctx_path = canon ? xasprintf("/v1.0/$metadata#groups(%s)/$entity", canon) :
	    xstrdup("/v1.0/$metadata#groups/$entity");
	ctx = graph_url(sim, ctx_path);
	json_object_set_new(g, "@odata.context", json_string(ctx));
	graph_reply_json(reply, 200, g);
	free(ctx);
	free(ctx_path);
	free(canon);
}

/* Every property but id null: what Graph returns for a member the app may not read. */
static void
limit_member(json_t *u)
{
	const char *key;
	json_t *v;

	json_object_foreach(u, key, v) {
		if (strcmp(key, "id") != 0 && strncmp(key, "@odata.", 7) != 0)
			json_object_set_new(u, key, json_null());
	}
}

/* /members (cast 0: directoryObjects, each with its @odata.type) or /members/microsoft.graph.user
 * (cast 1: users). */
static void
list_members(struct graph_sim *sim, struct graph_req *req, const char *id, int cast,
    struct graph_reply *reply)
{
	const char *select = graph_req_param(req, "$select");
	static const char *const drop[] = { "$skiptoken", NULL };
	static const char *const unsupported[] = { "$filter", "$orderby", "$search", "$count",
	    NULL };
	char bad[256];
	sqlite3_stmt *st;
	long top, offset, n = 0;
	int more = 0, limited;
	json_t *value;

	if (!group_exists(sim, req, id, reply))
		return;
	for (int i = 0; unsupported[i] != NULL; i++) {
		/* Graph serves these on members only as advanced queries (ConsistencyLevel:
		 * eventual); olsync needs none, so graph-sim says so rather than ignore them. */
		if (graph_req_param(req, unsupported[i]) != NULL) {
			graph_reply_error(reply, req, 400, "Request_UnsupportedQuery",
			    "graph-sim does not support %s on group members.", unsupported[i]);
			return;
		}
	}
	if (graph_odata_select_check(select, graph_user_props, bad, sizeof(bad)) < 0) {
		graph_reply_error(reply, req, 400, "Request_BadRequest",
		    "Could not find a property named '%s' on type '%s'.", bad,
		    cast ? "microsoft.graph.user" : "microsoft.graph.directoryObject");
		return;
	}
	if (graph_users_page_args(req, reply, MEMBERS_PAGE_DEFAULT, MEMBERS_PAGE_MAX, &top,
	    &offset) < 0)
		return;
	limited = !has_role(req, user_read_roles);
	st = db_prepare(sim->db, "SELECT " GRAPH_USER_COLS " FROM g_group_member "
	    "JOIN g_user ON g_user.id = g_group_member.user_id WHERE group_id = ? COLLATE NOCASE "
	    "ORDER BY g_group_member.rowid LIMIT ? OFFSET ?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, top + 1);
	sqlite3_bind_int64(st, 3, offset);
	value = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *u;

		if (n == top) {
			more = 1;
			break;
		}
		u = graph_users_json(st, select);
		if (!cast)
			json_object_set_new(u, "@odata.type", json_string("#" USER_CAST));
		if (limited)
			limit_member(u);
		json_array_append_new(value, u);
		n++;
	}
	sqlite3_finalize(st);
	graph_users_reply_page(sim, req, reply, cast ? "users" : "directoryObjects", select, value,
	    more, offset + n, drop);
}

void
graph_groups_call(struct graph_sim *sim, struct graph_req *req, const char *rest,
    struct graph_reply *reply)
{
	const char *seg, *slash;
	char *id;

	if (!graph_require_role(req, reply, group_roles, "Authorization_RequestDenied",
	    "Insufficient privileges to complete the operation."))
		return;
	if (strcmp(req->method, "GET") != 0) {
		graph_reply_error(reply, req, 405, "Request_BadRequest",
		    "The HTTP method '%s' is not supported on this resource.", req->method);
		return;
	}
	if (rest == NULL || rest[0] != '/' || rest[1] == '\0' || rest[1] == '/') {
		/* Listing and filtering groups is not something olsync does. */
		graph_reply_error(reply, req, 400, "Request_BadRequest",
		    "graph-sim serves /groups/{id} and /groups/{id}/members only.");
		return;
	}
	seg = rest + 1;
	slash = strchr(seg, '/');
	id = slash ? xstrndup(seg, (size_t)(slash - seg)) : xstrdup(seg);
	if (slash == NULL)
		get_group(sim, req, id, reply);
	else if (strcasecmp(slash, "/members") == 0 || strcasecmp(slash, "/members/") == 0)
		list_members(sim, req, id, 0, reply);
	else if (strcasecmp(slash, "/members/" USER_CAST) == 0)
		list_members(sim, req, id, 1, reply);
	else
		graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the "
		    "segment '%s'.", slash + 1);
	free(id);
}

/* ---- creation (seed) ---- */

static int
add_member(struct graph_sim *sim, const char *gid, const char *name, const char *who,
    char *err, size_t errlen)
{
	struct graph_user u;
	sqlite3_stmt *st;
	int rc;

	if (graph_user_find(sim, who, &u) < 0)
		return err_set(err, errlen, "group %s: member \"%s\" is not a user of the tenant",
		    name, who);
	st = db_prepare(sim->db, "INSERT INTO g_group_member (group_id, user_id) VALUES (?, ?)");
	sqlite3_bind_text(st, 1, gid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, u.id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(err, errlen, "group %s: %s", name, rc == SQLITE_CONSTRAINT ?
		    "a member is listed twice" : sqlite3_errmsg(sim->db));
	return 0;
}

int
graph_groups_create(struct graph_sim *sim, json_t *spec, char id_out[40], char *err,
    size_t errlen)
{
	static const char *const keys[] = { "id", "displayName", "mail", "members", NULL };
	const char *name, *id, *mail, *key, *at;
	json_t *members, *v;
	char guid[37], now[32];
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if (!json_is_object(spec))
		return err_set(err, errlen, "a group must be a JSON object");
	json_object_foreach(spec, key, v) {
		for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
			;
		if (keys[i] == NULL)
			return err_set(err, errlen, "unknown group key \"%s\" (id, displayName, "
			    "mail, members)", key);
	}
	name = json_string_value(json_object_get(spec, "displayName"));
	id = json_string_value(json_object_get(spec, "id"));
	mail = json_string_value(json_object_get(spec, "mail"));
	members = json_object_get(spec, "members");
	if (name == NULL || *name == '\0' || strlen(name) > 256)
		return err_set(err, errlen, "a group needs a displayName (1 to 256 characters)");
	if (json_object_get(spec, "id") != NULL && !graph_is_guid(id))
		return err_set(err, errlen, "group %s: id must be a GUID", name);
	if (json_object_get(spec, "mail") != NULL && (mail == NULL ||
	    (at = strchr(mail, '@')) == NULL || at == mail || at[1] == '\0'))
		return err_set(err, errlen, "group %s: mail must be name@domain", name);
	if (members != NULL && !json_is_array(members))
		return err_set(err, errlen, "group %s: members must be an array of "
		    "userPrincipalNames or ids", name);
	if (id == NULL) {
		graph_guid(guid);
		id = guid;
	}
	snprintf(id_out, 40, "%s", id);
	for (char *p = id_out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	graph_now_iso(now);
	st = db_prepare(sim->db, "INSERT INTO g_group (id, display_name, mail, created) "
	    "VALUES (?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, mail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(err, errlen, "group %s: %s", name, rc == SQLITE_CONSTRAINT ?
		    "id already exists" : sqlite3_errmsg(sim->db));
	json_array_foreach(members, i, v) {
		if (!json_is_string(v))
			return err_set(err, errlen, "group %s: members[%zu] must be a "
			    "userPrincipalName or an id", name, i);
		if (add_member(sim, id_out, name, json_string_value(v), err, errlen) < 0)
			return -1;
	}
	log_info("graph-groups: created group=%s members=%zu", id_out, json_array_size(members));
	return 0;
}
