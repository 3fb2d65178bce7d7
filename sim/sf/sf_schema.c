/* sf_schema.c: loading the sObject schema from JSON (see sf_schema.h, docs/sf-sim.md). */
#include "sf_schema.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "xmalloc.h"

static const struct {
	const char *name;
	enum sf_ftype type;
} ftypes[] = {
	{ "id", SF_T_ID }, { "string", SF_T_STRING }, { "textarea", SF_T_TEXTAREA },
	{ "email", SF_T_EMAIL }, { "phone", SF_T_PHONE }, { "url", SF_T_URL },
	{ "picklist", SF_T_PICKLIST }, { "multipicklist", SF_T_MULTIPICKLIST },
	{ "combobox", SF_T_COMBOBOX }, { "reference", SF_T_REFERENCE },
	{ "boolean", SF_T_BOOLEAN }, { "date", SF_T_DATE }, { "datetime", SF_T_DATETIME },
	{ "double", SF_T_DOUBLE }, { "int", SF_T_INT }, { "currency", SF_T_CURRENCY },
	{ "percent", SF_T_PERCENT }, { "junctionidlist", SF_T_JUNCTIONIDLIST },
};

const char *
sf_ftype_name(enum sf_ftype type)
{
	for (size_t i = 0; i < sizeof(ftypes) / sizeof(ftypes[0]); i++)
		if (ftypes[i].type == type)
			return ftypes[i].name;
	return "anyType";
}

int
sf_ftype_is_text(enum sf_ftype type)
{
	switch (type) {
	case SF_T_STRING: case SF_T_TEXTAREA: case SF_T_EMAIL: case SF_T_PHONE: case SF_T_URL:
	case SF_T_PICKLIST: case SF_T_MULTIPICKLIST: case SF_T_COMBOBOX:
		return 1;
	default:
		return 0;
	}
}

static int
get_bool(json_t *o, const char *key, int dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static char *
get_strdup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? xstrdup(s) : NULL;
}

static char **
get_strings(json_t *o, const char *key, size_t *n)
{
	json_t *a = json_object_get(o, key);
	char **v;
	size_t i;
	json_t *item;

	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return NULL;
	v = xcalloc(json_array_size(a), sizeof(*v));
	json_array_foreach(a, i, item) {
		if (json_is_string(item))
			v[(*n)++] = xstrdup(json_string_value(item));
	}
	return v;
}

static void
add_system_field(struct sf_object *obj, const char *name, enum sf_ftype type, const char *ref)
{
	struct sf_field *f = &obj->fields[obj->nfields++];

	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->label = xstrdup(name);
	f->type = type;
	f->filterable = 1;
	f->sortable = 1;
	f->defaulted_on_create = 1;
	if (type == SF_T_ID)
		f->length = 18;
	if (ref != NULL) {
		f->reference_to = xcalloc(1, sizeof(char *));
		f->reference_to[0] = xstrdup(ref);
		f->nreference_to = 1;
		/* CreatedById -> CreatedBy */
		f->relationship_name = xstrndup(name, strlen(name) - 2);
	}
}

static int
load_field(struct sf_field *f, json_t *jf, const char *objname, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(jf, "name"));
	const char *type = json_string_value(json_object_get(jf, "type"));
	size_t i;

	memset(f, 0, sizeof(*f));
	if (name == NULL || type == NULL)
		return err_set(err, errlen,
		    "object %s: every field needs \"name\" and \"type\"", objname);
	f->name = xstrdup(name);
	for (i = 0; i < sizeof(ftypes) / sizeof(ftypes[0]); i++)
		if (strcmp(type, ftypes[i].name) == 0)
			break;
	if (i == sizeof(ftypes) / sizeof(ftypes[0]))
		return err_set(err, errlen,
		    "object %s field %s: unknown type \"%s\"", objname, name, type);
	f->type = ftypes[i].type;
	f->length = (int)json_integer_value(json_object_get(jf, "length"));
	if (sf_ftype_is_text(f->type) && f->length <= 0)
		f->length = 255;
	f->calculated = get_bool(jf, "calculated", 0);
	f->nillable = get_bool(jf, "nillable", f->type != SF_T_BOOLEAN);
	f->createable = get_bool(jf, "createable", !f->calculated);
	f->updateable = get_bool(jf, "updateable", !f->calculated);
	f->external_id = get_bool(jf, "externalId", 0);
	f->unique = get_bool(jf, "unique", 0);
	f->case_sensitive = get_bool(jf, "caseSensitive", 0);
	f->id_lookup = get_bool(jf, "idLookup", f->external_id);
	f->filterable = get_bool(jf, "filterable", f->type != SF_T_TEXTAREA || f->length <= 255);
	f->sortable = get_bool(jf, "sortable", f->filterable);
	f->restricted_picklist = get_bool(jf, "restrictedPicklist", 0);
	f->picklist = get_strings(jf, "picklistValues", &f->npicklist);
	f->default_value = get_strdup(jf, "defaultValue");
	f->defaulted_on_create = get_bool(jf, "defaultedOnCreate",
	    f->default_value != NULL || f->type == SF_T_BOOLEAN || f->calculated);
	f->reference_to = get_strings(jf, "referenceTo", &f->nreference_to);
	f->relationship_name = get_strdup(jf, "relationshipName");
	f->label = get_strdup(jf, "label");
	if (f->label == NULL)
		f->label = xstrdup(name);
	if (f->type == SF_T_REFERENCE && f->nreference_to == 0)
		return err_set(err, errlen, "object %s field %s: a reference needs \"referenceTo\"",
		    objname, name);
	return 0;
}

static int
load_object(struct sf_object *obj, json_t *jo, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(jo, "name"));
	const char *prefix = json_string_value(json_object_get(jo, "keyPrefix"));
	json_t *jfields = json_object_get(jo, "fields");
	size_t i, nsys = 7;
	json_t *jf;

	memset(obj, 0, sizeof(*obj));
	if (name == NULL || prefix == NULL || strlen(prefix) != 3)
		return err_set(err, errlen,
		    "every object needs \"name\" and a 3-character \"keyPrefix\"");
	if (!json_is_array(jfields))
		return err_set(err, errlen, "object %s: \"fields\" must be an array", name);
	obj->name = xstrdup(name);
	obj->key_prefix = xstrdup(prefix);
	obj->label = get_strdup(jo, "label");
	if (obj->label == NULL)
		obj->label = xstrdup(name);
	obj->label_plural = get_strdup(jo, "labelPlural");
	if (obj->label_plural == NULL)
		obj->label_plural = xasprintf("%ss", obj->label);
	obj->createable = get_bool(jo, "createable", 1);
	obj->updateable = get_bool(jo, "updateable", 1);
	obj->deletable = get_bool(jo, "deletable", 1);
	obj->queryable = get_bool(jo, "queryable", 1);
	obj->activity = get_bool(jo, "activity", 0);
	obj->fields = xcalloc(json_array_size(jfields) + nsys + 1, sizeof(*obj->fields));
	add_system_field(obj, "Id", SF_T_ID, NULL);
	add_system_field(obj, "IsDeleted", SF_T_BOOLEAN, NULL);
	add_system_field(obj, "CreatedDate", SF_T_DATETIME, NULL);
	add_system_field(obj, "CreatedById", SF_T_REFERENCE, "User");
	add_system_field(obj, "LastModifiedDate", SF_T_DATETIME, NULL);
	add_system_field(obj, "LastModifiedById", SF_T_REFERENCE, "User");
	add_system_field(obj, "SystemModstamp", SF_T_DATETIME, NULL);
	for (i = 0; i < obj->nfields; i++) {
		obj->fields[i].nillable = 0;
		obj->fields[i].createable = 0;
		obj->fields[i].updateable = 0;
	}
	json_array_foreach(jfields, i, jf) {
		const char *fname = json_string_value(json_object_get(jf, "name"));

		if (fname != NULL && sf_schema_field(obj, fname) != NULL)
			return err_set(err, errlen,
			    "object %s: field %s is defined twice (system fields "
			    "are added automatically)", name, fname);
		if (load_field(&obj->fields[obj->nfields], jf, name, err, errlen) < 0) {
			obj->nfields++;
			return -1;
		}
		obj->nfields++;
	}
	return 0;
}

int
sf_schema_load_string(struct sf_schema *schema, const char *text, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *jobjs, *jo;
	size_t i;
	int rc = -1;

	memset(schema, 0, sizeof(*schema));
	if (root == NULL)
		return err_set(err, errlen, "line %d: %s", jerr.line, jerr.text);
	jobjs = json_object_get(root, "objects");
	if (!json_is_array(jobjs)) {
		err_set(err, errlen, "top level must be {\"objects\": [...]}");
		goto out;
	}
	schema->objects = xcalloc(json_array_size(jobjs), sizeof(*schema->objects));
	json_array_foreach(jobjs, i, jo) {
		struct sf_object *obj = &schema->objects[schema->nobjects];
		const char *name = json_string_value(json_object_get(jo, "name"));

		if (name != NULL && sf_schema_object(schema, name) != NULL) {
			err_set(err, errlen, "object %s is defined twice", name);
			goto out;
		}
		schema->nobjects++;
		if (load_object(obj, jo, err, errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		sf_schema_free(schema);
	return rc;
}

int
sf_schema_load(struct sf_schema *schema, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *text;
	long size;
	int rc;

	memset(schema, 0, sizeof(*schema));
	if (fp == NULL)
		return err_set(err, errlen, "%s: cannot open", path);
	if (fseek(fp, 0, SEEK_END) < 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0) {
		fclose(fp);
		return err_set(err, errlen, "%s: cannot read", path);
	}
	text = xmalloc((size_t)size + 1);
	if (fread(text, 1, (size_t)size, fp) != (size_t)size) {
		fclose(fp);
		free(text);
		return err_set(err, errlen, "%s: cannot read", path);
	}
	text[size] = '\0';
	fclose(fp);
	rc = sf_schema_load_string(schema, text, err, errlen);
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		err_set(err, errlen, "%s: %s", path, msg);
	}
	free(text);
	return rc;
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
sf_schema_free(struct sf_schema *schema)
{
	for (size_t i = 0; i < schema->nobjects; i++) {
		struct sf_object *obj = &schema->objects[i];

		for (size_t j = 0; j < obj->nfields; j++) {
			struct sf_field *f = &obj->fields[j];

			free(f->name);
			free(f->label);
			free(f->default_value);
			free(f->relationship_name);
			free_strings(f->picklist, f->npicklist);
			free_strings(f->reference_to, f->nreference_to);
		}
		free(obj->fields);
		free(obj->name);
		free(obj->key_prefix);
		free(obj->label);
		free(obj->label_plural);
	}
	free(schema->objects);
	memset(schema, 0, sizeof(*schema));
}

const struct sf_object *
sf_schema_object(const struct sf_schema *schema, const char *name)
{
	for (size_t i = 0; i < schema->nobjects; i++)
		if (schema->objects[i].name != NULL && strcasecmp(schema->objects[i].name, name) == 0)
			return &schema->objects[i];
	return NULL;
}

const struct sf_object *
sf_schema_object_by_prefix(const struct sf_schema *schema, const char *id)
{
	if (id == NULL || strlen(id) < 3)
		return NULL;
	for (size_t i = 0; i < schema->nobjects; i++)
		if (schema->objects[i].key_prefix != NULL &&
		    strncmp(schema->objects[i].key_prefix, id, 3) == 0)
			return &schema->objects[i];
	return NULL;
}

const struct sf_field *
sf_schema_field(const struct sf_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->nfields; i++)
		if (obj->fields[i].name != NULL && strcasecmp(obj->fields[i].name, name) == 0)
			return &obj->fields[i];
	return NULL;
}

const struct sf_field *
sf_schema_relationship(const struct sf_object *obj, const char *rel)
{
	for (size_t i = 0; i < obj->nfields; i++)
		if (obj->fields[i].relationship_name != NULL &&
		    strcasecmp(obj->fields[i].relationship_name, rel) == 0)
			return &obj->fields[i];
	return NULL;
}
