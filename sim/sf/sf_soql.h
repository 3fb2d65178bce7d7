/* sf_soql.h: sf-sim's SOQL engine: parses a SOQL query, runs it against the object tables
 * (storage convention in sf_schema.h) and shapes the rows like Salesforce's /query answer.
 * The supported subset and the known gaps are listed at the top of sf_soql.c. */
#ifndef SF_SOQL_H
#define SF_SOQL_H

#include <jansson.h>
#include <sqlite3.h>
#include <time.h>

#include "sf_error.h"
#include "sf_schema.h"

#define SF_SOQL_MAX_LEN		100000	/* characters in one statement, like Salesforce */
#define SF_SOQL_MAX_OFFSET	2000	/* OFFSET above this is NUMBER_OUTSIDE_VALID_RANGE */
#define SF_SOQL_DEFAULT_BATCH	2000	/* rows per page when opts->batch_size is 0 */

struct sf_soql_opts {
	int all_rows;             /* queryAll: include IsDeleted=1 rows and (for activity objects) IsArchived=1 rows */
	const char *api_version;  /* "62.0", used in attributes.url: /services/data/v62.0/sobjects/Contact/003... */
	long offset;              /* rows already returned by earlier pages (query locator) */
	long batch_size;          /* rows per page; 0 means 2000 */
	time_t now;               /* for TODAY, LAST_N_DAYS:n ...; 0 means time(NULL) */
};

struct sf_soql_result {
	json_t *records;          /* array, caller owns */
	long total_size;
	int done;
	long next_offset;         /* when !done: offset for the next page */
};

/* Runs soql and fills res with one page of records. On failure returns -1 with err filled
 * (status 400; MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...) and res->records NULL.
 * db and schema are borrowed for the call only. Free res with sf_soql_result_free. */
int sf_soql_run(sqlite3 *db, const struct sf_schema *schema, const char *soql,
    const struct sf_soql_opts *opts, struct sf_soql_result *res, struct sf_error *err);
void sf_soql_result_free(struct sf_soql_result *res);

#endif
