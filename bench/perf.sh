#!/bin/sh
# Issue 8's benchmark: olsync against graph-sim and sf-sim in five scenarios (backfill, the
# naive reference, real time at 20 and 200 emails a second, 10,000 idle mailboxes, webhook
# intake under wrk), printed as one table with the issue's targets; the logs of olsync and the
# emulators go to standard error. `--quick` runs smoke sizes in under two minutes.
# Usage: bench/perf.sh [BUILD_DIR] [perf-bench options] (bench/README.md)
exec "$(dirname "$0")/run.sh" perf-bench "$@"
