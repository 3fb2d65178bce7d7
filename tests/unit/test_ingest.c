/* test_ingest.c: src/ingest.c's ingest_trim, the copy of a message the ledger keeps until it is
 * written: what the engine and the filters read, in Graph's shape, and nothing else; free text
 * cut to its bound; members of the wrong type left out rather than trusted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest.h"
#include "xmalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A whole message as delta gives it (MESSAGE_SELECT), and what is kept of it. */
#define FULL \
	"{\"@odata.etag\":\"W/1\",\"id\":\"AAMk1\",\"internetMessageId\":\"<a@x>\"," \
	"\"conversationId\":\"AAQk1\",\"subject\":\"Quote\",\"bodyPreview\":\"Hello\"," \
	"\"body\":{\"contentType\":\"html\",\"content\":\"<p>Hello</p>\"}," \
	"\"from\":{\"emailAddress\":{\"name\":\"Jane\",\"address\":\"jane@x.com\"}}," \
	"\"sender\":{\"emailAddress\":{\"name\":\"Jane\",\"address\":\"jane@x.com\"}}," \
	"\"toRecipients\":[{\"emailAddress\":{\"name\":\"Rep\",\"address\":\"rep@c.com\"}}]," \
	"\"ccRecipients\":[],\"bccRecipients\":[{\"emailAddress\":{\"address\":\"b@c.com\"}}]," \
	"\"receivedDateTime\":\"2024-05-21T09:30:00Z\",\"sentDateTime\":\"2024-05-21T09:29:58Z\"," \
	"\"isDraft\":false,\"parentFolderId\":\"AQMk\"," \
	"\"internetMessageHeaders\":[{\"name\":\"Received\",\"value\":\"from mx\"}," \
	"{\"name\":\"List-Id\",\"value\":\"<news.x.com>\"},{\"name\":\"DKIM-Signature\"," \
	"\"value\":\"v=1\"},{\"name\":\"sensitivity\",\"value\":\"Private\"}]}"
#define FULL_KEPT \
	"{\"internetMessageId\":\"<a@x>\",\"conversationId\":\"AAQk1\"," \
	"\"sentDateTime\":\"2024-05-21T09:29:58Z\",\"receivedDateTime\":\"2024-05-21T09:30:00Z\"," \
	"\"subject\":\"Quote\",\"bodyPreview\":\"Hello\"," \
	"\"from\":{\"emailAddress\":{\"address\":\"jane@x.com\",\"name\":\"Jane\"}}," \
	"\"toRecipients\":[{\"emailAddress\":{\"address\":\"rep@c.com\"}}],\"ccRecipients\":[]," \
	"\"internetMessageHeaders\":[{\"name\":\"List-Id\",\"value\":\"<news.x.com>\"}," \
	"{\"name\":\"sensitivity\",\"value\":\"Private\"}]}"

static const struct {
	const char	*in;
	const char	*kept;
} cases[] = {
	{ FULL, FULL_KEPT },
	{ "{}", "{}" },
	/* A draft says so; recipients without an address cannot match anybody and go. */
	{ "{\"isDraft\":true,\"toRecipients\":[{\"emailAddress\":{\"name\":\"No address\"}},"
	  "{\"emailAddress\":{\"address\":\"a@b.c\",\"name\":\"A\"}},7,null,{}]}",
	  "{\"isDraft\":true,\"toRecipients\":[{\"emailAddress\":{\"address\":\"a@b.c\"}}]}" },
	/* A from without an address is no from. */
	{ "{\"from\":{\"emailAddress\":{\"name\":\"Ghost\"}}}", "{}" },
	{ "{\"from\":{\"emailAddress\":{\"address\":\"g@x.com\"}}}",
	  "{\"from\":{\"emailAddress\":{\"address\":\"g@x.com\"}}}" },
	/* Wrong types are left out, not copied. */
	{ "{\"subject\":7,\"bodyPreview\":null,\"internetMessageId\":[\"<a@x>\"],"
	  "\"isDraft\":\"true\",\"toRecipients\":{\"emailAddress\":{\"address\":\"a@b.c\"}},"
	  "\"from\":\"jane@x.com\",\"internetMessageHeaders\":{\"List-Id\":\"x\"}}", "{}" },
	/* A header without a name or a value is not one. */
	{ "{\"internetMessageHeaders\":[{\"name\":\"Precedence\"},{\"value\":\"bulk\"},"
	  "{\"name\":\"Return-Path\",\"value\":\"<>\"},{\"name\":\"Auto-Submitted\",\"value\":7}]}",
	  "{\"internetMessageHeaders\":[{\"name\":\"Return-Path\",\"value\":\"<>\"}]}" },
};

static void
check(size_t i, const char *in, const char *kept)
{
	json_error_t err;
	json_t *msg = json_loads(in, 0, &err), *want = json_loads(kept, 0, &err), *got;
	char *text;

	if (msg == NULL || want == NULL)
		fail_msg("case %zu: bad JSON in the table: %s", i, err.text);
	got = ingest_trim(msg);
	if (!json_equal(got, want)) {
		text = json_dumps(got, JSON_COMPACT);
		fail_msg("case %zu: kept %s\nwant %s", i, text, kept);
	}
	json_decref(got);
	json_decref(want);
	json_decref(msg);
}

static void
test_trim(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		check(i, cases[i].in, cases[i].kept);
}

/* Free text is cut at its bound, in characters (é is one), at a character boundary. */
static void
test_trim_bounds(void **state)
{
	size_t subj = INGEST_SUBJECT_MAX + 10, prev = INGEST_PREVIEW_MAX + 10, n = 0;
	char *s = xmalloc(2 * subj + 1), *p = xmalloc(prev + 1);
	const char *got;
	json_t *msg, *t;

	(void)state;
	for (size_t i = 0; i < subj; i++, n += 2)
		memcpy(s + n, "\xc3\xa9", 2);
	s[n] = '\0';
	memset(p, 'p', prev);
	p[prev] = '\0';
	msg = json_pack("{s:s, s:s}", "subject", s, "bodyPreview", p);
	t = ingest_trim(msg);
	got = json_string_value(json_object_get(t, "subject"));
	assert_int_equal(strlen(got), 2 * INGEST_SUBJECT_MAX);
	assert_int_equal(strncmp(got, s, 2 * INGEST_SUBJECT_MAX), 0);
	got = json_string_value(json_object_get(t, "bodyPreview"));
	assert_int_equal(strlen(got), INGEST_PREVIEW_MAX);
	json_decref(t);
	json_decref(msg);

	/* At the bound nothing is cut. */
	s[2 * INGEST_SUBJECT_MAX] = '\0';
	msg = json_pack("{s:s}", "subject", s);
	t = ingest_trim(msg);
	assert_string_equal(json_string_value(json_object_get(t, "subject")), s);
	json_decref(t);
	json_decref(msg);
	free(s);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_trim_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
