/* log.h: one line per event on stderr, "time prog level subsystem key=value ...", or with
 * LOG_FORMAT_JSON the same event as one JSON object a line (log_json below).
 * log_warn and fatal append strerror(errno); log_warnx and fatalx do not (OpenBSD convention).
 * Never log a token, a secret or a message body. */
#ifndef OL_LOG_H
#define OL_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

#define LOG_LINE_MAX	2048	/* bytes of a text line; a longer message is cut */
/* Bytes of a JSON line: every byte of a cut message escaped (\u00XX) with room to spare. */
#define LOG_JSON_MAX	(8 * LOG_LINE_MAX)

void log_init(const char *progname, enum log_level min_level);
void log_set_level(enum log_level min_level);
void log_set_format(enum log_format format);	/* LOG_FORMAT_TEXT until set */
int log_level_parse(const char *name, enum log_level *out);	/* 0 or -1 */

/* The JSON line of one event (without its newline) into out (len bytes; LOG_JSON_MAX is always
 * enough, a smaller buffer cuts the line but it stays one valid object): the members ts, prog,
 * level, then msg, the words of the message that are not key=value pairs (the subsystem and
 * the event), then each pair as a string member in order. A value in double quotes ends at the
 * quote followed by the end or by another pair, so quotes inside it are kept; a key that is
 * one of the four or came before gets "kv_" in front. Control characters are escaped and bytes
 * that are not UTF-8 become U+FFFD, so the line is valid JSON whatever was logged. Returns the
 * length written. Pure: for the tests. */
size_t log_json(char *out, size_t len, const char *ts, const char *prog, const char *level,
    const char *msg);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
