/* xmalloc.h: allocation that never returns NULL. Running out of memory aborts the process with a
 * message: a half-built response or record is worse than a restart, and callers stay simple. */
#ifndef OL_XMALLOC_H
#define OL_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);		/* caller frees */
void *xcalloc(size_t nmemb, size_t size);	/* caller frees; zeroed */
void *xrealloc(void *ptr, size_t size);		/* caller frees the result */
char *xstrdup(const char *s);		/* caller frees */
char *xstrndup(const char *s, size_t n);	/* caller frees; always NUL-terminated */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* caller frees */

#endif
