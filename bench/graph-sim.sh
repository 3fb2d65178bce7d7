#!/bin/sh
# Measures graph-sim's single-threaded service rate for a delta page of 100 messages, an empty
# delta round and a message read. Usage: bench/graph-sim.sh [BUILD_DIR] [graph-sim-bench options]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
make -s build BUILD="$build" >/dev/null
OL_BINARY_DIR="$build" "$build/graph-sim-bench" "$@"
