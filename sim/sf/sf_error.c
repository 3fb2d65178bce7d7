/* sf_error.c: building and rendering Salesforce error bodies (see sf_error.h). */
#include "sf_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
sf_error_set(struct sf_error *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->nfields = -1;
	err->dup_id[0] = '\0';
	err->dup_object[0] = '\0';
	err->dup_allow_save = 0;
	return -1;
}

void
sf_error_add_field(struct sf_error *err, const char *field)
{
	if (err->nfields < 0)
		err->nfields = 0;
	if (err->nfields >= SF_ERROR_MAX_FIELDS)
		return;
	snprintf(err->fields[err->nfields], sizeof(err->fields[0]), "%s", field);
	err->nfields++;
}

static json_t *
fields_array(const struct sf_error *err)
{
	json_t *a = json_array();

	for (int i = 0; i < err->nfields; i++)
		json_array_append_new(a, json_string(err->fields[i]));
	return a;
}

/* The duplicateResult Salesforce attaches to DUPLICATES_DETECTED (reference section 7). */
static json_t *
duplicate_result(const struct sf_error *err)
{
	char rule[128], match[128];

	snprintf(rule, sizeof(rule), "Standard_%s_Duplicate_Rule", err->dup_object);
	snprintf(match, sizeof(match), "Standard_%s_Match_Rule_v1_1", err->dup_object);
	return json_pack("{s:b,s:s,s:s,s:s,s:[{s:s,s:[],s:s,s:[{s:[],s:[],s:f,s:{s:{s:s},s:s}}],"
	    "s:s,s:i,s:b}]}",
	    "allowSave", err->dup_allow_save, "duplicateRule", rule, "duplicateRuleEntityType", err->dup_object,
	    "errorMessage", err->message, "matchResults",
	    "entityType", err->dup_object, "errors", "matchEngine", "FuzzyMatchEngine",
	    "matchRecords", "additionalInformation", "fieldDiffs", "matchConfidence", 100.0,
	    "record", "attributes", "type", err->dup_object, "Id", err->dup_id,
	    "rule", match, "size", 1, "success", 1);
}

json_t *
sf_error_entry(const struct sf_error *err)
{
	json_t *o = json_object();

	if (err->dup_id[0] != '\0')
		json_object_set_new(o, "duplicateResult", duplicate_result(err));

	json_object_set_new(o, "message", json_string(err->message));
	json_object_set_new(o, "errorCode", json_string(err->code));
	if (err->nfields >= 0)
		json_object_set_new(o, "fields", fields_array(err));
	return o;
}

json_t *
sf_error_body(const struct sf_error *err)
{
	json_t *a = json_array();

	json_array_append_new(a, sf_error_entry(err));
	return a;
}

json_t *
sf_error_collection_entry(const struct sf_error *err)
{
	json_t *o = json_object();

	json_object_set_new(o, "statusCode", json_string(err->code));
	json_object_set_new(o, "message", json_string(err->message));
	json_object_set_new(o, "fields", fields_array(err));
	return o;
}
