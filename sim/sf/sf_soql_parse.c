/* sf_soql_parse.c: the recursive-descent SOQL parser. It walks the tokens twice: a syntax pass
 * first, so a syntax error anywhere wins over a semantic one as on Salesforce, then a resolving
 * pass that looks every name up in the schema and types every literal against its field. */
#include "sf_soql_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "sf_id.h"
#include "sf_soql.h"
#include "sf_value.h"
#include "xmalloc.h"

#define MAX_N_DAYS	100000	/* LAST_N_DAYS:n and friends; keeps date arithmetic in range */

struct parser {
	const char *q;
	const struct soql_token *toks;
	size_t i;
	const struct sf_schema *schema;
	struct soql_query *query;
	time_t now;
	int resolve;			/* 0: syntax pass, 1: resolving pass */
	int depth;
	size_t nparams;
	size_t from_tok;		/* found by the syntax pass */
	size_t alias_tok;		/* FROM Contact c: index of "c", 0 if none */
	size_t nexpr;			/* next exprN for an unnamed aggregate */
	size_t plain_tok;		/* first plain field of the SELECT list, 0 if none */
	struct sf_error *err;
};

/* Words that end a field list or clause, so they can never be a field name or alias. GROUP is
 * missing on purpose: it is also an sObject. */
static const char *const reserved[] = {
	"AND", "ASC", "BY", "DESC", "EXCLUDES", "FALSE", "FOR", "FROM", "HAVING", "IN", "INCLUDES",
	"LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OFFSET", "OR", "ORDER", "SELECT", "TRUE", "USING",
	"WHERE", "WITH",
};

enum lit_kind { L_STRING, L_NUMBER, L_DATE, L_DATETIME, L_BOOL, L_NULL, L_DATEKW };

enum datekw {
	DK_TODAY, DK_YESTERDAY, DK_TOMORROW, DK_LAST_N_DAYS, DK_NEXT_N_DAYS, DK_N_DAYS_AGO,
	DK_THIS_WEEK, DK_LAST_WEEK, DK_NEXT_WEEK, DK_THIS_MONTH, DK_LAST_MONTH, DK_NEXT_MONTH,
	DK_THIS_YEAR, DK_LAST_YEAR, DK_NEXT_YEAR,
};

static const struct {
	const char *name;
	enum datekw kw;
	int takes_n;
} datekws[] = {
	{ "TODAY", DK_TODAY, 0 }, { "YESTERDAY", DK_YESTERDAY, 0 },
	{ "TOMORROW", DK_TOMORROW, 0 }, { "LAST_N_DAYS", DK_LAST_N_DAYS, 1 },
	{ "NEXT_N_DAYS", DK_NEXT_N_DAYS, 1 }, { "N_DAYS_AGO", DK_N_DAYS_AGO, 1 },
	{ "THIS_WEEK", DK_THIS_WEEK, 0 }, { "LAST_WEEK", DK_LAST_WEEK, 0 },
	{ "NEXT_WEEK", DK_NEXT_WEEK, 0 }, { "THIS_MONTH", DK_THIS_MONTH, 0 },
	{ "LAST_MONTH", DK_LAST_MONTH, 0 }, { "NEXT_MONTH", DK_NEXT_MONTH, 0 },
	{ "THIS_YEAR", DK_THIS_YEAR, 0 }, { "LAST_YEAR", DK_LAST_YEAR, 0 },
	{ "NEXT_YEAR", DK_NEXT_YEAR, 0 },
};

struct lit {
	enum lit_kind kind;
	const struct soql_token *tok;
	char *s;			/* L_STRING: decoded (LIKE-escaped for LIKE) */
	int b;				/* L_BOOL */
	enum datekw kw;			/* L_DATEKW */
	long n;				/* L_DATEKW with :n */
};

static int parse_cond(struct parser *, struct soql_cond **);

static const struct soql_token *
peek(const struct parser *p)
{
	return &p->toks[p->i];
}

static int
tok_is(const struct parser *p, const struct soql_token *t, const char *word)
{
	size_t n = strlen(word);

	return t->type == TOK_IDENT && t->len == n && strncasecmp(p->q + t->pos, word, n) == 0;
}

static int
accept_kw(struct parser *p, const char *word)
{
	if (!tok_is(p, peek(p), word))
		return 0;
	p->i++;
	return 1;
}

static int
is_reserved(const struct parser *p, const struct soql_token *t)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (tok_is(p, t, reserved[i]))
			return 1;
	return 0;
}

static int
is_name(const struct parser *p, const struct soql_token *t)
{
	return t->type == TOK_IDENT && !is_reserved(p, t);
}

static char *
tok_text(const struct parser *p, const struct soql_token *t)
{
	return xstrndup(p->q + t->pos, t->len);
}

static int
unexpected_at(struct parser *p, const struct soql_token *t)
{
	if (t->type == TOK_EOF)
		return soql_error_at(p->err, p->q, t->pos, "MALFORMED_QUERY",
		    "unexpected token: <EOF>");
	return soql_error_at(p->err, p->q, t->pos, "MALFORMED_QUERY", "unexpected token: '%.*s'",
	    (int)t->len, p->q + t->pos);
}

static int
unexpected(struct parser *p)
{
	return unexpected_at(p, peek(p));
}

static int
expect(struct parser *p, enum soql_tok type)
{
	if (peek(p)->type != type)
		return unexpected(p);
	p->i++;
	return 0;
}

static int
expect_kw(struct parser *p, const char *word)
{
	return accept_kw(p, word) ? 0 : unexpected(p);
}

static int
too_complicated(struct parser *p, const char *what)
{
	return sf_error_set(p->err, 400, "QUERY_TOO_COMPLICATED",
	    "Query is too complicated: %s", what);
}

/* --- names ----------------------------------------------------------------------------- */

static int
no_such_column(struct parser *p, const struct soql_token *t, const char *field,
    const char *entity)
{
	return soql_error_at(p->err, p->q, t->pos, "INVALID_FIELD", "No such column '%s' on "
	    "entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' "
	    "after the custom field name. Please reference your WSDL or the describe call for the "
	    "appropriate names.", field, entity);
}

static int
bad_relationship(struct parser *p, const struct soql_token *t, const char *rel)
{
	return soql_error_at(p->err, p->q, t->pos, "INVALID_FIELD", "Didn't understand "
	    "relationship '%s' in field path. If you are attempting to use a custom relationship, "
	    "be sure to append the '__r' after the custom relationship name. Please reference your "
	    "WSDL or the describe call for the appropriate names.", rel);
}

static const struct sf_field *
queryable_field(const struct sf_object *obj, const char *name)
{
	const struct sf_field *f = sf_schema_field(obj, name);

	return f != NULL && f->type != SF_T_JUNCTIONIDLIST ? f : NULL;
}

/* The query-wide slot for the relationship through ref, added on first use. */
static int
add_rel(struct parser *p, const struct sf_field *ref, const struct sf_object **targets,
    size_t ntargets)
{
	struct soql_query *qy = p->query;
	struct soql_rel *r;

	for (size_t i = 0; i < qy->nrels; i++)
		if (qy->rels[i].ref == ref)
			return (int)i;
	if (qy->nrels == SOQL_MAX_RELS || qy->njoins + (int)ntargets > SOQL_MAX_JOINS)
		return too_complicated(p, "too many relationships");
	r = &qy->rels[qy->nrels];
	memset(r, 0, sizeof(*r));
	r->ref = ref;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	memcpy(r->targets, targets, ntargets * sizeof(*targets));
	r->ntargets = ntargets;
	r->polymorphic = ref->nreference_to > 1;
	r->first_join = qy->njoins;
	r->id_col = -1;
	qy->njoins += (int)ntargets;
	return (int)qy->nrels++;
}

static int
resolve_parent(struct parser *p, const struct soql_token *t, const char *relname,
    const char *fname, struct soql_path *path)
{
	const struct sf_field *ref = sf_schema_relationship(p->query->obj, relname), *f = NULL;
	const struct sf_object *targets[SOQL_MAX_TARGETS];
	size_t n = 0;
	int idx;

	if (ref == NULL)
		return bad_relationship(p, t, relname);
	for (size_t i = 0; i < ref->nreference_to && n < SOQL_MAX_TARGETS; i++) {
		const struct sf_object *o = sf_schema_object(p->schema, ref->reference_to[i]);

		if (o != NULL)
			targets[n++] = o;
	}
	if (n == 0)
		return bad_relationship(p, t, relname);
	for (size_t i = 0; i < n && f == NULL; i++)
		f = queryable_field(targets[i], fname);
	if (f == NULL)
		return no_such_column(p, t, fname, ref->nreference_to > 1 ? "Name" :
		    targets[0]->name);
	if ((idx = add_rel(p, ref, targets, n)) < 0)
		return -1;
	path->rel = idx;
	path->field = f;
	path->type = f->type;
	return 0;
}

static int
resolve_path(struct parser *p, const struct soql_token *t, struct soql_path *path)
{
	char *name = tok_text(p, t), *dot;
	const struct sf_field *f;
	int rc = -1;

	path->rel = -1;
	if (p->alias_tok != 0) {
		const struct soql_token *a = &p->toks[p->alias_tok];

		if (strncasecmp(name, p->q + a->pos, a->len) == 0 && name[a->len] == '.')
			memmove(name, name + a->len + 1, strlen(name + a->len + 1) + 1);
	}
	if ((dot = strchr(name, '.')) == NULL) {
		if ((f = queryable_field(p->query->obj, name)) == NULL) {
			no_such_column(p, t, name, p->query->obj->name);
			goto out;
		}
		path->field = f;
		path->type = f->type;
		rc = 0;
		goto out;
	}
	*dot = '\0';
	if (strchr(dot + 1, '.') != NULL) {
		soql_error_at(p->err, p->q, t->pos, "MALFORMED_QUERY", "sf-sim supports one level "
		    "of parent relationship; '%.*s' goes deeper", (int)t->len, p->q + t->pos);
		goto out;
	}
	rc = resolve_parent(p, t, name, dot + 1, path);
out:
	free(name);
	return rc;
}

static int
resolve_object(struct parser *p)
{
	const struct soql_token *t = &p->toks[p->from_tok];
	char *name = tok_text(p, t);
	const struct sf_object *obj = sf_schema_object(p->schema, name);
	int rc = 0;

	if (obj == NULL || !obj->queryable)
		rc = soql_error_at(p->err, p->q, t->pos, "INVALID_TYPE", "sObject type '%s' is not "
		    "supported. If you are attempting to use a custom object, be sure to append the "
		    "'__c' after the entity name. Please reference your WSDL or the describe call for "
		    "the appropriate names.", name);
	p->query->obj = obj;
	free(name);
	return rc;
}

/* --- SELECT list ----------------------------------------------------------------------- */

static struct soql_item *
new_item(struct parser *p)
{
	struct soql_query *qy = p->query;
	struct soql_item *it;

	qy->items = xrealloc(qy->items, (qy->nitems + 1) * sizeof(*qy->items));
	it = &qy->items[qy->nitems++];
	memset(it, 0, sizeof(*it));
	it->path.rel = -1;
	return it;
}

static int
same_path(const struct soql_path *a, const struct soql_path *b)
{
	return a->field == b->field && a->rel == b->rel;
}

static int
add_field_item(struct parser *p, const struct soql_token *t)
{
	struct soql_item *it = new_item(p);

	if (p->plain_tok == 0)
		p->plain_tok = (size_t)(t - p->toks);
	if (!p->resolve)
		return 0;
	if (resolve_path(p, t, &it->path) < 0)
		return -1;
	for (size_t i = 0; i + 1 < p->query->nitems; i++) {
		const struct soql_item *o = &p->query->items[i];

		if (o->agg == AGG_NONE && same_path(&o->path, &it->path))
			return soql_error_at(p->err, p->q, t->pos, "MALFORMED_QUERY",
			    "duplicate field selected: %.*s", (int)t->len, p->q + t->pos);
	}
	return 0;
}

static enum soql_agg
agg_of(const struct parser *p, const struct soql_token *t)
{
	static const struct {
		const char *name;
		enum soql_agg agg;
	} aggs[] = {
		{ "COUNT", AGG_COUNT }, { "MIN", AGG_MIN }, { "MAX", AGG_MAX }, { "SUM", AGG_SUM },
		{ "AVG", AGG_AVG },
	};

	for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
		if (tok_is(p, t, aggs[i].name))
			return aggs[i].agg;
	return AGG_NONE;
}

static int
is_numeric(enum sf_ftype type)
{
	return type == SF_T_INT || type == SF_T_DOUBLE || type == SF_T_CURRENCY ||
	    type == SF_T_PERCENT;
}

static int
check_aggregate(struct parser *p, const struct soql_token *fn, const struct soql_token *ft,
    struct soql_item *it)
{
	if (resolve_path(p, ft, &it->path) < 0)
		return -1;
	if ((it->agg == AGG_SUM || it->agg == AGG_AVG) && !is_numeric(it->path.type))
		return soql_error_at(p->err, p->q, fn->pos, "MALFORMED_QUERY", "field %.*s does "
		    "not support aggregate operator %.*s", (int)ft->len, p->q + ft->pos,
		    (int)fn->len, p->q + fn->pos);
	return 0;
}

/* COUNT(), COUNT(f) [alias], MIN/MAX/SUM/AVG(f) [alias]. */
static int
parse_aggregate(struct parser *p)
{
	const struct soql_token *fn = peek(p), *ft;
	enum soql_agg agg = agg_of(p, fn);
	struct soql_item *it;

	if (agg == AGG_NONE)
		return unexpected(p);
	p->i += 2;
	if (agg == AGG_COUNT && peek(p)->type == TOK_RPAREN) {
		/* COUNT() stands alone: it changes the whole answer's shape. */
		if (p->query->nitems > 0)
			return unexpected_at(p, fn);
		p->i++;
		it = new_item(p);
		it->agg = AGG_COUNT;
		it->count_star = 1;
		p->query->count_only = 1;
		return peek(p)->type == TOK_COMMA ? unexpected(p) : 0;
	}
	if (p->query->count_only)
		return unexpected_at(p, fn);
	ft = peek(p);
	if (!is_name(p, ft))
		return unexpected(p);
	p->i++;
	if (expect(p, TOK_RPAREN) < 0)
		return -1;
	it = new_item(p);
	it->agg = agg;
	p->query->aggregate = 1;
	if (is_name(p, peek(p)))
		it->key = tok_text(p, &p->toks[p->i++]);
	else if (p->resolve)
		it->key = xasprintf("expr%zu", p->nexpr++);
	if (p->resolve && check_aggregate(p, fn, ft, it) < 0)
		return -1;
	if (agg == AGG_COUNT)
		it->path.type = SF_T_INT;
	else if (agg == AGG_AVG || (agg == AGG_SUM && it->path.type != SF_T_INT))
		it->path.type = SF_T_DOUBLE;
	return 0;
}

static int
parse_select_list(struct parser *p)
{
	for (;;) {
		const struct soql_token *t = peek(p);

		if (!is_name(p, t))
			return unexpected(p);
		if (p->toks[p->i + 1].type == TOK_LPAREN) {
			if (parse_aggregate(p) < 0)
				return -1;
		} else {
			if (p->query->count_only)
				return unexpected(p);
			p->i++;
			if (add_field_item(p, t) < 0)
				return -1;
		}
		if (peek(p)->type != TOK_COMMA)
			break;
		p->i++;
	}
	if (p->resolve && p->query->aggregate && p->plain_tok != 0) {
		const struct soql_token *t = &p->toks[p->plain_tok];

		return soql_error_at(p->err, p->q, t->pos, "MALFORMED_QUERY",
		    "Field must be grouped or aggregated: %.*s", (int)t->len, p->q + t->pos);
	}
	return 0;
}

/* --- literals -------------------------------------------------------------------------- */

static long
hex4(const char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = httpd_hexval(s[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static size_t
put_utf8(char *out, long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* \uXXXX at s (after the backslash), joining a UTF-16 surrogate pair like Java does.
 * Returns the characters consumed after the backslash, 0 if invalid. */
static size_t
decode_u(const char *s, long *cp)
{
	long hi = hex4(s + 2), lo;

	if (hi <= 0)
		return 0;
	if (hi < 0xD800 || hi > 0xDFFF) {
		*cp = hi;
		return 5;
	}
	if (hi > 0xDBFF || s[6] != '\\' || s[7] != 'u' || (lo = hex4(s + 8)) < 0xDC00 ||
	    lo > 0xDFFF)
		return 0;
	*cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	return 11;
}

static int
bad_escape(struct parser *p, const struct soql_token *t, const char *at)
{
	return soql_error_at(p->err, p->q, t->pos, "MALFORMED_QUERY", "Invalid string literal "
	    "'%.*s'. Illegal character sequence '\\%c' in string literal.", (int)t->len - 2,
	    p->q + t->pos + 1, at[1] ? at[1] : ' ');
}

/* Applies the escapes of reference 2.2. For LIKE the result is a SQLite pattern with '\' as
 * ESCAPE character: \% and \_ stay escaped, a literal backslash is doubled. */
static int
decode_string(struct parser *p, const struct soql_token *t, int like, char **out)
{
	const char *s = p->q + t->pos + 1, *end = p->q + t->pos + t->len - 1;
	char *buf = xmalloc(2 * t->len + 1);
	size_t n = 0, chars = 0;

	while (s < end) {
		char c = *s;
		size_t adv = 2;
		long cp;

		chars++;
		if (c != '\\') {
			if (((unsigned char)c & 0xC0) == 0x80)
				chars--;
			buf[n++] = c;
			s++;
			continue;
		}
		switch (s[1]) {
		case 'n': case 'N': c = '\n'; break;
		case 'r': case 'R': c = '\r'; break;
		case 't': case 'T': c = '\t'; break;
		case 'b': case 'B': c = '\b'; break;
		case 'f': case 'F': c = '\f'; break;
		case '"': case '\'': case '\\': c = s[1]; break;
		case '%': case '_':
			if (!like)
				goto bad;
			buf[n++] = '\\';
			c = s[1];
			break;
		case 'u':
			if ((adv = decode_u(s, &cp)) == 0)
				goto bad;
			n += put_utf8(buf + n, cp);
			s += 1 + adv;
			continue;
		default:
			goto bad;
		}
		if (like && c == '\\')
			buf[n++] = '\\';
		buf[n++] = c;
		s += adv;
	}
	buf[n] = '\0';
	if (chars > SOQL_MAX_STRING) {
		free(buf);
		return soql_error_at(p->err, p->q, t->pos, "MALFORMED_QUERY", "String literal "
		    "is too long: %zu characters, the maximum is %d", chars, SOQL_MAX_STRING);
	}
	*out = buf;
	return 0;
bad:
	free(buf);
	return bad_escape(p, t, s);
}

static int
parse_datekw(struct parser *p, struct lit *l)
{
	const struct soql_token *t = peek(p);
	size_t i;

	for (i = 0; i < sizeof(datekws) / sizeof(datekws[0]); i++)
		if (tok_is(p, t, datekws[i].name))
			break;
	if (i == sizeof(datekws) / sizeof(datekws[0]))
		return unexpected(p);
	p->i++;
	l->kind = L_DATEKW;
	l->kw = datekws[i].kw;
	if (!datekws[i].takes_n)
		return 0;
	if (expect(p, TOK_COLON) < 0)
		return -1;
	t = peek(p);
	if (t->type != TOK_NUMBER || strspn(p->q + t->pos, "0123456789") != t->len ||
	    t->len > 6 || (l->n = strtol(p->q + t->pos, NULL, 10)) > MAX_N_DAYS)
		return unexpected(p);
	p->i++;
	return 0;
}

static int
parse_literal(struct parser *p, int like, struct lit *l)
{
	const struct soql_token *t = peek(p);

	memset(l, 0, sizeof(*l));
	l->tok = t;
	switch (t->type) {
	case TOK_STRING:
		l->kind = L_STRING;
		if (decode_string(p, t, like, &l->s) < 0)
			return -1;
		break;
	case TOK_NUMBER:
		l->kind = L_NUMBER;
		break;
	case TOK_DATE:
		l->kind = L_DATE;
		break;
	case TOK_DATETIME:
		l->kind = L_DATETIME;
		break;
	case TOK_IDENT:
		if (tok_is(p, t, "TRUE") || tok_is(p, t, "FALSE")) {
			l->kind = L_BOOL;
			l->b = tok_is(p, t, "TRUE");
		} else if (tok_is(p, t, "NULL")) {
			l->kind = L_NULL;
		} else {
			return parse_datekw(p, l);
		}
		break;
	default:
		return unexpected(p);
	}
	p->i++;
	return 0;
}

/* --- typing literals against fields ---------------------------------------------------- */

static long
floor_div(long long a, long b)
{
	return (long)(a / b - (a % b < 0));
}

static long
days_of(int y, int m, int d)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return floor_div((long long)timegm(&tm), 86400);
}

/* The [lo, hi) range of days a date keyword stands for; Salesforce's week starts on Sunday
 * (en_US locale) and sf-sim's org time zone is UTC. */
static void
datekw_range(enum datekw kw, long n, time_t now, long *lo, long *hi)
{
	long today = floor_div((long long)now, 86400), sunday = today - (today + 4) % 7;
	struct tm tm;
	int y, m;

	gmtime_r(&now, &tm);
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	switch (kw) {
	case DK_TODAY: *lo = today; *hi = today + 1; break;
	case DK_YESTERDAY: *lo = today - 1; *hi = today; break;
	case DK_TOMORROW: *lo = today + 1; *hi = today + 2; break;
	case DK_LAST_N_DAYS: *lo = today - n; *hi = today + 1; break;
	case DK_NEXT_N_DAYS: *lo = today + 1; *hi = today + 1 + n; break;
	case DK_N_DAYS_AGO: *lo = today - n; *hi = today - n + 1; break;
	case DK_THIS_WEEK: *lo = sunday; *hi = sunday + 7; break;
	case DK_LAST_WEEK: *lo = sunday - 7; *hi = sunday; break;
	case DK_NEXT_WEEK: *lo = sunday + 7; *hi = sunday + 14; break;
	case DK_THIS_MONTH: *lo = days_of(y, m, 1); *hi = days_of(y, m + 1, 1); break;
	case DK_LAST_MONTH: *lo = days_of(y, m - 1, 1); *hi = days_of(y, m, 1); break;
	case DK_NEXT_MONTH: *lo = days_of(y, m + 1, 1); *hi = days_of(y, m + 2, 1); break;
	case DK_THIS_YEAR: *lo = days_of(y, 1, 1); *hi = days_of(y + 1, 1, 1); break;
	case DK_LAST_YEAR: *lo = days_of(y - 1, 1, 1); *hi = days_of(y, 1, 1); break;
	case DK_NEXT_YEAR: *lo = days_of(y + 1, 1, 1); *hi = days_of(y + 2, 1, 1); break;
	}
}

static char *
day_text(long day, int datetime)
{
	char out[SF_DATETIME_LEN + 1];

	sf_value_format_datetime((time_t)day * 86400, 0, out);
	if (!datetime)
		out[10] = '\0';
	return xstrdup(out);
}

static const char *
type_word(enum sf_ftype type)
{
	switch (type) {
	case SF_T_BOOLEAN: return "boolean";
	case SF_T_DATE: return "date";
	case SF_T_DATETIME: return "dateTime";
	case SF_T_INT: return "integer";
	case SF_T_DOUBLE: case SF_T_CURRENCY: case SF_T_PERCENT: return "double";
	case SF_T_ID: case SF_T_REFERENCE: return "id";
	default: return "string";
	}
}

static int
wrong_type(struct parser *p, const struct soql_token *ft, const struct soql_path *path)
{
	int quoted = sf_ftype_is_text(path->type) || path->type == SF_T_ID ||
	    path->type == SF_T_REFERENCE;

	return soql_error_at(p->err, p->q, ft->pos, "INVALID_FIELD", "value of filter criterion "
	    "for field '%s' must be of type %s and should %sbe enclosed in quotes",
	    path->field->name, type_word(path->type), quoted ? "" : "not ");
}

static int
type_id(struct parser *p, const struct soql_token *ft, struct lit *l, enum soql_op op,
    struct soql_value *v)
{
	char id[SF_ID_LEN + 1];

	v->kind = V_TEXT;
	if (op == OP_LIKE) {
		v->text = l->s;
		l->s = NULL;
		return 0;
	}
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): parse_literal fails without l->s */
	if (l->s[0] == '\0') {
		/* Salesforce treats '' like null for ids. */
		v->kind = V_NULL;
		return 0;
	}
	if (sf_id_normalize(l->s, id) < 0)
		return soql_error_at(p->err, p->q, ft->pos, "INVALID_QUERY_FILTER_OPERATOR",
		    "invalid ID field: %s", l->s);
	v->text = xstrdup(id);
	return 0;
}

static int
type_number(struct parser *p, const struct lit *l, struct soql_value *v)
{
	char *text = tok_text(p, l->tok), *end;
	int rc = 0;

	errno = 0;
	if (strchr(text, '.') == NULL) {
		v->kind = V_INT;
		v->i = strtoll(text, &end, 10);
	} else {
		v->kind = V_REAL;
		v->d = strtod(text, &end);
	}
	if (errno != 0 || *end != '\0')
		rc = unexpected_at(p, l->tok);
	free(text);
	return rc;
}

static int
type_temporal(struct parser *p, const struct soql_token *ft, const struct soql_path *path,
    const struct lit *l, struct soql_value *v)
{
	int datetime = path->type == SF_T_DATETIME;
	char *text, out[SF_DATETIME_LEN + 1];
	long lo = 0, hi = 0;
	int rc;

	if (l->kind == L_DATEKW) {
		datekw_range(l->kw, l->n, p->now, &lo, &hi);
		v->kind = V_RANGE;
		v->text = day_text(lo, datetime);
		v->hi = day_text(hi, datetime);
		return 0;
	}
	if (l->kind != (datetime ? L_DATETIME : L_DATE))
		return wrong_type(p, ft, path);
	text = tok_text(p, l->tok);
	/* Salesforce wants the zone spelled out: Z or +hh:mm. */
	if (datetime && strpbrk(text + 10, "Zz+-") == NULL)
		rc = -1;
	else
		rc = datetime ? sf_value_datetime(text, out) : sf_value_date(text, out);
	free(text);
	if (rc < 0)
		return unexpected_at(p, l->tok);
	v->kind = V_TEXT;
	v->text = xstrdup(out);
	return 0;
}

/* Turns a literal into the value bound for a comparison with the field at path. */
static int
type_literal(struct parser *p, const struct soql_token *ft, const struct soql_path *path,
    enum soql_op op, struct lit *l, struct soql_value *v)
{
	enum sf_ftype type = path->type;

	memset(v, 0, sizeof(*v));
	if (l->kind == L_NULL && op != OP_LIKE) {
		v->kind = V_NULL;
		return 0;
	}
	if (l->kind == L_DATEKW && (op == OP_IN || op == OP_NOT_IN))
		return unexpected_at(p, l->tok);
	if (op == OP_LIKE && !sf_ftype_is_text(type) && type != SF_T_ID &&
	    type != SF_T_REFERENCE)
		return soql_error_at(p->err, p->q, ft->pos, "INVALID_FIELD",
		    "invalid operator on field '%s'", path->field->name);
	if (sf_ftype_is_text(type) || type == SF_T_ID || type == SF_T_REFERENCE) {
		if (l->kind != L_STRING)
			return wrong_type(p, ft, path);
		if (type == SF_T_ID || type == SF_T_REFERENCE)
			return type_id(p, ft, l, op, v);
		v->kind = V_TEXT;
		v->text = l->s;
		l->s = NULL;
		return 0;
	}
	switch (type) {
	case SF_T_BOOLEAN:
		if (l->kind != L_BOOL)
			return wrong_type(p, ft, path);
		v->kind = V_INT;
		v->i = l->b;
		return 0;
	case SF_T_DATE: case SF_T_DATETIME:
		return type_temporal(p, ft, path, l, v);
	default:
		if (l->kind != L_NUMBER)
			return wrong_type(p, ft, path);
		return type_number(p, l, v);
	}
}

/* --- WHERE ----------------------------------------------------------------------------- */

static struct soql_cond *
new_cond(enum soql_ckind kind)
{
	struct soql_cond *c = xcalloc(1, sizeof(*c));

	c->kind = kind;
	c->path.rel = -1;
	return c;
}

static struct soql_cond **
add_kid(struct soql_cond *c)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	c->kids = xrealloc(c->kids, (c->nkids + 1) * sizeof(*c->kids));
	c->kids[c->nkids] = NULL;
	return &c->kids[c->nkids++];
}

static int
parse_value(struct parser *p, struct soql_cond *c, const struct soql_token *ft)
{
	struct lit l;
	struct soql_value v;
	int rc;

	if (parse_literal(p, c->op == OP_LIKE, &l) < 0)
		return -1;
	if (!p->resolve) {
		free(l.s);
		return 0;
	}
	rc = type_literal(p, ft, &c->path, c->op, &l, &v);
	free(l.s);
	if (rc < 0)
		return -1;
	p->nparams += v.kind == V_RANGE ? 2 : 1;
	c->vals = xrealloc(c->vals, (c->nvals + 1) * sizeof(*c->vals));
	c->vals[c->nvals++] = v;
	if (p->nparams > SOQL_MAX_PARAMS)
		return too_complicated(p, "too many values");
	return 0;
}

static int
parse_op(struct parser *p, enum soql_op *op)
{
	static const struct {
		const char *text;
		enum soql_op op;
	} ops[] = {
		{ "=", OP_EQ }, { "!=", OP_NE }, { "<>", OP_NE }, { "<", OP_LT }, { ">", OP_GT },
		{ "<=", OP_LE }, { ">=", OP_GE },
	};
	const struct soql_token *t = peek(p);

	if (t->type == TOK_OP) {
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (strlen(ops[i].text) == t->len &&
			    strncmp(p->q + t->pos, ops[i].text, t->len) == 0) {
				*op = ops[i].op;
				p->i++;
				return 0;
			}
		}
		return unexpected(p);
	}
	if (accept_kw(p, "IN"))
		*op = OP_IN;
	else if (accept_kw(p, "LIKE"))
		*op = OP_LIKE;
	else if (accept_kw(p, "NOT")) {
		if (expect_kw(p, "IN") < 0)
			return -1;
		*op = OP_NOT_IN;
	} else
		return unexpected(p);
	return 0;
}

static int
parse_pred(struct parser *p, struct soql_cond **out)
{
	const struct soql_token *ft = peek(p);
	struct soql_cond *c;

	if (!is_name(p, ft))
		return unexpected(p);
	p->i++;
	c = *out = new_cond(C_PRED);
	if (p->resolve) {
		if (resolve_path(p, ft, &c->path) < 0)
			return -1;
		if (!c->path.field->filterable)
			return soql_error_at(p->err, p->q, ft->pos, "INVALID_FIELD", "field '%s' can "
			    "not be filtered in query call", c->path.field->name);
	}
	if (parse_op(p, &c->op) < 0)
		return -1;
	if (c->op != OP_IN && c->op != OP_NOT_IN)
		return parse_value(p, c, ft);
	if (expect(p, TOK_LPAREN) < 0)
		return -1;
	for (;;) {
		if (parse_value(p, c, ft) < 0)
			return -1;
		if (peek(p)->type != TOK_COMMA)
			break;
		p->i++;
	}
	return expect(p, TOK_RPAREN);
}

static int
enter(struct parser *p)
{
	if (++p->depth > SOQL_MAX_DEPTH)
		return too_complicated(p, "conditions nested too deeply");
	return 0;
}

static int
parse_term(struct parser *p, struct soql_cond **out)
{
	int rc;

	if (enter(p) < 0)
		return -1;
	if (accept_kw(p, "NOT")) {
		*out = new_cond(C_NOT);
		rc = parse_term(p, add_kid(*out));
	} else if (peek(p)->type == TOK_LPAREN) {
		p->i++;
		rc = parse_cond(p, out);
		if (rc == 0)
			rc = expect(p, TOK_RPAREN);
	} else {
		rc = parse_pred(p, out);
	}
	p->depth--;
	return rc;
}

/* SOQL needs parentheses to mix AND and OR, so a level is all ANDs or all ORs. */
static int
parse_cond(struct parser *p, struct soql_cond **out)
{
	struct soql_cond *first = NULL, *c;
	const char *word, *other;

	if (parse_term(p, &first) < 0) {
		*out = first;
		return -1;
	}
	if (tok_is(p, peek(p), "AND")) {
		word = "AND";
		other = "OR";
	} else if (tok_is(p, peek(p), "OR")) {
		word = "OR";
		other = "AND";
	} else {
		*out = first;
		return 0;
	}
	c = *out = new_cond(word[0] == 'A' ? C_AND : C_OR);
	*add_kid(c) = first;
	while (accept_kw(p, word))
		if (parse_term(p, add_kid(c)) < 0)
			return -1;
	return tok_is(p, peek(p), other) ? unexpected(p) : 0;
}

/* --- the rest -------------------------------------------------------------------------- */

static int
parse_order(struct parser *p)
{
	struct soql_query *qy = p->query;

	for (;;) {
		const struct soql_token *ft = peek(p);
		struct soql_order *o;

		if (!is_name(p, ft))
			return unexpected(p);
		p->i++;
		qy->order = xrealloc(qy->order, (qy->norder + 1) * sizeof(*qy->order));
		o = &qy->order[qy->norder++];
		memset(o, 0, sizeof(*o));
		o->path.rel = -1;
		o->nulls_first = 1;
		if (accept_kw(p, "DESC")) {
			o->desc = 1;
			o->nulls_first = 0;
		} else {
			accept_kw(p, "ASC");
		}
		if (accept_kw(p, "NULLS")) {
			if (accept_kw(p, "FIRST"))
				o->nulls_first = 1;
			else if (accept_kw(p, "LAST"))
				o->nulls_first = 0;
			else
				return unexpected(p);
		}
		if (p->resolve) {
			if (resolve_path(p, ft, &o->path) < 0)
				return -1;
			if (!o->path.field->sortable)
				return soql_error_at(p->err, p->q, ft->pos, "INVALID_FIELD", "field '%s' "
				    "can not be sorted in a query call", o->path.field->name);
		}
		if (peek(p)->type != TOK_COMMA)
			return 0;
		p->i++;
	}
}

static int
parse_count(struct parser *p, long *out)
{
	const struct soql_token *t = peek(p);

	if (t->type != TOK_NUMBER || strspn(p->q + t->pos, "0123456789") != t->len || t->len > 9)
		return unexpected(p);
	*out = strtol(p->q + t->pos, NULL, 10);
	p->i++;
	return 0;
}

static int
parse_from(struct parser *p)
{
	const struct soql_token *t = peek(p);

	if (!is_name(p, t) || memchr(p->q + t->pos, '.', t->len) != NULL)
		return unexpected(p);
	p->from_tok = p->i++;
	if (is_name(p, peek(p)))
		p->alias_tok = p->i++;
	return 0;
}

static int
parse_query(struct parser *p)
{
	struct soql_query *qy = p->query;
	const struct soql_token *t = peek(p);

	/* Salesforce answers a statement that is not a SELECT without the position block. */
	if (!tok_is(p, t, "SELECT")) {
		if (t->type == TOK_EOF)
			return sf_error_set(p->err, 400, "MALFORMED_QUERY",
			    "SOQL statements cannot be empty or null");
		return sf_error_set(p->err, 400, "MALFORMED_QUERY", "unexpected token: '%.*s'",
		    (int)t->len, p->q + t->pos);
	}
	p->i++;
	if (parse_select_list(p) < 0 || expect_kw(p, "FROM") < 0 || parse_from(p) < 0)
		return -1;
	if (accept_kw(p, "WHERE") && parse_cond(p, &qy->where) < 0)
		return -1;
	if (accept_kw(p, "ORDER") && (expect_kw(p, "BY") < 0 || parse_order(p) < 0))
		return -1;
	if (accept_kw(p, "LIMIT") && parse_count(p, &qy->limit) < 0)
		return -1;
	if (accept_kw(p, "OFFSET") && parse_count(p, &qy->offset) < 0)
		return -1;
	if (peek(p)->type != TOK_EOF)
		return unexpected(p);
	if (p->resolve && qy->offset > SF_SOQL_MAX_OFFSET)
		return sf_error_set(p->err, 400, "NUMBER_OUTSIDE_VALID_RANGE",
		    "Maximum SOQL offset allowed is %d", SF_SOQL_MAX_OFFSET);
	return 0;
}

static void
cond_free(struct soql_cond *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nkids; i++)
		cond_free(c->kids[i]);
	free(c->kids);
	for (size_t i = 0; i < c->nvals; i++) {
		free(c->vals[i].text);
		free(c->vals[i].hi);
	}
	free(c->vals);
	free(c);
}

void
soql_query_free(struct soql_query *query)
{
	for (size_t i = 0; i < query->nitems; i++)
		free(query->items[i].key);
	free(query->items);
	cond_free(query->where);
	free(query->order);
	memset(query, 0, sizeof(*query));
	query->limit = -1;
}

static void
query_init(struct soql_query *query)
{
	memset(query, 0, sizeof(*query));
	query->limit = -1;
}

int
soql_parse(const char *q, const struct sf_schema *schema, time_t now,
    struct soql_query *query, struct sf_error *err)
{
	struct soql_token *toks = NULL;
	struct soql_query scratch;
	struct parser p;
	size_t ntoks;
	int rc;

	query_init(query);
	if (soql_lex(q, &toks, &ntoks, err) < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p.q = q;
	p.toks = toks;
	p.schema = schema;
	p.now = now;
	p.err = err;
	query_init(&scratch);
	p.query = &scratch;
	rc = parse_query(&p);
	soql_query_free(&scratch);
	if (rc < 0)
		goto out;
	p.i = 0;
	p.depth = 0;
	p.plain_tok = 0;
	p.resolve = 1;
	p.query = query;
	if ((rc = resolve_object(&p)) == 0)
		rc = parse_query(&p);
out:
	free(toks);
	return rc;
}
