/* sf_soql.c: runs a parsed SOQL query: translates the AST (sf_soql_parse.c) into one SQLite
 * statement with bound parameters (never spliced literals), pages it and shapes each row the
 * way Salesforce's /query answers.
 *
 * Supported: SELECT fields, one-level parent fields (Account.Name; polymorphic Who.Name, whose
 * attributes.type is "Name" like Salesforce's), COUNT(), COUNT/MIN/MAX/SUM/AVG(f) [alias] as one
 * AggregateResult; FROM one object [alias]; WHERE with = != <> < > <= >= IN, NOT IN, LIKE,
 * AND/OR/NOT and parentheses, string/number/boolean/null/date/datetime literals and the common
 * date keywords (UTC, week starting Sunday); ORDER BY ... ASC|DESC NULLS FIRST|LAST; LIMIT;
 * OFFSET. Not supported: GROUP BY/HAVING, child subqueries, semi-joins (IN (SELECT ...)),
 * INCLUDES/EXCLUDES, TYPEOF, FIELDS(), WITH, FOR VIEW/UPDATE, parent paths deeper than one level,
 * date functions (CALENDAR_YEAR(...)), toLabel/format/convertCurrency.
 *
 * Null semantics follow SOQL, not SQL: every predicate is true or false, so "!= 'x'" and
 * NOT IN match rows where the field is null, as they do on Salesforce. */
#include "sf_soql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sf_soql_int.h"
#include "sf_value.h"
#include "xmalloc.h"

#define DEFAULT_API_VERSION	"62.0"

struct sbuf {
	char *p;
	size_t len, cap;
};

struct param {
	enum soql_vkind kind;		/* V_TEXT, V_INT or V_REAL */
	const char *text;		/* borrowed from the query */
	long long i;
	double d;
};

/* One run: the query, the SQL being built and what gets bound into it. */
struct run {
	sqlite3 *db;
	const struct sf_schema *schema;
	const struct sf_soql_opts *opts;
	struct soql_query q;
	struct sbuf from;		/* FROM ... WHERE ... */
	struct sbuf order;		/* ORDER BY ... */
	struct param *params;
	size_t nparams;
	int *item_col;			/* result column of each SELECT item */
	int rel_col[SOQL_MAX_RELS];	/* result column of each relationship's parent id */
	struct sf_error *err;
};

static void
sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
sb_ident(struct sbuf *b, const char *prefix, const char *name)
{
	char *q = db_quote_ident(name);

	sb_add(b, "%s%s", prefix, q);
	free(q);
}

static const char *
sb_str(const struct sbuf *b)
{
	return b->p != NULL ? b->p : "";
}

static void
add_param(struct run *r, enum soql_vkind kind, const char *text, const struct soql_value *v)
{
	struct param *pa;

	r->params = xrealloc(r->params, (r->nparams + 1) * sizeof(*r->params));
	pa = &r->params[r->nparams++];
	memset(pa, 0, sizeof(*pa));
	pa->kind = kind;
	pa->text = text;
	if (v != NULL) {
		pa->i = v->i;
		pa->d = v->d;
	}
}

static void
add_value(struct run *r, struct sbuf *b, const struct soql_value *v)
{
	sb_add(b, "?");
	add_param(r, v->kind, v->text, v);
}

/* --- SQL expressions ------------------------------------------------------------------- */

/* The SQL for a field path: t."Name", j0."Name", or a CASE over a polymorphic relationship's
 * joins (only one of them matches a given row). */
static void
path_expr(const struct run *r, struct sbuf *b, const struct soql_path *path)
{
	const struct soql_rel *rel;
	char pre[32];
	int n = 0;

	if (path->rel < 0) {
		sb_ident(b, "t.", path->field->name);
		return;
	}
	rel = &r->q.rels[path->rel];
	if (rel->ntargets == 1) {
		snprintf(pre, sizeof(pre), "j%d.", rel->first_join);
		sb_ident(b, pre, path->field->name);
		return;
	}
	sb_add(b, "CASE");
	for (size_t i = 0; i < rel->ntargets; i++) {
		const struct sf_field *f = sf_schema_field(rel->targets[i], path->field->name);

		if (f == NULL || f->type == SF_T_JUNCTIONIDLIST)
			continue;
		snprintf(pre, sizeof(pre), "j%d.", rel->first_join + (int)i);
		sb_add(b, " WHEN j%d.\"Id\" IS NOT NULL THEN ", rel->first_join + (int)i);
		sb_ident(b, pre, f->name);
		n++;
	}
	sb_add(b, "%s END", n == 0 ? " WHEN 0 THEN NULL" : "");
}

static void
parent_id_expr(const struct soql_rel *rel, struct sbuf *b)
{
	if (rel->ntargets == 1) {
		sb_add(b, "j%d.\"Id\"", rel->first_join);
		return;
	}
	sb_add(b, "COALESCE(");
	for (size_t i = 0; i < rel->ntargets; i++)
		sb_add(b, "%sj%d.\"Id\"", i ? ", " : "", rel->first_join + (int)i);
	sb_add(b, ")");
}

/* Strings compare case-insensitively in SOQL; a CASE expression loses the column collation,
 * so it is spelled out. */
static const char *
collate(const struct soql_path *path)
{
	return sf_ftype_is_text(path->type) ? " COLLATE NOCASE" : "";
}

static const char *const cmp_sql[] = {
	[OP_EQ] = "=", [OP_NE] = "=", [OP_LT] = "<", [OP_GT] = ">", [OP_LE] = "<=", [OP_GE] = ">=",
};

/* expr op ?, where the range forms of date keywords become bounds. */
static void
emit_compare(struct run *r, struct sbuf *b, const struct soql_cond *c)
{
	const struct soql_value *v = &c->vals[0];

	sb_add(b, "(");
	path_expr(r, b, &c->path);
	/* OP_NE arrives here too, negated by the caller. */
	if (v->kind == V_NULL) {
		sb_add(b, c->op == OP_EQ || c->op == OP_NE ? " IS NULL)" : " IS NULL AND 0)");
		return;
	}
	sb_add(b, " IS NOT NULL AND ");
	path_expr(r, b, &c->path);
	if (v->kind != V_RANGE) {
		sb_add(b, " %s ", cmp_sql[c->op]);
		add_value(r, b, v);
		sb_add(b, "%s)", collate(&c->path));
		return;
	}
	switch (c->op) {
	case OP_EQ: case OP_NE:
		sb_add(b, " >= ? AND ");
		add_param(r, V_TEXT, v->text, NULL);
		path_expr(r, b, &c->path);
		sb_add(b, " < ?)");
		add_param(r, V_TEXT, v->hi, NULL);
		return;
	case OP_LT: case OP_GE:
		sb_add(b, " %s ?)", c->op == OP_LT ? "<" : ">=");
		add_param(r, V_TEXT, v->text, NULL);
		return;
	default:	/* <= and >: against the end of the range */
		sb_add(b, " %s ?)", c->op == OP_LE ? "<" : ">=");
		add_param(r, V_TEXT, v->hi, NULL);
		return;
	}
}

static void
emit_in(struct run *r, struct sbuf *b, const struct soql_cond *c)
{
	int has_null = 0, n = 0;

	for (size_t i = 0; i < c->nvals; i++)
		has_null |= c->vals[i].kind == V_NULL;
	sb_add(b, "(");
	if (has_null) {
		path_expr(r, b, &c->path);
		sb_add(b, " IS NULL OR ");
	}
	sb_add(b, "(");
	path_expr(r, b, &c->path);
	sb_add(b, " IS NOT NULL AND ");
	path_expr(r, b, &c->path);
	sb_add(b, "%s IN (", collate(&c->path));
	for (size_t i = 0; i < c->nvals; i++) {
		if (c->vals[i].kind == V_NULL)
			continue;
		sb_add(b, "%s", n++ ? ", " : "");
		add_value(r, b, &c->vals[i]);
	}
	sb_add(b, ")))");
}

static void
emit_cond(struct run *r, struct sbuf *b, const struct soql_cond *c)
{
	switch (c->kind) {
	case C_AND: case C_OR:
		sb_add(b, "(");
		for (size_t i = 0; i < c->nkids; i++) {
			sb_add(b, "%s", i == 0 ? "" : c->kind == C_AND ? " AND " : " OR ");
			emit_cond(r, b, c->kids[i]);
		}
		sb_add(b, ")");
		return;
	case C_NOT:
		sb_add(b, "(NOT ");
		emit_cond(r, b, c->kids[0]);
		sb_add(b, ")");
		return;
	case C_PRED:
		break;
	}
	switch (c->op) {
	case OP_IN: case OP_NOT_IN:
		sb_add(b, "%s", c->op == OP_NOT_IN ? "(NOT " : "");
		emit_in(r, b, c);
		sb_add(b, "%s", c->op == OP_NOT_IN ? ")" : "");
		return;
	case OP_LIKE:
		sb_add(b, "(");
		path_expr(r, b, &c->path);
		sb_add(b, " IS NOT NULL AND ");
		path_expr(r, b, &c->path);
		sb_add(b, " LIKE ");
		add_value(r, b, &c->vals[0]);
		sb_add(b, " ESCAPE '\\')");
		return;
	case OP_NE:
		sb_add(b, "(NOT ");
		emit_compare(r, b, c);
		sb_add(b, ")");
		return;
	default:
		emit_compare(r, b, c);
		return;
	}
}

/* FROM "Obj" AS t LEFT JOIN ... WHERE <implicit filters> [AND (<user's WHERE>)] */
static void
emit_from(struct run *r)
{
	const struct sf_object *obj = r->q.obj;
	struct sbuf *b = &r->from;
	char alias[32];

	sb_ident(b, " FROM ", obj->name);
	sb_add(b, " AS t");
	for (size_t i = 0; i < r->q.nrels; i++) {
		const struct soql_rel *rel = &r->q.rels[i];

		for (size_t k = 0; k < rel->ntargets; k++) {
			snprintf(alias, sizeof(alias), "j%d", rel->first_join + (int)k);
			sb_ident(b, " LEFT JOIN ", rel->targets[k]->name);
			sb_add(b, " AS %s ON %s.\"Id\" = ", alias, alias);
			sb_ident(b, "t.", rel->ref->name);
		}
	}
	sb_add(b, " WHERE 1");
	if (!r->opts->all_rows) {
		sb_add(b, " AND coalesce(t.\"IsDeleted\", 0) = 0");
		if (obj->activity && sf_schema_field(obj, "IsArchived") != NULL)
			sb_add(b, " AND coalesce(t.\"IsArchived\", 0) = 0");
	}
	if (r->q.where != NULL) {
		sb_add(b, " AND ");
		emit_cond(r, b, r->q.where);
	}
}

/* The user's keys, then insertion order so pages never overlap or skip rows. */
static void
emit_order(struct run *r)
{
	struct sbuf *b = &r->order;

	sb_add(b, " ORDER BY ");
	for (size_t i = 0; i < r->q.norder; i++) {
		const struct soql_order *o = &r->q.order[i];

		path_expr(r, b, &o->path);
		sb_add(b, "%s %s NULLS %s, ", collate(&o->path), o->desc ? "DESC" : "ASC",
		    o->nulls_first ? "FIRST" : "LAST");
	}
	sb_add(b, "t.rowid");
}

/* The SELECT list: t."Id" first (for attributes.url), then each item, with a relationship's
 * parent id just before its first field so a null parent can be told from null fields. */
static void
emit_columns(struct run *r, struct sbuf *b)
{
	int col = 1;

	sb_add(b, "SELECT t.\"Id\"");
	for (size_t i = 0; i < r->q.nitems; i++) {
		const struct soql_path *path = &r->q.items[i].path;

		if (path->rel >= 0 && r->rel_col[path->rel] < 0) {
			sb_add(b, ", ");
			parent_id_expr(&r->q.rels[path->rel], b);
			r->rel_col[path->rel] = col++;
		}
		sb_add(b, ", ");
		path_expr(r, b, path);
		r->item_col[i] = col++;
	}
}

static void
emit_aggregates(struct run *r, struct sbuf *b)
{
	static const char *const fn[] = {
		[AGG_COUNT] = "count", [AGG_MIN] = "min", [AGG_MAX] = "max", [AGG_SUM] = "sum",
		[AGG_AVG] = "avg",
	};

	sb_add(b, "SELECT ");
	for (size_t i = 0; i < r->q.nitems; i++) {
		const struct soql_item *it = &r->q.items[i];

		sb_add(b, "%s%s(", i ? ", " : "", fn[it->agg]);
		path_expr(r, b, &it->path);
		sb_add(b, ")");
		r->item_col[i] = (int)i;
	}
}

/* --- running --------------------------------------------------------------------------- */

static sqlite3_stmt *
prepare(struct run *r, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		/* Our SQL is built from the schema: a failure means a missing table or column. */
		sf_error_set(r->err, 500, "UNKNOWN_EXCEPTION", "An unexpected error occurred: %s",
		    sqlite3_errmsg(r->db));
		return NULL;
	}
	for (size_t i = 0; i < r->nparams; i++) {
		const struct param *pa = &r->params[i];
		int idx = (int)i + 1;

		if (pa->kind == V_INT)
			sqlite3_bind_int64(st, idx, pa->i);
		else if (pa->kind == V_REAL)
			sqlite3_bind_double(st, idx, pa->d);
		else
			sqlite3_bind_text(st, idx, pa->text, -1, SQLITE_STATIC);
	}
	return st;
}

static int
step_failed(struct run *r, sqlite3_stmt *st)
{
	sf_error_set(r->err, 500, "UNKNOWN_EXCEPTION", "An unexpected error occurred: %s",
	    sqlite3_errmsg(r->db));
	sqlite3_finalize(st);
	return -1;
}

/* Rows the query yields with its own LIMIT and OFFSET: Salesforce's totalSize. */
static int
count_rows(struct run *r, long *total)
{
	char *sql = xasprintf("SELECT count(*) FROM (SELECT 1%s LIMIT %ld OFFSET %ld)",
	    sb_str(&r->from), r->q.limit, r->q.offset);
	sqlite3_stmt *st = prepare(r, sql);

	free(sql);
	if (st == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return step_failed(r, st);
	*total = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static json_t *
attributes(const char *type, const char *objname, const char *id, const char *version)
{
	json_t *a = json_object();

	json_object_set_new(a, "type", json_string(type));
	if (objname != NULL && id != NULL) {
		char *url = xasprintf("/services/data/v%s/sobjects/%s/%s", version, objname, id);

		json_object_set_new(a, "url", json_string(url));
		free(url);
	}
	return a;
}

static const char *
version_of(const struct run *r)
{
	return r->opts->api_version != NULL ? r->opts->api_version : DEFAULT_API_VERSION;
}

/* The nested record of a parent relationship, created at its first field; NULL when the
 * reference is empty (the key is then JSON null). */
static json_t *
parent_record(struct run *r, sqlite3_stmt *st, json_t *rec, const struct soql_rel *rel,
    int idcol)
{
	const char *key = rel->ref->relationship_name, *id, *objname;
	const struct sf_object *target;
	json_t *parent = json_object_get(rec, key);

	if (parent != NULL)
		return json_is_object(parent) ? parent : NULL;
	id = (const char *)sqlite3_column_text(st, idcol);
	if (id == NULL) {
		json_object_set_new(rec, key, json_null());
		return NULL;
	}
	target = sf_schema_object_by_prefix(r->schema, id);
	objname = target != NULL ? target->name : rel->targets[0]->name;
	parent = json_object();
	json_object_set_new(parent, "attributes", attributes(rel->polymorphic ? "Name" : objname,
	    objname, id, version_of(r)));
	json_object_set_new(rec, key, parent);
	return parent;
}

static json_t *
row_record(struct run *r, sqlite3_stmt *st)
{
	json_t *rec = json_object();

	json_object_set_new(rec, "attributes", attributes(r->q.obj->name, r->q.obj->name,
	    (const char *)sqlite3_column_text(st, 0), version_of(r)));
	for (size_t i = 0; i < r->q.nitems; i++) {
		const struct soql_path *path = &r->q.items[i].path;
		json_t *target = rec;

		if (path->rel >= 0) {
			target = parent_record(r, st, rec, &r->q.rels[path->rel],
			    r->rel_col[path->rel]);
			if (target == NULL)
				continue;
		}
		json_object_set_new(target, path->field->name,
		    sf_value_column_json(st, r->item_col[i], path->type));
	}
	return rec;
}

static int
run_aggregate(struct run *r, struct sf_soql_result *res)
{
	struct sbuf sql = { 0 };
	sqlite3_stmt *st;
	json_t *rec;

	emit_aggregates(r, &sql);
	sb_add(&sql, "%s", sb_str(&r->from));
	st = prepare(r, sql.p);
	free(sql.p);
	if (st == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return step_failed(r, st);
	rec = json_object();
	json_object_set_new(rec, "attributes", attributes("AggregateResult", NULL, NULL, NULL));
	for (size_t i = 0; i < r->q.nitems; i++)
		json_object_set_new(rec, r->q.items[i].key,
		    sf_value_column_json(st, r->item_col[i], r->q.items[i].path.type));
	sqlite3_finalize(st);
	json_array_append_new(res->records, rec);
	res->total_size = 1;
	return 0;
}

static int
run_rows(struct run *r, struct sf_soql_result *res)
{
	long batch = r->opts->batch_size > 0 ? r->opts->batch_size : SF_SOQL_DEFAULT_BATCH;
	long start = r->opts->offset > 0 ? r->opts->offset : 0, want, got = 0;
	struct sbuf sql = { 0 };
	sqlite3_stmt *st;
	int rc;

	if (count_rows(r, &res->total_size) < 0)
		return -1;
	want = res->total_size - start;
	if (want > batch)
		want = batch;
	if (want > 0) {
		emit_order(r);
		emit_columns(r, &sql);
		sb_add(&sql, "%s%s LIMIT %ld OFFSET %ld", sb_str(&r->from), sb_str(&r->order), want,
		    r->q.offset + start);
		st = prepare(r, sql.p);
		free(sql.p);
		if (st == NULL)
			return -1;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			json_array_append_new(res->records, row_record(r, st));
			got++;
		}
		if (rc != SQLITE_DONE)
			return step_failed(r, st);
		sqlite3_finalize(st);
	}
	res->done = start + got >= res->total_size;
	res->next_offset = res->done ? 0 : start + got;
	return 0;
}

static int
blank(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\f')
		s++;
	return *s == '\0';
}

int
sf_soql_run(sqlite3 *db, const struct sf_schema *schema, const char *soql,
    const struct sf_soql_opts *opts, struct sf_soql_result *res, struct sf_error *err)
{
	static const struct sf_soql_opts defaults;
	struct run r;
	int rc = -1;

	if (opts == NULL)
		opts = &defaults;
	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if (soql == NULL || blank(soql))
		return sf_error_set(err, 400, "MALFORMED_QUERY",
		    "SOQL statements cannot be empty or null");
	if (strlen(soql) > SF_SOQL_MAX_LEN)
		return sf_error_set(err, 400, "MALFORMED_QUERY", "SOQL statements cannot exceed "
		    "%d characters; this one has %zu", SF_SOQL_MAX_LEN, strlen(soql));
	r.db = db;
	r.schema = schema;
	r.opts = opts;
	r.err = err;
	if (soql_parse(soql, schema, opts->now != 0 ? opts->now : time(NULL), &r.q, err) < 0)
		goto out;
	r.item_col = xcalloc(r.q.nitems, sizeof(*r.item_col));
	for (size_t i = 0; i < SOQL_MAX_RELS; i++)
		r.rel_col[i] = -1;
	emit_from(&r);
	res->records = json_array();
	res->done = 1;
	if (r.q.count_only)
		rc = count_rows(&r, &res->total_size);
	else if (r.q.aggregate)
		rc = run_aggregate(&r, res);
	else
		rc = run_rows(&r, res);
out:
	if (rc < 0)
		sf_soql_result_free(res);
	soql_query_free(&r.q);
	free(r.from.p);
	free(r.order.p);
	free(r.params);
	free(r.item_col);
	return rc;
}

void
sf_soql_result_free(struct sf_soql_result *res)
{
	json_decref(res->records);
	memset(res, 0, sizeof(*res));
}
