#!/bin/sh
# Measures the time from an email's arrival in graph-sim to its Task in sf-sim with `olsync run`
# in real time, and what each email costs in Graph and Salesforce calls; the logs of olsync and
# the emulators go to standard error.
# Usage: bench/realtime.sh [BUILD_DIR] [--emails N] [--rate R] [--mailboxes M]
exec "$(dirname "$0")/run.sh" realtime-bench "$@"
