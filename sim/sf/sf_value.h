/* sf_value.h: converting field values between JSON (the wire), SOQL literals and SQLite columns,
 * following the storage convention in sf_schema.h. */
#ifndef SF_VALUE_H
#define SF_VALUE_H

#include <jansson.h>
#include <sqlite3.h>
#include <time.h>

#include "sf_error.h"
#include "sf_schema.h"

#define SF_DATETIME_LEN 28	/* "2013-05-20T20:49:32.000+0000" */

/* Parses an ISO-8601 datetime ("YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|+HHMM)", or a bare date,
 * taken as midnight UTC) and writes the canonical UTC form. -1 if malformed. */
int sf_value_datetime(const char *in, char out[SF_DATETIME_LEN + 1]);
/* Parses "YYYY-MM-DD" (a datetime is accepted and cut to its UTC date). -1 if malformed. */
int sf_value_date(const char *in, char out[11]);
/* Formats t as the canonical UTC datetime. */
void sf_value_format_datetime(time_t t, int millis, char out[SF_DATETIME_LEN + 1]);
/* Seconds since the epoch of a canonical datetime; -1 if malformed. */
time_t sf_value_datetime_epoch(const char *canonical);

/* The JSON value of column col of st for a field of this type (booleans as true/false, numbers as
 * numbers, NULL as null). Caller owns the result. */
json_t *sf_value_column_json(sqlite3_stmt *st, int col, enum sf_ftype type);

/* Checks a JSON value against field f and returns its canonical form (caller owns): type, length
 * (STRING_TOO_LONG), restricted picklist, email format, id format (MALFORMED_ID; ids become 18
 * characters), dates and datetimes (JSON_PARSER_ERROR like Salesforce's deserializer; datetimes
 * become canonical UTC), "" becomes null. NULL with err filled on a bad value. */
json_t *sf_value_normalize(const struct sf_field *f, json_t *v, struct sf_error *err);

/* Binds a canonical value (from sf_value_normalize or sf_value_column_json) at idx. */
void sf_value_bind(sqlite3_stmt *st, int idx, json_t *v);

#endif
