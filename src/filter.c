/* filter.c: the skip rules, counterparts and automated-mail detection of filter.h. Header values
 * come from the sender, so they are only compared, never copied into a decision or a log. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "filter.h"

static const char *const automated_locals[] = {
	"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
	"mailer-daemon", "mailerdaemon", "postmaster", "bounce", "bounces", "notification",
	"notifications",
};

static const char *
domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

/* 1 if domain is d or a subdomain of it, ignoring case. */
static int
domain_match(const char *domain, const char *d)
{
	size_t n = strlen(domain), dn = strlen(d);

	if (dn == 0 || n < dn || strcasecmp(domain + n - dn, d) != 0)
		return 0;
	return n == dn || domain[n - dn - 1] == '.';
}

static int
domain_in(const char *domain, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] != NULL && domain_match(domain, list[i]))
			return 1;
	return 0;
}

int
filter_is_internal(const char *address, const struct filter_policy *p)
{
	return domain_in(domain_of(address), p->internal_domains, p->ninternal);
}

/* [s, s + n) without white space at the ends, compared to word ignoring case. */
static int
value_is(const char *s, size_t n, const char *word)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
	    s[n - 1] == '\n'))
		n--;
	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

enum filter_sensitivity
filter_sensitivity_parse(const char *value)
{
	size_t n;

	if (value == NULL)
		return FILTER_SENS_NORMAL;
	n = strlen(value);
	if (value_is(value, n, "personal"))
		return FILTER_SENS_PERSONAL;
	if (value_is(value, n, "private"))
		return FILTER_SENS_PRIVATE;
	if (value_is(value, n, "company-confidential") || value_is(value, n, "confidential"))
		return FILTER_SENS_CONFIDENTIAL;
	return FILTER_SENS_NORMAL;
}

/* The first header called name, or NULL. */
static const char *
header(const struct filter_message *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (m->headers[i].name != NULL && m->headers[i].value != NULL &&
		    strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

/* The strictest Sensitivity of the property and every such header. */
static enum filter_sensitivity
sensitivity(const struct filter_message *m)
{
	enum filter_sensitivity s = m->sensitivity, h;
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (m->headers[i].name != NULL &&
		    strcasecmp(m->headers[i].name, "sensitivity") == 0) {
			h = filter_sensitivity_parse(m->headers[i].value);
			if (h > s)
				s = h;
		}
	return s;
}

static const char *const sensitivity_names[] = {
	[FILTER_SENS_NORMAL] = "normal",
	[FILTER_SENS_PERSONAL] = "personal",
	[FILTER_SENS_PRIVATE] = "private",
	[FILTER_SENS_CONFIDENTIAL] = "confidential",
};

/* Calls fn on every participant address that is not NULL; stops at a non-zero return. */
static int
each_participant(const struct filter_message *m, int (*fn)(const char *, const void *),
    const void *arg)
{
	size_t i;
	int rc;

	if (m->from != NULL && (rc = fn(m->from, arg)) != 0)
		return rc;
	for (i = 0; i < m->nto; i++)
		if (m->to[i] != NULL && (rc = fn(m->to[i], arg)) != 0)
			return rc;
	for (i = 0; i < m->ncc; i++)
		if (m->cc[i] != NULL && (rc = fn(m->cc[i], arg)) != 0)
			return rc;
	return 0;
}

struct block_ctx {
	const struct filter_policy	*p;
	struct filter_decision		*d;
};

static int
blocked(const char *address, const void *arg)
{
	const struct block_ctx *c = arg;
	const struct filter_policy *p = c->p;
	size_t i;

	for (i = 0; i < p->nblocked_addresses; i++)
		if (p->blocked_addresses[i] != NULL &&
		    strcasecmp(address, p->blocked_addresses[i]) == 0) {
			snprintf(c->d->detail, sizeof(c->d->detail), "blocked address %s", address);
			return 1;
		}
	for (i = 0; i < p->nblocked_domains; i++)
		if (p->blocked_domains[i] != NULL &&
		    domain_match(domain_of(address), p->blocked_domains[i])) {
			snprintf(c->d->detail, sizeof(c->d->detail), "blocked domain %s",
			    p->blocked_domains[i]);
			return 1;
		}
	return 0;
}

static int
any(const char *address, const void *arg)
{
	(void)address, (void)arg;
	return 1;
}

/* 1 for an external participant: stops the walk. */
static int
external(const char *address, const void *arg)
{
	return !filter_is_internal(address, arg);
}

static enum filter_reason
decided(struct filter_decision *d, enum filter_reason r, const char *detail)
{
	d->reason = r;
	if (detail != NULL)
		snprintf(d->detail, sizeof(d->detail), "%s", detail);
	return r;
}

enum filter_reason
filter_decide(const struct filter_message *m, const struct filter_policy *p,
    struct filter_decision *d)
{
	/* cppcheck-suppress ctuuninitvar ; d is only stored here, written below before any read */
	struct block_ctx bc = { p, d };
	enum filter_sensitivity s;
	const char *one;

	d->detail[0] = '\0';
	if (m->is_draft)
		return decided(d, FILTER_SKIP_DRAFT, "draft");
	s = sensitivity(m);
	if (p->skip_sensitivity & FILTER_SENS_BIT(s)) {
		snprintf(d->detail, sizeof(d->detail), "sensitivity %s", sensitivity_names[s]);
		return decided(d, FILTER_SKIP_SENSITIVITY, NULL);
	}
	if (each_participant(m, blocked, &bc))
		return decided(d, FILTER_SKIP_BLOCKED, NULL);
	if (each_participant(m, any, NULL) == 0)
		return decided(d, FILTER_SKIP_NO_COUNTERPART, "no valid participant");
	if (each_participant(m, external, p) == 0)
		return decided(d, FILTER_SKIP_INTERNAL_ONLY, "every participant internal");
	if (filter_counterparts(m, p, &one, 1) == 0)
		return decided(d, FILTER_SKIP_NO_COUNTERPART, m->direction == FILTER_INBOUND ?
		    "inbound from an internal or missing sender" :
		    "outbound with no external recipient");
	return decided(d, FILTER_LOG, "");
}

static int
seen(const char **out, size_t n, const char *address)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(out[i], address) == 0)
			return 1;
	return 0;
}

size_t
filter_counterparts(const struct filter_message *m, const struct filter_policy *p,
    const char **out, size_t max)
{
	const char *const *lists[2] = { m->to, m->cc };
	size_t counts[2] = { m->nto, m->ncc };
	size_t n = 0, l, i;

	if (m->direction == FILTER_INBOUND) {
		if (m->from != NULL && max > 0 && !filter_is_internal(m->from, p))
			out[n++] = m->from;
		return n;
	}
	for (l = 0; l < 2; l++)
		for (i = 0; i < counts[l] && n < max; i++) {
			const char *a = lists[l][i];

			if (a != NULL && !filter_is_internal(a, p) && !seen(out, n, a))
				out[n++] = a;
		}
	return n;
}

/* The local part up to any +tag is one of the automated senders. */
static int
automated_sender(const char *address)
{
	const char *at = strrchr(address, '@'), *plus;
	size_t n, i;

	if (at == NULL)
		return 0;
	plus = memchr(address, '+', (size_t)(at - address));
	n = (size_t)((plus != NULL ? plus : at) - address);
	for (i = 0; i < sizeof(automated_locals) / sizeof(automated_locals[0]); i++)
		if (strlen(automated_locals[i]) == n &&
		    strncasecmp(address, automated_locals[i], n) == 0)
			return 1;
	return 0;
}

/* The header value's first token: up to ';', '(' or white space after leading blanks. */
static int
first_token_is(const char *v, const char *word)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "; \t\r\n(");
	return n == strlen(word) && strncasecmp(v, word, n) == 0;
}

int
filter_is_automated(const struct filter_message *m, const char **why)
{
	const char *v;
	const char *const present[] = { "List-Id", "List-Unsubscribe", "X-Autoreply",
	    "X-Autorespond", "X-Autogenerated" };
	size_t i;

	*why = NULL;
	/* RFC 3834: "no" is the only value meaning a human sent it; an empty one is malformed
	 * and taken as automated, since that is what sets the header at all. */
	if ((v = header(m, "Auto-Submitted")) != NULL && !first_token_is(v, "no"))
		return *why = "Auto-Submitted", 1;
	if ((v = header(m, "Precedence")) != NULL && (first_token_is(v, "bulk") ||
	    first_token_is(v, "list") || first_token_is(v, "junk") ||
	    first_token_is(v, "auto_reply")))
		return *why = "Precedence", 1;
	for (i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		if (header(m, present[i]) != NULL)
			return *why = present[i], 1;
	if ((v = header(m, "Return-Path")) != NULL) {
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncmp(v, "<>", 2) == 0 && strspn(v + 2, " \t\r\n") == strlen(v + 2))
			return *why = "Return-Path <>", 1;
	}
	if (m->from != NULL && automated_sender(m->from))
		return *why = "automated sender", 1;
	return 0;
}

const char *
filter_reason_name(enum filter_reason r)
{
	switch (r) {
	case FILTER_LOG: return "log";
	case FILTER_SKIP_DRAFT: return "draft";
	case FILTER_SKIP_SENSITIVITY: return "sensitivity";
	case FILTER_SKIP_BLOCKED: return "blocked";
	case FILTER_SKIP_INTERNAL_ONLY: return "internal_only";
	case FILTER_SKIP_NO_COUNTERPART: return "no_counterpart";
	}
	return "unknown";
}
