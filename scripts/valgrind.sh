#!/bin/sh
# valgrind.sh: the cmocka test programs under valgrind memcheck; fails on any memory error or
# definite/indirect leak. With OLSYNC=1 the olsync binary the end-to-end tests run (sync --once,
# run) is under memcheck too, with SIMS=1 sf-sim and graph-sim (tests/support/sim_proc.c:
# sim_proc_exec). Their reports are checked as the programs' own are: any error or leak in one
# fails its program. With either, the tests' wall-clock waits are ten times longer
# (OL_TEST_TIME_SCALE, tests/support/mono.h; set it to override) and their latency checks are
# skipped with a line saying so: memcheck makes the binaries 10-50 times slower. With PG=1 the
# programs' PostgreSQL runs (ctest's NAME_pg, listed in BUILD/pg-tests.txt) run too, against a
# server of their own (scripts/pg-test-server.sh in BUILD/valgrind/pg, stopped at the end).
#   scripts/valgrind.sh [BUILD] [REGEX]   (default build, every test_* program; REGEX picks tests
#   by name, e.g. '^test_(config|jwt)$'). JOBS programs run at once (default nproc). Each
#   program's output and valgrind report are left in BUILD/valgrind/, with the reports of the
#   binaries it ran (NAME.olsync.PID, NAME.sf-sim.PID, NAME.graph-sim.PID).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = "--one" ]; then	# internal: one program, run by xargs below
	build=$2 name=$3 logs=$2/valgrind
	start=$(date +%s)
	# NAME_pg: the program NAME with its arguments from pg-tests.txt, on the run's server.
	prog=$name args="" pgurl=""
	case $name in
	*_pg)
		prog=${name%_pg}
		args=$(sed -n "s/^$prog //p" "$build/pg-tests.txt")
		pgurl=$logs/pg/url
		;;
	esac
	scale=${OL_TEST_TIME_SCALE:-1}
	[ -n "${OLSYNC:-}${SIMS:-}" ] && scale=${OL_TEST_TIME_SCALE:-10}
	(cd "$build" && OL_SOURCE_DIR=$root OL_BINARY_DIR=$build \
	    OL_VALGRIND_OLSYNC=${OLSYNC:-} OL_VALGRIND_SIMS=${SIMS:-} \
	    OL_VALGRIND_LOGS=$logs/$name OL_TEST_TIME_SCALE=$scale \
	    env ${pgurl:+OL_TEST_PG_URL_FILE=$pgurl} valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=99 --num-callers=30 --log-file="$logs/$name.valgrind" \
	    "./$prog" $args >"$logs/$name.log" 2>&1)
	rc=$?
	echo "$rc" >"$logs/$name.rc"
	# The reports of the binaries it ran: complete ones end in an ERROR SUMMARY (leaks count
	# as errors); one without was killed (SIGKILL: no leak check), and fails only when it
	# shows an error's stack.
	runs=0 killed=0
	: >"$logs/$name.bad"
	for r in "$logs/$name".olsync.* "$logs/$name".sf-sim.* "$logs/$name".graph-sim.*; do
		[ -e "$r" ] || continue
		runs=$((runs + 1))
		if grep -q 'ERROR SUMMARY: 0 errors' "$r"; then
			continue
		elif ! grep -q 'ERROR SUMMARY:' "$r"; then
			killed=$((killed + 1))
			grep -Eq '^==[0-9]+== +(at|by) 0x' "$r" || continue
		fi
		echo "$r" >>"$logs/$name.bad"
	done
	echo "$runs $killed" >"$logs/$name.runs"
	echo "valgrind.sh: $name rc=$rc $(($(date +%s) - start))s, binaries under memcheck:" \
	    "$runs ($killed killed), with errors: $(wc -l <"$logs/$name.bad")"
	exit 0
fi

build=$(cd "${1:-$root/build}" && pwd) || exit 1
regex=${2:-.}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
logs=$build/valgrind
command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: valgrind not installed" >&2; exit 77; }
mkdir -p "$logs"
find "$logs" -maxdepth 1 -type f -delete
# graph-sim makes a 2048-bit RSA signing key for every new database, which takes minutes under
# memcheck: with SIMS, every graph-sim of the run signs with one key made here instead
# (GRAPH_SIM_SIGNING_KEY_FILE, docs/graph-sim.md).
if [ -n "${SIMS:-}" ] && [ -z "${GRAPH_SIM_SIGNING_KEY_FILE:-}" ]; then
	key=$logs/graph-sim-signing.pem
	(umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
	    -subj /CN=accounts.accesscontrol.windows.net -keyout "$key.key" -out "$key.crt" \
	    2>/dev/null && cat "$key.key" "$key.crt" >"$key") ||
	    { echo "valgrind.sh: cannot make graph-sim's signing key with openssl" >&2; exit 1; }
	rm -f "$key.key" "$key.crt"
	export GRAPH_SIM_SIGNING_KEY_FILE=$key
fi

# A program's second registration against PostgreSQL (ol_add_pg_test: NAME_pg) has no binary of
# its own and needs the pg fixture's server: only the programs themselves run here.
tests=$(cd "$build" && ctest -N | sed -n 's/^ *Test *#[0-9]*: \(test_[A-Za-z0-9_]*\)$/\1/p' |
    grep -E "$regex" | while read -r t; do if [ -x "$build/$t" ]; then echo "$t"; fi; done)
if [ -n "${PG:-}" ]; then
	tests="$tests $(cut -d' ' -f1 "$build/pg-tests.txt" | grep -E "$regex" | sed 's/$/_pg/')"
	# one left by an interrupted run first
	[ -d "$logs/pg" ] && sh "$root/scripts/pg-test-server.sh" stop "$logs/pg" >/dev/null 2>&1
	sh "$root/scripts/pg-test-server.sh" start "$logs/pg" >/dev/null ||
	    { echo "valgrind.sh: cannot start the PostgreSQL server for PG=1" >&2; exit 1; }
	trap 'sh "$root/scripts/pg-test-server.sh" stop "$logs/pg" >/dev/null' EXIT
fi
[ -n "$(echo $tests)" ] || { echo "valgrind.sh: no test matches $regex" >&2; exit 1; }
start=$(date +%s)
printf '%s\n' $tests | xargs -P "$jobs" -n 1 "$0" --one "$build"

status=0 runs=0 killed=0
for t in $tests; do
	rc=$(cat "$logs/$t.rc" 2>/dev/null || echo missing)
	set -- $(cat "$logs/$t.runs" 2>/dev/null || echo 0 0)
	runs=$((runs + $1)) killed=$((killed + $2))
	for r in $(cat "$logs/$t.bad" 2>/dev/null); do
		status=1
		echo "valgrind.sh: $t: memory errors or leaks in a binary it ran ($r):"
		grep -E '(SUMMARY|definitely|indirectly|Invalid|uninitialised|at 0x|by 0x)' "$r" |
		    head -60
	done
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
echo "valgrind.sh: $n programs and $runs binaries they ran under memcheck ($killed of them" \
    "killed before their leak check), $(($(date +%s) - start))s, $result"
exit $status
