/* markq.c: group commit of folder marks (see markq.h). Each waiting thread's request lives on
 * its own stack; the leader takes the whole list, so nothing is allocated per mark. */
#include "markq.h"

#include <stdlib.h>

#include "ledger.h"
#include "log.h"
#include "xmalloc.h"

struct waiter {
	const char	*mailbox;
	const char	*folder;
	int64_t		 now;
	int		 done;
	int		 rc;
	struct waiter	*next;
};

struct markq {
	struct ledger		*ledger;
	pthread_mutex_t		*store_lock;

	pthread_mutex_t		 lock;		/* guards everything below */
	pthread_cond_t		 cond;		/* a group was committed */
	struct waiter		*head, **tail;	/* marks waiting for the next group */
	int			 busy;		/* a leader is committing */
	struct markq_stats	 st;
};

struct markq *
markq_new(struct ledger *l, pthread_mutex_t *store_lock)
{
	struct markq *q = xcalloc(1, sizeof(*q));

	q->ledger = l;
	q->store_lock = store_lock;
	q->tail = &q->head;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	return q;
}

void
markq_free(struct markq *q)
{
	if (q == NULL)
		return;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* The marks from list up to (not including) end in one transaction; 0 or -1. Called with
 * store_lock held. */
static int
commit_marks(struct markq *q, const struct waiter *list, const struct waiter *end)
{
	int rc = ledger_begin(q->ledger);

	for (const struct waiter *w = list; rc == 0 && w != end; w = w->next)
		rc = ledger_dirty_mark(q->ledger, w->mailbox, w->folder, w->now);
	if (rc == 0)
		rc = ledger_commit(q->ledger);
	if (rc == -1) {
		log_warnx("receiver store_failed op=mark error=\"%s\"", ledger_error(q->ledger));
		(void)ledger_rollback(q->ledger);	/* refused harmlessly if begin failed */
	}
	return rc;
}

/* Commits list as one group and sets each waiter's rc. When the group fails and holds more than
 * one mark, each is tried alone, so one bad mark (or a passing lock) fails only itself. */
static void
commit_group(struct markq *q, struct waiter *list)
{
	int rc;

	pthread_mutex_lock(q->store_lock);
	rc = commit_marks(q, list, NULL);
	for (struct waiter *w = list; w != NULL; w = w->next)
		w->rc = rc == 0 || list->next == NULL ? rc : commit_marks(q, w, w->next);
	pthread_mutex_unlock(q->store_lock);
}

int
markq_mark(struct markq *q, const char *mailbox, const char *folder, int64_t now)
{
	struct waiter me = { mailbox, folder, now, 0, 0, NULL };
	struct waiter *list, *w, *next;
	int rc;

	pthread_mutex_lock(&q->lock);
	/* me stays queued only until done: this call returns once the leader dropped the list. */
	/* cppcheck-suppress autoVariables ; see above */
	*q->tail = &me;
	/* cppcheck-suppress autoVariables ; see above */
	q->tail = &me.next;
	while (!me.done) {
		if (q->busy) {
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		/* Lead: take every mark queued so far (ours among them) and commit them. */
		q->busy = 1;
		list = q->head;
		q->head = NULL;
		q->tail = &q->head;
		pthread_mutex_unlock(&q->lock);
		commit_group(q, list);
		pthread_mutex_lock(&q->lock);
		q->st.commits++;
		for (w = list; w != NULL; w = next) {
			next = w->next;		/* w may be gone once done is seen */
			if (w->rc == 0)
				q->st.marks++;
			else
				q->st.failed++;
			w->done = 1;
		}
		q->busy = 0;
		pthread_cond_broadcast(&q->cond);
	}
	rc = me.rc;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void
markq_stats(struct markq *q, struct markq_stats *out)
{
	pthread_mutex_lock(&q->lock);
	*out = q->st;
	pthread_mutex_unlock(&q->lock);
}
