/* sf_error.h: a Salesforce REST error as sf-sim answers it: an HTTP status plus one
 * {"message","errorCode","fields"} entry. Built where the failure is detected, rendered once. */
#ifndef SF_ERROR_H
#define SF_ERROR_H

#include <jansson.h>

#define SF_ERROR_MAX_FIELDS 16

struct sf_error {
	int status;			/* HTTP status, e.g. 400 */
	char code[64];			/* errorCode, e.g. "MALFORMED_QUERY" */
	char message[2048];
	char fields[SF_ERROR_MAX_FIELDS][128];
	int nfields;			/* -1: omit "fields" from the body; >= 0: emit the array */
	char dup_id[19];		/* DUPLICATES_DETECTED: the matching record, else "" */
	char dup_object[64];		/* its sObject type */
	int dup_allow_save;		/* the rule only alerts: the header may save anyway */
};

/* Fills err; nfields starts at -1 (no "fields" key). Returns -1 so callers can
 * "return sf_error_set(...)". */
int sf_error_set(struct sf_error *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends a field name to err->fields (turns "fields" on). */
void sf_error_add_field(struct sf_error *err, const char *field);

/* {"message":..,"errorCode":..[,"fields":[..]]}; caller owns the result. */
json_t *sf_error_entry(const struct sf_error *err);
/* The data API body: a one-element JSON array of sf_error_entry. Caller owns the result. */
json_t *sf_error_body(const struct sf_error *err);
/* The sObject Collections per-record shape: uses "statusCode" instead of "errorCode" and always
 * has "fields". Caller owns the result. */
json_t *sf_error_collection_entry(const struct sf_error *err);

#endif
