/* normalize.h: turning what Graph hands us into the canonical values the rest of the daemon keys on
 * and sends to Salesforce: message ids and their external-ID digest, e-mail addresses, text cut to
 * Salesforce's field lengths, and SOQL string literals and IN lists that fit in a GET URL.
 * Pure functions: no I/O, no globals. */
#ifndef OL_NORMALIZE_H
#define OL_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5322 caps a header line at 998 bytes, so a longer id is not a real Message-ID. Note that
 * EmailMessage.MessageIdentifier holds only 765 characters: its writer checks its own limit. */
#define NORMALIZE_MSGID_MAX	998
/* Hex characters of SHA-256 kept for OutlookMessageId__c: 128 bits. */
#define NORMALIZE_DIGEST_LEN	32
/* RFC 5321: a path is at most 256 bytes with its angle brackets, a local part at most 64. */
#define NORMALIZE_ADDRESS_MAX	254
#define NORMALIZE_LOCAL_MAX	64
#define NORMALIZE_LABEL_MAX	63
/* Salesforce: URI plus headers at most 16,384 bytes (414/431 beyond). The percent-encoded q=
 * value of a query gets 12 KiB; the other 4 KiB are for the path, Host, Authorization (a session
 * id is ~112 bytes), User-Agent and the other headers. */
#define NORMALIZE_SOQL_URI_LIMIT	16384
#define NORMALIZE_SOQL_QUERY_BUDGET	(NORMALIZE_SOQL_URI_LIMIT - 4096)

/* The next UTF-8 sequence at s: its length in bytes (1-4) with the code point in *cp, 0 at the
 * terminating NUL, or -1 if the bytes at s are not valid UTF-8 (stray continuation, truncated
 * sequence, overlong form, surrogate, above U+10FFFF); the caller then skips one byte. */
int normalize_utf8_next(const char *s, uint32_t *cp);

/* The canonical form of an internetMessageId, the ledger's key: surrounding white space and one
 * pair of angle brackets removed, the part after the last '@' (id-right, a domain name by RFC
 * 5322's advice) lower-cased in ASCII, the part before it (id-left) kept byte for byte since
 * Message-IDs compare case-sensitively. An id without '@' is kept as is. Refused (NULL, reason in
 * err): empty, longer than NORMALIZE_MSGID_MAX, white space, control characters or angle
 * brackets inside, unbalanced brackets, invalid UTF-8. Caller frees. */
char *normalize_message_id(const char *raw, char *err, size_t errlen);

/* The OutlookMessageId__c value for a normalized id: the first NORMALIZE_DIGEST_LEN lowercase hex
 * characters of SHA-256(id). Fixed length, only [0-9a-f] (safe in an upsert URL path, no dot for
 * the ".inc"-style 404, one letter case for a case-insensitive unique field), and 128 bits: a
 * collision among a billion messages has probability ~1e-21. Reproducible by an operator with
 * `printf %s '<id>' | sha256sum | cut -c1-32`. */
void normalize_digest(const char *norm_id, char out[NORMALIZE_DIGEST_LEN + 1]);

/* The canonical form of one address, from "a@b", " A@B.COM ", "<a@b>" or "Name <a@b>" (also
 * "\"Doe, Jane\" <a@b>"): the addr-spec, trimmed and lower-cased in ASCII (Salesforce compares
 * Email case-insensitively and providers treat local parts so). Accepted: a dot-atom local part of
 * RFC 5322 atext (or UTF-8) up to 64 bytes, no leading, trailing or doubled dot; a domain of at
 * least two labels of letters, digits, hyphens (not at a label's ends) or UTF-8, up to 63 bytes
 * each, the last not all digits; at most NORMALIZE_ADDRESS_MAX bytes. Refused (NULL, reason in
 * err): quoted local parts, domain literals, Exchange X.500 addresses, anything else. Caller
 * frees. */
char *normalize_address(const char *in, char *err, size_t errlen);

/* An address list as in a To: header or a config value: entries separated by ',' or ';' outside
 * quotes and angle brackets, group names ("team: a@b, c@d;") dropped, empty entries skipped, each
 * entry through normalize_address, duplicates dropped (first kept). On success *out is a
 * NULL-terminated array of *n addresses (caller frees with normalize_strv_free) and 0 is
 * returned; on the first invalid entry -1 with "entry N: reason" in err and *out NULL. */
int normalize_address_list(const char *in, char ***out, size_t *n, char *err, size_t errlen);

/* Frees a NULL-terminated array of strings and the strings; NULL is fine. */
void normalize_strv_free(char **v);

/* A copy of s holding at most max_chars characters as Salesforce counts them (UTF-16 units: a
 * character above U+FFFF counts 2), cut at a character boundary. Invalid UTF-8 bytes become
 * U+FFFD, so the result is always valid UTF-8 (JSON needs it). Caller frees. */
char *normalize_truncate_utf8(const char *s, size_t max_chars);

/* s as a SOQL string literal with its quotes: ' " \ and newline, CR, tab, backspace, form feed
 * backslash-escaped; other control characters as \uXXXX; invalid UTF-8 bytes as U+FFFD. Whatever
 * s holds, the result is one literal that compares equal to s. Caller frees. */
char *normalize_soql_quote(const char *s);

/* Bytes s takes once percent-encoded, everything but RFC 3986 unreserved characters as %XX: the
 * most any URL encoder produces, so a query measured so fits whichever encoder sends it. */
size_t normalize_url_encoded_len(const char *s);

/* Queries "<head>(<lit>,<lit>,...)<tail>" over the n SOQL literals (already quoted, e.g. by
 * normalize_soql_quote), in order, each query's percent-encoded length at most budget bytes and
 * holding at most max_items literals (0: no such limit). E.g. head "SELECT Id, Email FROM Contact
 * WHERE Email IN ", budget NORMALIZE_SOQL_QUERY_BUDGET. On success *out is a NULL-terminated array
 * of *nout queries (none when n is 0; caller frees with normalize_strv_free) and 0 is returned;
 * -1 with a reason in err if one literal cannot fit on its own. */
int normalize_soql_in_chunks(const char *head, const char *tail, const char *const *literals,
    size_t n, size_t budget, size_t max_items, char ***out, size_t *nout, char *err,
    size_t errlen);

#endif
