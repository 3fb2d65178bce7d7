/* ingest.c: Graph delta -> ledger (see ingest.h). Delta is the source of truth: a folder's
 * position moves only in the transaction that records the messages the page before it held, so
 * a crash at any point replays a page at worst, and sightings are idempotent. Memory holds one
 * page at a time: what the engine needs of each message goes to the ledger with it. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crashpoint.h"
#include "delta.h"
#include "err.h"
#include "filter.h"
#include "isotime.h"
#include "log.h"
#include "normalize.h"
#include "xmalloc.h"

struct ingest {
	const struct config	*cfg;
	struct ledger		*ledger;
	struct graph_client	*graph;
	json_t			*mailboxes;	/* the last listing, or NULL */
	json_t			*held;		/* mailbox -> when its Retry-After ends
						 * (monotonic seconds) */
};

static const char *const folders[] = { INGEST_FOLDER_INBOX, INGEST_FOLDER_SENT };
#define NFOLDERS	(sizeof(folders) / sizeof(folders[0]))

struct ingest *
ingest_new(const struct config *cfg, struct ledger *l, struct graph_client *g)
{
	struct ingest *in = xcalloc(1, sizeof(*in));

	in->cfg = cfg;
	in->ledger = l;
	in->graph = g;
	if ((in->held = json_object()) == NULL)
		fatalx("ingest: out of memory");
	return in;
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	json_decref(in->mailboxes);
	json_decref(in->held);
	free(in);
}

int64_t
ingest_parse_time(const char *s)
{
	struct isotime t;

	if (s == NULL || isotime_parse(s, strlen(s), &t) == -1)
		return 0;
	return (int64_t)t.utc;
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
set_new(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		fatalx("ingest: out of memory");
}

/* o[key] = msg[key] when that is a string, cut to max characters (0: as is). */
static void
keep_string(json_t *o, const json_t *msg, const char *key, size_t max)
{
	const char *v = jstr(msg, key);
	char *cut;

	if (v == NULL)
		return;
	if (max == 0) {
		set_new(o, key, json_string(v));
		return;
	}
	cut = normalize_truncate_utf8(v, max);
	set_new(o, key, json_string(cut));
	free(cut);
}

/* {"emailAddress": {"address": .., "name": ..}} of a Graph recipient, name only when with_name;
 * NULL without an address. */
static json_t *
recipient(const json_t *r, int with_name)
{
	const json_t *ea = json_object_get(r, "emailAddress");
	const char *address = jstr(ea, "address"), *name = jstr(ea, "name");
	json_t *out;

	if (address == NULL)
		return NULL;
	out = json_pack("{s:{s:s}}", "emailAddress", "address", address);
	if (out == NULL)
		fatalx("ingest: out of memory");
	if (with_name && name != NULL)
		set_new(json_object_get(out, "emailAddress"), "name", json_string(name));
	return out;
}

static void
keep_recipients(json_t *o, const json_t *msg, const char *key)
{
	const json_t *arr = json_object_get(msg, key), *r;
	json_t *out, *v;
	size_t i;

	if (!json_is_array(arr))
		return;
	out = json_array();
	json_array_foreach(arr, i, r)
		if ((v = recipient(r, 0)) != NULL && json_array_append_new(out, v) == -1)
			fatalx("ingest: out of memory");
	set_new(o, key, out);
}

json_t *
ingest_trim(const json_t *msg)
{
	static const char *const as_is[] = { "internetMessageId", "conversationId",
	    "sentDateTime", "receivedDateTime" };
	const json_t *hdrs = json_object_get(msg, "internetMessageHeaders"), *h;
	json_t *o = json_object(), *kept, *from;
	size_t i;

	if (o == NULL)
		fatalx("ingest: out of memory");
	for (i = 0; i < sizeof(as_is) / sizeof(as_is[0]); i++)
		keep_string(o, msg, as_is[i], 0);
	keep_string(o, msg, "subject", INGEST_SUBJECT_MAX);
	keep_string(o, msg, "bodyPreview", INGEST_PREVIEW_MAX);
	if (json_is_true(json_object_get(msg, "isDraft")))
		set_new(o, "isDraft", json_true());
	if ((from = recipient(json_object_get(msg, "from"), 1)) != NULL)
		set_new(o, "from", from);
	keep_recipients(o, msg, "toRecipients");
	keep_recipients(o, msg, "ccRecipients");
	if (json_is_array(hdrs)) {
		kept = json_array();
		json_array_foreach(hdrs, i, h) {
			if (!filter_header_used(jstr(h, "name")) || jstr(h, "value") == NULL)
				continue;
			if (json_array_append_new(kept, json_pack("{s:s, s:s}", "name",
			    jstr(h, "name"), "value", jstr(h, "value"))) == -1)
				fatalx("ingest: out of memory");
		}
		set_new(o, "internetMessageHeaders", kept);
	}
	return o;
}

/* ingest_trim(msg) as the ledger keeps it, or NULL (logged) when it is too large to keep: that
 * message is read from Graph when it is written. Caller frees. */
static char *
stored_copy(const json_t *msg, const char *mailbox, const char *ext_id)
{
	json_t *t = ingest_trim(msg);
	char *text = json_dumps(t, JSON_COMPACT);

	json_decref(t);
	if (text == NULL)
		fatalx("ingest: out of memory");
	if (strlen(text) > LEDGER_DATA_MAX) {
		log_info("ingest copy_not_kept mailbox=%s msg=%s bytes=%zu max=%d", mailbox, ext_id,
		    strlen(text), LEDGER_DATA_MAX);
		free(text);
		return NULL;
	}
	return text;
}

/* A message of a page and its key, for recording them in key order. */
struct keyed_msg {
	char		*key;
	const json_t	*msg;
};

static int
keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed_msg *)a)->key, ((const struct keyed_msg *)b)->key);
}

int
ingest_record(struct ingest *in, const char *mailbox, const char *folder, json_t *msgs,
    struct ingest_stats *st, char *err, size_t errlen)
{
	struct keyed_msg *km;
	struct ledger_msg m;
	enum ledger_seen seen;
	json_t *msg;
	size_t i, n = 0;
	char why[256];
	char digest[NORMALIZE_DIGEST_LEN + 1];
	char *key, *data = NULL;
	int rc = -1;

	km = xcalloc(json_array_size(msgs) + 1, sizeof(*km));
	json_array_foreach(msgs, i, msg) {
		const char *raw, *gid;

		if (json_object_get(msg, "@removed") != NULL) {
			st->removed++;
			continue;
		}
		st->messages++;
		gid = jstr(msg, "id");
		raw = jstr(msg, "internetMessageId");
		if (raw == NULL || gid == NULL) {
			/* Drafts have no internetMessageId until sent: nothing to key them on. */
			st->no_id++;
			log_info("ingest skip mailbox=%s folder=%s reason=no_internet_message_id "
			    "draft=%d", mailbox, folder, json_is_true(json_object_get(msg, "isDraft")));
			continue;
		}
		if ((key = normalize_message_id(raw, why, sizeof(why))) == NULL) {
			st->no_id++;
			log_warnx("ingest skip mailbox=%s folder=%s reason=bad_internet_message_id "
			    "error=\"%s\"", mailbox, folder, why);
			continue;
		}
		km[n].key = key;
		km[n++].msg = msg;
	}
	/* In key order: two instances recording pages that share messages (mail between reps
	 * whose mailboxes they hold) then lock those rows in one order, never in a cycle, as
	 * the engine's marks do (engine.c). */
	qsort(km, n, sizeof(*km), keyed_cmp);
	for (i = 0; i < n; i++) {
		normalize_digest(km[i].key, digest);
		memset(&m, 0, sizeof(m));
		m.key = km[i].key;
		m.ext_id = digest;
		m.dir = strcmp(folder, INGEST_FOLDER_SENT) == 0 ? LEDGER_OUTBOUND : LEDGER_INBOUND;
		m.received_at = ingest_parse_time(jstr(km[i].msg, "receivedDateTime"));
		m.mailbox = mailbox;
		m.folder = folder;
		m.graph_id = jstr(km[i].msg, "id");
		m.data = data = stored_copy(km[i].msg, mailbox, digest);
		if (ledger_record_sighting(in->ledger, &m, &seen) == -1) {
			err_set(err, errlen, "ledger: %s", ledger_error(in->ledger));
			goto out;
		}
		if (seen == LEDGER_SEEN_NEW)
			st->new_messages++;
		else if (seen == LEDGER_SEEN_COPY)
			st->copies++;
		else
			st->again++;
		free(data);
		data = NULL;
	}
	rc = 0;
out:
	free(data);
	for (i = 0; i < n; i++)
		free(km[i].key);
	free(km);
	return rc;
}

/* Times a page's transaction is tried when the database says "again": a deadlock with another
 * instance's transaction, which PostgreSQL ends by failing one of them, a lock_timeout, a
 * connection lost under the transaction (ledger_error_is_transient). */
#define RECORD_TRIES	4

/* Records one page's messages and the link after them, all or nothing. */
static int
record_page(struct ingest *in, const char *mailbox, const char *folder, json_t *msgs,
    const char *link, int64_t window_start, struct ingest_stats *st, char *err, size_t errlen)
{
	struct ingest_stats tried;

	for (int attempt = 1;; attempt++) {
		int begun;

		tried = *st;	/* counted once, by the attempt that commits */
		begun = ledger_begin(in->ledger) == 0;
		if (begun && ingest_record(in, mailbox, folder, msgs, &tried, err, errlen) == 0 &&
		    ledger_delta_set(in->ledger, mailbox, folder, link, window_start) == 0 &&
		    ledger_commit(in->ledger) == 0)
			break;
		/* every failure above is the ledger's */
		if (!ledger_error_is_transient(in->ledger) || attempt == RECORD_TRIES) {
			err_set(err, errlen, "ledger: %s", ledger_error(in->ledger));
			if (begun)
				ledger_rollback(in->ledger);
			return -1;
		}
		if (begun)
			ledger_rollback(in->ledger);
		log_info("ingest page_again mailbox=%s folder=%s attempt=%d error=\"%s\"",
		    mailbox, folder, attempt, ledger_error(in->ledger));
		/* 20 to 120 ms, different for each instance, so the two do not meet again */
		usleep((useconds_t)(20000 + (random() % 100000)));
	}
	*st = tried;
	crashpoint("ingest_committed");
	return 0;
}

/* One folder's round, for delta_round. */
struct folder_round {
	struct ingest		*in;
	const char		*mailbox;
	const char		*folder;
	int64_t			 window_start;
	struct ingest_stats	*st;
};

static int
folder_fetch(void *arg, const char *link, json_t **items, char **next, char **delta,
    struct remote_failure *f)
{
	struct folder_round *fr = arg;

	return graph_client_delta_page(fr->in->graph, fr->mailbox, fr->folder, link,
	    (time_t)fr->window_start, items, next, delta, f);
}

static int
folder_record(void *arg, json_t *items, const char *link, char *err, size_t errlen)
{
	struct folder_round *fr = arg;

	return record_page(fr->in, fr->mailbox, fr->folder, items, link, fr->window_start,
	    fr->st, err, errlen);
}

static int
folder_restart(void *arg, char *err, size_t errlen)
{
	struct folder_round *fr = arg;

	fr->window_start = (int64_t)time(NULL) - (int64_t)fr->in->cfg->backfill_days * 86400;
	if (ledger_delta_set(fr->in->ledger, fr->mailbox, fr->folder, NULL,
	    fr->window_start) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(fr->in->ledger));
	return 0;
}

/* Reads one folder to its delta link. 0 done (or stopped), 1 a remote failure left the folder
 * for the next pass (f filled), -1 fatal (err). */
static int
ingest_folder(struct ingest *in, const char *mailbox, const char *folder,
    const volatile sig_atomic_t *stop, struct ingest_stats *st, struct remote_failure *f,
    char *err, size_t errlen)
{
	struct folder_round fr;
	struct delta_ops ops;
	struct ledger_delta d;
	char *link = NULL, what[512];
	int found, rc;

	memset(&d, 0, sizeof(d));
	if ((found = ledger_delta_get(in->ledger, mailbox, folder, &d)) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(in->ledger));
	memset(&fr, 0, sizeof(fr));
	fr.in = in;
	fr.mailbox = mailbox;
	fr.folder = folder;
	fr.st = st;
	fr.window_start = (int64_t)time(NULL) - (int64_t)in->cfg->backfill_days * 86400;
	if (found == 0) {
		if (d.link != NULL)
			link = xstrdup(d.link);
		else if (d.window_start != 0)
			fr.window_start = d.window_start;
	}
	ledger_delta_clear(&d);
	snprintf(what, sizeof(what), "mailbox=%s folder=%s", mailbox, folder);
	memset(&ops, 0, sizeof(ops));
	ops.fetch = folder_fetch;
	ops.record = folder_record;
	ops.restart = folder_restart;
	ops.arg = &fr;
	ops.what = what;
	rc = delta_round(&ops, link, stop, &st->pages, &st->restarts, f, err, errlen);
	if (rc == 1) {
		st->folders_failed++;
		if (f->wait_sec > st->wait_sec)
			st->wait_sec = f->wait_sec;
		if (f->cls == REMOTE_WAIT)
			ingest_hold(in, mailbox, f->wait_sec);
	}
	return rc;
}

/* Seconds on the monotonic clock, to the nanosecond: a hold measured in whole seconds of
 * time() could end up to a second before Graph's Retry-After. */
static double
mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
ingest_hold(struct ingest *in, const char *mailbox, double wait_sec)
{
	double until = mono_sec() + (wait_sec > 0 ? wait_sec : 1.0);
	json_t *old = json_object_get(in->held, mailbox);

	if (old == NULL || json_real_value(old) < until)
		json_object_set_new(in->held, mailbox, json_real(until));
}

double
ingest_held(struct ingest *in, const char *mailbox)
{
	json_t *until = json_object_get(in->held, mailbox);
	double left;

	if (until == NULL)
		return 0;
	if ((left = json_real_value(until) - mono_sec()) <= 0) {
		json_object_del(in->held, mailbox);
		return 0;
	}
	return left;
}

static void
log_done(const char *what, const struct ingest_stats *st)
{
	log_info("ingest %s mailboxes=%ld pages=%ld messages=%ld new=%ld copies=%ld again=%ld "
	    "removed=%ld no_id=%ld restarts=%ld folders_failed=%ld", what, st->mailboxes,
	    st->pages, st->messages, st->new_messages, st->copies, st->again, st->removed,
	    st->no_id, st->restarts, st->folders_failed);
}

/* Reads fs in order; st is added to. 0, or -1 when the run cannot go on. */
static int
read_folders(struct ingest *in, struct ingest_folder *fs, size_t n,
    const volatile sig_atomic_t *stop, struct ingest_stats *st, struct remote_failure *f,
    char *err, size_t errlen)
{
	double left;
	int r;

	for (size_t i = 0; i < n; i++) {
		fs[i].done = 0;
		if (stop != NULL && *stop)
			continue;
		if ((left = ingest_held(in, fs[i].mailbox)) > 0) {
			/* Graph asked us to leave this mailbox alone for now. */
			st->folders_failed++;
			if (left > st->wait_sec)
				st->wait_sec = left;
			continue;
		}
		r = ingest_folder(in, fs[i].mailbox, fs[i].folder, stop, st, f, err, errlen);
		if (r == -1)
			return -1;
		fs[i].done = r == 0 && (stop == NULL || !*stop);
	}
	return 0;
}

int
ingest_list(struct ingest *in, struct remote_failure *f, char *err, size_t errlen)
{
	json_t *upns = NULL;

	memset(f, 0, sizeof(*f));
	if (graph_client_mailboxes(in->graph, &upns, f) == -1)
		return err_set(err, errlen, "graph: cannot list the mailboxes: %s (%s)",
		    f->message, remote_class_name(f->cls));
	json_decref(in->mailboxes);
	in->mailboxes = upns;
	return 0;
}

int
ingest_run(struct ingest *in, const volatile sig_atomic_t *stop, struct ingest_stats *st,
    struct remote_failure *f, char *err, size_t errlen)
{
	struct ingest_stats local;
	struct ingest_folder *fs = NULL;
	json_t *upns = NULL, *v;
	size_t i, k, n = 0;
	int rc = -1;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (ingest_list(in, f, err, errlen) == -1)
		goto out;
	upns = json_incref(in->mailboxes);
	fs = xcalloc(json_array_size(upns) * NFOLDERS + 1, sizeof(*fs));
	json_array_foreach(upns, i, v) {
		const char *mailbox = json_string_value(v);

		if (mailbox == NULL)
			continue;
		st->mailboxes++;
		for (k = 0; k < NFOLDERS; k++) {
			fs[n].mailbox = mailbox;
			fs[n++].folder = folders[k];
		}
	}
	if (read_folders(in, fs, n, stop, st, f, err, errlen) == -1)
		goto out;
	log_done("done", st);
	rc = 0;
out:
	free(fs);
	json_decref(upns);
	return rc;
}

int
ingest_folders(struct ingest *in, struct ingest_folder *fs, size_t n,
    const volatile sig_atomic_t *stop, struct ingest_stats *st, struct remote_failure *f,
    char *err, size_t errlen)
{
	struct ingest_stats local;
	json_t *seen = json_object();
	int rc;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++)
		json_object_set_new(seen, fs[i].mailbox, json_true());
	st->mailboxes = (long)json_object_size(seen);
	json_decref(seen);
	rc = read_folders(in, fs, n, stop, st, f, err, errlen);
	if (rc == 0)
		log_done("folders_done", st);
	return rc;
}

const json_t *
ingest_mailboxes(const struct ingest *in)
{
	return in->mailboxes;
}

int
ingest_watches(const json_t *mailboxes, const char *mailbox)
{
	size_t i;
	json_t *v;

	json_array_foreach(mailboxes, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), mailbox) == 0)
			return 1;
	return 0;
}

int
ingest_message(struct ingest *in, const struct ledger_entry *e, json_t **message,
    struct remote_failure *f)
{
	struct ledger_sighting *s = NULL;
	json_error_t jerr;
	size_t n = 0, i;
	json_t *msg = NULL;
	int rc = -1;

	*message = NULL;
	memset(f, 0, sizeof(*f));
	if (e->data != NULL) {
		if ((*message = json_loads(e->data, 0, &jerr)) != NULL && json_is_object(*message))
			return 0;
		/* Only ours writes it; a broken one is read again from Graph, not trusted. */
		log_warnx("ingest bad_copy msg=%s error=\"%s\"", e->ext_id, jerr.text);
		json_decref(*message);
		*message = NULL;
	}
	if (ledger_sightings(in->ledger, e->key, &s, &n) == -1) {
		f->cls = REMOTE_TEMP;
		snprintf(f->message, sizeof(f->message), "ledger: %s", ledger_error(in->ledger));
		goto out;
	}
	f->cls = REMOTE_FINAL;
	snprintf(f->message, sizeof(f->message), "no copy of the message is left");
	for (i = 0; i < n; i++) {
		if (graph_client_message(in->graph, s[i].mailbox, s[i].graph_id, &msg, f) == 0)
			break;
		log_info("ingest fetch_failed mailbox=%s class=%s status=%d code=%s",
		    s[i].mailbox, remote_class_name(f->cls), f->status, f->code);
	}
	if (msg == NULL)
		goto out;
	/* Trimmed as a stored copy is, so the engine sees the same either way. */
	*message = ingest_trim(msg);
	json_decref(msg);
	memset(f, 0, sizeof(*f));
	rc = 0;
out:
	ledger_sightings_free(s, n);
	return rc;
}
