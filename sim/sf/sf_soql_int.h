/* sf_soql_int.h: what the SOQL lexer (sf_soql_lex.c), parser (sf_soql_parse.c) and
 * translator/executor (sf_soql.c) share. Not for other modules: use sf_soql.h.
 * The parser resolves every name against the schema and types every literal, so the translator
 * only emits SQL and never reports a user error. */
#ifndef SF_SOQL_INT_H
#define SF_SOQL_INT_H

#include <stddef.h>
#include <time.h>

#include "sf_error.h"
#include "sf_schema.h"

#define SOQL_MAX_STRING		4000	/* characters in one string literal, like Salesforce */
#define SOQL_MAX_DEPTH		32	/* nested parentheses / NOT in WHERE */
#define SOQL_MAX_PARAMS		30000	/* below SQLite's 32766 bound parameters */
#define SOQL_MAX_RELS		16	/* distinct parent relationships in one query */
#define SOQL_MAX_TARGETS	8	/* objects one polymorphic reference may point to */
#define SOQL_MAX_JOINS		60	/* SQLite joins at most 64 tables */
#define SOQL_EXCERPT_REACH	36	/* characters shown either side in positioned errors */

enum soql_tok {
	TOK_EOF,
	TOK_IDENT,		/* Name, Account.Name, SELECT, LAST_N_DAYS */
	TOK_STRING,		/* '...', still escaped: decoded by the parser, which knows LIKE */
	TOK_NUMBER,		/* 12, -3, 4.5 */
	TOK_DATE,		/* 2024-01-31 */
	TOK_DATETIME,		/* 2024-01-31T10:00:00Z */
	TOK_COMMA,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_COLON,
	TOK_OP,			/* = != <> < > <= >= */
};

struct soql_token {
	enum soql_tok type;
	size_t pos;		/* byte offset in the query */
	size_t len;
};

/* Splits q into tokens ending with TOK_EOF. Caller frees *toks. -1 with err filled. */
int soql_lex(const char *q, struct soql_token **toks, size_t *ntoks, struct sf_error *err);

/* Fills err with Salesforce's positioned form "\n<excerpt>\n<spaces>^\nERROR at Row:R:Column:C\n
 * <message>" pointing at byte pos of q. Returns -1. */
int soql_error_at(struct sf_error *err, const char *q, size_t pos, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A parent relationship the query walks (Account, Who): one LEFT JOIN per possible target. */
struct soql_rel {
	const struct sf_field *ref;	/* AccountId, WhoId */
	const struct sf_object *targets[SOQL_MAX_TARGETS];
	size_t ntargets;
	int polymorphic;		/* attributes.type is "Name", like Salesforce */
	int first_join;			/* joins are j<first_join> .. j<first_join + ntargets - 1> */
	int id_col;			/* result column of the parent id, -1 until selected */
};

/* A field reference resolved against the schema. */
struct soql_path {
	const struct sf_field *field;	/* on the FROM object, or on the first target having it */
	int rel;			/* index in soql_query.rels, -1 for the FROM object */
	enum sf_ftype type;
};

enum soql_agg { AGG_NONE, AGG_COUNT, AGG_MIN, AGG_MAX, AGG_SUM, AGG_AVG };

struct soql_item {
	struct soql_path path;
	enum soql_agg agg;
	int count_star;			/* COUNT(): counts rows, not a field */
	char *key;			/* output key: alias or expr<n>; NULL for plain fields */
};

/* A literal after typing against its field: what gets bound. */
enum soql_vkind { V_NULL, V_TEXT, V_INT, V_REAL, V_RANGE };

struct soql_value {
	enum soql_vkind kind;
	char *text;			/* V_TEXT, and V_RANGE's lower bound (inclusive) */
	char *hi;			/* V_RANGE upper bound (exclusive) */
	long long i;
	double d;
};

enum soql_op { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE, OP_IN, OP_NOT_IN, OP_LIKE };
enum soql_ckind { C_AND, C_OR, C_NOT, C_PRED };

struct soql_cond {
	enum soql_ckind kind;
	struct soql_cond **kids;	/* AND/OR: n operands; NOT: one */
	size_t nkids;
	struct soql_path path;		/* C_PRED */
	enum soql_op op;
	struct soql_value *vals;
	size_t nvals;
};

struct soql_order {
	struct soql_path path;
	int desc;
	int nulls_first;
};

struct soql_query {
	const struct sf_object *obj;
	int count_only;			/* SELECT COUNT() */
	int aggregate;			/* COUNT(f), MAX(f) ...: one AggregateResult row */
	struct soql_item *items;
	size_t nitems;
	struct soql_rel rels[SOQL_MAX_RELS];
	size_t nrels;
	int njoins;
	struct soql_cond *where;
	struct soql_order *order;
	size_t norder;
	long limit;			/* -1: none */
	long offset;			/* 0: none */
};

/* Parses and resolves q; -1 with err filled. Free q with soql_query_free even on failure. */
int soql_parse(const char *q, const struct sf_schema *schema, time_t now,
    struct soql_query *query, struct sf_error *err);
void soql_query_free(struct soql_query *query);

#endif
