/* test_sf_value.c: sf-sim's field values (sim/sf/sf_value.c): ISO-8601 datetime and date parsing
 * into the canonical UTC form, and the per-type checks a write goes through (length, e-mail,
 * restricted picklist, booleans, numbers, dates, ids), each table holding the rejected inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_value.h"

static const struct {
	const char *in;
	const char *out;	/* canonical UTC, or NULL: rejected */
} datetime_cases[] = {
	{ "2024-03-15T12:00:00Z", "2024-03-15T12:00:00.000+0000" },
	{ "2024-03-15T12:00:00z", "2024-03-15T12:00:00.000+0000" },
	{ "2024-03-15T12:00:00.123Z", "2024-03-15T12:00:00.123+0000" },
	{ "2024-03-15T12:00:00.5Z", "2024-03-15T12:00:00.500+0000" },
	{ "2024-03-15T12:00:00.123456Z", "2024-03-15T12:00:00.123+0000" },
	{ "2024-03-15T12:00:00+01:00", "2024-03-15T11:00:00.000+0000" },
	{ "2024-03-15T12:00:00+0100", "2024-03-15T11:00:00.000+0000" },
	{ "2024-03-15T12:00:00.250+0530", "2024-03-15T06:30:00.250+0000" },
	{ "2024-03-15T00:30:00-08:00", "2024-03-15T08:30:00.000+0000" },
	{ "2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00.000+0000" },
	{ "2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00.000+0000" },
	/* Canonical form round-trips. */
	{ "2013-05-20T20:49:32.000+0000", "2013-05-20T20:49:32.000+0000" },
	/* A bare date is midnight UTC; seconds may be left out. */
	{ "2024-03-15", "2024-03-15T00:00:00.000+0000" },
	{ "2024-03-15T12:34Z", "2024-03-15T12:34:00.000+0000" },
	/* No zone: taken as UTC. */
	{ "2024-03-15T12:00:00", "2024-03-15T12:00:00.000+0000" },
	/* Leap years. */
	{ "2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000+0000" },
	{ "2000-02-29", "2000-02-29T00:00:00.000+0000" },
	{ "2023-02-29T00:00:00Z", NULL },
	{ "2023-02-29", NULL },
	{ "1900-02-29", NULL },
	/* Impossible months, days, times and zones. */
	{ "2024-13-01T00:00:00Z", NULL },
	{ "2024-00-10T00:00:00Z", NULL },
	{ "2024-04-31", NULL },
	{ "2024-01-32", NULL },
	{ "2024-01-00", NULL },
	{ "2024-03-15T24:00:00Z", NULL },
	{ "2024-03-15T12:60:00Z", NULL },
	{ "2024-03-15T12:00:00+2500", NULL },
	{ "2024-03-15T12:00:00+01:60", NULL },
	/* Malformed. */
	{ "", NULL },
	{ "not a date", NULL },
	{ "2024-3-15", NULL },
	{ "2024/03/15", NULL },
	{ "15-03-2024", NULL },
	{ "2024-03-15T", NULL },
	{ "2024-03-15T12", NULL },
	{ "2024-03-15T12:00:00.Z", NULL },
	{ "2024-03-15T12:00:00+01", NULL },
	{ "2024-03-15T12:00:00X", NULL },
	{ "2024-03-15T12:00:00Zjunk", NULL },
	{ "2024-03-15x", NULL },
};

static void
test_datetime(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(datetime_cases) / sizeof(datetime_cases[0]); i++) {
		char out[SF_DATETIME_LEN + 1] = "";
		int rc = sf_value_datetime(datetime_cases[i].in, out);

		if (datetime_cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("datetime \"%s\" accepted as %s, want rejected",
				    datetime_cases[i].in, out);
			continue;
		}
		if (rc != 0)
			fail_msg("datetime \"%s\" rejected, want %s", datetime_cases[i].in,
			    datetime_cases[i].out);
		if (strcmp(out, datetime_cases[i].out) != 0)
			fail_msg("datetime \"%s\": got %s, want %s", datetime_cases[i].in, out,
			    datetime_cases[i].out);
	}
	assert_int_equal(sf_value_datetime(NULL, (char[SF_DATETIME_LEN + 1]){ 0 }), -1);
}

static const struct {
	const char *in;
	const char *out;	/* NULL: rejected */
} date_cases[] = {
	{ "2024-03-15", "2024-03-15" },
	{ "2024-02-29", "2024-02-29" },
	/* A datetime is cut to its UTC date. */
	{ "2024-03-15T23:30:00-02:00", "2024-03-16" },
	{ "2024-03-15T00:30:00+01:00", "2024-03-14" },
	{ "2024-03-15T12:00:00.000+0000", "2024-03-15" },
	{ "2023-02-29", NULL },
	{ "2024-03-1", NULL },
	{ "2024-03-155", NULL },
	{ "", NULL },
	{ "tomorrow", NULL },
};

static void
test_date(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]); i++) {
		char out[11] = "";
		int rc = sf_value_date(date_cases[i].in, out);

		if (date_cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("date \"%s\" accepted as %s", date_cases[i].in, out);
			continue;
		}
		if (rc != 0)
			fail_msg("date \"%s\" rejected", date_cases[i].in);
		assert_string_equal(out, date_cases[i].out);
	}
}

static void
test_epoch_and_format(void **state)
{
	char out[SF_DATETIME_LEN + 1];

	(void)state;
	/* 2024-03-15T12:00:00Z */
	assert_int_equal(sf_value_datetime_epoch("2024-03-15T12:00:00.000+0000"), 1710504000);
	assert_int_equal(sf_value_datetime_epoch("2024-03-15T13:00:00+01:00"), 1710504000);
	assert_int_equal(sf_value_datetime_epoch("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(sf_value_datetime_epoch("garbage"), -1);
	sf_value_format_datetime(1710504000, 7, out);
	assert_string_equal(out, "2024-03-15T12:00:00.007+0000");
	sf_value_format_datetime(0, 0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000+0000");
	assert_int_equal(strlen(out), SF_DATETIME_LEN);
}

/* Fields the normalize table runs against, shaped like schema.json's. */
static char *status_values[] = { "Open", "Closed" };
static char *rating_values[] = { "Hot", "Cold" };
static char *account_ref[] = { "Account" };

static const struct sf_field fields[] = {
	{ .name = "Name", .label = "Account Name", .type = SF_T_STRING, .length = 5 },
	{ .name = "Email", .label = "Email", .type = SF_T_EMAIL, .length = 80 },
	{ .name = "Status", .label = "Status", .type = SF_T_PICKLIST, .length = 40,
	  .restricted_picklist = 1, .picklist = status_values, .npicklist = 2 },
	{ .name = "Rating", .label = "Rating", .type = SF_T_PICKLIST, .length = 40,
	  .picklist = rating_values, .npicklist = 2 },
	{ .name = "DoNotCall", .label = "Do Not Call", .type = SF_T_BOOLEAN },
	{ .name = "NumberOfEmployees", .label = "Employees", .type = SF_T_INT },
	{ .name = "AnnualRevenue", .label = "Annual Revenue", .type = SF_T_CURRENCY },
	{ .name = "CloseDate", .label = "Close Date", .type = SF_T_DATE },
	{ .name = "StartDateTime", .label = "Start", .type = SF_T_DATETIME },
	{ .name = "AccountId", .label = "Account ID", .type = SF_T_REFERENCE, .length = 18,
	  .reference_to = account_ref, .nreference_to = 1 },
	{ .name = "Description", .label = "Description", .type = SF_T_TEXTAREA, .length = 10 },
};

static const struct sf_field *
field(const char *name)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	fail_msg("no test field %s", name);
	return NULL;
}

static const struct {
	const char *field;
	const char *in;		/* JSON text */
	const char *out;	/* canonical JSON text, or NULL when rejected */
	const char *code;	/* errorCode when rejected */
	const char *message;	/* exact message when rejected, or NULL */
} normalize_cases[] = {
	/* Text: up to length characters (not bytes); "" clears; scalars become text. */
	{ "Name", "\"abc\"", "\"abc\"", NULL, NULL },
	{ "Name", "\"abcde\"", "\"abcde\"", NULL, NULL },
	{ "Name", "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"",
	  "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"", NULL, NULL },
	{ "Name", "\"abcdef\"", NULL, "STRING_TOO_LONG",
	  "Account Name: data value too large: abcdef (max length=5)" },
	{ "Description", "\"0123456789x\"", NULL, "STRING_TOO_LONG", NULL },
	{ "Name", "\"\"", "null", NULL, NULL },
	{ "Name", "null", "null", NULL, NULL },
	{ "Name", "12", "\"12\"", NULL, NULL },
	{ "Name", "true", "\"true\"", NULL, NULL },
	{ "Name", "{}", NULL, "JSON_PARSER_ERROR", NULL },
	{ "Name", "[\"a\"]", NULL, "JSON_PARSER_ERROR", NULL },
	/* E-mail. */
	{ "Email", "\"a@b.co\"", "\"a@b.co\"", NULL, NULL },
	{ "Email", "\"first.last+tag@sub.example.com\"", "\"first.last+tag@sub.example.com\"",
	  NULL, NULL },
	{ "Email", "\"not an email\"", NULL, "INVALID_EMAIL_ADDRESS",
	  "Email: invalid email address: not an email" },
	{ "Email", "\"a@b\"", NULL, "INVALID_EMAIL_ADDRESS", NULL },
	{ "Email", "\"@b.com\"", NULL, "INVALID_EMAIL_ADDRESS", NULL },
	{ "Email", "\"a@@b.com\"", NULL, "INVALID_EMAIL_ADDRESS", NULL },
	{ "Email", "\"a@b.com.\"", NULL, "INVALID_EMAIL_ADDRESS", NULL },
	{ "Email", "\"a b@c.com\"", NULL, "INVALID_EMAIL_ADDRESS", NULL },
	{ "Email", "\"a@.com\"", NULL, "INVALID_EMAIL_ADDRESS", NULL },
	/* Restricted picklists accept only their values; unrestricted ones anything. */
	{ "Status", "\"Open\"", "\"Open\"", NULL, NULL },
	{ "Status", "\"Bogus\"", NULL, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
	  "Status: bad value for restricted picklist field: Bogus" },
	{ "Rating", "\"Lukewarm\"", "\"Lukewarm\"", NULL, NULL },
	/* Booleans: JSON booleans and the strings true/false in any case. */
	{ "DoNotCall", "true", "true", NULL, NULL },
	{ "DoNotCall", "false", "false", NULL, NULL },
	{ "DoNotCall", "\"true\"", "true", NULL, NULL },
	{ "DoNotCall", "\"FALSE\"", "false", NULL, NULL },
	{ "DoNotCall", "\"yes\"", NULL, "JSON_PARSER_ERROR", NULL },
	{ "DoNotCall", "1", NULL, "JSON_PARSER_ERROR", NULL },
	{ "DoNotCall", "{}", NULL, "JSON_PARSER_ERROR", NULL },
	/* Numbers: JSON numbers and numeric strings; "" clears. */
	{ "NumberOfEmployees", "42", "42", NULL, NULL },
	{ "NumberOfEmployees", "-3", "-3", NULL, NULL },
	{ "NumberOfEmployees", "\"42\"", "42", NULL, NULL },
	{ "NumberOfEmployees", "\"\"", "null", NULL, NULL },
	{ "NumberOfEmployees", "\"forty\"", NULL, "JSON_PARSER_ERROR", NULL },
	{ "NumberOfEmployees", "\"4x\"", NULL, "JSON_PARSER_ERROR", NULL },
	{ "NumberOfEmployees", "true", NULL, "JSON_PARSER_ERROR", NULL },
	{ "AnnualRevenue", "1.5", "1.5", NULL, NULL },
	{ "AnnualRevenue", "2", "2.0", NULL, NULL },
	{ "AnnualRevenue", "\"2.25\"", "2.25", NULL, NULL },
	{ "AnnualRevenue", "\"\"", "null", NULL, NULL },
	{ "AnnualRevenue", "\"lots\"", NULL, "JSON_PARSER_ERROR", NULL },
	{ "AnnualRevenue", "[]", NULL, "JSON_PARSER_ERROR", NULL },
	/* Dates and datetimes become canonical; bad ones are deserializer errors. */
	{ "CloseDate", "\"2024-03-15\"", "\"2024-03-15\"", NULL, NULL },
	{ "CloseDate", "\"\"", "null", NULL, NULL },
	{ "CloseDate", "\"2024-02-30\"", NULL, "JSON_PARSER_ERROR", NULL },
	{ "CloseDate", "20240315", NULL, "JSON_PARSER_ERROR", NULL },
	{ "StartDateTime", "\"2024-03-15T13:00:00+01:00\"", "\"2024-03-15T12:00:00.000+0000\"",
	  NULL, NULL },
	{ "StartDateTime", "\"yesterday\"", NULL, "JSON_PARSER_ERROR", NULL },
	/* References: 15 characters become 18; anything else is MALFORMED_ID. */
	{ "AccountId", "\"001M000000qfPyS\"", "\"001M000000qfPySIAU\"", NULL, NULL },
	{ "AccountId", "\"001M000000qfPySIAU\"", "\"001M000000qfPySIAU\"", NULL, NULL },
	{ "AccountId", "\"\"", "null", NULL, NULL },
	{ "AccountId", "\"xyz\"", NULL, "MALFORMED_ID",
	  "Account ID: id value of incorrect type: xyz" },
	{ "AccountId", "\"001M000000qfPySAAA\"", NULL, "MALFORMED_ID", NULL },
	{ "AccountId", "42", NULL, "JSON_PARSER_ERROR", NULL },
};

static void
test_normalize(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(normalize_cases) / sizeof(normalize_cases[0]); i++) {
		const struct sf_field *f = field(normalize_cases[i].field);
		json_t *in = json_loads(normalize_cases[i].in, JSON_DECODE_ANY, NULL), *out;
		struct sf_error err;

		memset(&err, 0, sizeof(err));
		assert_non_null(in);
		out = sf_value_normalize(f, in, &err);
		if (normalize_cases[i].out == NULL) {
			if (out != NULL) {
				char *text = json_dumps(out, JSON_ENCODE_ANY);

				fail_msg("%s=%s accepted as %s, want %s", f->name,
				    normalize_cases[i].in, text, normalize_cases[i].code);
			}
			if (strcmp(err.code, normalize_cases[i].code) != 0)
				fail_msg("%s=%s: errorCode %s, want %s", f->name,
				    normalize_cases[i].in, err.code, normalize_cases[i].code);
			assert_int_equal(err.status, 400);
			/* Every value error names its field. */
			assert_int_equal(err.nfields, 1);
			assert_string_equal(err.fields[0], f->name);
			if (normalize_cases[i].message != NULL)
				assert_string_equal(err.message, normalize_cases[i].message);
		} else {
			json_t *want = json_loads(normalize_cases[i].out, JSON_DECODE_ANY, NULL);

			if (out == NULL)
				fail_msg("%s=%s rejected (%s: %s), want %s", f->name,
				    normalize_cases[i].in, err.code, err.message,
				    normalize_cases[i].out);
			if (!json_equal(out, want) || json_typeof(out) != json_typeof(want)) {
				char *text = json_dumps(out, JSON_ENCODE_ANY);

				fail_msg("%s=%s: got %s, want %s", f->name, normalize_cases[i].in,
				    text, normalize_cases[i].out);
			}
			json_decref(want);
		}
		json_decref(out);
		json_decref(in);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datetime),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_epoch_and_format),
		cmocka_unit_test(test_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
