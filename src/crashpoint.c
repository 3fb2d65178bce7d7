/* crashpoint.c: test-only kill points (see crashpoint.h): OLSYNC_CRASH_AT parsed once, counters
 * shared by every thread. */
#include "crashpoint.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

enum mode { MODE_OFF, MODE_KILL, MODE_COUNT };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static enum mode mode;
static char target[CRASHPOINT_NAME_MAX];	/* MODE_KILL: the name, or "any" */
static long kill_at;				/* MODE_KILL: the hit that kills */
static atomic_long hits;			/* MODE_KILL: hits of target so far */
static char *count_path;			/* MODE_COUNT: where the counts go at exit */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *name;
	long n;
} counts[CRASHPOINT_NAMES_MAX];
static size_t ncounts;

static void
write_counts(void)
{
	FILE *fp;
	size_t i;

	if ((fp = fopen(count_path, "w")) == NULL) {
		log_warn("crashpoint count_failed path=%s", count_path);
		return;
	}
	pthread_mutex_lock(&count_lock);
	for (i = 0; i < ncounts; i++)
		fprintf(fp, "%s %ld\n", counts[i].name, counts[i].n);
	pthread_mutex_unlock(&count_lock);
	if (fclose(fp) != 0)
		log_warn("crashpoint count_failed path=%s", count_path);
}

static void
parse(void)
{
	const char *v = getenv(CRASHPOINT_ENV), *colon;
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return;
	colon = strrchr(v, ':');
	if (strncmp(v, "count:", 6) == 0 && v[6] != '\0') {
		count_path = xstrdup(v + 6);
		if (atexit(write_counts) != 0)
			return;
		mode = MODE_COUNT;
		log_warnx("crashpoint armed mode=count path=%s", count_path);
		return;
	}
	if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof(target))
		goto bad;
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || n < 1)
		goto bad;
	memcpy(target, v, (size_t)(colon - v));
	target[colon - v] = '\0';
	kill_at = n;
	mode = MODE_KILL;
	log_warnx("crashpoint armed mode=kill point=%s n=%ld", target, kill_at);
	return;
bad:
	log_warnx("crashpoint not_armed reason=\"%s is not NAME:N, any:N or count:PATH\"",
	    CRASHPOINT_ENV);
}

void
crashpoint(const char *name)
{
	size_t i;

	pthread_once(&once, parse);
	if (mode == MODE_KILL) {
		if ((strcmp(target, "any") == 0 || strcmp(target, name) == 0) &&
		    atomic_fetch_add(&hits, 1) + 1 == kill_at)
			raise(SIGKILL);
	} else if (mode == MODE_COUNT) {
		pthread_mutex_lock(&count_lock);
		for (i = 0; i < ncounts; i++)
			if (strcmp(counts[i].name, name) == 0)
				break;
		if (i == ncounts && ncounts < CRASHPOINT_NAMES_MAX)
			counts[ncounts++].name = name;
		if (i < ncounts)
			counts[i].n++;
		pthread_mutex_unlock(&count_lock);
	}
}
