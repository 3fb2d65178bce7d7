/* sf_value.c: field value conversions between JSON, SOQL literals and SQLite (see sf_value.h). */
#include "sf_value.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "isotime.h"
#include "sf_id.h"

/* in read as Salesforce reads a date or datetime: isotime's grammar without a lowercase 't',
 * a ',' before the fraction or an offset without minutes; years 1700..4000 (the range of its
 * date fields); a leap second is taken (it rolls into the next minute). */
static int
parse_sf(const char *in, struct isotime *t)
{
	if (in == NULL || isotime_parse(in, strlen(in), t) < 0)
		return -1;
	if (t->year < 1700 || t->year > 4000 || t->sep == 't' || t->frac_sep == ',' ||
	    ((t->zone == '+' || t->zone == '-') && !t->zone_min))
		return -1;
	return 0;
}

void
sf_value_format_datetime(time_t t, int millis, char out[SF_DATETIME_LEN + 1])
{
	char tmp[64];

	isotime_format((long long)t, 3, (long)(millis % 1000) * (ISOTIME_FRAC_UNIT / 1000),
	    "+0000", tmp, sizeof(tmp));
	memcpy(out, tmp, SF_DATETIME_LEN);
	out[SF_DATETIME_LEN] = '\0';
}

int
sf_value_datetime(const char *in, char out[SF_DATETIME_LEN + 1])
{
	struct isotime t;

	if (parse_sf(in, &t) < 0)
		return -1;
	sf_value_format_datetime((time_t)t.utc, (int)(t.frac / (ISOTIME_FRAC_UNIT / 1000)), out);
	return 0;
}

int
sf_value_date(const char *in, char out[11])
{
	char dt[SF_DATETIME_LEN + 1];
	struct isotime t;

	if (in == NULL)
		return -1;
	if (strlen(in) == 10) {
		if (parse_sf(in, &t) < 0)
			return -1;
		memcpy(out, in, 10);
		out[10] = '\0';
		return 0;
	}
	if (sf_value_datetime(in, dt) < 0)
		return -1;
	memcpy(out, dt, 10);
	out[10] = '\0';
	return 0;
}

time_t
sf_value_datetime_epoch(const char *canonical)
{
	struct isotime t;

	if (parse_sf(canonical, &t) < 0)
		return -1;
	return (time_t)t.utc;
}

json_t *
sf_value_column_json(sqlite3_stmt *st, int col, enum sf_ftype type)
{
	int ctype = sqlite3_column_type(st, col);

	if (ctype == SQLITE_NULL)
		return json_null();
	switch (type) {
	case SF_T_BOOLEAN:
		return json_boolean(sqlite3_column_int(st, col) != 0);
	case SF_T_INT:
		return json_integer(sqlite3_column_int64(st, col));
	case SF_T_DOUBLE: case SF_T_CURRENCY: case SF_T_PERCENT:
		return json_real(sqlite3_column_double(st, col));
	default:
		return json_stringn((const char *)sqlite3_column_text(st, col),
		    (size_t)sqlite3_column_bytes(st, col));
	}
}

/* Salesforce's email check is loose: something@something.something, no spaces. */
static int
valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strchr(s, ' ') != NULL)
		return 0;
	return strchr(at + 1, '.') != NULL && at[1] != '.' && s[strlen(s) - 1] != '.';
}

/* Characters, not bytes: Salesforce lengths count UTF-16 units; counting code points is close. */
static size_t
utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static json_t *
deserialize_error(struct sf_error *err, const struct sf_field *f, const char *what, json_t *v)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY);

	sf_error_set(err, 400, "JSON_PARSER_ERROR", "Cannot deserialize instance of %s from %s "
	    "value %s", what, json_is_string(v) ? "VALUE_STRING" : "JSON", text ? text : "?");
	sf_error_add_field(err, f->name);
	free(text);
	return NULL;
}

static json_t *
field_error(struct sf_error *err, const struct sf_field *f, const char *code, const char *msg)
{
	sf_error_set(err, 400, code, "%s: %s", f->label, msg);
	sf_error_add_field(err, f->name);
	return NULL;
}

static json_t *
normalize_text(const struct sf_field *f, json_t *v, struct sf_error *err)
{
	const char *s;
	char excerpt[64], msg[512];

	if (json_is_number(v) || json_is_boolean(v)) {
		/* Salesforce's deserializer turns scalars into text for text fields. */
		char *text = json_dumps(v, JSON_ENCODE_ANY);
		json_t *out = json_string(text);

		free(text);
		return out;
	}
	if (!json_is_string(v))
		return deserialize_error(err, f, "string", v);
	s = json_string_value(v);
	if (*s == '\0')
		return json_null();	/* "" clears a field */
	if (f->length > 0 && utf8_len(s) > (size_t)f->length) {
		snprintf(excerpt, sizeof(excerpt), "%s", s);
		snprintf(msg, sizeof(msg), "data value too large: %s%s (max length=%d)", excerpt,
		    strlen(s) > 63 ? "..." : "", f->length);
		return field_error(err, f, "STRING_TOO_LONG", msg);
	}
	if (f->type == SF_T_EMAIL && !valid_email(s)) {
		snprintf(msg, sizeof(msg), "invalid email address: %.200s", s);
		return field_error(err, f, "INVALID_EMAIL_ADDRESS", msg);
	}
	if (f->type == SF_T_PICKLIST && f->restricted_picklist) {
		size_t i;

		for (i = 0; i < f->npicklist; i++)
			if (strcmp(f->picklist[i], s) == 0)
				break;
		if (i == f->npicklist) {
			snprintf(msg, sizeof(msg), "bad value for restricted picklist field: %.200s", s);
			return field_error(err, f, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", msg);
		}
	}
	return json_incref(v);
}

json_t *
sf_value_normalize(const struct sf_field *f, json_t *v, struct sf_error *err)
{
	const char *s;
	char buf[SF_DATETIME_LEN + 1], id[19];

	if (v == NULL || json_is_null(v))
		return json_null();
	switch (f->type) {
	case SF_T_BOOLEAN:
		if (json_is_boolean(v))
			return json_incref(v);
		if (json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0)
			return json_true();
		if (json_is_string(v) && strcasecmp(json_string_value(v), "false") == 0)
			return json_false();
		return deserialize_error(err, f, "boolean", v);
	case SF_T_INT:
		if (json_is_integer(v))
			return json_incref(v);
		if (json_is_real(v))
			return json_integer((json_int_t)json_real_value(v));
		/* Salesforce's deserializer takes numbers sent as strings ("42"), like doubles. */
		if (json_is_string(v)) {
			const char *t = json_string_value(v);
			char *end;
			long long n;

			if (*t == '\0')
				return json_null();
			n = strtoll(t, &end, 10);
			if (*end == '\0' && !isspace((unsigned char)*t))
				return json_integer((json_int_t)n);
		}
		return deserialize_error(err, f, "int", v);
	case SF_T_DOUBLE: case SF_T_CURRENCY: case SF_T_PERCENT:
		if (json_is_number(v))
			return json_real(json_number_value(v));
		if (json_is_string(v) && *json_string_value(v) == '\0')
			return json_null();	/* "" clears, as for every other type */
		if (json_is_string(v)) {
			char *end;
			double d = strtod(json_string_value(v), &end);

			if (*json_string_value(v) != '\0' && *end == '\0')
				return json_real(d);
		}
		return deserialize_error(err, f, "double", v);
	case SF_T_DATE:
		if (json_is_string(v) && *json_string_value(v) == '\0')
			return json_null();
		if (!json_is_string(v) || sf_value_date(json_string_value(v), buf) < 0)
			return deserialize_error(err, f, "date", v);
		return json_string(buf);
	case SF_T_DATETIME:
		if (json_is_string(v) && *json_string_value(v) == '\0')
			return json_null();
		if (!json_is_string(v) || sf_value_datetime(json_string_value(v), buf) < 0)
			return deserialize_error(err, f, "datetime", v);
		return json_string(buf);
	case SF_T_ID: case SF_T_REFERENCE:
		if (!json_is_string(v))
			return deserialize_error(err, f, "reference", v);
		s = json_string_value(v);
		if (*s == '\0')
			return json_null();
		if (sf_id_normalize(s, id) < 0) {
			char msg[256];

			snprintf(msg, sizeof(msg), "id value of incorrect type: %.200s", s);
			return field_error(err, f, "MALFORMED_ID", msg);
		}
		return json_string(id);
	case SF_T_JUNCTIONIDLIST:
		return json_incref(v);
	default:
		return normalize_text(f, v, err);
	}
}

void
sf_value_bind(sqlite3_stmt *st, int idx, json_t *v)
{
	if (v == NULL || json_is_null(v))
		/* NOLINTNEXTLINE(bugprone-branch-clone): arrays and objects bind NULL too (last) */
		sqlite3_bind_null(st, idx);
	else if (json_is_boolean(v))
		sqlite3_bind_int(st, idx, json_is_true(v));
	else if (json_is_integer(v))
		sqlite3_bind_int64(st, idx, json_integer_value(v));
	else if (json_is_real(v))
		sqlite3_bind_double(st, idx, json_real_value(v));
	else if (json_is_string(v))
		sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v),
		    SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}
