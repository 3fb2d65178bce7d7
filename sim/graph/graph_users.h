/* graph_users.h: /v1.0/users and /v1.0/users/{id | userPrincipalName} (directory reads), and
 * the user lookup every mailbox path starts with (graph_user_find, declared in graph_sim.h). */
#ifndef GRAPH_USERS_H
#define GRAPH_USERS_H

#include "graph_sim.h"

/* rest is the path after "/users" ("" or "/{id}"); paths below a user (messages, events, ...)
 * are routed by graph_sim_call to the mail and calendar modules, not here. */
void graph_users_call(struct graph_sim *sim, struct graph_req *req, const char *rest,
    struct graph_reply *reply);

/* Creates a user from a seed object {"userPrincipalName", "mail", "displayName", "givenName",
 * "surname", "jobTitle", "accountEnabled", "hasMailbox", "id"?}; makes its well-known mail
 * folders (graph_mail_ensure_folders). id_out gets the GUID. -1 with err. */
int graph_users_create(struct graph_sim *sim, json_t *spec, char id_out[40], char *err,
    size_t errlen);

#endif
