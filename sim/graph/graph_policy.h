/* graph_policy.h: Exchange application access policies (reference §8.1): an app's application
 * permissions narrowed to the members of a mail-enabled group (RestrictAccess) or kept away from
 * them (DenyAccess). Exchange answers a refused mailbox with 403 ErrorAccessDenied "Access to
 * OData is disabled." on mail and calendar calls, and 403 ExtensionError on subscription create. */
#ifndef GRAPH_POLICY_H
#define GRAPH_POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "graph_sim.h"

#define GRAPH_POLICY_DENIED	"Access to OData is disabled."

/* 1 when the policies of app_id let it reach the mailbox of user_id, else 0. With no policy
 * every mailbox is reachable (Entra's application permissions cover the whole tenant). */
int graph_policy_allows(struct graph_sim *sim, const char *app_id, const char *user_id);

/* New-ApplicationAccessPolicy: spec {"appId", "groupId", "accessRight": "RestrictAccess" |
 * "DenyAccess"}; the app must exist and the group be mail-enabled; one policy per app and group.
 * *out gets the policy as GET lists it (caller decrefs). -1 with err when refused. */
int graph_policy_add(struct graph_sim *sim, json_t *spec, json_t **out, char *err,
    size_t errlen);
/* Every policy: [{"id", "appId", "groupId", "accessRight"}] (caller decrefs). */
json_t *graph_policy_list(struct graph_sim *sim);
/* Removes every policy; returns how many there were, -1 on a store failure. */
long graph_policy_clear(struct graph_sim *sim);

#endif
