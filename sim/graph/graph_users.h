/* graph_users.h: /v1.0/users and /v1.0/users/{id | userPrincipalName} (directory reads), and
 * the user lookup every mailbox path starts with (graph_user_find, declared in graph_sim.h). */
#ifndef GRAPH_USERS_H
#define GRAPH_USERS_H

#include <sqlite3.h>

#include "graph_sim.h"

/* What $select may name on a user (NULL-terminated): Graph's default properties first. */
extern const char *const graph_user_props[];

/* The g_user columns graph_users_json reads, in its order; a query may select them from a join
 * (group members) as long as they come first. */
#define GRAPH_USER_COLS "id, upn, mail, display_name, given_name, surname, job_title, " \
	"account_enabled, created"

/* rest is the path after "/users" ("" or "/{id}"); paths below a user (messages, events, ...)
 * are routed by graph_sim_call to the mail and calendar modules, not here. */
void graph_users_call(struct graph_sim *sim, struct graph_req *req, const char *rest,
    struct graph_reply *reply);

/* Creates a user from a seed object {"userPrincipalName", "mail", "displayName", "givenName",
 * "surname", "jobTitle", "accountEnabled", "hasMailbox", "id"?}; makes its well-known mail
 * folders (graph_mail_ensure_folders). id_out gets the GUID. -1 with err. */
int graph_users_create(struct graph_sim *sim, json_t *spec, char id_out[40], char *err,
    size_t errlen);

/* The user of the current row of st (GRAPH_USER_COLS first), as Graph shows it, with select
 * (NULL or "" = the default properties) applied. Caller decrefs. */
json_t *graph_users_json(sqlite3_stmt *st, const char *select);

/* Directory paging: a $skiptoken for a list offset (caller frees), and back; the parse is 0, or
 * -1 for a token we did not make. Users and group members share the format. */
char *graph_users_skiptoken(long offset);
int graph_users_skiptoken_parse(const char *token, long *offset);

/* A directory list's page: $top (dflt without, 1 to max) in *top and the $skiptoken's offset
 * (0 without) in *offset; -1 with the 400 answered. */
int graph_users_page_args(struct graph_req *req, struct graph_reply *reply, long dflt, long max,
    long *top, long *offset);

/* Answers 200 with a directory page: value (taken), its @odata.context for the entity set
 * ("users", "directoryObjects") with select applied, and when more an @odata.nextLink whose
 * $skiptoken is next (replacing the drop parameters of the request). */
void graph_users_reply_page(struct graph_sim *sim, struct graph_req *req,
    struct graph_reply *reply, const char *set, const char *select, json_t *value, int more,
    long next, const char *const *drop);

#endif
