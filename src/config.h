/* config.h: olsync's configuration, loaded from one file (docs/configuration.md): every option is
 * a row of one table in config.c, every error is collected as "file:line: message", and secrets
 * come only from private files or environment variables, never from the file itself. */
#ifndef OL_CONFIG_H
#define OL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"

#define CONFIG_MAX_FILE		(1024 * 1024)	/* larger configuration files are refused */
#define CONFIG_MAX_LINE		4096		/* bytes per line, newline excluded */
#define CONFIG_MAX_ERRORS	100		/* more are summed up as "too many errors" */
#define CONFIG_MAX_SECRET	(1024 * 1024)	/* larger secret files are refused */

enum config_mode {
	CONFIG_MODE_TASK,		/* one Task per email (the default) */
	CONFIG_MODE_EMAILMESSAGE,	/* one EmailMessage with its relations */
	CONFIG_MODE_BOTH,
};

enum config_mailboxes {
	CONFIG_MAILBOXES_LIST,		/* the addresses in config.mailboxes */
	CONFIG_MAILBOXES_ALL,		/* every user of the tenant */
	CONFIG_MAILBOXES_GROUP,		/* the members of config.mailbox_group */
};

/* Which record wins when several Contacts (or, failing that, Leads) carry one address. */
enum config_tie_break {
	CONFIG_TIE_BREAK_OLDEST,	/* smallest CreatedDate, then smallest Id */
	CONFIG_TIE_BREAK_NEWEST,	/* largest CreatedDate, then largest Id */
	CONFIG_TIE_BREAK_MODIFIED,	/* largest LastModifiedDate, then largest Id */
};

enum config_opportunity {
	CONFIG_OPPORTUNITY_SINGLE_OPEN,	/* WhatId = the Contact's only open Opportunity */
	CONFIG_OPPORTUNITY_NONE,	/* never set WhatId */
};

/* Whose presence in a meeting makes it a Salesforce Event. */
enum config_meeting_match {
	CONFIG_MEETING_MATCH_ORGANIZER,	/* the organizer is a Contact */
	CONFIG_MEETING_MATCH_ANY_EXTERNAL,	/* any external attendee is (rep-organized too) */
};

enum config_meeting_opportunity {
	CONFIG_MEETING_OPP_CONTACT_ROLE,	/* open Opportunities where the Contact has a role:
						 * primary first, then the nearest CloseDate */
	CONFIG_MEETING_OPP_NONE,		/* never set WhatId */
};

enum config_meeting_cancelled {
	CONFIG_MEETING_CANCELLED_DELETE,	/* delete the Event */
	CONFIG_MEETING_CANCELLED_MARK,		/* keep it, Subject "Canceled: ..." */
};

enum config_log_format {
	CONFIG_LOG_TEXT,		/* "2026-11-26T10:00:00.000Z olsync info what key=value" */
	CONFIG_LOG_JSON			/* one JSON object a line */
};

enum config_graph_auth {
	CONFIG_GRAPH_AUTH_SECRET,	/* client secret */
	CONFIG_GRAPH_AUTH_CERTIFICATE,	/* certificate + private key (client assertion) */
};

enum config_sf_auth {
	CONFIG_SF_AUTH_JWT,		/* JWT bearer: consumer key, username, private key */
	CONFIG_SF_AUTH_REFRESH_TOKEN,	/* consumer key, consumer secret, refresh token */
};

/* A list of strings; both the array and the strings belong to the struct config. */
struct config_list {
	char	**v;
	size_t	  n;
};

struct config_map_entry {
	char	*key;
	char	*value;
};

/* Ordered as in the file; keys are unique. */
struct config_map {
	struct config_map_entry	*v;
	size_t			 n;
};

/* Everything is owned by the struct and released (secrets wiped first) by config_free. Addresses
 * and domains are lowercase; URLs have no trailing '/'; relative paths in the file are made
 * relative to the directory of the file; durations are in milliseconds. */
struct config {
	/* Microsoft Graph */
	char			*graph_tenant;
	char			*graph_client_id;
	enum config_graph_auth	 graph_auth;
	char			*graph_client_secret;		/* secret, or NULL */
	char			*graph_certificate_file;	/* path, or NULL */
	char			*graph_private_key;		/* secret PEM, or NULL */
	char			*graph_base_url;
	char			*graph_login_url;

	/* Salesforce */
	char			*sf_login_url;
	char			*sf_api_version;		/* "v62.0" */
	enum config_sf_auth	 sf_auth;
	char			*sf_client_id;
	char			*sf_username;			/* NULL with refresh_token */
	char			*sf_private_key;		/* secret PEM, or NULL */
	char			*sf_client_secret;		/* secret, or NULL */
	char			*sf_refresh_token;		/* secret, or NULL */

	/* What to read */
	enum config_mailboxes	 mailboxes_kind;
	struct config_list	 mailboxes;	/* addresses; empty unless kind is LIST */
	char			*mailbox_group;	/* group object id when kind is GROUP, else NULL */
	struct config_list	 internal_domains;
	int			 backfill_days;
	long long		 sync_interval_ms;

	/* Decide */
	struct config_list	 skip_sensitivity;	/* "normal", "personal", "private", ... */
	struct config_list	 blocked_addresses;
	struct config_list	 blocked_domains;
	enum config_tie_break	 tie_break;
	enum config_opportunity	 opportunity_policy;

	/* Write */
	enum config_mode	 mode;
	int			 create_leads;			/* 0 or 1 */
	struct config_list	 free_mail_domains;
	char			*free_mail_company;
	struct config_map	 lead_owner;	/* mailbox -> user id, username or queue id */
	struct config_list	 lead_owner_pool;		/* round robin, in this order */
	char			*activity_timezone;		/* IANA name, "UTC" */
	int			 max_attempts;
	long long		 retry_base_ms;	/* first retry delay; doubles per attempt */

	/* Meetings (docs/configuration.md#meetings) */
	int			 meetings;			/* 0 or 1 */
	long long		 meeting_window_past_ms;
	long long		 meeting_window_future_ms;
	int			 meeting_tentative;		/* tentative counts as accepted */
	enum config_meeting_match	 meeting_match;
	enum config_meeting_opportunity	 meeting_opportunity;
	int			 meeting_without_opportunity;	/* 1: Event on the Contact alone */
	enum config_meeting_cancelled	 meeting_cancelled;
	char			*next_meeting_field;	/* Opportunity field, or NULL: none */

	/* Real time (docs/configuration.md#real-time): the webhook Graph notifies */
	char			*listen;	/* "host:port" to serve, or NULL: poll only */
	char			*public_url;	/* how Graph reaches listen (https), no '/' */
	char			*tls_certificate_file;	/* serve HTTPS directly, or NULL */
	char			*tls_private_key;	/* secret PEM, or NULL */
	long long		 subscription_lifetime_ms;
	long long		 subscription_renew_every_ms;
	long long		 listen_timeout_ms;	/* webhook idle and request deadline */
	long long		 reconcile_interval_ms;	/* delta on every mailbox, with listen */

	/* Performance (docs/configuration.md#performance) */
	int			 batch_size;	/* messages looked up and written together */
	long long		 batch_window_ms;	/* longest wait of a live email for its batch */
	int			 sf_budget_share;	/* percent of the org's daily API allowance */

	/* Observability (docs/configuration.md#observability): /metrics, /healthz, /readyz and
	 * the dashboard, served on admin_listen */
	char			*admin_listen;	/* "host:port", or NULL: not served */
	char			*admin_token;	/* secret, or NULL (loopback only) */

	/* Running */
	char			*database;	/* a SQLite file, or a postgresql:// URI */
	char			*database_password;	/* secret (PostgreSQL), or NULL */
	/* Several instances on one PostgreSQL database (docs/deployment.md) */
	char			*instance_name;	/* this instance's name in leases */
	long long		 lease_time_ms;	/* a dead instance's work waits this long */
	enum log_level		 log_level;
	enum config_log_format	 log_format;
	long long		 http_timeout_ms;
};

/* The messages of a failed load, each "file:line: message" or "file: message"; owned by the
 * struct, released by config_errors_free. */
struct config_errors {
	char	**v;
	size_t	  n;
};

/* Reads and checks the file at path. On success returns 0 with *cfg filled (caller calls
 * config_free) and errs empty. On failure returns -1 with *cfg zeroed and every problem found in
 * errs. errs must be zeroed or freed before the call; the caller frees it with config_errors_free
 * either way. Secret files are read here, so the daemon may drop privileges afterwards. */
int config_load(const char *path, struct config *cfg, struct config_errors *errs);

/* Same on text already in memory: len bytes (NUL bytes in them are errors). name is the file
 * name used in the messages; relative paths are taken relative to basedir (NULL: the working
 * directory). For tests and for check-config on standard input. */
int config_parse(const char *name, const char *text, size_t len, const char *basedir,
    struct config *cfg, struct config_errors *errs);

/* Wipes the secrets (explicit_bzero), frees everything and zeroes *cfg; safe on a zeroed or
 * already freed struct. */
void config_free(struct config *cfg);
void config_errors_free(struct config_errors *errs);

/* Writes every option as "key value" lines in the file's syntax, for `olsync check-config -v`.
 * Secrets are printed as "(set)" or "(not set)", never their value. */
void config_dump(const struct config *cfg, FILE *fp);

/* 1 when a HOST:PORT (as listen and admin_listen take it) is on loopback only: localhost or
 * 127.0.0.0/8. */
int config_listen_is_loopback(const char *hostport);

/* The owner configured for mailbox in lead_owner (case-insensitive), or NULL; borrowed from
 * cfg. */
const char *config_lead_owner(const struct config *cfg, const char *mailbox);

#endif
