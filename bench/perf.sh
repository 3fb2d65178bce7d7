#!/bin/sh
# Issue 8's benchmark: olsync against graph-sim and sf-sim in five scenarios (backfill, the
# naive reference, real time at 20 and 200 emails a second, 10,000 idle mailboxes, webhook
# intake under wrk), printed as one table with the issue's targets; the logs of olsync and the
# emulators go to standard error. `--quick` runs smoke sizes in under two minutes.
# With PERF_POSTGRESQL=1 olsync's ledger is a PostgreSQL database on a throwaway server
# (scripts/pg-test-server.sh, started here unless OL_TEST_PG_URL_FILE and OL_PG_DIR name one),
# whose CPU is measured beside olsync's; the backfill and real-time scenarios only.
# Usage: [PERF_POSTGRESQL=1] bench/perf.sh [BUILD_DIR] [perf-bench options] (bench/README.md)
set -eu
if [ -n "${PERF_POSTGRESQL-}" ]; then
	. "$(dirname "$0")/pg_env.sh"
fi
"$(dirname "$0")/run.sh" perf-bench "$@"
