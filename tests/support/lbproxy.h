/* lbproxy.h: a round-robin TCP load balancer on loopback for the tests of several olsync
 * instances: graph-sim's notifications go to its port, and each connection is forwarded to the
 * next backend that accepts it, a dead one (connection refused) skipped, as a load balancer
 * with health checks would. Bytes are relayed unchanged both ways until either side closes. */
#ifndef LBPROXY_H
#define LBPROXY_H

#include <stddef.h>

#define LBPROXY_MAX_BACKENDS	8
#define LBPROXY_IDLE_MS		10000	/* a relayed connection silent this long is closed */

struct lbproxy;

/* Starts on an ephemeral loopback port in front of the n loopback ports (n at most
 * LBPROXY_MAX_BACKENDS). NULL on failure. */
struct lbproxy *lbproxy_start(const int *ports, size_t n);
int lbproxy_port(const struct lbproxy *p);
/* Connections forwarded to backend i so far, and connections no backend accepted. */
long lbproxy_forwarded(struct lbproxy *p, size_t i);
long lbproxy_refused(struct lbproxy *p);
/* Stops accepting, waits for the relays to end (closing them), frees p. NULL is fine. */
void lbproxy_stop(struct lbproxy *p);

#endif
