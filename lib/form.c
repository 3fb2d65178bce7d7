/* form.c: form-encoded parameters and Basic credentials (see form.h). */
#include "form.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "xmalloc.h"

int
form_parse(const char *s, size_t len, enum form_names names, struct httpd_param *params,
    int max)
{
	const char *p = s, *end = s != NULL ? s + len : NULL;
	int n = 0;

	while (s != NULL && p < end && n < max) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		const char *val = eq ? eq + 1 : stop;

		/* An empty piece ("a=1&&b=2") is no parameter at all. */
		if (stop > p) {
			char *name = httpd_decode(p, (size_t)((eq ? eq : stop) - p), 1);

			if (name[0] == '\0' && names == FORM_SKIP_NAMELESS) {
				free(name);
			} else {
				params[n].name = name;
				params[n].value = httpd_decode(val, (size_t)(stop - val), 1);
				n++;
			}
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return n;
}

void
form_free(struct httpd_param *params, int n)
{
	for (int i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
		params[i].name = params[i].value = NULL;
	}
}

int
form_basic_auth(const char *authorization, int form_decoded, char **id, char **secret)
{
	const char *p;
	unsigned char *raw = NULL;
	size_t len, rawlen;
	char *colon;

	*id = *secret = NULL;
	if (authorization == NULL || strncasecmp(authorization, "Basic ", 6) != 0)
		return -1;
	for (p = authorization + 6; *p == ' '; p++)
		;
	for (len = strlen(p); len > 0 && p[len - 1] == ' '; len--)
		;
	if (b64_decode(p, len, &raw, &rawlen) < 0)
		return -1;
	/* An id or secret with a NUL in it would compare as a shorter string. */
	if (memchr(raw, '\0', rawlen) != NULL || (colon = strchr((char *)raw, ':')) == NULL) {
		free(raw);
		return -1;
	}
	if (form_decoded) {
		*id = httpd_decode((char *)raw, (size_t)(colon - (char *)raw), 1);
		*secret = httpd_decode(colon + 1, strlen(colon + 1), 1);
	} else {
		*id = xstrndup((char *)raw, (size_t)(colon - (char *)raw));
		*secret = xstrdup(colon + 1);
	}
	free(raw);
	return 0;
}
