/* write.h: the Salesforce writes, exactly once and in batches: Tasks upserted on
 * OutlookMessageId__c (the digest of the normalized internetMessageId), EmailMessages with their
 * EmailMessageRelations (also idempotent), and Leads for unknown senders. Records go 200 to an
 * sObject Collections write and five of those to a /composite call (1,000 Tasks: one API call);
 * a record that fails fails alone, and a collection that fails as a whole fails its records. */
#ifndef OL_WRITE_H
#define OL_WRITE_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "match.h"
#include "remote.h"
#include "sf_client.h"

/* One email to log. Strings are borrowed for the call. */
struct write_activity {
	const char *ext_id;		/* normalize_digest of the normalized internetMessageId */
	const char *internet_message_id;	/* raw, for EmailMessage.MessageIdentifier */
	const char *conversation_id;	/* for ThreadIdentifier */
	int inbound;
	const char *subject;
	const char *body_preview;	/* Graph bodyPreview (text) */
	const char *from_address, *from_name;
	const char *to_addresses;	/* "a@x; b@y" as shown on the email */
	const char *cc_addresses;
	time_t when;			/* received (inbound) or sent (outbound) */
	const char *owner_id;		/* the rep's Salesforce User, or NULL (integration user) */
	const char *who_id;		/* Contact or Lead */
	const char *what_id;		/* Opportunity, or NULL (never with a Lead WhoId) */
	const char *const *relation_ids;	/* every matched participant (EmailMessage mode) */
	size_t nrelations;
	/* results */
	char task_id[MATCH_ID_LEN + 1];
	char email_message_id[MATCH_ID_LEN + 1];
	struct remote_failure failure;	/* cls REMOTE_OK when this record landed */
};

/* Writes n activities per cfg->mode (Task, EmailMessage, or both). Both is one activity per
 * email: the EmailMessage's Enhanced Email Task (ActivityId) stamped with OutlookMessageId__c
 * and olsync's fields, or olsync's own Task when the EmailMessage has none. Per-record outcomes
 * are in items[i]; returns -1 with f only when nothing could be written (e.g. the service is
 * down). */
int write_activities(struct sf_client *sf, const struct config *cfg,
    struct write_activity *items, size_t n, struct remote_failure *f);

/* One Lead to create for an unknown external sender. */
struct write_lead {
	const char *address;		/* normalized */
	const char *display_name;
	const char *subject;
	const char *body_preview;
	const char *owner_id;		/* user or queue id, or NULL */
	/* results */
	char lead_id[MATCH_ID_LEN + 1];
	struct remote_failure failure;
};

/* Creates the Leads (names and Company from lead.h, LeadSource Email, Description
 * "<subject>: <bodyPreview>"). Per-record outcomes in leads[i]; -1 with f as above. */
int write_leads(struct sf_client *sf, const struct config *cfg, struct write_lead *leads,
    size_t n, struct remote_failure *f);

#endif
