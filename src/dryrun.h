/* dryrun.h: `olsync dry-run`: what a pass would write for a window of chosen mailboxes, decided
 * by the engine itself (engine_set_planner) on a throwaway copy of the ledger, so nothing is
 * written to Salesforce and the ledger is left exactly as it was. */
#ifndef OL_DRYRUN_H
#define OL_DRYRUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backfill.h"
#include "config.h"

/* The command's arguments after "dry-run" (argv[0] is "dry-run"):
 *   [--mailbox ADDR]... [--since DATE | --days N] [--until DATE] [--json]
 * 0, or -1 with the reason in err (a usage error). */
int dryrun_args(int argc, char *argv[], struct backfill_opts *o, char *err, size_t errlen);

/* Reads the window into a throwaway copy of cfg's ledger (a new one when there is none), lets the
 * engine decide every message there without writing, and prints the report to out (text, or
 * JSON with o->json). 0, or -1 with err (Graph or Salesforce unreachable, a mailbox olsync does
 * not watch, ...). */
int dryrun_run(const struct config *cfg, const struct backfill_opts *o, FILE *out, char *err,
    size_t errlen);

#endif
