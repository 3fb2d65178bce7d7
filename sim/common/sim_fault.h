/* sim_fault.h: the scripted faults table both emulators keep (POST/GET/DELETE /_sim/faults): a
 * fault applies to requests whose method matches (any when NULL) and whose path starts with a
 * prefix, a given number of times, first added first. What a fault does is the emulator's own
 * JSON "spec" (sf-sim's html/after_commit, graph-sim's retry_after...), stored as text; this
 * module stores, lists and takes rows without reading it.
 *
 * The table, created by each emulator's migrations:
 *   (id INTEGER PRIMARY KEY, method TEXT, path_prefix TEXT, remaining INTEGER, spec TEXT) */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "httpd.h"

/* The method a fault applies to, upper-cased into method (methodlen bytes): "" when m is NULL
 * (any method). 0, or -1 with err set when m is not letters only or does not fit. */
int sim_fault_method(const char *m, char *method, size_t methodlen, char *err, size_t errlen);

/* Stores a fault: method "" for any, count times, spec its emulator's JSON (borrowed). Returns
 * the new id, or -1 with SQLite's message in err. */
long long sim_fault_add(sqlite3 *db, const char *table, const char *method, const char *path,
    long count, json_t *spec, char *err, size_t errlen);

/* Takes (decrements, deletes at zero) the first fault for method and path: its spec text
 * (caller frees) with *id set, or NULL when none applies. */
char *sim_fault_take(sqlite3 *db, const char *table, const char *method, const char *path,
    long long *id);

/* A fault as the control API shows it: id, method (null for any), path, remaining, then the
 * members of spec (stolen). Caller owns the result. */
json_t *sim_fault_entry(long long id, const char *method, const char *path, long long remaining,
    json_t *spec);

/* Every pending fault as sim_fault_entry shows it, oldest first; spec_json turns stored spec
 * text (possibly NULL or edited by hand) into the emulator's JSON. Caller owns the result. */
json_t *sim_fault_list(sqlite3 *db, const char *table, json_t *(*spec_json)(const char *spec));

/* DELETE /_sim/faults: clears the table and answers {"cleared": n}. */
void sim_fault_clear(sqlite3 *db, const char *table, struct httpd_response *resp);

#endif
