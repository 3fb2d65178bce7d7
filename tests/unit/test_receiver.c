/* test_receiver.c: src/receiver.c served on loopback against a fake store: the validation
 * handshake and the tokens it must refuse, notification batches (coalesced marks, forged and
 * unknown items answered like good ones), lifecycle events, the limits, routing, TLS, a store
 * that fails or hangs, 200 POSTs at once, and the rate limit on rejection logs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "log.h"
#include "logcap.h"
#include "mono.h"
#include "receiver.h"
#include "sim_http.h"
#include "testkeys.h"
#include "xmalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define TEXT_PLAIN	"text/plain; charset=utf-8"
#define FAKE_MAX_MARKS	4096

/*
 * The fake store: three subscriptions, every call recorded; it can fail lookups, fail the marks
 * of one id ("*": all), make each mark sleep, or hang lookups or marks until released.
 */

static const struct {
	const char *id, *mailbox, *kind, *client_state;
} subs[] = {
	{ "sub-a", "a@example.com", "inbox", "secret-a" },
	{ "sub-b", "b@example.com", "sentitems", "secret-b" },
	{ "sub-nostate", "c@example.com", "events", "" },
};

enum hold { HOLD_NONE, HOLD_LOOKUP, HOLD_MARK };

struct mark_rec {
	char			id[64];
	char			mailbox[1024];
	char			kind[32];
	enum receiver_event	ev;
};

struct fake {
	pthread_mutex_t	lock;
	pthread_cond_t	changed;
	int		fail_lookup;
	const char	*fail_mark;
	long		mark_sleep_ms;	/* under 1000 */
	enum hold	hold;
	int		held;		/* calls hanging now */
	struct mark_rec	marks[FAKE_MAX_MARKS];
	int		nmarks;
	int		lookups;
	int		wakes;
};

/* A hung store: the call waits, f->lock released, until the test sets f->hold to another
 * operation (5 s at most, so a broken test ends). Called with f->lock held. */
static void
hang(struct fake *f, enum hold op)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	f->held++;
	pthread_cond_broadcast(&f->changed);
	while (f->hold == op)
		if (pthread_cond_timedwait(&f->changed, &f->lock, &until) != 0)
			break;
	f->held--;
}

static int
fake_lookup(void *arg, const char *id, struct receiver_sub *out)
{
	struct fake *f = arg;
	int rc = 1;

	pthread_mutex_lock(&f->lock);
	f->lookups++;
	hang(f, HOLD_LOOKUP);
	if (f->fail_lookup) {
		rc = -1;
	} else {
		for (size_t i = 0; i < NELEM(subs); i++) {
			if (strcmp(subs[i].id, id) != 0)
				continue;
			snprintf(out->mailbox, sizeof(out->mailbox), "%s", subs[i].mailbox);
			snprintf(out->kind, sizeof(out->kind), "%s", subs[i].kind);
			snprintf(out->client_state, sizeof(out->client_state), "%s",
			    subs[i].client_state);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int
fake_mark(void *arg, const char *id, const struct receiver_sub *sub, enum receiver_event ev)
{
	struct fake *f = arg;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if (f->fail_mark != NULL && (strcmp(f->fail_mark, "*") == 0 ||
	    strcmp(f->fail_mark, id) == 0)) {
		rc = -1;
	} else if (f->nmarks < FAKE_MAX_MARKS) {
		struct mark_rec *m = &f->marks[f->nmarks++];

		snprintf(m->id, sizeof(m->id), "%s", id);
		snprintf(m->mailbox, sizeof(m->mailbox), "%s", sub->mailbox);
		snprintf(m->kind, sizeof(m->kind), "%s", sub->kind);
		m->ev = ev;
	}
	hang(f, HOLD_MARK);
	/* A store serializes its writes: the sleep is under the lock. */
	if (f->mark_sleep_ms > 0)
		nanosleep(&(struct timespec){ 0, f->mark_sleep_ms * 1000000L }, NULL);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static void
fake_wake(void *arg)
{
	struct fake *f = arg;

	pthread_mutex_lock(&f->lock);
	f->wakes++;
	pthread_mutex_unlock(&f->lock);
}

/* Marks of (id, ev) recorded so far. */
static int
marks_of(struct fake *f, const char *id, enum receiver_event ev)
{
	int n = 0;

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->nmarks; i++)
		n += strcmp(f->marks[i].id, id) == 0 && f->marks[i].ev == ev;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/*
 * The fixture: a receiver on an ephemeral loopback port over the fake.
 */

struct fx {
	struct fake		 fake;
	struct receiver		*r;
	char			 base[64];
};

static struct receiver *
start(struct fx *fx, const char *cert_pem, const char *key_pem)
{
	struct receiver_config cfg;
	struct receiver_ops ops;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "127.0.0.1:0";
	cfg.tls_cert_pem = cert_pem;
	cfg.tls_key_pem = key_pem;
	ops.lookup = fake_lookup;
	ops.mark = fake_mark;
	ops.wake = fake_wake;
	ops.arg = &fx->fake;
	fx->r = receiver_start(&cfg, &ops, err, sizeof(err));
	if (fx->r == NULL) {
		fprintf(stderr, "receiver_start: %s\n", err);
		return NULL;
	}
	snprintf(fx->base, sizeof(fx->base), "%s://127.0.0.1:%d", cert_pem ? "https" : "http",
	    receiver_port(fx->r));
	return fx->r;
}

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));

	pthread_mutex_init(&fx->fake.lock, NULL);
	pthread_cond_init(&fx->fake.changed, NULL);
	*state = fx;
	return start(fx, NULL, NULL) ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	receiver_stop(fx->r);
	pthread_cond_destroy(&fx->fake.changed);
	pthread_mutex_destroy(&fx->fake.lock);
	free(fx);
	return 0;
}

static struct receiver_stats
stats(struct fx *fx)
{
	struct receiver_stats s;

	receiver_stats(fx->r, &s);
	return s;
}

#define STAT(f)	{ #f, offsetof(struct receiver_stats, f) }
static const struct {
	const char	*name;
	size_t		 off;
} stat_fields[] = {
	STAT(validations), STAT(bad_tokens), STAT(posts), STAT(notifications), STAT(accepted),
	STAT(unknown), STAT(forged), STAT(malformed), STAT(bad_requests), STAT(store_errors),
};

/* Fails unless every counter is what want says (the ones it leaves out are 0). */
static void
expect_stats(struct fx *fx, const struct receiver_stats *want)
{
	struct receiver_stats s = stats(fx);

	for (size_t i = 0; i < NELEM(stat_fields); i++) {
		long long got, w;

		memcpy(&got, (const char *)&s + stat_fields[i].off, sizeof(got));
		memcpy(&w, (const char *)want + stat_fields[i].off, sizeof(w));
		if (got != w)
			fail_msg("stats.%s is %lld, want %lld", stat_fields[i].name, got, w);
	}
}

/* method base+target; the status, or 0 when no answer came. Release ans with sim_http_free. */
static long
http(struct fx *fx, const char *method, const char *target, const char *body,
    struct sim_http *ans)
{
	sim_http_do(ans, fx->base, method, target, body, NULL, NULL);
	return ans->status;
}

/* The status alone. */
static long
http_status(struct fx *fx, const char *method, const char *target, const char *body)
{
	struct sim_http ans;
	long status = http(fx, method, target, body, &ans);

	sim_http_free(&ans);
	return status;
}

/* {"value":[items]} as text; items is stolen. Caller frees. */
static char *
collection(json_t *items)
{
	json_t *o = json_pack("{s:o}", "value", items);
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return text;
}

/* A notification item; lifecycle NULL makes it a change one. */
static json_t *
item(const char *id, const char *client_state, const char *lifecycle)
{
	json_t *o = json_object();

	if (id != NULL)
		json_object_set_new(o, "subscriptionId", json_string(id));
	if (client_state != NULL)
		json_object_set_new(o, "clientState", json_string(client_state));
	if (lifecycle != NULL)
		json_object_set_new(o, "lifecycleEvent", json_string(lifecycle));
	else
		json_object_set_new(o, "changeType", json_string("created"));
	json_object_set_new(o, "resource", json_string("users/x/messages/y"));
	return o;
}

/* POSTs {"value":items} to path; items is stolen. */
static long
post_items(struct fx *fx, const char *path, json_t *items, struct sim_http *ans)
{
	char *body = collection(items);
	long status = http(fx, "POST", path, body, ans);

	free(body);
	return status;
}

static long
post_items_status(struct fx *fx, const char *path, json_t *items)
{
	struct sim_http ans;
	long status = post_items(fx, path, items, &ans);

	sim_http_free(&ans);
	return status;
}

/* A text answer as receiver.c writes every one: never sniffed, rendered or cached. */
static void
assert_safe_text(const struct sim_http *ans)
{
	const char *csp = sim_http_header(ans, "Content-Security-Policy");

	assert_non_null(sim_http_header(ans, "Content-Type"));
	assert_string_equal(sim_http_header(ans, "Content-Type"), TEXT_PLAIN);
	assert_non_null(sim_http_header(ans, "X-Content-Type-Options"));
	assert_string_equal(sim_http_header(ans, "X-Content-Type-Options"), "nosniff");
	assert_non_null(csp);
	assert_string_equal(csp, "default-src 'none'; sandbox");
	assert_non_null(sim_http_header(ans, "Cache-Control"));
	assert_string_equal(sim_http_header(ans, "Cache-Control"), "no-store");
}

/*
 * receiver_token_ok on its own, the bytes given with their length.
 */

/* receiver_parse alone: what each item of a body becomes, and the bodies refused whole. */
static void
test_parse(void **state)
{
	static const struct {
		const char		*body;
		int			 rc;
		size_t			 n;
		/* the first item: */
		const char		*id;		/* NULL: malformed */
		const char		*client_state;
		enum receiver_event	 ev;
	} cases[] = {
		{ "{\"value\":[{\"subscriptionId\":\"s\",\"clientState\":\"c\","
		  "\"changeType\":\"created\"}]}", 0, 1, "s", "c", RECEIVER_CHANGE },
		{ "{\"value\":[{\"subscriptionId\":\"s\",\"lifecycleEvent\":null}]}",
		  0, 1, "s", NULL, RECEIVER_CHANGE },
		{ "{\"value\":[{\"subscriptionId\":\"s\",\"clientState\":\"c\","
		  "\"lifecycleEvent\":\"missed\"}]}", 0, 1, "s", "c", RECEIVER_MISSED },
		{ "{\"value\":[{\"subscriptionId\":\"s\",\"lifecycleEvent\":"
		  "\"subscriptionRemoved\"}]}", 0, 1, "s", NULL, RECEIVER_REMOVED },
		{ "{\"value\":[{\"subscriptionId\":\"s\",\"lifecycleEvent\":"
		  "\"reauthorizationRequired\",\"clientState\":7}]}", 0, 1, "s", NULL,
		  RECEIVER_REAUTHORIZE },
		{ "{\"value\":[{\"subscriptionId\":\"s\",\"lifecycleEvent\":\"other\"}]}",
		  0, 1, NULL, NULL, 0 },
		{ "{\"value\":[{\"subscriptionId\":\"s\",\"lifecycleEvent\":1}]}",
		  0, 1, NULL, NULL, 0 },
		{ "{\"value\":[{\"subscriptionId\":\"\"}]}", 0, 1, NULL, NULL, 0 },
		{ "{\"value\":[{\"subscriptionId\":3}]}", 0, 1, NULL, NULL, 0 },
		{ "{\"value\":[7, \"x\", null]}", 0, 3, NULL, NULL, 0 },
		{ "{\"value\":[]}", 0, 0, NULL, NULL, 0 },
		{ "", -1, 0, NULL, NULL, 0 },
		{ "[]", -1, 0, NULL, NULL, 0 },
		{ "{}", -1, 0, NULL, NULL, 0 },
		{ "{\"value\":{}}", -1, 0, NULL, NULL, 0 },
		{ "{\"value\":[]", -1, 0, NULL, NULL, 0 },
		{ "{\"value\":[{\"subscriptionId\":\"a\\u0000b\"}]}", -1, 0, NULL, NULL, 0 },
	};
	struct receiver_item *items;
	char *big;
	size_t n, len;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int rc = receiver_parse(cases[i].body, strlen(cases[i].body), &items, &n);

		if (rc != cases[i].rc || n != cases[i].n)
			fail_msg("parse case %zu: rc %d n %zu", i, rc, n);
		if (n > 0) {
			if (cases[i].id == NULL) {
				assert_true(items[0].malformed);
				assert_null(items[0].id);
			} else {
				assert_false(items[0].malformed);
				assert_string_equal(items[0].id, cases[i].id);
				assert_int_equal(items[0].ev, cases[i].ev);
				if (cases[i].client_state == NULL)
					assert_null(items[0].client_state);
				else
					assert_string_equal(items[0].client_state,
					    cases[i].client_state);
			}
		}
		receiver_items_free(items, n);
	}

	/* A subscriptionId longer than any GUID is malformed; a body of too many items is
	 * refused whole. */
	big = xmalloc(64 * 1024);
	len = (size_t)snprintf(big, 64 * 1024, "{\"value\":[{\"subscriptionId\":\"%0300d\"}]}", 0);
	assert_int_equal(receiver_parse(big, len, &items, &n), 0);
	assert_int_equal(n, 1);
	assert_true(items[0].malformed);
	receiver_items_free(items, n);
	len = (size_t)snprintf(big, 64 * 1024, "{\"value\":[");
	for (int i = 0; i <= RECEIVER_MAX_ITEMS; i++)
		len += (size_t)snprintf(big + len, 64 * 1024 - len, "%s{}", i ? "," : "");
	len += (size_t)snprintf(big + len, 64 * 1024 - len, "]}");
	assert_int_equal(receiver_parse(big, len, &items, &n), -1);
	assert_null(items);
	assert_int_equal(n, 0);
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(receiver_parse("{\"value\":[]}xyz", 12, &items, &n), 0);
	free(big);
}

static void
test_token_ok(void **state)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
		int		 ok;
	} cases[] = {
		{ "a", 1, 1 },
		{ "Validation: Testing client application reachability", 51, 1 },
		{ "<script>alert(1)</script>", 25, 1 },
		{ "\xC3\xA9t\xC3\xA9", 5, 1 },			/* été */
		{ "\xF0\x9F\x98\x80", 4, 1 },			/* 😀 */
		{ "\xEF\xBF\xBD", 3, 1 },			/* U+FFFD */
		{ "", 0, 0 },
		{ NULL, 0, 0 },
		{ "a\0b", 3, 0 },				/* embedded NUL */
		{ "\x01", 1, 0 },
		{ "a\tb", 3, 0 },
		{ "a\nb", 3, 0 },
		{ "a\rb", 3, 0 },
		{ "\x1f", 1, 0 },
		{ "\x7f", 1, 0 },				/* DEL */
		{ "\xC2\x85", 2, 0 },				/* C1 NEL */
		{ "\xC2\x9F", 2, 0 },				/* C1 APC */
		{ "\xC3\x28", 2, 0 },				/* bad continuation */
		{ "\xC0\xAF", 2, 0 },				/* overlong '/' */
		{ "\xE0\x80\xAF", 3, 0 },			/* overlong '/' */
		{ "\xED\xA0\x80", 3, 0 },			/* surrogate */
		{ "\xF4\x90\x80\x80", 4, 0 },			/* above U+10FFFF */
		{ "\xFF", 1, 0 },
		{ "\x80", 1, 0 },				/* stray continuation */
		{ "\xE2\x82\xAC", 2, 0 },			/* € cut by the length */
		{ "\xF0\x9F\x98\x80", 3, 0 },			/* 😀 cut by the length */
	};
	char *max = xmalloc(RECEIVER_MAX_TOKEN + 2);

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		if (receiver_token_ok(cases[i].bytes, cases[i].len) != cases[i].ok)
			fail_msg("token case %zu: want %d", i, cases[i].ok);
	memset(max, 'a', RECEIVER_MAX_TOKEN + 1);
	max[RECEIVER_MAX_TOKEN + 1] = '\0';
	assert_int_equal(receiver_token_ok(max, RECEIVER_MAX_TOKEN), 1);
	assert_int_equal(receiver_token_ok(max, RECEIVER_MAX_TOKEN + 1), 0);
	free(max);
}

/*
 * The handshake.
 */

/* POST path?query must be answered 200 with exactly want as a safe text body. */
static void
expect_echo(struct fx *fx, const char *path, const char *query, const char *want, size_t wantlen)
{
	struct sim_http ans;
	char *target = xasprintf("%s?%s", path, query);

	assert_int_equal(http(fx, "POST", target, NULL, &ans), 200);
	assert_int_equal(ans.resp.body_len, wantlen);
	assert_memory_equal(ans.resp.body, want, wantlen);
	assert_safe_text(&ans);
	sim_http_free(&ans);
	free(target);
}

static void
test_handshake(void **state)
{
	static const struct {
		const char *query, *want;
	} cases[] = {
		{ "validationToken=Validation%3a+Testing+client+application+reachability+for+"
		    "subscription+Request-Id%3a+5b1c6a5e-0000-4000-8000-000000000001",
		    "Validation: Testing client application reachability for subscription "
		    "Request-Id: 5b1c6a5e-0000-4000-8000-000000000001" },
		{ "validationToken=a%2Bb%20c%25d", "a+b c%d" },
		{ "validationToken=%C3%A9t%C3%A9", "\xC3\xA9t\xC3\xA9" },
		/* Graph appends the token to a notificationUrl's own query. */
		{ "tenant=x&validationToken=abc", "abc" },
		{ "validationToken=abc&tenant=x", "abc" },
		{ "validationToken=first&validationToken=second", "first" },
		/* A '%' not followed by two hex digits stays as it is (the layer's decoding). */
		{ "validationToken=100%", "100%" },
	};
	struct fx *fx = *state;
	const char *const paths[] = { RECEIVER_PATH_NOTIFY, RECEIVER_PATH_LIFECYCLE };

	for (size_t p = 0; p < NELEM(paths); p++)
		for (size_t i = 0; i < NELEM(cases); i++)
			expect_echo(fx, paths[p], cases[i].query, cases[i].want,
			    strlen(cases[i].want));
	expect_stats(fx, &(struct receiver_stats){ .validations = 2 * NELEM(cases) });
	assert_int_equal(fx->fake.lookups, 0);
	assert_int_equal(fx->fake.nmarks, 0);
}

/* An HTML token is echoed, as Graph requires, but only as text nobody renders. */
static void
test_handshake_html(void **state)
{
	struct fx *fx = *state;
	const char *html = "<script>alert(1)</script>";

	expect_echo(fx, RECEIVER_PATH_NOTIFY,
	    "validationToken=%3Cscript%3Ealert(1)%3C%2Fscript%3E", html, strlen(html));
	expect_echo(fx, RECEIVER_PATH_LIFECYCLE,
	    "validationToken=%3Chtml%3E%3Cbody+onload%3Dalert(1)%3E",
	    "<html><body onload=alert(1)>", 28);
}

static void
test_handshake_hostile(void **state)
{
	static const struct {
		const char *token;	/* as in the URL */
		const char *marker;	/* must not come back: the decoded token, or a part */
	} cases[] = {
		{ "", NULL },
		{ "%00", NULL },
		{ "abc%00def", "abc" },
		{ "abc%00", "abc" },
		{ "%01evil", "evil" },
		{ "evil%0d%0aSet-Cookie:+x=1", "Set-Cookie" },
		{ "evil%0aline", "evil" },
		{ "evil%09tab", "evil" },
		{ "evil%7f", "evil" },
		{ "evil%C2%85", "evil" },
		{ "evil%C3%28", "evil" },
		{ "evil%C0%AF", "evil" },
		{ "evil%ED%A0%80", "evil" },
		{ "evil%FF", "evil" },
	};
	struct fx *fx = *state;
	struct sim_http ans;
	char *target, *longtok;
	size_t n = 0;

	for (size_t i = 0; i < NELEM(cases); i++) {
		target = xasprintf("%s?validationToken=%s", i % 2 ? RECEIVER_PATH_LIFECYCLE :
		    RECEIVER_PATH_NOTIFY, cases[i].token);
		if (http(fx, "POST", target, NULL, &ans) != 400)
			fail_msg("hostile token case %zu: status %ld, want 400", i, ans.status);
		assert_safe_text(&ans);
		if (cases[i].marker != NULL && strstr(ans.resp.body, cases[i].marker) != NULL)
			fail_msg("hostile token case %zu echoed: %s", i, ans.resp.body);
		sim_http_free(&ans);
		free(target);
		n++;
	}
	/* Present without a value. */
	assert_int_equal(http_status(fx, "POST", RECEIVER_PATH_NOTIFY "?validationToken", NULL),
	    400);
	n++;
	/* One byte over the limit; at the limit it is fine. */
	longtok = xmalloc(RECEIVER_MAX_TOKEN + 2);
	memset(longtok, 'Z', RECEIVER_MAX_TOKEN + 1);
	longtok[RECEIVER_MAX_TOKEN + 1] = '\0';
	target = xasprintf("%s?validationToken=%s", RECEIVER_PATH_NOTIFY, longtok);
	assert_int_equal(http(fx, "POST", target, NULL, &ans), 400);
	assert_null(strstr(ans.resp.body, "ZZZZ"));
	sim_http_free(&ans);
	free(target);
	n++;
	longtok[RECEIVER_MAX_TOKEN] = '\0';
	target = xasprintf("validationToken=%s", longtok);
	expect_echo(fx, RECEIVER_PATH_NOTIFY, target, longtok, RECEIVER_MAX_TOKEN);
	free(target);
	free(longtok);

	expect_stats(fx, &(struct receiver_stats){ .bad_tokens = (long long)n, .validations = 1 });
}

/*
 * Notifications.
 */

static void
test_batch_coalesced(void **state)
{
	struct fx *fx = *state;
	struct sim_http ans;
	json_t *items = json_pack("[o,o,o]", item("sub-a", "secret-a", NULL),
	    item("sub-b", "secret-b", NULL), item("sub-a", "secret-a", NULL));

	assert_int_equal(post_items(fx, RECEIVER_PATH_NOTIFY, items, &ans), 202);
	assert_int_equal(ans.resp.body_len, 0);
	assert_null(sim_http_header(&ans, "Content-Type"));
	sim_http_free(&ans);
	assert_int_equal(fx->fake.nmarks, 2);
	assert_int_equal(marks_of(&fx->fake, "sub-a", RECEIVER_CHANGE), 1);
	assert_int_equal(marks_of(&fx->fake, "sub-b", RECEIVER_CHANGE), 1);
	/* mark gets the subscription lookup found. */
	for (int i = 0; i < 2; i++) {
		const char *want = strcmp(fx->fake.marks[i].id, "sub-a") == 0 ? "a@example.com" :
		    "b@example.com";

		assert_string_equal(fx->fake.marks[i].mailbox, want);
	}
	assert_int_equal(fx->fake.lookups, 2);
	assert_int_equal(fx->fake.wakes, 1);
	expect_stats(fx, &(struct receiver_stats){ .posts = 1, .notifications = 3, .accepted = 3 });

	/* Coalescing is within one POST: the next one marks again, and a different event on the
	 * same subscription is a mark of its own. */
	items = json_pack("[o,o,o]", item("sub-a", "secret-a", NULL),
	    item("sub-a", "secret-a", "missed"), item("sub-a", "secret-a", "missed"));
	assert_int_equal(post_items_status(fx, RECEIVER_PATH_LIFECYCLE, items), 202);
	assert_int_equal(marks_of(&fx->fake, "sub-a", RECEIVER_CHANGE), 2);
	assert_int_equal(marks_of(&fx->fake, "sub-a", RECEIVER_MISSED), 1);
	assert_int_equal(fx->fake.wakes, 2);
}

/* Headers other than Date must match: nothing in the answer tells a prober how it fared. */
static void
assert_same_answer(const struct sim_http *a, const struct sim_http *b)
{
	size_t ia = 0, ib = 0;

	assert_int_equal(a->status, b->status);
	assert_int_equal(a->resp.body_len, b->resp.body_len);
	assert_memory_equal(a->resp.body, b->resp.body, a->resp.body_len);
	for (;;) {
		while (ia < a->resp.nheaders && strcasecmp(a->resp.headers[ia].name, "Date") == 0)
			ia++;
		while (ib < b->resp.nheaders && strcasecmp(b->resp.headers[ib].name, "Date") == 0)
			ib++;
		if (ia == a->resp.nheaders || ib == b->resp.nheaders)
			break;
		assert_string_equal(a->resp.headers[ia].name, b->resp.headers[ib].name);
		assert_string_equal(a->resp.headers[ia].value, b->resp.headers[ib].value);
		ia++, ib++;
	}
	assert_int_equal(ia, a->resp.nheaders);
	assert_int_equal(ib, b->resp.nheaders);
}

static void
test_forged_and_unknown(void **state)
{
	struct fx *fx = *state;
	json_t *bad[] = {
		item("sub-a", "secret-b", NULL),	/* another subscription's secret */
		item("sub-a", "secret-", NULL),		/* a prefix */
		item("sub-a", "secret-aa", NULL),
		item("sub-a", NULL, NULL),		/* none */
		item("sub-nostate", "", NULL),		/* stored without a secret */
		item("sub-unknown", "secret-a", NULL),
	};
	struct sim_http good, ans;

	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_int_equal(post_items(fx, RECEIVER_PATH_NOTIFY, json_pack("[o]", bad[i]),
		    &ans), 202);
		sim_http_free(&ans);
	}
	assert_int_equal(fx->fake.nmarks, 0);
	assert_int_equal(fx->fake.wakes, 0);
	expect_stats(fx, &(struct receiver_stats){ .posts = NELEM(bad), .notifications = NELEM(bad),
	    .forged = 5, .unknown = 1 });

	/* The good one's answer, byte for byte the same as a forged and an unknown one's. */
	assert_int_equal(post_items(fx, RECEIVER_PATH_NOTIFY,
	    json_pack("[o]", item("sub-a", "secret-a", NULL)), &good), 202);
	assert_int_equal(fx->fake.nmarks, 1);
	assert_int_equal(post_items(fx, RECEIVER_PATH_NOTIFY,
	    json_pack("[o]", item("sub-a", "wrong", NULL)), &ans), 202);
	assert_same_answer(&good, &ans);
	sim_http_free(&ans);
	assert_int_equal(post_items(fx, RECEIVER_PATH_NOTIFY,
	    json_pack("[o]", item("sub-zzz", "secret-a", NULL)), &ans), 202);
	assert_same_answer(&good, &ans);
	sim_http_free(&ans);
	sim_http_free(&good);
	assert_int_equal(fx->fake.nmarks, 1);
}

static void
test_mixed_batch(void **state)
{
	struct fx *fx = *state;
	json_t *items = json_pack("[o,o,o,o]", item("sub-b", "secret-a", NULL),
	    item("sub-unknown", "secret-a", NULL), item(NULL, "secret-a", NULL),
	    item("sub-a", "secret-a", NULL));

	assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY, items), 202);
	assert_int_equal(fx->fake.nmarks, 1);
	assert_int_equal(marks_of(&fx->fake, "sub-a", RECEIVER_CHANGE), 1);
	assert_int_equal(fx->fake.wakes, 1);
	expect_stats(fx, &(struct receiver_stats){ .posts = 1, .notifications = 4, .accepted = 1,
	    .forged = 1, .unknown = 1, .malformed = 1 });
}

static void
test_lifecycle_events(void **state)
{
	static const struct {
		const char	*json;	/* the lifecycleEvent member, or "" for none */
		int		 ev;	/* -1: malformed */
	} cases[] = {
		{ ",\"lifecycleEvent\":\"reauthorizationRequired\"", RECEIVER_REAUTHORIZE },
		{ ",\"lifecycleEvent\":\"subscriptionRemoved\"", RECEIVER_REMOVED },
		{ ",\"lifecycleEvent\":\"missed\"", RECEIVER_MISSED },
		{ "", RECEIVER_CHANGE },
		{ ",\"lifecycleEvent\":null", RECEIVER_CHANGE },
		{ ",\"lifecycleEvent\":\"Missed\"", -1 },
		{ ",\"lifecycleEvent\":\"subscriptionRemovedX\"", -1 },
		{ ",\"lifecycleEvent\":\"\"", -1 },
		{ ",\"lifecycleEvent\":1", -1 },
		{ ",\"lifecycleEvent\":[\"missed\"]", -1 },
	};
	struct fx *fx = *state;
	long long malformed = 0;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *body = xasprintf("{\"value\":[{\"subscriptionId\":\"sub-b\","
		    "\"clientState\":\"secret-b\"%s}]}", cases[i].json);
		int before = fx->fake.nmarks;

		assert_int_equal(http_status(fx, "POST", i % 2 ? RECEIVER_PATH_NOTIFY :
		    RECEIVER_PATH_LIFECYCLE, body), 202);
		if (cases[i].ev < 0) {
			if (fx->fake.nmarks != before)
				fail_msg("lifecycle case %zu: marked", i);
			malformed++;
		} else if (fx->fake.nmarks != before + 1 ||
		    fx->fake.marks[before].ev != (enum receiver_event)cases[i].ev) {
			fail_msg("lifecycle case %zu: want one mark of event %d", i, cases[i].ev);
		}
		free(body);
	}
	assert_int_equal(stats(fx).malformed, malformed);
}

static void
test_malformed_items(void **state)
{
	struct fx *fx = *state;
	char *longid = xmalloc(1001);
	json_t *items;

	memset(longid, 'x', 1000);
	longid[1000] = '\0';
	items = json_pack("[o,o,o,o,o,o,o,o]",
	    item(NULL, "secret-a", NULL),
	    json_pack("{s:i,s:s}", "subscriptionId", 42, "clientState", "secret-a"),
	    json_pack("{s:n,s:s}", "subscriptionId", "clientState", "secret-a"),
	    item("", "secret-a", NULL),
	    item(longid, "secret-a", NULL),
	    json_string("sub-a"),
	    json_integer(7),
	    json_null());
	assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY, items), 202);
	expect_stats(fx, &(struct receiver_stats){ .posts = 1, .notifications = 8, .malformed = 8 });
	/* None of them reaches the store. */
	assert_int_equal(fx->fake.lookups, 0);
	assert_int_equal(fx->fake.nmarks, 0);
	assert_int_equal(fx->fake.wakes, 0);
	free(longid);
}

static void
test_bad_requests(void **state)
{
	static const char *const bodies[] = {
		"",
		"not json",
		"{\"value\":[]",
		"null",
		"[]",
		"[{\"value\":[]}]",
		"{}",
		"{\"value\":{}}",
		"{\"value\":\"sub-a\"}",
		"{\"value\":null}",
		"{\"Value\":[]}",
		"{\"value\":[]} trailing",
	};
	struct fx *fx = *state;
	struct sim_http ans;

	for (size_t i = 0; i < NELEM(bodies); i++) {
		if (http(fx, "POST", RECEIVER_PATH_NOTIFY, bodies[i], &ans) != 400)
			fail_msg("bad body %zu: status %ld, want 400", i, ans.status);
		assert_safe_text(&ans);
		sim_http_free(&ans);
	}
	/* The empty collection is a collection. */
	assert_int_equal(http_status(fx, "POST", RECEIVER_PATH_NOTIFY, "{\"value\":[]}"), 202);
	expect_stats(fx, &(struct receiver_stats){ .bad_requests = NELEM(bodies), .posts = 1 });
	assert_int_equal(fx->fake.wakes, 0);
}

static void
test_too_many_items(void **state)
{
	struct fx *fx = *state;
	json_t *items = json_array();

	for (int i = 0; i < RECEIVER_MAX_ITEMS; i++)
		json_array_append_new(items, item("sub-a", "secret-a", NULL));
	json_incref(items);
	assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY, items), 202);
	assert_int_equal(stats(fx).accepted, RECEIVER_MAX_ITEMS);
	assert_int_equal(fx->fake.nmarks, 1);
	json_array_append_new(items, item("sub-a", "secret-a", NULL));
	assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY, items), 400);
	assert_int_equal(stats(fx).bad_requests, 1);
	assert_int_equal(fx->fake.nmarks, 1);
}

/* A valid collection padded with spaces to n bytes. Caller frees. */
static char *
padded_body(size_t n)
{
	const char *head = "{\"value\":[{\"subscriptionId\":\"sub-a\",\"clientState\":\"secret-a\"}]";
	char *body = xmalloc(n + 1);
	size_t hl = strlen(head);

	memcpy(body, head, hl);
	memset(body + hl, ' ', n - hl - 1);
	body[n - 1] = '}';
	body[n] = '\0';
	return body;
}

static void
test_body_limit(void **state)
{
	struct fx *fx = *state;
	char *body = padded_body(RECEIVER_MAX_BODY);

	assert_int_equal(http_status(fx, "POST", RECEIVER_PATH_NOTIFY, body), 202);
	assert_int_equal(fx->fake.nmarks, 1);
	free(body);
	body = padded_body(RECEIVER_MAX_BODY + 1);
	assert_int_equal(http_status(fx, "POST", RECEIVER_PATH_NOTIFY, body), 413);
	assert_int_equal(fx->fake.nmarks, 1);
	free(body);
}

static void
test_store_failure(void **state)
{
	struct fx *fx = *state;
	struct sim_http ans;

	fx->fake.fail_lookup = 1;
	assert_int_equal(post_items(fx, RECEIVER_PATH_NOTIFY,
	    json_pack("[o]", item("sub-a", "secret-a", NULL)), &ans), 503);
	assert_safe_text(&ans);
	sim_http_free(&ans);
	assert_int_equal(fx->fake.nmarks, 0);
	assert_int_equal(fx->fake.wakes, 0);
	fx->fake.fail_lookup = 0;

	fx->fake.fail_mark = "*";
	assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY,
	    json_pack("[o]", item("sub-a", "secret-a", NULL))), 503);
	assert_int_equal(fx->fake.wakes, 0);

	/* The first mark held before the second failed: it is durable, so the worker is woken;
	 * the POST is still 503 so Graph sends all of it again. */
	fx->fake.fail_mark = "sub-b";
	assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY,
	    json_pack("[o,o]", item("sub-a", "secret-a", NULL), item("sub-b", "secret-b", NULL))),
	    503);
	assert_int_equal(marks_of(&fx->fake, "sub-a", RECEIVER_CHANGE), 1);
	assert_int_equal(fx->fake.wakes, 1);
	expect_stats(fx, &(struct receiver_stats){ .store_errors = 3 });

	/* Graph's retry, with the store back. */
	fx->fake.fail_mark = NULL;
	assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY,
	    json_pack("[o,o]", item("sub-a", "secret-a", NULL), item("sub-b", "secret-b", NULL))),
	    202);
	assert_int_equal(marks_of(&fx->fake, "sub-b", RECEIVER_CHANGE), 1);
	expect_stats(fx, &(struct receiver_stats){ .store_errors = 3, .posts = 1, .notifications = 2,
	    .accepted = 2 });
}

/*
 * Routing.
 */

static void
test_routes(void **state)
{
	static const struct {
		const char	*method, *target;
		long		 status;
		const char	*allow;		/* the Allow header a 405 carries */
	} cases[] = {
		{ "GET", RECEIVER_PATH_HEALTH, 200, NULL },
		{ "GET", RECEIVER_PATH_HEALTH "?x=1", 200, NULL },
		{ "HEAD", RECEIVER_PATH_HEALTH, 200, NULL },
		{ "POST", RECEIVER_PATH_HEALTH, 405, "GET, HEAD" },
		{ "DELETE", RECEIVER_PATH_HEALTH, 405, "GET, HEAD" },
		{ "GET", RECEIVER_PATH_NOTIFY, 405, "POST" },
		{ "GET", RECEIVER_PATH_NOTIFY "?validationToken=abc", 405, "POST" },
		{ "PUT", RECEIVER_PATH_LIFECYCLE, 405, "POST" },
		{ "GET", "/", 404, NULL },
		{ "GET", "/nope", 404, NULL },
		{ "POST", "/graph", 404, NULL },
		{ "POST", RECEIVER_PATH_NOTIFY "/", 404, NULL },
		{ "POST", RECEIVER_PATH_NOTIFY "x", 404, NULL },
		{ "POST", RECEIVER_PATH_NOTIFY "%00x?validationToken=abc", 404, NULL },
		{ "GET", RECEIVER_PATH_HEALTH "/x", 404, NULL },
		{ "GET", "/HEALTHZ", 404, NULL },
	};
	struct fx *fx = *state;
	struct sim_http ans;

	for (size_t i = 0; i < NELEM(cases); i++) {
		int bodiless = !strcmp(cases[i].method, "GET") || !strcmp(cases[i].method, "HEAD");
		long status = http(fx, cases[i].method, cases[i].target, bodiless ? NULL : "", &ans);
		const char *allow = sim_http_header(&ans, "Allow");

		if (status != cases[i].status)
			fail_msg("route %zu (%s %s): status %ld, want %ld", i, cases[i].method,
			    cases[i].target, status, cases[i].status);
		if (cases[i].allow != NULL && (allow == NULL || strcmp(allow, cases[i].allow)))
			fail_msg("route %zu: Allow %s, want %s", i, allow ? allow : "none",
			    cases[i].allow);
		if (status == 200)
			assert_string_equal(ans.resp.body, strcmp(cases[i].method, "HEAD") ? "ok\n" : "");
		assert_safe_text(&ans);
		sim_http_free(&ans);
	}
	assert_int_equal(stats(fx).validations, 0);
}

/*
 * TLS: a self-signed certificate for 127.0.0.1, verified by the client.
 */

/* identity 0's key with a certificate naming 127.0.0.1. Caller frees. */
static char *
loopback_cert(const char *key_pem)
{
	char err[256], *pem, *data;
	EVP_PKEY *key = crypto_privkey_load_pem(key_pem, err, sizeof(err));
	X509 *cert = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	BIO *bio;
	long len;

	assert_non_null(key);
	assert_non_null(cert);
	assert_int_equal(X509_set_version(cert, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), 7), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600));
	assert_int_equal(X509_set_pubkey(cert, key), 1);
	name = X509_get_subject_name(cert);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(cert, name), 1);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
	len = BIO_get_mem_data(bio, &data);
	pem = xstrndup(data, (size_t)len);
	BIO_free(bio);
	X509_free(cert);
	EVP_PKEY_free(key);
	return pem;
}

struct tls_reply {
	CURLcode	rc;
	long		status;
	char		body[4096];
	size_t		len;
	char		ctype[128];
	char		nosniff[32];
};

static size_t
tls_body(char *data, size_t size, size_t n, void *arg)
{
	struct tls_reply *r = arg;
	size_t take = size * n;

	if (take > sizeof(r->body) - 1 - r->len)
		take = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, data, take);
	r->len += take;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t
tls_header(char *data, size_t size, size_t n, void *arg)
{
	struct tls_reply *r = arg;
	const char *name = "X-Content-Type-Options:";
	size_t len = size * n, nl = strlen(name);

	if (len > nl && strncasecmp(data, name, nl) == 0)
		snprintf(r->nosniff, sizeof(r->nosniff), "%.*s", (int)strcspn(data + nl + 1,
		    "\r\n"), data + nl + 1);
	return len;
}

/* POST url with libcurl, trusting only ca_pem (NULL: the system's store). */
static void
tls_post(const char *url, const char *ca_pem, struct tls_reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_blob ca;
	char *ctype = NULL;

	memset(r, 0, sizeof(*r));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_pem != NULL) {
		ca.data = (void *)ca_pem;
		ca.len = strlen(ca_pem);
		ca.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tls_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tls_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ctype);
	curl_easy_cleanup(c);
}

static void
test_tls(void **state)
{
	struct fx *fx = *state;
	struct tls_reply r;
	char *key_pem, *cert_pem, *url;

	receiver_stop(fx->r);
	testkeys_pem(0, &key_pem, NULL);
	cert_pem = loopback_cert(key_pem);
	assert_non_null(start(fx, cert_pem, key_pem));
	assert_memory_equal(fx->base, "https://", 8);

	url = xasprintf("%s%s?validationToken=Validation%%3a+over+TLS", fx->base,
	    RECEIVER_PATH_LIFECYCLE);
	tls_post(url, cert_pem, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "Validation: over TLS");
	assert_string_equal(r.ctype, TEXT_PLAIN);
	assert_string_equal(r.nosniff, "nosniff");
	free(url);

	/* The client really verified: without the certificate it refuses the server. */
	url = xasprintf("%s%s?validationToken=x", fx->base, RECEIVER_PATH_NOTIFY);
	tls_post(url, NULL, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	free(url);
	/* And the port speaks only TLS. */
	url = xasprintf("http://127.0.0.1:%d%s?validationToken=x", receiver_port(fx->r),
	    RECEIVER_PATH_NOTIFY);
	tls_post(url, NULL, &r);
	assert_int_not_equal(r.status, 200);
	free(url);
	assert_int_equal(stats(fx).validations, 1);

	/* A certificate without its key, or a key that is not one, does not start. */
	receiver_stop(fx->r);
	assert_null(start(fx, cert_pem, NULL));
	assert_null(start(fx, cert_pem, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n"));
	fx->r = NULL;
	free(cert_pem);
	free(key_pem);
}

/*
 * Load and a hung store.
 */

#define NTHREADS	8
#define PER_THREAD	25
#define BUDGET_SEC	3.0

struct poster {
	pthread_t	 thread;
	const char	*base;
	int		 index;
	int		 accepted;	/* answers 202 */
	double		 slowest;	/* seconds */
};

static void *
poster_run(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct sim_http ans;
		char *body = xasprintf("{\"value\":[{\"subscriptionId\":\"%s\","
		    "\"clientState\":\"%s\",\"changeType\":\"created\"}]}",
		    (p->index + i) % 2 ? "sub-a" : "sub-b", (p->index + i) % 2 ? "secret-a" :
		    "secret-b");
		double t0 = mono_sec(), dt;

		sim_http_do(&ans, p->base, "POST", RECEIVER_PATH_NOTIFY, body, NULL, NULL);
		if (ans.status == 202)
			p->accepted++;
		dt = mono_sec() - t0;
		if (dt > p->slowest)
			p->slowest = dt;
		sim_http_free(&ans);
		free(body);
	}
	return NULL;
}

static void
test_concurrent_posts(void **state)
{
	struct fx *fx = *state;
	struct poster p[NTHREADS];
	int accepted = 0;
	double slowest = 0;

	fx->fake.mark_sleep_ms = 1;
	memset(p, 0, sizeof(p));
	for (int i = 0; i < NTHREADS; i++) {
		p[i].base = fx->base;
		p[i].index = i;
		assert_int_equal(pthread_create(&p[i].thread, NULL, poster_run, &p[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(p[i].thread, NULL);
		accepted += p[i].accepted;
		if (p[i].slowest > slowest)
			slowest = p[i].slowest;
	}
	assert_int_equal(accepted, NTHREADS * PER_THREAD);
	/* Graph's delivery window, not a benchmark: a slower answer is a failed delivery. */
	if (slowest >= BUDGET_SEC)
		fail_msg("slowest answer took %.3f s", slowest);
	assert_int_equal(fx->fake.nmarks, NTHREADS * PER_THREAD);
	assert_int_equal(fx->fake.wakes, NTHREADS * PER_THREAD);
	expect_stats(fx, &(struct receiver_stats){ .posts = NTHREADS * PER_THREAD,
	    .notifications = NTHREADS * PER_THREAD, .accepted = NTHREADS * PER_THREAD });
}

struct held_post {
	pthread_t	 thread;
	const char	*base;
	long		 status;
};

static void *
held_post_run(void *arg)
{
	struct held_post *h = arg;
	struct sim_http ans;

	sim_http_do(&ans, h->base, "POST", RECEIVER_PATH_NOTIFY,
	    "{\"value\":[{\"subscriptionId\":\"sub-a\",\"clientState\":\"secret-a\"}]}", NULL,
	    NULL);
	h->status = ans.status;
	sim_http_free(&ans);
	return NULL;
}

/* While one POST waits on a hung store (in op), the health check, a handshake, a rejected POST
 * and the counters are answered: nothing but what needs the store waits on it. (Were one of
 * them held up, it would be answered only when the fake gives up after 5 s, and held is 0.) */
static void
hung_store(struct fx *fx, enum hold op)
{
	struct held_post h = { .base = fx->base };
	int held;

	fx->fake.hold = op;
	assert_int_equal(pthread_create(&h.thread, NULL, held_post_run, &h), 0);
	pthread_mutex_lock(&fx->fake.lock);
	while (fx->fake.held == 0)
		pthread_cond_wait(&fx->fake.changed, &fx->fake.lock);
	pthread_mutex_unlock(&fx->fake.lock);

	assert_int_equal(http_status(fx, "GET", RECEIVER_PATH_HEALTH, NULL), 200);
	assert_int_equal(http_status(fx, "POST", RECEIVER_PATH_NOTIFY "?validationToken=t", NULL),
	    200);
	assert_int_equal(http_status(fx, "POST", RECEIVER_PATH_NOTIFY, "nonsense"), 400);
	/* With marks hung, a forged item is still looked up and answered: it needs no mark. */
	if (op == HOLD_MARK) {
		assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY,
		    json_pack("[o]", item("sub-a", "nope", NULL))), 202);
		assert_int_equal(stats(fx).forged, 1);
	}
	assert_int_equal(stats(fx).bad_requests, 1);

	pthread_mutex_lock(&fx->fake.lock);
	held = fx->fake.held;
	fx->fake.hold = HOLD_NONE;
	pthread_cond_broadcast(&fx->fake.changed);
	pthread_mutex_unlock(&fx->fake.lock);
	pthread_join(h.thread, NULL);
	/* Still hanging when all the above was answered. */
	assert_int_equal(held, 1);
	assert_int_equal(h.status, 202);
	assert_int_equal(marks_of(&fx->fake, "sub-a", RECEIVER_CHANGE), 1);
}

static void
test_hung_lookup(void **state)
{
	hung_store(*state, HOLD_LOOKUP);
}

static void
test_hung_mark(void **state)
{
	hung_store(*state, HOLD_MARK);
}

/*
 * Rejection logs: counts only, at most a line a second.
 */

static void
test_rejection_log(void **state)
{
	struct fx *fx = *state;
	char path[] = "/tmp/test-receiver-log-XXXXXX";
	char line[1024];
	int saved = logcap_begin(path), lines = 0;
	long long forged = 0, bad_tokens = 0;
	double t0, elapsed;
	FILE *f;

	t0 = mono_sec();
	for (int i = 0; i < 50; i++)
		assert_int_equal(post_items_status(fx, RECEIVER_PATH_NOTIFY,
		    json_pack("[o]", item("sub-a", "LEAKED-SECRET", NULL))), 202);
	for (int i = 0; i < 5; i++)
		assert_int_equal(http_status(fx, "POST", RECEIVER_PATH_LIFECYCLE
		    "?validationToken=LEAKED-TOKEN%01", NULL), 400);
	elapsed = mono_sec() - t0;
	/* Stopping writes what the rate limit held back. */
	receiver_stop(fx->r);
	fx->r = NULL;
	logcap_end(saved);

	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p;

		if (strstr(line, "LEAKED") != NULL)
			fail_msg("a secret or token reached the log: %s", line);
		if (strstr(line, "receiver rejected") == NULL)
			continue;
		lines++;
		if ((p = strstr(line, " forged=")) != NULL)
			forged += atoll(p + 8);
		if ((p = strstr(line, " bad_tokens=")) != NULL)
			bad_tokens += atoll(p + 12);
	}
	fclose(f);
	unlink(path);
	assert_int_equal(forged, 50);
	assert_int_equal(bad_tokens, 5);
	/* One at the first rejection, one per further second at most, one at the stop. */
	if (lines < 1 || lines > 2 + (int)elapsed)
		fail_msg("%d rejection lines in %.2f s", lines, elapsed);
}

static void
test_start_refused(void **state)
{
	struct fx *fx = *state;
	struct receiver_config cfg = { .listen = "127.0.0.1:0" };
	struct receiver_ops ops = { .lookup = fake_lookup, .arg = &fx->fake };
	char err[256] = "";

	assert_null(receiver_start(&cfg, &ops, err, sizeof(err)));
	assert_true(err[0] != '\0');
	ops.mark = fake_mark;
	cfg.listen = "not-an-address";
	err[0] = '\0';
	assert_null(receiver_start(&cfg, &ops, err, sizeof(err)));
	assert_true(err[0] != '\0');
	receiver_stop(NULL);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_ok),
		cmocka_unit_test(test_parse),
		T(test_handshake),
		T(test_handshake_html),
		T(test_handshake_hostile),
		T(test_batch_coalesced),
		T(test_forged_and_unknown),
		T(test_mixed_batch),
		T(test_lifecycle_events),
		T(test_malformed_items),
		T(test_bad_requests),
		T(test_too_many_items),
		T(test_body_limit),
		T(test_store_failure),
		T(test_routes),
		T(test_tls),
		T(test_concurrent_posts),
		T(test_hung_lookup),
		T(test_hung_mark),
		T(test_rejection_log),
		T(test_start_refused),
	};
	int rc;

	log_init("test_receiver", LOG_LEVEL_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
