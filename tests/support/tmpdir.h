/* tmpdir.h: a test's private temporary directory and the files in it (configurations, secret
 * files with their modes), made and removed the same way by every test that needs one. */
#ifndef OL_TMPDIR_H
#define OL_TMPDIR_H

#include <stddef.h>
#include <sys/types.h>

/* Makes a fresh directory /tmp/<prefix>.XXXXXX and writes its real path (symlinks resolved, as
 * config_load resolves the configuration's directory) into dir (len bytes, PATH_MAX is enough).
 * For setups, so no test assertion: -1 on failure. */
int tmpdir_make(char *dir, size_t len, const char *prefix);
/* Writes text to dir/name (replacing it) with mode; fails the running test on error. */
void tmpdir_write(const char *dir, const char *name, const char *text, mode_t mode);
/* The content of path, at most max bytes; "" when it cannot be read. Caller frees. */
char *tmpdir_read(const char *path, size_t max);
/* Removes dir and everything in it: 0, or -1. */
int tmpdir_remove(const char *dir);

#endif
