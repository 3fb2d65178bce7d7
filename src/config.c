/* config.c: olsync's configuration file. One table of options (name, type, range, default,
 * validator) drives parsing, defaults, the required-key check, config_dump and config_free; every
 * problem is collected as "file:line: message" so one run of check-config shows them all. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "err.h"
#include "jwt.h"
#include "store.h"
#include "xmalloc.h"

enum opt_type {
	T_STRING,
	T_INT,			/* int field */
	T_BOOL,			/* int field, 0 or 1 */
	T_DURATION,		/* long long field, milliseconds */
	T_LIST,			/* struct config_list */
	T_MAP,			/* struct config_map */
	T_ENUM,			/* int-sized enum field */
	T_SECRET,		/* char *, given as env:NAME */
	T_SECRET_FILE,		/* the same field, read from a private file */
	T_PATH,			/* char *, relative to the file's directory */
};

#define OPT_REQUIRED	0x01
#define OPT_PEM_KEY	0x02	/* the secret is a PEM private key: check it, keep it verbatim */
#define OPT_NONE	0x04	/* a list that may be "none" (empty) */

typedef int check_fn(char **val, char *err, size_t errlen);

struct option {
	const char		*name;
	enum opt_type		 type;
	size_t			 off;
	long long		 min, max;	/* T_INT, T_DURATION */
	const char		*def;		/* parsed like a value in the file */
	const char *const	*names;		/* T_ENUM: the values, in enum order */
	check_fn		*check;		/* may normalize the value in place or replace it */
	check_fn		*check_key;	/* T_MAP keys */
	unsigned		 flags;
};

static check_fn check_tenant, check_guid, check_token, check_url, check_api_version,
    check_email, check_domain, check_mailbox, check_owner, check_sensitivity, check_timezone,
    check_company, check_certificate, check_listen, check_admin_listen,
    check_field_name, check_instance_name, check_database;

static const char *const mode_names[] = { "task", "emailmessage", "both", NULL };
static const char *const tie_break_names[] = { "oldest", "newest", "most-recently-modified", NULL };
static const char *const opportunity_names[] = { "single-open", "none", NULL };
static const char *const sf_auth_names[] = { "jwt", "refresh_token", NULL };
static const char *const meeting_match_names[] = { "organizer", "any-external", NULL };
static const char *const meeting_opp_names[] = { "contact-role", "none", NULL };
static const char *const meeting_without_names[] = { "skip", "contact", NULL };
static const char *const meeting_cancelled_names[] = { "delete", "mark", NULL };
/* In enum log_level order. */
static const char *const log_level_names[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_format_names[] = { "text", "json", NULL };

#define SEC		1000LL
#define MIN		(60 * SEC)
#define HOUR		(60 * MIN)
#define DAY		(24 * HOUR)
#define OFF(f)		offsetof(struct config, f)

/* Mail providers whose domain says nothing about the sender's company. */
#define FREE_MAIL_DEFAULT \
	"gmail.com, googlemail.com, yahoo.com, ymail.com, hotmail.com, outlook.com, live.com, " \
	"msn.com, aol.com, icloud.com, me.com, mac.com, proton.me, protonmail.com, gmx.com, " \
	"gmx.de, gmx.net, web.de, mail.com, yandex.com, yandex.ru, mail.ru, zoho.com, " \
	"fastmail.com, hey.com, tutanota.com, qq.com, 163.com, 126.com"

static const struct option options[] = {
	/* Microsoft Graph */
	{ "graph_tenant", T_STRING, OFF(graph_tenant), .check = check_tenant,
	    .flags = OPT_REQUIRED },
	{ "graph_client_id", T_STRING, OFF(graph_client_id), .check = check_guid,
	    .flags = OPT_REQUIRED },
	{ "graph_client_secret", T_SECRET, OFF(graph_client_secret), .flags = 0 },
	{ "graph_client_secret_file", T_SECRET_FILE, OFF(graph_client_secret), .flags = 0 },
	{ "graph_certificate_file", T_PATH, OFF(graph_certificate_file),
	    .check = check_certificate },
	{ "graph_private_key", T_SECRET, OFF(graph_private_key), .flags = OPT_PEM_KEY },
	{ "graph_private_key_file", T_SECRET_FILE, OFF(graph_private_key), .flags = OPT_PEM_KEY },
	{ "graph_base_url", T_STRING, OFF(graph_base_url), .check = check_url,
	    .def = "https://graph.microsoft.com/v1.0" },
	{ "graph_login_url", T_STRING, OFF(graph_login_url), .check = check_url,
	    .def = "https://login.microsoftonline.com" },

	/* Salesforce */
	{ "sf_login_url", T_STRING, OFF(sf_login_url), .check = check_url,
	    .def = "https://login.salesforce.com" },
	{ "sf_api_version", T_STRING, OFF(sf_api_version), .check = check_api_version,
	    .def = "v62.0" },
	{ "sf_auth", T_ENUM, OFF(sf_auth), .names = sf_auth_names, .def = "jwt" },
	{ "sf_client_id", T_STRING, OFF(sf_client_id), .check = check_token,
	    .flags = OPT_REQUIRED },
	{ "sf_username", T_STRING, OFF(sf_username), .check = check_email },
	{ "sf_private_key", T_SECRET, OFF(sf_private_key), .flags = OPT_PEM_KEY },
	{ "sf_private_key_file", T_SECRET_FILE, OFF(sf_private_key), .flags = OPT_PEM_KEY },
	{ "sf_client_secret", T_SECRET, OFF(sf_client_secret), .flags = 0 },
	{ "sf_client_secret_file", T_SECRET_FILE, OFF(sf_client_secret), .flags = 0 },
	{ "sf_refresh_token", T_SECRET, OFF(sf_refresh_token), .flags = 0 },
	{ "sf_refresh_token_file", T_SECRET_FILE, OFF(sf_refresh_token), .flags = 0 },

	/* What to read */
	{ "mailboxes", T_LIST, OFF(mailboxes), .check = check_mailbox, .flags = OPT_REQUIRED },
	{ "internal_domains", T_LIST, OFF(internal_domains), .check = check_domain,
	    .flags = OPT_REQUIRED },
	{ "backfill_days", T_INT, OFF(backfill_days), 0, 3650, .def = "30" },
	{ "sync_interval", T_DURATION, OFF(sync_interval_ms), 1 * MIN, 1 * DAY, .def = "15m" },

	/* Decide */
	{ "skip_sensitivity", T_LIST, OFF(skip_sensitivity), .check = check_sensitivity,
	    .def = "private, confidential", .flags = OPT_NONE },
	{ "blocked_addresses", T_LIST, OFF(blocked_addresses), .check = check_email,
	    .flags = OPT_NONE },
	{ "blocked_domains", T_LIST, OFF(blocked_domains), .check = check_domain,
	    .flags = OPT_NONE },
	{ "tie_break", T_ENUM, OFF(tie_break), .names = tie_break_names, .def = "oldest" },
	{ "opportunity_policy", T_ENUM, OFF(opportunity_policy), .names = opportunity_names,
	    .def = "single-open" },

	/* Write */
	{ "mode", T_ENUM, OFF(mode), .names = mode_names, .def = "task" },
	{ "create_leads", T_BOOL, OFF(create_leads), .def = "yes" },
	{ "free_mail_domains", T_LIST, OFF(free_mail_domains), .check = check_domain,
	    .def = FREE_MAIL_DEFAULT, .flags = OPT_NONE },
	{ "free_mail_company", T_STRING, OFF(free_mail_company), .check = check_company,
	    .def = "\"[not provided]\"" },
	{ "lead_owner", T_MAP, OFF(lead_owner), .check = check_owner, .check_key = check_email },
	{ "lead_owner_pool", T_LIST, OFF(lead_owner_pool), .check = check_owner,
	    .flags = OPT_NONE },
	{ "activity_timezone", T_STRING, OFF(activity_timezone), .check = check_timezone,
	    .def = "UTC" },
	{ "max_attempts", T_INT, OFF(max_attempts), 1, 1000, .def = "10" },
	{ "retry_base", T_DURATION, OFF(retry_base_ms), 1 * SEC, 1 * HOUR, .def = "60s" },

	/* Meetings */
	{ "meetings", T_BOOL, OFF(meetings), .def = "yes" },
	{ "meeting_window_past", T_DURATION, OFF(meeting_window_past_ms), 0, 3650 * DAY,
	    .def = "30d" },
	{ "meeting_window_future", T_DURATION, OFF(meeting_window_future_ms), 1 * DAY,
	    3650 * DAY, .def = "180d" },
	{ "meeting_tentative", T_BOOL, OFF(meeting_tentative), .def = "no" },
	{ "meeting_match", T_ENUM, OFF(meeting_match), .names = meeting_match_names,
	    .def = "organizer" },
	{ "meeting_opportunity", T_ENUM, OFF(meeting_opportunity), .names = meeting_opp_names,
	    .def = "contact-role" },
	{ "meeting_without_opportunity", T_ENUM, OFF(meeting_without_opportunity),
	    .names = meeting_without_names, .def = "contact" },
	{ "meeting_cancelled", T_ENUM, OFF(meeting_cancelled), .names = meeting_cancelled_names,
	    .def = "delete" },
	{ "next_meeting_field", T_STRING, OFF(next_meeting_field), .check = check_field_name,
	    .def = "Next_Meeting_Date__c" },

	/* Real time */
	{ "listen", T_STRING, OFF(listen), .check = check_listen },
	{ "public_url", T_STRING, OFF(public_url), .check = check_url },
	{ "tls_certificate_file", T_PATH, OFF(tls_certificate_file),
	    .check = check_certificate },
	{ "tls_private_key", T_SECRET, OFF(tls_private_key), .flags = 0 },
	{ "tls_private_key_file", T_SECRET_FILE, OFF(tls_private_key), .flags = 0 },
	/* Graph's ceiling for Outlook resources is 10070 minutes (reference §2.3); the default is
	 * the guide's "about 3 days", which every Graph version accepts. */
	{ "subscription_lifetime", T_DURATION, OFF(subscription_lifetime_ms), 1 * SEC,
	    10070 * MIN, .def = "4230m" },
	{ "subscription_renew_every", T_DURATION, OFF(subscription_renew_every_ms), 1 * SEC,
	    10070 * MIN, .def = "2d" },
	{ "reconcile_interval", T_DURATION, OFF(reconcile_interval_ms), 1 * SEC, 1 * DAY,
	    .def = "1h" },
	/* Graph gives up on a notification after about 10 s: a connection that long idle, or a
	 * request that long arriving, is not Graph's. */
	{ "listen_timeout", T_DURATION, OFF(listen_timeout_ms), 1 * SEC, 5 * MIN,
	    .def = "10s" },

	/* Performance: Salesforce's limits are 200 records per collection and 5 collections or
	 * queries per composite call (reference, salesforce-rest-api.md section 5). */
	{ "batch_size", T_INT, OFF(batch_size), 1, 1000, .def = "1000" },
	{ "batch_window", T_DURATION, OFF(batch_window_ms), 0, 10 * MIN, .def = "2s" },
	{ "sf_budget_share", T_INT, OFF(sf_budget_share), 1, 100, .def = "50" },

	/* Observability */
	{ "admin_listen", T_STRING, OFF(admin_listen), .check = check_admin_listen },
	{ "admin_token", T_SECRET, OFF(admin_token), .flags = 0 },
	{ "admin_token_file", T_SECRET_FILE, OFF(admin_token), .flags = 0 },

	/* Running */
	{ "database", T_PATH, OFF(database), .check = check_database,
	    .def = "/var/lib/olsync/olsync.db" },
	{ "database_password", T_SECRET, OFF(database_password), .flags = 0 },
	{ "database_password_file", T_SECRET_FILE, OFF(database_password), .flags = 0 },
	{ "instance_name", T_STRING, OFF(instance_name), .check = check_instance_name },
	{ "lease_time", T_DURATION, OFF(lease_time_ms), 2 * SEC, 10 * MIN, .def = "30s" },
	{ "log_level", T_ENUM, OFF(log_level), .names = log_level_names, .def = "info" },
	{ "log_format", T_ENUM, OFF(log_format), .names = log_format_names, .def = "text" },
	{ "http_timeout", T_DURATION, OFF(http_timeout_ms), 1 * SEC, 10 * MIN, .def = "30s" },
};

#define NOPTIONS	(sizeof(options) / sizeof(options[0]))

_Static_assert(LOG_LEVEL_DEBUG == 0 && LOG_LEVEL_INFO == 1 && LOG_LEVEL_WARN == 2 &&
    LOG_LEVEL_ERROR == 3, "log_level_names follows enum log_level");
_Static_assert(CONFIG_LOG_TEXT == 0 && CONFIG_LOG_JSON == 1,
    "log_format_names follows enum config_log_format");
_Static_assert(sizeof(enum config_mode) == sizeof(int) && sizeof(enum log_level) == sizeof(int) &&
    sizeof(enum config_log_format) == sizeof(int),
    "T_ENUM fields are stored as int");

struct parser {
	const char		*name;		/* the file, for messages */
	const char		*basedir;	/* for relative paths; NULL: as given */
	struct config		*cfg;
	struct config_errors	*errs;
	int			 line;		/* 0: a message about the whole file */
	int			 defaults;	/* applying the table's defaults */
	int			 full;		/* CONFIG_MAX_ERRORS reached */
	int			 set_line[NOPTIONS];	/* last line that set the option, 0: never */
	int			 none_line[NOPTIONS];	/* line of a "none" list value */
	int			*map_lines[NOPTIONS];	/* line of each map entry */
};

#define FIELD(cfg, o, T)	((T *)(void *)((char *)(cfg) + (o)->off))

static void
perr(struct parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	char *line;

	if (p->defaults) {
		/* The table's defaults are ours: a bad one is a bug, not a configuration error. */
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fatalx("config: bad built-in default: %s", msg);
	}
	if (p->full)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errs->n + 1 >= CONFIG_MAX_ERRORS) {
		line = xasprintf("%s: too many errors, stopping", p->name);
		p->full = 1;
	} else if (p->line > 0)
		line = xasprintf("%s:%d: %s", p->name, p->line, msg);
	else
		line = xasprintf("%s: %s", p->name, msg);
	p->errs->v = xrealloc(p->errs->v, (p->errs->n + 1) * sizeof(*p->errs->v));
	p->errs->v[p->errs->n++] = line;
}

/* Lists */

static void
list_add(struct config_list *l, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
}

static int
list_has(const struct config_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* wipe: the list may hold words of a line that carried a secret by mistake. */
static void
list_clear(struct config_list *l, int wipe)
{
	for (size_t i = 0; i < l->n; i++) {
		if (wipe)
			explicit_bzero(l->v[i], strlen(l->v[i]));
		free(l->v[i]);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
secret_free(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* Validators: 0, or -1 with the reason in err (the caller adds "key: "). */

static void
lowercase(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* A file, or a PostgreSQL URI without a password: the password goes in database_password_file,
 * so that it shows in no log line, process list or `check-config -v`. */
static int
check_database(char **val, char *err, size_t errlen)
{
	const char *s = *val, *rest, *at, *slash;

	if (*s == '\0')
		return err_set(err, errlen, "empty value");
	if (!store_target_is_postgresql(s))
		return 0;
	rest = strstr(s, "://") + 3;
	slash = rest + strcspn(rest, "/?");
	at = memchr(rest, '@', (size_t)(slash - rest));
	if ((at != NULL && memchr(rest, ':', (size_t)(at - rest)) != NULL) ||
	    strstr(s, "password=") != NULL)
		return err_set(err, errlen, "has a password in it: give it in "
		    "database_password_file instead");
	return 0;
}

/* A lease owner's name: printable, no spaces, so it reads well in logs and in the database. */
static int
check_instance_name(char **val, char *err, size_t errlen)
{
	const unsigned char *c = (const unsigned char *)*val;

	if (*c == '\0' || strlen(*val) > 64)
		return err_set(err, errlen, "must be 1 to 64 characters");
	for (; *c != '\0'; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return err_set(err, errlen, "must be printable ASCII without spaces");
	return 0;
}

/* Printable ASCII without spaces: consumer keys, ids. */
static int
check_token(char **val, char *err, size_t errlen)
{
	const unsigned char *s = (const unsigned char *)*val;

	if (*s == '\0')
		return err_set(err, errlen, "empty value");
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return err_set(err, errlen, "'%s' has a character that is not printable ASCII",
			    *val);
	return 0;
}

static int
is_guid(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t k = 0;

	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (k < 4 && i == dash[k]) {
			if (s[i] != '-')
				return 0;
			k++;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int
check_guid(char **val, char *err, size_t errlen)
{
	if (!is_guid(*val))
		return err_set(err, errlen, "'%s' is not a GUID "
		    "(like 6731de76-14a6-49ae-97bc-6eba6914391e)", *val);
	lowercase(*val);
	return 0;
}

static int
is_domain(const char *s)
{
	size_t len = strlen(s), label = 0, labels = 1;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-' && labels >= 2;
}

static int
check_domain(char **val, char *err, size_t errlen)
{
	if (!is_domain(*val))
		return err_set(err, errlen, "'%s' is not a domain name (like contoso.com)", *val);
	lowercase(*val);
	return 0;
}

static int
check_tenant(char **val, char *err, size_t errlen)
{
	if (!is_guid(*val) && !is_domain(*val))
		return err_set(err, errlen, "'%s' is neither a tenant id (GUID) nor a domain "
		    "(like contoso.onmicrosoft.com)", *val);
	lowercase(*val);
	return 0;
}

static int
is_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strlen(s) > 254)
		return 0;
	for (const char *c = s; c < at; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f ||
		    strchr("\"(),:;<>[\\]", *c) != NULL)
			return 0;
	return is_domain(at + 1);
}

static int
check_email(char **val, char *err, size_t errlen)
{
	if (!is_email(*val))
		return err_set(err, errlen, "'%s' is not an email address", *val);
	lowercase(*val);
	return 0;
}

/* An address, "all", or "group:<object id>"; finish() turns the last two into mailboxes_kind. */
static int
check_mailbox(char **val, char *err, size_t errlen)
{
	if (strcmp(*val, "all") == 0)
		return 0;
	if (strncmp(*val, "group:", 6) == 0) {
		if (!is_guid(*val + 6))
			return err_set(err, errlen, "'%s' is not group:<group object id (GUID)>",
			    *val);
		lowercase(*val);
		return 0;
	}
	if (!is_email(*val))
		return err_set(err, errlen, "'%s' is not an email address, 'all' or group:<id>",
		    *val);
	lowercase(*val);
	return 0;
}

/* A Salesforce User (005) or Queue (00G) id of 15 or 18 characters, or a username. Ids keep their
 * case: it is significant in the 15-character form. */
static int
check_owner(char **val, char *err, size_t errlen)
{
	size_t len = strlen(*val);
	int alnum = 1;

	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)(*val)[i]))
			alnum = 0;
	if (alnum && (len == 15 || len == 18) &&
	    (strncmp(*val, "005", 3) == 0 || strncmp(*val, "00G", 3) == 0))
		return 0;
	if (is_email(*val)) {
		lowercase(*val);
		return 0;
	}
	return err_set(err, errlen, "'%s' is neither a User or Queue id (005..., 00G...) nor a "
	    "username", *val);
}

static int
check_sensitivity(char **val, char *err, size_t errlen)
{
	static const char *const names[] = { "normal", "personal", "private", "confidential" };

	lowercase(*val);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(*val, names[i]) == 0)
			return 0;
	return err_set(err, errlen, "bad value '%s' (expected normal, personal, private or "
	    "confidential)", *val);
}

static int
is_loopback(const char *host, size_t len)
{
	return (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (len == 5 && strncmp(host, "[::1]", 5) == 0) ||
	    (len >= 9 && strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == len);
}

/* http(s)://host[:port][/path]; plain http only to loopback (the emulators), since a token
 * travels in the clear otherwise. The trailing '/' is dropped so callers append "/path". */
static int
check_url(char **val, char *err, size_t errlen)
{
	char *s = *val, *host, *end;
	size_t hostlen, len;
	int https;

	if (strncasecmp(s, "https://", 8) == 0)
		https = 1;
	else if (strncasecmp(s, "http://", 7) == 0)
		https = 0;
	else
		return err_set(err, errlen, "'%s' is not an http:// or https:// URL", s);
	host = s + (https ? 8 : 7);
	end = host + strcspn(host, "/?#");
	if (strpbrk(host, "?#") != NULL)
		return err_set(err, errlen, "'%s': a query or fragment is not allowed", s);
	if (memchr(host, '@', (size_t)(end - host)) != NULL)
		return err_set(err, errlen, "'%s': credentials in a URL are not allowed", s);
	hostlen = strcspn(host, "/");
	if (host[0] == '[')
		len = strcspn(host, "]") + 1;
	else
		len = strcspn(host, ":/");
	if (len == 0 || len > hostlen)
		return err_set(err, errlen, "'%s' has no host", s);
	if (!https && !is_loopback(host, len))
		return err_set(err, errlen, "'%s': plain http is allowed only to 127.0.0.1, [::1] "
		    "or localhost; use https://", s);
	len = strlen(s);
	while (len > 0 && s[len - 1] == '/' && s + len > end)
		s[--len] = '\0';
	return 0;
}

/* A Salesforce field API name ("Next_Meeting_Date__c"), or "none" (stored as NULL: not kept):
 * a letter, then letters, digits and single underscores, "__c" only as a custom field's end. */
static int
check_field_name(char **val, char *err, size_t errlen)
{
	const char *s = *val, *dunder;
	size_t len = strlen(s);

	if (strcmp(s, "none") == 0) {
		free(*val);
		*val = NULL;
		return 0;
	}
	dunder = strstr(s, "__");
	if (len == 0 || len > 80 || !isalpha((unsigned char)s[0]) || s[len - 1] == '_' ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != len ||
	    (dunder != NULL && (dunder != s + len - 3 || s[len - 1] != 'c')))
		return err_set(err, errlen, "'%s' is not a field API name (like "
		    "Next_Meeting_Date__c), or none", s);
	return 0;
}

/* host:port to serve the webhook on: an IPv4 address (0.0.0.0 for every interface) or
 * localhost, and a port 0..65535 (0: any free port, for tests). lib/httpd binds IPv4 only. */
static int
check_listen(char **val, char *err, size_t errlen)
{
	const char *s = *val, *colon = strrchr(s, ':');
	struct in_addr a;
	char host[64], *end;
	long port;

	if (colon == NULL || colon == s)
		return err_set(err, errlen, "'%s' is not host:port (e.g. 127.0.0.1:8443)", s);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if ((size_t)(colon - s) >= sizeof(host) || (strcmp(host, "localhost") != 0 &&
	    inet_pton(AF_INET, host, &a) != 1))
		return err_set(err, errlen, "'%s': the host must be an IPv4 address or localhost "
		    "(put a reverse proxy in front for IPv6)", s);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535)
		return err_set(err, errlen, "'%s': the port must be a number from 0 to 65535", s);
	return 0;
}

/* admin_listen: "PORT" (on 127.0.0.1) or "HOST:PORT" as listen takes it; stored as HOST:PORT. */
static int
check_admin_listen(char **val, char *err, size_t errlen)
{
	const char *s = *val;

	if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
		char *full = xasprintf("127.0.0.1:%s", s);

		free(*val);
		*val = full;
	}
	return check_listen(val, err, errlen);
}

/* Whether a listen address (checked by check_listen) is on the loopback interface only. */
int
config_listen_is_loopback(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	size_t n = colon != NULL ? (size_t)(colon - hostport) : strlen(hostport);

	return (n == 9 && strncmp(hostport, "localhost", 9) == 0) ||
	    (n >= 4 && strncmp(hostport, "127.", 4) == 0);
}

/* "v62.0" or "62.0", stored as "v62.0". */
static int
check_api_version(char **val, char *err, size_t errlen)
{
	const char *s = *val + (**val == 'v' || **val == 'V');
	char *end = NULL;
	long major;

	errno = 0;
	major = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : 0;
	if (major < 20 || major > 999 || errno != 0 || strcmp(end, ".0") != 0)
		return err_set(err, errlen, "bad version '%s' (like v62.0)", *val);
	free(*val);
	*val = xasprintf("v%ld.0", major);
	return 0;
}

/* "UTC" or an IANA name. Where the zoneinfo database is installed the name must be in it, because
 * an unknown TZ silently means UTC to the C library. */
static int
check_timezone(char **val, char *err, size_t errlen)
{
	const char *s = *val, *dir;
	struct stat st;
	char *path;
	int ok;

	if (strcmp(s, "UTC") == 0)
		return 0;
	if (*s == '\0' || *s == '/' || strlen(s) > 64 || strstr(s, "..") != NULL ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") !=
	    strlen(s))
		return err_set(err, errlen, "'%s' is not a time zone name (like Europe/Paris)", s);
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	path = xasprintf("%s/%s", dir, s);
	ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	if (!ok)
		return err_set(err, errlen, "unknown time zone '%s' (not in %s)", s, dir);
	return 0;
}

/* Salesforce requires Lead.Company (255 characters). */
static int
check_company(char **val, char *err, size_t errlen)
{
	if (**val == '\0')
		return err_set(err, errlen, "empty value (Salesforce requires a Company)");
	if (strlen(*val) > 255)
		return err_set(err, errlen, "longer than Lead.Company's 255 characters");
	return 0;
}

static int
check_certificate(char **val, char *err, size_t errlen)
{
	X509 *cert;

	if ((cert = crypto_cert_load_file(*val, err, errlen)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	X509_free(cert);
	return 0;
}

/* Both JWT flows sign with RS256, so the key must be RSA and large enough for jwt_sign. */
static int
check_private_key(const char *pem, char *err, size_t errlen)
{
	EVP_PKEY *key;
	int bits, rsa;

	/* Checked here because OpenSSL's reason for text that is no PEM at all is obscure. */
	if (strstr(pem, "-----BEGIN ") == NULL)
		return err_set(err, errlen, "not a PEM private key");
	if ((key = crypto_privkey_load_pem(pem, err, errlen)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
	bits = EVP_PKEY_get_bits(key);
	EVP_PKEY_free(key);
	if (!rsa)
		return err_set(err, errlen, "not an RSA private key");
	if (bits < JWT_MIN_RSA_BITS)
		return err_set(err, errlen, "RSA key of %d bits; at least %d are needed", bits,
		    JWT_MIN_RSA_BITS);
	return 0;
}

/* Scalars */

static void
fmt_duration(long long ms, char *buf, size_t len)
{
	if (ms != 0 && ms % DAY == 0)
		snprintf(buf, len, "%lldd", ms / DAY);
	else if (ms != 0 && ms % HOUR == 0)
		snprintf(buf, len, "%lldh", ms / HOUR);
	else if (ms != 0 && ms % MIN == 0)
		snprintf(buf, len, "%lldm", ms / MIN);
	else if (ms % SEC == 0)
		snprintf(buf, len, "%llds", ms / SEC);
	else
		snprintf(buf, len, "%lldms", ms);
}

static int
parse_int(const struct option *o, const char *s, long long *out, char *err, size_t errlen)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)s[s[0] == '-']))
		return err_set(err, errlen, "bad number '%s'", s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return err_set(err, errlen, "bad number '%s'", s);
	if (v < o->min || v > o->max)
		return err_set(err, errlen, "%s is out of range (%lld .. %lld)", s, o->min, o->max);
	*out = v;
	return 0;
}

/* A number and a unit; a bare number is refused because "15" could mean seconds or minutes,
 * except 0, which is 0 in any unit ("batch_window 0"). */
static int
parse_duration(const struct option *o, const char *s, long long *out, char *err,
    size_t errlen)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = { { "ms", 1 }, { "s", SEC }, { "m", MIN }, { "h", HOUR }, { "d", DAY } };
	char lo[32], hi[32];
	char *end;
	long long v;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		goto bad;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		goto bad;
	if (v == 0 && *end == '\0') {
		if (o->min > 0)
			goto range;
		*out = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > LLONG_MAX / units[i].ms)
			goto range;
		v *= units[i].ms;
		if (v < o->min || v > o->max)
			goto range;
		*out = v;
		return 0;
	}
bad:
	return err_set(err, errlen, "bad duration '%s' (a number and a unit: ms, s, m, h or d, "
	    "like 15m)", s);
range:
	fmt_duration(o->min, lo, sizeof(lo));
	fmt_duration(o->max, hi, sizeof(hi));
	return err_set(err, errlen, "%s is out of range (%s .. %s)", s, lo, hi);
}

static int
parse_bool(const char *s, int *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on" }, *const no[] = { "no", "false",
	    "off" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return err_set(err, errlen, "bad value '%s' (expected yes or no)", s);
}

static int
parse_enum(const struct option *o, const char *s, int *out, char *err, size_t errlen)
{
	char expected[256] = "";
	size_t n = 0;

	for (int i = 0; o->names[i] != NULL; i++) {
		if (strcasecmp(s, o->names[i]) == 0) {
			*out = i;
			return 0;
		}
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(expected);

		snprintf(expected + len, sizeof(expected) - len, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", o->names[i]);
	}
	return err_set(err, errlen, "bad value '%s' (expected %s)", s, expected);
}

static char *
resolve_path(const struct parser *p, const char *s)
{
	/* database may be a PostgreSQL URI rather than a file */
	if (s[0] == '/' || p->basedir == NULL || s[0] == '\0' || store_target_is_postgresql(s))
		return xstrdup(s);
	return xasprintf("%s/%s", p->basedir, s);
}

/* Reads a secret file, refusing one that group or others may access (OpenBSD's rule: a secret
 * that other users can read is no longer a secret). Caller wipes and frees. */
static char *
read_secret_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO must not hang the start; it is refused as not regular below. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, errlen, "%s is not a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err_set(err, errlen, "%s has mode %04o: a secret file must not be accessible by "
		    "group or others (chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	buf = xmalloc(CONFIG_MAX_SECRET + 1);
	while (len <= CONFIG_MAX_SECRET) {
		n = read(fd, buf + len, CONFIG_MAX_SECRET + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_SECRET) {
		err_set(err, errlen, "%s is larger than %d bytes", path, CONFIG_MAX_SECRET);
		goto fail;
	}
	if (memchr(buf, '\0', len) != NULL) {
		err_set(err, errlen, "%s holds a NUL byte", path);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
fail:
	if (buf != NULL) {
		explicit_bzero(buf, CONFIG_MAX_SECRET + 1);
		free(buf);
	}
	close(fd);
	return NULL;
}

/* A secret from env:NAME or from a file: trimmed unless it is PEM, then checked. Caller wipes
 * and frees. The value never appears in a message. */
static char *
load_secret(const struct parser *p, const struct option *o, const char *word, char *err,
    size_t errlen)
{
	const char *name, *env;
	char *val, *path;
	size_t len;

	if (o->type == T_SECRET_FILE) {
		if (*word == '\0') {
			err_set(err, errlen, "empty path");
			return NULL;
		}
		path = resolve_path(p, word);
		val = read_secret_file(path, err, errlen);
		free(path);
		if (val == NULL)
			return NULL;
	} else {
		if (strncmp(word, "env:", 4) != 0) {
			err_set(err, errlen, "a secret is never written in the configuration file; "
			    "use %s_file PATH or %s env:NAME", o->name, o->name);
			return NULL;
		}
		name = word + 4;
		if (*name == '\0' || isdigit((unsigned char)*name) ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
		    != strlen(name)) {
			err_set(err, errlen, "bad environment variable name '%s'", name);
			return NULL;
		}
		if ((env = getenv(name)) == NULL) {
			err_set(err, errlen, "environment variable %s is not set", name);
			return NULL;
		}
		val = xstrdup(env);
	}
	/* A secret file usually ends in a newline that is not part of the secret. */
	len = strlen(val);
	if (!(o->flags & OPT_PEM_KEY))
		while (len > 0 && isspace((unsigned char)val[len - 1]))
			val[--len] = '\0';
	if (len == 0) {
		err_set(err, errlen, "the secret is empty");
		goto fail;
	}
	if ((o->flags & OPT_PEM_KEY) && check_private_key(val, err, errlen) == -1)
		goto fail;
	return val;
fail:
	explicit_bzero(val, strlen(val));
	free(val);
	return NULL;
}

/* Options */

static int
find_option(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return (int)i;
	return -1;
}

static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65], prev, tmp;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (tolower((unsigned char)a[i - 1]) != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

static const char *
suggest(const char *key)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, d;

	for (size_t i = 0; i < NOPTIONS; i++) {
		d = distance(key, options[i].name);
		if (d < bestd && d <= 2 + strlen(options[i].name) / 8) {
			best = options[i].name;
			bestd = d;
		}
	}
	return best;
}

/* The option already holding the field of option i (itself, or the other form of a secret). */
static int
set_by(const struct parser *p, size_t i)
{
	for (size_t j = 0; j < NOPTIONS; j++)
		if (options[j].off == options[i].off && p->set_line[j] != 0)
			return (int)j;
	return -1;
}

static void
set_list(struct parser *p, size_t i, struct config_list *words)
{
	const struct option *o = &options[i];
	struct config_list *l = FIELD(p->cfg, o, struct config_list);
	char err[512];
	char *item;

	/* The first line that names a list replaces its default; later lines add to it. */
	if (!p->defaults && p->set_line[i] == 0)
		list_clear(l, 0);
	for (size_t k = 0; k < words->n; k++) {
		if ((o->flags & OPT_NONE) && strcmp(words->v[k], "none") == 0) {
			if (l->n > 0 || words->n > 1) {
				perr(p, "%s: 'none' cannot be combined with other values", o->name);
				return;
			}
			p->none_line[i] = p->line;
			continue;
		}
		if (p->none_line[i] != 0) {
			perr(p, "%s: 'none' (line %d) cannot be combined with other values",
			    o->name, p->none_line[i]);
			return;
		}
		item = xstrdup(words->v[k]);
		if (o->check != NULL && o->check(&item, err, sizeof(err)) == -1) {
			perr(p, "%s: %s", o->name, err);
			free(item);
			continue;
		}
		if (list_has(l, item))
			free(item);
		else
			list_add(l, item);
	}
}

static void
set_map(struct parser *p, size_t i, struct config_list *words)
{
	const struct option *o = &options[i];
	struct config_map *m = FIELD(p->cfg, o, struct config_map);
	char err[512];
	char *key, *val;

	if (words->n != 2) {
		perr(p, "%s takes two values: a mailbox and an owner", o->name);
		return;
	}
	key = xstrdup(words->v[0]);
	val = xstrdup(words->v[1]);
	if (o->check_key(&key, err, sizeof(err)) == -1) {
		perr(p, "%s: %s", o->name, err);
		goto fail;
	}
	if (o->check(&val, err, sizeof(err)) == -1) {
		perr(p, "%s: %s", o->name, err);
		goto fail;
	}
	for (size_t k = 0; k < m->n; k++) {
		if (strcmp(m->v[k].key, key) == 0) {
			perr(p, "%s: duplicate entry for '%s' (first at line %d)", o->name, key,
			    p->map_lines[i][k]);
			goto fail;
		}
	}
	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	p->map_lines[i] = xrealloc(p->map_lines[i], (m->n + 1) * sizeof(int));
	m->v[m->n].key = key;
	m->v[m->n].value = val;
	p->map_lines[i][m->n++] = p->line;
	return;
fail:
	free(key);
	free(val);
}

static void
set_scalar(struct parser *p, size_t i, const char *word)
{
	const struct option *o = &options[i];
	char err[768];
	char *s = NULL;
	long long ll = 0;
	int n = 0;

	switch (o->type) {
	case T_STRING:
	case T_PATH:
		s = o->type == T_PATH ? resolve_path(p, word) : xstrdup(word);
		if (o->check != NULL && o->check(&s, err, sizeof(err)) == -1)
			goto bad;
		free(*FIELD(p->cfg, o, char *));
		*FIELD(p->cfg, o, char *) = s;
		return;
	case T_SECRET:
	case T_SECRET_FILE:
		if ((s = load_secret(p, o, word, err, sizeof(err))) == NULL)
			goto bad;
		secret_free(FIELD(p->cfg, o, char *));
		*FIELD(p->cfg, o, char *) = s;
		return;
	case T_INT:
		if (parse_int(o, word, &ll, err, sizeof(err)) == -1)
			goto bad;
		*FIELD(p->cfg, o, int) = (int)ll;
		return;
	case T_DURATION:
		if (parse_duration(o, word, &ll, err, sizeof(err)) == -1)
			goto bad;
		*FIELD(p->cfg, o, long long) = ll;
		return;
	case T_BOOL:
		if (parse_bool(word, &n, err, sizeof(err)) == -1)
			goto bad;
		*FIELD(p->cfg, o, int) = n;
		return;
	case T_ENUM:
		if (parse_enum(o, word, &n, err, sizeof(err)) == -1)
			goto bad;
		*FIELD(p->cfg, o, int) = n;
		return;
	case T_LIST:
	case T_MAP:
		break;
	}
	abort();
bad:
	free(s);
	perr(p, "%s: %s", o->name, err);
}

static void
set_option(struct parser *p, size_t i, struct config_list *words)
{
	const struct option *o = &options[i];
	int j;

	if (words->n == 0) {
		perr(p, "missing value for '%s'", o->name);
		return;
	}
	if (o->type == T_LIST)
		set_list(p, i, words);
	else if (o->type == T_MAP)
		set_map(p, i, words);
	else if (words->n != 1) {
		perr(p, "'%s' takes one value (quote it if it holds spaces or commas)", o->name);
		return;
	} else if (!p->defaults && (j = set_by(p, i)) != -1) {
		if ((size_t)j == i)
			perr(p, "duplicate key '%s' (first set at line %d)", o->name,
			    p->set_line[j]);
		else
			perr(p, "'%s' conflicts with '%s' at line %d: give one of them", o->name,
			    options[j].name, p->set_line[j]);
		return;
	} else
		set_scalar(p, i, words->v[0]);
	/* Recorded even when the value was bad, so the key is not also reported missing. */
	if (!p->defaults)
		p->set_line[i] = p->line;
}

/* Splits a value into words: blanks and commas separate them, double quotes group (escapes \"
 * \\ \n \t \r), and an unquoted '#' starting a word begins a comment. */
static int
split_words(const char *s, struct config_list *out, char *err, size_t errlen)
{
	char *w = xmalloc(strlen(s) + 1);
	size_t n;

	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0' || *s == '#')
			break;
		n = 0;
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\0') {
					err_set(err, errlen, "unterminated quoted string");
					goto fail;
				}
				if (*s != '\\') {
					w[n++] = *s;
					continue;
				}
				switch (*++s) {
				case '"':
				case '\\':
					w[n++] = *s;
					break;
				case 'n':
					w[n++] = '\n';
					break;
				case 't':
					w[n++] = '\t';
					break;
				case 'r':
					w[n++] = '\r';
					break;
				case '\0':
					err_set(err, errlen, "unterminated quoted string");
					goto fail;
				default:
					if (isprint((unsigned char)*s))
						err_set(err, errlen, "unknown escape '\\%c' in quoted "
						    "string", *s);
					else
						err_set(err, errlen, "unknown escape in quoted "
						    "string");
					goto fail;
				}
			}
			s++;
			if (*s != '\0' && strchr(" \t,", *s) == NULL) {
				err_set(err, errlen, "text after a closing quote");
				goto fail;
			}
		} else {
			for (; *s != '\0' && strchr(" \t,", *s) == NULL; s++) {
				if (*s == '"') {
					err_set(err, errlen, "quote inside a word (quote the whole "
					    "value)");
					goto fail;
				}
				w[n++] = *s;
			}
		}
		list_add(out, xstrndup(w, n));
	}
	free(w);
	return 0;
fail:
	free(w);
	list_clear(out, 1);
	return -1;
}

static void
parse_line(struct parser *p, char *line)
{
	struct config_list words = { NULL, 0 };
	char err[256];
	const char *hint;
	char *key, *s;
	int i;

	s = line + strspn(line, " \t");
	if (*s == '\0' || *s == '#')
		return;
	key = s;
	s += strcspn(s, " \t=");
	if (*s != '\0') {
		char sep = *s;

		*s++ = '\0';
		s += strspn(s, " \t");
		if (sep != '=' && *s == '=')
			s++;
	}
	if ((i = find_option(key)) == -1) {
		if ((hint = suggest(key)) != NULL)
			perr(p, "unknown key '%s' (did you mean '%s'?)", key, hint);
		else
			perr(p, "unknown key '%s'", key);
		return;
	}
	if (split_words(s, &words, err, sizeof(err)) == -1) {
		perr(p, "%s: %s", key, err);
		p->set_line[i] = p->line;
		return;
	}
	set_option(p, (size_t)i, &words);
	list_clear(&words, options[i].type == T_SECRET || options[i].type == T_SECRET_FILE);
}

static void
missing(struct parser *p, const char *key, const char *why)
{
	perr(p, "missing required key '%s'%s%s", key, why[0] ? " " : "", why);
}

/* The real-time keys go together: listen needs public_url, TLS needs both files. */
static void
finish_realtime(struct parser *p)
{
	struct config *cfg = p->cfg;
	char err[512];
	EVP_PKEY *key;
	X509 *cert;

	if (cfg->listen != NULL && p->set_line[find_option("public_url")] == 0)
		missing(p, "public_url", "(needed with listen: the https URL Graph posts to)");
	if (cfg->listen == NULL && (cfg->public_url != NULL ||
	    cfg->tls_certificate_file != NULL || cfg->tls_private_key != NULL))
		perr(p, "public_url and tls_* need listen (the address to serve the webhook on)");
	if (cfg->subscription_renew_every_ms >= cfg->subscription_lifetime_ms)
		perr(p, "subscription_renew_every must be shorter than subscription_lifetime, or "
		    "subscriptions lapse between renewals");
	if ((cfg->tls_certificate_file == NULL) != (cfg->tls_private_key == NULL)) {
		if (set_by(p, (size_t)find_option("tls_private_key")) != -1 ||
		    p->set_line[find_option("tls_certificate_file")] != 0)
			perr(p, "give both tls_certificate_file and tls_private_key_file, or "
			    "neither (TLS in front of olsync, e.g. nginx)");
	} else if (cfg->tls_certificate_file != NULL) {
		cert = crypto_cert_load_file(cfg->tls_certificate_file, err, sizeof(err));
		key = crypto_privkey_load_pem(cfg->tls_private_key, err, sizeof(err));
		if (key == NULL)
			perr(p, "tls_private_key: %s", err);
		else if (cert != NULL && X509_check_private_key(cert, key) != 1)
			perr(p, "tls_private_key does not belong to tls_certificate_file %s",
			    cfg->tls_certificate_file);
		ERR_clear_error();
		X509_free(cert);
		EVP_PKEY_free(key);
	}
}

/* The admin endpoint (metrics, health, dashboard) is open on loopback; anywhere else it needs a
 * token, and a token worth the name. */
static void
finish_admin(struct parser *p)
{
	struct config *cfg = p->cfg;

	if (cfg->admin_token != NULL && cfg->admin_listen == NULL)
		perr(p, "admin_token needs admin_listen (the address of the dashboard and /metrics)");
	else if (cfg->admin_token != NULL && strlen(cfg->admin_token) < 16)
		perr(p, "admin_token: at least 16 characters (make one with: openssl rand -hex 24)");
	else if (cfg->admin_listen != NULL && cfg->admin_token == NULL &&
	    !config_listen_is_loopback(cfg->admin_listen))
		perr(p, "admin_listen %s is not a loopback address: give admin_token_file too, or "
		    "the dashboard and /metrics are open to the network", cfg->admin_listen);
}

/* Rules between keys, checked once the whole file is read. */
static void
finish(struct parser *p)
{
	struct config *cfg = p->cfg;
	struct config_list *mb = &cfg->mailboxes;
	char err[512];
	EVP_PKEY *key;
	X509 *cert;

	p->line = 0;
	for (size_t i = 0; i < NOPTIONS; i++)
		if ((options[i].flags & OPT_REQUIRED) && p->set_line[i] == 0)
			missing(p, options[i].name, "");

	if (cfg->graph_client_secret != NULL &&
	    (cfg->graph_certificate_file != NULL || cfg->graph_private_key != NULL))
		perr(p, "give either graph_client_secret or graph_certificate_file with "
		    "graph_private_key, not both");
	else if (cfg->graph_client_secret != NULL)
		cfg->graph_auth = CONFIG_GRAPH_AUTH_SECRET;
	else if (cfg->graph_certificate_file != NULL && cfg->graph_private_key != NULL) {
		cfg->graph_auth = CONFIG_GRAPH_AUTH_CERTIFICATE;
		cert = crypto_cert_load_file(cfg->graph_certificate_file, err, sizeof(err));
		key = crypto_privkey_load_pem(cfg->graph_private_key, err, sizeof(err));
		if (cert != NULL && key != NULL && X509_check_private_key(cert, key) != 1)
			perr(p, "graph_private_key does not belong to graph_certificate_file %s",
			    cfg->graph_certificate_file);
		/* Do not leave the mismatch in the queue for the next OpenSSL caller's message. */
		ERR_clear_error();
		X509_free(cert);
		EVP_PKEY_free(key);
	} else if (cfg->graph_certificate_file != NULL)
		missing(p, "graph_private_key_file", "(needed with graph_certificate_file)");
	else if (cfg->graph_private_key != NULL)
		missing(p, "graph_certificate_file", "(needed with graph_private_key)");
	else if (set_by(p, (size_t)find_option("graph_client_secret")) == -1 &&
	    set_by(p, (size_t)find_option("graph_private_key")) == -1 &&
	    p->set_line[find_option("graph_certificate_file")] == 0)
		missing(p, "graph_client_secret_file",
		    "(or graph_client_secret env:NAME, or graph_certificate_file and "
		    "graph_private_key_file)");

	/* A key given but refused was reported already; do not call it missing too. */
	if (cfg->sf_auth == CONFIG_SF_AUTH_JWT) {
		if (set_by(p, (size_t)find_option("sf_username")) == -1)
			missing(p, "sf_username", "(needed by sf_auth jwt)");
		if (set_by(p, (size_t)find_option("sf_private_key")) == -1)
			missing(p, "sf_private_key_file", "(or sf_private_key env:NAME; needed by "
			    "sf_auth jwt)");
	} else {
		if (set_by(p, (size_t)find_option("sf_client_secret")) == -1)
			missing(p, "sf_client_secret_file", "(or sf_client_secret env:NAME; "
			    "needed by sf_auth refresh_token)");
		if (set_by(p, (size_t)find_option("sf_refresh_token")) == -1)
			missing(p, "sf_refresh_token_file", "(or sf_refresh_token env:NAME; "
			    "needed by sf_auth refresh_token)");
	}

	finish_realtime(p);
	finish_admin(p);

	cfg->mailboxes_kind = CONFIG_MAILBOXES_LIST;
	for (size_t k = 0; k < mb->n; k++) {
		int all = strcmp(mb->v[k], "all") == 0;

		if (!all && strncmp(mb->v[k], "group:", 6) != 0)
			continue;
		if (mb->n > 1) {
			p->line = p->set_line[find_option("mailboxes")];
			perr(p, "mailboxes: '%s' cannot be combined with other mailboxes",
			    mb->v[k]);
			p->line = 0;
			break;
		}
		cfg->mailboxes_kind = all ? CONFIG_MAILBOXES_ALL : CONFIG_MAILBOXES_GROUP;
		if (!all)
			cfg->mailbox_group = xstrdup(mb->v[k] + 6);
		list_clear(mb, 0);
		break;
	}
}

int
config_parse(const char *name, const char *text, size_t len, const char *basedir,
    struct config *cfg, struct config_errors *errs)
{
	struct parser *p = xcalloc(1, sizeof(*p));
	struct config_list words;
	const char *eol, *end = text + len;
	char err[256], *line;
	size_t n;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	p->name = name;
	p->basedir = basedir;
	p->cfg = cfg;
	p->errs = errs;

	p->defaults = 1;
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].def == NULL)
			continue;
		memset(&words, 0, sizeof(words));
		if (split_words(options[i].def, &words, err, sizeof(err)) == -1)
			perr(p, "%s: %s", options[i].name, err);
		set_option(p, i, &words);
		list_clear(&words, 0);
	}
	p->defaults = 0;

	for (const char *s = text; s < end && !p->full; s = eol + 1) {
		p->line++;
		if ((eol = memchr(s, '\n', (size_t)(end - s))) == NULL)
			eol = end;
		n = (size_t)(eol - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > CONFIG_MAX_LINE) {
			perr(p, "line longer than %d bytes", CONFIG_MAX_LINE);
			continue;
		}
		if (memchr(s, '\0', n) != NULL) {
			perr(p, "NUL byte in line");
			continue;
		}
		line = xstrndup(s, n);
		for (const char *c = line; *c; c++) {
			if ((unsigned char)*c < ' ' && *c != '\t') {
				perr(p, "control character in line");
				*line = '\0';
				break;
			}
		}
		parse_line(p, line);
		explicit_bzero(line, n);
		free(line);
	}
	if (!p->full)
		finish(p);

	rc = errs->n == 0 ? 0 : -1;
	if (rc == -1)
		config_free(cfg);
	for (size_t i = 0; i < NOPTIONS; i++)
		free(p->map_lines[i]);
	free(p);
	return rc;
}

static void
add_error(struct config_errors *errs, char *msg)
{
	errs->v = xrealloc(errs->v, (errs->n + 1) * sizeof(*errs->v));
	errs->v[errs->n++] = msg;
}

int
config_load(const char *path, struct config *cfg, struct config_errors *errs)
{
	struct stat st;
	char *buf = NULL, *dir = NULL, *absdir = NULL;
	const char *slash;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		add_error(errs, xasprintf("%s: %s", path, strerror(errno)));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		add_error(errs, xasprintf("%s: not a regular file", path));
		goto out;
	}
	buf = xmalloc(CONFIG_MAX_FILE + 1);
	while (len <= CONFIG_MAX_FILE) {
		n = read(fd, buf + len, CONFIG_MAX_FILE + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			add_error(errs, xasprintf("%s: %s", path, strerror(errno)));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_FILE) {
		add_error(errs, xasprintf("%s: larger than %d bytes", path, CONFIG_MAX_FILE));
		goto out;
	}
	/* Relative paths in the file are relative to its directory, made absolute so that a later
	 * chdir does not move the database. */
	slash = strrchr(path, '/');
	dir = slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path));
	absdir = realpath(dir, NULL);
	rc = config_parse(path, buf, len, absdir != NULL ? absdir : dir, cfg, errs);
out:
	if (buf != NULL) {
		/* The file holds no secret unless someone wrote one in by mistake; wipe anyway. */
		explicit_bzero(buf, len);
		free(buf);
	}
	free(dir);
	free(absdir);
	close(fd);
	return rc;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &options[i];

		switch (o->type) {
		case T_STRING:
		case T_PATH:
			free(*FIELD(cfg, o, char *));
			*FIELD(cfg, o, char *) = NULL;
			break;
		case T_SECRET:
			secret_free(FIELD(cfg, o, char *));
			break;
		case T_LIST:
			list_clear(FIELD(cfg, o, struct config_list), 0);
			break;
		case T_MAP: {
			struct config_map *m = FIELD(cfg, o, struct config_map);

			for (size_t k = 0; k < m->n; k++) {
				free(m->v[k].key);
				free(m->v[k].value);
			}
			free(m->v);
			break;
		}
		case T_SECRET_FILE:	/* the T_SECRET row owns the field */
		case T_INT:
		case T_BOOL:
		case T_DURATION:
		case T_ENUM:
			break;
		}
	}
	free(cfg->mailbox_group);
	memset(cfg, 0, sizeof(*cfg));
}

void
config_errors_free(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i]);
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

const char *
config_lead_owner(const struct config *cfg, const char *mailbox)
{
	for (size_t i = 0; i < cfg->lead_owner.n; i++)
		if (strcasecmp(cfg->lead_owner.v[i].key, mailbox) == 0)
			return cfg->lead_owner.v[i].value;
	return NULL;
}

/* Writes s as one word of the file format, quoted when it has to be. */
static void
put_word(FILE *fp, const char *s)
{
	if (*s != '\0' && *s != '#' && strpbrk(s, " \t,\"\\\n\r") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '\r')
			fputs("\\r", fp);
		else if (*s == '\t')
			fputs("\\t", fp);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

void
config_dump(const struct config *cfg, FILE *fp)
{
	char buf[32];

	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &options[i];
		const struct config_list *l;
		const struct config_map *m;
		const char *s;

		if (o->type == T_SECRET_FILE)
			continue;
		if (o->type == T_MAP) {
			m = (const struct config_map *)(const void *)((const char *)cfg + o->off);
			if (m->n == 0)
				fprintf(fp, "%s none\n", o->name);
			for (size_t k = 0; k < m->n; k++) {
				fprintf(fp, "%s ", o->name);
				put_word(fp, m->v[k].key);
				fputc(' ', fp);
				put_word(fp, m->v[k].value);
				fputc('\n', fp);
			}
			continue;
		}
		fprintf(fp, "%s ", o->name);
		switch (o->type) {
		case T_STRING:
		case T_PATH:
			s = *(char *const *)(const void *)((const char *)cfg + o->off);
			if (s != NULL)
				put_word(fp, s);
			else
				fputs("(not set)", fp);
			break;
		case T_SECRET:
			s = *(char *const *)(const void *)((const char *)cfg + o->off);
			fputs(s != NULL ? "(set)" : "(not set)", fp);
			break;
		case T_INT:
			fprintf(fp, "%d", *(const int *)(const void *)((const char *)cfg + o->off));
			break;
		case T_BOOL:
			fputs(*(const int *)(const void *)((const char *)cfg + o->off) ? "yes" : "no",
			    fp);
			break;
		case T_ENUM:
			fputs(o->names[*(const int *)(const void *)((const char *)cfg + o->off)], fp);
			break;
		case T_DURATION:
			fmt_duration(*(const long long *)(const void *)((const char *)cfg + o->off),
			    buf, sizeof(buf));
			fputs(buf, fp);
			break;
		case T_LIST:
			l = (const struct config_list *)(const void *)((const char *)cfg + o->off);
			if (o->off == OFF(mailboxes) && cfg->mailboxes_kind == CONFIG_MAILBOXES_ALL)
				fputs("all", fp);
			else if (o->off == OFF(mailboxes) &&
			    cfg->mailboxes_kind == CONFIG_MAILBOXES_GROUP)
				fprintf(fp, "group:%s", cfg->mailbox_group);
			else if (l->n == 0)
				fputs("none", fp);
			for (size_t k = 0; k < l->n; k++) {
				if (k > 0)
					fputs(", ", fp);
				put_word(fp, l->v[k]);
			}
			break;
		case T_MAP:
		case T_SECRET_FILE:
			break;
		}
		fputc('\n', fp);
	}
}
