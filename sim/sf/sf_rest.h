/* sf_rest.h: the plain REST resources under /services/data/vXX.X: the version root, /limits,
 * /query and /queryAll (with query locators), and /sobjects (describe, CRUD, external ids). */
#ifndef SF_REST_H
#define SF_REST_H

#include "sf_sim.h"

/* rest is the path after "/services/data/vXX.X" ("" for the root). Called with sim->lock held. */
void sf_rest_root(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply);
void sf_rest_limits(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply);
void sf_rest_query(struct sf_sim *sim, struct sf_call *call, const char *rest,
    struct sf_reply *reply);
void sf_rest_sobjects(struct sf_sim *sim, struct sf_call *call, const char *rest,
    struct sf_reply *reply);

/* describe of one object, as GET /sobjects/{obj}/describe answers. Caller owns. */
json_t *sf_rest_describe(struct sf_sim *sim, const struct sf_object *obj, const char *version);

#endif
