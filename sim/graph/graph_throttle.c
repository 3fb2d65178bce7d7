/* graph_throttle.c: Outlook's per app + mailbox limits (see graph_throttle.h): a sliding window
 * of the last throttle_requests request times and a count of requests in flight, per pair, in a
 * small hash table behind its own mutex.
 *
 * Facts: reference 6.1 and 6.2. Every request counts toward the window, refused ones too
 * ("usage keeps accruing while throttled"), so a client that ignores Retry-After stays
 * throttled. The rate check comes first: a pair over both limits answers TooManyRequests, the
 * longer of the two waits. */
#include "graph_throttle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "xmalloc.h"

#define NCHAINS			256
#define RING_MIN		16	/* first allocation of a pair's request times */
#define CONCURRENCY_RETRY	1.0	/* a slot frees when any request ends: retry soon */

/* One app + mailbox pair. times is a ring of the most recent request times (monotonic
 * seconds), oldest at head; it grows up to the request limit and never beyond it. */
struct pair {
	struct pair *next;
	char app_id[40];
	char mailbox[40];
	double *times;
	size_t cap, head, len;
	int inflight;
};

struct graph_throttle {
	pthread_mutex_t mu;
	struct pair *chains[NCHAINS];
	/* mailbox ("" for requests naming none) -> monotonic time before which a 429's
	 * Retry-After told the client not to come back (an instrument, see graph_throttle.h) */
	json_t *not_before;
	/* Limits, copied from sim->settings by graph_throttle_mailbox (which runs under
	 * sim->lock) so that enter and leave never read the settings without it. */
	long requests;
	double window;
	int concurrency;
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned
chain_of(const char *app_id, const char *mailbox)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (const char *s = app_id; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *s = mailbox; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NCHAINS;
}

/* The i-th oldest kept time (0 <= i < len). */
static double
time_at(const struct pair *p, size_t i)
{
	return p->times[(p->head + i) % p->cap];
}

/* Appends now, dropping the oldest times beyond limit (only the last limit times decide). */
static void
record(struct pair *p, double now, long limit)
{
	size_t max = limit > 0 ? (size_t)limit : 1;

	while (p->len > 0 && p->len >= max) {
		p->head = (p->head + 1) % p->cap;
		p->len--;
	}
	if (p->len == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : RING_MIN;
		double *nt;

		if (ncap > max)
			ncap = max > p->cap ? max : p->cap;
		nt = xcalloc(ncap, sizeof(*nt));
		for (size_t i = 0; i < p->len; i++)
			nt[i] = time_at(p, i);
		free(p->times);
		p->times = nt;
		p->cap = ncap;
		p->head = 0;
	}
	p->times[(p->head + p->len) % p->cap] = now;
	p->len++;
}

/* Seconds until the window has room again: the limit-th most recent time leaves it then. */
static double
rate_wait(const struct pair *p, double now, long limit, double window)
{
	if (limit <= 0 || p->len < (size_t)limit)
		return 0;
	return time_at(p, p->len - (size_t)limit) + window - now;
}

static void
pair_free(struct pair *p)
{
	free(p->times);
	free(p);
}

/* Idle: nothing in flight and nothing left in the window. */
static int
idle(const struct pair *p, double now, double window)
{
	return p->inflight == 0 && (p->len == 0 || time_at(p, p->len - 1) + window <= now);
}

/* The pair of app and mailbox, created when create is set (NULL otherwise when absent). Frees
 * idle pairs met on the way, so the table holds only pairs that still matter. */
static struct pair *
find(struct graph_throttle *t, const char *app_id, const char *mailbox, double now, int create)
{
	struct pair **pp = &t->chains[chain_of(app_id, mailbox)], *p, *found = NULL;

	while ((p = *pp) != NULL) {
		if (strcmp(p->app_id, app_id) == 0 && strcmp(p->mailbox, mailbox) == 0) {
			found = p;
			pp = &p->next;
		} else if (idle(p, now, t->window)) {
			*pp = p->next;
			pair_free(p);
		} else {
			pp = &p->next;
		}
	}
	if (found != NULL || !create)
		return found;
	p = xcalloc(1, sizeof(*p));
	snprintf(p->app_id, sizeof(p->app_id), "%s", app_id);
	snprintf(p->mailbox, sizeof(p->mailbox), "%s", mailbox);
	p->next = t->chains[chain_of(app_id, mailbox)];
	t->chains[chain_of(app_id, mailbox)] = p;
	return p;
}

struct graph_throttle *
graph_throttle_new(void)
{
	struct graph_throttle *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->mu, NULL);
	if ((t->not_before = json_object()) == NULL)
		fatalx("graph-throttle: out of memory");
	/* Outlook's defaults until the first graph_throttle_mailbox copies the settings. */
	t->requests = 10000;
	t->window = 600;
	t->concurrency = 4;
	return t;
}

void
graph_throttle_free(struct graph_throttle *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < NCHAINS; i++) {
		struct pair *p = t->chains[i], *next;

		for (; p != NULL; p = next) {
			next = p->next;
			pair_free(p);
		}
	}
	json_decref(t->not_before);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

void
graph_throttle_reset(struct graph_throttle *t)
{
	/* Forget the windows; keep in-flight counts, whose requests will still leave. */
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < NCHAINS; i++) {
		for (struct pair *p = t->chains[i]; p != NULL; p = p->next) {
			p->head = 0;
			p->len = 0;
		}
	}
	json_object_clear(t->not_before);
	pthread_mutex_unlock(&t->mu);
}

void
graph_throttle_told_wait(struct graph_throttle *t, const char *mailbox, double seconds)
{
	double until = mono_now() + seconds;
	json_t *old;

	pthread_mutex_lock(&t->mu);
	old = json_object_get(t->not_before, mailbox);
	if (old == NULL || json_real_value(old) < until)
		json_object_set_new(t->not_before, mailbox, json_real(until));
	pthread_mutex_unlock(&t->mu);
}

double
graph_throttle_early(struct graph_throttle *t, const char *mailbox)
{
	double early = 0;
	json_t *nb;

	pthread_mutex_lock(&t->mu);
	if ((nb = json_object_get(t->not_before, mailbox)) != NULL) {
		early = json_real_value(nb) - mono_now();
		if (early <= 0) {
			json_object_del(t->not_before, mailbox);
			early = 0;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return early;
}

int
graph_throttle_enter(struct graph_sim *sim, const char *app_id, const char *mailbox,
    double *retry_after, int *concurrency)
{
	struct graph_throttle *t = sim->throttle;
	double now = mono_now(), wait;
	struct pair *p;
	int rc = 0;

	*retry_after = 0;
	*concurrency = 0;
	pthread_mutex_lock(&t->mu);
	p = find(t, app_id, mailbox, now, 1);
	wait = rate_wait(p, now, t->requests, t->window);
	record(p, now, t->requests);
	if (wait > 0) {
		/* After recording: this refused request itself now holds a slot in the window. */
		*retry_after = rate_wait(p, now, t->requests, t->window);
		rc = -1;
	} else if (t->concurrency > 0 && p->inflight >= t->concurrency) {
		*retry_after = CONCURRENCY_RETRY;
		*concurrency = 1;
		rc = -1;
	} else {
		p->inflight++;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void
graph_throttle_leave(struct graph_sim *sim, const char *app_id, const char *mailbox)
{
	struct graph_throttle *t = sim->throttle;
	struct pair *p;

	pthread_mutex_lock(&t->mu);
	p = find(t, app_id, mailbox, mono_now(), 0);
	if (p != NULL && p->inflight > 0)
		p->inflight--;
	pthread_mutex_unlock(&t->mu);
}

/* Outlook resources under /users/{x}/ (reference 6.1, "covered APIs"). Directory paths
 * (/users/{x} itself) are not Outlook's and are not counted per mailbox. */
static const char *const outlook_segments[] = {
	"messages", "mailFolders", "events", "calendarView", "calendar", "calendars",
	"calendarGroups", "contacts", "contactFolders", "mailboxSettings", "outlook",
	"inferenceClassification", NULL
};

void
graph_throttle_mailbox(struct graph_sim *sim, const char *path, char out[40])
{
	struct graph_throttle *t = sim->throttle;
	struct graph_user user;
	const char *who, *slash, *seg;
	char *name = NULL;
	size_t seglen;

	out[0] = '\0';
	/* Called with sim->lock held: the one moment the settings can be read safely. */
	pthread_mutex_lock(&t->mu);
	t->requests = sim->settings.throttle_requests;
	t->window = sim->settings.throttle_window_sec > 0 ?
	    (double)sim->settings.throttle_window_sec : 1;
	t->concurrency = sim->settings.throttle_concurrency;
	pthread_mutex_unlock(&t->mu);

	if (strncasecmp(path, "/users/", 7) != 0)
		return;
	who = path + 7;
	if ((slash = strchr(who, '/')) == NULL || slash == who)
		return;
	seg = slash + 1;
	seglen = strcspn(seg, "/(");
	for (size_t i = 0; outlook_segments[i] != NULL; i++) {
		if (strlen(outlook_segments[i]) == seglen &&
		    strncasecmp(seg, outlook_segments[i], seglen) == 0) {
			name = xstrndup(who, (size_t)(slash - who));
			break;
		}
	}
	if (name == NULL)
		return;
	/* An unknown user is not a mailbox: the call itself answers 404. */
	if (graph_user_find(sim, name, &user) == 0 && user.has_mailbox)
		snprintf(out, 40, "%s", user.id);
	free(name);
}

void
graph_throttle_reply(const struct graph_req *req, struct graph_reply *reply,
    double retry_after, int concurrency)
{
	char ra[32];
	json_t *inner;

	if (concurrency) {
		/* Observed Outlook body (reference 6.2), with the usual innerError added. */
		graph_reply_error(reply, req, 429, "ApplicationThrottled",
		    "Application is over its MailboxConcurrency limit.");
	} else {
		graph_reply_error(reply, req, 429, "TooManyRequests", "Please retry again later.");
		/* The documented sample's innerError carries code, message and status too. */
		inner = json_object_get(json_object_get(reply->body, "error"), "innerError");
		json_object_set_new(inner, "code", json_string("429"));
		json_object_set_new(inner, "message", json_string("Please retry after"));
		json_object_set_new(inner, "status", json_string("429"));
	}
	/* Whole seconds, rounded up and at least 1: clients that parse an integer (and ours)
	 * then never retry early; the docs' sample shows fractions, which Graph also sends. */
	if (retry_after < 1)
		retry_after = 1;
	snprintf(ra, sizeof(ra), "%ld", (long)ceil(retry_after));
	graph_reply_header(reply, "Retry-After", ra);
}
