/* graph_mail.c: mailboxes as Graph serves them to an app: folders (ids and well-known names),
 * message lists and reads with $select/$filter/$orderby/$top/$skip, default and immutable ids,
 * per-folder delta rounds kept in g_delta, and the mail changes the control API drives
 * (delivery, move, delete), each recorded in g_change and passed to graph_notify_change. */
#include "graph_mail.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b64.h"
#include "crypto.h"
#include "db.h"
#include "err.h"
#include "graph_odata.h"
#include "graph_store.h"
#include "log.h"
#include "xmalloc.h"

#define LIST_PAGE_DEFAULT	10	/* Outlook's default page size (reference §5.1) */
#define LIST_PAGE_MAX		1000
#define FOLDER_PAGE_DEFAULT	10
#define FOLDER_PAGE_MAX		1000
#define DELTA_PAGE_DEFAULT	10	/* messages per delta page without odata.maxpagesize */
#define DELTA_PAGE_MAX		1000	/* larger odata.maxpagesize values are capped */
#define DELTA_FILTER_CAP	5000	/* a receivedDateTime filter returns at most this many */
#define PREVIEW_CHARS		255	/* bodyPreview length, in characters */
#define MAX_SEGMENTS		8
#define MAX_COPIES		512	/* mailboxes one delivery may reach */
#define ID_LEN			200	/* buffer for any id we hand out (152 characters) */
#define MSG_ID_RAW		113	/* bytes behind a message id: 151 base64 characters + '=' */
#define FOLDER_ID_RAW		89	/* bytes behind a folder id: 119 characters + '=' */

/* The first bytes of each kind of id, chosen so the text starts as Graph's do: rest ids
 * "AAMkA...", immutable ids "AAkALg...", folder ids "AQMkA...", conversations "AAQkA...". */
static const unsigned char rest_hdr[4] = { 0x00, 0x03, 0x24, 0x00 };
static const unsigned char immutable_hdr[8] = { 0x00, 0x09, 0x00, 0x2e, 0, 0, 0, 0 };
static const unsigned char folder_hdr[4] = { 0x01, 0x03, 0x24, 0x00 };
static const unsigned char conversation_hdr[4] = { 0x00, 0x04, 0x24, 0x00 };

static const char *const read_roles[] = {
	"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic", "Mail.ReadBasic.All", NULL
};
static const char *const write_roles[] = { "Mail.ReadWrite", NULL };

#define ACCESS_DENIED	"Access is denied. Check credentials and try again."
#define NOT_FOUND	"The specified object was not found in the store."

/* Every well-known name Graph accepts (reference §5.2); a new mailbox has the first nine. */
static const struct {
	const char *name;
	const char *display;
} well_known[] = {
	{ "msgfolderroot", "Top of Information Store" },
	{ "inbox", "Inbox" },
	{ "drafts", "Drafts" },
	{ "sentitems", "Sent Items" },
	{ "deleteditems", "Deleted Items" },
	{ "junkemail", "Junk Email" },
	{ "outbox", "Outbox" },
	{ "archive", "Archive" },
	{ "conversationhistory", "Conversation History" },
	{ "clutter", NULL }, { "conflicts", NULL }, { "localfailures", NULL },
	{ "recoverableitemsdeletions", NULL }, { "scheduled", NULL }, { "searchfolders", NULL },
	{ "serverfailures", NULL }, { "syncissues", NULL },
};

/* What $select may name on a message. */
static const char *const message_props[] = {
	"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
	"receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject",
	"bodyPreview", "importance", "parentFolderId", "conversationId", "conversationIndex",
	"isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
	"inferenceClassification", "body", "uniqueBody", "sender", "from", "toRecipients",
	"ccRecipients", "bccRecipients", "replyTo", "flag", "internetMessageHeaders", NULL
};

/* $filter on message lists, and the column behind each property (same order). */
static const struct graph_filter_prop message_filter[] = {
	{ "receivedDateTime", GRAPH_FILTER_DATETIME, GRAPH_OP_EQ | GRAPH_OP_NE | GRAPH_OP_GT |
	    GRAPH_OP_GE | GRAPH_OP_LT | GRAPH_OP_LE },
	{ "sentDateTime", GRAPH_FILTER_DATETIME, GRAPH_OP_EQ | GRAPH_OP_NE | GRAPH_OP_GT |
	    GRAPH_OP_GE | GRAPH_OP_LT | GRAPH_OP_LE },
	{ "createdDateTime", GRAPH_FILTER_DATETIME, GRAPH_OP_EQ | GRAPH_OP_NE | GRAPH_OP_GT |
	    GRAPH_OP_GE | GRAPH_OP_LT | GRAPH_OP_LE },
	{ "lastModifiedDateTime", GRAPH_FILTER_DATETIME, GRAPH_OP_EQ | GRAPH_OP_NE |
	    GRAPH_OP_GT | GRAPH_OP_GE | GRAPH_OP_LT | GRAPH_OP_LE },
	{ "isRead", GRAPH_FILTER_BOOL, GRAPH_OP_EQ | GRAPH_OP_NE },
	{ "isDraft", GRAPH_FILTER_BOOL, GRAPH_OP_EQ | GRAPH_OP_NE },
	{ "hasAttachments", GRAPH_FILTER_BOOL, GRAPH_OP_EQ | GRAPH_OP_NE },
	{ "subject", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_NE | GRAPH_OP_STARTSWITH },
	{ "internetMessageId", GRAPH_FILTER_STRING, GRAPH_OP_EQ },
	{ "conversationId", GRAPH_FILTER_STRING, GRAPH_OP_EQ },
	{ "importance", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_NE },
	{ NULL, 0, 0 },
};
static const char *const message_filter_cols[] = {
	"m.received", "m.sent", "m.created", "m.modified", "m.is_read", "m.is_draft",
	"m.has_attachments", "m.subject", "m.internet_message_id", "m.conversation_id",
	"m.importance",
};

/* delta accepts only receivedDateTime ge|gt (reference §4.1) */
static const struct graph_filter_prop delta_filter[] = {
	{ "receivedDateTime", GRAPH_FILTER_DATETIME, GRAPH_OP_GE | GRAPH_OP_GT },
	{ NULL, 0, 0 },
};

static const char *const orderby_props[] = {
	"receivedDateTime", "sentDateTime", "createdDateTime", "lastModifiedDateTime", "subject",
	"importance", NULL
};
static const char *const orderby_cols[] = {
	"m.received", "m.sent", "m.created", "m.modified", "m.subject", "m.importance",
};

/* Columns of a message row, in the order message_json reads them. */
#define MSG_COLS "m.immutable_id, m.rest_id, m.folder_id, m.internet_message_id, " \
	"m.conversation_id, m.conversation_index, m.subject, m.body_type, m.body, " \
	"m.body_preview, m.from_json, m.sender_json, m.to_json, m.cc_json, m.bcc_json, " \
	"m.reply_to_json, m.headers_json, m.received, m.sent, m.created, m.modified, " \
	"m.is_draft, m.is_read, m.has_attachments, m.importance, m.inference, m.categories, " \
	"m.change_key, m.rowid"
enum {
	C_IMMUTABLE, C_REST, C_FOLDER, C_IMID, C_CONV, C_CONV_INDEX, C_SUBJECT, C_BODY_TYPE,
	C_BODY, C_PREVIEW, C_FROM, C_SENDER, C_TO, C_CC, C_BCC, C_REPLY_TO, C_HEADERS,
	C_RECEIVED, C_SENT, C_CREATED, C_MODIFIED, C_DRAFT, C_READ, C_ATTACH, C_IMPORTANCE,
	C_INFERENCE, C_CATEGORIES, C_CHANGE_KEY, C_ROWID,
};

/* How messages are shown in one response. */
struct view {
	const char *select;		/* $select text or NULL */
	int immutable;			/* Prefer: IdType="ImmutableId" */
	const char *body_type;		/* "text" or "html" (the default) */
	int basic;			/* Mail.ReadBasic only: no body, preview or headers */
};

/* ---- ids ---- */

/* An id of raw bytes the way Exchange lays them out: a header naming the kind of id, the
 * mailbox GUID in ASCII, then (for us) random bytes and a zero tail; base64url with the '='
 * padding Graph's ids keep. So rest ids read "AAMkADUw...", immutable ids "AAkALgAAAAAA...". */
static void
make_id(char out[ID_LEN], const unsigned char *hdr, size_t hdrlen, const char *mailbox,
    size_t rawlen)
{
	unsigned char raw[MSG_ID_RAW];
	size_t mlen = strlen(mailbox) < 36 ? strlen(mailbox) : 36, n;
	char *text;

	memset(raw, 0, sizeof(raw));
	memcpy(raw, hdr, hdrlen);
	memcpy(raw + hdrlen, mailbox, mlen);
	crypto_random_bytes(raw + hdrlen + mlen, rawlen - hdrlen - mlen - 3);
	text = b64url_encode(raw, rawlen);
	n = strlen(text);
	snprintf(out, ID_LEN, "%s%.*s", text, (int)((4 - n % 4) % 4), "==");
	free(text);
}

/* 1 when s decodes as one of our ids with this header and length. */
static int
id_is(const char *s, const unsigned char hdr[4], size_t rawlen)
{
	unsigned char *raw;
	size_t len;
	int ok;

	if (b64url_decode(s, strlen(s), &raw, &len) < 0)
		return 0;
	ok = len == rawlen && memcmp(raw, hdr, 4) == 0;
	free(raw);
	return ok;
}

static int
message_id_wellformed(const char *s)
{
	return id_is(s, rest_hdr, MSG_ID_RAW) || id_is(s, immutable_hdr, MSG_ID_RAW);
}

static void
change_key(char out[64])
{
	unsigned char raw[24] = { 0x09, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00 };
	char *text;

	crypto_random_bytes(raw + 8, sizeof(raw) - 8);
	text = b64_encode(raw, sizeof(raw));
	snprintf(out, 64, "%s", text);
	free(text);
}

/* ---- small helpers ---- */

static const char *
col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static void
set_col(json_t *obj, const char *key, sqlite3_stmt *st, int col)
{
	const char *v = col_text(st, col);

	json_object_set_new(obj, key, v != NULL ? json_string(v) : json_null());
}

/* A stored JSON column, or dflt (stolen) when it is NULL or unparsable. */
static json_t *
col_json(sqlite3_stmt *st, int col, json_t *dflt)
{
	const char *v = col_text(st, col);
	json_t *j = v != NULL ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;

	if (j == NULL)
		return dflt;
	json_decref(dflt);
	return j;
}

static int
has_role(const struct graph_req *req, const char *role)
{
	size_t i;
	json_t *v;

	json_array_foreach(req->roles, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), role) == 0)
			return 1;
	return 0;
}

/* Index of name in a NULL-terminated list (case-insensitive), or -1. */
static int
known_index(const char *const *list, const char *name)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcasecmp(list[i], name) == 0)
			return i;
	return -1;
}

static void
set_string(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* ---- bodies ---- */

static size_t
utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the entity at s ("&amp;" ...) into out; its length in *used, 0 when not one. */
static size_t
entity(const char *s, char *out, size_t *used)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
		{ "nbsp", " " },
	};
	const char *semi = strchr(s, ';');
	size_t len;

	*used = 0;
	if (semi == NULL || semi - s > 10 || semi - s < 2)
		return 0;
	len = (size_t)(semi - s - 1);
	if (s[1] == '#') {
		unsigned long cp;
		char *end;

		cp = (s[2] == 'x' || s[2] == 'X') ? strtoul(s + 3, &end, 16) :
		    strtoul(s + 2, &end, 10);
		if (end != semi || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return 0;
		*used = (size_t)(semi - s + 1);
		return utf8_put(out, cp);
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strlen(named[i].name) == len && strncmp(s + 1, named[i].name, len) == 0) {
			*used = len + 2;
			out[0] = named[i].text[0];
			return 1;
		}
	}
	return 0;
}

/* The text Outlook makes of an HTML body: no tags, no head/style/script, entities decoded,
 * line breaks at <br> and block ends, source whitespace collapsed. Caller frees. */
static char *
html_to_text(const char *html)
{
	static const char *const blocks[] = { "p", "div", "tr", "li", "h1", "h2", "h3", "h4",
	    "h5", "h6", "table", "blockquote", NULL };
	size_t n = 0;
	char *out = xmalloc(strlen(html) + 1);
	const char *p = html;

	while (*p != '\0') {
		if (*p == '<') {
			const char *end = strchr(p, '>'), *name = p + 1;
			size_t nlen = 0;
			int closing = 0;

			if (end == NULL)
				break;
			if (*name == '/') {
				closing = 1;
				name++;
			}
			while (isalnum((unsigned char)name[nlen]))
				nlen++;
			if (!closing && ((nlen == 4 && strncasecmp(name, "head", 4) == 0) ||
			    (nlen == 5 && strncasecmp(name, "style", 5) == 0) ||
			    (nlen == 6 && strncasecmp(name, "script", 6) == 0))) {
				char close[16];
				const char *q;

				snprintf(close, sizeof(close), "</%.*s", (int)nlen, name);
				q = strcasestr(end, close);
				p = q != NULL && strchr(q, '>') != NULL ? strchr(q, '>') + 1 : end + 1;
				continue;
			}
			if (nlen == 2 && strncasecmp(name, "br", 2) == 0) {
				while (n > 0 && out[n - 1] == ' ')
					n--;
				out[n++] = '\r';
				out[n++] = '\n';
			} else if (closing) {
				for (size_t i = 0; blocks[i] != NULL; i++) {
					if (strlen(blocks[i]) == nlen &&
					    strncasecmp(name, blocks[i], nlen) == 0) {
						while (n > 0 && out[n - 1] == ' ')
							n--;
						out[n++] = '\r';
						out[n++] = '\n';
						break;
					}
				}
			}
			p = end + 1;
			continue;
		}
		if (*p == '&') {
			size_t used, k = entity(p, out + n, &used);

			if (used > 0) {
				n += k;
				p += used;
				continue;
			}
		}
		if (*p == '\r' || *p == '\n' || *p == '\t' || *p == ' ') {
			if (n > 0 && out[n - 1] != ' ' && out[n - 1] != '\n')
				out[n++] = ' ';
			p++;
			continue;
		}
		out[n++] = *p++;
	}
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	out[n] = '\0';
	return out;
}

/* Plain text as Outlook wraps it in HTML. Caller frees. */
static char *
text_to_html(const char *text)
{
	static const char head[] = "<html><head>\r\n<meta http-equiv=\"Content-Type\" "
	    "content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n"
	    "<div class=\"PlainText\">";
	static const char tail[] = "</div>\r\n</body>\r\n</html>\r\n";
	size_t n = 0, cap = sizeof(head) + sizeof(tail) + strlen(text) * 6 + 1;
	char *out = xmalloc(cap);

	memcpy(out, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (const char *p = text; *p; p++) {
		const char *rep = NULL;

		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\r': continue;
		case '\n': rep = "<br>\r\n"; break;
		default: break;
		}
		if (rep != NULL) {
			memcpy(out + n, rep, strlen(rep));
			n += strlen(rep);
		} else {
			out[n++] = *p;
		}
	}
	memcpy(out + n, tail, sizeof(tail));
	return out;
}

/* bodyPreview: the body's text, whitespace runs made one space, cut at 255 characters. */
static char *
preview(const char *body, int is_html)
{
	char *text = is_html ? html_to_text(body) : xstrdup(body);
	size_t n = 0, chars = 0;
	char *out = xmalloc(strlen(text) + 1);

	for (const char *p = text; *p && chars < PREVIEW_CHARS; ) {
		if (isspace((unsigned char)*p)) {
			if (n > 0 && out[n - 1] != ' ') {
				out[n++] = ' ';
				chars++;
			}
			p++;
			continue;
		}
		/* copy one UTF-8 character */
		do {
			out[n++] = *p++;
		} while ((*p & 0xc0) == 0x80);
		chars++;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	free(text);
	return out;
}

/* ---- messages as JSON ---- */

static json_t *
message_json(const struct view *v, sqlite3_stmt *st)
{
	const char *id = col_text(st, v->immutable ? C_IMMUTABLE : C_REST);
	const char *ck = col_text(st, C_CHANGE_KEY);
	const char *stored_type = col_text(st, C_BODY_TYPE);
	const char *body = col_text(st, C_BODY);
	int stored_html = stored_type == NULL || strcasecmp(stored_type, "html") == 0;
	int want_text = v->body_type != NULL && strcmp(v->body_type, "text") == 0;
	json_t *m = json_object(), *b;
	char *etag, *esc, *link;

	etag = xasprintf("W/\"%s\"", ck ? ck : "");
	json_object_set_new(m, "@odata.etag", json_string(etag));
	free(etag);
	json_object_set_new(m, "id", json_string(id));
	set_col(m, "createdDateTime", st, C_CREATED);
	set_col(m, "lastModifiedDateTime", st, C_MODIFIED);
	set_col(m, "changeKey", st, C_CHANGE_KEY);
	json_object_set_new(m, "categories", col_json(st, C_CATEGORIES, json_array()));
	set_col(m, "receivedDateTime", st, C_RECEIVED);
	set_col(m, "sentDateTime", st, C_SENT);
	json_object_set_new(m, "hasAttachments", json_boolean(sqlite3_column_int(st, C_ATTACH)));
	set_col(m, "internetMessageId", st, C_IMID);
	set_col(m, "subject", st, C_SUBJECT);
	if (!v->basic)
		set_col(m, "bodyPreview", st, C_PREVIEW);
	set_col(m, "importance", st, C_IMPORTANCE);
	set_col(m, "parentFolderId", st, C_FOLDER);
	set_col(m, "conversationId", st, C_CONV);
	set_col(m, "conversationIndex", st, C_CONV_INDEX);
	json_object_set_new(m, "isDeliveryReceiptRequested", json_false());
	json_object_set_new(m, "isReadReceiptRequested", json_false());
	json_object_set_new(m, "isRead", json_boolean(sqlite3_column_int(st, C_READ)));
	json_object_set_new(m, "isDraft", json_boolean(sqlite3_column_int(st, C_DRAFT)));
	esc = graph_odata_escape(id);
	link = xasprintf("https://outlook.office365.com/owa/?ItemID=%s&exvsurl=1"
	    "&viewmodel=ReadMessageItem", esc);
	json_object_set_new(m, "webLink", json_string(link));
	free(link);
	free(esc);
	set_col(m, "inferenceClassification", st, C_INFERENCE);
	if (!v->basic && (graph_odata_select_has(v->select, "body") ||
	    graph_odata_select_has(v->select, "uniqueBody"))) {
		char *content;

		if (body == NULL)
			body = "";
		if (want_text)
			content = stored_html ? html_to_text(body) : xstrdup(body);
		else
			content = stored_html ? xstrdup(body) : text_to_html(body);
		b = json_pack("{s:s, s:s}", "contentType", want_text ? "text" : "html",
		    "content", content);
		if (b == NULL)	/* stored text that is not UTF-8: show it empty, never crash */
			b = json_pack("{s:s, s:s}", "contentType", want_text ? "text" : "html",
			    "content", "");
		json_object_set_new(m, "body", b);
		if (v->select != NULL && graph_odata_select_has(v->select, "uniqueBody"))
			json_object_set(m, "uniqueBody", b);
		free(content);
	}
	json_object_set_new(m, "sender", col_json(st, C_SENDER, json_null()));
	json_object_set_new(m, "from", col_json(st, C_FROM, json_null()));
	json_object_set_new(m, "toRecipients", col_json(st, C_TO, json_array()));
	json_object_set_new(m, "ccRecipients", col_json(st, C_CC, json_array()));
	json_object_set_new(m, "bccRecipients", col_json(st, C_BCC, json_array()));
	json_object_set_new(m, "replyTo", col_json(st, C_REPLY_TO, json_array()));
	/* g_message has no flag column: nothing flags a message in the sim (yet) */
	json_object_set_new(m, "flag", json_pack("{s:s}", "flagStatus", "notFlagged"));
	if (!v->basic && v->select != NULL &&
	    graph_odata_select_has(v->select, "internetMessageHeaders"))
		json_object_set_new(m, "internetMessageHeaders",
		    col_json(st, C_HEADERS, json_array()));
	graph_odata_select_apply(v->select, m);
	return m;
}

static void
view_init(struct view *v, const struct graph_req *req, const char *select)
{
	memset(v, 0, sizeof(*v));
	v->select = select != NULL && *select != '\0' ? select : NULL;
	v->immutable = req->immutable_ids;
	v->body_type = req->body_type[0] != '\0' ? req->body_type : "html";
	v->basic = !has_role(req, "Mail.Read") && !has_role(req, "Mail.ReadWrite");
}

/* Preference-Applied for the Prefer values a response honoured. */
static void
prefer_applied(const struct graph_req *req, struct graph_reply *reply, int delta,
    long pagesize)
{
	char value[256] = "";
	size_t n = 0;

	if (delta)
		n += (size_t)snprintf(value + n, sizeof(value) - n, "odata.track-changes");
	if (delta && req->maxpagesize > 0)
		n += (size_t)snprintf(value + n, sizeof(value) - n, ", odata.maxpagesize=%ld",
		    pagesize);
	if (req->body_type[0] != '\0' && n < sizeof(value))
		n += (size_t)snprintf(value + n, sizeof(value) - n,
		    "%soutlook.body-content-type=\"%s\"", n ? ", " : "", req->body_type);
	if (req->immutable_ids && n < sizeof(value))
		snprintf(value + n, sizeof(value) - n, "%sIdType=\"ImmutableId\"", n ? ", " : "");
	if (value[0] != '\0')
		graph_reply_header(reply, "Preference-Applied", value);
}

static char *
context_url(struct graph_sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *
context_url(struct graph_sim *sim, const char *fmt, ...)
{
	char path[1024], *url;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	url = graph_url(sim, path);
	return url;
}

/* ---- folders ---- */

static int
well_known_index(const char *name)
{
	for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
		if (strcasecmp(name, well_known[i].name) == 0)
			return (int)i;
	return -1;
}

int
graph_mail_ensure_folders(struct graph_sim *sim, const char *user_id)
{
	char root[ID_LEN] = "", id[ID_LEN], now[32];
	sqlite3_stmt *st;
	int rc = 0;

	graph_now_iso(now);
	for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++) {
		if (well_known[i].display == NULL)
			break;
		make_id(id, folder_hdr, sizeof(folder_hdr), user_id, FOLDER_ID_RAW);
		st = db_prepare(sim->db, "INSERT OR IGNORE INTO g_folder (id, user_id, well_known, "
		    "display_name, parent_id, created) VALUES (?, ?, ?, ?, ?, ?)");
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, well_known[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, well_known[i].display, -1, SQLITE_STATIC);
		if (i > 0)
			sqlite3_bind_text(st, 5, root, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		sqlite3_finalize(st);
		if (i == 0) {
			st = db_prepare(sim->db, "SELECT id FROM g_folder WHERE user_id = ? AND "
			    "well_known = 'msgfolderroot'");
			sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				set_string(root, sizeof(root), col_text(st, 0));
			else
				rc = -1;
			sqlite3_finalize(st);
		}
	}
	return rc;
}

enum { FOLDER_OK = 0, FOLDER_MALFORMED = -1, FOLDER_MISSING = -2 };

/* A folder of user_id by id or well-known name (case-insensitive): its id (and well-known
 * name or ""). */
static int
folder_resolve(struct graph_sim *sim, const char *user_id, const char *key, char id[ID_LEN],
    char wk[32])
{
	sqlite3_stmt *st;
	int rc = FOLDER_MISSING, known = well_known_index(key);

	if (known >= 0) {
		st = db_prepare(sim->db, "SELECT id, well_known FROM g_folder WHERE user_id = ? AND "
		    "well_known = ?");
		sqlite3_bind_text(st, 2, well_known[known].name, -1, SQLITE_STATIC);
	} else {
		if (!id_is(key, folder_hdr, FOLDER_ID_RAW))
			return FOLDER_MALFORMED;
		st = db_prepare(sim->db, "SELECT id, well_known FROM g_folder WHERE user_id = ? AND "
		    "id = ?");
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		set_string(id, ID_LEN, col_text(st, 0));
		set_string(wk, 32, col_text(st, 1));
		rc = FOLDER_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* folder_resolve with Graph's error in reply. 0 or -1. */
static int
folder_or_error(struct graph_sim *sim, const struct graph_req *req, const char *user_id,
    const char *key, char id[ID_LEN], struct graph_reply *reply)
{
	char wk[32];

	switch (folder_resolve(sim, user_id, key, id, wk)) {
	case FOLDER_OK:
		return 0;
	case FOLDER_MALFORMED:
		graph_reply_error(reply, req, 400, "ErrorInvalidIdMalformed", "Id is malformed.");
		return -1;
	default:
		graph_reply_error(reply, req, 404, "ErrorItemNotFound", NOT_FOUND);
		return -1;
	}
}

#define FOLDER_COLS "f.id, f.display_name, f.parent_id, " \
	"(SELECT count(*) FROM g_folder c WHERE c.parent_id = f.id), " \
	"(SELECT count(*) FROM g_message m WHERE m.user_id = f.user_id AND " \
	"m.folder_id = f.id AND m.deleted = 0 AND m.is_read = 0), " \
	"(SELECT count(*) FROM g_message m WHERE m.user_id = f.user_id AND " \
	"m.folder_id = f.id AND m.deleted = 0)"

static json_t *
folder_json(sqlite3_stmt *st)
{
	json_t *f = json_object();

	set_col(f, "id", st, 0);
	set_col(f, "displayName", st, 1);
	set_col(f, "parentFolderId", st, 2);
	json_object_set_new(f, "childFolderCount", json_integer(sqlite3_column_int64(st, 3)));
	json_object_set_new(f, "unreadItemCount", json_integer(sqlite3_column_int64(st, 4)));
	json_object_set_new(f, "totalItemCount", json_integer(sqlite3_column_int64(st, 5)));
	/* g_folder has no hidden flag: the folders a new mailbox has are all visible */
	json_object_set_new(f, "isHidden", json_false());
	return f;
}

static const char *const folder_props[] = {
	"id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount",
	"totalItemCount", "isHidden", NULL
};

/* The folders whose parent is parent_id, by display name, with $top/$skip paging. */
static void
list_folders(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *parent_id, struct graph_reply *reply)
{
	static const char *const drop[] = { "$skip", NULL };
	const char *select = graph_req_param(req, "$select"), *skip_text;
	char bad[256], *ctx, skipbuf[32];
	long top, skip = 0, n = 0;
	sqlite3_stmt *st;
	json_t *body, *value;
	int more = 0;

	if (graph_odata_select_check(select, folder_props, bad, sizeof(bad)) < 0) {
		graph_reply_error(reply, req, 400, "RequestBroker--ParseUri", "Could not find a "
		    "property named '%s' on type 'Microsoft.OutlookServices.MailFolder'.", bad);
		return;
	}
	if ((top = graph_odata_top(req, FOLDER_PAGE_DEFAULT, FOLDER_PAGE_MAX, reply)) < 0)
		return;
	skip_text = graph_req_param(req, "$skip");
	if (skip_text != NULL && graph_odata_parse_count(skip_text, &skip) < 0) {
		graph_reply_error(reply, req, 400, "BadRequest",
		    "Invalid value '%s' for query option $skip.", skip_text);
		return;
	}
	st = db_prepare(sim->db, "SELECT " FOLDER_COLS " FROM g_folder f WHERE f.user_id = ? AND "
	    "f.parent_id = ? ORDER BY f.display_name COLLATE NOCASE, f.rowid LIMIT ? OFFSET ?");
	sqlite3_bind_text(st, 1, user->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, parent_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, top + 1);
	sqlite3_bind_int64(st, 4, skip);
	value = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *f;

		if (n == top) {
			more = 1;
			break;
		}
		f = folder_json(st);
		graph_odata_select_apply(select, f);
		json_array_append_new(value, f);
		n++;
	}
	sqlite3_finalize(st);
	body = json_object();
	ctx = context_url(sim, "/v1.0/$metadata#users('%s')/mailFolders", user->id);
	json_object_set_new(body, "@odata.context", json_string(ctx));
	free(ctx);
	json_object_set_new(body, "value", value);
	if (more) {
		char *link;

		snprintf(skipbuf, sizeof(skipbuf), "%ld", skip + n);
		link = graph_odata_link(sim, req, drop, "$skip", skipbuf);
		json_object_set_new(body, "@odata.nextLink", json_string(link));
		free(link);
	}
	graph_reply_json(reply, 200, body);
}

static void
get_folder(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *folder_id, struct graph_reply *reply)
{
	const char *select = graph_req_param(req, "$select");
	char bad[256], *ctx;
	sqlite3_stmt *st;
	json_t *f;

	if (graph_odata_select_check(select, folder_props, bad, sizeof(bad)) < 0) {
		graph_reply_error(reply, req, 400, "RequestBroker--ParseUri", "Could not find a "
		    "property named '%s' on type 'Microsoft.OutlookServices.MailFolder'.", bad);
		return;
	}
	st = db_prepare(sim->db, "SELECT " FOLDER_COLS " FROM g_folder f WHERE f.id = ?");
	sqlite3_bind_text(st, 1, folder_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		graph_reply_error(reply, req, 404, "ErrorItemNotFound", NOT_FOUND);
		return;
	}
	f = folder_json(st);
	sqlite3_finalize(st);
	graph_odata_select_apply(select, f);
	ctx = context_url(sim, "/v1.0/$metadata#users('%s')/mailFolders/$entity", user->id);
	json_object_set_new(f, "@odata.context", json_string(ctx));
	free(ctx);
	graph_reply_json(reply, 200, f);
}

/* ---- changes ---- */

/* A live message copy. */
struct msg_ref {
	char user[40];
	char immutable[ID_LEN];
	char rest[ID_LEN];
	char folder[ID_LEN];
};

/* The live message of user_id whose rest or immutable id is id. 0 or -1. */
static int
msg_find(struct graph_sim *sim, const char *user_id, const char *id, struct msg_ref *out)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT immutable_id, rest_id, folder_id FROM "
	    "g_message WHERE user_id = ?1 AND (rest_id = ?2 OR immutable_id = ?2) AND deleted = 0");
	int rc = -1;

	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		set_string(out->user, sizeof(out->user), user_id);
		set_string(out->immutable, sizeof(out->immutable), col_text(st, 0));
		set_string(out->rest, sizeof(out->rest), col_text(st, 1));
		set_string(out->folder, sizeof(out->folder), col_text(st, 2));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Appends one change to g_change and stamps the message with its seq; the seq. */
static long long
record_change(struct graph_sim *sim, const char *user_id, const char *folder_id,
    const char *immutable, const char *rest, const char *change)
{
	char now[32];
	sqlite3_stmt *st;
	long long seq;

	graph_now_iso(now);
	st = db_prepare(sim->db, "INSERT INTO g_change (user_id, kind, folder_id, item_id, rest_id, "
	    "change, at) VALUES (?, 'message', ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, immutable, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, change, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		fatalx("graph-mail: cannot record a change: %s", sqlite3_errmsg(sim->db));
	sqlite3_finalize(st);
	seq = sqlite3_last_insert_rowid(sim->db);
	st = db_prepare(sim->db, "UPDATE g_message SET seq = ? WHERE immutable_id = ?");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, immutable, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	return seq;
}

/* Moves ref to dest: a new rest id, the same immutable id. In Graph's view the message is
 * deleted from its old folder and created in the new one. */
static void
move_message(struct graph_sim *sim, struct msg_ref *ref, const char *dest)
{
	char new_rest[ID_LEN], ck[64], now[32];
	sqlite3_stmt *st;

	if (strcmp(ref->folder, dest) == 0)
		return;
	make_id(new_rest, rest_hdr, sizeof(rest_hdr), ref->user, MSG_ID_RAW);
	change_key(ck);
	graph_now_iso(now);
	st = db_prepare(sim->db, "UPDATE g_message SET rest_id = ?, folder_id = ?, modified = ?, "
	    "change_key = ? WHERE immutable_id = ?");
	sqlite3_bind_text(st, 1, new_rest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ck, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ref->immutable, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	record_change(sim, ref->user, ref->folder, ref->immutable, ref->rest, "removed");
	record_change(sim, ref->user, dest, ref->immutable, new_rest, "upsert");
	graph_notify_change(sim, ref->user, ref->folder, ref->rest, ref->immutable, 0, "deleted");
	graph_notify_change(sim, ref->user, dest, new_rest, ref->immutable, 0, "created");
	log_info("graph-mail: moved user=%s", ref->user);
	set_string(ref->rest, sizeof(ref->rest), new_rest);
	set_string(ref->folder, sizeof(ref->folder), dest);
}

/* Removes ref for good: gone from its folder and from every list. */
static void
delete_message(struct graph_sim *sim, const struct msg_ref *ref)
{
	char now[32];
	sqlite3_stmt *st;

	graph_now_iso(now);
	st = db_prepare(sim->db, "UPDATE g_message SET deleted = 1, modified = ? WHERE "
	    "immutable_id = ?");
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref->immutable, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	record_change(sim, ref->user, ref->folder, ref->immutable, ref->rest, "removed");
	graph_notify_change(sim, ref->user, ref->folder, ref->rest, ref->immutable, 0, "deleted");
	log_info("graph-mail: deleted user=%s", ref->user);
}

/* ---- message lists and reads ---- */

static int
select_or_error(const struct graph_req *req, const char *select, struct graph_reply *reply)
{
	char bad[256];

	if (graph_odata_select_check(select, message_props, bad, sizeof(bad)) == 0)
		return 0;
	graph_reply_error(reply, req, 400, "RequestBroker--ParseUri", "Could not find a property "
	    "named '%s' on type 'Microsoft.OutlookServices.Message'.", bad);
	return -1;
}

/* A $filter parse failure as Outlook reports it. */
static void
filter_error(const struct graph_req *req, enum graph_filter_result r, const char *what,
    struct graph_reply *reply)
{
	char bad[256];

	if (r == GRAPH_FILTER_UNSUPPORTED && graph_odata_select_check(what, message_props,
	    bad, sizeof(bad)) < 0)
		graph_reply_error(reply, req, 400, "RequestBroker--ParseUri", "Could not find a "
		    "property named '%s' on type 'Microsoft.OutlookServices.Message'.", what);
	else
		graph_reply_error(reply, req, 400, "ErrorInvalidUrlQueryFilter",
		    "The query filter contains one or more invalid nodes.");
}

/* SQL for the terms of f over the columns cols, binding from ?first on. Caller frees. */
static char *
terms_sql(const struct graph_filter *f, const struct graph_filter_prop *props,
    const char *const *cols, int first)
{
	char *sql = xstrdup(""), *next;

	for (int i = 0; i < f->nterms; i++) {
		const struct graph_filter_term *t = &f->terms[i];
		const char *col = cols[t->prop - props];
		const char *join = i == 0 ? "" : f->any ? " OR " : " AND ";
		const char *coll = t->prop->kind == GRAPH_FILTER_STRING ? " COLLATE NOCASE" : "";

		if (t->op == GRAPH_OP_STARTSWITH)
			next = xasprintf("%s%s(substr(%s, 1, length(?%d)) = ?%d%s)", sql, join, col,
			    first + i, first + i, coll);
		else
			next = xasprintf("%s%s(%s %s ?%d%s)", sql, join, col,
			    graph_odata_sql_op(t->op), first + i, coll);
		free(sql);
		sql = next;
	}
	return sql;
}

static void
bind_terms(sqlite3_stmt *st, const struct graph_filter *f, int first)
{
	for (int i = 0; i < f->nterms; i++) {
		const struct graph_filter_term *t = &f->terms[i];

		if (t->prop->kind == GRAPH_FILTER_BOOL)
			sqlite3_bind_int(st, first + i, strcmp(t->value, "true") == 0);
		else
			sqlite3_bind_text(st, first + i, t->value, -1, SQLITE_STATIC);
	}
}

/* Outlook sorts only on what it filters on first: "Properties that appear in $orderby must
 * also appear in $filter, in the same order, before any others". */
static int
orderby_fits_filter(const struct graph_orderby *ob, const struct graph_filter *f)
{
	int t = 0;

	for (int i = 0; i < ob->n; i++) {
		if (t >= f->nterms || strcmp(f->terms[t].prop->name, ob->prop[i]) != 0)
			return 0;
		while (t < f->nterms && strcmp(f->terms[t].prop->name, ob->prop[i]) == 0)
			t++;
	}
	return 1;
}

static void
list_messages(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *folder_id, const char *folder_key, struct graph_reply *reply)
{
	static const char *const drop[] = { "$skip", NULL };
	const char *select = graph_req_param(req, "$select");
	const char *filter_text = graph_req_param(req, "$filter");
	const char *orderby_text = graph_req_param(req, "$orderby");
	const char *skip_text = graph_req_param(req, "$skip");
	struct graph_filter filter = { .nterms = 0 };
	struct graph_orderby ob = { .n = 0 };
	char why[256], *where = NULL, *order = NULL, *sql = NULL, *canon = NULL, *ctx;
	long top, skip = 0, n = 0;
	sqlite3_stmt *st = NULL;
	json_t *body, *value;
	struct view v;
	int more = 0;

	if (select_or_error(req, select, reply) < 0)
		return;
	if ((top = graph_odata_top(req, LIST_PAGE_DEFAULT, LIST_PAGE_MAX, reply)) < 0)
		return;
	if (skip_text != NULL && graph_odata_parse_count(skip_text, &skip) < 0) {
		graph_reply_error(reply, req, 400, "BadRequest",
		    "Invalid value '%s' for query option $skip.", skip_text);
		return;
	}
	if (filter_text != NULL) {
		enum graph_filter_result r = graph_odata_filter_parse(filter_text, message_filter,
		    &filter, why, sizeof(why));

		if (r != GRAPH_FILTER_OK) {
			filter_error(req, r, why, reply);
			return;
		}
		where = terms_sql(&filter, message_filter, message_filter_cols, 3);
	}
	if (orderby_text != NULL) {
		if (graph_odata_orderby_parse(orderby_text, orderby_props, &ob, why,
		    sizeof(why)) < 0) {
			graph_reply_error(reply, req, 400, "BadRequest",
			    "The $orderby expression is not valid: '%s'.", why);
			goto out;
		}
		if (filter.nterms > 0 && !orderby_fits_filter(&ob, &filter)) {
			graph_reply_error(reply, req, 400, "InefficientFilter",
			    "The restriction or sort order is too complex for this operation.");
			goto out;
		}
		order = xstrdup("");
		for (int i = 0; i < ob.n; i++) {
			char *next = xasprintf("%s%s%s %s", order, i ? ", " : "",
			    orderby_cols[known_index(orderby_props, ob.prop[i])],
			    ob.desc[i] ? "DESC" : "ASC");

			free(order);
			order = next;
		}
	}
	sql = xasprintf("SELECT " MSG_COLS " FROM g_message m WHERE m.user_id = ?1 AND "
	    "m.deleted = 0%s%s%s%s ORDER BY %s, m.rowid DESC LIMIT %ld OFFSET %ld",
	    folder_id ? " AND m.folder_id = ?2" : "", where ? " AND (" : "", where ? where : "",
	    where ? ")" : "", order ? order : "m.received DESC", top + 1, skip);
	st = db_prepare(sim->db, sql);
	sqlite3_bind_text(st, 1, user->id, -1, SQLITE_STATIC);
	if (folder_id != NULL)
		sqlite3_bind_text(st, 2, folder_id, -1, SQLITE_STATIC);
	bind_terms(st, &filter, 3);
	view_init(&v, req, select);
	value = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == top) {
			more = 1;
			break;
		}
		json_array_append_new(value, message_json(&v, st));
		n++;
	}
	canon = graph_odata_select_canonical(select, message_props);
	if (folder_id != NULL)
		ctx = context_url(sim, "/v1.0/$metadata#users('%s')/mailFolders('%s')/messages%s%s%s",
		    user->id, folder_key, canon ? "(" : "", canon ? canon : "", canon ? ")" : "");
	else
		ctx = context_url(sim, "/v1.0/$metadata#users('%s')/messages%s%s%s", user->id,
		    canon ? "(" : "", canon ? canon : "", canon ? ")" : "");
	body = json_object();
	json_object_set_new(body, "@odata.context", json_string(ctx));
	free(ctx);
	json_object_set_new(body, "value", value);
	if (more) {
		char skipbuf[32], *link;

		snprintf(skipbuf, sizeof(skipbuf), "%ld", skip + n);
		link = graph_odata_link(sim, req, drop, "$skip", skipbuf);
		json_object_set_new(body, "@odata.nextLink", json_string(link));
		free(link);
	}
	graph_reply_json(reply, 200, body);
	prefer_applied(req, reply, 0, 0);
out:
	sqlite3_finalize(st);
	free(canon);
	free(sql);
	free(order);
	free(where);
}

/* Replies with the live message ref of user as the request wants it shown. */
static void
reply_message(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const struct msg_ref *ref, int status, struct graph_reply *reply)
{
	const char *select = graph_req_param(req, "$select");
	sqlite3_stmt *st;
	struct view v;
	json_t *m;
	char *ctx;

	st = db_prepare(sim->db, "SELECT " MSG_COLS " FROM g_message m WHERE m.immutable_id = ?");
	sqlite3_bind_text(st, 1, ref->immutable, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		graph_reply_error(reply, req, 404, "ErrorItemNotFound", NOT_FOUND);
		return;
	}
	view_init(&v, req, select);
	m = message_json(&v, st);
	sqlite3_finalize(st);
	ctx = context_url(sim, "/v1.0/$metadata#users('%s')/messages/$entity", user->id);
	json_object_set_new(m, "@odata.context", json_string(ctx));
	free(ctx);
	graph_reply_json(reply, status, m);
	prefer_applied(req, reply, 0, 0);
}

/* The message id in a path, with Graph's 400 for a malformed one and 404 for an unknown. */
static int
message_or_error(struct graph_sim *sim, const struct graph_req *req,
    const struct graph_user *user, const char *id, struct msg_ref *ref,
    struct graph_reply *reply)
{
	if (!message_id_wellformed(id)) {
		graph_reply_error(reply, req, 400, "ErrorInvalidIdMalformed", "Id is malformed.");
		return -1;
	}
	if (msg_find(sim, user->id, id, ref) < 0) {
		graph_reply_error(reply, req, 404, "ErrorItemNotFound", NOT_FOUND);
		return -1;
	}
	return 0;
}

/* PATCH /messages/{id}: the properties a reader may change on a received message. */
static void
patch_message(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    struct msg_ref *ref, struct graph_reply *reply)
{
	static const char *const importance[] = { "low", "normal", "high", NULL };
	static const char *const inference[] = { "focused", "other", NULL };
	json_t *isread, *cats, *imp, *inf, *v;
	char ck[64], now[32], *cats_text = NULL;
	const char *key;
	sqlite3_stmt *st;
	size_t i;

	if (req->body_invalid || !json_is_object(req->body)) {
		graph_reply_error(reply, req, 400, "BadRequest", "Empty Payload. JSON content "
		    "expected.");
		return;
	}
	json_object_foreach(req->body, key, v) {
		if (strcmp(key, "isRead") != 0 && strcmp(key, "categories") != 0 &&
		    strcmp(key, "importance") != 0 && strcmp(key, "inferenceClassification") != 0) {
			graph_reply_error(reply, req, 400, "ErrorInvalidPropertySet", "The property "
			    "'%s' cannot be updated by graph-sim.", key);
			return;
		}
	}
	isread = json_object_get(req->body, "isRead");
	cats = json_object_get(req->body, "categories");
	imp = json_object_get(req->body, "importance");
	inf = json_object_get(req->body, "inferenceClassification");
	if ((isread && !json_is_boolean(isread)) || (cats && !json_is_array(cats)) ||
	    (imp && (!json_is_string(imp) || known_index(importance, json_string_value(imp)) < 0)) ||
	    (inf && (!json_is_string(inf) ||
	    known_index(inference, json_string_value(inf)) < 0))) {
		graph_reply_error(reply, req, 400, "ErrorInvalidRequest", "The request is invalid.");
		return;
	}
	json_array_foreach(cats, i, v) {
		if (!json_is_string(v)) {
			graph_reply_error(reply, req, 400, "ErrorInvalidRequest",
			    "The request is invalid.");
			return;
		}
	}
	if (cats != NULL)
		cats_text = json_dumps(cats, JSON_COMPACT);
	change_key(ck);
	graph_now_iso(now);
	st = db_prepare(sim->db, "UPDATE g_message SET is_read = coalesce(?1, is_read), "
	    "categories = coalesce(?2, categories), importance = coalesce(lower(?3), importance), "
	    "inference = coalesce(lower(?4), inference), modified = ?5, change_key = ?6 "
	    "WHERE immutable_id = ?7");
	if (isread != NULL)
		sqlite3_bind_int(st, 1, json_is_true(isread));
	sqlite3_bind_text(st, 2, cats_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, json_string_value(imp), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, json_string_value(inf), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ck, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, ref->immutable, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	free(cats_text);
	record_change(sim, ref->user, ref->folder, ref->immutable, ref->rest, "upsert");
	graph_notify_change(sim, ref->user, ref->folder, ref->rest, ref->immutable, 0, "updated");
	reply_message(sim, req, user, ref, 200, reply);
}

/* POST /messages/{id}/move {"destinationId"}: 201 with the message in its new folder. */
static void
post_move(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    struct msg_ref *ref, struct graph_reply *reply)
{
	const char *dest = json_string_value(json_object_get(req->body, "destinationId"));
	char folder[ID_LEN];

	if (dest == NULL) {
		graph_reply_error(reply, req, 400, "ErrorInvalidRequest",
		    "The request is invalid: destinationId is required.");
		return;
	}
	if (folder_or_error(sim, req, user->id, dest, folder, reply) < 0)
		return;
	move_message(sim, ref, folder);
	reply_message(sim, req, user, ref, 201, reply);
}

/* DELETE /messages/{id}: as in Outlook, into Deleted Items; from there, gone. */
static void
http_delete(struct graph_sim *sim, struct msg_ref *ref, struct graph_reply *reply)
{
	char deleted[ID_LEN], wk[32];

	if (folder_resolve(sim, ref->user, "deleteditems", deleted, wk) == FOLDER_OK &&
	    strcmp(ref->folder, deleted) != 0)
		move_message(sim, ref, deleted);
	else
		delete_message(sim, ref);
	graph_reply_json(reply, 204, NULL);
}

/* ---- delta ---- */

/* One delta position: what g_delta holds behind a $skiptoken or $deltatoken.
 * phase "initial": listing the folder as of seq; position is the rowid of the last message
 *   sent, params.cursor its receivedDateTime (keyset paging survives deletes mid-round).
 * phase "changes": replaying g_change in (seq, params.until]; position is an offset in that
 *   fixed set of items.
 * phase "delta": a finished round up to seq; using it starts a "changes" round. */
struct delta_state {
	char phase[16];
	long long seq;
	long long position;
	json_t *params;			/* owned: select, filterOp, filterValue, changeType, top,
					 * pagesize, immutable, until, cursor, count */
};

static const char *
param_str(const struct delta_state *ds, const char *key)
{
	return json_string_value(json_object_get(ds->params, key));
}

static long long
param_int(const struct delta_state *ds, const char *key)
{
	return json_integer_value(json_object_get(ds->params, key));
}

/* Stores ds as a new token (caller frees). */
static char *
delta_save(struct graph_sim *sim, const char *user_id, const char *folder_id,
    const struct delta_state *ds)
{
	return graph_store_delta_save(sim->db, user_id, "messages", folder_id, ds->seq,
	    ds->phase, ds->position, ds->params);
}

/* The live state behind token for this mailbox folder. 0, or -1 (unknown, expired, or
 * another folder's) with *generation the token's seq when it was ours once. */
static int
delta_load(struct graph_sim *sim, const char *token, const char *user_id,
    const char *folder_id, struct delta_state *ds, long long *generation)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT user_id, folder_id, seq, phase, position, "
	    "params, created, expired FROM g_delta WHERE token = ? AND resource = 'messages'");
	int rc = -1;

	*generation = 0;
	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		long ttl = sim->settings.delta_token_ttl_sec;
		const char *u = col_text(st, 0), *f = col_text(st, 1);

		*generation = sqlite3_column_int64(st, 2);
		if (u != NULL && f != NULL && strcmp(u, user_id) == 0 &&
		    strcmp(f, folder_id) == 0 && sqlite3_column_int(st, 7) == 0 &&
		    (ttl <= 0 || graph_now() - sqlite3_column_double(st, 6) <= (double)ttl)) {
			set_string(ds->phase, sizeof(ds->phase), col_text(st, 3));
			ds->seq = sqlite3_column_int64(st, 2);
			ds->position = sqlite3_column_int64(st, 4);
			ds->params = json_loads(col_text(st, 5), 0, NULL);
			if (ds->params != NULL)
				rc = 0;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* 410 with a Location that starts over (the request without its token). */
static void
delta_gone(struct graph_sim *sim, struct graph_req *req, long long generation,
    struct graph_reply *reply)
{
	static const char *const drop[] = { "$skiptoken", "$deltatoken", NULL };
	char *fresh = graph_odata_link(sim, req, drop, NULL, NULL);

	graph_reply_error(reply, req, 410, "SyncStateNotFound", "The sync state generation is not "
	    "found; generation=%lld;[highest=%lld].", generation,
	    graph_store_current_seq(sim->db));
	graph_reply_header(reply, "Location", fresh);
	free(fresh);
}

static int
change_type_wanted(const struct delta_state *ds, const char *type)
{
	const char *want = param_str(ds, "changeType");

	return want == NULL || strcasecmp(want, type) == 0;
}

/* 1 when a message received at received passes the round's receivedDateTime filter. */
static int
filter_passes(const struct delta_state *ds, const char *received)
{
	const char *op = param_str(ds, "filterOp"), *value = param_str(ds, "filterValue");
	int cmp;

	if (op == NULL || value == NULL)
		return 1;
	if (received == NULL)
		return 0;
	cmp = strcmp(received, value);
	return strcmp(op, "gt") == 0 ? cmp > 0 : cmp >= 0;
}

static json_t *
removed_json(const char *id)
{
	return json_pack("{s:s, s:s, s:{s:s}}", "@odata.type", "#microsoft.graph.message",
	    "id", id, "@removed", "reason", "deleted");
}

/* One page of the initial listing: appends to value; 1 when more pages follow. */
static int
delta_initial_page(struct graph_sim *sim, const struct graph_user *user,
    const char *folder_id, struct delta_state *ds, const struct view *v, long pagesize,
    json_t *value)
{
	const char *op = param_str(ds, "filterOp"), *ctype = param_str(ds, "changeType");
	const char *cursor = param_str(ds, "cursor");
	long long count = param_int(ds, "count"), limit = pagesize, n = 0;
	char *sql;
	sqlite3_stmt *st;
	int more = 0;

	/* a first round has nothing "updated" or "deleted" to show */
	if (ctype != NULL && strcasecmp(ctype, "created") != 0)
		return 0;
	if (op != NULL && DELTA_FILTER_CAP - count < limit)
		limit = DELTA_FILTER_CAP - count;
	if (limit <= 0)
		return 0;
	sql = xasprintf("SELECT " MSG_COLS " FROM g_message m WHERE m.user_id = ?1 AND "
	    "m.folder_id = ?2 AND m.deleted = 0%s%s ORDER BY m.received DESC, m.rowid DESC "
	    "LIMIT ?6",
	    op == NULL ? "" : strcmp(op, "gt") == 0 ? " AND m.received > ?3" :
	    " AND m.received >= ?3",
	    cursor == NULL ? "" : " AND (m.received < ?4 OR (m.received = ?4 AND m.rowid < ?5))");
	st = db_prepare(sim->db, sql);
	free(sql);
	sqlite3_bind_text(st, 1, user->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, param_str(ds, "filterValue"), -1, SQLITE_STATIC);
	/* the loop below replaces params.cursor: the statement keeps its own copy */
	sqlite3_bind_text(st, 4, cursor, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, ds->position);
	sqlite3_bind_int64(st, 6, limit + 1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == limit) {
			more = 1;
			break;
		}
		json_array_append_new(value, message_json(v, st));
		json_object_set_new(ds->params, "cursor", json_string(col_text(st, C_RECEIVED)));
		ds->position = sqlite3_column_int64(st, C_ROWID);
		n++;
	}
	sqlite3_finalize(st);
	count += n;
	json_object_set_new(ds->params, "count", json_integer(count));
	if (op != NULL && count >= DELTA_FILTER_CAP)
		more = 0;
	return more;
}

/* The last change to item in folder at or before seq: 1 when it left the item there. */
static int
present_at(struct graph_sim *sim, const char *user_id, const char *folder_id,
    const char *item, long long seq)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT change FROM g_change WHERE user_id = ? AND "
	    "kind = 'message' AND folder_id = ? AND item_id = ? AND seq <= ? ORDER BY seq DESC "
	    "LIMIT 1");
	int present = 0;

	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, item, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		present = strcmp(col_text(st, 0), "upsert") == 0;
	sqlite3_finalize(st);
	return present;
}

/* One item of a changes round: the message as it is now, or @removed. */
static void
delta_change_item(struct graph_sim *sim, const struct graph_user *user,
    const char *folder_id, const struct delta_state *ds, const struct view *v,
    const char *item, long long last_seq, json_t *value)
{
	char change[16] = "", rest[ID_LEN] = "";
	sqlite3_stmt *st;
	int before = 0;

	/* created and updated differ only to a changeType filter; spare the lookup otherwise */
	if (param_str(ds, "changeType") != NULL)
		before = present_at(sim, user->id, folder_id, item, ds->seq);

	st = db_prepare(sim->db, "SELECT change, rest_id FROM g_change WHERE seq = ?");
	sqlite3_bind_int64(st, 1, last_seq);
	if (sqlite3_step(st) == SQLITE_ROW) {
		set_string(change, sizeof(change), col_text(st, 0));
		set_string(rest, sizeof(rest), col_text(st, 1));
	}
	sqlite3_finalize(st);
	if (strcmp(change, "upsert") == 0) {
		st = db_prepare(sim->db, "SELECT " MSG_COLS " FROM g_message m WHERE "
		    "m.immutable_id = ? AND m.folder_id = ? AND m.deleted = 0");
		sqlite3_bind_text(st, 1, item, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, folder_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			if (change_type_wanted(ds, before ? "updated" : "created") &&
			    filter_passes(ds, col_text(st, C_RECEIVED)))
				json_array_append_new(value, message_json(v, st));
			sqlite3_finalize(st);
			return;
		}
		sqlite3_finalize(st);
	}
	if (!change_type_wanted(ds, "deleted"))
		return;
	if (param_str(ds, "filterOp") != NULL) {
		int pass = 1;

		st = db_prepare(sim->db, "SELECT received FROM g_message WHERE immutable_id = ?");
		sqlite3_bind_text(st, 1, item, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			pass = filter_passes(ds, col_text(st, 0));
		sqlite3_finalize(st);
		if (!pass)
			return;
	}
	json_array_append_new(value, removed_json(v->immutable || rest[0] == '\0' ? item : rest));
}

/* One page of a changes round: appends to value; 1 when more pages follow. */
static int
delta_changes_page(struct graph_sim *sim, const struct graph_user *user,
    const char *folder_id, struct delta_state *ds, const struct view *v, long pagesize,
    json_t *value)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT item_id, max(seq) AS s FROM g_change "
	    "WHERE user_id = ? AND kind = 'message' AND folder_id = ? AND seq > ? AND seq <= ? "
	    "GROUP BY item_id ORDER BY s LIMIT ? OFFSET ?");
	long n = 0;
	int more = 0;

	sqlite3_bind_text(st, 1, user->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ds->seq);
	sqlite3_bind_int64(st, 4, param_int(ds, "until"));
	sqlite3_bind_int64(st, 5, pagesize + 1);
	sqlite3_bind_int64(st, 6, ds->position);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == pagesize) {
			more = 1;
			break;
		}
		delta_change_item(sim, user, folder_id, ds, v, col_text(st, 0),
		    sqlite3_column_int64(st, 1), value);
		n++;
	}
	sqlite3_finalize(st);
	ds->position += n;
	return more;
}

/* The options of a first delta request, checked, into ds->params. 0 or -1 with reply. */
static int
delta_options(struct graph_req *req, struct delta_state *ds, struct graph_reply *reply)
{
	const char *select = graph_req_param(req, "$select");
	const char *filter_text = graph_req_param(req, "$filter");
	const char *orderby_text = graph_req_param(req, "$orderby");
	const char *ctype = graph_req_param(req, "changeType");
	static const char *const delta_orderby[] = { "receivedDateTime", NULL };
	static const char *const ctypes[] = { "created", "updated", "deleted", NULL };
	struct graph_filter filter;
	struct graph_orderby ob;
	char why[256];
	long top;

	if (select_or_error(req, select, reply) < 0)
		return -1;
	if ((top = graph_odata_top(req, 0, DELTA_PAGE_MAX, reply)) < 0)
		return -1;
	if (filter_text != NULL) {
		enum graph_filter_result r = graph_odata_filter_parse(filter_text, delta_filter,
		    &filter, why, sizeof(why));

		if (r != GRAPH_FILTER_OK || filter.nterms != 1) {
			graph_reply_error(reply, req, 400, "ErrorInvalidUrlQueryFilter",
			    "The query filter contains one or more invalid nodes.");
			return -1;
		}
		json_object_set_new(ds->params, "filterOp", json_string(
		    filter.terms[0].op == GRAPH_OP_GT ? "gt" : "ge"));
		json_object_set_new(ds->params, "filterValue", json_string(filter.terms[0].value));
	}
	if (orderby_text != NULL && (graph_odata_orderby_parse(orderby_text, delta_orderby, &ob,
	    why, sizeof(why)) < 0 || ob.n != 1 || !ob.desc[0])) {
		graph_reply_error(reply, req, 400, "ErrorInvalidUrlQuery",
		    "Delta query supports $orderby only on receivedDateTime desc.");
		return -1;
	}
	if (ctype != NULL && known_index(ctypes, ctype) < 0) {
		graph_reply_error(reply, req, 400, "ErrorInvalidUrlQuery",
		    "The changeType value '%s' is not valid.", ctype);
		return -1;
	}
	if (graph_req_param(req, "$search") != NULL) {
		graph_reply_error(reply, req, 400, "ErrorInvalidUrlQuery",
		    "$search is not supported on delta queries.");
		return -1;
	}
	if (select != NULL && *select != '\0')
		json_object_set_new(ds->params, "select", json_string(select));
	if (ctype != NULL)
		json_object_set_new(ds->params, "changeType",
		    json_string(ctypes[known_index(ctypes, ctype)]));
	if (top > 0)
		json_object_set_new(ds->params, "top", json_integer(top));
	json_object_set_new(ds->params, "immutable", json_boolean(req->immutable_ids));
	return 0;
}

static void
delta(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *folder_id, struct graph_reply *reply)
{
	const char *skiptoken = graph_req_param(req, "$skiptoken");
	const char *deltatoken = graph_req_param(req, "$deltatoken");
	static const char *const drop_all[] = { "$skiptoken", "$deltatoken", "$select",
	    "$filter", "$orderby", "$top", "changeType", "$search", NULL };
	struct delta_state ds;
	long long generation;
	long pagesize;
	json_t *body, *value;
	struct view v;
	char *token, *link, *ctx;
	int more;

	memset(&ds, 0, sizeof(ds));
	if (skiptoken != NULL || deltatoken != NULL) {
		if (delta_load(sim, skiptoken ? skiptoken : deltatoken, user->id, folder_id, &ds,
		    &generation) < 0) {
			delta_gone(sim, req, generation, reply);
			return;
		}
		if (strcmp(ds.phase, "delta") == 0) {
			snprintf(ds.phase, sizeof(ds.phase), "changes");
			json_object_set_new(ds.params, "until",
			    json_integer(graph_store_current_seq(sim->db)));
			ds.position = 0;
		}
	} else {
		ds.params = json_object();
		if (delta_options(req, &ds, reply) < 0)
			goto out;
		snprintf(ds.phase, sizeof(ds.phase), "initial");
		ds.seq = graph_store_current_seq(sim->db);
	}
	/* odata.maxpagesize of this request, else the one the round started with (a client
	 * that drops the header on later pages keeps its page size), else $top, else 10 */
	if (req->maxpagesize > 0) {
		pagesize = req->maxpagesize < DELTA_PAGE_MAX ? req->maxpagesize : DELTA_PAGE_MAX;
		json_object_set_new(ds.params, "pagesize", json_integer(pagesize));
	} else if (param_int(&ds, "pagesize") > 0) {
		pagesize = (long)param_int(&ds, "pagesize");
	} else if (param_int(&ds, "top") > 0) {
		pagesize = (long)param_int(&ds, "top");
	} else {
		pagesize = DELTA_PAGE_DEFAULT;
	}
	view_init(&v, req, param_str(&ds, "select"));
	value = json_array();
	if (strcmp(ds.phase, "initial") == 0)
		more = delta_initial_page(sim, user, folder_id, &ds, &v, pagesize, value);
	else
		more = delta_changes_page(sim, user, folder_id, &ds, &v, pagesize, value);
	if (!more) {
		/* the round is over: the deltaLink resumes after everything it covered */
		if (strcmp(ds.phase, "changes") == 0)
			ds.seq = param_int(&ds, "until");
		snprintf(ds.phase, sizeof(ds.phase), "delta");
		ds.position = 0;
		json_object_del(ds.params, "until");
		json_object_del(ds.params, "cursor");
		json_object_del(ds.params, "count");
	}
	token = delta_save(sim, user->id, folder_id, &ds);
	link = graph_odata_link(sim, req, drop_all, more ? "$skiptoken" : "$deltatoken", token);
	body = json_object();
	ctx = context_url(sim, "/v1.0/$metadata#Collection(message)");
	json_object_set_new(body, "@odata.context", json_string(ctx));
	free(ctx);
	if (more)
		json_object_set_new(body, "@odata.nextLink", json_string(link));
	json_object_set_new(body, "value", value);
	if (!more)
		json_object_set_new(body, "@odata.deltaLink", json_string(link));
	free(link);
	free(token);
	graph_reply_json(reply, 200, body);
	prefer_applied(req, reply, 1, pagesize);
out:
	json_decref(ds.params);
}

/* ---- routing ---- */

static int
seg_is(const char *seg, const char *name)
{
	return strcasecmp(seg, name) == 0;
}

/* Splits rest into tokens: "/mailFolders('inbox')/messages" → mailFolders, inbox, messages.
 * Modifies buf; -1 when there are too many segments. */
static int
tokenize(char *buf, const char **tok, int max)
{
	char *save = NULL;
	int n = 0;

	for (char *seg = strtok_r(buf, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		char *open = strchr(seg, '('), *key;
		size_t len = strlen(seg);

		if (n == max)
			return -1;
		if (open == NULL || seg[len - 1] != ')') {
			tok[n++] = seg;
			continue;
		}
		*open = '\0';
		seg[len - 1] = '\0';
		tok[n++] = seg;
		key = open + 1;
		len = strlen(key);
		if (len >= 2 && key[0] == '\'' && key[len - 1] == '\'') {
			key[len - 1] = '\0';
			key++;
		}
		if (*key != '\0') {
			if (n == max)
				return -1;
			tok[n++] = key;
		}
	}
	return n;
}

static int
method_is(const struct graph_req *req, const char *m)
{
	return strcmp(req->method, m) == 0;
}

static void
not_allowed(const struct graph_req *req, struct graph_reply *reply)
{
	graph_reply_error(reply, req, 405, "ErrorInvalidRequest",
	    "The OData request is not supported: method %s.", req->method);
}

/* Operations on one message: tok[0] its id, then an optional action. */
static void
message_call(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char **tok, int n, struct graph_reply *reply)
{
	struct msg_ref ref;

	if (n > 2 || (n == 2 && !seg_is(tok[1], "move"))) {
		graph_reply_error(reply, req, 400, "BadRequest",
		    "Resource not found for the segment '%s'.", tok[n - 1]);
		return;
	}
	if ((n == 2 && !method_is(req, "POST")) || (n == 1 && !method_is(req, "GET") &&
	    !method_is(req, "PATCH") && !method_is(req, "DELETE"))) {
		not_allowed(req, reply);
		return;
	}
	if (!method_is(req, "GET") && !graph_require_role(req, reply, write_roles,
	    "ErrorAccessDenied", ACCESS_DENIED))
		return;
	if (message_or_error(sim, req, user, tok[0], &ref, reply) < 0)
		return;
	if (n == 2)
		post_move(sim, req, user, &ref, reply);
	else if (method_is(req, "PATCH"))
		patch_message(sim, req, user, &ref, reply);
	else if (method_is(req, "DELETE"))
		http_delete(sim, &ref, reply);
	else
		reply_message(sim, req, user, &ref, 200, reply);
}

void
graph_mail_call(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *rest, struct graph_reply *reply)
{
	const char *tok[MAX_SEGMENTS * 2];
	char *buf = xstrdup(rest != NULL ? rest : ""), folder[ID_LEN], wk[32];
	int n;

	if (!graph_require_role(req, reply, read_roles, "ErrorAccessDenied", ACCESS_DENIED))
		goto out;
	if (!user->has_mailbox) {
		graph_reply_error(reply, req, 404, "MailboxNotEnabledForRESTAPI",
		    "REST API is not yet supported for this mailbox.");
		goto out;
	}
	n = tokenize(buf, tok, MAX_SEGMENTS * 2);
	if (n <= 0)
		goto unknown;
	if (seg_is(tok[0], "messages")) {
		if (n == 1) {
			if (!method_is(req, "GET"))
				not_allowed(req, reply);
			else
				list_messages(sim, req, user, NULL, NULL, reply);
		} else {
			message_call(sim, req, user, tok + 1, n - 1, reply);
		}
		goto out;
	}
	if (!seg_is(tok[0], "mailFolders"))
		goto unknown;
	if (n == 1) {
		if (!method_is(req, "GET")) {
			not_allowed(req, reply);
		} else if (folder_resolve(sim, user->id, "msgfolderroot", folder, wk) == 0) {
			list_folders(sim, req, user, folder, reply);
		} else {
			graph_reply_error(reply, req, 404, "ErrorItemNotFound", NOT_FOUND);
		}
		goto out;
	}
	if (folder_or_error(sim, req, user->id, tok[1], folder, reply) < 0)
		goto out;
	if (n >= 4 && seg_is(tok[2], "messages") && n == 4 && (seg_is(tok[3], "delta") ||
	    seg_is(tok[3], "microsoft.graph.delta"))) {
		if (!method_is(req, "GET"))
			not_allowed(req, reply);
		else
			delta(sim, req, user, folder, reply);
		goto out;
	}
	if (n >= 4 && seg_is(tok[2], "messages")) {
		/* Exchange finds an item by its id alone; the folder in the path is not checked */
		message_call(sim, req, user, tok + 3, n - 3, reply);
		goto out;
	}
	if (n == 2 || n == 3) {
		if (!method_is(req, "GET"))
			not_allowed(req, reply);
		else if (n == 2)
			get_folder(sim, req, user, folder, reply);
		else if (seg_is(tok[2], "messages"))
			list_messages(sim, req, user, folder, tok[1], reply);
		else if (seg_is(tok[2], "childFolders"))
			list_folders(sim, req, user, folder, reply);
		else
			goto unknown;
		goto out;
	}
unknown:
	graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the segment "
	    "'%s'.", rest != NULL ? rest : "");
out:
	free(buf);
}

/* ---- delivery (control API) ---- */

/* A tenant user with a mailbox whose mail or upn is address: id, upn and display name. */
static int
tenant_mailbox(struct graph_sim *sim, const char *address, char id[40], char upn[256],
    char name[256])
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT id, upn, display_name FROM g_user WHERE "
	    "(mail = ?1 OR upn = ?1) AND has_mailbox = 1");
	int rc = -1;

	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		set_string(id, 40, col_text(st, 0));
		set_string(upn, 256, col_text(st, 1));
		set_string(name, 256, col_text(st, 2));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
valid_address(const char *a)
{
	const char *at = strchr(a, '@');

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (; *a; a++)
		if (isspace((unsigned char)*a) || *a == '<' || *a == '>' || *a == '"')
			return 0;
	return 1;
}

/* A recipient from "a@x", "Name <a@x>", {"name","address"} or {"emailAddress":{...}}:
 * Graph's recipient object, named after the tenant user when there is one. NULL on error. */
static json_t *
recipient(struct graph_sim *sim, json_t *in)
{
	char address[320] = "", name[256] = "", id[40], upn[256], tname[256];

	if (json_is_string(in)) {
		const char *s = json_string_value(in), *lt = strchr(s, '<');
		size_t len = strlen(s);

		if (lt != NULL && len > 0 && s[len - 1] == '>') {
			const char *ns = s, *ne = lt;

			snprintf(address, sizeof(address), "%.*s", (int)(len - 1 - (size_t)(lt - s) - 1),
			    lt + 1);
			while (ns < ne && (isspace((unsigned char)*ns) || *ns == '"'))
				ns++;
			while (ne > ns && (isspace((unsigned char)ne[-1]) || ne[-1] == '"'))
				ne--;
			snprintf(name, sizeof(name), "%.*s", (int)(ne - ns), ns);
		} else {
			snprintf(address, sizeof(address), "%s", s);
		}
	} else if (json_is_object(in)) {
		json_t *ea = json_object_get(in, "emailAddress");

		if (ea == NULL)
			ea = in;
		set_string(address, sizeof(address), json_string_value(json_object_get(ea,
		    "address")));
		set_string(name, sizeof(name), json_string_value(json_object_get(ea, "name")));
	}
	if (!valid_address(address))
		return NULL;
	if (name[0] == '\0') {
		/* Exchange shows the directory name of a tenant user, else the address */
		if (tenant_mailbox(sim, address, id, upn, tname) == 0 && tname[0] != '\0')
			set_string(name, sizeof(name), tname);
		else
			set_string(name, sizeof(name), address);
	}
	return json_pack("{s:{s:s, s:s}}", "emailAddress", "name", name, "address", address);
}

/* An array of recipients from an array (or one string); NULL with err. */
static json_t *
recipients(struct graph_sim *sim, json_t *in, const char *field, char *err, size_t errlen)
{
	json_t *out = json_array(), *v;
	size_t i;

	if (in == NULL || json_is_null(in))
		return out;
	if (json_is_string(in) || json_is_object(in)) {
		if ((v = recipient(sim, in)) == NULL)
			goto bad;
		json_array_append_new(out, v);
		return out;
	}
	if (!json_is_array(in))
		goto bad;
	json_array_foreach(in, i, v) {
		json_t *r = recipient(sim, v);

		if (r == NULL)
			goto bad;
		json_array_append_new(out, r);
	}
	return out;
bad:
	json_decref(out);
	err_set(err, errlen,
	    "%s: each address is \"a@b\", \"Name <a@b>\" or {\"name\",\"address\"}",
	    field);
	return NULL;
}

static const char *
address_of(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "emailAddress"), "address"));
}

/* "Name <address>, ..." for the To and Cc headers. Caller frees. */
static char *
address_list(json_t *list)
{
	size_t i, len = 0, cap = 64;
	char *out = xmalloc(cap), *next;
	json_t *r;

	*out = '\0';
	json_array_foreach(list, i, r) {
		json_t *ea = json_object_get(r, "emailAddress");
		size_t k;

		/* One entry at a time, appended in place: 10,000 recipients would copy the list
		 * once per address otherwise. */
		next = xasprintf("%s%s <%s>", i ? ", " : "",
		    json_string_value(json_object_get(ea, "name")),
		    json_string_value(json_object_get(ea, "address")));
		k = strlen(next);
		while (len + k + 1 > cap)
			cap *= 2;
		out = xrealloc(out, cap);
		memcpy(out + len, next, k + 1);
		len += k;
		free(next);
	}
	return out;
}

static int
has_header(json_t *headers, const char *name)
{
	size_t i;
	json_t *h;

	json_array_foreach(headers, i, h)
		if (strcasecmp(json_string_value(json_object_get(h, "name")), name) == 0)
			return 1;
	return 0;
}

static void
add_header(json_t *headers, const char *name, const char *value)
{
	if (!has_header(headers, name))
		json_array_append_new(headers, json_pack("{s:s, s:s}", "name", name, "value", value));
}

/* The spec's headers ({name: value} or [{name, value}]) as internetMessageHeaders. */
static json_t *
spec_headers(json_t *in, char *err, size_t errlen)
{
	json_t *out = json_array(), *v;
	const char *key;
	size_t i;

	if (in == NULL || json_is_null(in))
		return out;
	if (json_is_object(in)) {
		json_object_foreach(in, key, v) {
			if (!json_is_string(v) || *key == '\0')
				goto bad;
			json_array_append_new(out, json_pack("{s:s, s:s}", "name", key, "value",
			    json_string_value(v)));
		}
		return out;
	}
	if (!json_is_array(in))
		goto bad;
	json_array_foreach(in, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));
		const char *val = json_string_value(json_object_get(v, "value"));

		if (n == NULL || val == NULL || *n == '\0')
			goto bad;
		json_array_append_new(out, json_pack("{s:s, s:s}", "name", n, "value", val));
	}
	return out;
bad:
	json_decref(out);
	err_set(err, errlen, "headers: an object of strings or an array of {\"name\",\"value\"}");
	return NULL;
}

/* RFC 5322 date of an ISO UTC time ("2024-05-24T12:52:15Z"). */
static void
rfc5322_date(const char *iso, char out[64])
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
		snprintf(out, 64, "%s", iso);
		return;
	}
	strftime(out, 64, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* One mailbox copy of a delivery. */
struct copy {
	char user_id[40];
	char upn[256];
	const char *folder;		/* well-known name */
	int is_sender;
};

static int
add_copy(struct copy *copies, int *n, const char *user_id, const char *upn,
    const char *folder, int is_sender)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(copies[i].user_id, user_id) == 0 && copies[i].is_sender == is_sender)
			return 0;
	if (*n == MAX_COPIES)
		return -1;
	set_string(copies[*n].user_id, sizeof(copies[*n].user_id), user_id);
	set_string(copies[*n].upn, sizeof(copies[*n].upn), upn);
	copies[*n].folder = folder;
	copies[*n].is_sender = is_sender;
	(*n)++;
	return 0;
}

/* What every copy of one delivery shares. */
struct letter {
	const char *imid, *conv, *conv_index, *subject, *body_type, *body, *preview, *date;
	const char *importance, *categories, *headers, *from, *to, *cc, *bcc, *reply_to;
	int is_draft, has_attachments;
};

static int
insert_copy(struct graph_sim *sim, const struct letter *l, const struct copy *c,
    json_t *copies_out, char *err, size_t errlen)
{
	char folder[ID_LEN], wk[32], rest[ID_LEN], immutable[ID_LEN], ck[64];
	sqlite3_stmt *st;
	int rc;

	if (folder_resolve(sim, c->user_id, c->folder, folder, wk) != FOLDER_OK)
		return err_set(err, errlen, "mailbox %s has no %s folder", c->upn, c->folder);
	make_id(rest, rest_hdr, sizeof(rest_hdr), c->user_id, MSG_ID_RAW);
	make_id(immutable, immutable_hdr, sizeof(immutable_hdr), c->user_id,
	    MSG_ID_RAW);
	change_key(ck);
	st = db_prepare(sim->db, "INSERT INTO g_message (immutable_id, rest_id, user_id, "
	    "folder_id, internet_message_id, conversation_id, conversation_index, subject, "
	    "body_type, body, body_preview, from_json, sender_json, to_json, cc_json, bcc_json, "
	    "reply_to_json, headers_json, received, sent, created, modified, is_draft, is_read, "
	    "has_attachments, importance, inference, categories, change_key) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?18, "
	    "?18, ?19, ?20, ?21, ?22, 'focused', ?23, ?24)");
	sqlite3_bind_text(st, 1, immutable, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, folder, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, l->imid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, l->conv, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, l->conv_index, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, l->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, l->body_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, l->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, l->preview, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, l->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, l->to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, l->cc, -1, SQLITE_STATIC);
	/* only the sender's copy shows Bcc, as in Outlook */
	sqlite3_bind_text(st, 15, c->is_sender ? l->bcc : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, l->reply_to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, l->headers, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 18, l->date, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 19, c->is_sender && l->is_draft);
	sqlite3_bind_int(st, 20, c->is_sender);
	sqlite3_bind_int(st, 21, l->has_attachments);
	sqlite3_bind_text(st, 22, l->importance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 23, l->categories, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 24, ck, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(err, errlen, "cannot store a copy for %s: %s", c->upn,
		    sqlite3_errmsg(sim->db));
	record_change(sim, c->user_id, folder, immutable, rest, "upsert");
	graph_notify_change(sim, c->user_id, folder, rest, immutable, 0, "created");
	json_array_append_new(copies_out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
	    "user", c->upn, "userId", c->user_id, "folder", c->folder, "folderId", folder,
	    "id", rest, "immutableId", immutable));
	return 0;
}

static const char *
spec_str(json_t *spec, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(spec, key));

	return v != NULL ? v : dflt;
}

int
graph_mail_deliver(struct graph_sim *sim, json_t *spec, json_t **result, char *err,
    size_t errlen)
{
	static const char *const importances[] = { "low", "normal", "high", NULL };
	static const struct {
		const char *value;
		const char *header;
	} sensitivities[] = {
		{ "normal", NULL }, { "personal", "Personal" }, { "private", "Private" },
		{ "confidential", "Company-Confidential" },
	};
	struct letter l;
	struct copy *copies = NULL;
	json_t *from = NULL, *to = NULL, *cc = NULL, *bcc = NULL, *reply_to = NULL;
	json_t *headers = NULL, *copies_out = NULL, *cats, *v;
	char *s_from = NULL, *s_to = NULL, *s_cc = NULL, *s_bcc = NULL, *s_reply = NULL;
	char *s_headers = NULL, *s_cats = NULL, *preview_text = NULL, *list, *imid_buf = NULL;
	char *conv_buf = NULL, *index_buf = NULL;
	char date[32], rfcdate[64], id[40], upn[256], name[256];
	const char *sender_addr, *date_text, *sens, *imp;
	int ncopies = 0, rc = -1, in_savepoint = 0;
	size_t i;

	memset(&l, 0, sizeof(l));
	*result = NULL;
	if (!json_is_object(spec))
		return err_set(err, errlen, "a mail must be an object");
	if ((from = recipient(sim, json_object_get(spec, "from"))) == NULL) {
		err_set(err, errlen, "from: an address is required (\"a@b\" or \"Name <a@b>\")");
		goto out;
	}
	if ((to = recipients(sim, json_object_get(spec, "to"), "to", err, errlen)) == NULL ||
	    (cc = recipients(sim, json_object_get(spec, "cc"), "cc", err, errlen)) == NULL ||
	    (bcc = recipients(sim, json_object_get(spec, "bcc"), "bcc", err, errlen)) == NULL ||
	    (reply_to = recipients(sim, json_object_get(spec, "replyTo"), "replyTo", err,
	    errlen)) == NULL ||
	    (headers = spec_headers(json_object_get(spec, "headers"), err, errlen)) == NULL)
		goto out;
	l.subject = spec_str(spec, "subject", "");
	l.body = spec_str(spec, "body", "");
	l.body_type = spec_str(spec, "bodyType", NULL);
	if (l.body_type == NULL)
		l.body_type = l.body[0] == '<' ? "html" : "text";
	if (strcmp(l.body_type, "html") != 0 && strcmp(l.body_type, "text") != 0) {
		err_set(err, errlen, "bodyType: \"html\" or \"text\"");
		goto out;
	}
	date_text = spec_str(spec, "date", NULL);
	if (date_text == NULL)
		graph_now_iso(date);
	else if (graph_odata_parse_datetime(date_text, strlen(date_text), date) < 0) {
		err_set(err, errlen, "date: an ISO 8601 date-time with Z or an offset");
		goto out;
	}
	l.date = date;
	imp = spec_str(spec, "importance", "normal");
	if (known_index(importances, imp) < 0) {
		err_set(err, errlen, "importance: low, normal or high");
		goto out;
	}
	/* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): known_index >= 0 just above */
	l.importance = importances[known_index(importances, imp)];
	cats = json_object_get(spec, "categories");
	if (cats != NULL && !json_is_array(cats)) {
		err_set(err, errlen, "categories: an array of strings");
		goto out;
	}
	json_array_foreach(cats, i, v) {
		if (!json_is_string(v)) {
			err_set(err, errlen, "categories: an array of strings");
			goto out;
		}
	}
	s_cats = cats != NULL ? json_dumps(cats, JSON_COMPACT) : xstrdup("[]");
	l.categories = s_cats;
	l.is_draft = json_is_true(json_object_get(spec, "isDraft"));
	l.has_attachments = json_is_true(json_object_get(spec, "hasAttachments"));
	sender_addr = address_of(from);
	l.imid = spec_str(spec, "internetMessageId", NULL);
	if (l.imid == NULL) {
		char *hex = crypto_random_hex(16);

		imid_buf = xasprintf("<%s@%s>", hex, strchr(sender_addr, '@') + 1);
		free(hex);
		l.imid = imid_buf;
	} else if (*l.imid == '\0') {
		err_set(err, errlen, "internetMessageId: \"<id@domain>\"");
		goto out;
	}
	l.conv = spec_str(spec, "conversationId", NULL);
	if (l.conv == NULL) {
		char conv[ID_LEN];

		/* Exchange threads by subject and references; a new conversation per mail
		 * is enough for the sim unless the spec names one */
		make_id(conv, conversation_hdr, sizeof(conversation_hdr), sim->tenant_id,
		    FOLDER_ID_RAW);
		conv_buf = xstrdup(conv);
		l.conv = conv_buf;
	}
	{
		unsigned char raw[22];

		raw[0] = 0x01;
		crypto_random_bytes(raw + 1, sizeof(raw) - 1);
		index_buf = b64_encode(raw, sizeof(raw));
		l.conv_index = index_buf;
	}
	preview_text = preview(l.body, strcmp(l.body_type, "html") == 0);
	l.preview = preview_text;

	/* the headers a receiving server would show, after the ones the spec gave */
	rfc5322_date(date, rfcdate);
	add_header(headers, "Message-ID", l.imid);
	add_header(headers, "Date", rfcdate);
	{
		json_t *one = json_pack("[O]", from);

		list = address_list(one);
		json_decref(one);
		add_header(headers, "From", list);
		free(list);
	}
	list = address_list(to);
	if (json_array_size(to) > 0)
		add_header(headers, "To", list);
	free(list);
	list = address_list(cc);
	if (json_array_size(cc) > 0)
		add_header(headers, "Cc", list);
	free(list);
	add_header(headers, "Subject", l.subject);
	sens = spec_str(spec, "sensitivity", NULL);
	if (sens != NULL) {
		size_t k;

		for (k = 0; k < sizeof(sensitivities) / sizeof(sensitivities[0]); k++)
			if (strcasecmp(sens, sensitivities[k].value) == 0)
				break;
		if (k == sizeof(sensitivities) / sizeof(sensitivities[0])) {
			err_set(err, errlen,
			    "sensitivity: normal, personal, private or confidential");
			goto out;
		}
		if (sensitivities[k].header != NULL)
			add_header(headers, "Sensitivity", sensitivities[k].header);
	}
	add_header(headers, "MIME-Version", "1.0");
	add_header(headers, "Content-Type", strcmp(l.body_type, "html") == 0 ?
	    "text/html; charset=\"utf-8\"" : "text/plain; charset=\"utf-8\"");

	s_from = json_dumps(from, JSON_COMPACT);
	s_to = json_dumps(to, JSON_COMPACT);
	s_cc = json_dumps(cc, JSON_COMPACT);
	s_bcc = json_dumps(bcc, JSON_COMPACT);
	s_reply = json_dumps(reply_to, JSON_COMPACT);
	s_headers = json_dumps(headers, JSON_COMPACT);
	l.from = s_from;
	l.to = s_to;
	l.cc = s_cc;
	l.bcc = s_bcc;
	l.reply_to = s_reply;
	l.headers = s_headers;

	copies = xcalloc(MAX_COPIES, sizeof(*copies));
	if (tenant_mailbox(sim, sender_addr, id, upn, name) == 0 &&
	    add_copy(copies, &ncopies, id, upn, l.is_draft ? "drafts" : "sentitems", 1) < 0)
		goto too_many;
	if (!l.is_draft) {
		json_t *lists[] = { to, cc, bcc };

		for (size_t k = 0; k < 3; k++) {
			json_array_foreach(lists[k], i, v) {
				if (tenant_mailbox(sim, address_of(v), id, upn, name) == 0 &&
				    add_copy(copies, &ncopies, id, upn, "inbox", 0) < 0)
					goto too_many;
			}
		}
	}
	if (ncopies == 0) {
		err_set(err, errlen, "no mailbox in the tenant sends or receives this mail");
		goto out;
	}
	if (db_savepoint(sim->db, "mail_deliver") < 0) {
		err_set(err, errlen, "cannot start a transaction");
		goto out;
	}
	in_savepoint = 1;
	copies_out = json_array();
	for (int k = 0; k < ncopies; k++)
		if (insert_copy(sim, &l, &copies[k], copies_out, err, errlen) < 0)
			goto out;
	if (db_release(sim->db, "mail_deliver") < 0) {
		err_set(err, errlen, "cannot commit the delivery");
		goto out;
	}
	in_savepoint = 0;
	*result = json_pack("{s:s, s:s, s:O}", "internetMessageId", l.imid, "conversationId",
	    l.conv, "copies", copies_out);
	log_info("graph-mail: delivered copies=%d", ncopies);
	rc = 0;
	goto out;
too_many:
	err_set(err, errlen, "more than %d mailboxes in one delivery", MAX_COPIES);
out:
	if (in_savepoint)
		db_rollback_to(sim->db, "mail_deliver");
	json_decref(copies_out);
	free(copies);
	free(s_from);
	free(s_to);
	free(s_cc);
	free(s_bcc);
	free(s_reply);
	free(s_headers);
	free(s_cats);
	free(preview_text);
	free(imid_buf);
	free(conv_buf);
	free(index_buf);
	json_decref(from);
	json_decref(to);
	json_decref(cc);
	json_decref(bcc);
	json_decref(reply_to);
	json_decref(headers);
	return rc;
}

/* The user and live message a control call names. */
static int
control_find(struct graph_sim *sim, const char *user, const char *id, struct graph_user *u,
    struct msg_ref *ref, char *err, size_t errlen)
{
	if (graph_user_find(sim, user, u) < 0)
		return err_set(err, errlen, "no user %s", user);
	if (id == NULL || msg_find(sim, u->id, id, ref) < 0)
		return err_set(err, errlen,
		    "no message %s in the mailbox of %s", id ? id : "(null)",
		    user);
	return 0;
}

int
graph_mail_move(struct graph_sim *sim, const char *user, const char *id, const char *folder,
    json_t **result, char *err, size_t errlen)
{
	struct graph_user u;
	struct msg_ref ref;
	char dest[ID_LEN], wk[32], previous[ID_LEN];

	*result = NULL;
	if (control_find(sim, user, id, &u, &ref, err, errlen) < 0)
		return -1;
	if (folder == NULL || folder_resolve(sim, u.id, folder, dest, wk) != FOLDER_OK)
		return err_set(err, errlen, "no folder %s in the mailbox of %s",
		    folder ? folder : "(null)", user);
	set_string(previous, sizeof(previous), ref.rest);
	if (db_savepoint(sim->db, "mail_move") < 0)
		return err_set(err, errlen, "cannot start a transaction");
	move_message(sim, &ref, dest);
	if (db_release(sim->db, "mail_move") < 0) {
		db_rollback_to(sim->db, "mail_move");
		return err_set(err, errlen, "cannot commit the move");
	}
	*result = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", ref.rest, "immutableId",
	    ref.immutable, "previousId", previous, "folderId", dest, "folder",
	    wk[0] != '\0' ? wk : dest);
	return 0;
}

int
graph_mail_delete(struct graph_sim *sim, const char *user, const char *id, char *err,
    size_t errlen)
{
	struct graph_user u;
	struct msg_ref ref;

	if (control_find(sim, user, id, &u, &ref, err, errlen) < 0)
		return -1;
	if (db_savepoint(sim->db, "mail_delete") < 0)
		return err_set(err, errlen, "cannot start a transaction");
	delete_message(sim, &ref);
	if (db_release(sim->db, "mail_delete") < 0) {
		db_rollback_to(sim->db, "mail_delete");
		return err_set(err, errlen, "cannot commit the delete");
	}
	return 0;
}

int
graph_mail_expire_delta(struct graph_sim *sim, const char *token)
{
	sqlite3_stmt *st;
	int changed;

	if (token == NULL)
		st = db_prepare(sim->db, "UPDATE g_delta SET expired = 1");
	else {
		st = db_prepare(sim->db, "UPDATE g_delta SET expired = 1 WHERE token = ?");
		sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	}
	sqlite3_step(st);
	sqlite3_finalize(st);
	changed = sqlite3_changes(sim->db);
	log_info("graph-mail: expired delta tokens n=%d", changed);
	return token == NULL || changed > 0 ? 0 : -1;
}
