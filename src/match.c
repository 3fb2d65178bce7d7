/* match.c: finds who an email is with in Salesforce (Contacts, then unconverted Leads), the one
 * open Opportunity to relate a Contact's activity to, and the User behind a rep's mailbox. Every
 * lookup is a batch of SOQL IN queries, five to a /composite call (see match.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "log.h"
#include "match.h"
#include "normalize.h"
#include "xmalloc.h"

/* The tie-break keys of the record currently chosen for out[i]. Salesforce prints datetimes in
 * one canonical UTC form ("2024-05-01T10:00:00.000+0000"), so they order as text. */
struct pick {
	char created[40];
	char modified[40];
};

static void
local_failure(struct remote_failure *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A failure of ours rather than the service's (a value that cannot be queried): retrying it as
 * is will not help, so it is final. */
static void
local_failure(struct remote_failure *f, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->cls = REMOTE_FINAL;
	snprintf(f->code, sizeof(f->code), "OLSYNC_INVALID_INPUT");
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

static int
cmp_ci(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *
field(json_t *rec, const char *name)
{
	return json_string_value(json_object_get(rec, name));
}

static void
copy_id(char dst[MATCH_ID_LEN + 1], const char *src)
{
	snprintf(dst, MATCH_ID_LEN + 1, "%s", src ? src : "");
}

int
match_query_in(struct sf_client *sf, const char *head, const char *tail,
    const char *const *values, size_t n, json_t **records, struct remote_failure *f)
{
	const char **uniq = NULL;
	char **lits = NULL, **queries = NULL, err[256];
	size_t nuniq = 0, nq = 0;
	json_t *all = json_array();
	int rc = -1;

	*records = NULL;
	memset(f, 0, sizeof(*f));
	/* SOQL compares text case-insensitively, so "A@x" and "a@x" are one literal. */
	uniq = xcalloc(n ? n : 1, sizeof(*uniq));
	for (size_t i = 0; i < n; i++)
		if (values[i] != NULL && values[i][0] != '\0')
			uniq[nuniq++] = values[i];
	qsort(uniq, nuniq, sizeof(*uniq), cmp_ci);
	lits = xcalloc(nuniq ? nuniq : 1, sizeof(*lits));
	{
		size_t k = 0;

		for (size_t i = 0; i < nuniq; i++)
			if (k == 0 || strcasecmp(uniq[i], uniq[i - 1]) != 0)
				lits[k++] = normalize_soql_quote(uniq[i]);
		nuniq = k;
	}
	if (normalize_soql_in_chunks(head, tail, (const char *const *)lits, nuniq,
	    NORMALIZE_SOQL_QUERY_BUDGET, 0, &queries, &nq, err, sizeof(err)) == -1) {
		local_failure(f, "lookup cannot be queried: %s", err);
		goto out;
	}
	for (size_t i = 0; i < nq; i += SF_CLIENT_COMPOSITE_QUERIES) {
		size_t m = nq - i < SF_CLIENT_COMPOSITE_QUERIES ? nq - i : SF_CLIENT_COMPOSITE_QUERIES;
		json_t *res = NULL;

		if (sf_client_queries(sf, (const char *const *)queries + i, m, &res, f) == -1)
			goto out;
		for (size_t q = 0; q < m; q++)
			json_array_extend(all, json_array_get(res, q));
		json_decref(res);
	}
	*records = all;
	all = NULL;
	rc = 0;
out:
	for (size_t i = 0; i < nuniq; i++)
		free(lits[i]);
	free(lits);
	free(uniq);
	normalize_strv_free(queries);
	json_decref(all);
	return rc;
}

/* 1 when the record with (created, modified, id) beats the one chosen so far per policy. */
static int
better(enum config_tie_break policy, const char *created, const char *modified, const char *id,
    const struct pick *cur, const char *cur_id)
{
	int c;

	switch (policy) {
	case CONFIG_TIE_BREAK_NEWEST:
		c = strcmp(created, cur->created);
		return c > 0 || (c == 0 && strcmp(id, cur_id) > 0);
	case CONFIG_TIE_BREAK_MODIFIED:
		c = strcmp(modified, cur->modified);
		return c > 0 || (c == 0 && strcmp(id, cur_id) > 0);
	case CONFIG_TIE_BREAK_OLDEST:
	default:
		c = strcmp(created, cur->created);
		return c < 0 || (c == 0 && strcmp(id, cur_id) < 0);
	}
}

/* Folds Contact or Lead records into out: each record is a candidate for every entry with its
 * address; the policy picks among them. */
static void
fold_people(json_t *records, int is_lead, enum config_tie_break policy,
    struct match_person *out, struct pick *picks, size_t n)
{
	size_t r;
	json_t *rec;

	json_array_foreach(records, r, rec) {
		const char *id = field(rec, "Id"), *email = field(rec, "Email");
		const char *created = field(rec, "CreatedDate"), *mod = field(rec, "LastModifiedDate");
		const char *acct = is_lead ? NULL : field(rec, "AccountId");

		if (id == NULL || email == NULL)
			continue;
		created = created ? created : "";
		mod = mod ? mod : "";
		for (size_t i = 0; i < n; i++) {
			if (strcasecmp(out[i].address, email) != 0)
				continue;
			/* A Contact found earlier wins over any Lead. */
			if (is_lead && out[i].id[0] != '\0' && !out[i].is_lead)
				continue;
			out[i].candidates++;
			if (out[i].id[0] != '\0' &&
			    !better(policy, created, mod, id, &picks[i], out[i].id))
				continue;
			copy_id(out[i].id, id);
			copy_id(out[i].account_id, acct);
			out[i].is_lead = is_lead;
			snprintf(picks[i].created, sizeof(picks[i].created), "%s", created);
			snprintf(picks[i].modified, sizeof(picks[i].modified), "%s", mod);
		}
	}
}

/* With SINGLE_OPEN: a Contact's opportunity_id is its open Opportunity when it has exactly one
 * (counted by distinct OpportunityId: one Contact may hold two roles on one deal). */
static int
match_opportunities(struct sf_client *sf, struct match_person *out, size_t n,
    struct remote_failure *f)
{
	const char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	int *count = xcalloc(n ? n : 1, sizeof(*count));
	json_t *records = NULL, *rec;
	size_t nids = 0, r;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		if (out[i].id[0] != '\0' && !out[i].is_lead)
			ids[nids++] = out[i].id;
	if (nids == 0) {
		rc = 0;
		goto out;
	}
	/* IsPrimary and CloseDate are read for the policies to come (primary role, nearest close). */
	if (match_query_in(sf, "SELECT OpportunityId, ContactId, IsPrimary, Opportunity.CloseDate "
	    "FROM OpportunityContactRole WHERE ContactId IN ", " AND Opportunity.IsClosed = false",
	    ids, nids, &records, f) == -1)
		goto out;
	json_array_foreach(records, r, rec) {
		const char *opp = field(rec, "OpportunityId"), *contact = field(rec, "ContactId");

		if (opp == NULL || contact == NULL)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (out[i].is_lead || strcmp(out[i].id, contact) != 0)
				continue;
			if (count[i] == 0 || strcmp(out[i].opportunity_id, opp) != 0) {
				count[i]++;
				copy_id(out[i].opportunity_id, opp);
			}
		}
	}
	/* Roles arrive in any order, so two different deals may alternate: count[i] then
	 * overcounts, which still means "not exactly one". */
	for (size_t i = 0; i < n; i++)
		if (count[i] != 1)
			out[i].opportunity_id[0] = '\0';
	rc = 0;
out:
	json_decref(records);
	free(ids);
	free(count);
	return rc;
}

int
match_people(struct sf_client *sf, const struct config *cfg, const char *const *addresses,
    size_t n, struct match_person *out, struct remote_failure *f)
{
	struct pick *picks = xcalloc(n ? n : 1, sizeof(*picks));
	const char **want = xcalloc(n ? n : 1, sizeof(*want));
	json_t *records = NULL;
	size_t nwant = 0, contacts = 0, leads = 0, opps = 0;
	long calls = sf_client_calls(sf);
	int rc = -1;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].address, sizeof(out[i].address), "%s",
		    addresses[i] ? addresses[i] : "");
		for (char *p = out[i].address; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		want[i] = out[i].address;
	}
	if (match_query_in(sf, "SELECT Id, Email, AccountId, CreatedDate, LastModifiedDate "
	    "FROM Contact WHERE Email IN ", "", want, n, &records, f) == -1)
		goto out;
	fold_people(records, 0, cfg->tie_break, out, picks, n);
	json_decref(records);
	records = NULL;

	for (size_t i = 0; i < n; i++)
		if (out[i].id[0] == '\0')
			want[nwant++] = out[i].address;
		else
			contacts++;
	if (nwant > 0) {
		if (match_query_in(sf, "SELECT Id, Email, CreatedDate, LastModifiedDate FROM Lead "
		    "WHERE IsConverted = false AND Email IN ", "", want, nwant, &records, f) == -1)
			goto out;
		fold_people(records, 1, cfg->tie_break, out, picks, n);
	}
	for (size_t i = 0; i < n; i++)
		leads += out[i].is_lead;

	if (cfg->opportunity_policy == CONFIG_OPPORTUNITY_SINGLE_OPEN &&
	    match_opportunities(sf, out, n, f) == -1)
		goto out;
	for (size_t i = 0; i < n; i++)
		opps += out[i].opportunity_id[0] != '\0';
	log_debug("match people addresses=%zu contacts=%zu leads=%zu opportunities=%zu calls=%ld",
	    n, contacts, leads, opps, sf_client_calls(sf) - calls);
	rc = 0;
out:
	if (rc == -1)
		log_warnx("match failed lookup=people addresses=%zu code=%s", n, f->code);
	json_decref(records);
	free(picks);
	free(want);
	return rc;
}

int
match_users(struct sf_client *sf, const char *const *mailboxes, size_t n,
    char (*ids)[MATCH_ID_LEN + 1], struct remote_failure *f)
{
	json_t *records = NULL, *rec;
	size_t r;

	for (size_t i = 0; i < n; i++)
		ids[i][0] = '\0';
	if (match_query_in(sf, "SELECT Id, Email FROM User WHERE IsActive = true AND Email IN ",
	    "", mailboxes, n, &records, f) == -1) {
		log_warnx("match failed lookup=users mailboxes=%zu code=%s", n, f->code);
		return -1;
	}
	/* Several active Users with one Email: the smallest Id (the oldest), so the choice does
	 * not depend on the order rows come back in. */
	json_array_foreach(records, r, rec) {
		const char *id = field(rec, "Id"), *email = field(rec, "Email");

		if (id == NULL || email == NULL)
			continue;
		for (size_t i = 0; i < n; i++)
			if (mailboxes[i] != NULL && strcasecmp(mailboxes[i], email) == 0 &&
			    (ids[i][0] == '\0' || strcmp(id, ids[i]) < 0))
				copy_id(ids[i], id);
	}
	json_decref(records);
	return 0;
}
