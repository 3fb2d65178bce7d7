/* sim_control.c: control API plumbing shared by the emulators (see sim_control.h). */
#include "sim_control.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void
sim_control_utf8(char *s)
{
	json_t *probe = json_string(s);

	if (probe == NULL) {
		for (; *s; s++)
			if ((unsigned char)*s >= 0x80)
				*s = '?';
	}
	json_decref(probe);
}

void
sim_control_error(struct httpd_response *resp, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sim_control_utf8(msg);
	httpd_respond_json(resp, status, json_pack("{s:s}", "error", msg));
}

int
sim_control_body(const struct httpd_request *req, struct httpd_response *resp, json_t **body)
{
	json_error_t jerr;

	*body = NULL;
	if (req->body_len == 0)
		return 0;
	*body = json_loadb(req->body, req->body_len, 0, &jerr);
	if (*body == NULL || !json_is_object(*body)) {
		sim_control_error(resp, 400, "the body must be a JSON object: %s at line %d "
		    "column %d", *body ? "not an object" : jerr.text, jerr.line, jerr.column);
		json_decref(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

const char *
sim_control_unknown_key(json_t *o, const char *const *keys, size_t nkeys)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < nkeys; i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (i == nkeys)
			return key;
	}
	return NULL;
}

int
sim_control_long(json_t *o, const char *key, long min, long max, long dflt, long *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return err_set(err, errlen, "%s must be an integer from %ld to %ld", key, min, max);
	*out = (long)json_integer_value(v);
	return 0;
}

int
sim_control_bool(json_t *o, const char *key, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return err_set(err, errlen, "%s must be true or false", key);
	*out = json_is_true(v);
	return 0;
}
