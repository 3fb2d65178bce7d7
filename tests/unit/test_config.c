/* test_config.c: the configuration file (src/config.c): every option type parsed and normalized
 * (checked through config_dump's canonical lines), every kind of error with its exact
 * "file:line: message", secrets from files and env: only, and etc/olsync.conf.example loading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "testkeys.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define GRAPH_SECRET	"graph-s3cret-VALUE"
#define SF_SECRET	"sf-consumer-s3cret-VALUE"
#define REFRESH_TOKEN	"5Aep861-refresh-VALUE"

static char tmpdir[PATH_MAX];

static void
write_pkey(const char *name, EVP_PKEY *key)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");

	if (fp == NULL || !PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL))
		fail_msg("cannot write %s", path);
	fclose(fp);
	chmod(path, 0600);
	free(path);
	EVP_PKEY_free(key);
}

/* The secret files and environment every test can count on. */
static int
setup(void **state)
{
	char *key, *cert, *key1;

	(void)state;
	/* A real path: config_load makes its directory absolute the same way. */
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "test_config") == -1)
		return -1;
	testkeys_pem(0, &key, &cert);
	testkeys_pem(1, &key1, NULL);
	tmpdir_write(tmpdir, "sf-key.pem", key, 0600);
	tmpdir_write(tmpdir, "graph-key.pem", key, 0600);
	tmpdir_write(tmpdir, "graph-cert.pem", cert, 0644);	/* a certificate is public */
	tmpdir_write(tmpdir, "other-key.pem", key1, 0600);
	tmpdir_write(tmpdir, "salesforce-key.pem", key, 0600);	/* named by the example file */
	tmpdir_write(tmpdir, "sf-refresh.token", REFRESH_TOKEN "\n", 0600);
	tmpdir_write(tmpdir, "world.secret", "x\n", 0644);
	tmpdir_write(tmpdir, "group.secret", "x\n", 0640);
	tmpdir_write(tmpdir, "empty.secret", "\n", 0600);
	tmpdir_write(tmpdir, "not-a-key.pem", "hello\n", 0600);
	write_pkey("small-key.pem", EVP_RSA_gen(1024));
	write_pkey("ec-key.pem", EVP_EC_gen("P-256"));
	free(key);
	free(cert);
	free(key1);
	setenv("OLT_GRAPH_SECRET", GRAPH_SECRET, 1);
	setenv("OLT_SF_SECRET", SF_SECRET "\n", 1);
	setenv("OLSYNC_GRAPH_CLIENT_SECRET", GRAPH_SECRET, 1);
	unsetenv("OLT_UNSET");
	setenv("OLT_EMPTY", "", 1);
	setenv("OLT_ADMIN_TOKEN", "0123456789abcdef0123", 1);
	setenv("OLT_SHORT", "short", 1);
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

/* Every case is appended to these seven lines, so its first line is line 8. A case that does not
 * name mailboxes gets "mailboxes alice@contoso.com" after it. */
#define BASE \
	"graph_tenant contoso.onmicrosoft.com\n" \
	"graph_client_id 6731de76-14a6-49ae-97bc-6eba6914391e\n" \
	"graph_client_secret env:OLT_GRAPH_SECRET\n" \
	"sf_client_id 3MVG9.consumer_key\n" \
	"sf_username integration@contoso.com\n" \
	"sf_private_key_file sf-key.pem\n" \
	"internal_domains contoso.com\n"

static char *
with_base(const char *text)
{
	return xasprintf("%s%s%s", BASE, text, strstr(text, "mailboxes") != NULL ? "" :
	    "\nmailboxes alice@contoso.com\n");
}

/* Replaces each "@T" in s with the temporary directory. Caller frees. */
static char *
expand(const char *s)
{
	char *out = xstrdup(""), *next;
	const char *at;

	while ((at = strstr(s, "@T")) != NULL) {
		next = xasprintf("%s%.*s%s", out, (int)(at - s), s, tmpdir);
		free(out);
		out = next;
		s = at + 2;
	}
	next = xasprintf("%s%s", out, s);
	free(out);
	return next;
}

static char *
dump(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	config_dump(cfg, fp);
	fclose(fp);
	return buf;
}

static char *
join_errors(const struct config_errors *errs)
{
	char *out = xstrdup(""), *next;

	for (size_t i = 0; i < errs->n; i++) {
		next = xasprintf("%s%s%s", out, i ? "\n" : "", errs->v[i]);
		free(out);
		out = next;
	}
	return out;
}

static int
parse(const char *text, struct config *cfg, struct config_errors *errs)
{
	return config_parse("t.conf", text, strlen(text), tmpdir, cfg, errs);
}

/* Good files: each line of want must be a line of config_dump's output. */
static const struct {
	const char *text;
	const char *want;
} good_cases[] = {
	/* durations */
	{ "sync_interval 90s", "sync_interval 90s" },
	{ "sync_interval = 1h", "sync_interval 1h" },
	{ "sync_interval=120m", "sync_interval 2h" },
	{ "sync_interval\t\t1d", "sync_interval 1d" },
	{ "http_timeout 1500ms", "http_timeout 1500ms" },
	{ "retry_base 1s", "retry_base 1s" },
	{ "retry_base 90s", "retry_base 90s" },
	{ "retry_base 1h", "retry_base 1h" },
	{ "batch_window 0", "batch_window 0s" },
	{ "batch_window 00", "batch_window 0s" },
	{ "batch_window 0s", "batch_window 0s" },
	/* integers, with a trailing comment */
	{ "backfill_days 0", "backfill_days 0" },
	{ "backfill_days 3650   # ten years", "backfill_days 3650" },
	{ "max_attempts 1", "max_attempts 1" },
	/* booleans */
	{ "create_leads no", "create_leads no" },
	{ "create_leads OFF", "create_leads no" },
	{ "create_leads true", "create_leads yes" },
	/* enums, case-insensitive */
	{ "mode both", "mode both" },
	{ "mode EmailMessage", "mode emailmessage" },
	{ "tie_break most-recently-modified", "tie_break most-recently-modified" },
	{ "tie_break newest", "tie_break newest" },
	{ "opportunity_policy none", "opportunity_policy none" },
	{ "log_level debug", "log_level debug" },
	/* strings, quoted, with escapes */
	{ "free_mail_company \"Unknown (free mail)\"",
	    "free_mail_company \"Unknown (free mail)\"" },
	{ "free_mail_company \"Say \\\"hi\\\",\\tnow\"",
	    "free_mail_company \"Say \\\"hi\\\",\\tnow\"" },
	{ "free_mail_company Individual#1", "free_mail_company Individual#1" },
	{ "activity_timezone Europe/Paris", "activity_timezone Europe/Paris" },
	{ "activity_timezone America/Argentina/Buenos_Aires",
	    "activity_timezone America/Argentina/Buenos_Aires" },
	/* URLs: loopback may be http; the trailing '/' goes */
	{ "graph_base_url http://127.0.0.1:8800/v1.0/", "graph_base_url http://127.0.0.1:8800/v1.0" },
	{ "graph_login_url http://localhost:8800", "graph_login_url http://localhost:8800" },
	{ "sf_login_url http://[::1]:8700/", "sf_login_url http://[::1]:8700" },
	{ "sf_login_url https://test.salesforce.com/", "sf_login_url https://test.salesforce.com" },
	{ "sf_api_version 61.0", "sf_api_version v61.0" },
	{ "database postgresql://olsync@db.example:5432/olsync?sslmode=verify-full",
	    "database postgresql://olsync@db.example:5432/olsync?sslmode=verify-full" },
	{ "instance_name olsync-a", "instance_name olsync-a" },
	{ "lease_time 45s", "lease_time 45s" },
	/* lists: commas or repeated keys, lowercased, duplicates dropped, defaults replaced */
	{ "blocked_domains spam.example, Junk.EXAMPLE\nblocked_domains junk.example",
	    "blocked_domains spam.example, junk.example" },
	{ "blocked_addresses \"Bad@Evil.com\" ,noreply@x.io",
	    "blocked_addresses bad@evil.com, noreply@x.io" },
	{ "skip_sensitivity none", "skip_sensitivity none" },
	{ "skip_sensitivity Personal", "skip_sensitivity personal" },
	{ "free_mail_domains none", "free_mail_domains none" },
	{ "free_mail_domains gmail.com", "free_mail_domains gmail.com" },
	{ "mailboxes Bob@Contoso.com, carol@contoso.com\nmailboxes dave@contoso.com",
	    "mailboxes bob@contoso.com, carol@contoso.com, dave@contoso.com" },
	{ "mailboxes all", "mailboxes all" },
	{ "mailboxes group:0B9C3E2A-1111-4e0e-9c3a-5d6f3a1b7c01",
	    "mailboxes group:0b9c3e2a-1111-4e0e-9c3a-5d6f3a1b7c01" },
	/* maps: one entry per line; user id, queue id, username */
	{ "lead_owner Sales@contoso.com 00G5g000001AbCdEAF\nlead_owner info@contoso.com "
	    "Queue.Owner@Contoso.com",
	    "lead_owner sales@contoso.com 00G5g000001AbCdEAF\n"
	    "lead_owner info@contoso.com queue.owner@contoso.com" },
	{ "lead_owner_pool 0055g0000004C94, rep@contoso.com",
	    "lead_owner_pool 0055g0000004C94, rep@contoso.com" },
	/* secrets: shown as set, never their value */
	{ "sf_auth refresh_token\nsf_client_secret env:OLT_SF_SECRET\n"
	    "sf_refresh_token_file sf-refresh.token",
	    "sf_auth refresh_token\nsf_client_secret (set)\nsf_refresh_token (set)" },
	/* meetings */
	{ "meeting_tentative yes\nmeeting_match any-external\nmeeting_opportunity none\n"
	    "meeting_without_opportunity skip\nmeeting_cancelled mark\n"
	    "meeting_window_past 7d\nmeeting_window_future 1d\nnext_meeting_field Next_Call__c",
	    "meeting_tentative yes\nmeeting_match any-external\nmeeting_opportunity none\n"
	    "meeting_without_opportunity skip\nmeeting_cancelled mark\nmeeting_window_past 7d\n"
	    "meeting_window_future 1d\nnext_meeting_field Next_Call__c" },
	{ "next_meeting_field NextStep", "next_meeting_field NextStep" },
	{ "meetings no", "meetings no" },
	/* real time: the webhook */
	{ "listen 127.0.0.1:8443\npublic_url https://olsync.example.com/hooks/",
	    "listen 127.0.0.1:8443\npublic_url https://olsync.example.com/hooks" },
	{ "listen 0.0.0.0:0\npublic_url http://127.0.0.1:8443", "listen 0.0.0.0:0" },
	{ "listen localhost:8443\npublic_url http://127.0.0.1:8443", "listen localhost:8443" },
	{ "listen 127.0.0.1:8443\npublic_url https://h.example\nsubscription_lifetime 10070m\n"
	    "subscription_renew_every 1d\nreconcile_interval 30m",
	    "subscription_lifetime 10070m\nsubscription_renew_every 1d\nreconcile_interval 30m" },
	{ "listen_timeout 30s", "listen_timeout 30s" },
	/* observability */
	{ "admin_listen 9464", "admin_listen 127.0.0.1:9464" },
	{ "admin_listen localhost:9464", "admin_listen localhost:9464" },
	{ "admin_listen 0.0.0.0:9464\nadmin_token env:OLT_ADMIN_TOKEN",
	    "admin_listen 0.0.0.0:9464\nadmin_token (set)" },
	{ "log_format json", "log_format json" },
	{ "listen 0.0.0.0:443\npublic_url https://h.example\n"
	    "tls_certificate_file graph-cert.pem\ntls_private_key_file graph-key.pem",
	    "tls_certificate_file @T/graph-cert.pem\ntls_private_key (set)" },
	/* blank lines, comments, CRLF */
	{ "\n   # indented comment\n\t\n\r\nmode both\r\n", "mode both" },
};

static void
test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		struct config cfg;
		struct config_errors errs = { NULL, 0 };
		char *text = with_base(good_cases[i].text), *out, *want, *line, *save = NULL;

		if (parse(text, &cfg, &errs) != 0) {
			out = join_errors(&errs);
			fail_msg("case %zu (%s): refused:\n%s", i, good_cases[i].text, out);
		}
		out = dump(&cfg);
		want = expand(good_cases[i].want);
		for (line = strtok_r(want, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *needle = xasprintf("\n%s\n", line), *hay = xasprintf("\n%s", out);

			if (strstr(hay, needle) == NULL)
				fail_msg("case %zu: no line '%s' in the dump:\n%s", i, line, out);
			free(needle);
			free(hay);
		}
		if (strstr(out, GRAPH_SECRET) != NULL || strstr(out, SF_SECRET) != NULL ||
		    strstr(out, REFRESH_TOKEN) != NULL || strstr(out, "PRIVATE KEY") != NULL)
			fail_msg("case %zu: a secret is in the dump", i);
		free(want);
		free(out);
		free(text);
		config_free(&cfg);
		config_errors_free(&errs);
	}
}

/* Rejected: want is every message, in order, one per line ("@T" is the temporary directory). */
static const struct {
	const char *text;
	const char *want;
} bad_cases[] = {
	/* unknown keys */
	{ "sync_intervall 30m",
	    "t.conf:8: unknown key 'sync_intervall' (did you mean 'sync_interval'?)" },
	{ "sync-interval 30m",
	    "t.conf:8: unknown key 'sync-interval' (did you mean 'sync_interval'?)" },
	{ "graph_client_secret_path x",
	    "t.conf:8: unknown key 'graph_client_secret_path' (did you mean "
	    "'graph_client_secret_file'?)" },
	{ "colour blue", "t.conf:8: unknown key 'colour'" },
	/* durations */
	{ "sync_interval 15", "t.conf:8: sync_interval: bad duration '15' (a number and a unit: "
	    "ms, s, m, h or d, like 15m)" },
	{ "sync_interval 15 m", "t.conf:8: 'sync_interval' takes one value (quote it if it holds "
	    "spaces or commas)" },
	{ "sync_interval -5m", "t.conf:8: sync_interval: bad duration '-5m' (a number and a unit: "
	    "ms, s, m, h or d, like 15m)" },
	{ "sync_interval 99999999999999999999d", "t.conf:8: sync_interval: bad duration "
	    "'99999999999999999999d' (a number and a unit: ms, s, m, h or d, like 15m)" },
	{ "sync_interval 10s", "t.conf:8: sync_interval: 10s is out of range (1m .. 1d)" },
	{ "sync_interval 25h", "t.conf:8: sync_interval: 25h is out of range (1m .. 1d)" },
	{ "http_timeout 999ms", "t.conf:8: http_timeout: 999ms is out of range (1s .. 10m)" },
	{ "admin_listen 0.0.0.0:9464", "t.conf: admin_listen 0.0.0.0:9464 is not a loopback "
	    "address: give admin_token_file too, or the dashboard and /metrics are open to the "
	    "network" },
	{ "admin_listen 9464\nadmin_token env:OLT_SHORT", "t.conf: admin_token: at least 16 characters "
	    "(make one with: openssl rand -hex 24)" },
	{ "admin_token env:OLT_ADMIN_TOKEN", "t.conf: admin_token needs admin_listen (the "
	    "address of the dashboard and /metrics)" },
	{ "admin_listen 99999", "t.conf:8: admin_listen: '127.0.0.1:99999': the port must be a "
	    "number from 0 to 65535" },
	{ "log_format xml", "t.conf:8: log_format: bad value 'xml' (expected text or json)" },
	{ "listen_timeout 0", "t.conf:8: listen_timeout: 0 is out of range (1s .. 5m)" },
	{ "listen_timeout 6m", "t.conf:8: listen_timeout: 6m is out of range (1s .. 5m)" },
	{ "retry_base 999ms", "t.conf:8: retry_base: 999ms is out of range (1s .. 1h)" },
	{ "retry_base 0", "t.conf:8: retry_base: 0 is out of range (1s .. 1h)" },
	{ "batch_window 1", "t.conf:8: batch_window: bad duration '1' (a number and a unit: "
	    "ms, s, m, h or d, like 15m)" },
	{ "retry_base 61m", "t.conf:8: retry_base: 61m is out of range (1s .. 1h)" },
	{ "retry_base 0s", "t.conf:8: retry_base: 0s is out of range (1s .. 1h)" },
	/* integers */
	{ "backfill_days 3651", "t.conf:8: backfill_days: 3651 is out of range (0 .. 3650)" },
	{ "backfill_days -1", "t.conf:8: backfill_days: -1 is out of range (0 .. 3650)" },
	{ "backfill_days 12abc", "t.conf:8: backfill_days: bad number '12abc'" },
	{ "backfill_days 99999999999999999999", "t.conf:8: backfill_days: bad number "
	    "'99999999999999999999'" },
	{ "max_attempts 0", "t.conf:8: max_attempts: 0 is out of range (1 .. 1000)" },
	/* booleans and enums */
	{ "create_leads maybe", "t.conf:8: create_leads: bad value 'maybe' (expected yes or no)" },
	{ "mode tasks", "t.conf:8: mode: bad value 'tasks' (expected task, emailmessage or both)" },
	{ "tie_break random", "t.conf:8: tie_break: bad value 'random' (expected oldest, newest or "
	    "most-recently-modified)" },
	{ "log_level verbose", "t.conf:8: log_level: bad value 'verbose' (expected debug, info, "
	    "warn or error)" },
	/* duplicates and missing values */
	{ "sync_interval 30m\nsync_interval 1h",
	    "t.conf:9: duplicate key 'sync_interval' (first set at line 8)" },
	{ "graph_client_secret_file world.secret",
	    "t.conf:8: 'graph_client_secret_file' conflicts with 'graph_client_secret' at line 3: "
	    "give one of them" },
	{ "sync_interval", "t.conf:8: missing value for 'sync_interval'" },
	{ "sync_interval = # nothing", "t.conf:8: missing value for 'sync_interval'" },
	/* quoting */
	{ "free_mail_company Acme Inc", "t.conf:8: 'free_mail_company' takes one value (quote it "
	    "if it holds spaces or commas)" },
	{ "free_mail_company Acme,Inc", "t.conf:8: 'free_mail_company' takes one value (quote it "
	    "if it holds spaces or commas)" },
	{ "free_mail_company \"Acme", "t.conf:8: free_mail_company: unterminated quoted string" },
	{ "free_mail_company \"Acme\\", "t.conf:8: free_mail_company: unterminated quoted string" },
	{ "free_mail_company \"a\\qb\"",
	    "t.conf:8: free_mail_company: unknown escape '\\q' in quoted string" },
	{ "free_mail_company \"a\"b", "t.conf:8: free_mail_company: text after a closing quote" },
	{ "free_mail_company a\"b\"",
	    "t.conf:8: free_mail_company: quote inside a word (quote the whole value)" },
	{ "free_mail_company \"\"",
	    "t.conf:8: free_mail_company: empty value (Salesforce requires a Company)" },
	{ "mode\x01 task", "t.conf:8: control character in line" },
	/* lists */
	{ "skip_sensitivity secret", "t.conf:8: skip_sensitivity: bad value 'secret' (expected "
	    "normal, personal, private or confidential)" },
	{ "skip_sensitivity none, private",
	    "t.conf:8: skip_sensitivity: 'none' cannot be combined with other values" },
	{ "skip_sensitivity none\nskip_sensitivity private",
	    "t.conf:9: skip_sensitivity: 'none' (line 8) cannot be combined with other values" },
	{ "blocked_addresses not-an-address",
	    "t.conf:8: blocked_addresses: 'not-an-address' is not an email address" },
	{ "blocked_addresses a@b@evil.com",
	    "t.conf:8: blocked_addresses: 'a@b@evil.com' is not an email address" },
	{ "blocked_domains -bad.com",
	    "t.conf:8: blocked_domains: '-bad.com' is not a domain name (like contoso.com)" },
	{ "blocked_domains localhost",
	    "t.conf:8: blocked_domains: 'localhost' is not a domain name (like contoso.com)" },
	{ "blocked_domains ok.com, bad_domain.com, also..bad",
	    "t.conf:8: blocked_domains: 'bad_domain.com' is not a domain name (like contoso.com)\n"
	    "t.conf:8: blocked_domains: 'also..bad' is not a domain name (like contoso.com)" },
	{ "mailboxes all, alice@contoso.com",
	    "t.conf:8: mailboxes: 'all' cannot be combined with other mailboxes" },
	{ "mailboxes alice@contoso.com\nmailboxes group:0b9c3e2a-1111-4e0e-9c3a-5d6f3a1b7c01",
	    "t.conf:9: mailboxes: 'group:0b9c3e2a-1111-4e0e-9c3a-5d6f3a1b7c01' cannot be combined "
	    "with other mailboxes" },
	{ "mailboxes group:42",
	    "t.conf:8: mailboxes: 'group:42' is not group:<group object id (GUID)>" },
	{ "mailboxes alice",
	    "t.conf:8: mailboxes: 'alice' is not an email address, 'all' or group:<id>" },
	/* maps */
	{ "lead_owner sales@contoso.com",
	    "t.conf:8: lead_owner takes two values: a mailbox and an owner" },
	{ "lead_owner sales 00G5g000001AbCd",
	    "t.conf:8: lead_owner: 'sales' is not an email address" },
	{ "lead_owner sales@contoso.com 001000000000000",
	    "t.conf:8: lead_owner: '001000000000000' is neither a User or Queue id (005..., 00G...) "
	    "nor a username" },
	{ "lead_owner sales@contoso.com 00G5g000001AbC",
	    "t.conf:8: lead_owner: '00G5g000001AbC' is neither a User or Queue id (005..., 00G...) "
	    "nor a username" },
	{ "lead_owner sales@contoso.com 00G5g000001AbCd\nlead_owner SALES@contoso.com 0055g0000004C94",
	    "t.conf:9: lead_owner: duplicate entry for 'sales@contoso.com' (first at line 8)" },
	{ "lead_owner_pool rep@contoso.com, 00Q5g000001AbCd",
	    "t.conf:8: lead_owner_pool: '00Q5g000001AbCd' is neither a User or Queue id (005..., "
	    "00G...) nor a username" },
	/* strings with validators */
	{ "activity_timezone Europe/Pariss",
	    "t.conf:8: activity_timezone: unknown time zone 'Europe/Pariss' (not in "
	    "/usr/share/zoneinfo)" },
	{ "activity_timezone ../etc/passwd",
	    "t.conf:8: activity_timezone: '../etc/passwd' is not a time zone name (like "
	    "Europe/Paris)" },
	{ "graph_base_url http://graph.example.com/v1.0",
	    "t.conf:8: graph_base_url: 'http://graph.example.com/v1.0': plain http is allowed only "
	    "to 127.0.0.1, [::1] or localhost; use https://" },
	{ "graph_base_url http://127.0.0.1.evil.com/v1.0",
	    "t.conf:8: graph_base_url: 'http://127.0.0.1.evil.com/v1.0': plain http is allowed "
	    "only to 127.0.0.1, [::1] or localhost; use https://" },
	{ "sf_login_url ftp://login.salesforce.com",
	    "t.conf:8: sf_login_url: 'ftp://login.salesforce.com' is not an http:// or https:// URL" },
	{ "sf_login_url https://user:pw@login.salesforce.com",
	    "t.conf:8: sf_login_url: 'https://user:pw@login.salesforce.com': credentials in a URL "
	    "are not allowed" },
	{ "sf_login_url https://login.salesforce.com/?x=1",
	    "t.conf:8: sf_login_url: 'https://login.salesforce.com/?x=1': a query or fragment is not "
	    "allowed" },
	{ "sf_login_url https:///path", "t.conf:8: sf_login_url: 'https:///path' has no host" },
	{ "sf_api_version 62", "t.conf:8: sf_api_version: bad version '62' (like v62.0)" },
	{ "sf_api_version v62.1", "t.conf:8: sf_api_version: bad version 'v62.1' (like v62.0)" },
	{ "sf_api_version v19.0", "t.conf:8: sf_api_version: bad version 'v19.0' (like v62.0)" },
	/* PostgreSQL: the password never in the URI; instance names and leases */
	{ "database postgresql://olsync:pw@db.example/olsync",
	    "t.conf:8: database: has a password in it: give it in database_password_file instead" },
	{ "database postgres://db.example/olsync?password=pw",
	    "t.conf:8: database: has a password in it: give it in database_password_file instead" },
	{ "instance_name \"two words\"",
	    "t.conf:8: instance_name: must be printable ASCII without spaces" },
	{ "lease_time 1s", "t.conf:8: lease_time: 1s is out of range (2s .. 10m)" },
	/* secrets */
	{ "sf_client_secret hunter2-inline",
	    "t.conf:8: sf_client_secret: a secret is never written in the configuration file; use "
	    "sf_client_secret_file PATH or sf_client_secret env:NAME" },
	{ "sf_client_secret env:OLT_UNSET",
	    "t.conf:8: sf_client_secret: environment variable OLT_UNSET is not set" },
	{ "sf_client_secret env:OLT_EMPTY", "t.conf:8: sf_client_secret: the secret is empty" },
	{ "sf_client_secret env:1BAD",
	    "t.conf:8: sf_client_secret: bad environment variable name '1BAD'" },
	{ "sf_client_secret env:", "t.conf:8: sf_client_secret: bad environment variable name ''" },
	{ "sf_client_secret_file world.secret",
	    "t.conf:8: sf_client_secret_file: @T/world.secret has mode 0644: a secret file must not "
	    "be accessible by group or others (chmod 600 @T/world.secret)" },
	{ "sf_client_secret_file group.secret",
	    "t.conf:8: sf_client_secret_file: @T/group.secret has mode 0640: a secret file must not "
	    "be accessible by group or others (chmod 600 @T/group.secret)" },
	{ "sf_client_secret_file missing.secret",
	    "t.conf:8: sf_client_secret_file: @T/missing.secret: No such file or directory" },
	{ "sf_client_secret_file empty.secret", "t.conf:8: sf_client_secret_file: the secret is "
	    "empty" },
	{ "sf_client_secret_file /tmp", "t.conf:8: sf_client_secret_file: /tmp is not a regular "
	    "file" },
	{ "graph_private_key_file not-a-key.pem",
	    "t.conf:8: graph_private_key_file: not a PEM private key" },
	{ "graph_private_key_file small-key.pem",
	    "t.conf:8: graph_private_key_file: RSA key of 1024 bits; at least 2048 are needed" },
	{ "graph_private_key_file ec-key.pem",
	    "t.conf:8: graph_private_key_file: not an RSA private key" },
	{ "graph_certificate_file graph-key.pem",
	    "t.conf:8: graph_certificate_file: @T/graph-key.pem: certificate: no PEM block of a usable type" },
	{ "next_meeting_field Next__Meeting__c", "t.conf:8: next_meeting_field: "
	    "'Next__Meeting__c' is not a field API name (like Next_Meeting_Date__c), or none" },
	{ "next_meeting_field 1st__c", "t.conf:8: next_meeting_field: '1st__c' is not a field API "
	    "name (like Next_Meeting_Date__c), or none" },
	{ "next_meeting_field Next_Date;", "t.conf:8: next_meeting_field: 'Next_Date;' is not a "
	    "field API name (like Next_Meeting_Date__c), or none" },
	{ "meeting_match everyone", "t.conf:8: meeting_match: bad value 'everyone' (expected "
	    "organizer or any-external)" },
	{ "listen 127.0.0.1", "t.conf:8: listen: '127.0.0.1' is not host:port (e.g. "
	    "127.0.0.1:8443)" },
	{ "listen [::1]:8443", "t.conf:8: listen: '[::1]:8443': the host must be an IPv4 address "
	    "or localhost (put a reverse proxy in front for IPv6)" },
	{ "listen olsync.example.com:8443", "t.conf:8: listen: 'olsync.example.com:8443': the "
	    "host must be an IPv4 address or localhost (put a reverse proxy in front for IPv6)" },
	{ "listen 127.0.0.1:99999", "t.conf:8: listen: '127.0.0.1:99999': the port must be a "
	    "number from 0 to 65535" },
	{ "listen 127.0.0.1:84x", "t.conf:8: listen: '127.0.0.1:84x': the port must be a number "
	    "from 0 to 65535" },
	{ "subscription_lifetime 10071m", "t.conf:8: subscription_lifetime: 10071m is out of "
	    "range (1s .. 10070m)" },
	/* rules between keys */
	{ "listen 127.0.0.1:8443", "t.conf: missing required key 'public_url' (needed with "
	    "listen: the https URL Graph posts to)" },
	{ "public_url https://h.example", "t.conf: public_url and tls_* need listen (the address "
	    "to serve the webhook on)" },
	{ "listen 127.0.0.1:8443\npublic_url http://h.example", "t.conf:9: public_url: "
	    "'http://h.example': plain http is allowed only to 127.0.0.1, [::1] or localhost; "
	    "use https://" },
	{ "subscription_lifetime 2d", "t.conf: subscription_renew_every must be shorter than "
	    "subscription_lifetime, or subscriptions lapse between renewals" },
	{ "listen 127.0.0.1:8443\npublic_url https://h.example\n"
	    "tls_certificate_file graph-cert.pem", "t.conf: give both tls_certificate_file and "
	    "tls_private_key_file, or neither (TLS in front of olsync, e.g. nginx)" },
	{ "listen 127.0.0.1:8443\npublic_url https://h.example\n"
	    "tls_certificate_file graph-cert.pem\ntls_private_key_file other-key.pem",
	    "t.conf: tls_private_key does not belong to tls_certificate_file @T/graph-cert.pem" },
	/* rules between keys */
	{ "graph_certificate_file graph-cert.pem\ngraph_private_key_file graph-key.pem",
	    "t.conf: give either graph_client_secret or graph_certificate_file with "
	    "graph_private_key, not both" },
	{ "sf_auth refresh_token",
	    "t.conf: missing required key 'sf_client_secret_file' (or sf_client_secret env:NAME; "
	    "needed by sf_auth refresh_token)\n"
	    "t.conf: missing required key 'sf_refresh_token_file' (or sf_refresh_token env:NAME; "
	    "needed by sf_auth refresh_token)" },
};

static void
check_errors(size_t i, const char *text, const char *want_raw)
{
	struct config cfg;
	struct config_errors errs = { NULL, 0 };
	char *got, *want = expand(want_raw);

	if (parse(text, &cfg, &errs) != -1)
		fail_msg("case %zu (%s): accepted", i, text);
	got = join_errors(&errs);
	if (strcmp(got, want) != 0)
		fail_msg("case %zu:\n got: %s\nwant: %s", i, got, want);
	if (strstr(got, "hunter2") != NULL || strstr(got, GRAPH_SECRET) != NULL)
		fail_msg("case %zu: a secret is in a message", i);
	/* A failed load leaves nothing behind. */
	if (cfg.graph_tenant != NULL || cfg.graph_client_secret != NULL || cfg.mailboxes.n != 0)
		fail_msg("case %zu: cfg not cleared", i);
	free(got);
	free(want);
	config_errors_free(&errs);
}

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char *text = with_base(bad_cases[i].text);

		check_errors(i, text, bad_cases[i].want);
		free(text);
	}
}

/* Whole files, without BASE. */
static const struct {
	const char *text;
	const char *want;
} file_cases[] = {
	{ "",
	    "t.conf: missing required key 'graph_tenant'\n"
	    "t.conf: missing required key 'graph_client_id'\n"
	    "t.conf: missing required key 'sf_client_id'\n"
	    "t.conf: missing required key 'mailboxes'\n"
	    "t.conf: missing required key 'internal_domains'\n"
	    "t.conf: missing required key 'graph_client_secret_file' (or graph_client_secret "
	    "env:NAME, or graph_certificate_file and graph_private_key_file)\n"
	    "t.conf: missing required key 'sf_username' (needed by sf_auth jwt)\n"
	    "t.conf: missing required key 'sf_private_key_file' (or sf_private_key env:NAME; needed "
	    "by sf_auth jwt)" },
	/* Several errors in one file, all reported in line order, then the file-wide ones. A bad
	 * value does not also count as missing. */
	{ "graph_tenant contoso..com\n"
	    "graph_client_id 6731de76-14a6-49ae-97bc\n"
	    "graph_certificate_file graph-cert.pem\n"
	    "sf_client_id 3MVG9\n"
	    "sf_username integration@contoso.com\n"
	    "sf_private_key_file world.secret\n"
	    "# a comment\n"
	    "mailboxes alice@contoso.com\n"
	    "sync_interval 5\n"
	    "mode taks\n"
	    "sf_client_id 3MVG9\n",
	    "t.conf:1: graph_tenant: 'contoso..com' is neither a tenant id (GUID) nor a domain (like "
	    "contoso.onmicrosoft.com)\n"
	    "t.conf:2: graph_client_id: '6731de76-14a6-49ae-97bc' is not a GUID (like "
	    "6731de76-14a6-49ae-97bc-6eba6914391e)\n"
	    "t.conf:6: sf_private_key_file: @T/world.secret has mode 0644: a secret file must not be "
	    "accessible by group or others (chmod 600 @T/world.secret)\n"
	    "t.conf:9: sync_interval: bad duration '5' (a number and a unit: ms, s, m, h or d, like "
	    "15m)\n"
	    "t.conf:10: mode: bad value 'taks' (expected task, emailmessage or both)\n"
	    "t.conf:11: duplicate key 'sf_client_id' (first set at line 4)\n"
	    "t.conf: missing required key 'internal_domains'\n"
	    "t.conf: missing required key 'graph_private_key_file' (needed with "
	    "graph_certificate_file)" },
	/* A certificate and a key that do not belong together. */
	{ "graph_tenant 8A6B2A1C-52f8-4e0e-9c3a-5d6f3a1b7c01\n"
	    "graph_client_id 6731de76-14a6-49ae-97bc-6eba6914391e\n"
	    "graph_certificate_file graph-cert.pem\n"
	    "graph_private_key_file other-key.pem\n"
	    "sf_client_id 3MVG9\n"
	    "sf_username integration@contoso.com\n"
	    "sf_private_key_file sf-key.pem\n"
	    "mailboxes all\n"
	    "internal_domains contoso.com\n",
	    "t.conf: graph_private_key does not belong to graph_certificate_file "
	    "@T/graph-cert.pem" },
	{ "graph_tenant contoso.com\n"
	    "graph_client_id 6731de76-14a6-49ae-97bc-6eba6914391e\n"
	    "graph_private_key env:OLT_GRAPH_SECRET\n"
	    "sf_client_id 3MVG9\n"
	    "sf_username integration@contoso.com\n"
	    "sf_private_key_file sf-key.pem\n"
	    "mailboxes all\n"
	    "internal_domains contoso.com\n",
	    "t.conf:3: graph_private_key: not a PEM private key" },
};

static void
test_file_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++)
		check_errors(i, file_cases[i].text, file_cases[i].want);
}

static void
test_defaults(void **state)
{
	struct config cfg;
	struct config_errors errs = { NULL, 0 };
	char *text = with_base("");

	(void)state;
	assert_int_equal(parse(text, &cfg, &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg.graph_base_url, "https://graph.microsoft.com/v1.0");
	assert_string_equal(cfg.graph_login_url, "https://login.microsoftonline.com");
	assert_string_equal(cfg.sf_login_url, "https://login.salesforce.com");
	assert_string_equal(cfg.sf_api_version, "v62.0");
	assert_int_equal(cfg.sf_auth, CONFIG_SF_AUTH_JWT);
	assert_int_equal(cfg.graph_auth, CONFIG_GRAPH_AUTH_SECRET);
	assert_string_equal(cfg.graph_client_secret, GRAPH_SECRET);
	assert_non_null(strstr(cfg.sf_private_key, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(cfg.mailboxes_kind, CONFIG_MAILBOXES_LIST);
	assert_int_equal(cfg.mailboxes.n, 1);
	assert_string_equal(cfg.mailboxes.v[0], "alice@contoso.com");
	assert_int_equal(cfg.backfill_days, 30);
	assert_int_equal(cfg.sync_interval_ms, 15 * 60 * 1000LL);
	assert_int_equal(cfg.skip_sensitivity.n, 2);
	assert_string_equal(cfg.skip_sensitivity.v[0], "private");
	assert_string_equal(cfg.skip_sensitivity.v[1], "confidential");
	assert_int_equal(cfg.blocked_addresses.n, 0);
	assert_int_equal(cfg.tie_break, CONFIG_TIE_BREAK_OLDEST);
	assert_int_equal(cfg.opportunity_policy, CONFIG_OPPORTUNITY_SINGLE_OPEN);
	assert_int_equal(cfg.mode, CONFIG_MODE_TASK);
	assert_int_equal(cfg.create_leads, 1);
	assert_true(cfg.free_mail_domains.n > 10);
	assert_string_equal(cfg.free_mail_domains.v[0], "gmail.com");
	assert_string_equal(cfg.free_mail_company, "[not provided]");
	assert_int_equal(cfg.lead_owner.n, 0);
	assert_string_equal(cfg.activity_timezone, "UTC");
	assert_int_equal(cfg.max_attempts, 10);
	assert_int_equal(cfg.retry_base_ms, 60000);
	assert_string_equal(cfg.database, "/var/lib/olsync/olsync.db");
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg.http_timeout_ms, 30000);
	assert_null(cfg.listen);
	assert_int_equal(cfg.meetings, 1);
	assert_int_equal(cfg.meeting_window_past_ms, 30 * 86400 * 1000LL);
	assert_int_equal(cfg.meeting_window_future_ms, 180 * 86400 * 1000LL);
	assert_int_equal(cfg.meeting_tentative, 0);
	assert_int_equal(cfg.meeting_match, CONFIG_MEETING_MATCH_ORGANIZER);
	assert_int_equal(cfg.meeting_opportunity, CONFIG_MEETING_OPP_CONTACT_ROLE);
	assert_int_equal(cfg.meeting_without_opportunity, 1);
	assert_int_equal(cfg.meeting_cancelled, CONFIG_MEETING_CANCELLED_DELETE);
	assert_string_equal(cfg.next_meeting_field, "Next_Meeting_Date__c");
	assert_null(cfg.public_url);
	assert_int_equal(cfg.subscription_lifetime_ms, 4230 * 60 * 1000LL);
	assert_int_equal(cfg.subscription_renew_every_ms, 2 * 86400 * 1000LL);
	assert_int_equal(cfg.reconcile_interval_ms, 3600 * 1000LL);
	assert_int_equal(cfg.listen_timeout_ms, 10 * 1000LL);
	config_free(&cfg);
	assert_null(cfg.graph_client_secret);
	assert_null(cfg.free_mail_domains.v);
	config_free(&cfg);	/* twice is harmless */
	free(text);
}

/* Values as the other modules will read them from the struct. */
static void
test_values(void **state)
{
	struct config cfg;
	struct config_errors errs = { NULL, 0 };
	char *text = with_base(
	    "sf_auth refresh_token\n"
	    "sf_client_secret env:OLT_SF_SECRET\n"
	    "sf_refresh_token_file sf-refresh.token\n"
	    "mailboxes group:0B9C3E2A-1111-4e0e-9c3a-5d6f3a1b7c01\n"
	    "lead_owner Sales@Contoso.com 00G5g000001AbCdEAF\n"
	    "sync_interval 90s\n"
	    "database state/olsync.db\n"
	    "mode both\n");
	char *db = xasprintf("%s/state/olsync.db", tmpdir);

	(void)state;
	if (parse(text, &cfg, &errs) != 0)
		fail_msg("refused: %s", join_errors(&errs));
	assert_int_equal(cfg.sf_auth, CONFIG_SF_AUTH_REFRESH_TOKEN);
	/* The newline ending a secret file or variable is not part of the secret. */
	assert_string_equal(cfg.sf_client_secret, SF_SECRET);
	assert_string_equal(cfg.sf_refresh_token, REFRESH_TOKEN);
	assert_int_equal(cfg.mailboxes_kind, CONFIG_MAILBOXES_GROUP);
	assert_string_equal(cfg.mailbox_group, "0b9c3e2a-1111-4e0e-9c3a-5d6f3a1b7c01");
	assert_int_equal(cfg.mailboxes.n, 0);
	assert_string_equal(config_lead_owner(&cfg, "SALES@contoso.com"), "00G5g000001AbCdEAF");
	assert_null(config_lead_owner(&cfg, "info@contoso.com"));
	assert_int_equal(cfg.sync_interval_ms, 90000);
	assert_string_equal(cfg.database, db);
	assert_int_equal(cfg.mode, CONFIG_MODE_BOTH);
	config_free(&cfg);
	free(text);

	/* The certificate flow. */
	text = xasprintf("%s",
	    "graph_tenant contoso.onmicrosoft.com\n"
	    "graph_client_id 6731de76-14a6-49ae-97bc-6eba6914391e\n"
	    "graph_certificate_file graph-cert.pem\n"
	    "graph_private_key_file graph-key.pem\n"
	    "sf_client_id 3MVG9\n"
	    "sf_username integration@contoso.com\n"
	    "sf_private_key_file @T/sf-key.pem\n"
	    "mailboxes all\n"
	    "internal_domains contoso.com\n");
	{
		char *t = expand(text);

		if (parse(t, &cfg, &errs) != 0)
			fail_msg("refused: %s", join_errors(&errs));
		free(t);
	}
	assert_int_equal(cfg.graph_auth, CONFIG_GRAPH_AUTH_CERTIFICATE);
	assert_null(cfg.graph_client_secret);
	assert_non_null(strstr(cfg.graph_private_key, "PRIVATE KEY"));
	assert_int_equal(cfg.mailboxes_kind, CONFIG_MAILBOXES_ALL);
	config_free(&cfg);
	free(text);
	free(db);
}

static void
test_limits(void **state)
{
	struct config cfg;
	struct config_errors errs = { NULL, 0 };
	char *text, *big;
	size_t n = CONFIG_MAX_LINE + 1;

	(void)state;
	/* A NUL byte, which a string function would have silently cut the file at. */
	{
		static const char tail[] = "mailboxes alice@contoso.com\nmode\0both\n";
		size_t blen = strlen(BASE);

		text = xmalloc(blen + sizeof(tail));
		memcpy(text, BASE, blen);
		memcpy(text + blen, tail, sizeof(tail));
		assert_int_equal(config_parse("t.conf", text, blen + sizeof(tail) - 1, tmpdir,
		    &cfg, &errs), -1);
	}
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0], "t.conf:9: NUL byte in line");
	config_errors_free(&errs);
	free(text);

	/* A line over the limit. */
	big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	text = with_base(big);
	assert_int_equal(parse(text, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0], "t.conf:8: line longer than 4096 bytes");
	config_errors_free(&errs);
	free(text);
	free(big);

	/* Too many errors stop with a last message. */
	big = xstrdup("");
	for (int i = 0; i < 3 * CONFIG_MAX_ERRORS; i++) {
		char *next = xasprintf("%sbogus%d 1\n", big, i);

		free(big);
		big = next;
	}
	assert_int_equal(parse(big, &cfg, &errs), -1);
	assert_int_equal(errs.n, CONFIG_MAX_ERRORS);
	assert_string_equal(errs.v[0], "t.conf:1: unknown key 'bogus0'");
	assert_string_equal(errs.v[CONFIG_MAX_ERRORS - 1], "t.conf: too many errors, stopping");
	config_errors_free(&errs);
	free(big);
}

static void
test_load(void **state)
{
	struct config cfg;
	struct config_errors errs = { NULL, 0 };
	char *path = xasprintf("%s/olsync.conf", tmpdir), *want, *text;

	(void)state;
	/* A missing file. */
	assert_int_equal(config_load("/nonexistent/olsync.conf", &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0], "/nonexistent/olsync.conf: No such file or directory");
	config_errors_free(&errs);

	/* Relative paths are relative to the file's directory, whatever the working directory. */
	text = with_base("database olsync.db\n");
	tmpdir_write(tmpdir, "olsync.conf", text, 0644);
	assert_int_equal(chdir("/"), 0);
	if (config_load(path, &cfg, &errs) != 0)
		fail_msg("refused: %s", join_errors(&errs));
	want = xasprintf("%s/olsync.db", tmpdir);
	assert_string_equal(cfg.database, want);
	config_free(&cfg);
	free(want);
	free(text);

	/* Messages name the file as given. */
	tmpdir_write(tmpdir, "olsync.conf", "sync_interval 1h\nmode bogus\n", 0644);
	assert_int_equal(config_load(path, &cfg, &errs), -1);
	want = xasprintf("%s:2: mode: bad value 'bogus' (expected task, emailmessage or both)",
	    path);
	assert_string_equal(errs.v[0], want);
	config_errors_free(&errs);
	free(want);
	free(path);
}

/* etc/olsync.conf.example, copied next to the secret files it names, loads as it is. */
static void
test_example(void **state)
{
	struct config cfg;
	struct config_errors errs = { NULL, 0 };
	const char *src = getenv("OL_SOURCE_DIR");
	char *from, *to, *cmd, *out;

	(void)state;
	if (src == NULL)
		fail_msg("OL_SOURCE_DIR is not set (run through ctest)");
	from = xasprintf("%s/etc/olsync.conf.example", src);
	to = xasprintf("%s/olsync.conf", tmpdir);
	cmd = xasprintf("cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
	if (config_load(to, &cfg, &errs) != 0)
		fail_msg("the example is refused:\n%s", join_errors(&errs));
	assert_string_equal(cfg.graph_client_secret, GRAPH_SECRET);
	assert_int_equal(cfg.mailboxes.n, 3);
	assert_string_equal(config_lead_owner(&cfg, "sales@contoso.com"), "00G5g000001AbCdEAF");
	assert_string_equal(cfg.activity_timezone, "Europe/Paris");
	out = dump(&cfg);
	assert_non_null(strstr(out, "\ngraph_client_secret (set)\n"));
	assert_null(strstr(out, GRAPH_SECRET));
	free(out);
	config_free(&cfg);
	free(from);
	free(to);
	free(cmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_example),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
