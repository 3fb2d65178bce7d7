/* graph_throttle.h: Outlook's limits per app + mailbox: requests per window and concurrent
 * requests (settings), answered with 429, Retry-After and Graph's error bodies. Has its own
 * lock: requests enter before they wait for sim->lock, so waiting requests count as in flight. */
#ifndef GRAPH_THROTTLE_H
#define GRAPH_THROTTLE_H

#include "graph_sim.h"

struct graph_throttle *graph_throttle_new(void);
void graph_throttle_free(struct graph_throttle *t);
void graph_throttle_reset(struct graph_throttle *t);

/* An instrument, not Graph: graph-sim remembers, per mailbox ("" for requests naming none),
 * until when a 429's Retry-After (throttling or a scripted fault) asked the client to wait, and
 * counts a request that comes sooner ("retry_after.early" in /_sim/stats, and a log line), so a
 * test can prove its client honours Retry-After. told_wait records seconds from now;
 * graph_throttle_early returns how many seconds too early a request for mailbox is (0: not). */
void graph_throttle_told_wait(struct graph_throttle *t, const char *mailbox, double seconds);
double graph_throttle_early(struct graph_throttle *t, const char *mailbox);

/* Admits one request of app on mailbox (user id): 0, or -1 with *retry_after (seconds) and
 * *concurrency (1 when the in-flight limit, 0 when the rate limit refused it). Every admitted
 * request must be followed by graph_throttle_leave. */
int graph_throttle_enter(struct graph_sim *sim, const char *app_id, const char *mailbox,
    double *retry_after, int *concurrency);
void graph_throttle_leave(struct graph_sim *sim, const char *app_id, const char *mailbox);

/* The mailbox a /v1.0 path belongs to ("/users/{x}/messages..." -> x resolved to a user id),
 * or "" when the path is not a mailbox path. */
void graph_throttle_mailbox(struct graph_sim *sim, const char *path, char out[40]);

/* Fills reply with Graph's 429 (Retry-After header, TooManyRequests or ApplicationThrottled
 * "Application is over its MailboxConcurrency limit."). */
void graph_throttle_reply(const struct graph_req *req, struct graph_reply *reply,
    double retry_after, int concurrency);

#endif
