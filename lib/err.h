/* err.h: filling a caller's error buffer. Validators across the emulators report why input was
 * refused into a char buffer the caller owns; err_set writes the message and returns -1 so a
 * failure path is one line: `return err_set(err, errlen, "bad %s", what);`. */
#ifndef OL_ERR_H
#define OL_ERR_H

#include <stddef.h>

/* Formats into err (errlen bytes, truncated and always NUL-terminated when errlen > 0; err may be
 * NULL when errlen is 0). Returns -1. */
int err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* clang-tidy's analyzer looks at one file at a time: without this it takes `return err_set(...)`
 * for "may return 0" and reports out-parameters as unset on that path. The analyzer only. */
#ifdef __clang_analyzer__
#define err_set(err, errlen, ...)	(err_set((err), (errlen), __VA_ARGS__), -1)
#endif

#endif
