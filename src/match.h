/* match.h: who an email is with, in Salesforce: Contacts, then unconverted Leads, by email
 * address, looked up for a whole batch with chunked SOQL IN queries (up to 5 per /composite
 * call), ties broken by the configured policy; the Opportunity to relate a Contact's activity to;
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

/* Looks up n normalized addresses; out[i] answers addresses[i] (caller provides n entries).
 * Costs ceil(chunks / 5) API calls for Contacts, the same for the Leads still unknown, and one
 * more for Opportunities. 0, or -1 with f (nothing in out is then meaningful). */
int match_people(struct sf_client *sf, const struct config *cfg, const char *const *addresses,
    size_t n, struct match_person *out, struct remote_failure *f);

/* The active Salesforce User whose Email is each mailbox address: ids[i] for mailboxes[i], ""
 * when there is none (caller provides n buffers). */
int match_users(struct sf_client *sf, const char *const *mailboxes, size_t n,
    char (*ids)[MATCH_ID_LEN + 1], struct remote_failure *f);

/* The batched lookup under both: "<head>(<lit>,...)<tail>" over values (empty ones and
 * case-insensitive duplicates dropped, each quoted by SOQL's rules), chunked under the URL
 * limit, five chunks to a /composite call. *records gets every row of every chunk (caller
 * decrefs). 0, or -1 with f. Also used by write.c (EmailMessage and relation lookups). */
int match_query_in(struct sf_client *sf, const char *head, const char *tail,
    const char *const *values, size_t n, json_t **records, struct remote_failure *f);

#endif
