#!/bin/sh
# Measures sf-sim's single-threaded service rate for a keyed SOQL lookup and a 200-record
# collection upsert. Usage: bench/sf-sim.sh [BUILD_DIR] [sf-sim-bench options]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
make -s build BUILD="$build" >/dev/null
OL_BINARY_DIR="$build" "$build/sf-sim-bench" "$@"
