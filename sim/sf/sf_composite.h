/* sf_composite.h: the composite family: /composite (dependent subrequests, references,
 * allOrNone), /composite/sobjects (sObject Collections), /composite/batch and /composite/graph. */
#ifndef SF_COMPOSITE_H
#define SF_COMPOSITE_H

#include "sf_sim.h"

/* rest is the path after "/services/data/vXX.X", starting with "/composite". Called with
 * sim->lock held, from sf_sim_call. Sets reply->api_calls (1, or one per /composite/batch
 * subrequest). */
void sf_composite_call(struct sf_sim *sim, struct sf_call *call, const char *rest,
    struct sf_reply *reply);

#endif
