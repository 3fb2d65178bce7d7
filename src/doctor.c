/* doctor.c: `olsync doctor`, the checks an operator runs before (and whenever) olsync does not do
 * what they expect: each check talks to the real thing through the modules olsync itself uses
 * (config, ledger, graph_client, sf_client, budget), so what passes here works there. One line
 * per check, "LEVEL  what: finding -- fix: what to change"; docs/doctor.md explains each. */
#include "doctor.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "budget.h"
#include "config.h"
#include "crypto.h"
#include "graph_client.h"
#include "httpc.h"
#include "ledger.h"
#include "log.h"
#include "receiver.h"
#include "sf_client.h"
#include "store.h"
#include "xmalloc.h"

enum level {
	LEVEL_OK,
	LEVEL_WARN,
	LEVEL_FAIL,
	LEVEL_SKIP,	/* not checked: an earlier check it depends on failed */
};

static const char *const level_names[] = {
	[LEVEL_OK] = "ok", [LEVEL_WARN] = "warn", [LEVEL_FAIL] = "FAIL", [LEVEL_SKIP] = "skip",
};

struct doctor {
	FILE			*out;
	const struct config	*cfg;
	struct ledger		*ledger;	/* open when the database check passed */
	struct graph_client	*graph;		/* with a token when graph_ok */
	struct sf_client	*sf;		/* logged in when sf_ok */
	int			 graph_ok, sf_ok;
	int			 failed, warned;
	int			 limits_ok;	/* GET /limits answered (after login) */
	struct remote_failure	 limits_f;	/* or why not */
};

/* One line: the level, what was checked and what was found, and for a warning or a failure
 * the fix. Nothing printed here comes from a secret: callers pass names, ids and messages. */
static void __attribute__((format(printf, 4, 5)))
say(struct doctor *d, enum level lv, const char *fix, const char *fmt, ...)
{
	va_list ap;

	fprintf(d->out, "%-*s", DOCTOR_LEVEL_WIDTH, level_names[lv]);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	if (fix != NULL && lv != LEVEL_OK)
		fprintf(d->out, " -- fix: %s", fix);
	fputc('\n', d->out);
	if (lv == LEVEL_FAIL)
		d->failed++;
	else if (lv == LEVEL_WARN)
		d->warned++;
}

/* ---- configuration and database ---- */

static int
check_config(struct doctor *d, const char *path, struct config *cfg)
{
	struct config_errors errs;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = config_load(path, cfg, &errs);
	if (rc == -1) {
		for (size_t i = 0; i < errs.n; i++)
			say(d, LEVEL_FAIL, "correct the configuration (docs/configuration.md)",
			    "config: %s", errs.v[i]);
		if (errs.n == 0)
			say(d, LEVEL_FAIL, "see docs/configuration.md", "config: %s does not load",
			    path);
	} else {
		say(d, LEVEL_OK, NULL, "config: %s loads", path);
	}
	config_errors_free(&errs);
	return rc;
}

/* A PostgreSQL ledger: the server answers for this user, and the schema is one this olsync can
 * use (checked without migrating: doctor writes nothing). */
static void
check_postgresql(struct doctor *d)
{
	const char *uri = d->cfg->database;
	int version, current = ledger_schema_current();
	struct store *s;
	char err[512];

	if (store_open(uri, d->cfg->database_password, &s, err, sizeof(err)) == -1) {
		say(d, LEVEL_FAIL, "check the URI's host, port and database, that the server "
		    "takes connections from here (pg_hba.conf), and the user's password in "
		    "database_password_file", "database %s: %s", uri, err);
		return;
	}
	version = store_version(s, err, sizeof(err));
	store_close(s);
	if (version < 0)
		say(d, LEVEL_FAIL, "let the user read and create tables in the database "
		    "(GRANT CREATE ON SCHEMA public)", "database %s: cannot read the schema: %s",
		    uri, err);
	else if (version > current)
		say(d, LEVEL_FAIL, "run the newer olsync that migrated it; every instance on "
		    "one database must be the same version", "database %s: schema version %d "
		    "is newer than this olsync's (%d)", uri, version, current);
	else if (version < current)
		say(d, LEVEL_WARN, "nothing to do: the next olsync start migrates it (one "
		    "instance does it; the others wait)", "database %s: schema version %d of %d, "
		    "migrations pending", uri, version, current);
	else
		say(d, LEVEL_OK, NULL, "database %s: connects, schema version %d is current",
		    uri, version);
	if (version == current && ledger_connect(uri,
	    d->cfg->database_password, &d->ledger, err, sizeof(err)) == -1)
		d->ledger = NULL;
}

static void
check_database(struct doctor *d)
{
	const char *path = d->cfg->database;
	char err[512];
	int version, current;
	enum ledger_probe p;

	if (store_target_is_postgresql(path)) {
		check_postgresql(d);
		return;
	}
	p = ledger_probe(path, &version, &current, err, sizeof(err));

	switch (p) {
	case LEDGER_PROBE_OK:
		if (ledger_open(path, &d->ledger, err, sizeof(err)) == -1) {
			say(d, LEVEL_FAIL, "see the reason; restore a backup if the file is damaged",
			    "database %s: cannot be opened: %s", path, err);
			return;
		}
		say(d, LEVEL_OK, NULL, "database %s: opens, schema version %d is current, "
		    "writable", path, version);
		return;
	case LEDGER_PROBE_MISSING:
		say(d, LEVEL_OK, NULL, "database %s: not created yet; its directory is writable, "
		    "so the first start creates it", path);
		return;
	case LEDGER_PROBE_OLDER:
		say(d, LEVEL_WARN, "nothing to do: the next olsync start migrates it (back the "
		    "file up first if you may go back to the older olsync)", "database %s: schema "
		    "version %d of %d, migrations pending", path, version, current);
		return;
	case LEDGER_PROBE_NEWER:
		say(d, LEVEL_FAIL, "run the newer olsync that made it, or point database at "
		    "another file", "database %s: schema version %d is newer than this olsync's "
		    "(%d)", path, version, current);
		return;
	case LEDGER_PROBE_READONLY:
		say(d, LEVEL_FAIL, "let the user olsync runs as write the file and its "
		    "directory (chown, chmod u+w; a read-only mount will not do)",
		    "database %s: not writable: %s", path, err);
		return;
	case LEDGER_PROBE_BUSY:
		say(d, LEVEL_FAIL, "find the process that holds it (a second olsync on the same "
		    "database, a sqlite3 shell left in a transaction: fuser the file) and stop it",
		    "database %s: not writable: another process held its write lock for %d ms (%s)",
		    path, LEDGER_PROBE_BUSY_MS, err);
		return;
	case LEDGER_PROBE_ERROR:
	default:
		say(d, LEVEL_FAIL, "make the directory (owned by the user olsync runs as), or "
		    "point database at a SQLite file olsync may create", "database %s: cannot be "
		    "used: %s", path, err);
		return;
	}
}

/* ---- Microsoft Graph ---- */

static int
has_role(const json_t *roles, const char *role)
{
	size_t i;
	json_t *r;

	json_array_foreach(roles, i, r)
		if (json_is_string(r) && strcasecmp(json_string_value(r), role) == 0)
			return 1;
	return 0;
}

/* The names of roles (a JSON array of strings) joined by ", ", at most len bytes. */
static void
join_roles(const json_t *roles, char *buf, size_t len)
{
	size_t i, used = 0;
	json_t *r;

	buf[0] = '\0';
	json_array_foreach(roles, i, r) {
		int n;

		if (!json_is_string(r))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
		    json_string_value(r));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

#define FIX_APP_PERMISSIONS "in the Entra admin center, App registrations > the app > API " \
	"permissions > Add a permission > Microsoft Graph > Application permissions, add %s, " \
	"then Grant admin consent"

/* The token and what its claims say: roles are application permissions (the app-only flow's),
 * scp delegated ones (which the app-only flow never uses: the guide's classic mistake).
 * *roles gets the roles array (caller decrefs) when a token came. */
static void
check_graph_token(struct doctor *d, json_t **roles, const char *needed)
{
	struct remote_failure f;
	json_t *claims = NULL;
	const char *scp;
	char err[512], names[512], fix[768];

	*roles = NULL;
	if ((d->graph = graph_client_new(d->cfg, err, sizeof(err))) == NULL) {
		say(d, LEVEL_FAIL, "see the reason (graph_certificate_file, graph_private_key)",
		    "graph token: %s", err);
		return;
	}
	if (graph_client_login(d->graph, &claims, &f) == -1) {
		say(d, LEVEL_FAIL, "check graph_tenant, graph_client_id and the client secret or "
		    "certificate against the app registration (Certificates & secrets: an expired "
		    "secret needs a new one)", "graph token: refused: %s", f.message);
		return;
	}
	snprintf(fix, sizeof(fix), FIX_APP_PERMISSIONS, needed);
	/* A token without the claim has no application permission at all: each check below
	 * then says which one is missing. */
	*roles = json_incref(json_object_get(claims, "roles"));
	if (!json_is_array(*roles)) {
		json_decref(*roles);
		*roles = json_array();
	}
	scp = json_string_value(json_object_get(claims, "scp"));
	if (json_array_size(*roles) > 0) {
		join_roles(*roles, names, sizeof(names));
		say(d, LEVEL_OK, NULL, "graph token: application permissions (roles %s)", names);
		d->graph_ok = 1;
	} else if (scp != NULL && *scp != '\0') {
		say(d, LEVEL_FAIL, fix, "graph token: delegated permissions only (scp %.200s), "
		    "no application permission: olsync runs as a daemon without a user and can use "
		    "application permissions only", scp);
	} else {
		say(d, LEVEL_FAIL, fix, "graph token: no permission at all (no roles claim): "
		    "nothing is consented for the app");
	}
	json_decref(claims);
}

static void
check_graph_permissions(struct doctor *d, const json_t *roles,
    const struct graph_permission *perms, size_t n)
{
	char fix[768];

	for (size_t i = 0; i < n; i++) {
		const struct graph_permission *p = &perms[i];
		const char *granted = NULL;

		if (roles == NULL) {
			say(d, LEVEL_SKIP, NULL, "graph permission %s: not checked (no token)",
			    p->name);
			continue;
		}
		for (size_t k = 0; p->grants[k] != NULL && granted == NULL; k++)
			if (has_role(roles, p->grants[k]))
				granted = p->grants[k];
		snprintf(fix, sizeof(fix), FIX_APP_PERMISSIONS, p->name);
		if (granted == NULL)
			say(d, LEVEL_FAIL, fix, "graph permission %s: not granted (olsync %s)",
			    p->name, p->why);
		else if (strcmp(granted, p->name) != 0)
			say(d, LEVEL_OK, NULL, "graph permission %s: granted through %s (olsync %s)",
			    p->name, granted, p->why);
		else
			say(d, LEVEL_OK, NULL, "graph permission %s: granted (olsync %s)", p->name,
			    p->why);
	}
}

/* One mailbox: its Inbox, and its calendar when meetings are on. */
static void
check_mailbox(struct doctor *d, const char *mailbox)
{
	struct remote_failure f;
	char fix[512];
	int calendar = 0;

	if (graph_client_mailbox_probe(d->graph, mailbox, 0, &f) == 0 && d->cfg->meetings) {
		calendar = 1;
		graph_client_mailbox_probe(d->graph, mailbox, 1, &f);
	}
	if (f.cls == REMOTE_OK) {
		say(d, LEVEL_OK, NULL, "graph mailbox %s: readable (%s)", mailbox,
		    d->cfg->meetings ? "mail and calendar" : "mail");
		return;
	}
	if (strcmp(f.code, GRAPH_CLIENT_POLICY_CODE) == 0) {
		snprintf(fix, sizeof(fix), "an Exchange admin lets the app in: with an application "
		    "access policy, add the mailbox to the policy's group (check with "
		    "Test-ApplicationAccessPolicy -Identity %s -AppId %s); with RBAC for "
		    "Applications, widen the management scope (Test-ServicePrincipalAuthorization); "
		    "or remove %s from mailboxes. Changes can take an hour to apply", mailbox,
		    d->cfg->graph_client_id, mailbox);
		say(d, LEVEL_FAIL, fix, "graph mailbox %s: %s refused by an application access "
		    "policy or RBAC for Applications (403 ErrorAccessDenied: %s)", mailbox,
		    calendar ? "calendar" : "mail", GRAPH_CLIENT_POLICY_MESSAGE);
	} else if (f.cls == REMOTE_AUTH) {
		say(d, LEVEL_FAIL, "grant the permission named, as an Application permission with "
		    "admin consent", "graph mailbox %s: %s", mailbox, f.message);
	} else if (f.status == 404) {
		say(d, LEVEL_FAIL, "check the address in mailboxes; the user needs an Exchange "
		    "Online mailbox (a license)", "graph mailbox %s: no such mailbox: %s", mailbox,
		    f.message);
	} else {
		say(d, LEVEL_FAIL, "see the reason; run doctor again if Graph was busy",
		    "graph mailbox %s: %s", mailbox, f.message);
	}
}

static void
check_mailboxes(struct doctor *d)
{
	struct remote_failure f;
	json_t *upns = NULL;
	size_t n, i;

	if (!d->graph_ok) {
		say(d, LEVEL_SKIP, NULL, "graph mailboxes: not checked (no usable token)");
		return;
	}
	if (graph_client_mailboxes(d->graph, &upns, &f) == -1) {
		say(d, LEVEL_FAIL, "see the reason (mailboxes in the configuration)",
		    "graph mailboxes: cannot be listed: %s", f.message);
		return;
	}
	n = json_array_size(upns);
	if (n == 0)
		say(d, LEVEL_FAIL, "check mailboxes: the users or the group's members need a mail "
		    "address", "graph mailboxes: none to read");
	for (i = 0; i < n && i < DOCTOR_MAILBOX_MAX; i++)
		check_mailbox(d, json_string_value(json_array_get(upns, i)));
	if (n > DOCTOR_MAILBOX_MAX)
		say(d, LEVEL_WARN, "nothing to do: the others are read the same way",
		    "graph mailboxes: %zu, the first %d checked", n, DOCTOR_MAILBOX_MAX);
	json_decref(upns);
}

/* The webhook Graph validates: what Graph would send, sent from here to public_url. This
 * proves the URL leads to a running olsync receiver that answers the handshake right; it cannot
 * prove that Microsoft's network reaches the URL (a firewall may let us in and Graph not). */
static void
check_endpoint(struct doctor *d)
{
	const struct config *cfg = d->cfg;
	struct httpc *h;
	struct httpc_request req;
	struct httpc_response resp;
	enum httpc_fail hf;
	char rnd[17], token[128], herr[1024], *enc, *url;
	const char *reason;
	unsigned char b[8];

	if (cfg->listen == NULL) {
		long long ms = cfg->sync_interval_ms;

		say(d, LEVEL_OK, NULL, "subscription endpoint: not used (no listen: olsync polls "
		    "every %lld%s)", ms % 3600000 == 0 ? ms / 3600000 : ms % 60000 == 0 ?
		    ms / 60000 : ms / 1000, ms % 3600000 == 0 ? "h" : ms % 60000 == 0 ? "m" : "s");
		return;
	}
	crypto_random_bytes(b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(rnd + 2 * i, 3, "%02x", b[i]);
	/* Shaped like Graph's: blanks and colons, so the receiver's decoding is checked too. */
	snprintf(token, sizeof(token), "Validation: Testing client application reachability "
	    "for subscription Request-Id: olsync-doctor-%s", rnd);
	enc = httpc_encode(token, HTTPC_UNRESERVED, HTTPC_FORM);
	url = xasprintf("%s%s?validationToken=%s", cfg->public_url, RECEIVER_PATH_NOTIFY, enc);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.body = "";
	req.content_type = "text/plain; charset=utf-8";
	req.timeout_ms = DOCTOR_VALIDATION_MS;
	req.max_body = 4096;
	req.fresh_connect = 1;
	h = httpc_new();
	hf = httpc_do(h, &req, &resp, herr, sizeof(herr));
	/* herr is "POST <url>: reason": the line names the URL already. */
	reason = strlen(herr) > strlen(url) + 7 ? herr + strlen(url) + 7 : herr;
	if (hf == HTTPC_CONNECT) {
		say(d, LEVEL_FAIL, "start olsync run (the endpoint is the running daemon's), and "
		    "make public_url lead to listen (reverse proxy, firewall, DNS)",
		    "subscription endpoint %s%s: nothing answers (%s)", cfg->public_url,
		    RECEIVER_PATH_NOTIFY, reason);
	} else if (hf != HTTPC_OK) {
		say(d, LEVEL_FAIL, "Graph gives the endpoint 10 s over HTTPS with a certificate "
		    "from a public authority: check the proxy in front of listen, the certificate "
		    "and the daemon's log", "subscription endpoint %s%s: no answer to the "
		    "validation request (%s)", cfg->public_url, RECEIVER_PATH_NOTIFY, reason);
	} else if (resp.status != 200 || resp.body == NULL || strcmp(resp.body, token) != 0) {
		say(d, LEVEL_FAIL, "public_url must lead to olsync's listen address with the path "
		    "unchanged (check the proxy's location and any path prefix); Graph creates no "
		    "subscription until the token comes back as it was sent",
		    "subscription endpoint %s%s: answered %ld without the validation token",
		    cfg->public_url, RECEIVER_PATH_NOTIFY, resp.status);
	} else {
		say(d, LEVEL_OK, NULL, "subscription endpoint %s%s: answers the validation "
		    "handshake", cfg->public_url, RECEIVER_PATH_NOTIFY);
	}
	httpc_response_free(&resp);
	httpc_free(h);
	free(url);
	free(enc);
}

/* ---- Salesforce ---- */

static void
check_sf_login(struct doctor *d)
{
	const struct config *cfg = d->cfg;
	struct remote_failure f;
	char err[512];

	if ((d->sf = sf_client_new(cfg, err, sizeof(err))) == NULL) {
		say(d, LEVEL_FAIL, "see the reason (sf_private_key)", "salesforce login: %s", err);
		return;
	}
	if (sf_client_login(d->sf, &f) == -1) {
		if (cfg->sf_auth == CONFIG_SF_AUTH_JWT)
			say(d, LEVEL_FAIL, "check sf_login_url, sf_client_id (the connected app's "
			    "consumer key), that sf_username is pre-authorized for the app (Manage "
			    "Connected Apps > Edit Policies: admin approved users, and the user's "
			    "profile or permission set) and that the app holds the certificate of "
			    "sf_private_key", "salesforce login: refused: %s", f.message);
		else
			say(d, LEVEL_FAIL, "check sf_login_url, sf_client_id, sf_client_secret and "
			    "the refresh token (revoked or expired: get a new one)",
			    "salesforce login: refused: %s", f.message);
		return;
	}
	if (cfg->sf_auth == CONFIG_SF_AUTH_JWT)
		say(d, LEVEL_OK, NULL, "salesforce login: JWT bearer as %s", cfg->sf_username);
	else
		say(d, LEVEL_OK, NULL, "salesforce login: refresh token of app %s",
		    cfg->sf_client_id);
	d->sf_ok = 1;
	/* Before the describes, which spend calls too: at the limit they all fail, and the
	 * budget line should say why. */
	d->limits_ok = sf_client_limits(d->sf, &d->limits_f) == 0;
}

/* What olsync does with one object, as cfg decides. */
struct object_need {
	const char	*name;
	int		 create, update;
	const char	*why;
};

static size_t
object_needs(const struct config *cfg, struct object_need out[6])
{
	size_t n = 0;
	int tasks = cfg->mode != CONFIG_MODE_EMAILMESSAGE;
	int ems = cfg->mode != CONFIG_MODE_TASK;
	int opp_write = cfg->meetings && cfg->next_meeting_field != NULL &&
	    cfg->meeting_opportunity != CONFIG_MEETING_OPP_NONE;

	out[n++] = (struct object_need){ "Lead", cfg->create_leads, cfg->create_leads,
	    cfg->create_leads ? "olsync matches and creates Leads (create_leads yes)" :
	    "olsync matches Leads" };
	out[n++] = (struct object_need){ "Contact", 0, 0, "olsync matches Contacts" };
	out[n++] = (struct object_need){ "Opportunity", 0, opp_write, opp_write ?
	    "olsync keeps next_meeting_field" : "olsync reads Opportunities" };
	/* mode emailmessage leaves the Task to Enhanced Email (write.c): olsync reads it. */
	out[n++] = (struct object_need){ "Task", tasks, tasks, tasks ? "olsync upserts a Task "
	    "per email" : "olsync reads Tasks" };
	if (cfg->meetings)
		out[n++] = (struct object_need){ "Event", 1, 1, "olsync writes meetings "
		    "(meetings yes)" };
	if (ems)
		out[n++] = (struct object_need){ "EmailMessage", 1, 0, "olsync creates "
		    "EmailMessages (mode emailmessage or both)" };
	return n;
}

/* A field olsync writes or keys on, and what it must be. */
struct field_need {
	const char	*object;
	const char	*field;
	const char	*types[3];	/* describe types accepted, NULL-terminated */
	const char	*type_label;	/* the type as Setup names it */
	int		 key;		/* External ID and Unique */
};

static size_t
field_needs(const struct config *cfg, struct field_need out[4])
{
	size_t n = 0;

	/* The Task's upsert key in mode task and both; mode emailmessage writes no Task. */
	if (cfg->mode != CONFIG_MODE_EMAILMESSAGE)
		out[n++] = (struct field_need){ "Task", "OutlookMessageId__c", { "string", NULL },
		    "Text(255)", 1 };
	/* EmailMessages are found by the standard MessageIdentifier (write.c), no custom key. */
	if (cfg->mode != CONFIG_MODE_TASK)
		out[n++] = (struct field_need){ "EmailMessage", "MessageIdentifier",
		    { "string", NULL }, "the standard Message ID field", 0 };
	if (cfg->meetings) {
		out[n++] = (struct field_need){ "Event", "OutlookEventId__c", { "string", NULL },
		    "Text(255)", 1 };
		if (cfg->next_meeting_field != NULL &&
		    cfg->meeting_opportunity != CONFIG_MEETING_OPP_NONE)
			out[n++] = (struct field_need){ "Opportunity", cfg->next_meeting_field,
			    { "date", "datetime", NULL }, "Date or Date/Time", 0 };
	}
	return n;
}

/* The describe of an object, kept for the field checks: describes[i] for needs[i]. */
static void
check_objects(struct doctor *d, const struct object_need *needs, size_t n, json_t **describes)
{
	struct remote_failure f;
	char fix[512];

	for (size_t i = 0; i < n; i++) {
		const struct object_need *o = &needs[i];
		const char *missing;
		json_t *ds;
		int c, u, q;

		describes[i] = NULL;
		if (!d->sf_ok) {
			say(d, LEVEL_SKIP, NULL, "salesforce object %s: not checked (no login)",
			    o->name);
			continue;
		}
		if (sf_client_describe(d->sf, o->name, &describes[i], &f) == -1) {
			say(d, LEVEL_FAIL, f.cls == REMOTE_WAIT ? "see the API budget line" : "give "
			    "the integration user access to the object (its profile or a permission "
			    "set)", "salesforce object %s: describe failed: %s", o->name, f.message);
			continue;
		}
		ds = describes[i];
		c = json_is_true(json_object_get(ds, "createable"));
		u = json_is_true(json_object_get(ds, "updateable"));
		q = !json_is_false(json_object_get(ds, "queryable"));
		missing = !q ? "not queryable" : o->create && !c && o->update && !u ?
		    "neither createable nor updateable" : o->create && !c ? "not createable" :
		    o->update && !u ? "not updateable" : NULL;
		if (missing != NULL) {
			snprintf(fix, sizeof(fix), "give the integration user Read%s%s on %s "
			    "(Setup > Permission Sets > the integration user's set > Object Settings "
			    "> %s), or assign the permission set in salesforce/",
			    o->create ? ", Create" : "", o->update ? ", Edit" : "", o->name,
			    o->name);
			say(d, LEVEL_FAIL, fix, "salesforce object %s: %s for the integration user "
			    "(%s)", o->name, missing, o->why);
			continue;
		}
		say(d, LEVEL_OK, NULL, "salesforce object %s: %s%s%s", o->name, "readable",
		    o->create ? ", createable" : "", o->update ? ", updateable" : "");
	}
}

/* The field named name in a describe (case-insensitive, as API names are), or NULL. */
static json_t *
find_field(json_t *describe, const char *name)
{
	size_t i;
	json_t *fl;

	json_array_foreach(json_object_get(describe, "fields"), i, fl) {
		const char *fn = json_string_value(json_object_get(fl, "name"));

		if (fn != NULL && strcasecmp(fn, name) == 0)
			return fl;
	}
	return NULL;
}

static void
check_fields(struct doctor *d, const struct field_need *needs, size_t n,
    const struct object_need *objs, size_t nobjs, json_t **describes)
{
	char fix[768], where[160];

	for (size_t i = 0; i < n; i++) {
		const struct field_need *fn = &needs[i];
		const char *type, *problem = NULL;
		json_t *describe = NULL, *fl;
		int type_ok = 0;

		for (size_t k = 0; k < nobjs; k++)
			if (strcmp(objs[k].name, fn->object) == 0)
				describe = describes[k];
		if (describe == NULL) {
			say(d, LEVEL_SKIP, NULL, "salesforce field %s.%s: not checked (no describe "
			    "of %s)", fn->object, fn->field, fn->object);
			continue;
		}
		/* Task and Event custom fields live on Activity (reference §6.7). */
		snprintf(where, sizeof(where), "Setup > Object Manager > %s > Fields & "
		    "Relationships > %s", strcmp(fn->object, "Task") == 0 ||
		    strcmp(fn->object, "Event") == 0 ? "Activity" : fn->object, fn->field);
		fl = find_field(describe, fn->field);
		type = json_string_value(json_object_get(fl, "type"));
		for (size_t k = 0; type != NULL && fn->types[k] != NULL; k++)
			type_ok |= strcmp(type, fn->types[k]) == 0;
		if (fl == NULL) {
			snprintf(fix, sizeof(fix), "create it in Setup > Object Manager > %s > Fields "
			    "& Relationships > New: %s%s, and make it visible to the integration "
			    "user (field-level security); or deploy salesforce/ with the Salesforce "
			    "CLI", strcmp(fn->object, "Task") == 0 || strcmp(fn->object, "Event") == 0 ?
			    "Activity" : fn->object, fn->type_label, fn->key ? ", External ID, "
			    "Unique (case-insensitive)" : "");
			say(d, LEVEL_FAIL, fix, "salesforce field %s.%s: missing, or hidden from the "
			    "integration user by field-level security", fn->object, fn->field);
			continue;
		}
		if (!type_ok) {
			snprintf(fix, sizeof(fix), "in %s, change its type to %s (or delete it and "
			    "create it again), or deploy salesforce/ with the Salesforce CLI", where,
			    fn->type_label);
			say(d, LEVEL_FAIL, fix, "salesforce field %s.%s: type %s, must be %s",
			    fn->object, fn->field, type != NULL ? type : "unknown", fn->type_label);
			continue;
		}
		if (fn->key && !json_is_true(json_object_get(fl, "externalId")))
			problem = "not External ID";
		else if (fn->key && !json_is_true(json_object_get(fl, "unique")))
			problem = "not Unique";
		else if (!json_is_true(json_object_get(fl, "createable")) &&
		    !json_is_true(json_object_get(fl, "updateable")))
			problem = "read-only for the integration user";
		if (problem != NULL) {
			snprintf(fix, sizeof(fix), "in %s > Edit, tick External ID and Unique (treat "
			    "values as case-insensitive) and let the integration user edit it "
			    "(Set Field-Level Security); or deploy salesforce/ with the Salesforce "
			    "CLI", where);
			say(d, LEVEL_FAIL, fix, "salesforce field %s.%s: %s", fn->object, fn->field,
			    problem);
			continue;
		}
		say(d, LEVEL_OK, NULL, "salesforce field %s.%s: %s%s", fn->object, fn->field, type,
		    fn->key ? ", External ID, Unique" : "");
	}
}

/* The org's daily allowance left (GET /limits, made after the login) and olsync's share of it
 * (sf_budget_share, counted in the ledger). */
static void
check_budget(struct doctor *d)
{
	const struct config *cfg = d->cfg;
	struct budget_report r;
	long used, max, left;
	long long need = cfg->mode == CONFIG_MODE_TASK ? BUDGET_BATCH_TASK : BUDGET_BATCH_EMAIL;
	long long ours = 0, limit;

	if (!d->sf_ok) {
		say(d, LEVEL_SKIP, NULL, "salesforce api budget: not checked (no login)");
		return;
	}
	if (!d->limits_ok) {
		if (strcmp(d->limits_f.code, "REQUEST_LIMIT_EXCEEDED") == 0)
			say(d, LEVEL_FAIL, "wait until the rolling 24 hours free calls, find what "
			    "spends them (Setup > System Overview, API usage reports) or buy more; "
			    "lower sf_budget_share if olsync should leave more to others",
			    "salesforce api budget: the org's daily API allowance is spent (%s)",
			    d->limits_f.message);
		else
			say(d, LEVEL_FAIL, "give the integration user View Setup and Configuration, "
			    "which /limits needs", "salesforce api budget: GET /limits failed: %s",
			    d->limits_f.message);
		return;
	}
	sf_client_api_usage(d->sf, &used, &max);
	left = max - used;
	if (max <= 0) {
		say(d, LEVEL_WARN, "none needed: olsync learns it from its own calls",
		    "salesforce api budget: the org's allowance is not known (no Sforce-Limit-Info)");
		return;
	}
	if (left < need) {
		say(d, LEVEL_FAIL, "wait until the rolling 24 hours free calls, find what spends "
		    "them (Setup > System Overview) or buy more", "salesforce api budget: the org "
		    "has %ld of %ld daily API calls left, less than one batch needs (%lld)", left,
		    max, need);
		return;
	}
	/* olsync's own calls come from its ledger; the org's usage is the one /limits just gave,
	 * fresher than the ledger's. The same arithmetic as budget_admit. */
	if (d->ledger != NULL && budget_report(d->ledger, cfg, (int64_t)time(NULL), &r) == 0)
		ours = r.ours;
	limit = budget_limit(cfg->sf_budget_share, max);
	switch (budget_state_of(limit, ours, need, used, max)) {
	case BUDGET_EXHAUSTED:
		say(d, LEVEL_FAIL, "raise sf_budget_share, or wait: olsync writes again when the "
		    "last 24 hours leave room (olsync status says when)", "salesforce api budget: "
		    "olsync's share is spent: %lld of %lld calls in 24 h (sf_budget_share %d%% of "
		    "%ld)", ours, limit, cfg->sf_budget_share, max);
		return;
	case BUDGET_SHORT:
		say(d, LEVEL_WARN, "raise sf_budget_share or the org's allowance, or find what "
		    "spends the org's calls (Setup > System Overview), if backfill should go on",
		    "salesforce api budget: short, live mail only: olsync used %lld of its %lld, the "
		    "org has %ld of %ld left", ours, limit, left, max);
		return;
	case BUDGET_GO:
	default:
		say(d, LEVEL_OK, NULL, "salesforce api budget: the org has %ld of %ld daily API "
		    "calls left; olsync used %lld of its %lld (sf_budget_share %d%%)", left, max,
		    ours, limit, cfg->sf_budget_share);
		return;
	}
}

static void
check_salesforce(struct doctor *d)
{
	struct object_need objs[6];
	struct field_need fields[4];
	json_t *describes[6];
	size_t nobjs = object_needs(d->cfg, objs), nfields = field_needs(d->cfg, fields);

	check_sf_login(d);
	check_objects(d, objs, nobjs, describes);
	check_fields(d, fields, nfields, objs, nobjs, describes);
	for (size_t i = 0; i < nobjs; i++)
		json_decref(describes[i]);
	check_budget(d);
}

int
doctor_main(const char *config_path, FILE *out)
{
	struct doctor d;
	struct config cfg;
	struct graph_permission perms[GRAPH_PERMISSION_MAX];
	json_t *roles = NULL;
	char needed[256] = "";
	size_t nperms;

	memset(&d, 0, sizeof(d));
	d.out = out;
	/* The findings are the output; the modules' own warnings would only repeat them. */
	log_set_level(LOG_LEVEL_ERROR);
	if (check_config(&d, config_path, &cfg) == -1) {
		fprintf(out, "%d failed: the other checks need the configuration\n", d.failed);
		return 1;
	}
	d.cfg = &cfg;
	check_database(&d);

	nperms = graph_client_permissions(&cfg, perms);
	for (size_t i = 0; i < nperms; i++) {
		size_t len = strlen(needed);

		if (strstr(needed, perms[i].name) == NULL)
			snprintf(needed + len, sizeof(needed) - len, "%s%s", len ? ", " : "",
			    perms[i].name);
	}
	check_graph_token(&d, &roles, needed);
	check_graph_permissions(&d, roles, perms, nperms);
	check_mailboxes(&d);
	check_endpoint(&d);
	check_salesforce(&d);

	if (d.failed)
		fprintf(out, "%d failed, %d warnings\n", d.failed, d.warned);
	else
		fprintf(out, "all checks passed%s\n", d.warned ? " (see the warnings)" : "");
	json_decref(roles);
	sf_client_free(d.sf);
	graph_client_free(d.graph);
	ledger_close(d.ledger);
	config_free(&cfg);
	return d.failed ? 1 : 0;
}
