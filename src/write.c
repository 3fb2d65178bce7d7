/* write.c: the Salesforce writes of logged emails, exactly once and in batches: Tasks upserted on
 * OutlookMessageId__c, EmailMessages found by MessageIdentifier before any is created (in both
 * mode their Enhanced Email Task becomes the Task), their EmailMessageRelations likewise, and
 * Leads (see write.h), packed five collections of 200 to a call. A record that fails fails
 * alone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "isotime.h"
#include "lead.h"
#include "log.h"
#include "normalize.h"
#include "tz.h"
#include "write.h"
#include "xmalloc.h"

/* Salesforce field lengths, in characters (reference section 6). */
#define TASK_SUBJECT_MAX	255
#define TASK_DESCRIPTION_MAX	32000
#define EM_SUBJECT_MAX		3000
#define EM_BODY_MAX		131072
#define EM_NAME_MAX		1000	/* FromAddress, FromName */
#define EM_ADDRESSES_MAX	4000	/* ToAddress, CcAddress */
#define EM_IDENTIFIER_MAX	765	/* MessageIdentifier, ThreadIdentifier */
#define LEAD_DESCRIPTION_MAX	32000
#define NO_SUBJECT		"[No Subject]"	/* Salesforce's own EmailMessage.Name then */
#define LEAD_PREFIX		"00Q"		/* a Lead id's key prefix */
#define USER_PREFIX		"005"

/* What a batch's calls came to: -1 is only for a batch of which no call went through. */
struct run {
	long calls_ok;
	long calls_failed;
	struct remote_failure first;	/* the first call-level failure */
};

/* Where one record's outcome goes: the item's failure (the first one is kept) and, for a
 * record that creates something, where its id goes. */
struct slot {
	struct remote_failure *failure;
	char *id;			/* MATCH_ID_LEN + 1 bytes, or NULL */
};

static void
local_failure(struct remote_failure *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Input we cannot send as is: retrying will not change it, so it is final. */
static void
local_failure(struct remote_failure *f, const char *fmt, ...)
{
	va_list ap;

	if (f->cls != REMOTE_OK)
		return;
	memset(f, 0, sizeof(*f));
	f->cls = REMOTE_FINAL;
	snprintf(f->code, sizeof(f->code), "OLSYNC_INVALID_INPUT");
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

static void
keep_failure(struct remote_failure *dst, const struct remote_failure *src)
{
	if (dst->cls == REMOTE_OK)
		*dst = *src;
}

static int
is_lead_id(const char *id)
{
	return id != NULL && strncmp(id, LEAD_PREFIX, 3) == 0;
}

static int
present(const char *s)
{
	return s != NULL && *s != '\0';
}

/* rec[name] = s cut to max characters at a character boundary; nothing when s is NULL. */
static void
put_text(json_t *rec, const char *name, const char *s, size_t max)
{
	char *cut;

	if (s == NULL)
		return;
	cut = normalize_truncate_utf8(s, max);
	json_object_set_new(rec, name, json_string(cut));
	free(cut);
}

static void
put_id(json_t *rec, const char *name, const char *id)
{
	if (present(id))
		json_object_set_new(rec, name, json_string(id));
}

/* A per-record failure from a collection result: Salesforce's first error, with its fields.
 * status is 400, what the record alone would have been answered. */
static void
record_failure(struct remote_failure *dst, json_t *result, enum remote_class cls)
{
	json_t *e = json_array_get(json_object_get(result, "errors"), 0), *fields, *fv;
	const char *code = json_string_value(json_object_get(e, "statusCode"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	struct remote_failure f;
	size_t len, i;

	if (code == NULL)
		code = json_string_value(json_object_get(e, "errorCode"));
	memset(&f, 0, sizeof(f));
	f.cls = cls == REMOTE_OK ? REMOTE_FINAL : cls;
	f.status = 400;
	snprintf(f.code, sizeof(f.code), "%s", code ? code : "UNKNOWN_ERROR");
	len = (size_t)snprintf(f.message, sizeof(f.message), "%s", msg ? msg : "record refused");
	fields = json_object_get(e, "fields");
	json_array_foreach(fields, i, fv) {
		if (len >= sizeof(f.message) || !json_is_string(fv))
			break;
		len += (size_t)snprintf(f.message + len, sizeof(f.message) - len, "%s%s",
		    i == 0 ? " (fields: " : ", ", json_string_value(fv));
		if (i + 1 == json_array_size(fields) && len < sizeof(f.message))
			len += (size_t)snprintf(f.message + len, sizeof(f.message) - len, ")");
	}
	keep_failure(dst, &f);
}

/* Writes records (any number) as sObject Collections, SF_CLIENT_COLLECTION_MAX to a
 * collection and SF_CLIENT_COMPOSITE_QUERIES collections to a call (sf_client_collections): 1,000
 * records are one API call. (*results)[i] is record i's result, JSON null when its call or its
 * collection failed as a whole, which then is in its slot; (*classes)[i] its class. Each
 * collection counts in run as the call it would be alone. Caller frees both. */
static void
collection_write(struct sf_client *sf, enum sf_collection_op op, const char *sobject,
    const char *ext_field, json_t *records, struct slot *slots, struct run *run,
    json_t **results, enum remote_class **classes)
{
	size_t total = json_array_size(records);
	struct sf_collection cols[SF_CLIENT_COMPOSITE_QUERIES];

	*results = json_array();
	*classes = xcalloc(total ? total : 1, sizeof(**classes));
	for (size_t base = 0; base < total; ) {
		struct remote_failure f;
		size_t ncols = 0, first = base;
		int rc;

		memset(cols, 0, sizeof(cols));
		for (; base < total && ncols < SF_CLIENT_COMPOSITE_QUERIES; ncols++) {
			size_t m = total - base < SF_CLIENT_COLLECTION_MAX ? total - base :
			    SF_CLIENT_COLLECTION_MAX;

			cols[ncols].op = op;
			cols[ncols].sobject = sobject;
			cols[ncols].ext_field = ext_field;
			cols[ncols].records = json_array();
			for (size_t i = 0; i < m; i++)
				json_array_append(cols[ncols].records,
				    json_array_get(records, base + i));
			base += m;
		}
		memset(&f, 0, sizeof(f));
		rc = sf_client_collections(sf, cols, ncols, &f);
		for (size_t c = 0, at = first; c < ncols; c++) {
			size_t m = json_array_size(cols[c].records);
			const struct remote_failure *cf = rc == -1 ? &f : &cols[c].failure;

			if (cf->cls != REMOTE_OK) {
				if (run->calls_failed++ == 0)
					run->first = *cf;
				for (size_t i = 0; i < m; i++) {
					keep_failure(slots[at + i].failure, cf);
					json_array_append_new(*results, json_null());
				}
				log_warnx("write call_failed object=%s records=%zu code=%s status=%d",
				    sobject, m, cf->code, cf->status);
			} else {
				run->calls_ok++;
				for (size_t i = 0; i < m; i++) {
					json_array_append(*results,
					    json_array_get(cols[c].results, i));
					(*classes)[at + i] = cols[c].classes[i];
				}
			}
			at += m;
			json_decref(cols[c].records);
			json_decref(cols[c].results);
			free(cols[c].classes);
		}
	}
}

/* collection_write, each outcome in its slot: the new record's id, or the failure. Returns
 * how many records landed. */
static size_t
collection_run(struct sf_client *sf, enum sf_collection_op op, const char *sobject,
    const char *ext_field, json_t *records, struct slot *slots, struct run *run)
{
	json_t *results, *r;
	enum remote_class *classes;
	size_t landed = 0, i;

	collection_write(sf, op, sobject, ext_field, records, slots, run, &results, &classes);
	json_array_foreach(results, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));

		if (json_is_null(r))
			continue;
		if (json_is_true(json_object_get(r, "success")) && id != NULL) {
			if (slots[i].id != NULL)
				snprintf(slots[i].id, MATCH_ID_LEN + 1, "%s", id);
			landed++;
		} else
			record_failure(slots[i].failure, r, classes[i]);
	}
	json_decref(results);
	free(classes);
	return landed;
}

/* "YYYY-MM-DD" of when in zone z (NULL: UTC). ActivityDate is the day in activity_timezone;
 * lib/tz reads the zone's TZif file itself, because localtime_r would need TZ set in the
 * environment, which is not thread-safe. */
static void
activity_date(const struct tz *z, time_t when, char out[11])
{
	long long t = (long long)when;
	int y, m, d;

	if (z != NULL)
		t += tz_offset_at(z, t);
	isotime_civil(isotime_floor_div(t, 86400), &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static json_t *
task_record(const struct write_activity *a, const struct tz *z)
{
	json_t *rec = json_object();
	char *subject, date[11];

	subject = xasprintf("Email: %s", present(a->subject) ? a->subject : NO_SUBJECT);
	activity_date(z, a->when, date);
	json_object_set_new(rec, "OutlookMessageId__c", json_string(a->ext_id));
	put_text(rec, "Subject", subject, TASK_SUBJECT_MAX);
	put_id(rec, "WhoId", a->who_id);
	/* "If the WhoId refers to a lead, then the WhatId field must be empty." */
	if (!is_lead_id(a->who_id))
		put_id(rec, "WhatId", a->what_id);
	json_object_set_new(rec, "Status", json_string("Completed"));
	json_object_set_new(rec, "Priority", json_string("Normal"));
	json_object_set_new(rec, "TaskSubtype", json_string("Email"));
	json_object_set_new(rec, "Type", json_string("Email"));
	put_text(rec, "Description", a->body_preview ? a->body_preview : "",
	    TASK_DESCRIPTION_MAX);
	json_object_set_new(rec, "ActivityDate", json_string(date));
	put_id(rec, "OwnerId", a->owner_id);
	free(subject);
	return rec;
}

/* TaskSubtype may be set on create only, and an upsert that finds the Task is an update: such a
 * record is refused as a whole. Sent again without TaskSubtype it updates the Task in place. */
static int
subtype_refused(json_t *result)
{
	json_t *e, *fv;
	size_t i, j;

	json_array_foreach(json_object_get(result, "errors"), i, e) {
		const char *code = json_string_value(json_object_get(e, "statusCode"));

		if (code == NULL || strcmp(code, "INVALID_FIELD_FOR_INSERT_UPDATE") != 0)
			continue;
		json_array_foreach(json_object_get(e, "fields"), j, fv)
			if (json_is_string(fv) && strcmp(json_string_value(fv), "TaskSubtype") == 0)
				return 1;
	}
	return 0;
}

/* Task mode: one upsert of every email, five collections of 200 to a call; emails whose Task
 * existed take one more. */
static void
write_tasks(struct sf_client *sf, const struct config *cfg, struct write_activity *items,
    size_t n, struct run *run)
{
	struct tz *z = NULL;
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx)), landed = 0, m = 0, nretry = 0;
	struct slot *slots = xcalloc(n ? n : 1, sizeof(*slots));
	struct slot *rslots = xcalloc(n ? n : 1, sizeof(*rslots));
	json_t *recs = json_array(), *retry = json_array(), *results = NULL, *r;
	enum remote_class *classes = NULL;
	size_t i;

	/* Read afresh per batch (not tz_load's cache): a tzdata update reaches a daemon that runs
	 * for months without a restart. */
	if (cfg->activity_timezone != NULL && strcmp(cfg->activity_timezone, "UTC") != 0 &&
	    (z = tz_open(cfg->activity_timezone, NULL, 0)) == NULL)
		log_warnx("write timezone_unreadable tz=%s fallback=UTC", cfg->activity_timezone);
	for (i = 0; i < n; i++) {
		struct write_activity *a = &items[i];

		if (!present(a->ext_id)) {
			local_failure(&a->failure, "no external id for the Task");
			continue;
		}
		idx[m] = i;
		slots[m].failure = &a->failure;
		slots[m].id = a->task_id;
		json_array_append_new(recs, task_record(a, z));
		m++;
	}
	if (m > 0)
		collection_write(sf, SF_COLLECTION_UPSERT, "Task", "OutlookMessageId__c", recs,
		    slots, run, &results, &classes);
	json_array_foreach(results, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));

		if (json_is_null(r))
			continue;
		if (json_is_true(json_object_get(r, "success")) && id != NULL) {
			snprintf(items[idx[i]].task_id, MATCH_ID_LEN + 1, "%s", id);
			landed++;
		} else if (subtype_refused(r)) {
			json_t *rec = json_array_get(recs, i);

			json_object_del(rec, "TaskSubtype");
			json_array_append(retry, rec);
			rslots[nretry++] = slots[i];
		} else
			record_failure(&items[idx[i]].failure, r, classes[i]);
	}
	if (nretry > 0)
		landed += collection_run(sf, SF_COLLECTION_UPSERT, "Task", "OutlookMessageId__c",
		    retry, rslots, run);
	log_info("write tasks emails=%zu landed=%zu existed=%zu", n, landed, nretry);
	json_decref(results);
	free(classes);
	json_decref(recs);
	json_decref(retry);
	tz_free(z);
	free(idx);
	free(slots);
	free(rslots);
}

/* The identifiers an EmailMessage is found by; cut where Salesforce cuts the field, so the
 * value looked up is the value stored. */
static char *
message_identifier(const struct write_activity *a)
{
	return normalize_truncate_utf8(a->internet_message_id, EM_IDENTIFIER_MAX);
}

static json_t *
email_message_record(const struct write_activity *a, const char *mid)
{
	json_t *rec = json_object();
	char when[64];

	isotime_format((long long)a->when, 0, 0, "Z", when, sizeof(when));
	json_object_set_new(rec, "Status", json_string("3"));
	json_object_set_new(rec, "Incoming", json_boolean(a->inbound));
	put_text(rec, "FromAddress", a->from_address, EM_NAME_MAX);
	put_text(rec, "FromName", a->from_name, EM_NAME_MAX);
	put_text(rec, "ToAddress", a->to_addresses, EM_ADDRESSES_MAX);
	put_text(rec, "CcAddress", a->cc_addresses, EM_ADDRESSES_MAX);
	if (present(a->subject))
		put_text(rec, "Subject", a->subject, EM_SUBJECT_MAX);
	put_text(rec, "TextBody", a->body_preview, EM_BODY_MAX);
	json_object_set_new(rec, "MessageDate", json_string(when));
	json_object_set_new(rec, "MessageIdentifier", json_string(mid));
	if (present(a->conversation_id))
		put_text(rec, "ThreadIdentifier", a->conversation_id, EM_IDENTIFIER_MAX);
	if (!is_lead_id(a->who_id))
		put_id(rec, "RelatedToId", a->what_id);
	return rec;
}

/* One wanted EmailMessageRelation. */
struct relation {
	size_t item;
	const char *relation_id;
	const char *type;
};

static void
add_relation(struct relation **v, size_t *n, size_t *cap, size_t item, const char *id,
    const char *type)
{
	if (!present(id))
		return;
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].item == item && strcmp((*v)[i].relation_id, id) == 0)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[*n].item = item;
	(*v)[*n].relation_id = id;
	(*v)[*n].type = type;
	(*n)++;
}

/* The relations of each EmailMessage: the matched participants (From of an inbound email, To
 * and Cc of an outbound one) and the rep's User on the other side. Those already in Salesforce
 * (an earlier run created them) are skipped. */
static void
write_relations(struct sf_client *sf, struct write_activity *items, size_t n,
    const int *existed, struct run *run)
{
	struct relation *want = NULL;
	size_t nwant = 0, cap = 0, nlook = 0, landed = 0;
	const char **look = xcalloc(n ? n : 1, sizeof(*look));
	json_t *have = NULL, *recs = json_array(), *r;
	struct slot *slots = NULL;
	struct remote_failure f;
	size_t k;

	for (size_t i = 0; i < n; i++) {
		struct write_activity *a = &items[i];
		const char *theirs = a->inbound ? "FromAddress" : "ToAddress";
		const char *ours = a->inbound ? "ToAddress" : "FromAddress";

		if (a->email_message_id[0] == '\0' || a->failure.cls != REMOTE_OK)
			continue;
		for (size_t j = 0; j < a->nrelations; j++)
			add_relation(&want, &nwant, &cap, i, a->relation_ids[j], theirs);
		if (a->owner_id != NULL && strncmp(a->owner_id, USER_PREFIX, 3) == 0)
			add_relation(&want, &nwant, &cap, i, a->owner_id, ours);
		if (existed[i])
			look[nlook++] = a->email_message_id;
	}
	if (nwant == 0)
		goto out;
	/* A new EmailMessage has no relations yet: only the ones found existing are looked up. */
	if (nlook > 0 && match_query_in(sf, "SELECT Id, EmailMessageId, RelationId FROM "
	    "EmailMessageRelation WHERE EmailMessageId IN ", "", look, nlook, &have, &f) == -1) {
		if (run->calls_failed++ == 0)
			run->first = f;
		for (size_t i = 0; i < nwant; i++)
			keep_failure(&items[want[i].item].failure, &f);
		goto out;
	}
	if (nlook > 0)
		run->calls_ok++;
	slots = xcalloc(nwant, sizeof(*slots));
	k = 0;
	for (size_t i = 0; i < nwant; i++) {
		struct write_activity *a = &items[want[i].item];
		size_t j;
		int found = 0;

		json_array_foreach(have, j, r) {
			const char *em = json_string_value(json_object_get(r, "EmailMessageId"));
			const char *rid = json_string_value(json_object_get(r, "RelationId"));

			if (em != NULL && rid != NULL && strcmp(em, a->email_message_id) == 0 &&
			    strcmp(rid, want[i].relation_id) == 0)
				found = 1;
		}
		if (found)
			continue;
		json_array_append_new(recs, json_pack("{s:s,s:s,s:s}", "EmailMessageId",
		    a->email_message_id, "RelationId", want[i].relation_id, "RelationType",
		    want[i].type));
		slots[k].failure = &a->failure;
		slots[k].id = NULL;
		k++;
	}
	if (k > 0)
		landed = collection_run(sf, SF_COLLECTION_CREATE, "EmailMessageRelation", NULL,
		    recs, slots, run);
	log_info("write relations wanted=%zu created=%zu existed=%zu", nwant,
	    landed, nwant - k);
out:
	json_decref(have);
	json_decref(recs);
	free(slots);
	free(want);
	free(look);
}

/* EmailMessage mode: found by MessageIdentifier, created only when missing. existed[i] (n
 * entries, the caller's) tells which were found; activity[i] (NULL: not wanted) gets a found
 * one's ActivityId, its Enhanced Email Task, "" when it has none. */
static void
write_email_messages(struct sf_client *sf, struct write_activity *items, size_t n,
    int *existed, char (*activity)[MATCH_ID_LEN + 1], struct run *run)
{
	char **mid = xcalloc(n ? n : 1, sizeof(*mid));
	const char **look = xcalloc(n ? n : 1, sizeof(*look));
	size_t *dup = xcalloc(n ? n : 1, sizeof(*dup));
	struct slot *slots = xcalloc(n ? n : 1, sizeof(*slots));
	json_t *have = NULL, *recs = json_array(), *r;
	size_t nlook = 0, k = 0, landed = 0, j;
	struct remote_failure f;

	for (size_t i = 0; i < n; i++) {
		if (!present(items[i].internet_message_id)) {
			local_failure(&items[i].failure, "no internetMessageId for the EmailMessage");
			continue;
		}
		mid[i] = message_identifier(&items[i]);
		look[nlook++] = mid[i];
	}
	if (nlook == 0)
		goto out;
	if (match_query_in(sf, "SELECT Id, MessageIdentifier, ActivityId FROM EmailMessage WHERE "
	    "MessageIdentifier IN ", "", look, nlook, &have, &f) == -1) {
		if (run->calls_failed++ == 0)
			run->first = f;
		for (size_t i = 0; i < n; i++)
			if (mid[i] != NULL)
				keep_failure(&items[i].failure, &f);
		goto out;
	}
	run->calls_ok++;
	/* SOQL compares text case-insensitively, so the lookup does too; several records with
	 * one identifier (another tool logged it too): the smallest Id. */
	json_array_foreach(have, j, r) {
		const char *id = json_string_value(json_object_get(r, "Id"));
		const char *m = json_string_value(json_object_get(r, "MessageIdentifier"));
		const char *act = json_string_value(json_object_get(r, "ActivityId"));

		for (size_t i = 0; id != NULL && m != NULL && i < n; i++)
			if (mid[i] != NULL && strcasecmp(mid[i], m) == 0 &&
			    (!existed[i] || strcmp(id, items[i].email_message_id) < 0)) {
				snprintf(items[i].email_message_id, MATCH_ID_LEN + 1, "%s", id);
				if (activity != NULL)
					snprintf(activity[i], MATCH_ID_LEN + 1, "%s",
					    act ? act : "");
				existed[i] = 1;
			}
	}
	for (size_t i = 0; i < n; i++) {
		if (mid[i] == NULL || existed[i])
			continue;
		/* The same email twice in one batch is created once. */
		dup[i] = i;
		for (size_t e = 0; e < i && dup[i] == i; e++)
			if (mid[e] != NULL && !existed[e] && strcasecmp(mid[e], mid[i]) == 0)
				dup[i] = e;
		if (dup[i] != i)
			continue;
		json_array_append_new(recs, email_message_record(&items[i], mid[i]));
		slots[k].failure = &items[i].failure;
		slots[k].id = items[i].email_message_id;
		k++;
	}
	if (k > 0)
		landed = collection_run(sf, SF_COLLECTION_CREATE, "EmailMessage", NULL, recs,
		    slots, run);
	for (size_t i = 0; i < n; i++)
		if (mid[i] != NULL && !existed[i] && dup[i] != i) {
			memcpy(items[i].email_message_id, items[dup[i]].email_message_id,
			    MATCH_ID_LEN + 1);
			keep_failure(&items[i].failure, &items[dup[i]].failure);
		}
	log_info("write email_messages emails=%zu created=%zu existed=%zu", nlook, landed,
	    nlook - k);
	write_relations(sf, items, n, existed, run);
out:
	for (size_t i = 0; i < n; i++)
		free(mid[i]);
	json_decref(have);
	json_decref(recs);
	free(mid);
	free(look);
	free(dup);
	free(slots);
}

/* One lookup of the batch; a failed one fails the items that needed it (want[i] set). */
static int
lookup(struct sf_client *sf, const char *head, const char **values, size_t nvalues,
    struct write_activity *items, const int *want, size_t n, json_t **records,
    struct run *run)
{
	struct remote_failure f;

	*records = NULL;
	if (nvalues == 0)
		return 0;
	if (match_query_in(sf, head, "", values, nvalues, records, &f) == -1) {
		if (run->calls_failed++ == 0)
			run->first = f;
		for (size_t i = 0; i < n; i++)
			if (want[i])
				keep_failure(&items[i].failure, &f);
		log_warnx("write lookup_failed code=%s status=%d", f.code, f.status);
		return -1;
	}
	run->calls_ok++;
	return 0;
}

/* The fields olsync gives its Task, set on Salesforce's Enhanced Email Task: TaskSubtype is
 * create-only (and already Email), and a Lead WhoId must not keep a WhatId. */
static json_t *
stamp_record(const struct write_activity *a, const struct tz *z, const char *task_id)
{
	json_t *rec = task_record(a, z);

	json_object_del(rec, "TaskSubtype");
	json_object_set_new(rec, "Id", json_string(task_id));
	if (is_lead_id(a->who_id))
		json_object_set_new(rec, "WhatId", json_null());
	return rec;
}

/* Both: the EmailMessage first. With Enhanced Email Salesforce stores it as a Task too
 * (EmailMessage.ActivityId) and that Task becomes the email's activity, stamped with
 * OutlookMessageId__c and olsync's fields: one activity per email, not two. Without Enhanced
 * Email there is no ActivityId and olsync upserts its own Task as in task mode. A Task that
 * already carries the external id (stamped by an earlier pass, or olsync's own Task from task
 * mode) is the activity as it is: nothing is sent, so a second pass changes nothing, and the
 * unique external id is never offered to a second Task. */
static void
write_both(struct sf_client *sf, const struct config *cfg, struct write_activity *items,
    size_t n, struct run *run)
{
	size_t cnt = n ? n : 1, nlook = 0, k = 0, nown = 0, stamped = 0, kept = 0, extra = 0;
	int *existed = xcalloc(cnt, sizeof(*existed)), *want = xcalloc(cnt, sizeof(*want));
	char (*act)[MATCH_ID_LEN + 1] = xcalloc(cnt, sizeof(*act));
	const char **look = xcalloc(cnt, sizeof(*look));
	size_t *sent = xcalloc(cnt, sizeof(*sent)), *own_idx = xcalloc(cnt, sizeof(*own_idx));
	size_t *same = xcalloc(cnt, sizeof(*same));
	struct write_activity *own = xcalloc(cnt, sizeof(*own));
	struct slot *slots = xcalloc(cnt, sizeof(*slots));
	json_t *ems = NULL, *tasks = NULL, *recs = json_array(), *r;
	struct tz *z = NULL;
	size_t j;

	write_email_messages(sf, items, n, existed, act, run);
	/* The ActivityId of an EmailMessage created just now is Salesforce's to assign. */
	for (size_t i = 0; i < n; i++) {
		want[i] = items[i].email_message_id[0] != '\0' &&
		    items[i].failure.cls == REMOTE_OK && !existed[i];
		if (want[i])
			look[nlook++] = items[i].email_message_id;
	}
	if (lookup(sf, "SELECT Id, ActivityId FROM EmailMessage WHERE Id IN ", look, nlook,
	    items, want, n, &ems, run) == -1)
		goto out;
	json_array_foreach(ems, j, r) {
		const char *id = json_string_value(json_object_get(r, "Id"));
		const char *a = json_string_value(json_object_get(r, "ActivityId"));

		for (size_t i = 0; id != NULL && a != NULL && i < n; i++)
			if (want[i] && strcmp(items[i].email_message_id, id) == 0)
				snprintf(act[i], MATCH_ID_LEN + 1, "%s", a);
	}
	nlook = 0;
	for (size_t i = 0; i < n; i++) {
		want[i] = 0;
		if (items[i].email_message_id[0] == '\0' || items[i].failure.cls != REMOTE_OK)
			continue;
		if (!present(items[i].ext_id)) {
			local_failure(&items[i].failure, "no external id for the Task");
			continue;
		}
		want[i] = 1;
		look[nlook++] = items[i].ext_id;
	}
	if (lookup(sf, "SELECT Id, OutlookMessageId__c FROM Task WHERE OutlookMessageId__c IN ",
	    look, nlook, items, want, n, &tasks, run) == -1)
		goto out;
	if (cfg->activity_timezone != NULL && strcmp(cfg->activity_timezone, "UTC") != 0 &&
	    (z = tz_open(cfg->activity_timezone, NULL, 0)) == NULL)
		log_warnx("write timezone_unreadable tz=%s fallback=UTC", cfg->activity_timezone);
	for (size_t i = 0; i < n; i++) {
		struct write_activity *a = &items[i];

		same[i] = i;
		if (!want[i])
			continue;
		json_array_foreach(tasks, j, r) {
			const char *id = json_string_value(json_object_get(r, "Id"));
			const char *ext = json_string_value(json_object_get(r, "OutlookMessageId__c"));

			if (id != NULL && ext != NULL && strcasecmp(ext, a->ext_id) == 0)
				snprintf(a->task_id, MATCH_ID_LEN + 1, "%s", id);
		}
		if (a->task_id[0] != '\0') {
			kept++;
			if (act[i][0] != '\0' && strcmp(act[i], a->task_id) != 0) {
				/* olsync's Task from task mode, before this EmailMessage existed:
				 * it stays the activity; Salesforce's own Task is left alone (deleting
				 * it would delete the EmailMessage). */
				extra++;
				log_warnx("write both_task_kept task=%s email_message=%s activity=%s",
				    a->task_id, a->email_message_id, act[i]);
			}
		} else if (act[i][0] != '\0') {
			/* The same email twice in the batch: one update. */
			for (size_t e = 0; e < k && same[i] == i; e++)
				if (strcmp(act[sent[e]], act[i]) == 0)
					same[i] = sent[e];
			if (same[i] != i)
				continue;
			json_array_append_new(recs, stamp_record(a, z, act[i]));
			slots[k].failure = &a->failure;
			slots[k].id = a->task_id;
			sent[k++] = i;
		} else {
			own[nown] = *a;
			own_idx[nown++] = i;
		}
	}
	if (k > 0)
		stamped = collection_run(sf, SF_COLLECTION_UPDATE, "Task", NULL, recs, slots,
		    run);
	for (size_t i = 0; i < n; i++)
		if (same[i] != i) {
			memcpy(items[i].task_id, items[same[i]].task_id, MATCH_ID_LEN + 1);
			keep_failure(&items[i].failure, &items[same[i]].failure);
		}
	if (nown > 0) {
		write_tasks(sf, cfg, own, nown, run);
		for (size_t o = 0; o < nown; o++) {
			memcpy(items[own_idx[o]].task_id, own[o].task_id, MATCH_ID_LEN + 1);
			keep_failure(&items[own_idx[o]].failure, &own[o].failure);
		}
	}
	log_info("write both_tasks emails=%zu stamped=%zu already=%zu own=%zu extra=%zu",
	    nlook, stamped, kept, nown, extra);
out:
	tz_free(z);
	json_decref(ems);
	json_decref(tasks);
	json_decref(recs);
	free(existed);
	free(want);
	free(act);
	free(look);
	free(sent);
	free(own_idx);
	free(same);
	free(own);
	free(slots);
}

/* -1 when not a single call of the batch went through: the service is down, or refuses us. */
static int
run_result(const struct run *run, struct remote_failure *f)
{
	if (run->calls_ok == 0 && run->calls_failed > 0) {
		*f = run->first;
		return -1;
	}
	return 0;
}

int
write_activities(struct sf_client *sf, const struct config *cfg,
    struct write_activity *items, size_t n, struct remote_failure *f)
{
	struct run run;

	memset(&run, 0, sizeof(run));
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		memset(&items[i].failure, 0, sizeof(items[i].failure));
		items[i].task_id[0] = '\0';
		items[i].email_message_id[0] = '\0';
	}
	if (n == 0)
		return 0;
	if (cfg->mode == CONFIG_MODE_TASK)
		write_tasks(sf, cfg, items, n, &run);
	else if (cfg->mode == CONFIG_MODE_EMAILMESSAGE) {
		int *existed = xcalloc(n, sizeof(*existed));

		write_email_messages(sf, items, n, existed, NULL, &run);
		free(existed);
	} else
		write_both(sf, cfg, items, n, &run);
	return run_result(&run, f);
}

int
write_leads(struct sf_client *sf, const struct config *cfg, struct write_lead *leads,
    size_t n, struct remote_failure *f)
{
	json_t *recs = json_array();
	struct slot *slots = xcalloc(n ? n : 1, sizeof(*slots));
	struct run run;
	size_t k = 0, landed = 0;

	memset(&run, 0, sizeof(run));
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		struct write_lead *l = &leads[i];
		char *first = NULL, *last = NULL, *company, *desc;
		json_t *rec;

		memset(&l->failure, 0, sizeof(l->failure));
		l->lead_id[0] = '\0';
		if (!present(l->address) || strlen(l->address) > LEAD_EMAIL_MAX) {
			/* Lead.Email holds 80 characters; a longer address cannot be a Lead. */
			local_failure(&l->failure, "address missing or longer than %d characters",
			    LEAD_EMAIL_MAX);
			continue;
		}
		lead_name_parse(l->display_name, l->address, &first, &last);
		company = lead_company(l->address, cfg->free_mail_company);
		desc = xasprintf("%s: %s", present(l->subject) ? l->subject : NO_SUBJECT,
		    l->body_preview ? l->body_preview : "");
		rec = json_object();
		json_object_set_new(rec, "Email", json_string(l->address));
		if (first != NULL)
			json_object_set_new(rec, "FirstName", json_string(first));
		json_object_set_new(rec, "LastName", json_string(last));
		json_object_set_new(rec, "Company", json_string(company));
		json_object_set_new(rec, "LeadSource", json_string("Email"));
		put_text(rec, "Description", desc, LEAD_DESCRIPTION_MAX);
		put_id(rec, "OwnerId", l->owner_id);
		json_array_append_new(recs, rec);
		slots[k].failure = &l->failure;
		slots[k].id = l->lead_id;
		k++;
		free(first);
		free(last);
		free(company);
		free(desc);
	}
	if (k > 0)
		landed = collection_run(sf, SF_COLLECTION_CREATE, "Lead", NULL, recs, slots, &run);
	log_info("write leads senders=%zu created=%zu", n, landed);
	json_decref(recs);
	free(slots);
	return run_result(&run, f);
}
