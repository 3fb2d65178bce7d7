/* delta.c: a Graph delta round to its deltaLink (see delta.h). */
#include "delta.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

int
delta_round(const struct delta_ops *ops, char *link, const volatile sig_atomic_t *stop,
    long *pages, long *restarts, struct remote_failure *f, char *err, size_t errlen)
{
	json_t *items = NULL;
	char *next = NULL, *delta = NULL;
	int restarted = 0, rc = -1;

	for (;;) {
		memset(f, 0, sizeof(*f));
		if (ops->fetch(ops->arg, link, &items, &next, &delta, f) == -1) {
			if (f->cls == REMOTE_FINAL && strcmp(f->code, "SyncStateNotFound") == 0 &&
			    link != NULL && !restarted) {
				/* The sync state is gone: read the window again. What was recorded
				 * comes back as seen before, so nothing is duplicated. */
				log_warnx("delta restart %s reason=sync_state_not_found", ops->what);
				(*restarts)++;
				restarted = 1;
				if (ops->restart(ops->arg, err, errlen) == -1)
					goto out;
				free(link);
				link = NULL;
				continue;
			}
			if (f->cls == REMOTE_AUTH) {
				err_set(err, errlen, "graph: credentials refused reading %s: %s",
				    ops->what, f->message);
				goto out;
			}
			log_warnx("delta failed %s class=%s status=%d code=%s error=\"%s\"",
			    ops->what, remote_class_name(f->cls), f->status, f->code, f->message);
			rc = 1;
			goto out;
		}
		(*pages)++;
		if (ops->record(ops->arg, items, next != NULL ? next : delta, err, errlen) == -1)
			goto out;
		json_decref(items);
		items = NULL;
		free(link);
		link = NULL;
		if (delta != NULL || next == NULL)
			break;
		link = next;
		next = NULL;
		if (stop != NULL && *stop)
			break;
	}
	rc = 0;
out:
	json_decref(items);
	free(link);
	free(next);
	free(delta);
	return rc;
}
