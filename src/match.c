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

/* One batched IN lookup: "<head>(<lit>,...)<tail>" over values; records is its answer. */
struct lookup {
	const char *head, *tail;
	const char *const *values;
	size_t n;
	json_t *records;	/* every row of every chunk (owned) */
};

/* Runs the n lookups together: every chunk of every lookup, five to a /composite call, so
 * lookups of one batch share calls. Each lookup's records get every row of its chunks. */
static int
lookups_run(struct sf_client *sf, struct lookup *const *lk, size_t n, struct remote_failure *f)
{
	char **queries = NULL, err[256];
	size_t *owner = NULL, nq = 0;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	for (size_t l = 0; l < n; l++) {
		const char **uniq;
		char **lits, **chunk = NULL;
		size_t nuniq = 0, nchunk = 0, k = 0;
		int r;

		lk[l]->records = json_array();
		/* SOQL compares text case-insensitively, so "A@x" and "a@x" are one literal. */
		uniq = xcalloc(lk[l]->n ? lk[l]->n : 1, sizeof(*uniq));
		for (size_t i = 0; i < lk[l]->n; i++)
			if (lk[l]->values[i] != NULL && lk[l]->values[i][0] != '\0')
				uniq[nuniq++] = lk[l]->values[i];
		qsort(uniq, nuniq, sizeof(*uniq), cmp_ci);
		lits = xcalloc(nuniq ? nuniq : 1, sizeof(*lits));
		for (size_t i = 0; i < nuniq; i++)
			if (k == 0 || strcasecmp(uniq[i], uniq[i - 1]) != 0)
				lits[k++] = normalize_soql_quote(uniq[i]);
		r = normalize_soql_in_chunks(lk[l]->head, lk[l]->tail, (const char *const *)lits, k,
		    SF_CLIENT_COMPOSITE_SOQL_MAX, 0, &chunk, &nchunk, err, sizeof(err));
		for (size_t i = 0; i < k; i++)
			free(lits[i]);
		free(lits);
		free(uniq);
		if (r == -1) {
			local_failure(f, "lookup cannot be queried: %s", err);
			goto out;
		}
		queries = xrealloc(queries, (nq + nchunk + 1) * sizeof(*queries));
		owner = xrealloc(owner, (nq + nchunk + 1) * sizeof(*owner));
		for (size_t i = 0; i < nchunk; i++) {
			owner[nq] = l;
			queries[nq++] = chunk[i];
		}
		queries[nq] = NULL;
		free(chunk);	/* the strings moved to queries */
	}
	for (size_t i = 0; i < nq; i += SF_CLIENT_COMPOSITE_QUERIES) {
		size_t m = nq - i < SF_CLIENT_COMPOSITE_QUERIES ? nq - i : SF_CLIENT_COMPOSITE_QUERIES;
		json_t *res = NULL;

		if (sf_client_queries(sf, (const char *const *)queries + i, m, &res, f) == -1)
			goto out;
		for (size_t q = 0; q < m; q++)
			json_array_extend(lk[owner[i + q]]->records, json_array_get(res, q));
		json_decref(res);
	}
	rc = 0;
out:
	if (rc == -1)
		for (size_t l = 0; l < n; l++) {
			json_decref(lk[l]->records);
			lk[l]->records = NULL;
		}
	normalize_strv_free(queries);
	free(owner);
	return rc;
}

int
match_query_in(struct sf_client *sf, const char *head, const char *tail,
    const char *const *values, size_t n, json_t **records, struct remote_failure *f)
{
	struct lookup lk = { head, tail, values, n, NULL }, *one = &lk;

	*records = NULL;
	if (lookups_run(sf, &one, 1, f) == -1)
		return -1;
	*records = lk.records;
	return 0;
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
 * (counted by distinct OpportunityId: one Contact may hold two roles on one deal). The roles
 * were looked up by the Contacts' email, so only those of the Contact chosen count. */
static void
fold_opportunities(json_t *records, struct match_person *out, size_t n)
{
	int *count = xcalloc(n ? n : 1, sizeof(*count));
	json_t *rec;
	size_t r;

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
	free(count);
}

/* Several active Users with one Email: the smallest Id (the oldest), so the choice does not
 * depend on the order rows come back in. */
static void
fold_users(json_t *records, const char *const *mailboxes, size_t n,
    char (*ids)[MATCH_ID_LEN + 1])
{
	json_t *rec;
	size_t r;

	json_array_foreach(records, r, rec) {
		const char *id = field(rec, "Id"), *email = field(rec, "Email");

		if (id == NULL || email == NULL)
			continue;
		for (size_t i = 0; i < n; i++)
			if (mailboxes[i] != NULL && strcasecmp(mailboxes[i], email) == 0 &&
			    (ids[i][0] == '\0' || strcmp(id, ids[i]) < 0))
				copy_id(ids[i], id);
	}
}

enum { LK_CONTACT, LK_LEAD, LK_ROLE, LK_USER, LK_N };

int
match_batch(struct sf_client *sf, const struct config *cfg, const char *const *addresses,
    size_t n, struct match_person *out, const char *const *mailboxes, size_t nmail,
    char (*user_ids)[MATCH_ID_LEN + 1], struct remote_failure *f)
{
	struct pick *picks = xcalloc(n ? n : 1, sizeof(*picks));
	const char **want = xcalloc(n ? n : 1, sizeof(*want));
	struct lookup lk[LK_N], *run[LK_N];
	size_t nrun = 0, contacts = 0, leads = 0, opps = 0;
	long calls = sf_client_calls(sf);
	int rc = -1;

	memset(f, 0, sizeof(*f));
	memset(lk, 0, sizeof(lk));
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].address, sizeof(out[i].address), "%s",
		    addresses[i] ? addresses[i] : "");
		for (char *p = out[i].address; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		want[i] = out[i].address;
	}
	for (size_t i = 0; i < nmail; i++)
		user_ids[i][0] = '\0';
	/* Independent queries, so one call carries them all: the Leads of every address (a
	 * Contact found for it wins when folding), and the open roles by the Contact's email
	 * rather than by Contact ids not known yet. IsPrimary and CloseDate are read for the
	 * policies to come (primary role, nearest close). */
	lk[LK_CONTACT] = (struct lookup){ "SELECT Id, Email, AccountId, CreatedDate, "
	    "LastModifiedDate FROM Contact WHERE Email IN ", "", want, n, NULL };
	lk[LK_LEAD] = (struct lookup){ "SELECT Id, Email, CreatedDate, LastModifiedDate FROM Lead "
	    "WHERE IsConverted = false AND Email IN ", "", want, n, NULL };
	lk[LK_ROLE] = (struct lookup){ "SELECT OpportunityId, ContactId, IsPrimary, "
	    "Opportunity.CloseDate FROM OpportunityContactRole WHERE Contact.Email IN ",
	    " AND Opportunity.IsClosed = false", want, n, NULL };
	lk[LK_USER] = (struct lookup){ "SELECT Id, Email FROM User WHERE IsActive = true AND "
	    "Email IN ", "", mailboxes, nmail, NULL };
	if (n > 0) {
		run[nrun++] = &lk[LK_CONTACT];
		run[nrun++] = &lk[LK_LEAD];
		if (cfg->opportunity_policy == CONFIG_OPPORTUNITY_SINGLE_OPEN)
			run[nrun++] = &lk[LK_ROLE];
	}
	if (nmail > 0)
		run[nrun++] = &lk[LK_USER];
	if (lookups_run(sf, run, nrun, f) == -1)
		goto out;
	if (n > 0) {
		/* Contacts first: a Lead is a candidate only where no Contact has the address. */
		fold_people(lk[LK_CONTACT].records, 0, cfg->tie_break, out, picks, n);
		fold_people(lk[LK_LEAD].records, 1, cfg->tie_break, out, picks, n);
		fold_opportunities(lk[LK_ROLE].records, out, n);
	}
	fold_users(lk[LK_USER].records, mailboxes, nmail, user_ids);
	for (size_t i = 0; i < n; i++) {
		contacts += out[i].id[0] != '\0' && !out[i].is_lead;
		leads += out[i].is_lead;
		opps += out[i].opportunity_id[0] != '\0';
	}
	log_debug("match batch addresses=%zu contacts=%zu leads=%zu opportunities=%zu "
	    "mailboxes=%zu calls=%ld", n, contacts, leads, opps, nmail,
	    sf_client_calls(sf) - calls);
	rc = 0;
out:
	if (rc == -1)
		log_warnx("match failed lookup=batch addresses=%zu mailboxes=%zu code=%s", n, nmail,
		    f->code);
	for (size_t i = 0; i < LK_N; i++)
		json_decref(lk[i].records);
	free(picks);
	free(want);
	return rc;
}

int
match_people(struct sf_client *sf, const struct config *cfg, const char *const *addresses,
    size_t n, struct match_person *out, struct remote_failure *f)
{
	return match_batch(sf, cfg, addresses, n, out, NULL, 0, NULL, f);
}

int
match_users(struct sf_client *sf, const char *const *mailboxes, size_t n,
    char (*ids)[MATCH_ID_LEN + 1], struct remote_failure *f)
{
	return match_batch(sf, NULL, NULL, 0, NULL, mailboxes, n, ids, f);
}
