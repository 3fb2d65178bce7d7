#!/bin/sh
# `olsync run` in real time over many idle mailboxes: start time, subscription create pace, peak
# RSS and the spread of the planned renewals; the logs of olsync and the emulators go to
# standard error.
# Usage: bench/mailboxes.sh [BUILD_DIR] [--mailboxes N] [--meetings yes|no] [--wait SEC]
set -eu
build=build
case ${1-} in
-*|'') ;;
*) build=$1; shift ;;
esac
make -s build BUILD="$build" >/dev/null
OL_BINARY_DIR="$build" "$build/mailboxes-bench" "$@"
