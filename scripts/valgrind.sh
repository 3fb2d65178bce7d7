#!/bin/sh
# valgrind.sh: the cmocka test programs under valgrind memcheck; fails on any memory error or
# definite/indirect leak. With OLSYNC=1 the olsync binary the end-to-end tests run (sync --once,
# run) is under memcheck too (tests/support/e2e.c: OL_VALGRIND_OLSYNC); with SIMS=1 so are
# sf-sim and graph-sim (tests/support/sim_proc.c: OL_VALGRIND_SIMS; their reports go to
# /tmp/valgrind-sim.PID). With either, the tests' wall-clock waits are ten times longer
# (OL_TEST_TIME_SCALE, tests/support/mono.h; set it to override) and their latency checks are
# skipped with a line saying so: memcheck makes the binaries 10-50 times slower.
#   scripts/valgrind.sh [BUILD] [REGEX]   (default build, every test_* program; REGEX picks tests
#   by name, e.g. '^test_(config|jwt)$'). JOBS programs run at once (default nproc). Each
#   program's output and valgrind report are left in BUILD/valgrind/.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = "--one" ]; then	# internal: one program, run by xargs below
	build=$2 name=$3 logs=$2/valgrind
	start=$(date +%s)
	scale=${OL_TEST_TIME_SCALE:-1}
	[ -n "${OLSYNC:-}${SIMS:-}" ] && scale=${OL_TEST_TIME_SCALE:-10}
	(cd "$build" && OL_SOURCE_DIR=$root OL_BINARY_DIR=$build \
	    OL_VALGRIND_OLSYNC=${OLSYNC:-} OL_VALGRIND_SIMS=${SIMS:-} OL_TEST_TIME_SCALE=$scale \
	    valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=99 --num-callers=30 --log-file="$logs/$name.valgrind" \
	    "./$name" >"$logs/$name.log" 2>&1)
	rc=$?
	echo "$rc" >"$logs/$name.rc"
	echo "valgrind.sh: $name rc=$rc $(($(date +%s) - start))s"
	exit 0
fi

build=$(cd "${1:-$root/build}" && pwd) || exit 1
regex=${2:-.}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
logs=$build/valgrind
command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: valgrind not installed" >&2; exit 77; }
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.rc "$logs"/*.valgrind

tests=$(cd "$build" && ctest -N | sed -n 's/^ *Test *#[0-9]*: \(test_[A-Za-z0-9_]*\)$/\1/p' |
    grep -E "$regex")
[ -n "$tests" ] || { echo "valgrind.sh: no test matches $regex" >&2; exit 1; }
start=$(date +%s)
printf '%s\n' $tests | xargs -P "$jobs" -n 1 "$0" --one "$build"

status=0
for t in $tests; do
	rc=$(cat "$logs/$t.rc" 2>/dev/null || echo missing)
	[ "$rc" = 0 ] && continue
	status=1
	if [ "$rc" = 99 ]; then
		echo "valgrind.sh: $t: memory errors or leaks ($logs/$t.valgrind):"
		grep -E '(SUMMARY|definitely|indirectly|Invalid|uninitialised|at 0x|by 0x)' \
		    "$logs/$t.valgrind" | head -60
	else
		echo "valgrind.sh: $t: the test failed (rc=$rc), output in $logs/$t.log"
		tail -20 "$logs/$t.log"
	fi
done
n=$(printf '%s\n' $tests | wc -l)
result=$([ $status = 0 ] && echo clean || echo FAILED)
echo "valgrind.sh: $n programs, $(($(date +%s) - start))s, $result"
exit $status
