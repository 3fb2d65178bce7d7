/* e2e.h: what the end-to-end tests do around the real olsync binary: the configuration that
 * points it at graph-sim and sf-sim, `olsync ...` run with its output captured, and what sf-sim
 * holds afterwards. Failures fail the running cmocka test. */
#ifndef OL_E2E_H
#define OL_E2E_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "normalize.h"
#include "sf_fixture.h"
#include "sim_proc.h"

#define E2E_GRAPH_APP		"6731de76-14a6-49ae-97bc-6eba6914391e"
#define E2E_GRAPH_SECRET	"graph-s3cret-for-test"
#define E2E_SF_APP		"olsync-test-ck"
#define E2E_SF_USER		"olsync@contoso.com"	/* the integration user */
#define E2E_OUT_MAX		(1024 * 1024)		/* output of one olsync run kept */
#define E2E_SEED_FILE_MS	600000			/* graph-sim reading a seed file */

/* The smallest world most tests need: the rep Alice (a Salesforce User and a Graph user) and
 * Carol Chen, a Contact of the Account Fabrikam, who writes to her. For e2e_world_start's
 * sf_users, sf_rest and graph_users. */
#define E2E_SF_ALICE	"{\"_key\":\"alice\",\"Username\":\"alice@contoso.com\"," \
	"\"Email\":\"alice@contoso.com\",\"FirstName\":\"Alice\",\"LastName\":\"Adams\"," \
	"\"Alias\":\"aadams\"}"
#define E2E_SF_CAROL	"\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"}]," \
	"\"Contact\":[{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\"," \
	"\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"}]"
#define E2E_GRAPH_ALICE	"{\"userPrincipalName\":\"alice@contoso.com\"," \
	"\"displayName\":\"Alice Adams\"}"
/* The two reps of most worlds: Salesforce Users (seed keys alice, bob; sf_users of
 * e2e_world_start) and the same people as Graph users (graph_users). */
#define E2E_SF_REPS	E2E_SF_ALICE "," \
	"{\"_key\":\"bob\",\"Username\":\"bob@contoso.com\",\"Email\":\"bob@contoso.com\"," \
	"\"FirstName\":\"Bob\",\"LastName\":\"Brown\",\"Alias\":\"bbrown\"}"
#define E2E_GRAPH_REPS	"[" E2E_GRAPH_ALICE "," \
	"{\"userPrincipalName\":\"bob@contoso.com\",\"displayName\":\"Bob Brown\"}]"

/* graph-sim's seed for tenant contoso.com with the olsync app (secret E2E_GRAPH_SECRET, roles
 * Mail.Read, User.Read.All, Calendars.Read) and users, a JSON array text of user objects
 * ("[{\"userPrincipalName\":..}]"). Caller frees. */
char *e2e_graph_seed(const char *users);

/* The sf-sim seed parts olsync logs in with: "\"ConnectedApp\":[..]" (the certificate of
 * testkeys identity 0) in *app, and the integration user's User object text in *user, to put
 * into a seed. Writes the key to dir/sf-key.pem (0600). Caller frees both. */
void e2e_sf_login_seed(const char *dir, char **app, char **user);

/* The ledger's database of the world in dir (testdb.h): dir/ledger.db, or with
 * OL_TEST_PG_URL_FILE a PostgreSQL database made at the first call for dir and its URI. The
 * same for every call with dir; borrowed until the process ends. */
const char *e2e_database(const char *dir);

/* Writes dir/olsync.conf (0644) for the emulators at graph_url and sf_url: the app and user
 * above, mailboxes (a config value), internal domain contoso.com, database e2e_database(dir)
 * (written `ledger.db`, relative to the file, when SQLite),
 * then the lines of extra (may be NULL: later keys must not repeat these). Sets the
 * OLSYNC_TEST_GRAPH_SECRET variable the file names. Returns the path; caller frees. */
char *e2e_config_write(const char *dir, const char *graph_url, const char *sf_url,
    const char *mailboxes, const char *extra);


/* Runs $OL_BINARY_DIR/olsync with the arguments after errout (NULL-terminated, at most 14),
 * its standard output and error going to files in dir, and copies its error (the log) to ours
 * for whoever reads a failing test. *out and *errout (either may be NULL) get the texts; caller
 * frees. Returns the exit status (128 + signal when killed). Under valgrind memcheck with
 * OL_VALGRIND_OLSYNC set (sim_proc_exec), as is e2e_daemon_start's. */
int e2e_run(const char *dir, char **out, char **errout, ...);
/* e2e_run that also gives the child's resource usage (wait4) in *ru: ru_maxrss is olsync's
 * own peak RSS in KiB, not that of the emulators or of earlier runs. */
struct rusage;
int e2e_run_usage(const char *dir, struct rusage *ru, char **out, char **errout, ...);

/* One world of an end-to-end test: a temporary directory, graph-sim and sf-sim seeded, and the
 * olsync configuration pointing at them. */
struct e2e_world {
	char dir[PATH_MAX];
	struct sim_proc graph;
	struct sf_fixture sf;
	char *conf;		/* dir/olsync.conf (owned) */
	const char *database;	/* the ledger's target: e2e_database(dir) */
};

/* Starts w in a new temporary directory named after name: sf-sim seeded with
 * {"User":[<integration user>,sf_users],<connected app>,sf_rest} (sf_users and sf_rest are JSON
 * text), graph-sim with e2e_graph_seed(graph_users), and the configuration of e2e_config_write
 * with mailboxes and extra. For setups, so no test assertion: -1 on failure. */
int e2e_world_start(struct e2e_world *w, const char *name, const char *sf_users,
    const char *sf_rest, const char *graph_users, const char *mailboxes, const char *extra);
/* e2e_world_start with graph-sim seeded from the file graph_seed_file (a whole seed, from
 * e2e_graph_seed with mail added: for seeds too large for one control call) in the directory
 * w->dir, which the caller made with tmpdir_make (e2e_world_stop removes it). */
int e2e_world_start_file(struct e2e_world *w, const char *sf_users, const char *sf_rest,
    const char *graph_seed_file, const char *mailboxes, const char *extra);
/* The n reps rep0@contoso.com, ...: *sf_users (Salesforce User objects, for sf_users above),
 * *graph_users (a JSON array text of Graph users) and *mailboxes (a list value). Caller frees
 * all three. */
void e2e_reps(int n, char **sf_users, char **graph_users, char **mailboxes);
/* The lines of olsync in real time on a free loopback port (*port): listen and public_url there,
 * reconcile_interval 1h, log_level info, then extra (may be NULL). Caller frees. */
char *e2e_realtime_lines(int *port, const char *extra);
/* A world of n reps (rep0@contoso.com, ...: Salesforce Users and Graph users, all watched)
 * with sf_rest (JSON text, as e2e_world_start's) and the configuration lines of extra, for
 * `olsync sync --once`. -1 on failure. */
int e2e_world_start_n(struct e2e_world *w, const char *name, int n, const char *sf_rest,
    const char *extra);
/* The world of e2e_world_start_n with olsync in real time on a free loopback port (*port:
 * listen and public_url there, reconcile_interval 1h, log_level info) before the lines of
 * extra. For the benches' setups: -1 on failure. */
int e2e_world_start_reps(struct e2e_world *w, const char *name, int n, const char *sf_rest,
    const char *extra, int *port);
/* Stops both emulators and removes the directory; -1 when any of it failed. */
int e2e_world_stop(struct e2e_world *w);

/* graph-sim users rep0@contoso.com ... rep<n-1>@contoso.com as JSON array text, for
 * e2e_world_start's graph_users with many mailboxes (linear in n). Caller frees. */
char *e2e_graph_rep_users(int n);
/* A "Field:" of /proc/<pid>/status in KiB ("VmHWM:", "VmRSS:"), or -1. */
long e2e_proc_status_kib(pid_t pid, const char *field);
/* A counter sampled over time (creates graph-sim counted), and the most it grew between two
 * samples at most a second apart: on a loaded machine sampling stretches, and longer gaps are
 * not counted. Zero it before the first sample. */
struct e2e_pace {
	long	at[64];		/* mono_ms() of the last samples, a ring */
	long	count[64];
	long	n;		/* samples taken */
	long	max;		/* the most growth within a second */
};
void e2e_pace_sample(struct e2e_pace *p, long count);
/* Sorts the n times t and returns the most of them within any span shorter than width (how
 * many creates in one second, renewals in one minute). */
size_t e2e_densest(int64_t *t, size_t n, int64_t width);

/* The Id seeded under _key key in keys (sf_fixture's keys; borrowed); fails the test without. */
const char *e2e_key_id(json_t *keys, const char *key);
/* The Id of who: a seeded key, or "lead:<email>" for the one Lead of leads with that Email. */
const char *e2e_who_id(json_t *keys, json_t *leads, const char *who);

/* A Task olsync should have written for one email, and a Lead it should have made. */
struct e2e_want_task {
	const char *mail;	/* the mail's name in the test's name -> internetMessageId map */
	const char *subject;
	const char *who;	/* seeded key, or "lead:<email>" for a Lead olsync made */
	const char *what;	/* seeded key or NULL */
	const char *owner;	/* seeded key */
	const char *description;
};

struct e2e_want_lead {
	const char *email;
	const char *first, *last, *company, *owner, *description;
};

/* Checks field by field the one Task of tasks for want->mail (its internetMessageId in mids),
 * dated day (YYYY-MM-DD); who and owner resolved through keys and leads. */
void e2e_check_task(json_t *tasks, json_t *leads, json_t *keys, json_t *mids, const char *day,
    const struct e2e_want_task *want);
/* Checks field by field the one Lead of leads with want->email. */
void e2e_check_lead(json_t *leads, json_t *keys, const struct e2e_want_lead *want);

/* "<sobject> <Id> <LastModifiedDate>" lines of every record of the n objs in sf-sim at sf_url,
 * to compare two passes. Caller frees. */
char *e2e_snapshot(const char *sf_url, const char *const *objs, size_t n);

/* `olsync run` in the background (real time tests), its log in dir/daemon.log (each start
 * begins it anew). */
struct e2e_daemon {
	pid_t	pid;
	char	log[PATH_MAX];
};

/* s (owned, freed) with its first from replaced by to: a new string, caller frees. Fails the
 * test when s has no from (a configuration line a test expected to change). */
char *e2e_replace(char *s, const char *from, const char *to);
/* A loopback port that was free a moment ago (bind to 0, read, close), for a listen address
 * the configuration must name before the daemon starts. Fails the test when none. */
int e2e_free_port(void);
/* Starts `olsync -c conf ARGS...` in the background (args NULL-terminated, at most 8), its
 * output in dir/daemon.log; the caller waits for it (dm->pid) or stops it. */
void e2e_daemon_spawn(struct e2e_daemon *dm, const char *dir, const char *conf,
    const char *const *args);
/* Starts `olsync -c conf run` (first stopping one dm still holds: dm must be zeroed or from an
 * earlier start); when port is not 0, waits up to 10 s (mono_scaled) for GET /healthz on it to
 * answer. Fails the test when the daemon does not come up. */
void e2e_daemon_start(struct e2e_daemon *dm, const char *dir, const char *conf, int port);
/* Sends sig (SIGHUP to reload) to the running daemon. */
void e2e_daemon_signal(struct e2e_daemon *dm, int sig);
/* SIGTERM, wait up to 20 s (mono_scaled; then SIGKILL); returns the exit status (128 + signal when killed)
 * and copies the log to stderr for whoever reads a failing test. */
int e2e_daemon_stop(struct e2e_daemon *dm);
/* The daemon's log so far; caller frees. */
char *e2e_daemon_log(const struct e2e_daemon *dm);
/* Waits up to timeout_ms (mono_scaled) for the daemon's log to hold what; returns whether it
 * does. A daemon's start and reload go on after its admin answers: a test that reads lines
 * logged then waits for them here. */
int e2e_daemon_wait_log(const struct e2e_daemon *dm, const char *what, long timeout_ms);
/* Polls sf-sim until sobject has at least n records or timeout_ms (mono_scaled) passed;
 * returns the count last seen. */
size_t e2e_wait_records(const char *sf_url, const char *sobject, size_t n, long timeout_ms);

/* One mail from Carol Chen <carol@fabrikam.com> to to, received at date (ISO 8601), through
 * graph-sim's POST /_sim/mail at graph_url. Returns its internetMessageId; caller frees. */
char *e2e_mail_from_carol(const char *graph_url, const char *to, const char *subject,
    const char *date);
/* Requests the emulator at base (graph-sim or sf-sim) counted in /_sim/stats on the routes whose
 * name (method and path, "{id}" for keys) contains part. */
long e2e_route_calls(const char *base, const char *part);
/* sf-sim's API calls counted against the daily limit (/_sim/stats api_calls). */
long e2e_sf_api_calls(const char *sf_url);
/* How many records of sobject sf-sim at sf_url holds. */
size_t e2e_record_count(const char *sf_url, const char *sobject);
/* A test group's teardown: stops dm when it runs (dm may be NULL), then e2e_world_stop. */
int e2e_world_teardown(struct e2e_world *w, struct e2e_daemon *dm);

/* GET /_sim/records/<sobject> of sf-sim at sf_url: the records array; caller decrefs. */
json_t *e2e_records(const char *sf_url, const char *sobject);
/* The records of sobject whose boolean flag is not true (IsDeleted: the live ones, IsConverted:
 * the open Leads). Caller decrefs. */
json_t *e2e_records_unless(const char *sf_url, const char *sobject, const char *flag);
/* How many records of recs have field == value. */
size_t e2e_count(json_t *recs, const char *field, const char *value);
/* The one record of recs with field == value (borrowed); fails the test unless exactly one. */
json_t *e2e_find(json_t *recs, const char *field, const char *value);
/* A string field of rec, or "(null)" (cmocka's string asserts crash on NULL). */
const char *e2e_field(json_t *rec, const char *name);
/* OutlookMessageId__c of a raw internetMessageId: the digest of its normalized form. */
void e2e_digest(const char *internet_message_id, char out[NORMALIZE_DIGEST_LEN + 1]);
/* The number after state ("logged ", "pending ", ...) in `olsync status` output. */
long long e2e_status_count(const char *out, const char *state);
/* `olsync status` of w (fails the test unless it exits 0); caller frees. */
char *e2e_status(const struct e2e_world *w);
/* Polls e2e_status until the count after state is want; fails the test after timeout_ms
 * (mono_scaled). */
void e2e_wait_status(const struct e2e_world *w, const char *state, long long want,
    long timeout_ms);
/* `olsync dead` of w: how many dead letters, and the digest of the newest into ext ("" when
 * none). */
int e2e_dead_newest(const struct e2e_world *w, char *ext, size_t len);

#endif
