/* sf_soql_lex.c: the SOQL lexer, and Salesforce's positioned error message form
 * ("\n<excerpt>\n   ^\nERROR at Row:1:Column:4\n<message>") shared by the parser. */
#include "sf_soql_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Characters that belong to one "word" of the excerpt: everything but blanks and separators. */
static int
is_word(char c)
{
	return c != '\0' && !isspace((unsigned char)c) && c != ',' && c != '(' && c != ')';
}

static void
line_bounds(const char *q, size_t pos, size_t *ls, size_t *le, int *row)
{
	size_t n = strlen(q);

	*row = 1;
	*ls = 0;
	for (size_t i = 0; i < pos && i < n; i++) {
		if (q[i] == '\n') {
			(*row)++;
			*ls = i + 1;
		}
	}
	*le = *ls;
	while (*le < n && q[*le] != '\n' && q[*le] != '\r')
		(*le)++;
}

/* Salesforce shows a window of whole words around the error, not the whole statement, so
 * long queries give the reader the neighbourhood; short ones come out entire. */
static void
excerpt_window(const char *q, size_t pos, size_t ls, size_t le, size_t *start, size_t *end)
{
	size_t s = pos > ls + SOQL_EXCERPT_REACH ? pos - SOQL_EXCERPT_REACH : ls;
	size_t e = pos + SOQL_EXCERPT_REACH < le ? pos + SOQL_EXCERPT_REACH : le;

	if (pos > le)
		pos = le;
	if (s > ls && is_word(q[s - 1]))
		while (s < pos && is_word(q[s]))
			s++;
	while (s < pos && (isspace((unsigned char)q[s]) || q[s] == ','))
		s++;
	if (e < le) {
		/* A word may be a 4,000-character string: keep the message room for the text. */
		if (e > pos && is_word(q[e - 1]))
			while (e < le && is_word(q[e]) && e < pos + 3 * SOQL_EXCERPT_REACH)
				e++;
		while (e > pos && (isspace((unsigned char)q[e - 1]) || q[e - 1] == ','))
			e--;
	}
	*start = s;
	*end = e;
}

int
soql_error_at(struct sf_error *err, const char *q, size_t pos, const char *code,
    const char *fmt, ...)
{
	char msg[1024];
	size_t ls, le, s, e;
	int row;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line_bounds(q, pos, &ls, &le, &row);
	excerpt_window(q, pos, ls, le, &s, &e);
	return sf_error_set(err, 400, code, "\n%.*s\n%*s^\nERROR at Row:%d:Column:%zu\n%s",
	    (int)(e - s), q + s, (int)(pos - s), "", row, pos - ls + 1, msg);
}

/* ANTLR-style lexer errors: Salesforce reports these with a 0-based column in both places. */
static int
lex_error(struct sf_error *err, const char *q, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
lex_error(struct sf_error *err, const char *q, size_t pos, const char *fmt, ...)
{
	char msg[256];
	size_t ls, le;
	int row;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line_bounds(q, pos, &ls, &le, &row);
	return soql_error_at(err, q, pos > ls ? pos - 1 : pos, "MALFORMED_QUERY",
	    "line %d:%zu %s", row, pos - ls, msg);
}

static int
is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int
is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static size_t
scan_digits(const char *s)
{
	size_t n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

/* A dotted name (Account.Name) is one token, so errors point at the whole path. */
static size_t
scan_ident(const char *s)
{
	size_t n = 0;

	for (;;) {
		while (is_ident_char(s[n]))
			n++;
		if (s[n] != '.' || !is_ident_start(s[n + 1]))
			return n;
		n++;
	}
}

/* YYYY-MM-DD, optionally followed by THH:MM:SS[.fff](Z|+HH:MM|+HHMM): shape only, the parser
 * checks the calendar. Returns the length and the token type, or 0. */
static size_t
scan_date(const char *s, enum soql_tok *type)
{
	size_t n;

	if (scan_digits(s) != 4 || s[4] != '-' || scan_digits(s + 5) != 2 || s[7] != '-' ||
	    scan_digits(s + 8) != 2)
		return 0;
	n = 10;
	*type = TOK_DATE;
	if (s[n] != 'T' || !isdigit((unsigned char)s[n + 1]))
		return n;
	n++;
	while (isdigit((unsigned char)s[n]) || s[n] == ':' || s[n] == '.')
		n++;
	if (s[n] == 'Z' || s[n] == 'z') {
		n++;
	} else if ((s[n] == '+' || s[n] == '-') && isdigit((unsigned char)s[n + 1])) {
		n++;
		while (isdigit((unsigned char)s[n]) || s[n] == ':')
			n++;
	}
	*type = TOK_DATETIME;
	return n;
}

static size_t
scan_number(const char *s)
{
	size_t n = 0;

	if (s[0] == '-' || s[0] == '+')
		n++;
	n += scan_digits(s + n);
	if (s[n] == '.' && isdigit((unsigned char)s[n + 1]))
		n += 1 + scan_digits(s + n + 1);
	return n;
}

/* Finds the closing quote; escapes are checked later, when the parser decodes the value. */
static int
scan_string(const char *q, size_t pos, size_t *len, struct sf_error *err)
{
	size_t i = pos + 1;

	for (;;) {
		if (q[i] == '\0')
			return lex_error(err, q, i, "mismatched character '<EOF>' expecting '''");
		if (q[i] == '\\' && q[i + 1] != '\0') {
			i += 2;
			continue;
		}
		if (q[i] == '\'')
			break;
		i++;
	}
	*len = i + 1 - pos;
	return 0;
}

static size_t
scan_op(const char *s)
{
	if ((s[0] == '!' && s[1] == '=') || (s[0] == '<' && s[1] == '>') ||
	    (s[0] == '<' && s[1] == '=') || (s[0] == '>' && s[1] == '='))
		return 2;
	if (s[0] == '=' || s[0] == '<' || s[0] == '>')
		return 1;
	return 0;
}

static int
next_token(const char *q, size_t pos, struct soql_token *t, struct sf_error *err)
{
	const char *s = q + pos;
	size_t n;

	t->pos = pos;
	t->len = 1;
	if (*s == '\0') {
		t->type = TOK_EOF;
		t->len = 0;
	} else if (is_ident_start(*s)) {
		t->type = TOK_IDENT;
		t->len = scan_ident(s);
	} else if (isdigit((unsigned char)*s) && (n = scan_date(s, &t->type)) > 0) {
		t->len = n;
	} else if (isdigit((unsigned char)*s) || ((*s == '-' || *s == '+') &&
	    isdigit((unsigned char)s[1]))) {
		t->type = TOK_NUMBER;
		t->len = scan_number(s);
	} else if (*s == '\'') {
		t->type = TOK_STRING;
		return scan_string(q, pos, &t->len, err);
	} else if (*s == ',') {
		t->type = TOK_COMMA;
	} else if (*s == '(') {
		t->type = TOK_LPAREN;
	} else if (*s == ')') {
		t->type = TOK_RPAREN;
	} else if (*s == ':') {
		t->type = TOK_COLON;
	} else if ((n = scan_op(s)) > 0) {
		t->type = TOK_OP;
		t->len = n;
	} else {
		return lex_error(err, q, pos, "no viable alternative at character '%c'", *s);
	}
	return 0;
}

int
soql_lex(const char *q, struct soql_token **toks, size_t *ntoks, struct sf_error *err)
{
	size_t pos = 0, n = 0, cap = 16;
	struct soql_token *v = xmalloc(cap * sizeof(*v));

	for (;;) {
		while (isspace((unsigned char)q[pos]))
			pos++;
		if (n == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		if (next_token(q, pos, &v[n], err) < 0) {
			free(v);
			return -1;
		}
		pos = v[n].pos + v[n].len;
		if (v[n++].type == TOK_EOF)
			break;
	}
	*toks = v;
	*ntoks = n;
	return 0;
}
