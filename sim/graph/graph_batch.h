/* graph_batch.h: JSON batching, POST /v1.0/$batch: up to 20 requests with unique ids, dependsOn
 * (424 Failed Dependency when a dependency failed), each request throttled and counted on its
 * own. */
#ifndef GRAPH_BATCH_H
#define GRAPH_BATCH_H

#include "graph_sim.h"

/* Called with sim->lock held. */
void graph_batch_call(struct graph_sim *sim, struct graph_req *req, struct graph_reply *reply);

#endif
