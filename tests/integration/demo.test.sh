#!/bin/sh
# demo.test.sh: `make demo` must not rot. Runs scripts/demo.sh against the built binaries and
# checks what it prints (the counts, the key rows, the second pass changing nothing), then that
# it leaves no process and no file behind, also when stopped half-way by SIGTERM.
# usage: demo.test.sh SOURCE_DIR BUILD_DIR   (ctest passes both)
set -u
src=${1:?source dir}
bin=${2:?build dir}
fails=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/demo-test.XXXXXX")
out="$tmp/out"
mkdir "$tmp/t"

# want PATTERN: an extended regular expression some line of the demo's output must match.
want() {
	if ! grep -Eq -- "$1" "$out"; then
		echo "FAIL: no line matches: $1"
		fails=$((fails + 1))
	fi
}

# Our children still running: the pids of processes whose command line names the demo's temp
# dir (the emulators are started with their seed files from there).
leftovers() {
	for f in /proc/[0-9]*/cmdline; do
		{ tr '\0' ' ' <"$f" | grep -qF "$tmp/t/"; } 2>/dev/null || continue
		p=${f%/cmdline}
		printf '%s ' "${p#/proc/}"
	done
}

# check_clean WHEN: fails when processes or files were left behind, and stops those processes
# (they are ours) so a failing run does not leak them.
check_clean() {
	left=$(leftovers)
	files=$(ls -A "$tmp/t")
	if [ -n "$left" ] || [ -n "$files" ]; then
		echo "FAIL: $1 the demo left processes ($left) or files ($files) behind"
		fails=$((fails + 1))
		# shellcheck disable=SC2086
		[ -z "$left" ] || kill $left 2>/dev/null
		rm -rf "${tmp:?}/t/"*
	fi
}

# Stays under ctest's limit with room: the demo runs in seconds and promises under a minute.
TMPDIR="$tmp/t" sh "$src/scripts/demo.sh" "$bin" >"$out" 2>"$tmp/err"
rc=$?
cat "$out"
if [ "$rc" -ne 0 ]; then
	echo "FAIL: demo.sh exited $rc"
	cat "$tmp/err"
	fails=$((fails + 1))
fi

want '^configuration OK$'
want 'read 16 copies in 3 mailboxes, 14 distinct emails; logged 11, skipped 3, Leads created 3, failed 0$'
want '^counts: Tasks 11, Leads 5 \(olsync created 3\), EmailMessages 0$'
# The rows that show the decisions: Opportunity, tie-break, free mail, "Last, First", one
# Task for the mail copied to two reps, owners.
want 'Email: Rocket skates: delivery date\? +Wile Coyote +Acme rocket skates +Ana Ruiz'
want 'Email: Re: Rocket skates: delivery date\? +Wile Coyote +Acme rocket skates +Ana Ruiz'
want 'Email: TPS upgrade: revised quote +Peter Gibbons +Initech TPS upgrade +Chloe Martin'
want 'Email: Printer integration +Samir Nagheenanajar +- +Chloe Martin'
want 'Email: Doomsday device: maintenance con~ +Hank Scorpio +- +Ben Okafor'
want 'Email: Re: Following up from the trade ~ +Lisa Prospect +- +Chloe Martin'
want '^  Sam Stone +\[not provided\] +sam\.stone@gmail\.com +Ana Ruiz +Email$'
want '^  Maria Kowalski +Brightwave +maria\.kowalski@brightwave\.example +Chloe Martin +Email$'
want '^  Pat Quinn +Umbrella Health +pat@umbrella-health\.example +Ben Okafor +Email$'
want '^  logged    11$'
want '^  skipped   3  \(unmatched 2, internal_only 1\)$'
want '^  dead      0$'
want '^  state            skipped$'
want '^  reason           internal_only'
want '^  0 new, 0 processed, 0 logged: Salesforce unchanged \(Tasks 11, Leads 5\)$'
n=$(grep -c 'Hank Scorpio' "$out")
[ "$n" -eq 2 ] || { echo "FAIL: Hank's mail to two reps: want one Task row, got $((n - 1))"; fails=$((fails + 1)); }

check_clean "after a full run"

# Stopped half-way (the emulators are up): it must still clean up. SIGTERM, because a
# background job of a non-interactive shell ignores SIGINT, as the demo's emulators do.
TMPDIR="$tmp/t" sh "$src/scripts/demo.sh" "$bin" >"$tmp/out2" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	grep -q '^  sf-sim ' "$tmp/out2" && break
	sleep 0.05
done
grep -q '^  sf-sim ' "$tmp/out2" || { echo "FAIL: the second demo did not start"; fails=$((fails + 1)); }
kill -TERM "$pid"
wait "$pid"
# Else the signal came too late to test anything.
if grep -q '^Later issues' "$tmp/out2"; then
	echo "FAIL: the second demo ended before SIGTERM; the cleanup on a signal was not tested"
	fails=$((fails + 1))
fi
for _ in $(seq 1 50); do
	[ -z "$(leftovers)" ] && break
	sleep 0.1
done
check_clean "after SIGTERM"

rm -rf "$tmp"
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "demo: all checks passed"
