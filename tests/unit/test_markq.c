/* test_markq.c: the receiver's group commit (src/markq.c) on a temporary ledger: marks from many
 * threads all land, with their gen counts; marks queued while a commit is in progress share the
 * next transaction; a bad mark in a group fails only itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "markq.h"
#include "xmalloc.h"

#define THREADS		8
#define PER_THREAD	50

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct ledger	*l;
	pthread_mutex_t	 store_lock;
	struct markq	*q;
};

struct job {
	struct fixture	*f;
	const char	*mailbox;
	const char	*folder;
	int		 count;
	int		 failures;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[256] = "";

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_markq.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
	if (ledger_open(f->path, &f->l, err, sizeof(err)) == -1) {
		fprintf(stderr, "ledger_open: %s\n", err);
		return -1;
	}
	pthread_mutex_init(&f->store_lock, NULL);
	f->q = markq_new(f->l, &f->store_lock);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	markq_free(f->q);
	ledger_close(f->l);
	pthread_mutex_destroy(&f->store_lock);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "teardown: could not remove %s\n", f->dir);
	free(f);
	return 0;
}

static void *
marker(void *arg)
{
	struct job *j = arg;

	for (int i = 0; i < j->count; i++)
		if (markq_mark(j->f->q, j->mailbox, j->folder, 1000 + i) != 0)
			j->failures++;
	return NULL;
}

/* The gen of mailbox/folder in the ledger's marks, or 0 when unmarked. */
static int64_t
gen_of(struct fixture *f, const char *mailbox, const char *folder)
{
	struct ledger_dirty *d;
	size_t n;
	int64_t gen = 0;

	assert_int_equal(ledger_dirty_list(f->l, &d, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].mailbox, mailbox) == 0 && strcmp(d[i].folder, folder) == 0)
			gen = d[i].gen;
	ledger_dirty_free(d, n);
	return gen;
}

static void
start(pthread_t *t, struct job *jobs, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&t[i], NULL, marker, &jobs[i]), 0);
}

static void
join(pthread_t *t, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

/* Eight threads, two folders: every mark lands once (gen counts each), none fails. */
static void
test_concurrent_marks_all_land(void **state)
{
	struct fixture *f = *state;
	struct job jobs[THREADS];
	pthread_t t[THREADS];
	struct markq_stats st;

	for (int i = 0; i < THREADS; i++)
		jobs[i] = (struct job){ f, "rep@contoso.com", i % 2 ? "inbox" : "sentitems",
		    PER_THREAD, 0 };
	start(t, jobs, THREADS);
	join(t, THREADS);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(jobs[i].failures, 0);
	assert_int_equal(gen_of(f, "rep@contoso.com", "inbox"), THREADS / 2 * PER_THREAD);
	assert_int_equal(gen_of(f, "rep@contoso.com", "sentitems"), THREADS / 2 * PER_THREAD);
	markq_stats(f->q, &st);
	assert_int_equal(st.marks, THREADS * PER_THREAD);
	assert_int_equal(st.failed, 0);
	assert_true(st.commits >= 1 && st.commits <= st.marks);
}

/* While the store is busy (its lock held, as during another group's fsync) every thread queues;
 * once it frees, the first leader commits its own mark and the next one all the others: at most
 * a few transactions for THREADS marks. */
static void
test_marks_queued_during_a_commit_share_one(void **state)
{
	struct fixture *f = *state;
	struct job jobs[THREADS];
	pthread_t t[THREADS];
	struct markq_stats st;

	for (int i = 0; i < THREADS; i++)
		jobs[i] = (struct job){ f, "rep@contoso.com", "inbox", 1, 0 };
	pthread_mutex_lock(&f->store_lock);
	start(t, jobs, THREADS);
	usleep(500 * 1000);	/* every thread has queued, one leads and waits for the lock */
	markq_stats(f->q, &st);
	assert_int_equal(st.marks + st.failed, 0);	/* nothing acknowledged before it is durable */
	assert_int_equal(gen_of(f, "rep@contoso.com", "inbox"), 0);
	pthread_mutex_unlock(&f->store_lock);
	join(t, THREADS);
	markq_stats(f->q, &st);
	assert_int_equal(st.marks, THREADS);
	assert_true(st.commits <= 3);
	assert_int_equal(gen_of(f, "rep@contoso.com", "inbox"), THREADS);
}

/* A mark the ledger refuses (an empty folder name) fails alone; the others of its group land. */
static void
test_bad_mark_fails_alone(void **state)
{
	struct fixture *f = *state;
	struct job jobs[4] = {
		{ f, "a@contoso.com", "inbox", 1, 0 },
		{ f, "b@contoso.com", "", 1, 0 },
		{ f, "c@contoso.com", "inbox", 1, 0 },
		{ f, "d@contoso.com", "sentitems", 1, 0 },
	};
	pthread_t t[4];
	struct markq_stats st;

	pthread_mutex_lock(&f->store_lock);
	start(t, jobs, 4);
	usleep(300 * 1000);
	pthread_mutex_unlock(&f->store_lock);
	join(t, 4);
	assert_int_equal(jobs[0].failures, 0);
	assert_int_equal(jobs[1].failures, 1);
	assert_int_equal(jobs[2].failures, 0);
	assert_int_equal(jobs[3].failures, 0);
	assert_int_equal(gen_of(f, "a@contoso.com", "inbox"), 1);
	assert_int_equal(gen_of(f, "c@contoso.com", "inbox"), 1);
	assert_int_equal(gen_of(f, "d@contoso.com", "sentitems"), 1);
	markq_stats(f->q, &st);
	assert_int_equal(st.marks, 3);
	assert_int_equal(st.failed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_concurrent_marks_all_land, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marks_queued_during_a_commit_share_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_mark_fails_alone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
