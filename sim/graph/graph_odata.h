/* graph_odata.h: the OData query options graph-sim understands, parsed once: $select, $top,
 * $skip, $filter (the few forms Graph supports on the paths we serve), $orderby, and paging
 * links. */
#ifndef GRAPH_ODATA_H
#define GRAPH_ODATA_H

#include <jansson.h>

#include "graph_sim.h"

/* $select=a,b → 1 when field is selected (case-insensitive) or when there is no $select.
 * "id" is always selected. */
int graph_odata_selected(const struct graph_req *req, const char *field);
/* Removes from obj every key not selected (keeps "id" and "@odata.*" keys). */
void graph_odata_apply_select(const struct graph_req *req, json_t *obj);
/* $top as a number in [1, max], dflt when absent; -1 with a 400 reply when malformed. */
long graph_odata_top(const struct graph_req *req, long dflt, long max, struct graph_reply *reply);

/* The same two on a $select value given as text (NULL or "" = everything), for requests whose
 * options come from a stored delta token rather than the URL. Names are trimmed of spaces. */
int graph_odata_select_has(const char *select, const char *field);
void graph_odata_select_apply(const char *select, json_t *obj);
/* The first name in select that is not in the NULL-terminated known list (case-insensitive),
 * copied into bad; 0 when every name is known (or select is NULL), -1 when one is not or a name
 * is empty ("a,,b"). */
int graph_odata_select_check(const char *select, const char *const *known, char *bad,
    size_t badlen);
/* The canonical spelling (from known) of each selected name, comma-separated, for
 * @odata.context ("users(id,mail)"). Caller frees; NULL when select is NULL or "". */
char *graph_odata_select_canonical(const char *select, const char *const *known);

/* $top parsing with the error Graph's family gives: code and a message format with one %s (the
 * value as sent). Out-of-range values are errors too (Graph rejects, it does not clamp). */
long graph_odata_top_as(const struct graph_req *req, long dflt, long max, const char *code,
    const char *fmt, struct graph_reply *reply);
/* A non-negative integer of at most 9 digits: 0 and *out, or -1. */
int graph_odata_parse_count(const char *s, long *out);

/* ISO 8601 date-time with 'Z' or a ±hh:mm offset, optional seconds and fraction
 * ("2024-05-24T12:52:15.123+02:00"), normalized to UTC "2024-05-24T10:52:15Z" (fraction
 * dropped). len is the text's length. 0 or -1. */
int graph_odata_parse_datetime(const char *s, size_t len, char out[32]);

/* $filter: one or more terms joined by "and" (or all by "or"): prop op literal, with op one of
 * eq ne gt ge lt le, or startswith(prop,'text'). Literals: 'string' ('' is a quote), true,
 * false, and unquoted date-times for datetime properties. */
enum graph_filter_kind {
	GRAPH_FILTER_STRING,
	GRAPH_FILTER_DATETIME,
	GRAPH_FILTER_BOOL,
};

enum graph_filter_op {
	GRAPH_OP_EQ = 1 << 0,
	GRAPH_OP_NE = 1 << 1,
	GRAPH_OP_GT = 1 << 2,
	GRAPH_OP_GE = 1 << 3,
	GRAPH_OP_LT = 1 << 4,
	GRAPH_OP_LE = 1 << 5,
	GRAPH_OP_STARTSWITH = 1 << 6,
};

/* A property a path lets clients filter on: name (canonical spelling, matched
 * case-insensitively), its type, the operators allowed (a mask of graph_filter_op). */
struct graph_filter_prop {
	const char *name;
	enum graph_filter_kind kind;
	int ops;
};

#define GRAPH_FILTER_MAX_TERMS	8

struct graph_filter_term {
	const struct graph_filter_prop *prop;	/* points into the caller's table */
	enum graph_filter_op op;
	char value[512];		/* string unquoted; date-time normalized; "true"/"false" */
};

struct graph_filter {
	struct graph_filter_term terms[GRAPH_FILTER_MAX_TERMS];
	int nterms;
	int any;			/* terms joined by "or" rather than "and" */
};

enum graph_filter_result {
	GRAPH_FILTER_OK = 0,
	GRAPH_FILTER_SYNTAX = -1,	/* not a filter we can read */
	GRAPH_FILTER_UNSUPPORTED = -2,	/* a property or operator the path does not support;
					 * err holds the property name */
};

/* Parses text against props (terminated by a NULL name). err gets a short reason (or the
 * property name for GRAPH_FILTER_UNSUPPORTED). */
enum graph_filter_result graph_odata_filter_parse(const char *text,
    const struct graph_filter_prop *props, struct graph_filter *out, char *err, size_t errlen);
/* SQL operator for op ("=", "<>", ">", ">=", "<", "<="); "" for startswith. */
const char *graph_odata_sql_op(enum graph_filter_op op);

/* $orderby=prop [asc|desc][, ...] against the NULL-terminated allowed list. */
#define GRAPH_ORDERBY_MAX 4
struct graph_orderby {
	const char *prop[GRAPH_ORDERBY_MAX];	/* canonical names from allowed */
	int desc[GRAPH_ORDERBY_MAX];
	int n;
};
/* 0, or -1 with the offending name (or a reason) in err. */
int graph_odata_orderby_parse(const char *text, const char *const *allowed,
    struct graph_orderby *out, char *err, size_t errlen);

/* Absolute link to the request's own path with its query options, except those named in the
 * NULL-terminated drop list, plus name=value at the end (name may be NULL):
 * base_url + "/v1.0" + path + "?" + ... Values are percent-encoded. Caller frees. */
char *graph_odata_link(const struct graph_sim *sim, const struct graph_req *req,
    const char *const *drop, const char *name, const char *value);
/* Percent-encodes s for a link, keeping what Graph's own links keep readable
 * (unreserved characters and $ ' ( ) , : @). Caller frees. */
char *graph_odata_escape(const char *s);

#endif
