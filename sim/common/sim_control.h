/* sim_control.h: plumbing of the control API (/_sim/...) that sf-sim and graph-sim share: the
 * {"error": ...} reply, the JSON body every control call takes, and reading settings out of it
 * with the same words for the same mistakes in both emulators. */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include <jansson.h>
#include <stddef.h>

#include "httpd.h"

/* Makes s valid for JSON in place (bytes >= 0x80 become '?' unless s is valid UTF-8): a message
 * may quote a client's bytes or be cut mid-character. */
void sim_control_utf8(char *s);

/* Answers status with {"error": message}. */
void sim_control_error(struct httpd_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The request's body as a JSON object: 0 and *body set (NULL for an empty body; caller
 * decrefs), or -1 after answering 400 when the body is not a JSON object. */
int sim_control_body(const struct httpd_request *req, struct httpd_response *resp,
    json_t **body);

/* The first member name of o that is not among the nkeys names of keys, or NULL; borrowed from
 * o. */
const char *sim_control_unknown_key(json_t *o, const char *const *keys, size_t nkeys);

/* Member key of o as an integer in min..max (dflt when absent or null): 0, or -1 with err set. */
int sim_control_long(json_t *o, const char *key, long min, long max, long dflt, long *out,
    char *err, size_t errlen);
/* Member key of o as true/false (0 when absent or null): 0, or -1 with err set. */
int sim_control_bool(json_t *o, const char *key, int *out, char *err, size_t errlen);

#endif
