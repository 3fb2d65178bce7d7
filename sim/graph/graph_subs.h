/* graph_subs.h: /v1.0/subscriptions: create (with the validation handshake of notificationUrl
 * and lifecycleNotificationUrl), get, list, renew (PATCH), delete, reauthorize; limits (lifetime
 * ceiling, duplicates, 1,000 per mailbox); and lifecycle events driven by the control API. */
#ifndef GRAPH_SUBS_H
#define GRAPH_SUBS_H

#include "graph_sim.h"

/* rest is the path after "/subscriptions". Called with sim->lock held; the validation handshake
 * releases the lock while it waits on the network and takes it again. */
void graph_subs_call(struct graph_sim *sim, struct graph_req *req, const char *rest,
    struct graph_reply *reply);

/* POST /_sim/subscriptions/{id}/lifecycle {"event":"missed|subscriptionRemoved|
 * reauthorizationRequired"}: queues the lifecycle notification and applies its effect
 * (subscriptionRemoved deletes the subscription; reauthorizationRequired pauses deliveries until
 * reauthorize or renew). -1 with err. Called with sim->lock held. */
int graph_subs_lifecycle(struct graph_sim *sim, const char *id, const char *event, char *err,
    size_t errlen);

/* Subscription times are 100 ns ticks since the epoch (Graph shows 7 fractional digits) and
 * are stored as "YYYY-MM-DDTHH:MM:SS.fffffffZ", so comparing the text compares the times. */
long long graph_subs_now_ticks(void);
/* "2026-01-08T11:00:00Z", with up to 7 fractional digits (more are cut) and "Z", "+hh:mm" or
 * no zone (UTC). 0 and *ticks, or -1. */
int graph_subs_parse_time(const char *s, long long *ticks);
void graph_subs_format_time(long long ticks, char out[40]);
/* 1 when the comma list types ("created,updated") holds change ("created"). */
int graph_subs_has_change_type(const char *types, const char *change);

#endif
