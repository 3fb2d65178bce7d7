#!/bin/sh
# Runs many mails through `olsync sync --once` while graph-sim and sf-sim fail a share of the
# requests at random, then counts what Salesforce holds: faults injected, messages, lost,
# duplicated, dead. The logs of olsync and the emulators go to standard error.
# Usage: bench/faults.sh [BUILD_DIR] [--emails N] [--rounds R] [--rate P] [--seed S]
exec "$(dirname "$0")/run.sh" faults-bench "$@"
