/* graph_groups.h: /v1.0/groups/{id} and its direct members (/members and the OData cast
 * /members/microsoft.graph.user), the way an app reads "the mailboxes of a group"; and group
 * creation for the seed. */
#ifndef GRAPH_GROUPS_H
#define GRAPH_GROUPS_H

#include <jansson.h>
#include <stddef.h>

#include "graph_sim.h"

/* rest is the path after "/groups": "/{id}", "/{id}/members" or
 * "/{id}/members/microsoft.graph.user". Answers with Graph's directory errors. */
void graph_groups_call(struct graph_sim *sim, struct graph_req *req, const char *rest,
    struct graph_reply *reply);

/* Creates a group from a seed object {"id"?, "displayName", "mail"?, "members": ["upn" | "id",
 * ...]}; every member must be an existing user, listed once. id_out gets the (lower-case)
 * GUID. Runs inside the caller's savepoint: on -1 (with err) the caller rolls back. */
int graph_groups_create(struct graph_sim *sim, json_t *spec, char id_out[40], char *err,
    size_t errlen);

#endif
