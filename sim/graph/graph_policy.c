/* graph_policy.c: application access policies, the legacy way an Exchange admin narrows an app's
 * tenant-wide Mail.Read or Calendars.Read to chosen mailboxes (New-ApplicationAccessPolicy,
 * reference §8.1). RBAC for Applications (§8.2) refuses a mailbox outside its scope the same
 * way on the wire, so this one model stands for both. */
#include "graph_policy.h"

#include <string.h>
#include <strings.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "sim_control.h"

static const char *const spec_keys[] = { "appId", "groupId", "accessRight" };

int
graph_policy_allows(struct graph_sim *sim, const char *app_id, const char *user_id)
{
	/* Restricted apps reach the members of one of their RestrictAccess groups only; a
	 * DenyAccess group's members are refused whatever else applies. */
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT "
	    " (SELECT count(*) FROM g_policy WHERE app_id = ?1 AND access_right = 'RestrictAccess'),"
	    " (SELECT count(*) FROM g_policy p JOIN g_group_member m ON m.group_id = p.group_id"
	    "  WHERE p.app_id = ?1 AND p.access_right = 'RestrictAccess' AND m.user_id = ?2),"
	    " (SELECT count(*) FROM g_policy p JOIN g_group_member m ON m.group_id = p.group_id"
	    "  WHERE p.app_id = ?1 AND p.access_right = 'DenyAccess' AND m.user_id = ?2)");
	int ok = 1;

	sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) > 0 && sqlite3_column_int64(st, 1) == 0)
			ok = 0;
		if (sqlite3_column_int64(st, 2) > 0)
			ok = 0;
	}
	sqlite3_finalize(st);
	return ok;
}

static json_t *
row_json(sqlite3_stmt *st)
{
	return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "appId", (const char *)sqlite3_column_text(st, 1),
	    "groupId", (const char *)sqlite3_column_text(st, 2),
	    "accessRight", (const char *)sqlite3_column_text(st, 3));
}

int
graph_policy_add(struct graph_sim *sim, json_t *spec, json_t **out, char *err, size_t errlen)
{
	const char *app, *group, *right, *unknown;
	sqlite3_stmt *st;
	int found, mail_enabled = 0;
	long long id;

	*out = NULL;
	if (!json_is_object(spec))
		return err_set(err, errlen, "a policy is {\"appId\",\"groupId\",\"accessRight\"}");
	if ((unknown = sim_control_unknown_key(spec, spec_keys, 3)) != NULL)
		return err_set(err, errlen, "unknown key \"%s\" in a policy", unknown);
	app = json_string_value(json_object_get(spec, "appId"));
	group = json_string_value(json_object_get(spec, "groupId"));
	right = json_string_value(json_object_get(spec, "accessRight"));
	if (app == NULL || group == NULL || right == NULL)
		return err_set(err, errlen, "appId, groupId and accessRight are required strings");
	if (strcmp(right, "RestrictAccess") != 0 && strcmp(right, "DenyAccess") != 0)
		return err_set(err, errlen, "accessRight must be RestrictAccess or DenyAccess");
	st = db_prepare(sim->db, "SELECT 1 FROM g_app WHERE client_id = ?");
	sqlite3_bind_text(st, 1, app, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!found)
		return err_set(err, errlen, "no app with clientId \"%s\"", app);
	st = db_prepare(sim->db, "SELECT mail IS NOT NULL FROM g_group WHERE id = lower(?)");
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		mail_enabled = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!found)
		return err_set(err, errlen, "no group \"%s\"", group);
	/* Exchange scopes a policy by a mail-enabled security group only. */
	if (!mail_enabled)
		return err_set(err, errlen, "group \"%s\" is not mail-enabled: an application "
		    "access policy needs a mail-enabled security group", group);
	st = db_prepare(sim->db, "INSERT INTO g_policy (app_id, group_id, access_right) "
	    "VALUES (?, lower(?), ?)");
	sqlite3_bind_text(st, 1, app, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, right, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!found)
		return err_set(err, errlen, "app \"%s\" already has a policy for group \"%s\"",
		    app, group);
	id = sqlite3_last_insert_rowid(sim->db);
	st = db_prepare(sim->db, "SELECT id, app_id, group_id, access_right FROM g_policy "
	    "WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = row_json(st);
	sqlite3_finalize(st);
	log_info("graph-policy: added app=%s group=%s right=%s", app, group, right);
	return 0;
}

json_t *
graph_policy_list(struct graph_sim *sim)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT id, app_id, group_id, access_right "
	    "FROM g_policy ORDER BY id");
	json_t *a = json_array();

	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, row_json(st));
	sqlite3_finalize(st);
	return a;
}

long
graph_policy_clear(struct graph_sim *sim)
{
	char err[256];
	long n;

	if (db_exec(sim->db, "DELETE FROM g_policy", err, sizeof(err)) < 0) {
		log_warnx("graph-policy: clear failed reason=\"%s\"", err);
		return -1;
	}
	n = (long)sqlite3_changes(sim->db);
	return n;
}
