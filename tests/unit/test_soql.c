/* test_soql.c: sf-sim's SOQL engine (sim/sf/sf_soql*.c) against a small in-memory org.
 * Queries and their expected record ids, record JSON, or errorCode and message are tables.
 * Fixture ids are written $A1 (18 characters) or #A1 (15 characters): the letter picks the
 * object's key prefix, the number the sequence passed to sf_id_make. "Now" is fixed at
 * Friday 2024-03-15T12:00:00Z, so this week is Sunday 03-10 to Saturday 03-16. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sf_id.h"
#include "sf_schema.h"
#include "sf_soql.h"
#include "sf_store.h"
#include "xmalloc.h"

#define NOW	1710504000	/* 2024-03-15T12:00:00Z */

static const char schema_json[] =
    "{\"objects\": ["
    "{\"name\": \"User\", \"keyPrefix\": \"005\", \"fields\": ["
    "  {\"name\": \"Name\", \"type\": \"string\"}, {\"name\": \"Email\", \"type\": \"email\"}]},"
    "{\"name\": \"Group\", \"keyPrefix\": \"00G\", \"fields\": ["
    "  {\"name\": \"Name\", \"type\": \"string\"}, {\"name\": \"Email\", \"type\": \"email\"}]},"
    "{\"name\": \"Account\", \"keyPrefix\": \"001\", \"fields\": ["
    "  {\"name\": \"Name\", \"type\": \"string\"},"
    "  {\"name\": \"Industry\", \"type\": \"picklist\"},"
    "  {\"name\": \"NumberOfEmployees\", \"type\": \"int\"},"
    "  {\"name\": \"AnnualRevenue\", \"type\": \"currency\"},"
    "  {\"name\": \"Description\", \"type\": \"textarea\", \"length\": 255},"
    "  {\"name\": \"Notes\", \"type\": \"textarea\", \"length\": 32000},"
    "  {\"name\": \"OwnerId\", \"type\": \"reference\", \"referenceTo\": [\"User\", \"Group\"],"
    "   \"relationshipName\": \"Owner\"}]},"
    "{\"name\": \"Contact\", \"keyPrefix\": \"003\", \"fields\": ["
    "  {\"name\": \"FirstName\", \"type\": \"string\"},"
    "  {\"name\": \"LastName\", \"type\": \"string\"},"
    "  {\"name\": \"Name\", \"type\": \"string\", \"calculated\": true},"
    "  {\"name\": \"Email\", \"type\": \"email\"},"
    "  {\"name\": \"Birthdate\", \"type\": \"date\"},"
    "  {\"name\": \"AccountId\", \"type\": \"reference\", \"referenceTo\": [\"Account\"],"
    "   \"relationshipName\": \"Account\"}]},"
    "{\"name\": \"Lead\", \"keyPrefix\": \"00Q\", \"fields\": ["
    "  {\"name\": \"LastName\", \"type\": \"string\"},"
    "  {\"name\": \"Name\", \"type\": \"string\", \"calculated\": true},"
    "  {\"name\": \"Company\", \"type\": \"string\"},"
    "  {\"name\": \"Email\", \"type\": \"email\"}]},"
    "{\"name\": \"Task\", \"keyPrefix\": \"00T\", \"activity\": true, \"fields\": ["
    "  {\"name\": \"Subject\", \"type\": \"combobox\"},"
    "  {\"name\": \"ActivityDate\", \"type\": \"date\"},"
    "  {\"name\": \"IsArchived\", \"type\": \"boolean\"},"
    "  {\"name\": \"WhoId\", \"type\": \"reference\", \"referenceTo\": [\"Contact\", \"Lead\"],"
    "   \"relationshipName\": \"Who\"},"
    "  {\"name\": \"WhatId\", \"type\": \"reference\", \"referenceTo\": [\"Account\"],"
    "   \"relationshipName\": \"What\"}]}"
    "]}";

static const char fixture_sql[] =
    "INSERT INTO \"User\" (Id, Name, Email) VALUES ('$U1', 'Uma User', 'uma@x.com');"
    "INSERT INTO \"Group\" (Id, Name, Email) VALUES ('$G1', 'Queue One', 'q@x.com');"
    "INSERT INTO Account (Id, Name, Industry, NumberOfEmployees, AnnualRevenue, OwnerId,"
    "  CreatedDate, Description, IsDeleted) VALUES"
    " ('$A1', 'Acme', 'Tech', 100, 1000.5, '$U1', '2024-03-15T09:00:00.000+0000', NULL, 0),"
    " ('$A2', 'Globex', 'Energy', 50, NULL, '$G1', '2024-03-14T23:30:00.000+0000', NULL, 0),"
    " ('$A3', 'acme labs', NULL, NULL, NULL, NULL, '2024-01-10T00:00:00.000+0000', NULL, 0),"
    " ('$A4', 'O''Reilly 50%_off', 'Media', 7, NULL, NULL, '2023-06-01T00:00:00.000+0000',"
    "  'back\\slash', 0),"
    " ('$A5', 'Deleted Co', 'Tech', 1, NULL, NULL, '2024-03-15T10:00:00.000+0000', NULL, 1);"
    "INSERT INTO Contact (Id, FirstName, LastName, Name, Email, Birthdate, AccountId, IsDeleted)"
    " VALUES"
    " ('$C1', 'Ann', 'Lee', 'Ann Lee', 'ann@acme.com', '1990-05-01', '$A1', 0),"
    " ('$C2', 'Bob', 'Stone', 'Bob Stone', 'BOB@ACME.COM', NULL, '$A1', 0),"
    " ('$C3', NULL, 'Nobody', 'Nobody', NULL, NULL, NULL, 0),"
    " ('$C4', NULL, 'Gone', 'Gone', NULL, NULL, '$A2', 1);"
    "INSERT INTO Lead (Id, LastName, Name, Company, Email) VALUES"
    " ('$L1', 'Lead', 'Larry Lead', 'Initech', 'l1@initech.com');"
    "INSERT INTO Task (Id, Subject, ActivityDate, IsArchived, WhoId, WhatId) VALUES"
    " ('$T1', 'Call', '2024-03-15', 0, '$C1', '$A1'),"
    " ('$T2', 'Email', '2024-03-14', 0, '$L1', NULL),"
    " ('$T3', 'Old', '2024-02-20', 1, NULL, NULL),"
    " ('$T4', 'Meeting', '2024-03-09', 0, '$C2', NULL),"
    " ('$T5', 'Later', '2024-03-18', 0, '$C1', NULL);";

/* Every fixture symbol, for turning result ids back into symbols. */
static const char *const symbols[] = {
	"U1", "G1", "A1", "A2", "A3", "A4", "A5", "C1", "C2", "C3", "C4", "L1",
	"T1", "T2", "T3", "T4", "T5",
};

static sqlite3 *db;
static struct sf_schema schema;

static void
sym_id(const char *sym, char out[SF_ID_LEN + 1])
{
	static const struct {
		char letter;
		const char *prefix;
	} prefixes[] = {
		{ 'U', "005" }, { 'G', "00G" }, { 'A', "001" }, { 'C', "003" }, { 'L', "00Q" },
		{ 'T', "00T" },
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (prefixes[i].letter == sym[0]) {
			sf_id_make(prefixes[i].prefix, strtoull(sym + 1, NULL, 10), out);
			return;
		}
	fail_msg("unknown fixture symbol %s", sym);
}

/* Replaces $X9 by the 18-character id and #X9 by the 15-character one. Caller frees. */
static char *
subst(const char *in)
{
	char *out = xmalloc(strlen(in) * 3 + 1), sym[16], id[SF_ID_LEN + 1];
	size_t n = 0;

	while (*in) {
		size_t k = 0;

		if ((*in != '$' && *in != '#') || !isupper((unsigned char)in[1]) ||
		    !isdigit((unsigned char)in[2])) {
			out[n++] = *in++;
			continue;
		}
		sym[k++] = in[1];
		for (const char *p = in + 2; isdigit((unsigned char)*p) && k < 8; p++)
			sym[k++] = *p;
		sym[k] = '\0';
		sym_id(sym, id);
		memcpy(out + n, id, *in == '$' ? 18 : 15);
		n += *in == '$' ? 18 : 15;
		in += 1 + k;
	}
	out[n] = '\0';
	return out;
}

static const char *
symbol_of(const char *id)
{
	char want[SF_ID_LEN + 1];

	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		sym_id(symbols[i], want);
		if (strcmp(want, id) == 0)
			return symbols[i];
	}
	return "?";
}

static int
setup(void **state)
{
	char err[256];
	char *sql;

	(void)state;
	if (sf_schema_load_string(&schema, schema_json, err, sizeof(err)) < 0)
		fail_msg("schema: %s", err);
	if (db_open(":memory:", &db, err, sizeof(err)) < 0 ||
	    sf_store_create_tables(db, &schema, err, sizeof(err)) < 0)
		fail_msg("db: %s", err);
	sql = subst(fixture_sql);
	if (db_exec(db, sql, err, sizeof(err)) < 0)
		fail_msg("fixture: %s", err);
	free(sql);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	sf_schema_free(&schema);
	return 0;
}

static int
run(const char *soql, int all_rows, long offset, long batch, struct sf_soql_result *res,
    struct sf_error *err)
{
	struct sf_soql_opts opts = { .all_rows = all_rows, .api_version = "62.0",
	    .offset = offset, .batch_size = batch, .now = NOW };
	char *q = subst(soql);
	int rc;

	memset(err, 0, sizeof(*err));
	rc = sf_soql_run(db, &schema, q, &opts, res, err);
	free(q);
	return rc;
}

/* "A1 A3": the records' ids (from attributes.url, so Id need not be selected) as symbols. */
static void
result_symbols(const struct sf_soql_result *res, char *out, size_t outlen)
{
	size_t i;
	json_t *rec;

	out[0] = '\0';
	json_array_foreach(res->records, i, rec) {
		const char *url = json_string_value(json_object_get(json_object_get(rec,
		    "attributes"), "url"));
		const char *slash = url ? strrchr(url, '/') : NULL;

		snprintf(out + strlen(out), outlen - strlen(out), "%s%s", i ? " " : "",
		    slash ? symbol_of(slash + 1) : "?");
	}
}

/* --- accepted queries: which records come back ------------------------------------------ */

static const struct {
	const char *soql;
	int all_rows;
	const char *ids;
} accepted[] = {
	{ "SELECT Id FROM Account", 0, "A1 A2 A3 A4" },
	{ "select id from account", 0, "A1 A2 A3 A4" },
	{ "SeLeCt Id fRoM Account wHeRe Name = 'Acme' oRdEr By Name limit 1", 0, "A1" },
	{ "SELECT Id\nFROM Account\n\tWHERE Name = 'Acme'", 0, "A1" },
	{ "SELECT Id FROM Account", 1, "A1 A2 A3 A4 A5" },
	{ "SELECT Id FROM Account WHERE IsDeleted = true", 1, "A5" },
	{ "SELECT Id FROM Account WHERE IsDeleted = FALSE", 0, "A1 A2 A3 A4" },
	/* strings: case-insensitive =, IN, LIKE; escapes */
	{ "SELECT Id FROM Account WHERE Name = 'acme'", 0, "A1" },
	{ "SELECT Id FROM Account WHERE Name != 'Acme'", 0, "A2 A3 A4" },
	{ "SELECT Id FROM Account WHERE Name <> 'ACME'", 0, "A2 A3 A4" },
	{ "SELECT Id FROM Account WHERE Name LIKE 'acme%'", 0, "A1 A3" },
	{ "SELECT Id FROM Account WHERE Name LIKE '_CME'", 0, "A1" },
	{ "SELECT Id FROM Account WHERE Name LIKE '%50\\%\\_off'", 0, "A4" },
	{ "SELECT Id FROM Account WHERE Name LIKE '%5\\%'", 0, "" },
	{ "SELECT Id FROM Account WHERE Name = 'O\\'Reilly 50%_off'", 0, "A4" },
	{ "SELECT Id FROM Account WHERE Description = 'back\\\\slash'", 0, "A4" },
	{ "SELECT Id FROM Account WHERE Description LIKE '%\\\\%'", 0, "A4" },
	{ "SELECT Id FROM Account WHERE Name = '\\u0041cme'", 0, "A1" },
	{ "SELECT Id FROM Account WHERE Name = 'x\\'); DROP TABLE Account; --'", 0, "" },
	{ "SELECT Id FROM Account WHERE Name = 'Acme' AND Name != 'x\\n\\t\\r\\b\\f\\\"'", 0,
	  "A1" },
	/* nulls follow SOQL: != and NOT IN match null fields */
	{ "SELECT Id FROM Account WHERE Industry != 'Tech'", 0, "A2 A3 A4" },
	{ "SELECT Id FROM Account WHERE Industry = null", 0, "A3" },
	{ "SELECT Id FROM Account WHERE Industry != NULL", 0, "A1 A2 A4" },
	{ "SELECT Id FROM Account WHERE Industry IN ('tech', 'Media')", 0, "A1 A4" },
	{ "SELECT Id FROM Account WHERE Industry NOT IN ('Tech')", 0, "A2 A3 A4" },
	{ "SELECT Id FROM Account WHERE Industry IN ('Tech', null)", 0, "A1 A3" },
	{ "SELECT Id FROM Account WHERE NOT Industry = 'Tech'", 0, "A2 A3 A4" },
	/* numbers */
	{ "SELECT Id FROM Account WHERE NumberOfEmployees > 50", 0, "A1" },
	{ "SELECT Id FROM Account WHERE NumberOfEmployees >= 50 AND NumberOfEmployees <= 100", 0,
	  "A1 A2" },
	{ "SELECT Id FROM Account WHERE NumberOfEmployees < 60", 0, "A2 A4" },
	{ "SELECT Id FROM Account WHERE AnnualRevenue = 1000.5", 0, "A1" },
	{ "SELECT Id FROM Account WHERE NumberOfEmployees IN (7, 100)", 0, "A1 A4" },
	{ "SELECT Id FROM Account WHERE NumberOfEmployees > -1.5", 0, "A1 A2 A4" },
	/* logic */
	{ "SELECT Id FROM Account WHERE Name = 'Acme' OR Name = 'Globex'", 0, "A1 A2" },
	{ "SELECT Id FROM Account WHERE (Name = 'Acme' OR Name = 'Globex') AND "
	  "NumberOfEmployees > 60", 0, "A1" },
	{ "SELECT Id FROM Account WHERE NOT (Industry = 'Tech' OR Industry = 'Energy')", 0,
	  "A3 A4" },
	{ "SELECT Id FROM Account WHERE ((Name LIKE 'a%') AND (NOT (Industry = null)))", 0, "A1" },
	/* ORDER BY, LIMIT, OFFSET */
	{ "SELECT Id FROM Account ORDER BY Name", 0, "A1 A3 A2 A4" },
	{ "SELECT Id FROM Account ORDER BY Name DESC", 0, "A4 A2 A3 A1" },
	{ "SELECT Id FROM Account ORDER BY NumberOfEmployees", 0, "A3 A4 A2 A1" },
	{ "SELECT Id FROM Account ORDER BY NumberOfEmployees DESC", 0, "A1 A2 A4 A3" },
	{ "SELECT Id FROM Account ORDER BY NumberOfEmployees ASC NULLS LAST", 0, "A4 A2 A1 A3" },
	{ "SELECT Id FROM Account ORDER BY Industry DESC NULLS FIRST, Name", 0, "A3 A1 A4 A2" },
	{ "SELECT Id FROM Account ORDER BY Name LIMIT 2", 0, "A1 A3" },
	{ "SELECT Id FROM Account ORDER BY Name LIMIT 2 OFFSET 1", 0, "A3 A2" },
	{ "SELECT Id FROM Account ORDER BY Name OFFSET 3", 0, "A4" },
	{ "SELECT Id FROM Account LIMIT 0", 0, "" },
	{ "SELECT Id FROM Account OFFSET 2000", 0, "" },
	/* datetimes: literals in any zone, keywords as UTC ranges */
	{ "SELECT Id FROM Account WHERE CreatedDate = TODAY", 0, "A1" },
	{ "SELECT Id FROM Account WHERE CreatedDate = YESTERDAY", 0, "A2" },
	{ "SELECT Id FROM Account WHERE CreatedDate > YESTERDAY", 0, "A1" },
	{ "SELECT Id FROM Account WHERE CreatedDate <= YESTERDAY", 0, "A2 A3 A4" },
	{ "SELECT Id FROM Account WHERE CreatedDate < 2024-03-14T23:30:00Z", 0, "A3 A4" },
	{ "SELECT Id FROM Account WHERE CreatedDate = 2024-03-15T10:00:00+01:00", 0, "A1" },
	{ "SELECT Id FROM Account WHERE CreatedDate = 2024-03-15T09:00:00.000Z", 0, "A1" },
	{ "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:1", 0, "A1 A2" },
	{ "SELECT Id FROM Account WHERE CreatedDate = THIS_YEAR", 0, "A1 A2 A3" },
	{ "SELECT Id FROM Account WHERE CreatedDate < THIS_YEAR", 0, "A4" },
	{ "SELECT Id FROM Account WHERE CreatedDate = THIS_MONTH", 0, "A1 A2" },
	{ "SELECT Id FROM Account WHERE CreatedDate != THIS_MONTH", 0, "A3 A4" },
	/* dates */
	{ "SELECT Id FROM Task WHERE ActivityDate = THIS_WEEK", 0, "T1 T2" },
	{ "SELECT Id FROM Task WHERE ActivityDate = LAST_WEEK", 0, "T4" },
	{ "SELECT Id FROM Task WHERE ActivityDate = NEXT_WEEK", 0, "T5" },
	{ "SELECT Id FROM Task WHERE ActivityDate = NEXT_N_DAYS:3", 0, "T5" },
	{ "SELECT Id FROM Task WHERE ActivityDate = LAST_MONTH", 0, "" },
	{ "SELECT Id FROM Task WHERE ActivityDate = LAST_MONTH", 1, "T3" },
	{ "SELECT Id FROM Task WHERE ActivityDate >= 2024-03-14", 0, "T1 T2 T5" },
	{ "SELECT Id FROM Contact WHERE Birthdate < 2000-01-01", 0, "C1" },
	/* implicit filters: deleted rows, archived activities */
	{ "SELECT Id FROM Task", 0, "T1 T2 T4 T5" },
	{ "SELECT Id FROM Task", 1, "T1 T2 T3 T4 T5" },
	{ "SELECT Id FROM Contact", 0, "C1 C2 C3" },
	{ "SELECT Id FROM Contact", 1, "C1 C2 C3 C4" },
	/* ids and relationships */
	{ "SELECT Id FROM Contact WHERE AccountId = '#A1'", 0, "C1 C2" },
	{ "SELECT Id FROM Contact WHERE AccountId = '$A1'", 0, "C1 C2" },
	{ "SELECT Id FROM Contact WHERE Id IN ('#C3', '$C1')", 0, "C1 C3" },
	{ "SELECT Id FROM Contact WHERE AccountId = null", 0, "C3" },
	{ "SELECT Id FROM Contact WHERE AccountId != ''", 0, "C1 C2" },
	{ "SELECT Id FROM Contact WHERE Email = 'bob@acme.com'", 0, "C2" },
	{ "SELECT Id FROM Contact WHERE Account.Name = 'Acme'", 0, "C1 C2" },
	{ "SELECT Id FROM Contact WHERE Account.Name != 'Acme'", 0, "C3" },
	{ "SELECT Id FROM Contact ORDER BY Account.Name NULLS LAST, LastName DESC", 0,
	  "C2 C1 C3" },
	{ "SELECT Id FROM Task WHERE Who.Name = 'larry lead'", 0, "T2" },
	{ "SELECT Id FROM Task WHERE WhoId = '$C1'", 0, "T1 T5" },
	{ "SELECT Id FROM Task WHERE What.Name LIKE 'ac%'", 0, "T1" },
	{ "SELECT Id FROM Account WHERE Owner.Name = 'Queue One'", 0, "A2" },
	{ "SELECT Id FROM Contact c WHERE c.LastName = 'Lee'", 0, "C1" },
	{ "SELECT c.Id FROM Contact c ORDER BY c.Account.Name DESC NULLS LAST", 0, "C1 C2 C3" },
	{ "SELECT Id FROM Group", 0, "G1" },
};

static void
test_accepted(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		struct sf_soql_result res;
		struct sf_error err;
		char got[512];

		if (run(accepted[i].soql, accepted[i].all_rows, 0, 0, &res, &err) < 0) {
			print_error("accepted[%zu] %s: %s %s\n", i, accepted[i].soql, err.code,
			    err.message);
			failures++;
			continue;
		}
		result_symbols(&res, got, sizeof(got));
		if (strcmp(got, accepted[i].ids) != 0 || !res.done ||
		    res.total_size != (long)json_array_size(res.records)) {
			print_error("accepted[%zu] %s: got \"%s\" (total %ld done %d), want \"%s\"\n",
			    i, accepted[i].soql, got, res.total_size, res.done, accepted[i].ids);
			failures++;
		}
		sf_soql_result_free(&res);
	}
	assert_int_equal(failures, 0);
}

/* --- accepted queries: the exact records ------------------------------------------------ */

#define URL(obj, sym) "\"/services/data/v62.0/sobjects/" obj "/" sym "\""

static const struct {
	const char *soql;
	long total;
	const char *records;
} shaped[] = {
	{ "SELECT Id, Name, NumberOfEmployees, AnnualRevenue FROM Account WHERE Name = 'Acme'", 1,
	  "[{\"attributes\": {\"type\": \"Account\", \"url\": " URL("Account", "$A1") "},"
	  " \"Id\": \"$A1\", \"Name\": \"Acme\", \"NumberOfEmployees\": 100,"
	  " \"AnnualRevenue\": 1000.5}]" },
	{ "SELECT createddate, ISDELETED, industry FROM Account WHERE Name = 'Acme'", 1,
	  "[{\"attributes\": {\"type\": \"Account\", \"url\": " URL("Account", "$A1") "},"
	  " \"CreatedDate\": \"2024-03-15T09:00:00.000+0000\", \"IsDeleted\": false,"
	  " \"Industry\": \"Tech\"}]" },
	{ "SELECT name, account.name, Email FROM contact WHERE LastName = 'Lee'", 1,
	  "[{\"attributes\": {\"type\": \"Contact\", \"url\": " URL("Contact", "$C1") "},"
	  " \"Name\": \"Ann Lee\", \"Account\": {\"attributes\": {\"type\": \"Account\","
	  " \"url\": " URL("Account", "$A1") "}, \"Name\": \"Acme\"}, \"Email\": \"ann@acme.com\"}]" },
	{ "SELECT LastName, Account.Name, Account.Industry FROM Contact WHERE LastName = 'Nobody'",
	  1, "[{\"attributes\": {\"type\": \"Contact\", \"url\": " URL("Contact", "$C3") "},"
	  " \"LastName\": \"Nobody\", \"Account\": null}]" },
	{ "SELECT Subject, Who.Name, Who.Email, What.Name FROM Task WHERE Subject IN ('Call', "
	  "'Email') ORDER BY Subject", 2,
	  "[{\"attributes\": {\"type\": \"Task\", \"url\": " URL("Task", "$T1") "},"
	  "  \"Subject\": \"Call\", \"Who\": {\"attributes\": {\"type\": \"Name\", \"url\": "
	  URL("Contact", "$C1") "}, \"Name\": \"Ann Lee\", \"Email\": \"ann@acme.com\"},"
	  "  \"What\": {\"attributes\": {\"type\": \"Account\", \"url\": " URL("Account", "$A1")
	  "}, \"Name\": \"Acme\"}},"
	  " {\"attributes\": {\"type\": \"Task\", \"url\": " URL("Task", "$T2") "},"
	  "  \"Subject\": \"Email\", \"Who\": {\"attributes\": {\"type\": \"Name\", \"url\": "
	  URL("Lead", "$L1") "}, \"Name\": \"Larry Lead\", \"Email\": \"l1@initech.com\"},"
	  "  \"What\": null}]" },
	{ "SELECT Id, Owner.Name FROM Account ORDER BY Name LIMIT 3", 3,
	  "[{\"attributes\": {\"type\": \"Account\", \"url\": " URL("Account", "$A1") "},"
	  "  \"Id\": \"$A1\", \"Owner\": {\"attributes\": {\"type\": \"Name\", \"url\": "
	  URL("User", "$U1") "}, \"Name\": \"Uma User\"}},"
	  " {\"attributes\": {\"type\": \"Account\", \"url\": " URL("Account", "$A3") "},"
	  "  \"Id\": \"$A3\", \"Owner\": null},"
	  " {\"attributes\": {\"type\": \"Account\", \"url\": " URL("Account", "$A2") "},"
	  "  \"Id\": \"$A2\", \"Owner\": {\"attributes\": {\"type\": \"Name\", \"url\": "
	  URL("Group", "$G1") "}, \"Name\": \"Queue One\"}}]" },
	{ "SELECT COUNT() FROM Contact", 3, "[]" },
	{ "SELECT count() FROM Account WHERE Name LIKE 'acme%' LIMIT 1", 1, "[]" },
	{ "SELECT COUNT() FROM Task", 4, "[]" },
	{ "SELECT COUNT(Id) FROM Contact", 1,
	  "[{\"attributes\": {\"type\": \"AggregateResult\"}, \"expr0\": 3}]" },
	{ "SELECT COUNT(Industry) FROM Account", 1,
	  "[{\"attributes\": {\"type\": \"AggregateResult\"}, \"expr0\": 3}]" },
	{ "SELECT COUNT(Id) n, MAX(NumberOfEmployees), MIN(CreatedDate), SUM(NumberOfEmployees), "
	  "AVG(AnnualRevenue) FROM Account", 1,
	  "[{\"attributes\": {\"type\": \"AggregateResult\"}, \"n\": 4, \"expr0\": 100,"
	  " \"expr1\": \"2023-06-01T00:00:00.000+0000\", \"expr2\": 157, \"expr3\": 1000.5}]" },
	{ "SELECT COUNT(Id) FROM Contact WHERE Account.Name = 'Globex'", 1,
	  "[{\"attributes\": {\"type\": \"AggregateResult\"}, \"expr0\": 0}]" },
};

static void
test_shaped(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(shaped) / sizeof(shaped[0]); i++) {
		struct sf_soql_result res;
		struct sf_error err;
		char *text = subst(shaped[i].records), *got;
		json_t *want = json_loads(text, 0, NULL);

		assert_non_null(want);
		if (run(shaped[i].soql, 0, 0, 0, &res, &err) < 0) {
			print_error("shaped[%zu] %s: %s %s\n", i, shaped[i].soql, err.code,
			    err.message);
			failures++;
		} else {
			if (!json_equal(res.records, want) || res.total_size != shaped[i].total ||
			    !res.done) {
				got = json_dumps(res.records, JSON_COMPACT);
				print_error("shaped[%zu] %s:\n got %s (total %ld)\nwant %s\n", i,
				    shaped[i].soql, got, res.total_size, text);
				free(got);
				failures++;
			}
			sf_soql_result_free(&res);
		}
		json_decref(want);
		free(text);
	}
	assert_int_equal(failures, 0);
}

/* Key order matters to clients that print records: attributes first, then SELECT order. */
static void
test_key_order(void **state)
{
	struct sf_soql_result res;
	struct sf_error err;
	char *got;

	(void)state;
	assert_int_equal(run("SELECT Email, Account.Name, Id, Account.Industry FROM Contact "
	    "WHERE LastName = 'Lee'", 0, 0, 0, &res, &err), 0);
	got = json_dumps(json_array_get(res.records, 0), JSON_COMPACT);
	assert_non_null(strstr(got, "{\"attributes\":{\"type\":\"Contact\",\"url\":"));
	assert_non_null(strstr(got, "},\"Email\":\"ann@acme.com\",\"Account\":{\"attributes\":"));
	assert_non_null(strstr(got, "\"Name\":\"Acme\",\"Industry\":\"Tech\"},\"Id\":"));
	free(got);
	sf_soql_result_free(&res);
}

/* --- rejected queries ------------------------------------------------------------------- */

#define NO_COLUMN(f, o) "No such column '" f "' on entity '" o "'. If you are attempting to " \
	"use a custom field, be sure to append the '__c' after the custom field name. Please " \
	"reference your WSDL or the describe call for the appropriate names."

static const struct {
	const char *soql;
	const char *code;
	const char *message;	/* exact when it starts with '=', else a substring */
} rejected[] = {
	{ "", "MALFORMED_QUERY", "=SOQL statements cannot be empty or null" },
	{ " \n\t ", "MALFORMED_QUERY", "=SOQL statements cannot be empty or null" },
	{ "invalid", "MALFORMED_QUERY", "=unexpected token: 'invalid'" },
	{ "SELECT Id FROM Contact123", "INVALID_TYPE",
	  "=\nSELECT Id FROM Contact123\n               ^\nERROR at Row:1:Column:16\n"
	  "sObject type 'Contact123' is not supported. If you are attempting to use a custom "
	  "object, be sure to append the '__c' after the entity name. Please reference your WSDL "
	  "or the describe call for the appropriate names." },
	{ "SELECT Id, Naem FROM Account", "INVALID_FIELD",
	  "=\nSELECT Id, Naem FROM Account\n           ^\nERROR at Row:1:Column:12\n"
	  NO_COLUMN("Naem", "Account") },
	{ "SELECT Id,\n  Naem FROM Account", "INVALID_FIELD",
	  "=\nNaem FROM Account\n^\nERROR at Row:2:Column:3\n" NO_COLUMN("Naem", "Account") },
	{ "SELECT Id, Name, Industry, NumberOfEmployees, AnnualRevenue, Naem, CreatedDate, "
	  "LastModifiedDate, SystemModstamp FROM Account", "INVALID_FIELD",
	  "=\nNumberOfEmployees, AnnualRevenue, Naem, CreatedDate, LastModifiedDate\n"
	  "                                  ^\nERROR at Row:1:Column:62\n"
	  NO_COLUMN("Naem", "Account") },
	{ "SELECT Id FROM Account WHERE Naem = 'x'", "INVALID_FIELD", NO_COLUMN("Naem", "Account") },
	{ "SELECT Account.Naem FROM Contact", "INVALID_FIELD", NO_COLUMN("Naem", "Account") },
	{ "SELECT Who.Company2 FROM Task", "INVALID_FIELD", NO_COLUMN("Company2", "Name") },
	{ "SELECT Id, Foo.Name FROM Contact", "INVALID_FIELD",
	  "Didn't understand relationship 'Foo' in field path." },
	{ "SELECT Account.Owner.Name FROM Contact", "MALFORMED_QUERY", "one level" },
	{ "SELECT Id FROM", "MALFORMED_QUERY",
	  "=\nSELECT Id FROM\n              ^\nERROR at Row:1:Column:15\nunexpected token: <EOF>" },
	{ "SELECT FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'" },
	{ "SELECT Id, FROM Account", "MALFORMED_QUERY", "\nERROR at Row:1:Column:12\n"
	  "unexpected token: 'FROM'" },
	{ "SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>" },
	{ "SELECT Naem FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>" },
	{ "SELECT Id FROM Account foo bar", "MALFORMED_QUERY", "unexpected token: 'bar'" },
	{ "SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY", "unexpected token: 'BY'" },
	{ "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
	  "MALFORMED_QUERY", "unexpected token: 'OR'" },
	{ "SELECT Id FROM Account WHERE (Name = 'a'", "MALFORMED_QUERY", "unexpected token: <EOF>" },
	{ "SELECT Id FROM Account WHERE Name = 'a\\x'", "MALFORMED_QUERY",
	  "Invalid string literal 'a\\x'. Illegal character sequence '\\x' in string literal." },
	{ "SELECT Id FROM Account WHERE Name = 'a\\%'", "MALFORMED_QUERY",
	  "Illegal character sequence '\\%'" },
	{ "SELECT Id FROM Account WHERE Name = '\\u00G1'", "MALFORMED_QUERY",
	  "Illegal character sequence '\\u'" },
	{ "SELECT Id FROM Account WHERE Name = 'abc", "MALFORMED_QUERY",
	  "mismatched character '<EOF>' expecting '''" },
	{ "SELECT Id FROM Account WHERE Name = $x", "MALFORMED_QUERY",
	  "\nERROR at Row:1:Column:36\nline 1:36 no viable alternative at character '$'" },
	{ "SELECT Id FROM Account WHERE Name = \"x\"", "MALFORMED_QUERY",
	  "no viable alternative at character '\"'" },
	{ "SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE",
	  "=Maximum SOQL offset allowed is 2000" },
	{ "SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'" },
	{ "SELECT Id FROM Account LIMIT -1", "MALFORMED_QUERY", "unexpected token: '-1'" },
	{ "SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD",
	  "value of filter criterion for field 'CreatedDate' must be of type dateTime and should "
	  "not be enclosed in quotes" },
	{ "SELECT Id FROM Account WHERE CreatedDate = 2024-01-01", "INVALID_FIELD",
	  "must be of type dateTime" },
	{ "SELECT Id FROM Task WHERE ActivityDate = 2024-01-01T00:00:00Z", "INVALID_FIELD",
	  "must be of type date and" },
	{ "SELECT Id FROM Account WHERE CreatedDate = 2024-02-30T00:00:00Z", "MALFORMED_QUERY",
	  "unexpected token: '2024-02-30T00:00:00Z'" },
	{ "SELECT Id FROM Account WHERE CreatedDate = 2024-02-03T00:00:00", "MALFORMED_QUERY",
	  "unexpected token" },
	{ "SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD",
	  "must be of type integer and should not be enclosed in quotes" },
	{ "SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD",
	  "must be of type string and should be enclosed in quotes" },
	{ "SELECT Id FROM Account WHERE IsDeleted = 'true'", "INVALID_FIELD",
	  "must be of type boolean" },
	{ "SELECT Id FROM Account WHERE NumberOfEmployees LIKE '5%'", "INVALID_FIELD",
	  "invalid operator" },
	{ "SELECT Id FROM Account WHERE CreatedDate IN (TODAY)", "MALFORMED_QUERY",
	  "unexpected token: 'TODAY'" },
	{ "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS", "MALFORMED_QUERY",
	  "unexpected token: <EOF>" },
	{ "SELECT Id FROM Account WHERE CreatedDate = SOMEDAY", "MALFORMED_QUERY",
	  "unexpected token: 'SOMEDAY'" },
	{ "SELECT Id FROM Contact WHERE AccountId = 'abc'", "INVALID_QUERY_FILTER_OPERATOR",
	  "invalid ID field: abc" },
	{ "SELECT Id FROM Account WHERE Notes = 'x'", "INVALID_FIELD",
	  "field 'Notes' can not be filtered in query call" },
	{ "SELECT Id FROM Account ORDER BY Notes", "INVALID_FIELD", "can not be sorted" },
	{ "SELECT Id FROM Account ORDER BY Name SIDEWAYS", "MALFORMED_QUERY",
	  "unexpected token: 'SIDEWAYS'" },
	{ "SELECT Id, COUNT() FROM Account", "MALFORMED_QUERY", "unexpected token: 'COUNT'" },
	{ "SELECT COUNT(), Id FROM Account", "MALFORMED_QUERY", "unexpected token: ','" },
	{ "SELECT Name, COUNT(Id) FROM Account", "MALFORMED_QUERY",
	  "Field must be grouped or aggregated: Name" },
	{ "SELECT SUM(Name) FROM Account", "MALFORMED_QUERY", "does not support aggregate" },
	{ "SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id" },
	{ "SELECT Id, (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY",
	  "unexpected token: '('" },
	{ "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", "MALFORMED_QUERY",
	  "unexpected token: 'SELECT'" },
};

static void
check_rejected(size_t i, const char *soql, const char *code, const char *message,
    int *failures)
{
	struct sf_soql_result res;
	struct sf_error err;
	int exact = message[0] == '=';

	if (run(soql, 0, 0, 0, &res, &err) == 0) {
		print_error("rejected[%zu] %.200s: accepted\n", i, soql);
		sf_soql_result_free(&res);
		(*failures)++;
		return;
	}
	if (res.records != NULL || err.status != 400 || strcmp(err.code, code) != 0 ||
	    (exact ? strcmp(err.message, message + 1) != 0 :
	    strstr(err.message, message) == NULL)) {
		print_error("rejected[%zu] %.200s:\n got %d %s [%.300s]\nwant %s [%s]\n", i, soql,
		    err.status, err.code, err.message, code, exact ? message + 1 : message);
		(*failures)++;
	}
}

static void
test_rejected(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		check_rejected(i, rejected[i].soql, rejected[i].code, rejected[i].message,
		    &failures);
	assert_int_equal(failures, 0);
}

/* Bounds on outside input: statement length, nesting, string length. */
static void
test_bounds(void **state)
{
	size_t big = SF_SOQL_MAX_LEN + 1, n;
	char *q = xmalloc(big + 64);
	int failures = 0;

	(void)state;
	memset(q, ' ', big);
	memcpy(q, "SELECT Id FROM Account", 22);
	q[big] = '\0';
	check_rejected(1, q, "MALFORMED_QUERY", "cannot exceed 100000 characters", &failures);
	n = (size_t)snprintf(q, big, "SELECT Id FROM Account WHERE ");
	for (int i = 0; i < 40; i++)
		q[n++] = '(';
	snprintf(q + n, big - n, "Name = 'x'");
	check_rejected(2, q, "QUERY_TOO_COMPLICATED", "nested", &failures);
	n = (size_t)snprintf(q, big, "SELECT Id FROM Account WHERE ");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(q + n, big - n, "NOT ");
	snprintf(q + n, big - n, "Name = 'x'");
	check_rejected(3, q, "QUERY_TOO_COMPLICATED", "nested", &failures);
	n = (size_t)snprintf(q, big, "SELECT Id FROM Account WHERE Name = '");
	memset(q + n, 'a', 4001);
	snprintf(q + n + 4001, big - n - 4001, "'");
	check_rejected(4, q, "MALFORMED_QUERY", "String literal is too long", &failures);
	free(q);
	assert_int_equal(failures, 0);
}

/* --- paging ----------------------------------------------------------------------------- */

static const struct {
	const char *soql;
	long offset, batch;
	const char *ids;
	long total;
	int done;
	long next;
} pages[] = {
	{ "SELECT Id FROM Account ORDER BY Name", 0, 3, "A1 A3 A2", 4, 0, 3 },
	{ "SELECT Id FROM Account ORDER BY Name", 3, 3, "A4", 4, 1, 0 },
	{ "SELECT Id FROM Account ORDER BY Name LIMIT 3", 0, 2, "A1 A3", 3, 0, 2 },
	{ "SELECT Id FROM Account ORDER BY Name LIMIT 3", 2, 2, "A2", 3, 1, 0 },
	{ "SELECT Id FROM Account ORDER BY Name LIMIT 3 OFFSET 1", 0, 2, "A3 A2", 3, 0, 2 },
	{ "SELECT Id FROM Account ORDER BY Name LIMIT 3 OFFSET 1", 2, 2, "A4", 3, 1, 0 },
	{ "SELECT Id FROM Account", 0, 4, "A1 A2 A3 A4", 4, 1, 0 },
	{ "SELECT Id FROM Account", 0, 0, "A1 A2 A3 A4", 4, 1, 0 },
	{ "SELECT Id FROM Account", 9, 2, "", 4, 1, 0 },
};

static void
test_paging(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		struct sf_soql_result res;
		struct sf_error err;
		char got[256];

		if (run(pages[i].soql, 0, pages[i].offset, pages[i].batch, &res, &err) < 0) {
			print_error("pages[%zu]: %s\n", i, err.message);
			failures++;
			continue;
		}
		result_symbols(&res, got, sizeof(got));
		if (strcmp(got, pages[i].ids) != 0 || res.total_size != pages[i].total ||
		    res.done != pages[i].done || (!res.done && res.next_offset != pages[i].next)) {
			print_error("pages[%zu] %s @%ld/%ld: got \"%s\" total %ld done %d next %ld\n",
			    i, pages[i].soql, pages[i].offset, pages[i].batch, got, res.total_size,
			    res.done, res.next_offset);
			failures++;
		}
		sf_soql_result_free(&res);
	}
	assert_int_equal(failures, 0);
}

/* The injection attempt in the accepted table was bound, not spliced: the table is intact. */
static void
test_no_injection(void **state)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM Account");

	(void)state;
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 5);
	sqlite3_finalize(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_shaped),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_no_injection),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
