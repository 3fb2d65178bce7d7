#!/bin/sh
# demo.test.sh: `make demo` must not rot. Runs scripts/demo.sh against the built binaries and
# checks what it prints (the counts, the key rows, the live changes, the second pass changing
# nothing), then that it leaves no process and no file behind, also when stopped half-way by
# SIGTERM.
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
# The day, read by the first pass of olsync run.
want '^  logged 11, skipped 3, Leads created 3, failed 0$'
want 'with 9 subscriptions'
# Live mail and meeting changes, each in Salesforce within the demo's 20 s ("never" otherwise).
want '^  mail "Re: Rocket skates: delivery date\?": a Task in Salesforce after [0-9.]+ s$'
want '^  mail "Quote for 25 seats": a Task in Salesforce after [0-9.]+ s$'
want 'next meeting moved after [0-9.]+ s$'
want 'its Event deleted after [0-9.]+ s$'
want '^counts: Tasks 13, Leads 6 \(olsync created 4\), Events 2, EmailMessages 0$'
# The rows that show the decisions: Opportunity, tie-break, free mail, "Last, First", one
# Task for the mail copied to two reps, owners.
want 'Email: Rocket skates: delivery date\? +Wile Coyote +Acme rocket skates +Ana Ruiz'
want 'Email: Re: Rocket skates: delivery date\? +Wile Coyote +Acme rocket skates +Ana Ruiz'
want 'Email: TPS upgrade: revised quote +Peter Gibbons +Initech TPS upgrade +Chloe Martin'
want 'Email: Printer integration +Samir Nagheenanajar +- +Chloe Martin'
want 'Email: Doomsday device: maintenance con~ +Hank Scorpio +- +Ben Okafor'
want 'Email: Re: Following up from the trade ~ +Lisa Prospect +- +Chloe Martin'
want 'Email: Quote for 25 seats +Dana Lee +- +Ben Okafor'
want '^  Sam Stone +\[not provided\] +sam\.stone@gmail\.com +Ana Ruiz +Email$'
want '^  Maria Kowalski +Brightwave +maria\.kowalski@brightwave\.example +Chloe Martin +Email$'
want '^  Pat Quinn +Umbrella Health +pat@umbrella-health\.example +Ben Okafor +Email$'
want '^  Dana Lee +Northwind +dana\.lee@northwind\.example +Ben Okafor +Email$'
# Events: the accepted customer meetings, Peter's at its new time (a day later: day 4); none
# for the tentative, the internal or the cancelled one. The Opportunities' next meetings.
d2=$(date -u -d '+2 days' +%Y-%m-%d)
d4=$(date -u -d '+4 days' +%Y-%m-%d)
want "^  Rocket skates: delivery planning +Wile Coyote +Acme rocket skates +Ana Ruiz +${d2}T15:00:00"
want "^  TPS upgrade: legal review +Peter Gibbons +Initech TPS upgrade +Chloe Martin +${d4}T10:00:00"
want "^  Acme rocket skates +Proposal/Price Quote +${d2}T15:00:00"
want "^  Initech TPS upgrade +Negotiation/Review +${d4}T10:00:00"
want '^  Globex doomsday device +Closed Won +-$'
for absent in 'Maintenance contract' 'Latex division intro' 'Pipeline review'; do
	if grep -q "^  $absent " "$out"; then
		echo "FAIL: an Event row for \"$absent\""
		fails=$((fails + 1))
	fi
done
want '^  logged    13$'
want '^  skipped   3  \(unmatched 2, internal_only 1\)$'
want '^  dead      0$'
want '^  meetings_dead 0$'
want '^  state            skipped$'
want '^  reason           internal_only'
want '^Dashboard: http://127\.0\.0\.1:[0-9]+/ '
want '/api/summary: \{"pending":0,"skipped":3,"logged":13,"failed":0,"dead":0\}$'
want 'olsync_emails\{state="logged"\} 13$'
want '^  exit status 0; 0 warnings or errors in its log$'
want '^  0 new, 0 processed, 0 logged: Salesforce unchanged \(Tasks 13, Leads 6, Events 2\)$'
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
if grep -q '^Done: ' "$tmp/out2"; then
	echo "FAIL: the second demo ended before SIGTERM; the cleanup on a signal was not tested"
	fails=$((fails + 1))
fi
for _ in $(seq 1 50); do
	[ -z "$(leftovers)" ] && break
	sleep 0.1
done
check_clean "after SIGTERM"

# On a terminal the demo runs on with the dashboard until Ctrl-C: under script(1) (a pty), the
# dashboard must answer, then SIGINT must stop it all and leave nothing behind.
if command -v script >/dev/null 2>&1; then
	# script's stdin is a fifo we hold open: a ^C written to it is the terminal's interrupt.
	mkfifo "$tmp/tty-in"
	exec 3<>"$tmp/tty-in"
	TMPDIR="$tmp/t" script -qec "sh '$src/scripts/demo.sh' '$bin'" /dev/null \
	    >"$tmp/out3" 2>&1 <"$tmp/tty-in" &
	pid=$!
	for _ in $(seq 1 600); do
		grep -q '^olsync runs on: open ' "$tmp/out3" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	url=$(sed -n 's/^olsync runs on: open \(http[^ ]*\) .*/\1/p' "$tmp/out3" | tr -d '\r')
	if [ -z "$url" ]; then
		echo "FAIL: on a terminal the demo did not stay up with the dashboard"
		fails=$((fails + 1))
	else
		ok=
		for _ in $(seq 1 100); do
			curl -sf "${url}healthz" >/dev/null 2>&1 && { ok=1; break; }
			sleep 0.1
		done
		[ -n "$ok" ] || { echo "FAIL: the dashboard $url did not answer"; fails=$((fails + 1)); }
	fi
	printf '\003' >&3
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "FAIL: Ctrl-C did not end the demo on a terminal"
		fails=$((fails + 1))
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	exec 3>&-
	for _ in $(seq 1 50); do
		[ -z "$(leftovers)" ] && break
		sleep 0.1
	done
	check_clean "after Ctrl-C on a terminal"
else
	echo "demo.test: script(1) not found: the terminal mode is not tested"
fi

rm -rf "$tmp"
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "demo: all checks passed"
