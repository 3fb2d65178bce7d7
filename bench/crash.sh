#!/bin/sh
# Kills `olsync run` (real time) with SIGKILL at random moments while mail arrives, restarts it
# each time, lets it settle and counts the emails lost or logged twice; the logs of olsync and
# the emulators go to standard error.
# Usage: bench/crash.sh [BUILD_DIR] [--kills K] [--rate R] [--min-ms A] [--max-ms B]
#                       [--mailboxes M] [--seed S]
exec "$(dirname "$0")/run.sh" crash-bench "$@"
