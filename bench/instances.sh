#!/bin/sh
# Issue 10's benchmark: 1, 2 and 3 `olsync run` instances on one PostgreSQL database behind a
# load balancer (throughput, calls, CPU of olsync and of PostgreSQL, memory, exactly once), then
# three instances with one SIGKILLed during load, K times per lease time (takeover). Starts its
# own throwaway PostgreSQL (scripts/pg-test-server.sh) unless OL_TEST_PG_URL_FILE names one;
# the logs of olsync and the emulators go to standard error.
# Usage: bench/instances.sh [BUILD_DIR] [instances-bench options] (bench/README.md)
set -eu
. "$(dirname "$0")/pg_env.sh"
"$(dirname "$0")/run.sh" instances-bench "$@"
