/* logcap.h: this process's stderr (where lib/log.c writes) captured in a file, for tests that
 * read what was logged. */
#ifndef OL_LOGCAP_H
#define OL_LOGCAP_H

/* Sends stderr to a new file made from template path ("/tmp/name-XXXXXX", rewritten with the
 * file's name) until logcap_end. Returns the saved stderr, for logcap_end; fails the running
 * test when the file cannot be made. The caller unlinks path. */
int logcap_begin(char *path);
/* Puts back stderr saved by logcap_begin. */
void logcap_end(int saved);

#endif
