/* form.h: application/x-www-form-urlencoded text (token request bodies, URL query strings) and
 * the HTTP Basic credentials OAuth clients send beside it. Decoding is httpd_decode's: a '%' not
 * followed by two hex digits stays as it is, '+' is a space. */
#ifndef OL_FORM_H
#define OL_FORM_H

#include <stddef.h>

#include "httpd.h"

/* What form_parse does with a parameter whose decoded name is empty ("=x"). */
enum form_names {
	FORM_SKIP_NAMELESS,	/* a body: a nameless parameter means nothing, drop it */
	FORM_KEEP_NAMELESS,	/* a query string: keep it, so the caller can refuse it */
};

/* Splits the first len bytes of s (may be NULL) at '&' into at most max decoded parameters; the
 * rest are ignored. Empty pieces are skipped; a piece without '=' has the value "". Returns the
 * count; release the strings with form_free. */
int form_parse(const char *s, size_t len, enum form_names names, struct httpd_param *params,
    int max);
void form_free(struct httpd_param *params, int n);

/* Decodes "Basic base64(id:secret)" (scheme case-insensitive, spaces around the token allowed):
 * 0 and *id, *secret set (caller frees both), or -1 with both NULL. With form_decoded, id and
 * secret are then form-decoded, as RFC 6749 §2.3.1 has OAuth clients encode them. */
int form_basic_auth(const char *authorization, int form_decoded, char **id, char **secret);

#endif
