/* admin.h: the admin endpoint of `olsync run` on admin_listen (lib/httpd underneath): /metrics
 * in the Prometheus text format, /healthz, /readyz, the dashboard (/, its files embedded from
 * src/dashboard/) and the JSON it reads (/api/...). Everything is read from the ledger through
 * the admin's own handle (WAL: the worker's writes do not wait for it) and from metrics.h;
 * the one write is POST /api/dead/retry, which revives a dead letter as `olsync retry KEY`.
 *
 * With admin_token every request but the dashboard's static files (which hold no data) must
 * carry "Authorization: Bearer <token>", compared in constant time; 401 otherwise. A POST must
 * also carry ADMIN_CSRF_HEADER, which a page of another site cannot send without a CORS
 * preflight this server never grants. Docs: docs/observability.md. */
#ifndef OL_ADMIN_H
#define OL_ADMIN_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"

#define ADMIN_CSRF_HEADER	"X-Olsync-Request"	/* any non-empty value */
#define ADMIN_MESSAGES_MAX	METRICS_RECENT		/* /api/messages?limit= at most */
#define ADMIN_DEAD_MAX		200			/* /api/dead lists at most */
#define ADMIN_MAILBOXES_MAX	1000			/* /api/mailboxes lists at most */

/* The daemon's side. */
struct admin_ops {
	void	(*wake)(void *arg);	/* a dead letter was revived: the worker may write it */
	void	*arg;
};

/* A file of the dashboard, embedded at build time (CMakeLists.txt generates the table from
 * src/dashboard/: cmake/embed.cmake). data ends with a NUL not counted in len. */
struct admin_asset {
	const char		*path;		/* "/app.js"; "/index.html" is also "/" */
	const char		*type;		/* Content-Type */
	const unsigned char	*data;
	size_t			 len;
};
extern const struct admin_asset admin_assets[];
extern const size_t admin_nassets;

struct admin;

/* Serves cfg->admin_listen (cfg borrowed until admin_stop; ops copied). NULL with err when the
 * ledger cannot be opened or the address not served. */
struct admin *admin_start(const struct config *cfg, const struct admin_ops *ops, char *err,
    size_t errlen);
int admin_port(const struct admin *a);
/* Stops serving (waits for requests in flight) and frees a; NULL is fine. */
void admin_stop(struct admin *a);

#endif
