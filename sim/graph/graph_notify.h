/* graph_notify.h: delivering notifications: a thread posts queued change and lifecycle
 * notifications to their URLs, counts a delivery only on a 2xx within the ack time, retries
 * with exponential backoff (scaled by settings.retry_scale) within the retry window, and records
 * every attempt; plus the validation handshake. graph_notify_change is in graph_sim.h. */
#ifndef GRAPH_NOTIFY_H
#define GRAPH_NOTIFY_H

#include "graph_sim.h"

int graph_notify_start(struct graph_sim *sim);
void graph_notify_stop(struct graph_sim *sim);

/* Queues one notification collection {"value":[...]} for url (payload stolen). kind is "change"
 * or "lifecycle". Called with sim->lock held. */
void graph_notify_queue(struct graph_sim *sim, const char *subscription_id, const char *url,
    const char *kind, json_t *payload);

/* The handshake: POST url?validationToken=<token, '+' for spaces> with an empty text/plain body;
 * succeeds on 200 whose body is exactly the decoded token within timeout_ms. Must be called
 * WITHOUT sim->lock held (it waits on the network). -1 with Graph's error code and message in
 * code/err (ValidationError, or InvalidRequest "Subscription validation request timed out."). */
int graph_notify_validate(struct graph_sim *sim, const char *url, long timeout_ms,
    char code[64], char *err, size_t errlen);

#endif
