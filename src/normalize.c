/* normalize.c: canonical message ids, external-ID digests, addresses, Salesforce-length text and
 * SOQL literals (see normalize.h). Everything works on bytes with its own UTF-8 decoder, so
 * the locale never changes a result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "normalize.h"
#include "xmalloc.h"

/* A growable string; every allocation aborts on failure, so appends cannot fail. */
struct buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void
buf_grow(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	while (b->len + more + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 64;
	b->s = xrealloc(b->s, b->cap);
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* Hands the string over; an empty buf still yields "". */
static char *
buf_take(struct buf *b)
{
	char *s;

	if (b->s == NULL)
		return xstrdup("");
	s = b->s;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* [*start, *end) without the ASCII white space at both ends. */
static void
trim(const char **start, const char **end)
{
	while (*start < *end && is_space(**start))
		(*start)++;
	while (*end > *start && is_space((*end)[-1]))
		(*end)--;
}

int
normalize_utf8_next(const char *s, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c, min;
	int n, i;

	if (u[0] == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		n = 2, c = u[0] & 0x1F, min = 0x80;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		n = 3, c = u[0] & 0x0F, min = 0x800;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		n = 4, c = u[0] & 0x07, min = 0x10000;
	} else
		return -1;	/* continuation byte, C0/C1 overlong lead, or F5..FF */
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return -1;	/* includes the NUL of a truncated sequence */
		c = (c << 6) | (u[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	return n;
}

/* 1 if the n bytes at s are valid UTF-8 with no NUL. */
static int
utf8_valid(const char *s, size_t n)
{
	const char *end = s + n;
	uint32_t cp;
	int len;

	while (s < end) {
		len = normalize_utf8_next(s, &cp);
		if (len <= 0 || len > end - s)
			return 0;
		s += len;
	}
	return 1;
}

char *
normalize_message_id(const char *raw, char *err, size_t errlen)
{
	const char *start = raw, *end, *p, *at = NULL;
	char *id;
	size_t len;

	if (raw == NULL)
		return err_set(err, errlen, "message id missing"), NULL;
	end = raw + strlen(raw);
	trim(&start, &end);
	/* RFC 5322 3.6.4: the brackets are not part of the msg-id. */
	if (start < end && *start == '<') {
		if (end - start < 2 || end[-1] != '>')
			return err_set(err, errlen, "message id has an unbalanced '<'"), NULL;
		start++, end--;
	} else if (start < end && end[-1] == '>')
		return err_set(err, errlen, "message id has an unbalanced '>'"), NULL;
	len = (size_t)(end - start);
	if (len == 0)
		return err_set(err, errlen, "message id empty"), NULL;
	if (len > NORMALIZE_MSGID_MAX)
		return err_set(err, errlen, "message id longer than %d bytes", NORMALIZE_MSGID_MAX),
		    NULL;
	for (p = start; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7F || c == '<' || c == '>')
			return err_set(err, errlen, "message id holds a space, control "
			    "character or angle bracket"), NULL;
		if (c == '@')
			at = p;
	}
	if (!utf8_valid(start, len))
		return err_set(err, errlen, "message id is not valid UTF-8"), NULL;
	id = xstrndup(start, len);
	if (at != NULL)
		for (p = id + (at - start) + 1; *p; p++)
			id[p - id] = lower(*p);
	return id;
}

void
normalize_digest(const char *norm_id, char out[NORMALIZE_DIGEST_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[CRYPTO_SHA256_LEN];
	int i;

	crypto_sha256(norm_id, strlen(norm_id), md);
	for (i = 0; i < NORMALIZE_DIGEST_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0F];
	}
	out[NORMALIZE_DIGEST_LEN] = '\0';
}

/* RFC 5322 atext less the letters and digits, which are checked apart. */
static int
is_atext_punct(char c)
{
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The dot-atom local part [s, s + n); 0 or -1 with the reason in err. */
static int
check_local(const char *s, size_t n, char *err, size_t errlen)
{
	size_t i;

	if (n == 0)
		return err_set(err, errlen, "address has an empty local part");
	if (n > NORMALIZE_LOCAL_MAX)
		return err_set(err, errlen, "address local part longer than %d bytes",
		    NORMALIZE_LOCAL_MAX);
	if (s[0] == '.' || s[n - 1] == '.')
		return err_set(err, errlen, "address local part starts or ends with a dot");
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return err_set(err, errlen, "address local part has two dots in a row");
		if (s[i] == '"')
			return err_set(err, errlen, "quoted local parts are not supported");
		if (s[i] != '.' && !is_alnum(s[i]) && !is_atext_punct(s[i]) &&
		    (unsigned char)s[i] < 0x80)
			return err_set(err, errlen, "address local part holds a character "
			    "not allowed unquoted");
	}
	return 0;
}

static int
check_domain(const char *s, size_t n, char *err, size_t errlen)
{
	size_t i, label = 0, nlabels = 1;
	int digits_only = 1;

	if (n == 0)
		return err_set(err, errlen, "address has an empty domain");
	if (s[0] == '[')
		return err_set(err, errlen, "domain literals are not supported");
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0)
				return err_set(err, errlen, "address domain has an empty label");
			if (s[i - 1] == '-' || s[i - label] == '-')
				return err_set(err, errlen, "address domain label starts or ends "
				    "with a hyphen");
			if (label > NORMALIZE_LABEL_MAX)
				return err_set(err, errlen, "address domain label longer than %d "
				    "bytes", NORMALIZE_LABEL_MAX);
			if (i == n)
				break;
			nlabels++;
			label = 0;
			digits_only = 1;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-' && (unsigned char)s[i] < 0x80)
			return err_set(err, errlen, "address domain holds a character not allowed "
			    "in a host name");
		if (s[i] < '0' || s[i] > '9')
			digits_only = 0;
		label++;
	}
	if (nlabels < 2)
		return err_set(err, errlen, "address domain has no dot");
	if (digits_only)
		return err_set(err, errlen, "address domain ends in a numeric label");
	return 0;
}

char *
normalize_address(const char *in, char *err, size_t errlen)
{
	const char *start = in, *end, *lt, *at;
	char *addr;
	size_t len, i;

	if (in == NULL)
		return err_set(err, errlen, "address missing"), NULL;
	end = in + strlen(in);
	trim(&start, &end);
	/* "Name <a@b>": the addr-spec is in the last bracket pair, which ends the text. A '<' in
	 * a quoted display name comes before it, so the last '<' is the right one. */
	if (start < end && end[-1] == '>') {
		for (lt = end - 1; lt > start && lt[-1] != '<'; lt--)
			;
		if (lt == start)
			return err_set(err, errlen, "address has an unbalanced '>'"), NULL;
		start = lt, end--;
		trim(&start, &end);
	}
	len = (size_t)(end - start);
	if (len == 0)
		return err_set(err, errlen, "address empty"), NULL;
	if (len > NORMALIZE_ADDRESS_MAX)
		return err_set(err, errlen, "address longer than %d bytes", NORMALIZE_ADDRESS_MAX),
		    NULL;
	if (!utf8_valid(start, len))
		return err_set(err, errlen, "address is not valid UTF-8"), NULL;
	at = memchr(start, '@', len);
	if (at == NULL)
		return err_set(err, errlen, "address has no '@'"), NULL;
	if (memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
		return err_set(err, errlen, "address has more than one '@'"), NULL;
	if (check_local(start, (size_t)(at - start), err, errlen) == -1 ||
	    check_domain(at + 1, (size_t)(end - at - 1), err, errlen) == -1)
		return NULL;
	addr = xstrndup(start, len);
	for (i = 0; i < len; i++)
		addr[i] = lower(addr[i]);
	return addr;
}

void
normalize_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Appends s to the NULL-terminated *v of *n entries. */
static void
strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* Normalizes the entry [start, end) and adds it unless empty or already there. */
static int
list_add(char ***v, size_t *n, const char *start, const char *end, size_t entry, char *err,
    size_t errlen)
{
	char why[128], *item, *addr;
	size_t i;

	trim(&start, &end);
	if (start == end)
		return 0;
	item = xstrndup(start, (size_t)(end - start));
	addr = normalize_address(item, why, sizeof(why));
	free(item);
	if (addr == NULL)
		return err_set(err, errlen, "entry %zu: %s", entry, why);
	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], addr) == 0) {
			free(addr);
			return 0;
		}
	strv_push(v, n, addr);
	return 0;
}

int
normalize_address_list(const char *in, char ***out, size_t *n, char *err, size_t errlen)
{
	const char *p, *start;
	char **v = NULL;
	size_t nv = 0, entry = 1;
	int quoted = 0, angle = 0, rc = -1;

	*out = NULL;
	*n = 0;
	if (in == NULL) {
		err_set(err, errlen, "address list missing");
		goto out;
	}
	for (p = start = in;; p++) {
		if (*p == '\0' || (!quoted && !angle && (*p == ',' || *p == ';'))) {
			if (list_add(&v, &nv, start, p, entry, err, errlen) == -1)
				goto out;
			if (*p == '\0')
				break;
			start = p + 1;
			entry++;
		} else if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"' && !angle)
			quoted = !quoted;
		else if (!quoted && *p == '<')
			angle = 1;
		else if (!quoted && *p == '>')
			angle = 0;
		else if (!quoted && !angle && *p == ':')
			start = p + 1;	/* "group-name:" opens a group; the name is no address */
	}
	if (quoted || angle) {
		err_set(err, errlen, "entry %zu: unterminated %s", entry, quoted ? "quote" : "'<'");
		goto out;
	}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	*out = v;
	*n = nv;
	v = NULL;
	rc = 0;
out:
	normalize_strv_free(v);
	return rc;
}

char *
normalize_truncate_utf8(const char *s, size_t max_chars)
{
	struct buf b = { 0 };
	size_t units = 0, w;
	uint32_t cp;
	int len;

	while ((len = normalize_utf8_next(s, &cp)) != 0) {
		w = len > 0 && cp > 0xFFFF ? 2 : 1;
		if (units + w > max_chars)
			break;
		units += w;
		if (len < 0) {
			buf_add(&b, "\xEF\xBF\xBD", 3);
			s++;
		} else {
			buf_add(&b, s, (size_t)len);
			s += len;
		}
	}
	return buf_take(&b);
}

char *
normalize_soql_quote(const char *s)
{
	struct buf b = { 0 };
	char u[8];
	uint32_t cp;
	int len;

	buf_addc(&b, '\'');
	while ((len = normalize_utf8_next(s, &cp)) != 0) {
		if (len < 0) {
			buf_add(&b, "\xEF\xBF\xBD", 3);
			s++;
			continue;
		}
		switch (cp) {
		case '\'': buf_add(&b, "\\'", 2); break;
		case '"': buf_add(&b, "\\\"", 2); break;
		case '\\': buf_add(&b, "\\\\", 2); break;
		case '\n': buf_add(&b, "\\n", 2); break;
		case '\r': buf_add(&b, "\\r", 2); break;
		case '\t': buf_add(&b, "\\t", 2); break;
		case '\b': buf_add(&b, "\\b", 2); break;
		case '\f': buf_add(&b, "\\f", 2); break;
		default:
			if (cp < 0x20 || cp == 0x7F) {
				snprintf(u, sizeof(u), "\\u%04X", (unsigned)cp);
				buf_add(&b, u, 6);
			} else
				buf_add(&b, s, (size_t)len);
		}
		s += len;
	}
	buf_addc(&b, '\'');
	return buf_take(&b);
}

size_t
normalize_url_encoded_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += is_alnum(*s) || *s == '-' || *s == '.' || *s == '_' || *s == '~' ? 1 : 3;
	return n;
}

int
normalize_soql_in_chunks(const char *head, const char *tail, const char *const *literals,
    size_t n, size_t budget, size_t max_items, char ***out, size_t *nout, char *err,
    size_t errlen)
{
	/* "(", ")" and "," are each %XX once encoded. */
	size_t fixed = normalize_url_encoded_len(head) + normalize_url_encoded_len(tail) + 6;
	size_t i = 0, used, k, w;
	struct buf b = { 0 };
	char **v = NULL;
	size_t nv = 0;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	while (i < n) {
		used = fixed;
		buf_add(&b, head, strlen(head));
		buf_addc(&b, '(');
		for (k = 0; i < n && (max_items == 0 || k < max_items); k++, i++) {
			w = normalize_url_encoded_len(literals[i]) + (k > 0 ? 3 : 0);
			if (used + w > budget)
				break;
			if (k > 0)
				buf_addc(&b, ',');
			buf_add(&b, literals[i], strlen(literals[i]));
			used += w;
		}
		if (k == 0) {
			err_set(err, errlen, "literal %zu does not fit a query of %zu bytes", i,
			    budget);
			goto out;
		}
		buf_addc(&b, ')');
		buf_add(&b, tail, strlen(tail));
		strv_push(&v, &nv, buf_take(&b));
	}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	*out = v;
	*nout = nv;
	v = NULL;
	rc = 0;
out:
	free(b.s);
	normalize_strv_free(v);
	return rc;
}
