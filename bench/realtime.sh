#!/bin/sh
# Measures the time from an email's arrival in graph-sim to its Task in sf-sim with `olsync run`
# in real time, and what each email costs in Graph and Salesforce calls; the logs of olsync and
# the emulators go to standard error.
# Usage: bench/realtime.sh [BUILD_DIR] [--emails N] [--rate R] [--mailboxes M]
set -eu
build=build
case ${1-} in
-*|'') ;;
*) build=$1; shift ;;
esac
make -s build BUILD="$build" >/dev/null
OL_BINARY_DIR="$build" "$build/realtime-bench" "$@"
