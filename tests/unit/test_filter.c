/* test_filter.c: src/filter.c: the skip decision and its order, counterparts by direction,
 * internal and blocked domains with their subdomains, sensitivity from the property and the
 * header, and automated mail from headers and sender addresses, hostile values included. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "xmalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MAXL		4

static const char *const internal[] = { "ourco.com", "OurCo.DE" };
static const char *const blocked_addresses[] = { "spouse@gmail.com", "Counsel@LawFirm.com" };
static const char *const blocked_domains[] = { "competitor.com" };

static const struct filter_policy policy = {
	internal, NELEM(internal), blocked_addresses, NELEM(blocked_addresses), blocked_domains,
	NELEM(blocked_domains), FILTER_SENS_SKIP_DEFAULT,
};

/* One message of a table: lists end at the first NULL, except that "-" stands for a NULL
 * entry (an address Graph gave that did not normalize). */
struct row {
	enum filter_direction	 dir;
	const char		*from;
	const char		*to[MAXL];
	const char		*cc[MAXL];
	int			 draft;
	enum filter_sensitivity	 sens;
	struct filter_header	 headers[MAXL];
};

struct msg {
	struct filter_message	m;
	const char		*to[MAXL];
	const char		*cc[MAXL];
	size_t			 nheaders;
};

static size_t
copy_list(const char *const *in, const char **out)
{
	size_t n;

	for (n = 0; n < MAXL && in[n] != NULL; n++)
		out[n] = strcmp(in[n], "-") == 0 ? NULL : in[n];
	return n;
}

static void
msg_from_row(struct msg *x, const struct row *r)
{
	memset(x, 0, sizeof(*x));
	x->m.direction = r->dir;
	x->m.from = r->from;
	x->m.nto = copy_list(r->to, x->to);
	x->m.to = x->to;
	x->m.ncc = copy_list(r->cc, x->cc);
	x->m.cc = x->cc;
	x->m.is_draft = r->draft;
	x->m.sensitivity = r->sens;
	while (x->nheaders < MAXL && r->headers[x->nheaders].name != NULL)
		x->nheaders++;
	x->m.headers = r->headers;
	x->m.nheaders = x->nheaders;
}

/* x with only the headers filter_header_used keeps (what ingest stores of a message), in
 * kept[]: the table must decide the same on it. */
static void
trim_headers(struct msg *x, struct filter_header *kept)
{
	size_t n = 0;

	for (size_t i = 0; i < x->m.nheaders; i++)
		if (filter_header_used(x->m.headers[i].name))
			kept[n++] = x->m.headers[i];
	x->m.headers = kept;
	x->m.nheaders = n;
}

#define ROW(d, f, ...)	{ .dir = d, .from = f, __VA_ARGS__ }
#define TO(...)		.to = { __VA_ARGS__ }
#define CC(...)		.cc = { __VA_ARGS__ }
#define HDR(...)	.headers = { __VA_ARGS__ }
#define IN	FILTER_INBOUND
#define OUT	FILTER_OUTBOUND

static const struct {
	struct row		 msg;
	enum filter_reason	 reason;
	const char		*detail;	/* expected detail, or NULL: not checked */
	const char		*counterparts;	/* joined by '|' */
} decide_cases[] = {
	/* Logged: the ordinary cases. */
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com")), FILTER_LOG, "", "jane@customer.com" },
	{ ROW(OUT, "rep@ourco.com", TO("jane@customer.com")), FILTER_LOG, "", "jane@customer.com" },
	{ ROW(OUT, "rep@ourco.com", TO("a@x.com", "boss@ourco.com", "b@y.com"),
	    CC("c@z.com", "A@X.com")), FILTER_LOG, "", "a@x.com|b@y.com|c@z.com" },
	/* Outbound: Cc alone is enough. */
	{ ROW(OUT, "rep@ourco.com", TO("boss@ourco.com"), CC("jane@customer.com")), FILTER_LOG, "",
	  "jane@customer.com" },
	/* Inbound: only From counts, the other external recipients do not. */
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com", "joe@partner.com")), FILTER_LOG, "",
	  "jane@customer.com" },
	/* Subdomains of an internal domain are internal; look-alikes are not. */
	{ ROW(IN, "jane@eu.ourco.com", TO("rep@ourco.com")), FILTER_SKIP_INTERNAL_ONLY, NULL, "" },
	{ ROW(IN, "jane@notourco.com", TO("rep@ourco.com")), FILTER_LOG, "", "jane@notourco.com" },
	{ ROW(IN, "jane@ourco.com.evil.io", TO("rep@ourco.com")), FILTER_LOG, "",
	  "jane@ourco.com.evil.io" },
	/* Internal domains compare case-insensitively. */
	{ ROW(IN, "hans@ourco.de", TO("rep@ourco.com")), FILTER_SKIP_INTERNAL_ONLY, NULL, "" },
	/* Personal mail is logged by default. */
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"), .sens = FILTER_SENS_PERSONAL),
	  FILTER_LOG, "", "jane@customer.com" },
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"), HDR({ "Sensitivity", "Personal" })),
	  FILTER_LOG, "", "jane@customer.com" },
	/* An unknown Sensitivity value is normal. */
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"),
	    HDR({ "Sensitivity", "Top-Secret'; DROP" })), FILTER_LOG, "", "jane@customer.com" },

	/* Drafts, before anything else. */
	{ ROW(OUT, "rep@ourco.com", TO("jane@customer.com"), .draft = 1), FILTER_SKIP_DRAFT,
	  "draft", "jane@customer.com" },
	{ ROW(OUT, "rep@ourco.com", TO("spouse@gmail.com"), .draft = 1,
	    .sens = FILTER_SENS_PRIVATE),
	  FILTER_SKIP_DRAFT, "draft", "spouse@gmail.com" },

	/* Sensitivity from the property, the header, or both (the stricter). */
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"), .sens = FILTER_SENS_PRIVATE),
	  FILTER_SKIP_SENSITIVITY, "sensitivity private", "jane@customer.com" },
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"), .sens = FILTER_SENS_CONFIDENTIAL),
	  FILTER_SKIP_SENSITIVITY, "sensitivity confidential", "jane@customer.com" },
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"), HDR({ "Sensitivity", "Private" })),
	  FILTER_SKIP_SENSITIVITY, "sensitivity private", "jane@customer.com" },
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"),
	    HDR({ "X-Mailer", "x" }, { "sensitivity", " company-confidential\r\n" })),
	  FILTER_SKIP_SENSITIVITY, "sensitivity confidential", "jane@customer.com" },
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"), .sens = FILTER_SENS_PERSONAL,
	    HDR({ "Sensitivity", "Private" })), FILTER_SKIP_SENSITIVITY, "sensitivity private",
	  "jane@customer.com" },
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"), .sens = FILTER_SENS_PRIVATE,
	    HDR({ "Sensitivity", "Normal" })), FILTER_SKIP_SENSITIVITY, "sensitivity private",
	  "jane@customer.com" },
	/* A second header cannot soften the first. */
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com"),
	    HDR({ "Sensitivity", "Private" }, { "Sensitivity", "Normal" })),
	  FILTER_SKIP_SENSITIVITY, "sensitivity private", "jane@customer.com" },
	/* Sensitivity comes before internal-only in the order. */
	{ ROW(IN, "boss@ourco.com", TO("rep@ourco.com"), .sens = FILTER_SENS_PRIVATE),
	  FILTER_SKIP_SENSITIVITY, NULL, "" },

	/* Blocked: any participant, by address or domain (and its subdomains). */
	{ ROW(IN, "spouse@gmail.com", TO("rep@ourco.com")), FILTER_SKIP_BLOCKED,
	  "blocked address spouse@gmail.com", "spouse@gmail.com" },
	{ ROW(IN, "SPOUSE@GMAIL.COM", TO("rep@ourco.com")), FILTER_SKIP_BLOCKED, NULL,
	  "SPOUSE@GMAIL.COM" },
	{ ROW(OUT, "rep@ourco.com", TO("jane@customer.com"), CC("counsel@lawfirm.com")),
	  FILTER_SKIP_BLOCKED, "blocked address counsel@lawfirm.com", "jane@customer.com|"
	  "counsel@lawfirm.com" },
	{ ROW(IN, "jane@customer.com", TO("rep@ourco.com", "spy@sales.competitor.com")),
	  FILTER_SKIP_BLOCKED, "blocked domain competitor.com", "jane@customer.com" },
	{ ROW(IN, "jane@notcompetitor.com", TO("rep@ourco.com")), FILTER_LOG, "",
	  "jane@notcompetitor.com" },

	/* Internal only. */
	{ ROW(IN, "boss@ourco.com", TO("rep@ourco.com"), CC("x@ourco.de")),
	  FILTER_SKIP_INTERNAL_ONLY, "every participant internal", "" },
	{ ROW(OUT, "rep@ourco.com", TO("boss@ourco.com")), FILTER_SKIP_INTERNAL_ONLY, NULL, "" },
	/* An unparseable participant is no evidence either way. */
	{ ROW(OUT, "rep@ourco.com", TO("-", "boss@ourco.com")), FILTER_SKIP_INTERNAL_ONLY, NULL,
	  "" },

	/* No counterpart. */
	{ ROW(IN, "boss@ourco.com", TO("rep@ourco.com"), CC("jane@customer.com")),
	  FILTER_SKIP_NO_COUNTERPART, "inbound from an internal or missing sender", "" },
	{ ROW(IN, NULL, TO("rep@ourco.com", "jane@customer.com")), FILTER_SKIP_NO_COUNTERPART, NULL,
	  "" },
	{ ROW(OUT, "rep@ourco.com"), FILTER_SKIP_INTERNAL_ONLY, NULL, "" },
	{ ROW(OUT, NULL, TO("-"), CC("-")), FILTER_SKIP_NO_COUNTERPART, "no valid participant",
	  "" },
	{ ROW(IN, NULL), FILTER_SKIP_NO_COUNTERPART, "no valid participant", "" },
	/* Outbound with an external From but only internal recipients (send-as): no counterpart. */
	{ ROW(OUT, "jane@customer.com", TO("rep@ourco.com")), FILTER_SKIP_NO_COUNTERPART,
	  "outbound with no external recipient", "" },
};

static void
join(char *out, size_t outlen, const char **v, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strncat(out, "|", outlen - strlen(out) - 1);
		strncat(out, v[i], outlen - strlen(out) - 1);
	}
}

static void
test_decide(void **state)
{
	struct filter_decision d;
	struct msg x;
	const char *cp[1 + 2 * MAXL];
	struct filter_header kept[MAXL];
	char got[512];
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(decide_cases); i++) {
		msg_from_row(&x, &decide_cases[i].msg);
		memset(&d, 'X', sizeof(d));
		if (filter_decide(&x.m, &policy, &d) != decide_cases[i].reason ||
		    d.reason != decide_cases[i].reason)
			fail_msg("decide case %zu: %s (%s), want %s", i,
			    filter_reason_name(d.reason), d.detail,
			    filter_reason_name(decide_cases[i].reason));
		if (memchr(d.detail, '\0', sizeof(d.detail)) == NULL)
			fail_msg("decide case %zu: detail not terminated", i);
		if (decide_cases[i].detail != NULL &&
		    strcmp(d.detail, decide_cases[i].detail) != 0)
			fail_msg("decide case %zu: detail \"%s\", want \"%s\"", i, d.detail,
			    decide_cases[i].detail);
		n = filter_counterparts(&x.m, &policy, cp, NELEM(cp));
		join(got, sizeof(got), cp, n);
		if (strcmp(got, decide_cases[i].counterparts) != 0)
			fail_msg("decide case %zu: counterparts \"%s\", want \"%s\"", i, got,
			    decide_cases[i].counterparts);
		trim_headers(&x, kept);
		if (filter_decide(&x.m, &policy, &d) != decide_cases[i].reason)
			fail_msg("decide case %zu: %s on the kept headers, want %s", i,
			    filter_reason_name(d.reason), filter_reason_name(decide_cases[i].reason));
	}
}

/* The skip set is the policy's: everything can be logged, or personal mail skipped too. */
static void
test_sensitivity_policy(void **state)
{
	struct filter_policy p = policy;
	struct filter_decision d;
	struct msg x;
	const struct row r = ROW(IN, "jane@customer.com", TO("rep@ourco.com"),
	    .sens = FILTER_SENS_CONFIDENTIAL);
	const struct row personal = ROW(IN, "jane@customer.com", TO("rep@ourco.com"),
	    .sens = FILTER_SENS_PERSONAL);

	(void)state;
	p.skip_sensitivity = 0;
	msg_from_row(&x, &r);
	assert_int_equal(filter_decide(&x.m, &p, &d), FILTER_LOG);
	p.skip_sensitivity = FILTER_SENS_BIT(FILTER_SENS_PERSONAL);
	assert_int_equal(filter_decide(&x.m, &p, &d), FILTER_LOG);
	msg_from_row(&x, &personal);
	assert_int_equal(filter_decide(&x.m, &p, &d), FILTER_SKIP_SENSITIVITY);
	assert_string_equal(d.detail, "sensitivity personal");
	/* No internal domains configured: everyone is a counterpart. */
	p = policy;
	p.ninternal = 0;
	assert_int_equal(filter_decide(&x.m, &p, &d), FILTER_LOG);
}

static const struct {
	const char		*in;
	enum filter_sensitivity	 out;
} sens_cases[] = {
	{ NULL, FILTER_SENS_NORMAL },
	{ "", FILTER_SENS_NORMAL },
	{ "Normal", FILTER_SENS_NORMAL },
	{ "Personal", FILTER_SENS_PERSONAL },
	{ "PERSONAL", FILTER_SENS_PERSONAL },
	{ "Private", FILTER_SENS_PRIVATE },
	{ "  private\t", FILTER_SENS_PRIVATE },
	{ "Company-Confidential", FILTER_SENS_CONFIDENTIAL },
	{ "confidential", FILTER_SENS_CONFIDENTIAL },
	{ "Privateer", FILTER_SENS_NORMAL },
	{ "Private; x", FILTER_SENS_NORMAL },
	{ "Company Confidential", FILTER_SENS_NORMAL },
};

static void
test_sensitivity_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(sens_cases); i++)
		if (filter_sensitivity_parse(sens_cases[i].in) != sens_cases[i].out)
			fail_msg("sensitivity \"%s\": %d, want %d", sens_cases[i].in ?
			    sens_cases[i].in : "(null)", filter_sensitivity_parse(sens_cases[i].in),
			    sens_cases[i].out);
}

static const struct {
	const char		*from;
	struct filter_header	 headers[MAXL];
	const char		*why;	/* NULL: not automated */
} auto_cases[] = {
	{ "jane@customer.com", { { NULL, NULL } }, NULL },
	{ "jane@customer.com", { { "Subject", "Out of office" }, { "X-Mailer", "Outlook" } },
	  NULL },
	/* Auto-Submitted: anything but "no". */
	{ "jane@customer.com", { { "Auto-Submitted", "auto-replied" } }, "Auto-Submitted" },
	{ "jane@customer.com", { { "auto-submitted", "auto-generated; type=vacation" } },
	  "Auto-Submitted" },
	{ "jane@customer.com", { { "Auto-Submitted", "" } }, "Auto-Submitted" },
	{ "jane@customer.com", { { "Auto-Submitted", "no" } }, NULL },
	{ "jane@customer.com", { { "Auto-Submitted", " No (human)" } }, NULL },
	{ "jane@customer.com", { { "Auto-Submitted", "nope" } }, "Auto-Submitted" },
	/* Precedence. */
	{ "jane@customer.com", { { "Precedence", "bulk" } }, "Precedence" },
	{ "jane@customer.com", { { "PRECEDENCE", " List" } }, "Precedence" },
	{ "jane@customer.com", { { "Precedence", "junk" } }, "Precedence" },
	{ "jane@customer.com", { { "Precedence", "auto_reply" } }, "Precedence" },
	{ "jane@customer.com", { { "Precedence", "first-class" } }, NULL },
	{ "jane@customer.com", { { "Precedence", "bulky" } }, NULL },
	/* Presence is enough, whatever the value. */
	{ "news@vendor.com", { { "List-Unsubscribe", "<mailto:u@vendor.com>" } },
	  "List-Unsubscribe" },
	{ "news@vendor.com", { { "List-Id", "" } }, "List-Id" },
	{ "jane@customer.com", { { "X-Autoreply", "yes" } }, "X-Autoreply" },
	{ "jane@customer.com", { { "x-autorespond", "1" } }, "X-Autorespond" },
	{ "jane@customer.com", { { "X-AutoGenerated", "Reply" } }, "X-Autogenerated" },
	/* Not a rule: Outlook sets it on ordinary mail. */
	{ "jane@customer.com", { { "X-Auto-Response-Suppress", "All" } }, NULL },
	/* Bounces. */
	{ "jane@customer.com", { { "Return-Path", "<>" } }, "Return-Path <>" },
	{ "jane@customer.com", { { "Return-Path", " <> \r\n" } }, "Return-Path <>" },
	{ "jane@customer.com", { { "Return-Path", "<jane@customer.com>" } }, NULL },
	{ "jane@customer.com", { { "Return-Path", "<>x" } }, NULL },
	/* Senders. */
	{ "noreply@vendor.com", { { NULL, NULL } }, "automated sender" },
	{ "no-reply@vendor.com", { { NULL, NULL } }, "automated sender" },
	{ "no_reply@vendor.com", { { NULL, NULL } }, "automated sender" },
	{ "donotreply@vendor.com", { { NULL, NULL } }, "automated sender" },
	{ "do-not-reply@vendor.com", { { NULL, NULL } }, "automated sender" },
	{ "mailer-daemon@mx.customer.com", { { NULL, NULL } }, "automated sender" },
	{ "MAILER-DAEMON@mx.customer.com", { { NULL, NULL } }, "automated sender" },
	{ "postmaster@customer.com", { { NULL, NULL } }, "automated sender" },
	{ "bounce@vendor.com", { { NULL, NULL } }, "automated sender" },
	{ "bounces+12345@vendor.com", { { NULL, NULL } }, "automated sender" },
	{ "notifications@github.com", { { NULL, NULL } }, "automated sender" },
	{ "notification@vendor.com", { { NULL, NULL } }, "automated sender" },
	/* Look-alikes are people. */
	{ "noreplyjane@customer.com", { { NULL, NULL } }, NULL },
	{ "jane.noreply@customer.com", { { NULL, NULL } }, NULL },
	{ "postmasters@customer.com", { { NULL, NULL } }, NULL },
	{ "jane@noreply.com", { { NULL, NULL } }, NULL },
	{ NULL, { { NULL, NULL } }, NULL },
	/* A header without a value or name is ignored, not dereferenced. */
	{ "jane@customer.com", { { "List-Id", NULL }, { NULL, "bulk" } }, NULL },
};

static void
test_is_automated(void **state)
{
	const char *why;
	struct filter_header kept[MAXL];
	struct msg x;
	struct row r;
	int rc;

	(void)state;
	for (size_t i = 0; i < NELEM(auto_cases); i++) {
		memset(&r, 0, sizeof(r));
		r.dir = IN;
		r.from = auto_cases[i].from;
		r.to[0] = "rep@ourco.com";
		memcpy(r.headers, auto_cases[i].headers, sizeof(r.headers));
		msg_from_row(&x, &r);
		/* msg_from_row stops at a NULL name; {NULL, "bulk"} must count too. */
		x.m.nheaders = 0;
		while (x.m.nheaders < MAXL && (r.headers[x.m.nheaders].name != NULL ||
		    r.headers[x.m.nheaders].value != NULL))
			x.m.nheaders++;
		/* Then again on the headers a stored copy keeps: the same answer. */
		for (int t = 0; t < 2; t++) {
			if (t == 1)
				trim_headers(&x, kept);
			why = "stale";
			rc = filter_is_automated(&x.m, &why);
			if (auto_cases[i].why == NULL && (rc != 0 || why != NULL))
				fail_msg("auto case %zu (%s)%s: automated by %s", i,
				    auto_cases[i].from ? auto_cases[i].from : "-",
				    t ? " kept headers" : "", why ? why : "?");
			if (auto_cases[i].why != NULL && (rc != 1 || why == NULL ||
			    strcmp(why, auto_cases[i].why) != 0))
				fail_msg("auto case %zu (%s)%s: rc %d why %s, want %s", i,
				    auto_cases[i].from ? auto_cases[i].from : "-",
				    t ? " kept headers" : "", rc, why ? why : "(null)",
				    auto_cases[i].why);
		}
	}
}

/* The headers a stored copy keeps: what the rules read, in any case; nothing else. */
static void
test_header_used(void **state)
{
	static const struct {
		const char	*name;
		int		 used;
	} cases[] = {
		{ "Sensitivity", 1 }, { "sensitivity", 1 }, { "Auto-Submitted", 1 },
		{ "PRECEDENCE", 1 }, { "List-Id", 1 }, { "List-Unsubscribe", 1 },
		{ "X-Autoreply", 1 }, { "x-autorespond", 1 }, { "X-AutoGenerated", 1 },
		{ "Return-Path", 1 },
		{ "Received", 0 }, { "DKIM-Signature", 0 }, { "Subject", 0 }, { "X-Mailer", 0 },
		{ "X-Auto-Response-Suppress", 0 }, { "List-Idx", 0 }, { "List", 0 }, { "", 0 },
		{ NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		if (filter_header_used(cases[i].name) != cases[i].used)
			fail_msg("header %s: used %d, want %d", cases[i].name ? cases[i].name :
			    "(null)", !cases[i].used, cases[i].used);
}

static void
test_reason_name(void **state)
{
	(void)state;
	assert_string_equal(filter_reason_name(FILTER_LOG), "log");
	assert_string_equal(filter_reason_name(FILTER_SKIP_DRAFT), "draft");
	assert_string_equal(filter_reason_name(FILTER_SKIP_SENSITIVITY), "sensitivity");
	assert_string_equal(filter_reason_name(FILTER_SKIP_BLOCKED), "blocked");
	assert_string_equal(filter_reason_name(FILTER_SKIP_INTERNAL_ONLY), "internal_only");
	assert_string_equal(filter_reason_name(FILTER_SKIP_NO_COUNTERPART), "no_counterpart");
	assert_string_equal(filter_reason_name((enum filter_reason)99), "unknown");
}

/* Many recipients and a huge blocked domain: bounded output, no overflow of detail. */
static void
test_hostile_sizes(void **state)
{
	const char **to = xcalloc(5000, sizeof(*to)), *cp[8];
	char **addrs = xcalloc(5000, sizeof(*addrs)), *longdom;
	struct filter_policy p = policy;
	struct filter_message m = { 0 };
	struct filter_decision d;
	const char *blk[1];

	(void)state;
	for (size_t i = 0; i < 5000; i++)
		to[i] = addrs[i] = xasprintf("p%zu@c%zu.example.com", i % 2500, i % 2500);
	m.direction = OUT;
	m.from = "rep@ourco.com";
	m.to = to;
	m.nto = 5000;
	assert_int_equal(filter_decide(&m, &p, &d), FILTER_LOG);
	/* Only max are written, duplicates dropped. */
	assert_int_equal(filter_counterparts(&m, &p, cp, NELEM(cp)), NELEM(cp));
	assert_string_equal(cp[7], "p7@c7.example.com");
	longdom = xmalloc(2000);
	memset(longdom, 'a', 1999);
	longdom[1999] = '\0';
	longdom[1990] = '.';
	free(addrs[4999]);
	to[4999] = addrs[4999] = xasprintf("x@%s", longdom);
	blk[0] = longdom;
	p.blocked_domains = blk;
	p.nblocked_domains = 1;
	assert_int_equal(filter_decide(&m, &p, &d), FILTER_SKIP_BLOCKED);
	assert_int_equal(strlen(d.detail), FILTER_DETAIL_MAX - 1);
	for (size_t i = 0; i < 5000; i++)
		free(addrs[i]);
	free(addrs);
	free(to);
	free(longdom);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_sensitivity_policy),
		cmocka_unit_test(test_sensitivity_parse),
		cmocka_unit_test(test_is_automated),
		cmocka_unit_test(test_header_used),
		cmocka_unit_test(test_reason_name),
		cmocka_unit_test(test_hostile_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
