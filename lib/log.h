/* log.h: one line per event on stderr, "time level subsystem key=value ...".
 * log_warn and fatal append strerror(errno); log_warnx and fatalx do not (OpenBSD convention).
 * Never log a token, a secret or a message body. */
#ifndef OL_LOG_H
#define OL_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_init(const char *progname, enum log_level min_level);
void log_set_level(enum log_level min_level);
int log_level_parse(const char *name, enum log_level *out);	/* 0 or -1 */

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
