/* match.h: who an email is with, in Salesforce: Contacts, then unconverted Leads, by email
 * address, looked up for a whole batch with chunked SOQL IN queries (all of a batch's queries
 * packed 5 to a /composite call), ties broken by the configured policy; the Opportunity to relate a Contact's activity to;
 * and the Salesforce User behind each rep's mailbox. */
#ifndef OL_MATCH_H
#define OL_MATCH_H

#include <stddef.h>

#include "config.h"
#include "remote.h"
#include "sf_client.h"

#define MATCH_ID_LEN 18

struct match_person {
	char address[256];		/* normalized (lower-case) email, the key */
	char id[MATCH_ID_LEN + 1];	/* Contact or Lead id; "" when nobody has the address */
	int is_lead;			/* 1: id is an unconverted Lead */
	char account_id[MATCH_ID_LEN + 1];	/* Contact's AccountId, or "" */
	char opportunity_id[MATCH_ID_LEN + 1];	/* WhatId per opportunity_policy, or "" */
	int candidates;			/* records that carried the address (tie-break when > 1) */
};

/* The whole lookup of a batch in as few calls as the API allows: the Contacts and the
 * unconverted Leads with each of the n normalized addresses (out[i] answers addresses[i]; a
 * Contact wins over a Lead), the open Opportunity roles of those Contacts (opportunity_policy
 * single_open), and the active User of each of the nmail mailboxes (user_ids[i] for
 * mailboxes[i], "" when there is none). They are independent queries, chunked under the SOQL
 * length limit, five to a /composite call: ceil(chunks / 5) calls, one for a batch of a few
 * hundred addresses. Callers provide n entries and nmail buffers (n or nmail may be 0). 0, or -1
 * with f (nothing in out or user_ids is then meaningful). */
int match_batch(struct sf_client *sf, const struct config *cfg, const char *const *addresses,
    size_t n, struct match_person *out, const char *const *mailboxes, size_t nmail,
    char (*user_ids)[MATCH_ID_LEN + 1], struct remote_failure *f);

/* match_batch of addresses alone. */
int match_people(struct sf_client *sf, const struct config *cfg, const char *const *addresses,
    size_t n, struct match_person *out, struct remote_failure *f);

/* match_batch of mailboxes alone. */
int match_users(struct sf_client *sf, const char *const *mailboxes, size_t n,
    char (*ids)[MATCH_ID_LEN + 1], struct remote_failure *f);

/* The batched lookup under them: "<head>(<lit>,...)<tail>" over values (empty ones and
 * case-insensitive duplicates dropped, each quoted by SOQL's rules), chunked under
 * SF_CLIENT_COMPOSITE_SOQL_MAX, five chunks to a /composite call. *records gets every row of every chunk (caller
 * decrefs). 0, or -1 with f. Also used by write.c (EmailMessage and relation lookups). */
int match_query_in(struct sf_client *sf, const char *head, const char *tail,
    const char *const *values, size_t n, json_t **records, struct remote_failure *f);

#endif
