/* log.c: line-oriented logging to stderr (see log.h), as text or as JSON lines. Lines are
 * written with one write(2) so that lines from several threads never interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_progname = "olsync";
static enum log_level log_min = LOG_LEVEL_INFO;
static int log_fmt = LOG_FORMAT_TEXT;	/* read by every thread: atomics */

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(const char *progname, enum log_level min_level)
{
	log_progname = progname;
	log_min = min_level;
}

void
log_set_level(enum log_level min_level)
{
	log_min = min_level;
}

void
log_set_format(enum log_format format)
{
	__atomic_store_n(&log_fmt, (int)format, __ATOMIC_RELAXED);
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* --- JSON lines ----------------------------------------------------------------------- */

#define JSON_RESERVE	3	/* '"', '}' and the NUL always fit */
#define MAX_TOKENS	256	/* words and pairs of one message; the rest is one word */

struct jw {
	char	*out;
	size_t	 len, n;
	int	 full;		/* something did not fit: nothing more is added */
	int	 in_str;	/* a value string is open (closed by jw_end) */
	int	 members;
};

struct token {
	const char	*k, *v;		/* k NULL: a word, in v */
	size_t		 klen, vlen;
};

static void
raw(struct jw *w, const char *s, size_t k)
{
	if (w->full || w->n + k + JSON_RESERVE > w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->out + w->n, s, k);
	w->n += k;
}

/* Length of the valid UTF-8 sequence at s (left bytes), or 0 when it is not one. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	/* The second byte's range rules out overlongs, surrogates and > U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* The k bytes at s as the inside of a JSON string. */
static void
str(struct jw *w, const char *s, size_t k)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];
	size_t i = 0, n;

	while (i < k && !w->full) {
		unsigned char c = u[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			raw(w, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7F) {
			const char *short_esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" :
			    c == '\r' ? "\\r" : NULL;

			if (short_esc != NULL)
				raw(w, short_esc, 2);
			else
				raw(w, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c));
			i++;
		} else if ((n = utf8_seq(u + i, k - i)) == 0) {
			raw(w, "\\ufffd", 6);
			i++;
		} else {
			raw(w, s + i, n);
			i += n;
		}
	}
}

/* Opens member key (klen bytes, after prefix): a member whose name does not fit is left out,
 * so the object stays whole. */
static int
key(struct jw *w, const char *prefix, const char *k, size_t klen)
{
	size_t mark = w->n;

	if (w->full)
		return -1;
	raw(w, w->members ? ",\"" : "\"", w->members ? 2 : 1);
	str(w, prefix, strlen(prefix));
	str(w, k, klen);
	raw(w, "\":\"", 3);
	if (w->full) {
		w->n = mark;
		return -1;
	}
	w->members++;
	w->in_str = 1;
	return 0;
}

static void
end_str(struct jw *w)
{
	raw(w, "\"", 1);
	if (!w->full)
		w->in_str = 0;
}

static void
member(struct jw *w, const char *prefix, const char *k, size_t klen, const char *v,
    size_t vlen)
{
	if (key(w, prefix, k, klen) == 0) {
		str(w, v, vlen);
		end_str(w);
	}
}

static int
key_char(char c, int first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (!first && ((c >= '0' && c <= '9') || c == '.' || c == '-'));
}

/* The length of the key before '=' at p, or 0 when p does not start "key=". */
static size_t
key_at(const char *p)
{
	size_t n = 0;

	if (!key_char(p[0], 1))
		return 0;
	while (key_char(p[n], 0))
		n++;
	return p[n] == '=' ? n : 0;
}

/* The closing quote of a value opened just before p: the first quote followed by the end or by
 * " key=", else the last quote; NULL when there is none. */
static const char *
closing_quote(const char *p)
{
	const char *last = NULL;

	for (; *p != '\0'; p++) {
		if (*p != '"')
			continue;
		if (p[1] == '\0' || (p[1] == ' ' && key_at(p + 2) > 0))
			return p;
		last = p;
	}
	return last;
}

/* Splits msg into words and key=value pairs. */
static size_t
tokenize(const char *p, struct token *t, size_t max)
{
	size_t n = 0;

	while (*p != '\0' && n < max) {
		size_t k;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		memset(&t[n], 0, sizeof(t[n]));
		if (n + 1 == max) {
			/* No room left: the rest is one word. */
			t[n].v = p;
			t[n++].vlen = strlen(p);
			break;
		}
		if ((k = key_at(p)) > 0) {
			const char *q;

			t[n].k = p;
			t[n].klen = k;
			p += k + 1;
			if (*p == '"' && (q = closing_quote(p + 1)) != NULL) {
				t[n].v = p + 1;
				t[n].vlen = (size_t)(q - p - 1);
				p = q + 1;
			} else {
				t[n].v = p;
				t[n].vlen = strcspn(p, " ");
				p += t[n].vlen;
			}
		} else {
			t[n].v = p;
			t[n].vlen = strcspn(p, " ");
			p += t[n].vlen;
		}
		n++;
	}
	return n;
}

/* A pair's key taken already: one of the fixed members, or an earlier pair's. */
static int
key_taken(const struct token *t, size_t i)
{
	static const char *const fixed[] = { "ts", "prog", "level", "msg" };

	for (size_t f = 0; f < sizeof(fixed) / sizeof(fixed[0]); f++)
		if (t[i].klen == strlen(fixed[f]) && memcmp(t[i].k, fixed[f], t[i].klen) == 0)
			return 1;
	for (size_t j = 0; j < i; j++)
		if (t[j].k != NULL && t[j].klen == t[i].klen &&
		    memcmp(t[j].k, t[i].k, t[i].klen) == 0)
			return 1;
	return 0;
}

size_t
log_json(char *out, size_t len, const char *ts, const char *prog, const char *level,
    const char *msg)
{
	struct token t[MAX_TOKENS];
	struct jw w;
	size_t n, i, words = 0;

	if (len < JSON_RESERVE + 1) {
		if (len > 0)
			out[0] = '\0';
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.out = out;
	w.len = len;
	raw(&w, "{", 1);
	member(&w, "", "ts", 2, ts, strlen(ts));
	member(&w, "", "prog", 4, prog, strlen(prog));
	member(&w, "", "level", 5, level, strlen(level));
	n = tokenize(msg, t, MAX_TOKENS);
	if (key(&w, "", "msg", 3) == 0) {
		for (i = 0; i < n; i++) {
			if (t[i].k != NULL)
				continue;
			if (words++ > 0)
				str(&w, " ", 1);
			str(&w, t[i].v, t[i].vlen);
		}
		end_str(&w);
	}
	for (i = 0; i < n; i++)
		if (t[i].k != NULL)
			member(&w, key_taken(t, i) ? "kv_" : "", t[i].k, t[i].klen, t[i].v,
			    t[i].vlen);
	/* JSON_RESERVE kept room for these. */
	if (w.in_str)
		w.out[w.n++] = '"';
	w.out[w.n++] = '}';
	w.out[w.n] = '\0';
	return w.n;
}

/* --- the line ----------------------------------------------------------------------- */

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], ts[40];
	struct timespec tv;
	struct tm tm;
	size_t n, m = 0;
	int saved = errno, r;

	if (level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &tv);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", tv.tv_nsec / 1000000);
	if ((r = vsnprintf(msg, sizeof(msg), fmt, ap)) > 0)
		m = (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
	msg[m] = '\0';
	if (with_errno && m < sizeof(msg) - 1)
		snprintf(msg + m, sizeof(msg) - m, " error=\"%s\"", strerror(saved));
	if (__atomic_load_n(&log_fmt, __ATOMIC_RELAXED) == LOG_FORMAT_JSON) {
		char line[LOG_JSON_MAX];

		n = log_json(line, sizeof(line) - 1, ts, log_progname, level_names[level], msg);
		line[n++] = '\n';
		(void)!write(STDERR_FILENO, line, n);
	} else {
		char line[LOG_LINE_MAX];

		r = snprintf(line, sizeof(line), "%s %s %s %s", ts, log_progname,
		    level_names[level], msg);
		n = r < 0 ? 0 : (size_t)r;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
		line[n++] = '\n';
		(void)!write(STDERR_FILENO, line, n);
	}
	errno = saved;
}

#define LOG_FN(name, level, with_errno)			\
	void name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		vlog(level, with_errno, fmt, ap);	\
		va_end(ap);				\
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
