/* test_salesforce_dx.c: salesforce/, the custom fields and the permission set an admin deploys
 * with `sf project deploy start`, against sf-sim's schema (sim/sf/schema.json) and the code: a
 * field whose type, length, External ID, Unique, case sensitivity or label differs from the
 * schema, a custom field of the schema missing from salesforce/, or an object olsync reads or
 * writes (found in the sources of src/) that the permission set does not cover fails the test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim_proc.h"
#include "xmalloc.h"

#define DX_ROOT		"salesforce/force-app/main/default"
#define VALUE_MAX	256
#define NAMES_MAX	64
#define FILE_MAX	(1024 * 1024)

/* A set of names ("Task", "Task.OutlookMessageId__c"). */
struct names {
	size_t n;
	char v[NAMES_MAX][VALUE_MAX];
};

static void
names_add(struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return;
	assert_true(s->n < NAMES_MAX);
	snprintf(s->v[s->n++], VALUE_MAX, "%s", name);
}

static int
names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return 1;
	return 0;
}

/* The whole file, NUL-terminated. Caller frees. */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = xmalloc(FILE_MAX + 1);
	size_t n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, FILE_MAX, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* The tag reader: enough for the flat Metadata API files of salesforce/ (no attributes on the
 * tags read, no CDATA). Comments are blanked first so a tag quoted in one is not read. */
static void
strip_comments(char *text)
{
	char *p = text, *end;

	while ((p = strstr(p, "<!--")) != NULL) {
		end = strstr(p, "-->");
		end = end ? end + 3 : p + strlen(p);
		memset(p, ' ', (size_t)(end - p));
		p = end;
	}
}

/* The text of the first <tag>...</tag> in [from, to), in out. 0, or -1 when there is none. */
static int
tag_value(const char *from, const char *to, const char *tag, char *out)
{
	char open[64], close[64];
	const char *p, *q;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	for (p = from; (p = strstr(p, open)) != NULL && p < to; p++) {
		p += strlen(open);
		if ((q = strstr(p, close)) == NULL || q > to || q - p >= VALUE_MAX)
			return -1;
		memcpy(out, p, (size_t)(q - p));
		out[q - p] = '\0';
		return 0;
	}
	return -1;
}

/* The next <tag>...</tag> block from *at: its inside in [*from, *to), *at moved past it. */
static int
next_block(const char **at, const char *tag, const char **from, const char **to)
{
	char open[64], close[64];
	const char *p, *q;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((p = strstr(*at, open)) == NULL || (q = strstr(p, close)) == NULL)
		return -1;
	*from = p + strlen(open);
	*to = q;
	*at = q + strlen(close);
	return 0;
}

/* A boolean tag; absent is false, as the Metadata API defaults it. */
static int
tag_true(const char *from, const char *to, const char *tag)
{
	char v[VALUE_MAX];

	return tag_value(from, to, tag, v) == 0 && strcmp(v, "true") == 0;
}

/* Metadata API field type -> the describe type sf-sim (and Salesforce) reports. */
static const char *
describe_type(const char *meta)
{
	static const char *const map[][2] = {
		{ "Text", "string" }, { "DateTime", "datetime" }, { "Date", "date" },
		{ "Checkbox", "boolean" }, { "Number", "double" }, { "Email", "email" },
		{ "Phone", "phone" }, { "Url", "url" }, { "TextArea", "textarea" },
		{ "LongTextArea", "textarea" }, { "Picklist", "picklist" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], meta) == 0)
			return map[i][1];
	return NULL;
}

static json_t *
schema_field(json_t *schema, const char *object, const char *field)
{
	json_t *o, *f;
	size_t i, j;

	json_array_foreach(json_object_get(schema, "objects"), i, o) {
		if (strcmp(json_string_value(json_object_get(o, "name")), object) != 0)
			continue;
		json_array_foreach(json_object_get(o, "fields"), j, f)
			if (strcmp(json_string_value(json_object_get(f, "name")), field) == 0)
				return f;
	}
	return NULL;
}

/* The objects a field in objects/<dir>/ lands on: Task and Event custom fields are defined once,
 * on Activity (Salesforce reference section 6.7). */
static size_t
objects_of(const char *dir, const char *out[2])
{
	if (strcmp(dir, "Activity") == 0) {
		out[0] = "Task";
		out[1] = "Event";
		return 2;
	}
	out[0] = dir;
	return 1;
}

static int
problem(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
problem(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* One <CustomField> of objects/<dir>/fields/<name>.field-meta.xml against the schema: 0, or -1
 * with the first disagreement in why. Each object of `dir` that has the field in the schema
 * must agree; at least one must have it. */
static int
check_field(json_t *schema, const char *dir, const char *name, char *xml, char *why, size_t len)
{
	char full[VALUE_MAX], type[VALUE_MAX], length[VALUE_MAX], label[VALUE_MAX];
	const char *objs[2], *end, *want;
	size_t nobj = objects_of(dir, objs), found = 0;

	strip_comments(xml);
	end = xml + strlen(xml);
	if (strstr(xml, "<CustomField") == NULL)
		return problem(why, len, "%s/%s: not a CustomField", dir, name);
	if (tag_value(xml, end, "fullName", full) == -1 || strcmp(full, name) != 0)
		return problem(why, len, "%s/%s: fullName is not the file's name", dir, name);
	if (tag_value(xml, end, "type", type) == -1 || (want = describe_type(type)) == NULL)
		return problem(why, len, "%s/%s: no type, or one this test does not know", dir,
		    name);
	for (size_t i = 0; i < nobj; i++) {
		json_t *f = schema_field(schema, objs[i], name);
		const char *o = objs[i];

		if (f == NULL)
			continue;
		found++;
		if (strcmp(json_string_value(json_object_get(f, "type")), want) != 0)
			return problem(why, len, "%s.%s: type %s (%s) but sf-sim says %s", o, name,
			    type, want, json_string_value(json_object_get(f, "type")));
		if (tag_value(xml, end, "length", length) == -1)
			length[0] = '\0';
		if (json_object_get(f, "length") != NULL ? length[0] == '\0' ||
		    atoll(length) != json_integer_value(json_object_get(f, "length")) :
		    length[0] != '\0')
			return problem(why, len, "%s.%s: length %s but sf-sim says %lld", o, name,
			    length[0] ? length : "(none)",
			    (long long)json_integer_value(json_object_get(f, "length")));
		if (tag_true(xml, end, "externalId") != json_is_true(json_object_get(f, "externalId")))
			return problem(why, len, "%s.%s: externalId differs from sf-sim", o, name);
		if (tag_true(xml, end, "unique") != json_is_true(json_object_get(f, "unique")))
			return problem(why, len, "%s.%s: unique differs from sf-sim", o, name);
		if (json_object_get(f, "caseSensitive") != NULL &&
		    tag_true(xml, end, "caseSensitive") !=
		    json_is_true(json_object_get(f, "caseSensitive")))
			return problem(why, len, "%s.%s: caseSensitive differs from sf-sim", o, name);
		if (tag_value(xml, end, "label", label) == -1 ||
		    strcmp(label, json_string_value(json_object_get(f, "label"))) != 0)
			return problem(why, len, "%s.%s: label differs from sf-sim", o, name);
	}
	if (found == 0)
		return problem(why, len, "%s/%s: not in sf-sim's schema", dir, name);
	return 0;
}

static json_t *
load_schema(void)
{
	json_error_t jerr;
	json_t *schema = json_load_file(sim_proc_source("sim/sf/schema.json"), 0, &jerr);

	if (schema == NULL)
		fail_msg("schema.json: %s", jerr.text);
	return schema;
}

#define TEXT_FIELD(name, len, ext, uniq, label) \
	"<?xml version=\"1.0\"?>\n<CustomField xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n" \
	"<fullName>" name "</fullName>\n<caseSensitive>false</caseSensitive>\n" \
	"<externalId>" ext "</externalId>\n<label>" label "</label>\n<length>" len "</length>\n" \
	"<type>Text</type>\n<unique>" uniq "</unique>\n</CustomField>\n"

#define NEXT_FIELD(more) \
	"<CustomField><fullName>Next_Meeting_Date__c</fullName><label>Next Meeting Date</label>" \
	more "</CustomField>"

/* The checker itself, on fields written here: it passes the right one and names what is wrong
 * in each wrong one (a checker that cannot fail is no check). */
static void
test_field_checker(void **state)
{
	static const struct {
		const char *dir, *name, *xml, *expect;	/* expect: NULL, or part of the problem */
	} cases[] = {
		{ "Activity", "OutlookMessageId__c", TEXT_FIELD("OutlookMessageId__c", "255", "true",
		    "true", "Outlook Message Id"), NULL },
		{ "Activity", "OutlookMessageId__c", TEXT_FIELD("OutlookMessageId__c", "80", "true",
		    "true", "Outlook Message Id"), "length 80" },
		{ "Activity", "OutlookMessageId__c", TEXT_FIELD("OutlookMessageId__c", "255", "false",
		    "true", "Outlook Message Id"), "externalId" },
		{ "Activity", "OutlookMessageId__c", TEXT_FIELD("OutlookMessageId__c", "255", "true",
		    "false", "Outlook Message Id"), "unique" },
		{ "Activity", "OutlookMessageId__c", TEXT_FIELD("OutlookMessageId__c", "255", "true",
		    "true", "Outlook Msg"), "label" },
		{ "Activity", "OutlookEventId__c", TEXT_FIELD("OutlookMessageId__c", "255", "true",
		    "true", "Outlook Event Id"), "fullName" },
		{ "Activity", "Outlook_Thread__c", TEXT_FIELD("Outlook_Thread__c", "255", "true",
		    "true", "Outlook Thread"), "not in sf-sim's schema" },
		/* On Opportunity in the schema, not on Task or Event. */
		{ "Activity", "Next_Meeting_Date__c", NEXT_FIELD("<type>DateTime</type>"),
		    "not in sf-sim's schema" },
		{ "Opportunity", "Next_Meeting_Date__c", NEXT_FIELD("<type>DateTime</type>"), NULL },
		{ "Opportunity", "Next_Meeting_Date__c", NEXT_FIELD("<type>Date</type>"), "type Date" },
		{ "Opportunity", "Next_Meeting_Date__c",
		    NEXT_FIELD("<length>20</length><type>DateTime</type>"), "length 20" },
		/* A tag in a comment is not read. */
		{ "Opportunity", "Next_Meeting_Date__c", NEXT_FIELD("<!-- <type>DateTime</type> -->"),
		    "no type" },
		{ "Opportunity", "Next_Meeting_Date__c", "<PermissionSet/>", "not a CustomField" },
	};
	json_t *schema = load_schema();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *xml = xstrdup(cases[i].xml), why[512] = "";
		int rc = check_field(schema, cases[i].dir, cases[i].name, xml, why, sizeof(why));

		if (cases[i].expect == NULL && rc != 0)
			fail_msg("case %zu: unexpected problem: %s", i, why);
		if (cases[i].expect != NULL && (rc == 0 || strstr(why, cases[i].expect) == NULL))
			fail_msg("case %zu: expected a problem with '%s', got '%s'", i,
			    cases[i].expect, why);
		free(xml);
	}
	json_decref(schema);
}

/* Every objects/<Object>/fields/<Field>.field-meta.xml of salesforce/; each "Object.Field" it
 * lands on (Activity: Task and Event) goes in `have`. */
static int
check_field_files(json_t *schema, struct names *have, struct names *defined)
{
	char objdir[1024], fdir[1400], path[2048];
	DIR *od, *fd;
	struct dirent *oe, *fe;
	int bad = 0;

	snprintf(objdir, sizeof(objdir), "%s", sim_proc_source(DX_ROOT "/objects"));
	if ((od = opendir(objdir)) == NULL)
		fail_msg("cannot open %s", objdir);
	while ((oe = readdir(od)) != NULL) {
		if (oe->d_name[0] == '.')
			continue;
		snprintf(fdir, sizeof(fdir), "%s/%s/fields", objdir, oe->d_name);
		if ((fd = opendir(fdir)) == NULL)
			continue;
		while ((fe = readdir(fd)) != NULL) {
			const char *suffix = ".field-meta.xml", *objs[2];
			size_t n = strlen(fe->d_name), sl = strlen(suffix), nobj;
			char name[VALUE_MAX], why[512], *xml;

			if (n <= sl || strcmp(fe->d_name + n - sl, suffix) != 0)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(n - sl), fe->d_name);
			snprintf(path, sizeof(path), "%s/%s", fdir, fe->d_name);
			xml = slurp(path);
			if (check_field(schema, oe->d_name, name, xml, why, sizeof(why)) == -1) {
				print_error("salesforce/: %s\n", why);
				bad++;
			}
			free(xml);
			names_add(defined, name);
			nobj = objects_of(oe->d_name, objs);
			for (size_t i = 0; i < nobj; i++) {
				snprintf(path, sizeof(path), "%s.%s", objs[i], name);
				names_add(have, path);
			}
		}
		closedir(fd);
	}
	closedir(od);
	return bad;
}

/* Every field in salesforce/ agrees with sf-sim's schema, and every custom field of the schema
 * (all of them are olsync's) is in salesforce/. */
static void
test_fields_match_schema(void **state)
{
	struct names have = { 0 }, defined = { 0 };
	json_t *schema = load_schema(), *o, *f;
	size_t i, j;
	int bad;

	(void)state;
	bad = check_field_files(schema, &have, &defined);
	assert_true(defined.n >= 3);	/* the reader found the files at all */
	json_array_foreach(json_object_get(schema, "objects"), i, o) {
		json_array_foreach(json_object_get(o, "fields"), j, f) {
			const char *name = json_string_value(json_object_get(f, "name"));
			char key[VALUE_MAX];

			if (strlen(name) < 3 || strcmp(name + strlen(name) - 3, "__c") != 0)
				continue;
			snprintf(key, sizeof(key), "%s.%s",
			    json_string_value(json_object_get(o, "name")), name);
			if (!names_has(&have, key)) {
				print_error("salesforce/: sf-sim's custom field %s is missing\n", key);
				bad++;
			}
		}
	}
	json_decref(schema);
	assert_int_equal(bad, 0);
}

/* The first string literal after each call of one of `calls` in text (the sObject argument of
 * the write calls), and every capitalized name after "FROM " (SOQL; the ledger's SQLite tables
 * are lowercase). */
static void
scan_source(const char *text, struct names *written, struct names *read)
{
	static const char *const calls[] = { "collection_run(", "collection_write(",
	    "collection_for(", "sf_client_collection(", "sf_client_collection_update(" };
	const char *p, *q, *stop;
	char name[VALUE_MAX];
	size_t n;

	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		for (p = text; (p = strstr(p, calls[c])) != NULL; p++) {
			if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
				continue;
			stop = p + strcspn(p, ";{");
			q = p + strcspn(p, "\"");
			if (q >= stop || !isupper((unsigned char)q[1]))
				continue;
			n = strcspn(q + 1, "\"");
			snprintf(name, sizeof(name), "%.*s", (int)n, q + 1);
			names_add(written, name);
		}
	}
	for (p = text; (p = strstr(p, "FROM ")) != NULL; p++) {
		q = p + 5;
		if (!isupper((unsigned char)*q))
			continue;
		for (n = 0; isalnum((unsigned char)q[n]) || q[n] == '_'; n++)
			;
		snprintf(name, sizeof(name), "%.*s", (int)n, q);
		names_add(read, name);
	}
}

/* How the permission set covers an object olsync reads or writes. */
enum cover { BY_OBJECT, BY_USER_PERMISSION, BY_PARENT, BY_SHARING };

static const struct {
	const char *object;
	enum cover how;
	const char *what;	/* the user permission, the parent object */
	int create, edit;	/* BY_OBJECT: what olsync does besides reading */
} coverage[] = {
	{ "Contact", BY_OBJECT, NULL, 0, 0 },
	{ "Lead", BY_OBJECT, NULL, 1, 0 },
	{ "Opportunity", BY_OBJECT, NULL, 0, 1 },
	/* Task and Event have no object permissions: activities are granted by Edit Tasks and
	 * Edit Events, and EmailMessage (Enhanced Email stores it as a Task) and the relation
	 * objects follow their activity. */
	{ "Task", BY_USER_PERMISSION, "EditTask", 0, 0 },
	{ "EmailMessage", BY_USER_PERMISSION, "EditTask", 0, 0 },
	{ "EmailMessageRelation", BY_USER_PERMISSION, "EditTask", 0, 0 },
	{ "Event", BY_USER_PERMISSION, "EditEvent", 0, 0 },
	{ "EventRelation", BY_USER_PERMISSION, "EditEvent", 0, 0 },
	{ "OpportunityContactRole", BY_PARENT, "Opportunity", 0, 0 },
	{ "User", BY_SHARING, NULL, 0, 0 },	/* read only; the org's User sharing */
};

static int
covered(const char *text, const char *object, int writes)
{
	const char *at = text, *from, *to;
	char v[VALUE_MAX];

	for (size_t i = 0; i < sizeof(coverage) / sizeof(coverage[0]); i++) {
		if (strcmp(coverage[i].object, object) != 0)
			continue;
		switch (coverage[i].how) {
		case BY_PARENT:
			return covered(text, coverage[i].what, 0);
		case BY_SHARING:
			return !writes;
		case BY_USER_PERMISSION:
			while (next_block(&at, "userPermissions", &from, &to) == 0)
				if (tag_value(from, to, "name", v) == 0 &&
				    strcmp(v, coverage[i].what) == 0)
					return tag_true(from, to, "enabled");
			return 0;
		case BY_OBJECT:
			while (next_block(&at, "objectPermissions", &from, &to) == 0) {
				if (tag_value(from, to, "object", v) == -1 || strcmp(v, object) != 0)
					continue;
				return tag_true(from, to, "allowRead") &&
				    (!writes || !coverage[i].create || tag_true(from, to,
				    "allowCreate")) &&
				    (!writes || !coverage[i].edit || tag_true(from, to, "allowEdit"));
			}
			return 0;
		}
	}
	print_error("no coverage rule for %s: add one to this test and the permission set\n",
	    object);
	return 0;
}

static void
test_permission_set_covers(void **state)
{
	static const char *const sources[] = { "src/write.c", "src/meeting.c", "src/match.c",
	    "src/lead.c", "src/engine.c" };
	struct names written = { 0 }, read = { 0 }, have = { 0 }, defined = { 0 };
	struct names editable = { 0 };
	char *ps = slurp(sim_proc_source(DX_ROOT
	    "/permissionsets/Olsync_Integration.permissionset-meta.xml"));
	json_t *schema = load_schema();
	const char *at, *from, *to;
	char field[VALUE_MAX], *dot;
	int bad = 0;

	(void)state;
	strip_comments(ps);
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		char *text = slurp(sim_proc_source(sources[i]));

		scan_source(text, &written, &read);
		free(text);
	}
	/* The scanner found what olsync is known to write and read, so it reads the code. */
	assert_true(names_has(&written, "Task") && names_has(&written, "Lead") &&
	    names_has(&written, "Event") && names_has(&written, "EmailMessage"));
	assert_true(names_has(&read, "Contact") && names_has(&read, "OpportunityContactRole"));
	for (size_t i = 0; i < written.n; i++)
		if (!covered(ps, written.v[i], 1)) {
			print_error("the permission set does not let olsync write %s\n",
			    written.v[i]);
			bad++;
		}
	for (size_t i = 0; i < read.n; i++)
		if (!covered(ps, read.v[i], 0)) {
			print_error("the permission set does not let olsync read %s\n", read.v[i]);
			bad++;
		}
	/* Each field permission names a field of the schema; each custom field of salesforce/
	 * is editable on an object that has it. */
	(void)check_field_files(schema, &have, &defined);
	for (at = ps; next_block(&at, "fieldPermissions", &from, &to) == 0;) {
		if (tag_value(from, to, "field", field) == -1 || (dot = strchr(field, '.')) == NULL) {
			print_error("a fieldPermissions without Object.Field\n");
			bad++;
			continue;
		}
		*dot = '\0';
		if (schema_field(schema, field, dot + 1) == NULL) {
			print_error("fieldPermissions %s.%s: no such field in sf-sim\n", field,
			    dot + 1);
			bad++;
		}
		*dot = '.';
		if (tag_true(from, to, "editable") && tag_true(from, to, "readable"))
			names_add(&editable, field);
	}
	for (size_t i = 0; i < defined.n; i++) {
		int ok = 0;

		for (size_t j = 0; j < have.n; j++) {
			const char *f = strchr(have.v[j], '.') + 1;

			if (strcmp(f, defined.v[i]) == 0 && names_has(&editable, have.v[j]))
				ok = 1;
		}
		if (!ok) {
			print_error("no editable fieldPermissions for %s\n", defined.v[i]);
			bad++;
		}
	}
	free(ps);
	json_decref(schema);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_checker),
		cmocka_unit_test(test_fields_match_schema),
		cmocka_unit_test(test_permission_set_covers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
