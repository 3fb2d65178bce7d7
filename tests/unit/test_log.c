/* test_log.c: log_format json (lib/log.c): a table of messages and the JSON line each becomes
 * (quotes, backslashes, control characters, invalid UTF-8, keys that collide, values in quotes,
 * words after the pairs); every byte value and every cut length still a valid JSON object; and
 * log_info through log_set_format writing one such line to stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "logcap.h"
#include "xmalloc.h"

#define HEAD	"{\"ts\":\"T\",\"prog\":\"olsync\",\"level\":\"info\","

struct json_case {
	const char *msg;
	const char *want;	/* the whole line */
};

static const struct json_case cases[] = {
	{ "olsync reloaded", HEAD "\"msg\":\"olsync reloaded\"}" },
	{ "", HEAD "\"msg\":\"\"}" },
	{ "engine logged msg=abc mailbox=alice@contoso.com who=003",
	  HEAD "\"msg\":\"engine logged\",\"kv_msg\":\"abc\",\"mailbox\":\"alice@contoso.com\","
	  "\"who\":\"003\"}" },
	/* A quoted value with spaces, and one with quotes inside it. */
	{ "olsync pass_failed error=\"cannot connect: host down\"",
	  HEAD "\"msg\":\"olsync pass_failed\",\"error\":\"cannot connect: host down\"}" },
	{ "sf: event=call_failed error=\"he said \"hi\" ok\" code=1",
	  HEAD "\"msg\":\"sf:\",\"event\":\"call_failed\",\"error\":\"he said \\\"hi\\\" ok\","
	  "\"code\":\"1\"}" },
	/* Words after the pairs stay in msg. */
	{ "olsync reload_failed error=\"x\" (back to the running configuration)",
	  HEAD "\"msg\":\"olsync reload_failed (back to the running configuration)\","
	  "\"error\":\"x\"}" },
	/* A quote that never closes: the value runs to the end, quote and all. */
	{ "a b=\"open", HEAD "\"msg\":\"a\",\"b\":\"\\\"open\"}" },
	{ "a b=\"\"", HEAD "\"msg\":\"a\",\"b\":\"\"}" },
	{ "x path=C:\\dir\\file", HEAD "\"msg\":\"x\",\"path\":\"C:\\\\dir\\\\file\"}" },
	{ "x v=a\tb\001c\x7f", HEAD "\"msg\":\"x\",\"v\":\"a\\tb\\u0001c\\u007f\"}" },
	{ "x v=\"a\nb\r\"", HEAD "\"msg\":\"x\",\"v\":\"a\\nb\\r\"}" },
	/* Invalid UTF-8: stray bytes, an overlong '/', a surrogate, a cut sequence, > U+10FFFF. */
	{ "x v=\xff\xfeok", HEAD "\"msg\":\"x\",\"v\":\"\\ufffd\\ufffdok\"}" },
	{ "x v=\xc0\xaf", HEAD "\"msg\":\"x\",\"v\":\"\\ufffd\\ufffd\"}" },
	{ "x v=\xed\xa0\x80", HEAD "\"msg\":\"x\",\"v\":\"\\ufffd\\ufffd\\ufffd\"}" },
	{ "x v=ab\xe2\x82", HEAD "\"msg\":\"x\",\"v\":\"ab\\ufffd\\ufffd\"}" },
	{ "x v=\xf4\x90\x80\x80", HEAD "\"msg\":\"x\",\"v\":\"\\ufffd\\ufffd\\ufffd\\ufffd\"}" },
	/* Valid UTF-8 is kept as it is. */
	{ "x v=caf\xc3\xa9 w=\xe2\x82\xac \xf0\x9f\x93\xa7",
	  HEAD "\"msg\":\"x \xf0\x9f\x93\xa7\",\"v\":\"caf\xc3\xa9\",\"w\":\"\xe2\x82\xac\"}" },
	/* Keys: fixed names and repeats get kv_; not a key, then a word. */
	{ "x a=1 a=2 level=warn ts=0", HEAD "\"msg\":\"x\",\"a\":\"1\",\"kv_a\":\"2\","
	  "\"kv_level\":\"warn\",\"kv_ts\":\"0\"}" },
	{ "x =1 1a=2 a.b-c=3 url=http://h/?a=b e=",
	  HEAD "\"msg\":\"x =1 1a=2\",\"a.b-c\":\"3\",\"url\":\"http://h/?a=b\",\"e\":\"\"}" },
	{ "  spaced   out  k=v  ", HEAD "\"msg\":\"spaced out\",\"k\":\"v\"}" },
	/* A quote in a word, and a backslash before a quote. */
	{ "say \"hi\" k=\"a\\\" b\"", HEAD "\"msg\":\"say \\\"hi\\\"\",\"k\":\"a\\\\\\\" b\"}" },
};

static void
test_json_table(void **state)
{
	char out[LOG_JSON_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = log_json(out, sizeof(out), "T", "olsync", "info", cases[i].msg);
		json_t *j;

		assert_int_equal(n, strlen(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got %s want %s", i, out, cases[i].want);
		/* And jansson, which refuses invalid UTF-8, reads it. */
		j = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
		if (j == NULL)
			fail_msg("case %zu: not JSON: %s", i, out);
		json_decref(j);
	}
}

/* Every byte value as a value and as a word, and every cut of the buffer: one JSON object. */
static void
test_json_always_valid(void **state)
{
	char msg[64], out[LOG_JSON_MAX];
	const char *big = "engine logged msg=abcdef mailbox=\"alice \xff@contoso.com\" "
	    "error=\"quote \" and \\ and \001\" tail words";

	(void)state;
	for (int c = 1; c < 256; c++) {
		json_t *j;

		snprintf(msg, sizeof(msg), "w%c k=a%cb \"q=%c\" %c", c, c, c, c);
		log_json(out, sizeof(out), "T", "p", "info", msg);
		if ((j = json_loads(out, 0, NULL)) == NULL)
			fail_msg("byte %d: not JSON: %s", c, out);
		json_decref(j);
	}
	for (size_t len = 0; len < 200; len++) {
		char *buf = xmalloc(len + 1);
		size_t n = log_json(buf, len, "2026-11-26T10:00:00.000Z", "olsync", "warn", big);
		json_t *j;

		if (len < 4) {
			assert_int_equal(n, 0);
		} else {
			assert_true(n < len);
			if ((j = json_loads(buf, 0, NULL)) == NULL || !json_is_object(j))
				fail_msg("cut at %zu: not a JSON object: %s", len, buf);
			json_decref(j);
		}
		free(buf);
	}
}

/* log_info after log_set_format: one JSON line on stderr; then text again. */
static void
test_json_lines_written(void **state)
{
	char path[] = "/tmp/test_log-XXXXXX", buf[4096];
	FILE *fp;
	json_t *j;
	int saved;
	size_t n;

	(void)state;
	log_init("olsync", LOG_LEVEL_INFO);
	saved = logcap_begin(path);
	log_set_format(LOG_FORMAT_JSON);
	log_info("receiver listening address=%s tls=%d", "127.0.0.1:8443", 0);
	log_debug("not written");
	log_set_format(LOG_FORMAT_TEXT);
	log_info("back to text k=v");
	logcap_end(saved);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	unlink(path);
	assert_non_null(strchr(buf, '\n'));
	*strchr(buf, '\n') = '\0';
	j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "prog")), "olsync");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "receiver listening");
	assert_string_equal(json_string_value(json_object_get(j, "address")), "127.0.0.1:8443");
	assert_string_equal(json_string_value(json_object_get(j, "tls")), "0");
	assert_int_equal(strlen(json_string_value(json_object_get(j, "ts"))),
	    strlen("2026-11-26T10:00:00.000Z"));
	json_decref(j);
	assert_null(strstr(buf + strlen(buf) + 1, "not written"));
	assert_non_null(strstr(buf + strlen(buf) + 1, " olsync info back to text k=v\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_table),
		cmocka_unit_test(test_json_always_valid),
		cmocka_unit_test(test_json_lines_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
