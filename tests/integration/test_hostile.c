/* test_hostile.c: issue 7's hostile values end to end: mails with a 1 MB subject, control
 * characters and escapes in every text field, 10,000 recipients, and a NUL, delivered through
 * graph-sim and read by the real `olsync sync --once`. Each must end logged or skipped with a
 * recorded reason, never a crash, a failure or a message left pending. (Invalid UTF-8 cannot be
 * carried by Graph's JSON at all; the fuzz/normalize target covers it inside the strings.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "e2e.h"
#include "sim_http.h"
#include "xmalloc.h"

#define HUGE_SUBJECT	(1024 * 1024)
#define MANY_RCPTS	10000

static struct e2e_world world;

static int
setup(void **state)
{
	(void)state;
	return e2e_world_start(&world, "test_hostile",
	    "{\"_key\":\"alice\",\"Username\":\"alice@contoso.com\",\"Email\":\"alice@contoso.com\","
	    "\"FirstName\":\"Alice\",\"LastName\":\"Adams\",\"Alias\":\"aadams\"}",
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"}],"
	    "\"Contact\":[{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"}]",
	    "[{\"userPrincipalName\":\"alice@contoso.com\",\"displayName\":\"Alice Adams\"}]",
	    "alice@contoso.com",
	    "backfill_days 30\ncreate_leads yes\nactivity_timezone UTC\nlog_level info\n"
	    "http_timeout 30s\n");
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_stop(&world);
}

/* Delivers the mail (stolen), returns its internetMessageId (caller frees). */
static char *
deliver(json_t *mail)
{
	char *body = json_dumps(mail, JSON_COMPACT);
	json_t *r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", body, 201);
	char *mid = xstrdup(json_string_value(json_object_get(r, "internetMessageId")));

	json_decref(r);
	json_decref(mail);
	free(body);
	return mid;
}

/* `olsync show mid`: logged or skipped with a reason. Returns the state line's value. */
static void
check_ended(const char *mid)
{
	char *show = NULL;

	assert_int_equal(e2e_run(world.dir, &show, NULL, "-c", world.conf, "show", mid, NULL), 0);
	if (strstr(show, "state            logged\n") == NULL &&
	    (strstr(show, "state            skipped\n") == NULL ||
	    strstr(show, "reason           ") == NULL))
		fail_msg("%s did not end logged or skipped:\n%s", mid, show);
	free(show);
}

static void
test_hostile_values(void **state)
{
	static const char controls[] = "\x01\x02\x1b[31mred\x1b[0m\x7f\xc2\x85\xe2\x80\xae"
	    "tab\there\r\nline\\n' OR ''='\" <b>&amp;</b> \xf0\x9f\x98\x80";
	json_t *mail, *to, *tasks, *rec;
	char *big, *mids[4], *out = NULL;
	size_t i, n = 0;
	int found = 0;

	(void)state;
	/* 1 MB subject and body. */
	big = xmalloc(HUGE_SUBJECT + 1);
	memset(big, 'S', HUGE_SUBJECT);
	big[HUGE_SUBJECT] = '\0';
	mail = json_pack("{s:s, s:[s], s:s, s:s}", "from", "Carol Chen <carol@fabrikam.com>",
	    "to", "alice@contoso.com", "subject", big, "body", big);
	mids[n++] = deliver(mail);
	free(big);

	/* Control characters, bidi override, SOQL and HTML in the subject, body and names. */
	mail = json_pack("{s:s, s:[s], s:s, s:s}", "from", "carol@fabrikam.com",
	    "to", "alice@contoso.com", "subject", controls, "body", controls);
	json_object_set_new(mail, "from", json_pack("{s:{s:s, s:s}}", "emailAddress", "name",
	    controls, "address", "carol@fabrikam.com"));
	mids[n++] = deliver(mail);

	/* 10,000 recipients, one of them the rep, most unknown to Salesforce. */
	to = json_array();
	json_array_append_new(to, json_string("alice@contoso.com"));
	for (i = 1; i < MANY_RCPTS; i++) {
		char a[64];

		snprintf(a, sizeof(a), "r%zu@d%zu.example", i, i % 97);
		json_array_append_new(to, json_string(a));
	}
	mail = json_pack("{s:s, s:o, s:s, s:s}", "from", "Carol Chen <carol@fabrikam.com>",
	    "to", to, "subject", "Everyone", "body", "Hi all");
	mids[n++] = deliver(mail);

	/* An unknown sender whose display name is all hostile: a Lead's name must come out. */
	mail = json_pack("{s:s, s:[s], s:s, s:s}", "from", "\"\\\" , ( [\" <x@hostile.example>",
	    "to", "alice@contoso.com", "subject", "", "body", "");
	mids[n++] = deliver(mail);

	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "sync", "--once",
	    NULL), 0);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_non_null(strstr(out, "pending   0\n"));
	assert_non_null(strstr(out, "failed    0\n"));
	assert_non_null(strstr(out, "dead      0\n"));
	free(out);
	for (i = 0; i < n; i++) {
		check_ended(mids[i]);
		free(mids[i]);
	}

	/* The huge subject was cut to the field's length, not refused. */
	tasks = e2e_records(world.sf.p.base_url, "Task");
	json_array_foreach(tasks, i, rec) {
		const char *subj = e2e_field(rec, "Subject");

		assert_true(strlen(subj) <= 255 * 4);
		if (strncmp(subj, "Email: SSSS", 11) == 0)
			found = 1;
	}
	assert_true(found);
	json_decref(tasks);
}

/* A NUL inside a JSON string: graph-sim (like olsync) reads JSON without JSON_ALLOW_NUL, so
 * the mail is refused at the door rather than cut short somewhere later. */
static void
test_nul_refused(void **state)
{
	json_t *r;

	(void)state;
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail",
	    "{\"from\":\"carol@fabrikam.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"a\\u0000b\"}", 400);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
