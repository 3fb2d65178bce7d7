/* graph_odata.c: the OData query options graph-sim understands ($select, $top, $filter,
 * $orderby) and the paging links it hands out. Parsing is strict: what Graph would reject with
 * a 400 is rejected here too, so a client bug shows up against the emulator first. */
#include "graph_odata.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpc.h"
#include "isotime.h"
#include "xmalloc.h"

#define MAX_NAME	128	/* longest property name we look at */

/* ---- $select ---- */

/* Next comma-separated name of *p, trimmed; its start and length. 0 at the end. */
static int
next_name(const char **p, const char **name, size_t *len)
{
	const char *s = *p, *e;

	if (s == NULL || *s == '\0')
		return 0;
	e = strchr(s, ',');
	if (e == NULL)
		e = s + strlen(s);
	*p = *e == ',' ? e + 1 : e;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*name = s;
	*len = (size_t)(e - s);
	return 1;
}

int
graph_odata_select_has(const char *select, const char *field)
{
	const char *p = select, *name;
	size_t len;

	if (select == NULL || *select == '\0' || strcasecmp(field, "id") == 0)
		return 1;
	while (next_name(&p, &name, &len))
		if (len == strlen(field) && strncasecmp(name, field, len) == 0)
			return 1;
	return 0;
}

void
graph_odata_select_apply(const char *select, json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;

	if (select == NULL || *select == '\0' || !json_is_object(obj))
		return;
	json_object_foreach_safe(obj, tmp, key, v) {
		if (key[0] == '@' || graph_odata_select_has(select, key))
			continue;
		json_object_del(obj, key);
	}
}

int
graph_odata_selected(const struct graph_req *req, const char *field)
{
	return graph_odata_select_has(graph_req_param(req, "$select"), field);
}

void
graph_odata_apply_select(const struct graph_req *req, json_t *obj)
{
	graph_odata_select_apply(graph_req_param(req, "$select"), obj);
}

static const char *
known_name(const char *name, size_t len, const char *const *known)
{
	for (size_t i = 0; known[i] != NULL; i++)
		if (strlen(known[i]) == len && strncasecmp(known[i], name, len) == 0)
			return known[i];
	return NULL;
}

int
graph_odata_select_check(const char *select, const char *const *known, char *bad,
    size_t badlen)
{
	const char *p = select, *name;
	size_t len;

	if (select == NULL)
		return 0;
	len = strlen(select);
	while (len > 0 && isspace((unsigned char)select[len - 1]))
		len--;
	if (len > 0 && select[len - 1] == ',') {	/* "a," names an empty property */
		snprintf(bad, badlen, "%s", "");
		return -1;
	}
	while (next_name(&p, &name, &len)) {
		if (len == 0 || known_name(name, len, known) == NULL) {
			snprintf(bad, badlen, "%.*s", (int)(len < MAX_NAME ? len : MAX_NAME), name);
			return -1;
		}
	}
	return 0;
}

char *
graph_odata_select_canonical(const char *select, const char *const *known)
{
	const char *p = select, *name, *canon;
	size_t len, cap, n = 0;
	char *out;

	if (select == NULL || *select == '\0')
		return NULL;
	cap = strlen(select) * 2 + 1;
	out = xmalloc(cap);
	out[0] = '\0';
	while (next_name(&p, &name, &len)) {
		size_t clen;

		canon = known_name(name, len, known);
		clen = canon != NULL ? strlen(canon) : len;
		if (n + clen + 2 > cap) {
			cap = (n + clen + 2) * 2;
			out = xrealloc(out, cap);
		}
		if (n > 0)
			out[n++] = ',';
		memcpy(out + n, canon != NULL ? canon : name, clen);
		n += clen;
		out[n] = '\0';
	}
	return out;
}

/* ---- $top, $skip ---- */

int
graph_odata_parse_count(const char *s, long *out)
{
	long v = 0;
	size_t i;

	if (s == NULL || *s == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 9)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

long
graph_odata_top_as(const struct graph_req *req, long dflt, long max, const char *code,
    const char *fmt, struct graph_reply *reply)
{
	const char *s = graph_req_param(req, "$top");
	char msg[512];
	long v;

	if (s == NULL)
		return dflt;
	if (graph_odata_parse_count(s, &v) == 0 && v >= 1 && v <= max)
		return v;
	/* fmt is one of ours, with a single %s */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(msg, sizeof(msg), fmt, s);
#pragma GCC diagnostic pop
	graph_reply_error(reply, req, 400, code, "%s", msg);
	return -1;
}

long
graph_odata_top(const struct graph_req *req, long dflt, long max, struct graph_reply *reply)
{
	return graph_odata_top_as(req, dflt, max, "BadRequest",
	    "Invalid value '%s' for query option $top.", reply);
}

/* ---- date-times ---- */

int
graph_odata_parse_datetime(const char *s, size_t len, char out[32])
{
	struct isotime t;
	struct tm tm;
	time_t secs;

	/* OData's DateTimeOffset literal: the zone is required, and an offset is written ±hh:mm
	 * within ±14 hours; a fraction of up to 7 digits follows the seconds. */
	if (len < 17 || len > 40 || isotime_parse(s, len, &t) < 0 ||
	    (t.sep != 'T' && t.sep != 't') || (t.nfrac > 0 && !t.has_sec) || t.nfrac > 7 ||
	    t.frac_sep == ',' || t.zone == 0 ||
	    (t.zone != 'Z' && (!t.zone_colon || !t.zone_min || t.off_h > 14)) ||
	    t.year < 1 || t.sec > 59)
		return -1;
	secs = (time_t)t.utc;
	if (gmtime_r(&secs, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return -1;
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return 0;
}

/* ---- $filter ---- */

struct lexer {
	const char *p;
};

static void
skip_space(struct lexer *lx)
{
	while (*lx->p == ' ' || *lx->p == '\t')
		lx->p++;
}

/* A word: letters, digits, '/', '.', '_' (property paths and keywords). */
static size_t
word(struct lexer *lx, const char **start)
{
	const char *s;

	skip_space(lx);
	s = lx->p;
	while (isalnum((unsigned char)*lx->p) || *lx->p == '/' || *lx->p == '_' ||
	    *lx->p == '.')
		lx->p++;
	*start = s;
	return (size_t)(lx->p - s);
}

static int
is_word(const char *s, size_t len, const char *kw)
{
	return strlen(kw) == len && strncasecmp(s, kw, len) == 0;
}

/* 'text' with '' as an escaped quote, into out. */
static int
quoted(struct lexer *lx, char *out, size_t outlen)
{
	size_t n = 0;

	skip_space(lx);
	if (*lx->p != '\'')
		return -1;
	lx->p++;
	for (;;) {
		if (*lx->p == '\0')
			return -1;
		if (*lx->p == '\'') {
			if (lx->p[1] != '\'')
				break;
			lx->p++;
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = *lx->p++;
	}
	lx->p++;
	out[n] = '\0';
	return 0;
}

static const struct graph_filter_prop *
find_prop(const struct graph_filter_prop *props, const char *name, size_t len)
{
	for (size_t i = 0; props[i].name != NULL; i++)
		if (is_word(name, len, props[i].name))
			return &props[i];
	return NULL;
}

static enum graph_filter_result
fail_unsupported(const char *name, size_t len, char *err, size_t errlen)
{
	snprintf(err, errlen, "%.*s", (int)(len < MAX_NAME ? len : MAX_NAME), name);
	return GRAPH_FILTER_UNSUPPORTED;
}

static enum graph_filter_result
fail_syntax(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return GRAPH_FILTER_SYNTAX;
}

/* The literal after an operator, checked against the property's type. */
static enum graph_filter_result
literal(struct lexer *lx, struct graph_filter_term *t, char *err, size_t errlen)
{
	const char *s;
	size_t len;

	skip_space(lx);
	switch (t->prop->kind) {
	case GRAPH_FILTER_STRING:
		if (quoted(lx, t->value, sizeof(t->value)) < 0)
			return fail_syntax(err, errlen, "expected a quoted string");
		return GRAPH_FILTER_OK;
	case GRAPH_FILTER_BOOL:
		len = word(lx, &s);
		if (is_word(s, len, "true") || is_word(s, len, "false")) {
			snprintf(t->value, sizeof(t->value), "%s",
			    tolower((unsigned char)s[0]) == 't' ? "true" : "false");
			return GRAPH_FILTER_OK;
		}
		return fail_syntax(err, errlen, "expected true or false");
	case GRAPH_FILTER_DATETIME:
		s = lx->p;
		while (isalnum((unsigned char)*lx->p) || *lx->p == '-' || *lx->p == ':' ||
		    *lx->p == '.' || *lx->p == '+')
			lx->p++;
		if (graph_odata_parse_datetime(s, (size_t)(lx->p - s), t->value) < 0)
			return fail_syntax(err, errlen, "expected a date-time");
		return GRAPH_FILTER_OK;
	}
	return fail_syntax(err, errlen, "bad literal");
}

static enum graph_filter_result
term(struct lexer *lx, const struct graph_filter_prop *props, struct graph_filter_term *t,
    char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum graph_filter_op op;
	} ops[] = {
		{ "eq", GRAPH_OP_EQ }, { "ne", GRAPH_OP_NE }, { "gt", GRAPH_OP_GT },
		{ "ge", GRAPH_OP_GE }, { "lt", GRAPH_OP_LT }, { "le", GRAPH_OP_LE },
	};
	const char *name, *opname;
	size_t len, oplen;
	enum graph_filter_result r;

	memset(t, 0, sizeof(*t));
	len = word(lx, &name);
	if (len == 0)
		return fail_syntax(err, errlen, "expected a property");
	if (is_word(name, len, "startswith")) {
		skip_space(lx);
		if (*lx->p != '(')
			return fail_syntax(err, errlen, "expected (");
		lx->p++;
		len = word(lx, &name);
		if (len == 0)
			return fail_syntax(err, errlen, "expected a property");
		t->prop = find_prop(props, name, len);
		if (t->prop == NULL || !(t->prop->ops & GRAPH_OP_STARTSWITH) ||
		    t->prop->kind != GRAPH_FILTER_STRING)
			return fail_unsupported(name, len, err, errlen);
		t->op = GRAPH_OP_STARTSWITH;
		skip_space(lx);
		if (*lx->p != ',')
			return fail_syntax(err, errlen, "expected ,");
		lx->p++;
		if (quoted(lx, t->value, sizeof(t->value)) < 0)
			return fail_syntax(err, errlen, "expected a quoted string");
		skip_space(lx);
		if (*lx->p != ')')
			return fail_syntax(err, errlen, "expected )");
		lx->p++;
		return GRAPH_FILTER_OK;
	}
	t->prop = find_prop(props, name, len);
	if (t->prop == NULL)
		return fail_unsupported(name, len, err, errlen);
	oplen = word(lx, &opname);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (is_word(opname, oplen, ops[i].name))
			t->op = ops[i].op;
	if (t->op == 0)
		return fail_syntax(err, errlen, "expected an operator");
	if (!(t->prop->ops & t->op))
		return fail_unsupported(name, len, err, errlen);
	if ((r = literal(lx, t, err, errlen)) != GRAPH_FILTER_OK)
		return r;
	return GRAPH_FILTER_OK;
}

enum graph_filter_result
graph_odata_filter_parse(const char *text, const struct graph_filter_prop *props,
    struct graph_filter *out, char *err, size_t errlen)
{
	struct lexer lx = { text };
	int joiner = 0;			/* 0 unknown, 1 and, 2 or */
	enum graph_filter_result r;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return fail_syntax(err, errlen, "empty filter");
	for (;;) {
		const char *w;
		size_t len;

		if (out->nterms == GRAPH_FILTER_MAX_TERMS)
			return fail_syntax(err, errlen, "too many terms");
		r = term(&lx, props, &out->terms[out->nterms], err, errlen);
		if (r != GRAPH_FILTER_OK)
			return r;
		out->nterms++;
		skip_space(&lx);
		if (*lx.p == '\0')
			break;
		len = word(&lx, &w);
		if (is_word(w, len, "and") && joiner != 2)
			joiner = 1;
		else if (is_word(w, len, "or") && joiner != 1)
			joiner = 2;
		else
			return fail_syntax(err, errlen, "expected and/or");
	}
	out->any = joiner == 2;
	return GRAPH_FILTER_OK;
}

const char *
graph_odata_sql_op(enum graph_filter_op op)
{
	switch (op) {
	case GRAPH_OP_EQ:
		return "=";
	case GRAPH_OP_NE:
		return "<>";
	case GRAPH_OP_GT:
		return ">";
	case GRAPH_OP_GE:
		return ">=";
	case GRAPH_OP_LT:
		return "<";
	case GRAPH_OP_LE:
		return "<=";
	case GRAPH_OP_STARTSWITH:
		break;
	}
	return "";
}

/* ---- $orderby ---- */

int
graph_odata_orderby_parse(const char *text, const char *const *allowed,
    struct graph_orderby *out, char *err, size_t errlen)
{
	const char *p = text, *item;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (text == NULL) {
		snprintf(err, errlen, "empty $orderby");
		return -1;
	}
	while (next_name(&p, &item, &len)) {
		size_t nlen = 0, rest;
		const char *dir;

		while (nlen < len && !isspace((unsigned char)item[nlen]))
			nlen++;
		dir = item + nlen;
		while (dir < item + len && isspace((unsigned char)*dir))
			dir++;
		rest = (size_t)(item + len - dir);
		if (out->n == GRAPH_ORDERBY_MAX || nlen == 0) {
			snprintf(err, errlen, "bad $orderby");
			return -1;
		}
		out->prop[out->n] = known_name(item, nlen, allowed);
		if (out->prop[out->n] == NULL) {
			snprintf(err, errlen, "%.*s", (int)(nlen < MAX_NAME ? nlen : MAX_NAME), item);
			return -1;
		}
		if (rest == 0 || is_word(dir, rest, "asc"))
			out->desc[out->n] = 0;
		else if (is_word(dir, rest, "desc"))
			out->desc[out->n] = 1;
		else {
			snprintf(err, errlen, "%.*s", (int)(rest < MAX_NAME ? rest : MAX_NAME), dir);
			return -1;
		}
		out->n++;
	}
	if (out->n == 0) {
		snprintf(err, errlen, "empty $orderby");
		return -1;
	}
	return 0;
}

/* ---- links ---- */

char *
graph_odata_escape(const char *s)
{
	return httpc_encode(s, HTTPC_UNRESERVED "$'(),:@", HTTPC_PERCENT);
}

static int
dropped(const char *name, const char *const *drop)
{
	for (size_t i = 0; drop != NULL && drop[i] != NULL; i++)
		if (strcasecmp(name, drop[i]) == 0)
			return 1;
	return 0;
}

/* Appends s to the growable *buf. */
static void
append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

char *
graph_odata_link(const struct graph_sim *sim, const struct graph_req *req,
    const char *const *drop, const char *name, const char *value)
{
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap), *path, *url;
	int first = 1;

	buf[0] = '\0';
	path = httpc_encode(req->path, HTTPC_UNRESERVED "/$'(),:@", HTTPC_PERCENT);
	append(&buf, &len, &cap, "/v1.0");
	append(&buf, &len, &cap, path);
	free(path);
	for (int i = 0; i < req->nquery; i++) {
		char *v;

		if (dropped(req->query[i].name, drop) ||
		    (name != NULL && strcasecmp(req->query[i].name, name) == 0))
			continue;
		append(&buf, &len, &cap, first ? "?" : "&");
		first = 0;
		v = graph_odata_escape(req->query[i].name);
		append(&buf, &len, &cap, v);
		free(v);
		append(&buf, &len, &cap, "=");
		v = graph_odata_escape(req->query[i].value);
		append(&buf, &len, &cap, v);
		free(v);
	}
	if (name != NULL) {
		char *v = graph_odata_escape(value);

		append(&buf, &len, &cap, first ? "?" : "&");
		append(&buf, &len, &cap, name);
		append(&buf, &len, &cap, "=");
		append(&buf, &len, &cap, v);
		free(v);
	}
	url = graph_url(sim, buf);
	free(buf);
	return url;
}
