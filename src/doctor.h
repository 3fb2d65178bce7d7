/* doctor.h: `olsync doctor`: checks a deployment end to end (configuration, database, Graph
 * token and permissions, each mailbox, the webhook, Salesforce login, objects, fields and API
 * budget) and prints one line per check with its fix (docs/doctor.md). */
#ifndef OL_DOCTOR_H
#define OL_DOCTOR_H

#include <stdio.h>

/* The width of the level column: "ok", "warn", "FAIL" or "skip", then blanks up to it. */
#define DOCTOR_LEVEL_WIDTH	6
/* At most this many mailboxes are read one by one (`mailboxes all` may list thousands). */
#define DOCTOR_MAILBOX_MAX	100
/* Graph gives a webhook 10 seconds to answer its validation request (reference §2.4). */
#define DOCTOR_VALIDATION_MS	10000

/* Runs every check for the configuration file at config_path, printing to out. A
 * configuration that does not load is reported (each file:line error) and ends the run. Never
 * prints a secret or a token. Returns the exit status: 0 when no check failed (warnings
 * allowed), 1 otherwise. */
int doctor_main(const char *config_path, FILE *out);

#endif
